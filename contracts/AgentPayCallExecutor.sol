// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @title AgentPayCallExecutor
/// @notice Performs the contract call named by a voucher for {AgentPaySettlement-redeemAndCall}.
/// @dev The settlement contract holds everyone's escrow, so it must never make an arbitrary call itself
/// (a voucher naming another token as target could otherwise move the escrow's balance of that token).
/// This executor holds nothing between calls: the settlement sends it exactly the voucher amount,
/// the executor approves the target for exactly that, makes the call, resets the allowance to zero
/// and hands any leftover back to the settlement. Only the settlement that deployed it may call it.
/// Never approve this contract for anything: any voucher call could spend such an approval.
contract AgentPayCallExecutor {
    using SafeERC20 for IERC20;

    /// @notice The settlement contract that deployed this executor and alone may use it.
    address public immutable SETTLEMENT;

    /// @notice The caller is not the settlement contract.
    error OnlySettlement();

    constructor() {
        SETTLEMENT = msg.sender;
    }

    /// @notice Approves `target` for this contract's whole balance of `token`, calls it with `callData`,
    /// resets the allowance to zero and returns whatever was not spent to the settlement contract.
    /// @dev Reverts, bubbling the reason, if the call fails.
    /// @param token The ERC-20 the settlement just sent here.
    /// @param target The contract to call.
    /// @param callData The exact calldata (its hash was signed in the voucher).
    /// @return leftover The amount of `token` returned to the settlement contract.
    /// @return result The call's return data.
    function execute(address token, address target, bytes calldata callData)
        external
        returns (uint256 leftover, bytes memory result)
    {
        if (msg.sender != SETTLEMENT) revert OnlySettlement();
        IERC20 erc20 = IERC20(token);
        erc20.forceApprove(target, erc20.balanceOf(address(this)));
        result = Address.functionCall(target, callData);
        erc20.forceApprove(target, 0);
        leftover = erc20.balanceOf(address(this));
        if (leftover != 0) erc20.safeTransfer(SETTLEMENT, leftover);
    }
}
