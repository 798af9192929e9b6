/**
 * The full audit sweep (`npm run audit`, `POST /v1/audit/sweeps`): the three checks in one run, and their report.
 *
 * 1. Records against anchors (./records.ts): every stored record's digest recomputed and checked against the Merkle
 *    root its anchor has on chain, page by page from the store, anchor by anchor from the chain.
 * 2. One pass over the chain's events, from the deployment's block to the block that was the latest when the sweep
 *    started (a fixed snapshot), feeding the fund check (./funds.ts) and the lifecycle check (./lifecycle.ts) together,
 *    span by span (./events.ts); they share one case index. The pass runs alongside step 1 (whose hashing is in
 *    worker threads on SQLite, ./anchor-pool.ts); their exceptions are listed in the same order as if one ran after
 *    the other.
 * 3. The fund check compares its rebuilt figures with the chain's views; the lifecycle check judges what is late at
 *    chain time (the snapshot block's timestamp), with each programme's dispute window from the chain.
 *
 * The report (`relief-sweep-report-v1`) is plain JSON: amounts are decimal strings of fen, periods "YYYY-MM", region
 * codes strings. It holds ids, codes, counts and amounts only: no personal data exists in it.
 *
 * Memory stays bounded: the checks stream (one anchor's leaves, two spans of events at a time) and keep aggregates;
 * exceptions are kept up to {@link SweepOptions.maxExceptions} (counted by kind beyond that).
 */
import type { Deployment, LedgerAddresses } from "../../../../lib/deploy";
import { formatPeriod } from "../../../../lib/periods";
import { levelOf } from "../../../../lib/regions";
import type { Ledger } from "../../ledger";
import { CaseIndex, eventSpans, feed } from "./events";
import { type FundFlow, FundsCheck, type FundsResult } from "./funds";
import { DEFAULT_SETTLEMENT_DEADLINE, LifecycleCheck, disputeWindows } from "./lifecycle";
import { type RecordsCheckSource, type RecordsSummary, checkRecords } from "./records";
import type { ExceptionKind, ProgressListener, SweepException, SweepProgress, SweepScope } from "./types";
import { VouchersCheck, type VouchersResult } from "./vouchers";

export const SWEEP_REPORT_FORMAT = "relief-sweep-report-v1";
/** Exceptions listed in a report unless the caller says otherwise; beyond that they are only counted. */
export const DEFAULT_MAX_EXCEPTIONS = 10_000;

/** What the sweep reads: the store's scans and the chain (a `GatewayContext` has all of it). */
export interface SweepSource {
  store: RecordsCheckSource["store"];
  ledger: Pick<
    Ledger,
    | "anchorCount"
    | "anchorAt"
    | "totalRecords"
    | "events"
    | "blockNumber"
    | "regionBalance"
    | "poolBalance"
    | "programmePaidOut"
    | "fundTotals"
    | "programme"
    | "voucherTotals"
    | "voucherEscrow"
  >;
  deployment: Deployment;
  /** The chain's JSON-RPC endpoint, to read the snapshot block's timestamp (chain time). */
  rpcUrl?: string;
  /** The timestamp (seconds) of a block; default: `eth_getBlockByNumber` on `rpcUrl`. */
  blockTimestamp?: (blockNumber: number) => Promise<number>;
  /** The clock pending anchoring ages are measured on (default: the system clock). */
  clock?: () => Date;
}

export interface SweepOptions {
  onProgress?: ProgressListener;
  /** Paid and unsettled this long (seconds) is `payout-unsettled` (default 7 days). */
  settlementDeadlineSeconds?: number;
  /** Chain time (seconds) the lifecycle is judged at; default: the snapshot block's timestamp. */
  now?: number;
  /** Blocks per `ledger.events` call. */
  span?: number;
  /** Age (ms) of a queued record that earns `anchoring-overdue` (default one hour). */
  pendingWarningMs?: number;
  maxExceptions?: number;
  signal?: AbortSignal;
  /** Worker threads of the records check (see `RecordsCheckOptions.threads`; default: by the store's size). */
  threads?: number;
}

export interface CountAmountJson {
  count: number;
  amount: string;
}

/** One stage of the fund flow, from central appropriation down to what beneficiaries' banks settled. */
export interface FundStage {
  stage:
    | "appropriated"
    | "province"
    | "city"
    | "county"
    | "pools"
    | "paid"
    | "vouchers"
    | "redemptions-paid"
    | "settled"
    | "failed"
    | "clawed-back";
  count: number;
  amount: string;
}

