// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPayouts} from "./IPayouts.sol";
import {IReliefLedger} from "./IReliefLedger.sol";

/// @title IReceiptBook
/// @notice The beneficiary's confirmation of receipt (救助對象確認) and disputes of non-receipt, kept beside a
/// {IReliefLedger} whose payouts it reads through views only.
///
/// A payout is named by its {IPayouts.PayoutKey} exactly as {IPayouts.casePayouts} lists it. A beneficiary
/// answers it in one of two ways:
/// - by an EIP-712 signature over a {Receipt} with the case's beneficiary key, relayed by anyone
///   ({submitReceipt}); or
/// - through the gateway, which signs the beneficiary in with a one-time code, takes an SM2-signed receipt
///   off chain and attests it with the digest of that receipt ({attestReceipt}).
///
/// The receipt rule: a payout has at most one receipt, with one exception. A `NotReceived` receipt opens a
/// dispute, and the beneficiary may later send one `Confirmed` receipt for the same payout (by either path),
/// whatever the state of the dispute. If the dispute is still open this closes it with the outcome
/// `ResolvedByBeneficiary`. Any further receipt reverts with {LedgerReceiptExists}, so a payout is confirmed
/// at most once and disputed at most once.
interface IReceiptBook {
    /// @notice What the beneficiary says about a payout. Values 1 and 2 are those signed in {Receipt.outcome}.
    enum ReceiptOutcome {
        None,
        Confirmed, // 收到: the money arrived
        NotReceived // the money did not arrive: opens a dispute
    }

    /// @notice How the receipt reached the chain.
    enum ReceiptSource {
        None,
        Signature, // the beneficiary's EIP-712 signature, relayed by anyone
        Attestation // the gateway's anchorer, for an SM2-signed receipt taken off chain
    }

    enum DisputeStatus {
        None,
        Open,
        Resolved
    }

    enum DisputeOutcome {
        None,
        PaymentProven, // the bank shows the money arrived
        Reissued, // the payment agent reported a failure and the payout will be made again
        Dismissed, // the dispute is unfounded
        ResolvedByBeneficiary // the beneficiary confirmed receipt after all (never passed to {resolveDispute})
    }

    /// @notice The EIP-712 message a beneficiary signs:
    /// `Receipt(bytes32 caseId,uint24 period,bytes32 eventId,uint8 outcome,bytes32 noteDigest,uint256 deadline)`
    /// in the domain `("ReliefLedger Receipts", "1", chainId, this book)`.
    struct Receipt {
        bytes32 caseId;
        uint24 period;
        bytes32 eventId;
        uint8 outcome; // 1 Confirmed, 2 NotReceived ({ReceiptOutcome})
        bytes32 noteDigest; // keyed digest of the beneficiary's note, or zero
        uint256 deadline; // unix time after which the signature is void
    }

    /// @notice The latest receipt of a payout: a `NotReceived` receipt is replaced by a later `Confirmed` one.
    struct ReceiptRecord {
        ReceiptOutcome outcome;
        ReceiptSource source;
        uint64 timestamp;
    }

    struct Dispute {
        DisputeStatus status;
        uint64 openedAt;
        uint64 responseDeadline; // openedAt + the programme's dispute window
        DisputeOutcome outcome;
    }

    /// @notice Emitted when a beneficiary confirms that a payout arrived. `noteDigest` is the signed note, or
    /// for an attestation the digest of the SM2-signed receipt.
    event ReceiptConfirmed(
        bytes32 indexed caseId,
        bytes32 eventId,
        uint24 period,
        ReceiptSource source,
        bytes32 noteDigest
    );
    /// @notice Emitted when a beneficiary reports that a payout did not arrive.
    event DisputeOpened(
        bytes32 indexed caseId,
        bytes32 eventId,
        uint24 period,
        uint64 responseDeadline,
        bytes32 noteDigest
    );
    /// @notice Emitted when a dispute is closed, by an approver or by the beneficiary's later confirmation
    /// (then `resolutionDigest` is the confirmation's note digest).
    event DisputeResolved(
        bytes32 indexed caseId,
        bytes32 eventId,
        uint24 period,
        DisputeOutcome outcome,
        bytes32 resolutionDigest
    );

    /// @notice The ledger holds no payout (paid or settled) under this key.
    error LedgerPayoutNotFound(bytes32 caseId, uint24 period, bytes32 eventId);
    /// @notice The payout already has its receipt (see the receipt rule above).
    error LedgerReceiptExists(bytes32 caseId, uint24 period, bytes32 eventId);
    /// @notice The payout has no open dispute.
    error LedgerNoOpenDispute(bytes32 caseId, uint24 period, bytes32 eventId);
    /// @notice No beneficiary key is set for the case, so no signature can speak for it.
    error LedgerNoBeneficiaryKey(bytes32 caseId);
    /// @notice The signature is malformed (`signer` zero) or was not made by the case's beneficiary key.
    error LedgerInvalidReceiptSignature(bytes32 caseId, address signer);
    /// @notice The signed receipt's deadline has passed.
    error LedgerReceiptExpired(uint256 deadline);
    /// @notice An input is missing or out of range; `field` names it.
    error LedgerInvalidInput(string field);

    /// @notice Records a receipt signed by the case's beneficiary key. Anyone may relay it.
    /// Emits {ReceiptConfirmed} (and {DisputeResolved} if it closes an open dispute) or {DisputeOpened}.
    function submitReceipt(Receipt calldata receipt, bytes calldata signature) external;

    /// @notice Records a receipt the gateway took off chain, signed by the beneficiary with SM2 after a one-time
    /// code. Active anchorer whose region contains the case's. `evidenceDigest` (nonzero) is the digest of the
    /// SM2-signed receipt. Emits as {submitReceipt}.
    function attestReceipt(IPayouts.PayoutKey calldata key, uint8 outcome, bytes32 evidenceDigest) external;

    /// @notice Closes an open dispute with `PaymentProven`, `Reissued` or `Dismissed`. Approver in scope of the
    /// case. `resolutionDigest` (nonzero) is the digest of the evidence. Emits {DisputeResolved}.
    function resolveDispute(IPayouts.PayoutKey calldata key, DisputeOutcome outcome, bytes32 resolutionDigest) external;

    /// @notice The ledger whose payouts this book records receipts for.
    function ledger() external view returns (IReliefLedger);

    /// @notice The latest receipt of a payout (outcome `None` if there is none).
    function receiptOf(IPayouts.PayoutKey calldata key) external view returns (ReceiptRecord memory);

    /// @notice The dispute of a payout (status `None` if there is none).
    function disputeOf(IPayouts.PayoutKey calldata key) external view returns (Dispute memory);

    /// @notice Whether the payout's dispute is open and its response deadline has passed.
    function isOverdue(IPayouts.PayoutKey calldata key) external view returns (bool);

    /// @notice The number of open disputes.
    function openDisputeCount() external view returns (uint256);

    /// @notice The key of the `index`-th open dispute (in no guaranteed order).
    function openDisputeAt(uint256 index) external view returns (IPayouts.PayoutKey memory);

    /// @notice The payouts of a case that {IPayouts.casePayouts} lists and that have no `Confirmed` receipt.
    function unconfirmedPayouts(bytes32 caseId) external view returns (IPayouts.PayoutKey[] memory keys);

    /// @notice The EIP-712 digest a beneficiary signs for `receipt`, for off-chain tools.
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32);
}
