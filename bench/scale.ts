/**
 * `npm run bench:scale`: one month of 城市低保 for N beneficiary households on the embedded defaults (SQLite, anvil),
 * stage by stage, at each size of RELIEF_SCALE_SIZES (default `1000,10000`, ~3 minutes; `100000` takes ~35 minutes
 * and anvil ~3.4 GiB, and `1000000` is out of reach of anvil 1.7.1, docs/SCALING.md). Writes
 * bench/results/scale.json and the `scale` section of docs/BENCHMARKS.md.
 *
 * The stages drive the gateway's own services in this process (as bench/intake.ts does), not its HTTP API: HTTP would
 * add its own cost per call, which bench/intake.ts measures; here the question is what the pipeline costs.
 * 1. import: `importCases` (the CSV import: parse, checks, sealing, storing) in files of 20,000 households; the case
 *    submitter of the gateway starts putting the cases on chain meanwhile, as in production.
 * 2. on chain: until the case submitter has every case on chain (`submitCases`, batches of 64 cases a transaction),
 *    counted from the start of the import.
 * 3. review: `reviewCases` (POST /v1/cases/reviews) for every case, 200 a transaction; the chain's clock is then moved
 *    past the 7-day notice.
 * 4. decisions: `decideCases` (POST /v1/cases/decisions), 100 a transaction, 4 in flight: approval for the ~60%
 *    below the standard (the approver opens each household record), rejection for the others.
 * 5. anchoring: the real `AnchoringWorker`, rounds of 50,000 records (one root a transaction, whatever its size).
 * 6. payout run: `startMonthlyRun`, the production run (pages of 500 cases a transaction).
 * 7. settlement: `applySettlement` with reports of 50,000 lines, 1% failed (`reportFailure`, 100 a multicall).
 * 8. receipts: a sample of 1% (at most 1,000) confirmed through `issueReceipt` (SM2-signed, attested on chain), 64 at
 *    once on interval mining.
 * 9. sweep: the audit sweep `runSweep` in a fresh process (bench/sweep.ts's child), after anchoring what is left.
 *
 * Per stage: wall time, items per second, gas and transactions of the blocks it mined, database size after it, peak
 * RSS of this process (gateway and bench: one process) and of anvil while it ran (sampled every 250 ms), load average.
 */
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { id as keccakId } from "ethers";
import { startTestGateway, type TestGateway } from "../test/gateway/api/harness";
import { AnchoringWorker } from "../gateway/src/anchoring";
import { type InstitutionPrincipal, actorName } from "../gateway/src/auth";
import { CSV_COLUMNS } from "../gateway/src/cases/csv";
import { DECISION_BATCH_MAX, REVIEW_BATCH_MAX, decideCases, reviewCases } from "../gateway/src/cases/lifecycle";
import { importCases } from "../gateway/src/cases/service";
import { GATEWAY_ACTORS, type GatewayContext } from "../gateway/src/context";
import { ownedPayout } from "../gateway/src/beneficiary/payments";
import { issueReceipt } from "../gateway/src/beneficiary/receipts";
import { startMonthlyRun } from "../gateway/src/payouts/runs";
import { applySettlement, parseSettlementCsv } from "../gateway/src/payouts/settlement";
import type { PayoutRow } from "../gateway/src/store";
import { HouseholdGenerator, URBAN_DIBAO_STANDARD_FEN, householdsCsv } from "./households";
import {
  anvilDumpProbe,
  stateReadMs,
  blockNumber,
  cpuSecondsOf,
  fileBytes,
  gasBetween,
  rpc,
  sampleMemory,
  sqliteBytes,
} from "./scale-probe";
import { RESULTS_DIR, fmt, machine, table, writeJson, writeSection } from "./report";

