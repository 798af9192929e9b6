// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPayouts} from "../interfaces/IPayouts.sol";
import {Cases} from "../cases/Cases.sol";
import {Periods} from "../libraries/Periods.sol";
import {PackedEntitlement} from "../libraries/PackedEntitlement.sol";

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
    using PackedEntitlement for uint256;

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
            uint256 word = _word(caseId);
            (bool payable_, , ) = _payPeriod(word, programmeId, period);
            if (payable_ && word.amount() <= available - total) {
                due[count++] = caseId;
                total += word.amount();
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
            // The hot path: one cold read and one warm write of the case's packed entitlement.
            Entitlement storage slot = _entitlements[caseId];
            uint256 word;
            assembly ("memory-safe") {
                word := sload(slot.slot)
            }
            (bool ok, SkipReason reason, uint256 next) = _payPeriod(word, programmeId, period);
            uint256 amount = word.amount();
            if (ok && amount > available - total) (ok, reason) = (false, SkipReason.InsufficientBudget);
            if (!ok) {
                emit PayoutSkipped(caseId, bytes32(0), period, reason);
                continue;
            }
            assembly ("memory-safe") {
                sstore(slot.slot, next)
            }
            total += amount;
            ++paid;
            emit PayoutExecuted(caseId, programmeId, bytes32(0), period, uint64(amount));
        }
        if (total != 0) _recordPayouts(programmeId, total);
        emit PayoutRunExecuted(programmeId, bytes32(0), period, paid, caseIds.length - paid, total);
    }

    function _requirePeriodicRun(uint32 programmeId, uint24 period) private view {
        ProgrammeKind kind = _programme(programmeId).kind;
        if (!_isPeriodic(kind)) revert LedgerWrongProgrammeKind(programmeId, kind);
        uint24 current = Periods.at(block.timestamp);
        if (period > current) revert LedgerPeriodNotDue(period, current);
    }

    /// @dev Whether runs of {executePayouts} pay this kind (rather than events, or vouchers: the VoucherBook issues
    /// those).
    function _isPeriodic(ProgrammeKind kind) private pure returns (bool) {
        return
            kind == ProgrammeKind.MonthlyGap || kind == ProgrammeKind.MonthlyFixed || kind == ProgrammeKind.Temporary;
    }

    /// @dev The packed entitlement word of a case (zero for an unknown case).
    function _word(bytes32 caseId) internal view returns (uint256 word) {
        Entitlement storage slot = _entitlements[caseId];
        assembly ("memory-safe") {
            word := sload(slot.slot)
        }
    }

    /// @dev Whether `period` of the entitlement `w` can be paid now and, if so, the entitlement word after
    /// paying; otherwise the reason it is skipped.
    function _payPeriod(
        uint256 w,
        uint32 programmeId,
        uint24 period
    ) internal view returns (bool, SkipReason, uint256) {
        (bool ok, SkipReason reason) = _conditions(w, programmeId, period);
        if (!ok) return (false, reason, w);
        uint24 through = w.paidThrough();
        uint32 paid = w.paidMask();
        uint32 settled = w.settledMask();
        if (period > through) {
            uint256 shift = period - through;
            uint32 unsettled = paid & ~settled;
            // Advancing the window drops the oldest `shift` periods: none of them may await settlement.
            if (shift >= _WINDOW ? unsettled != 0 : (unsettled >> uint32(_WINDOW - shift)) != 0) {
                return (false, SkipReason.SettlementBacklog, w);
            }
            paid = shift >= _WINDOW ? 1 : (paid << uint32(shift)) | 1;
            settled = shift >= _WINDOW ? 0 : settled << uint32(shift);
            through = period;
        } else {
            uint256 offset = through - period;
            if (offset >= _WINDOW) return (false, SkipReason.OutsideWindow, w);
            uint32 bit = uint32(1) << uint32(offset);
            if (paid & bit != 0) return (false, SkipReason.AlreadyPaid, w);
            paid |= bit;
        }
        return (true, SkipReason.UnknownCase, w.withPayments(through, paid, settled));
    }

    /// @dev The conditions every payout of a case shares, monthly or event-triggered, for `period`: the one
    /// place where "may this case be paid for this period" is decided.
    function _conditions(uint256 w, uint32 programmeId, uint24 period) internal view returns (bool, SkipReason) {
        uint8 status = w.status();
        if (status == uint8(CaseStatus.None)) return (false, SkipReason.UnknownCase);
        if (w.programmeId() != programmeId) return (false, SkipReason.WrongProgramme);
        if (status == uint8(CaseStatus.Suspended)) return (false, SkipReason.Suspended);
        if (status != uint8(CaseStatus.Approved) && status != uint8(CaseStatus.Exiting)) {
            return (false, SkipReason.NotApproved);
        }
        if (block.timestamp < w.noticeEnds()) return (false, SkipReason.NoticeOpen);
        if (period < w.firstPeriod()) return (false, SkipReason.NotStarted);
        if (period > w.lastPeriod()) return (false, SkipReason.Expired);
        return (true, SkipReason.UnknownCase);
    }

    /// @dev The bit of `period` in a case's masks, if it is inside the tracked window.
    function _periodBit(Entitlement storage e, uint24 period) internal view returns (bool inWindow, uint32 bit) {
        uint24 through = e.paidThrough;
        if (period > through || through - period >= _WINDOW) return (false, 0);
        return (true, uint32(1) << (through - period));
    }
}
