/**
 * `npm run audit -- [--region CODE] [--programme ID] [--period YYYY-MM] [--out DIR] [--rpc URL] [--deployment FILE]`
 *
 * The full audit sweep (gateway/src/audit/sweep/sweep.ts) from the command line, over the gateway's own store (the
 * gateway's configuration: RELIEF_DATA_DIR, RELIEF_SQLITE_PATH or DATABASE_URL) and the chain of its deployment.
 * Read-only: it holds no chain keys and sends nothing. Progress goes to stderr (at most once a second); the report is
 * written as `sweep-<timestamp>.json` and `.html` under `--out` (default `<data dir>/reports/`, i.e.
 * `.relief/reports/`), and a summary is printed.
 *
 * Exit status: 0 no error-severity exception (warnings allowed), 1 error-severity exceptions, 2 usage error or
 * nothing could be checked (no store, no deployment, unreachable node).
 */
import fs from "node:fs";
import path from "node:path";
import { renderSweepHtml } from "../gateway/src/audit/sweep/report-html";
import { type SweepReport, runSweep } from "../gateway/src/audit/sweep/sweep";
import type { SweepProgress, SweepScope } from "../gateway/src/audit/sweep/types";
import { loadGatewayConfig } from "../gateway/src/config";
import { EvmLedger } from "../gateway/src/ledger";
import { loadDeployment } from "../gateway/src/ledger/config";
import { type Store, openStore } from "../gateway/src/store";
import { parsePeriod } from "../lib/periods";
import { isValidRegion } from "../lib/regions";
import { UsageError, readCli, rpcUrl } from "./cli";

const USAGE = `usage: npm run audit -- [--region CODE] [--programme ID] [--period YYYY-MM] [--out DIR] [--rpc URL]
                        [--deployment FILE]

  --region CODE       only this region's subtree (0 central, 6- or 12-digit division code; default everything)
  --programme ID      only this programme
  --period YYYY-MM    only this period's payouts (China time)
  --out DIR           where to write sweep-<timestamp>.json and .html (default <data dir>/reports)
  --rpc URL           the chain's JSON-RPC node (default RELIEF_RPC_URL, else http://127.0.0.1:8545)
  --deployment FILE   the deployment (default RELIEF_DEPLOYMENT_FILE, else <data dir>/deployment.json)

The store is the gateway's: RELIEF_DATA_DIR, RELIEF_SQLITE_PATH or DATABASE_URL.
exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error or nothing could be checked`;

interface Args {
  scope: SweepScope;
  out?: string;
  rpc?: string;
  deployment?: string;
}

