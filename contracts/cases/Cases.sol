// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {ICases} from "../interfaces/ICases.sol";
import {Budget} from "../budget/Budget.sol";
import {Periods} from "../libraries/Periods.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title Cases
/// @notice The life of a case: application, review, public notice and objections, approval or rejection,
/// suspension, yearly re-certification and gradual exit.
abstract contract Cases is ICases, Budget {
    /// @dev Everything a payout reads and writes, packed into one storage slot (256 bits) so that paying
    /// an entitlement costs one cold read and one warm write.
    struct Entitlement {
        CaseStatus status;
        uint32 programmeId;
        uint40 amount;
        uint40 noticeEnds;
        uint24 firstPeriod;
        uint24 lastPeriod;
        uint24 paidThrough;
        uint32 paidMask;
        uint32 settledMask;
    }

    /// @dev The rest of a case, read off the payout path.
    struct CaseFile {
        address submitter;
        uint64 region;
        uint16 openObjections;
        address beneficiaryKey;
        bytes32 pseudonym;
        bytes32 recordDigest;
    }

    /// @dev The amount a case was paid before a re-certification changed it, with the paid window at that
    /// moment. Amounts change only when nothing awaits settlement, so the periods paid during an epoch are
    /// those first seen paid in its snapshot; later payments are at the next epoch's amount.
    struct AmountEpoch {
        uint40 amount;
        uint24 paidThrough;
        uint32 paidMask;
    }

    enum ObjectionState {
        None,
        Open,
        Dismissed,
        Upheld
    }

    mapping(bytes32 caseId => Entitlement) internal _entitlements;
    mapping(bytes32 caseId => CaseFile) internal _files;
    mapping(bytes32 caseId => AmountEpoch[]) internal _amountEpochs;
    mapping(bytes32 caseId => mapping(bytes32 objectionDigest => ObjectionState)) private _objections;
    mapping(bytes32 pseudonym => mapping(uint32 exclusionGroup => bytes32 caseId)) private _holders;
    mapping(uint32 programmeId => bytes32[]) private _programmeCases;
    bytes32[] private _caseIds;
    /// @dev Cases whose exit was decided, kept apart so that a suspended exit resumes as an exit.
    mapping(bytes32 caseId => bool) private _exits;

    /// @inheritdoc ICases
    function submitCase(
        bytes32 caseId,
        uint32 programmeId,
        uint64 region,
        bytes32 pseudonym,
        bytes32 recordDigest
    ) external {
        _submit(caseId, programmeId, region, pseudonym, recordDigest);
    }

    /// @inheritdoc ICases
    function submitCases(CaseSubmission[] calldata cases) external {
        if (cases.length == 0) revert LedgerInvalidInput("cases");
        for (uint256 i = 0; i < cases.length; ++i) {
            CaseSubmission calldata c = cases[i];
            _submit(c.caseId, c.programmeId, c.region, c.pseudonym, c.recordDigest);
        }
    }

    function _submit(
        bytes32 caseId,
        uint32 programmeId,
        uint64 region,
        bytes32 pseudonym,
        bytes32 recordDigest
    ) private {
        if (caseId == bytes32(0)) revert LedgerInvalidInput("caseId");
        if (pseudonym == bytes32(0)) revert LedgerInvalidInput("pseudonym");
        if (recordDigest == bytes32(0)) revert LedgerInvalidInput("recordDigest");
        if (!Regions.isValid(region)) revert LedgerInvalidInput("region");
        Programme storage p = _programme(programmeId);
        if (!Regions.contains(p.region, region)) revert LedgerRegionOutsideProgramme(region, p.region);
        _authorizeEither(IInstitutionRegistry.Role.Caseworker, IInstitutionRegistry.Role.Approver, region);
        if (_entitlements[caseId].status != CaseStatus.None) revert LedgerCaseExists(caseId);
        _requireNoActiveHolder(pseudonym, p.exclusionGroup, caseId);

        _entitlements[caseId].status = CaseStatus.Submitted;
        _entitlements[caseId].programmeId = programmeId;
        _files[caseId] = CaseFile({
            submitter: msg.sender,
            region: region,
            openObjections: 0,
            beneficiaryKey: address(0),
            pseudonym: pseudonym,
            recordDigest: recordDigest
        });
        _caseIds.push(caseId);
        emit CaseSubmitted(caseId, programmeId, region, pseudonym, recordDigest, msg.sender);
    }

    /// @inheritdoc ICases
    function reviewCase(bytes32 caseId, bool passed, bytes32 reasonDigest) external {
        _review(caseId, passed, reasonDigest);
    }

    /// @inheritdoc ICases
    function reviewCases(CaseReview[] calldata reviews) external {
        if (reviews.length == 0) revert LedgerInvalidInput("reviews");
        for (uint256 i = 0; i < reviews.length; ++i) {
            _review(reviews[i].caseId, reviews[i].passed, reviews[i].reasonDigest);
        }
    }

    function _review(bytes32 caseId, bool passed, bytes32 reasonDigest) private {
        Entitlement storage e = _case(caseId, CaseStatus.Submitted);
        _authorize(IInstitutionRegistry.Role.Caseworker, _files[caseId].region);
        if (passed) {
            uint40 noticeEnds = uint40(block.timestamp + _programmes[e.programmeId].noticePeriod);
            e.status = CaseStatus.InNotice;
            e.noticeEnds = noticeEnds;
            emit CaseReviewed(caseId, true, reasonDigest, noticeEnds);
        } else {
            e.status = CaseStatus.Rejected;
            emit CaseReviewed(caseId, false, reasonDigest, 0);
            emit CaseRejected(caseId, reasonDigest);
        }
    }

    /// @inheritdoc ICases
    function raiseObjection(bytes32 caseId, bytes32 objectionDigest) external {
        _case(caseId, CaseStatus.InNotice);
        CaseFile storage f = _files[caseId];
        _authorize(IInstitutionRegistry.Role.Caseworker, f.region);
        if (objectionDigest == bytes32(0)) revert LedgerInvalidInput("objectionDigest");
        if (_objections[caseId][objectionDigest] != ObjectionState.None) {
            revert LedgerObjectionExists(caseId, objectionDigest);
        }
        _objections[caseId][objectionDigest] = ObjectionState.Open;
        f.openObjections += 1;
        emit ObjectionRaised(caseId, objectionDigest);
    }

    /// @inheritdoc ICases
    function resolveObjection(bytes32 caseId, bytes32 objectionDigest, bool upheld, bytes32 reasonDigest) external {
        Entitlement storage e = _case(caseId, CaseStatus.InNotice);
        CaseFile storage f = _files[caseId];
        _authorizeApprover(caseId);
        if (_objections[caseId][objectionDigest] != ObjectionState.Open) {
            revert LedgerUnknownObjection(caseId, objectionDigest);
        }
        _objections[caseId][objectionDigest] = upheld ? ObjectionState.Upheld : ObjectionState.Dismissed;
        f.openObjections -= 1;
        emit ObjectionResolved(caseId, objectionDigest, upheld, reasonDigest);
        if (upheld) {
            e.status = CaseStatus.Rejected;
            emit CaseRejected(caseId, reasonDigest);
        }
    }

    /// @inheritdoc ICases
    function approveCase(bytes32 caseId, Assessment calldata assessment, bytes32 ruleVersion) external {
        Entitlement storage e = _case(caseId, CaseStatus.InNotice);
        CaseFile storage f = _files[caseId];
        Programme storage p = _programmes[e.programmeId];
        uint64 actorRegion = _authorizeDecision(caseId, f);
        if (block.timestamp < e.noticeEnds) revert LedgerNoticeNotOver(caseId, e.noticeEnds);
        if (f.openObjections != 0) revert LedgerOpenObjections(caseId, f.openObjections);
        if (p.ruleVersion != ruleVersion) revert LedgerRuleVersionMismatch(e.programmeId, ruleVersion, p.ruleVersion);
        _requireNoActiveHolder(f.pseudonym, p.exclusionGroup, caseId);

        uint64 amount = _assess(caseId, p, assessment, actorRegion);
        uint24 first = Periods.at(block.timestamp);
        e.status = CaseStatus.Approved;
        e.amount = uint40(amount);
        e.firstPeriod = first;
        e.lastPeriod = p.kind == ProgrammeKind.Temporary ? first : Periods.add(first, p.validityMonths - 1);
        if (p.exclusionGroup != 0) _holders[f.pseudonym][p.exclusionGroup] = caseId;
        _programmeCases[e.programmeId].push(caseId);
        _emitApproved(caseId, e, p, assessment);
    }

    function _emitApproved(bytes32 caseId, Entitlement storage e, Programme storage p, Assessment calldata a) private {
        emit CaseApproved(
            caseId,
            e.amount,
            e.firstPeriod,
            e.lastPeriod,
            p.ruleVersion,
            p.amount,
            a.householdSize,
            a.incomePerHead
        );
    }

    /// @inheritdoc ICases
    function rejectCase(bytes32 caseId, bytes32 reasonDigest) external {
        Entitlement storage e = _known(caseId);
        if (e.status != CaseStatus.Submitted && e.status != CaseStatus.InNotice) {
            revert LedgerInvalidCaseStatus(caseId, e.status);
        }
        _authorizeApprover(caseId);
        e.status = CaseStatus.Rejected;
        emit CaseRejected(caseId, reasonDigest);
    }

    /// @inheritdoc ICases
    function suspendCase(bytes32 caseId, bytes32 reasonDigest) external {
        Entitlement storage e = _known(caseId);
        if (e.status != CaseStatus.Approved && e.status != CaseStatus.Exiting) {
            revert LedgerInvalidCaseStatus(caseId, e.status);
        }
        _authorizeApprover(caseId);
        // A suspended exit stays an exit: resuming it returns to Exiting with the same end.
        e.status = CaseStatus.Suspended;
        emit CaseSuspended(caseId, reasonDigest);
    }

    /// @inheritdoc ICases
    function resumeCase(bytes32 caseId, bytes32 reasonDigest) external {
        Entitlement storage e = _case(caseId, CaseStatus.Suspended);
        _authorizeApprover(caseId);
        e.status = _isExit(caseId) ? CaseStatus.Exiting : CaseStatus.Approved;
        emit CaseResumed(caseId, reasonDigest);
    }

    /// @inheritdoc ICases
    function recertifyCase(
        bytes32 caseId,
        Assessment calldata assessment,
        bytes32 ruleVersion,
        bytes32 recordDigest
    ) external {
        Entitlement storage e = _case(caseId, CaseStatus.Approved);
        CaseFile storage f = _files[caseId];
        Programme storage p = _programmes[e.programmeId];
        if (p.kind == ProgrammeKind.Temporary) revert LedgerInvalidCaseStatus(caseId, e.status);
        uint64 actorRegion = _authorizeDecision(caseId, f);
        if (p.ruleVersion != ruleVersion) revert LedgerRuleVersionMismatch(e.programmeId, ruleVersion, p.ruleVersion);
        if (recordDigest == bytes32(0)) revert LedgerInvalidInput("recordDigest");
        _requireNoActiveHolder(f.pseudonym, p.exclusionGroup, caseId);

        uint64 amount = _assess(caseId, p, assessment, actorRegion);
        if (amount != e.amount) {
            if ((e.paidMask & ~e.settledMask) != 0) revert LedgerUnsettledPayouts(caseId);
            // Remember what the payouts made so far were paid at, for settlement views and clawbacks.
            if (e.paidMask != 0) _amountEpochs[caseId].push(AmountEpoch(e.amount, e.paidThrough, e.paidMask));
        }
        uint24 current = Periods.at(block.timestamp);
        uint24 last = Periods.add(current, p.validityMonths - 1);
        // A lapsed eligibility restarts now: no one certified the family for the months in between.
        if (e.lastPeriod < current) e.firstPeriod = current;
        e.amount = uint40(amount);
        e.lastPeriod = last;
        f.recordDigest = recordDigest;
        if (p.exclusionGroup != 0) _holders[f.pseudonym][p.exclusionGroup] = caseId;
        emit CaseRecertified(
            caseId,
            amount,
            last,
            p.ruleVersion,
            p.amount,
            assessment.householdSize,
            assessment.incomePerHead,
            recordDigest
        );
    }

    /// @inheritdoc ICases
    function exitCase(bytes32 caseId, bytes32 reasonDigest) external {
        Entitlement storage e = _known(caseId);
        if (e.status != CaseStatus.Approved && e.status != CaseStatus.Suspended) {
            revert LedgerInvalidCaseStatus(caseId, e.status);
        }
        if (e.status == CaseStatus.Suspended && _isExit(caseId)) revert LedgerInvalidCaseStatus(caseId, e.status);
        _authorizeApprover(caseId);
        uint24 exitEnd = Periods.add(Periods.at(block.timestamp), _programmes[e.programmeId].exitPeriods);
        if (exitEnd < e.lastPeriod) e.lastPeriod = exitEnd;
        _exits[caseId] = true;
        if (e.status == CaseStatus.Approved) e.status = CaseStatus.Exiting;
        emit CaseExited(caseId, e.lastPeriod, reasonDigest);
    }

    /// @inheritdoc ICases
    function setBeneficiaryKey(bytes32 caseId, address key) external {
        _known(caseId);
        CaseFile storage f = _files[caseId];
        _authorize(IInstitutionRegistry.Role.Caseworker, f.region);
        if (key == address(0)) revert LedgerInvalidInput("key");
        f.beneficiaryKey = key;
        emit BeneficiaryKeySet(caseId, key);
    }

    /// @inheritdoc ICases
    function caseRecord(bytes32 caseId) public view returns (CaseView memory v) {
        Entitlement storage e = _entitlements[caseId];
        CaseFile storage f = _files[caseId];
        v = CaseView({
            status: e.status,
            programmeId: e.programmeId,
            region: f.region,
            amount: e.amount,
            noticeEnds: e.noticeEnds,
            firstPeriod: e.firstPeriod,
            lastPeriod: e.lastPeriod,
            paidThrough: e.paidThrough,
            paidMask: e.paidMask,
            settledMask: e.settledMask,
            openObjections: f.openObjections,
            submitter: f.submitter,
            beneficiaryKey: f.beneficiaryKey,
            pseudonym: f.pseudonym,
            recordDigest: f.recordDigest
        });
    }

    /// @inheritdoc ICases
    function isActive(bytes32 caseId) public view returns (bool) {
        Entitlement storage e = _entitlements[caseId];
        CaseStatus s = e.status;
        bool entitled = s == CaseStatus.Approved || s == CaseStatus.Suspended || s == CaseStatus.Exiting;
        return entitled && e.lastPeriod >= Periods.at(block.timestamp);
    }

    /// @inheritdoc ICases
    function caseCount() public view returns (uint256) {
        return _caseIds.length;
    }

    /// @inheritdoc ICases
    function caseIdAt(uint256 index) public view returns (bytes32) {
        return _caseIds[index];
    }

    /// @inheritdoc ICases
    function programmeCaseCount(uint32 programmeId) public view returns (uint256) {
        return _programmeCases[programmeId].length;
    }

    /// @inheritdoc ICases
    function programmeCaseAt(uint32 programmeId, uint256 index) public view returns (bytes32) {
        return _programmeCases[programmeId][index];
    }

    function _isExit(bytes32 caseId) private view returns (bool) {
        return _exits[caseId];
    }

    function _known(bytes32 caseId) internal view returns (Entitlement storage e) {
        e = _entitlements[caseId];
        if (e.status == CaseStatus.None) revert LedgerUnknownCase(caseId);
    }

    function _case(bytes32 caseId, CaseStatus expected) private view returns (Entitlement storage e) {
        e = _known(caseId);
        if (e.status != expected) revert LedgerInvalidCaseStatus(caseId, e.status);
    }

    /// @dev Decisions on a case: an approver in scope, at county level or above except for temporary assistance
    /// (which a township may decide, and approve up to its ceiling).
    function _authorizeApprover(bytes32 caseId) private view returns (uint64 actorRegion) {
        actorRegion = _authorize(IInstitutionRegistry.Role.Approver, _files[caseId].region);
        ProgrammeKind kind = _programmes[_entitlements[caseId].programmeId].kind;
        if (kind != ProgrammeKind.Temporary && Regions.level(actorRegion) > 3) {
            revert LedgerApproverLevelTooLow(msg.sender, actorRegion);
        }
    }

    /// @dev Approvals and re-certifications: as {_authorizeApprover}, and never by the case's submitter.
    function _authorizeDecision(bytes32 caseId, CaseFile storage f) private view returns (uint64 actorRegion) {
        actorRegion = _authorizeApprover(caseId);
        if (f.submitter == msg.sender) revert LedgerSelfApproval(caseId, msg.sender);
    }

    /// @dev The amount per period (or per event) that the programme's rule gives for this assessment.
    function _assess(
        bytes32 caseId,
        Programme storage p,
        Assessment calldata a,
        uint64 actorRegion
    ) private view returns (uint64 amount) {
        ProgrammeKind kind = p.kind;
        if (kind == ProgrammeKind.MonthlyGap) {
            if (a.householdSize == 0 || a.householdSize > 99) revert LedgerInvalidInput("householdSize");
            // 補差: (standard − income per head) × household size, floored at zero.
            amount = a.incomePerHead >= p.amount ? 0 : (p.amount - a.incomePerHead) * a.householdSize;
        } else if (kind == ProgrammeKind.Temporary || kind == ProgrammeKind.Voucher) {
            amount = a.amount;
            // Temporary: a township approver up to the ceiling; Voucher: any (county) approver up to the cap.
            if ((kind == ProgrammeKind.Voucher || Regions.level(actorRegion) > 3) && amount > p.amount) {
                revert LedgerAboveApprovalCeiling(caseId, amount, p.amount);
            }
        } else if (kind == ProgrammeKind.Medical) {
            amount = p.amount; // the annual cap; each certified bill is assessed when it arrives
        } else {
            amount = p.amount; // fixed monthly amount, or the disaster grant per household
        }
        if (amount == 0) revert LedgerZeroEntitlement(caseId);
        if (amount > type(uint40).max) revert LedgerInvalidInput("amount");
    }

    function _requireNoActiveHolder(bytes32 pseudonym, uint32 group, bytes32 caseId) private view {
        if (group == 0) return;
        bytes32 holder = _holders[pseudonym][group];
        if (holder != bytes32(0) && holder != caseId && isActive(holder)) {
            revert LedgerExclusiveCaseActive(pseudonym, group, holder);
        }
    }
}
