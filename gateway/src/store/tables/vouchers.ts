import type { Row, SqlValue } from "../driver";
import { StoreError, invariant } from "../errors";
import type { CaseIndexRow } from "../gateway-types";
import { toDate, toDateOrNull, toInt, toIntOrNull, toText, toTextOrNull } from "../rows";
import { checkDate, checkHex32, checkInt, checkLimit, checkOneOf, checkText } from "../validate";
import {
  REDEMPTION_ROW_STATUSES,
  type RedemptionRow,
  type RedemptionRowStatus,
  VOUCHER_ROW_STATUSES,
  type VoucherCodeRow,
  type VoucherCodeStatus,
  type VoucherRow,
  type VoucherRowStatus,
  type VouchersData,
} from "../voucher-types";
import { toCase } from "./cases";
import type { DataContext } from "./context";
import { withinRegionCondition } from "./regions";
import { Where } from "./where";

const VOUCHER_COLUMNS =
  "voucher_id, programme_id, region_code, face_value, expires_at, status, tx_hash, block_number, created_at, updated_at";
const CODE_COLUMNS =
  "code_digest, voucher_id, pseudonym, max_amount, expires_at, status, redemption_id, created_at, used_at";
const REDEMPTION_COLUMNS =
  "redemption_id, code_digest, voucher_id, programme_id, region_code, provider_id, amount, invoice_digest, " +
  "presentation_digest, status, redemption_index, remaining, tx_hash, block_number, created_at, updated_at";
const CASE_COLUMNS =
  "c.case_id, c.programme_id, c.region_code, c.pseudonym, c.submitter, c.application_record_id, c.status, " +
  "c.created_at, c.updated_at";
/** Amounts are uint64 on chain. */
const MAX_AMOUNT = (1n << 64n) - 1n;

function checkAmount(value: unknown, name: string): string {
  invariant(
    typeof value === "bigint" && value >= 0n && value <= MAX_AMOUNT,
    "INVALID_ARGUMENT",
    `${name} must be a bigint from 0 to 2^64 - 1`,
  );
  return value.toString();
}

function toAmount(value: unknown): bigint {
  const text = toText(value);
  if (!/^[0-9]+$/.test(text)) throw new TypeError("an amount column held a value that is not a decimal integer");
  return BigInt(text);
}

