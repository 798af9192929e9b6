/**
 * Fixtures of the audit and beneficiary API tests: cases made directly through the gateway's ledger and store (so
 * these tests do not depend on the cases and payouts APIs), a funded pool, paid and settled payouts, and a private
 * anchoring worker so that tests decide when records get anchored.
 */
import { syntheticResidentId } from "../../../lib/resident-id";
import { AnchoringWorker } from "../../../gateway/src/anchoring";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import { MONTHLY, type PayoutKey } from "../../../gateway/src/ledger";
import { sealRecord, storeSealed } from "../../../gateway/src/records";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import type { StoredRecord } from "../../../gateway/src/store";
import { approveCase, digest, fundPool as fundPoolWith, passNotice, submitCase } from "../api/fixtures";
import type { TestGateway } from "../api/harness";

export { DAY, digest } from "../api/fixtures";

/** 特困供養 of the local seed: 80,000 fen a month, fixed. */
export const TEKUN = 3;
export const TEKUN_AMOUNT = 80_000n;

/** A synthetic resident of 朝陽區. */
export function residentId(sequence: number): string {
  return syntheticResidentId({ region: "110105", birthDate: "19600101", sequence });
}

/** Moves `amount` from a fresh central appropriation down to the pool of `programmeId` (the seed's bureaus). */
export async function fundPool(tg: TestGateway, programmeId: number, amount: bigint): Promise<void> {
  await fundPoolWith(tg, programmeId, amount, digest("budget-2026"));
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
  await submitCase(tg, {
    caseId,
    programmeId,
    pseudonym,
    recordDigest: record.digest,
    applicationRecordId: record.id,
  });
  return { caseId, residentId: resident, pseudonym, record };
}

/** Ends the notice period on the chain's clock and approves the cases (特困: a fixed amount). */
export async function approveCases(tg: TestGateway, cases: TestCase[], programmeId = TEKUN): Promise<void> {
  await passNotice(tg);
  for (const c of cases) await approveCase(tg, c.caseId, programmeId);
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
