import { expect } from "chai";
import fc from "fast-check";
import { FundsCheck, type FundViews, type FundsResult } from "../../../gateway/src/audit/sweep/funds";
import { eventSpans, feed } from "../../../gateway/src/audit/sweep/events";
import type { SweepException, SweepProgress, SweepScope } from "../../../gateway/src/audit/sweep/types";
import { MONTHLY, type LedgerEvent, type PayoutKey } from "../../../gateway/src/ledger";
import { ProgrammeKind } from "../../../lib/roles";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import { type TestGateway, startTestGateway } from "../api/harness";
import { approveCase, digest, fundPool, passNotice, submitCase } from "../api/fixtures";
import { Chainlet, REGIONS, caseIdOf, digestOf, play, runArb, type ReliefModel } from "./sweep-model";

async function runFunds(events: readonly LedgerEvent[], views: FundViews, scope?: SweepScope): Promise<FundsResult> {
  const check = new FundsCheck({ scope });
  for (const e of events) check.consume(e);
  return check.finish(views);
}

/** Views answering exactly what the events imply (a chain whose state is whatever the stream says). */
function viewsOf(balances: Record<string, bigint>, pools: Record<number, [bigint, bigint]>, appropriated: bigint) {
  const paidOut = Object.values(pools).reduce((s, [, paid]) => s + paid, 0n);
  return {
    regionBalance: async (r: bigint) => balances[String(r)] ?? 0n,
    poolBalance: async (id: number) => pools[id]?.[0] ?? 0n,
    programmePaidOut: async (id: number) => pools[id]?.[1] ?? 0n,
    fundTotals: async () => ({ appropriated, held: appropriated - paidOut, paidOut }),
  } satisfies FundViews;
}

const kinds = (xs: SweepException[]) => xs.map((x) => x.kind);

/** A county pool funded with `amount` straight from central (a stream the chain could not produce: no levels). */
function fundedPool(amount: bigint): Chainlet {
  const c = new Chainlet();
  c.tx();
  c.emit("ProgrammeCreated", {
    programmeId: 1,
    kind: ProgrammeKind.MonthlyFixed,
    region: 110105n,
    ruleVersion: digestOf(1),
  });
  c.tx();
  c.emit("FundsAppropriated", { amount, referenceDigest: digestOf(2) });
  for (let level = 0; level < 3; level++) {
    c.tx();
    c.emit("FundsAllocated", {
      fromRegion: REGIONS[level],
      toRegion: REGIONS[level + 1],
      amount,
      referenceDigest: digestOf(3),
    });
  }
  c.tx();
  c.emit("ProgrammeFunded", { programmeId: 1, region: 110105n, amount, referenceDigest: digestOf(4) });
  return c;
}

function pay(c: Chainlet, caseId: string, period: number, amounts: bigint[], reportedTotal?: bigint): string {
  const tx = c.tx();
  for (const amount of amounts) {
    c.emit("PayoutExecuted", { caseId, programmeId: 1, eventId: MONTHLY, period, amount });
  }
  const total = amounts.reduce((s, a) => s + a, 0n);
  c.emit("PayoutRunExecuted", {
    programmeId: 1,
    eventId: MONTHLY,
    period,
    paid: amounts.length,
    skipped: 0,
    total: reportedTotal ?? total,
  });
  return tx;
}

