// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IMulticall
/// @notice Many calls to the ledger in one transaction (decisions on a list of cases, a bank's failure reports), each
/// exactly as if sent alone by the same caller, in order, all or none.
interface IMulticall {
    /// @notice `multicall` was sent no calls.
    error LedgerEmptyMulticall();

    /// @notice Executes `calls` (ABI-encoded calls to this contract) in order as `msg.sender`; the first refusal
    /// reverts the batch with that call's own error. Nothing is returned: read the events.
    function multicall(bytes[] calldata calls) external;
}
