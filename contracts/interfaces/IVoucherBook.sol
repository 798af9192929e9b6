// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPayouts} from "./IPayouts.sol";

/// @title IVoucherBook
/// @notice Assistance vouchers (救助券), kept beside a ReliefLedger whose cases it reads and whose programme pools
/// it draws on through {IVoucherFunding}.
///
/// A programme of kind `Voucher` pays its approved cases in vouchers instead of cash: each approved case gets one
/// voucher, its face value the approved amount, of the kind and for the provider categories the programme's
/// {VoucherTerms} name. Issuing moves the face value from the programme pool into the ledger's voucher escrow; a
/// designated provider's redemption makes part of it owed to that provider; the finance bureau pays providers for
/// what they redeemed and the payment agent settles (or reports a failure, which makes it owed again); value still
/// unused at expiry returns to the pool. For every programme, at every moment:
/// `issued == redeemed + expired + outstanding` and `escrow == outstanding + redeemed but not yet paid`.
///
/// A voucher belongs to its case and has no transfer function: it cannot be sold or passed on. Its value leaves it
/// only by a provider's redemption, which needs a presentation: the beneficiary presents it (the gateway's
/// anchorer records that on chain, naming the provider, a maximum and a deadline), and that provider redeems at
/// most that much, once, before the deadline and the voucher's expiry.
interface IVoucherBook {
    /// @notice What a voucher pays for.
    enum VoucherKind {
        None,
        Education, // 教育救助券: fees and materials at a school
        Medical, // 醫療救助券: treatment at a designated hospital
        CareService // 照護服務券: care at a licensed care agency
    }

    /// @notice A provider's category. A voucher lists the categories that may redeem it as a bit mask
    /// (bit `1 << category`).
    enum ProviderCategory {
        None,
        School,
        Hospital,
        CareAgency,
        Pharmacy
    }

    enum VoucherStatus {
        None,
        Active, // value left and not expired (an Active voucher past its expiry awaits {expireVouchers})
        Exhausted, // fully redeemed
        Expired // its unused value went back to the pool
    }

    enum RedemptionStatus {
        None,
        Redeemed, // owed to the provider
        Paid, // the finance bureau paid it (escrow → paid out), settlement pending
        Settled // the payment agent confirmed it reached the provider's account
    }

    /// @notice How a voucher programme issues: set by an approver in the programme's region.
    struct VoucherTerms {
        VoucherKind kind;
        uint16 categories; // bit mask of {ProviderCategory} values that may redeem
        uint32 validity; // seconds from issue to expiry
    }

    struct Voucher {
        VoucherStatus status;
        VoucherKind kind;
        uint16 categories;
        uint32 programmeId;
        uint64 region; // the programme's region: providers must lie inside it
        uint64 faceValue;
        uint64 remaining;
        uint40 issuedAt;
        uint40 expiresAt;
        uint16 redemptionCount; // redemptions are keyed (voucherId, index) for index < redemptionCount
    }

    /// @notice The one open presentation of a voucher (a newer one replaces it; a redemption consumes it).
    struct Presentation {
        address provider;
        uint64 maxAmount;
        uint40 expiresAt;
        bytes32 presentationDigest;
    }

    struct RedemptionKey {
        bytes32 voucherId;
        uint16 index;
    }

    struct Redemption {
        RedemptionStatus status;
        address provider;
        uint64 amount;
        uint40 redeemedAt;
        bytes32 invoiceDigest;
    }

    event VoucherTermsSet(uint32 indexed programmeId, VoucherKind kind, uint16 categories, uint32 validity);
    event ProviderCategorySet(address indexed provider, ProviderCategory category);
    /// @notice A case's voucher. `voucherId` is the case id: one voucher per case.
    event VoucherIssued(
        bytes32 indexed voucherId,
        uint32 indexed programmeId,
        VoucherKind kind,
        uint64 faceValue,
        uint40 expiresAt
    );
    /// @notice An approved-looking case of a voucher programme got no voucher in an issuing run.
    event VoucherSkipped(bytes32 indexed caseId, IPayouts.SkipReason reason);
    event VoucherPresented(
        bytes32 indexed voucherId,
        address indexed provider,
        uint64 maxAmount,
        uint40 expiresAt,
        bytes32 presentationDigest
    );
    event VoucherRedeemed(
        bytes32 indexed voucherId,
        uint16 index,
        address indexed provider,
        uint32 indexed programmeId,
        uint64 amount,
        uint64 remaining,
        bytes32 invoiceDigest
    );
    event VoucherExpired(bytes32 indexed voucherId, uint32 indexed programmeId, uint64 amount);
    event RedemptionPaid(bytes32 indexed voucherId, uint16 index, address indexed provider, uint64 amount);
    event RedemptionSettled(bytes32 indexed voucherId, uint16 index, bytes32 bankRefDigest);
    /// @notice The bank could not pay the provider: the amount is owed again (paid out → escrow).
    event RedemptionFailed(bytes32 indexed voucherId, uint16 index, uint64 amount, bytes32 reasonDigest);

