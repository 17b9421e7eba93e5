// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentPaySettlement} from "./IAgentPaySettlement.sol";
import {Keys} from "./Keys.sol";

/// @title SettlementNonces
/// @notice Voucher nonces: unordered, per (owner, agent), two bits each (unused, cancelled, redeemed for the cap,
/// redeemed for less), 128 to a storage word, and the redemption record kept for partial redemptions and refunds.
/// Below 2**255 a nonce is the agent's, from there the owner's (see {IAgentPaySettlement-Voucher}); one bitmap holds
/// both, so a voucher is redeemed at most once whoever signed it.
abstract contract SettlementNonces is IAgentPaySettlement {
    /// @notice Nonce state: never used.
    uint8 public constant NONCE_UNUSED = 0;
    /// @notice Nonce state: cancelled by its signer.
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
