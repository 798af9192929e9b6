/**
 * The records check's fast path for one anchor (./records.ts): the store's leaves of the anchor read as raw rows
 * through a read-only SQLite connection of its own (store/sqlite-leaves.ts), each record's digest recomputed
 * (./record-digest.ts), and the Merkle root of the leaves rebuilt. It runs in a worker thread (./anchor-pool.ts) or,
 * with no workers, in the main thread; it only says whether the anchor is clean.
 *
 * Clean means: the leaves are 0 to rows − 1 with none missing, every record is there and gives its leaf (recomputed
 * digest, `digest` column and region as queued), and the leaves' root could be built. The records check accepts a
 * clean verdict when `rows` is the chain's record count, `root` the chain's root and the store's anchor row agrees with
 * the chain: then the full check of ./records.ts would report nothing for the anchor and count the same. Anything
 * else, and the full check runs on the anchor, so every exception is found and named by that one code.
 *
 * Rows stream one at a time (no page of envelopes is held); receipts are looked up per page of the full check (leaf
 * index order, `pageSize` rows) by the same query, so both see the same receipt for a receipt record.
 */
import { MerkleError, merkleRoot } from "../../../../lib/merkle";
import type { LeafReader, RawLeafRow } from "../../store/sqlite-leaves";
import type { ReceiptContent, ScannedRecord } from "../../store/tables/scan";
import { contentDigest } from "./record-digest";

export interface LeafJob {
  sequence: number;
  /** Rows per page, as the full check pages. */
  pageSize: number;
  /** The programme scope (null: every programme): leaves of other programmes are checked but not counted. */
  programmeId: number | null;
  /** The kind of receipt records (RECEIPT_RECORD_KIND). */
  receiptKind: string;
}

export interface LeafVerdict {
  sequence: number;
  /** Leaves the store has for the anchor. */
  rows: number;
  clean: boolean;
  /** The root of the leaves (null unless clean). */
  root: string | null;
  /** Leaves in scope (the summary's `anchored`) and records in scope recomputed (`checked`), when clean. */
  anchored: number;
  checked: number;
}

/** A record cell as the store's scans convert it; undefined if it is not of its column's type (not clean). */
function recordOf(row: RawLeafRow): ScannedRecord | undefined {
  const [, , , , id, kind, caseId, regionCode, schemaVersion, envelope, digest] = row;
  if (
    typeof id !== "string" ||
    typeof kind !== "string" ||
    typeof caseId !== "string" ||
    !Number.isSafeInteger(regionCode) ||
    !Number.isSafeInteger(schemaVersion) ||
    !Buffer.isBuffer(envelope) ||
    typeof digest !== "string"
  ) {
    return undefined;
  }
  return {
    id,
    kind,
    caseId,
    regionCode: regionCode as number,
    schemaVersion: schemaVersion as number,
    envelope,
    digest,
  };
}

/** A receipt record waiting for its page's receipts. */
interface ReceiptLeaf {
  recordId: string;
  record: ScannedRecord;
  leaf: string;
}

/**
 * Checks the leaves of one anchor (see the module comment), streaming its rows: yields after each page of
 * `pageSize` rows (the main thread lets other work run there), returns the verdict. Rows are checked as they come,
 * except receipt records, which wait for their page's receipts.
 */
export function* checkAnchorLeaves(reader: LeafReader, job: LeafJob): Generator<void, LeafVerdict, undefined> {
  const withProgramme = job.programmeId !== null;
  const leaves: string[] = [];
  let inScope = 0;
  let receiptLeaves: ReceiptLeaf[] = [];
  const dirty = (): LeafVerdict => ({
    sequence: job.sequence,
    rows: leaves.length,
    clean: false,
    root: null,
    anchored: 0,
    checked: 0,
  });
  /** Whether the page's receipt records give their leaves (the page's receipts, looked up as the full check does). */
  const receiptsHold = (): boolean => {
    if (receiptLeaves.length === 0) return true;
    const receipts = new Map<string, ReceiptContent>();
    const wanted = receiptLeaves.map((r) => ({ recordId: r.recordId, caseId: r.record.caseId }));
    for (const receipt of reader.receipts(wanted)) receipts.set(receipt.recordId, receipt);
    const hold = receiptLeaves.every(
      (r) => contentDigest(r.record, receipts.get(r.recordId), job.receiptKind) === r.leaf,
    );
    receiptLeaves = [];
    return hold;
  };
  for (const row of reader.leafRows(job.sequence, withProgramme)) {
    const record = recordOf(row);
    const [leafIndex, recordId, leaf, region] = row;
    // The full check would convert these cells (and throw on a value not of its type): here, not clean.
    const programme = withProgramme ? row[11] : null;
    if (
      leafIndex !== leaves.length ||
      record === undefined ||
      typeof recordId !== "string" ||
      typeof leaf !== "string" ||
      !Number.isSafeInteger(region) ||
      (programme !== null && !Number.isSafeInteger(programme)) ||
      record.digest !== leaf ||
      record.regionCode !== region
    ) {
      return dirty();
    }
    if (record.kind === job.receiptKind) receiptLeaves.push({ recordId, record, leaf });
    else if (contentDigest(record, undefined, job.receiptKind) !== leaf) return dirty();
    if (!withProgramme || programme === null || programme === job.programmeId) inScope += 1;
    leaves.push(leaf);
    if (leaves.length % job.pageSize === 0) {
      if (!receiptsHold()) return dirty();
      yield;
    }
  }
  if (!receiptsHold() || leaves.length === 0) return dirty();
  let root: string;
  try {
    root = merkleRoot(leaves);
  } catch (error) {
    if (error instanceof MerkleError) return dirty();
    throw error;
  }
  return { sequence: job.sequence, rows: leaves.length, clean: true, root, anchored: inScope, checked: inScope };
}

/** {@link checkAnchorLeaves} run to the end (in a worker thread). */
export function anchorLeavesVerdict(reader: LeafReader, job: LeafJob): LeafVerdict {
  const run = checkAnchorLeaves(reader, job);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
  }
}