export interface SweepReport {
  format: typeof SWEEP_REPORT_FORMAT;
  /** Null if the caller did not name one (the CLI); the API's sweep id otherwise. */
  sweepId: string | null;
  scope: { region: string | null; programmeId: number | null; period: string | null };
  chain: {
    chainId: string;
    contracts: LedgerAddresses;
    fromBlock: number;
    toBlock: number;
    /** The snapshot block's time (ISO 8601): what "late" is judged at. */
    chainTime: string;
  };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  verdict: { clean: boolean; errors: number; warnings: number };
  counts: {
    recordsChecked: number;
    recordsAnchored: number;
    recordsPending: number;
    anchors: number;
    events: number;
    cases: number;
    payouts: number;
    vouchers: number;
    redemptions: number;
  };
  fundFlow: { stages: FundStage[]; returned: CountAmountJson; defunded: CountAmountJson; flows: FundFlowJson[] };
  levels: {
    level: number;
    regions: number;
    cameIn: string;
    wentOut: string;
    balance: string;
    chainBalance: string;
    holds: boolean;
  }[];
  pools: {
    programmeId: number;
    region: string;
    funded: string;
    defunded: string;
    paidOut: string;
    failed: string;
    clawedBack: string;
    vouchersIssued: string;
    vouchersExpired: string;
    redemptionsPaid: string;
    redemptionsFailed: string;
    balance: string;
    chainBalance: string;
    holds: boolean;
  }[];
  /** The voucher books (救助券): per programme, issued = redeemed + expired + outstanding; owed = redeemed − paid. */
  vouchers: {
    holds: boolean;
    vouchers: number;
    redemptions: number;
    /** Σ outstanding + Σ owed to providers, rebuilt, and the chain's `voucherEscrow`. */
    escrow: string;
    chainEscrow: string | null;
    programmes: {
      programmeId: number;
      region: string | null;
      vouchers: number;
      issued: string;
      redeemed: string;
      expired: string;
      outstanding: string;
      paid: string;
      unpaid: string;
      holds: boolean;
    }[];
  };
  payoutsPerMonth: {
    programmeId: number;
    period: string;
    paid: CountAmountJson;
    settled: CountAmountJson;
    failed: CountAmountJson;
    clawedBack: CountAmountJson;
    outstanding: CountAmountJson;
  }[];
  conservation: {
    /** Every level, every pool and the totals hold, rebuilt and on the chain's views. */
    holds: boolean;
    appropriated: string;
    held: string;
    /** Part of `held`: voucher value outstanding or owed to providers. */
    voucherEscrow: string;
    paidOut: string;
    rebuiltHolds: boolean;
    chainHolds: boolean;
    levelsHold: boolean;
    poolsHold: boolean;
    chain: { appropriated: string; held: string; paidOut: string };
  };
  /** Error and warning counts per kind (including exceptions not listed, if the list was cut). */
  exceptionCounts: Partial<Record<ExceptionKind, number>>;
  exceptionsTruncated: boolean;
  /** Sorted by severity (errors first), then kind, then where. */
  exceptions: SweepException[];
  disputes: { open: number; overdue: number; items: SweepException[] };
}

export interface FundFlowJson extends Omit<FundFlow, "amount"> {
  amount: string;
}

/** The order kinds are listed in (types.ts's order: records, funds, vouchers, lifecycle). */
const KIND_ORDER: readonly ExceptionKind[] = [
  "record-modified",
  "record-deleted",
  "record-inserted",
  "records-swapped",
  "anchor-missing",
  "anchor-root-mismatch",
  "proof-mismatch",
  "anchoring-overdue",
  "conservation-broken",
  "balance-mismatch",
  "voucher-conservation-broken",
  "voucher-remaining-mismatch",
  "redemption-after-expiry",
  "payout-without-approval",
  "payout-while-suspended",
  "payout-after-exit",
  "payout-amount-mismatch",
  "period-paid-twice",
  "settlement-without-payout",
  "payout-unsettled",
  "receipt-missing",
  "dispute-open",
  "dispute-overdue",
];
const KIND_RANK = new Map(KIND_ORDER.map((k, i) => [k, i]));

