/**
 * Settlement reports from payment agents (代發銀行): for each payout the bank either paid the beneficiary
 * (`settled`, confirmed on chain with `confirmSettlements`) or could not (`failed`, reported with `reportFailure`,
 * up to {@link FAILURE_BATCH} a transaction, which returns the money to the programme's pool and makes the payout
 * payable again).
 *
 * A report is a CSV file (UTF-8, optional BOM, header row; columns `payout_id`, `outcome` and, as needed,
 * `bank_reference` — required for `settled` — and `reason` — required for `failed`) or JSON
 * `{ reference?, items: [{ payoutId, bankReference?, outcome, reason? }] }`. Row numbers count CSV records (the header
 * is row 0, the first data row row 1; blank rows are counted and ignored) or JSON items from 1.
 *
 * Every line is checked before anything is sent: format, duplicates, the payout known to the gateway and inside the
 * agent's region, and its state on chain. Any error refuses the whole report (400 with `rows: [{ row, field, code }]`,
 * nothing sent or stored). A line whose payout is already in the reported state is counted as `already` and left
 * alone, so a report sent twice changes nothing the second time. Bank references and reasons are free text: they
 * are never echoed and never logged; on chain they are keyed digests (the report's own reference, or the digest of
 * the file, for the settlement batch; each failure's reason), off chain the reasons are in the audit log's `reason`.
 */
import { parse as parseCsv } from "csv-parse/sync";
import { PayoutStatus } from "../../../lib/roles";
import { type InstitutionPrincipal, inRegion } from "../auth";
import type { GatewayContext } from "../context";
import { sm3 } from "../crypto";
import type { PayoutKey } from "../ledger";
import type { PayoutRow } from "../store";
import { parsePayoutId, payoutIdOf } from "./ids";
import { enqueue, payoutRuntime } from "./runs";

export const SETTLEMENT_COLUMNS = ["payout_id", "bank_reference", "outcome", "reason"] as const;
const REQUIRED_COLUMNS: readonly string[] = ["payout_id", "outcome"];
export const MAX_SETTLEMENT_ROWS = 50_000;
const MAX_BANK_REFERENCE = 200;
const MAX_REASON = 500;
/** Row errors reported at most (the rest are counted in the message). */
const MAX_ROW_ERRORS = 1_000;
/** Chain views in flight while checking a report. */
const VIEW_CONCURRENCY = 16;
/** Failure reports a transaction: ~20,600 gas each in a multicall (bench/gas.ts), ~2.1 M gas for 100. */
export const FAILURE_BATCH = 100;

export const SETTLEMENT_ERROR = {
  MALFORMED_CSV: "MALFORMED_CSV",
  INVALID_ENCODING: "INVALID_ENCODING",
  EMPTY: "EMPTY",
  TOO_MANY_ROWS: "TOO_MANY_ROWS",
  UNKNOWN_COLUMN: "UNKNOWN_COLUMN",
  MISSING_COLUMN: "MISSING_COLUMN",
  DUPLICATE_COLUMN: "DUPLICATE_COLUMN",
  UNKNOWN_FIELD: "UNKNOWN_FIELD",
  INVALID_TYPE: "INVALID_TYPE",
  REQUIRED: "REQUIRED",
  TOO_LONG: "TOO_LONG",
  INVALID_PAYOUT_ID: "INVALID_PAYOUT_ID",
  INVALID_OUTCOME: "INVALID_OUTCOME",
  DUPLICATE_PAYOUT: "DUPLICATE_PAYOUT",
  UNKNOWN_PAYOUT: "UNKNOWN_PAYOUT",
  OUTSIDE_REGION: "OUTSIDE_REGION",
  NOT_AWAITING_SETTLEMENT: "NOT_AWAITING_SETTLEMENT",
} as const;

export interface RowError {
  row: number;
  /** A column name (CSV) or item field (JSON), or `csv` / `items` for the report as a whole. */
  field: string;
  code: string;
}

/** One line of a report, as read (all text; checked by {@link applySettlement}). */
export interface SettlementLine {
  row: number;
  payoutId: string;
  bankReference: string;
  outcome: string;
  reason: string;
}

/** A report read from its file: lines, or the file-level errors that stop it. */
export interface SettlementReport {
  lines: SettlementLine[];
  errors: RowError[];
  /** The report's own reference, if it gave one (JSON `reference`). */
  reference?: string;
  /** SM3 of the raw report, 0x-hex: the batch reference when the report gives none. */
  fileDigest: string;
  /** Field names as the report spells them (CSV columns or JSON fields). */
  fields: { payoutId: string; bankReference: string; outcome: string; reason: string };
}