describe("audit sweep: the fund check rebuilt from chain events", function () {
  this.timeout(120_000);

  describe("synthetic streams (what the contracts would refuse)", function () {
    const P = 24_312;

    it("a pool that pays out more than it holds: conservation-broken at the run's transaction", async function () {
      const c = fundedPool(100_000n);
      const tx = pay(c, caseIdOf(1), P, [80_000n, 80_000n]);
      const views = viewsOf({}, { 1: [-60_000n, 160_000n] }, 100_000n);

      const r = await runFunds(c.events, views);

      expect(r.exceptions).to.have.length(1);
      expect(r.exceptions[0]).to.include({
        kind: "conservation-broken",
        severity: "error",
        programmeId: 1,
        region: "110105",
        txHash: tx,
        blockNumber: c.block,
      });
      expect(r.pools[0]).to.include({ programmeId: 1, balance: -60_000n, paidOut: 160_000n });
    });

    it("a region that allocates more than it holds: conservation-broken at that allocation", async function () {
      const c = new Chainlet();
      c.tx();
      c.emit("FundsAppropriated", { amount: 100n, referenceDigest: digestOf(1) });
      const tx = c.tx();
      c.emit("FundsAllocated", { fromRegion: 0n, toRegion: 110000n, amount: 150n, referenceDigest: digestOf(2) });

      const r = await runFunds(c.events, viewsOf({ "0": -50n, "110000": 150n }, {}, 100n));

      expect(r.exceptions).to.deep.equal([
        {
          kind: "conservation-broken",
          severity: "error",
          region: "0",
          txHash: tx,
          blockNumber: c.block,
          detail: "region 0 sent out more than it held: its balance would be -50 fen",
        },
      ]);
    });

    it("a run whose PayoutRunExecuted total differs from its payouts: conservation-broken at the run", async function () {
      const c = fundedPool(1_000_000n);
      const tx = pay(c, caseIdOf(1), P, [80_000n], 90_000n);

      const r = await runFunds(c.events, viewsOf({}, { 1: [920_000n, 80_000n] }, 1_000_000n));

      expect(kinds(r.exceptions)).to.deep.equal(["conservation-broken"]);
      expect(r.exceptions[0]).to.include({ programmeId: 1, period: P, txHash: tx });
      expect(r.exceptions[0].detail).to.contain("90000").and.contain("80000");
    });

    it("a failure that returns another amount than was paid: conservation-broken at the failure", async function () {
      const c = fundedPool(1_000_000n);
      pay(c, caseIdOf(1), P, [80_000n]);
      const tx = c.tx();
      c.emit("PayoutFailed", {
        caseId: caseIdOf(1),
        programmeId: 1,
        eventId: MONTHLY,
        period: P,
        amount: 90_000n,
        reasonDigest: digestOf(9),
      });

      const r = await runFunds(c.events, viewsOf({}, { 1: [1_010_000n, -10_000n] }, 1_000_000n));

      expect(r.exceptions.map((x) => [x.kind, x.payoutId, x.txHash])).to.deep.include([
        "conservation-broken",
        `${caseIdOf(1)}:${P}:${MONTHLY}`,
        tx,
      ]);
      // …and the period row sees more failed than paid.
      expect(r.periods[0]).to.deep.include({ programmeId: 1, period: P });
      expect(kinds(r.exceptions)).to.deep.equal(["conservation-broken", "conservation-broken"]);
    });

    it("a clawback of more than was settled in a period: conservation-broken for that programme and period", async function () {
      const c = fundedPool(1_000_000n);
      pay(c, caseIdOf(1), P, [80_000n]);
      const tx = c.tx();
      c.emit("ClawbackRecorded", {
        caseId: caseIdOf(1),
        programmeId: 1,
        eventId: MONTHLY,
        period: P,
        amount: 10_000n,
        referenceDigest: digestOf(7),
      });

      const r = await runFunds(c.events, viewsOf({}, { 1: [930_000n, 70_000n] }, 1_000_000n));

      expect(r.exceptions).to.have.length(1);
      expect(r.exceptions[0]).to.include({ kind: "conservation-broken", programmeId: 1, period: P, txHash: tx });
      expect(r.periods[0].clawedBack).to.deep.equal({ count: 1, amount: 10_000n });
      expect(r.periods[0].settled).to.deep.equal({ count: 0, amount: 0n });
    });

    it("chain views that do not conserve (fundTotals off): conservation-broken and balance-mismatch at central", async function () {
      const c = fundedPool(1_000_000n);
      const views = viewsOf({}, { 1: [1_000_000n, 0n] }, 1_000_000n);
      const broken: FundViews = {
        ...views,
        fundTotals: async () => ({ appropriated: 1_000_001n, held: 1_000_001n, paidOut: 0n }),
      };

      const r = await runFunds(c.events, broken);

      expect(r.totals.chainHolds).to.equal(false);
      expect(r.exceptions.map((x) => [x.kind, x.region])).to.deep.equal([
        ["conservation-broken", "0"],
        ["balance-mismatch", "0"],
        ["balance-mismatch", "0"],
      ]);
      // The last transaction that touched central: the allocation to the province.
      expect(r.exceptions[0].txHash).to.equal(c.events.find((e) => e.name === "FundsAllocated")!.txHash);
    });

    it("a stubbed view one fen off: balance-mismatch naming the pool and its last transaction", async function () {
      const m = play([{ t: "case", programme: 1 }, { t: "pay" }, { t: "settle", k: 0 }]);
      const views = m.views();
      const off: FundViews = {
        ...views,
        poolBalance: async (id) => (await views.poolBalance(id)) + (id === 1 ? 1n : 0n),
      };
      const lastPoolTx = [...m.events]
        .reverse()
        .find((e) => e.name === "PayoutExecuted" || e.name === "ProgrammeFunded")!;

      const r = await runFunds(m.events, off);

      // The pool is off; so the chain's own books no longer add up either.
      expect(r.exceptions.map((x) => [x.kind, x.programmeId ?? x.region])).to.deep.equal([
        ["balance-mismatch", 1],
        ["conservation-broken", "0"],
      ]);
      expect(r.exceptions[0]).to.include({
        region: "110105",
        txHash: lastPoolTx.txHash,
        blockNumber: lastPoolTx.blockNumber,
      });
      expect(r.exceptions[0].detail).to.equal(
        `pool 1: events give ${m.pools.get(1)} fen, the pool holds ${m.pools.get(1)! + 1n} fen`,
      );
    });

    it("the scope filters what is listed and reported, not what is checked", async function () {
      const m = play([{ t: "case", programme: 1 }, { t: "pay" }]);
      const views = m.views();
      const off: FundViews = { ...views, regionBalance: async (r) => (await views.regionBalance(r)) + 1n };

      const other = await runFunds(m.events, off, { region: 110106n });
      expect(other.exceptions).to.deep.equal([]);
      expect(other.pools).to.deep.equal([]);
      expect(other.regions).to.deep.equal([]);
      expect(other.totals.holds).to.equal(true);

      const county = await runFunds(m.events, off, { region: 110105n });
      expect(county.exceptions.map((x) => [x.kind, x.region])).to.deep.equal([["balance-mismatch", "110105"]]);
      expect(county.regions.map((r) => r.region)).to.deep.equal([110105n]);
      expect(county.pools.map((p) => p.programmeId)).to.deep.equal([1, 2]);

      const medical = await runFunds(m.events, views, { programmeId: 2 });
      expect(medical.pools.map((p) => p.programmeId)).to.deep.equal([2]);
      expect(medical.periods).to.deep.equal([]);
      expect(medical.regions).to.deep.equal([]);
    });
  });

  describe("properties", function () {
    it("for random valid event sequences, nothing is reported and every figure equals the chain's", async function () {
      await fc.assert(
        fc.asyncProperty(runArb, async (commands) => {
          const m = play(commands);
          const r = await runFunds(m.events, m.views());
          expect(r.exceptions).to.deep.equal([]);
          expect(r.totals.holds && r.totals.chainHolds).to.equal(true);
          for (const p of r.pools) expect(p.balance).to.equal(m.pools.get(p.programmeId));
          for (const x of r.regions) expect(x.balance).to.equal(m.balances.get(x.region));
          expect(r.levels.every((l) => l.holds)).to.equal(true);
          for (const row of r.periods) expect(row.outstanding.amount >= 0n).to.equal(true);
        }),
        { numRuns: 150 },
      );
    });

    const MONEY = new Set([
      "FundsAppropriated",
      "FundsAllocated",
      "FundsReturned",
      "ProgrammeFunded",
      "ProgrammeDefunded",
      "PayoutExecuted",
      "PayoutFailed",
      "ClawbackRecorded",
    ]);
    const moneyEvents = (m: ReliefModel) => m.events.flatMap((e, i) => (MONEY.has(e.name) ? [i] : []));

    it("for random single corruptions (drop a money event, change an amount, duplicate a payout), balance-mismatch is reported", async function () {
      const corruption = fc.record({
        how: fc.constantFrom("drop", "change", "duplicate"),
        at: fc.nat(10_000),
        delta: fc.bigInt(1n, 1_000n),
      });
      await fc.assert(
        fc.asyncProperty(runArb, corruption, async (commands, { how, at, delta }) => {
          const m = play(commands);
          const events = [...m.events];
          const candidates =
            how === "duplicate" ? events.flatMap((e, i) => (e.name === "PayoutExecuted" ? [i] : [])) : moneyEvents(m);
          fc.pre(candidates.length > 0);
          const i = candidates[at % candidates.length];
          const e = events[i];
          if (how === "drop") events.splice(i, 1);
          else if (how === "duplicate") events.splice(i + 1, 0, { ...e, logIndex: e.logIndex + 1 } as LedgerEvent);
          else {
            const args = e.args as { amount: bigint };
            events[i] = { ...e, args: { ...args, amount: args.amount + delta } } as LedgerEvent;
          }

          const r = await runFunds(events, m.views());

          expect(kinds(r.exceptions)).to.include("balance-mismatch");
          expect(r.exceptions.every((x) => x.severity === "error")).to.equal(true);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe("on a real chain", function () {
    const TEKUN = 3;
    let tg: TestGateway;
    let events: LedgerEvent[];
    let period: number;
    let lastPoolTx: string;

    before(async function () {
      tg = await startTestGateway();
      const ledger = tg.gateway.ctx.ledger;
      await fundPool(tg, TEKUN, 1_000_000n);
      const cases = [];
      for (let i = 0; i < 3; i++) cases.push(await submitCase(tg, { programmeId: TEKUN }));
      await passNotice(tg);
      for (const c of cases) await approveCase(tg, c.caseId, TEKUN);
      period = await ledger.currentPeriod();
      await ledger.executePayouts("county-finance", {
        programmeId: TEKUN,
        period,
        caseIds: cases.map((c) => c.caseId),
      });
      const keys: PayoutKey[] = cases.map((c) => ({ caseId: c.caseId, period, eventId: MONTHLY }));
      await ledger.confirmSettlements("county-bank", { bankRefDigest: digest("bank"), keys: keys.slice(0, 2) });
      await ledger.reportFailure("county-bank", keys[2], digest("account closed"));
      await ledger.recordClawback("county-finance", { key: keys[0], amount: 10_000n, referenceDigest: digest("cb") });
      const defund = await ledger.defundProgramme("county-finance", {
        programmeId: TEKUN,
        amount: 100_000n,
        referenceDigest: digest("defund"),
      });
      lastPoolTx = defund.txHash;
      await ledger.returnFunds("county-finance", {
        fromRegion: LOCAL_REGIONS.county,
        toRegion: LOCAL_REGIONS.city,
        amount: 40_000n,
        referenceDigest: digest("return"),
      });
      events = [];
      for await (const span of eventSpans(ledger, { fromBlock: tg.deployment.deployedAtBlock, span: 7 })) {
        events.push(...span.events);
      }
    });

    after(async function () {
      await tg?.close();
    });

    it("a clean scenario: no exception, and every rebuilt balance equals the chain's", async function () {
      const ledger = tg.gateway.ctx.ledger;
      const check = new FundsCheck();
      const progress: SweepProgress[] = [];
      const n = await feed(
        eventSpans(ledger, {
          fromBlock: tg.deployment.deployedAtBlock,
          span: 7,
          onProgress: (p) => progress.push(p),
        }),
        [check],
      );
      const r = await check.finish(ledger);

      expect(n).to.equal(events.length);
      expect(progress.at(-1)).to.include({ phase: "funds" });
      expect(progress.at(-1)!.done).to.equal(progress.at(-1)!.total);
      expect(progress.length).to.be.greaterThan(1);
      expect(r.exceptions).to.deep.equal([]);
      const pool = r.pools.find((p) => p.programmeId === TEKUN)!;
      expect(pool).to.include({
        funded: 1_000_000n,
        defunded: 100_000n,
        paidOut: 240_000n,
        failed: 80_000n,
        clawedBack: 10_000n,
        balance: 1_000_000n - 100_000n - 240_000n + 80_000n + 10_000n,
        netPaidOut: 150_000n,
      });
      expect(pool.balance).to.equal(await ledger.poolBalance(TEKUN));
      expect(pool.chainPaidOut).to.equal(await ledger.programmePaidOut(TEKUN));
      for (const region of [LOCAL_REGIONS.central, LOCAL_REGIONS.province, LOCAL_REGIONS.city, LOCAL_REGIONS.county]) {
        const row = r.regions.find((x) => x.region === region)!;
        expect(row.balance).to.equal(await ledger.regionBalance(region));
      }
      expect(r.regions.find((x) => x.region === LOCAL_REGIONS.county)!.balance).to.equal(60_000n);
      expect(r.regions.find((x) => x.region === LOCAL_REGIONS.city)!.balance).to.equal(40_000n);
      const totals = await ledger.fundTotals();
      expect(r.totals).to.deep.include({ appropriated: totals.appropriated, paidOut: totals.paidOut, holds: true });
      expect(r.totals.chainHolds).to.equal(true);
      expect(r.levels.map((l) => [l.level, l.holds])).to.deep.equal([
        [0, true],
        [1, true],
        [2, true],
        [3, true],
      ]);
      expect(r.periods.find((x) => x.programmeId === TEKUN && x.period === period)).to.deep.equal({
        programmeId: TEKUN,
        period,
        paid: { count: 3, amount: 240_000n },
        settled: { count: 2, amount: 160_000n },
        failed: { count: 1, amount: 80_000n },
        clawedBack: { count: 1, amount: 10_000n },
        outstanding: { count: 0, amount: 0n },
      });
      const flow = (type: string) => r.flows.filter((f) => f.type === type).reduce((s, f) => s + f.amount, 0n);
      expect(flow("payout")).to.equal(240_000n);
      expect(flow("return")).to.equal(40_000n);
    });

    it("the same events against a stubbed pool view one fen off: balance-mismatch with the pool's last tx", async function () {
      const ledger = tg.gateway.ctx.ledger;
      const stub: FundViews = {
        regionBalance: (r) => ledger.regionBalance(r),
        programmePaidOut: (id) => ledger.programmePaidOut(id),
        fundTotals: () => ledger.fundTotals(),
        poolBalance: async (id) => (await ledger.poolBalance(id)) + (id === TEKUN ? 1n : 0n),
      };

      const r = await runFunds(events, stub);

      expect(kinds(r.exceptions)).to.deep.equal(["balance-mismatch", "conservation-broken"]);
      expect(r.exceptions[0]).to.include({
        kind: "balance-mismatch",
        severity: "error",
        programmeId: TEKUN,
        region: String(LOCAL_REGIONS.county),
        txHash: lastPoolTx,
      });
    });
  });
});
