import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import { CaseStatus, SkipReason } from "../../lib/roles";
import { periodAt, periodStart } from "../../lib/periods";
import { contains } from "../../lib/regions";
import {
  DAY,
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  type Actors,
  type Funded,
  assessment,
  deployFunded,
  digest,
  topUpPool,
} from "../helpers/fixture";

/**
 * Random sequences of operations on the ledger by random actors, the wrong ones included: the life of eight
 * cases in six programmes, time passing, payout runs for any period and any list of cases, keepers, medical
 * bills, disasters, settlement, failures, pool funding and clawbacks. After every call:
 *  (a) appropriated == Σ region balances + Σ pools + paid out, from the views;
 *  (b) no (case, period) and no (case, event) is paid twice unless the earlier payout failed;
 *  (c) every payout is for a case that was approved (or exiting) with its notice over, in a period of its
 *      eligibility, with the amount its rule gives;
 *  (d) every balance equals what the events say it is, never below zero, and the net paid out of each
 *      programme is what its live payouts and clawbacks add up to; a clawback recovers only a settled payout,
 *      at most its amount in all, and `clawedBack` says so;
 *  (e) a call that reverts changes none of the views tracked.
 * The ledger's listings (unsettledPayouts, casePayouts) must also match the payouts the events describe, and
 * each run's PayoutRunExecuted (event id, period, counts, total) the payouts and skips it emitted.
 *
 * Seeded: PROPERTY_SEED and PROPERTY_RUNS override the defaults.
 */

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_128);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
const ZERO = ethers.ZeroHash;
const WINDOW = 32;
const NEIGHBOUR_TOWNSHIP = 110105002000n;
/** Every region a run can move money through (and one it cannot, as a control). */
const POOL = 1_000_000n;
const REGIONS = [REGION.central, REGION.province, REGION.city, REGION.county, REGION.otherCounty];

type ProgrammeName = keyof typeof PROGRAMMES | "long";
const PROGRAMME_NAMES: ProgrammeName[] = ["dibao", "tekun", "temporary", "medical", "disaster", "long"];
/** A fixed monthly programme whose eligibility outlasts the 32-period window. */
const LONG = {
  ...PROGRAMMES.tekun,
  validityMonths: 40,
  exitPeriods: 3,
  noticePeriod: 2 * DAY,
  exclusionGroup: 0,
  ruleVersion: digest("long-2026"),
};
const ruleOf = (name: ProgrammeName) => (name === "long" ? LONG : PROGRAMMES[name]);

interface Slot {
  programme: ProgrammeName;
  region: bigint;
  pseudonym: string;
}
/** The cases: slots 0 and 2 share a pseudonym in one exclusion group (低保 and 特困 exclude each other). */
const SLOTS: Slot[] = [
  { programme: "dibao", region: REGION.township, pseudonym: "x" },
  { programme: "dibao", region: REGION.township, pseudonym: "y" },
  { programme: "tekun", region: REGION.township, pseudonym: "x" },
  { programme: "temporary", region: REGION.township, pseudonym: "t" },
  { programme: "medical", region: REGION.township, pseudonym: "m" },
  { programme: "disaster", region: REGION.township, pseudonym: "d1" },
  { programme: "disaster", region: NEIGHBOUR_TOWNSHIP, pseudonym: "d2" },
  { programme: "long", region: REGION.township, pseudonym: "l" },
];
const CASE_IDS = SLOTS.map((_, i) => digest(`property-case:${i}`));
const UNKNOWN_CASE = digest("property-case:unknown");
const caseIdOf = (slot: number) => (slot < SLOTS.length ? CASE_IDS[slot] : UNKNOWN_CASE);
/** Slots approved in the fixture, so that payouts can happen from the first step. */
const PRE_APPROVED = [0, 1, 4, 5, 7];
const BILLS = [0, 1, 2, 3].map((i) => digest(`bill:${i}`));
const DISASTERS = [0, 1, 2].map((i) => digest(`disaster:${i}`));
const DISASTER_REGIONS = [REGION.county, REGION.township, NEIGHBOUR_TOWNSHIP, REGION.otherCounty];

type ActorName = keyof Actors;

// ---------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------

type Op =
  | { kind: "submit"; slot: number; actor: ActorName }
  | { kind: "review"; slot: number; actor: ActorName; passed: boolean }
  | { kind: "objection"; slot: number; actor: ActorName; objection: number }
  | { kind: "resolve"; slot: number; actor: ActorName; objection: number; upheld: boolean }
  | { kind: "approve" | "recertify"; slot: number; actor: ActorName; size: number; income: bigint; amount: bigint }
  | { kind: "reject" | "suspend" | "resume" | "exit"; slot: number; actor: ActorName }
  | { kind: "onboard"; slot: number }
  | { kind: "days"; days: number }
  | { kind: "months"; months: number; day: number }
  | { kind: "execute"; programme: number; delta: number; slots: CasePick[] }
  | { kind: "upkeep"; programme: number }
  | { kind: "edge"; months: number; back: number }
  | { kind: "bill"; slot: number; bill: number; amount: bigint; actor: ActorName }
  | { kind: "declare"; disaster: number; programme: number; region: number; actor: ActorName }
  | { kind: "relief"; disaster: number; slots: CasePick[] }
  | { kind: "settle"; picks: number[]; corrupt: "none" | "period" | "duplicate"; actor: ActorName }
  | { kind: "fail"; pick: number; settledOne: boolean; actor: ActorName }
  | { kind: "fund" | "defund"; programme: number; mode: number; actor: ActorName }
  | { kind: "clawback"; target: "settled" | "unsettled" | "never"; pick: number; mode: number; actor: ActorName }
  | { kind: "allocate"; level: number; mode: number; wrongActor: ActorName | null };