const CSV_FIELDS = { payoutId: "payout_id", bankReference: "bank_reference", outcome: "outcome", reason: "reason" };
const JSON_FIELDS = { payoutId: "payoutId", bankReference: "bankReference", outcome: "outcome", reason: "reason" };

function digestOf(text: string): string {
  return "0x" + sm3(Buffer.from(text, "utf8")).toString("hex");
}

const isBlank = (record: string[]) => record.every((c) => c.trim() === "");
/** Trims whitespace, including the ideographic space U+3000. */
const clean = (s: string | undefined) => (s ?? "").replace(/^[\s\u3000]+|[\s\u3000]+$/g, "");

/** Reads a CSV settlement report. */
export function parseSettlementCsv(text: string): SettlementReport {
  const report: SettlementReport = { lines: [], errors: [], fileDigest: digestOf(text), fields: CSV_FIELDS };
  const fail = (row: number, field: string, code: string) => ({ ...report, errors: [{ row, field, code }] });
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.includes("\ufffd")) return fail(0, "csv", SETTLEMENT_ERROR.INVALID_ENCODING);

  const tooMany = new Error("too many rows");
  let dataRows = 0;
  let overflowRow = 0;
  let records: string[][];
  try {
    records = parseCsv(text, {
      relax_column_count: true,
      on_record: (record: string[], context: { records: number }) => {
        if (context.records > 1 && !isBlank(record) && ++dataRows > MAX_SETTLEMENT_ROWS) {
          overflowRow = context.records - 1;
          throw tooMany;
        }
        return record;
      },
    }) as string[][];
  } catch (error) {
    if (error === tooMany) return fail(overflowRow, "csv", SETTLEMENT_ERROR.TOO_MANY_ROWS);
    const { records: row } = error as { records?: unknown };
    return fail(typeof row === "number" ? row : 0, "csv", SETTLEMENT_ERROR.MALFORMED_CSV);
  }

  const header = (records[0] ?? []).map(clean);
  const index = new Map<string, number>();
  const known: ReadonlySet<string> = new Set(SETTLEMENT_COLUMNS);
  header.forEach((name, i) => {
    if (!known.has(name))
      report.errors.push({ row: 0, field: `column ${i + 1}`, code: SETTLEMENT_ERROR.UNKNOWN_COLUMN });
    else if (index.has(name)) report.errors.push({ row: 0, field: name, code: SETTLEMENT_ERROR.DUPLICATE_COLUMN });
    else index.set(name, i);
  });
  for (const column of REQUIRED_COLUMNS) {
    if (!index.has(column)) report.errors.push({ row: 0, field: column, code: SETTLEMENT_ERROR.MISSING_COLUMN });
  }
  if (report.errors.length > 0) return report;

  const cell = (record: string[], column: string) => {
    const i = index.get(column);
    return i === undefined ? "" : clean(record[i]);
  };
  records.slice(1).forEach((record, i) => {
    if (isBlank(record)) return;
    report.lines.push({
      row: i + 1,
      payoutId: cell(record, "payout_id"),
      bankReference: cell(record, "bank_reference"),
      outcome: cell(record, "outcome"),
      reason: cell(record, "reason"),
    });
  });
  if (report.lines.length === 0) return fail(0, "csv", SETTLEMENT_ERROR.EMPTY);
  return report;
}

/** Reads a JSON settlement report `{ reference?, items: [...] }`. */
export function parseSettlementJson(body: unknown): SettlementReport {
  const report: SettlementReport = {
    lines: [],
    errors: [],
    fileDigest: digestOf(JSON.stringify(body ?? null)),
    fields: JSON_FIELDS,
  };
  const fail = (field: string, code: string) => ({ ...report, errors: [{ row: 0, field, code }] });
  if (typeof body !== "object" || body === null || Array.isArray(body)) return fail("items", SETTLEMENT_ERROR.REQUIRED);
  const { items, reference, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) return fail(unknown, SETTLEMENT_ERROR.UNKNOWN_FIELD);
  if (reference !== undefined) {
    if (typeof reference !== "string" || clean(reference) === "")
      return fail("reference", SETTLEMENT_ERROR.INVALID_TYPE);
    if (reference.length > MAX_BANK_REFERENCE) return fail("reference", SETTLEMENT_ERROR.TOO_LONG);
    report.reference = clean(reference);
  }
  if (!Array.isArray(items)) return fail("items", SETTLEMENT_ERROR.REQUIRED);
  if (items.length === 0) return fail("items", SETTLEMENT_ERROR.EMPTY);
  if (items.length > MAX_SETTLEMENT_ROWS) return fail("items", SETTLEMENT_ERROR.TOO_MANY_ROWS);
  const allowed: ReadonlySet<string> = new Set(Object.values(JSON_FIELDS));
  items.forEach((item, i) => {
    const row = i + 1;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      report.errors.push({ row, field: "items", code: SETTLEMENT_ERROR.INVALID_TYPE });
      return;
    }
    const fields = item as Record<string, unknown>;
    let ok = true;
    for (const [k, v] of Object.entries(fields)) {
      if (!allowed.has(k)) {
        report.errors.push({ row, field: k, code: SETTLEMENT_ERROR.UNKNOWN_FIELD });
        ok = false;
      } else if (typeof v !== "string") {
        report.errors.push({ row, field: k, code: SETTLEMENT_ERROR.INVALID_TYPE });
        ok = false;
      }
    }
    if (!ok) return;
    const text = (k: string) => clean(fields[k] as string | undefined);
    report.lines.push({
      row,
      payoutId: text("payoutId"),
      bankReference: text("bankReference"),
      outcome: text("outcome"),
      reason: text("reason"),
    });
  });
  return report;
}

