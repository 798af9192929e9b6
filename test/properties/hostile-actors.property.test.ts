/**
 * The ledger under random operation sequences by random actors, aimed at abuse (issue 5, hostile input): every
 * actor of the fixture (all roles, in and out of 朝陽區, unregistered accounts) tries to submit, review and approve
 * cases (approvers may submit, so one may try to approve its own), to pay a period twice, to settle a payout that
 * was never paid or settle one twice, and to overdraw a pool or a region. A fast-check command model says, for each
 * attempt, whether the contracts must accept it or which named custom error they must answer with. After every
 * command: the fund totals balance (appropriated = held + paid out), the pool plus what it paid out equals what was
 * put in, and no (case, period) is paid twice. ledger.property.test.ts covers the money-flow invariants in breadth;
 * this suite pins the refusals. PROPERTY_SEED / HOSTILE_RUNS override the defaults.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { contains } from "../../lib/regions";
import { Role } from "../../lib/roles";
import {
  DAY,
  INSTITUTIONS,
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  type Actors,
  type Funded,
  assessment,
  deployFunded,
  digest,
  payoutKey,
} from "../helpers/fixture";

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_202);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 25);
const SLOTS = 3;

type ActorName = keyof Actors;

interface CaseModel {
  caseId: string;
  status: "none" | "submitted" | "in-notice" | "approved" | "rejected";
  submitter?: ActorName;
  noticeEnds?: number;
}

interface Model {
  cases: CaseModel[];
  /** `${caseId}:${period}` of payouts made, and of those settled. */
  paid: Set<string>;
  settled: Set<string>;
  /** Put into the 特困 pool less taken out. */
  poolIn: bigint;
}

interface Real {
  fx: Funded;
  programmeId: bigint;
  /** PayoutExecuted events seen, per `${caseId}:${period}`. */
  executed: Map<string, number>;
}

const ROLE_OF = new Map<ActorName, { role: Role; region: bigint }>(
  INSTITUTIONS.map(([name, role, region]) => [name, { role, region }]),
);

/** What the registry answers for `actor` acting with one of `roles` on `region`, or undefined if allowed. */
function authorization(actor: ActorName, roles: Role[], region: bigint): string | undefined {
  const inst = ROLE_OF.get(actor);
  if (!inst || !roles.includes(inst.role)) return "LedgerUnauthorizedRole";
  if (!contains(inst.region, region)) return "LedgerUnauthorizedRegion";
  return undefined;
}

/** Pools are funded and defunded by the finance bureau of the programme's own region only (not one above it). */
function exactFinance(actor: ActorName): string | undefined {
  const denied = authorization(actor, [Role.Finance], REGION.county);
  if (denied) return denied;
  return ROLE_OF.get(actor)!.region === REGION.county ? undefined : "LedgerUnauthorizedRegion";
}

/** Sends `send()`; returns "ok" or the name of the custom error it reverted with (fails on any other revert). */
async function attempt(real: Real, send: () => Promise<ContractTransactionResponse>): Promise<string> {
  try {
    const receipt = await (await send()).wait();
    for (const log of receipt!.logs) {
      const parsed = real.fx.ledger.interface.parseLog(log);
      if (parsed?.name === "PayoutExecuted") {
        const k = `${parsed.args.caseId}:${parsed.args.period}`;
        real.executed.set(k, (real.executed.get(k) ?? 0) + 1);
      }
    }
    return "ok";
  } catch (error) {
    const named = customError(real, error);
    if (!named) throw new Error(`not a named custom error: ${(error as Error).message}`);
    return named.name;
  }
}

/** The custom error a call reverted with: from its data, or Hardhat's message (`custom error 'Name(args)'`). */
function customError(real: Real, error: unknown): { name: string; args: string[] } | undefined {
  const data = (error as { data?: string }).data;
  const parsed = data ? real.fx.ledger.interface.parseError(data) : null;
  if (parsed) return { name: parsed.name, args: parsed.args.map(String) };
  const m = /custom error '(\w+)\((.*)\)'/.exec((error as Error).message ?? "");
  return m ? { name: m[1], args: m[2].split(",").map((a) => a.trim().replace(/^"|"$/g, "")) } : undefined;
}