/** An operation, and whether the administrator pauses the ledger around it (one call, so sequences go on). */
interface Step {
  op: Op;
  paused: boolean;
}

/** One of `choices`, each `[weight, value]`: the right actors weigh more so that sequences get somewhere. */
function weighted<T>(...choices: [number, T][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

const slot = fc.integer({ min: 0, max: SLOTS.length - 1 });
const caseworker = weighted<ActorName>(
  [5, "caseworker"],
  [2, "countyCaseworker"],
  [1, "otherCaseworker"],
  [1, "approver"],
  [1, "stranger"],
);
const approver = weighted<ActorName>(
  [5, "approver"],
  [2, "approver2"],
  [1, "townshipApprover"],
  [1, "otherApprover"],
  [1, "caseworker"],
);
const finance = weighted<ActorName>([6, "countyFinance"], [1, "cityFinance"], [1, "stranger"]);
const agent = weighted<ActorName>([6, "paymentAgent"], [1, "otherPaymentAgent"], [1, "caseworker"]);
const programme = fc.integer({ min: 0, max: PROGRAMME_NAMES.length - 1 });
/** A case named for a run: mostly one of the programme's own (`own`), else any slot or the unknown case. */
type CasePick = { own: boolean; n: number };
const caseList = fc.array(fc.record({ own: weighted([3, true], [1, false]), n: fc.nat({ max: SLOTS.length * 4 }) }), {
  maxLength: 5,
});
const lifecycle = (kind: "reject" | "suspend" | "resume" | "exit") =>
  fc.record({ kind: fc.constant(kind), slot, actor: approver });
const decision = (kind: "approve" | "recertify") =>
  fc.record({
    kind: fc.constant(kind),
    slot,
    actor: approver,
    size: fc.integer({ min: 1, max: 4 }),
    income: weighted([2, 0n], [3, 23_700n], [2, 50_000n], [1, 80_000n]), // 80,000 is above the standard
    amount: weighted([3, 200_000n], [1, 600_000n]), // temporary: 6,000 yuan is above a township's ceiling
  });

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("submit" as const), slot, actor: caseworker }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("review" as const),
      slot,
      actor: caseworker,
      passed: weighted([5, true], [1, false]),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("objection" as const),
      slot,
      actor: caseworker,
      objection: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("resolve" as const),
      slot,
      actor: approver,
      objection: fc.integer({ min: 0, max: 1 }),
      upheld: weighted([3, false], [1, true]),
    }),
  },
  { weight: 3, arbitrary: decision("approve") },
  { weight: 1, arbitrary: decision("recertify") },
  { weight: 1, arbitrary: lifecycle("reject") },
  { weight: 2, arbitrary: lifecycle("suspend") },
  { weight: 2, arbitrary: lifecycle("resume") },
  { weight: 1, arbitrary: lifecycle("exit") },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("onboard" as const), slot }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("days" as const), days: fc.integer({ min: 1, max: 20 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("months" as const),
      months: weighted([6, 1], [3, 2], [2, 4], [2, 12], [1, 31]), // the long programme outlasts the window
      day: fc.integer({ min: 0, max: 27 }),
    }),
  },
  {
    weight: 9,
    arbitrary: fc.record({
      kind: fc.constant("execute" as const),
      programme: weighted([4, 0], [2, 1], [2, 2], [3, 5], [1, 3], [1, 4]),
      delta: fc.oneof(
        { weight: 5, arbitrary: fc.constant(0) },
        { weight: 3, arbitrary: fc.integer({ min: -3, max: -1 }) },
        { weight: 1, arbitrary: fc.integer({ min: -35, max: -4 }) },
        { weight: 1, arbitrary: fc.integer({ min: -33, max: -30 }) }, // the edge of the 32-period window
        { weight: 1, arbitrary: fc.constant(1) },
      ),
      slots: caseList,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("edge" as const),
      months: fc.integer({ min: 29, max: 33 }),
      back: fc.integer({ min: 30, max: 33 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("upkeep" as const), programme: weighted([3, 0], [1, 1], [1, 5], [1, 3]) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("bill" as const),
      slot: weighted([6, 4], [1, 0], [1, 5]),
      bill: fc.integer({ min: 0, max: BILLS.length - 1 }),
      amount: weighted([1, 50_000n], [1, 100_000n], [3, 500_000n], [3, 2_000_000n], [1, 6_000_000n]),
      actor: weighted<ActorName>([6, "medicalOffice"], [1, "approver"]),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("declare" as const),
      disaster: fc.integer({ min: 0, max: DISASTERS.length - 1 }),
      programme: weighted([6, 4], [1, 0]),
      region: fc.integer({ min: 0, max: DISASTER_REGIONS.length - 1 }),
      actor: approver,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("relief" as const),
      disaster: weighted([4, 0], [1, 1], [1, 2]),
      slots: caseList,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      picks: fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 4 }),
      corrupt: weighted<"none" | "period" | "duplicate">([8, "none"], [1, "period"], [1, "duplicate"]),
      actor: agent,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("fail" as const),
      pick: fc.nat({ max: 50 }),
      settledOne: weighted([5, false], [1, true]),
      actor: agent,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("fund" as const),
      programme,
      mode: fc.integer({ min: 0, max: 3 }),
      actor: finance,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("defund" as const),
      programme,
      mode: fc.integer({ min: 0, max: 4 }),
      actor: finance,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("clawback" as const),
      // mostly a settled payout; else one still awaiting settlement, or one never made
      target: weighted<"settled" | "unsettled" | "never">([6, "settled"], [1, "unsettled"], [1, "never"]),
      pick: fc.nat({ max: 50 }),
      mode: fc.integer({ min: 0, max: 4 }),
      actor: finance,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("allocate" as const),
      level: fc.integer({ min: 0, max: 2 }),
      mode: fc.integer({ min: 0, max: 2 }),
      wrongActor: weighted<ActorName | null>([5, null], [1, "countyFinance"], [1, "stranger"]),
    }),
  },
);
const step: fc.Arbitrary<Step> = fc.record({ op, paused: weighted([1, true], [19, false]) });

