import type { Row, SqlValue } from "../driver";
import { StoreError, invariant } from "../errors";
import {
  type NewPayout,
  type NewPayoutRun,
  PAYOUT_ROW_STATUSES,
  PAYOUT_RUN_KINDS,
  PAYOUT_RUN_STATUSES,
  type PayoutRow,
  type PayoutRowStatus,
  type PayoutRunRow,
  type PayoutRunStatus,
} from "../gateway-types";
import { toDate, toInt, toJson, toText, toTextOrNull } from "../rows";
import type { PayoutsData } from "../store";
import { checkHex32, checkInt, checkJson, checkLimit, checkOneOf, checkOptionalText, checkText } from "../validate";
import type { DataContext } from "./context";
import { withinRegionCondition } from "./regions";
import { Where } from "./where";

const RUN_COLUMNS =
  "run_id, actor, kind, programme_id, period, event_id, region_code, status, listed, paid, skipped, total, result, " +
  "error_code, created_at, updated_at";
const PAYOUT_COLUMNS =
  "payout_id, case_id, period, event_id, programme_id, region_code, amount, run_id, tx_hash, block_number, status, " +
  "bank_ref_digest, created_at, updated_at";
/** Largest run `result` JSON, in bytes. */
export const MAX_RUN_RESULT_BYTES = 65_536;
/** Payouts per INSERT statement of `putPayouts` (14 parameters each: well under both databases' limits). */
const PAYOUTS_PER_STATEMENT = 100;
/** Amounts are uint256 on chain. */
const MAX_AMOUNT = (1n << 256n) - 1n;

/** Integer fen from 0 to 2^256 - 1, as its decimal text. */
function checkAmount(value: unknown, name: string): string {
  invariant(
    typeof value === "bigint" && value >= 0n && value <= MAX_AMOUNT,
    "INVALID_ARGUMENT",
    `${name} must be a bigint from 0 to 2^256 - 1`,
  );
  return value.toString();
}

function toAmount(value: unknown): bigint {
  const text = toText(value);
  if (!/^[0-9]+$/.test(text)) throw new TypeError("an amount column held a value that is not a decimal integer");
  return BigInt(text);
}

