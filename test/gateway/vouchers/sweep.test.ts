/**
 * The sweep's voucher check (gateway/src/audit/sweep/vouchers.ts) over a world with vouchers on anvil: the honest
 * event stream holds (issued = redeemed + expired + outstanding, escrow = outstanding + unpaid, the chain's
 * voucherTotals and voucherEscrow agree), and any doctored event list — an amount changed, an event dropped or
 * repeated, a redemption moved past its voucher's expiry — fails it. (A forged event cannot be made on anvil: the
 * doctored lists are fed to the check function.)
 */
import { expect } from "chai";
import fc from "fast-check";
import { FundsCheck } from "../../../gateway/src/audit/sweep/funds";
import { renderSweepHtml } from "../../../gateway/src/audit/sweep/report-html";
import { runSweep } from "../../../gateway/src/audit/sweep/sweep";
import { type VoucherExceptionKind, checkVoucherEvents } from "../../../gateway/src/audit/sweep/vouchers";
import type { LedgerEvent } from "../../../gateway/src/ledger";
import { type VoucherWorld, idemKey, issueAll, presentationCode, redeem, voucherWorld } from "./helpers";

const DAY = 86_400;

describe("audit sweep: the voucher books from chain events", function () {
  this.timeout(120_000);
  let w: VoucherWorld;
  let events: LedgerEvent[];

  before(async function () {
    w = await voucherWorld({ faceValues: [100_000n, 50_000n, 30_000n], validityDays: 10, residentBase: 900 });
    const { tg } = w;
    await issueAll(w);
    const [a, b] = w.beneficiaries;
    for (const [who, amount, invoice] of [
      [a, 40_000, "SW-1"],
      [a, 10_000, "SW-2"],
      [b, 50_000, "SW-3"],
    ] as const) {
      const code = await presentationCode(w, who);
      const res = await redeem(w, w.providers.school, { code, amount, invoiceNumber: invoice });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
    }
    const pay = await tg.http
      .post("/v1/voucher-redemptions/payments")
      .set("Authorization", tg.auth("county-finance"))
      .set("Idempotency-Key", idemKey())
      .send({ programmeId: w.programmeId });
    expect(pay.body.paid).to.equal(3);
    await tg.http
      .post("/v1/voucher-redemptions/settlements")
      .set("Authorization", tg.auth("county-bank"))
      .send({ bankReference: "SW-BANK", redemptions: [{ voucherId: a.caseId, index: 0 }] });
    await tg.http
      .post("/v1/voucher-redemptions/failures")
      .set("Authorization", tg.auth("county-bank"))
      .send({ redemption: { voucherId: a.caseId, index: 1 }, reason: "wrong account" });
    await w.advanceChain(11 * DAY);
    const expired = await tg.http
      .post("/v1/vouchers/expiries")
      .set("Authorization", tg.auth("county-finance"))
      .send({});
    expect(expired.body.expired).to.equal(2);
    events = await tg.gateway.ctx.ledger.events(tg.deployment.deployedAtBlock, undefined, { timestamps: true });
  });
  after(async () => w?.close());

  it("holds on the honest world and agrees with the chain's views", async function () {
    const result = await checkVoucherEvents(events, w.chain);
    expect(result.exceptions).to.deep.equal([]);
    expect(result.holds).to.equal(true);
    const [p] = result.programmes;
    expect(p).to.include({
      programmeId: w.programmeId,
      vouchers: 3,
      issued: 180_000n,
      redeemed: 100_000n,
      expired: 80_000n,
      outstanding: 0n,
      paid: 90_000n,
      unpaid: 10_000n,
    });
    expect(result.escrow).to.equal(10_000n);
    expect(result.chainEscrow).to.equal(10_000n);
  });

  const kinds = (r: { exceptions: { kind: VoucherExceptionKind }[] }) => new Set(r.exceptions.map((e) => e.kind));
  const voucherEvent = (e: LedgerEvent) =>
    [
      "VoucherIssued",
      "VoucherRedeemed",
      "VoucherExpired",
      "RedemptionPaid",
      "RedemptionFailed",
      "VoucherFundsMoved",
    ].includes(e.name);

  it("fails when any voucher event's amount is changed", async function () {
    const targets = events.map((e, i) => [e, i] as const).filter(([e]) => voucherEvent(e));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: targets.length - 1 }),
        fc.bigInt({ min: 1n, max: 5_000n }),
        fc.boolean(),
        async (pick, delta, up) => {
          const [event, at] = targets[pick];
          const args = { ...event.args } as Record<string, unknown>;
          const field = "faceValue" in args ? "faceValue" : "amount";
          args[field] = up ? (args[field] as bigint) + delta : (args[field] as bigint) - delta;
          const doctored = events.slice();
          doctored[at] = { ...event, args } as LedgerEvent;
          const result = await checkVoucherEvents(doctored);
          expect(result.holds, `${event.name} ${field} ${up ? "+" : "-"}${delta}`).to.equal(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("fails when a voucher event is dropped or repeated", async function () {
    const targets = events.map((e, i) => [e, i] as const).filter(([e]) => voucherEvent(e));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: targets.length - 1 }), fc.boolean(), async (pick, drop) => {
        const [, at] = targets[pick];
        const doctored = drop
          ? [...events.slice(0, at), ...events.slice(at + 1)]
          : [...events.slice(0, at + 1), ...events.slice(at)];
        expect((await checkVoucherEvents(doctored)).holds).to.equal(false);
      }),
      { numRuns: 30 },
    );
  });

  it("names a redemption after its voucher's expiry, and a remaining that is not face value − redemptions", async function () {
    const at = events.findIndex((e) => e.name === "VoucherRedeemed");
    const issued = events.find(
      (e) => e.name === "VoucherIssued" && e.args.voucherId === (events[at].args as { voucherId: string }).voucherId,
    );
    const late = events.slice();
    late[at] = { ...events[at], timestamp: (issued!.args as { expiresAt: number }).expiresAt } as LedgerEvent;
    expect(kinds(await checkVoucherEvents(late))).to.include("redemption-after-expiry");
    const wrong = events.slice();
    const args = { ...(events[at].args as Record<string, unknown>) };
    args.remaining = (args.remaining as bigint) + 1n;
    wrong[at] = { ...events[at], args } as LedgerEvent;
    expect(kinds(await checkVoucherEvents(wrong))).to.deep.equal(new Set(["voucher-remaining-mismatch"]));
  });

  it("names a view that differs from the rebuilt books", async function () {
    const lying = {
      voucherTotals: async (id: number) => ({ ...(await w.chain.voucherTotals(id)), paid: 1n }),
      voucherEscrow: async () => 0n,
    };
    const result = await checkVoucherEvents(events, lying);
    expect(result.exceptions.filter((e) => e.kind === "balance-mismatch")).to.have.length(2);
  });

  it("the whole sweep counts the vouchers: pools, escrow and paid out hold, and the report shows the books", async function () {
    const ctx = w.tg.gateway.ctx;
    const report = await runSweep({
      store: ctx.store,
      ledger: ctx.ledger,
      deployment: ctx.deployment,
      rpcUrl: ctx.rpcUrl,
    });
    const errors = report.exceptions.filter((e) => e.severity === "error");
    expect(errors, JSON.stringify(errors)).to.deep.equal([]);
    expect(report.conservation.holds).to.equal(true);
    // 100 yuan redeemed: 90 paid to the provider, 10 back in escrow after its bank failed; 80 expired to the pool.
    expect(report.conservation.voucherEscrow).to.equal("10000");
    expect(report.vouchers).to.deep.include({ holds: true, vouchers: 3, redemptions: 3, escrow: "10000" });
    expect(report.vouchers.programmes[0]).to.include({ issued: "180000", expired: "80000", paid: "90000" });
    const pool = report.pools.find((p) => p.programmeId === w.programmeId)!;
    expect(pool).to.include({ vouchersIssued: "180000", vouchersExpired: "80000", redemptionsPaid: "100000" });
    expect(pool).to.include({ redemptionsFailed: "10000", holds: true });
    const stage = (name: string) => report.fundFlow.stages.find((s) => s.stage === name);
    expect(stage("vouchers")).to.include({ amount: "180000" });
    expect(stage("redemptions-paid")).to.include({ amount: "100000" });
    expect(report.counts).to.include({ vouchers: 3, redemptions: 3 });
    expect(renderSweepHtml(report)).to.contain("救助券 Vouchers");
  });

  it("the fund check notices a voucher fund move dropped from the stream", async function () {
    const moves = events.map((e, i) => [e, i] as const).filter(([e]) => e.name === "VoucherFundsMoved");
    expect(moves.length).to.be.greaterThan(0);
    for (const [, drop] of moves) {
      const check = new FundsCheck();
      for (const [i, e] of events.entries()) if (i !== drop) check.consume(e);
      const result = await check.finish(w.tg.gateway.ctx.ledger);
      expect(result.exceptions.length, `dropping event ${drop}`).to.be.greaterThan(0);
    }
  });

  it("the fund trail API counts the voucher moves: the county's inflow = held (escrow included) + paid out", async function () {
    const res = await w.tg.http
      .get(`/v1/fund-trail?programmeId=${w.programmeId}`)
      .set("Authorization", w.tg.auth("county-auditor"));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.conservation).to.include({ holds: true, matchesChain: true });
    const pool = res.body.pools.find((p: { programmeId: number }) => p.programmeId === w.programmeId);
    expect(pool).to.include({ voucherEscrow: "10000", redemptionsPaid: "90000", matches: true });
    const types = new Set(res.body.flows.map((f: { type: string }) => f.type));
    for (const type of ["voucher-issue", "voucher-expiry", "voucher-payment", "voucher-failure"]) {
      expect(types, type).to.include(type);
    }
  });
});
