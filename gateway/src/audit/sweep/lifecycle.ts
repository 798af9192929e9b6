/**
 * The sweep's lifecycle check: the life of every case and every payout rebuilt from the chain's events alone, and
 * cross-checked against the rules of docs/CONTRACTS.md ("Cases", "Condition-triggered payouts", "Settlement",
 * "Receipts and disputes").
 *
 * Errors, found while streaming, at the event that breaks the rule:
 * - `payout-without-approval`: a `PayoutExecuted` for a case that was never approved before it, for another
 *   programme than the case's, or for a period outside the approved window (not after an exit);
 * - `payout-while-suspended`: while the case was suspended;
 * - `payout-after-exit`: for a period after the exit's last period;
 * - `payout-amount-mismatch`: a monthly payout of another amount than the case's approved (or re-certified) amount,
 *   or an event payout above it (a medical bill above the annual cap, a disaster grant above the grant);
 * - `period-paid-twice`: a second `PayoutExecuted` for one payout key with no `PayoutFailed` between;
 * - `settlement-without-payout`: a `PayoutSettled` (or a `PayoutFailed`) for a key that no payout awaits.
 * Warnings, judged when finishing, at the chain time given:
 * - `payout-unsettled`: paid, neither settled nor failed, for longer than the settlement deadline (7 days unless
 *   configured);
 * - `receipt-missing`: settled, neither confirmed nor disputed by the beneficiary, for longer than the programme's
 *   dispute window;
 * - `dispute-open` / `dispute-overdue`: a dispute not resolved, within / past its response deadline.
 * Ages are measured with the events' block timestamps (`eventSpans` asks for them by default); a payout whose event
 * came without one is never judged late.
 *
 * Memory: per case ~42 bytes in typed arrays (status, flags, programme, region, amount, approved window, the last 32
 * periods' paid and settled bits exactly as the contract keeps them) plus its entry in the shared {@link CaseIndex}
 * (~70 bytes): ~112 bytes a case, ~112 MB for a million cases. On top of that, one small record per payout still
 * open (paid and unsettled, settled and unanswered, or disputed; ~100 bytes each, released when it closes) and per
 * event payout (medical bill or disaster grant: kept so a second payment of the key is caught). Nothing grows with
 * the number of monthly payouts that have closed.
 */
import { periodAt } from "../../../../lib/periods";
import { contains as containsRegion } from "../../../../lib/regions";
import { DEFAULTS } from "../../../../lib/programmes";
import { CaseStatus } from "../../../../lib/roles";
import { MONTHLY, type Ledger, type LedgerEvent } from "../../ledger";
import { CaseIndex, grown } from "./events";
import type { ExceptionKind, SweepException, SweepScope } from "./types";

/** Paid and unsettled this long (seconds) is `payout-unsettled` unless the caller says otherwise: 7 days. */
export const DEFAULT_SETTLEMENT_DEADLINE = 7 * 24 * 3600;

/** Periods a case's paid and settled bits cover, as in the contract (`Payouts._WINDOW`). */
const WINDOW = 32;
const PERIOD_SPAN = 2 ** 24;

const APPROVED = 1;
const EXIT = 2;

/** The beneficiary has answered the payout: confirmed it, or said it did not arrive (a dispute). */
const RECEIPTED = 1;
const DISPUTED = 2;

/** A payout still open: when and in which transaction it reached its current state. */
interface OpenPayout {
  timestamp: number | undefined;
  txHash: string;
  blockNumber: number;
  /** {@link RECEIPTED} | {@link DISPUTED}. */
  answered: number;
}

const enum EventStatus {
  None = 0,
  Paid = 1,
  Settled = 2,
}

interface EventPayoutState extends OpenPayout {
  status: EventStatus;
  period: number;
}

interface OpenDispute {
  caseIndex: number;
  period: number;
  eventId: string;
  responseDeadline: number;
  txHash: string;
  blockNumber: number;
}

