import { expect } from "chai";
import { gapAmount } from "../../../lib/programmes";
import { formatPeriod } from "../../../lib/periods";
import { PayoutStatus } from "../../../lib/roles";
import { LedgerUnavailableError, MONTHLY, type Ledger } from "../../../gateway/src/ledger";
import { payoutIdOf, parsePayoutId } from "../../../gateway/src/payouts/ids";
import { resumePayoutRuns } from "../../../gateway/src/payouts/resume";
import { DEFAULT_PAGES_IN_FLIGHT, payoutRuntime } from "../../../gateway/src/payouts/runs";
import { type TestGateway, startTestGateway } from "../api/harness";
import {
  type CaseSpec,
  allRuns,
  approveCases,
  fundPool,
  hex32,
  passNotice,
  settleBackground,
  submitCases,
  sum,
} from "./helpers";

const URBAN = 1; // 城市低保, standard 73,700 fen
const RURAL = 2; // 農村低保, standard 68,300 fen
const DESTITUTE = 3; // 特困, 80,000 fen a month
const TEMPORARY = 4; // 臨時救助
const MEDICAL = 5;

async function latestTimestamp(t: TestGateway): Promise<number> {
  const block = await t.chain.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  return Number.parseInt(block.timestamp, 16);
}

describe("payouts API: payout runs", function () {
  this.timeout(60_000);
  let t: TestGateway;
  let ledger: Ledger;
  let period: number;
  const batches: Record<"urban" | "destitute" | "rural" | "temporary", { ids: string[]; amounts: bigint[] }> = {
    urban: { ids: [], amounts: [] },
    destitute: { ids: [], amounts: [] },
    rural: { ids: [], amounts: [] },
    temporary: { ids: [], amounts: [] },
  };

  const post = (key: string | undefined, body: object, who: Parameters<TestGateway["auth"]>[0] = "county-finance") => {
    const req = t.http.post("/v1/payout-runs").set("Authorization", t.auth(who));
    return key === undefined ? req.send(body) : req.set("Idempotency-Key", key).send(body);
  };
  const getRun = (runId: string, who: Parameters<TestGateway["auth"]>[0] = "county-finance") =>
    t.http.get(`/v1/payout-runs/${runId}`).set("Authorization", t.auth(who));

  before(async function () {
    t = await startTestGateway();
    ledger = t.gateway.ctx.ledger;
    for (const programmeId of [URBAN, RURAL, DESTITUTE, TEMPORARY]) await fundPool(t, programmeId, 50_000_000n);
    const specs: Record<keyof typeof batches, CaseSpec[]> = {
      urban: Array.from({ length: 10 }, (_, i) => ({
        programmeId: URBAN,
        householdSize: 1 + (i % 4),
        incomePerHead: BigInt(i * 5_000),
      })),
      destitute: Array.from({ length: 5 }, () => ({ programmeId: DESTITUTE })),
      rural: Array.from({ length: 10 }, (_, i) => ({
        programmeId: RURAL,
        householdSize: 2,
        incomePerHead: BigInt(i * 1_000),
      })),
      temporary: Array.from({ length: 6 }, (_, i) => ({
        programmeId: TEMPORARY,
        amount: BigInt(100_000 + i * 10_000),
      })),
    };
    const submitted = {} as Record<keyof typeof batches, string[]>;
    for (const name of Object.keys(specs) as (keyof typeof batches)[])
      submitted[name] = await submitCases(t, specs[name]);
    await passNotice(t);
    for (const name of Object.keys(specs) as (keyof typeof batches)[]) {
      batches[name] = { ids: submitted[name], amounts: await approveCases(t, submitted[name], specs[name]) };
    }
    period = await ledger.currentPeriod();
  });

  after(async function () {
    await t?.close();
  });

  it("payout ids: payoutIdOf and parsePayoutId round-trip; malformed ids are refused", function () {
    const key = { caseId: hex32(), period: 24_322, eventId: MONTHLY };
    expect(parsePayoutId(payoutIdOf(key))).to.deep.equal(key);
    expect(parsePayoutId(payoutIdOf(key).toUpperCase().replace(/^0X/, "0x").replace(/:0X/g, ":0x"))).to.deep.equal(key);
    for (const bad of [
      "",
      "x",
      `${key.caseId}:024322:${MONTHLY}`,
      `${key.caseId}:99999999:${MONTHLY}`,
      `${key.caseId}:1`,
    ]) {
      expect(parsePayoutId(bad), bad).to.equal(undefined);
    }
  });

  it("POST /v1/payout-runs without Idempotency-Key: 400, no run stored", async function () {
    const res = await post(undefined, { programmeId: URBAN });
    expect(res.status).to.equal(400);
    expect(res.body.error).to.include({ code: "VALIDATION_FAILED", field: "headers.idempotency-key" });
    expect(await allRuns(t)).to.have.length(0);
  });

  it("refuses other roles (403 FORBIDDEN_ROLE), a finance bureau outside the programme's region (403 OUTSIDE_REGION), an event programme, a future period, bad bodies", async function () {
    expect((await post("k-role", { programmeId: URBAN }, "county-approver")).body.error.code).to.equal(
      "FORBIDDEN_ROLE",
    );

    const created = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("admin"))
      .send({ id: "shanghai-finance", name: "上海市財政局 (test)", role: "finance", region: "310000" });
    expect(created.status).to.equal(201);
    const outside = await t.http
      .post("/v1/payout-runs")
      .set("Authorization", `Bearer ${created.body.apiKey}`)
      .set("Idempotency-Key", "k-outside")
      .send({ programmeId: URBAN });
    expect(outside.status).to.equal(403);
    expect(outside.body.error.code).to.equal("OUTSIDE_REGION");

    const medical = await post("k-medical", { programmeId: MEDICAL });
    expect(medical.status).to.equal(409);
    expect(medical.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerWrongProgrammeKind" });

    const future = await post("k-future", { programmeId: URBAN, period: formatPeriod(period + 1) });
    expect(future.status).to.equal(409);
    expect(future.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerPeriodNotDue" });

    const bad = await post("k-bad", { programmeId: URBAN, period: "2026-13" });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.include({ code: "VALIDATION_FAILED", field: "period" });
    const unknown = await post("k-unknown", { programmeId: URBAN, extra: 1 });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error.field).to.equal("extra");
    const badKey = await post("bad key with spaces", { programmeId: URBAN });
    expect(badKey.status).to.equal(400);
    expect(badKey.body.error.field).to.equal("headers.idempotency-key");

    expect(await allRuns(t)).to.have.length(0);
    // A refused request released its key: the same key works for a valid request later.
    const res = await post("k-future", { programmeId: URBAN, period: formatPeriod(period + 1) });
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal("LEDGER_REJECTED");
  });

  let urbanRun: string;
  it("a run pays every approved case once with its gap amount; progress, payouts and chain agree", async function () {
    const poolBefore = await ledger.poolBalance(URBAN);
    const res = await post("urban-1", { programmeId: URBAN });
    expect(res.status).to.equal(202);
    expect(res.body).to.have.keys("runId", "status");
    expect(res.body.status).to.equal("pending");
    urbanRun = res.body.runId;
    await settleBackground(t);

    const run = await getRun(urbanRun);
    expect(run.status).to.equal(200);
    const expected = batches.urban.amounts;
    expect(run.body).to.include({
      runId: urbanRun,
      kind: "monthly",
      programmeId: URBAN,
      period: formatPeriod(period),
      status: "completed",
      listed: 10,
      paid: 10,
      skipped: 0,
      total: String(sum(expected)),
      errorCode: null,
      actor: "county-finance",
      region: "110105",
    });
    expect(run.body.result.transactions).to.have.length(1);
    expect(run.body.result.transactions[0]).to.include({ paid: 10, skipped: 0 });
    expect(run.body.result.skipped).to.deep.equal({});

    // Gap amounts: (73,700 − income per head) × household size.
    batches.urban.ids.forEach((_, i) => {
      expect(expected[i]).to.equal(gapAmount(73_700n, BigInt(i * 5_000), 1 + (i % 4)));
    });
    for (const [i, caseId] of batches.urban.ids.entries()) {
      const state = await ledger.payoutStatus({ caseId, period, eventId: MONTHLY });
      expect(state).to.deep.equal({ status: PayoutStatus.Paid, amount: expected[i] });
    }
    expect(await ledger.poolBalance(URBAN)).to.equal(poolBefore - sum(expected));

    const list = await t.http
      .get(`/v1/payouts?programmeId=${URBAN}&period=${formatPeriod(period)}`)
      .set("Authorization", t.auth("county-bank"));
    expect(list.status).to.equal(200);
    expect(list.body.payouts).to.have.length(10);
    const byCase = new Map(list.body.payouts.map((p: { caseId: string }) => [p.caseId, p]));
    for (const [i, caseId] of batches.urban.ids.entries()) {
      expect(byCase.get(caseId)).to.include({
        payoutId: payoutIdOf({ caseId, period, eventId: MONTHLY }),
        amount: String(expected[i]),
        status: "paid",
        runId: urbanRun,
        txHash: run.body.result.transactions[0].txHash,
        region: "110105001000",
      });
    }
    const metric = await t.gateway.ctx.metrics.payouts.get();
    expect(metric.values.find((v) => v.labels.outcome === "paid")?.value).to.equal(10);
    const audit = await t.gateway.ctx.store.listAudit({ target: urbanRun });
    expect(audit.map((e) => e.action)).to.deep.equal(["payout-run.created", "payout-run.completed"]);
  });

  it("GET /v1/payout-runs/{runId}: auditors of the region read it; other roles 403; unknown 404", async function () {
    expect((await getRun(urbanRun, "county-auditor")).status).to.equal(200);
    expect((await getRun(urbanRun, "province-finance")).status).to.equal(200);
    expect((await getRun(urbanRun, "county-bank")).body.error.code).to.equal("FORBIDDEN_ROLE");
    expect((await getRun("00000000-0000-4000-8000-000000000000")).status).to.equal(404);
    expect((await getRun("not-a-run")).status).to.equal(400);
    const outside = await t.http.get("/v1/payouts").set("Authorization", t.auth("county-medical"));
    expect(outside.body.error.code).to.equal("FORBIDDEN_ROLE");
  });

  it("the same key again: the same 202 body, no new run, nothing paid twice; the same key with another body: 422", async function () {
    const runsBefore = (await allRuns(t)).length;
    const again = await post("urban-1", { programmeId: URBAN });
    expect(again.status).to.equal(202);
    expect(again.body).to.deep.equal({ runId: urbanRun, status: "pending" });
    expect(again.headers["idempotent-replayed"]).to.equal("true");
    await settleBackground(t);
    expect(await allRuns(t)).to.have.length(runsBefore);
    for (const caseId of batches.urban.ids) expect(await ledger.casePayouts(caseId)).to.have.length(1);

    const reused = await post("urban-1", { programmeId: URBAN, period: formatPeriod(period) });
    expect(reused.status).to.equal(422);
    expect(reused.body.error.code).to.equal("IDEMPOTENCY_KEY_REUSED");
  });

  it("50 concurrent POSTs with one key: one run, every caller gets its runId", async function () {
    const runsBefore = (await allRuns(t)).length;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => post("urban-concurrent", { programmeId: URBAN })),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(50).fill(202));
    expect(new Set(answers.map((a) => a.body.runId)).size).to.equal(1);
    await settleBackground(t);
    expect(await allRuns(t)).to.have.length(runsBefore + 1);
    const run = await getRun(answers[0].body.runId);
    // Everything was paid by the first run: this one skips all ten.
    expect(run.body).to.include({ status: "completed", listed: 10, paid: 0, skipped: 10, total: "0" });
    expect(run.body.result.skipped).to.deep.equal({ AlreadyPaid: 10 });
  });

  it("20 concurrent POSTs with different keys for one programme and period: each entitlement paid exactly once", async function () {
    const poolBefore = await ledger.poolBalance(DESTITUTE);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(`destitute-${i}`, { programmeId: DESTITUTE })),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(20).fill(202));
    expect(new Set(answers.map((a) => a.body.runId)).size).to.equal(20);
    await settleBackground(t);

    const runs = await Promise.all(answers.map((a) => getRun(a.body.runId)));
    expect(runs.every((r) => r.body.status === "completed")).to.equal(true);
    expect(runs.reduce((n, r) => n + r.body.paid, 0)).to.equal(5);
    expect(runs.reduce((n, r) => n + r.body.skipped, 0)).to.equal(19 * 5);
    for (const caseId of batches.destitute.ids) {
      expect(await ledger.casePayouts(caseId)).to.deep.equal([{ caseId, period, eventId: MONTHLY }]);
      expect(await ledger.payoutStatus({ caseId, period, eventId: MONTHLY })).to.deep.equal({
        status: PayoutStatus.Paid,
        amount: 80_000n,
      });
    }
    expect(await ledger.poolBalance(DESTITUTE)).to.equal(poolBefore - 5n * 80_000n);
    const rows = await t.gateway.ctx.store.listPayouts({ programmeId: DESTITUTE });
    expect(rows).to.have.length(5);
  });

  it("the chain stops mid-run: the run fails with CHAIN_UNAVAILABLE; restarted, resumePayoutRuns completes it, nothing paid twice", async function () {
    const rt = payoutRuntime(t.gateway.ctx);
    rt.pageSize = 4;
    rt.pagesInFlight = 1; // one page after another, so that the fault falls between two pages
    const original = ledger.executePayouts.bind(ledger);
    let calls = 0;
    let chainTime = 0;
    ledger.executePayouts = async (actor, run) => {
      if (++calls === 2) {
        chainTime = await latestTimestamp(t);
        await t.chain.stop();
      }
      return original(actor, run);
    };
    let runId: string;
    try {
      const res = await post("rural-1", { programmeId: RURAL });
      expect(res.status).to.equal(202);
      runId = res.body.runId;
      await settleBackground(t);
    } finally {
      ledger.executePayouts = original;
    }
    const failed = await t.gateway.ctx.store.getPayoutRun(runId);
    expect(failed).to.include({ status: "failed", errorCode: "CHAIN_UNAVAILABLE", listed: 4, paid: 4 });

    await t.chain.restart();
    // anvil restarted from its state file mines at the wall clock again: put the chain's clock back where it was.
    await t.chain.rpc("evm_setTime", [chainTime + 1]);
    expect(await resumePayoutRuns(t.gateway.ctx)).to.deep.equal([runId]);
    await settleBackground(t);
    rt.pageSize = 500;
    rt.pagesInFlight = DEFAULT_PAGES_IN_FLIGHT;

    const run = await getRun(runId);
    expect(run.body).to.include({ status: "completed", listed: 10, paid: 10, skipped: 0, errorCode: null });
    expect(run.body.total).to.equal(String(sum(batches.rural.amounts)));
    expect(run.body.result.reconciled).to.equal(0);
    for (const [i, caseId] of batches.rural.ids.entries()) {
      expect(await ledger.casePayouts(caseId)).to.have.length(1);
      expect((await ledger.payoutStatus({ caseId, period, eventId: MONTHLY })).amount).to.equal(
        batches.rural.amounts[i],
      );
    }
    const rows = await t.gateway.ctx.store.listPayouts({ runId });
    expect(rows).to.have.length(10);
    expect(await resumePayoutRuns(t.gateway.ctx)).to.deep.equal([]);
  });

  it("the gateway loses a chunk's outcome after the chain paid it: the resumed run reconciles the payouts from the chain", async function () {
    const rt = payoutRuntime(t.gateway.ctx);
    rt.pageSize = 4;
    rt.pagesInFlight = 1; // one page after another, so that the fault falls between two pages
    const original = ledger.executePayouts.bind(ledger);
    let calls = 0;
    ledger.executePayouts = async (actor, run) => {
      const result = await original(actor, run);
      if (++calls === 2)
        throw new LedgerUnavailableError("timeout", "simulated crash", { operation: "executePayouts" });
      return result;
    };
    let runId: string;
    try {
      runId = (await post("temporary-1", { programmeId: TEMPORARY })).body.runId;
      await settleBackground(t);
    } finally {
      ledger.executePayouts = original;
    }
    expect(await t.gateway.ctx.store.getPayoutRun(runId)).to.include({ status: "failed", paid: 4 });
    expect(await t.gateway.ctx.store.listPayouts({ runId })).to.have.length(4);

    expect(await resumePayoutRuns(t.gateway.ctx)).to.deep.equal([runId]);
    await settleBackground(t);
    rt.pageSize = 500;
    rt.pagesInFlight = DEFAULT_PAGES_IN_FLIGHT;

    const run = await getRun(runId);
    expect(run.body).to.include({ status: "completed", listed: 6, paid: 6, skipped: 0 });
    expect(run.body.result).to.include({ reconciled: 2, unlocated: 0 });
    expect(run.body.total).to.equal(String(sum(batches.temporary.amounts)));
    const paidEvents = (await ledger.events(0)).filter(
      (e) => e.name === "PayoutExecuted" && e.args.programmeId === TEMPORARY,
    );
    expect(paidEvents).to.have.length(6);
    const rows = await t.gateway.ctx.store.listPayouts({ runId });
    expect(rows).to.have.length(6);
    for (const e of paidEvents) {
      if (e.name !== "PayoutExecuted") continue;
      const row = rows.find((r) => r.caseId === e.args.caseId)!;
      expect(row).to.include({ txHash: e.txHash, blockNumber: e.blockNumber, amount: e.args.amount, status: "paid" });
    }
  });

  it("GET /v1/payouts pages by payout id and filters by case and status", async function () {
    const auth = t.auth("county-auditor");
    const first = await t.http.get("/v1/payouts?limit=7").set("Authorization", auth);
    expect(first.status).to.equal(200);
    expect(first.body.payouts).to.have.length(7);
    const second = await t.http.get(`/v1/payouts?limit=1000&after=${first.body.next}`).set("Authorization", auth);
    const all = [...first.body.payouts, ...second.body.payouts];
    expect(all).to.have.length(31);
    expect(second.body.next).to.equal(undefined);
    const ids = all.map((p: { payoutId: string }) => p.payoutId);
    expect(ids).to.deep.equal([...ids].sort());

    const one = await t.http.get(`/v1/payouts?caseId=${batches.urban.ids[0]}&status=paid`).set("Authorization", auth);
    expect(one.body.payouts).to.have.length(1);
    const direct = await t.http.get(`/v1/payouts/${one.body.payouts[0].payoutId}`).set("Authorization", auth);
    expect(direct.body).to.deep.equal(one.body.payouts[0]);
    expect((await t.http.get("/v1/payouts?period=2026-1").set("Authorization", auth)).status).to.equal(400);
  });

  it("pages go to the chain several at once: every case paid once and recorded, the run's counts whole", async function () {
    await t.chain.increaseTime(32 * 24 * 3600); // the next period: the urban cases are payable again
    const next = await ledger.currentPeriod();
    const rt = payoutRuntime(t.gateway.ctx);
    rt.pageSize = 2; // 10 cases: 5 pages, up to DEFAULT_PAGES_IN_FLIGHT at once
    const original = ledger.executePayouts.bind(ledger);
    let inFlight = 0;
    let most = 0;
    ledger.executePayouts = async (actor, run) => {
      most = Math.max(most, ++inFlight);
      try {
        return await original(actor, run);
      } finally {
        inFlight -= 1;
      }
    };
    let runId: string;
    try {
      runId = (await post("urban-next", { programmeId: URBAN })).body.runId;
      await settleBackground(t);
    } finally {
      ledger.executePayouts = original;
      rt.pageSize = 500;
    }
    expect(most).to.be.within(2, DEFAULT_PAGES_IN_FLIGHT);
    const run = await getRun(runId);
    expect(run.body).to.include({ status: "completed", listed: 10, paid: 10, skipped: 0, errorCode: null });
    expect(run.body.total).to.equal(String(sum(batches.urban.amounts)));
    expect(await t.gateway.ctx.store.listPayouts({ runId })).to.have.length(10);
    for (const caseId of batches.urban.ids) {
      expect((await ledger.payoutStatus({ caseId, period: next, eventId: MONTHLY })).status).to.equal(
        PayoutStatus.Paid,
      );
    }
  });
});
