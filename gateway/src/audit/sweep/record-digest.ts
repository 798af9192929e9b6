/**
 * The digest a stored record gives, recomputed as the records check does it (here, so that the check in the main
 * thread and the anchor checks in worker threads share one definition): the sealing digest of its header and envelope
 * (records/sealing.ts), or for a receipt record the digest of its receipt (receipts/receipt.ts). Null when the record
 * cannot give one (a malformed header, a receipt record without a well-formed receipt). Its imports are kept to the
 * modules that compute digests: worker threads load this file.
 */
import { ReceiptError, receiptDigest } from "../../receipts/receipt";
import { RecordError } from "../../records/errors";
import { type RecordHeader, recordDigest } from "../../records/sealing";
import type { ReceiptContent, ScannedRecord } from "../../store/tables/scan";

export function sealedDigest(header: RecordHeader, envelope: Buffer): string | null {
  try {
    return recordDigest(header, envelope);
  } catch (error) {
    if (error instanceof RecordError) return null;
    throw error;
  }
}

export function receiptContentDigest(receipt: ReceiptContent | undefined): string | null {
  if (receipt === undefined) return null;
  try {
    return receiptDigest(receipt.canonical, receipt.signature);
  } catch (error) {
    if (error instanceof ReceiptError) return null;
    throw error;
  }
}

export function headerOf(record: ScannedRecord): RecordHeader {
  return {
    id: record.id,
    kind: record.kind,
    caseId: record.caseId,
    regionCode: record.regionCode,
    schemaVersion: record.schemaVersion,
  };
}

/**
 * The digest a stored record gives: the sealing digest, or for a receipt record (kind `receiptKind`, the audit's
 * RECEIPT_RECORD_KIND, passed in so that worker threads need not load the audit module) its receipt's digest.
 */
export function contentDigest(
  record: ScannedRecord,
  receipt: ReceiptContent | undefined,
  receiptKind: string,
): string | null {
  if (record.kind === receiptKind) return receiptContentDigest(receipt);
  return sealedDigest(headerOf(record), record.envelope);
}
