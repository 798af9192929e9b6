/**
 * Synthetic event streams for the sweep's fund and lifecycle checks: a {@link Chainlet} that stamps `LedgerEvent`s
 * exactly as gateway/src/ledger/events.ts types them (block, log index, transaction, timestamp), and a small model of
 * the contracts' rules ({@link ReliefModel}) that emits only what the chain would accept and keeps the views the
 * chain would answer (`regionBalance`, `poolBalance`, `programmePaidOut`, `fundTotals`). Random command lists drive
 * the model in the property tests; corrupting its stream must then be caught.
 */
import fc from "fast-check";
import {
  EVENT_CONTRACT,
  MONTHLY,
  type FundTotals,
  type LedgerEvent,
  type LedgerEventArgs,
  type LedgerEventName,
} from "../../../gateway/src/ledger";
import type { FundViews } from "../../../gateway/src/audit/sweep/funds";
import { periodAt } from "../../../lib/periods";
import { DisputeOutcome, ReceiptSource } from "../../../lib/receipts";
import { CaseStatus, ProgrammeKind, SkipReason } from "../../../lib/roles";

export const DAY = 86_400;
/** 10 January 2026, noon in Beijing. */
export const T0 = Date.UTC(2026, 0, 10, 4) / 1000;
export const REGIONS = [0n, 110000n, 110100n, 110105n] as const;
export const TOWNSHIP = 110105001000n;
/** The model's programmes: 1 monthly fixed (80,000 fen), 2 medical (bills). */
export const MONTHLY_PROGRAMME = 1;
export const MEDICAL_PROGRAMME = 2;
export const MONTHLY_AMOUNT = 80_000n;

const hex = (n: number | bigint, tag: number) =>
  `0x${tag.toString(16).padStart(2, "0")}${BigInt(n).toString(16).padStart(62, "0")}`;
/** A case id, bill id, transaction hash or digest numbered `n` (tags keep the kinds apart). */
export const caseIdOf = (n: number) => hex(n, 0xca);
export const billIdOf = (n: number) => hex(n, 0xb1);
export const digestOf = (n: number) => hex(n, 0xd1);
const txHashOf = (n: number) => hex(n, 0x7e);

/** Stamps events: each {@link tx} is a new block 12 seconds later. */
export class Chainlet {
  readonly events: LedgerEvent[] = [];
  block = 1_000;
  time = T0;
  #logIndex = 0;
  #txs = 0;
  #txHash = txHashOf(0);

  /** Starts a transaction in a new block; returns its hash. */
  tx(): string {
    this.block += 1;
    this.time += 12;
    this.#logIndex = 0;
    this.#txHash = txHashOf(++this.#txs);
    return this.#txHash;
  }

  /** Moves the clock on (the next transaction's block is that much later). */
  advance(seconds: number): void {
    this.time += seconds;
  }

  emit<N extends LedgerEventName>(name: N, args: LedgerEventArgs<N>): LedgerEvent {
    const e = {
      name,
      contract: EVENT_CONTRACT[name],
      args,
      blockNumber: this.block,
      logIndex: this.#logIndex++,
      txHash: this.#txHash,
      timestamp: this.time,
    } as unknown as LedgerEvent;
    this.events.push(e);
    return e;
  }
}

/** A payout the model made, with what happened to it since. */
export interface ModelPayout {
  caseId: string;
  programmeId: number;
  period: number;
  eventId: string;
  amount: bigint;
  status: "paid" | "settled" | "failed";
  clawedBack: bigint;
  receipt: "none" | "confirmed" | "not-received";
  dispute: "none" | "open" | "resolved";
}

export interface ModelCase {
  caseId: string;
  programmeId: number;
  status: CaseStatus;
  exit: boolean;
  firstPeriod: number;
  lastPeriod: number;
  paidPeriods: Set<number>;
}

/** The contracts' rules, small: emits only valid events and keeps the chain's views. */
export class ReliefModel {
  readonly chain = new Chainlet();
  readonly balances = new Map<bigint, bigint>(REGIONS.map((r) => [r, 0n]));
  readonly pools = new Map<number, bigint>([
    [MONTHLY_PROGRAMME, 0n],
    [MEDICAL_PROGRAMME, 0n],
  ]);
  readonly programmePaid = new Map<number, bigint>([
    [MONTHLY_PROGRAMME, 0n],
    [MEDICAL_PROGRAMME, 0n],
  ]);
  appropriated = 0n;
  paidOut = 0n;
  readonly cases: ModelCase[] = [];
  readonly payouts: ModelPayout[] = [];
  #bills = 0;
  #digests = 0;

