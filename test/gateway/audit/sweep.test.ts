/**
 * The full audit sweep (gateway/src/audit/sweep/sweep.ts), its HTML report, the API (POST/GET /v1/audit/sweeps) and
 * the CLI (`npm run audit`, scripts/audit.ts), on one real gateway (anvil, SQLite): a clean scenario reports nothing
 * and conservation holds; one envelope byte edited in the database is exactly one record-modified at that record.
 */
import { expect } from "chai";
import Database from "better-sqlite3";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderSweepHtml } from "../../../gateway/src/audit/sweep/report-html";
import { type SweepReport, runSweep } from "../../../gateway/src/audit/sweep/sweep";
import type { AnchoringWorker } from "../../../gateway/src/anchoring";
import { registerInstitution } from "../../../gateway/src/institutions/registry";
import type { PayoutKey } from "../../../gateway/src/ledger";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import { formatPeriod } from "../../../lib/periods";
import { Role } from "../../../lib/roles";
import { type TestGateway, startTestGateway } from "../api/harness";
import {
  TEKUN,
  TEKUN_AMOUNT,
  type TestCase,
  anchorer,
  approveCases,
  fundPool,
  payCurrentPeriod,
  residentId,
  settle,
  submittedCase,
} from "../beneficiary/fixtures";

const ROOT = path.join(__dirname, "..", "..", "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");
const COUNTY = LOCAL_REGIONS.county;

