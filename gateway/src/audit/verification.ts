/**
 * Record verification (核驗): recomputes a stored record's digest, finds its anchor, rebuilds its inclusion proof and
 * checks it offline and against the chain. The verdict is
 *
 * - `tampered` when the record no longer matches its digest, or the anchored leaf is not its digest, or an anchored
 *   proof fails offline or on chain;
 * - `pending-anchor` when the record matches its digest but its batch is not anchored (yet);
 * - `verified` when the record matches its digest and the chain holds that digest as a leaf of an anchor.
 *
 * Receipt records (kind `receipt`) carry the receipt digest `receiptDigest(canonical, signature)` instead of the
 * sealing digest (beneficiary/receipts.ts): for them the digest is recomputed from the stored receipt and its
 * signature, which must verify under the gateway's key.
 */
import { type AnchorChain, ProofError, type RecordProof, proofOf, verifyProof, verifyProofOnChain } from "../anchoring";
import type { GatewayContext } from "../context";
import { ReceiptError, receiptDigest, verifyReceiptSignature } from "../receipts/receipt";
import { digestMatches } from "../records";
import type { StoredRecord } from "../store";

export type Verdict = "verified" | "pending-anchor" | "tampered";

export interface RecordVerification {
  recordId: string;
  kind: string;
  caseId: string;
  regionCode: number;
  digest: string;
  digestMatches: boolean;
  anchored: boolean;
  proof: RecordProof | null;
  verifiedOffline: boolean | null;
  verifiedOnChain: boolean | null;
  verdict: Verdict;
}

/** The record kind whose digest is the receipt digest (written by beneficiary/receipts.ts). */
export const RECEIPT_RECORD_KIND = "receipt";

/** The anchors' chain and contract of this deployment, for proofs. */
export function anchorChain(ctx: GatewayContext): AnchorChain {
  return { chainId: ctx.deployment.chainId, contract: ctx.deployment.addresses.anchors };
}

/** Whether a receipt record's digest is the digest of the stored receipt, signed by the gateway's key. */
async function receiptRecordMatches(ctx: GatewayContext, record: StoredRecord): Promise<boolean> {
  const receipts = await ctx.store.listReceipts({ caseId: record.caseId });
  const receipt = receipts.find((r) => r.recordId === record.id);
  if (!receipt) return false;
  if (!verifyReceiptSignature(ctx.keyring.signingPublicKeyPem, receipt.receiptJson, receipt.signature)) return false;
  try {
    return receiptDigest(receipt.receiptJson, receipt.signature) === record.digest;
  } catch (error) {
    if (error instanceof ReceiptError) return false;
    throw error;
  }
}

/** Whether the record still matches its (anchored) digest. */
export async function recordMatches(ctx: GatewayContext, record: StoredRecord): Promise<boolean> {
  if (record.kind === RECEIPT_RECORD_KIND) return receiptRecordMatches(ctx, record);
  return digestMatches(record);
}

/** Verifies a stored record against its digest, its anchor and the chain (read-only). */
export async function verifyRecord(ctx: GatewayContext, record: StoredRecord): Promise<RecordVerification> {
  const matches = await recordMatches(ctx, record);
  let proof: RecordProof | null = null;
  let inconsistent = false;
  try {
    proof = await proofOf(ctx.store, record.id, anchorChain(ctx));
  } catch (error) {
    if (!(error instanceof ProofError)) throw error;
    // The store's anchor no longer gives its root from its leaves: someone edited the outbox or the anchors.
    if (error.code === "INCONSISTENT") inconsistent = true;
  }
  const anchored = proof !== null || inconsistent;
  let verifiedOffline: boolean | null = null;
  let verifiedOnChain: boolean | null = null;
  if (proof) {
    verifiedOffline = verifyProof(proof) && proof.recordDigest === record.digest;
    verifiedOnChain = verifiedOffline && (await verifyProofOnChain(ctx.ledger, proof));
  } else if (inconsistent) {
    verifiedOffline = false;
    verifiedOnChain = false;
  }
  let verdict: Verdict;
  if (!matches || verifiedOffline === false || verifiedOnChain === false) verdict = "tampered";
  else if (!anchored) verdict = "pending-anchor";
  else verdict = "verified";
  return {
    recordId: record.id,
    kind: record.kind,
    caseId: record.caseId,
    regionCode: record.regionCode,
    digest: record.digest,
    digestMatches: matches,
    anchored,
    proof,
    verifiedOffline,
    verifiedOnChain,
    verdict,
  };
}
