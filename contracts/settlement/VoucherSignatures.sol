// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IAgentPaySettlement} from "./IAgentPaySettlement.sol";

/// @title VoucherSignatures
/// @notice The voucher as an EIP-712 message: its type hash, its digest and the domain it is bound to (one
/// deployment on one chain), and the checks every redemption path makes on a voucher's terms (amount, cap,
/// lifetime window) and on its signature (the agent's for an agent nonce, the owner's for an owner nonce; ECDSA
/// or ERC-1271).
abstract contract VoucherSignatures is IAgentPaySettlement, EIP712 {
    /// @notice EIP-712 type hash of {Voucher}.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address owner,address agent,address merchant,address token,uint256 cap,uint256 deadline,uint256 nonce,bytes32 ref,address callTarget,bytes32 callDataHash)"
    );

    /// @dev VOUCHER_TYPEHASH as a literal for assembly (checked equal in the tests).
    uint256 internal constant VOUCHER_TYPEHASH_LITERAL = 0x937c01398bfb9c8c015996457a3ce5be231d7885ad7cfc550134c868b697bbab;
    /// @dev Half the secp256k1 group order: ECDSA signatures with a larger s are refused (malleability).
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev Nonces from here on are owner nonces (only the owner's signature is valid), those below agent nonces.
    uint256 internal constant OWNER_NONCE_FLAG = 1 << 255;
    /// @dev An owner nonce carries its voucher's deadline (uint40) from this bit up to bit 254.
    uint256 internal constant OWNER_NONCE_DEADLINE_SHIFT = 215;

    /// @notice Longest lifetime of a voucher: it is redeemable only when deadline - this <= now <= deadline.
    uint256 public immutable MAX_VOUCHER_LIFETIME;

    /// @param maxVoucherLifetime Longest voucher lifetime in seconds (checked by {AgentPaySettlement}).
    constructor(uint256 maxVoucherLifetime) EIP712("AgentPaySettlement", "1") {
        MAX_VOUCHER_LIFETIME = maxVoucherLifetime;
    }

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

    /// @dev Checks a voucher's terms: 0 < amount <= cap, and now inside [deadline - MAX_VOUCHER_LIFETIME, deadline].
    function _checkTerms(uint256 cap, uint256 amount, uint256 deadline) internal view {
        if (amount == 0) revert ZeroAmount();
        if (amount > cap) revert OverCap(cap, amount);
        if (block.timestamp > deadline) revert VoucherExpired(deadline);
        unchecked {
            if (deadline - block.timestamp > MAX_VOUCHER_LIFETIME) revert VoucherNotYetValid(deadline);
        }
    }

    /// @dev Checks that `signature` over `digest` is the signer's the nonce names: the agent's for an agent nonce
    /// (below OWNER_NONCE_FLAG), the owner's for an owner nonce, which must also carry `deadline`. Returns true
    /// for an agent nonce. Plain ECDSA first (65 bytes, s in the lower half order, v in {27, 28}, never
    /// address(0)); ERC-1271 (through OpenZeppelin's SignatureChecker) only if that fails and the signer has code.
    function _checkSignature(
        address owner,
        address agent,
        uint256 nonce,
        uint256 deadline,
        bytes32 digest,
        bytes calldata signature
    ) internal view returns (bool byAgent) {
        if (owner == address(0) || agent == address(0)) revert ZeroAddress();
        address signer = agent;
        byAgent = true;
        if (nonce >= OWNER_NONCE_FLAG) {
            if (_ownerNonceDeadline(nonce) != deadline) revert OwnerNonceMismatch(nonce, deadline);
            signer = owner;
            byAgent = false;
        }
        // signer != address(0), so a failed recovery (address(0)) never matches
        if (_tryEcrecover(digest, signature) == signer) return byAgent;
        if (signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature))
        {
            return byAgent;
        }
        revert InvalidSignature();
    }

    /// @dev The deadline an owner nonce carries (bits 215-254).
    function _ownerNonceDeadline(uint256 nonce) internal pure returns (uint256) {
        return (nonce >> OWNER_NONCE_DEADLINE_SHIFT) & type(uint40).max;
    }

    /// @dev ecrecover of a 65-byte r,s,v signature through OpenZeppelin's ECDSA (rejects s in the upper half
    /// order, v other than 27 or 28, and a zero result); address(0) on any failure.
    function _tryEcrecover(bytes32 digest, bytes calldata signature) private pure returns (address recovered) {
        (address r, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError) recovered = r;
    }
}
