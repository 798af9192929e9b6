import { expect } from "chai";
import fc from "fast-check";
import {
  LifecycleCheck,
  disputeWindows,
  type LifecycleFinishOptions,
} from "../../../gateway/src/audit/sweep/lifecycle";
import { CaseIndex, eventSpans, feed } from "../../../gateway/src/audit/sweep/events";
import { FundsCheck } from "../../../gateway/src/audit/sweep/funds";
import type { ExceptionKind, SweepException, SweepScope } from "../../../gateway/src/audit/sweep/types";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import { MONTHLY, type LedgerEvent, type PayoutKey } from "../../../gateway/src/ledger";
import { payoutIdOf } from "../../../gateway/src/payouts/ids";
import { DisputeOutcome, ReceiptOutcome } from "../../../lib/receipts";
import { periodAt } from "../../../lib/periods";
import { type TestGateway, startTestGateway } from "../api/harness";
import { DAY, approveCase, digest, fundPool, passNotice, submitCase } from "../api/fixtures";
import { Chainlet, type Command, T0, TOWNSHIP, caseIdOf, digestOf, play, runArb, runWith } from "./sweep-model";

function runLifecycle(
  events: readonly LedgerEvent[],
  finish: LifecycleFinishOptions,
  scope?: SweepScope,
): SweepException[] {
  const check = new LifecycleCheck({ scope });
  for (const e of events) check.consume(e);
  return check.finish(finish);
}

const errors = (xs: SweepException[]) => xs.filter((x) => x.severity === "error");
const pid = (caseId: string, period: number, eventId = MONTHLY) => payoutIdOf({ caseId, period, eventId });

/** A case submitted and reviewed in the township, for programme 1 (monthly). */
function submitted(c: Chainlet, caseId: string): void {
  c.tx();
  c.emit("CaseSubmitted", {
    caseId,
    programmeId: 1,
    region: TOWNSHIP,
    pseudonym: digestOf(1),
    recordDigest: digestOf(2),
    submitter: "0x0000000000000000000000000000000000000001",
  });
  c.tx();
  c.emit("CaseReviewed", { caseId, passed: true, reasonDigest: digestOf(3), noticeEnds: c.time + 7 * DAY });
}

function approved(c: Chainlet, caseId: string, firstPeriod: number, lastPeriod = firstPeriod + 11): void {
  submitted(c, caseId);
  c.tx();
  c.emit("CaseApproved", {
    caseId,
    amount: 80_000n,
    firstPeriod,
    lastPeriod,
    ruleVersion: digestOf(4),
    standard: 80_000n,
    householdSize: 1,
    incomePerHead: 0n,
  });
}

function payout(c: Chainlet, caseId: string, period: number, sameTx = false): string {
  const tx = sameTx ? undefined : c.tx();
  c.emit("PayoutExecuted", { caseId, programmeId: 1, eventId: MONTHLY, period, amount: 80_000n });
  return tx ?? c.events.at(-1)!.txHash;
}