  constructor() {
    for (const [programmeId, kind] of [
      [MONTHLY_PROGRAMME, ProgrammeKind.MonthlyFixed],
      [MEDICAL_PROGRAMME, ProgrammeKind.Medical],
    ] as const) {
      this.chain.tx();
      this.chain.emit("ProgrammeCreated", { programmeId, kind, region: 110105n, ruleVersion: this.#digest() });
    }
  }

  get events(): LedgerEvent[] {
    return this.chain.events;
  }

  get period(): number {
    return periodAt(this.chain.time);
  }

  /** The chain's views at the end of the stream. */
  views(): FundViews {
    return {
      regionBalance: async (region) => this.balances.get(region) ?? 0n,
      poolBalance: async (id) => this.pools.get(id) ?? 0n,
      programmePaidOut: async (id) => this.programmePaid.get(id) ?? 0n,
      fundTotals: async (): Promise<FundTotals> => ({
        appropriated: this.appropriated,
        held: this.appropriated - this.paidOut,
        paidOut: this.paidOut,
      }),
    };
  }

  #digest(): string {
    return digestOf(++this.#digests);
  }

  appropriate(amount: bigint): void {
    if (amount <= 0n) return;
    this.chain.tx();
    this.appropriated += amount;
    this.#add(0n, amount);
    this.chain.emit("FundsAppropriated", { amount, referenceDigest: this.#digest() });
  }

  /** Allocates `percent` of level `level`'s balance one level down (or returns it one level up). */
  move(level: number, percent: number, up: boolean): void {
    const from = REGIONS[level];
    const to = REGIONS[up ? level - 1 : level + 1];
    if (to === undefined) return;
    const amount = (this.balances.get(from)! * BigInt(percent)) / 100n;
    if (amount <= 0n) return;
    this.chain.tx();
    this.#add(from, -amount);
    this.#add(to, amount);
    const args = { fromRegion: from, toRegion: to, amount, referenceDigest: this.#digest() };
    this.chain.emit(up ? "FundsReturned" : "FundsAllocated", args);
  }

  /** Moves `percent` of the county's balance into a pool (or of the pool back to the county). */
  fund(programmeId: number, percent: number, back: boolean): void {
    const county = REGIONS[3];
    const source = back ? this.pools.get(programmeId)! : this.balances.get(county)!;
    const amount = (source * BigInt(percent)) / 100n;
    if (amount <= 0n) return;
    this.chain.tx();
    this.#add(county, back ? amount : -amount);
    this.pools.set(programmeId, this.pools.get(programmeId)! + (back ? -amount : amount));
    const args = { programmeId, region: county, amount, referenceDigest: this.#digest() };
    this.chain.emit(back ? "ProgrammeDefunded" : "ProgrammeFunded", args);
  }

  /** Submits, reviews and (after the notice) approves a case. */
  approveCase(programmeId: number): ModelCase {
    const caseId = caseIdOf(this.cases.length + 1);
    const c = this.chain;
    c.tx();
    c.emit("CaseSubmitted", {
      caseId,
      programmeId,
      region: TOWNSHIP,
      pseudonym: this.#digest(),
      recordDigest: this.#digest(),
      submitter: "0x0000000000000000000000000000000000000001",
    });
    c.tx();
    c.emit("CaseReviewed", { caseId, passed: true, reasonDigest: this.#digest(), noticeEnds: c.time + 7 * DAY });
    c.advance(7 * DAY + 60);
    c.tx();
    const first = this.period;
    const amount = programmeId === MONTHLY_PROGRAMME ? MONTHLY_AMOUNT : 5_000_000n;
    c.emit("CaseApproved", {
      caseId,
      amount,
      firstPeriod: first,
      lastPeriod: first + 11,
      ruleVersion: this.#digest(),
      standard: amount,
      householdSize: 1,
      incomePerHead: 0n,
    });
    const mc: ModelCase = {
      caseId,
      programmeId,
      status: CaseStatus.Approved,
      exit: false,
      firstPeriod: first,
      lastPeriod: first + 11,
      paidPeriods: new Set(),
    };
    this.cases.push(mc);
    return mc;
  }

  suspend(c: ModelCase): void {
    if (c.status !== CaseStatus.Approved && c.status !== CaseStatus.Exiting) return;
    this.chain.tx();
    c.status = CaseStatus.Suspended;
    this.chain.emit("CaseSuspended", { caseId: c.caseId, reasonDigest: this.#digest() });
  }

  resume(c: ModelCase): void {
    if (c.status !== CaseStatus.Suspended) return;
    this.chain.tx();
    c.status = c.exit ? CaseStatus.Exiting : CaseStatus.Approved;
    this.chain.emit("CaseResumed", { caseId: c.caseId, reasonDigest: this.#digest() });
  }

  exit(c: ModelCase): void {
    if (c.status !== CaseStatus.Approved && !(c.status === CaseStatus.Suspended && !c.exit)) return;
    this.chain.tx();
    c.lastPeriod = Math.min(c.lastPeriod, this.period + 6);
    c.exit = true;
    if (c.status === CaseStatus.Approved) c.status = CaseStatus.Exiting;
    this.chain.emit("CaseExited", { caseId: c.caseId, lastPeriod: c.lastPeriod, reasonDigest: this.#digest() });
  }

  /** Whether the case may be paid for `period` now (`Payouts._conditions`). */
  #payable(c: ModelCase, period: number): boolean {
    const active = c.status === CaseStatus.Approved || c.status === CaseStatus.Exiting;
    return active && period >= c.firstPeriod && period <= c.lastPeriod;
  }

  /** Runs the monthly payouts of the current period for every monthly case (one transaction). */
  payRun(): void {
    const period = this.period;
    const programmeId = MONTHLY_PROGRAMME;
    const listed = this.cases.filter((c) => c.programmeId === programmeId);
    if (listed.length === 0) return;
    this.chain.tx();
    let available = this.pools.get(programmeId)!;
    let paid = 0;
    let total = 0n;
    for (const c of listed) {
      let reason: SkipReason | undefined;
      if (c.status === CaseStatus.Suspended) reason = SkipReason.Suspended;
      else if (!this.#payable(c, period)) reason = SkipReason.Expired;
      else if (c.paidPeriods.has(period)) reason = SkipReason.AlreadyPaid;
      else if (this.#backlog(c, period)) reason = SkipReason.SettlementBacklog;
      else if (MONTHLY_AMOUNT > available) reason = SkipReason.InsufficientBudget;
      if (reason !== undefined) {
        this.chain.emit("PayoutSkipped", { caseId: c.caseId, eventId: MONTHLY, period, reason });
        continue;
      }
      available -= MONTHLY_AMOUNT;
      total += MONTHLY_AMOUNT;
      paid += 1;
      c.paidPeriods.add(period);
      this.#paid(c, period, MONTHLY, MONTHLY_AMOUNT);
    }
    this.pools.set(programmeId, available);
    this.programmePaid.set(programmeId, this.programmePaid.get(programmeId)! + total);
    this.paidOut += total;
    this.chain.emit("PayoutRunExecuted", {
      programmeId,
      eventId: MONTHLY,
      period,
      paid,
      skipped: listed.length - paid,
      total,
    });
  }

  /** Paying must not push an unsettled payout out of the 32-period window (`SettlementBacklog`). */
  #backlog(c: ModelCase, period: number): boolean {
    return this.payouts.some(
      (p) => p.caseId === c.caseId && p.eventId === MONTHLY && p.status === "paid" && period - p.period >= 32,
    );
  }

  /** Certifies a medical bill of a medical case and pays it at once. */
  payBill(c: ModelCase, amount: bigint): void {
    const period = this.period;
    const pool = this.pools.get(MEDICAL_PROGRAMME)!;
    if (c.programmeId !== MEDICAL_PROGRAMME || !this.#payable(c, period) || amount <= 0n || amount > pool) return;
    const billId = billIdOf(++this.#bills);
    this.chain.tx();
    this.pools.set(MEDICAL_PROGRAMME, pool - amount);
    this.programmePaid.set(MEDICAL_PROGRAMME, this.programmePaid.get(MEDICAL_PROGRAMME)! + amount);
    this.paidOut += amount;
    this.chain.emit("MedicalBillCertified", {
      billId,
      caseId: c.caseId,
      billAmount: amount,
      amount,
      billDigest: this.#digest(),
    });
    this.#paid(c, period, billId, amount);
  }

  #paid(c: ModelCase, period: number, eventId: string, amount: bigint): void {
    const prior = this.payouts.find((p) => p.caseId === c.caseId && p.eventId === eventId && p.period === period);
    this.chain.emit("PayoutExecuted", { caseId: c.caseId, programmeId: c.programmeId, eventId, period, amount });
    if (prior) {
      // Paid again after a failure: the receipt book still has what it had for the key.
      Object.assign(prior, { status: "paid", amount, clawedBack: 0n });
    } else {
      this.payouts.push({
        caseId: c.caseId,
        programmeId: c.programmeId,
        period,
        eventId,
        amount,
        status: "paid",
        clawedBack: 0n,
        receipt: "none",
        dispute: "none",
      });
    }
  }

  settle(p: ModelPayout): void {
    if (p.status !== "paid") return;
    this.chain.tx();
    p.status = "settled";
    this.chain.emit("PayoutSettled", {
      caseId: p.caseId,
      eventId: p.eventId,
      period: p.period,
      bankRefDigest: this.#digest(),
    });
  }

  fail(p: ModelPayout): void {
    if (p.status !== "paid") return;
    this.chain.tx();
    p.status = "failed";
    this.pools.set(p.programmeId, this.pools.get(p.programmeId)! + p.amount);
    this.programmePaid.set(p.programmeId, this.programmePaid.get(p.programmeId)! - p.amount);
    this.paidOut -= p.amount;
    const c = this.cases.find((x) => x.caseId === p.caseId)!;
    if (p.eventId === MONTHLY) c.paidPeriods.delete(p.period);
    this.chain.emit("PayoutFailed", {
      caseId: p.caseId,
      programmeId: p.programmeId,
      eventId: p.eventId,
      period: p.period,
      amount: p.amount,
      reasonDigest: this.#digest(),
    });
  }

  clawback(p: ModelPayout, percent: number): void {
    const amount = ((p.amount - p.clawedBack) * BigInt(percent)) / 100n;
    if (p.status !== "settled" || amount <= 0n) return;
    this.chain.tx();
    p.clawedBack += amount;
    this.pools.set(p.programmeId, this.pools.get(p.programmeId)! + amount);
    this.programmePaid.set(p.programmeId, this.programmePaid.get(p.programmeId)! - amount);
    this.paidOut -= amount;
    this.chain.emit("ClawbackRecorded", {
      caseId: p.caseId,
      programmeId: p.programmeId,
      eventId: p.eventId,
      period: p.period,
      amount,
      referenceDigest: this.#digest(),
    });
  }

  /** The beneficiary confirms (closing an open dispute) or says it did not arrive (opening one). */
  answer(p: ModelPayout, received: boolean): void {
    if (p.status === "failed" || p.receipt === "confirmed") return;
    if (!received && p.receipt !== "none") return;
    this.chain.tx();
    const key = { caseId: p.caseId, eventId: p.eventId, period: p.period };
    if (received) {
      p.receipt = "confirmed";
      this.chain.emit("ReceiptConfirmed", { ...key, source: ReceiptSource.Attestation, noteDigest: this.#digest() });
      if (p.dispute === "open") {
        p.dispute = "resolved";
        const outcome = DisputeOutcome.ResolvedByBeneficiary;
        this.chain.emit("DisputeResolved", { ...key, outcome, resolutionDigest: this.#digest() });
      }
    } else {
      p.receipt = "not-received";
      p.dispute = "open";
      this.chain.emit("DisputeOpened", {
        ...key,
        responseDeadline: this.chain.time + 15 * DAY,
        noteDigest: this.#digest(),
      });
    }
  }

  resolve(p: ModelPayout): void {
    if (p.dispute !== "open") return;
    this.chain.tx();
    p.dispute = "resolved";
    this.chain.emit("DisputeResolved", {
      caseId: p.caseId,
      eventId: p.eventId,
      period: p.period,
      outcome: DisputeOutcome.Dismissed,
      resolutionDigest: this.#digest(),
    });
  }

  nextMonth(): void {
    this.chain.advance(31 * DAY);
  }

  #add(region: bigint, amount: bigint): void {
    this.balances.set(region, (this.balances.get(region) ?? 0n) + amount);
  }
}

/** One step of a random run of the model. */
export type Command =
  | { t: "appropriate"; amount: bigint }
  | { t: "move"; level: number; percent: number; up: boolean }
  | { t: "fund"; programme: number; percent: number; back: boolean }
  | { t: "case"; programme: number }
  | { t: "suspend" | "resume" | "exit"; k: number }
  | { t: "pay" }
  | { t: "bill"; k: number; amount: bigint }
  | { t: "settle" | "fail" | "resolve"; k: number }
  | { t: "answer"; k: number; received: boolean }
  | { t: "clawback"; k: number; percent: number }
  | { t: "month" };

const k = fc.nat(1_000);
const percent = fc.integer({ min: 1, max: 100 });
export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant("appropriate" as const), amount: fc.bigInt(1n, 50_000_000n) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant("move" as const), level: fc.nat(3), percent, up: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("fund" as const),
      programme: fc.constantFrom(MONTHLY_PROGRAMME, MEDICAL_PROGRAMME),
      percent,
      back: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("case" as const),
      programme: fc.constantFrom(MONTHLY_PROGRAMME, MONTHLY_PROGRAMME, MEDICAL_PROGRAMME),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constantFrom("suspend" as const, "resume" as const, "exit" as const), k }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("pay" as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("bill" as const), k, amount: fc.bigInt(1n, 2_000_000n) }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constantFrom("settle" as const, "fail" as const, "resolve" as const), k }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("answer" as const), k, received: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("clawback" as const), k, percent }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("month" as const) }) },
);

/** A run of the model ({@link play} funds the pools first, so that payouts have something to pay). */
export const runArb = fc.array(commandArb, { minLength: 5, maxLength: 60, size: "medium" });

/** A random run with `scenario` somewhere in the middle. */
export const runWith = (scenario: readonly Command[]) =>
  fc
    .tuple(
      fc.array(commandArb, { maxLength: 30, size: "medium" }),
      fc.array(commandArb, { maxLength: 30, size: "medium" }),
    )
    .map(([before, after]) => [...before, ...scenario, ...after]);

/** Plays commands on a fresh model with funded pools and three approved cases (commands that do not apply are skipped, as the chain would refuse them). */
export function play(commands: readonly Command[]): ReliefModel {
  const m = new ReliefModel();
  m.appropriate(20_000_000n);
  m.move(0, 100, false);
  m.move(1, 100, false);
  m.move(2, 100, false);
  m.fund(MONTHLY_PROGRAMME, 50, false);
  m.fund(MEDICAL_PROGRAMME, 50, false);
  m.approveCase(MONTHLY_PROGRAMME);
  m.approveCase(MONTHLY_PROGRAMME);
  m.approveCase(MEDICAL_PROGRAMME);
  for (const c of commands) {
    // Negative indexes count from the end (-1: the latest), for tests that append a scenario to a random run.
    const pick = <T>(xs: T[], i: number): T | undefined =>
      xs.length === 0 ? undefined : i < 0 ? xs[xs.length + i] : xs[i % xs.length];
    switch (c.t) {
      case "appropriate":
        m.appropriate(c.amount);
        break;
      case "move":
        m.move(c.level, c.percent, c.up);
        break;
      case "fund":
        m.fund(c.programme, c.percent, c.back);
        break;
      case "case":
        m.approveCase(c.programme);
        break;
      case "suspend":
      case "resume":
      case "exit": {
        const x = pick(m.cases, c.k);
        if (x) m[c.t](x);
        break;
      }
      case "pay":
        m.payRun();
        break;
      case "bill": {
        const x = pick(
          m.cases.filter((y) => y.programmeId === MEDICAL_PROGRAMME),
          c.k,
        );
        if (x) m.payBill(x, c.amount);
        break;
      }
      case "settle":
      case "fail":
      case "resolve": {
        const p = pick(m.payouts, c.k);
        if (p) m[c.t](p);
        break;
      }
      case "answer": {
        const p = pick(m.payouts, c.k);
        if (p) m.answer(p, c.received);
        break;
      }
      case "clawback": {
        const p = pick(m.payouts, c.k);
        if (p) m.clawback(p, c.percent);
        break;
      }
      case "month":
        m.nextMonth();
        break;
    }
  }
  return m;
}
