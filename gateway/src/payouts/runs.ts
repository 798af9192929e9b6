/**
 * Payout runs: a finance bureau asks for a programme's entitlements of a period to be paid (monthly run) or for a
 * declared disaster's relief to be paid (relief run); the gateway lists the cases it indexed for the programme in the
 * run's region and sends them to the chain in chunks. The chain decides, case by case, whether each is payable and
 * sets the paid bit in the same write that pays, so a period is never paid twice whatever the gateway does: replays,
 * retries, concurrent runs and resumed runs only ever see `AlreadyPaid` for what was paid.
 *
 * Life of a run: `POST` reserves the idempotency key, stores the run (`pending`) together with its 202 response, and
 * queues it; the queue runs one run at a time per (programme, period) — or per disaster — in this process, so runs of
 * one period never compete for the same entitlements or the same actor's nonces. Execution walks the case index in
 * pages of {@link DEFAULT_PAGE_SIZE} (one chain call each, up to {@link DEFAULT_PAGES_IN_FLIGHT} at once, so
 * progress is visible and a crash loses at most those pages' bookkeeping), records the paid outcomes as payouts and
 * the progress on the run, and ends `completed`, or `failed` with a stable error code. Runs that are `pending` or
 * `running` at start-up, or `failed` because the chain or the database was unavailable, are executed again by
 * {@link resumeRuns}.
 *
 * Reconciliation: if the gateway stopped between a chain call and recording its payouts, the next execution sees
 * those cases skipped as `AlreadyPaid` with no payout row; it reads their amount from `payoutStatus` and their
 * transaction from the `PayoutExecuted` events since the run's first block, and records them as this run's payouts.
 * (If the event is not found there — the payment was made by an earlier run that crashed — the payout is recorded
 * with the zero transaction hash and block 0, and the run's `result.unlocated` counts it.)
 */
import { randomUUID } from "node:crypto";
import { ProgrammeKind, PayoutStatus, SkipReason } from "../../../lib/roles";
import { type InstitutionPrincipal, assertInRegion } from "../auth";
import { type GatewayContext, runInBackground } from "../context";
import { ApiError } from "../http/errors";
import { type Answer, type IdempotentRequest, once } from "../http/idempotency";
import {
  LedgerError,
  LedgerUnavailableError,
  MONTHLY,
  type PayoutKey,
  type PayoutRunResult,
  type TxResult,
} from "../ledger";
import {
  type CaseIndexRow,
  type JsonValue,
  type NewPayout,
  type NewPayoutRun,
  type PayoutRunRow,
  StoreError,
} from "../store";
import { payoutIdOf } from "./ids";

/** Cases per chain call of a run. */
export const DEFAULT_PAGE_SIZE = 500;
/** Chain calls of a run in flight at once (~4.7 M gas each: four fit one 30 M-gas block), as the ledger allows. */
export const DEFAULT_PAGES_IN_FLIGHT = 4;
/** Case index statuses a run never lists (not on chain, or refused for good). */
export const UNLISTED_CASE_STATUSES: ReadonlySet<string> = new Set(["rejected", "pending-chain"]);
/** Error codes of failed runs that {@link resumeRuns} executes again. */
export const RESUMABLE_ERRORS: ReadonlySet<string> = new Set(["CHAIN_UNAVAILABLE", "DATABASE_UNAVAILABLE"]);
/** Transactions kept in a run's `result` (the count is kept in full). */
const MAX_LISTED_TRANSACTIONS = 200;
const ZERO_HASH = `0x${"0".repeat(64)}`;
/** Kinds that monthly runs pay. */
const PERIODIC_KINDS: ReadonlySet<ProgrammeKind> = new Set([
  ProgrammeKind.MonthlyGap,
  ProgrammeKind.MonthlyFixed,
  ProgrammeKind.Temporary,
]);

// ---- Per-gateway state: the queues ------------------------------------------------------------------------

export interface RunRuntime {
  /** The tail of each queue, by queue key (`monthly:<programme>:<period>` or `disaster:<id>`). */
  queues: Map<string, Promise<void>>;
  /** Runs queued or executing in this process. */
  active: Set<string>;
  /** Cases per chain call (tests lower it to see runs in several steps). */
  pageSize: number;
  /** Chain calls of one run sent before the first is mined: pages share blocks on a chain with a block period. */
  pagesInFlight: number;
}