// ---------------------------------------------------------------------------------------------------------
// The world, its views and the model the events describe
// ---------------------------------------------------------------------------------------------------------

/**
 * `deployFunded()` plus the long programme, a fixed start date, five cases approved, a disaster declared, and
 * pools cut down to 10,000 yuan each.
 */
async function propertyWorld() {
  const fx = await deployFunded();
  const { ledger, actors } = fx;
  await ledger.connect(actors.approver).createProgramme(LONG);
  const programmes: Record<ProgrammeName, bigint> = { ...fx.programmes, long: BigInt(await ledger.programmeCount()) };
  await topUpPool(fx, programmes.long, POOL_FUNDING);
  // Start at 06:00 China time on 1 January 2030 (or the next month, if that date has passed), far from midnight.
  const now = await time.latest();
  const epoch = periodStart(2030 * 12);
  await time.increaseTo(epoch > now ? epoch + 6 * 3600 : periodStart(periodAt(now) + 1) + 6 * 3600);
  const world: World = { ...fx, programmes };
  for (const s of PRE_APPROVED) {
    await submit(world, s, "caseworker");
    await ledger.connect(actors.caseworker).reviewCase(CASE_IDS[s], true, digest("reviewed"));
  }
  await time.increase(PROGRAMMES.dibao.noticePeriod);
  for (const s of PRE_APPROVED) {
    const rule = ruleOf(SLOTS[s].programme);
    await ledger.connect(actors.approver).approveCase(CASE_IDS[s], assessment(), rule.ruleVersion);
  }
  await ledger
    .connect(actors.approver)
    .declareDisaster(DISASTERS[0], programmes.disaster, REGION.township, digest("declared"));
  // Small pools (10,000 yuan each), so that runs meet empty pools and finance has to top them up.
  for (const id of Object.values(programmes)) {
    await ledger.connect(actors.countyFinance).defundProgramme(id, POOL_FUNDING - POOL, digest("small pools"));
  }
  return world;
}

type World = Omit<Funded, "programmes"> & { programmes: Record<ProgrammeName, bigint> };

function submit(w: World, s: number, actor: ActorName) {
  const { programme: name, region, pseudonym } = SLOTS[s];
  return w.ledger
    .connect(w.actors[actor])
    .submitCase(CASE_IDS[s], w.programmes[name], region, digest(`pseudonym:${pseudonym}`), digest(`record:${s}`));
}

/** A case as `caseRecord` returns it, the fields the properties need. */
interface CaseState {
  status: number;
  programmeId: bigint;
  region: bigint;
  amount: bigint;
  noticeEnds: bigint;
  firstPeriod: number;
  lastPeriod: number;
  paidThrough: number;
  submitter: string;
}

/** Every view the properties track, read after each call. */
interface Snapshot {
  regions: bigint[];
  pools: bigint[];
  paid: bigint[];
  totals: bigint[];
  cases: CaseState[];
  raw: unknown[]; // everything else read, compared whole when a call reverts
}

/** Deep copy of an ethers `Result` (or anything) as plain arrays. */
function plain(x: unknown): unknown {
  return Array.isArray(x) ? [...x].map(plain) : x;
}

async function snapshot(w: World): Promise<Snapshot> {
  const { ledger, registry } = w;
  const ids = PROGRAMME_NAMES.map((n) => w.programmes[n]);
  const [regions, pools, paid, totals, records, listings, unsettled, paused] = await Promise.all([
    Promise.all(REGIONS.map((r) => ledger.regionBalance(r))),
    Promise.all(ids.map((id) => ledger.poolBalance(id))),
    Promise.all(ids.map((id) => ledger.programmePaidOut(id))),
    ledger.fundTotals(),
    Promise.all(CASE_IDS.map((id) => ledger.caseRecord(id))),
    Promise.all(CASE_IDS.map((id) => ledger.casePayouts(id))),
    ledger.unsettledPayouts(0, 100),
    registry.paused(),
  ]);
  const cases = records.map((r) => ({
    status: Number(r.status),
    programmeId: r.programmeId,
    region: r.region,
    amount: r.amount,
    noticeEnds: r.noticeEnds,
    firstPeriod: Number(r.firstPeriod),
    lastPeriod: Number(r.lastPeriod),
    paidThrough: Number(r.paidThrough),
    submitter: r.submitter,
  }));
  return {
    regions,
    pools,
    paid,
    totals: [...totals],
    cases,
    raw: [plain(records), plain(listings), plain(unsettled), paused],
  };
}

