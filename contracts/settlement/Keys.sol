// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Keys
/// @notice Storage keys of the escrow: the three-field hash every mapping is keyed by, and raw slot access for
/// the code paths that cache a slot in memory.
library Keys {
    /// @dev keccak256(abi.encode(a, b, c)), computed in scratch memory.
    function key(address a, address b, uint256 c) internal pure returns (bytes32 k) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, a)
            mstore(add(m, 0x20), b)
            mstore(add(m, 0x40), c)
            k := keccak256(m, 0x60)
        }
    }

    /// @dev The storage slot of mapping entry `k` of the mapping rooted at `root`.
    function slot(bytes32 k, bytes32 root) internal pure returns (uint256 s) {
        assembly ("memory-safe") {
            mstore(0x00, k)
            mstore(0x20, root)
            s := keccak256(0x00, 0x40)
        }
    }

    /// @dev The raw value of storage slot `s`.
    function load(uint256 s) internal view returns (uint256 v) {
        assembly ("memory-safe") {
            v := sload(s)
        }
    }
}
