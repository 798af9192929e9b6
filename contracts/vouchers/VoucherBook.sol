// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IReliefLedger} from "../interfaces/IReliefLedger.sol";
import {IProgrammes} from "../interfaces/IProgrammes.sol";
import {ICases} from "../interfaces/ICases.sol";
import {IPayouts} from "../interfaces/IPayouts.sol";
import {IVoucherBook, IVoucherFunding} from "../interfaces/IVoucherBook.sol";
import {RegistryClient} from "../access/RegistryClient.sol";
import {Periods} from "../libraries/Periods.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title VoucherBook (救助券)
/// @notice Assistance vouchers of one {IReliefLedger}: a contract of its own because the ledger is near the EIP-170
/// code size limit. It reads cases through the ledger's `caseRecord` (one call per listed case), programmes through
/// `programme` and pools through `poolBalance`, and moves money only through {IVoucherFunding-moveVoucherFunds}, once
/// per programme per call. See {IVoucherBook} for the rules.
///
/// Time rule: a voucher or a presentation is usable while `block.timestamp < expiresAt`.
contract VoucherBook is IVoucherBook, RegistryClient {
    uint16 private constant _ALL_CATEGORIES = 0x1e; // School | Hospital | CareAgency | Pharmacy
    uint32 private constant _MIN_VALIDITY = 1 days;
    uint32 private constant _MAX_VALIDITY = 3 * 366 days;
    uint256 private constant _MAX_PRESENTATION_SECONDS = 1 days;
    uint16 private constant _PROVIDER_BIT = uint16(1) << uint8(IInstitutionRegistry.Role.Provider);

    /// @dev A programme's terms with its region (a programme's region never changes): one slot.
    struct Terms {
        VoucherKind kind;
        uint16 categories;
        uint32 validity;
        uint64 region;
    }

    /// @dev A voucher in one slot (30 bytes). Amounts fit 40 bits: the ledger stores a case's amount in 40 bits.
    struct StoredVoucher {
        VoucherStatus status;
        VoucherKind kind;
        uint16 categories;
        uint32 programmeId;
        uint40 faceValue;
        uint40 remaining;
        uint40 issuedAt;
        uint40 expiresAt;
        uint16 redemptionCount;
    }

    struct StoredPresentation {
        address provider;
        uint40 maxAmount;
        uint40 expiresAt;
        bytes32 presentationDigest;
    }

    struct StoredRedemption {
        RedemptionStatus status;
        address provider;
        uint40 amount;
        uint40 redeemedAt;
        bytes32 invoiceDigest;
    }

    /// @dev Per programme, fen; one slot. `paid` is net of failures.
    struct Totals {
        uint64 issued;
        uint64 redeemed;
        uint64 expired;
        uint64 paid;
    }

    /// @dev The programmes a batch touched, with what it moves for each (and, when issuing, the pool it started with).
    struct Batch {
        uint32[] ids;
        uint256[] amounts;
        uint256[] pools;
        uint256 size;
    }

    IReliefLedger private immutable _ledger;

    mapping(uint32 programmeId => Terms) private _terms;
    mapping(address provider => ProviderCategory) private _categories;
    mapping(bytes32 voucherId => StoredVoucher) private _vouchers;
    mapping(bytes32 voucherId => StoredPresentation) private _presentations;
    mapping(bytes32 voucherId => mapping(uint16 index => StoredRedemption)) private _redemptions;
    mapping(uint32 programmeId => Totals) private _totals;

    constructor(IInstitutionRegistry registry_, IReliefLedger ledger_) RegistryClient(registry_) {
        _ledger = ledger_;
    }

    /// @inheritdoc IVoucherBook
    function setVoucherTerms(uint32 programmeId, VoucherTerms calldata terms) external {
        IProgrammes.Programme memory p = _ledger.programme(programmeId);
        if (p.kind != IProgrammes.ProgrammeKind.Voucher) revert VoucherNotVoucherProgramme(programmeId);
        _authorize(IInstitutionRegistry.Role.Approver, p.region);
        if (terms.kind == VoucherKind.None) revert VoucherInvalidTerms("kind");
        if (terms.categories == 0 || terms.categories & ~_ALL_CATEGORIES != 0) revert VoucherInvalidTerms("categories");
        if (terms.validity < _MIN_VALIDITY || terms.validity > _MAX_VALIDITY) revert VoucherInvalidTerms("validity");
        _terms[programmeId] = Terms(terms.kind, terms.categories, terms.validity, p.region);
        emit VoucherTermsSet(programmeId, terms.kind, terms.categories, terms.validity);
    }

    /// @inheritdoc IVoucherBook
    function setProviderCategory(address provider, ProviderCategory category) external {
        if (msg.sender != Ownable(address(_registry)).owner()) revert Ownable.OwnableUnauthorizedAccount(msg.sender);
        if (_registry.institution(provider).role != IInstitutionRegistry.Role.Provider) {
            revert VoucherNotProvider(provider);
        }
        if (category == ProviderCategory.None) revert ICases.LedgerInvalidInput("category");
        _categories[provider] = category;
        emit ProviderCategorySet(provider, category);
    }

    /// @inheritdoc IVoucherBook
    function issueVouchers(bytes32[] calldata caseIds) external returns (uint256 issued, uint256 total) {
        _requireNotPaused();
        uint24 period = Periods.at(block.timestamp);
        Batch memory batch = _batch(caseIds.length);
        for (uint256 i = 0; i < caseIds.length; ++i) {
            bytes32 caseId = caseIds[i];
            ICases.CaseView memory c = _ledger.caseRecord(caseId);
            (bool ok, IPayouts.SkipReason reason, Terms memory t) = _issuable(caseId, c, period);
            uint256 j;
            if (ok) {
                bool fresh;
                (j, fresh) = _entry(batch, c.programmeId);
                // The pool as it stands after this call's earlier issues (moved once, at the end).
                if (fresh) batch.pools[j] = _ledger.poolBalance(c.programmeId);
                if (c.amount > batch.pools[j] - batch.amounts[j])
                    (ok, reason) = (false, IPayouts.SkipReason.InsufficientBudget);
            }
            if (!ok) {
                emit VoucherSkipped(caseId, reason);
                continue;
            }
            uint40 expiresAt = uint40(block.timestamp + t.validity);
            _vouchers[caseId] = StoredVoucher({
                status: VoucherStatus.Active,
                kind: t.kind,
                categories: t.categories,
                programmeId: c.programmeId,
                faceValue: uint40(c.amount),
                remaining: uint40(c.amount),
                issuedAt: uint40(block.timestamp),
                expiresAt: expiresAt,
                redemptionCount: 0
            });
            batch.amounts[j] += c.amount;
            ++issued;
            emit VoucherIssued(caseId, c.programmeId, t.kind, c.amount, expiresAt);
        }
        for (uint256 j = 0; j < batch.size; ++j) {
            uint256 amount = batch.amounts[j];
            if (amount == 0) continue;
            _totals[batch.ids[j]].issued += uint64(amount);
            total += amount;
            _ledger.moveVoucherFunds(batch.ids[j], IVoucherFunding.VoucherFundsMove.Issue, amount);
        }
    }

    /// @inheritdoc IVoucherBook
    function presentVoucher(
        bytes32 voucherId,
        address provider,
        uint64 maxAmount,
        uint40 expiresAt,
        bytes32 presentationDigest
    ) external {
        StoredVoucher storage v = _known(voucherId);
        _authorize(IInstitutionRegistry.Role.Anchorer, _terms[v.programmeId].region);
        _requireUsable(voucherId, v);
        IInstitutionRegistry.Institution memory inst = _registry.institution(provider);
        if (inst.role != IInstitutionRegistry.Role.Provider || !inst.active) revert VoucherNotProvider(provider);
        if (maxAmount == 0) revert ICases.LedgerInvalidInput("maxAmount");
        if (maxAmount > v.remaining) revert VoucherAboveRemaining(voucherId, maxAmount, v.remaining);
        if (expiresAt <= block.timestamp || expiresAt > block.timestamp + _MAX_PRESENTATION_SECONDS) {
            revert ICases.LedgerInvalidInput("expiresAt");
        }
        _presentations[voucherId] = StoredPresentation(provider, uint40(maxAmount), expiresAt, presentationDigest);
        emit VoucherPresented(voucherId, provider, maxAmount, expiresAt, presentationDigest);
    }

    /// @inheritdoc IVoucherBook
    function redeemVoucher(
        bytes32 voucherId,
        uint64 amount,
        bytes32 invoiceDigest
    ) external returns (uint16 index, uint64 remaining) {
        // The provider must lie inside the voucher's region, the reverse of `authorize`'s containment: read its
        // region first, then let the registry check pause, role and activity.
        uint64 providerRegion = _registry.institution(msg.sender).region;
        _registry.authorize(msg.sender, _PROVIDER_BIT, providerRegion);
        StoredVoucher storage v = _known(voucherId);
        _requireUsable(voucherId, v);
        ProviderCategory category = _categories[msg.sender];
        if ((v.categories >> uint8(category)) & 1 == 0) revert VoucherWrongCategory(voucherId, msg.sender, category);
        if (!Regions.contains(_terms[v.programmeId].region, providerRegion)) {
            revert VoucherOutsideRegion(voucherId, msg.sender, providerRegion);
        }
        StoredPresentation storage p = _presentations[voucherId];
        if (p.provider != msg.sender || block.timestamp >= p.expiresAt)
            revert VoucherNoPresentation(voucherId, msg.sender);
        if (amount == 0 || amount > p.maxAmount) revert VoucherAbovePresented(voucherId, amount, p.maxAmount);
        if (amount > v.remaining) revert VoucherAboveRemaining(voucherId, amount, v.remaining);

        remaining = v.remaining - amount;
        index = v.redemptionCount;
        v.remaining = uint40(remaining);
        v.redemptionCount = index + 1;
        if (remaining == 0) v.status = VoucherStatus.Exhausted;
        // Consumed: the same presentation never redeems twice.
        delete _presentations[voucherId];
        _redemptions[voucherId][index] = StoredRedemption(
            RedemptionStatus.Redeemed,
            msg.sender,
            uint40(amount),
            uint40(block.timestamp),
            invoiceDigest
        );
        uint32 programmeId = v.programmeId;
        _totals[programmeId].redeemed += amount;
        emit VoucherRedeemed(voucherId, index, msg.sender, programmeId, amount, remaining, invoiceDigest);
    }

    /// @inheritdoc IVoucherBook
    function payRedemptions(RedemptionKey[] calldata keys) external returns (uint256 total) {
        Batch memory batch = _advance(keys, IInstitutionRegistry.Role.Finance, RedemptionStatus.Redeemed, bytes32(0));
        for (uint256 j = 0; j < batch.size; ++j) {
            uint256 amount = batch.amounts[j];
            _totals[batch.ids[j]].paid += uint64(amount);
            total += amount;
            _ledger.moveVoucherFunds(batch.ids[j], IVoucherFunding.VoucherFundsMove.Pay, amount);
        }
    }

    /// @inheritdoc IVoucherBook
    function confirmRedemptionSettlements(bytes32 bankRefDigest, RedemptionKey[] calldata keys) external {
        if (bankRefDigest == bytes32(0)) revert ICases.LedgerInvalidInput("bankRefDigest");
        _advance(keys, IInstitutionRegistry.Role.PaymentAgent, RedemptionStatus.Paid, bankRefDigest);
    }

    /// @inheritdoc IVoucherBook
    function reportRedemptionFailure(RedemptionKey calldata key, bytes32 reasonDigest) external {
        (uint32 programmeId, uint64 region, StoredRedemption storage r) = _redemptionIn(key, RedemptionStatus.Paid);
        _authorize(IInstitutionRegistry.Role.PaymentAgent, region);
        uint40 amount = r.amount;
        r.status = RedemptionStatus.Redeemed;
        _totals[programmeId].paid -= amount;
        emit RedemptionFailed(key.voucherId, key.index, amount, reasonDigest);
        _ledger.moveVoucherFunds(programmeId, IVoucherFunding.VoucherFundsMove.Fail, amount);
    }

    /// @inheritdoc IVoucherBook
    function expireVouchers(bytes32[] calldata voucherIds) external returns (uint256 expired, uint256 returned) {
        _requireNotPaused();
        Batch memory batch = _batch(voucherIds.length);
        for (uint256 i = 0; i < voucherIds.length; ++i) {
            StoredVoucher storage v = _vouchers[voucherIds[i]];
            if (v.status != VoucherStatus.Active || block.timestamp < v.expiresAt) continue;
            uint40 amount = v.remaining;
            uint32 programmeId = v.programmeId;
            v.status = VoucherStatus.Expired;
            v.remaining = 0;
            (uint256 j, ) = _entry(batch, programmeId);
            batch.amounts[j] += amount;
            ++expired;
            emit VoucherExpired(voucherIds[i], programmeId, amount);
        }
        for (uint256 j = 0; j < batch.size; ++j) {
            uint256 amount = batch.amounts[j];
            _totals[batch.ids[j]].expired += uint64(amount);
            returned += amount;
            _ledger.moveVoucherFunds(batch.ids[j], IVoucherFunding.VoucherFundsMove.Expire, amount);
        }
    }

    /// @notice The ledger whose cases this book issues vouchers for and whose pools it draws on.
    function ledger() external view returns (IReliefLedger) {
        return _ledger;
    }

    /// @inheritdoc IVoucherBook
    function voucherTerms(uint32 programmeId) external view returns (VoucherTerms memory) {
        Terms storage t = _terms[programmeId];
        return VoucherTerms(t.kind, t.categories, t.validity);
    }

    /// @inheritdoc IVoucherBook
    function providerCategory(address provider) external view returns (ProviderCategory) {
        return _categories[provider];
    }

    /// @inheritdoc IVoucherBook
    function voucher(bytes32 voucherId) external view returns (Voucher memory) {
        StoredVoucher storage v = _vouchers[voucherId];
        return
            Voucher({
                status: v.status,
                kind: v.kind,
                categories: v.categories,
                programmeId: v.programmeId,
                region: v.status == VoucherStatus.None ? 0 : _terms[v.programmeId].region,
                faceValue: v.faceValue,
                remaining: v.remaining,
                issuedAt: v.issuedAt,
                expiresAt: v.expiresAt,
                redemptionCount: v.redemptionCount
            });
    }

    /// @inheritdoc IVoucherBook
    function presentation(bytes32 voucherId) external view returns (Presentation memory) {
        StoredPresentation storage p = _presentations[voucherId];
        return Presentation(p.provider, p.maxAmount, p.expiresAt, p.presentationDigest);
    }

    /// @inheritdoc IVoucherBook
    function redemption(RedemptionKey calldata key) external view returns (Redemption memory) {
        StoredRedemption storage r = _redemptions[key.voucherId][key.index];
        return Redemption(r.status, r.provider, r.amount, r.redeemedAt, r.invoiceDigest);
    }

    /// @inheritdoc IVoucherBook
    function voucherTotals(
        uint32 programmeId
    ) external view returns (uint256 issued, uint256 redeemed, uint256 expired, uint256 paid) {
        Totals storage t = _totals[programmeId];
        return (t.issued, t.redeemed, t.expired, t.paid);
    }

    /// @dev Whether the case may get a voucher now, apart from the pool (the caller checks that), or why not; and
    /// its programme's terms.
    function _issuable(
        bytes32 caseId,
        ICases.CaseView memory c,
        uint24 period
    ) private view returns (bool, IPayouts.SkipReason, Terms memory t) {
        if (c.status == ICases.CaseStatus.None) return (false, IPayouts.SkipReason.UnknownCase, t);
        t = _terms[c.programmeId];
        // Terms exist only for programmes of kind Voucher (setVoucherTerms checks; a kind never changes).
        if (t.kind == VoucherKind.None) return (false, IPayouts.SkipReason.WrongProgramme, t);
        if (c.status == ICases.CaseStatus.Suspended) return (false, IPayouts.SkipReason.Suspended, t);
        if (c.status != ICases.CaseStatus.Approved && c.status != ICases.CaseStatus.Exiting) {
            return (false, IPayouts.SkipReason.NotApproved, t);
        }
        if (period < c.firstPeriod) return (false, IPayouts.SkipReason.NotStarted, t);
        if (period > c.lastPeriod) return (false, IPayouts.SkipReason.Expired, t);
        if (_vouchers[caseId].status != VoucherStatus.None) return (false, IPayouts.SkipReason.AlreadyPaid, t);
        return (true, IPayouts.SkipReason.UnknownCase, t);
    }

    /// @dev Moves each listed redemption from `from` to the next status, all or nothing, for an actor of `role`
    /// whose region contains every voucher's; returns the amounts per programme (for payments).
    function _advance(
        RedemptionKey[] calldata keys,
        IInstitutionRegistry.Role role,
        RedemptionStatus from,
        bytes32 bankRefDigest
    ) private returns (Batch memory batch) {
        if (keys.length == 0) revert ICases.LedgerInvalidInput("keys");
        batch = _batch(keys.length);
        uint64 actorRegion;
        for (uint256 i = 0; i < keys.length; ++i) {
            RedemptionKey calldata k = keys[i];
            (uint32 programmeId, uint64 region, StoredRedemption storage r) = _redemptionIn(k, from);
            if (i == 0) {
                actorRegion = _authorize(role, region);
            } else if (!Regions.contains(actorRegion, region)) {
                revert IInstitutionRegistry.LedgerUnauthorizedRegion(msg.sender, region);
            }
            if (from == RedemptionStatus.Redeemed) {
                r.status = RedemptionStatus.Paid;
                (uint256 j, ) = _entry(batch, programmeId);
                batch.amounts[j] += r.amount;
                emit RedemptionPaid(k.voucherId, k.index, r.provider, r.amount);
            } else {
                r.status = RedemptionStatus.Settled;
                emit RedemptionSettled(k.voucherId, k.index, bankRefDigest);
            }
        }
    }

    /// @dev The redemption, which must be in `status`, with its voucher's programme and region.
    function _redemptionIn(
        RedemptionKey calldata k,
        RedemptionStatus status
    ) private view returns (uint32 programmeId, uint64 region, StoredRedemption storage r) {
        r = _redemptions[k.voucherId][k.index];
        RedemptionStatus actual = r.status;
        if (actual == RedemptionStatus.None) revert VoucherUnknownRedemption(k.voucherId, k.index);
        if (actual != status) revert VoucherRedemptionNotInStatus(k.voucherId, k.index, actual);
        programmeId = _vouchers[k.voucherId].programmeId;
        region = _terms[programmeId].region;
    }

    function _known(bytes32 voucherId) private view returns (StoredVoucher storage v) {
        v = _vouchers[voucherId];
        if (v.status == VoucherStatus.None) revert VoucherUnknown(voucherId);
    }

    /// @dev Active and not past its expiry.
    function _requireUsable(bytes32 voucherId, StoredVoucher storage v) private view {
        if (v.status != VoucherStatus.Active) revert VoucherNotActive(voucherId, v.status);
        if (block.timestamp >= v.expiresAt) revert VoucherIsExpired(voucherId, v.expiresAt);
    }

    function _batch(uint256 capacity) private pure returns (Batch memory b) {
        b.ids = new uint32[](capacity);
        b.amounts = new uint256[](capacity);
        b.pools = new uint256[](capacity);
    }

    /// @dev The batch entry of `programmeId`, appended if new (`fresh`). Batches rarely span more than one
    /// programme, so the search starts from the latest entry.
    function _entry(Batch memory b, uint32 programmeId) private pure returns (uint256 j, bool fresh) {
        for (j = b.size; j > 0; --j) {
            if (b.ids[j - 1] == programmeId) return (j - 1, false);
        }
        j = b.size++;
        b.ids[j] = programmeId;
        fresh = true;
    }
}
