// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {VoucherSignatures} from "./VoucherSignatures.sol";
import {SettlementNonces} from "./SettlementNonces.sol";
import {SettlementOwnerControls} from "./SettlementOwnerControls.sol";
import {Keys} from "./Keys.sol";

/// @title SettlementCancels
/// @notice Cancelling voucher nonces, by their signer only, and never a voucher a merchant can still count on
/// because of who signed it:
///  - agent nonces (below 2**255) are cancelled by the agent, at once, unless any of its buckets is frozen (a
///    frozen key cancels nothing). The owner cannot cancel them: its brake for agent-signed vouchers is the freeze.
///  - owner nonces are cancelled by the owner, before the voucher's redemption window opens or after its deadline,
///    never inside the window (the nonce carries the deadline, so the contract knows which applies). An owner-signed
///    voucher that is valid when the merchant receives it can therefore not be cancelled before it expires, by
///    anyone, and the agent's key (stolen, frozen or not) cannot touch it.
abstract contract SettlementCancels is VoucherSignatures, SettlementOwnerControls, SettlementNonces {
    /// @notice Cancels voucher nonces of the (owner, agent) nonce space. The agent cancels agent nonces (at once;
    /// nothing while any of its buckets is frozen); the owner cancels owner nonces whose voucher is not inside its
    /// redemption window. All or nothing: any nonce the caller may not cancel reverts the call.
    /// @dev Nonces already redeemed or cancelled are skipped (no event). No external calls.
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param nonces The nonces to cancel.
    function cancel(address owner, address agent, uint256[] calldata nonces) external {
        bool asOwner = msg.sender == owner;
        bool asAgent = msg.sender == agent;
        if (!asOwner && !asAgent) revert NotOwnerOrAgent();
        bool agentFrozen = asAgent && _frozenBuckets[owner][agent] != 0;
        if (agentFrozen && !asOwner) revert AgentFrozen(owner, agent);
        for (uint256 i; i < nonces.length; ++i) {
            uint256 nonce = nonces[i];
            if (nonce < OWNER_NONCE_FLAG) {
                if (!asAgent) revert NotNonceSigner(nonce);
                if (agentFrozen) revert AgentFrozen(owner, agent);
            } else {
                if (!asOwner) revert NotNonceSigner(nonce);
                uint256 deadline = _ownerNonceDeadline(nonce);
                // inside [deadline - MAX_VOUCHER_LIFETIME, deadline], exactly where _checkTerms lets it redeem
                if (block.timestamp <= deadline && deadline - block.timestamp <= MAX_VOUCHER_LIFETIME) {
                    revert VoucherLive(nonce, deadline);
                }
            }
            bytes32 wk = Keys.key(owner, agent, nonce >> 7);
            uint256 bits = _nonceWords[wk];
            uint256 shift = (nonce & 127) << 1;
            if ((bits >> shift) & 3 == 0) {
                _nonceWords[wk] = bits | (uint256(NONCE_CANCELLED) << shift);
                emit NonceCancelled(owner, agent, nonce, msg.sender);
            }
        }
    }
}
