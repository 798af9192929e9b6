// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IPayouts} from "../interfaces/IPayouts.sol";
import {Payouts} from "./Payouts.sol";
import {Periods} from "../libraries/Periods.sol";
import {Regions} from "../libraries/Regions.sol";
import {PackedEntitlement} from "../libraries/PackedEntitlement.sol";

/// @title EventPayouts
/// @notice Payouts that an event triggers rather than the calendar: a medical bill certified by a medical
/// office (醫療救助) and a disaster declared in a region (災害救助). The programme's rule sets the amount;
/// no one approves the single payment.
abstract contract EventPayouts is Payouts {
    using PackedEntitlement for uint256;

    struct EventPayout {
        uint64 amount;
        uint24 period;
        PayoutStatus status;
        bool medical;
    }

    struct Disaster {
        uint32 programmeId;
        uint64 region;
        uint24 period;
    }

    mapping(bytes32 caseId => mapping(bytes32 eventId => EventPayout)) internal _eventPayouts;
    mapping(bytes32 caseId => bytes32[]) internal _caseEvents;
    mapping(bytes32 billId => bool) private _billCertified;
    mapping(bytes32 disasterId => Disaster) private _disasters;
    mapping(bytes32 pseudonym => mapping(uint32 programmeId => mapping(uint24 year => uint64))) private _medicalUsed;

    /// @inheritdoc IPayouts
    function certifyMedicalBill(
        bytes32 billId,
        bytes32 caseId,
        uint64 billAmount,
        bytes32 billDigest
    ) external returns (uint64 amount) {
        Entitlement memory e = _known(caseId);
        Programme storage p = _programmes[e.programmeId];
        if (p.kind != ProgrammeKind.Medical) revert LedgerWrongProgrammeKind(e.programmeId, p.kind);
        _authorize(IInstitutionRegistry.Role.MedicalOffice, _files[caseId].region);
        if (billId == bytes32(0)) revert LedgerInvalidInput("billId");
        if (_billCertified[billId]) revert LedgerBillAlreadyCertified(billId);
        uint24 period = Periods.at(block.timestamp);
        (bool ok, SkipReason reason) = _conditions(_word(caseId), e.programmeId, period);
        if (!ok) revert LedgerCaseNotPayable(caseId, reason);

        amount = _useMedicalCap(caseId, e, p, billAmount, period);
        _billCertified[billId] = true;
        _recordEventPayout(caseId, billId, EventPayout(amount, period, PayoutStatus.Paid, true));
        _recordPayouts(e.programmeId, amount);
        emit MedicalBillCertified(billId, caseId, billAmount, amount, billDigest);
        emit PayoutExecuted(caseId, e.programmeId, billId, period, amount);
    }

    /// @dev ratio × (bill − deductible), within what is left of this beneficiary's cap for the year
    /// (`e.amount`); records the use. Reverts if nothing is payable or the pool falls short.
    function _useMedicalCap(
        bytes32 caseId,
        Entitlement memory e,
        Programme storage p,
        uint64 billAmount,
        uint24 period
    ) private returns (uint64 amount) {
        amount = billAmount > p.deductible ? uint64((uint256(billAmount - p.deductible) * p.ratioBps) / 10_000) : 0;
        mapping(uint24 year => uint64) storage usedByYear = _medicalUsed[_files[caseId].pseudonym][e.programmeId];
        uint64 used = usedByYear[period / 12];
        uint64 left = e.amount > used ? e.amount - used : 0;
        if (amount > left) amount = left;
        if (amount == 0) revert LedgerNothingPayable(caseId);
        uint256 available = _pools[e.programmeId];
        if (available < amount) revert LedgerInsufficientFunds(available, amount);
        usedByYear[period / 12] = used + amount;
    }

    /// @inheritdoc IPayouts
    function declareDisaster(
        bytes32 disasterId,
        uint32 programmeId,
        uint64 region,
        bytes32 declarationDigest
    ) external {
        Programme storage p = _programme(programmeId);
        if (p.kind != ProgrammeKind.Disaster) revert LedgerWrongProgrammeKind(programmeId, p.kind);
        if (!Regions.isValid(region)) revert LedgerInvalidInput("region");
        if (!Regions.contains(p.region, region)) revert LedgerRegionOutsideProgramme(region, p.region);
        _authorize(IInstitutionRegistry.Role.Approver, region);
        if (disasterId == bytes32(0)) revert LedgerInvalidInput("disasterId");
        if (_disasters[disasterId].programmeId != 0) revert LedgerDisasterExists(disasterId);
        _disasters[disasterId] = Disaster(programmeId, region, Periods.at(block.timestamp));
        emit DisasterDeclared(disasterId, programmeId, region, declarationDigest);
    }

    /// @inheritdoc IPayouts
    function payDisasterRelief(
        bytes32 disasterId,
        bytes32[] calldata caseIds
    ) external returns (uint256 paid, uint256 total) {
        _requireNotPaused();
        Disaster memory d = _disasters[disasterId];
        if (d.programmeId == 0) revert LedgerUnknownDisaster(disasterId);
        uint256 available = _pools[d.programmeId];
        for (uint256 i = 0; i < caseIds.length; ++i) {
            bytes32 caseId = caseIds[i];
            uint256 word = _word(caseId);
            uint64 amount = word.amount();
            (bool ok, SkipReason reason) = _conditions(word, d.programmeId, d.period);
            if (ok && !Regions.contains(d.region, _files[caseId].region))
                (ok, reason) = (false, SkipReason.OutsideRegion);
            if (ok && _eventPayouts[caseId][disasterId].status != PayoutStatus.None) {
                (ok, reason) = (false, SkipReason.AlreadyPaid);
            }
            if (ok && amount > available - total) (ok, reason) = (false, SkipReason.InsufficientBudget);
            if (!ok) {
                emit PayoutSkipped(caseId, disasterId, d.period, reason);
                continue;
            }
            _recordEventPayout(caseId, disasterId, EventPayout(amount, d.period, PayoutStatus.Paid, false));
            total += amount;
            ++paid;
            emit PayoutExecuted(caseId, d.programmeId, disasterId, d.period, amount);
        }
        if (total != 0) _recordPayouts(d.programmeId, total);
        emit PayoutRunExecuted(d.programmeId, disasterId, d.period, paid, caseIds.length - paid, total);
    }

    /// @dev Stores an event payout; an event is listed once per case even if a failed payout is made again.
    function _recordEventPayout(bytes32 caseId, bytes32 eventId, EventPayout memory payout) private {
        if (_eventPayouts[caseId][eventId].amount == 0) _caseEvents[caseId].push(eventId);
        _eventPayouts[caseId][eventId] = payout;
    }

    /// @dev Undoes the medical bookkeeping of a failed bill payout so the bill can be certified again.
    function _releaseMedical(bytes32 caseId, bytes32 billId, EventPayout storage ep) internal {
        _billCertified[billId] = false;
        bytes32 pseudonym = _files[caseId].pseudonym;
        _medicalUsed[pseudonym][_entitlements[caseId].programmeId][ep.period / 12] -= ep.amount;
    }
}
