/**
 * `npm run bench` (after bench/intake.ts): the audit sweep's throughput and memory over many records.
 *
 * One gateway (anvil, contracts, SQLite, the local consortium) is seeded with sealed records, grown in steps to each
 * size (100,000 then 1,000,000; `RELIEF_BENCH_QUICK=1`: 10,000 then 50,000), and anchored by the real
 * `AnchoringWorker` in anchors of 10,000 records. Seeding is kept cheap but honest: one real `sealRecord` per 1,000
 * records, whose envelope the other 999 reuse under their own id and header, each with its own correct digest
 * (`recordDigest(header, envelope)`), so the sweep recomputes and checks every digest exactly as in production.
 *
 * At each size, two fresh child processes (so that peak RSS is the sweep's alone, not the seeding's) open the store
 * and a read-only EvmLedger and run (a) the records check alone (`checkRecords`) and (b) the whole sweep
 * (`runSweep`: records, then the one pass over the chain's events, the fund and lifecycle checks and the report).
 * Reported: records per second (target ≥ 50,000/s) and peak RSS at both sizes (target: within 20% of each other).
 *
 * The records check runs its anchors in worker threads (gateway/src/audit/sweep/anchor-pool.ts), as many as
 * `defaultThreads` gives (one per core, at most 4); the count is in the results.
 *
 * Before and after, side by side: with `RELIEF_BENCH_SWEEP_BASELINE=DIR` (a copy of an earlier version of this
 * repository, e.g. `git archive <commit> | tar -x -C DIR` with `node_modules` and `artifacts` linked in), each size is
 * also measured with DIR's records check and whole sweep (DIR's own `bench/sweep.ts --measure`, same store, same
 * chain, same moment), and the table gives the ratios. The machine's 1-minute load average is sampled every 5 s during the run (the machine
 * may be shared: the numbers say how much).
 *
 * Writes bench/results/sweep.json and the `sweep` section of docs/BENCHMARKS.md. Alone:
 * `npx ts-node --transpile-only bench/sweep.ts`.
 */
import Database from "better-sqlite3";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { RecordHeader } from "../gateway/src/records";
import type { NewRecord } from "../gateway/src/store";

const QUICK = process.env.RELIEF_BENCH_QUICK === "1";
const SIZES = QUICK ? [10_000, 50_000] : [100_000, 1_000_000];
const ANCHOR_BATCH = 10_000;
const ENVELOPE_REUSE = 1_000;
const RECORDS_PER_TRANSACTION = 5_000;
const TARGETS = { recordsPerSecond: 50_000, rssSpread: 0.2 };
const TOWNSHIP = 110105001000;
const BASELINE = process.env.RELIEF_BENCH_SWEEP_BASELINE;
/** What the baseline is, for the table (e.g. "7ecdc7c, before the worker pool"). */
const BASELINE_LABEL = process.env.RELIEF_BENCH_SWEEP_BASELINE_LABEL;

interface MeasureRequest {
  mode: "records" | "sweep";
  sqlitePath: string;
  rpcUrl: string;
  deployment: { chainId: string; addresses: Record<string, string>; deployedAtBlock: number };
}

interface MeasureResult {
  mode: "records" | "sweep";
  seconds: number;
  recordsChecked: number;
  recordsPerSecond: number;
  peakRssMiB: number;
  exceptions: number;
  events?: number;
  /** Worker threads of the records check (absent: a version without them). */
  threads?: number;
}

// ---- The child: one measurement in a fresh process ----------------------------------------------------------

