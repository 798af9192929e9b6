/**
 * One month in one county, through the API only, as the institutions of the local consortium would live it
 * (gateway/src/seed/local.ts: 朝陽區 110105, township 建外街道 110105001000, 城市低保 programme 1): the budget from central
 * finance down to the county's pool, applications (a CSV import and individual applications), the township's review,
 * the public notice with a few objections, the county's approvals and rejections, the automatic payout run, the
 * bank's settlement with a few failures (paid again by the next run), receipts and a few disputes from beneficiaries
 * signed in with their notice codes, and the auditor's closing sweep. Every household is synthetic.
 *
 * The 7-day notice needs chain time to pass: on the development chain (anvil, chain id 31337) the demo moves the
 * chain's clock with `evm_increaseTime` / `evm_mine`, as the README's walk-through does; on any other chain it stops.
 */
import { randomBytes } from "node:crypto";
import { ApiCallError, type ApiClient, pool, rpc } from "./client";
import { type DemoHousehold, SYNTHETIC_MARK, demoCsv, demoHouseholds } from "./households";

export type Keys = Record<
  | "centralFinance"
  | "provinceFinance"
  | "cityFinance"
  | "countyFinance"
  | "countyApprover"
  | "caseworker"
  | "bank"
  | "auditor",
  string
>;

export interface MonthOptions {
  api: ApiClient;
  rpcUrl: string;
  keys: Keys;
  households: number;
  /** Calls in flight at once where the API takes them concurrently. */
  concurrency?: number;
  log?: (line: string) => void;
}

const PROGRAMME = 1;
const COUNTY = "110105";
const NOTICE_SKIP_SECONDS = 7 * 24 * 3600 + 300;
const DEV_CHAIN_ID = 31337;

interface Payout {
  payoutId: string;
  caseId: string;
  amount: string;
  status: string;
  period: string;
  runId: string | null;
}

interface RunView {
  runId: string;
  status: string;
  period: string;
  paid: number;
  skipped: number;
  total: string;
  errorCode: string | null;
  result: { skipped: Record<string, number>; transactionCount: number };
}

export interface DemoSummary {
  synthetic: true;
  runTag: string;
  period: string;
  households: { total: number; members: number; viaCsv: number; viaPost: number; eligible: number };
  budget: { appropriatedFen: string; poolFundedFen: string };
  cases: {
    submitted: number;
    reviewFailed: number;
    objections: { raised: number; upheld: number; dismissed: number };
    approved: number;
    rejectedIncome: number;
    approvedAmountFen: string;
  };
  payoutRun: {
    runId: string;
    paid: number;
    paidFen: string;
    paidOfThisDemo: number;
    skipped: Record<string, number>;
    transactions: number;
  };
  settlement: { settled: number; failed: number; failedFen: string; failedPayoutIds: string[] };
  repayRun: { runId: string; paid: number; paidFen: string; settled: number };
  receipts: {
    sampled: number;
    confirmed: number;
    disputed: number;
    disputesResolved: number;
    confirmedPayoutIds: string[];
    disputedPayoutIds: string[];
  };
  sweep: {
    sweepId: string;
    verdict: { clean: boolean; errors: number; warnings: number };
    exceptionCounts: Record<string, number>;
    conservationHolds: boolean;
  };
  caseIds: string[];
  seconds: number;
}

/** `count` of `items`, evenly spread (the first at a third of a step in). */
function spread<T>(items: readonly T[], count: number): T[] {
  const n = Math.min(count, items.length);
  const step = items.length / Math.max(n, 1);
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step + step / 3)]);
}

const sum = (items: { amount: string }[]) => items.reduce((s, p) => s + BigInt(p.amount), 0n);

