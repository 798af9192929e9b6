/**
 * The monthly payout loop reads and writes a case's entitlement as one raw storage word
 * (contracts/libraries/PackedEntitlement.sol) while every other path goes through the compiler's struct layout
 * (`Cases.Entitlement`). If the library's offsets and the compiler's packing ever disagreed, a payout would
 * write fields into its neighbours. Random approved cases are driven through payouts, settlements, failures,
 * suspensions, exits and re-certifications; after every call each field of `caseRecord` (decoded by the
 * compiler) must equal a TypeScript model of the entitlement, and the raw word in storage, decoded with the
 * library's table of offsets, must say the same.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { CaseStatus, SkipReason } from "../../lib/roles";
import { periodAt, periodStart } from "../../lib/periods";
import { DAY, PROGRAMMES, REGION, assessment, deployFunded, digest, newCase, topUpPool } from "../helpers/fixture";

const ZERO = ethers.ZeroHash;
const WINDOW = 32;
const UINT40_MAX = (1n << 40n) - 1n;
const INCOME = 23_700n; // the default assessment: a gap of 500 yuan a head under the 低保 standard
const coder = ethers.AbiCoder.defaultAbiCoder();

/** A fixed monthly programme whose eligibility (60 months) outlasts the 32-period window. */
const LONG = {
  ...PROGRAMMES.tekun,
  validityMonths: 60,
  exitPeriods: 3,
  exclusionGroup: 0,
  ruleVersion: digest("packed-long"),
};

type Kind = "dibao" | "long" | "temporary";
/** The cases: two 低保 households of different sizes, a long fixed entitlement, and the largest temporary sum. */
const CASES: { kind: Kind; size: number; amount: bigint }[] = [
  { kind: "dibao", size: 3, amount: 150_000n },
  { kind: "dibao", size: 1, amount: 50_000n },
  { kind: "long", size: 3, amount: LONG.amount },
  { kind: "temporary", size: 3, amount: UINT40_MAX }, // every bit of the 40-bit amount set
];
const rules = { dibao: PROGRAMMES.dibao, long: LONG, temporary: PROGRAMMES.temporary };

/** The entitlement as the model keeps it; `exit` mirrors the ledger's record of a decided exit. */
interface Entitlement {
  status: CaseStatus;
  programmeId: bigint;
  amount: bigint;
  noticeEnds: bigint;
  firstPeriod: number;
  lastPeriod: number;
  paidThrough: number;
  paidMask: number;
  settledMask: number;
  exit: boolean;
}

/** The nine fields of `Cases.Entitlement`, in the order of the struct. */
const FIELDS = [
  "status",
  "programmeId",
  "amount",
  "noticeEnds",
  "firstPeriod",
  "lastPeriod",
  "paidThrough",
  "paidMask",
  "settledMask",
] as const;

/** The library's layout: [low bit, width] of each field, as PackedEntitlement.sol documents it. */
const LAYOUT: Record<(typeof FIELDS)[number], [bigint, bigint]> = {
  status: [0n, 8n],
  programmeId: [8n, 32n],
  amount: [40n, 40n],
  noticeEnds: [80n, 40n],
  firstPeriod: [120n, 24n],
  lastPeriod: [144n, 24n],
  paidThrough: [168n, 24n],
  paidMask: [192n, 32n],
  settledMask: [224n, 32n],
};

const decode = (word: bigint) =>
  FIELDS.map((f) => {
    const [shift, bits] = LAYOUT[f];
    return (word >> shift) & ((1n << bits) - 1n);
  });

const asFields = (e: Entitlement) =>
  [
    e.status,
    e.programmeId,
    e.amount,
    e.noticeEnds,
    e.firstPeriod,
    e.lastPeriod,
    e.paidThrough,
    e.paidMask,
    e.settledMask,
  ].map((v) => BigInt(v));

