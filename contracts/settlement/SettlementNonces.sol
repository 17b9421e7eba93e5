// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentPaySettlement} from "./IAgentPaySettlement.sol";
import {Keys} from "./Keys.sol";

/// @title SettlementNonces
/// @notice Voucher nonces: unordered, per (owner, agent), two bits each (unused, cancelled, redeemed for the cap,
/// redeemed for less), 128 to a storage word; the redemption record kept for partial redemptions and refunds;
/// cancellation.
abstract contract SettlementNonces is IAgentPaySettlement {
    /// @notice Nonce state: never used.
    uint8 public constant NONCE_UNUSED = 0;
    /// @notice Nonce state: cancelled by the owner or the agent.
    uint8 public constant NONCE_CANCELLED = 1;
    /// @notice Nonce state: redeemed for exactly the cap.
    uint8 public constant NONCE_REDEEMED = 2;
    /// @notice Nonce state: redeemed for less than the cap (the amount is stored).
    uint8 public constant NONCE_REDEEMED_PARTIAL = 3;

    /// @dev One slot, written only for partial redemptions and refunds: the redeemed amount when it differs
    /// from the cap (a full-cap redemption stores nothing) and the amount refunded so far.
    struct Redemption {
        uint128 partialAmount;
        uint128 refunded;
    }

    /// @dev keccak256(abi.encode(owner, agent, nonce >> 7)) => 128 two-bit nonce states.
    mapping(bytes32 wordKey => uint256 bits) internal _nonceWords;
    /// @dev keccak256(abi.encode(owner, agent, nonce)) => redemption record.
    mapping(bytes32 nonceKey => Redemption) internal _redemptions;

    /// @notice Cancels voucher nonces of (owner, agent). Only the owner or the agent may call it.
    /// @dev Nonces already redeemed or cancelled are skipped (no event).
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param nonces The nonces to cancel.
    function cancel(address owner, address agent, uint256[] calldata nonces) external {
        if (msg.sender != owner && msg.sender != agent) revert NotOwnerOrAgent();
        for (uint256 i; i < nonces.length; ++i) {
            uint256 nonce = nonces[i];
            bytes32 wk = Keys.key(owner, agent, nonce >> 7);
            uint256 bits = _nonceWords[wk];
            uint256 shift = (nonce & 127) << 1;
            if ((bits >> shift) & 3 == 0) {
                _nonceWords[wk] = bits | (uint256(NONCE_CANCELLED) << shift);
                emit NonceCancelled(owner, agent, nonce, msg.sender);
            }
        }
    }

    /// @notice The state of a nonce: 0 unused, 1 cancelled, 2 redeemed for the cap, 3 redeemed for less.
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param nonce The nonce.
    /// @return The state.
    function nonceState(address owner, address agent, uint256 nonce) public view returns (uint8) {
        return uint8((_nonceWords[Keys.key(owner, agent, nonce >> 7)] >> ((nonce & 127) << 1)) & 3);
    }

    /// @notice The stored redemption record of (owner, agent, nonce).
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param nonce The nonce.
    /// @return partialAmount The redeemed amount if it was below the cap, else 0.
    /// @return refunded The amount refunded so far.
    function redemptionOf(address owner, address agent, uint256 nonce)
        external
        view
        returns (uint256 partialAmount, uint256 refunded)
    {
        Redemption memory r = _redemptions[Keys.key(owner, agent, nonce)];
        return (r.partialAmount, r.refunded);
    }

    function _wordsRoot() internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            root := _nonceWords.slot
        }
    }
}
