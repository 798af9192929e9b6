/**
 * `npm run bench` (after bench/gas.ts): the gateway's intake, measured side by side in one run.
 *
 * 1. Bulk import, sealed and stored records per second (SQLite; also PostgreSQL when DATABASE_URL is set): the
 *    production sealing (`sealApplication` + `storeSealedMany`) against "sm-crypto 0.5.8 alone for everything" on the
 *    same store and schema (bench/bulk-import.ts), and the whole production CSV import `importCases` on a gateway.
 * 2. HTTP intake of single applications, `POST /v1/cases` on the real app (anvil, contracts, SQLite, the local
 *    consortium, the anchoring worker running as in production; each request is answered 202 once stored and its
 *    case submitted on chain in the background): open loop at a fixed rate, then a closed loop at fixed concurrency
 *    (bench/http-load.ts, in a child process), each phase until its cases are all on chain.
 * 3. Anchoring through the real `AnchoringWorker` against anvil: records per anchor transaction and gas per record
 *    from the receipts (bench/anchoring-worker.ts).
 *
 * Writes bench/results/intake.json and the `intake` section of docs/BENCHMARKS.md. `RELIEF_BENCH_QUICK=1` for the
 * short run. Alone: `npx ts-node --transpile-only bench/intake.ts`. Speed is measured here, never asserted in tests.
 *
 * `RELIEF_BENCH_ONLY=import` measures part 1 only (the bulk imports and the CSV imports, on both stores when
 * DATABASE_URL is set) and carries parts 2 and 3 over from the previous bench/results/intake.json, with the date
 * they were measured (`carriedOver`). The import table is compared with an earlier run: the results file named by
 * `RELIEF_BENCH_BEFORE` (e.g. `git show <commit>:bench/results/intake.json > /tmp/before.json`), else the previous
 * bench/results/intake.json.
 *
 * `RELIEF_BENCH_ONLY=http` measures part 2 only and carries parts 1 and 3 over the same way.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startTestGateway, type TestGateway } from "../test/gateway/api/harness";
import { benchWorkerAnchoring, type WorkerAnchoringResult } from "./anchoring-worker";
import { statementSizes } from "../gateway/src/store/tables/batch";
import {
  HOUSEHOLDS_PER_TRANSACTION,
  type ImportRun,
  importBaseline,
  importChosen,
  importCsv,
  openImportTarget,
} from "./bulk-import";
import { HouseholdGenerator } from "./households";
import type { LoadRequest, LoadResult } from "./http-load";
import { type CallProfile, type SealingStep, instrument, sealingProfile } from "./profile";
import { RESULTS_DIR, fmt, machine, table, writeJson, writeSection } from "./report";

const QUICK = process.env.RELIEF_BENCH_QUICK === "1";
const DATABASE_URL = process.env.DATABASE_URL || undefined;
const ONLY = process.env.RELIEF_BENCH_ONLY || undefined;
if (ONLY !== undefined && ONLY !== "import" && ONLY !== "http") {
  throw new Error(`RELIEF_BENCH_ONLY must be "import" or "http", not ${ONLY}`);
}
const IMPORT_ONLY = ONLY === "import";
const HTTP_ONLY = ONLY === "http";
const RESULTS_FILE = path.join(RESULTS_DIR, "intake.json");

const SIZES = QUICK
  ? {
      chosen: 2_000,
      baseline: 10,
      csv: 2_000,
      openSeconds: 5,
      closedSeconds: 3,
      profileRequests: 30,
      anchorBatches: [100, 1_000],
    }
  : {
      chosen: 20_000,
      baseline: 50,
      csv: 20_000,
      openSeconds: 20,
      closedSeconds: 10,
      profileRequests: 100,
      anchorBatches: [100, 1_000, 10_000],
    };
const OPEN_RATE = 100;
const CONCURRENCY = 8;
const CASEWORKER = "township-caseworker";
const TARGETS = { importRecordsPerSecond: 2_000, p99Ms: 50 };

interface HttpPhase {
  client: LoadResult;
  /**
   * The gateway process over the phase: event-loop utilisation (0..1), CPU seconds (user + system), CPU ms per
   * completed request, and how long it took after the phase for the requests it was still working on (whose clients
   * had given up) to finish. `chainSeconds`: how long after the phase the last of its cases went on chain (cases are
   * submitted in the background); CPU is counted until then (the submissions included).
   */
  server: {
    eventLoopUtilization: number;
    cpuSeconds: number;
    cpuMsPerRequest: number;
    drainSeconds: number;
    chainSeconds?: number;
  };
}

