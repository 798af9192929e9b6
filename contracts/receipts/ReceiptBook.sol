// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IReliefLedger} from "../interfaces/IReliefLedger.sol";
import {ICases} from "../interfaces/ICases.sol";
import {IPayouts} from "../interfaces/IPayouts.sol";
import {IReceiptBook} from "../interfaces/IReceiptBook.sol";
import {RegistryClient} from "../access/RegistryClient.sol";

/// @title ReceiptBook (救助對象確認)
/// @notice Receipts and disputes of the payouts of one {IReliefLedger}, which it reads through views only:
/// `caseRecord` (region, programme, beneficiary key), `payoutStatus`, `casePayouts` and `programme`
/// (dispute window). See {IReceiptBook} for the receipt rule.
///
/// A payout's record is stored under `keccak256(abi.encode(key))`. That names each payout once only because
/// the ledger's `payoutStatus` answers `None` for an event payout's key with any period but the one it was
/// paid in; otherwise one payout could collect a receipt under every period.
contract ReceiptBook is IReceiptBook, RegistryClient, EIP712 {
    using EnumerableSet for EnumerableSet.Bytes32Set;

    bytes32 private constant _RECEIPT_TYPEHASH = keccak256(
        "Receipt(bytes32 caseId,uint24 period,bytes32 eventId,uint8 outcome,bytes32 noteDigest,uint256 deadline)"
    );

    /// @dev Everything recorded about one payout, packed in one storage slot (31 bytes): a confirmation
    /// costs one new slot.
    struct Entry {
        ReceiptOutcome receipt;
        ReceiptSource source;
        uint64 receivedAt;
        DisputeStatus dispute;
        DisputeOutcome outcome;
        uint64 openedAt;
        uint64 responseDeadline;
        uint24 period; // written when a dispute opens, for {openDisputeAt}
    }

    /// @dev The rest of a disputed payout's key, for {openDisputeAt}.
    struct DisputedPayout {
        bytes32 caseId;
        bytes32 eventId; // zero for a monthly payout, so storing it costs nothing then
    }

    IReliefLedger private immutable _ledger;

    mapping(bytes32 payoutId => Entry) private _entries;
    mapping(bytes32 payoutId => DisputedPayout) private _disputed;
    EnumerableSet.Bytes32Set private _openDisputes;

    constructor(
        IInstitutionRegistry registry_,
        IReliefLedger ledger_
    ) RegistryClient(registry_) EIP712("ReliefLedger Receipts", "1") {
        _ledger = ledger_;
    }

    /// @inheritdoc IReceiptBook
    function submitReceipt(Receipt calldata receipt, bytes calldata signature) external {
        _requireNotPaused();
        if (block.timestamp > receipt.deadline) revert LedgerReceiptExpired(receipt.deadline);
        ICases.CaseView memory c = _ledger.caseRecord(receipt.caseId);
        if (c.beneficiaryKey == address(0)) revert LedgerNoBeneficiaryKey(receipt.caseId);
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(_hashReceipt(receipt), signature);
        if (err != ECDSA.RecoverError.NoError || signer != c.beneficiaryKey) {
            revert LedgerInvalidReceiptSignature(receipt.caseId, signer);
        }
        _record(
            IPayouts.PayoutKey(receipt.caseId, receipt.period, receipt.eventId),
            c.programmeId,
            receipt.outcome,
            ReceiptSource.Signature,
            receipt.noteDigest
        );
    }

    /// @inheritdoc IReceiptBook
    function attestReceipt(IPayouts.PayoutKey calldata key, uint8 outcome, bytes32 evidenceDigest) external {
        ICases.CaseView memory c = _ledger.caseRecord(key.caseId);
        if (c.status == ICases.CaseStatus.None) revert LedgerPayoutNotFound(key.caseId, key.period, key.eventId);
        _authorize(IInstitutionRegistry.Role.Anchorer, c.region);
        if (evidenceDigest == bytes32(0)) revert LedgerInvalidInput("evidenceDigest");
        _record(key, c.programmeId, outcome, ReceiptSource.Attestation, evidenceDigest);
    }

    /// @inheritdoc IReceiptBook
    function resolveDispute(
        IPayouts.PayoutKey calldata key,
        DisputeOutcome outcome,
        bytes32 resolutionDigest
    ) external {
        bytes32 id = _payoutId(key);
        Entry storage e = _entries[id];
        if (e.dispute != DisputeStatus.Open) revert LedgerNoOpenDispute(key.caseId, key.period, key.eventId);
        _authorize(IInstitutionRegistry.Role.Approver, _ledger.caseRecord(key.caseId).region);
        if (
            outcome != DisputeOutcome.PaymentProven &&
            outcome != DisputeOutcome.Reissued &&
            outcome != DisputeOutcome.Dismissed
        ) revert LedgerInvalidInput("outcome");
        if (resolutionDigest == bytes32(0)) revert LedgerInvalidInput("resolutionDigest");
        e.dispute = DisputeStatus.Resolved;
        e.outcome = outcome;
        _openDisputes.remove(id);
        emit DisputeResolved(key.caseId, key.eventId, key.period, outcome, resolutionDigest);
    }

    /// @inheritdoc IReceiptBook
    function ledger() external view returns (IReliefLedger) {
        return _ledger;
    }

    /// @inheritdoc IReceiptBook
    function receiptOf(IPayouts.PayoutKey calldata key) external view returns (ReceiptRecord memory) {
        Entry storage e = _entries[_payoutId(key)];
        return ReceiptRecord(e.receipt, e.source, e.receivedAt);
    }

    /// @inheritdoc IReceiptBook
    function disputeOf(IPayouts.PayoutKey calldata key) external view returns (Dispute memory) {
        Entry storage e = _entries[_payoutId(key)];
        return Dispute(e.dispute, e.openedAt, e.responseDeadline, e.outcome);
    }

    /// @inheritdoc IReceiptBook
    function isOverdue(IPayouts.PayoutKey calldata key) external view returns (bool) {
        Entry storage e = _entries[_payoutId(key)];
        return e.dispute == DisputeStatus.Open && block.timestamp > e.responseDeadline;
    }

    /// @inheritdoc IReceiptBook
    function openDisputeCount() external view returns (uint256) {
        return _openDisputes.length();
    }

    /// @inheritdoc IReceiptBook
    function openDisputeAt(uint256 index) external view returns (IPayouts.PayoutKey memory) {
        bytes32 id = _openDisputes.at(index);
        DisputedPayout storage d = _disputed[id];
        return IPayouts.PayoutKey(d.caseId, _entries[id].period, d.eventId);
    }

    /// @inheritdoc IReceiptBook
    function unconfirmedPayouts(bytes32 caseId) external view returns (IPayouts.PayoutKey[] memory keys) {
        keys = _ledger.casePayouts(caseId);
        uint256 n;
        for (uint256 i = 0; i < keys.length; ++i) {
            if (_entries[_payoutId(keys[i])].receipt != ReceiptOutcome.Confirmed) keys[n++] = keys[i];
        }
        assembly ("memory-safe") {
            mstore(keys, n)
        }
    }

    /// @inheritdoc IReceiptBook
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32) {
        return _hashReceipt(receipt);
    }

    /// @dev Applies the receipt rule of {IReceiptBook} to a receipt that has passed its path's checks.
    function _record(
        IPayouts.PayoutKey memory key,
        uint32 programmeId,
        uint8 outcome,
        ReceiptSource source,
        bytes32 noteDigest
    ) private {
        if (outcome != uint8(ReceiptOutcome.Confirmed) && outcome != uint8(ReceiptOutcome.NotReceived)) {
            revert LedgerInvalidInput("outcome");
        }
        _requirePayout(key);
        bytes32 id = _payoutId(key);
        Entry storage e = _entries[id];
        ReceiptOutcome prior = e.receipt;
        // Only a dispute may be followed, once, by a confirmation.
        if (prior == ReceiptOutcome.Confirmed || (prior == ReceiptOutcome.NotReceived && outcome == uint8(prior))) {
            revert LedgerReceiptExists(key.caseId, key.period, key.eventId);
        }
        if (outcome == uint8(ReceiptOutcome.Confirmed)) _confirm(key, id, e, source, noteDigest);
        else _openDispute(key, id, programmeId, source, noteDigest);
    }

    /// @dev Records a confirmation; closes the payout's dispute if it is open.
    function _confirm(
        IPayouts.PayoutKey memory key,
        bytes32 id,
        Entry storage e,
        ReceiptSource source,
        bytes32 noteDigest
    ) private {
        bool closes = e.dispute == DisputeStatus.Open;
        e.receipt = ReceiptOutcome.Confirmed;
        e.source = source;
        e.receivedAt = uint64(block.timestamp);
        if (closes) {
            e.dispute = DisputeStatus.Resolved;
            e.outcome = DisputeOutcome.ResolvedByBeneficiary;
            _openDisputes.remove(id);
        }
        emit ReceiptConfirmed(key.caseId, key.eventId, key.period, source, noteDigest);
        if (closes) {
            emit DisputeResolved(key.caseId, key.eventId, key.period, DisputeOutcome.ResolvedByBeneficiary, noteDigest);
        }
    }

    /// @dev Records a non-receipt and opens its dispute for the programme's dispute window.
    function _openDispute(
        IPayouts.PayoutKey memory key,
        bytes32 id,
        uint32 programmeId,
        ReceiptSource source,
        bytes32 noteDigest
    ) private {
        uint64 now_ = uint64(block.timestamp);
        uint64 deadline = now_ + _ledger.programme(programmeId).disputeWindow;
        _entries[id] = Entry({
            receipt: ReceiptOutcome.NotReceived,
            source: source,
            receivedAt: now_,
            dispute: DisputeStatus.Open,
            outcome: DisputeOutcome.None,
            openedAt: now_,
            responseDeadline: deadline,
            period: key.period
        });
        _disputed[id] = DisputedPayout(key.caseId, key.eventId);
        _openDisputes.add(id);
        emit DisputeOpened(key.caseId, key.eventId, key.period, deadline, noteDigest);
    }

    /// @dev Reverts unless the ledger holds a paid or settled payout under exactly `key`.
    function _requirePayout(IPayouts.PayoutKey memory key) private view {
        (IPayouts.PayoutStatus status, ) = _ledger.payoutStatus(key);
        if (status == IPayouts.PayoutStatus.None) revert LedgerPayoutNotFound(key.caseId, key.period, key.eventId);
    }

    function _hashReceipt(Receipt calldata r) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(_RECEIPT_TYPEHASH, r.caseId, r.period, r.eventId, r.outcome, r.noteDigest, r.deadline)
                )
            );
    }

    function _payoutId(IPayouts.PayoutKey memory key) private pure returns (bytes32) {
        return keccak256(abi.encode(key));
    }
}