const SIZES = (process.env.RELIEF_SCALE_SIZES ?? "1000,10000").split(",").map((s) => Number(s.replace(/_/g, "")));
/** Lifecycle calls in flight in the review and decision stages: a block's worth at the rate wanted (below). */
const CONCURRENCY = Number(process.env.RELIEF_SCALE_CONCURRENCY ?? 256);
const IMPORT_FILE = 20_000;
const ANCHOR_BATCH = 50_000;
const SETTLEMENT_REPORT = 50_000;
const FAILED_EVERY = 100;
const TARGETS = { monthSeconds: 30 * 60, peakBytes: 2 * 2 ** 30 };
const MiB = 2 ** 20;
/** The results file (bench/results/<name>.json); only the default one writes docs/BENCHMARKS.md. */
const RESULTS_NAME = process.env.RELIEF_SCALE_RESULTS ?? "scale";
// anvil dumps its whole chain to the state file every second by default (lib/anvil.ts): past a few thousand
// transactions the dumps cost more than the transactions (the probe below shows it), so the month runs with a dump
// only at the end unless RELIEF_CHAIN_STATE_INTERVAL says otherwise.
process.env.RELIEF_CHAIN_STATE_INTERVAL ??= "0";
const STATE_INTERVAL = Number(process.env.RELIEF_CHAIN_STATE_INTERVAL);
// anvil also keeps every block's state, writing old ones whole to ~/.foundry/anvil/tmp/ (5 GB within 3,400 blocks
// of this workload), or in memory when pruned: a copy of the whole state a block kept. Kept to the last 16 blocks
// unless RELIEF_CHAIN_PRUNE_HISTORY says otherwise (0: anvil's default, all of them).
process.env.RELIEF_CHAIN_PRUNE_HISTORY ??= "16";
const PRUNE_HISTORY = Number(process.env.RELIEF_CHAIN_PRUNE_HISTORY);
// anvil (up to 1.7.1, the latest on npm) rebuilds the whole state trie for every block it mines: a block costs in
// proportion to the storage on chain (~7 µs a case's worth: 70 ms at 10,000 cases), whatever it holds. Mined a block
// a transaction (automine), the per-case stages then cost in proportion to the cases already on chain, quadratic in
// all (bench/scale-probe.ts `chainGrowthProbe`; docs/SCALING.md). They run with a block every
// RELIEF_SCALE_BLOCK_TIME seconds instead, so that a block's cost is shared by the transactions it holds; "auto" for
// a block a transaction. So do the receipts (each its own transaction, many at once). The batched stages (anchoring,
// payout run, settlement) send their transactions one after another and run on automine, as before.
// The default is 4 s, not a consortium chain's 1 or 2: anvil 1.7.1 also adds memory in proportion to its whole state
// for every block that holds a transaction (docs/SCALING.md), so the 100,000 month at a block a second passed 21 GiB
// in the review stage; at 4 s the 10,000 month's anvil peaks at 385 MiB instead of 1,009 (2026-12-03).
const BLOCK_TIME = process.env.RELIEF_SCALE_BLOCK_TIME ?? "4";
/** Seconds of a block (1 on automine), for what is kept in flight to fill one. */
function blockSeconds(): number {
  return BLOCK_TIME === "auto" ? 1 : Math.max(1, Math.round(Number(BLOCK_TIME)));
}
/**
 * The case submitter's batches in flight (RELIEF_SUBMIT_LANES): each waits for its block, so 8 (the gateway's default,
 * for a block a second) would cap a 4-second chain at 128 cases a second; 16 fill a round (1,000 cases) at once.
 */
const SUBMIT_LANES = Number(process.env.RELIEF_SUBMIT_LANES ?? Math.min(16, 8 * blockSeconds()));
/** reviewCases calls in flight in the review stage, a second of block period: 1,600 reviews a second. */
const REVIEW_BATCHES_IN_FLIGHT = 8 * blockSeconds();
/**
 * Decision batches in flight (DECISION_BATCH_MAX each), a second of block period: the gateway opens each approval's
 * household record first.
 */
const DECISION_BATCHES_IN_FLIGHT = 4 * blockSeconds();
/** Receipts issued at once (each an SM2 signature and its own attestation transaction), a second of block period. */
const RECEIPTS_IN_FLIGHT = 64 * blockSeconds();
// Each batch is estimated before it is sent (eth_estimateGas runs it several times): with tens of batches in flight
// on 100,000 cases' state, anvil left requests unanswered past the gateway's 10-second deadline, and the month
// stopped in the review (2026-12-03). A chain that slow under load is one RELIEF_RPC_TIMEOUT_MS is for.
process.env.RELIEF_RPC_TIMEOUT_MS ??= "60000";
/** Block gas limit while blocks hold many transactions (anvil's default, 30 M, holds ~180 submissions). */
const BLOCK_GAS_LIMIT = 1_000_000_000;

interface Stage {
  stage: string;
  items: number;
  seconds: number;
  perSecond: number;
  gas: number;
  transactions: number;
  gasPerItem: number;
  dbBytes: number;
  peakRssBytes: number;
  anvilPeakRssBytes: number;
  /** CPU seconds of this process (gateway and bench) and of anvil during the stage. */
  cpuSeconds: number;
  anvilCpuSeconds: number;
  /** p50 ms of reading the latest state after the stage (anvil copies its state for each read). */
  anvilReadMs: number;
  /** anvil's state file after the stage (it dumps the whole chain, history included, every second). */
  anvilStateBytes: number;
  loadAverage: number[];
  note?: string;
}