interface LivePayout {
  caseId: string;
  period: number;
  eventId: string;
  amount: bigint;
  programmeId: bigint;
  settled: boolean;
  /** Clawed back so far (only once settled). */
  clawed: bigint;
}

/** What the events say: balances, live (paid and not failed) payouts, declarations, medical cap use. */
interface Model {
  appropriated: bigint;
  paidOut: bigint;
  regions: Map<bigint, bigint>;
  pools: Map<bigint, bigint>;
  paid: Map<bigint, bigint>;
  live: Map<string, LivePayout>;
  disasters: Map<string, { programmeId: bigint; region: bigint; period: number }>;
  medicalUsed: Map<string, bigint>;
}

const liveKey = (caseId: string, period: number, eventId: string) =>
  eventId === ZERO ? `${caseId}/month/${period}` : `${caseId}/event/${eventId}`;

/** The model of the world as the fixture leaves it (at `period`): no payouts yet, one disaster declared. */
function newModel(w: World, s: Snapshot, period: number): Model {
  const ids = PROGRAMME_NAMES.map((n) => w.programmes[n]);
  return {
    appropriated: s.totals[0],
    paidOut: s.totals[2],
    regions: new Map(REGIONS.map((r, i) => [r, s.regions[i]])),
    pools: new Map(ids.map((id, i) => [id, s.pools[i]])),
    paid: new Map(ids.map((id, i) => [id, s.paid[i]])),
    live: new Map(),
    disasters: new Map([[DISASTERS[0], { programmeId: w.programmes.disaster, region: REGION.township, period }]]),
    medicalUsed: new Map(),
  };
}

function add<K>(m: Map<K, bigint>, k: K, delta: bigint, what: string) {
  const v = (m.get(k) ?? 0n) + delta;
  expect(v >= 0n, `(d) ${what} ${String(k)} would go below zero`).to.equal(true);
  m.set(k, v);
}

/** Coverage of what the runs did, so that the property is not vacuously true. */
const stats = {
  calls: 0,
  reverted: 0,
  monthlyPaid: 0,
  medicalPaid: 0,
  disasterPaid: 0,
  settled: 0,
  failed: 0,
  clawbacks: 0,
  skipped: new Map<number, number>(),
};

const reverts = new Map<string, number>();

