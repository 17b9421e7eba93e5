// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SettlementEscrow} from "./SettlementEscrow.sol";
import {Keys} from "./Keys.sol";

/// @title SettlementOwnerControls
/// @notice What an owner does to an agent's bucket besides funding it: freeze the agent (its own signatures stop
/// spending at once) and take funds back through a timelocked release, executable only WITHDRAWAL_DELAY after it
/// was scheduled (WITHDRAWAL_DELAY >= MAX_VOUCHER_LIFETIME, so every voucher valid when the release is scheduled
/// expires before it can execute).
abstract contract SettlementOwnerControls is SettlementEscrow {
    /// @dev A scheduled release from an agent bucket back to the owner's main bucket.
    struct Release {
        uint128 amount;
        uint64 readyAt;
    }

    /// @notice Delay between scheduling a release from an agent bucket and executing it (>= lifetime).
    uint256 public immutable WITHDRAWAL_DELAY;

    /// @dev bucket key => scheduled release.
    mapping(bytes32 bucketKey => Release) internal _releases;
    /// @dev owner => agent => how many of the agent's buckets are frozen (its key cancels nothing while non-zero).
    mapping(address owner => mapping(address agent => uint256)) internal _frozenBuckets;

    /// @param withdrawalDelay Release delay in seconds (checked by {AgentPaySettlement}).
    constructor(uint256 withdrawalDelay) {
        WITHDRAWAL_DELAY = withdrawalDelay;
    }

    /// @notice Schedules moving `amount` of `token` from the agent's bucket back to the caller's main bucket,
    /// executable strictly after WITHDRAWAL_DELAY. Replaces any earlier schedule; `amount` = 0 cancels it.
    /// @dev Until then the funds stay spendable by the agent's vouchers.
    /// @param token The ERC-20.
    /// @param agent The agent (not address(0)).
    /// @param amount The amount to release (capped at the bucket balance when executed).
    function scheduleRelease(address token, address agent, uint256 amount) external {
        if (agent == address(0)) revert ZeroAddress();
        if (amount > type(uint128).max) revert AmountTooLarge();
        uint256 readyAt = amount == 0 ? 0 : block.timestamp + WITHDRAWAL_DELAY;
        _releases[Keys.key(msg.sender, agent, uint160(token))] = Release(uint128(amount), uint64(readyAt));
        emit ReleaseScheduled(msg.sender, agent, token, amount, readyAt);
    }

    /// @notice Executes the caller's scheduled release for (agent, token): moves min(scheduled, balance) back
    /// to the caller's main bucket.
    /// @param token The ERC-20.
    /// @param agent The agent.
    /// @return moved The amount moved.
    function release(address token, address agent) external returns (uint256 moved) {
        bytes32 key = Keys.key(msg.sender, agent, uint160(token));
        Release memory r = _releases[key];
        if (r.readyAt == 0) revert NoRelease();
        if (block.timestamp <= r.readyAt) revert ReleaseNotReady(r.readyAt);
        delete _releases[key];
        Bucket storage b = _buckets[key];
        uint256 bal = b.balance;
        moved = r.amount < bal ? r.amount : bal;
        unchecked {
            b.balance = uint128(bal - moved);
        }
        _addToBucket(msg.sender, address(0), token, moved);
        emit Released(msg.sender, agent, token, moved);
    }

    /// @notice Freezes (or unfreezes) the caller's agent for the given tokens, at once: a frozen bucket rejects
    /// every voucher signed by the agent (vouchers signed by the owner still redeem), and while any of the agent's
    /// buckets is frozen its key cancels nothing.
    /// @param agent The agent.
    /// @param tokens The tokens whose buckets to (un)freeze.
    /// @param frozen True to freeze, false to unfreeze.
    function setFrozen(address agent, address[] calldata tokens, bool frozen) external {
        if (agent == address(0)) revert ZeroAddress();
        uint256 count = _frozenBuckets[msg.sender][agent];
        for (uint256 i; i < tokens.length; ++i) {
            Bucket storage b = _buckets[Keys.key(msg.sender, agent, uint160(tokens[i]))];
            if (b.frozen != frozen) {
                b.frozen = frozen;
                // count changes only with a flag that changes: never below zero, never above the buckets
                count = frozen ? count + 1 : count - 1;
            }
            emit FrozenSet(msg.sender, agent, tokens[i], frozen);
        }
        _frozenBuckets[msg.sender][agent] = count;
    }

    /// @notice How many of the agent's buckets (one per token) the owner has frozen; while non-zero the agent's key
    /// cancels nothing (see {cancel}).
    /// @param owner The owner.
    /// @param agent The agent.
    /// @return The number of frozen buckets.
    function frozenBucketsOf(address owner, address agent) external view returns (uint256) {
        return _frozenBuckets[owner][agent];
    }

    /// @notice The scheduled release of (owner, agent, token), if any.
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param token The ERC-20.
    /// @return amount The scheduled amount.
    /// @return readyAt The release is executable strictly after this timestamp (0 = none).
    function pendingRelease(address owner, address agent, address token)
        external
        view
        returns (uint256 amount, uint256 readyAt)
    {
        Release memory r = _releases[Keys.key(owner, agent, uint160(token))];
        return (r.amount, r.readyAt);
    }
}