interface SizeRun {
  households: number;
  stages: Stage[];
  totalSeconds: number;
  dbBytes: number;
  dbBytesPerHousehold: number;
  peakRssBytes: number;
  anvilPeakRssBytes: number;
  checks: Record<string, number | boolean>;
}

const load = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

/** Interval mining (a block every BLOCK_TIME seconds, large blocks) for the per-case stages, or automine. */
async function setMining(url: string, mode: "interval" | "auto"): Promise<void> {
  if (BLOCK_TIME === "auto") return;
  if (mode === "auto") {
    await rpc(url, "evm_setAutomine", [true]);
    return;
  }
  await rpc(url, "evm_setBlockGasLimit", [`0x${BLOCK_GAS_LIMIT.toString(16)}`]);
  await rpc(url, "evm_setIntervalMining", [Number(BLOCK_TIME)]);
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function principal(ctx: GatewayContext, id: string): Promise<InstitutionPrincipal> {
  const row = await ctx.store.getInstitution(id);
  if (!row) throw new Error(`no institution ${id}`);
  return {
    kind: "institution",
    keyId: "bench",
    id,
    role: row.role,
    region: BigInt(row.regionCode),
    account: row.account,
  };
}

/** Runs `fn` as a measured stage. */
async function measure(
  tg: TestGateway,
  stages: Stage[],
  stage: string,
  fn: () => Promise<{ items: number; note?: string; startedAt?: number }>,
): Promise<void> {
  const url = tg.chain.url;
  const fromBlock = await blockNumber(url);
  const anvilPid = tg.chain.node.process.pid;
  const memory = sampleMemory(anvilPid);
  const cpu = process.cpuUsage();
  const anvilCpu = cpuSecondsOf(anvilPid);
  let started = performance.now();
  const out = await fn();
  if (out.startedAt !== undefined) started = out.startedAt;
  const seconds = (performance.now() - started) / 1000;
  const peaks = memory.stop();
  const used = process.cpuUsage(cpu);
  const { gas, txs } = await gasBetween(url, fromBlock, await blockNumber(url));
  const s: Stage = {
    stage,
    items: out.items,
    seconds,
    perSecond: out.items / seconds,
    gas,
    transactions: txs,
    gasPerItem: out.items > 0 ? gas / out.items : 0,
    dbBytes: sqliteBytes(tg.gateway.ctx.config.sqlitePath),
    peakRssBytes: peaks.selfBytes,
    anvilPeakRssBytes: peaks.otherBytes,
    cpuSeconds: (used.user + used.system) / 1e6,
    anvilCpuSeconds: cpuSecondsOf(anvilPid) - anvilCpu,
    anvilStateBytes: fileBytes(tg.chain.stateFile),
    anvilReadMs: await stateReadMs(url),
    loadAverage: load(),
    note: out.note,
  };
  stages.push(s);
  writeJson(RESULTS_NAME, results(true));
  console.log(
    `  ${stage.padEnd(12)} ${fmt(s.items).padStart(9)} in ${fmt(seconds, 1).padStart(7)} s = ${fmt(s.perSecond).padStart(7)}/s, ` +
      `${fmt(s.transactions)} txs, ${fmt(s.gasPerItem)} gas/item, db ${fmt(s.dbBytes / MiB)} MiB, ` +
      `rss ${fmt(s.peakRssBytes / MiB)} MiB + anvil ${fmt(s.anvilPeakRssBytes / MiB)} MiB, ` +
      `cpu ${fmt(s.cpuSeconds, 1)} s + anvil ${fmt(s.anvilCpuSeconds, 1)} s, anvil state ${fmt(s.anvilStateBytes / MiB)} MiB, ` +
      `load ${s.loadAverage.join(" ")}`,
  );
}

async function pendingOnChain(ctx: GatewayContext): Promise<boolean> {
  return (await ctx.store.listCases({ status: "pending-chain", limit: 1 })).length > 0;
}

async function anchorAll(ctx: GatewayContext): Promise<{ records: number; anchors: number }> {
  const worker = new AnchoringWorker({
    store: ctx.store,
    ledger: ctx.ledger,
    actor: GATEWAY_ACTORS.anchorer,
    batchSize: ANCHOR_BATCH,
  });
  let records = 0;
  let anchors = 0;
  for (;;) {
    const round = await worker.runOnce();
    if (round.unavailable) throw round.unavailable;
    if (round.anchoredRecords === 0) return { records, anchors };
    records += round.anchoredRecords;
    anchors += round.anchors.length;
  }
}

interface SweepChildResult {
  seconds: number;
  recordsChecked: number;
  recordsPerSecond: number;
  peakRssMiB: number;
  exceptions: number;
  events?: number;
}

/** The whole audit sweep in a fresh process (bench/sweep.ts's measuring child). */
function sweepInChild(tg: TestGateway): Promise<SweepChildResult> {
  const d = tg.deployment;
  const request = {
    mode: "sweep",
    sqlitePath: tg.gateway.ctx.config.sqlitePath,
    rpcUrl: tg.chain.url,
    deployment: { chainId: String(d.chainId), addresses: d.addresses, deployedAtBlock: d.deployedAtBlock },
  };
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, "sweep.ts"), ["--measure"], {
      execArgv: ["-r", "ts-node/register/transpile-only"],
    });
    let result: SweepChildResult | undefined;
    child.on("message", (m: { ok: boolean; result?: SweepChildResult; error?: string }) => {
      if (m.ok) result = m.result;
      else reject(new Error(`sweep failed: ${m.error}`));
    });
    child.on("exit", (code) => (result ? resolve(result) : reject(new Error(`sweep exited with ${code}`))));
    child.send(request);
  });
}