/** Applies a successful call's events to the model, checking (b), (c) and (d) on the way. */
async function applyEvents(w: World, m: Model, before: Snapshot, receipt: ContractTransactionReceipt) {
  const { ledger } = w;
  let blockTime: number | undefined;
  const timestamp = async () => (blockTime ??= (await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
  // What a run (monthly or disaster relief) did, to compare with its closing PayoutRunExecuted.
  const run = { paid: 0n, skipped: 0n, total: 0n, eventIds: new Set<string>(), periods: new Set<number>() };
  for (const log of receipt.logs) {
    if (log.address !== (await ledger.getAddress())) continue;
    const e = ledger.interface.parseLog(log);
    if (!e) continue;
    const a = e.args;
    switch (e.name) {
      case "FundsAppropriated":
        m.appropriated += a.amount;
        add(m.regions, REGION.central, a.amount, "region");
        break;
      case "FundsAllocated":
      case "FundsReturned":
        add(m.regions, a.fromRegion, -BigInt(a.amount), "region");
        add(m.regions, a.toRegion, a.amount, "region");
        break;
      case "ProgrammeFunded":
        add(m.regions, a.region, -BigInt(a.amount), "region");
        add(m.pools, a.programmeId, a.amount, "pool");
        break;
      case "ProgrammeDefunded":
        add(m.pools, a.programmeId, -BigInt(a.amount), "pool");
        add(m.regions, a.region, a.amount, "region");
        break;
      case "ClawbackRecorded": {
        // (d) only money that reached the family comes back, and never more than the payout
        const k = liveKey(a.caseId, Number(a.period), a.eventId);
        const p = m.live.get(k);
        expect(p, `clawback of a payout never made: ${k}`).to.not.equal(undefined);
        expect(p!.settled, `clawback of an unsettled payout: ${k}`).to.equal(true);
        expect([p!.period, p!.programmeId]).to.deep.equal([Number(a.period), a.programmeId]);
        p!.clawed += BigInt(a.amount);
        expect(p!.clawed <= p!.amount, `clawed back more than paid: ${k}`).to.equal(true);
        add(m.paid, a.programmeId, -BigInt(a.amount), "programme paid-out");
        add(m.pools, a.programmeId, a.amount, "pool");
        m.paidOut -= a.amount;
        stats.clawbacks++;
        break;
      }
      case "DisasterDeclared": {
        expect(m.disasters.has(a.disasterId), "a disaster declared twice").to.equal(false);
        m.disasters.set(a.disasterId, {
          programmeId: a.programmeId,
          region: a.region,
          period: periodAt(await timestamp()),
        });
        break;
      }
      case "PayoutSkipped":
        stats.skipped.set(Number(a.reason), (stats.skipped.get(Number(a.reason)) ?? 0) + 1);
        run.skipped++;
        run.eventIds.add(a.eventId);
        run.periods.add(Number(a.period));
        break;
      case "PayoutRunExecuted": {
        // A monthly run names no event; a relief run names its disaster, with the declaration's programme
        // and period. Every payout and skip of the call carries the same event id and period.
        if (a.eventId === ZERO) {
          expect([w.programmes.medical, w.programmes.disaster], "a monthly run of an event programme").not.to.include(
            a.programmeId,
          );
        } else {
          const d = m.disasters.get(a.eventId);
          expect(d, "a relief run of an undeclared disaster").to.not.equal(undefined);
          expect([d!.programmeId, d!.period]).to.deep.equal([a.programmeId, Number(a.period)]);
        }
        expect(
          [...run.eventIds].every((id) => id === a.eventId),
          "event ids within a run",
        ).to.equal(true);
        expect(
          [...run.periods].every((p) => p === Number(a.period)),
          "periods within a run",
        ).to.equal(true);
        expect([a.paid, a.skipped, a.total], "run totals ≠ its payouts and skips").to.deep.equal([
          run.paid,
          run.skipped,
          run.total,
        ]);
        break;
      }
      case "PayoutExecuted": {
        const slotIndex = CASE_IDS.indexOf(a.caseId);
        expect(slotIndex, "(c) a payout to a case that does not exist").to.be.greaterThanOrEqual(0);
        const c = before.cases[slotIndex];
        const period = Number(a.period);
        const now = await timestamp();
        const where = `(c) payout ${a.caseId.slice(0, 10)} period ${period} event ${a.eventId.slice(0, 10)}`;
        expect([CaseStatus.Approved, CaseStatus.Exiting], `${where}: status ${c.status}`).to.include(c.status);
        expect(c.programmeId, `${where}: programme`).to.equal(a.programmeId);
        expect(c.noticeEnds <= BigInt(now), `${where}: notice still open`).to.equal(true);
        expect(period, `${where}: before eligibility`).to.be.greaterThanOrEqual(c.firstPeriod);
        expect(period, `${where}: after eligibility`).to.be.lessThanOrEqual(c.lastPeriod);
        expect(period, `${where}: a period not yet due`).to.be.lessThanOrEqual(periodAt(now));
        const k = liveKey(a.caseId, period, a.eventId);
        expect(m.live.has(k), `(b) paid twice: ${k}`).to.equal(false);
        const name = SLOTS[slotIndex].programme;
        if (a.eventId === ZERO) {
          expect(a.amount, `${where}: amount`).to.equal(c.amount);
          stats.monthlyPaid++;
        } else if (name === "medical") {
          const year = `${a.caseId}/${Math.floor(period / 12)}`;
          add(m.medicalUsed, year, a.amount, "medical cap use");
          expect(m.medicalUsed.get(year)! <= c.amount, `${where}: annual cap exceeded`).to.equal(true);
          expect(period).to.equal(periodAt(now));
          stats.medicalPaid++;
        } else {
          const d = m.disasters.get(a.eventId);
          expect(d, `${where}: undeclared disaster`).to.not.equal(undefined);
          expect(d!.programmeId).to.equal(a.programmeId);
          expect(period, `${where}: not the declaration's period`).to.equal(d!.period);
          expect(contains(d!.region, c.region), `${where}: outside the declared region`).to.equal(true);
          expect(a.amount, `${where}: amount`).to.equal(c.amount);
          stats.disasterPaid++;
        }
        m.live.set(k, {
          caseId: a.caseId,
          period,
          eventId: a.eventId,
          amount: a.amount,
          programmeId: a.programmeId,
          settled: false,
          clawed: 0n,
        });
        add(m.pools, a.programmeId, -BigInt(a.amount), "pool");
        add(m.paid, a.programmeId, a.amount, "programme paid-out");
        m.paidOut += a.amount;
        run.paid++;
        run.total += BigInt(a.amount);
        run.eventIds.add(a.eventId);
        run.periods.add(period);
        break;
      }
      case "PayoutSettled": {
        const k = liveKey(a.caseId, Number(a.period), a.eventId);
        const p = m.live.get(k);
        expect(p, `settled a payout never made: ${k}`).to.not.equal(undefined);
        expect(p!.settled, `settled twice: ${k}`).to.equal(false);
        expect(p!.period).to.equal(Number(a.period));
        p!.settled = true;
        stats.settled++;
        break;
      }
      case "PayoutFailed": {
        const k = liveKey(a.caseId, Number(a.period), a.eventId);
        const p = m.live.get(k);
        expect(p, `failed a payout never made: ${k}`).to.not.equal(undefined);
        expect(p!.settled, `a settled payout failed: ${k}`).to.equal(false);
        expect([p!.period, p!.amount, p!.programmeId]).to.deep.equal([Number(a.period), a.amount, a.programmeId]);
        m.live.delete(k);
        if (a.eventId !== ZERO && a.programmeId === w.programmes.medical) {
          add(m.medicalUsed, `${a.caseId}/${Math.floor(p!.period / 12)}`, -BigInt(a.amount), "medical cap use");
        }
        add(m.pools, a.programmeId, a.amount, "pool");
        add(m.paid, a.programmeId, -BigInt(a.amount), "programme paid-out");
        m.paidOut -= a.amount;
        stats.failed++;
        break;
      }
    }
  }
}

/** (a), (d) and the listings, against the views after a call. */
function checkInvariants(w: World, m: Model, s: Snapshot) {
  const ids = PROGRAMME_NAMES.map((n) => w.programmes[n]);
  const [appropriated, held, paidOut] = s.totals;
  const regions = s.regions.reduce((x, y) => x + y, 0n);
  const pools = s.pools.reduce((x, y) => x + y, 0n);
  expect(appropriated, "(a) appropriated ≠ regions + pools + paid out").to.equal(regions + pools + paidOut);
  expect(held, "(a) fundTotals.held ≠ regions + pools").to.equal(regions + pools);

  expect([m.appropriated, m.paidOut], "(d) totals differ from the events").to.deep.equal([appropriated, paidOut]);
  expect(
    REGIONS.map((r) => m.regions.get(r)),
    "(d) region balances differ from the events",
  ).to.deep.equal(s.regions);
  expect(
    ids.map((id) => m.pools.get(id)),
    "(d) pools differ from the events",
  ).to.deep.equal(s.pools);
  expect(
    ids.map((id) => m.paid.get(id)),
    "(d) programme paid-out differs from the events",
  ).to.deep.equal(s.paid);
  const live = [...m.live.values()];
  const netPaid = ids.map((id) =>
    live.filter((p) => p.programmeId === id).reduce((x, p) => x + p.amount - p.clawed, 0n),
  );
  expect(netPaid, "(d) programme paid-out ≠ live payouts − clawbacks").to.deep.equal(s.paid);

  // The listings: every unsettled payout is listed (none has left the window), and casePayouts lists
  // exactly the live payouts of the case that are still inside its window.
  const [, listings, unsettled] = s.raw as [unknown, string[][][], string[][]];
  const asKey = (k: unknown[]) => liveKey(k[0] as string, Number(k[1]), k[2] as string);
  expect(new Set(unsettled.map(asKey)), "unsettledPayouts ≠ live unsettled payouts").to.deep.equal(
    new Set(live.filter((p) => !p.settled).map((p) => liveKey(p.caseId, p.period, p.eventId))),
  );
  CASE_IDS.forEach((caseId, i) => {
    const through = s.cases[i].paidThrough;
    const expected = live
      .filter((p) => p.caseId === caseId && (p.eventId !== ZERO || through - p.period < WINDOW))
      .map((p) => liveKey(p.caseId, p.period, p.eventId));
    expect(new Set(listings[i].map(asKey)), `casePayouts of slot ${i}`).to.deep.equal(new Set(expected));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Running a sequence
// ---------------------------------------------------------------------------------------------------------

class Runner {
  constructor(
    readonly w: World,
    readonly m: Model,
    public snap: Snapshot,
  ) {}

  /** Sends one call and checks every property after it; returns the receipt, or null if it reverted. */
  async call(label: string, send: () => Promise<ContractTransactionResponse>) {
    stats.calls++;
    const before = this.snap;
    let receipt: ContractTransactionReceipt | null;
    try {
      receipt = await (await send()).wait();
    } catch (error) {
      if (!/revert|VM Exception/i.test(String((error as Error).message))) throw error;
      stats.reverted++;
      if (process.env.PROPERTY_STATS) {
        const m = /reverted with (?:custom error|panic code) '?([^'(]*)/.exec(String((error as Error).message));
        const k = `${label}: ${m ? m[1] : String((error as Error).message).slice(0, 80)}`;
        reverts.set(k, (reverts.get(k) ?? 0) + 1);
      }
      const after = await snapshot(this.w);
      expect(after, `(e) ${label} reverted yet changed the views`).to.deep.equal(before);
      return null;
    }
    await applyEvents(this.w, this.m, before, receipt!);
    this.snap = await snapshot(this.w);
    checkInvariants(this.w, this.m, this.snap);
    return receipt;
  }

  async period() {
    return periodAt(await time.latest());
  }

  as(actor: ActorName) {
    return this.w.ledger.connect(this.w.actors[actor]);
  }

  /** Keys of live payouts, unsettled ones (or settled ones) in a stable order. */
  keys(settled: boolean) {
    return [...this.m.live.values()]
      .filter((p) => p.settled === settled)
      .map((p) => ({ caseId: p.caseId, period: p.period, eventId: p.eventId }));
  }

  /** The case ids a run names. */
  pick(name: ProgrammeName, picks: CasePick[]) {
    const own = SLOTS.flatMap((s, i) => (s.programme === name ? [i] : []));
    return picks.map(({ own: mine, n }) =>
      caseIdOf(mine && own.length > 0 ? own[n % own.length] : n % (SLOTS.length + 1)),
    );
  }

  async run(o: Op) {
    const { w } = this;
    const id = (s: number) => caseIdOf(s);
    const rule = (s: number) => ruleOf(SLOTS[Math.min(s, SLOTS.length - 1)].programme);
    const pid = (i: number) => w.programmes[PROGRAMME_NAMES[i]];
    switch (o.kind) {
      case "submit":
        return this.call("submitCase", () => submit(w, o.slot, o.actor));
      case "review":
        return this.call("reviewCase", () => this.as(o.actor).reviewCase(id(o.slot), o.passed, digest("review")));
      case "objection":
        return this.call("raiseObjection", () =>
          this.as(o.actor).raiseObjection(id(o.slot), digest(`objection:${o.objection}`)),
        );
      case "resolve":
        return this.call("resolveObjection", () =>
          this.as(o.actor).resolveObjection(id(o.slot), digest(`objection:${o.objection}`), o.upheld, digest("r")),
        );
      case "approve":
      case "recertify": {
        const a = assessment({ householdSize: o.size, incomePerHead: o.income, amount: o.amount });
        const version = rule(o.slot).ruleVersion;
        return o.kind === "approve"
          ? this.call("approveCase", () => this.as(o.actor).approveCase(id(o.slot), a, version))
          : this.call("recertifyCase", () =>
              this.as(o.actor).recertifyCase(id(o.slot), a, version, digest("recertified")),
            );
      }
      case "reject":
        return this.call("rejectCase", () => this.as(o.actor).rejectCase(id(o.slot), digest("r")));
      case "suspend":
        return this.call("suspendCase", () => this.as(o.actor).suspendCase(id(o.slot), digest("r")));
      case "resume":
        return this.call("resumeCase", () => this.as(o.actor).resumeCase(id(o.slot), digest("r")));
      case "exit":
        return this.call("exitCase", () => this.as(o.actor).exitCase(id(o.slot), digest("r")));
      case "onboard":
        return this.onboard(o.slot);
      case "days":
        return time.increase(o.days * DAY);
      case "months":
        return time.increaseTo(periodStart((await this.period()) + o.months) + o.day * DAY + 6 * 3600);
      case "execute": {
        const period = (await this.period()) + o.delta;
        return this.call("executePayouts", () =>
          this.as("keeper").executePayouts(pid(o.programme), period, this.pick(PROGRAMME_NAMES[o.programme], o.slots)),
        );
      }
      case "upkeep":
        return this.upkeep(pid(o.programme));
      case "edge": {
        // A leap of about the window's length, then runs of the long programme now and about 32 periods back.
        await time.increaseTo(periodStart((await this.period()) + o.months) + 6 * 3600);
        const now = await this.period();
        for (const period of [now, now - o.back]) {
          await this.call("executePayouts", () =>
            this.as("keeper").executePayouts(w.programmes.long, period, [CASE_IDS[7]]),
          );
        }
        return;
      }
      case "bill":
        return this.call("certifyMedicalBill", () =>
          this.as(o.actor).certifyMedicalBill(BILLS[o.bill], id(o.slot), o.amount, digest("bill")),
        );
      case "declare":
        return this.call("declareDisaster", () =>
          this.as(o.actor).declareDisaster(
            DISASTERS[o.disaster],
            pid(o.programme),
            DISASTER_REGIONS[o.region],
            digest("declared"),
          ),
        );
      case "relief":
        return this.call("payDisasterRelief", () =>
          this.as("stranger").payDisasterRelief(DISASTERS[o.disaster], this.pick("disaster", o.slots)),
        );
      case "settle": {
        const open = this.keys(false);
        const picked = new Set(o.picks.map((i) => i % Math.max(open.length, 1)));
        const keys =
          open.length === 0 ? [{ caseId: id(0), period: 0, eventId: ZERO }] : [...picked].map((i) => open[i]);
        if (o.corrupt === "period") keys[0] = { ...keys[0], period: keys[0].period + 1 };
        if (o.corrupt === "duplicate") keys.push(keys[0]);
        return this.call("confirmSettlements", () => this.as(o.actor).confirmSettlements(digest("bank"), keys));
      }
      case "fail": {
        const pool = this.keys(o.settledOne);
        const k = pool.length === 0 ? { caseId: id(0), period: 0, eventId: ZERO } : pool[o.pick % pool.length];
        return this.call("reportFailure", () => this.as(o.actor).reportFailure(k, digest("failed")));
      }
      case "fund": {
        const county = this.snap.regions[REGIONS.indexOf(REGION.county)];
        const amount = [1_000n, POOL, county, county + 1n][o.mode];
        return this.call("fundProgramme", () => this.as(o.actor).fundProgramme(pid(o.programme), amount, digest("f")));
      }
      case "defund": {
        const pool = this.snap.pools[o.programme];
        const amount = [1_000n, pool > 100_000n ? pool - 100_000n : 1n, pool - pool / 4n, pool, pool + 1n][o.mode];
        return this.call("defundProgramme", () =>
          this.as(o.actor).defundProgramme(pid(o.programme), amount, digest("d")),
        );
      }
      case "clawback":
        return this.clawback(o);
      case "allocate": {
        const from = [REGION.central, REGION.province, REGION.city][o.level];
        const to = [REGION.province, REGION.city, REGION.county][o.level];
        const actor = o.wrongActor ?? (["centralFinance", "provinceFinance", "cityFinance"] as const)[o.level];
        const balance = this.snap.regions[REGIONS.indexOf(from)];
        const amount = [10_000_000n, balance, balance + 1n][o.mode];
        return this.call("allocate", () => this.as(actor).allocate(from, to, amount, digest("a")));
      }
    }
  }

  /**
   * A clawback on a settled payout, an unsettled one or one never made, of part, all or more than is left of
   * it. Succeeds exactly when the county finance bureau claws back at most what is left of a settled payout
   * still tracked by the ledger; `clawedBack` then says what the model does.
   */
  async clawback(o: Extract<Op, { kind: "clawback" }>) {
    const now = await this.period();
    if (o.target === "settled" && this.keys(true).length === 0 && this.keys(false).length > 0) {
      // nothing settled yet: the payment agent settles one first, so that clawbacks get somewhere
      const open = this.keys(false);
      await this.call("confirmSettlements", () =>
        this.as("paymentAgent").confirmSettlements(digest("bank"), [open[o.pick % open.length]]),
      );
    }
    const pool = o.target === "never" ? [] : this.keys(o.target === "settled");
    const never = { caseId: caseIdOf(o.pick % (SLOTS.length + 1)), period: now + 1, eventId: ZERO };
    const k = pool.length === 0 ? never : pool[o.pick % pool.length];
    const p = this.m.live.get(liveKey(k.caseId, k.period, k.eventId));
    const left = p ? p.amount - p.clawed : 1_000n;
    const amount = [1_000n, left / 2n, left, left + 1n, 0n][o.mode];
    const slotIndex = CASE_IDS.indexOf(k.caseId);
    const tracked =
      p !== undefined &&
      p.period === k.period &&
      (k.eventId !== ZERO || this.snap.cases[slotIndex].paidThrough - k.period < WINDOW);
    const expected =
      !(this.snap.raw[3] as boolean) &&
      o.actor === "countyFinance" &&
      tracked &&
      p!.settled &&
      amount > 0n &&
      amount <= left;
    const receipt = await this.call("recordClawback", () =>
      this.as(o.actor).recordClawback(k, amount, digest("clawback")),
    );
    expect(receipt !== null, `clawback of ${amount} from ${liveKey(k.caseId, k.period, k.eventId)}`).to.equal(expected);
    expect(await this.w.ledger.clawedBack(k), "clawedBack ≠ the clawbacks booked").to.equal(p ? p.clawed : 0n);
  }

  /** Runs a step; a paused step must revert every call it makes. */
  async step(s: Step) {
    if (!s.paused) return this.run(s.op);
    const registry = this.w.registry.connect(this.w.actors.admin);
    await this.call("pause", () => registry.pause());
    const reverted = stats.reverted;
    const calls = stats.calls;
    await this.run(s.op);
    expect(stats.reverted - reverted, "a call succeeded while the ledger was paused").to.equal(stats.calls - calls);
    await this.call("unpause", () => registry.unpause());
  }

  /** Submits, reviews, waits out the notice and approves with the right actors, as far as the case allows. */
  async onboard(s: number) {
    const { w } = this;
    const slotInfo = SLOTS[s];
    const cw: ActorName = slotInfo.region === REGION.township ? "caseworker" : "countyCaseworker";
    if (this.snap.cases[s].status === CaseStatus.None) await this.call("submitCase", () => submit(w, s, cw));
    if (this.snap.cases[s].status === CaseStatus.Submitted) {
      await this.call("reviewCase", () => this.as(cw).reviewCase(CASE_IDS[s], true, digest("review")));
    }
    const c = this.snap.cases[s];
    if (c.status !== CaseStatus.InNotice) return;
    if (c.noticeEnds > BigInt(await time.latest())) await time.increaseTo(c.noticeEnds);
    const actor: ActorName = c.submitter === w.actors.approver.address ? "approver2" : "approver";
    const a = assessment({ amount: 200_000n });
    await this.call("approveCase", () =>
      this.as(actor).approveCase(CASE_IDS[s], a, ruleOf(slotInfo.programme).ruleVersion),
    );
  }

  /** checkUpkeep, then performUpkeep on its data: exactly the cases it listed are paid. */
  async upkeep(programmeId: bigint) {
    const { ledger } = this.w;
    const coder = ethers.AbiCoder.defaultAbiCoder();
    const [needed, data] = await ledger.checkUpkeep(
      coder.encode(["uint32", "uint256", "uint256"], [programmeId, 0, 100]),
    );
    const [, , due] = coder.decode(["uint32", "uint24", "bytes32[]"], data);
    expect(needed).to.equal(due.length > 0);
    const receipt = await this.call("performUpkeep", () => this.as("keeper").performUpkeep(data));
    if (receipt === null) return;
    const paid = receipt.logs
      .map((log) => ledger.interface.parseLog(log))
      .filter((e) => e?.name === "PayoutExecuted")
      .map((e) => e!.args.caseId);
    expect(paid, "performUpkeep paid other cases than checkUpkeep listed").to.deep.equal([...due]);
  }
}

describe("Ledger properties (fast-check)", function () {
  it(`random operation sequences keep money conserved, pay each entitlement at most once, only when due, and reverts change nothing (seed ${SEED}, ${RUNS} runs)`, async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 40 }), async (steps) => {
        const w = await loadFixture(propertyWorld);
        const first = await snapshot(w);
        const runner = new Runner(w, newModel(w, first, periodAt(await time.latest())), first);
        checkInvariants(w, runner.m, first);
        for (const s of steps) await runner.step(s);
      }),
      { numRuns: RUNS, seed: SEED },
    );

    if (process.env.PROPERTY_STATS) console.log(stats, reverts);
    // Not vacuous: the runs did pay, settle, fail and skip for the interesting reasons.
    expect(stats.monthlyPaid).to.be.greaterThan(0);
    expect(stats.medicalPaid).to.be.greaterThan(0);
    expect(stats.disasterPaid).to.be.greaterThan(0);
    expect(stats.settled).to.be.greaterThan(0);
    expect(stats.failed).to.be.greaterThan(0);
    expect(stats.clawbacks).to.be.greaterThan(0);
    for (const reason of [SkipReason.AlreadyPaid, SkipReason.NotStarted, SkipReason.WrongProgramme]) {
      expect(stats.skipped.get(reason) ?? 0, `runs never skipped for reason ${SkipReason[reason]}`).to.be.greaterThan(
        0,
      );
    }
  });
});
