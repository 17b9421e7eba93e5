// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {VoucherSignatures} from "./VoucherSignatures.sol";
import {SettlementEscrow} from "./SettlementEscrow.sol";
import {SettlementNonces} from "./SettlementNonces.sol";
import {Keys} from "./Keys.sol";

/// @title SettlementRefunds
/// @notice A merchant refunds (part of) a redeemed voucher into the owner's main bucket, never more in total than
/// was redeemed for it.
abstract contract SettlementRefunds is VoucherSignatures, SettlementEscrow, SettlementNonces {
    /// @notice Refunds up to the redeemed amount of a voucher the caller redeemed, into the owner's main bucket.
    /// @dev Only `v.merchant`. The voucher and its signature are checked again so that the bound is the redeemed
    /// amount of a voucher the owner or agent really signed. Refunds accumulate per (owner, agent, nonce).
    /// @param v The voucher that was redeemed.
    /// @param amount The amount to refund.
    /// @param fromCredit True: take it from the caller's internal credit. False: pull it from the caller's
    /// wallet (needs an allowance; what actually arrives counts).
    /// @param signature The voucher's signature.
    /// @return refunded The amount credited to the owner.
    function refund(Voucher calldata v, uint256 amount, bool fromCredit, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 refunded)
    {
        if (msg.sender != v.merchant) revert NotMerchant();
        if (amount == 0) revert ZeroAmount();
        bytes32 digest = hashVoucher(v);
        _checkSignature(v.owner, v.agent, v.nonce, v.deadline, digest, signature);
        uint256 state = nonceState(v.owner, v.agent, v.nonce);
        bytes32 key = Keys.key(v.owner, v.agent, v.nonce);
        Redemption memory rec = _redemptions[key];
        uint256 redeemed;
        if (state == NONCE_REDEEMED) redeemed = v.cap;
        else if (state == NONCE_REDEEMED_PARTIAL) redeemed = rec.partialAmount;
        else revert NotRedeemed();

        if (uint256(rec.refunded) + amount > redeemed) revert RefundExceedsRedeemed(redeemed, rec.refunded, amount);
        if (fromCredit) {
            uint256 credit = _credits[msg.sender][v.token];
            if (amount > credit) revert InsufficientBalance(credit, amount);
            unchecked {
                _credits[msg.sender][v.token] = credit - amount;
            }
            refunded = amount;
        } else {
            refunded = _pull(v.token, msg.sender, amount); // may be less than amount (fee-on-transfer)
            if (refunded == 0) revert ZeroAmount();
            if (uint256(rec.refunded) + refunded > redeemed) {
                revert RefundExceedsRedeemed(redeemed, rec.refunded, refunded);
            }
        }
        _redemptions[key].refunded = uint128(rec.refunded + refunded);
        _addToBucket(v.owner, address(0), v.token, refunded);
        emit Refunded(digest, v.owner, msg.sender, v.token, refunded);
    }
}