const RUNTIMES = new WeakMap<GatewayContext, RunRuntime>();

/** This gateway's run queues and settings. */
export function payoutRuntime(ctx: GatewayContext): RunRuntime {
  let rt = RUNTIMES.get(ctx);
  if (!rt) {
    const pagesInFlight = Math.min(DEFAULT_PAGES_IN_FLIGHT, ctx.ledger.writesInFlight);
    rt = { queues: new Map(), active: new Set(), pageSize: DEFAULT_PAGE_SIZE, pagesInFlight };
    RUNTIMES.set(ctx, rt);
  }
  return rt;
}

/** Runs `task` after every task queued before it under `key`; the queue continues whether it succeeds or fails. */
export function enqueue(rt: RunRuntime, key: string, task: () => Promise<void>): Promise<void> {
  const previous = rt.queues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  rt.queues.set(key, next);
  const cleanup = () => {
    if (rt.queues.get(key) === next) rt.queues.delete(key);
  };
  next.then(cleanup, cleanup);
  return next;
}

function queueKey(run: Pick<NewPayoutRun, "kind" | "programmeId" | "period" | "eventId">): string {
  return run.kind === "monthly" ? `monthly:${run.programmeId}:${run.period}` : `disaster:${run.eventId}`;
}

/** Queues a run for execution in the background (once: a run already queued in this process is left alone). */
export function scheduleRun(
  ctx: GatewayContext,
  run: Pick<NewPayoutRun, "runId" | "kind" | "programmeId" | "period" | "eventId">,
): void {
  const rt = payoutRuntime(ctx);
  if (rt.active.has(run.runId)) return;
  rt.active.add(run.runId);
  runInBackground(ctx, "payout-run", () =>
    enqueue(rt, queueKey(run), () => executeRun(ctx, run.runId).finally(() => rt.active.delete(run.runId))),
  );
}

// ---- Starting runs ----------------------------------------------------------------------------------------

/** The 202 response of a started run. */
export interface RunAccepted {
  runId: string;
  status: "pending";
}

/**
 * Creates a run (at most once per idempotency key) and queues it. `create` checks what the chain would refuse and
 * returns the run to store; it runs only for the first caller of the key.
 */
async function startRun(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  operation: string,
  idem: IdempotentRequest,
  create: () => Promise<Omit<NewPayoutRun, "runId" | "actor">>,
): Promise<Answer> {
  return once(ctx, p, operation, idem, async (complete) => {
    const fields = await create();
    const run: NewPayoutRun = { runId: randomUUID(), actor: p.id, ...fields };
    const body: RunAccepted = { runId: run.runId, status: "pending" };
    const response = { status: 202, body: { ...body } };
    await ctx.store.transaction(async (tx) => {
      await tx.putPayoutRun(run);
      await tx.appendAudit({
        actor: p.id,
        action: "payout-run.created",
        target: run.runId,
        details: {
          kind: run.kind,
          programmeId: run.programmeId,
          period: run.period,
          eventId: run.eventId,
          region: String(run.regionCode),
        },
      });
      await complete(tx, response);
    });
    scheduleRun(ctx, run);
    return response;
  });
}

/**
 * A monthly run of a programme's entitlements for `period` (default: the chain's current period), for a finance
 * bureau at or above the programme's region.
 */
export async function startMonthlyRun(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: { programmeId: number; period?: number },
  idem: IdempotentRequest,
): Promise<Answer> {
  return startRun(ctx, p, "payout-run", idem, async () => {
    const rule = await ctx.ledger.programme(input.programmeId);
    assertInRegion(p, rule.region, "the programme's region");
    if (!PERIODIC_KINDS.has(rule.kind)) {
      throw new ApiError("LEDGER_REJECTED", "runs pay monthly and temporary programmes; this one pays on events", {
        ledgerCode: "LedgerWrongProgrammeKind",
      });
    }
    const current = await ctx.ledger.currentPeriod();
    const period = input.period ?? current;
    if (period > current) {
      throw new ApiError("LEDGER_REJECTED", "the period is not due yet", { ledgerCode: "LedgerPeriodNotDue" });
    }
    return {
      kind: "monthly",
      programmeId: input.programmeId,
      period,
      eventId: MONTHLY,
      regionCode: Number(rule.region),
    };
  });
}

/** The facts of a declared disaster the gateway knows. */
export interface DisasterFacts {
  disasterId: string;
  programmeId: number;
  region: bigint;
  period: number;
}

