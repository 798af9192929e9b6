import Database from "better-sqlite3";
import { expect } from "chai";
import path from "node:path";
import { requestHash } from "../../gateway/src/http/idempotency";
import { MONTHLY } from "../../gateway/src/ledger";
import { parsePeriod } from "../../lib/periods";
import { DAY, approveCase, fundPool, passNotice, submitCase } from "../gateway/api/fixtures";
import { type TestGateway, startTestGateway } from "../gateway/api/harness";
import { expectPaidAtMostOnce } from "./checks";
import { until } from "./cluster";

const CASES = 20;
const REQUESTS = 50;

interface RunView {
  runId: string;
  status: string;
  period: string;
  paid: number;
}

describe("faults: 50 identical payout-run requests at once", function () {
  this.timeout(300_000);
  let t: TestGateway;
  const caseIds: string[] = [];

  before(async function () {
    t = await startTestGateway();
    await fundPool(t, 1, 100_000_000n);
    for (let i = 0; i < CASES; i++) caseIds.push((await submitCase(t, { programmeId: 1 })).caseId);
    await passNotice(t);
    for (const caseId of caseIds) await approveCase(t, caseId, 1);
  });

  after(async function () {
    await t?.close();
  });

  const post = (key: string) =>
    t.http
      .post("/v1/payout-runs")
      .set("Authorization", t.auth("county-finance"))
      .set("Idempotency-Key", key)
      .send({ programmeId: 1 });
  const view = async (runId: string) =>
    (await t.http.get(`/v1/payout-runs/${runId}`).set("Authorization", t.auth("county-finance"))).body as RunView;
  const completed = (runIds: string[]) =>
    until(
      async () => (await Promise.all(runIds.map(view))).every((r) => r.status === "completed"),
      120_000,
      "the runs to complete",
    );

  it("with one Idempotency-Key: every request gets the same run; with 50 keys: 50 runs; each entitlement paid once per period", async function () {
    const same = await Promise.all(Array.from({ length: REQUESTS }, () => post("faults-same-key")));
    expect(same.map((r) => r.status)).to.deep.equal(same.map(() => 202));
    const sameRuns = new Set(same.map((r) => r.body.runId as string));
    expect(sameRuns.size, "runs for one key").to.equal(1);
    await completed([...sameRuns]);
    const first = await view([...sameRuns][0]);
    expect(first.paid).to.equal(CASES);

    await t.chain.increaseTime(31 * DAY); // the next period: 50 runs compete for its entitlements
    const distinct = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => post(`faults-key-${i}`)));
    expect(distinct.map((r) => r.status)).to.deep.equal(distinct.map(() => 202));
    const runIds = [...new Set(distinct.map((r) => r.body.runId as string))];
    expect(runIds.length, "runs for 50 keys").to.equal(REQUESTS);
    await completed(runIds);
    const runs = await Promise.all(runIds.map(view));
    expect(new Set(runs.map((r) => r.period)).size, "one period").to.equal(1);
    expect(
      runs.reduce((n, r) => n + r.paid, 0),
      "paid by the 50 runs together",
    ).to.equal(CASES);

    const paid = await expectPaidAtMostOnce(t.gateway.ctx.ledger);
    for (const period of [first.period, runs[0].period].map(parsePeriod)) {
      for (const caseId of caseIds) expect(paid.get(`${caseId}:${period}:${MONTHLY}`)).to.equal(1);
    }
    expect(paid.size).to.equal(2 * CASES);
    console.log(
      `      [faults] concurrent runs: ${REQUESTS} requests with one key → 1 run (${first.paid} paid); ` +
        `${REQUESTS} with distinct keys → ${runIds.length} runs, ${CASES} paid in all; ${paid.size} PayoutExecuted, none twice`,
    );
  });

  it("a key a killed gateway left reserved (pending, made before this one started) is taken over, not 409 for ever", async function () {
    const key = "faults-orphaned-key";
    const db = new Database(path.join(t.dir, "relief.sqlite"));
    try {
      db.prepare(
        "INSERT INTO idempotency (idempotency_key, request_hash, state, created_at) VALUES (?, ?, 'pending', ?)",
      ).run(`county-finance:${key}`, requestHash("payout-run", { programmeId: 1 }), 0);
    } finally {
      db.close();
    }
    const res = await post(key);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect((await post(key)).body.runId, "the same key again: the same run").to.equal(res.body.runId);
    await completed([res.body.runId]);
  });
});
