// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AgentPayCallExecutor} from "../AgentPayCallExecutor.sol";
import {VoucherSignatures} from "./VoucherSignatures.sol";
import {SettlementEscrow} from "./SettlementEscrow.sol";
import {SettlementNonces} from "./SettlementNonces.sol";
import {Keys} from "./Keys.sol";

/// @title CallRedemption
/// @notice Redeeming a call voucher: the amount goes from the bucket into the voucher's call target through a
/// stateless executor, never through an arbitrary call made by the escrow itself.
abstract contract CallRedemption is VoucherSignatures, SettlementEscrow, SettlementNonces {
    using SafeERC20 for IERC20;

    /// @notice The stateless helper that performs voucher calls (see {redeemAndCall}).
    AgentPayCallExecutor public immutable EXECUTOR;

    constructor() {
        EXECUTOR = new AgentPayCallExecutor();
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
        bool byAgent = _checkSignature(v.owner, v.agent, v.nonce, v.deadline, digest, signature);
        _checkTerms(v.cap, amount, v.deadline);
        Bucket storage b = _buckets[Keys.key(v.owner, v.agent, uint160(v.token))];
        Bucket memory m = b;
        if (m.frozen && byAgent) revert AgentFrozen(v.owner, v.agent);
        if (amount > m.balance) revert InsufficientBalance(m.balance, amount);
        unchecked {
            b.balance = uint128(m.balance - amount);
        }
        bytes32 wk = Keys.key(v.owner, v.agent, v.nonce >> 7);
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
        _nonceWords[Keys.key(owner, agent, nonce >> 7)] |= uint256(NONCE_REDEEMED_PARTIAL) << ((nonce & 127) << 1);
        _redemptions[Keys.key(owner, agent, nonce)].partialAmount = uint128(amount);
    }

    function _emitCall(Voucher calldata v, bytes32 digest, uint256 spent) private {
        emit CallRedeemed(digest, v.owner, v.callTarget, v.agent, v.token, spent, msg.sender);
    }
}