/** A relief run of a declared disaster, for a finance bureau whose region contains the disaster's. */
export async function startReliefRun(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  disaster: DisasterFacts,
  idem: IdempotentRequest,
): Promise<Answer> {
  return startRun(ctx, p, `relief-run:${disaster.disasterId}`, idem, async () => {
    assertInRegion(p, disaster.region, "the disaster's region");
    return {
      kind: "disaster",
      programmeId: disaster.programmeId,
      period: disaster.period,
      eventId: disaster.disasterId,
      regionCode: Number(disaster.region),
    };
  });
}

// ---- Executing runs ---------------------------------------------------------------------------------------

/** What a run stores in `result`: ids, counts and codes only. */
interface StoredResult {
  /** The block before the run's first chain call (where reconciliation looks for its payouts). */
  startBlock?: number;
  transactions: { txHash: string; blockNumber: number; paid: number; skipped: number }[];
  transactionCount: number;
  /** Cases skipped, by `SkipReason` name. */
  skipped: Record<string, number>;
  /** Payouts found paid on chain without a record, recorded by this run. */
  reconciled: number;
  /** Of those, payouts whose transaction was not found (recorded with the zero hash). */
  unlocated: number;
  ledgerCode?: string;
}

function readResult(value: JsonValue): StoredResult {
  const v = (value ?? {}) as Partial<StoredResult>;
  return {
    ...(typeof v.startBlock === "number" ? { startBlock: v.startBlock } : {}),
    transactions: Array.isArray(v.transactions) ? v.transactions : [],
    transactionCount: typeof v.transactionCount === "number" ? v.transactionCount : 0,
    skipped: {},
    reconciled: 0,
    unlocated: 0,
  };
}

interface Counters {
  listed: number;
  paid: number;
  skipped: number;
  total: bigint;
}

/** One execution attempt's bookkeeping. */
class Attempt {
  readonly counters: Counters = { listed: 0, paid: 0, skipped: 0, total: 0n };
  #payoutTx: Map<string, TxResult> | undefined;

  constructor(
    readonly run: PayoutRunRow,
    readonly result: StoredResult,
  ) {}

  skip(reason: SkipReason, n = 1): void {
    const name = SkipReason[reason] ?? String(reason);
    this.result.skipped[name] = (this.result.skipped[name] ?? 0) + n;
    this.counters.skipped += n;
  }

  addTransactions(result: PayoutRunResult): void {
    for (const t of result.transactions) {
      this.result.transactionCount += 1;
      if (this.result.transactions.length < MAX_LISTED_TRANSACTIONS) {
        this.result.transactions.push({
          txHash: t.txHash,
          blockNumber: t.blockNumber,
          paid: t.paid,
          skipped: t.skipped,
        });
      }
    }
  }

  /** Counters never below what an earlier attempt reached (this one re-walks the same cases in the same order). */
  progress(): Counters {
    const c = this.counters;
    const r = this.run;
    return {
      listed: Math.max(c.listed, r.listed),
      paid: Math.max(c.paid, r.paid),
      skipped: Math.max(c.skipped, r.skipped),
      total: c.total > r.total ? c.total : r.total,
    };
  }

  json(): JsonValue {
    return this.result as unknown as JsonValue;
  }

  /** The transaction of a payout of this run's event, from the `PayoutExecuted` events since the run's first block. */
  async payoutTx(ctx: GatewayContext, payoutId: string): Promise<TxResult | undefined> {
    if (!this.#payoutTx) {
      this.#payoutTx = new Map();
      const events = await ctx.ledger.events(this.result.startBlock ?? 0);
      for (const e of events) {
        if (e.name !== "PayoutExecuted" || e.args.eventId !== this.run.eventId.toLowerCase()) continue;
        const id = payoutIdOf({ caseId: e.args.caseId, period: e.args.period, eventId: e.args.eventId });
        this.#payoutTx.set(id, { txHash: e.txHash, blockNumber: e.blockNumber }); // the latest wins (a re-payment)
      }
    }
    return this.#payoutTx.get(payoutId);
  }
}

/** The stable error code of a failed run. */
function errorCodeOf(error: unknown): string {
  if (error instanceof LedgerUnavailableError) return "CHAIN_UNAVAILABLE";
  if (error instanceof LedgerError) return "LEDGER_REJECTED";
  if (error instanceof StoreError && error.code === "UNAVAILABLE") return "DATABASE_UNAVAILABLE";
  return "INTERNAL";
}

