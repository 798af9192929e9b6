// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ICases
/// @notice A family's case from application to exit. Only a keyed pseudonym and record digests are stored:
/// personal data stays off chain, sealed by the gateway.
interface ICases {
    enum CaseStatus {
        None,
        Submitted, // 申請受理: awaiting township review
        InNotice, // 公示: reviewed, public notice running
        Approved, // 審批: entitled; payouts follow by themselves
        Suspended, // payouts held
        Exiting, // 漸退: paid until `lastPeriod`, then done
        Rejected
    }

    /// @notice What an approver enters; which fields count depends on the programme kind.
    struct Assessment {
        uint16 householdSize; // MonthlyGap
        uint64 incomePerHead; // MonthlyGap: household income per person per month, fen
        uint64 amount; // Temporary: the amount approved
    }

    /// @notice One case of {submitCases}: the arguments of {submitCase}.
    struct CaseSubmission {
        bytes32 caseId;
        uint32 programmeId;
        uint64 region;
        bytes32 pseudonym;
        bytes32 recordDigest;
    }

    /// @notice One review of {reviewCases}: the arguments of {reviewCase}.
    struct CaseReview {
        bytes32 caseId;
        bool passed;
        bytes32 reasonDigest;
    }

    /// @notice A case as stored, for readers.
    struct CaseView {
        CaseStatus status;
        uint32 programmeId;
        uint64 region;
        uint64 amount; // per period (monthly kinds), the approved sum (Temporary), per household (Disaster)
        uint40 noticeEnds;
        uint24 firstPeriod;
        uint24 lastPeriod; // last payable period: eligibility end, or the end of a gradual exit
        uint24 paidThrough; // latest period paid
        uint32 paidMask; // bit i: period paidThrough − i is paid
        uint32 settledMask; // bit i: period paidThrough − i is settled by the payment agent
        uint16 openObjections;
        address submitter;
        address beneficiaryKey;
        bytes32 pseudonym;
        bytes32 recordDigest;
    }

    event CaseSubmitted(
        bytes32 indexed caseId,
        uint32 indexed programmeId,
        uint64 indexed region,
        bytes32 pseudonym,
        bytes32 recordDigest,
        address submitter
    );
    event CaseReviewed(bytes32 indexed caseId, bool passed, bytes32 reasonDigest, uint40 noticeEnds);
    event ObjectionRaised(bytes32 indexed caseId, bytes32 objectionDigest);
    event ObjectionResolved(bytes32 indexed caseId, bytes32 objectionDigest, bool upheld, bytes32 reasonDigest);
    /// @notice The approval and everything needed to re-run its decision: rule version, standard, inputs.
    event CaseApproved(
        bytes32 indexed caseId,
        uint64 amount,
        uint24 firstPeriod,
        uint24 lastPeriod,
        bytes32 ruleVersion,
        uint64 standard,
        uint16 householdSize,
        uint64 incomePerHead
    );
    event CaseRejected(bytes32 indexed caseId, bytes32 reasonDigest);
    event CaseSuspended(bytes32 indexed caseId, bytes32 reasonDigest);
    event CaseResumed(bytes32 indexed caseId, bytes32 reasonDigest);
    event CaseRecertified(
        bytes32 indexed caseId,
        uint64 amount,
        uint24 lastPeriod,
        bytes32 ruleVersion,
        uint64 standard,
        uint16 householdSize,
        uint64 incomePerHead,
        bytes32 recordDigest
    );
    event CaseExited(bytes32 indexed caseId, uint24 lastPeriod, bytes32 reasonDigest);
    event BeneficiaryKeySet(bytes32 indexed caseId, address key);

    error LedgerUnknownCase(bytes32 caseId);
    error LedgerCaseExists(bytes32 caseId);
    error LedgerInvalidCaseStatus(bytes32 caseId, CaseStatus status);
    error LedgerRegionOutsideProgramme(uint64 region, uint64 programmeRegion);
    /// @notice Separation of duties: the submitter of a case can never approve it.
    error LedgerSelfApproval(bytes32 caseId, address account);
    error LedgerNoticeNotOver(bytes32 caseId, uint40 noticeEnds);
    error LedgerOpenObjections(bytes32 caseId, uint16 openObjections);
    error LedgerObjectionExists(bytes32 caseId, bytes32 objectionDigest);
    error LedgerUnknownObjection(bytes32 caseId, bytes32 objectionDigest);
    /// @notice The pseudonym already holds an active case in a programme of the same exclusion group.
    error LedgerExclusiveCaseActive(bytes32 pseudonym, uint32 exclusionGroup, bytes32 activeCaseId);
    error LedgerRuleVersionMismatch(uint32 programmeId, bytes32 expected, bytes32 current);
    error LedgerZeroEntitlement(bytes32 caseId);
    /// @notice A township approver may approve temporary assistance only up to the programme's ceiling.
    error LedgerAboveApprovalCeiling(bytes32 caseId, uint64 amount, uint64 ceiling);
    /// @notice Only county-level (or higher) approvers decide this kind of case.
    error LedgerApproverLevelTooLow(address account, uint64 region);
    /// @notice The amount cannot change while earlier payouts await settlement.
    error LedgerUnsettledPayouts(bytes32 caseId);
    /// @notice An input is missing or out of range; `field` names it.
    error LedgerInvalidInput(string field);