export interface LifecycleCheckOptions {
  scope?: SweepScope;
  /** A case index shared with the fund check (one index for both). */
  cases?: CaseIndex;
}

export interface LifecycleFinishOptions {
  /** Chain time (seconds): the latest block's timestamp. */
  now: number;
  /** Paid and not settled for longer than this (seconds) is `payout-unsettled`; default 7 days. */
  settlementDeadlineSeconds?: number;
  /**
   * Each programme's dispute window (seconds): settled and unanswered for longer is `receipt-missing`. A number for
   * every programme, or per programme (see {@link disputeWindows}); default the policy's 15 days.
   */
  disputeWindowSeconds?: number | ReadonlyMap<number, number> | ((programmeId: number) => number | undefined);
}

/** Rebuilds every case's and every payout's life from the event stream and reports what breaks the rules. */
export class LifecycleCheck {
  readonly #scope: SweepScope;
  readonly #cases: CaseIndex;
  // Per case, indexed by the case index.
  #status = new Uint8Array(0);
  #flags = new Uint8Array(0);
  #programme = new Uint32Array(0);
  #region = new Float64Array(0);
  /** The approved amount per period (monthly kinds), the approved sum (temporary), the cap or grant (events). */
  #amount = new Float64Array(0);
  #firstPeriod = new Int32Array(0);
  #lastPeriod = new Int32Array(0);
  #paidThrough = new Int32Array(0);
  #paidMask = new Uint32Array(0);
  #settledMask = new Uint32Array(0);
  /** Monthly payouts paid and not settled or failed, by `caseIndex × 2^24 + period`. */
  readonly #unsettled = new Map<number, OpenPayout>();
  /** Monthly payouts settled and not yet answered by the beneficiary. */
  readonly #unanswered = new Map<number, OpenPayout>();
  /** Answers recorded for a payout that then failed: the receipt book keeps them for its key when it is paid again. */
  readonly #failedAnswers = new Map<number, number>();
  /** Event payouts by `caseIndex:eventId`. */
  readonly #eventPayouts = new Map<string, EventPayoutState>();
  /** Open disputes by payout id. */
  readonly #disputes = new Map<string, OpenDispute>();
  readonly #programmes = new Set<number>();
  readonly #exceptions: SweepException[] = [];
  /** The last transaction hash kept: the open payouts of one transaction (a run) share one string. */
  #txHash = "";
  #events = 0;

  constructor(options: LifecycleCheckOptions = {}) {
    this.#scope = options.scope ?? {};
    this.#cases = options.cases ?? new CaseIndex();
  }

  /** Events consumed so far. */
  get events(): number {
    return this.#events;
  }

  /** Cases tracked. */
  get caseCount(): number {
    return this.#cases.size;
  }