/** Runs the month; returns its summary. */
export async function simulateMonth(options: MonthOptions): Promise<DemoSummary> {
  const { api, keys, rpcUrl } = options;
  const log = options.log ?? (() => undefined);
  const concurrency = options.concurrency ?? 8;
  const started = Date.now();
  const runTag = randomBytes(3).toString("hex").toUpperCase();

  const chainId = Number(await rpc(rpcUrl, "eth_chainId"));
  if (chainId !== DEV_CHAIN_ID) {
    throw new Error(
      `the chain at ${rpcUrl} is chain ${chainId}, not the development chain (${DEV_CHAIN_ID}): the demo moves the ` +
        "chain's clock past the 7-day notice, which only a development chain allows",
    );
  }

  // ---- Households and the month's forecast ----
  const programme = await api.json<{ amount: string; kind: string }>(
    keys.caseworker,
    "GET",
    `/programmes/${PROGRAMME}`,
  );
  const standard = BigInt(programme.amount);
  const households = demoHouseholds(options.households, standard, runTag);
  const forecast = households.reduce((s, h) => s + h.amount, 0n);
  log(
    `${households.length} synthetic households (${SYNTHETIC_MARK}), standard ${Number(standard) / 100} yuan a head; ` +
      `forecast ${Number(forecast) / 100} yuan`,
  );

  // ---- Budget: central → province → city → county → the programme's pool ----
  // Twice the forecast, in whole 10,000 yuan: the earlier months' cases are paid from the same pool.
  const budget = ((forecast * 2n) / 1_000_000n + 1n) * 1_000_000n;
  const ref = (what: string) => `${what} (synthetic demo ${runTag})`;
  await api.json(keys.centralFinance, "POST", "/budget/appropriations", {
    body: { amount: Number(budget), reference: ref("central transfer 民發〔2026〕demo") },
  });
  for (const [key, toRegion] of [
    [keys.centralFinance, "110000"],
    [keys.provinceFinance, "110100"],
    [keys.cityFinance, COUNTY],
  ] as const) {
    await api.json(key, "POST", "/budget/allocations", {
      body: { toRegion, amount: Number(budget), reference: ref(`to ${toRegion}`) },
    });
  }
  await api.json(keys.countyFinance, "POST", `/budget/programmes/${PROGRAMME}/funding`, {
    body: { amount: Number(budget), reference: ref("urban dibao pool") },
  });
  log(`budget ${Number(budget) / 100} yuan allocated central → 110000 → 110100 → ${COUNTY} and funded to programme 1`);

  // ---- Applications: two thirds in one CSV import, the rest one by one ----
  const csvPart = households.slice(0, Math.ceil((households.length * 2) / 3));
  const postPart = households.slice(csvPart.length);
  let imported = csvPart;
  for (let attempt = 0; imported.length > 0; attempt++) {
    try {
      const out = await api.json<{ caseIds: string[] }>(keys.caseworker, "POST", "/cases/import", {
        csv: demoCsv(imported),
      });
      out.caseIds.forEach((caseId, i) => Object.assign(imported[i], { caseId, via: "csv" }));
      break;
    } catch (error) {
      // A synthetic applicant may already be enrolled from an earlier demo run: leave those households out.
      const rows =
        error instanceof ApiCallError
          ? (error.body as { rows?: { householdRef?: string; code: string }[] }).rows
          : undefined;
      const taken = new Set((rows ?? []).filter((r) => r.code === "ACTIVE_CASE_EXISTS").map((r) => r.householdRef));
      if (attempt > 2 || taken.size === 0 || taken.size !== rows?.length) throw error;
      imported = imported.filter((h) => !taken.has(h.ref));
    }
  }
  await pool(postPart, concurrency, async (h) => {
    try {
      const out = await api.json<{ caseId: string }>(keys.caseworker, "POST", "/cases", {
        body: h.input,
        headers: { "idempotency-key": `demo-${h.ref}` },
      });
      h.caseId = out.caseId;
    } catch (error) {
      if (!(error instanceof ApiCallError && error.code === "CONFLICT")) throw error;
    }
  });
  const cases = households.filter((h): h is DemoHousehold & { caseId: string } => h.caseId !== undefined);
  log(`${cases.length} applications: ${imported.length} by CSV import, ${cases.length - imported.length} one by one`);
  await api.until("the cases to go on chain", async () => {
    const page = await api.json<{ cases: unknown[] }>(keys.caseworker, "GET", "/cases?status=pending-chain&limit=1");
    return page.cases.length === 0 ? true : undefined;
  });

  // ---- Review: most pass (the notice starts), a few fail ----
  const reviewFails = new Set(spread(cases, Math.max(1, Math.round(cases.length / 35))).map((h) => h.caseId));
  await pool(cases, concurrency, (h) =>
    api.json(keys.caseworker, "POST", `/cases/${h.caseId}/review`, {
      body: reviewFails.has(h.caseId)
        ? { passed: false, reason: "household check: the household register does not match (synthetic)" }
        : { passed: true, reason: "household check done (synthetic)" },
    }),
  );
  const inNotice = cases.filter((h) => !reviewFails.has(h.caseId));

  // ---- Public notice: a few objections, resolved by the county (upheld ones reject the case) ----
  const objected = spread(inNotice, Math.max(2, Math.round(inNotice.length / 40)));
  const upheld = new Set<string>();
  await pool(objected, concurrency, async (h, i) => {
    const raised = await api.json<{ objectionDigest: string }>(
      keys.caseworker,
      "POST",
      `/cases/${h.caseId}/objections`,
      {
        body: { reason: "a neighbour reports an undeclared income (synthetic)" },
      },
    );
    const uphold = i % 2 === 0;
    if (uphold) upheld.add(h.caseId);
    await api.json(keys.countyApprover, "POST", `/cases/${h.caseId}/objections/resolve`, {
      body: {
        objectionDigest: raised.objectionDigest,
        upheld: uphold,
        reason: uphold ? "verified: undeclared wages (synthetic)" : "checked: no undeclared income (synthetic)",
      },
    });
  });
  log(
    `reviews: ${inNotice.length} passed, ${reviewFails.size} failed; objections ${objected.length}, upheld ${upheld.size}`,
  );

  // The notice runs for 7 days: on the development chain, move its clock.
  await rpc(rpcUrl, "evm_increaseTime", [NOTICE_SKIP_SECONDS]);
  await rpc(rpcUrl, "evm_mine");

  // ---- Approval of the eligible, rejection of the others ----
  const decided = inNotice.filter((h) => !upheld.has(h.caseId));
  const approvedAmounts = await pool(decided, concurrency, async (h) => {
    if (!h.eligible) {
      await api.json(keys.countyApprover, "POST", `/cases/${h.caseId}/reject`, {
        body: {
          reason: `income per head at or above the local standard of ${Number(standard) / 100} yuan (synthetic)`,
        },
      });
      return undefined;
    }
    const out = await api.json<{ amount: string }>(keys.countyApprover, "POST", `/cases/${h.caseId}/approve`, {
      body: {},
    });
    if (BigInt(out.amount) !== h.amount)
      throw new Error(`approved amount ${out.amount}, the gap rule gives ${h.amount}`);
    return BigInt(out.amount);
  });
  const approved = approvedAmounts.filter((a): a is bigint => a !== undefined);
  log(`approved ${approved.length}, rejected ${decided.length - approved.length} (income above the standard)`);

  // ---- The automatic payout run ----
  const ours = new Set(cases.map((h) => h.caseId));
  const run = await payoutRun(api, keys, `demo-${runTag}-run`);
  const paid = await api.all<Payout>(keys.bank, `/payouts?runId=${run.runId}`, "payouts", (p) => p.payoutId);
  log(
    `payout run ${run.runId}: ${run.paid} paid, ${Number(run.total) / 100} yuan, ${run.result.transactionCount} transactions`,
  );

  // ---- Settlement: the bank pays all but a few (closed accounts), which go back to the pool ----
  const oursPaid = paid.filter((p) => ours.has(p.caseId));
  const failing = new Set(spread(oursPaid, Math.max(2, Math.round(oursPaid.length / 50))).map((p) => p.payoutId));
  const settlement = await settle(api, keys, paid, failing, runTag);
  log(`settlement: ${settlement.settled} settled, ${settlement.failed} failed`);

  // ---- The next run pays the failed ones again; the bank settles them ----
  const repay = await payoutRun(api, keys, `demo-${runTag}-repay`);
  // A payout paid again keeps its id (and its first run's runId): the bank looks the failed ones up again.
  const repaid = (
    await pool([...failing], concurrency, (id) => api.json<Payout>(keys.bank, "GET", `/payouts/${id}`))
  ).filter((p) => p.status === "paid");
  const resettled = await settle(api, keys, repaid, new Set(), `${runTag}R`);
  log(`repay run ${repay.runId}: ${repay.paid} paid again, ${resettled.settled} settled`);

  // ---- Receipts: a sample of beneficiaries sign in with their notice code; a few report non-receipt ----
  const byCase = new Map(cases.map((h) => [h.caseId, h]));
  const receivable = oursPaid.filter((p) => !failing.has(p.payoutId));
  // At most 10: the gateway takes 20 sign-ins a minute from one address.
  const sample = spread(receivable, Math.min(10, Math.max(4, Math.round(receivable.length / 25))));
  const disputes = new Set(sample.filter((_, i) => i % 4 === 1).map((p) => p.payoutId));
  await pool(sample, 4, async (p) => {
    const h = byCase.get(p.caseId)!;
    const { code } = await api.json<{ code: string }>(keys.caseworker, "POST", `/cases/${p.caseId}/notice-code`);
    const { token } = await api.json<{ token: string }>(undefined, "POST", "/beneficiary/sessions", {
      body: { residentId: h.input.applicant.residentId, code },
    });
    const { payments } = await api.json<{ payments: { payoutId: string }[] }>(token, "GET", "/beneficiary/payments");
    if (!payments.some((x) => x.payoutId === p.payoutId)) throw new Error("the beneficiary does not see the payment");
    if (disputes.has(p.payoutId)) {
      await api.json(token, "POST", `/beneficiary/payments/${p.payoutId}/not-received`, {
        body: { reason: "nothing arrived on my account (synthetic)" },
      });
    } else await api.json(token, "POST", `/beneficiary/payments/${p.payoutId}/confirm`, { body: {} });
    await api.call(token, "DELETE", "/beneficiary/sessions/current");
  });
  // The county answers each dispute with the bank's proof of payment.
  await pool([...disputes], concurrency, (payoutId) =>
    api.json(keys.countyApprover, "POST", `/disputes/${payoutId}/resolve`, {
      body: { outcome: "payment-proven", resolution: "bank statement shows the credit (synthetic)" },
    }),
  );
  log(`receipts: ${sample.length - disputes.size} confirmed, ${disputes.size} disputed and resolved`);

  // ---- The auditor's closing sweep ----
  const { sweepId } = await api.json<{ sweepId: string }>(keys.auditor, "POST", "/audit/sweeps", { body: {} });
  const sweep = await api.until(
    "the audit sweep",
    async () => {
      const s = await api.json<{
        status: string;
        error: string | null;
        summary: Omit<DemoSummary["sweep"], "sweepId"> | null;
      }>(keys.auditor, "GET", `/audit/sweeps/${sweepId}`);
      if (s.status === "failed") throw new Error(`the sweep failed: ${s.error}`);
      return s.status === "done" ? s.summary! : undefined;
    },
    600_000,
  );
  log(
    `sweep ${sweepId}: ${sweep.verdict.clean ? "clean" : `${sweep.verdict.errors} errors, ${sweep.verdict.warnings} warnings`}`,
  );

  return {
    synthetic: true,
    runTag,
    period: run.period,
    households: {
      total: households.length,
      members: households.reduce((s, h) => s + h.input.household.members.length, 0),
      viaCsv: imported.length,
      viaPost: cases.length - imported.length,
      eligible: households.filter((h) => h.eligible).length,
    },
    budget: { appropriatedFen: String(budget), poolFundedFen: String(budget) },
    cases: {
      submitted: cases.length,
      reviewFailed: reviewFails.size,
      objections: { raised: objected.length, upheld: upheld.size, dismissed: objected.length - upheld.size },
      approved: approved.length,
      rejectedIncome: decided.length - approved.length,
      approvedAmountFen: String(approved.reduce((s, a) => s + a, 0n)),
    },
    payoutRun: {
      runId: run.runId,
      paid: run.paid,
      paidFen: run.total,
      paidOfThisDemo: oursPaid.length,
      skipped: run.result.skipped,
      transactions: run.result.transactionCount,
    },
    settlement: {
      settled: settlement.settled,
      failed: settlement.failed,
      failedFen: String(sum(paid.filter((p) => failing.has(p.payoutId)))),
      failedPayoutIds: [...failing],
    },
    repayRun: { runId: repay.runId, paid: repay.paid, paidFen: repay.total, settled: resettled.settled },
    receipts: {
      sampled: sample.length,
      confirmed: sample.length - disputes.size,
      disputed: disputes.size,
      disputesResolved: disputes.size,
      confirmedPayoutIds: sample.map((p) => p.payoutId).filter((id) => !disputes.has(id)),
      disputedPayoutIds: [...disputes],
    },
    sweep: { sweepId, ...sweep },
    caseIds: cases.map((h) => h.caseId),
    seconds: (Date.now() - started) / 1000,
  };
}

