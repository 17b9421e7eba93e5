// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AgentPayCallExecutor} from "./AgentPayCallExecutor.sol";

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
///    leaves only by redemption or by a release scheduled WITHDRAWAL_DELAY >= MAX_VOUCHER_LIFETIME ahead, so a
///    merchant holding a currently valid voucher can always redeem it before the owner can take the funds back.
/// Vouchers are redeemable only in [deadline - MAX_VOUCHER_LIFETIME, deadline], which bounds their lifetime.
contract AgentPaySettlement is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- types

    /// @notice A spend voucher, as signed (EIP-712 primary type `Voucher`).
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

    /// @dev One storage slot: the balance and the freeze flag of an (owner, agent, token) bucket.
    struct Bucket {
        uint128 balance;
        bool frozen;
    }

    /// @dev One slot, written only for partial redemptions and refunds: the redeemed amount when it differs
    /// from the cap (a full-cap redemption stores nothing) and the amount refunded so far.
    struct Redemption {
        uint128 partialAmount;
        uint128 refunded;
    }

    /// @dev A scheduled release from an agent bucket back to the owner's main bucket.
    struct Release {
        uint128 amount;
        uint64 readyAt;
    }

    /// @dev One decoded packed voucher entry (memory layout is relied on by assembly: one word per field).
    struct Entry {
        address owner; // 0x00
        address agent; // 0x20
        uint256 cap; // 0x40
        uint256 amount; // 0x60
        uint256 deadline; // 0x80
        uint256 nonce; // 0xa0
        bytes32 digest; // 0xc0
        uint256 sigOffset; // 0xe0, absolute calldata offset
        uint256 sigLength; // 0x100
    }

    /// @dev Batch cache of the current signer's bucket slot and nonce word.
    struct Cursor {
        bytes32 bucketKey; // the bucket id, for the Redeemed events
        uint256 bucketSlot;
        uint256 bucketRaw; // the bucket's raw slot value: balance in the low 128 bits, frozen flag above
        uint256 wordIndex; // NO_WORD when nothing is cached
        uint256 wordSlot;
        uint256 bits;
    }

    // ---------------------------------------------------------------- constants

    /// @notice EIP-712 type hash of {Voucher}.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address owner,address agent,address merchant,address token,uint256 cap,uint256 deadline,uint256 nonce,bytes32 ref,address callTarget,bytes32 callDataHash)"
    );

    /// @notice Nonce state: never used.
    uint8 public constant NONCE_UNUSED = 0;
    /// @notice Nonce state: cancelled by the owner or the agent.
    uint8 public constant NONCE_CANCELLED = 1;
    /// @notice Nonce state: redeemed for exactly the cap.
    uint8 public constant NONCE_REDEEMED = 2;
    /// @notice Nonce state: redeemed for less than the cap (the amount is stored).
    uint8 public constant NONCE_REDEEMED_PARTIAL = 3;

    uint256 private constant FLAG_SIGNER = 0x01; // owner (20 bytes) and agent (20 bytes) follow
    uint256 private constant FLAG_AMOUNT = 0x02; // an explicit amount (32 bytes) follows; otherwise amount = cap
    uint256 private constant FLAG_LONG_SIG = 0x04; // uint16 length + signature bytes; otherwise 65-byte r,s,v
    uint256 private constant NO_WORD = type(uint256).max;
    /// @dev VOUCHER_TYPEHASH and the Redeemed topic as literals for assembly (checked equal in the tests).
    uint256 private constant VOUCHER_TYPEHASH_LITERAL = 0x937c01398bfb9c8c015996457a3ce5be231d7885ad7cfc550134c868b697bbab;
    uint256 private constant REDEEMED_TOPIC = 0x58cf9b93b64457f8d6c726f20c21486907f61e73a340038621b4bc0022631020;
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @notice Longest lifetime of a voucher: it is redeemable only when deadline - this <= now <= deadline.
    uint256 public immutable MAX_VOUCHER_LIFETIME;
    /// @notice Delay between scheduling a release from an agent bucket and executing it (>= lifetime).
    uint256 public immutable WITHDRAWAL_DELAY;
    /// @notice The stateless helper that performs voucher calls (see {redeemAndCall}).
    AgentPayCallExecutor public immutable EXECUTOR;

    // ---------------------------------------------------------------- storage

    /// @dev keccak256(abi.encode(owner, agent, token)) => bucket; agent = address(0) is the main bucket.
    mapping(bytes32 bucketKey => Bucket) private _buckets;
    /// @dev keccak256(abi.encode(owner, agent, nonce >> 7)) => 128 two-bit nonce states.
    mapping(bytes32 wordKey => uint256 bits) private _nonceWords;
    mapping(address merchant => mapping(address token => uint256)) private _credits;
    /// @dev keccak256(abi.encode(owner, agent, nonce)) => redemption record.
    mapping(bytes32 nonceKey => Redemption) private _redemptions;
    /// @dev bucket key => scheduled release.
    mapping(bytes32 bucketKey => Release) private _releases;

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
    /// @notice A voucher nonce was cancelled by `by` (the owner or the agent).
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
    /// @notice The bucket is frozen and the voucher is signed by the agent.
    error AgentFrozen(address owner, address agent);
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

    // ---------------------------------------------------------------- construction

    /// @param maxVoucherLifetime Longest voucher lifetime in seconds (> 0).
    /// @param withdrawalDelay Release delay in seconds; must be >= `maxVoucherLifetime` (and < 2**32).
    constructor(uint256 maxVoucherLifetime, uint256 withdrawalDelay) EIP712("AgentPaySettlement", "1") {
        if (maxVoucherLifetime == 0 || withdrawalDelay < maxVoucherLifetime || withdrawalDelay > type(uint32).max) {
            revert InvalidConfig();
        }
        MAX_VOUCHER_LIFETIME = maxVoucherLifetime;
        WITHDRAWAL_DELAY = withdrawalDelay;
        EXECUTOR = new AgentPayCallExecutor();
    }

    // ---------------------------------------------------------------- deposits and buckets

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
        Bucket storage main = _buckets[_key(msg.sender, address(0), uint160(token))];
        uint256 available = main.balance;
        if (amount > available) revert InsufficientBalance(available, amount);
        unchecked {
            main.balance = uint128(available - amount);
        }
        _addToBucket(msg.sender, agent, token, amount);
        emit Allocated(msg.sender, agent, token, amount);
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
        _releases[_key(msg.sender, agent, uint160(token))] = Release(uint128(amount), uint64(readyAt));
        emit ReleaseScheduled(msg.sender, agent, token, amount, readyAt);
    }

    /// @notice Executes the caller's scheduled release for (agent, token): moves min(scheduled, balance) back
    /// to the caller's main bucket.
    /// @param token The ERC-20.
    /// @param agent The agent.
    /// @return moved The amount moved.
    function release(address token, address agent) external returns (uint256 moved) {
        bytes32 key = _key(msg.sender, agent, uint160(token));
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

    /// @notice Withdraws `amount` of `token` from the caller's main bucket to `to`, at once.
    /// @param token The ERC-20.
    /// @param amount The amount.
    /// @param to The recipient (not address(0)).
    function withdraw(address token, uint256 amount, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Bucket storage main = _buckets[_key(msg.sender, address(0), uint160(token))];
        uint256 available = main.balance;
        if (amount > available) revert InsufficientBalance(available, amount);
        unchecked {
            main.balance = uint128(available - amount);
        }
        emit Withdrawn(msg.sender, token, to, amount);
        _push(token, to, amount);
    }

    /// @notice Freezes (or unfreezes) the caller's agent for the given tokens, at once: a frozen bucket rejects
    /// every voucher signed by the agent; vouchers signed by the owner still redeem.
    /// @param agent The agent.
    /// @param tokens The tokens whose buckets to (un)freeze.
    /// @param frozen True to freeze, false to unfreeze.
    function setFrozen(address agent, address[] calldata tokens, bool frozen) external {
        if (agent == address(0)) revert ZeroAddress();
        for (uint256 i; i < tokens.length; ++i) {
            _buckets[_key(msg.sender, agent, uint160(tokens[i]))].frozen = frozen;
            emit FrozenSet(msg.sender, agent, tokens[i], frozen);
        }
    }

    // ---------------------------------------------------------------- nonces

    /// @notice Cancels voucher nonces of (owner, agent). Only the owner or the agent may call it.
    /// @dev Nonces already redeemed or cancelled are skipped (no event).
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param nonces The nonces to cancel.
    function cancel(address owner, address agent, uint256[] calldata nonces) external {
        if (msg.sender != owner && msg.sender != agent) revert NotOwnerOrAgent();
        for (uint256 i; i < nonces.length; ++i) {
            uint256 nonce = nonces[i];
            bytes32 wk = _key(owner, agent, nonce >> 7);
            uint256 bits = _nonceWords[wk];
            uint256 shift = (nonce & 127) << 1;
            if ((bits >> shift) & 3 == 0) {
                _nonceWords[wk] = bits | (uint256(NONCE_CANCELLED) << shift);
                emit NonceCancelled(owner, agent, nonce, msg.sender);
            }
        }
    }

    // ---------------------------------------------------------------- redemption

    /// @notice Redeems one voucher naming the caller as merchant, `token` and no call, and credits the caller's
    /// internal balance (withdraw it in bulk with {withdrawCredit}).
    /// @dev `voucher` is one packed entry carrying the signer (see contracts/README.md).
    /// @param token The voucher token.
    /// @param voucher The packed voucher entry.
    /// @return amount The amount redeemed.
    function redeem(address token, bytes calldata voucher) external nonReentrantView returns (uint256 amount) {
        amount = _fastRedeem(token, voucher);
        if (amount == 0) {
            amount = _redeemOne(token, voucher);
            _credits[msg.sender][token] += amount;
        }
    }

    /// @notice Redeems one voucher like {redeem} (credited to the caller's internal balance), from compact
    /// calldata: this function's selector followed by exactly 210 raw bytes, no ABI encoding:
    /// `token (20) ‖ owner (20) ‖ agent (20) ‖ cap (16, uint128) ‖ deadline (5, uint40) ‖ nonce (32) ‖ ref (32) ‖
    /// r (32) ‖ s (32) ‖ v (1)`. The amount is the cap and the signature a 65-byte r‖s‖v (the owner's or the
    /// agent's ECDSA signature, or the 65-byte signature of an ERC-1271 owner or agent); anything else (a partial
    /// amount, a longer signature, a cap of 2**128 or more) goes through {redeem}. This is the cheapest way to
    /// redeem one voucher: it saves the ABI offset, length and padding words, the cap's 16 high zero bytes and the
    /// packed entry's flag byte (~480 gas of calldata), and the ABI decoding.
    /// @dev Any other calldata length reverts with {MalformedVouchers}. The checks and effects are the same as
    /// {redeem}'s: a one-pass path for the common case (all checks before any write; on any doubt it writes
    /// nothing and falls through) and then the general path, which redeems or reverts with the precise error.
    /// @return amount The amount redeemed (the cap).
    function redeemCompact() external nonReentrantView returns (uint256 amount) {
        if (msg.data.length != 214) revert MalformedVouchers();
        bytes32 domain = _domainSeparatorV4();
        uint256 lifetime = MAX_VOUCHER_LIFETIME;
        address owner;
        address agent;
        address token;
        uint256 cap;
        uint256 nonce;
        bool byAgent;
        bytes32 digest; // stays 0 unless the terms and the signature pass
        assembly ("memory-safe") {
            for {} 1 {} {
                owner := shr(96, calldataload(24))
                agent := shr(96, calldataload(44))
                if or(iszero(owner), iszero(agent)) { break }
                cap := shr(128, calldataload(64))
                if iszero(cap) { break }
                let w := shr(216, calldataload(80)) // deadline
                if gt(timestamp(), w) { break }
                if gt(sub(w, timestamp()), lifetime) { break }
                // struct hash of Voucher(owner, agent, merchant = caller, token, cap, deadline, nonce, ref, 0, 0)
                let m := mload(0x40)
                token := shr(96, calldataload(4))
                nonce := calldataload(85)
                mstore(m, VOUCHER_TYPEHASH_LITERAL)
                mstore(add(m, 0x20), owner)
                mstore(add(m, 0x40), agent)
                mstore(add(m, 0x60), caller())
                mstore(add(m, 0x80), token)
                mstore(add(m, 0xa0), cap)
                mstore(add(m, 0xc0), w)
                mstore(add(m, 0xe0), nonce)
                mstore(add(m, 0x100), calldataload(117)) // ref
                mstore(add(m, 0x120), 0)
                mstore(add(m, 0x140), 0)
                w := keccak256(m, 0x160)
                mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
                mstore(add(m, 0x02), domain)
                mstore(add(m, 0x22), w)
                let d := keccak256(m, 0x42)
                // ECDSA: s in the lower half order, v in {27, 28}, recovered == owner or agent (both are non-zero,
                // so a zero or missing recovery never matches)
                w := calldataload(181) // s
                if gt(w, HALF_ORDER) { break }
                let v := byte(0, calldataload(213))
                if iszero(or(eq(v, 27), eq(v, 28))) { break }
                mstore(m, d)
                mstore(add(m, 0x20), v)
                mstore(add(m, 0x40), calldataload(149)) // r
                mstore(add(m, 0x60), w)
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                if iszero(eq(returndatasize(), 0x20)) { break }
                let rec := mload(0x00)
                byAgent := and(iszero(eq(rec, owner)), eq(rec, agent))
                if iszero(or(eq(rec, owner), byAgent)) { break }
                digest := d
                break
            }
        }
        if (digest != 0 && _fastEffects(owner, agent, token, nonce, cap, byAgent, digest)) {
            assembly ("memory-safe") {
                mstore(0x00, cap)
                return(0x00, 0x20) // the amount (the cap)
            }
        }
        (amount, token) = _redeemCompactSlow(domain);
        _credits[msg.sender][token] += amount;
    }

    /// @notice Like {redeem}, but transfers the tokens to the caller at once.
    /// @param token The voucher token.
    /// @param voucher The packed voucher entry.
    /// @return amount The amount redeemed and paid.
    function redeemAndPay(address token, bytes calldata voucher) external nonReentrant returns (uint256 amount) {
        amount = _redeemOne(token, voucher);
        emit CreditWithdrawn(msg.sender, token, msg.sender, amount);
        _push(token, msg.sender, amount);
    }

    /// @notice Redeems many vouchers naming the caller as merchant and `token`, with one credit or one transfer.
    /// All or nothing: any invalid entry (including a nonce repeated inside the batch) reverts the batch.
    /// @param token The voucher token.
    /// @param payout False: credit the caller's internal balance. True: transfer the total now.
    /// @param vouchers Concatenated packed entries (see contracts/README.md); the first carries the signer.
    /// @return total The total redeemed.
    /// @return count The number of vouchers redeemed.
    function redeemBatch(address token, bool payout, bytes calldata vouchers)
        external
        nonReentrantView
        returns (uint256 total, uint256 count)
    {
        (total, count) = _redeemMany(token, vouchers);
        if (payout) {
            emit CreditWithdrawn(msg.sender, token, msg.sender, total);
            _pushGuarded(token, msg.sender, total);
        } else {
            _credits[msg.sender][token] += total;
        }
    }

    /// @notice Redeems a voucher that names a call: `amount` goes from the bucket into `v.callTarget` through a
    /// stateless executor (approve exactly, call, reset the allowance); any unspent part returns to the bucket.
    /// @dev Only `v.merchant` may call it. `keccak256(callData)` must equal `v.callDataHash`. Reverts if the call
    /// reverts. Example: target = an ERC-4626 vault, callData = deposit(amount, owner).
    /// @param v The voucher.
    /// @param amount The amount to spend (<= cap).
    /// @param callData The calldata whose hash the voucher names.
    /// @param signature The owner's or agent's signature (65-byte ECDSA or ERC-1271).
    /// @return spent The amount actually spent by the call.
    /// @return result The call's return data.
    function redeemAndCall(Voucher calldata v, uint256 amount, bytes calldata callData, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 spent, bytes memory result)
    {
        bytes32 digest = _authorizeCall(v, amount, callData, signature);
        (spent, result) = _executeCall(v, amount, callData);
        _emitCall(v, digest, spent);
    }

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
        _checkSignature(v.owner, v.agent, digest, signature);
        uint256 state = nonceState(v.owner, v.agent, v.nonce);
        bytes32 key = _key(v.owner, v.agent, v.nonce);
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

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 digest of a voucher (what the owner or agent signs).
    /// @param v The voucher.
    /// @return The digest.
    function hashVoucher(Voucher calldata v) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, v)));
    }

    /// @notice The EIP-712 domain separator of this deployment on this chain.
    /// @return The domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
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
        Bucket memory b = _buckets[_key(owner, agent, uint160(token))];
        return (b.balance, b.frozen);
    }

    /// @notice The id of the (owner, agent, token) bucket: `keccak256(abi.encode(owner, agent, token))`, the
    /// `bucket` topic of {Redeemed}.
    /// @param owner The owner.
    /// @param agent The agent or address(0).
    /// @param token The ERC-20.
    /// @return The bucket id.
    function bucketIdOf(address owner, address agent, address token) external pure returns (bytes32) {
        return _key(owner, agent, uint160(token));
    }

    /// @notice A merchant's internal credit in `token`.
    /// @param merchant The merchant.
    /// @param token The ERC-20.
    /// @return The credit.
    function creditOf(address merchant, address token) external view returns (uint256) {
        return _credits[merchant][token];
    }

    /// @notice The state of a nonce: 0 unused, 1 cancelled, 2 redeemed for the cap, 3 redeemed for less.
    /// @param owner The owner.
    /// @param agent The agent.
    /// @param nonce The nonce.
    /// @return The state.
    function nonceState(address owner, address agent, uint256 nonce) public view returns (uint8) {
        return uint8((_nonceWords[_key(owner, agent, nonce >> 7)] >> ((nonce & 127) << 1)) & 3);
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
        Redemption memory r = _redemptions[_key(owner, agent, nonce)];
        return (r.partialAmount, r.refunded);
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
        Release memory r = _releases[_key(owner, agent, uint160(token))];
        return (r.amount, r.readyAt);
    }

    // ---------------------------------------------------------------- internals: packed redemption

    /// @dev The common case of {redeem} in one pass: a 207-byte entry with the signer, amount = cap, a 65-byte
    /// ECDSA signature of the owner or agent, an unused nonce, enough balance. It makes every check before any
    /// write; if anything is outside that case (or invalid) it returns 0 without touching state and {redeem}
    /// takes the general path, which handles it or reverts with the precise error. So this function can only
    /// ever accept a subset of what the general path accepts, with the same effects and event.
    function _fastRedeem(address token, bytes calldata data) private returns (uint256 amount) {
        bytes32 digest = _fastDigest(token, data);
        if (digest == 0) return 0;
        address owner;
        address agent;
        bool byAgent;
        bool signed;
        assembly ("memory-safe") {
            for {} 1 {} {
                let o := data.offset
                let m := mload(0x40)
                owner := shr(96, calldataload(add(o, 1)))
                agent := shr(96, calldataload(add(o, 21)))
                // ECDSA: s in the lower half order, v in {27, 28}, recovered == owner or agent (never 0)
                let sv := calldataload(add(o, 174))
                let vv := byte(0, calldataload(add(o, 206)))
                if gt(sv, HALF_ORDER) { break }
                if iszero(or(eq(vv, 27), eq(vv, 28))) { break }
                mstore(m, digest)
                mstore(add(m, 0x20), vv)
                mstore(add(m, 0x40), calldataload(add(o, 142)))
                mstore(add(m, 0x60), sv)
                if iszero(staticcall(gas(), 0x01, m, 0x80, m, 0x20)) { break }
                if iszero(eq(returndatasize(), 0x20)) { break }
                let rec := mload(m)
                if iszero(rec) { break }
                let byOwner := eq(rec, owner)
                byAgent := and(iszero(byOwner), eq(rec, agent))
                signed := or(byOwner, byAgent)
                break
            }
        }
        if (signed) {
            uint256 cap;
            uint256 nonce;
            assembly ("memory-safe") {
                cap := calldataload(add(data.offset, 41))
                nonce := calldataload(add(data.offset, 78))
            }
            if (_fastEffects(owner, agent, token, nonce, cap, byAgent, digest)) amount = cap;
        }
    }

    /// @dev The effects of the one-pass paths of {redeemCompact} and {redeem} (via {_fastRedeem}), shared by both
    /// once the caller has checked the voucher's terms (owner and agent non-zero, cap non-zero, deadline and
    /// lifetime, merchant = caller, all inside `digest`) and its signature (`byAgent`: the agent signed, not the
    /// owner). It still makes every remaining check before any write: the nonce is unused, an agent-signed
    /// voucher's bucket is not frozen, the bucket holds `cap`, the caller's credit does not overflow. If all pass it
    /// marks the nonce redeemed, debits the bucket, credits the caller, emits Redeemed and returns true; otherwise
    /// it writes nothing and returns false, and the caller takes the general path, which redeems or reverts with the
    /// precise error.
    function _fastEffects(
        address owner,
        address agent,
        address token,
        uint256 nonce,
        uint256 cap,
        bool byAgent,
        bytes32 digest
    ) private returns (bool applied) {
        assembly ("memory-safe") {
            for {} 1 {} {
                let m := mload(0x40)
                // nonce word: _nonceWords[keccak256(owner, agent, nonce >> 7)]
                mstore(m, owner)
                mstore(add(m, 0x20), agent)
                mstore(add(m, 0x40), shr(7, nonce))
                mstore(0x00, keccak256(m, 0x60))
                mstore(0x20, _nonceWords.slot)
                let wslot := keccak256(0x00, 0x40)
                let bits := sload(wslot)
                {
                    let shift := shl(1, and(nonce, 127))
                    if and(shr(shift, bits), 3) { break }
                    bits := or(bits, shl(shift, NONCE_REDEEMED))
                }
                // bucket: _buckets[keccak256(owner, agent, token)]
                mstore(add(m, 0x40), token)
                let bkey := keccak256(m, 0x60) // the bucket id, also the Redeemed topic
                mstore(0x00, bkey)
                mstore(0x20, _buckets.slot)
                let bslot := keccak256(0x00, 0x40)
                let raw := sload(bslot)
                if and(byAgent, iszero(iszero(shr(128, raw)))) { break }
                if gt(cap, and(raw, 0xffffffffffffffffffffffffffffffff)) { break }
                // credit: _credits[msg.sender][token]
                mstore(0x00, caller())
                mstore(0x20, _credits.slot)
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, token)
                let cslot := keccak256(0x00, 0x40)
                let credit := add(sload(cslot), cap)
                if lt(credit, cap) { break }
                // effects
                sstore(wslot, bits)
                sstore(bslot, sub(raw, cap)) // cap <= balance (the low 128 bits): no borrow into the flag
                sstore(cslot, credit)
                // emit Redeemed(digest, bucket, merchant, amount)
                mstore(0x00, cap)
                log4(0x00, 0x20, REDEEMED_TOPIC, digest, bkey, caller())
                applied := 1
                break
            }
        }
    }

    /// @dev The digest of a fast-path entry (see {_fastRedeem}), or 0 if the entry is not one or its terms fail.
    function _fastDigest(address token, bytes calldata data) private view returns (bytes32 digest) {
        bytes32 domain = _domainSeparatorV4();
        uint256 lifetime = MAX_VOUCHER_LIFETIME;
        assembly ("memory-safe") {
            for {} 1 {} {
                let o := data.offset
                if iszero(and(eq(data.length, 207), eq(byte(0, calldataload(o)), FLAG_SIGNER))) { break }
                let m := mload(0x40)
                mstore(add(m, 0x20), shr(96, calldataload(add(o, 1)))) // owner
                mstore(add(m, 0x40), shr(96, calldataload(add(o, 21)))) // agent
                if or(iszero(mload(add(m, 0x20))), iszero(mload(add(m, 0x40)))) { break }
                let w := calldataload(add(o, 41)) // cap
                if iszero(w) { break }
                mstore(add(m, 0xa0), w)
                w := shr(216, calldataload(add(o, 73))) // deadline
                if gt(timestamp(), w) { break }
                if gt(sub(w, timestamp()), lifetime) { break }
                mstore(add(m, 0xc0), w)
                mstore(m, VOUCHER_TYPEHASH_LITERAL)
                mstore(add(m, 0x60), caller())
                mstore(add(m, 0x80), token)
                mstore(add(m, 0xe0), calldataload(add(o, 78))) // nonce
                mstore(add(m, 0x100), calldataload(add(o, 110))) // ref
                mstore(add(m, 0x120), 0)
                mstore(add(m, 0x140), 0)
                w := keccak256(m, 0x160)
                mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
                mstore(add(m, 0x02), domain)
                mstore(add(m, 0x22), w)
                digest := keccak256(m, 0x42)
                break
            }
        }
    }

    /// @dev The general path of {redeemCompact}: decodes the compact calldata into an entry and applies it.
    function _redeemCompactSlow(bytes32 domain) private returns (uint256 amount, address token) {
        Entry memory e;
        assembly ("memory-safe") {
            token := shr(96, calldataload(4))
            let cap := shr(128, calldataload(64))
            mstore(e, shr(96, calldataload(24))) // owner
            mstore(add(e, 0x20), shr(96, calldataload(44))) // agent
            mstore(add(e, 0x40), cap)
            mstore(add(e, 0x60), cap) // amount
            mstore(add(e, 0x80), shr(216, calldataload(80))) // deadline
            mstore(add(e, 0xa0), calldataload(85)) // nonce
            mstore(add(e, 0xe0), 149) // signature: r, s, v at the end of the calldata
            mstore(add(e, 0x100), 65)
            let m := mload(0x40)
            mstore(m, VOUCHER_TYPEHASH_LITERAL)
            mstore(add(m, 0x20), mload(e))
            mstore(add(m, 0x40), mload(add(e, 0x20)))
            mstore(add(m, 0x60), caller())
            mstore(add(m, 0x80), token)
            mstore(add(m, 0xa0), cap)
            mstore(add(m, 0xc0), mload(add(e, 0x80)))
            mstore(add(m, 0xe0), calldataload(85))
            mstore(add(m, 0x100), calldataload(117)) // ref
            mstore(add(m, 0x120), 0)
            mstore(add(m, 0x140), 0)
            let h := keccak256(m, 0x160)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), domain)
            mstore(add(m, 0x22), h)
            mstore(add(e, 0xc0), keccak256(m, 0x42))
        }
        amount = _applyEntry(e, token);
    }

    /// @dev Redeems exactly one packed entry (which must carry the signer) for merchant = msg.sender.
    function _redeemOne(address token, bytes calldata data) private returns (uint256 amount) {
        Entry memory e;
        {
            (uint256 next, bool newSigner) = _decodeEntry(token, data, 0, e);
            if (!newSigner || next != data.length) revert MalformedVouchers();
        }
        return _applyEntry(e, token);
    }

    /// @dev Checks a decoded single entry (terms, signature, nonce, bucket), debits the bucket, marks the nonce
    /// and emits {Redeemed}; the caller credits or pays the merchant.
    function _applyEntry(Entry memory e, address token) private returns (uint256 amount) {
        amount = e.amount;
        bool byAgent = _verifyEntry(e);
        _useNonce(e);
        // bucket
        bytes32 bucketKey = _key(e.owner, e.agent, uint160(token));
        uint256 slot = _slot(bucketKey, _bucketsRoot());
        uint256 raw = _sload(slot);
        if (byAgent && raw >> 128 != 0) revert AgentFrozen(e.owner, e.agent);
        if (amount > uint128(raw)) revert InsufficientBalance(uint128(raw), amount);
        assembly ("memory-safe") {
            sstore(slot, sub(raw, amount)) // balance is the low 128 bits and amount <= balance: no borrow
        }
        emit Redeemed(e.digest, bucketKey, msg.sender, amount);
    }

    /// @dev Marks the entry's nonce redeemed (storing the amount if partial); reverts if already used.
    function _useNonce(Entry memory e) private {
        uint256 nonce = e.nonce;
        uint256 slot = _slot(_key(e.owner, e.agent, nonce >> 7), _wordsRoot());
        uint256 shift = (nonce & 127) << 1;
        uint256 bits = _sload(slot);
        if ((bits >> shift) & 3 != 0) revert NonceUsed(e.owner, e.agent, nonce);
        if (e.amount == e.cap) {
            bits |= uint256(NONCE_REDEEMED) << shift;
        } else {
            bits |= uint256(NONCE_REDEEMED_PARTIAL) << shift;
            _redemptions[_key(e.owner, e.agent, nonce)].partialAmount = uint128(e.amount);
        }
        assembly ("memory-safe") {
            sstore(slot, bits)
        }
    }

    /// @dev Redeems packed entries for merchant = msg.sender. The current signer's bucket and nonce word are
    /// cached in memory and written back once, when the signer changes and at the end (nothing else can touch
    /// them meanwhile: the only external calls in between are ERC-1271 static calls).
    function _redeemMany(address token, bytes calldata data) private returns (uint256 total, uint256 count) {
        uint256 end = data.length;
        Entry memory e;
        Cursor memory c;
        c.wordIndex = NO_WORD;
        uint256 p;
        do {
            bool newSigner;
            (p, newSigner) = _decodeEntry(token, data, p, e);
            if (count == 0 && !newSigner) revert MalformedVouchers();
            if (newSigner) {
                _flush(c);
                c.bucketKey = _key(e.owner, e.agent, uint160(token));
                c.bucketSlot = _slot(c.bucketKey, _bucketsRoot());
                c.bucketRaw = _sload(c.bucketSlot);
                c.wordIndex = NO_WORD;
            }
            uint256 amount = _redeemCached(e, c);
            _emitRedeemed(e, c.bucketKey);
            unchecked {
                total += amount; // each amount fits in uint128; far fewer than 2**128 entries fit in calldata
                ++count;
            }
        } while (p < end);
        _flush(c);
    }

    /// @dev Checks and applies one decoded entry against the cache.
    function _redeemCached(Entry memory e, Cursor memory c) private returns (uint256 amount) {
        amount = e.amount;
        bool byAgent = _verifyEntry(e);
        uint256 nonce = e.nonce;
        uint256 wi = nonce >> 7;
        if (wi != c.wordIndex) {
            _flushWord(c);
            c.wordIndex = wi;
            c.wordSlot = _slot(_key(e.owner, e.agent, wi), _wordsRoot());
            c.bits = _sload(c.wordSlot);
        }
        uint256 shift = (nonce & 127) << 1;
        uint256 bits = c.bits;
        if ((bits >> shift) & 3 != 0) revert NonceUsed(e.owner, e.agent, nonce);
        if (amount == e.cap) {
            c.bits = bits | (uint256(NONCE_REDEEMED) << shift);
        } else {
            c.bits = bits | (uint256(NONCE_REDEEMED_PARTIAL) << shift);
            _redemptions[_key(e.owner, e.agent, nonce)].partialAmount = uint128(amount);
        }
        uint256 raw = c.bucketRaw;
        if (byAgent && raw >> 128 != 0) revert AgentFrozen(e.owner, e.agent);
        if (amount > uint128(raw)) revert InsufficientBalance(uint128(raw), amount);
        unchecked {
            c.bucketRaw = raw - amount; // balance is the low 128 bits and amount <= balance: no borrow
        }
    }

    function _emitRedeemed(Entry memory e, bytes32 bucketKey) private {
        emit Redeemed(e.digest, bucketKey, msg.sender, e.amount);
    }

    function _flush(Cursor memory c) private {
        uint256 slot = c.bucketSlot;
        if (slot == 0) return;
        uint256 raw = c.bucketRaw;
        assembly ("memory-safe") {
            sstore(slot, raw)
        }
        _flushWord(c);
    }

    function _flushWord(Cursor memory c) private {
        if (c.wordIndex == NO_WORD) return;
        uint256 slot = c.wordSlot;
        uint256 bits = c.bits;
        assembly ("memory-safe") {
            sstore(slot, bits)
        }
    }

    /// @dev Decodes the packed entry at data[p:] into `e` (keeping e.owner/e.agent when the entry has no signer)
    /// and computes its EIP-712 digest for merchant = msg.sender, `token`, no call. Returns the next offset.
    function _decodeEntry(address token, bytes calldata data, uint256 p, Entry memory e)
        private
        view
        returns (uint256 next, bool newSigner)
    {
        bytes32 domain = _domainSeparatorV4();
        bytes32 typeHash = VOUCHER_TYPEHASH;
        bool bad;
        assembly ("memory-safe") {
            let base := data.offset
            let end := add(base, data.length)
            let o := add(base, p)
            let flags := byte(0, calldataload(o))
            bad := or(iszero(lt(o, end)), gt(flags, 7))
            o := add(o, 1)
            newSigner := and(flags, FLAG_SIGNER)
            if newSigner {
                mstore(e, shr(96, calldataload(o)))
                mstore(add(e, 0x20), shr(96, calldataload(add(o, 20))))
                o := add(o, 40)
            }
            // struct hash fields at the free memory pointer (scratch: not allocated)
            let m := mload(0x40)
            let cap := calldataload(o)
            mstore(add(e, 0x40), cap)
            mstore(add(m, 0xa0), cap)
            o := add(o, 32)
            switch and(flags, FLAG_AMOUNT)
            case 0 { mstore(add(e, 0x60), cap) }
            default {
                mstore(add(e, 0x60), calldataload(o))
                o := add(o, 32)
            }
            let w := shr(216, calldataload(o)) // deadline, uint40
            mstore(add(e, 0x80), w)
            mstore(add(m, 0xc0), w)
            w := calldataload(add(o, 5)) // nonce
            mstore(add(e, 0xa0), w)
            mstore(add(m, 0xe0), w)
            mstore(add(m, 0x100), calldataload(add(o, 37))) // ref
            o := add(o, 69)
            w := 65 // signature length
            if and(flags, FLAG_LONG_SIG) {
                w := shr(240, calldataload(o))
                o := add(o, 2)
            }
            mstore(add(e, 0xe0), o)
            mstore(add(e, 0x100), w)
            next := add(o, w)
            bad := or(bad, gt(next, end))
            next := sub(next, base)

            mstore(m, typeHash)
            mstore(add(m, 0x20), mload(e))
            mstore(add(m, 0x40), mload(add(e, 0x20)))
            mstore(add(m, 0x60), caller())
            mstore(add(m, 0x80), token)
            mstore(add(m, 0x120), 0)
            mstore(add(m, 0x140), 0)
            w := keccak256(m, 0x160)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), domain)
            mstore(add(m, 0x22), w)
            mstore(add(e, 0xc0), keccak256(m, 0x42))
        }
        if (bad) revert MalformedVouchers();
    }

    /// @dev Checks an entry's terms and signature; returns true if the agent signed it.
    function _verifyEntry(Entry memory e) private view returns (bool byAgent) {
        _checkTerms(e.cap, e.amount, e.deadline);
        bytes calldata sig;
        uint256 off = e.sigOffset;
        uint256 len = e.sigLength;
        assembly ("memory-safe") {
            sig.offset := off
            sig.length := len
        }
        return _checkSignature(e.owner, e.agent, e.digest, sig);
    }

    function _checkTerms(uint256 cap, uint256 amount, uint256 deadline) private view {
        if (amount == 0) revert ZeroAmount();
        if (amount > cap) revert OverCap(cap, amount);
        if (block.timestamp > deadline) revert VoucherExpired(deadline);
        unchecked {
            if (deadline - block.timestamp > MAX_VOUCHER_LIFETIME) revert VoucherNotYetValid(deadline);
        }
    }

    /// @dev Checks that `signature` over `digest` is the owner's or the agent's; returns true if the agent's.
    /// Plain ECDSA first (65 bytes, s in the lower half order, v in {27, 28}, never address(0)); ERC-1271 (through
    /// OpenZeppelin's SignatureChecker) only if that fails and the owner or agent has code.
    function _checkSignature(address owner, address agent, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool byAgent)
    {
        if (owner == address(0) || agent == address(0)) revert ZeroAddress();
        address recovered = _tryEcrecover(digest, signature);
        if (recovered != address(0)) {
            if (recovered == owner) return false;
            if (recovered == agent) return true;
        }
        if (owner.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(owner, digest, signature))
        {
            return false;
        }
        if (agent.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(agent, digest, signature))
        {
            return true;
        }
        revert InvalidSignature();
    }

    /// @dev ecrecover of a 65-byte r,s,v signature through OpenZeppelin's ECDSA (rejects s in the upper half
    /// order, v other than 27 or 28, and a zero result); address(0) on any failure.
    function _tryEcrecover(bytes32 digest, bytes calldata signature) private pure returns (address recovered) {
        (address r, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError) recovered = r;
    }

    // ---------------------------------------------------------------- internals: call vouchers

    /// @dev Checks and effects of {redeemAndCall}.
    function _authorizeCall(Voucher calldata v, uint256 amount, bytes calldata callData, bytes calldata signature)
        private
        returns (bytes32 digest)
    {
        if (msg.sender != v.merchant) revert NotMerchant();
        address target = v.callTarget;
        if (target == address(0) || target == address(this) || target == address(EXECUTOR)) revert InvalidCall();
        if (keccak256(callData) != v.callDataHash) revert InvalidCall();
        digest = hashVoucher(v);
        bool byAgent = _checkSignature(v.owner, v.agent, digest, signature);
        _checkTerms(v.cap, amount, v.deadline);
        Bucket storage b = _buckets[_key(v.owner, v.agent, uint160(v.token))];
        Bucket memory m = b;
        if (m.frozen && byAgent) revert AgentFrozen(v.owner, v.agent);
        if (amount > m.balance) revert InsufficientBalance(m.balance, amount);
        unchecked {
            b.balance = uint128(m.balance - amount);
        }
        bytes32 wk = _key(v.owner, v.agent, v.nonce >> 7);
        uint256 bits = _nonceWords[wk];
        uint256 shift = (v.nonce & 127) << 1;
        if ((bits >> shift) & 3 != 0) revert NonceUsed(v.owner, v.agent, v.nonce);
        _nonceWords[wk] = bits | (uint256(NONCE_REDEEMED) << shift); // corrected to partial after the call
    }

    /// @dev Interactions of {redeemAndCall}: send `amount` to the executor, let it call, measure what came back,
    /// return the unspent part to the bucket and record a partial redemption if needed.
    function _executeCall(Voucher calldata v, uint256 amount, bytes calldata callData)
        private
        returns (uint256 spent, bytes memory result)
    {
        (spent, result) = _callThroughExecutor(v.token, v.callTarget, amount, callData);
        if (spent == 0) revert ZeroAmount();
        if (spent != amount) _addToBucket(v.owner, v.agent, v.token, amount - spent);
        if (spent != v.cap) _markPartial(v.owner, v.agent, v.nonce, spent);
    }

    /// @dev Sends `amount` to the executor, lets it call `target`, and returns what actually left the escrow.
    function _callThroughExecutor(address token, address target, uint256 amount, bytes calldata callData)
        private
        returns (uint256 spent, bytes memory result)
    {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransfer(address(EXECUTOR), amount);
        (, result) = EXECUTOR.execute(token, target, callData);
        uint256 afterBal = IERC20(token).balanceOf(address(this));
        spent = before > afterBal ? before - afterBal : 0;
        if (spent > amount) revert TransferAccountingMismatch();
    }

    function _markPartial(address owner, address agent, uint256 nonce, uint256 amount) private {
        _nonceWords[_key(owner, agent, nonce >> 7)] |= uint256(NONCE_REDEEMED_PARTIAL) << ((nonce & 127) << 1);
        _redemptions[_key(owner, agent, nonce)].partialAmount = uint128(amount);
    }

    function _emitCall(Voucher calldata v, bytes32 digest, uint256 spent) private {
        emit CallRedeemed(digest, v.owner, v.callTarget, v.agent, v.token, spent, msg.sender);
    }

    // ---------------------------------------------------------------- internals: keys and slots

    /// @dev keccak256(abi.encode(a, b, c)), computed in scratch memory.
    function _key(address a, address b, uint256 c) private pure returns (bytes32 k) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, a)
            mstore(add(m, 0x20), b)
            mstore(add(m, 0x40), c)
            k := keccak256(m, 0x60)
        }
    }

    /// @dev The storage slot of mapping entry `key` of the mapping rooted at `root`.
    function _slot(bytes32 key, bytes32 root) private pure returns (uint256 s) {
        assembly ("memory-safe") {
            mstore(0x00, key)
            mstore(0x20, root)
            s := keccak256(0x00, 0x40)
        }
    }

    function _bucketsRoot() private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            root := _buckets.slot
        }
    }

    function _wordsRoot() private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            root := _nonceWords.slot
        }
    }

    function _sload(uint256 slot) private view returns (uint256 v) {
        assembly ("memory-safe") {
            v := sload(slot)
        }
    }

    // ---------------------------------------------------------------- internals: tokens

    function _deposit(address token, address agent, uint256 amount) private returns (uint256 received) {
        if (amount == 0) revert ZeroAmount();
        received = _pull(token, msg.sender, amount);
        if (received == 0) revert ZeroAmount();
        _addToBucket(msg.sender, agent, token, received);
        emit Deposited(msg.sender, agent, token, received);
    }

    /// @dev Adds to a bucket, reading it only now (after any token call), never overflowing uint128.
    function _addToBucket(address owner, address agent, address token, uint256 amount) private {
        Bucket storage b = _buckets[_key(owner, agent, uint160(token))];
        uint256 nb = uint256(b.balance) + amount;
        if (nb > type(uint128).max) revert AmountTooLarge();
        b.balance = uint128(nb);
    }

    /// @dev Pulls `amount` from `from`; returns what actually arrived (fee-on-transfer aware).
    function _pull(address token, address from, uint256 amount) private returns (uint256 received) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        uint256 afterBal = IERC20(token).balanceOf(address(this));
        if (afterBal < before) revert TransferAccountingMismatch();
        received = afterBal - before;
    }

    /// @dev Sends `amount` to `to` and checks that the escrow lost no more than that.
    function _push(address token, address to, uint256 amount) private {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransfer(to, amount);
        uint256 afterBal = IERC20(token).balanceOf(address(this));
        if (afterBal < before && before - afterBal > amount) revert TransferAccountingMismatch();
    }

    function _pushGuarded(address token, address to, uint256 amount) private nonReentrant {
        _push(token, to, amount);
    }
}
