// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IAgentPaySettlement} from "./IAgentPaySettlement.sol";
import {Keys} from "./Keys.sol";

/// @title SettlementEscrow
/// @notice Buckets and credits: per (owner, agent, token) buckets of ERC-20 balances (agent = address(0) is the
/// owner's main bucket), deposits (fee-on-transfer aware, optionally with an EIP-2612 permit), moving funds from
/// the main bucket into an agent bucket, withdrawing from the main bucket, and the merchants' internal credits.
/// @dev Balances are uint128 (one slot with the freeze flag); a deposit that would overflow reverts. Every token
/// movement checks what actually moved (balance before and after).
abstract contract SettlementEscrow is IAgentPaySettlement, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One storage slot: the balance and the freeze flag of an (owner, agent, token) bucket.
    struct Bucket {
        uint128 balance;
        bool frozen;
    }

    /// @dev keccak256(abi.encode(owner, agent, token)) => bucket; agent = address(0) is the main bucket.
    mapping(bytes32 bucketKey => Bucket) internal _buckets;
    /// @dev merchant => token => internal credit (withdrawn with {withdrawCredit}).
    mapping(address merchant => mapping(address token => uint256)) internal _credits;

    /// @notice Deposits `amount` of `token` from the caller into the caller's (caller, agent) bucket.
    /// @dev Credits what actually arrived (fee-on-transfer tokens). `agent` = address(0) is the main bucket.
    /// @param token The ERC-20 to deposit.
    /// @param agent The agent whose bucket to fund, or address(0) for the caller's main bucket.
    /// @param amount The amount to transfer from the caller (needs an allowance).
    /// @return received The amount credited.
    function deposit(address token, address agent, uint256 amount) external nonReentrant returns (uint256 received) {
        return _deposit(token, agent, amount);
    }

    /// @notice Like {deposit}, but first applies an EIP-2612 permit signed by the caller.
    /// @dev If the permit call fails (for example because someone front-ran it and used it already) the deposit
    /// still goes ahead with whatever allowance exists, so front-running the permit cannot block the deposit.
    /// @param token The ERC-20 (with EIP-2612) to deposit.
    /// @param agent The agent whose bucket to fund, or address(0) for the main bucket.
    /// @param amount The amount to deposit and the permit value.
    /// @param permitDeadline The permit deadline.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    /// @return received The amount credited.
    function depositWithPermit(
        address token,
        address agent,
        uint256 amount,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 received) {
        try IERC20Permit(token).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {} catch {}
        return _deposit(token, agent, amount);
    }

    /// @notice Moves `amount` of `token` from the caller's main bucket into the agent's bucket, at once.
    /// @param token The ERC-20.
    /// @param agent The agent (not address(0)).
    /// @param amount The amount to move.
    function allocate(address token, address agent, uint256 amount) external {
        if (agent == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Bucket storage main = _buckets[Keys.key(msg.sender, address(0), uint160(token))];
        uint256 available = main.balance;
        if (amount > available) revert InsufficientBalance(available, amount);
        unchecked {
            main.balance = uint128(available - amount);
        }
        _addToBucket(msg.sender, agent, token, amount);
        emit Allocated(msg.sender, agent, token, amount);
    }

    /// @notice Withdraws `amount` of `token` from the caller's main bucket to `to`, at once.
    /// @param token The ERC-20.
    /// @param amount The amount.
    /// @param to The recipient (not address(0)).
    function withdraw(address token, uint256 amount, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Bucket storage main = _buckets[Keys.key(msg.sender, address(0), uint160(token))];
        uint256 available = main.balance;
        if (amount > available) revert InsufficientBalance(available, amount);
        unchecked {
            main.balance = uint128(available - amount);
        }
        emit Withdrawn(msg.sender, token, to, amount);
        _push(token, to, amount);
    }

    /// @notice Withdraws `amount` of the caller's internal merchant credit in `token` to `to`.
    /// @param token The ERC-20.
    /// @param amount The amount.
    /// @param to The recipient (not address(0)).
    function withdrawCredit(address token, uint256 amount, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 credit = _credits[msg.sender][token];
        if (amount > credit) revert InsufficientBalance(credit, amount);
        unchecked {
            _credits[msg.sender][token] = credit - amount;
        }
        emit CreditWithdrawn(msg.sender, token, to, amount);
        _push(token, to, amount);
    }

    /// @notice Balance and freeze flag of the (owner, agent, token) bucket; agent = address(0) is the main bucket.
    /// @param owner The owner.
    /// @param agent The agent or address(0).
    /// @param token The ERC-20.
    /// @return balance The balance.
    /// @return frozen Whether agent-signed vouchers are refused.
    function bucketOf(address owner, address agent, address token)
        external
        view
        returns (uint256 balance, bool frozen)
    {
        Bucket memory b = _buckets[Keys.key(owner, agent, uint160(token))];
        return (b.balance, b.frozen);
    }

    /// @notice The id of the (owner, agent, token) bucket: `keccak256(abi.encode(owner, agent, token))`, the
    /// `bucket` topic of {Redeemed}.
    /// @param owner The owner.
    /// @param agent The agent or address(0).
    /// @param token The ERC-20.
    /// @return The bucket id.
    function bucketIdOf(address owner, address agent, address token) external pure returns (bytes32) {
        return Keys.key(owner, agent, uint160(token));
    }

    /// @notice A merchant's internal credit in `token`.
    /// @param merchant The merchant.
    /// @param token The ERC-20.
    /// @return The credit.
    function creditOf(address merchant, address token) external view returns (uint256) {
        return _credits[merchant][token];
    }

    function _bucketsRoot() internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            root := _buckets.slot
        }
    }

    function _deposit(address token, address agent, uint256 amount) private returns (uint256 received) {
        if (amount == 0) revert ZeroAmount();
        received = _pull(token, msg.sender, amount);
        if (received == 0) revert ZeroAmount();
        _addToBucket(msg.sender, agent, token, received);
        emit Deposited(msg.sender, agent, token, received);
    }

    /// @dev Adds to a bucket, reading it only now (after any token call), never overflowing uint128.
    function _addToBucket(address owner, address agent, address token, uint256 amount) internal {
        Bucket storage b = _buckets[Keys.key(owner, agent, uint160(token))];
        uint256 nb = uint256(b.balance) + amount;
        if (nb > type(uint128).max) revert AmountTooLarge();
        b.balance = uint128(nb);
    }

    /// @dev Pulls `amount` from `from`; returns what actually arrived (fee-on-transfer aware).
    function _pull(address token, address from, uint256 amount) internal returns (uint256 received) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        uint256 afterBal = IERC20(token).balanceOf(address(this));
        if (afterBal < before) revert TransferAccountingMismatch();
        received = afterBal - before;
    }

    /// @dev Sends `amount` to `to` and checks that the escrow lost no more than that.
    function _push(address token, address to, uint256 amount) internal {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransfer(to, amount);
        uint256 afterBal = IERC20(token).balanceOf(address(this));
        if (afterBal < before && before - afterBal > amount) revert TransferAccountingMismatch();
    }

    function _pushGuarded(address token, address to, uint256 amount) internal nonReentrant {
        _push(token, to, amount);
    }
}