// ---------------------------------------------------------------------------------------------------------
// The model: what Payouts._payPeriod and Settlement do to the masks, in plain TypeScript
// ---------------------------------------------------------------------------------------------------------

const u32 = (x: number) => x >>> 0;

/** Pays `period` now, or says why it is skipped. */
function pay(e: Entitlement, period: number, now: number): SkipReason | null {
  if (e.status === CaseStatus.Suspended) return SkipReason.Suspended;
  if (e.status !== CaseStatus.Approved && e.status !== CaseStatus.Exiting) return SkipReason.NotApproved;
  if (BigInt(now) < e.noticeEnds) return SkipReason.NoticeOpen;
  if (period < e.firstPeriod) return SkipReason.NotStarted;
  if (period > e.lastPeriod) return SkipReason.Expired;
  if (period > e.paidThrough) {
    const shift = period - e.paidThrough;
    const unsettled = u32(e.paidMask & ~e.settledMask);
    if (shift >= WINDOW ? unsettled !== 0 : unsettled >>> (WINDOW - shift) !== 0) return SkipReason.SettlementBacklog;
    e.paidMask = shift >= WINDOW ? 1 : u32((e.paidMask << shift) | 1);
    e.settledMask = shift >= WINDOW ? 0 : u32(e.settledMask << shift);
    e.paidThrough = period;
  } else {
    const offset = e.paidThrough - period;
    if (offset >= WINDOW) return SkipReason.OutsideWindow;
    const bit = u32(1 << offset);
    if ((e.paidMask & bit) !== 0) return SkipReason.AlreadyPaid;
    e.paidMask = u32(e.paidMask | bit);
  }
  return null;
}

/** The bit of `period`, if it is paid, unsettled and inside the window (what settling or failing needs). */
function awaitingBit(e: Entitlement, period: number): number | null {
  if (period > e.paidThrough || e.paidThrough - period >= WINDOW) return null;
  const bit = u32(1 << (e.paidThrough - period));
  return (e.paidMask & bit) !== 0 && (e.settledMask & bit) === 0 ? bit : null;
}

/** Paid, unsettled periods of a case, latest first. */
function unsettled(e: Entitlement): number[] {
  const out: number[] = [];
  for (let i = 0; i < WINDOW; i++) if (awaitingBit(e, e.paidThrough - i) !== null) out.push(e.paidThrough - i);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------------------------

/** `deployFunded()`, the long programme, pools that cover anything, and the four cases approved. */
async function packedWorld() {
  const fx = await deployFunded();
  const { ledger, actors } = fx;
  await ledger.connect(actors.approver).createProgramme(LONG);
  const programmes: Record<string, bigint> = { ...fx.programmes, long: BigInt(await ledger.programmeCount()) };
  await ledger.connect(actors.centralFinance).appropriate(4n * UINT40_MAX, digest("large"));
  await topUpPool(fx, programmes.temporary, 2n * UINT40_MAX);
  await topUpPool(fx, programmes.long, 100_000_000n);
  // Start at 06:00 China time on the 1st of a month, so that the approvals (after a week's notice) and every
  // later call stay inside the month the model thinks they are in.
  await time.increaseTo(periodStart(periodAt(await time.latest()) + 1) + 6 * 3600);

  const cases = CASES.map((c) => ({ ...c, ...newCase(`packed-${c.kind}`), programmeId: programmes[c.kind] }));
  for (const c of cases) {
    await ledger
      .connect(actors.caseworker)
      .submitCase(c.caseId, c.programmeId, REGION.township, c.pseudonym, digest(`record:${c.caseId}`));
    await ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("reviewed"));
  }
  await time.increase(PROGRAMMES.dibao.noticePeriod);
  for (const c of cases) {
    const a = assessment({ householdSize: c.size, incomePerHead: INCOME, amount: c.amount });
    await ledger.connect(actors.approver).approveCase(c.caseId, a, rules[c.kind].ruleVersion);
  }
  const approvedIn = periodAt(await time.latest());
  const noticeEnds = await Promise.all(cases.map(async (c) => (await ledger.caseRecord(c.caseId)).noticeEnds));

  // The mapping `_entitlements` holds case `id` at keccak256(id, base) for its storage slot `base`: the slot
  // whose word reads as the first case's status and programme (checked for every field from then on).
  const wordAt = (caseId: string, base: number) =>
    ethers.provider.getStorage(ledger, ethers.keccak256(coder.encode(["bytes32", "uint256"], [caseId, base])));
  let base = -1;
  for (let s = 0; s < 100 && base < 0; s++) {
    const [status, programmeId] = decode(BigInt(await wordAt(cases[0].caseId, s)));
    if (status === BigInt(CaseStatus.Approved) && programmeId === cases[0].programmeId) base = s;
  }
  expect(base, "no storage slot holds the entitlements").to.be.greaterThanOrEqual(0);
  return { ...fx, programmes, cases, approvedIn, noticeEnds, word: (caseId: string) => wordAt(caseId, base) };
}