/** What a line asks for, once checked. */
interface Checked {
  line: SettlementLine;
  key: PayoutKey;
  payoutId: string;
  outcome: "settled" | "failed";
  /** `send`: the chain is asked; `already`: nothing to do; `repair`: the chain has it, the gateway's row does not. */
  action: "send" | "already" | "repair";
}

export interface SettlementApplied {
  settled: number;
  failed: number;
  already: number;
  bankRefDigest: string;
  transactions: number;
}

/** Maps `items` with at most `limit` calls of `fn` in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Format checks of every line (no store or chain access). */
function checkLines(report: SettlementReport, errors: RowError[]) {
  const f = report.fields;
  const seen = new Set<string>();
  const ok: { line: SettlementLine; key: PayoutKey; payoutId: string; outcome: "settled" | "failed" }[] = [];
  for (const line of report.lines) {
    const before = errors.length;
    const key = line.payoutId === "" ? undefined : parsePayoutId(line.payoutId);
    if (line.payoutId === "") errors.push({ row: line.row, field: f.payoutId, code: SETTLEMENT_ERROR.REQUIRED });
    else if (!key) errors.push({ row: line.row, field: f.payoutId, code: SETTLEMENT_ERROR.INVALID_PAYOUT_ID });
    if (line.outcome === "") errors.push({ row: line.row, field: f.outcome, code: SETTLEMENT_ERROR.REQUIRED });
    else if (line.outcome !== "settled" && line.outcome !== "failed") {
      errors.push({ row: line.row, field: f.outcome, code: SETTLEMENT_ERROR.INVALID_OUTCOME });
    }
    if (line.bankReference.length > MAX_BANK_REFERENCE) {
      errors.push({ row: line.row, field: f.bankReference, code: SETTLEMENT_ERROR.TOO_LONG });
    } else if (line.outcome === "settled" && line.bankReference === "") {
      errors.push({ row: line.row, field: f.bankReference, code: SETTLEMENT_ERROR.REQUIRED });
    }
    if (line.reason.length > MAX_REASON)
      errors.push({ row: line.row, field: f.reason, code: SETTLEMENT_ERROR.TOO_LONG });
    else if (line.outcome === "failed" && line.reason === "") {
      errors.push({ row: line.row, field: f.reason, code: SETTLEMENT_ERROR.REQUIRED });
    }
    if (key) {
      const payoutId = payoutIdOf(key);
      if (seen.has(payoutId))
        errors.push({ row: line.row, field: f.payoutId, code: SETTLEMENT_ERROR.DUPLICATE_PAYOUT });
      seen.add(payoutId);
      if (errors.length === before) ok.push({ line, key, payoutId, outcome: line.outcome as "settled" | "failed" });
    }
  }
  return ok;
}

/** Checks a line against the gateway's record and the chain. */
async function checkState(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  report: SettlementReport,
  item: { line: SettlementLine; key: PayoutKey; payoutId: string; outcome: "settled" | "failed" },
): Promise<Checked | RowError> {
  const { line, key, outcome } = item;
  const field = report.fields.payoutId;
  const row: PayoutRow | undefined = await ctx.store.getPayout(item.payoutId);
  if (!row) return { row: line.row, field, code: SETTLEMENT_ERROR.UNKNOWN_PAYOUT };
  if (!inRegion(p, row.regionCode)) return { row: line.row, field, code: SETTLEMENT_ERROR.OUTSIDE_REGION };
  const notAwaiting = { row: line.row, field: report.fields.outcome, code: SETTLEMENT_ERROR.NOT_AWAITING_SETTLEMENT };
  if (row.status === "settled") return outcome === "settled" ? { ...item, action: "already" } : notAwaiting;
  if (row.status === "failed") return outcome === "failed" ? { ...item, action: "already" } : notAwaiting;
  const state = await ctx.ledger.payoutStatus(key);
  if (state.status === PayoutStatus.Paid) return { ...item, action: "send" };
  // The chain moved on while the gateway did not record it (it stopped after a chain call): repair the row.
  if (state.status === PayoutStatus.Settled && outcome === "settled") return { ...item, action: "repair" };
  if (state.status === PayoutStatus.None && outcome === "failed") return { ...item, action: "repair" };
  return notAwaiting;
}