/** Errors first, then kinds in {@link KIND_ORDER}, then anchor, leaf, case, payout, record. */
export function compareExceptions(a: SweepException, b: SweepException): number {
  return (
    (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1) ||
    (KIND_RANK.get(a.kind) ?? 99) - (KIND_RANK.get(b.kind) ?? 99) ||
    (a.anchorSequence ?? -1) - (b.anchorSequence ?? -1) ||
    (a.leafIndex ?? -1) - (b.leafIndex ?? -1) ||
    compareText(a.caseId, b.caseId) ||
    compareText(a.payoutId, b.payoutId) ||
    compareText(a.recordId, b.recordId) ||
    (a.blockNumber ?? -1) - (b.blockNumber ?? -1)
  );
}

function compareText(a: string | undefined, b: string | undefined): number {
  return (a ?? "") < (b ?? "") ? -1 : (a ?? "") > (b ?? "") ? 1 : 0;
}

/** Exceptions kept up to a cap, all counted. */
class ExceptionList {
  readonly items: SweepException[] = [];
  readonly counts: Partial<Record<ExceptionKind, number>> = {};
  errors = 0;
  warnings = 0;
  truncated = false;

  constructor(readonly max: number) {}

  add(e: SweepException): void {
    this.counts[e.kind] = (this.counts[e.kind] ?? 0) + 1;
    if (e.severity === "error") this.errors += 1;
    else this.warnings += 1;
    if (this.items.length < this.max) this.items.push(e);
    else this.truncated = true;
  }
}

/** The timestamp (seconds) of a block through plain JSON-RPC. */
async function rpcBlockTimestamp(rpcUrl: string, blockNumber: number): Promise<number> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getBlockByNumber",
      params: [`0x${blockNumber.toString(16)}`, false],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { result?: { timestamp?: string } | null };
  const ts = body.result?.timestamp;
  if (typeof ts !== "string") throw new Error(`the node returned no block ${blockNumber}`);
  return Number(BigInt(ts));
}

const amount = (v: bigint): string => v.toString();
const countAmount = (c: { count: number; amount: bigint }): CountAmountJson => ({
  count: c.count,
  amount: amount(c.amount),
});

/**
 * Runs the sweep over `scope` (see the module comment) and returns its report. Read-only: it writes nothing to the
 * store or the chain.
 */