    /// @notice Opens a case. Caseworker (or approver) whose region contains `region`. Emits {CaseSubmitted}.
    function submitCase(
        bytes32 caseId,
        uint32 programmeId,
        uint64 region,
        bytes32 pseudonym,
        bytes32 recordDigest
    ) external;

    /// @notice Opens many cases in one transaction, each exactly as {submitCase} would, in order: all or none (the
    /// first refusal reverts the whole batch with that case's error). Emits {CaseSubmitted} for each.
    function submitCases(CaseSubmission[] calldata cases) external;

    /// @notice Township review (審核): passing starts the public notice, failing rejects. Caseworker in scope.
    /// Emits {CaseReviewed}, and {CaseRejected} on failure.
    function reviewCase(bytes32 caseId, bool passed, bytes32 reasonDigest) external;

    /// @notice Many reviews in one transaction, each exactly as {reviewCase} would, in order: all or none (the first
    /// refusal reverts the batch with that case's error).
    function reviewCases(CaseReview[] calldata reviews) external;

    /// @notice Records an objection received during the notice. Caseworker in scope. Emits {ObjectionRaised}.
    function raiseObjection(bytes32 caseId, bytes32 objectionDigest) external;

    /// @notice Resolves an objection; an upheld one rejects the case. Approver in scope.
    /// Emits {ObjectionResolved}, and {CaseRejected} if upheld.
    function resolveObjection(bytes32 caseId, bytes32 objectionDigest, bool upheld, bytes32 reasonDigest) external;

    /// @notice County approval (審批). The amount follows from the programme's rule. Approver in scope, not the
    /// submitter. Emits {CaseApproved}.
    function approveCase(bytes32 caseId, Assessment calldata assessment, bytes32 ruleVersion) external;

    /// @notice Rejects a case still in review or notice. Approver in scope. Emits {CaseRejected}.
    function rejectCase(bytes32 caseId, bytes32 reasonDigest) external;

    /// @notice Holds payouts. Approver in scope. Emits {CaseSuspended}.
    function suspendCase(bytes32 caseId, bytes32 reasonDigest) external;

    /// @notice Lifts a suspension. Approver in scope. Emits {CaseResumed}.
    function resumeCase(bytes32 caseId, bytes32 reasonDigest) external;

    /// @notice Yearly re-certification (年度核查): a fresh assessment and eligibility for the programme's validity
    /// from the current period. If eligibility had lapsed, it restarts now and the lapsed months are not payable.
    /// Approver in scope, not the submitter. Emits {CaseRecertified}.
    function recertifyCase(
        bytes32 caseId,
        Assessment calldata assessment,
        bytes32 ruleVersion,
        bytes32 recordDigest
    ) external;

    /// @notice Exit (應退盡退) with a gradual exit: payouts go on for the programme's exit periods, then stop.
    /// Approver in scope. Emits {CaseExited}.
    function exitCase(bytes32 caseId, bytes32 reasonDigest) external;

    /// @notice Sets the address whose EIP-712 signatures confirm receipts for this case. Caseworker in scope.
    /// Emits {BeneficiaryKeySet}.
    function setBeneficiaryKey(bytes32 caseId, address key) external;

    function caseRecord(bytes32 caseId) external view returns (CaseView memory);

    /// @notice Whether the case holds its pseudonym's place in its exclusion group now.
    function isActive(bytes32 caseId) external view returns (bool);

    function caseCount() external view returns (uint256);

    function caseIdAt(uint256 index) external view returns (bytes32);

    /// @notice Approved cases of a programme, in order of first approval (for keepers and checkUpkeep).
    function programmeCaseCount(uint32 programmeId) external view returns (uint256);

    function programmeCaseAt(uint32 programmeId, uint256 index) external view returns (bytes32);
}