async function measure(request: MeasureRequest): Promise<MeasureResult> {
  const { EvmLedger } = await import("../gateway/src/ledger");
  const { openSqliteStore } = await import("../gateway/src/store");
  const records = await import("../gateway/src/audit/sweep/records");
  const { checkRecords } = records;
  const { runSweep } = await import("../gateway/src/audit/sweep/sweep");
  const deployment = {
    chainId: BigInt(request.deployment.chainId),
    addresses: request.deployment.addresses as never,
    deployedAtBlock: request.deployment.deployedAtBlock,
  };
  const ledger = new EvmLedger({
    rpcUrl: request.rpcUrl,
    chainId: deployment.chainId,
    addresses: deployment.addresses,
  });
  await ledger.connect();
  const store = await openSqliteStore({ path: request.sqlitePath });
  try {
    const started = performance.now();
    let checked = 0;
    let exceptions = 0;
    let events: number | undefined;
    if (request.mode === "records") {
      const run = checkRecords({ store, ledger }, {});
      for (;;) {
        const step = await run.next();
        if (step.done) {
          checked = step.value.checked;
          break;
        }
        exceptions += 1;
      }
    } else {
      const report = await runSweep({ store, ledger, deployment, rpcUrl: request.rpcUrl }, {});
      checked = report.counts.recordsChecked;
      exceptions = report.exceptions.length;
      events = report.counts.events;
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      mode: request.mode,
      seconds,
      recordsChecked: checked,
      recordsPerSecond: checked / seconds,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      exceptions,
      events,
      // An earlier version (the baseline) may have no workers.
      ...("defaultThreads" in records ? { threads: records.defaultThreads(checked) } : {}),
    };
  } finally {
    await store.close();
    await ledger.close();
  }
}

/** One measurement in a fresh process: this file's, or (`script`) an earlier version's `bench/sweep.ts`. */
function measureInChild(request: MeasureRequest, script = __filename): Promise<MeasureResult> {
  return new Promise((resolve, reject) => {
    const profile = process.env.RELIEF_BENCH_PROFILE
      ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.RELIEF_BENCH_PROFILE}`]
      : [];
    const child = fork(script, ["--measure"], { execArgv: ["-r", "ts-node/register/transpile-only", ...profile] });
    let result: MeasureResult | undefined;
    child.on("message", (m: { ok: boolean; result?: MeasureResult; error?: string }) => {
      if (m.ok) result = m.result;
      else reject(new Error(`measurement failed: ${m.error}`));
    });
    child.on("exit", (code) => (result ? resolve(result) : reject(new Error(`measurement exited with ${code}`))));
    child.send(request);
  });
}

/**
 * The request as an earlier version (`dir`) can take it. A version from before the voucher book knows neither its
 * contract nor its store migration (this bench makes no vouchers): it gets the deployment without the book and a
 * copy of the database without the migrations it does not know (their tables stay, unused).
 */
function olderRequest<R extends Omit<MeasureRequest, "mode">>(request: R, dir: string): R {
  const migrations = path.join(dir, "gateway", "src", "store", "migrations");
  const known = fs
    .readdirSync(migrations)
    .map((f) => /^(\d+)_/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  const newest = Math.max(...known);
  const addresses: Record<string, string> = { ...request.deployment.addresses };
  if (!fs.existsSync(path.join(dir, "contracts", "vouchers"))) delete addresses.vouchers;
  const source = new Database(request.sqlitePath);
  const copy = `${request.sqlitePath}.baseline`;
  fs.rmSync(copy, { force: true });
  try {
    source.exec(`VACUUM INTO '${copy.replaceAll("'", "''")}'`);
  } finally {
    source.close();
  }
  const db = new Database(copy);
  try {
    db.prepare("DELETE FROM schema_migrations WHERE version > ?").run(newest);
  } finally {
    db.close();
  }
  return { ...request, sqlitePath: copy, deployment: { ...request.deployment, addresses } };
}

// ---- The parent: seed, anchor, measure --------------------------------------------------------------------