/**
 * Executes a run to its end, or until something fails; never throws (a failure is the run's status). A completed
 * run is left as it is.
 */
export async function executeRun(ctx: GatewayContext, runId: string): Promise<void> {
  const rt = payoutRuntime(ctx);
  const run = await ctx.store.getPayoutRun(runId);
  if (!run || run.status === "completed") return;
  const attempt = new Attempt(run, readResult(run.result));
  try {
    attempt.result.startBlock ??= await ctx.ledger.blockNumber();
    await ctx.store.updatePayoutRun(runId, { status: "running", errorCode: null, result: attempt.json() });
    // Pages go to the chain up to `pagesInFlight` at a time, so that they share blocks; each is recorded once mined.
    // A page that fails stops the listing; the pages already sent are recorded before the run fails, and whatever
    // the chain paid without being recorded is reconciled when the run is executed again (above).
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let progressWritten: Promise<unknown> = Promise.resolve();
    const sendPage = async (cases: CaseIndexRow[]) => {
      const caseIds = cases.map((c) => c.caseId);
      const result =
        run.kind === "monthly"
          ? await ctx.ledger.executePayouts(run.actor, { programmeId: run.programmeId, period: run.period, caseIds })
          : await ctx.ledger.payDisasterRelief(run.actor, { disasterId: run.eventId, caseIds });
      await recordChunk(ctx, attempt, cases, result);
      // Progress is written in order, each write with the counters of its moment.
      const write = progressWritten.then(() =>
        ctx.store.updatePayoutRun(runId, { status: "running", ...attempt.progress(), result: attempt.json() }),
      );
      progressWritten = write.catch(() => undefined);
      await write;
    };
    let after: string | undefined;
    while (!failure) {
      const page = await ctx.store.listCases({
        programmeId: run.programmeId,
        withinRegion: run.regionCode,
        afterCaseId: after,
        limit: rt.pageSize,
      });
      if (page.length > 0) after = page[page.length - 1].caseId;
      const cases = page.filter((c) => !UNLISTED_CASE_STATUSES.has(c.status));
      if (cases.length > 0) {
        const sent: Promise<void> = sendPage(cases)
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        if (inFlight.size >= rt.pagesInFlight) await Promise.race(inFlight);
      }
      if (page.length < rt.pageSize) break;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    const final = attempt.counters;
    await ctx.store.updatePayoutRun(runId, { status: "completed", ...final, errorCode: null, result: attempt.json() });
    await ctx.store.appendAudit({
      actor: run.actor,
      action: "payout-run.completed",
      target: runId,
      details: { listed: final.listed, paid: final.paid, skipped: final.skipped, total: String(final.total) },
    });
    ctx.log.info({ runId, listed: final.listed, paid: final.paid, skipped: final.skipped }, "payout run completed");
  } catch (error) {
    const errorCode = errorCodeOf(error);
    const e = error as { name?: string; code?: string };
    if (error instanceof LedgerError) attempt.result.ledgerCode = error.code;
    ctx.log.warn({ runId, errorCode, errName: e?.name, errCode: e?.code }, "payout run failed");
    try {
      await ctx.store.updatePayoutRun(runId, {
        status: "failed",
        ...attempt.progress(),
        errorCode,
        result: attempt.json(),
      });
      await ctx.store.appendAudit({
        actor: run.actor,
        action: "payout-run.failed",
        target: runId,
        details: { errorCode, ...(error instanceof LedgerError ? { ledgerCode: error.code } : {}) },
      });
    } catch (storeError) {
      // The run stays `running` in the database: the next start-up resumes it.
      const s = storeError as { name?: string; code?: string };
      ctx.log.error({ runId, errName: s?.name, errCode: s?.code }, "payout run failure not recorded");
    }
  }
}

/** Records one chain call's outcomes: new payouts, payouts reconciled from the chain, and the counters. */
async function recordChunk(
  ctx: GatewayContext,
  attempt: Attempt,
  cases: readonly CaseIndexRow[],
  result: PayoutRunResult,
): Promise<void> {
  const { run } = attempt;
  const regionOf = new Map(cases.map((c) => [c.caseId.toLowerCase(), c.regionCode]));
  const txOf: TxResult[] = [];
  for (const t of result.transactions) for (let i = 0; i < t.cases; i++) txOf.push(t);
  const eventId = result.eventId.toLowerCase();
  const period = result.period;
  const key = (caseId: string): PayoutKey => ({ caseId, period, eventId });
  const payout = (caseId: string, amount: bigint, tx: TxResult): NewPayout => ({
    payoutId: payoutIdOf(key(caseId)),
    caseId,
    period,
    eventId,
    programmeId: run.programmeId,
    regionCode: regionOf.get(caseId) ?? run.regionCode,
    amount,
    runId: run.runId,
    txHash: tx.txHash,
    blockNumber: tx.blockNumber,
  });

  const fresh: NewPayout[] = [];
  const alreadyPaid: string[] = [];
  let skippedHere = 0;
  result.outcomes.forEach((o, i) => {
    attempt.counters.listed += 1;
    if (o.status === "paid") fresh.push(payout(o.caseId, o.amount, txOf[i]));
    else if (o.reason === SkipReason.AlreadyPaid) alreadyPaid.push(o.caseId);
    else {
      attempt.skip(o.reason);
      skippedHere += 1;
    }
  });
  attempt.addTransactions(result);

  if (fresh.length > 0) {
    const inserted = await ctx.store.putPayouts(fresh);
    // A payout id recorded before is one that failed at the bank and is now paid again.
    if (inserted < fresh.length) {
      for (const p of fresh) {
        const row = await ctx.store.getPayout(p.payoutId);
        if (row?.status === "failed" && row.txHash !== p.txHash) {
          await ctx.store.setPayoutStatus(p.payoutId, {
            status: "paid",
            bankRefDigest: null,
            txHash: p.txHash,
            blockNumber: p.blockNumber,
          });
        }
      }
    }
    for (const p of fresh) attempt.counters.total += p.amount;
    attempt.counters.paid += fresh.length;
    ctx.metrics.payouts.inc({ outcome: "paid" }, fresh.length);
  }

  const recovered: NewPayout[] = [];
  for (const caseId of alreadyPaid) {
    const id = payoutIdOf(key(caseId));
    const row = await ctx.store.getPayout(id);
    if (row && row.runId === run.runId) {
      // Paid by an earlier attempt of this run.
      attempt.counters.paid += 1;
      attempt.counters.total += row.amount;
      continue;
    }
    if (row) {
      attempt.skip(SkipReason.AlreadyPaid);
      skippedHere += 1;
      continue;
    }
    // Paid on chain, not recorded: the gateway stopped between the chain call and recording it.
    const state = await ctx.ledger.payoutStatus(key(caseId));
    if (state.status === PayoutStatus.None) {
      attempt.skip(SkipReason.AlreadyPaid);
      skippedHere += 1;
      continue;
    }
    const tx = await attempt.payoutTx(ctx, id);
    if (!tx) attempt.result.unlocated += 1;
    recovered.push(payout(caseId, state.amount, tx ?? { txHash: ZERO_HASH, blockNumber: 0 }));
    attempt.result.reconciled += 1;
    attempt.counters.paid += 1;
    attempt.counters.total += state.amount;
  }
  if (recovered.length > 0) {
    await ctx.store.putPayouts(recovered);
    ctx.log.warn({ runId: run.runId, reconciled: recovered.length }, "payout run recorded payouts found on chain");
  }
  if (skippedHere > 0) ctx.metrics.payouts.inc({ outcome: "skipped" }, skippedHere);
}

// ---- Resuming -----------------------------------------------------------------------------------------------

/**
 * Queues every run that did not finish: `pending` and `running` ones (the gateway stopped), and `failed` ones whose
 * error was the chain or the database being unavailable. Returns their ids, oldest first.
 */
export async function resumeRuns(ctx: GatewayContext): Promise<string[]> {
  const runs: PayoutRunRow[] = [];
  for (const status of ["pending", "running", "failed"] as const) {
    for (const run of await ctx.store.listPayoutRuns({ status, limit: 1000 })) {
      if (status !== "failed" || (run.errorCode !== null && RESUMABLE_ERRORS.has(run.errorCode))) runs.push(run);
    }
  }
  runs.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.runId.localeCompare(b.runId));
  for (const run of runs) scheduleRun(ctx, run);
  if (runs.length > 0) ctx.log.info({ runs: runs.length }, "payout runs resumed");
  return runs.map((r) => r.runId);
}