/** The sizes measured so far and the one running: written after every stage, so a stopped run leaves its figures. */
const done: SizeRun[] = [];
let running: { households: number; stages: Stage[] } | undefined;
const loadStart = load();
let anvilProbe: { dumpEverySecond: number[]; noDump: number[] } | undefined;

function results(partial: boolean) {
  return {
    machine: machine(),
    loadAverage: { start: loadStart, end: load() },
    concurrency: CONCURRENCY,
    blockTime: BLOCK_TIME,
    submitLanes: SUBMIT_LANES,
    rpcTimeoutMs: Number(process.env.RELIEF_RPC_TIMEOUT_MS),
    chainStateIntervalSeconds: STATE_INTERVAL,
    chainPruneHistory: PRUNE_HISTORY,
    anvilProbe,
    targets: TARGETS,
    runs: done,
    ...(partial && running ? { partial: running } : {}),
  };
}

async function month(households: number): Promise<SizeRun> {
  console.log(`\n${fmt(households)} households`);
  const tg = await startTestGateway({
    anchoring: false,
    env: { RELIEF_LOG_LEVEL: "warn", RELIEF_SUBMIT_LANES: String(SUBMIT_LANES) },
  });
  const ctx = tg.gateway.ctx;
  const stages: Stage[] = [];
  running = { households, stages };
  const checks: SizeRun["checks"] = {};
  try {
    const caseworker = await principal(ctx, "township-caseworker");
    const approver = await principal(ctx, "county-approver");
    const finance = await principal(ctx, "county-finance");
    const bank = await principal(ctx, "county-bank");

    // The month's budget (not measured): enough for every household at five members with no income.
    const budget = BigInt(households) * BigInt(URBAN_DIBAO_STANDARD_FEN) * 5n;
    const ref = keccakId("relief-ledger/bench/scale");
    await ctx.ledger.appropriate("central-finance", budget, ref);
    await ctx.ledger.allocate("central-finance", {
      fromRegion: 0n,
      toRegion: 110000n,
      amount: budget,
      referenceDigest: ref,
    });
    await ctx.ledger.allocate("province-finance", {
      fromRegion: 110000n,
      toRegion: 110100n,
      amount: budget,
      referenceDigest: ref,
    });
    await ctx.ledger.allocate("city-finance", {
      fromRegion: 110100n,
      toRegion: 110105n,
      amount: budget,
      referenceDigest: ref,
    });
    await ctx.ledger.fundProgramme("county-finance", { programmeId: 1, amount: budget, referenceDigest: ref });

    await setMining(tg.chain.url, "interval");
    const caseIds: string[] = [];
    const eligible: boolean[] = [];
    let generatedMs = 0;
    const importStarted = performance.now();
    await measure(tg, stages, "import", async () => {
      let importMs = 0;
      // One generator a 100,000 households: each keeps its own resident-ID partition (bench/households.ts).
      let generator = new HouseholdGenerator(7_000, 0);
      for (let done = 0; done < households;) {
        if (done > 0 && done % 100_000 === 0) generator = new HouseholdGenerator(7_000 + done, (done / 100_000) % 10);
        const n = Math.min(IMPORT_FILE, households - done, 100_000 - (done % 100_000));
        const g = performance.now();
        const batch = generator.take(n);
        const csv = householdsCsv(batch, CSV_COLUMNS);
        generatedMs += performance.now() - g;
        const t = performance.now();
        const out = await importCases(ctx, caseworker, csv);
        importMs += performance.now() - t;
        if (!("imported" in out)) throw new Error(`import refused: ${JSON.stringify(out.rows.slice(0, 3))}`);
        caseIds.push(...out.caseIds);
        for (const h of batch) {
          const size = h.household.members.length;
          eligible.push(Math.floor(h.household.monthlyIncome / size) < URBAN_DIBAO_STANDARD_FEN);
        }
        done += n;
      }
      return {
        items: households,
        // Wall time of the imports alone: generating the synthetic households and their CSV is left out.
        startedAt: performance.now() - importMs,
        note: `${fmt(households * 4)} sealed records; generating the households took ${fmt(generatedMs / 1000, 1)} s more`,
      };
    });

    await measure(tg, stages, "on chain", async () => {
      while (await pendingOnChain(ctx)) await new Promise((r) => setTimeout(r, 200));
      return {
        items: households,
        startedAt: importStarted + generatedMs,
        note: "from the import's start: the submitter runs while the import does",
      };
    });

    await measure(tg, stages, "review", async () => {
      // As a township reviews a list: `reviewCases`, REVIEW_BATCH_MAX a transaction, several in flight.
      const batches: string[][] = [];
      for (let i = 0; i < caseIds.length; i += REVIEW_BATCH_MAX) batches.push(caseIds.slice(i, i + REVIEW_BATCH_MAX));
      await pool(batches, REVIEW_BATCHES_IN_FLIGHT, (batch) =>
        reviewCases(
          ctx,
          caseworker,
          batch.map((caseId) => ({ caseId, passed: true, reason: "bench" })),
        ),
      );
      return { items: caseIds.length, note: `${fmt(batches.length)} reviewCases transactions` };
    });
    await rpc(tg.chain.url, "evm_increaseTime", [7 * 24 * 3600 + 60]);
    await rpc(tg.chain.url, "evm_mine");

    let approved = 0;
    await measure(tg, stages, "decisions", async () => {
      // As a county decides a list: `POST /v1/cases/decisions`, DECISION_BATCH_MAX a transaction (each approval's
      // assessment from its household record, opened with the approver's key), several in flight.
      const batches: number[][] = [];
      for (let i = 0; i < caseIds.length; i += DECISION_BATCH_MAX) {
        batches.push(caseIds.slice(i, i + DECISION_BATCH_MAX).map((_, k) => i + k));
      }
      await pool(batches, DECISION_BATCHES_IN_FLIGHT, (batch) =>
        decideCases(
          ctx,
          approver,
          batch.map((i) =>
            eligible[i]
              ? { caseId: caseIds[i], decision: "approve" as const }
              : { caseId: caseIds[i], decision: "reject" as const, reason: "income above the standard" },
          ),
        ),
      );
      approved = eligible.filter(Boolean).length;
      return {
        items: caseIds.length,
        note: `${fmt(approved)} approved, ${fmt(caseIds.length - approved)} rejected; ${fmt(batches.length)} decision batches`,
      };
    });
    checks.approved = approved;
    await setMining(tg.chain.url, "auto");

    await measure(tg, stages, "anchoring", async () => {
      const { records, anchors } = await anchorAll(ctx);
      checks.anchors = anchors;
      return { items: records, note: `${fmt(anchors)} anchors of up to ${fmt(ANCHOR_BATCH)} records` };
    });

    let runId = "";
    await measure(tg, stages, "payout run", async () => {
      const answer = await startMonthlyRun(
        ctx,
        finance,
        { programmeId: 1 },
        { key: `scale-${households}`, body: { programmeId: 1 }, requestId: "bench-scale" },
      );
      runId = (answer.body as { runId: string }).runId;
      for (;;) {
        const run = await ctx.store.getPayoutRun(runId);
        if (run?.status === "failed") throw new Error(`payout run failed: ${run.errorCode}`);
        if (run?.status === "completed") {
          checks.paid = run.paid;
          checks.paidFen = Number(run.total);
          return { items: run.paid, note: `${fmt(run.listed)} cases listed, ${fmt(run.skipped)} skipped` };
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    checks.paidEqualsApproved = checks.paid === approved;

    const settledIds: string[] = [];
    await measure(tg, stages, "settlement", async () => {
      let after: string | undefined;
      let lines = 0;
      let failed = 0;
      for (let more = true; more;) {
        // A report of up to SETTLEMENT_REPORT lines, read from the store in pages of 1,000.
        const page: PayoutRow[] = [];
        while (page.length < SETTLEMENT_REPORT) {
          const rows = await ctx.store.listPayouts({ runId, afterPayoutId: after, limit: 1_000 });
          page.push(...rows);
          if (rows.length > 0) after = rows[rows.length - 1].payoutId;
          if (rows.length < 1_000) {
            more = false;
            break;
          }
        }
        if (page.length === 0) break;
        const csv = ["payout_id,bank_reference,outcome,reason"];
        for (const p of page) {
          lines += 1;
          if (lines % FAILED_EVERY === 0) {
            failed += 1;
            csv.push(`${p.payoutId},,failed,account closed`);
          } else {
            settledIds.push(p.payoutId);
            csv.push(`${p.payoutId},BANK-${lines},settled,`);
          }
        }
        const out = await applySettlement(ctx, bank, parseSettlementCsv(csv.join("\n") + "\n"));
        if ("errors" in out) throw new Error(`settlement refused: ${JSON.stringify(out.errors.slice(0, 3))}`);
      }
      checks.settled = settledIds.length;
      checks.failed = failed;
      return { items: lines, note: `${fmt(failed)} failed (1%), reports of up to ${fmt(SETTLEMENT_REPORT)} lines` };
    });

    // Receipts arrive one family at a time, each its own transaction: on a chain with a block period, the ones that
    // arrive together share a block, as here (RECEIPTS_IN_FLIGHT at once, interval mining).
    await setMining(tg.chain.url, "interval");
    await measure(tg, stages, "receipts", async () => {
      const sample = settledIds.filter((_, i) => i % 100 === 0).slice(0, 1_000);
      await pool(sample, RECEIPTS_IN_FLIGHT, async (payoutId) => {
        const caseId = payoutId.split(":")[0];
        const kase = await ctx.store.getCase(caseId);
        const who = { kind: "beneficiary" as const, pseudonym: kase!.pseudonym };
        await issueReceipt(ctx, actorName(who), await ownedPayout(ctx, who, payoutId), "confirmed");
      });
      return { items: sample.length, note: "1% of the settled payouts, at most 1,000" };
    });
    await setMining(tg.chain.url, "auto");

    await anchorAll(ctx); // the receipts' records
    await measure(tg, stages, "sweep", async () => {
      const sweep = await sweepInChild(tg);
      checks.sweepExceptions = sweep.exceptions;
      checks.sweepRecords = sweep.recordsChecked;
      checks.sweepPeakRssMiB = Math.round(sweep.peakRssMiB);
      return {
        items: sweep.recordsChecked,
        note: `records checked; ${fmt(sweep.events ?? 0)} chain events; ${fmt(sweep.exceptions)} exceptions; the sweep's own peak RSS ${fmt(sweep.peakRssMiB)} MiB`,
      };
    });
    // The sweep runs in its own process: its peak is the stage's.
    const sweepStage = stages[stages.length - 1];
    sweepStage.peakRssBytes = Number(checks.sweepPeakRssMiB) * MiB;

    const dbBytes = sqliteBytes(ctx.config.sqlitePath);
    return {
      households,
      stages,
      totalSeconds: stages.filter((s) => s.stage !== "import").reduce((sum, s) => sum + s.seconds, 0),
      dbBytes,
      dbBytesPerHousehold: dbBytes / households,
      peakRssBytes: Math.max(...stages.map((s) => s.peakRssBytes)),
      anvilPeakRssBytes: Math.max(...stages.map((s) => s.anvilPeakRssBytes)),
      checks,
    };
  } finally {
    await tg.close();
  }
}

function render(runs: SizeRun[], result: ReturnType<typeof results>): string {
  const lines: string[] = [
    "## Scale: one month for N households (`npm run bench:scale`)",
    "",
    `Measured ${result.machine.date.slice(0, 16).replace("T", " ")} UTC on ${os.cpus().length} CPUs, ` +
      `load average ${result.loadAverage.start.join(" / ")} at the start and ${result.loadAverage.end.join(" / ")} ` +
      `at the end${Math.max(...result.loadAverage.start, ...result.loadAverage.end) > os.cpus().length * 0.75 ? " (other work shared the machine)" : ""}. ` +
      `Embedded defaults: SQLite, anvil; the per-case stages (on chain, review, decisions) ${result.blockTime === "auto" ? "a block a transaction (automine)" : `with a block every ${result.blockTime} s (RELIEF_SCALE_BLOCK_TIME) holding what is pending`}, the others a block a transaction; the case submitter keeps ${result.submitLanes ?? 8} batches of 64 in flight (RELIEF_SUBMIT_LANES); the gateway waits up to ${fmt((result.rpcTimeoutMs ?? 10_000) / 1000)} s for an answer from the chain (RELIEF_RPC_TIMEOUT_MS). The ` +
      'stages drive the gateway\'s services in-process (bench/scale.ts), not HTTP. "on chain" counts from the ' +
      "import's start (the case submitter works while the import runs); the month's total is \"on chain\" plus the " +
      "later stages. Peak RSS: the gateway and the bench (one process), anvil separately; the sweep in its own process.",
    "",
    `anvil keeps ${result.chainPruneHistory > 0 ? `the last ${result.chainPruneHistory} blocks' states (RELIEF_CHAIN_PRUNE_HISTORY)` : "every block's state (its default)"}; ` +
      `its state file is ${result.chainStateIntervalSeconds === 0 ? "dumped once, at the end (RELIEF_CHAIN_STATE_INTERVAL=0)" : `dumped every ${result.chainStateIntervalSeconds} s`}. ` +
      "`npm start` dumps it every second (lib/anvil.ts); each dump writes the whole chain so far. anvilRead: p50 " +
      "of 9 reads of the latest state (`eth_getTransactionCount`) right after the stage.",
    "",
  ];
  for (const run of runs) {
    lines.push(
      `### ${fmt(run.households)} households: ${fmt(run.totalSeconds / 60, 1)} min, database ${fmt(run.dbBytes / MiB)} MiB ` +
        `(${fmt(run.dbBytesPerHousehold / 1024, 1)} KiB a household), peak RSS ${fmt(run.peakRssBytes / MiB)} MiB + anvil ` +
        `${fmt(run.anvilPeakRssBytes / MiB)} MiB`,
      "",
      `Targets (for 1,000,000): the month under ${fmt(TARGETS.monthSeconds / 60)} min — ` +
        `${run.totalSeconds <= TARGETS.monthSeconds ? "within it" : "over it"} at this size; peak memory under 2 GiB — ` +
        `gateway ${run.peakRssBytes <= TARGETS.peakBytes ? "within" : "over"}, anvil ` +
        `${run.anvilPeakRssBytes <= TARGETS.peakBytes ? "within" : "over"}.`,
      "",
      table(
        [
          "stage",
          "items",
          "wall (s)",
          "items/s",
          "transactions",
          "gas",
          "gas/item",
          "db after (MiB)",
          "peak RSS (MiB)",
          "anvil RSS (MiB)",
          "CPU s: gateway + bench",
          "CPU s: anvil",
          "anvil state file (MiB)",
          "anvilRead (ms)",
          "load (1 min)",
          "note",
        ],
        run.stages.map((s) => [
          s.stage,
          fmt(s.items),
          fmt(s.seconds, 1),
          fmt(s.perSecond),
          fmt(s.transactions),
          fmt(s.gas),
          fmt(s.gasPerItem),
          fmt(s.dbBytes / MiB),
          fmt(s.peakRssBytes / MiB),
          fmt(s.anvilPeakRssBytes / MiB),
          fmt(s.cpuSeconds, 1),
          fmt(s.anvilCpuSeconds, 1),
          fmt(s.anvilStateBytes / MiB),
          s.anvilReadMs === undefined ? "–" : fmt(s.anvilReadMs, 1),
          fmt(s.loadAverage[0], 2),
          s.note ?? "",
        ]),
      ),
      "",
    );
  }
  const partial = (result as { partial?: { households: number; stages: Stage[] } }).partial;
  if (partial && partial.stages.length > 0) {
    lines.push(
      `### ${fmt(partial.households)} households: stopped after "${partial.stages[partial.stages.length - 1].stage}" (incomplete)`,
      "",
      ...(process.env.RELIEF_SCALE_STOPPED ? [process.env.RELIEF_SCALE_STOPPED, ""] : []),
      table(
        [
          "stage",
          "items",
          "wall (s)",
          "items/s",
          "transactions",
          "gas/item",
          "db after (MiB)",
          "peak RSS (MiB)",
          "anvil RSS (MiB)",
          "CPU s: gateway + bench",
          "CPU s: anvil",
          "load (1 min)",
          "note",
        ],
        partial.stages.map((s) => [
          s.stage,
          fmt(s.items),
          fmt(s.seconds, 1),
          fmt(s.perSecond),
          fmt(s.transactions),
          fmt(s.gasPerItem),
          fmt(s.dbBytes / MiB),
          fmt(s.peakRssBytes / MiB),
          fmt(s.anvilPeakRssBytes / MiB),
          fmt(s.cpuSeconds, 1),
          fmt(s.anvilCpuSeconds, 1),
          fmt(s.loadAverage[0], 2),
          s.note ?? "",
        ]),
      ),
      "",
    );
  }
  // The growth table compares the sizes measured, a stopped run's completed stages included.
  const compared: { households: number; stages: Stage[]; dbBytesPerHousehold?: number }[] = [...runs];
  if (partial && partial.stages.length > 0) compared.push(partial);
  if (compared.length >= 2) {
    const header = ["stage", ...compared.map((r) => `µs/item at ${fmt(r.households)}`)];
    for (let i = 1; i < compared.length; i++) {
      header.push(`growth ${fmt(compared[i - 1].households)} → ${fmt(compared[i].households)}`);
    }
    type Sized = (typeof compared)[number];
    const wallOf = (r: Sized, stage: string) => {
      const st = r.stages.find((x) => x.stage === stage);
      return st ? (st.seconds * 1e6) / Math.max(st.items, 1) : undefined;
    };
    const cpuOf = (r: Sized, stage: string) => {
      const st = r.stages.find((x) => x.stage === stage);
      if (!st || st.cpuSeconds === undefined) return undefined;
      return ((st.cpuSeconds + st.anvilCpuSeconds) * 1e6) / Math.max(st.items, 1);
    };
    const rows: (string | number)[][] = [];
    for (const [label, of] of [
      ["wall", wallOf],
      ["CPU, gateway + anvil", cpuOf],
    ] as const) {
      for (const first of compared[0].stages) {
        const values = compared.map((r) => of(r, first.stage));
        const cells: (string | number)[] = [`${first.stage} (${label})`];
        for (const v of values) cells.push(v === undefined ? "–" : fmt(v));
        for (let i = 1; i < compared.length; i++) {
          const [x, y] = [values[i - 1], values[i]];
          if (x === undefined || y === undefined || x === 0) cells.push("–");
          else cells.push(`${fmt(y / x, 2)}×${y / x > 1.25 ? " **grows faster than linear**" : ""}`);
        }
        rows.push(cells);
      }
    }
    const db: (string | number)[] = ["database bytes/household at the end"];
    for (const r of compared) db.push(r.dbBytesPerHousehold ? fmt(r.dbBytesPerHousehold) : "–");
    for (let i = 1; i < compared.length; i++) {
      const [x, y] = [compared[i - 1].dbBytesPerHousehold, compared[i].dbBytesPerHousehold];
      db.push(x && y ? `${fmt(y / x, 2)}×` : "–");
    }
    rows.push(db);
    lines.push(
      "Cost per item between sizes, in wall time and in CPU seconds of the gateway and anvil together (1.00× is " +
        "linear growth of the stage's total; above 1.25× is flagged; wall time follows the machine's load, CPU less so):",
      "",
      table(header, rows),
      "",
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  if (process.env.RELIEF_SCALE_PROBE === "1") {
    console.log("anvil with and without a state dump every second (8 × 500 transfers each)…");
    anvilProbe = await anvilDumpProbe();
    console.log(
      `  no dump: ${anvilProbe.noDump.join(" ")} tx/s; dump every second: ${anvilProbe.dumpEverySecond.join(" ")} tx/s`,
    );
  }
  for (const size of SIZES) {
    done.push(await month(size));
    running = undefined;
    writeJson(RESULTS_NAME, results(false));
  }
  const result = results(false);
  const file = writeJson(RESULTS_NAME, result);
  const md = render(done, result);
  if (RESULTS_NAME === "scale") writeSection("scale", md);
  console.log(`\nwrote ${file} and docs/BENCHMARKS.md (scale)\n`);
  console.log(md);
}

/** `--render`: the table again from bench/results/scale.json (a run stopped midway included). */
function renderSaved(): void {
  const read = (name: string) =>
    JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, `${name}.json`), "utf8")) as ReturnType<typeof results>;
  const saved = read("scale");
  // RELIEF_SCALE_MERGE=a,b: sizes measured into other results files, shown with these (smallest first).
  // A stopped run in one of them is shown as such (RELIEF_SCALE_STOPPED says why, e.g. "anvil's memory").
  for (const name of (process.env.RELIEF_SCALE_MERGE ?? "").split(",").filter(Boolean)) {
    const merged = read(name) as ReturnType<typeof results> & { partial?: unknown };
    saved.runs.push(...merged.runs);
    if (merged.partial && !("partial" in saved)) Object.assign(saved, { partial: merged.partial });
  }
  saved.runs.sort((a, b) => a.households - b.households);
  const md = render(saved.runs, saved);
  writeSection("scale", md);
  console.log(md);
}

if (process.argv[2] === "--render") {
  renderSaved();
  process.exit(0);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
