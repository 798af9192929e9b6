/**
 * Read-only paged scans for the audit sweep (gateway/src/audit/sweep/records.ts): every row it needs, in an order it
 * can stream, a page of at most {@link MAX_SCAN_PAGE} rows at a time, never the whole table.
 *
 * - anchored leaves: outbox entries in an anchor with their record (if it still exists) and their case's programme,
 *   by (anchor sequence, leaf index), paged by that pair;
 * - queued entries: outbox entries in no anchor, by queue position;
 * - unqueued records: records with no outbox entry at all, by id;
 * - anchors by sequence;
 * - the canonical text and signature of receipt records' receipts.
 *
 * The scans read what the database holds, as it is: they validate their arguments, never the rows (the sweep is
 * there to find rows that are wrong). Records are LEFT JOINed, so a leaf whose record was deleted comes back with
 * `record: null`.
 */
import type { Row, SqlValue } from "../driver";
import { invariant } from "../errors";
import { toBuffer, toDate, toInt, toIntOrNull, toText, toTextOrNull } from "../rows";
import type { ScanData } from "../store";
import type { AnchorRow, AnchorStatus, OutboxStatus } from "../types";
import { checkInt, checkText } from "../validate";
import type { DataContext } from "./context";
import { withinRegionCondition } from "./regions";
import { Where } from "./where";

/** Most rows one scan call returns (and its default page size). */
export const MAX_SCAN_PAGE = 5_000;

/** A record's row as a scan reads it: the header fields, the envelope and the stored digest. */
export interface ScannedRecord {
  id: string;
  kind: string;
  caseId: string;
  regionCode: number;
  schemaVersion: number;
  envelope: Buffer;
  /** The `digest` column of the record row (not necessarily the one that was queued or anchored). */
  digest: string;
}

/** An outbox entry with its record and its case's programme. */
export interface ScannedEntry {
  /** Queue position. */
  position: number;
  recordId: string;
  /** The digest the entry queued (and, once in an anchor, the leaf the store believes was anchored). */
  digest: string;
  regionCode: number;
  status: OutboxStatus;
  enqueuedAt: Date;
  /** Null while queued (in no anchor). */
  anchorSequence: number | null;
  leafIndex: number | null;
  txHash: string | null;
  blockNumber: number | null;
  /** The record row, or null if there is none with the entry's record id. */
  record: ScannedRecord | null;
  /** The programme of the record's case in the case index; null if the record or its case is not there. */
  programmeId: number | null;
}

/** A record with no outbox entry: its header and its case's programme (no envelope). */
export interface UnqueuedRecord {
  id: string;
  kind: string;
  caseId: string;
  regionCode: number;
  programmeId: number | null;
}

/** A receipt record's receipt: what its digest is recomputed from. */
export interface ReceiptContent {
  recordId: string;
  caseId: string;
  canonical: string;
  signature: string;
}

/** A position in the anchored leaves: the scan returns the leaves after it. */
export interface LeafCursor {
  sequence: number;
  leafIndex: number;
}

function checkPage(limit: unknown): number {
  if (limit === undefined) return MAX_SCAN_PAGE;
  invariant(
    Number.isSafeInteger(limit) && (limit as number) >= 1 && (limit as number) <= MAX_SCAN_PAGE,
    "INVALID_ARGUMENT",
    `limit must be an integer from 1 to ${MAX_SCAN_PAGE}`,
  );
  return limit as number;
}

const ENTRY_COLUMNS =
  "o.queue_position, o.record_id, o.digest, o.region_code, o.status, o.enqueued_at, o.anchor_sequence, " +
  "o.leaf_index, o.tx_hash, o.block_number, r.id AS r_id, r.kind AS r_kind, r.case_id AS r_case_id, " +
  "r.region_code AS r_region_code, r.schema_version AS r_schema_version, r.envelope AS r_envelope, " +
  "r.digest AS r_digest, c.programme_id";

/**
 * The joins of an entry scan. PostgreSQL: `cases.case_id` is collated "C" and `records.case_id` is not, so the
 * comparison names its collation (two different implicit collations cannot be compared).
 */
