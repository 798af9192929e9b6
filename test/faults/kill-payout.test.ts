import { expect } from "chai";
import { MONTHLY } from "../../gateway/src/ledger";
import { parsePeriod } from "../../lib/periods";
import { DAY, approveCase, fundPool, passNotice, submitCase } from "../gateway/api/fixtures";
import { expectPaidAtMostOnce, sqliteTables } from "./checks";
import { FaultCluster, type GatewayProcess, killsPerScenario, randomDelays, until } from "./cluster";

/** Approved cases of the urban minimum allowance (programme 1) that every monthly run pays. */
const CASES = 40;
/** Cases per chain call: a run is 20 transactions, each a point to be killed between. */
const PAGE_SIZE = 2;
const KILLS_PER_PERIOD = 2;

interface RunView {
  runId: string;
  status: string;
  period: string;
  paid: number;
  result: { reconciled: number; unlocated: number };
}

describe("faults: the gateway SIGKILLed during payout runs", function () {
  this.timeout(600_000);
  let cluster: FaultCluster;
  const caseIds: string[] = [];

  before(async function () {
    cluster = await FaultCluster.start({ env: { RELIEF_FAULTS_PAGE_SIZE: String(PAGE_SIZE) } });
    const gateway = await cluster.open();
    try {
      const t = { gateway, chain: cluster.chain };
      await fundPool(t, 1, 100_000_000n);
      for (let i = 0; i < CASES; i++) caseIds.push((await submitCase(t, { programmeId: 1 })).caseId);
      await passNotice(t);
      for (const caseId of caseIds) await approveCase(t, caseId, 1);
    } finally {
      await gateway.close();
    }
  });

  after(async function () {
    await cluster?.dispose();
  });

  it("each entitlement paid exactly once per period, every acknowledged run present and completed, one run per key", async function () {
    const kills = killsPerScenario(6);
    const periods = Math.ceil(kills / KILLS_PER_PERIOD);
    const seed = Number(process.env.RELIEF_FAULTS_SEED ?? Date.now() % 2 ** 31);
    const delay = randomDelays(seed);
    let gw: GatewayProcess = await cluster.spawn();
    const finance = cluster.auth("county-finance");
    /** Every 2xx answer, by idempotency key. */
    const answers = new Map<string, string[]>();
    let killed = 0;
    let whilePaying = 0;

    /** POSTs the run until a gateway answers 2xx (through kills and restarts). */
    const startRun = async (key: string): Promise<string> => {
      for (;;) {
        try {
          const res = await fetch(`${gw.url}/v1/payout-runs`, {
            method: "POST",
            headers: { authorization: finance, "content-type": "application/json", "idempotency-key": key },
            body: JSON.stringify({ programmeId: 1 }),
          });
          const body = (await res.json()) as { runId?: string; error?: { code: string } };
          if (res.status === 202) {
            answers.set(key, [...(answers.get(key) ?? []), body.runId!]);
            return body.runId!;
          }
          expect(res.status, `POST /v1/payout-runs: ${body.error?.code}`).to.equal(503);
        } catch (error) {
          if ((error as { name?: string }).name === "AssertionError") throw error;
          // the gateway was killed: try the one that replaces it
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const run = async (runId: string): Promise<RunView | undefined> => {
      try {
        const res = await fetch(`${gw.url}/v1/payout-runs/${runId}`, { headers: { authorization: finance } });
        return res.status === 200 ? ((await res.json()) as RunView) : undefined;
      } catch {
        return undefined;
      }
    };
    const killAndRestart = async () => {
      await gw.kill();
      killed += 1;
      gw = await cluster.spawn();
    };

    const runs: RunView[] = [];
    for (let p = 0; p < periods; p++) {
      if (p > 0) await cluster.chain.increaseTime(31 * DAY); // the next month: a new period is due
      const key = `faults-run-${p}`;
      const started = startRun(key);
      // The first kill while the run is being asked for (before or after its 202), the others while it pays.
      await new Promise((r) => setTimeout(r, delay(0, 400)));
      await killAndRestart();
      const runId = await started;
      for (let k = 1; k < KILLS_PER_PERIOD && killed < kills; k++) {
        await until(async () => (await run(runId))?.status !== "pending", 60_000, `run ${runId} to start`, 5);
        await new Promise((r) => setTimeout(r, delay(0, 150)));
        if ((await run(runId))?.status === "running") whilePaying += 1;
        await killAndRestart();
      }
      expect(await startRun(key), "the same key after restarts: the same run").to.equal(runId);
      await until(async () => (await run(runId))?.status === "completed", 120_000, `run ${runId} to complete`);
      runs.push((await run(runId))!);
    }
    await gw.stop();

    for (const [key, ids] of answers) expect(new Set(ids).size, `runs answered for ${key}`).to.equal(1);
    const gateway = await cluster.open();
    const db = sqliteTables(cluster.config.sqlitePath);
    try {
      const paid = await expectPaidAtMostOnce(gateway.ctx.ledger);
      for (const r of runs) {
        expect(r.paid, `run ${r.runId} paid`).to.equal(CASES);
        const period = parsePeriod(r.period);
        for (const caseId of caseIds) {
          expect(paid.get(`${caseId}:${period}:${MONTHLY}`), `${caseId} in ${r.period}`).to.equal(1);
        }
      }
      expect(paid.size, "payouts on chain").to.equal(CASES * runs.length);
      // The store's payouts are the chain's, one each.
      const rows = await db.all("SELECT case_id, period, event_id, tx_hash FROM payouts");
      expect(rows.length, "payout rows").to.equal(paid.size);
      for (const row of rows) expect(paid.get(`${row.case_id}:${row.period}:${row.event_id}`)).to.equal(1);
      const stored = await db.all("SELECT run_id, status FROM payout_runs");
      expect(stored.map((r) => r.status)).to.deep.equal(runs.map(() => "completed"));
      expect(stored.map((r) => r.run_id).sort()).to.deep.equal(runs.map((r) => r.runId).sort());
      const reconciled = runs.reduce((n, r) => n + r.result.reconciled, 0);
      const unlocated = runs.reduce((n, r) => n + r.result.unlocated, 0);
      console.log(
        `      [faults] payout runs: seed ${seed}, ${killed} kills (${whilePaying} seen running just before), ${runs.length} runs (one per period), ` +
          `${paid.size} payouts (${CASES} cases × ${runs.length} periods), ${reconciled} reconciled from the chain ` +
          `after a kill (${unlocated} without their transaction), ${[...answers.values()].flat().length} acknowledged POSTs`,
      );
    } finally {
      await db.close();
      await gateway.close();
    }
  });
});