async function main(): Promise<void> {
  const { startTestGateway } = await import("../test/gateway/api/harness");
  const { AnchoringWorker } = await import("../gateway/src/anchoring");
  const { GATEWAY_ACTORS } = await import("../gateway/src/context");
  const { newRecordId, recordDigest, sealRecord } = await import("../gateway/src/records");
  const { HouseholdGenerator } = await import("./households");
  const { fmt, machine, table, writeJson, writeSection } = await import("./report");

  const load = () => os.loadavg().map((n) => Math.round(n * 100) / 100);
  const loadBefore = load();
  const loadSamples: number[] = [];
  const sampler = setInterval(() => loadSamples.push(os.loadavg()[0]), 5_000);
  sampler.unref();
  console.log(`sweep bench: sizes ${SIZES.map((s) => fmt(s)).join(", ")}${QUICK ? " (quick)" : ""}`);
  const tg = await startTestGateway();
  const ctx = tg.gateway.ctx;
  const worker = new AnchoringWorker({
    store: ctx.store,
    ledger: ctx.ledger,
    actor: GATEWAY_ACTORS.anchorer,
    batchSize: ANCHOR_BATCH,
  });
  const households = new HouseholdGenerator(1);
  const grants = [{ holderId: "county-auditor", fieldClass: "household" as const }];
  const runs: {
    records: number;
    seedSeconds: number;
    anchorSeconds: number;
    anchors: number;
    dbMiB: number;
    recordsCheck: MeasureResult;
    sweep: MeasureResult;
    /** The earlier version's records check and whole sweep (RELIEF_BENCH_SWEEP_BASELINE), and this one's speed over them. */
    baseline?: MeasureResult;
    baselineSweep?: MeasureResult;
    speedup?: number;
    sweepSpeedup?: number;
    /** Why the earlier version's whole sweep could not run here (e.g. it cannot decode this ledger's events). */
    baselineSweepFailure?: string;
  }[] = [];
  let seeded = 0;
  try {
    for (const size of SIZES) {
      // Seed up to `size`.
      const seedStart = performance.now();
      let lastLog = seedStart;
      while (seeded < size) {
        const n = Math.min(RECORDS_PER_TRANSACTION, size - seeded);
        const records: NewRecord[] = [];
        for (let i = 0; i < n; i += ENVELOPE_REUSE) {
          const caseId = `0x${randomBytes(32).toString("hex")}`;
          const sealed = await sealRecord(
            ctx.keyring,
            { kind: "household", caseId, regionCode: TOWNSHIP, schemaVersion: 1 },
            households.next() as never,
            grants,
          );
          const envelope = sealed.record.envelope;
          for (let k = i; k < Math.min(n, i + ENVELOPE_REUSE); k++) {
            const header: RecordHeader = {
              id: newRecordId(),
              kind: "household" as const,
              // Four records per case, as an application's records are.
              caseId:
                k % 4 === 0 || k === i ? `0x${randomBytes(32).toString("hex")}` : records[records.length - 1].caseId,
              regionCode: TOWNSHIP,
              schemaVersion: 1,
            };
            records.push({ ...header, envelope, digest: recordDigest(header, envelope) });
          }
        }
        await ctx.store.transaction(async (tx) => {
          const stored = await tx.insertRecords(records);
          await tx.enqueueAnchors(stored.map((r) => r.id));
        });
        seeded += n;
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          const rate = (seeded - (runs.at(-1)?.records ?? 0)) / ((lastLog - seedStart) / 1000);
          console.log(`  seeded ${fmt(seeded)} (${fmt(rate)}/s)`);
        }
      }
      const seedSeconds = (performance.now() - seedStart) / 1000;
      const anchorStart = performance.now();
      const round = await worker.runOnce();
      if (round.unavailable) throw round.unavailable;
      const anchorSeconds = (performance.now() - anchorStart) / 1000;
      const anchors = await ctx.ledger.anchorCount();
      const dbMiB =
        ["", "-wal"].reduce(
          (s, x) => s + (fs.existsSync(ctx.config.sqlitePath + x) ? fs.statSync(ctx.config.sqlitePath + x).size : 0),
          0,
        ) /
        2 ** 20;
      console.log(
        `  ${fmt(size)} records: seeded in ${fmt(seedSeconds, 1)} s, anchored in ${fmt(anchorSeconds, 1)} s ` +
          `(${anchors} anchors), database ${fmt(dbMiB)} MiB`,
      );
      const request = {
        sqlitePath: ctx.config.sqlitePath,
        rpcUrl: ctx.rpcUrl,
        deployment: {
          chainId: ctx.deployment.chainId.toString(),
          addresses: { ...ctx.deployment.addresses },
          deployedAtBlock: ctx.deployment.deployedAtBlock,
        },
      };
      let baseline: MeasureResult | undefined;
      let baselineSweep: MeasureResult | undefined;
      let baselineSweepFailure: string | undefined;
      if (BASELINE) {
        const script = path.join(BASELINE, "bench", "sweep.ts");
        const baseRequest = olderRequest(request, BASELINE);
        baseline = await measureInChild({ ...baseRequest, mode: "records" }, script);
        console.log(
          `    baseline records check: ${fmt(baseline.recordsPerSecond)} records/s, peak RSS ${fmt(baseline.peakRssMiB)} MiB`,
        );
        try {
          baselineSweep = await measureInChild({ ...baseRequest, mode: "sweep" }, script);
          console.log(
            `    baseline whole sweep: ${fmt(baselineSweep.recordsPerSecond)} records/s, peak RSS ${fmt(baselineSweep.peakRssMiB)} MiB`,
          );
        } catch (error) {
          // An older sweep cannot read a newer ledger's events (the chain is this version's): no whole-sweep ratio.
          baselineSweepFailure = String((error as Error).message).split("\n")[0];
          console.log(`    baseline whole sweep: not comparable (${baselineSweepFailure})`);
        }
        for (const b of [baseline, ...(baselineSweep ? [baselineSweep] : [])]) {
          if (b.recordsChecked !== size || b.exceptions !== 0) {
            throw new Error(`the baseline checked ${b.recordsChecked} of ${size} with ${b.exceptions} exceptions`);
          }
        }
      }
      const recordsCheck = await measureInChild({ ...request, mode: "records" });
      console.log(
        `    records check: ${fmt(recordsCheck.recordsPerSecond)} records/s, peak RSS ${fmt(recordsCheck.peakRssMiB)} MiB`,
      );
      const sweep = await measureInChild({ ...request, mode: "sweep" });
      console.log(`    whole sweep: ${fmt(sweep.recordsPerSecond)} records/s, peak RSS ${fmt(sweep.peakRssMiB)} MiB`);
      if (recordsCheck.recordsChecked !== size || sweep.recordsChecked !== size) {
        throw new Error(`checked ${recordsCheck.recordsChecked} / ${sweep.recordsChecked} records of ${size}`);
      }
      if (recordsCheck.exceptions !== 0 || sweep.exceptions !== 0) {
        throw new Error(`a clean store gave ${recordsCheck.exceptions} / ${sweep.exceptions} exceptions`);
      }
      runs.push({
        records: size,
        seedSeconds,
        anchorSeconds,
        anchors,
        dbMiB,
        recordsCheck,
        sweep,
        ...(baseline ? { baseline, speedup: recordsCheck.recordsPerSecond / baseline.recordsPerSecond } : {}),
        ...(baselineSweep
          ? { baselineSweep, sweepSpeedup: sweep.recordsPerSecond / baselineSweep.recordsPerSecond }
          : {}),
        ...(baselineSweepFailure ? { baselineSweepFailure } : {}),
      });
    }
  } finally {
    clearInterval(sampler);
    await tg.close();
  }
  const loadDuring = {
    min: Math.min(...loadSamples),
    mean: loadSamples.reduce((a, b) => a + b, 0) / Math.max(1, loadSamples.length),
    max: Math.max(...loadSamples),
    samples: loadSamples.length,
  };

  const spread = (key: "recordsCheck" | "sweep") => {
    const rss = runs.map((r) => r[key].peakRssMiB);
    return Math.max(...rss) / Math.min(...rss) - 1;
  };
  const result = {
    machine: machine(),
    quick: QUICK,
    loadAverage: { before: loadBefore, after: load(), during: loadDuring },
    baselineDir: BASELINE ?? null,
    baselineLabel: BASELINE_LABEL ?? null,
    targets: TARGETS,
    anchorBatch: ANCHOR_BATCH,
    envelopeReuse: ENVELOPE_REUSE,
    runs,
    rssSpread: { recordsCheck: spread("recordsCheck"), sweep: spread("sweep") },
    meetsTargets: {
      recordsPerSecond: runs.every((r) => r.recordsCheck.recordsPerSecond >= TARGETS.recordsPerSecond),
      wholeSweepRecordsPerSecond: runs.every((r) => r.sweep.recordsPerSecond >= TARGETS.recordsPerSecond),
      rssSpread: spread("recordsCheck") <= TARGETS.rssSpread && spread("sweep") <= TARGETS.rssSpread,
    },
  };
  const file = writeJson("sweep", result);
  const m = result.machine;
  const md = [
    `Measured ${m.date.slice(0, 10)} on ${m.cpus} cores (${m.cpuModel}), Node ${m.node}, SQLite, anvil` +
      `${QUICK ? " (quick sizes)" : ""}; 1-minute load average during the run ${fmt(loadDuring.min, 1)} to ` +
      `${fmt(loadDuring.max, 1)} (mean ${fmt(loadDuring.mean, 1)}) on ${m.cpus} cores` +
      (loadDuring.mean > m.cpus * 0.75 ? ": a shared machine, other work took CPU time from every measurement" : "") +
      `. Raw data: \`bench/results/sweep.json\`.`,
    "",
    "### Audit sweep: records per second and peak memory",
    "",
    table(
      [
        "records",
        "anchors",
        "seeding (s)",
        "anchoring (s)",
        "worker threads",
        ...(BASELINE ? ["before: records check (records/s)"] : []),
        "records check (records/s)",
        ...(BASELINE ? ["speed-up"] : []),
        "records check peak RSS (MiB)",
        ...(BASELINE ? ["before: whole sweep (records/s)"] : []),
        "whole sweep (s)",
        "whole sweep (records/s)",
        ...(BASELINE ? ["speed-up"] : []),
        "whole sweep peak RSS (MiB)",
      ],
      runs.map((r) => [
        fmt(r.records),
        r.anchors,
        fmt(r.seedSeconds, 1),
        fmt(r.anchorSeconds, 1),
        r.recordsCheck.threads ?? 0,
        ...(BASELINE ? [r.baseline ? fmt(r.baseline.recordsPerSecond) : "–"] : []),
        fmt(r.recordsCheck.recordsPerSecond),
        ...(BASELINE ? [r.speedup !== undefined ? `${fmt(r.speedup, 2)}×` : "–"] : []),
        fmt(r.recordsCheck.peakRssMiB),
        ...(BASELINE ? [r.baselineSweep ? fmt(r.baselineSweep.recordsPerSecond) : "–"] : []),
        fmt(r.sweep.seconds, 1),
        fmt(r.sweep.recordsPerSecond),
        ...(BASELINE ? [r.sweepSpeedup !== undefined ? `${fmt(r.sweepSpeedup, 2)}×` : "–"] : []),
        fmt(r.sweep.peakRssMiB),
      ]),
    ),
    "",
    `Targets: at least ${fmt(TARGETS.recordsPerSecond)} records/s ` +
      `(records check: ${result.meetsTargets.recordsPerSecond ? "met" : "NOT met"}; whole sweep: ` +
      `${result.meetsTargets.wholeSweepRecordsPerSecond ? "met" : "NOT met"}); peak RSS at both sizes within ` +
      `${TARGETS.rssSpread * 100}% (spread ${fmt(result.rssSpread.recordsCheck * 100, 1)}% for the records check, ` +
      `${fmt(result.rssSpread.sweep * 100, 1)}% for the whole sweep: ${result.meetsTargets.rssSpread ? "met" : "NOT met"}). ` +
      `Records are sealed ${fmt(ENVELOPE_REUSE)} to an envelope (distinct ids, headers and digests), anchored ` +
      `${fmt(ANCHOR_BATCH)} to an anchor by the real AnchoringWorker; each measurement runs in a fresh process.`,
    ...(BASELINE
      ? [
          "",
          `"Before" is ${BASELINE_LABEL ?? "an earlier version"}, measured in the same run on the same store and chain.` +
            (runs.some((r) => r.baselineSweepFailure)
              ? " Its whole sweep could not run here: " +
                (runs.some((r) => /matches no event of its ABI/.test(r.baselineSweepFailure ?? ""))
                  ? "it cannot decode events this version's ledger emits"
                  : `it failed (\`bench/results/sweep.json\`, \`baselineSweepFailure\`)`) +
                ", so only the records check has a before-and-after ratio."
              : ""),
        ]
      : []),
  ].join("\n");
  writeSection("sweep", md);
  console.log(`wrote ${file} and docs/BENCHMARKS.md (sweep)`);
}

if (process.argv[2] === "--measure") {
  process.once("message", (request: MeasureRequest) => {
    measure(request).then(
      (result) => {
        process.send!({ ok: true, result }, () => process.exit(0));
      },
      (error: unknown) => {
        process.send!({ ok: false, error: String((error as Error)?.stack ?? error) }, () => process.exit(1));
      },
    );
  });
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