/**
 * Checks and applies a report: `{ errors }` (nothing done) or the counts. Reports of one agent are applied one at a
 * time, so two copies of a file sent together settle each payout once.
 */
export async function applySettlement(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  report: SettlementReport,
): Promise<{ errors: RowError[]; total: number } | SettlementApplied> {
  let outcome!: { errors: RowError[]; total: number } | SettlementApplied;
  await enqueue(payoutRuntime(ctx), `settlement:${p.id}`, async () => {
    outcome = await apply(ctx, p, report);
  });
  return outcome;
}

async function apply(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  report: SettlementReport,
): Promise<{ errors: RowError[]; total: number } | SettlementApplied> {
  const errors: RowError[] = [...report.errors];
  const refuse = () => {
    errors.sort((a, b) => a.row - b.row);
    return { errors: errors.slice(0, MAX_ROW_ERRORS), total: errors.length };
  };
  if (errors.length > 0) return refuse();
  const formatted = checkLines(report, errors);
  const checked: Checked[] = [];
  for (const result of await mapLimit(formatted, VIEW_CONCURRENCY, (item) => checkState(ctx, p, report, item))) {
    if ("action" in result) checked.push(result);
    else errors.push(result);
  }
  if (errors.length > 0) return refuse();

  const bankRefDigest = ctx.keyring.digestSecret("bank-reference", report.reference ?? `report:${report.fileDigest}`);
  const already = checked.filter((c) => c.action === "already").length;
  const repairs = checked.filter((c) => c.action === "repair");
  const settle = checked.filter((c) => c.action === "send" && c.outcome === "settled");
  const fail = checked.filter((c) => c.action === "send" && c.outcome === "failed");
  let transactions = 0;

  for (const c of repairs) {
    await ctx.store.setPayoutStatus(c.payoutId, { status: c.outcome, bankRefDigest });
  }

  if (settle.length > 0) {
    const sent = await ctx.ledger.confirmSettlements(p.id, { bankRefDigest, keys: settle.map((c) => c.key) });
    transactions += sent.transactions.length;
    await ctx.store.transaction(async (tx) => {
      for (const c of settle) await tx.setPayoutStatus(c.payoutId, { status: "settled", bankRefDigest });
    });
  }

  // Failures go FAILURE_BATCH a transaction (the ledger's multicall); each batch is recorded once mined, so a crash
  // between batches loses nothing: the next copy of the report finds those already failed (`already`/`repair`).
  for (let i = 0; i < fail.length; i += FAILURE_BATCH) {
    const batch = fail.slice(i, i + FAILURE_BATCH).map((c) => ({
      c,
      reasonDigest: ctx.keyring.digestSecret("failure-reason", c.line.reason),
    }));
    const sent = await ctx.ledger.reportFailures(
      p.id,
      batch.map((b) => ({ key: b.c.key, reasonDigest: b.reasonDigest })),
    );
    transactions += 1;
    await ctx.store.transaction(async (tx) => {
      for (const [k, { c, reasonDigest }] of batch.entries()) {
        await tx.setPayoutStatus(c.payoutId, { status: "failed", bankRefDigest });
        await tx.appendAudit({
          actor: p.id,
          action: "payout.failed",
          target: c.payoutId,
          reason: c.line.reason,
          details: { amount: String(sent.amounts[k]), txHash: sent.txHash, reasonDigest },
        });
      }
    });
  }

  const applied: SettlementApplied = {
    settled: settle.length,
    failed: fail.length,
    // Lines the chain had already applied (only the gateway's record was behind) count as `already` too.
    already: already + repairs.length,
    bankRefDigest,
    transactions,
  };
  await ctx.store.appendAudit({
    actor: p.id,
    action: "settlement.reported",
    target: bankRefDigest,
    details: {
      settled: applied.settled,
      failed: applied.failed,
      already: applied.already,
      repaired: repairs.length,
      transactions,
    },
  });
  return applied;
}
