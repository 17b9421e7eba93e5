// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Multicaller
/// @notice Test-only: makes several calls to one target in one transaction, as itself (so it can act as a
/// merchant that tries to replay a voucher inside one transaction). Reverts with the first failure's data.
contract Multicaller {
    /// @notice Calls `target` with each of `calls`, in order.
    function multicall(address target, bytes[] calldata calls) external {
        for (uint256 i; i < calls.length; ++i) {
            (bool ok, bytes memory ret) = target.call(calls[i]);
            if (!ok) {
                assembly {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
    }
}
