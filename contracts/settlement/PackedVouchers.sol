// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {VoucherSignatures} from "./VoucherSignatures.sol";

/// @title PackedVouchers
/// @notice The packed voucher entry that {redeem}, {redeemAndPay} and {redeemBatch} take (see contracts/README.md):
/// decoding an entry from calldata, computing its EIP-712 digest for merchant = caller, and checking it.
abstract contract PackedVouchers is VoucherSignatures {
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

    uint256 internal constant FLAG_SIGNER = 0x01; // owner (20 bytes) and agent (20 bytes) follow
    uint256 internal constant FLAG_AMOUNT = 0x02; // an explicit amount (32 bytes) follows; otherwise amount = cap
    uint256 internal constant FLAG_LONG_SIG = 0x04; // uint16 length + signature bytes; otherwise 65-byte r,s,v

    /// @dev Decodes the packed entry at data[p:] into `e` (keeping e.owner/e.agent when the entry has no signer)
    /// and computes its EIP-712 digest for merchant = msg.sender, `token`, no call. Returns the next offset.
    function _decodeEntry(address token, bytes calldata data, uint256 p, Entry memory e)
        internal
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
    function _verifyEntry(Entry memory e) internal view returns (bool byAgent) {
        _checkTerms(e.cap, e.amount, e.deadline);
        bytes calldata sig;
        uint256 off = e.sigOffset;
        uint256 len = e.sigLength;
        assembly ("memory-safe") {
            sig.offset := off
            sig.length := len
        }
        return _checkSignature(e.owner, e.agent, e.nonce, e.deadline, e.digest, sig);
    }
}