function parseArgs(argv: readonly string[]): Args | "help" {
  const cli = readCli(argv, ["region", "programme", "period", "out", "rpc", "deployment"]);
  if (cli === "help") return cli;
  if (cli.positionals.length > 0) throw new UsageError(`unexpected argument ${cli.positionals[0]}`);
  const o = Object.fromEntries(Object.entries(cli.options).map(([name, value]) => [`--${name}`, value]));
  const scope: SweepScope = {};
  if (o["--region"] !== undefined) {
    const text = o["--region"];
    if (!/^(0|\d{6}|\d{12})$/.test(text) || !isValidRegion(BigInt(text))) {
      throw new UsageError(`--region is not a division code: ${text}`);
    }
    scope.region = BigInt(text);
  }
  if (o["--programme"] !== undefined) {
    const id = Number(o["--programme"]);
    if (!/^\d+$/.test(o["--programme"]) || id < 1 || id > 0xffff) {
      throw new UsageError(`--programme is not a programme id: ${o["--programme"]}`);
    }
    scope.programmeId = id;
  }
  if (o["--period"] !== undefined) {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(o["--period"])) throw new UsageError("--period must be YYYY-MM");
    scope.period = parsePeriod(o["--period"]);
  }
  const rpc = o["--rpc"] === undefined ? undefined : rpcUrl(o["--rpc"]);
  return { scope, out: o["--out"], rpc, deployment: o["--deployment"] };
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** Progress lines on stderr, at most one a second (and each phase's first and last). */
function progressPrinter(): (p: SweepProgress) => void {
  let last = 0;
  let phase = "";
  let phaseAt = 0;
  let phaseDone = 0;
  return (p) => {
    const now = Date.now();
    const newPhase = p.phase !== phase;
    if (newPhase) {
      phase = p.phase;
      phaseAt = now;
      phaseDone = p.done;
    }
    const complete = p.total !== undefined && p.done >= p.total;
    if (!newPhase && !complete && now - last < 1000) return;
    last = now;
    const seconds = (now - phaseAt) / 1000;
    const rate = seconds > 0 ? ` (${fmt(Math.round((p.done - phaseDone) / seconds))}/s)` : "";
    const unit = p.phase === "records" ? " records" : p.phase === "funds" ? " blocks" : "";
    const of = p.total === undefined ? "" : `/${fmt(p.total)}`;
    process.stderr.write(`audit: ${p.phase} ${fmt(p.done)}${of}${unit}${rate}\n`);
  };
}

function summary(report: SweepReport, files: string[]): string {
  const c = report.counts;
  const s = report.scope;
  const lines = [
    `sweep of region ${s.region ?? "all"}, programme ${s.programmeId ?? "all"}, period ${s.period ?? "all"} ` +
      `(chain ${report.chain.chainId}, blocks ${report.chain.fromBlock}–${report.chain.toBlock})`,
    `  records: ${fmt(c.recordsChecked)} checked, ${fmt(c.recordsAnchored)} anchored in ${fmt(c.anchors)} anchors, ` +
      `${fmt(c.recordsPending)} pending`,
    `  chain: ${fmt(c.events)} events, ${fmt(c.cases)} cases, ${fmt(c.payouts)} payouts`,
    `  conservation: ${report.conservation.holds ? "holds" : "BROKEN"} (appropriated ${report.conservation.appropriated} ` +
      `= held ${report.conservation.held} + paid out ${report.conservation.paidOut} fen)`,
  ];
  for (const [kind, n] of Object.entries(report.exceptionCounts)) lines.push(`  ${kind}: ${n}`);
  for (const x of report.exceptions.slice(0, 20)) {
    const where =
      x.recordId ?? x.payoutId ?? x.caseId ?? (x.anchorSequence !== undefined ? `anchor ${x.anchorSequence}` : "");
    lines.push(
      `  ${x.severity === "error" ? "ERROR" : "warn "} ${x.kind} ${where}${x.txHash ? ` tx ${x.txHash}` : ""}`,
    );
  }
  if (report.exceptions.length > 20) lines.push(`  … ${report.exceptions.length - 20} more in the report`);
  const v = report.verdict;
  lines.push(v.clean ? "CLEAN" : `${v.errors} errors, ${v.warnings} warnings`);
  for (const f of files) lines.push(`  wrote ${f}`);
  return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  let args: Args | "help";
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`audit: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }

  let config;
  try {
    config = loadGatewayConfig(process.env);
  } catch (error) {
    console.error(`audit: the gateway's configuration: ${(error as Error).message}`);
    return 2;
  }
  const rpcUrl =
    args.rpc ?? process.env.RELIEF_RPC_URL ?? `http://127.0.0.1:${process.env.RELIEF_CHAIN_PORT ?? "8545"}`;
  const deploymentFile = path.resolve(
    args.deployment ?? process.env.RELIEF_DEPLOYMENT_FILE ?? path.join(config.dataDir, "deployment.json"),
  );
  const outDir = path.resolve(args.out ?? path.join(config.dataDir, "reports"));

  let ledger: EvmLedger | undefined;
  let store: Store | undefined;
  try {
    let deployment;
    try {
      deployment = loadDeployment(deploymentFile);
    } catch (error) {
      console.error(`audit: ${(error as Error).message}`);
      return 2;
    }
    if (!config.databaseUrl && !fs.existsSync(config.sqlitePath)) {
      console.error(`audit: no store at ${config.sqlitePath} (set RELIEF_SQLITE_PATH or DATABASE_URL)`);
      return 2;
    }
    try {
      ledger = new EvmLedger({ rpcUrl, chainId: deployment.chainId, addresses: deployment.addresses });
      await ledger.connect();
    } catch (error) {
      console.error(`audit: cannot use the chain at ${rpcUrl}: ${(error as Error).message}`);
      return 2;
    }
    try {
      store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath }, {});
    } catch (error) {
      console.error(`audit: cannot open the store: ${(error as Error).message}`);
      return 2;
    }

    const report = await runSweep({ store, ledger, deployment, rpcUrl }, args.scope, { onProgress: progressPrinter() });
    fs.mkdirSync(outDir, { recursive: true });
    const stamp = report.finishedAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const base = path.join(outDir, `sweep-${stamp}`);
    fs.writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
    fs.writeFileSync(`${base}.html`, renderSweepHtml(report));
    console.log(summary(report, [`${base}.json`, `${base}.html`]));
    return report.verdict.errors > 0 ? 1 : 0;
  } finally {
    await store?.close().catch(() => undefined);
    await ledger?.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const e = error as { name?: string; message?: string };
    console.error(`audit: failed: ${e?.name ?? "Error"}: ${e?.message ?? String(error)}`);
    process.exit(2);
  },
);
