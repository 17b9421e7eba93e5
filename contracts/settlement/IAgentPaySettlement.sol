// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IAgentPaySettlement
/// @notice The vocabulary of {AgentPaySettlement}: the signed voucher type, the events and the custom errors.
/// @dev Shared by every part of the escrow (contracts/settlement/*.sol); integrators can import it to decode
/// logs and reverts without the implementation.
interface IAgentPaySettlement {
    /// @notice A spend voucher, as signed (EIP-712 primary type `Voucher`).
    /// @dev `nonce` also says who must sign: below 2**255 it is an agent nonce (only the agent's signature is
    /// valid), from 2**255 an owner nonce (only the owner's), which carries the voucher's `deadline` in bits
    /// 215-254 (`2**255 | deadline << 215 | seq`). Each signer cancels only its own nonces (see {cancel}).
    struct Voucher {
        address owner;
        address agent;
        address merchant;
        address token;
        uint256 cap;
        uint256 deadline;
        uint256 nonce;
        bytes32 ref;
        address callTarget;
        bytes32 callDataHash;
    }

    // ---------------------------------------------------------------- events

    /// @notice `amount` of `token` (what actually arrived) was credited to the (owner, agent) bucket.
    event Deposited(address indexed owner, address indexed agent, address indexed token, uint256 amount);
    /// @notice `amount` moved from the owner's main bucket into the agent's bucket.
    event Allocated(address indexed owner, address indexed agent, address indexed token, uint256 amount);
    /// @notice A release of `amount` from the agent's bucket was scheduled (amount 0: cancelled) for `readyAt`.
    event ReleaseScheduled(
        address indexed owner, address indexed agent, address indexed token, uint256 amount, uint256 readyAt
    );
    /// @notice `amount` moved from the agent's bucket back to the owner's main bucket.
    event Released(address indexed owner, address indexed agent, address indexed token, uint256 amount);
    /// @notice `amount` left the owner's main bucket to `to`.
    event Withdrawn(address indexed owner, address indexed token, address indexed to, uint256 amount);
    /// @notice The (owner, agent, token) bucket was frozen or unfrozen.
    event FrozenSet(address indexed owner, address indexed agent, address indexed token, bool frozen);
    /// @notice A voucher nonce was cancelled by `by`, its signer (the agent for an agent nonce, the owner for an
    /// owner nonce).
    event NonceCancelled(address indexed owner, address indexed agent, uint256 nonce, address by);
    /// @notice A voucher was redeemed: `amount` left the agent bucket `bucket` and was credited to the merchant's
    /// internal balance. (A direct payout is followed by {CreditWithdrawn} in the same call.)
    /// @dev `bucket` is the bucket id `keccak256(abi.encode(owner, agent, token))` (see {bucketIdOf}), the key the
    /// escrow stores the bucket under. The owner, agent and token are not repeated here (that saves ~500 gas per
    /// redemption): every agent bucket that can be redeemed from was funded by a {Deposited} or {Allocated} event
    /// carrying (owner, agent, token), from which an indexer computes the same id; the wallet that minted the
    /// voucher also knows them by `digest`.
    event Redeemed(bytes32 indexed digest, bytes32 indexed bucket, address indexed merchant, uint256 amount);
    /// @notice A call voucher was redeemed: `amount` left the (owner, agent, token) bucket into `target`.
    event CallRedeemed(
        bytes32 indexed digest,
        address indexed owner,
        address indexed target,
        address agent,
        address token,
        uint256 amount,
        address merchant
    );
    /// @notice The merchant refunded `amount` of `token` for the voucher `digest` into the owner's main bucket.
    event Refunded(
        bytes32 indexed digest, address indexed owner, address indexed merchant, address token, uint256 amount
    );
    /// @notice `amount` of the merchant's internal credit in `token` was paid to `to`.
    event CreditWithdrawn(address indexed merchant, address indexed token, address indexed to, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice Constructor parameters out of range.
    error InvalidConfig();
    /// @notice An owner, agent or recipient is address(0) where it may not be.
    error ZeroAddress();
    /// @notice A zero amount.
    error ZeroAmount();
    /// @notice A balance would exceed 2**128 - 1.
    error AmountTooLarge();
    /// @notice Not enough in the bucket or credit.
    error InsufficientBalance(uint256 available, uint256 needed);
    /// @notice The caller is not the merchant named in the voucher.
    error NotMerchant();
    /// @notice The caller is neither the owner nor the agent.
    error NotOwnerOrAgent();
    /// @notice The signature is neither the owner's nor the agent's (ECDSA or ERC-1271).
    error InvalidSignature();
    /// @notice The voucher's deadline has passed.
    error VoucherExpired(uint256 deadline);
    /// @notice The deadline is more than MAX_VOUCHER_LIFETIME away.
    error VoucherNotYetValid(uint256 deadline);
    /// @notice The amount exceeds the voucher's cap.
    error OverCap(uint256 cap, uint256 amount);
    /// @notice The nonce was already redeemed or cancelled.
    error NonceUsed(address owner, address agent, uint256 nonce);
    /// @notice The bucket is frozen and the voucher is signed by the agent; or the agent's key tried to cancel
    /// while any of its buckets is frozen.
    error AgentFrozen(address owner, address agent);
    /// @notice The caller tried to cancel a nonce it does not sign: agent nonces are the agent's, owner nonces the
    /// owner's.
    error NotNonceSigner(uint256 nonce);
    /// @notice The owner tried to cancel an owner nonce whose voucher is inside its redemption window.
    error VoucherLive(uint256 nonce, uint256 deadline);
    /// @notice An owner nonce does not carry the voucher's deadline.
    error OwnerNonceMismatch(uint256 nonce, uint256 deadline);
    /// @notice The packed voucher bytes are malformed.
    error MalformedVouchers();
    /// @notice No release is scheduled.
    error NoRelease();
    /// @notice The release delay has not passed.
    error ReleaseNotReady(uint256 readyAt);
    /// @notice The voucher was not redeemed.
    error NotRedeemed();
    /// @notice The refund would exceed what was redeemed for the voucher.
    error RefundExceedsRedeemed(uint256 redeemed, uint256 refunded, uint256 amount);
    /// @notice The call target or calldata does not match the voucher, or the target is forbidden.
    error InvalidCall();
    /// @notice A token moved a different amount than requested in a way that would break the accounting.
    error TransferAccountingMismatch();
}
