/**
 * Fixtures of the audit and beneficiary API tests: cases made directly through the gateway's ledger and store (so
 * these tests do not depend on the cases and payouts APIs), a funded pool, paid and settled payouts, and a private
 * anchoring worker so that tests decide when records get anchored.
 */
import { id as keccakId } from "ethers";
import { syntheticResidentId } from "../../../lib/resident-id";
import { AnchoringWorker } from "../../../gateway/src/anchoring";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import { MONTHLY, type PayoutKey } from "../../../gateway/src/ledger";
import { sealRecord, storeSealed } from "../../../gateway/src/records";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import type { StoredRecord } from "../../../gateway/src/store";
import type { TestGateway } from "../api/harness";

export const DAY = 86_400;
/** 特困供養 of the local seed: 80,000 fen a month, fixed. */
export const TEKUN = 3;
export const TEKUN_AMOUNT = 80_000n;

export const digest = (label: string) => keccakId(label);

/** A synthetic resident of 朝陽區. */
export function residentId(sequence: number): string {
  return syntheticResidentId({ region: "110105", birthDate: "19600101", sequence });
}

/** Moves `amount` from a fresh central appropriation down to the pool of `programmeId` (the seed's bureaus). */
export async function fundPool(tg: TestGateway, programmeId: number, amount: bigint): Promise<void> {
  const ledger = tg.gateway.ctx.ledger;
  const ref = digest("budget-2026");
  await ledger.appropriate("central-finance", amount, ref);
  const steps: [string, bigint, bigint][] = [
    ["central-finance", LOCAL_REGIONS.central, LOCAL_REGIONS.province],
    ["province-finance", LOCAL_REGIONS.province, LOCAL_REGIONS.city],
    ["city-finance", LOCAL_REGIONS.city, LOCAL_REGIONS.county],
  ];
  for (const [actor, fromRegion, toRegion] of steps) {
    await ledger.allocate(actor, { fromRegion, toRegion, amount, referenceDigest: ref });
  }
  await ledger.fundProgramme("county-finance", { programmeId, amount, referenceDigest: ref });
}

export interface TestCase {
  caseId: string;
  residentId: string;
  pseudonym: string;
  /** The sealed application record (identity fields), granted to caseworker, approver and auditor. */
  record: StoredRecord;
}

/**
 * Submits and reviews a case of `programmeId` for `resident` in the township: its identity record sealed and queued
 * for anchoring, the case on chain, and the gateway's case index. Approve it with {@link approveCases} after the
 * notice period.
 */
export async function submittedCase(tg: TestGateway, resident: string, programmeId = TEKUN): Promise<TestCase> {
  const ctx = tg.gateway.ctx;
  const caseId = digest(`case:${resident}:${programmeId}:${Math.random()}`);
  const pseudonym = ctx.keyring.pseudonym(resident);
  const region = Number(LOCAL_REGIONS.township);
  const record = await ctx.store.transaction(async (tx) => {
    const sealed = await sealRecord(
      ctx.keyring,
      { kind: "application", caseId, regionCode: region, schemaVersion: 1 },
      { applicant: { name: "測試人", residentId: resident, address: "建外街道1號" } },
      ["township-caseworker", "county-approver", "county-auditor"].map((holderId) => ({
        holderId,
        fieldClass: "identity" as const,
      })),
      tx,
    );
    return storeSealed(tx, sealed);
  });
  await ctx.ledger.submitCase("township-caseworker", {
    caseId,
    programmeId,
    region: LOCAL_REGIONS.township,
    pseudonym,
    recordDigest: record.digest,
  });
  await ctx.ledger.reviewCase("township-caseworker", { caseId, passed: true, reasonDigest: digest("review ok") });
  await ctx.store.putCase({
    caseId,
    programmeId,
    regionCode: region,
    pseudonym,
    submitter: "township-caseworker",
    applicationRecordId: record.id,
    status: "in-notice",
  });
  return { caseId, residentId: resident, pseudonym, record };
}

/** Ends the notice period on the chain's clock and approves the cases (特困: a fixed amount). */
export async function approveCases(tg: TestGateway, cases: TestCase[], programmeId = TEKUN): Promise<void> {
  const ctx = tg.gateway.ctx;
  await tg.chain.increaseTime(7 * DAY + 60);
  const { ruleVersion } = await ctx.ledger.programme(programmeId);
  for (const c of cases) {
    await ctx.ledger.approveCase("county-approver", {
      caseId: c.caseId,
      assessment: { householdSize: 1, incomePerHead: 0n, amount: 0n },
      ruleVersion,
    });
    await ctx.store.setCaseStatus(c.caseId, "approved");
  }
}

/** Pays the current period of the cases; returns their payout keys. */
export async function payCurrentPeriod(tg: TestGateway, cases: TestCase[], programmeId = TEKUN): Promise<PayoutKey[]> {
  const ctx = tg.gateway.ctx;
  const period = await ctx.ledger.currentPeriod();
  await ctx.ledger.executePayouts("county-finance", { programmeId, period, caseIds: cases.map((c) => c.caseId) });
  return cases.map((c) => ({ caseId: c.caseId, period, eventId: MONTHLY }));
}

export async function settle(tg: TestGateway, keys: PayoutKey[]): Promise<void> {
  await tg.gateway.ctx.ledger.confirmSettlements("county-bank", { bankRefDigest: digest("bank-batch"), keys });
}

/** An anchoring worker of the test's own (the harness runs none), anchoring everything queued so far when asked. */
export function anchorer(tg: TestGateway): AnchoringWorker {
  const ctx = tg.gateway.ctx;
  return new AnchoringWorker({ store: ctx.store, ledger: ctx.ledger, actor: GATEWAY_ACTORS.anchorer });
}
