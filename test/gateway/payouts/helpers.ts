/**
 * Helpers of the payout API tests: funds and approved cases made directly through the gateway's ledger (as the
 * local consortium's institutions) and indexed in its store, so these tests do not depend on the cases API.
 */
import type { TestGateway } from "../api/harness";
import { type Assessment, approveCase, submitCase } from "../api/fixtures";
import { PAYOUT_RUN_STATUSES, type PayoutRunRow } from "../../../gateway/src/store";

export { fundPool, hex32, passNotice } from "../api/fixtures";

export interface CaseSpec extends Assessment {
  programmeId: number;
}

/** Submits and reviews the cases (township caseworker); approve them with {@link approveCases} after the notice. */
export async function submitCases(t: TestGateway, specs: readonly CaseSpec[]): Promise<string[]> {
  const ids: string[] = [];
  for (const spec of specs) ids.push((await submitCase(t, { programmeId: spec.programmeId })).caseId);
  return ids;
}

/** Approves submitted cases (county approver) with the programme's current rule version. */
export async function approveCases(
  t: TestGateway,
  ids: readonly string[],
  specs: readonly CaseSpec[],
): Promise<bigint[]> {
  const amounts: bigint[] = [];
  for (let i = 0; i < ids.length; i++) amounts.push(await approveCase(t, ids[i], specs[i].programmeId, specs[i]));
  return amounts;
}

/** Waits for the gateway's background work (payout runs) to finish. */
export async function settleBackground(t: TestGateway): Promise<void> {
  const bg = t.gateway.ctx.background;
  while (bg.size > 0) await Promise.allSettled([...bg]);
}

/** Every payout run in the store. */
export async function allRuns(t: TestGateway): Promise<PayoutRunRow[]> {
  const runs: PayoutRunRow[] = [];
  for (const status of PAYOUT_RUN_STATUSES) {
    runs.push(...(await t.gateway.ctx.store.listPayoutRuns({ status, limit: 1000 })));
  }
  return runs;
}

export const sum = (xs: readonly bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);