  /** The programmes seen (to look up their dispute windows before finishing). */
  programmeIds(): number[] {
    return [...this.#programmes].sort((a, b) => a - b);
  }

  consume(e: LedgerEvent): void {
    this.#events++;
    switch (e.name) {
      case "CaseSubmitted": {
        const i = this.#index(e.args.caseId);
        if (this.#status[i] !== CaseStatus.None) break;
        this.#status[i] = CaseStatus.Submitted;
        this.#programme[i] = e.args.programmeId;
        this.#region[i] = Number(e.args.region);
        this.#programmes.add(e.args.programmeId);
        break;
      }
      case "CaseReviewed": {
        const i = this.#cases.find(e.args.caseId);
        if (i >= 0 && this.#status[i] === CaseStatus.Submitted) {
          this.#status[i] = e.args.passed ? CaseStatus.InNotice : CaseStatus.Rejected;
        }
        break;
      }
      case "CaseRejected": {
        const i = this.#cases.find(e.args.caseId);
        if (i >= 0) this.#status[i] = CaseStatus.Rejected;
        break;
      }
      case "CaseApproved": {
        const i = this.#index(e.args.caseId);
        this.#status[i] = CaseStatus.Approved;
        this.#flags[i] |= APPROVED;
        this.#amount[i] = Number(e.args.amount);
        this.#firstPeriod[i] = e.args.firstPeriod;
        this.#lastPeriod[i] = e.args.lastPeriod;
        break;
      }
      case "CaseSuspended": {
        const i = this.#cases.find(e.args.caseId);
        if (i >= 0) this.#status[i] = CaseStatus.Suspended;
        break;
      }
      case "CaseResumed": {
        const i = this.#cases.find(e.args.caseId);
        if (i >= 0) this.#status[i] = this.#flags[i] & EXIT ? CaseStatus.Exiting : CaseStatus.Approved;
        break;
      }
      case "CaseRecertified": {
        const i = this.#cases.find(e.args.caseId);
        if (i < 0) break;
        // A lapsed eligibility restarts now: the months in between are not payable.
        if (e.timestamp !== undefined) {
          const current = periodAt(e.timestamp);
          if (this.#lastPeriod[i] < current) this.#firstPeriod[i] = current;
        }
        this.#lastPeriod[i] = e.args.lastPeriod;
        this.#amount[i] = Number(e.args.amount);
        break;
      }
      case "CaseExited": {
        const i = this.#cases.find(e.args.caseId);
        if (i < 0) break;
        this.#flags[i] |= EXIT;
        this.#lastPeriod[i] = e.args.lastPeriod;
        if (this.#status[i] === CaseStatus.Approved) this.#status[i] = CaseStatus.Exiting;
        break;
      }
      case "PayoutExecuted":
        this.#paid(e);
        break;
      case "PayoutSettled":
        this.#settled(e);
        break;
      case "PayoutFailed":
        this.#failed(e);
        break;
      case "ReceiptConfirmed":
        this.#answered(e.args.caseId, e.args.period, e.args.eventId, RECEIPTED);
        break;
      case "DisputeOpened": {
        const { caseId, period, eventId, responseDeadline } = e.args;
        const i = this.#index(caseId);
        this.#answered(caseId, period, eventId, DISPUTED);
        this.#disputes.set(payoutId(caseId, period, eventId), {
          caseIndex: i,
          period,
          eventId,
          responseDeadline,
          txHash: e.txHash,
          blockNumber: e.blockNumber,
        });
        break;
      }
      case "DisputeResolved":
        this.#disputes.delete(payoutId(e.args.caseId, e.args.period, e.args.eventId));
        break;
      default:
        break;
    }
  }

  /** The exceptions found while streaming, and the time-dependent ones at chain time `options.now`. */
  finish(options: LifecycleFinishOptions): SweepException[] {
    const now = options.now;
    const deadline = options.settlementDeadlineSeconds ?? DEFAULT_SETTLEMENT_DEADLINE;
    const windowOf = disputeWindowLookup(options.disputeWindowSeconds);
    const out = [...this.#exceptions];
    const late = (open: OpenPayout, limit: number) => open.timestamp !== undefined && now - open.timestamp > limit;

    const unsettled = (i: number, period: number, eventId: string, open: OpenPayout) => {
      if (!late(open, deadline)) return;
      const days = Math.floor((now - open.timestamp!) / 86_400);
      this.#push(out, "payout-unsettled", "warning", i, period, eventId, open, `paid ${days} days ago, not settled`);
    };
    const unanswered = (i: number, period: number, eventId: string, open: OpenPayout) => {
      if (open.answered !== 0 || !late(open, windowOf(this.#programme[i]))) return;
      const days = Math.floor((now - open.timestamp!) / 86_400);
      this.#push(out, "receipt-missing", "warning", i, period, eventId, open, `settled ${days} days ago, no receipt`);
    };
    for (const [key, open] of this.#unsettled)
      unsettled(Math.floor(key / PERIOD_SPAN), key % PERIOD_SPAN, MONTHLY, open);
    for (const [key, open] of this.#unanswered) {
      unanswered(Math.floor(key / PERIOD_SPAN), key % PERIOD_SPAN, MONTHLY, open);
    }
    for (const [key, p] of this.#eventPayouts) {
      const colon = key.indexOf(":");
      const i = Number(key.slice(0, colon));
      const eventId = key.slice(colon + 1);
      if (p.status === EventStatus.Paid) unsettled(i, p.period, eventId, p);
      else if (p.status === EventStatus.Settled) unanswered(i, p.period, eventId, p);
    }
    for (const d of this.#disputes.values()) {
      const overdue = now > d.responseDeadline;
      const kind = overdue ? "dispute-overdue" : "dispute-open";
      const detail = overdue
        ? `dispute open past its response deadline (${d.responseDeadline})`
        : `dispute open, response due by ${d.responseDeadline}`;
      this.#push(out, kind, "warning", d.caseIndex, d.period, d.eventId, d, detail);
    }
    return out;
  }

  #paid(e: Extract<LedgerEvent, { name: "PayoutExecuted" }>): void {
    const { caseId, programmeId, eventId, period, amount } = e.args;
    const i = this.#index(caseId);
    this.#programmes.add(programmeId);
    const status = this.#status[i];
    const flags = this.#flags[i];
    const error = (kind: ExceptionKind, detail: string) =>
      this.#push(this.#exceptions, kind, "error", i, period, eventId, e, detail);
    if (!(flags & APPROVED)) {
      error(
        "payout-without-approval",
        status === CaseStatus.None ? "payout to an unknown case" : "case never approved",
      );
    } else if (programmeId !== this.#programme[i] && this.#programme[i] !== 0) {
      error("payout-without-approval", `case approved for programme ${this.#programme[i]}, paid by ${programmeId}`);
    } else if (status === CaseStatus.Suspended) {
      error("payout-while-suspended", "paid while the case was suspended");
    } else if (status !== CaseStatus.Approved && status !== CaseStatus.Exiting) {
      error("payout-without-approval", `paid while the case was ${CaseStatus[status]}`);
    } else if (flags & EXIT && period > this.#lastPeriod[i]) {
      error("payout-after-exit", `period ${period} after the exit's last period ${this.#lastPeriod[i]}`);
    } else if (period < this.#firstPeriod[i] || period > this.#lastPeriod[i]) {
      error(
        "payout-without-approval",
        `period ${period} outside the approved window ${this.#firstPeriod[i]}–${this.#lastPeriod[i]}`,
      );
    } else {
      // Arrears are paid at the amount in force when paid, so every monthly payout is at the current amount.
      const approved = BigInt(this.#amount[i]);
      if (eventId === MONTHLY ? amount !== approved : amount > approved) {
        const what = eventId === MONTHLY ? "approved amount" : "approved cap";
        error("payout-amount-mismatch", `paid ${amount} fen, the ${what} is ${approved} fen`);
      }
    }
    if (this.#programme[i] === 0) this.#programme[i] = programmeId;
    const open: OpenPayout = { timestamp: e.timestamp, txHash: this.#tx(e), blockNumber: e.blockNumber, answered: 0 };
    if (eventId !== MONTHLY) {
      const key = `${i}:${eventId}`;
      const prior = this.#eventPayouts.get(key);
      if (prior && prior.status !== EventStatus.None) error("period-paid-twice", "event payout already paid");
      this.#eventPayouts.set(key, { ...open, answered: prior?.answered ?? 0, status: EventStatus.Paid, period });
      return;
    }
    const key = i * PERIOD_SPAN + period;
    const through = this.#paidThrough[i];
    let paid = this.#paidMask[i];
    let settled = this.#settledMask[i];
    if (through === 0 || period > through) {
      const shift = through === 0 ? WINDOW : period - through;
      paid = shift >= WINDOW ? 1 : ((paid << shift) | 1) >>> 0;
      settled = shift >= WINDOW ? 0 : (settled << shift) >>> 0;
      this.#paidThrough[i] = period;
    } else if (through - period < WINDOW) {
      const bit = (1 << (through - period)) >>> 0;
      if (paid & bit) error("period-paid-twice", "period already paid and not failed");
      paid = (paid | bit) >>> 0;
    }
    // A period older than the window cannot be paid on chain (OutsideWindow); its bits are gone here too.
    this.#paidMask[i] = paid;
    this.#settledMask[i] = settled;
    open.answered = this.#failedAnswers.get(key) ?? 0;
    this.#failedAnswers.delete(key);
    this.#unsettled.set(key, open);
    this.#unanswered.delete(key);
  }

  #settled(e: Extract<LedgerEvent, { name: "PayoutSettled" }>): void {
    const { caseId, eventId, period } = e.args;
    const i = this.#cases.find(caseId);
    const error = (detail: string) =>
      this.#push(this.#exceptions, "settlement-without-payout", "error", i, period, eventId, e, detail, caseId);
    if (i < 0) return error("settlement of a payout to an unknown case");
    const settledAt: OpenPayout = {
      timestamp: e.timestamp,
      txHash: this.#tx(e),
      blockNumber: e.blockNumber,
      answered: 0,
    };
    if (eventId !== MONTHLY) {
      const p = this.#eventPayouts.get(`${i}:${eventId}`);
      if (!p || p.status !== EventStatus.Paid || p.period !== period) {
        return error(
          p?.status === EventStatus.Settled ? "event payout already settled" : "no event payout awaits settlement",
        );
      }
      Object.assign(p, settledAt, { answered: p.answered, status: EventStatus.Settled });
      return;
    }
    const bit = this.#bit(i, period);
    if (bit === 0 || !(this.#paidMask[i] & bit)) return error("no payout of this period awaits settlement");
    if (this.#settledMask[i] & bit) return error("period already settled");
    this.#settledMask[i] = (this.#settledMask[i] | bit) >>> 0;
    const key = i * PERIOD_SPAN + period;
    settledAt.answered = this.#unsettled.get(key)?.answered ?? 0;
    this.#unsettled.delete(key);
    if (settledAt.answered === 0) this.#unanswered.set(key, settledAt);
  }

  #failed(e: Extract<LedgerEvent, { name: "PayoutFailed" }>): void {
    const { caseId, eventId, period } = e.args;
    const i = this.#cases.find(caseId);
    const error = (detail: string) =>
      this.#push(this.#exceptions, "settlement-without-payout", "error", i, period, eventId, e, detail, caseId);
    if (i < 0) return error("failure reported for a payout to an unknown case");
    if (eventId !== MONTHLY) {
      const p = this.#eventPayouts.get(`${i}:${eventId}`);
      if (!p || p.status !== EventStatus.Paid || p.period !== period) {
        return error("failure reported for an event payout that does not await settlement");
      }
      p.status = EventStatus.None;
      return;
    }
    const bit = this.#bit(i, period);
    if (bit === 0 || !(this.#paidMask[i] & bit) || this.#settledMask[i] & bit) {
      return error("failure reported for a period that does not await settlement");
    }
    this.#paidMask[i] = (this.#paidMask[i] & ~bit) >>> 0;
    const key = i * PERIOD_SPAN + period;
    const answered = this.#unsettled.get(key)?.answered ?? 0;
    this.#unsettled.delete(key);
    if (answered !== 0) this.#failedAnswers.set(key, answered);
  }

  /** The beneficiary answered a payout: it no longer lacks a receipt. */
  #answered(caseId: string, period: number, eventId: string, answer: number): void {
    const i = this.#cases.find(caseId);
    if (i < 0) return;
    if (eventId !== MONTHLY) {
      const p = this.#eventPayouts.get(`${i}:${eventId}`);
      if (p && p.period === period) p.answered |= answer;
      return;
    }
    const key = i * PERIOD_SPAN + period;
    const open = this.#unsettled.get(key);
    if (open) open.answered |= answer;
    this.#unanswered.delete(key);
  }

  /** The event's transaction hash, as the same string as the previous one if it is the same transaction. */
  #tx(e: LedgerEvent): string {
    if (e.txHash !== this.#txHash) this.#txHash = e.txHash;
    return this.#txHash;
  }

  /** The bit of `period` in case `i`'s masks, 0 if it lies outside the window. */
  #bit(i: number, period: number): number {
    const through = this.#paidThrough[i];
    if (through === 0 || period > through || through - period >= WINDOW) return 0;
    return (1 << (through - period)) >>> 0;
  }

  #index(caseId: string): number {
    const i = this.#cases.add(caseId);
    if (i >= this.#status.length) {
      const n = i + 1;
      this.#status = grown(this.#status, n);
      const size = this.#status.length;
      this.#flags = grown(this.#flags, size);
      this.#programme = grown(this.#programme, size);
      const regions = this.#region.length;
      this.#region = grown(this.#region, size);
      this.#region.fill(-1, regions);
      this.#amount = grown(this.#amount, size);
      this.#firstPeriod = grown(this.#firstPeriod, size);
      this.#lastPeriod = grown(this.#lastPeriod, size);
      this.#paidThrough = grown(this.#paidThrough, size);
      this.#paidMask = grown(this.#paidMask, size);
      this.#settledMask = grown(this.#settledMask, size);
    }
    return i;
  }

  /** Adds an exception about case `i`'s payout if the scope covers it. */
  #push(
    out: SweepException[],
    kind: ExceptionKind,
    severity: SweepException["severity"],
    i: number,
    period: number,
    eventId: string,
    at: { txHash: string; blockNumber: number },
    detail: string,
    caseIdIfUnindexed?: string,
  ): void {
    const s = this.#scope;
    const known = i >= 0 && i < this.#status.length;
    const programmeId = known && this.#programme[i] !== 0 ? this.#programme[i] : undefined;
    const region = known && this.#region[i] >= 0 ? BigInt(this.#region[i]) : undefined;
    if (s.region !== undefined && (region === undefined || !containsRegion(s.region, region))) return;
    if (s.programmeId !== undefined && programmeId !== s.programmeId) return;
    if (s.period !== undefined && period !== s.period) return;
    const caseId = i >= 0 ? this.#cases.idAt(i) : caseIdIfUnindexed!.toLowerCase();
    out.push({
      kind,
      severity,
      caseId,
      payoutId: payoutId(caseId, period, eventId),
      programmeId,
      period,
      region: region === undefined ? undefined : String(region),
      txHash: at.txHash,
      blockNumber: at.blockNumber,
      detail,
    });
  }
}

/** `caseId:period:eventId`, as gateway/src/payouts/ids.ts writes payout ids. */
function payoutId(caseId: string, period: number, eventId: string): string {
  return `${caseId.toLowerCase()}:${period}:${eventId.toLowerCase()}`;
}

function disputeWindowLookup(option: LifecycleFinishOptions["disputeWindowSeconds"]): (programmeId: number) => number {
  const fallback = DEFAULTS.disputeWindow;
  if (option === undefined) return () => fallback;
  if (typeof option === "number") return () => option;
  if (typeof option === "function") return (id) => option(id) ?? fallback;
  return (id) => option.get(id) ?? fallback;
}

/** The dispute windows (seconds) of `programmeIds`, from the chain's programme rules. */
export async function disputeWindows(
  ledger: Pick<Ledger, "programme">,
  programmeIds: readonly number[],
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const id of programmeIds) out.set(id, (await ledger.programme(id)).disputeWindow);
  return out;
}