type World = Awaited<ReturnType<typeof packedWorld>>;

// ---------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------

type Op =
  | { kind: "pay"; c: number; delta: number }
  | { kind: "payDibao"; delta: number } // both 低保 cases in one run
  | { kind: "settle"; c: number; pick: number; count: number }
  | { kind: "fail"; c: number; pick: number }
  | { kind: "suspend" | "resume" | "exit"; c: number }
  | { kind: "recertify"; c: number; size: number }
  | { kind: "months"; n: number; day: number }
  | { kind: "edge"; n: number; back: number }; // about a window's length on, then the long case now and back

function weighted<T>(...choices: [number, T][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

const c = fc.integer({ min: 0, max: CASES.length - 1 });
const delta = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: -1 }) },
  { weight: 2, arbitrary: fc.integer({ min: -34, max: -4 }) },
  { weight: 1, arbitrary: fc.constant(1) }, // not due yet: the run reverts
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("pay" as const), c, delta }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("payDibao" as const), delta }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      c,
      pick: fc.nat({ max: 40 }),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fail" as const), c, pick: fc.nat({ max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("suspend" as const), c }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("resume" as const), c }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("exit" as const), c }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("recertify" as const), c, size: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("edge" as const),
      n: fc.integer({ min: 28, max: 33 }),
      back: fc.integer({ min: 29, max: 33 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("months" as const),
      n: weighted([6, 1], [2, 2], [1, 5], [1, 12], [1, 31]),
      day: fc.integer({ min: 0, max: 26 }),
    }),
  },
);

const stats = { paid: 0, skipped: new Map<SkipReason, number>(), settled: 0, failed: 0, restarted: 0, reverted: 0 };

class Runner {
  constructor(
    readonly w: World,
    readonly model: Entitlement[],
  ) {}

  /** Every field of every case, from `caseRecord` and from the raw word, against the model. */
  async check(after: string) {
    for (const [i, c] of this.w.cases.entries()) {
      const r = await this.w.ledger.caseRecord(c.caseId);
      const fromRecord = FIELDS.map((f) => BigInt(r[f]));
      const fromWord = decode(BigInt(await this.w.word(c.caseId)));
      const model = asFields(this.model[i]);
      expect(fromRecord, `caseRecord of case ${i} after ${after}`).to.deep.equal(model);
      expect(fromWord, `raw entitlement word of case ${i} after ${after}`).to.deep.equal(model);
    }
  }

  async now() {
    return time.latest();
  }

  async mustRevert(tx: Promise<ContractTransactionResponse>, error: string) {
    stats.reverted++;
    await expect(tx).to.be.revertedWithCustomError(this.w.ledger, error);
  }

