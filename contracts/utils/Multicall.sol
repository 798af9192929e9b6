// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IMulticall} from "../interfaces/IMulticall.sol";

/// @title Multicall
/// @notice A delegatecall to itself per call keeps `msg.sender`, so each call is authorised and checked as if sent
/// alone. OpenZeppelin's `Multicall`, smaller (no ERC-2771 suffix, no return data): the ledger is close to EIP-170's
/// 24,576 bytes, and its lifecycle calls return nothing a batch needs.
abstract contract Multicall is IMulticall {
    /// @inheritdoc IMulticall
    function multicall(bytes[] calldata calls) external {
        if (calls.length == 0) revert LedgerEmptyMulticall();
        for (uint256 i = 0; i < calls.length; ++i) {
            // A delegatecall to this very contract's code: no other code runs with its storage.
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory result) = address(this).delegatecall(calls[i]);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(result, 32), mload(result))
                }
            }
        }
    }
}