interface HttpResult {
  skipped?: string;
  anchoringWorker: { intervalMs: number; batchSize: number };
  idempotencyKeys: boolean;
  open?: HttpPhase;
  closed?: HttpPhase;
  /**
   * Where a request's time goes: sequential requests (concurrency 1) with the gateway's store and ledger calls
   * instrumented; not part of the figures above.
   */
  profile?: { requests: number; latency: LoadResult["latency"]; cpuMsPerRequest: number; calls: CallProfile[] };
}

const load = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

/** Sends one load phase to the child and waits for its result. */
function runLoad(child: ChildProcess, request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { ok: boolean; result?: LoadResult; error?: string }) => {
      child.off("exit", onExit);
      if (m.ok && m.result) resolve(m.result);
      else reject(new Error(`load generator failed: ${m.error}`));
    };
    const onExit = (code: number | null) => reject(new Error(`load generator exited with ${code}`));
    child.once("message", onMessage);
    child.once("exit", onExit);
    child.send(request);
  });
}

/** Requests the gateway's HTTP server is working on (answered or not, until their response is closed). */
class InFlight {
  count = 0;

  watch(server: Server): void {
    server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
      this.count += 1;
      res.once("close", () => (this.count -= 1));
    });
  }

  /** Waits (at most `limitMs`) until no request is in flight; returns the seconds waited. */
  async drained(limitMs = 600_000): Promise<number> {
    const started = performance.now();
    while (this.count > 0 && performance.now() - started < limitMs) await new Promise((r) => setTimeout(r, 100));
    if (this.count > 0) throw new Error(`${this.count} requests still in flight after ${limitMs} ms`);
    return (performance.now() - started) / 1000;
  }
}

/** Waits (at most `limitMs`) until no case is `pending-chain`; returns the seconds waited. */
async function onChain(tg: TestGateway, limitMs = 600_000): Promise<number> {
  const started = performance.now();
  const pending = async () => (await tg.gateway.ctx.store.listCases({ status: "pending-chain", limit: 1 })).length;
  while ((await pending()) > 0 && performance.now() - started < limitMs) await new Promise((r) => setTimeout(r, 50));
  if ((await pending()) > 0) throw new Error(`cases still pending-chain after ${limitMs} ms`);
  return (performance.now() - started) / 1000;
}

async function measured(tg: TestGateway, inFlight: InFlight, phase: () => Promise<LoadResult>): Promise<HttpPhase> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const client = await phase();
  const eventLoop = performance.eventLoopUtilization(elu).utilization;
  const drainSeconds = await inFlight.drained();
  const chainSeconds = await onChain(tg);
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    client,
    server: {
      eventLoopUtilization: eventLoop,
      cpuSeconds,
      cpuMsPerRequest: client.completed > 0 ? (cpuSeconds * 1000) / client.completed : 0,
      drainSeconds,
      chainSeconds,
    },
  };
}

/** Whether `POST /v1/cases` takes an application (the route may still be a placeholder). */
async function intakeWorks(url: string, authorization: string): Promise<string | undefined> {
  const body = JSON.stringify(new HouseholdGenerator(7, 9).next());
  const res = await fetch(`${url}/v1/cases`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body,
  });
  await res.arrayBuffer();
  return res.status === 201 || res.status === 202 ? undefined : `POST /v1/cases answered ${res.status}`;
}