function entryJoins(ctx: DataContext, outboxIndex = ""): string {
  const collate = ctx.db.dialect === "postgres" ? ' COLLATE "C"' : "";
  return (
    `FROM outbox o ${outboxIndex}LEFT JOIN records r ON r.id = o.record_id ` +
    `LEFT JOIN cases c ON c.case_id = r.case_id${collate} `
  );
}

function toEntry(row: Row): ScannedEntry {
  const record: ScannedRecord | null =
    row.r_id === null || row.r_id === undefined
      ? null
      : {
          id: toText(row.r_id),
          kind: toText(row.r_kind),
          caseId: toText(row.r_case_id),
          regionCode: toInt(row.r_region_code),
          schemaVersion: toInt(row.r_schema_version),
          envelope: toBuffer(row.r_envelope),
          digest: toText(row.r_digest),
        };
  return {
    position: toInt(row.queue_position),
    recordId: toText(row.record_id),
    digest: toText(row.digest),
    regionCode: toInt(row.region_code),
    status: toText(row.status) as OutboxStatus,
    enqueuedAt: toDate(row.enqueued_at),
    anchorSequence: toIntOrNull(row.anchor_sequence),
    leafIndex: toIntOrNull(row.leaf_index),
    txHash: toTextOrNull(row.tx_hash),
    blockNumber: toIntOrNull(row.block_number),
    record,
    programmeId: toIntOrNull(row.programme_id),
  };
}

const ANCHOR_COLUMNS =
  "sequence, root, record_count, region_code, status, tx_hash, block_number, created_at, updated_at";

