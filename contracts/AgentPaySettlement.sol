// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SettlementOwnerControls} from "./settlement/SettlementOwnerControls.sol";
import {SettlementCancels} from "./settlement/SettlementCancels.sol";
import {SingleRedemption} from "./settlement/SingleRedemption.sol";
import {BatchRedemption} from "./settlement/BatchRedemption.sol";
import {CallRedemption} from "./settlement/CallRedemption.sol";
import {SettlementRefunds} from "./settlement/SettlementRefunds.sol";
import {VoucherSignatures} from "./settlement/VoucherSignatures.sol";

/// @title AgentPaySettlement
/// @notice Escrow for AI-agent payments. An owner funds per-agent buckets of ERC-20 tokens; the agent (or the
/// owner) signs EIP-712 spend vouchers; the merchant named in a voucher redeems it, once, before its deadline,
/// up to its cap, from that agent's bucket only. No owner, no admin, no upgrade path.
/// @dev See contracts/README.md for the voucher type, the packed voucher encoding and the security argument.
///
/// Funds model, per owner and token:
///  - the main bucket (agent = address(0)) is never spendable by vouchers: deposit, allocate from it and
///    withdraw from it at once;
///  - an agent bucket (agent != 0) backs that agent's vouchers: money enters at once (deposit, allocate) but
///    leaves only by redemption or by a release scheduled WITHDRAWAL_DELAY >= MAX_VOUCHER_LIFETIME ahead, so no
///    release can take back what a currently valid voucher names before it expires. Every valid voucher of the
///    bucket draws on the same balance, first come first served, including vouchers the owner signs to itself.
/// Vouchers are redeemable only in [deadline - MAX_VOUCHER_LIFETIME, deadline], which bounds their lifetime. The
/// nonce names the signer (agent nonces below 2**255, owner nonces above, carrying the deadline); each signer
/// cancels only its own nonces, the agent's key nothing while frozen, the owner never a voucher inside its window.
/// What a merchant can rely on, exactly: contracts/README.md, "What a merchant can rely on".
/// The parts (contracts/settlement/): {IAgentPaySettlement} (types, events, errors), {VoucherSignatures} and
/// {PackedVouchers} (EIP-712 hashing, terms and signature checks, the packed encoding), {SettlementEscrow}
/// (buckets, deposits, credits), {SettlementNonces}, {SettlementOwnerControls} (freeze, timelocked release),
/// {SettlementCancels}, {SingleRedemption}, {BatchRedemption}, {CallRedemption} and {SettlementRefunds}.
contract AgentPaySettlement is
    SettlementOwnerControls,
    SettlementCancels,
    SingleRedemption,
    BatchRedemption,
    CallRedemption,
    SettlementRefunds
{
    /// @param maxVoucherLifetime Longest voucher lifetime in seconds (> 0).
    /// @param withdrawalDelay Release delay in seconds; must be >= `maxVoucherLifetime` (and < 2**32).
    constructor(uint256 maxVoucherLifetime, uint256 withdrawalDelay)
        VoucherSignatures(maxVoucherLifetime)
        SettlementOwnerControls(withdrawalDelay)
    {
        if (maxVoucherLifetime == 0 || withdrawalDelay < maxVoucherLifetime || withdrawalDelay > type(uint32).max) {
            revert InvalidConfig();
        }
    }
}