export async function runSweep(
  source: SweepSource,
  scope: SweepScope = {},
  options: SweepOptions = {},
): Promise<SweepReport> {
  const started = new Date();
  const clock = source.clock ?? (() => new Date());
  const list = new ExceptionList(options.maxExceptions ?? DEFAULT_MAX_EXCEPTIONS);
  const progress = (p: SweepProgress) => options.onProgress?.(p);

  // The chain snapshot: every figure is of the chain as it was at this block.
  const fromBlock = source.deployment.deployedAtBlock;
  const toBlock = await source.ledger.blockNumber();

  // 2, started first: one pass over the events for the fund and lifecycle checks. It runs alongside the records
  // check (network reads while records are hashed, in worker threads or between pages); its progress is held back
  // until the records check is done, so that phases are reported one after the other.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let recordsDone = false;
  let heldProgress: SweepProgress | undefined;
  const eventsProgress = (p: SweepProgress) => {
    if (recordsDone) progress(p);
    else heldProgress = p;
  };
  const cases = new CaseIndex();
  const funds = new FundsCheck({ scope, cases });
  const lifecycle = new LifecycleCheck({ scope, cases });
  const vouchers = new VouchersCheck({ scope });
  let latestEventTime: number | undefined;
  const clockWatch = {
    consume(e: { timestamp?: number }) {
      if (e.timestamp !== undefined && (latestEventTime === undefined || e.timestamp > latestEventTime)) {
        latestEventTime = e.timestamp;
      }
    },
  };
  const eventsPass = feed(
    eventSpans(source.ledger, {
      fromBlock,
      toBlock,
      span: options.span,
      onProgress: eventsProgress,
      phase: "funds",
      signal,
    }),
    [funds, lifecycle, vouchers, clockWatch],
  );
  // Awaited below; a failure while the records check still runs must not become an unhandled rejection.
  eventsPass.catch(() => undefined);

  // 1. Records against anchors.
  let summary: RecordsSummary;
  try {
    const records = checkRecords({ store: source.store, ledger: source.ledger, now: clock }, scope, {
      onProgress: options.onProgress,
      pendingWarningMs: options.pendingWarningMs,
      signal: options.signal,
      threads: options.threads,
    });
    for (;;) {
      const step = await records.next();
      if (step.done) {
        summary = step.value;
        break;
      }
      list.add(step.value);
    }
  } catch (error) {
    stop.abort(error);
    throw error;
  }
  recordsDone = true;
  if (heldProgress) progress(heldProgress);
  const events = await eventsPass;

  // 3. Views, chain time, and what is late.
  progress({ phase: "lifecycle", done: 0 });
  const fundsResult = await funds.finish(source.ledger);
  const vouchersResult = await vouchers.finish(source.ledger);
  let now = options.now;
  if (now === undefined) {
    const read = source.blockTimestamp ?? (source.rpcUrl ? (n: number) => rpcBlockTimestamp(source.rpcUrl!, n) : null);
    now = read ? await read(toBlock) : (latestEventTime ?? Math.floor(Date.now() / 1000));
  }
  const windows = await disputeWindows(source.ledger, lifecycle.programmeIds());
  const lifecycleExceptions = lifecycle.finish({
    now,
    settlementDeadlineSeconds: options.settlementDeadlineSeconds ?? DEFAULT_SETTLEMENT_DEADLINE,
    disputeWindowSeconds: windows,
  });
  for (const e of fundsResult.exceptions) list.add(e);
  for (const e of vouchersResult.exceptions) list.add(e);
  for (const e of lifecycleExceptions) list.add(e);
  progress({ phase: "lifecycle", done: 1, total: 1 });

  progress({ phase: "report", done: 0, total: 1 });
  const sorted = list.items.sort(compareExceptions);
  const disputes = sorted.filter((e) => e.kind === "dispute-open" || e.kind === "dispute-overdue");
  const finished = new Date();
  const report: SweepReport = {
    format: SWEEP_REPORT_FORMAT,
    sweepId: null,
    scope: {
      region: scope.region === undefined ? null : scope.region.toString(),
      programmeId: scope.programmeId ?? null,
      period: scope.period === undefined ? null : formatPeriod(scope.period),
    },
    chain: {
      chainId: source.deployment.chainId.toString(),
      contracts: { ...source.deployment.addresses },
      fromBlock,
      toBlock,
      chainTime: new Date(now * 1000).toISOString(),
    },
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    verdict: { clean: list.errors === 0 && list.warnings === 0, errors: list.errors, warnings: list.warnings },
    counts: {
      recordsChecked: summary.checked,
      recordsAnchored: summary.anchored,
      recordsPending: summary.pending,
      anchors: summary.anchors,
      events,
      cases: cases.size,
      payouts: fundsResult.periods.reduce((n, p) => n + p.paid.count, 0),
      vouchers: vouchersResult.vouchers,
      redemptions: vouchersResult.redemptions,
    },
    fundFlow: fundFlow(fundsResult),
    levels: fundsResult.levels.map((l) => ({
      level: l.level,
      regions: l.regions,
      cameIn: amount(l.cameIn),
      wentOut: amount(l.wentOut),
      balance: amount(l.balance),
      chainBalance: amount(l.chainBalance),
      holds: l.holds,
    })),
    pools: fundsResult.pools.map((p) => ({
      programmeId: p.programmeId,
      region: p.region.toString(),
      funded: amount(p.funded),
      defunded: amount(p.defunded),
      paidOut: amount(p.paidOut),
      failed: amount(p.failed),
      clawedBack: amount(p.clawedBack),
      vouchersIssued: amount(p.vouchersIssued),
      vouchersExpired: amount(p.vouchersExpired),
      redemptionsPaid: amount(p.redemptionsPaid),
      redemptionsFailed: amount(p.redemptionsFailed),
      balance: amount(p.balance),
      chainBalance: amount(p.chainBalance),
      holds: p.balance === p.chainBalance && p.netPaidOut === p.chainPaidOut,
    })),
    payoutsPerMonth: fundsResult.periods.map((p) => ({
      programmeId: p.programmeId,
      period: formatPeriod(p.period),
      paid: countAmount(p.paid),
      settled: countAmount(p.settled),
      failed: countAmount(p.failed),
      clawedBack: countAmount(p.clawedBack),
      outstanding: countAmount(p.outstanding),
    })),
    vouchers: voucherBooks(vouchersResult),
    conservation: conservation(fundsResult),
    exceptionCounts: list.counts,
    exceptionsTruncated: list.truncated,
    exceptions: sorted,
    disputes: {
      open: list.counts["dispute-open"] ?? 0,
      overdue: list.counts["dispute-overdue"] ?? 0,
      items: disputes,
    },
  };
  progress({ phase: "report", done: 1, total: 1 });
  return report;
}