function toAnchor(row: Row): AnchorRow {
  return {
    sequence: toInt(row.sequence),
    root: toText(row.root),
    recordCount: toInt(row.record_count),
    regionCode: toInt(row.region_code),
    status: toText(row.status) as AnchorStatus,
    txHash: toTextOrNull(row.tx_hash),
    blockNumber: toIntOrNull(row.block_number),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/**
 * The query of `receiptContents` (at most 5,000 records, at least one), shared with the sweep's own read-only
 * connections (../sqlite-leaves.ts) so that both find the same receipts.
 */
export function receiptContentsQuery(records: { recordId: string; caseId: string }[]): {
  sql: string;
  params: SqlValue[];
} {
  invariant(records.length <= MAX_SCAN_PAGE, "INVALID_ARGUMENT", `at most ${MAX_SCAN_PAGE} records at a time`);
  const ids = [...new Set(records.map((r, i) => checkText(r?.recordId, `records[${i}].recordId`)))];
  const cases = [...new Set(records.map((r, i) => checkText(r?.caseId, `records[${i}].caseId`)))];
  // By case first: receipts are indexed by case id (not by record id).
  return {
    sql:
      "SELECT record_id, case_id, receipt_json, signature FROM receipts " +
      `WHERE case_id IN (${cases.map(() => "?").join(", ")}) ` +
      `AND record_id IN (${ids.map(() => "?").join(", ")})`,
    params: [...cases, ...ids],
  };
}

/** A row of {@link receiptContentsQuery}. */
export function toReceiptContent(row: Row): ReceiptContent {
  return {
    recordId: toText(row.record_id),
    caseId: toText(row.case_id),
    canonical: toText(row.receipt_json),
    signature: toText(row.signature),
  };
}

export function scanData(ctx: DataContext): ScanData {
  return {
    async scanAnchoredLeaves(query = {}) {
      const where = new Where();
      where.add("o.anchor_sequence >= ?", checkInt(query.fromSequence ?? 0, "fromSequence"));
      if (query.throughSequence !== undefined) {
        where.add("o.anchor_sequence <= ?", checkInt(query.throughSequence, "throughSequence"));
      }
      if (query.after !== undefined) {
        invariant(typeof query.after === "object" && query.after !== null, "INVALID_ARGUMENT", "after is a cursor");
        const sequence = checkInt(query.after.sequence, "after.sequence");
        const leafIndex = checkInt(query.after.leafIndex, "after.leafIndex", -1);
        if (query.throughSequence === sequence) {
          // Inside one anchor (the sweep's pages): a plain range on the (anchor_sequence, leaf_index) index.
          where.add("o.anchor_sequence = ?", sequence).add("o.leaf_index > ?", leafIndex);
        } else {
          where.condition({ sql: "(o.anchor_sequence, o.leaf_index) > (?, ?)", params: [sequence, leafIndex] });
        }
      }
      const rows = await ctx.db.all(
        `SELECT ${ENTRY_COLUMNS} ${entryJoins(ctx)}${where.sql}ORDER BY o.anchor_sequence, o.leaf_index LIMIT ?`,
        [...where.params, checkPage(query.limit)],
      );
      return rows.map(toEntry);
    },

    async scanQueuedEntries(query = {}) {
      const where = new Where();
      // The claimable index's own condition, so the scan walks that (small) partial index.
      where.condition({ sql: "o.status = 'pending' AND o.anchor_sequence IS NULL", params: [] });
      if (query.afterPosition !== undefined) {
        where.add("o.queue_position > ?", checkInt(query.afterPosition, "afterPosition"));
      }
      if (query.withinRegion !== undefined) {
        where.condition(withinRegionCondition("o.region_code", checkInt(query.withinRegion, "withinRegion")));
      }
      // SQLite: name the claimable (partial) index, which is in queue order; the planner, without statistics, would
      // take the leaf index for `anchor_sequence IS NULL` and sort every queued entry for each page.
      const indexed = ctx.db.dialect === "sqlite" ? "INDEXED BY outbox_claimable_idx " : "";
      const rows = await ctx.db.all(
        `SELECT ${ENTRY_COLUMNS} ${entryJoins(ctx, indexed)}${where.sql}ORDER BY o.queue_position LIMIT ?`,
        [...where.params, checkPage(query.limit)],
      );
      return rows.map(toEntry);
    },

    async scanUnqueuedRecords(query = {}) {
      const where = new Where();
      where.condition({ sql: "o.record_id IS NULL", params: [] });
      if (query.afterId !== undefined) where.add("r.id > ?", checkText(query.afterId, "afterId"));
      if (query.withinRegion !== undefined) {
        where.condition(withinRegionCondition("r.region_code", checkInt(query.withinRegion, "withinRegion")));
      }
      const collate = ctx.db.dialect === "postgres" ? ' COLLATE "C"' : "";
      // Only columns stored before the envelope: SQLite then never reads a long envelope's overflow pages. Paged by id in
      // the column's own collation, which the cursor's `>` and the primary key's index share.
      const rows = await ctx.db.all(
        "SELECT r.id, r.kind, r.case_id, r.region_code, c.programme_id FROM records r " +
          "LEFT JOIN outbox o ON o.record_id = r.id " +
          `LEFT JOIN cases c ON c.case_id = r.case_id${collate} ` +
          `${where.sql}ORDER BY r.id LIMIT ?`,
        [...where.params, checkPage(query.limit)],
      );
      return rows.map((row) => ({
        id: toText(row.id),
        kind: toText(row.kind),
        caseId: toText(row.case_id),
        regionCode: toInt(row.region_code),
        programmeId: toIntOrNull(row.programme_id),
      }));
    },

    async scanAnchors(query = {}) {
      const params: SqlValue[] = [];
      let clause = "";
      if (query.afterSequence !== undefined) {
        clause = "WHERE sequence > ? ";
        params.push(checkInt(query.afterSequence, "afterSequence", -1));
      }
      const rows = await ctx.db.all(`SELECT ${ANCHOR_COLUMNS} FROM anchors ${clause}ORDER BY sequence LIMIT ?`, [
        ...params,
        checkPage(query.limit),
      ]);
      return rows.map(toAnchor);
    },

    async receiptContents(records) {
      invariant(Array.isArray(records), "INVALID_ARGUMENT", "records must be an array");
      if (records.length === 0) return [];
      const query = receiptContentsQuery(records);
      return (await ctx.db.all(query.sql, query.params)).map(toReceiptContent);
    },
  };
}