function toRun(row: Row): PayoutRunRow {
  return {
    runId: toText(row.run_id),
    actor: toText(row.actor),
    kind: toText(row.kind) as NewPayoutRun["kind"],
    programmeId: toInt(row.programme_id),
    period: toInt(row.period),
    eventId: toText(row.event_id),
    regionCode: toInt(row.region_code),
    status: toText(row.status) as PayoutRunStatus,
    listed: toInt(row.listed),
    paid: toInt(row.paid),
    skipped: toInt(row.skipped),
    total: toAmount(row.total),
    result: toJson(row.result),
    errorCode: toTextOrNull(row.error_code),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

function toPayout(row: Row): PayoutRow {
  return {
    payoutId: toText(row.payout_id),
    caseId: toText(row.case_id),
    period: toInt(row.period),
    eventId: toText(row.event_id),
    programmeId: toInt(row.programme_id),
    regionCode: toInt(row.region_code),
    amount: toAmount(row.amount),
    runId: toTextOrNull(row.run_id),
    txHash: toText(row.tx_hash),
    blockNumber: toInt(row.block_number),
    status: toText(row.status) as PayoutRowStatus,
    bankRefDigest: toTextOrNull(row.bank_ref_digest),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** The parameters of one payout row (status `paid`, no bank reference), in PAYOUT_COLUMNS order. */
function payoutParams(payout: NewPayout, now: number): SqlValue[] {
  return [
    checkText(payout.payoutId, "payoutId"),
    checkHex32(payout.caseId, "caseId"),
    checkInt(payout.period, "period"),
    checkHex32(payout.eventId, "eventId"),
    checkInt(payout.programmeId, "programmeId"),
    checkInt(payout.regionCode, "regionCode"),
    checkAmount(payout.amount, "amount"),
    payout.runId === null ? null : checkText(payout.runId, "runId"),
    checkHex32(payout.txHash, "txHash"),
    checkInt(payout.blockNumber, "blockNumber"),
    "paid",
    null,
    now,
    now,
  ];
}

export function payoutsData(ctx: DataContext): PayoutsData {
  return {
    async putPayoutRun(run) {
      const now = ctx.now();
      const rows = await ctx.db.all(
        `INSERT INTO payout_runs (${RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, 0, '0', NULL, NULL, ?, ?) ` +
          `RETURNING ${RUN_COLUMNS}`,
        [
          checkText(run.runId, "runId"),
          checkText(run.actor, "actor", 64),
          checkOneOf(run.kind, PAYOUT_RUN_KINDS, "kind"),
          checkInt(run.programmeId, "programmeId"),
          checkInt(run.period, "period"),
          checkHex32(run.eventId, "eventId"),
          checkInt(run.regionCode, "regionCode"),
          now,
          now,
        ],
      );
      return toRun(rows[0]);
    },

    async getPayoutRun(runId) {
      const rows = await ctx.db.all(`SELECT ${RUN_COLUMNS} FROM payout_runs WHERE run_id = ?`, [
        checkText(runId, "runId"),
      ]);
      return rows.length === 0 ? undefined : toRun(rows[0]);
    },

    async listPayoutRuns(filter = {}) {
      const limit = checkLimit(filter.limit);
      const rows =
        filter.status === undefined
          ? await ctx.db.all(`SELECT ${RUN_COLUMNS} FROM payout_runs ORDER BY created_at DESC, run_id LIMIT ?`, [limit])
          : await ctx.db.all(
              `SELECT ${RUN_COLUMNS} FROM payout_runs WHERE status = ? ORDER BY created_at DESC, run_id LIMIT ?`,
              [checkOneOf(filter.status, PAYOUT_RUN_STATUSES, "status"), limit],
            );
      return rows.map(toRun);
    },

    async updatePayoutRun(runId, update) {
      const sets = ["status = ?"];
      const params: SqlValue[] = [checkOneOf(update.status, PAYOUT_RUN_STATUSES, "status")];
      const set = (column: string, value: SqlValue) => {
        sets.push(`${column} = ?`);
        params.push(value);
      };
      if (update.listed !== undefined) set("listed", checkInt(update.listed, "listed"));
      if (update.paid !== undefined) set("paid", checkInt(update.paid, "paid"));
      if (update.skipped !== undefined) set("skipped", checkInt(update.skipped, "skipped"));
      if (update.total !== undefined) set("total", checkAmount(update.total, "total"));
      if (update.result !== undefined) set("result", checkJson(update.result, "result", MAX_RUN_RESULT_BYTES));
      if (update.errorCode !== undefined) set("error_code", checkOptionalText(update.errorCode, "errorCode", 100));
      set("updated_at", ctx.now());
      params.push(checkText(runId, "runId"));
      const rows = await ctx.db.all(
        `UPDATE payout_runs SET ${sets.join(", ")} WHERE run_id = ? RETURNING ${RUN_COLUMNS}`,
        params,
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no such payout run");
      return toRun(rows[0]);
    },

    async putPayouts(payouts) {
      invariant(Array.isArray(payouts), "INVALID_ARGUMENT", "payouts must be an array");
      const now = ctx.now();
      // Every payout is checked before anything is written.
      const rows = payouts.map((payout) => payoutParams(payout, now));
      invariant(
        new Set(rows.map((row) => row[0])).size === rows.length,
        "INVALID_ARGUMENT",
        "payouts must not repeat a payoutId",
      );
      let inserted = 0;
      for (let start = 0; start < rows.length; start += PAYOUTS_PER_STATEMENT) {
        const chunk = rows.slice(start, start + PAYOUTS_PER_STATEMENT);
        const values = chunk.map((row) => `(${row.map(() => "?").join(", ")})`).join(", ");
        inserted += await ctx.db.run(
          `INSERT INTO payouts (${PAYOUT_COLUMNS}) VALUES ${values} ON CONFLICT (payout_id) DO NOTHING`,
          chunk.flat(),
        );
      }
      return inserted;
    },

    async getPayout(payoutId) {
      const rows = await ctx.db.all(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE payout_id = ?`, [
        checkText(payoutId, "payoutId"),
      ]);
      return rows.length === 0 ? undefined : toPayout(rows[0]);
    },

    async listPayouts(query = {}) {
      const where = new Where();
      if (query.caseId !== undefined) where.add("case_id = ?", checkHex32(query.caseId, "caseId"));
      if (query.withinRegion !== undefined) {
        where.condition(withinRegionCondition("region_code", checkInt(query.withinRegion, "withinRegion")));
      }
      if (query.programmeId !== undefined) where.add("programme_id = ?", checkInt(query.programmeId, "programmeId"));
      if (query.period !== undefined) where.add("period = ?", checkInt(query.period, "period"));
      if (query.status !== undefined) where.add("status = ?", checkOneOf(query.status, PAYOUT_ROW_STATUSES, "status"));
      if (query.runId !== undefined) where.add("run_id = ?", checkText(query.runId, "runId"));
      if (query.afterPayoutId !== undefined) {
        where.add("payout_id > ?", checkText(query.afterPayoutId, "afterPayoutId"));
      }
      const rows = await ctx.db.all(`SELECT ${PAYOUT_COLUMNS} FROM payouts ${where.sql}ORDER BY payout_id LIMIT ?`, [
        ...where.params,
        checkLimit(query.limit),
      ]);
      return rows.map(toPayout);
    },

    async setPayoutStatus(payoutId, update) {
      const sets = ["status = ?"];
      const params: SqlValue[] = [checkOneOf(update.status, PAYOUT_ROW_STATUSES, "status")];
      if (update.bankRefDigest !== undefined) {
        sets.push("bank_ref_digest = ?");
        params.push(update.bankRefDigest === null ? null : checkHex32(update.bankRefDigest, "bankRefDigest"));
      }
      invariant(
        (update.txHash === undefined) === (update.blockNumber === undefined),
        "INVALID_ARGUMENT",
        "txHash and blockNumber must be given together",
      );
      if (update.txHash !== undefined) {
        sets.push("tx_hash = ?", "block_number = ?");
        params.push(checkHex32(update.txHash, "txHash"), checkInt(update.blockNumber, "blockNumber"));
      }
      sets.push("updated_at = ?");
      params.push(ctx.now(), checkText(payoutId, "payoutId"));
      const rows = await ctx.db.all(
        `UPDATE payouts SET ${sets.join(", ")} WHERE payout_id = ? RETURNING ${PAYOUT_COLUMNS}`,
        params,
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no such payout");
      return toPayout(rows[0]);
    },
  };
}