/** Starts this month's run of programme 1 (county finance) and waits for it to complete. */
async function payoutRun(api: ApiClient, keys: Keys, idempotencyKey: string): Promise<RunView> {
  const { runId } = await api.json<{ runId: string }>(keys.countyFinance, "POST", "/payout-runs", {
    body: { programmeId: PROGRAMME },
    headers: { "idempotency-key": idempotencyKey },
  });
  return api.until(`payout run ${runId}`, async () => {
    const run = await api.json<RunView>(keys.countyFinance, "GET", `/payout-runs/${runId}`);
    if (run.status === "failed") throw new Error(`payout run ${runId} failed: ${run.errorCode}`);
    return run.status === "completed" ? run : undefined;
  });
}

/** The bank's settlement report for `payouts`: `failing` ones failed (account closed), the others settled. */
async function settle(api: ApiClient, keys: Keys, payouts: Payout[], failing: Set<string>, tag: string) {
  if (payouts.length === 0) return { settled: 0, failed: 0 };
  const lines = ["payout_id,bank_reference,outcome,reason"];
  payouts.forEach((p, i) =>
    lines.push(
      failing.has(p.payoutId)
        ? `${p.payoutId},,failed,account closed (synthetic)`
        : `${p.payoutId},SYN-${tag}-${String(i + 1).padStart(6, "0")},settled,`,
    ),
  );
  return api.json<{ settled: number; failed: number }>(keys.bank, "POST", "/settlements", {
    csv: lines.join("\n") + "\n",
  });
}
