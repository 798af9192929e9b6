// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPayouts} from "../interfaces/IPayouts.sol";
import {Cases} from "../cases/Cases.sol";
import {Periods} from "../libraries/Periods.sol";

/// @title Payouts
/// @notice Condition-triggered monthly payouts. An entitlement is paid for a period when, at that moment,
/// the case is approved (or inside its gradual exit), its notice is over, it is not suspended, the
/// period lies in its eligibility window, is due and unpaid, and the pool covers it. Nobody approves the
/// single payment: whoever calls only chooses which entitlements to look at.
///
/// Each case tracks its last 32 periods in two bit masks (paid, settled) inside its one-slot
/// {Entitlement}, so paying costs about one cold storage read and one warm write, and a period can
/// never be paid twice: the paid bit is set in the same write that records the payment.
abstract contract Payouts is IPayouts, Cases {
    uint256 private constant _WINDOW = 32;

    /// @inheritdoc IPayouts
    function executePayouts(
        uint32 programmeId,
        uint24 period,
        bytes32[] calldata caseIds
    ) external returns (uint256 paid, uint256 total) {
        return _executePayouts(programmeId, period, caseIds);
    }

    /// @inheritdoc IPayouts
    function checkUpkeep(bytes calldata checkData) external view returns (bool upkeepNeeded, bytes memory performData) {
        (uint32 programmeId, uint256 offset, uint256 limit) = abi.decode(checkData, (uint32, uint256, uint256));
        uint24 period = Periods.at(block.timestamp);
        // Event-triggered programmes have nothing for a keeper to run: report no upkeep rather than data that
        // {performUpkeep} would revert on.
        uint256 n = _isPeriodic(_programmes[programmeId].kind) ? programmeCaseCount(programmeId) : 0;
        uint256 end = offset < n && limit < n - offset ? offset + limit : n;
        bytes32[] memory due = new bytes32[](end > offset ? end - offset : 0);
        uint256 count;
        // As {_executePayouts} does: only what the pool covers is due, so a short pool does not make keepers
        // call {performUpkeep} again and again for runs that pay nothing.
        uint256 available = _pools[programmeId];
        uint256 total;
        for (uint256 i = offset; i < end; ++i) {
            bytes32 caseId = programmeCaseAt(programmeId, i);
            (bool payable_, , Entitlement memory next) = _periodicCheck(_entitlements[caseId], programmeId, period);
            if (payable_ && next.amount <= available - total) {
                due[count++] = caseId;
                total += next.amount;
            }
        }
        assembly ("memory-safe") {
            mstore(due, count)
        }
        return (count > 0, abi.encode(programmeId, period, due));
    }

    /// @inheritdoc IPayouts
    function performUpkeep(bytes calldata performData) external {
        (uint32 programmeId, uint24 period, bytes32[] memory caseIds) = abi.decode(
            performData,
            (uint32, uint24, bytes32[])
        );
        _executePayouts(programmeId, period, caseIds);
    }

    /// @inheritdoc IPayouts
    function currentPeriod() external view returns (uint24) {
        return Periods.at(block.timestamp);
    }

    function _executePayouts(
        uint32 programmeId,
        uint24 period,
        bytes32[] memory caseIds
    ) private returns (uint256 paid, uint256 total) {
        _requireNotPaused();
        _requirePeriodicRun(programmeId, period);
        uint256 available = _pools[programmeId];
        for (uint256 i = 0; i < caseIds.length; ++i) {
            bytes32 caseId = caseIds[i];
            (bool ok, SkipReason reason, Entitlement memory next) = _periodicCheck(
                _entitlements[caseId],
                programmeId,
                period
            );
            if (ok && next.amount > available - total) (ok, reason) = (false, SkipReason.InsufficientBudget);
            if (!ok) {
                emit PayoutSkipped(caseId, period, reason);
                continue;
            }
            _entitlements[caseId] = next;
            total += next.amount;
            ++paid;
            emit PayoutExecuted(caseId, programmeId, bytes32(0), period, next.amount);
        }
        if (total != 0) _recordPayouts(programmeId, total);
        emit PayoutRunExecuted(programmeId, period, paid, caseIds.length - paid, total);
    }

    function _requirePeriodicRun(uint32 programmeId, uint24 period) private view {
        ProgrammeKind kind = _programme(programmeId).kind;
        if (!_isPeriodic(kind)) revert LedgerWrongProgrammeKind(programmeId, kind);
        uint24 current = Periods.at(block.timestamp);
        if (period > current) revert LedgerPeriodNotDue(period, current);
    }

    /// @dev Whether runs of {executePayouts} pay this kind (rather than events).
    function _isPeriodic(ProgrammeKind kind) private pure returns (bool) {
        return
            kind == ProgrammeKind.MonthlyGap || kind == ProgrammeKind.MonthlyFixed || kind == ProgrammeKind.Temporary;
    }

    /// @dev Whether `period` of the entitlement in `slot` can be paid now and, if so, the entitlement as it
    /// is after paying; otherwise the reason it is skipped. Reads the slot once.
    function _periodicCheck(
        Entitlement storage slot,
        uint32 programmeId,
        uint24 period
    ) internal view returns (bool, SkipReason, Entitlement memory e) {
        e = slot;
        (bool ok, SkipReason reason) = _conditions(e, programmeId, period);
        if (!ok) return (false, reason, e);

        if (period > e.paidThrough) {
            uint256 shift = period - e.paidThrough;
            uint32 unsettled = e.paidMask & ~e.settledMask;
            // Advancing the window drops the oldest `shift` periods: none of them may await settlement.
            if (shift >= _WINDOW ? unsettled != 0 : (unsettled >> (_WINDOW - shift)) != 0) {
                return (false, SkipReason.SettlementBacklog, e);
            }
            e.paidMask = shift >= _WINDOW ? 1 : (e.paidMask << uint32(shift)) | 1;
            e.settledMask = shift >= _WINDOW ? 0 : e.settledMask << uint32(shift);
            e.paidThrough = period;
        } else {
            uint256 offset = e.paidThrough - period;
            if (offset >= _WINDOW) return (false, SkipReason.OutsideWindow, e);
            uint32 bit = uint32(1) << uint32(offset);
            if (e.paidMask & bit != 0) return (false, SkipReason.AlreadyPaid, e);
            e.paidMask |= bit;
        }
        return (true, SkipReason.UnknownCase, e);
    }

    /// @dev The conditions every payout of a case shares, monthly or event-triggered, for `period`.
    function _conditions(
        Entitlement memory e,
        uint32 programmeId,
        uint24 period
    ) internal view returns (bool, SkipReason) {
        if (e.status == CaseStatus.None) return (false, SkipReason.UnknownCase);
        if (e.programmeId != programmeId) return (false, SkipReason.WrongProgramme);
        if (e.status == CaseStatus.Suspended) return (false, SkipReason.Suspended);
        if (e.status != CaseStatus.Approved && e.status != CaseStatus.Exiting) return (false, SkipReason.NotApproved);
        if (block.timestamp < e.noticeEnds) return (false, SkipReason.NoticeOpen);
        if (period < e.firstPeriod) return (false, SkipReason.NotStarted);
        if (period > e.lastPeriod) return (false, SkipReason.Expired);
        return (true, SkipReason.UnknownCase);
    }

    /// @dev The bit of `period` in a case's masks, if it is inside the tracked window.
    function _periodBit(Entitlement storage e, uint24 period) internal view returns (bool inWindow, uint32 bit) {
        uint24 through = e.paidThrough;
        if (period > through || through - period >= _WINDOW) return (false, 0);
        return (true, uint32(1) << (through - period));
    }
}
