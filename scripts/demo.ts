/**
 * `npm run demo`: one month of 城市低保 in one county, on synthetic households, through the API only (scripts/demo/).
 *
 * It uses the `npm start` that is running (the gateway at RELIEF_GATEWAY_PORT, default 8080, with the local
 * institutions' keys in <RELIEF_DATA_DIR>/api-keys.env, written on the first start); when none answers, it starts the
 * product itself in this process (scripts/start.ts, same folders and settings) and stops it afterwards. It can run
 * again and again on the same gateway: every run enrols new synthetic people and moves the development chain's clock
 * a week on.
 *
 * Settings: RELIEF_DEMO_HOUSEHOLDS (300), RELIEF_DEMO_CONCURRENCY (8), RELIEF_DEMO_SUMMARY (a file for the summary as
 * JSON), and those of `npm start` (RELIEF_GATEWAY_PORT, RELIEF_CHAIN_PORT or RELIEF_RPC_URL, RELIEF_DATA_DIR).
 */
// First: zod gets .openapi() before any gateway schema is built (cases/application.ts relies on it).
import "../gateway/src/http/openapi";
import fs from "node:fs";
import path from "node:path";
import { loadGatewayConfig } from "../gateway/src/config";
import { ApiClient } from "./demo/client";
import { type DemoSummary, type Keys, simulateMonth } from "./demo/month";
import { SYNTHETIC_MARK } from "./demo/households";

const KEY_NAMES: Record<keyof Keys, string> = {
  centralFinance: "RELIEF_KEY_CENTRAL_FINANCE",
  provinceFinance: "RELIEF_KEY_PROVINCE_FINANCE",
  cityFinance: "RELIEF_KEY_CITY_FINANCE",
  countyFinance: "RELIEF_KEY_COUNTY_FINANCE",
  countyApprover: "RELIEF_KEY_COUNTY_APPROVER",
  caseworker: "RELIEF_KEY_TOWNSHIP_CASEWORKER",
  bank: "RELIEF_KEY_COUNTY_BANK",
  auditor: "RELIEF_KEY_COUNTY_AUDITOR",
};

/** The keys from `api-keys.env` (`export NAME=value` lines). */
export function readKeys(file: string): Keys {
  if (!fs.existsSync(file)) {
    throw new Error(`no ${file}: the demo needs the local consortium that the first \`npm start\` registers`);
  }
  const values = new Map<string, string>();
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^export ([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) values.set(m[1], m[2]);
  }
  const keys = {} as Keys;
  for (const [field, name] of Object.entries(KEY_NAMES) as [keyof Keys, string][]) {
    const value = values.get(name);
    if (!value) throw new Error(`${file} has no ${name}`);
    keys[field] = value;
  }
  return keys;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).ok;
  } catch {
    return false;
  }
}

const yuan = (fen: string | bigint) =>
  (Number(fen) / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Pages of the gateway worth opening: those of the list this gateway serves (asked, not assumed). */
async function pages(url: string, sweepId: string): Promise<string[]> {
  const candidates: [string, string][] = [
    ["/web/", "all pages"],
    ["/web/beneficiary", "beneficiary page"],
    ["/web/auditor", "auditor page"],
    ["/web/finance", "finance page"],
    ["/docs", "interactive API docs"],
    ["/openapi.json", "OpenAPI 3 document"],
  ];
  const found: string[] = [];
  for (const [page, what] of candidates) {
    try {
      const res = await fetch(`${url}${page}`, { redirect: "manual" });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 400) found.push(`${what.padEnd(22)} ${url}${page}`);
    } catch {
      /* not there */
    }
  }
  found.push(
    `${"sweep report (auditor)".padEnd(22)} ${url}/v1/audit/sweeps/${sweepId}/report.html   (Authorization: Bearer $RELIEF_KEY_COUNTY_AUDITOR)`,
  );
  return found;
}

