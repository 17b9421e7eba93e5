// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test-only hostile ERC-20: on every transfer (before moving the balance) it calls `hookTarget` with
/// `hookData` once, as itself, and records whether that re-entrant call succeeded and what it returned.
contract ReentrantToken is ERC20 {
    address public hookTarget;
    bytes public hookData;
    bool public hookArmed;
    bool public lastHookSuccess;
    bytes public lastHookResult;
    uint256 public hookCalls;

    constructor() ERC20("Hostile", "HOST") {}

    /// @notice Mints `amount` to `to`. Test-only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the hook: the next transfer calls `target` with `data` (once).
    function arm(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
        hookArmed = true;
    }

    /// @notice Lets this token approve a spender for its own balance (so the hook can act as a depositor).
    function approveAs(address spender, uint256 amount) external {
        _approve(address(this), spender, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (hookArmed && from != address(0) && to != address(0)) {
            hookArmed = false;
            ++hookCalls;
            (bool ok, bytes memory ret) = hookTarget.call(hookData);
            lastHookSuccess = ok;
            lastHookResult = ret;
        }
        super._update(from, to, value);
    }
}