function toVoucher(row: Row): VoucherRow {
  return {
    voucherId: toText(row.voucher_id),
    programmeId: toInt(row.programme_id),
    regionCode: toInt(row.region_code),
    faceValue: toAmount(row.face_value),
    expiresAt: toInt(row.expires_at),
    status: toText(row.status) as VoucherRowStatus,
    txHash: toText(row.tx_hash),
    blockNumber: toInt(row.block_number),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

function toCode(row: Row): VoucherCodeRow {
  return {
    codeDigest: toText(row.code_digest),
    voucherId: toText(row.voucher_id),
    pseudonym: toText(row.pseudonym),
    maxAmount: toAmount(row.max_amount),
    expiresAt: toDate(row.expires_at),
    status: toText(row.status) as VoucherCodeStatus,
    redemptionId: toTextOrNull(row.redemption_id),
    createdAt: toDate(row.created_at),
    usedAt: toDateOrNull(row.used_at),
  };
}

function toRedemption(row: Row): RedemptionRow {
  const remaining = toTextOrNull(row.remaining);
  return {
    redemptionId: toText(row.redemption_id),
    codeDigest: toText(row.code_digest),
    voucherId: toText(row.voucher_id),
    programmeId: toInt(row.programme_id),
    regionCode: toInt(row.region_code),
    providerId: toText(row.provider_id),
    amount: toAmount(row.amount),
    invoiceDigest: toText(row.invoice_digest),
    presentationDigest: toText(row.presentation_digest),
    status: toText(row.status) as RedemptionRowStatus,
    redemptionIndex: toIntOrNull(row.redemption_index),
    remaining: remaining === null ? null : toAmount(remaining),
    txHash: toTextOrNull(row.tx_hash),
    blockNumber: toIntOrNull(row.block_number),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

function one<T>(rows: Row[], to: (row: Row) => T, what: string): T {
  if (rows.length === 0) throw new StoreError("NOT_FOUND", `no such ${what}`);
  return to(rows[0]);
}

export function vouchersData(ctx: DataContext): VouchersData {
  return {
    async putVouchers(vouchers) {
      invariant(Array.isArray(vouchers), "INVALID_ARGUMENT", "vouchers must be an array");
      const now = ctx.now();
      let inserted = 0;
      for (const v of vouchers) {
        inserted += await ctx.db.run(
          `INSERT INTO vouchers (${VOUCHER_COLUMNS}) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?) ` +
            "ON CONFLICT (voucher_id) DO NOTHING",
          [
            checkHex32(v.voucherId, "voucherId"),
            checkInt(v.programmeId, "programmeId"),
            checkInt(v.regionCode, "regionCode"),
            checkAmount(v.faceValue, "faceValue"),
            checkInt(v.expiresAt, "expiresAt"),
            checkHex32(v.txHash, "txHash"),
            checkInt(v.blockNumber, "blockNumber"),
            now,
            now,
          ],
        );
      }
      return inserted;
    },

    async getVoucherRow(voucherId) {
      const rows = await ctx.db.all(`SELECT ${VOUCHER_COLUMNS} FROM vouchers WHERE voucher_id = ?`, [
        checkHex32(voucherId, "voucherId"),
      ]);
      return rows.length === 0 ? undefined : toVoucher(rows[0]);
    },

    async listVoucherRows(query = {}) {
      const where = new Where();
      if (query.programmeId !== undefined) where.add("programme_id = ?", checkInt(query.programmeId, "programmeId"));
      if (query.status !== undefined) where.add("status = ?", checkOneOf(query.status, VOUCHER_ROW_STATUSES, "status"));
      if (query.withinRegion !== undefined) {
        where.condition(withinRegionCondition("region_code", checkInt(query.withinRegion, "withinRegion")));
      }
      if (query.expiresBy !== undefined) where.add("expires_at <= ?", checkInt(query.expiresBy, "expiresBy"));
      if (query.afterVoucherId !== undefined) {
        where.add("voucher_id > ?", checkHex32(query.afterVoucherId, "afterVoucherId"));
      }
      const rows = await ctx.db.all(`SELECT ${VOUCHER_COLUMNS} FROM vouchers ${where.sql}ORDER BY voucher_id LIMIT ?`, [
        ...where.params,
        checkLimit(query.limit),
      ]);
      return rows.map(toVoucher);
    },

    async setVoucherStatus(voucherId, status) {
      const rows = await ctx.db.all(
        `UPDATE vouchers SET status = ?, updated_at = ? WHERE voucher_id = ? RETURNING ${VOUCHER_COLUMNS}`,
        [checkOneOf(status, VOUCHER_ROW_STATUSES, "status"), ctx.now(), checkHex32(voucherId, "voucherId")],
      );
      return one(rows, toVoucher, "voucher");
    },

    async listCasesWithoutVoucher(query) {
      const params: SqlValue[] = [checkInt(query.programmeId, "programmeId")];
      let after = "";
      if (query.afterCaseId !== undefined) {
        after = "AND c.case_id > ? ";
        params.push(checkHex32(query.afterCaseId, "afterCaseId"));
      }
      const rows = await ctx.db.all(
        `SELECT ${CASE_COLUMNS} FROM cases c WHERE c.programme_id = ? AND c.status IN ('approved', 'exiting') ${after}` +
          "AND NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.voucher_id = c.case_id) ORDER BY c.case_id LIMIT ?",
        [...params, checkLimit(query.limit)],
      );
      return rows.map((row): CaseIndexRow => toCase(row));
    },

    async putVoucherCode(code) {
      const voucherId = checkHex32(code.voucherId, "voucherId");
      const params: SqlValue[] = [
        checkHex32(code.codeDigest, "codeDigest"),
        voucherId,
        checkHex32(code.pseudonym, "pseudonym"),
        checkAmount(code.maxAmount, "maxAmount"),
        checkDate(code.expiresAt, "expiresAt"),
        ctx.now(),
      ];
      // A new code replaces the voucher's open ones (as a new presentation replaces the open one on chain).
      await ctx.db.run("UPDATE voucher_codes SET status = 'replaced' WHERE voucher_id = ? AND status = 'open'", [
        voucherId,
      ]);
      const rows = await ctx.db.all(
        `INSERT INTO voucher_codes (${CODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, 'open', NULL, ?, NULL) ` +
          `RETURNING ${CODE_COLUMNS}`,
        params,
      );
      return toCode(rows[0]);
    },

    async getVoucherCode(codeDigest) {
      const rows = await ctx.db.all(`SELECT ${CODE_COLUMNS} FROM voucher_codes WHERE code_digest = ?`, [
        checkHex32(codeDigest, "codeDigest"),
      ]);
      return rows.length === 0 ? undefined : toCode(rows[0]);
    },

    async useVoucherCode(codeDigest, redemptionId, at) {
      const changed = await ctx.db.run(
        "UPDATE voucher_codes SET status = 'used', redemption_id = ?, used_at = ? " +
          "WHERE code_digest = ? AND status = 'open' AND expires_at > ?",
        [
          checkText(redemptionId, "redemptionId", 128),
          ctx.now(),
          checkHex32(codeDigest, "codeDigest"),
          checkDate(at, "now"),
        ],
      );
      return changed === 1;
    },

    async undoRedemption(redemptionId) {
      const id = checkText(redemptionId, "redemptionId", 128);
      const rows = await ctx.db.all(
        "DELETE FROM voucher_redemptions WHERE redemption_id = ? AND status = 'pending' RETURNING code_digest",
        [id],
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no pending redemption with this id");
      await ctx.db.run(
        "UPDATE voucher_codes SET status = 'open', redemption_id = NULL, used_at = NULL " +
          "WHERE code_digest = ? AND redemption_id = ?",
        [toText(rows[0].code_digest), id],
      );
    },

    async putRedemption(r) {
      const now = ctx.now();
      const rows = await ctx.db.all(
        `INSERT INTO voucher_redemptions (${REDEMPTION_COLUMNS}) ` +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, NULL, NULL, ?, ?) " +
          `RETURNING ${REDEMPTION_COLUMNS}`,
        [
          checkText(r.redemptionId, "redemptionId", 128),
          checkHex32(r.codeDigest, "codeDigest"),
          checkHex32(r.voucherId, "voucherId"),
          checkInt(r.programmeId, "programmeId"),
          checkInt(r.regionCode, "regionCode"),
          checkText(r.providerId, "providerId", 64),
          checkAmount(r.amount, "amount"),
          checkHex32(r.invoiceDigest, "invoiceDigest"),
          checkHex32(r.presentationDigest, "presentationDigest"),
          now,
          now,
        ],
      );
      return toRedemption(rows[0]);
    },

    async getRedemption(redemptionId) {
      const rows = await ctx.db.all(`SELECT ${REDEMPTION_COLUMNS} FROM voucher_redemptions WHERE redemption_id = ?`, [
        checkText(redemptionId, "redemptionId", 128),
      ]);
      return rows.length === 0 ? undefined : toRedemption(rows[0]);
    },

    async getRedemptionByKey(voucherId, index) {
      const rows = await ctx.db.all(
        `SELECT ${REDEMPTION_COLUMNS} FROM voucher_redemptions WHERE voucher_id = ? AND redemption_index = ?`,
        [checkHex32(voucherId, "voucherId"), checkInt(index, "index")],
      );
      return rows.length === 0 ? undefined : toRedemption(rows[0]);
    },

    async listRedemptions(query = {}) {
      const where = new Where();
      if (query.providerId !== undefined) where.add("provider_id = ?", checkText(query.providerId, "providerId", 64));
      if (query.status !== undefined) {
        where.add("status = ?", checkOneOf(query.status, REDEMPTION_ROW_STATUSES, "status"));
      }
      if (query.programmeId !== undefined) where.add("programme_id = ?", checkInt(query.programmeId, "programmeId"));
      if (query.voucherId !== undefined) where.add("voucher_id = ?", checkHex32(query.voucherId, "voucherId"));
      if (query.withinRegion !== undefined) {
        where.condition(withinRegionCondition("region_code", checkInt(query.withinRegion, "withinRegion")));
      }
      if (query.updatedBefore !== undefined)
        where.add("updated_at < ?", checkDate(query.updatedBefore, "updatedBefore"));
      if (query.afterRedemptionId !== undefined) {
        where.add("redemption_id > ?", checkText(query.afterRedemptionId, "afterRedemptionId", 128));
      }
      const rows = await ctx.db.all(
        `SELECT ${REDEMPTION_COLUMNS} FROM voucher_redemptions ${where.sql}ORDER BY redemption_id LIMIT ?`,
        [...where.params, checkLimit(query.limit)],
      );
      return rows.map(toRedemption);
    },

    async updateRedemption(redemptionId, update) {
      const sets = ["status = ?", "updated_at = ?"];
      const params: SqlValue[] = [checkOneOf(update.status, REDEMPTION_ROW_STATUSES, "status"), ctx.now()];
      if (update.redemptionIndex !== undefined) {
        sets.push("redemption_index = ?");
        params.push(checkInt(update.redemptionIndex, "redemptionIndex"));
      }
      if (update.remaining !== undefined) {
        sets.push("remaining = ?");
        params.push(checkAmount(update.remaining, "remaining"));
      }
      if (update.txHash !== undefined) {
        sets.push("tx_hash = ?");
        params.push(checkHex32(update.txHash, "txHash"));
      }
      if (update.blockNumber !== undefined) {
        sets.push("block_number = ?");
        params.push(checkInt(update.blockNumber, "blockNumber"));
      }
      const rows = await ctx.db.all(
        `UPDATE voucher_redemptions SET ${sets.join(", ")} WHERE redemption_id = ? RETURNING ${REDEMPTION_COLUMNS}`,
        [...params, checkText(redemptionId, "redemptionId", 128)],
      );
      return one(rows, toRedemption, "redemption");
    },
  };
}
