// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IProgrammes} from "../interfaces/IProgrammes.sol";
import {RegistryClient} from "../access/RegistryClient.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title Programmes
/// @notice Programme rules: what each programme pays and on which conditions.
abstract contract Programmes is IProgrammes, RegistryClient {
    /// @notice Defaults from the policy sources in PRODUCT.md, used by the deployment tools.
    uint32 public constant DEFAULT_NOTICE_PERIOD = 7 days;
    uint16 public constant DEFAULT_VALIDITY_MONTHS = 12;
    uint16 public constant DEFAULT_EXIT_PERIODS = 6;
    uint64 public constant DEFAULT_TEMPORARY_CEILING = 500_000; // 5,000 yuan

    mapping(uint32 programmeId => Programme) internal _programmes;
    uint32 private _programmeCount;

    /// @inheritdoc IProgrammes
    function createProgramme(Programme calldata p) external returns (uint32 programmeId) {
        _validate(p);
        _authorize(IInstitutionRegistry.Role.Approver, p.region);
        programmeId = ++_programmeCount;
        _programmes[programmeId] = p;
        emit ProgrammeCreated(programmeId, p.kind, p.region, p.ruleVersion);
    }

    /// @inheritdoc IProgrammes
    function updateProgrammeRule(uint32 programmeId, Programme calldata p) external {
        Programme storage current = _programme(programmeId);
        // The exclusion group is identity too: changing it would orphan the places its active cases hold.
        if (p.kind != current.kind || p.region != current.region || p.exclusionGroup != current.exclusionGroup) {
            revert LedgerProgrammeIdentityChanged(programmeId);
        }
        _validate(p);
        _authorize(IInstitutionRegistry.Role.Approver, p.region);
        bytes32 old = current.ruleVersion;
        // A new rule is a new version: approvals name the version they used, so it must tell rules apart.
        if (p.ruleVersion == old) revert LedgerInvalidProgramme("ruleVersion");
        _programmes[programmeId] = p;
        emit ProgrammeRuleUpdated(programmeId, old, p.ruleVersion);
    }

    /// @inheritdoc IProgrammes
    function programme(uint32 programmeId) external view returns (Programme memory) {
        return _programme(programmeId);
    }

    /// @inheritdoc IProgrammes
    function programmeCount() external view returns (uint32) {
        return _programmeCount;
    }

    function _programme(uint32 programmeId) internal view returns (Programme storage p) {
        p = _programmes[programmeId];
        if (p.ruleVersion == bytes32(0)) revert LedgerUnknownProgramme(programmeId);
    }

    function _validate(Programme calldata p) private pure {
        // Pools are funded by a finance bureau of exactly the programme's region: county level at the finest.
        if (!Regions.isValid(p.region) || Regions.level(p.region) > 3) revert LedgerInvalidProgramme("region");
        if (p.ruleVersion == bytes32(0)) revert LedgerInvalidProgramme("ruleVersion");
        if (p.amount == 0 || p.amount > type(uint40).max) revert LedgerInvalidProgramme("amount");
        if (p.validityMonths == 0 || p.validityMonths > 120) revert LedgerInvalidProgramme("validityMonths");
        if (p.exitPeriods > 24) revert LedgerInvalidProgramme("exitPeriods");
        if (p.noticePeriod > 90 days) revert LedgerInvalidProgramme("noticePeriod");
        if (p.kind == ProgrammeKind.Medical) {
            if (p.ratioBps == 0 || p.ratioBps > 10_000) revert LedgerInvalidProgramme("ratioBps");
        } else {
            if (p.ratioBps != 0) revert LedgerInvalidProgramme("ratioBps");
            if (p.deductible != 0) revert LedgerInvalidProgramme("deductible");
        }
    }
}
