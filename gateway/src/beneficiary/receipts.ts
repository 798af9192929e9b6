/**
 * Issuing beneficiaries' receipts (回執): when a signed-in beneficiary confirms a payment, or reports that it did not
 * arrive, the gateway
 *
 * 1. builds the `relief-receipt-v1` body (ids, amount, outcome, the keyed digest of the note; receipts/receipt.ts)
 *    and signs it with its SM2 key;
 * 2. in one transaction stores a sealed record of kind `receipt` (the canonical receipt and signature, granted to
 *    the beneficiaries' holder and the region's approvers) whose digest is the receipt digest
 *    `receiptDigest(canonical, signature)` rather than the sealing digest, so that the anchored leaf is what a
 *    bundle's verifier recomputes; queues it for anchoring; stores the receipt row; and logs it;
 * 3. attests it on chain (`attestReceipt` by the gateway's anchorer, evidence = the receipt digest): a confirmation
 *    emits `ReceiptConfirmed`, a non-receipt opens a dispute;
 * 4. notes the attestation's transaction.
 *
 * One receipt per payout: a replayed confirmation returns the stored receipt (and retries an attestation that did
 * not reach the chain). The receipt record's envelope does not match its digest by design: it is verified through
 * the receipt row (audit/verification.ts), not opened with `openRecord`.
 */
import { getAddress } from "ethers";
import { DisputeStatus, ReceiptOutcome } from "../../../lib/receipts";
import { PayoutStatus } from "../../../lib/roles";
import { approverHolders } from "../audit/decrypt";
import { RECEIPT_RECORD_KIND, anchorChain } from "../audit/verification";
import { ProofError, proofOf } from "../anchoring";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { keyDigest } from "../crypto";
import { ApiError } from "../http/errors";
import { LedgerError, LedgerUnavailableError } from "../ledger";
import { type ReceiptBundle, receiptBundle } from "../receipts/bundle";
import { type ReceiptBody, RECEIPT_FORMAT, receiptDigest, signReceipt } from "../receipts/receipt";
import { type Grant, sealRecord } from "../records";
import { type FieldClass, type ReceiptRow, type ReceiptRowOutcome, StoreError } from "../store";
import type { OwnedPayout } from "./payments";

/** The access label of the approvers' keys to a receipt record. */
const APPROVER_RECEIPT_CLASS: FieldClass = "payment";

export interface IssuedReceipt {
  payoutId: string;
  outcome: ReceiptRowOutcome;
  receipt: { canonical: string; signature: string };
  recordId: string;
  txHash: string | null;
  /** False when this call returned a receipt issued before. */
  created: boolean;
}

function issued(row: ReceiptRow, created: boolean): IssuedReceipt {
  return {
    payoutId: row.payoutId,
    outcome: row.outcome,
    receipt: { canonical: row.receiptJson, signature: row.signature },
    recordId: row.recordId,
    txHash: row.txHash,
    created,
  };
}

/** `YYYY-MM-DDThh:mm:ssZ`. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const ON_CHAIN: Record<ReceiptRowOutcome, ReceiptOutcome.Confirmed | ReceiptOutcome.NotReceived> = {
  confirmed: ReceiptOutcome.Confirmed,
  "not-received": ReceiptOutcome.NotReceived,
};

/** Attests a stored receipt on chain and notes the transaction; leaves it unattested if the chain is unreachable. */
async function attest(ctx: GatewayContext, owned: OwnedPayout, row: ReceiptRow): Promise<ReceiptRow> {
  const onChain = await ctx.ledger.receiptOf(owned.key);
  const wanted = ON_CHAIN[row.outcome];
  // Attested already (an earlier call's transaction was mined, but its hash was not noted).
  if (onChain.outcome === ReceiptOutcome.Confirmed || onChain.outcome === wanted) return row;
  try {
    const tx = await ctx.ledger.attestReceipt(GATEWAY_ACTORS.anchorer, {
      key: owned.key,
      outcome: wanted,
      evidenceDigest: receiptDigest(row.receiptJson, row.signature),
    });
    const updated = await ctx.store.setReceiptTransaction(row.payoutId, tx.txHash);
    await ctx.store.appendAudit({
      actor: GATEWAY_ACTORS.anchorer,
      action: "receipt.attested",
      target: row.payoutId,
      details: { outcome: row.outcome, recordId: row.recordId, txHash: tx.txHash },
    });
    return updated;
  } catch (error) {
    // A concurrent replay attested it first: the chain holds this receipt.
    if (error instanceof LedgerError && error.code === "LedgerReceiptExists") {
      return (await ctx.store.getReceipt(row.payoutId)) ?? row;
    }
    if (!(error instanceof LedgerUnavailableError)) throw error;
    ctx.log.warn({ errName: error.name, payoutId: row.payoutId }, "receipt attestation deferred: chain unreachable");
    return row;
  }
}

