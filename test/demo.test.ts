/**
 * `npm run demo` on a fresh folder: `npm start`'s script runs as a child process (its own ports and folders, as the
 * README walk-through test starts it), the demo finds it at its API port, simulates a small month
 * (RELIEF_DEMO_HOUSEHOLDS=40) and writes its summary as JSON; every number of the summary is then checked against
 * the API and the chain. A second, smaller demo on the same product shows it re-runs (fresh synthetic people).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Interface, JsonRpcProvider } from "ethers";
import { loadArtifact } from "../lib/deploy";
import type { DemoSummary } from "../scripts/demo/month";
import { type StartedScript, startScript } from "./helpers/start-script";

const ROOT = path.resolve(__dirname, "..");

function runDemo(product: StartedScript, households: number, summaryFile: string) {
  const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/demo.ts"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...product.env, RELIEF_DEMO_HOUSEHOLDS: String(households), RELIEF_DEMO_SUMMARY: summaryFile },
  });
  const transcript = `${run.stdout}\n${run.stderr}`;
  expect(run.status, transcript).to.equal(0);
  return { stdout: run.stdout, summary: JSON.parse(fs.readFileSync(summaryFile, "utf8")) as DemoSummary };
}

function keysOf(dataDir: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const m of fs.readFileSync(path.join(dataDir, "api-keys.env"), "utf8").matchAll(/^export (\w+)=(\S+)$/gm)) {
    keys[m[1]] = m[2];
  }
  return keys;
}

describe("npm run demo (a synthetic month on npm start, checked against the API and the chain)", function () {
  this.timeout(300_000);
  let product: StartedScript;
  let first: { stdout: string; summary: DemoSummary };
  let api: <T>(key: string, path: string) => Promise<T>;

  before(async function () {
    product = await startScript("relief-demo-");
    first = runDemo(product, 40, path.join(product.work, "summary-1.json"));
    const keys = keysOf(product.dataDir);
    api = async <T>(key: string, p: string) => {
      const res = await fetch(`http://127.0.0.1:${product.apiPort}/v1${p}`, {
        headers: { authorization: `Bearer ${keys[key]}` },
      });
      expect(res.status, `GET ${p}`).to.equal(200);
      return (await res.json()) as T;
    };
  });

  after(async function () {
    await product?.stop();
  });

  it("prints a summary marked synthetic, with the links to the pages", async function () {
    expect(first.stdout).to.include("ALL DATA SYNTHETIC");
    expect(first.stdout).to.include(`http://127.0.0.1:${product.apiPort}/docs`);
    expect(first.stdout).to.include(`/v1/audit/sweeps/${first.summary.sweep.sweepId}/report.html`);
    // The web pages, where this gateway serves them.
    const pages = await fetch(`http://127.0.0.1:${product.apiPort}/web/`);
    await pages.arrayBuffer();
    if (pages.ok) expect(first.stdout).to.include(`http://127.0.0.1:${product.apiPort}/web/`);
    const s = first.summary;
    expect(s.synthetic).to.equal(true);
    expect(s.households.total).to.equal(40);
    expect(s.cases.submitted).to.equal(40);
    expect(s.households.viaCsv).to.be.greaterThan(0);
    expect(s.households.viaPost).to.be.greaterThan(0);
    expect(s.cases.objections.raised).to.be.at.least(2);
    expect(s.settlement.failed).to.be.at.least(2);
    expect(s.receipts.disputed).to.be.at.least(1);
  });

  it("every case's state on chain agrees with the summary's approvals and rejections", async function () {
    const s = first.summary;
    const states = await Promise.all(
      s.caseIds.map((id) =>
        api<{ chain: { status: string; amount: string } }>("RELIEF_KEY_COUNTY_AUDITOR", `/cases/${id}`),
      ),
    );
    const approved = states.filter((c) => c.chain.status === "approved");
    const rejected = states.filter((c) => c.chain.status === "rejected");
    expect(approved.length).to.equal(s.cases.approved);
    expect(rejected.length).to.equal(s.cases.reviewFailed + s.cases.objections.upheld + s.cases.rejectedIncome);
    expect(approved.length + rejected.length).to.equal(s.cases.submitted);
    expect(approved.reduce((sum, c) => sum + BigInt(c.chain.amount), 0n)).to.equal(BigInt(s.cases.approvedAmountFen));
  });

  it("the payout runs' figures are the chain's PayoutExecuted events, and the pool's balance adds up", async function () {
    const s = first.summary;
    const ledger = new Interface(loadArtifact("ReliefLedger").abi as never);
    const provider = new JsonRpcProvider(`http://127.0.0.1:${product.chainPort}`, undefined, { cacheTimeout: -1 });
    try {
      const executed = async (runId: string) => {
        const run = await api<{ paid: number; total: string; result: { transactions: { txHash: string }[] } }>(
          "RELIEF_KEY_COUNTY_FINANCE",
          `/payout-runs/${runId}`,
        );
        let count = 0;
        let total = 0n;
        for (const { txHash } of run.result.transactions) {
          for (const log of (await provider.getTransactionReceipt(txHash))!.logs) {
            const parsed = ledger.parseLog(log);
            if (parsed?.name === "PayoutExecuted") {
              count += 1;
              total += parsed.args.amount as bigint;
            }
          }
        }
        return { run, count, total };
      };
      const monthly = await executed(s.payoutRun.runId);
      expect(monthly.run.paid).to.equal(s.payoutRun.paid).and.equal(monthly.count).and.equal(s.cases.approved);
      expect(monthly.total).to.equal(BigInt(s.payoutRun.paidFen)).and.equal(BigInt(s.cases.approvedAmountFen));
      const repay = await executed(s.repayRun.runId);
      expect(repay.count).to.equal(s.repayRun.paid).and.equal(s.settlement.failed);
      expect(repay.total).to.equal(BigInt(s.repayRun.paidFen)).and.equal(BigInt(s.settlement.failedFen));
    } finally {
      provider.destroy();
    }
    const payouts = await api<{ payouts: { payoutId: string; status: string }[] }>(
      "RELIEF_KEY_COUNTY_BANK",
      `/payouts?runId=${s.payoutRun.runId}&limit=1000`,
    );
    expect(payouts.payouts).to.have.length(s.payoutRun.paid);
    // Everything paid is settled in the end: the failed ones by the next run's settlement.
    expect(s.settlement.settled + s.repayRun.settled).to.equal(s.payoutRun.paid);
    const byStatus = (status: string) => payouts.payouts.filter((p) => p.status === status).length;
    expect(byStatus("paid") + byStatus("failed")).to.equal(0);
    // On a fresh chain the pool got the demo's budget and paid exactly the approved amounts once (failures came back).
    const balances = await api<{ pools: { programmeId: number; balance: string }[] }>(
      "RELIEF_KEY_COUNTY_FINANCE",
      "/budget/balances",
    );
    const pool = balances.pools.find((p) => p.programmeId === 1)!;
    expect(BigInt(pool.balance)).to.equal(BigInt(s.budget.poolFundedFen) - BigInt(s.cases.approvedAmountFen));
  });

  it("the receipts and disputes are on record, and the sweep's verdict is the API's", async function () {
    const s = first.summary;
    for (const id of [...s.receipts.confirmedPayoutIds, ...s.receipts.disputedPayoutIds]) {
      const bundle = await api<{ format: string; receipt: { canonical: string } }>(
        "RELIEF_KEY_COUNTY_AUDITOR",
        `/receipts/${id}/bundle`,
      );
      expect(bundle.format).to.equal("relief-receipt-bundle-v1");
      const outcome = s.receipts.disputedPayoutIds.includes(id) ? "not-received" : "confirmed";
      expect(bundle.receipt.canonical).to.include(`"outcome":"${outcome}"`);
    }
    const sweep = await api<{ status: string; summary: DemoSummary["sweep"] }>(
      "RELIEF_KEY_COUNTY_AUDITOR",
      `/audit/sweeps/${s.sweep.sweepId}`,
    );
    expect(sweep.status).to.equal("done");
    expect(sweep.summary.verdict).to.deep.equal(s.sweep.verdict);
    // A fresh folder holds only this month: everything settled, every dispute resolved, funds conserved.
    expect(s.sweep.verdict, JSON.stringify(sweep.summary.exceptionCounts)).to.deep.equal({
      clean: true,
      errors: 0,
      warnings: 0,
    });
    expect(s.sweep.conservationHolds).to.equal(true);
  });

  it("runs again on the same npm start with other synthetic people", function () {
    const second = runDemo(product, 12, path.join(product.work, "summary-2.json")).summary;
    expect(second.runTag).to.not.equal(first.summary.runTag);
    expect(second.cases.submitted).to.equal(12);
    expect(second.caseIds.filter((id) => first.summary.caseIds.includes(id))).to.deep.equal([]);
    // The month's earlier cases were paid already: the new run skips them as AlreadyPaid, unless the month turned.
    expect(second.payoutRun.paidOfThisDemo).to.equal(second.cases.approved);
    expect(second.sweep.verdict.errors).to.equal(0);
  });
});
