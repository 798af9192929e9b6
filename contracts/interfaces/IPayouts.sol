// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IProgrammes} from "./IProgrammes.sol";

/// @title IPayouts
/// @notice Condition-triggered payouts (智能合約自動發放) and their settlement by the payment agent (代發銀行).
/// A payout is identified by a {PayoutKey}: a monthly entitlement by (case, period); an event payout
/// (a certified medical bill, a declared disaster) by (case, event id).
interface IPayouts {
    /// @notice Why a due-looking entitlement was not paid in a run.
    enum SkipReason {
        UnknownCase,
        WrongProgramme,
        NotApproved, // never approved, rejected, or still in review or notice
        Suspended,
        NoticeOpen,
        NotStarted, // the period precedes the entitlement
        Expired, // past eligibility or the end of a gradual exit
        AlreadyPaid,
        OutsideWindow, // older than the 32 periods tracked per case
        SettlementBacklog, // paying would push an unsettled payout out of the tracked window
        InsufficientBudget,
        OutsideRegion // (disaster) the household is not in the declared region
    }

    enum PayoutStatus {
        None,
        Paid, // money left the pool, settlement pending
        Settled // the payment agent confirmed it reached the account
    }

    struct PayoutKey {
        bytes32 caseId;
        uint24 period; // monthly payouts: the period paid; event payouts: the period in which it was paid
        bytes32 eventId; // zero for monthly payouts; the bill id or disaster id otherwise
    }

    /// @notice Emitted for each payout, right after the pool is debited.
    event PayoutExecuted(
        bytes32 indexed caseId,
        uint32 indexed programmeId,
        bytes32 eventId,
        uint24 period,
        uint64 amount
    );
    /// @notice Emitted for each entitlement a run passed over, with the reason. `eventId` is the disaster of a
    /// relief run, zero for a monthly run.
    event PayoutSkipped(bytes32 indexed caseId, bytes32 eventId, uint24 period, SkipReason reason);
    /// @notice Emitted at the end of each run: a monthly run (`eventId` zero) or a disaster relief run.
    event PayoutRunExecuted(
        uint32 indexed programmeId,
        bytes32 eventId,
        uint24 period,
        uint256 paid,
        uint256 skipped,
        uint256 total
    );
    event MedicalBillCertified(
        bytes32 indexed billId,
        bytes32 indexed caseId,
        uint64 billAmount,
        uint64 amount,
        bytes32 billDigest
    );
    event DisasterDeclared(
        bytes32 indexed disasterId,
        uint32 indexed programmeId,
        uint64 region,
        bytes32 declarationDigest
    );
    event PayoutSettled(bytes32 indexed caseId, bytes32 eventId, uint24 period, bytes32 bankRefDigest);
    /// @notice The bank could not pay; the amount went back to the pool and the payout may be made again.
    event PayoutFailed(
        bytes32 indexed caseId,
        uint32 indexed programmeId,
        bytes32 eventId,
        uint24 period,
        uint64 amount,
        bytes32 reasonDigest
    );

    error LedgerPeriodNotDue(uint24 period, uint24 currentPeriod);
    error LedgerWrongProgrammeKind(uint32 programmeId, IProgrammes.ProgrammeKind kind);
    error LedgerCaseNotPayable(bytes32 caseId, SkipReason reason);
    error LedgerBillAlreadyCertified(bytes32 billId);
    error LedgerNothingPayable(bytes32 caseId);
    error LedgerDisasterExists(bytes32 disasterId);
    error LedgerUnknownDisaster(bytes32 disasterId);
    error LedgerNotAwaitingSettlement(bytes32 caseId, uint24 period, bytes32 eventId);

    /// @notice Pays every listed entitlement of `programmeId` for `period` whose conditions all hold, and
    /// skips the rest with a reason. Anyone may call: the conditions, not the caller, authorise payment.
    /// Emits {PayoutExecuted} or {PayoutSkipped} per case, then {PayoutRunExecuted}.
    function executePayouts(
        uint32 programmeId,
        uint24 period,
        bytes32[] calldata caseIds
    ) external returns (uint256 paid, uint256 total);

    /// @notice Chainlink Automation: `checkData = abi.encode(programmeId, offset, limit)` scans that slice of
    /// the programme's cases for entitlements due this period, as many (in order) as the pool covers. A programme
    /// paid by events never needs upkeep.
    function checkUpkeep(bytes calldata checkData) external view returns (bool upkeepNeeded, bytes memory performData);

    /// @notice Chainlink Automation: runs {executePayouts} on `abi.encode(programmeId, period, caseIds)`.
    /// Every condition is checked again, so stale or forged data pays nothing extra.
    function performUpkeep(bytes calldata performData) external;

    /// @notice A medical office certifies a bill; the programme's rule pays at once. Emits
    /// {MedicalBillCertified} and {PayoutExecuted}.
    function certifyMedicalBill(
        bytes32 billId,
        bytes32 caseId,
        uint64 billAmount,
        bytes32 billDigest
    ) external returns (uint64 amount);

    /// @notice Declares a disaster in `region`. Approver in scope. Emits {DisasterDeclared}.
    function declareDisaster(bytes32 disasterId, uint32 programmeId, uint64 region, bytes32 declarationDigest) external;

    /// @notice Pays each listed registered household in the declared region once per disaster. Anyone may call.
    function payDisasterRelief(
        bytes32 disasterId,
        bytes32[] calldata caseIds
    ) external returns (uint256 paid, uint256 total);

    /// @notice The payment agent confirms that these payouts reached the accounts. All or nothing.
    /// Emits {PayoutSettled} per payout.
    function confirmSettlements(bytes32 bankRefDigest, PayoutKey[] calldata keys) external;

    /// @notice The payment agent reports that a payout could not be made. Emits {PayoutFailed}.
    function reportFailure(PayoutKey calldata key, bytes32 reasonDigest) external;

    /// @notice The status and the amount paid of a payout (a monthly payout made before a re-certification
    /// changed the case's amount reports the amount it was paid at). An event payout's key must carry the period
    /// it was paid in, as in {confirmSettlements} and {reportFailure}; any other period names no payout.
    function payoutStatus(PayoutKey calldata key) external view returns (PayoutStatus status, uint64 amount);

    /// @notice Payouts not yet settled among cases `[fromCase, fromCase + count)` in submission order.
    function unsettledPayouts(uint256 fromCase, uint256 count) external view returns (PayoutKey[] memory keys);

    /// @notice Every payout of a case that is still tracked: monthly payouts in its 32-period window and all
    /// event payouts, whatever their settlement status (failed payouts are not listed).
    function casePayouts(bytes32 caseId) external view returns (PayoutKey[] memory keys);

    /// @notice The period (China Standard Time month, `year * 12 + month − 1`) of the current block.
    function currentPeriod() external view returns (uint24);
}