async function benchHttp(tg: TestGateway): Promise<HttpResult> {
  const ctx = tg.gateway.ctx;
  const result: HttpResult = {
    anchoringWorker: { intervalMs: ctx.config.anchoring.intervalMs, batchSize: ctx.config.anchoring.batchSize },
    idempotencyKeys: true,
  };
  const server = tg.gateway.app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  server.keepAliveTimeout = 30_000;
  const inFlight = new InFlight();
  inFlight.watch(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const authorization = tg.auth(CASEWORKER);
  const child = fork(path.join(__dirname, "http-load.ts"), [], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: "inherit",
  });
  try {
    const broken = await intakeWorks(url, authorization);
    if (broken) return { ...result, skipped: broken };
    const target = { url, authorization, timeoutMs: 60_000 };
    console.log(`  open loop: ${OPEN_RATE} requests/s for ${SIZES.openSeconds} s…`);
    result.open = await measured(tg, inFlight, () =>
      runLoad(child, {
        kind: "open",
        ...target,
        rate: OPEN_RATE,
        seconds: SIZES.openSeconds,
        seed: 1_001,
        partition: 1,
        idempotencyPrefix: "bench-open",
      }),
    );
    console.log(`  closed loop: concurrency ${CONCURRENCY} for ${SIZES.closedSeconds} s…`);
    result.closed = await measured(tg, inFlight, () =>
      runLoad(child, {
        kind: "closed",
        ...target,
        concurrency: CONCURRENCY,
        seconds: SIZES.closedSeconds,
        maxRequests: SIZES.closedSeconds * 2_000,
        seed: 2_002,
        partition: 2,
        idempotencyPrefix: "bench-closed",
      }),
    );
    console.log(`  profile: ${SIZES.profileRequests} sequential requests, store and ledger calls instrumented…`);
    const probe = instrument(tg.gateway.ctx);
    try {
      const cpu = process.cpuUsage();
      const sequential = await runLoad(child, {
        kind: "closed",
        ...target,
        concurrency: 1,
        seconds: 120,
        maxRequests: SIZES.profileRequests,
        seed: 3_003,
        partition: 3,
        idempotencyPrefix: "bench-profile",
      });
      await onChain(tg);
      const used = process.cpuUsage(cpu);
      result.profile = {
        requests: sequential.requests,
        latency: sequential.latency,
        cpuMsPerRequest: (used.user + used.system) / 1000 / sequential.requests,
        calls: probe.report(sequential.requests),
      };
    } finally {
      probe.restore();
    }
    return result;
  } finally {
    child.kill("SIGTERM");
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function benchImports(dialect: "sqlite" | "postgres", households: HouseholdGenerator): Promise<ImportRun[]> {
  const runs: ImportRun[] = [];
  console.log(`  ${dialect}: chosen pipeline over ${fmt(SIZES.chosen)} households…`);
  let target = await openImportTarget(dialect, DATABASE_URL);
  try {
    runs.push(await importChosen(target, households.take(SIZES.chosen)));
  } finally {
    await target.close();
  }
  console.log(`  ${dialect}: sm-crypto-only baseline over ${fmt(SIZES.baseline)} households…`);
  target = await openImportTarget(dialect, DATABASE_URL);
  try {
    runs.push(await importBaseline(target, households.take(SIZES.baseline)));
  } finally {
    await target.close();
  }
  return runs;
}

/** The production CSV import on a gateway; closing waits for the submit round the import starts. */
async function benchCsvImport(tg: TestGateway, households: HouseholdGenerator): Promise<ImportRun> {
  console.log(`  ${tg.gateway.ctx.store.dialect}: importCases over ${fmt(SIZES.csv)} households…`);
  return importCsv(tg.gateway.ctx, CASEWORKER, households.take(SIZES.csv));
}

function importRows(runs: ImportRun[]): Array<Array<string | number>> {
  const dialectName = (d: string) => (d === "sqlite" ? "SQLite" : "PostgreSQL");
  const name = {
    chosen: "chosen (sealApplication + storeSealedMany)",
    baseline: "sm-crypto only",
    "import-csv": "importCases (whole CSV import)",
  };
  return runs.map((r) => [
    dialectName(r.dialect),
    name[r.pipeline],
    fmt(r.households),
    fmt(r.records),
    fmt(r.wrappedKeys),
    fmt(r.seconds, 1),
    `**${fmt(r.recordsPerSecond)}**`,
    r.dialect === "sqlite" ? fmt(r.recordsPerCpuSecond) : "–",
    r.sealMs === undefined ? "–" : fmt((r.sealMs * 1000) / r.records),
    r.storeMs === undefined ? "–" : fmt((r.storeMs * 1000) / r.records),
  ]);
}

function ratioOf(runs: ImportRun[], dialect: string): number | undefined {
  const chosen = runs.find((r) => r.dialect === dialect && r.pipeline === "chosen");
  const baseline = runs.find((r) => r.dialect === dialect && r.pipeline === "baseline");
  return chosen && baseline ? chosen.recordsPerSecond / baseline.recordsPerSecond : undefined;
}

function verdict(measuredValue: number, target: number, higherIsBetter: boolean): string {
  const met = higherIsBetter ? measuredValue >= target : measuredValue <= target;
  if (met) return "met";
  if (higherIsBetter) return `missed by ${fmt(((target - measuredValue) / target) * 100)}%`;
  const times = measuredValue / target;
  return times >= 2 ? `missed: ${fmt(times, 1)}× the target` : `missed by ${fmt((times - 1) * 100)}%`;
}

interface IntakeResult {
  machine: ReturnType<typeof machine>;
  quick: boolean;
  loadAverage: { start: number[]; end?: number[] };
  sizes: typeof SIZES & { openRate: number; concurrency: number; householdsPerTransaction: number };
  targets: typeof TARGETS;
  imports: ImportRun[];
  ratios: Record<string, number | undefined>;
  /** The production sealing primitives per record, µs on one core (bench/profile.ts). */
  sealingSteps?: SealingStep[];
  http?: HttpResult;
  anchoring?: WorkerAnchoringResult;
  /** Parts that failed, with the error (the others were still measured). */
  failures: Record<string, string>;
  totalSeconds?: number;
  /** RELIEF_BENCH_ONLY=import: the parts taken from the previous results file, and when they were measured. */
  carriedOver?: { parts: string[]; measured: string };
  /** The import rates of the run compared with (RELIEF_BENCH_BEFORE, else the previous results file). */
  before?: { measured: string; file: string; imports: Pick<ImportRun, "dialect" | "pipeline" | "recordsPerSecond">[] };
}

/** When `part` of an earlier run's results was measured: carried over from a run before it, or in that run. */
function measuredAt(previous: IntakeResult, part: string): string {
  return previous.carriedOver?.parts.includes(part) ? previous.carriedOver.measured : previous.machine.date;
}

/** A results file of an earlier run, if there is one. */
function readResults(file: string): IntakeResult | undefined {
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, "utf8")) as IntakeResult;
}