  /** A payout run for `period` over `which` cases (all of one programme): events exactly as the model says. */
  async run(which: number[], delta: number) {
    const { ledger, cases } = this.w;
    const now = await this.now();
    const current = periodAt(now);
    const period = current + delta;
    const programmeId = cases[which[0]].programmeId;
    const ids = which.map((i) => cases[i].caseId);
    const tx = ledger.executePayouts(programmeId, period, ids);
    if (period > current) return this.mustRevert(tx, "LedgerPeriodNotDue");

    const receipt = await (await tx).wait();
    const at = (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp;
    const expected: unknown[][] = [];
    let total = 0n;
    for (const i of which) {
      const reason = pay(this.model[i], period, at);
      if (reason === null) {
        expected.push(["PayoutExecuted", cases[i].caseId, programmeId, ZERO, BigInt(period), this.model[i].amount]);
        total += this.model[i].amount;
        stats.paid++;
      } else {
        expected.push(["PayoutSkipped", cases[i].caseId, ZERO, BigInt(period), BigInt(reason)]);
        stats.skipped.set(reason, (stats.skipped.get(reason) ?? 0) + 1);
      }
    }
    const paid = BigInt(expected.filter((e) => e[0] === "PayoutExecuted").length);
    expected.push(["PayoutRunExecuted", programmeId, ZERO, BigInt(period), paid, BigInt(which.length) - paid, total]);
    const events = receipt!.logs.map((log) => {
      const e = ledger.interface.parseLog(log)!;
      return [e.name, ...e.args];
    });
    expect(events, `run of period ${period}`).to.deep.equal(expected);
  }

  async step(o: Op) {
    const { ledger, actors, cases } = this.w;
    const e = "c" in o ? this.model[o.c] : undefined;
    const caseId = "c" in o ? cases[o.c].caseId : ZERO;
    const approver = ledger.connect(actors.approver);
    switch (o.kind) {
      case "pay":
        return this.run([o.c], o.delta);
      case "payDibao":
        return this.run([0, 1], o.delta);
      case "settle": {
        const open = unsettled(e!);
        // Settle some unsettled periods; with none, name the latest paid one (already settled or never paid).
        const periods =
          open.length === 0
            ? [e!.paidThrough]
            : [...new Set(Array.from({ length: o.count }, (_, k) => open[(o.pick + k) % open.length]))];
        const keys = periods.map((period) => ({ caseId, period, eventId: ZERO }));
        const tx = ledger.connect(actors.paymentAgent).confirmSettlements(digest("bank"), keys);
        if (open.length === 0) return this.mustRevert(tx, "LedgerNotAwaitingSettlement");
        await (await tx).wait();
        for (const period of periods) e!.settledMask = u32(e!.settledMask | awaitingBit(e!, period)!);
        stats.settled += periods.length;
        return;
      }
      case "fail": {
        const open = unsettled(e!);
        const period = open.length === 0 ? e!.paidThrough : open[o.pick % open.length];
        const tx = ledger
          .connect(actors.paymentAgent)
          .reportFailure({ caseId, period, eventId: ZERO }, digest("account closed"));
        const bit = awaitingBit(e!, period);
        if (bit === null) return this.mustRevert(tx, "LedgerNotAwaitingSettlement");
        await (await tx).wait();
        e!.paidMask = u32(e!.paidMask & ~bit);
        stats.failed++;
        return;
      }
      case "suspend": {
        const tx = approver.suspendCase(caseId, digest("hold"));
        if (e!.status !== CaseStatus.Approved && e!.status !== CaseStatus.Exiting) {
          return this.mustRevert(tx, "LedgerInvalidCaseStatus");
        }
        await (await tx).wait();
        e!.status = CaseStatus.Suspended;
        return;
      }
      case "resume": {
        const tx = approver.resumeCase(caseId, digest("resume"));
        if (e!.status !== CaseStatus.Suspended) return this.mustRevert(tx, "LedgerInvalidCaseStatus");
        await (await tx).wait();
        e!.status = e!.exit ? CaseStatus.Exiting : CaseStatus.Approved;
        return;
      }
      case "exit": {
        const tx = approver.exitCase(caseId, digest("exit"));
        const allowed = e!.status === CaseStatus.Approved || (e!.status === CaseStatus.Suspended && !e!.exit);
        if (!allowed) return this.mustRevert(tx, "LedgerInvalidCaseStatus");
        await (await tx).wait();
        const end = periodAt(await this.now()) + rules[cases[o.c].kind].exitPeriods;
        if (end < e!.lastPeriod) e!.lastPeriod = end;
        e!.exit = true;
        if (e!.status === CaseStatus.Approved) e!.status = CaseStatus.Exiting;
        return;
      }
      case "recertify": {
        const kind = cases[o.c].kind;
        const a = assessment({ householdSize: o.size, incomePerHead: INCOME });
        const tx = approver.recertifyCase(caseId, a, rules[kind].ruleVersion, digest("annual"));
        if (e!.status !== CaseStatus.Approved || kind === "temporary") {
          return this.mustRevert(tx, "LedgerInvalidCaseStatus");
        }
        const amount = kind === "dibao" ? (PROGRAMMES.dibao.amount - INCOME) * BigInt(o.size) : LONG.amount;
        if (amount !== e!.amount && u32(e!.paidMask & ~e!.settledMask) !== 0) {
          return this.mustRevert(tx, "LedgerUnsettledPayouts");
        }
        await (await tx).wait();
        const current = periodAt(await this.now());
        if (e!.lastPeriod < current) {
          e!.firstPeriod = current;
          stats.restarted++;
        }
        e!.amount = amount;
        e!.lastPeriod = current + rules[kind].validityMonths - 1;
        return;
      }
      case "months": {
        const target = periodStart(periodAt(await this.now()) + o.n) + o.day * DAY + 6 * 3600;
        return time.increaseTo(target);
      }
      case "edge": {
        await time.increaseTo(periodStart(periodAt(await this.now()) + o.n) + 6 * 3600);
        await this.run([2], 0);
        return this.run([2], -o.back);
      }
    }
  }
}

describe("PackedEntitlement: the payout loop's raw word matches the compiler's struct layout", function () {
  it("random payouts, settlements, failures, suspensions, exits and re-certifications keep every field of caseRecord and of the raw word as modelled", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 15, maxLength: 35 }), async (ops) => {
        const w = await loadFixture(packedWorld);
        const model: Entitlement[] = w.cases.map((c, i) => ({
          status: CaseStatus.Approved,
          programmeId: c.programmeId,
          amount: c.amount,
          noticeEnds: w.noticeEnds[i],
          firstPeriod: w.approvedIn,
          lastPeriod: c.kind === "temporary" ? w.approvedIn : w.approvedIn + rules[c.kind].validityMonths - 1,
          paidThrough: 0,
          paidMask: 0,
          settledMask: 0,
          exit: false,
        }));
        const runner = new Runner(w, model);
        await runner.check("approval");
        for (const [n, o] of ops.entries()) {
          await runner.step(o);
          await runner.check(`step ${n}: ${JSON.stringify(o)}`);
        }
      }),
      { numRuns: 30, seed: Number(process.env.PROPERTY_SEED ?? 20_261_201) },
    );

    if (process.env.PROPERTY_STATS) console.log(stats);
    // Not vacuous: payouts were made, settled and failed, and runs skipped for the mask-driven reasons.
    expect(stats.paid).to.be.greaterThan(0);
    expect(stats.settled).to.be.greaterThan(0);
    expect(stats.failed).to.be.greaterThan(0);
    expect(stats.restarted, "no late re-certification").to.be.greaterThan(0);
    for (const reason of [
      SkipReason.AlreadyPaid,
      SkipReason.NotStarted,
      SkipReason.Expired,
      SkipReason.OutsideWindow,
      SkipReason.SettlementBacklog,
    ]) {
      expect(stats.skipped.get(reason) ?? 0, `no run skipped for ${SkipReason[reason]}`).to.be.greaterThan(0);
    }
  });
});