const ACTORS: ActorName[] = [
  "caseworker",
  "countyCaseworker",
  "otherCaseworker",
  "approver",
  "approver2",
  "townshipApprover",
  "otherApprover",
  "countyFinance",
  "cityFinance",
  "paymentAgent",
  "otherPaymentAgent",
  "medicalOffice",
  "auditor",
  "beneficiary",
  "stranger",
];
const actor = fc.constantFrom(...ACTORS);
const slot = fc.nat({ max: SLOTS - 1 });
/** Mostly the actors a step is meant for (so sequences get deep), sometimes anyone. */
const likely = (...names: ActorName[]) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: actor });

type Cmd = fc.AsyncCommand<Model, Real>;

/** Outcomes seen over all runs, `command:outcome` → count, so the test can show it reached every refusal. */
const SEEN = new Map<string, number>();

const expectOutcome = (got: string, allowed: string[], what: string) => {
  const k = `${what.split("(")[0]}:${got}`;
  SEEN.set(k, (SEEN.get(k) ?? 0) + 1);
  expect(allowed, `${what}: got ${got}`).to.include(got);
};

class Submit implements Cmd {
  constructor(
    readonly slot: number,
    readonly who: ActorName,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const c = m.cases[this.slot];
    const denied = authorization(this.who, [Role.Caseworker, Role.Approver], REGION.township);
    const got = await attempt(r, () =>
      r.fx.ledger
        .connect(r.fx.actors[this.who])
        .submitCase(c.caseId, r.programmeId, REGION.township, digest(`p:${c.caseId}`), digest(`rec:${c.caseId}`)),
    );
    if (c.status !== "none") expectOutcome(got, ["LedgerCaseExists", ...(denied ? [denied] : [])], this.toString());
    else expectOutcome(got, [denied ?? "ok"], this.toString());
    if (got === "ok") Object.assign(c, { status: "submitted", submitter: this.who });
  }
  toString = () => `submit(${this.slot}) by ${this.who}`;
}

class Review implements Cmd {
  constructor(
    readonly slot: number,
    readonly who: ActorName,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const c = m.cases[this.slot];
    const got = await attempt(r, () =>
      r.fx.ledger.connect(r.fx.actors[this.who]).reviewCase(c.caseId, true, digest("reviewed")),
    );
    if (c.status === "none") expectOutcome(got, ["LedgerUnknownCase"], this.toString());
    else if (c.status !== "submitted") expectOutcome(got, ["LedgerInvalidCaseStatus"], this.toString());
    else expectOutcome(got, [authorization(this.who, [Role.Caseworker], REGION.township) ?? "ok"], this.toString());
    if (got === "ok") {
      c.status = "in-notice";
      c.noticeEnds = (await time.latest()) + PROGRAMMES.tekun.noticePeriod;
    }
  }
  toString = () => `review(${this.slot}) by ${this.who}`;
}

class Approve implements Cmd {
  constructor(
    readonly slot: number,
    readonly who: ActorName,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const c = m.cases[this.slot];
    const got = await attempt(r, () =>
      r.fx.ledger.connect(r.fx.actors[this.who]).approveCase(c.caseId, assessment(), PROGRAMMES.tekun.ruleVersion),
    );
    const denied = authorization(this.who, [Role.Approver], REGION.township);
    // A township approver may not approve a monthly programme; nobody approves a case they submitted.
    const refusal =
      denied ??
      (ROLE_OF.get(this.who)!.region === REGION.township ? "LedgerApproverLevelTooLow" : undefined) ??
      (c.submitter === this.who ? "LedgerSelfApproval" : undefined);
    if (c.status === "none") expectOutcome(got, ["LedgerUnknownCase"], this.toString());
    else if (c.status !== "in-notice")
      expectOutcome(got, ["LedgerInvalidCaseStatus", ...(refusal ? [refusal] : [])], this.toString());
    else if (refusal) expectOutcome(got, [refusal], this.toString());
    else if ((await time.latest()) + 1 < c.noticeEnds!) expectOutcome(got, ["LedgerNoticeNotOver"], this.toString());
    else expectOutcome(got, ["ok"], this.toString());
    if (got === "ok") c.status = "approved";
  }
  toString = () => `approve(${this.slot}) by ${this.who}`;
}