/** The import table's comparison with an earlier run: before and after records/s, and their ratio. */
function beforeAfterRows(r: IntakeResult): Array<Array<string | number>> {
  const dialectName = (d: string) => (d === "sqlite" ? "SQLite" : "PostgreSQL");
  return r.imports.flatMap((now) => {
    const then = r.before?.imports.find((b) => b.dialect === now.dialect && b.pipeline === now.pipeline);
    if (!then || now.pipeline === "baseline") return [];
    return [
      [
        dialectName(now.dialect),
        now.pipeline === "chosen" ? "chosen" : "importCases",
        fmt(then.recordsPerSecond),
        `**${fmt(now.recordsPerSecond)}**`,
        `${fmt(now.recordsPerSecond / then.recordsPerSecond, 1)}×`,
      ],
    ];
  });
}

function render(r: IntakeResult): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `Measured ${m.date.slice(0, 10)} on ${m.cpus} cores (${m.cpuModel}), Node ${m.node}, ${r.quick ? "quick run" : "full run"} ` +
      `in ${fmt(r.totalSeconds ?? 0)} s; load average (1, 5, 15 min) ${r.loadAverage.start.join(" / ")} at the start, ` +
      `${(r.loadAverage.end ?? []).join(" / ")} at the end (other work shares this machine). Raw data: \`bench/results/intake.json\`.` +
      (r.carriedOver
        ? ` This run measured ${r.carriedOver.parts.includes("bulk import") ? "the HTTP intake and anchoring only (\`RELIEF_BENCH_ONLY=http\`)" : "the imports only (\`RELIEF_BENCH_ONLY=import\`)"}; the ${r.carriedOver.parts.join(" and ")} ` +
          `figures are those measured ${r.carriedOver.measured.slice(0, 16).replace("T", " ")} UTC.`
        : ""),
    "",
    "### Bulk import: sealed and stored records per second",
    "",
    "Each household is four records (identity, household, payment, application manifest) with 24 wrapped data keys " +
      "(6 a record on average) and an outbox entry each, stored in transactions of 500 households, each table's rows " +
      "in multi-row INSERTs of up to 512 rows (`storeSealedMany`; `importCases` also `putCases` and `appendAudits`). " +
      "The sm-crypto-only " +
      "baseline writes the same envelope format (it opens with `openData`) and SM2-encrypts every data key to each " +
      `holder: it is capped at ${fmt(r.sizes.baseline)} households (24 SM2 encryptions each); rates are per record. ` +
      "records/CPU-s divides by this process's CPU time (its GC threads included) instead of wall time: roughly the " +
      "rate on a core of its own, with the machine's other load taken out (SQLite only: PostgreSQL works in its own " +
      "processes).",
    "",
    table(
      [
        "store",
        "pipeline",
        "households",
        "records",
        "wrapped keys",
        "wall (s)",
        "records/s",
        "records/CPU-s",
        "seal µs/record",
        "store µs/record",
      ],
      importRows(r.imports),
    ),
    "",
  );
  for (const [dialect, ratio] of Object.entries(r.ratios)) {
    if (ratio !== undefined) lines.push(`- ${dialect}: chosen vs sm-crypto-only: **${fmt(ratio)}×** records/s.`);
  }
  if (r.sealingSteps) {
    const steps = r.sealingSteps.filter((st) => st.perRecord > 0);
    const total = steps.reduce((sum, st) => sum + st.perRecord * st.microseconds, 0);
    lines.push(
      `- Sealing one record with the production primitives (micro-benchmarks, one core): ${steps
        .map((st) => `${st.perRecord > 1 ? `${st.perRecord} × ` : ""}${st.step} ${fmt(st.microseconds, 1)} µs`)
        .join(", ")}: **${fmt(total)} µs** a record before JSON, headers, grants and garbage collection; ` +
        `${r.sealingSteps
          .filter((st) => st.perRecord === 0)
          .map((st) => `${st.step} ${fmt(st.microseconds, 1)} µs`)
          .join("; ")}.`,
    );
  }
  const against = (dialect: string) => {
    const chosen = r.imports.find((i) => i.dialect === dialect && i.pipeline === "chosen");
    const csv = r.imports.find((i) => i.dialect === dialect && i.pipeline === "import-csv");
    const parts = [chosen && ["the chosen pipeline", chosen], csv && ["the whole CSV import `importCases`", csv]]
      .filter((part): part is [string, ImportRun] => part !== undefined)
      .map(([what, run]) => {
        const v = verdict(run.recordsPerSecond, TARGETS.importRecordsPerSecond, true);
        return `${what} ${fmt(run.recordsPerSecond)} (${v})`;
      });
    return parts.length === 0 ? undefined : `${dialect === "sqlite" ? "SQLite" : "PostgreSQL"}: ${parts.join(", ")}`;
  };
  const verdicts = ["sqlite", "postgres"].map(against).filter((v) => v !== undefined);
  if (verdicts.length > 0) {
    lines.push(
      `- Target: at least ${fmt(TARGETS.importRecordsPerSecond)} sealed and stored records/s — ${verdicts.join("; ")}.`,
    );
  }
  const perTransaction = (rows: number, params: number) => statementSizes(rows, params, "postgres").length;
  const households = HOUSEHOLDS_PER_TRANSACTION;
  const statements =
    perTransaction(households * 4, 8) +
    perTransaction(households * 24, 5) +
    perTransaction(households * 4, 1) +
    perTransaction(households, 9) +
    perTransaction(households, 6);
  lines.push(
    `- Round trips: a transaction of ${fmt(households)} households is ${fmt(statements)} multi-row statements ` +
      `(records, wrapped keys, outbox entries, and for \`importCases\` case index and audit entries) instead of ` +
      `${fmt(households * (4 + 24 + 4 + 1 + 1))}, one a row as \`storeSealed\` writes them (8.5 a record). On ` +
      "PostgreSQL each round trip costs ~250 µs of wall time on this machine; on SQLite (in-process) a statement costs " +
      "CPU only, so batching gains less there.",
    "- The chosen pipeline seals a transaction's households, then stores them (seal and store µs/record add up). " +
      "`importCases` seals each chunk while the one before is being stored (PostgreSQL works in its own process " +
      "meanwhile), and also parses and checks the CSV (one `listCasesOfPseudonyms` for the file's exclusion check). " +
      "It runs on a gateway whose case submitter (every 3 s) starts putting the first chunks' cases on chain during " +
      "the import: that work (signing, anvil) shares the two cores with it and is part of its wall time.",
  );
  lines.push("");
  const compared = beforeAfterRows(r);
  if (r.before && compared.length > 0) {
    lines.push(
      `Against the run of ${r.before.measured.slice(0, 16).replace("T", " ")} UTC (\`${r.before.file}\`), which ` +
        "stored one row a statement:",
      "",
      table(["store", "pipeline", "records/s before", "records/s now", "now / before"], compared),
      "",
    );
  }

  lines.push("### HTTP intake: `POST /v1/cases`", "");
  const http = r.http;
  if (!http || http.skipped || !http.open || !http.closed) {
    lines.push(`Not measured: ${http?.skipped ?? "the gateway did not start"}.`, "");
  } else {
    const row = (label: string, p: HttpPhase) => [
      label,
      fmt(p.client.requests),
      fmt(p.client.throughput, 1),
      fmt(p.client.latency.p50, 1),
      fmt(p.client.latency.p90, 1),
      fmt(p.client.latency.p99, 1),
      fmt(p.client.latency.max, 1),
      fmt(p.client.errors),
      Object.entries(p.client.byStatus)
        .map(([s, n]) => `${s}: ${fmt(n)}`)
        .join(", "),
      fmt(p.server.eventLoopUtilization * 100),
      fmt(p.server.cpuMsPerRequest, 1),
      p.server.chainSeconds === undefined ? "–" : fmt(p.server.chainSeconds, 1),
    ];
    lines.push(
      "One application a request (a distinct synthetic household, with an `Idempotency-Key`, no `Prefer: wait`), " +
        "sealed into four records and stored, answered 202 `pending-chain`; the case submitter puts the cases on " +
        "chain in the background (pipelined), and each phase lasts until every one of its cases is on chain; gateway " +
        "CPU counts until then (submissions included). The anchoring worker runs in the gateway as in " +
        `production (every ${fmt(http.anchoringWorker.intervalMs / 1000)} s, batches of ${fmt(http.anchoringWorker.batchSize)}). ` +
        "The client is a separate process on the same machine, over keep-alive connections to 127.0.0.1. Open-loop " +
        "latency counts from each request's scheduled send time.",
      "",
      table(
        [
          "load",
          "requests",
          "completed/s",
          "p50 (ms)",
          "p90 (ms)",
          "p99 (ms)",
          "max (ms)",
          "errors",
          "statuses",
          "gateway event loop busy (%)",
          "gateway CPU ms/request",
          "last case on chain after the phase (s)",
        ],
        [
          row(`open loop, ${fmt(OPEN_RATE)} requests/s for ${fmt(r.sizes.openSeconds)} s`, http.open),
          row(`closed loop, concurrency ${fmt(CONCURRENCY)} for ${fmt(r.sizes.closedSeconds)} s`, http.closed),
        ],
      ),
      "",
      "Latency percentiles count every request, one that failed or timed out (after 60 s) at the time it failed. " +
        (http.open.server.drainSeconds > 1
          ? `After the open loop the gateway went on for ${fmt(http.open.server.drainSeconds)} s with requests whose clients had given up. `
          : ""),
      "",
      `- Target: p99 at most ${TARGETS.p99Ms} ms at ${OPEN_RATE} requests/s — measured ${fmt(http.open.client.latency.p99, 1)} ms ` +
        `(${verdict(http.open.client.latency.p99, TARGETS.p99Ms, false)}).`,
      "",
    );
    const prof = http.profile;
    if (prof) {
      lines.push(
        `Where a request's time goes: ${fmt(prof.requests)} sequential requests (concurrency 1) with the gateway's store ` +
          `and ledger calls timed (not part of the figures above): p50 ${fmt(prof.latency.p50, 1)} ms, p99 ` +
          `${fmt(prof.latency.p99, 1)} ms, ${fmt(prof.cpuMsPerRequest, 1)} ms of gateway CPU a request. Calls taking ` +
          "0.5 ms or more a request (wall time inside the call, its waits for the chain or the SQLite queue included):",
        "",
        table(
          ["call", "calls a request", "ms a request"],
          prof.calls
            .filter((c) => c.msPerRequest >= 0.5)
            .map((c) => [`\`${c.call}\``, fmt(c.callsPerRequest, 1), fmt(c.msPerRequest, 1)]),
        ),
        "",
      );
    }
  }

  lines.push("### Anchoring through the worker: records per anchor transaction and gas per record", "");
  if (!r.anchoring) lines.push("Not measured.", "");
  else {
    lines.push(
      "One round of the production `AnchoringWorker` per batch size (claim, Merkle tree, `beginAnchor`, " +
        "`AnchorLog.anchor` on anvil, `confirmAnchor`) over records sealed and stored by the production path; gas from " +
        "the transaction receipt; one random record's inclusion proof verified on chain per batch. The contract-level " +
        "figures (Hardhat in-process, up to 100,000 records) are in the gas section above.",
      "",
      table(
        [
          "worker batch size",
          "records per anchor tx",
          "anchor tx gas",
          "gas per record",
          "round wall (ms)",
          "records anchored/s",
        ],
        r.anchoring.rows.map((a) => [
          fmt(a.batchSize),
          fmt(a.recordsPerAnchorTx),
          fmt(a.gasUsed),
          fmt(a.gasPerRecord, 2),
          fmt(a.roundMs),
          fmt(a.recordsPerSecond),
        ]),
      ),
      "",
    );
  }
  for (const [name, message] of Object.entries(r.failures)) lines.push(`**${name} failed:** ${message}`, "");
  return lines.join("\n");
}