    error VoucherNotVoucherProgramme(uint32 programmeId);
    error VoucherInvalidTerms(string field);
    error VoucherTermsNotSet(uint32 programmeId);
    error VoucherNotProvider(address account);
    error VoucherUnknown(bytes32 voucherId);
    error VoucherNotActive(bytes32 voucherId, VoucherStatus status);
    error VoucherIsExpired(bytes32 voucherId, uint40 expiresAt);
    error VoucherNotExpired(bytes32 voucherId, uint40 expiresAt);
    error VoucherWrongCategory(bytes32 voucherId, address provider, ProviderCategory category);
    error VoucherOutsideRegion(bytes32 voucherId, address provider, uint64 providerRegion);
    error VoucherNoPresentation(bytes32 voucherId, address provider);
    error VoucherAboveRemaining(bytes32 voucherId, uint64 amount, uint64 remaining);
    error VoucherAbovePresented(bytes32 voucherId, uint64 amount, uint64 maxAmount);
    error VoucherUnknownRedemption(bytes32 voucherId, uint16 index);
    error VoucherRedemptionNotInStatus(bytes32 voucherId, uint16 index, RedemptionStatus status);

    /// @notice Sets how programme `programmeId` (kind `Voucher`) issues. Approver whose region contains the
    /// programme's. `categories` nonzero and only known categories; `validity` 1 day to 3 years.
    function setVoucherTerms(uint32 programmeId, VoucherTerms calldata terms) external;

    /// @notice The registry's owner (the administrator) sets the category of a registered `Provider` institution.
    function setProviderCategory(address provider, ProviderCategory category) external;

    /// @notice Issues each listed case its voucher if its conditions all hold: a `Voucher` programme with terms,
    /// the case approved (not suspended, rejected or still in review or notice), the current period inside its
    /// eligibility, no voucher yet, and the pool covering the face value. Skips the rest with a reason (reusing
    /// {IPayouts.SkipReason}: UnknownCase, WrongProgramme, NotApproved, Suspended, NotStarted, Expired, AlreadyPaid,
    /// InsufficientBudget). Anyone may call: the conditions, not the caller, authorise issue.
    function issueVouchers(bytes32[] calldata caseIds) external returns (uint256 issued, uint256 total);

    /// @notice The gateway's anchorer records that the beneficiary presented voucher `voucherId` to `provider`, for at
    /// most `maxAmount` until `expiresAt` (at most 1 day ahead). `presentationDigest`: digest of the off-chain
    /// presentation (the beneficiary's signed-in request). Replaces any open presentation of the voucher.
    function presentVoucher(
        bytes32 voucherId,
        address provider,
        uint64 maxAmount,
        uint40 expiresAt,
        bytes32 presentationDigest
    ) external;

    /// @notice The presented provider redeems `amount` (> 0, ≤ remaining, ≤ presented maximum) of the voucher: it
    /// must be an active `Provider` of a category the voucher allows, inside the voucher's region, before both the
    /// presentation's deadline and the voucher's expiry. Consumes the presentation. Emits {VoucherRedeemed}.
    function redeemVoucher(
        bytes32 voucherId,
        uint64 amount,
        bytes32 invoiceDigest
    ) external returns (uint16 index, uint64 remaining);

    /// @notice A finance bureau whose region contains each voucher's programme region pays these `Redeemed`
    /// redemptions (all or nothing): escrow → paid out. Emits {RedemptionPaid} each.
    function payRedemptions(RedemptionKey[] calldata keys) external returns (uint256 total);

    /// @notice The payment agent confirms that these `Paid` redemptions reached the providers. All or nothing.
    function confirmRedemptionSettlements(bytes32 bankRefDigest, RedemptionKey[] calldata keys) external;

    /// @notice The payment agent reports that a `Paid` redemption could not be paid: it is `Redeemed` (owed) again.
    function reportRedemptionFailure(RedemptionKey calldata key, bytes32 reasonDigest) external;

    /// @notice Returns the unused value of each listed voucher past its expiry to its programme's pool and marks it
    /// `Expired`; skips vouchers that are not Active or not yet expired. Anyone may call.
    function expireVouchers(bytes32[] calldata voucherIds) external returns (uint256 expired, uint256 returned);

    function voucherTerms(uint32 programmeId) external view returns (VoucherTerms memory);
    function providerCategory(address provider) external view returns (ProviderCategory);
    /// @notice The voucher (status None if there is none).
    function voucher(bytes32 voucherId) external view returns (Voucher memory);
    function presentation(bytes32 voucherId) external view returns (Presentation memory);
    function redemption(RedemptionKey calldata key) external view returns (Redemption memory);
    /// @notice Per programme: face value issued, redeemed, expired, and paid to providers (fen).
    function voucherTotals(
        uint32 programmeId
    ) external view returns (uint256 issued, uint256 redeemed, uint256 expired, uint256 paid);
}

/// @title IVoucherFunding
/// @notice The ReliefLedger's side: the one voucher book it trusts moves money between a programme pool, the
/// voucher escrow and paid out. `appropriated == Σ region balances + Σ pools + voucher escrow + paid out` holds.
interface IVoucherFunding {
    enum VoucherFundsMove {
        Issue, // pool → escrow
        Expire, // escrow → pool
        Pay, // escrow → paid out
        Fail // paid out → escrow
    }

    event VoucherBookLinked(address book);
    event VoucherFundsMoved(uint32 indexed programmeId, VoucherFundsMove move, uint256 amount);

    error LedgerVoucherBookAlreadyLinked(address book);
    error LedgerNotVoucherBook(address caller);

    /// @notice The registry's owner links the voucher book, once.
    function linkVoucherBook(address book) external;

    /// @notice The linked voucher book moves `amount` for `programmeId`. Reverts {IBudget.LedgerInsufficientFunds}
    /// if the source holds less.
    function moveVoucherFunds(uint32 programmeId, VoucherFundsMove move, uint256 amount) external;

    function voucherBook() external view returns (address);
    function voucherEscrow() external view returns (uint256);
}