/**
 * Issues the receipt of `owned` with `outcome` (and the beneficiary's note for a non-receipt), or returns the one
 * issued before. CONFLICT if the payout is not paid, or already has a receipt of another outcome.
 */
export async function issueReceipt(
  ctx: GatewayContext,
  actor: string,
  owned: OwnedPayout,
  outcome: ReceiptRowOutcome,
  note?: string,
): Promise<IssuedReceipt> {
  const existing = await ctx.store.getReceipt(owned.payoutId);
  if (existing) {
    if (existing.outcome !== outcome) {
      throw new ApiError("CONFLICT", `this payout already has a receipt (${existing.outcome})`);
    }
    return issued(existing.txHash === null ? await attest(ctx, owned, existing) : existing, false);
  }
  if (owned.state.status !== PayoutStatus.Paid && owned.state.status !== PayoutStatus.Settled) {
    throw new ApiError("CONFLICT", "this payout is not paid (or its payment failed)");
  }
  const [onChain, dispute] = await Promise.all([ctx.ledger.receiptOf(owned.key), ctx.ledger.disputeOf(owned.key)]);
  if (
    onChain.outcome === ReceiptOutcome.Confirmed ||
    (outcome === "not-received" && dispute.status !== DisputeStatus.None)
  ) {
    throw new ApiError("CONFLICT", "the chain already holds this beneficiary's answer for this payout");
  }

  const body: ReceiptBody = {
    format: RECEIPT_FORMAT,
    chainId: String(ctx.deployment.chainId),
    receiptBook: getAddress(ctx.deployment.addresses.receipts),
    payoutId: owned.payoutId,
    caseId: owned.key.caseId,
    period: owned.key.period,
    eventId: owned.key.eventId,
    programmeId: owned.kase.programmeId,
    amountFen: String(owned.state.amount),
    outcome,
    noteDigest: note === undefined ? null : ctx.keyring.digestSecret("note", note),
    issuedAt: isoSeconds(ctx.now()),
    gatewayKeyDigest: keyDigest(ctx.keyring.signingPublicKeyPem),
  };
  const signed = signReceipt(ctx.keyring.signingKey, body);
  const digest = receiptDigest(signed.canonical, signed.signature);

  let row: ReceiptRow;
  try {
    row = await ctx.store.transaction(async (tx) => {
      const holders = await approverHolders(ctx, owned.kase.regionCode, tx);
      const grants: Grant[] = [
        { holderId: GATEWAY_ACTORS.beneficiaries, fieldClass: "beneficiary" },
        ...holders.map((holderId): Grant => ({ holderId, fieldClass: APPROVER_RECEIPT_CLASS })),
      ];
      const sealed = await sealRecord(
        ctx.keyring,
        { kind: RECEIPT_RECORD_KIND, caseId: owned.kase.caseId, regionCode: owned.kase.regionCode, schemaVersion: 1 },
        { canonical: signed.canonical, signature: signed.signature },
        grants,
        tx,
      );
      // The anchored digest is the receipt digest, which a bundle's verifier recomputes from the receipt alone.
      const record = await tx.insertRecord({ ...sealed.record, digest });
      await tx.putRecordKeys(sealed.keys);
      await tx.enqueueAnchor(record.id);
      const stored = await tx.putReceipt({
        payoutId: owned.payoutId,
        caseId: owned.kase.caseId,
        outcome,
        recordId: record.id,
        receiptJson: signed.canonical,
        signature: signed.signature,
        txHash: null,
      });
      await tx.appendAudit({
        actor,
        action: outcome === "confirmed" ? "receipt.confirmed" : "receipt.not-received",
        target: owned.payoutId,
        reason: note ?? null,
        details: { recordId: record.id, receiptDigest: digest },
      });
      return stored;
    });
  } catch (error) {
    // A concurrent call stored this payout's receipt first: answer with it.
    if (error instanceof StoreError && error.code === "CONFLICT") {
      const raced = await ctx.store.getReceipt(owned.payoutId);
      if (raced && raced.outcome === outcome) return issued(raced, false);
    }
    throw error;
  }
  return issued(await attest(ctx, owned, row), true);
}

/** The bundle of a stored receipt, with the proof of its record once anchored. */
export async function bundleOf(
  ctx: GatewayContext,
  row: ReceiptRow,
): Promise<{ bundle: ReceiptBundle; anchored: boolean }> {
  let proof = null;
  try {
    proof = await proofOf(ctx.store, row.recordId, anchorChain(ctx));
  } catch (error) {
    if (!(error instanceof ProofError) || error.code === "INCONSISTENT") throw error;
  }
  const bundle = receiptBundle(
    { canonical: row.receiptJson, signature: row.signature },
    ctx.keyring.signingPublicKeyPem,
    proof,
  );
  return { bundle, anchored: proof !== null };
}