async function main() {
  const started = performance.now();
  const result: IntakeResult = {
    machine: machine(),
    quick: QUICK,
    loadAverage: { start: load() },
    sizes: { ...SIZES, openRate: OPEN_RATE, concurrency: CONCURRENCY, householdsPerTransaction: 500 },
    targets: TARGETS,
    imports: [],
    ratios: {},
    failures: {},
  };
  const previous = readResults(RESULTS_FILE);
  const beforeFile = process.env.RELIEF_BENCH_BEFORE || undefined;
  const before = beforeFile ? readResults(beforeFile) : previous;
  if (beforeFile && !before) throw new Error(`RELIEF_BENCH_BEFORE: no file ${beforeFile}`);
  if (before) {
    result.before = {
      measured: before.machine.date,
      file: beforeFile ? path.basename(beforeFile) : "bench/results/intake.json",
      imports: before.imports.map(({ dialect, pipeline, recordsPerSecond }) => ({
        dialect,
        pipeline,
        recordsPerSecond,
      })),
    };
  }
  if (IMPORT_ONLY) {
    if (!previous) throw new Error("RELIEF_BENCH_ONLY=import carries HTTP and anchoring over: no previous results");
    // Carried over as they were measured (themselves possibly carried over from an earlier run).
    result.http = previous.http;
    result.anchoring = previous.anchoring;
    // Their sizes too, so that their tables are labelled as they were measured (a quick run's 5 s, say).
    const { openSeconds, closedSeconds, profileRequests, anchorBatches } = previous.sizes;
    Object.assign(result.sizes, { openSeconds, closedSeconds, profileRequests, anchorBatches });
    result.carriedOver = {
      parts: ["HTTP intake", "anchoring"],
      measured: measuredAt(previous, "HTTP intake"),
    };
  }
  if (HTTP_ONLY) {
    if (!previous) throw new Error("RELIEF_BENCH_ONLY=http carries the imports over: no previous results");
    result.imports = previous.imports;
    result.ratios = previous.ratios;
    result.sealingSteps = previous.sealingSteps;
    result.before = previous.before;
    result.carriedOver = { parts: ["bulk import"], measured: measuredAt(previous, "bulk import") };
  }
  const households = new HouseholdGenerator(42);
  /** Runs one part; a failure is recorded (and the run goes on with the other parts, then exits non-zero). */
  const part = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      console.error(`${name} failed:`, error);
      result.failures[name] = String((error as Error)?.message ?? error).slice(0, 500);
    }
  };

  if (!HTTP_ONLY) console.log("bulk import…");
  if (!HTTP_ONLY) {
    await part(
      "bulk import (SQLite)",
      async () => void result.imports.push(...(await benchImports("sqlite", households))),
    );
  }
  if (DATABASE_URL && !HTTP_ONLY) {
    await part("bulk import (PostgreSQL)", async () => {
      result.imports.push(...(await benchImports("postgres", households)));
    });
  } else console.log("  (PostgreSQL skipped: DATABASE_URL is not set)");
  if (!HTTP_ONLY) result.sealingSteps = sealingProfile(QUICK ? 100 : 300);

  console.log("gateway (anvil, contracts, SQLite, local consortium)…");
  // The gateway opens PostgreSQL whenever DATABASE_URL is set (openStore reads the environment): hide it for the
  // SQLite gateway, show it to the PostgreSQL one only.
  delete process.env.DATABASE_URL;
  await part("gateway (SQLite)", async () => {
    const tg = await startTestGateway({ anchoring: !IMPORT_ONLY, anchorIntervalMs: 5_000 });
    try {
      if (tg.gateway.ctx.store.dialect !== "sqlite") throw new Error("the gateway did not open SQLite");
      if (!IMPORT_ONLY) {
        console.log("HTTP intake…");
        await part("HTTP intake", async () => void (result.http = await benchHttp(tg)));
        console.log("anchoring through the worker…");
        await tg.gateway.ctx.anchoring?.stop();
        await part("anchoring", async () => {
          result.anchoring = await benchWorkerAnchoring(tg.gateway.ctx, households, SIZES.anchorBatches);
        });
      }
      if (!HTTP_ONLY) {
        console.log("whole CSV import…");
        await part("CSV import (SQLite)", async () => void result.imports.push(await benchCsvImport(tg, households)));
      }
    } finally {
      await tg.close();
    }
  });
  if (DATABASE_URL && !HTTP_ONLY) {
    await part("CSV import (PostgreSQL)", async () => {
      process.env.DATABASE_URL = DATABASE_URL;
      const pg = await startTestGateway({ backend: "postgres", anchoring: false });
      delete process.env.DATABASE_URL;
      try {
        result.imports.push(await benchCsvImport(pg, households));
      } finally {
        await pg.close();
      }
    });
  }

  for (const dialect of HTTP_ONLY ? [] : ["sqlite", "postgres"]) {
    const ratio = ratioOf(result.imports, dialect);
    if (ratio !== undefined) result.ratios[dialect === "sqlite" ? "SQLite" : "PostgreSQL"] = ratio;
  }
  result.loadAverage.end = load();
  result.totalSeconds = (performance.now() - started) / 1000;
  const file = writeJson("intake", result);
  console.log(`wrote ${file}`);
  const md = render(result);
  writeSection("intake", md);
  console.log(md);
  if (Object.keys(result.failures).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