class Pay implements Cmd {
  constructor(
    readonly slots: number[],
    readonly who: ActorName,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const period = Number(await r.fx.ledger.currentPeriod());
    const ids = this.slots.map((s) => m.cases[s].caseId);
    const got = await attempt(r, () =>
      r.fx.ledger.connect(r.fx.actors[this.who]).executePayouts(r.programmeId, period, ids),
    );
    // Anyone may run payouts (the conditions are on chain); a second payment of a period is skipped, not made.
    expectOutcome(got, ["ok"], this.toString());
    for (const s of new Set(this.slots)) {
      const c = m.cases[s];
      const k = `${c.caseId}:${period}`;
      if (c.status === "approved")
        SEEN.set(
          m.paid.has(k) ? "pay:again" : "pay:paid",
          1 + (SEEN.get(m.paid.has(k) ? "pay:again" : "pay:paid") ?? 0),
        );
      if (c.status === "approved") m.paid.add(k);
    }
  }
  toString = () => `pay(${this.slots.join(",")}) by ${this.who}`;
}

class Settle implements Cmd {
  constructor(
    readonly slot: number,
    readonly who: ActorName,
    readonly twice: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const c = m.cases[this.slot];
    const period = Number(await r.fx.ledger.currentPeriod());
    const k = `${c.caseId}:${period}`;
    for (let i = 0; i < (this.twice ? 2 : 1); i++) {
      const got = await attempt(r, () =>
        r.fx.ledger.connect(r.fx.actors[this.who]).confirmSettlements(digest("bank"), [payoutKey(c.caseId, period)]),
      );
      const role = ROLE_OF.get(this.who)?.role === Role.PaymentAgent ? undefined : "LedgerUnauthorizedRole";
      const awaiting = m.paid.has(k) && !m.settled.has(k);
      // The payout's region is its case's: an unknown case has none (0, central), outside every county agent.
      const caseRegion = c.status === "none" ? REGION.central : REGION.township;
      const region = role ? undefined : authorization(this.who, [Role.PaymentAgent], caseRegion);
      expectOutcome(
        got,
        [role ?? region ?? (awaiting ? "ok" : "LedgerNotAwaitingSettlement")],
        `${this.toString()} #${i + 1}`,
      );
      if (got === "ok") m.settled.add(k);
    }
  }
  toString = () => `settle(${this.slot}${this.twice ? ", twice" : ""}) by ${this.who}`;
}

class Overdraw implements Cmd {
  constructor(
    readonly who: ActorName,
    readonly what: "defund" | "fund",
    readonly extra: bigint,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { ledger } = r.fx;
    const available =
      this.what === "defund" ? await ledger.poolBalance(r.programmeId) : await ledger.regionBalance(REGION.county);
    const requested = available + this.extra;
    const got = await attempt(r, () =>
      this.what === "defund"
        ? ledger.connect(r.fx.actors[this.who]).defundProgramme(r.programmeId, requested, digest("overdraw"))
        : ledger.connect(r.fx.actors[this.who]).fundProgramme(r.programmeId, requested, digest("overdraw")),
    );
    expectOutcome(got, [exactFinance(this.who) ?? "LedgerInsufficientFunds"], this.toString());
    if (got === "LedgerInsufficientFunds") {
      // The error carries what was there and what was asked for.
      const err = await (
        this.what === "defund"
          ? ledger.connect(r.fx.actors[this.who]).defundProgramme.staticCall(r.programmeId, requested, digest("x"))
          : ledger.connect(r.fx.actors[this.who]).fundProgramme.staticCall(r.programmeId, requested, digest("x"))
      ).then(
        () => undefined,
        (e: unknown) => customError(r, e),
      );
      expect(err?.args).to.deep.equal([String(available), String(requested)]);
    }
    void m;
  }
  toString = () => `${this.what}(balance + ${this.extra}) by ${this.who}`;
}

/** The next legitimate step of a case (so that sequences reach payouts and settlement), checked like any other. */
class Progress implements Cmd {
  constructor(readonly slot: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const c = m.cases[this.slot];
    if (c.status === "none") return new Submit(this.slot, "caseworker").run(m, r);
    if (c.status === "submitted") return new Review(this.slot, "caseworker").run(m, r);
    if (c.status === "in-notice") {
      const now = await time.latest();
      if (now < c.noticeEnds!) await time.increaseTo(c.noticeEnds!);
      return new Approve(this.slot, c.submitter === "approver" ? "approver2" : "approver").run(m, r);
    }
    if (c.status === "approved") return new Pay([this.slot], "stranger").run(m, r);
  }
  toString = () => `progress(${this.slot})`;
}