describe("audit sweep: report, HTML, API and CLI", function () {
  this.timeout(120_000);
  let tg: TestGateway;
  let worker: AnchoringWorker;
  let cases: TestCase[];
  let keys: PayoutKey[];
  let dir: string;
  let deploymentFile: string;
  let otherAuditor: string;

  const sweep = (region = COUNTY) => {
    const ctx = tg.gateway.ctx;
    return runSweep(
      { store: ctx.store, ledger: ctx.ledger, deployment: ctx.deployment, rpcUrl: ctx.rpcUrl },
      { region },
    );
  };

  /** `npm run audit` against the test gateway's files, asynchronously (the gateway runs in this process). */
  const runCli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const ctx = tg.gateway.ctx;
      execFile(
        process.execPath,
        [TS_NODE, "--transpile-only", "scripts/audit.ts", ...args],
        {
          cwd: ROOT,
          timeout: 90_000,
          env: {
            PATH: process.env.PATH ?? "",
            RELIEF_DATA_DIR: ctx.config.dataDir,
            RELIEF_SQLITE_PATH: ctx.config.sqlitePath,
            RELIEF_LOG_LEVEL: "silent",
          },
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

  /** Starts a sweep through the API and polls it until it is done; returns its id and last status. */
  const apiSweep = async (input: object = {}) => {
    const post = await tg.http.post("/v1/audit/sweeps").set("Authorization", tg.auth("county-auditor")).send(input);
    expect(post.status, JSON.stringify(post.body)).to.equal(202);
    const sweepId = post.body.sweepId as string;
    for (let i = 0; i < 300; i++) {
      const res = await tg.http.get(`/v1/audit/sweeps/${sweepId}`).set("Authorization", tg.auth("county-auditor"));
      expect(res.status).to.equal(200);
      if (res.body.status !== "running") return { sweepId, status: res.body };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the sweep did not finish");
  };

  before(async function () {
    tg = await startTestGateway();
    const ctx = tg.gateway.ctx;
    worker = anchorer(tg);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-sweep-"));
    deploymentFile = path.join(dir, "deployment.json");
    fs.writeFileSync(deploymentFile, JSON.stringify({ ...tg.deployment, chainId: tg.deployment.chainId.toString() }));
    otherAuditor = `Bearer ${
      (
        await registerInstitution(ctx, {
          id: "fengtai-auditor",
          name: "豐台區審計局",
          role: Role.Auditor,
          region: 110106n,
        })
      ).apiKey!.token
    }`;
    await fundPool(tg, TEKUN, 10_000_000n);
    cases = [];
    for (const n of [41, 42, 43]) cases.push(await submittedCase(tg, residentId(n)));
    await approveCases(tg, cases);
    keys = await payCurrentPeriod(tg, cases);
    await settle(tg, keys);
    await worker.runOnce();
  });

  after(async function () {
    await tg?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("clean", function () {
    let report: SweepReport;

    before(async function () {
      report = await sweep();
    });

    it("no exceptions, verdict clean, every record checked against its anchor", function () {
      expect(report.format).to.equal("relief-sweep-report-v1");
      expect(report.exceptions).to.deep.equal([]);
      expect(report.verdict).to.deep.equal({ clean: true, errors: 0, warnings: 0 });
      expect(report.scope).to.deep.equal({ region: String(COUNTY), programmeId: null, period: null });
      expect(report.counts.recordsChecked).to.equal(3);
      expect(report.counts.recordsAnchored).to.equal(3);
      expect(report.counts.recordsPending).to.equal(0);
      expect(report.counts.cases).to.equal(3);
      expect(report.counts.payouts).to.equal(3);
      expect(report.chain.chainId).to.equal(tg.deployment.chainId.toString());
      expect(report.chain.contracts).to.deep.equal(tg.deployment.addresses);
      expect(report.chain.fromBlock).to.equal(tg.deployment.deployedAtBlock);
    });

    it("conservation holds; payouts per month are the three payouts, all settled; the fund flow reaches the pool", async function () {
      const period = keys[0].period;
      const total = String(3n * TEKUN_AMOUNT);
      expect(report.conservation.holds).to.equal(true);
      expect(report.payoutsPerMonth).to.deep.equal([
        {
          programmeId: TEKUN,
          period: formatPeriod(period),
          paid: { count: 3, amount: total },
          settled: { count: 3, amount: total },
          failed: { count: 0, amount: "0" },
          clawedBack: { count: 0, amount: "0" },
          outstanding: { count: 0, amount: "0" },
        },
      ]);
      const stage = (name: string) => report.fundFlow.stages.find((s) => s.stage === name);
      expect(stage("county")).to.deep.include({ count: 1, amount: "10000000" });
      expect(stage("pools")).to.deep.include({ count: 1, amount: "10000000" });
      expect(stage("paid")).to.deep.include({ count: 3, amount: total });
      expect(stage("settled")).to.deep.include({ count: 3, amount: total });
      const pool = report.pools.find((p) => p.programmeId === TEKUN)!;
      expect(pool.holds).to.equal(true);
      expect(pool.chainBalance).to.equal(String(await tg.gateway.ctx.ledger.poolBalance(TEKUN)));
    });

    it("the CLI: exit 0, writes sweep-<timestamp>.json and .html under --out, progress on stderr", async function () {
      const out = path.join(dir, "cli-clean");
      const r = await runCli([
        "--region",
        String(COUNTY),
        "--rpc",
        tg.gateway.ctx.rpcUrl,
        "--deployment",
        deploymentFile,
        "--out",
        out,
      ]);
      expect(r.code, r.stderr + r.stdout).to.equal(0);
      expect(r.stdout).to.contain("CLEAN");
      expect(r.stderr).to.match(/audit: records /);
      const files = fs.readdirSync(out).sort();
      expect(files).to.have.length(2);
      expect(files[0]).to.match(/^sweep-\d{8}T\d{6}Z\.html$/);
      expect(files[1]).to.match(/^sweep-\d{8}T\d{6}Z\.json$/);
      const json = JSON.parse(fs.readFileSync(path.join(out, files[1]), "utf8")) as SweepReport;
      expect(json.verdict.clean).to.equal(true);
      expect(fs.readFileSync(path.join(out, files[0]), "utf8")).to.contain("無異常 Clean");
    });

    it("the CLI: exit 2 for a bad option and for an unreachable node", async function () {
      expect((await runCli(["--period", "2026-13"])).code).to.equal(2);
      const r = await runCli(["--rpc", "http://127.0.0.1:9", "--deployment", deploymentFile]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain("cannot use the chain");
    });
  });

  describe("API", function () {
    it("POST by the county auditor → 202; status gives progress and the summary; report JSON and report.html; audit entry", async function () {
      const { sweepId, status } = await apiSweep();
      expect(sweepId).to.match(/^sw-\d{14}-[0-9a-f]{8}$/);
      expect(status).to.deep.include({ sweepId, status: "done", error: null });
      expect(status.scope).to.deep.equal({ region: String(COUNTY), programmeId: null, period: null });
      expect(status.progress.phase).to.equal("report");
      expect(status.summary.verdict).to.deep.equal({ clean: true, errors: 0, warnings: 0 });

      const report = await tg.http
        .get(`/v1/audit/sweeps/${sweepId}/report`)
        .set("Authorization", tg.auth("county-auditor"));
      expect(report.status).to.equal(200);
      expect(report.body).to.deep.include({ format: "relief-sweep-report-v1", sweepId });
      expect(report.body.counts.payouts).to.equal(3);

      const html = await tg.http
        .get(`/v1/audit/sweeps/${sweepId}/report.html`)
        .set("Authorization", tg.auth("county-auditor"));
      expect(html.status).to.equal(200);
      expect(html.headers["content-type"]).to.match(/^text\/html/);
      expect(html.text).to.contain(`地區 Region: ${COUNTY}`);

      const file = path.join(tg.gateway.ctx.config.dataDir, "reports", `sweep-${sweepId}.json`);
      expect(JSON.parse(fs.readFileSync(file, "utf8")).sweepId).to.equal(sweepId);
      const entries = await tg.gateway.ctx.store.listAudit({ action: "audit.sweep", target: sweepId });
      expect(entries).to.have.length(1);
      expect(entries[0].actor).to.equal("county-auditor");
      expect(entries[0].details).to.deep.include({ status: "done", errors: 0, warnings: 0 });
    });

    it("a report on disk (a restart) is read back by id", async function () {
      const { sweepId } = await apiSweep({ programmeId: TEKUN });
      const copy = "sw-20990101000000-0badc0de";
      const reports = path.join(tg.gateway.ctx.config.dataDir, "reports");
      fs.copyFileSync(path.join(reports, `sweep-${sweepId}.json`), path.join(reports, `sweep-${copy}.json`));
      const res = await tg.http.get(`/v1/audit/sweeps/${copy}`).set("Authorization", tg.auth("county-auditor"));
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.include({ sweepId: copy, status: "done" });
      expect(res.body.scope).to.deep.equal({ region: String(COUNTY), programmeId: TEKUN, period: null });
      const gone = await tg.http
        .get("/v1/audit/sweeps/sw-20990101000000-00000000")
        .set("Authorization", tg.auth("county-auditor"));
      expect(gone.status).to.equal(404);
    });

    it("two at once → one 202, one 409 IN_PROGRESS", async function () {
      const post = () => tg.http.post("/v1/audit/sweeps").set("Authorization", tg.auth("county-auditor")).send({});
      const [a, b] = await Promise.all([post(), post()]);
      expect([a.status, b.status].sort()).to.deep.equal([202, 409]);
      const rejected = a.status === 409 ? a : b;
      expect(rejected.body.error.code).to.equal("IN_PROGRESS");
      await Promise.allSettled([...tg.gateway.ctx.background]);
    });

    it("another region's auditor → 403 OUTSIDE_REGION (to start, and to read); a non-auditor → 403 FORBIDDEN_ROLE; bad input → 400", async function () {
      const res = await tg.http
        .post("/v1/audit/sweeps")
        .set("Authorization", otherAuditor)
        .send({ region: String(COUNTY) });
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal("OUTSIDE_REGION");
      const { sweepId } = await apiSweep();
      for (const url of [`/v1/audit/sweeps/${sweepId}`, `/v1/audit/sweeps/${sweepId}/report`]) {
        const read = await tg.http.get(url).set("Authorization", otherAuditor);
        expect(read.status, url).to.equal(403);
        expect(read.body.error.code).to.equal("OUTSIDE_REGION");
      }
      const approver = await tg.http.post("/v1/audit/sweeps").set("Authorization", tg.auth("county-approver")).send({});
      expect(approver.status).to.equal(403);
      expect(approver.body.error.code).to.equal("FORBIDDEN_ROLE");
      const bad = await tg.http
        .post("/v1/audit/sweeps")
        .set("Authorization", tg.auth("county-auditor"))
        .send({ period: "2026-13", extra: 1 });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal("VALIDATION_FAILED");
    });
  });

  describe("one envelope byte edited in the database", function () {
    let recordId: string;

    before(async function () {
      recordId = cases[1].record.id;
      const db = new Database(tg.gateway.ctx.config.sqlitePath);
      try {
        const row = db.prepare("SELECT envelope FROM records WHERE id = ?").get(recordId) as { envelope: Buffer };
        const envelope = Buffer.from(row.envelope);
        envelope[envelope.length - 5] ^= 0x01;
        db.prepare("UPDATE records SET envelope = ? WHERE id = ?").run(envelope, recordId);
      } finally {
        db.close();
      }
    });

    it("runSweep → exactly one exception: record-modified at that record", async function () {
      const report = await sweep();
      expect(report.exceptions.map((x) => [x.kind, x.recordId, x.severity])).to.deep.equal([
        ["record-modified", recordId, "error"],
      ]);
      expect(report.exceptions[0].caseId).to.equal(cases[1].caseId.toLowerCase());
      expect(report.verdict).to.deep.equal({ clean: false, errors: 1, warnings: 0 });
      expect(report.conservation.holds).to.equal(true);
    });

    it("the API's report.html has the exception row; the CLI exits 1", async function () {
      const { sweepId, status } = await apiSweep();
      expect(status.summary.verdict).to.deep.equal({ clean: false, errors: 1, warnings: 0 });
      const html = await tg.http
        .get(`/v1/audit/sweeps/${sweepId}/report.html`)
        .set("Authorization", tg.auth("county-auditor"));
      expect(html.text).to.contain("記錄被修改 Record modified");
      expect(html.text).to.contain(recordId);

      const r = await runCli(["--rpc", tg.gateway.ctx.rpcUrl, "--deployment", deploymentFile, "--out", dir]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.contain(`record-modified ${recordId}`);
    });
  });

  it("the HTML escapes every string: a malicious-looking id stays text", function () {
    const evil = `<script>alert("x")</script>&'`;
    const report: SweepReport = {
      format: "relief-sweep-report-v1",
      sweepId: evil,
      scope: { region: evil, programmeId: null, period: null },
      chain: {
        chainId: "31337",
        contracts: { registry: evil, ledger: "0x1", receipts: "0x2", anchors: "0x3", vouchers: "0x4" },
        fromBlock: 0,
        toBlock: 1,
        chainTime: new Date(0).toISOString(),
      },
      startedAt: evil,
      finishedAt: evil,
      durationMs: 1,
      verdict: { clean: false, errors: 1, warnings: 0 },
      counts: {
        recordsChecked: 1,
        recordsAnchored: 1,
        recordsPending: 0,
        anchors: 1,
        events: 0,
        cases: 0,
        payouts: 0,
        vouchers: 1,
        redemptions: 0,
      },
      fundFlow: { stages: [], returned: { count: 0, amount: "0" }, defunded: { count: 0, amount: "0" }, flows: [] },
      levels: [],
      pools: [],
      payoutsPerMonth: [],
      vouchers: {
        holds: true,
        vouchers: 1,
        redemptions: 0,
        escrow: "0",
        chainEscrow: null,
        programmes: [
          {
            programmeId: 1,
            region: evil,
            vouchers: 1,
            issued: "0",
            redeemed: "0",
            expired: "0",
            outstanding: "0",
            paid: "0",
            unpaid: "0",
            holds: true,
          },
        ],
      },
      conservation: {
        holds: true,
        appropriated: "0",
        held: "0",
        voucherEscrow: "0",
        paidOut: "0",
        rebuiltHolds: true,
        chainHolds: true,
        levelsHold: true,
        poolsHold: true,
        chain: { appropriated: "0", held: "0", paidOut: "0" },
      },
      exceptionCounts: { "record-modified": 1 },
      exceptionsTruncated: false,
      exceptions: [
        { kind: "record-modified", severity: "error", recordId: evil, caseId: evil, txHash: evil, detail: evil },
      ],
      disputes: { open: 0, overdue: 0, items: [] },
    };
    const html = renderSweepHtml(report);
    expect(html).not.to.contain("<script");
    expect(html).not.to.contain(evil);
    expect(html).to.contain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
  });
});