describe("audit sweep: the lifecycle check rebuilt from chain events", function () {
  this.timeout(120_000);
  const P = periodAt(T0);
  const A = caseIdOf(1);

  describe("the event stream and the case index", function () {
    it("eventSpans: one ledger.events call per span up to the block latest at the start, progress after each", async function () {
      const calls: [number, number, boolean][] = [];
      let latest = 25;
      const source = {
        blockNumber: async () => latest,
        events: async (from: number, to?: number, options?: { timestamps?: boolean }) => {
          calls.push([from, to!, options?.timestamps ?? false]);
          latest += 100; // blocks keep coming: the stream stays on its snapshot
          const c = new Chainlet();
          c.block = from - 1;
          c.tx();
          return [c.emit("FundsAppropriated", { amount: 1n, referenceDigest: digestOf(from) })];
        },
      };
      const progress: number[] = [];
      const blocks: number[] = [];
      for await (const span of eventSpans(source, {
        fromBlock: 3,
        span: 10,
        onProgress: (p) => progress.push(p.done),
      })) {
        blocks.push(...span.events.map((e) => e.blockNumber));
      }
      expect(calls).to.deep.equal([
        [3, 12, true],
        [13, 22, true],
        [23, 25, true],
      ]);
      expect(blocks).to.deep.equal([3, 13, 23]);
      expect(progress).to.deep.equal([10, 20, 23]);
      const none = eventSpans(source, { fromBlock: 30, toBlock: 29 });
      expect((await none.next()).done).to.equal(true);
    });

    it("CaseIndex: dense indexes, ids compared in full, ids given back lowercase, sequential ids stay fast", function () {
      const index = new CaseIndex();
      const a = `0x${"ab".repeat(4)}${"00".repeat(28)}`;
      const b = `0x${"ab".repeat(4)}${"00".repeat(27)}01`;
      const c = `0x${"ab".repeat(3)}aa${"00".repeat(28)}`;
      expect([index.add(a), index.add(b), index.add(c), index.add(a)]).to.deep.equal([0, 1, 2, 0]);
      expect([index.find(b), index.find(b.toUpperCase().replace("0X", "0x")), index.find(caseIdOf(9))]).to.deep.equal([
        1, 1, -1,
      ]);
      expect([index.idAt(0), index.idAt(1), index.idAt(2)]).to.deep.equal([a, b, c]);
      expect(index.size).to.equal(3);
      expect(() => index.add("0x1234")).to.throw(RangeError);
      const started = Date.now();
      let ok = true;
      for (let i = 0; i < 200_000; i++) ok &&= index.add(caseIdOf(i)) === 3 + i;
      expect(ok).to.equal(true);
      expect(index.find(caseIdOf(154_321))).to.equal(3 + 154_321);
      expect(index.idAt(3 + 199_999)).to.equal(caseIdOf(199_999));
      expect(Date.now() - started).to.be.lessThan(5_000);
    });
  });

  describe("synthetic streams (what the contracts would refuse)", function () {
    const only = (xs: SweepException[], kind: ExceptionKind, caseId: string, period: number, txHash: string) => {
      expect(xs).to.have.length(1);
      expect(xs[0]).to.include({
        kind,
        severity: "error",
        caseId,
        payoutId: pid(caseId, period),
        period,
        txHash,
      });
      expect(xs[0].blockNumber).to.be.a("number");
    };

    it("a payout to a case never approved: payout-without-approval at that payout", function () {
      const c = new Chainlet();
      submitted(c, A);
      const tx = payout(c, A, P);
      const xs = runLifecycle(c.events, { now: c.time });
      only(xs, "payout-without-approval", A, P, tx);
      expect(xs[0]).to.include({ programmeId: 1, region: String(TOWNSHIP), blockNumber: c.block });
    });

    it("a payout to an unknown case, and one outside the approved window: payout-without-approval", function () {
      const c = new Chainlet();
      const tx = payout(c, A, P);
      only(runLifecycle(c.events, { now: c.time }), "payout-without-approval", A, P, tx);

      const d = new Chainlet();
      approved(d, A, P, P + 2);
      const late = payout(d, A, P + 3);
      only(runLifecycle(d.events, { now: d.time }), "payout-without-approval", A, P + 3, late);
    });

    it("a payout while the case is suspended: payout-while-suspended; after resuming, none", function () {
      const c = new Chainlet();
      approved(c, A, P);
      c.tx();
      c.emit("CaseSuspended", { caseId: A, reasonDigest: digestOf(5) });
      const tx = payout(c, A, P);
      c.tx();
      c.emit("CaseResumed", { caseId: A, reasonDigest: digestOf(6) });
      payout(c, A, P + 1);
      only(runLifecycle(c.events, { now: c.time }), "payout-while-suspended", A, P, tx);
    });

    it("a payout for a period after the exit's last period: payout-after-exit", function () {
      const c = new Chainlet();
      approved(c, A, P);
      c.tx();
      c.emit("CaseExited", { caseId: A, lastPeriod: P + 1, reasonDigest: digestOf(5) });
      payout(c, A, P + 1);
      const tx = payout(c, A, P + 2);
      only(runLifecycle(c.events, { now: c.time }), "payout-after-exit", A, P + 2, tx);
    });

    it("a monthly payout of another amount than approved, a bill above the cap: payout-amount-mismatch", function () {
      const c = new Chainlet();
      approved(c, A, P);
      const tx = c.tx();
      c.emit("PayoutExecuted", { caseId: A, programmeId: 1, eventId: MONTHLY, period: P, amount: 80_001n });
      only(runLifecycle(c.events, { now: c.time }), "payout-amount-mismatch", A, P, tx);

      const bill = digestOf(98);
      c.tx();
      c.emit("PayoutExecuted", { caseId: A, programmeId: 1, eventId: bill, period: P, amount: 80_000n });
      const above = c.tx();
      c.emit("PayoutExecuted", { caseId: A, programmeId: 1, eventId: digestOf(97), period: P, amount: 80_001n });
      expect(runLifecycle(c.events, { now: c.time }).map((x) => [x.kind, x.payoutId, x.txHash])).to.deep.equal([
        ["payout-amount-mismatch", pid(A, P), tx],
        ["payout-amount-mismatch", pid(A, P, digestOf(97)), above],
      ]);
    });

    it("a period paid twice with no failure between: period-paid-twice at the second payout", function () {
      const c = new Chainlet();
      approved(c, A, P);
      payout(c, A, P);
      c.tx();
      c.emit("PayoutFailed", {
        caseId: A,
        programmeId: 1,
        eventId: MONTHLY,
        period: P,
        amount: 80_000n,
        reasonDigest: digestOf(7),
      });
      payout(c, A, P); // paid again after the failure: fine
      const tx = payout(c, A, P);
      only(runLifecycle(c.events, { now: c.time }), "period-paid-twice", A, P, tx);
    });

    it("an event payout (medical bill) paid twice: period-paid-twice with the bill's payout id", function () {
      const c = new Chainlet();
      approved(c, A, P);
      const bill = digestOf(99);
      c.tx();
      c.emit("PayoutExecuted", { caseId: A, programmeId: 1, eventId: bill, period: P, amount: 1_000n });
      const tx = c.tx();
      c.emit("PayoutExecuted", { caseId: A, programmeId: 1, eventId: bill, period: P, amount: 1_000n });
      const xs = runLifecycle(c.events, { now: c.time });
      expect(xs.map((x) => [x.kind, x.payoutId, x.txHash])).to.deep.equal([["period-paid-twice", pid(A, P, bill), tx]]);
    });

    it("a settlement (or a failure) of a payout that was never made or is already settled: settlement-without-payout", function () {
      const c = new Chainlet();
      approved(c, A, P);
      const first = c.tx();
      c.emit("PayoutSettled", { caseId: A, eventId: MONTHLY, period: P, bankRefDigest: digestOf(8) });
      payout(c, A, P);
      c.tx();
      c.emit("PayoutSettled", { caseId: A, eventId: MONTHLY, period: P, bankRefDigest: digestOf(8) });
      const again = c.tx();
      c.emit("PayoutSettled", { caseId: A, eventId: MONTHLY, period: P, bankRefDigest: digestOf(8) });
      const failed = c.tx();
      c.emit("PayoutFailed", {
        caseId: A,
        programmeId: 1,
        eventId: MONTHLY,
        period: P + 1,
        amount: 80_000n,
        reasonDigest: digestOf(7),
      });
      const xs = runLifecycle(c.events, { now: c.time });
      expect(xs.map((x) => [x.kind, x.payoutId, x.txHash])).to.deep.equal([
        ["settlement-without-payout", pid(A, P), first],
        ["settlement-without-payout", pid(A, P), again],
        ["settlement-without-payout", pid(A, P + 1), failed],
      ]);
    });

    it("the scope filters what is reported: another region, another programme, another period see nothing", function () {
      const c = new Chainlet();
      submitted(c, A);
      payout(c, A, P);
      expect(runLifecycle(c.events, { now: c.time }, { region: 110105n })).to.have.length(1);
      expect(runLifecycle(c.events, { now: c.time }, { region: 110106n })).to.deep.equal([]);
      expect(runLifecycle(c.events, { now: c.time }, { programmeId: 2 })).to.deep.equal([]);
      expect(runLifecycle(c.events, { now: c.time }, { period: P + 1 })).to.deep.equal([]);
      expect(runLifecycle(c.events, { now: c.time }, { period: P, programmeId: 1 })).to.have.length(1);
    });

    it("time-dependent warnings judged at `now` with the configured deadline and dispute windows", function () {
      const c = new Chainlet();
      approved(c, A, P);
      const paidTx = payout(c, A, P);
      const paidAt = c.time;
      const B = caseIdOf(2);
      approved(c, B, P);
      payout(c, B, P);
      const settledTx = c.tx();
      c.emit("PayoutSettled", { caseId: B, eventId: MONTHLY, period: P, bankRefDigest: digestOf(8) });
      const settledAt = c.time;

      // A 3-day deadline and a 1-day dispute window, 2 days on: nothing yet; 4 days on: both.
      const at = (days: number, windows: LifecycleFinishOptions["disputeWindowSeconds"]) =>
        runLifecycle(c.events, {
          now: settledAt + days * DAY,
          settlementDeadlineSeconds: 3 * DAY,
          disputeWindowSeconds: windows,
        });
      expect(at(0.5, DAY)).to.deep.equal([]);
      expect(at(2, DAY).map((x) => x.kind)).to.deep.equal(["receipt-missing"]);
      expect(at(2, new Map([[1, 5 * DAY]]))).to.deep.equal([]);
      expect(at(2, () => undefined).map((x) => x.kind)).to.deep.equal([]);
      const late = at(4, DAY);
      expect(late.map((x) => [x.kind, x.severity, x.payoutId, x.txHash])).to.deep.equal([
        ["payout-unsettled", "warning", pid(A, P), paidTx],
        ["receipt-missing", "warning", pid(B, P), settledTx],
      ]);
      expect(paidAt).to.be.lessThan(settledAt);
    });
  });

  describe("properties", function () {
    it("for random valid event sequences, no error-severity exception is reported", function () {
      fc.assert(
        fc.property(runArb, (commands) => {
          const m = play(commands);
          expect(errors(runLifecycle(m.events, { now: m.chain.time }))).to.deep.equal([]);
        }),
        { numRuns: 200 },
      );
    });

    /** A corruption of the stream and the kind it must bring, if the stream gives it a way to show. */
    type Corruption = { events: LedgerEvent[]; kind: ExceptionKind; payoutId: string } | undefined;
    const same = (e: LedgerEvent, caseId: string) => (e.args as { caseId?: string }).caseId === caseId;
    const key = (e: LedgerEvent) => {
      const a = e.args as { caseId: string; period: number; eventId: string };
      return pid(a.caseId, a.period, a.eventId);
    };
    const monthly: Command = { t: "case", programme: 1 };
    /** Each corruption, and a scenario that gives it something to corrupt (mixed into a random run). */
    const scenarios: Record<string, Command[]> = {
      "duplicate a PayoutExecuted": [monthly, { t: "pay" }],
      "drop a CaseApproved": [monthly, { t: "pay" }],
      "drop a CaseResumed": [monthly, { t: "suspend", k: -1 }, { t: "resume", k: -1 }, { t: "pay" }],
      "drop a settled PayoutExecuted": [monthly, { t: "pay" }, { t: "settle", k: -1 }],
      "drop a repaid PayoutFailed": [monthly, { t: "pay" }, { t: "fail", k: -1 }, { t: "pay" }],
      "change a monthly payout's amount": [monthly, { t: "pay" }],
    };
    const corruptions: Record<string, (events: LedgerEvent[], i: number) => Corruption> = {
      /** A payout executed twice. */
      "duplicate a PayoutExecuted": (events, i) => {
        const e = events[i];
        if (e.name !== "PayoutExecuted") return undefined;
        const copy = { ...e, logIndex: e.logIndex + 1 } as LedgerEvent;
        return {
          events: [...events.slice(0, i + 1), copy, ...events.slice(i + 1)],
          kind: "period-paid-twice",
          payoutId: key(e),
        };
      },
      /** An approval dropped: the case's first payout has none. */
      "drop a CaseApproved": (events, i) => {
        const e = events[i];
        if (e.name !== "CaseApproved") return undefined;
        const next = events.slice(i + 1).find((x) => x.name === "PayoutExecuted" && same(x, e.args.caseId));
        if (!next) return undefined;
        return { events: events.filter((_, j) => j !== i), kind: "payout-without-approval", payoutId: key(next) };
      },
      /** A resumption dropped: the next payout of the case (before another resumption) happens while suspended. */
      "drop a CaseResumed": (events, i) => {
        const e = events[i];
        if (e.name !== "CaseResumed") return undefined;
        const rest = events.slice(i + 1);
        const end = rest.findIndex((x) => x.name === "CaseResumed" && same(x, e.args.caseId));
        const next = (end < 0 ? rest : rest.slice(0, end)).find(
          (x) => x.name === "PayoutExecuted" && same(x, e.args.caseId),
        );
        if (!next) return undefined;
        return { events: events.filter((_, j) => j !== i), kind: "payout-while-suspended", payoutId: key(next) };
      },
      /** A payout dropped whose settlement or failure follows. */
      "drop a settled PayoutExecuted": (events, i) => {
        const e = events[i];
        if (e.name !== "PayoutExecuted") return undefined;
        const rest = events.slice(i + 1);
        const end = rest.findIndex((x) => x.name === "PayoutExecuted" && key(x) === key(e));
        const next = (end < 0 ? rest : rest.slice(0, end)).find(
          (x) => (x.name === "PayoutSettled" || x.name === "PayoutFailed") && key(x) === key(e),
        );
        if (!next) return undefined;
        return { events: events.filter((_, j) => j !== i), kind: "settlement-without-payout", payoutId: key(e) };
      },
      /** A monthly payout at another amount than approved. */
      "change a monthly payout's amount": (events, i) => {
        const e = events[i];
        if (e.name !== "PayoutExecuted" || e.args.eventId !== MONTHLY) return undefined;
        const changed = { ...e, args: { ...e.args, amount: e.args.amount + BigInt(1 + (i % 7)) } } as LedgerEvent;
        return {
          events: events.map((x, j) => (j === i ? changed : x)),
          kind: "payout-amount-mismatch",
          payoutId: key(e),
        };
      },
      /** A failure dropped, and the payout made again. */
      "drop a repaid PayoutFailed": (events, i) => {
        const e = events[i];
        if (e.name !== "PayoutFailed") return undefined;
        const next = events.slice(i + 1).find((x) => x.name === "PayoutExecuted" && key(x) === key(e));
        if (!next) return undefined;
        return { events: events.filter((_, j) => j !== i), kind: "period-paid-twice", payoutId: key(e) };
      },
    };

    for (const [name, corrupt] of Object.entries(corruptions)) {
      it(`for random corruptions (${name}), that kind is reported at that payout`, function () {
        let applied = 0;
        fc.assert(
          fc.property(runWith(scenarios[name]), fc.nat(10_000), (commands, at) => {
            const events = play(commands).events;
            const candidates = events.flatMap((_, i) => (corrupt(events, i) ? [i] : []));
            fc.pre(candidates.length > 0);
            const c = corrupt(events, candidates[at % candidates.length])!;
            applied++;
            const xs = errors(runLifecycle(c.events, { now: c.events.at(-1)!.timestamp! }));
            expect(xs.map((x) => [x.kind, x.payoutId])).to.deep.include([c.kind, c.payoutId]);
          }),
          { numRuns: 100 },
        );
        expect(applied).to.be.greaterThan(50);
      });
    }
  });

  describe("on a real chain", function () {
    const TEKUN = 3;
    let tg: TestGateway;
    let period: number;
    let keys: PayoutKey[];
    let runTx: string;
    let settleTx: string;
    let disputeTx: string;

    const chainTime = async () =>
      Number((await tg.chain.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false])).timestamp);
    const sweep = async (options: Partial<LifecycleFinishOptions> = {}) => {
      const ledger = tg.gateway.ctx.ledger;
      const cases = new CaseIndex();
      const check = new LifecycleCheck({ cases });
      const funds = new FundsCheck({ cases });
      await feed(eventSpans(ledger, { fromBlock: tg.deployment.deployedAtBlock, phase: "lifecycle" }), [check, funds]);
      const windows = await disputeWindows(ledger, check.programmeIds());
      const exceptions = check.finish({ now: await chainTime(), disputeWindowSeconds: windows, ...options });
      return { exceptions, funds: await funds.finish(ledger), check };
    };
    const summary = (xs: SweepException[]) => xs.map((x) => [x.kind, x.payoutId, x.txHash]);

    before(async function () {
      tg = await startTestGateway();
      const ledger = tg.gateway.ctx.ledger;
      await fundPool(tg, TEKUN, 1_000_000n);
      const cases = [];
      for (let i = 0; i < 4; i++) cases.push(await submitCase(tg, { programmeId: TEKUN }));
      await passNotice(tg);
      for (const c of cases) await approveCase(tg, c.caseId, TEKUN);
      period = await ledger.currentPeriod();
      const run = await ledger.executePayouts("county-finance", {
        programmeId: TEKUN,
        period,
        caseIds: cases.map((c) => c.caseId),
      });
      runTx = run.transactions[0].txHash;
      keys = cases.map((c) => ({ caseId: c.caseId, period, eventId: MONTHLY }));
      // 0: paid, never settled. 1: settled, no receipt. 2: settled, to be disputed. 3: settled and confirmed.
      const settled = await ledger.confirmSettlements("county-bank", {
        bankRefDigest: digest("bank"),
        keys: keys.slice(1),
      });
      settleTx = settled.transactions[0].txHash;
      await ledger.attestReceipt(GATEWAY_ACTORS.anchorer, {
        key: keys[3],
        outcome: ReceiptOutcome.Confirmed,
        evidenceDigest: digest("receipt 3"),
      });
    });

    after(async function () {
      await tg?.close();
    });

    it("a clean scenario: paid, settled, receipts coming — no exception; funds equal the chain's", async function () {
      const { exceptions, funds, check } = await sweep();

      expect(exceptions).to.deep.equal([]);
      expect(funds.exceptions).to.deep.equal([]);
      expect(check.caseCount).to.equal(4);
      expect(funds.pools.find((p) => p.programmeId === TEKUN)!.balance).to.equal(
        await tg.gateway.ctx.ledger.poolBalance(TEKUN),
      );
    });

    it("a beneficiary says the money did not arrive: dispute-open at that payout, with the receipt's tx", async function () {
      const tx = await tg.gateway.ctx.ledger.attestReceipt(GATEWAY_ACTORS.anchorer, {
        key: keys[2],
        outcome: ReceiptOutcome.NotReceived,
        evidenceDigest: digest("not received 2"),
      });
      disputeTx = tx.txHash;

      const { exceptions } = await sweep();

      expect(summary(exceptions)).to.deep.equal([["dispute-open", payoutIdOf(keys[2]), disputeTx]]);
      expect(exceptions[0]).to.include({ severity: "warning", caseId: keys[2].caseId, blockNumber: tx.blockNumber });
    });

    it("8 days on: payout-unsettled for the payout never settled (7-day deadline), with the run's tx", async function () {
      await tg.chain.increaseTime(8 * DAY);

      const { exceptions } = await sweep();

      expect(summary(exceptions)).to.deep.equal([
        ["payout-unsettled", payoutIdOf(keys[0]), runTx],
        ["dispute-open", payoutIdOf(keys[2]), disputeTx],
      ]);
      // A longer deadline: not yet.
      expect(summary((await sweep({ settlementDeadlineSeconds: 9 * DAY })).exceptions)).to.deep.equal([
        ["dispute-open", payoutIdOf(keys[2]), disputeTx],
      ]);
    });

    it("16 days on: receipt-missing past the 15-day dispute window, and the dispute overdue", async function () {
      await tg.chain.increaseTime(8 * DAY);

      const { exceptions } = await sweep();

      expect(summary(exceptions)).to.deep.equal([
        ["payout-unsettled", payoutIdOf(keys[0]), runTx],
        ["receipt-missing", payoutIdOf(keys[1]), settleTx],
        ["dispute-overdue", payoutIdOf(keys[2]), disputeTx],
      ]);
      expect(exceptions.every((x) => x.severity === "warning")).to.equal(true);
      const dispute = await tg.gateway.ctx.ledger.disputeOf(keys[2]);
      expect(exceptions[2].detail).to.contain(String(dispute.responseDeadline));
    });

    it("settling, confirming and resolving clears them", async function () {
      const ledger = tg.gateway.ctx.ledger;
      await ledger.confirmSettlements("county-bank", { bankRefDigest: digest("bank 2"), keys: [keys[0]] });
      await ledger.attestReceipt(GATEWAY_ACTORS.anchorer, {
        key: keys[1],
        outcome: ReceiptOutcome.Confirmed,
        evidenceDigest: digest("receipt 1"),
      });
      await ledger.resolveDispute("county-approver", {
        key: keys[2],
        outcome: DisputeOutcome.PaymentProven,
        resolutionDigest: digest("bank statement"),
      });
      await ledger.attestReceipt(GATEWAY_ACTORS.anchorer, {
        key: keys[0],
        outcome: ReceiptOutcome.Confirmed,
        evidenceDigest: digest("receipt 0"),
      });

      const { exceptions, funds } = await sweep();

      expect(exceptions).to.deep.equal([]);
      expect(funds.exceptions).to.deep.equal([]);
    });
  });
});