class Wait implements Cmd {
  constructor(readonly days: number) {}
  check = () => true;
  async run() {
    await time.increase(this.days * DAY);
  }
  toString = () => `wait ${this.days} days`;
}

const commands = [
  fc.tuple(slot, likely("caseworker", "approver", "approver2", "otherCaseworker")).map(([s, a]) => new Submit(s, a)),
  fc.tuple(slot, likely("caseworker", "countyCaseworker")).map(([s, a]) => new Review(s, a)),
  fc
    .tuple(slot, likely("approver", "approver2", "townshipApprover", "otherApprover"))
    .map(([s, a]) => new Approve(s, a)),
  fc.tuple(fc.array(slot, { minLength: 1, maxLength: 6 }), actor).map(([s, a]) => new Pay(s, a)),
  fc.tuple(slot, likely("paymentAgent", "otherPaymentAgent"), fc.boolean()).map(([s, a, t]) => new Settle(s, a, t)),
  fc
    .tuple(
      likely("countyFinance", "cityFinance"),
      fc.constantFrom("defund" as const, "fund" as const),
      fc.bigInt({ min: 1n, max: 10n ** 12n }),
    )
    .map(([a, w, e]) => new Overdraw(a, w, e)),
  fc.constantFrom(1, 4, 8, 31).map((d) => new Wait(d)),
  slot.map((s) => new Progress(s)),
  slot.map((s) => new Progress(s)),
];

async function invariants(m: Model, r: Real): Promise<void> {
  const { ledger } = r.fx;
  const [appropriated, held, paidOut] = await ledger.fundTotals();
  expect(appropriated, "appropriated = held + paid out").to.equal(held + paidOut);
  const pool = await ledger.poolBalance(r.programmeId);
  const paid = await ledger.programmePaidOut(r.programmeId);
  expect(pool + paid, "pool + paid out = put in").to.equal(m.poolIn);
  for (const [k, n] of r.executed) expect(n, `payouts of ${k}`).to.equal(1);
  expect(r.executed.size, "payouts made = payouts the model expects").to.equal(m.paid.size);
}

describe("Ledger under hostile actors (fast-check command model)", function () {
  this.timeout(300_000);

  it(`pay twice, outside the region, self-approval, unpaid or double settlement, overdrafts: refused by name; money conserved (seed ${SEED}, ${RUNS} runs)`, async function () {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: "max" }), async (cmds) => {
        const fx = await loadFixture(deployFunded);
        const real: Real = { fx, programmeId: fx.programmes.tekun, executed: new Map() };
        const model: Model = {
          cases: Array.from({ length: SLOTS }, (_, i) => ({
            caseId: digest(`hostile:${i}:${Math.random()}`),
            status: "none" as const,
          })),
          paid: new Set(),
          settled: new Set(),
          poolIn: POOL_FUNDING,
        };
        await fc.asyncModelRun(
          () => ({ model, real }),
          [...cmds].map((c) => wrap(c)),
        );
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The sequences reached every refusal this suite is about, and the paths to them.
    for (const outcome of [
      "submit:LedgerUnauthorizedRegion",
      "submit:LedgerUnauthorizedRole",
      "submit:LedgerCaseExists",
      "approve:LedgerSelfApproval",
      "approve:LedgerUnauthorizedRegion",
      "approve:LedgerApproverLevelTooLow",
      "approve:ok",
      "pay:paid",
      "pay:again",
      "settle:ok",
      "settle:LedgerNotAwaitingSettlement",
      "settle:LedgerUnauthorizedRegion",
      "defund:LedgerInsufficientFunds",
      "fund:LedgerInsufficientFunds",
    ]) {
      expect(SEEN.get(outcome) ?? 0, `${outcome} never happened: ${JSON.stringify([...SEEN])}`).to.be.greaterThan(0);
    }
  });
});

/** Checks the invariants after every command. */
function wrap(c: Cmd): Cmd {
  return {
    check: (m) => c.check(m),
    run: async (m, r) => {
      await c.run(m, r);
      await invariants(m, r);
    },
    toString: () => c.toString(),
  };
}