function printSummary(s: DemoSummary, links: string[]): void {
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(28)} ${value}`);
  console.log("");
  console.log(
    `Demo month ${s.period} in 朝陽區 (110105), 城市低保 — ALL DATA SYNTHETIC ${SYNTHETIC_MARK}, run ${s.runTag}`,
  );
  line(
    "households",
    `${s.households.total} (${s.households.members} people), ${s.households.eligible} below the standard`,
  );
  line(
    "applications",
    `${s.cases.submitted}: ${s.households.viaCsv} by CSV import, ${s.households.viaPost} one by one`,
  );
  line("budget", `${yuan(s.budget.appropriatedFen)} yuan central → province → city → county → pool`);
  line("review", `${s.cases.submitted - s.cases.reviewFailed} passed, ${s.cases.reviewFailed} failed`);
  line(
    "public notice objections",
    `${s.cases.objections.raised}: ${s.cases.objections.upheld} upheld (rejected), ${s.cases.objections.dismissed} dismissed`,
  );
  line("approved", `${s.cases.approved}, ${yuan(s.cases.approvedAmountFen)} yuan a month`);
  line(
    "rejected",
    `${s.cases.reviewFailed + s.cases.objections.upheld + s.cases.rejectedIncome} (income above the standard: ${s.cases.rejectedIncome})`,
  );
  const skipped = Object.entries(s.payoutRun.skipped)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  line(
    "payout run",
    `${s.payoutRun.paid} paid, ${yuan(s.payoutRun.paidFen)} yuan in ${s.payoutRun.transactions} transaction(s)` +
      (s.payoutRun.paid !== s.payoutRun.paidOfThisDemo
        ? ` (${s.payoutRun.paidOfThisDemo} of this run's households)`
        : "") +
      (skipped ? `; skipped: ${skipped}` : ""),
  );
  line(
    "settlement",
    `${s.settlement.settled} settled, ${s.settlement.failed} failed at the bank (${yuan(s.settlement.failedFen)} yuan back to the pool)`,
  );
  line("next run", `${s.repayRun.paid} paid again (${yuan(s.repayRun.paidFen)} yuan), ${s.repayRun.settled} settled`);
  line(
    "receipts",
    `${s.receipts.sampled} beneficiaries signed in: ${s.receipts.confirmed} confirmed, ${s.receipts.disputed} disputes (resolved: ${s.receipts.disputesResolved})`,
  );
  line(
    "audit sweep",
    `${s.sweep.verdict.clean ? "CLEAN" : `${s.sweep.verdict.errors} errors, ${s.sweep.verdict.warnings} warnings`}` +
      `; funds conserved: ${s.sweep.conservationHolds ? "yes" : "NO"}` +
      (Object.keys(s.sweep.exceptionCounts).length
        ? ` (${Object.entries(s.sweep.exceptionCounts)
            .map(([k, n]) => `${k} ${n}`)
            .join(", ")})`
        : ""),
  );
  line("took", `${s.seconds.toFixed(1)} s`);
  console.log("");
  for (const link of links) console.log(`  ${link}`);
}

async function main(): Promise<void> {
  process.env.RELIEF_LOG_LEVEL ??= "warn";
  const config = loadGatewayConfig();
  const url = `http://127.0.0.1:${config.port}`;
  let stop: (() => Promise<void>) | undefined;
  let rpcUrl = process.env.RELIEF_RPC_URL ?? `http://127.0.0.1:${process.env.RELIEF_CHAIN_PORT ?? 8545}`;
  if (await answers(url)) console.log(`Using the running gateway at ${url}`);
  else {
    console.log(`No gateway answers at ${url}: starting the product here (as \`npm start\` would)…`);
    const { startProduct } = await import("./start");
    const product = await startProduct(config);
    rpcUrl = product.rpcUrl;
    stop = () => product.stop();
  }
  try {
    const keys = readKeys(path.join(config.dataDir, "api-keys.env"));
    const households = Number(process.env.RELIEF_DEMO_HOUSEHOLDS ?? 300);
    if (!Number.isInteger(households) || households < 10) throw new Error("RELIEF_DEMO_HOUSEHOLDS: at least 10");
    const summary = await simulateMonth({
      api: new ApiClient(url),
      rpcUrl,
      keys,
      households,
      concurrency: Number(process.env.RELIEF_DEMO_CONCURRENCY ?? 8),
      log: (l) => console.log(`  · ${l}`),
    });
    if (process.env.RELIEF_DEMO_SUMMARY)
      fs.writeFileSync(process.env.RELIEF_DEMO_SUMMARY, JSON.stringify(summary, null, 2));
    printSummary(summary, await pages(url, summary.sweep.sweepId));
  } finally {
    await stop?.();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
