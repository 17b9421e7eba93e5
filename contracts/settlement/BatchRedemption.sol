// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PackedVouchers} from "./PackedVouchers.sol";
import {SettlementEscrow} from "./SettlementEscrow.sol";
import {SettlementNonces} from "./SettlementNonces.sol";
import {Keys} from "./Keys.sol";

/// @title BatchRedemption
/// @notice Redeeming many packed vouchers for one merchant and one token in one call, all or nothing, with one
/// credit or one transfer.
abstract contract BatchRedemption is PackedVouchers, SettlementEscrow, SettlementNonces {
    /// @dev Batch cache of the current signer's bucket slot and nonce word.
    struct Cursor {
        bytes32 bucketKey; // the bucket id, for the Redeemed events
        uint256 bucketSlot;
        uint256 bucketRaw; // the bucket's raw slot value: balance in the low 128 bits, frozen flag above
        uint256 wordIndex; // NO_WORD when nothing is cached
        uint256 wordSlot;
        uint256 bits;
    }

    uint256 private constant NO_WORD = type(uint256).max;

    /// @notice Redeems many vouchers naming the caller as merchant and `token`, with one credit or one transfer.
    /// All or nothing: any invalid entry (including a nonce repeated inside the batch) reverts the batch.
    /// @param token The voucher token.
    /// @param payout False: credit the caller's internal balance. True: transfer the total now.
    /// @param vouchers Concatenated packed entries (see contracts/README.md); the first carries the signer.
    /// @return total The total redeemed.
    /// @return count The number of vouchers redeemed.
    function redeemBatch(address token, bool payout, bytes calldata vouchers)
        external
        nonReentrantView
        returns (uint256 total, uint256 count)
    {
        (total, count) = _redeemMany(token, vouchers);
        if (payout) {
            emit CreditWithdrawn(msg.sender, token, msg.sender, total);
            _pushGuarded(token, msg.sender, total);
        } else {
            _credits[msg.sender][token] += total;
        }
    }

    /// @dev Redeems packed entries for merchant = msg.sender. The current signer's bucket and nonce word are
    /// cached in memory and written back once, when the signer changes and at the end (nothing else can touch
    /// them meanwhile: the only external calls in between are ERC-1271 static calls).
    function _redeemMany(address token, bytes calldata data) private returns (uint256 total, uint256 count) {
        uint256 end = data.length;
        Entry memory e;
        Cursor memory c;
        c.wordIndex = NO_WORD;
        uint256 p;
        do {
            bool newSigner;
            (p, newSigner) = _decodeEntry(token, data, p, e);
            if (count == 0 && !newSigner) revert MalformedVouchers();
            if (newSigner) {
                _flush(c);
                c.bucketKey = Keys.key(e.owner, e.agent, uint160(token));
                c.bucketSlot = Keys.slot(c.bucketKey, _bucketsRoot());
                c.bucketRaw = Keys.load(c.bucketSlot);
                c.wordIndex = NO_WORD;
            }
            uint256 amount = _redeemCached(e, c);
            _emitRedeemed(e, c.bucketKey);
            unchecked {
                total += amount; // each amount fits in uint128; far fewer than 2**128 entries fit in calldata
                ++count;
            }
        } while (p < end);
        _flush(c);
    }

    /// @dev Checks and applies one decoded entry against the cache.
    function _redeemCached(Entry memory e, Cursor memory c) private returns (uint256 amount) {
        amount = e.amount;
        bool byAgent = _verifyEntry(e);
        uint256 nonce = e.nonce;
        uint256 wi = nonce >> 7;
        if (wi != c.wordIndex) {
            _flushWord(c);
            c.wordIndex = wi;
            c.wordSlot = Keys.slot(Keys.key(e.owner, e.agent, wi), _wordsRoot());
            c.bits = Keys.load(c.wordSlot);
        }
        uint256 shift = (nonce & 127) << 1;
        uint256 bits = c.bits;
        if ((bits >> shift) & 3 != 0) revert NonceUsed(e.owner, e.agent, nonce);
        if (amount == e.cap) {
            c.bits = bits | (uint256(NONCE_REDEEMED) << shift);
        } else {
            c.bits = bits | (uint256(NONCE_REDEEMED_PARTIAL) << shift);
            _redemptions[Keys.key(e.owner, e.agent, nonce)].partialAmount = uint128(amount);
        }
        uint256 raw = c.bucketRaw;
        if (byAgent && raw >> 128 != 0) revert AgentFrozen(e.owner, e.agent);
        if (amount > uint128(raw)) revert InsufficientBalance(uint128(raw), amount);
        unchecked {
            c.bucketRaw = raw - amount; // balance is the low 128 bits and amount <= balance: no borrow
        }
    }

    function _emitRedeemed(Entry memory e, bytes32 bucketKey) private {
        emit Redeemed(e.digest, bucketKey, msg.sender, e.amount);
    }

    function _flush(Cursor memory c) private {
        uint256 slot = c.bucketSlot;
        if (slot == 0) return;
        uint256 raw = c.bucketRaw;
        assembly ("memory-safe") {
            sstore(slot, raw)
        }
        _flushWord(c);
    }

    function _flushWord(Cursor memory c) private {
        if (c.wordIndex == NO_WORD) return;
        uint256 slot = c.wordSlot;
        uint256 bits = c.bits;
        assembly ("memory-safe") {
            sstore(slot, bits)
        }
    }
}
