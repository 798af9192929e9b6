/**
 * Helpers of the payout API tests: funds and approved cases made directly through the gateway's ledger (as the
 * local consortium's institutions) and indexed in its store, so these tests do not depend on the cases API.
 */
import { randomBytes } from "node:crypto";
import { DAY } from "../ledger/anvil";
import type { TestGateway } from "../api/harness";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import type { PayoutRunRow } from "../../../gateway/src/store";

export const hex32 = (): string => `0x${randomBytes(32).toString("hex")}`;

/** Appropriates `amount` at central, allocates it down to the county and funds the programme's pool with it. */
export async function fundPool(t: TestGateway, programmeId: number, amount: bigint): Promise<void> {
  const ledger = t.gateway.ctx.ledger;
  const ref = hex32();
  await ledger.appropriate("central-finance", amount, ref);
  const chain: [string, bigint, bigint][] = [
    ["central-finance", LOCAL_REGIONS.central, LOCAL_REGIONS.province],
    ["province-finance", LOCAL_REGIONS.province, LOCAL_REGIONS.city],
    ["city-finance", LOCAL_REGIONS.city, LOCAL_REGIONS.county],
  ];
  for (const [actor, fromRegion, toRegion] of chain) {
    await ledger.allocate(actor, { fromRegion, toRegion, amount, referenceDigest: ref });
  }
  await ledger.fundProgramme("county-finance", { programmeId, amount, referenceDigest: ref });
}

export interface CaseSpec {
  programmeId: number;
  householdSize?: number;
  incomePerHead?: bigint;
  /** The approved amount (temporary assistance). */
  amount?: bigint;
}

/** Submits and reviews the cases (township caseworker); approve them with {@link approveCases} after the notice. */
export async function submitCases(t: TestGateway, specs: readonly CaseSpec[]): Promise<string[]> {
  const ledger = t.gateway.ctx.ledger;
  const ids: string[] = [];
  for (const spec of specs) {
    const caseId = hex32();
    const pseudonym = hex32();
    await ledger.submitCase("township-caseworker", {
      caseId,
      programmeId: spec.programmeId,
      region: LOCAL_REGIONS.township,
      pseudonym,
      recordDigest: hex32(),
    });
    await ledger.reviewCase("township-caseworker", { caseId, passed: true, reasonDigest: hex32() });
    await t.gateway.ctx.store.putCase({
      caseId,
      programmeId: spec.programmeId,
      regionCode: Number(LOCAL_REGIONS.township),
      pseudonym,
      submitter: "township-caseworker",
      applicationRecordId: `test-${caseId.slice(2, 14)}`,
      status: "in-notice",
    });
    ids.push(caseId);
  }
  return ids;
}

/** Moves the chain past the notice period (7 days). */
export async function passNotice(t: TestGateway): Promise<void> {
  await t.chain.increaseTime(7 * DAY + 60);
}

/** Approves submitted cases (county approver) with the programme's current rule version. */
export async function approveCases(
  t: TestGateway,
  ids: readonly string[],
  specs: readonly CaseSpec[],
): Promise<bigint[]> {
  const ledger = t.gateway.ctx.ledger;
  const amounts: bigint[] = [];
  for (let i = 0; i < ids.length; i++) {
    const spec = specs[i];
    const rule = await ledger.programme(spec.programmeId);
    const approved = await ledger.approveCase("county-approver", {
      caseId: ids[i],
      ruleVersion: rule.ruleVersion,
      assessment: {
        householdSize: spec.householdSize ?? 1,
        incomePerHead: spec.incomePerHead ?? 0n,
        amount: spec.amount ?? 0n,
      },
    });
    await t.gateway.ctx.store.setCaseStatus(ids[i], "approved");
    amounts.push(approved.amount);
  }
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
  for (const status of ["pending", "running", "completed", "failed"] as const) {
    runs.push(...(await t.gateway.ctx.store.listPayoutRuns({ status, limit: 1000 })));
  }
  return runs;
}

export const sum = (xs: readonly bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);
