import type { Row, SqlValue } from "../driver";
import { StoreError, invariant } from "../errors";
import { toDate, toDateOrNull, toInt, toIntOrNull, toText, toTextOrNull } from "../rows";
import type { OutboxData } from "../store";
import type { OutboxEntry, OutboxStatus } from "../types";
import { checkDate, checkInt, checkText } from "../validate";
import { checkEach, inStatements } from "./batch";
import type { DataContext } from "./context";

export const OUTBOX_COLUMNS =
  "queue_position, record_id, digest, region_code, status, attempts, next_attempt_at, enqueued_at, " +
  "anchor_sequence, leaf_index, tx_hash, block_number, anchored_at";

/** Most entries one claim returns. */
export const MAX_CLAIM = 10_000;

export function toOutboxEntry(row: Row): OutboxEntry {
  return {
    position: toInt(row.queue_position),
    recordId: toText(row.record_id),
    digest: toText(row.digest),
    regionCode: toInt(row.region_code),
    status: toText(row.status) as OutboxStatus,
    attempts: toInt(row.attempts),
    nextAttemptAt: toDate(row.next_attempt_at),
    enqueuedAt: toDate(row.enqueued_at),
    anchorSequence: toIntOrNull(row.anchor_sequence),
    leafIndex: toIntOrNull(row.leaf_index),
    txHash: toTextOrNull(row.tx_hash),
    blockNumber: toIntOrNull(row.block_number),
    anchoredAt: toDateOrNull(row.anchored_at),
  };
}

function byPosition(a: OutboxEntry, b: OutboxEntry): number {
  return a.position - b.position;
}

export function outboxData(ctx: DataContext): OutboxData {
  return {
    async enqueueAnchor(recordId) {
      const now = ctx.now();
      // CASTs: PostgreSQL cannot infer the type of a parameter in a SELECT list.
      const rows = await ctx.db.all(
        "INSERT INTO outbox (record_id, digest, region_code, status, attempts, next_attempt_at, enqueued_at) " +
          "SELECT id, digest, region_code, 'pending', 0, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM records WHERE id = ? " +
          `RETURNING ${OUTBOX_COLUMNS}`,
        [now, now, checkText(recordId, "record id")],
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no record with this id to enqueue");
      return toOutboxEntry(rows[0]);
    },

    async enqueueAnchors(recordIds) {
      const ids = checkEach(recordIds, "recordIds", (id: string): SqlValue[] => [checkText(id, "record id")]);
      const now = ctx.now();
      // Entries take their queue positions in the order of `recordIds` (the SELECT's order); a missing record
      // yields no row, a repeated one two rows (CONFLICT on the outbox's unique record_id).
      const entries = await inStatements(ctx.db.dialect, ids, async (count, params) => {
        const values = Array.from({ length: count }, (_, i) => `(?, ${i})`).join(", ");
        const rows = await ctx.db.all(
          `WITH queued (id, ord) AS (VALUES ${values}) ` +
            "INSERT INTO outbox (record_id, digest, region_code, status, attempts, next_attempt_at, enqueued_at) " +
            "SELECT r.id, r.digest, r.region_code, 'pending', 0, CAST(? AS BIGINT), CAST(? AS BIGINT) " +
            `FROM queued JOIN records r ON r.id = queued.id ORDER BY queued.ord RETURNING ${OUTBOX_COLUMNS}`,
          [...params, now, now],
        );
        if (rows.length !== count) throw new StoreError("NOT_FOUND", "a record id to enqueue has no record");
        return rows.map(toOutboxEntry).sort(byPosition);
      });
      return entries;
    },

    async claimOutbox(options) {
      const limit = checkInt(options.limit, "limit", 1);
      invariant(limit <= MAX_CLAIM, "INVALID_ARGUMENT", `limit must be at most ${MAX_CLAIM}`);
      const leaseMs = checkInt(options.leaseMs, "leaseMs", 1);
      const now = ctx.now();
      const params: SqlValue[] = [now + leaseMs, now];
      let region = "";
      if (options.regionCode !== undefined) {
        region = " AND region_code = ?";
        params.push(checkInt(options.regionCode, "regionCode"));
      }
      params.push(limit);
      // PostgreSQL: concurrent claimers skip each other's rows instead of waiting for them, and re-check the WHERE
      // on rows committed meanwhile (a row just leased no longer matches). SQLite: the UPDATE holds the write lock.
      const lock = ctx.db.dialect === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
      const rows = await ctx.db.all(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE queue_position IN (" +
          "SELECT queue_position FROM outbox WHERE status = 'pending' AND anchor_sequence IS NULL " +
          `AND next_attempt_at <= ?${region} ORDER BY queue_position LIMIT ?${lock}) RETURNING ${OUTBOX_COLUMNS}`,
        params,
      );
      return rows.map(toOutboxEntry).sort(byPosition);
    },

    async rescheduleOutbox(recordIds, at) {
      invariant(Array.isArray(recordIds), "INVALID_ARGUMENT", "recordIds must be an array");
      const when = checkDate(at, "at");
      let changed = 0;
      for (const id of recordIds) {
        changed += await ctx.db.run(
          "UPDATE outbox SET next_attempt_at = ? WHERE record_id = ? AND status = 'pending' AND anchor_sequence IS NULL",
          [when, checkText(id, "record id")],
        );
      }
      return changed;
    },

    async getAnchoringStatus(recordId) {
      const rows = await ctx.db.all(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE record_id = ?`, [
        checkText(recordId, "record id"),
      ]);
      return rows.length === 0 ? undefined : toOutboxEntry(rows[0]);
    },

    async listAnchorLeaves(sequence) {
      const rows = await ctx.db.all(
        `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE anchor_sequence = ? ORDER BY leaf_index`,
        [checkInt(sequence, "sequence")],
      );
      return rows.map(toOutboxEntry);
    },
  };
}
