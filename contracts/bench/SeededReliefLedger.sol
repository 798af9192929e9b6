// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {ReliefLedger} from "../ReliefLedger.sol";

/// @title SeededReliefLedger
/// @notice Benchmark harness only, never deployed to a real chain: the production ledger plus a way to
/// write approved entitlements in bulk, so a payout run over 100,000 of them can be measured without
/// first sending 300,000 lifecycle transactions. It writes exactly the storage `approveCase` writes;
/// the measured `executePayouts` is the inherited production code.
contract SeededReliefLedger is ReliefLedger {
    constructor(IInstitutionRegistry registry_) ReliefLedger(registry_) {}

    function seedApprovedCases(
        uint32 programmeId,
        bytes32[] calldata caseIds,
        uint40 amount,
        uint24 firstPeriod,
        uint24 lastPeriod,
        uint64 region
    ) external {
        _programme(programmeId);
        for (uint256 i = 0; i < caseIds.length; ++i) {
            _entitlements[caseIds[i]] = Entitlement({
                status: CaseStatus.Approved,
                programmeId: programmeId,
                amount: amount,
                noticeEnds: uint40(block.timestamp),
                firstPeriod: firstPeriod,
                lastPeriod: lastPeriod,
                paidThrough: 0,
                paidMask: 0,
                settledMask: 0
            });
            _files[caseIds[i]].region = region;
        }
    }
}