function conservation(r: FundsResult): SweepReport["conservation"] {
  const t = r.totals;
  const levelsHold = r.levels.every((l) => l.holds);
  const poolsHold = r.pools.every((p) => p.balance === p.chainBalance && p.netPaidOut === p.chainPaidOut);
  const broken = r.exceptions.some((e) => e.kind === "conservation-broken" || e.kind === "balance-mismatch");
  return {
    holds: t.holds && t.chainHolds && levelsHold && poolsHold && !broken,
    appropriated: amount(t.appropriated),
    held: amount(t.held),
    voucherEscrow: amount(t.voucherEscrow),
    paidOut: amount(t.paidOut),
    rebuiltHolds: t.holds,
    chainHolds: t.chainHolds,
    levelsHold,
    poolsHold,
    chain: { appropriated: amount(t.chain.appropriated), held: amount(t.chain.held), paidOut: amount(t.chain.paidOut) },
  };
}

function voucherBooks(r: VouchersResult): SweepReport["vouchers"] {
  return {
    holds: r.holds,
    vouchers: r.vouchers,
    redemptions: r.redemptions,
    escrow: amount(r.escrow),
    chainEscrow: r.chainEscrow === undefined ? null : amount(r.chainEscrow),
    programmes: r.programmes.map((p) => ({
      programmeId: p.programmeId,
      region: p.region === null ? null : p.region.toString(),
      vouchers: p.vouchers,
      issued: amount(p.issued),
      redeemed: amount(p.redeemed),
      expired: amount(p.expired),
      outstanding: amount(p.outstanding),
      paid: amount(p.paid),
      unpaid: amount(p.unpaid),
      holds: p.holds,
    })),
  };
}

/** The flow from central down to payouts, by stage (allocations summed by the level they reached). */
function fundFlow(r: FundsResult): SweepReport["fundFlow"] {
  const stage = () => ({ count: 0, amount: 0n });
  const s = {
    appropriated: stage(),
    province: stage(),
    city: stage(),
    county: stage(),
    pools: stage(),
    paid: stage(),
    vouchers: stage(),
    "redemptions-paid": stage(),
    failed: stage(),
    "clawed-back": stage(),
  };
  const returned = stage();
  const defunded = stage();
  const bump = (t: { count: number; amount: bigint }, f: FundFlow) => {
    t.count += f.count;
    t.amount += f.amount;
  };
  for (const f of r.flows) {
    switch (f.type) {
      case "appropriation":
        bump(s.appropriated, f);
        break;
      case "allocation": {
        const level = regionLevel(f.to);
        if (level === 1) bump(s.province, f);
        else if (level === 2) bump(s.city, f);
        else if (level === 3) bump(s.county, f);
        break;
      }
      case "return":
        bump(returned, f);
        break;
      case "programme-funding":
        bump(s.pools, f);
        break;
      case "programme-defunding":
        bump(defunded, f);
        break;
      case "payout":
        bump(s.paid, f);
        break;
      case "failure":
        bump(s.failed, f);
        break;
      case "clawback":
        bump(s["clawed-back"], f);
        break;
      case "voucher-issue":
        bump(s.vouchers, f);
        break;
      case "voucher-payment":
        bump(s["redemptions-paid"], f);
        break;
      // Expiries return to the pools; a provider's failed settlement returns to the escrow (listed in flows).
      default:
        break;
    }
  }
  // Settlements move no money: counted from the programme-periods.
  const settled = stage();
  for (const p of r.periods) {
    settled.count += p.settled.count;
    settled.amount += p.settled.amount;
  }
  const stages: FundStage[] = [
    { stage: "appropriated", ...countAmount(s.appropriated) },
    { stage: "province", ...countAmount(s.province) },
    { stage: "city", ...countAmount(s.city) },
    { stage: "county", ...countAmount(s.county) },
    { stage: "pools", ...countAmount(s.pools) },
    { stage: "paid", ...countAmount(s.paid) },
    { stage: "vouchers", ...countAmount(s.vouchers) },
    { stage: "redemptions-paid", ...countAmount(s["redemptions-paid"]) },
    { stage: "settled", ...countAmount(settled) },
    { stage: "failed", ...countAmount(s.failed) },
    { stage: "clawed-back", ...countAmount(s["clawed-back"]) },
  ];
  return {
    stages,
    returned: countAmount(returned),
    defunded: countAmount(defunded),
    flows: r.flows.map((f) => ({ ...f, amount: amount(f.amount) })),
  };
}

/** The level of a region code written as text (-1 if it is not a region). */
function regionLevel(code: string): number {
  return /^\d{1,12}$/.test(code) ? levelOf(BigInt(code)) : -1;
}
