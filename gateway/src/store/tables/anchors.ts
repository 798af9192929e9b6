import type { Row } from "../driver";
import { StoreError, invariant } from "../errors";
import { toDate, toInt, toIntOrNull, toText, toTextOrNull } from "../rows";
import type { AnchorsData } from "../store";
import type { AnchorRow, AnchorStatus } from "../types";
import { checkHex32, checkInt, checkLimit, checkOneOf, checkText } from "../validate";
import type { DataContext } from "./context";

const COLUMNS = "sequence, root, record_count, region_code, status, tx_hash, block_number, created_at, updated_at";
const STATUSES: readonly AnchorStatus[] = ["submitted", "confirmed"];

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

export function anchorsData(ctx: DataContext): AnchorsData {
  async function getAnchor(sequence: number): Promise<AnchorRow | undefined> {
    const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM anchors WHERE sequence = ?`, [
      checkInt(sequence, "sequence"),
    ]);
    return rows.length === 0 ? undefined : toAnchor(rows[0]);
  }

  async function requireAnchor(sequence: number): Promise<AnchorRow> {
    const anchor = await getAnchor(sequence);
    if (anchor === undefined) throw new StoreError("NOT_FOUND", `no anchor ${sequence}`);
    return anchor;
  }

  return {
    getAnchor,

    async beginAnchor(anchor) {
      const sequence = checkInt(anchor.sequence, "sequence");
      const root = checkHex32(anchor.root, "root");
      const regionCode = checkInt(anchor.regionCode, "regionCode");
      const ids = anchor.recordIds;
      invariant(Array.isArray(ids) && ids.length > 0, "INVALID_ARGUMENT", "recordIds must be a non-empty array");
      invariant(new Set(ids).size === ids.length, "INVALID_ARGUMENT", "recordIds must not repeat");
      const now = ctx.now();
      await ctx.db.run(`INSERT INTO anchors (${COLUMNS}) VALUES (?, ?, ?, ?, 'submitted', NULL, NULL, ?, ?)`, [
        sequence,
        root,
        ids.length,
        regionCode,
        now,
        now,
      ]);
      for (let leaf = 0; leaf < ids.length; leaf++) {
        const changed = await ctx.db.run(
          "UPDATE outbox SET anchor_sequence = ?, leaf_index = ? WHERE record_id = ? AND status = 'pending' " +
            "AND anchor_sequence IS NULL AND region_code = ?",
          [sequence, leaf, checkText(ids[leaf], "record id"), regionCode],
        );
        if (changed !== 1) {
          throw new StoreError("CONFLICT", `leaf ${leaf} of anchor ${sequence} is not a pending entry of its region`);
        }
      }
      return {
        sequence,
        root,
        recordCount: ids.length,
        regionCode,
        status: "submitted",
        txHash: null,
        blockNumber: null,
        createdAt: new Date(now),
        updatedAt: new Date(now),
      };
    },

    async setAnchorTransaction(sequence, txHash) {
      const rows = await ctx.db.all(
        `UPDATE anchors SET tx_hash = ?, updated_at = ? WHERE sequence = ? AND status = 'submitted' RETURNING ${COLUMNS}`,
        [checkHex32(txHash, "txHash"), ctx.now(), checkInt(sequence, "sequence")],
      );
      if (rows.length === 0) {
        await requireAnchor(sequence);
        throw new StoreError("CONFLICT", `anchor ${sequence} is confirmed already`);
      }
      return toAnchor(rows[0]);
    },

    async confirmAnchor(sequence, at) {
      const txHash = checkHex32(at.txHash, "txHash");
      const blockNumber = checkInt(at.blockNumber, "blockNumber");
      const anchor = await requireAnchor(sequence);
      if (anchor.status === "confirmed") {
        if (anchor.txHash === txHash && anchor.blockNumber === blockNumber) return 0;
        throw new StoreError("CONFLICT", `anchor ${sequence} is confirmed with another transaction`);
      }
      const now = ctx.now();
      const confirmed = await ctx.db.run(
        "UPDATE anchors SET status = 'confirmed', tx_hash = ?, block_number = ?, updated_at = ? " +
          "WHERE sequence = ? AND status = 'submitted'",
        [txHash, blockNumber, now, sequence],
      );
      if (confirmed !== 1) throw new StoreError("CONFLICT", `anchor ${sequence} changed while being confirmed`);
      const marked = await ctx.db.run(
        "UPDATE outbox SET status = 'anchored', tx_hash = ?, block_number = ?, anchored_at = ? " +
          "WHERE anchor_sequence = ? AND status = 'pending'",
        [txHash, blockNumber, now, sequence],
      );
      if (marked !== anchor.recordCount) {
        throw new StoreError("CONFLICT", `anchor ${sequence} has ${anchor.recordCount} leaves but ${marked} pending`);
      }
      return marked;
    },

    async abandonAnchor(sequence) {
      await requireAnchor(sequence);
      const released = await ctx.db.run(
        "UPDATE outbox SET status = 'pending', anchor_sequence = NULL, leaf_index = NULL, tx_hash = NULL, " +
          "block_number = NULL, anchored_at = NULL, next_attempt_at = ? WHERE anchor_sequence = ?",
        [ctx.now(), sequence],
      );
      await ctx.db.run("DELETE FROM anchors WHERE sequence = ?", [sequence]);
      return released;
    },

    async listAnchors(filter = {}) {
      const limit = checkLimit(filter.limit);
      const rows =
        filter.status === undefined
          ? await ctx.db.all(`SELECT ${COLUMNS} FROM anchors ORDER BY sequence LIMIT ?`, [limit])
          : await ctx.db.all(`SELECT ${COLUMNS} FROM anchors WHERE status = ? ORDER BY sequence LIMIT ?`, [
              checkOneOf(filter.status, STATUSES, "status"),
              limit,
            ]);
      return rows.map(toAnchor);
    },
  };
}
