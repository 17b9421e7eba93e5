// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PackedVouchers} from "./PackedVouchers.sol";
import {SettlementEscrow} from "./SettlementEscrow.sol";
import {SettlementNonces} from "./SettlementNonces.sol";
import {Keys} from "./Keys.sol";

/// @title SingleRedemption
/// @notice Redeeming one voucher: {redeem} (a packed entry, credited), {redeemCompact} (210 raw bytes, credited,
/// the cheapest) and {redeemAndPay} (a packed entry, paid out at once).
/// @dev {redeem} and {redeemCompact} first try a one-pass path for the common case that makes every check before
/// any write and otherwise writes nothing; the general path then redeems or reverts with the precise error.
abstract contract SingleRedemption is PackedVouchers, SettlementEscrow, SettlementNonces {
    /// @dev The Redeemed event's topic as a literal for assembly (checked equal in the tests).
    uint256 private constant REDEEMED_TOPIC = 0x58cf9b93b64457f8d6c726f20c21486907f61e73a340038621b4bc0022631020;

    /// @notice Redeems one voucher naming the caller as merchant, `token` and no call, and credits the caller's
    /// internal balance (withdraw it in bulk with {withdrawCredit}).
    /// @dev `voucher` is one packed entry carrying the signer (see contracts/README.md).
    /// @param token The voucher token.
    /// @param voucher The packed voucher entry.
    /// @return amount The amount redeemed.
    function redeem(address token, bytes calldata voucher) external nonReentrantView returns (uint256 amount) {
        amount = _fastRedeem(token, voucher);
        if (amount == 0) {
            amount = _redeemOne(token, voucher);
            _credits[msg.sender][token] += amount;
        }
    }

    /// @notice Redeems one voucher like {redeem} (credited to the caller's internal balance), from compact
    /// calldata: this function's selector followed by exactly 210 raw bytes, no ABI encoding:
    /// `token (20) ‖ owner (20) ‖ agent (20) ‖ cap (16, uint128) ‖ deadline (5, uint40) ‖ nonce (32) ‖ ref (32) ‖
    /// r (32) ‖ s (32) ‖ v (1)`. The amount is the cap and the signature a 65-byte r‖s‖v (the ECDSA signature of
    /// the signer the nonce names, or the 65-byte signature of an ERC-1271 signer); anything else (a partial
    /// amount, a longer signature, a cap of 2**128 or more) goes through {redeem}. This is the cheapest way to
    /// redeem one voucher: it saves the ABI offset, length and padding words, the cap's 16 high zero bytes and the
    /// packed entry's flag byte (~480 gas of calldata), and the ABI decoding.
    /// @dev Any other calldata length reverts with {MalformedVouchers}. The checks and effects are the same as
    /// {redeem}'s: a one-pass path for the common case (all checks before any write; on any doubt it writes
    /// nothing and falls through) and then the general path, which redeems or reverts with the precise error.
    /// @return amount The amount redeemed (the cap).
    function redeemCompact() external nonReentrantView returns (uint256 amount) {
        if (msg.data.length != 214) revert MalformedVouchers();
        bytes32 domain = _domainSeparatorV4();
        uint256 lifetime = MAX_VOUCHER_LIFETIME;
        address owner;
        address agent;
        address token;
        uint256 cap;
        uint256 nonce;
        bool byAgent;
        bytes32 digest; // stays 0 unless the terms and the signature pass
        assembly ("memory-safe") {
            for {} 1 {} {
                owner := shr(96, calldataload(24))
                agent := shr(96, calldataload(44))
                if or(iszero(owner), iszero(agent)) { break }
                cap := shr(128, calldataload(64))
                if iszero(cap) { break }
                let w := shr(216, calldataload(80)) // deadline
                if gt(timestamp(), w) { break }
                if gt(sub(w, timestamp()), lifetime) { break }
                // struct hash of Voucher(owner, agent, merchant = caller, token, cap, deadline, nonce, ref, 0, 0)
                let m := mload(0x40)
                token := shr(96, calldataload(4))
                nonce := calldataload(85)
                // the nonce names the signer: the agent below 2**255, the owner from there (an owner nonce must
                // carry the deadline)
                let signer := agent
                if shr(255, nonce) {
                    if iszero(eq(and(shr(215, nonce), 0xffffffffff), w)) { break }
                    signer := owner
                }
                mstore(m, VOUCHER_TYPEHASH_LITERAL)
                mstore(add(m, 0x20), owner)
                mstore(add(m, 0x40), agent)
                mstore(add(m, 0x60), caller())
                mstore(add(m, 0x80), token)
                mstore(add(m, 0xa0), cap)
                mstore(add(m, 0xc0), w)
                mstore(add(m, 0xe0), nonce)
                mstore(add(m, 0x100), calldataload(117)) // ref
                mstore(add(m, 0x120), 0)
                mstore(add(m, 0x140), 0)
                w := keccak256(m, 0x160)
                mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
                mstore(add(m, 0x02), domain)
                mstore(add(m, 0x22), w)
                let d := keccak256(m, 0x42)
                // ECDSA: s in the lower half order, v in {27, 28}, recovered == signer (non-zero, so a zero or
                // missing recovery never matches)
                w := calldataload(181) // s
                if gt(w, HALF_ORDER) { break }
                let v := byte(0, calldataload(213))
                if iszero(or(eq(v, 27), eq(v, 28))) { break }
                mstore(m, d)
                mstore(add(m, 0x20), v)
                mstore(add(m, 0x40), calldataload(149)) // r
                mstore(add(m, 0x60), w)
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                if iszero(eq(returndatasize(), 0x20)) { break }
                if iszero(eq(mload(0x00), signer)) { break }
                byAgent := iszero(shr(255, nonce))
                digest := d
                break
            }
        }
        if (digest != 0 && _fastEffects(owner, agent, token, nonce, cap, byAgent, digest)) {
            assembly ("memory-safe") {
                mstore(0x00, cap)
                return(0x00, 0x20) // the amount (the cap)
            }
        }
        (amount, token) = _redeemCompactSlow(domain);
        _credits[msg.sender][token] += amount;
    }

    /// @notice Like {redeem}, but transfers the tokens to the caller at once.
    /// @param token The voucher token.
    /// @param voucher The packed voucher entry.
    /// @return amount The amount redeemed and paid.
    function redeemAndPay(address token, bytes calldata voucher) external nonReentrant returns (uint256 amount) {
        amount = _redeemOne(token, voucher);
        emit CreditWithdrawn(msg.sender, token, msg.sender, amount);
        _push(token, msg.sender, amount);
    }

    /// @dev The common case of {redeem} in one pass: a 207-byte entry with the signer, amount = cap, a 65-byte
    /// ECDSA signature of the signer the nonce names, an unused nonce, enough balance. It makes every check before
    /// any write; if anything is outside that case (or invalid) it returns 0 without touching state and {redeem}
    /// takes the general path, which handles it or reverts with the precise error. So this function can only
    /// ever accept a subset of what the general path accepts, with the same effects and event.
    function _fastRedeem(address token, bytes calldata data) private returns (uint256 amount) {
        bytes32 digest = _fastDigest(token, data);
        if (digest == 0) return 0;
        address owner;
        address agent;
        bool byAgent;
        bool signed;
        assembly ("memory-safe") {
            for {} 1 {} {
                let o := data.offset
                let m := mload(0x40)
                owner := shr(96, calldataload(add(o, 1)))
                agent := shr(96, calldataload(add(o, 21)))
                // the nonce names the signer (see redeemCompact); owner and agent are non-zero (_fastDigest)
                let n := calldataload(add(o, 78))
                let signer := agent
                if shr(255, n) {
                    if iszero(eq(and(shr(215, n), 0xffffffffff), shr(216, calldataload(add(o, 73))))) { break }
                    signer := owner
                }
                // ECDSA: s in the lower half order, v in {27, 28}, recovered == signer (never 0)
                let sv := calldataload(add(o, 174))
                let vv := byte(0, calldataload(add(o, 206)))
                if gt(sv, HALF_ORDER) { break }
                if iszero(or(eq(vv, 27), eq(vv, 28))) { break }
                mstore(m, digest)
                mstore(add(m, 0x20), vv)
                mstore(add(m, 0x40), calldataload(add(o, 142)))
                mstore(add(m, 0x60), sv)
                if iszero(staticcall(gas(), 0x01, m, 0x80, m, 0x20)) { break }
                if iszero(eq(returndatasize(), 0x20)) { break }
                byAgent := iszero(shr(255, n))
                signed := eq(mload(m), signer)
                break
            }
        }
        if (signed) {
            uint256 cap;
            uint256 nonce;
            assembly ("memory-safe") {
                cap := calldataload(add(data.offset, 41))
                nonce := calldataload(add(data.offset, 78))
            }
            if (_fastEffects(owner, agent, token, nonce, cap, byAgent, digest)) amount = cap;
        }
    }

    /// @dev The effects of the one-pass paths of {redeemCompact} and {redeem} (via {_fastRedeem}), shared by both
    /// once the caller has checked the voucher's terms (owner and agent non-zero, cap non-zero, deadline and
    /// lifetime, merchant = caller, all inside `digest`) and its signature (`byAgent`: an agent nonce, signed by the
    /// agent; otherwise an owner nonce carrying the deadline, signed by the owner). It still makes every remaining
    /// check before any write: the nonce is unused, an agent-signed voucher's bucket is not frozen, the bucket
    /// holds `cap`, the caller's credit does not overflow. If all pass it
    /// marks the nonce redeemed, debits the bucket, credits the caller, emits Redeemed and returns true; otherwise
    /// it writes nothing and returns false, and the caller takes the general path, which redeems or reverts with the
    /// precise error.
    function _fastEffects(
        address owner,
        address agent,
        address token,
        uint256 nonce,
        uint256 cap,
        bool byAgent,
        bytes32 digest
    ) private returns (bool applied) {
        assembly ("memory-safe") {
            for {} 1 {} {
                let m := mload(0x40)
                // nonce word: _nonceWords[keccak256(owner, agent, nonce >> 7)]
                mstore(m, owner)
                mstore(add(m, 0x20), agent)
                mstore(add(m, 0x40), shr(7, nonce))
                mstore(0x00, keccak256(m, 0x60))
                mstore(0x20, _nonceWords.slot)
                let wslot := keccak256(0x00, 0x40)
                let bits := sload(wslot)
                {
                    let shift := shl(1, and(nonce, 127))
                    if and(shr(shift, bits), 3) { break }
                    bits := or(bits, shl(shift, NONCE_REDEEMED))
                }
                // bucket: _buckets[keccak256(owner, agent, token)]
                mstore(add(m, 0x40), token)
                let bkey := keccak256(m, 0x60) // the bucket id, also the Redeemed topic
                mstore(0x00, bkey)
                mstore(0x20, _buckets.slot)
                let bslot := keccak256(0x00, 0x40)
                let raw := sload(bslot)
                if and(byAgent, iszero(iszero(shr(128, raw)))) { break }
                if gt(cap, and(raw, 0xffffffffffffffffffffffffffffffff)) { break }
                // credit: _credits[msg.sender][token]
                mstore(0x00, caller())
                mstore(0x20, _credits.slot)
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, token)
                let cslot := keccak256(0x00, 0x40)
                let credit := add(sload(cslot), cap)
                if lt(credit, cap) { break }
                // effects
                sstore(wslot, bits)
                sstore(bslot, sub(raw, cap)) // cap <= balance (the low 128 bits): no borrow into the flag
                sstore(cslot, credit)
                // emit Redeemed(digest, bucket, merchant, amount)
                mstore(0x00, cap)
                log4(0x00, 0x20, REDEEMED_TOPIC, digest, bkey, caller())
                applied := 1
                break
            }
        }
    }

    /// @dev The digest of a fast-path entry (see {_fastRedeem}), or 0 if the entry is not one or its terms fail.
    function _fastDigest(address token, bytes calldata data) private view returns (bytes32 digest) {
        bytes32 domain = _domainSeparatorV4();
        uint256 lifetime = MAX_VOUCHER_LIFETIME;
        assembly ("memory-safe") {
            for {} 1 {} {
                let o := data.offset
                if iszero(and(eq(data.length, 207), eq(byte(0, calldataload(o)), FLAG_SIGNER))) { break }
                let m := mload(0x40)
                mstore(add(m, 0x20), shr(96, calldataload(add(o, 1)))) // owner
                mstore(add(m, 0x40), shr(96, calldataload(add(o, 21)))) // agent
                if or(iszero(mload(add(m, 0x20))), iszero(mload(add(m, 0x40)))) { break }
                let w := calldataload(add(o, 41)) // cap
                if iszero(w) { break }
                mstore(add(m, 0xa0), w)
                w := shr(216, calldataload(add(o, 73))) // deadline
                if gt(timestamp(), w) { break }
                if gt(sub(w, timestamp()), lifetime) { break }
                mstore(add(m, 0xc0), w)
                mstore(m, VOUCHER_TYPEHASH_LITERAL)
                mstore(add(m, 0x60), caller())
                mstore(add(m, 0x80), token)
                mstore(add(m, 0xe0), calldataload(add(o, 78))) // nonce
                mstore(add(m, 0x100), calldataload(add(o, 110))) // ref
                mstore(add(m, 0x120), 0)
                mstore(add(m, 0x140), 0)
                w := keccak256(m, 0x160)
                mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
                mstore(add(m, 0x02), domain)
                mstore(add(m, 0x22), w)
                digest := keccak256(m, 0x42)
                break
            }
        }
    }

    /// @dev The general path of {redeemCompact}: decodes the compact calldata into an entry and applies it.
    function _redeemCompactSlow(bytes32 domain) private returns (uint256 amount, address token) {
        Entry memory e;
        assembly ("memory-safe") {
            token := shr(96, calldataload(4))
            let cap := shr(128, calldataload(64))
            mstore(e, shr(96, calldataload(24))) // owner
            mstore(add(e, 0x20), shr(96, calldataload(44))) // agent
            mstore(add(e, 0x40), cap)
            mstore(add(e, 0x60), cap) // amount
            mstore(add(e, 0x80), shr(216, calldataload(80))) // deadline
            mstore(add(e, 0xa0), calldataload(85)) // nonce
            mstore(add(e, 0xe0), 149) // signature: r, s, v at the end of the calldata
            mstore(add(e, 0x100), 65)
            let m := mload(0x40)
            mstore(m, VOUCHER_TYPEHASH_LITERAL)
            mstore(add(m, 0x20), mload(e))
            mstore(add(m, 0x40), mload(add(e, 0x20)))
            mstore(add(m, 0x60), caller())
            mstore(add(m, 0x80), token)
            mstore(add(m, 0xa0), cap)
            mstore(add(m, 0xc0), mload(add(e, 0x80)))
            mstore(add(m, 0xe0), calldataload(85))
            mstore(add(m, 0x100), calldataload(117)) // ref
            mstore(add(m, 0x120), 0)
            mstore(add(m, 0x140), 0)
            let h := keccak256(m, 0x160)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), domain)
            mstore(add(m, 0x22), h)
            mstore(add(e, 0xc0), keccak256(m, 0x42))
        }
        amount = _applyEntry(e, token);
    }

    /// @dev Redeems exactly one packed entry (which must carry the signer) for merchant = msg.sender.
    function _redeemOne(address token, bytes calldata data) private returns (uint256 amount) {
        Entry memory e;
        {
            (uint256 next, bool newSigner) = _decodeEntry(token, data, 0, e);
            if (!newSigner || next != data.length) revert MalformedVouchers();
        }
        return _applyEntry(e, token);
    }

    /// @dev Checks a decoded single entry (terms, signature, nonce, bucket), debits the bucket, marks the nonce
    /// and emits {Redeemed}; the caller credits or pays the merchant.
    function _applyEntry(Entry memory e, address token) private returns (uint256 amount) {
        amount = e.amount;
        bool byAgent = _verifyEntry(e);
        _useNonce(e);
        // bucket
        bytes32 bucketKey = Keys.key(e.owner, e.agent, uint160(token));
        uint256 slot = Keys.slot(bucketKey, _bucketsRoot());
        uint256 raw = Keys.load(slot);
        if (byAgent && raw >> 128 != 0) revert AgentFrozen(e.owner, e.agent);
        if (amount > uint128(raw)) revert InsufficientBalance(uint128(raw), amount);
        assembly ("memory-safe") {
            sstore(slot, sub(raw, amount)) // balance is the low 128 bits and amount <= balance: no borrow
        }
        emit Redeemed(e.digest, bucketKey, msg.sender, amount);
    }

    /// @dev Marks the entry's nonce redeemed (storing the amount if partial); reverts if already used.
    function _useNonce(Entry memory e) private {
        uint256 nonce = e.nonce;
        uint256 slot = Keys.slot(Keys.key(e.owner, e.agent, nonce >> 7), _wordsRoot());
        uint256 shift = (nonce & 127) << 1;
        uint256 bits = Keys.load(slot);
        if ((bits >> shift) & 3 != 0) revert NonceUsed(e.owner, e.agent, nonce);
        if (e.amount == e.cap) {
            bits |= uint256(NONCE_REDEEMED) << shift;
        } else {
            bits |= uint256(NONCE_REDEEMED_PARTIAL) << shift;
            _redemptions[Keys.key(e.owner, e.agent, nonce)].partialAmount = uint128(e.amount);
        }
        assembly ("memory-safe") {
            sstore(slot, bits)
        }
    }
}
