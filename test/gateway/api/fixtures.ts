/**
 * Fixtures shared by the API tests: funded pools and cases made directly through the gateway's ledger (as the local
 * consortium's institutions) and indexed in its store, so that a component's tests do not depend on the cases API.
 */
import { randomBytes } from "node:crypto";
import { id as keccakId } from "ethers";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import type { TestGateway } from "./harness";

export const DAY = 86_400;

/** What the fixtures use of a test gateway: its gateway (ledger, store) and its chain (the fault suite has both). */
export type FixtureTarget = Pick<TestGateway, "gateway" | "chain">;

/** A fixed digest of a label. */
export const digest = (label: string): string => keccakId(label);
/** A fresh random bytes32. */
export const hex32 = (): string => `0x${randomBytes(32).toString("hex")}`;

/** Appropriates `amount` at central, allocates it down to the county and funds the programme's pool with it. */
export async function fundPool(
  t: FixtureTarget,
  programmeId: number,
  amount: bigint,
  referenceDigest: string = hex32(),
): Promise<void> {
  const ledger = t.gateway.ctx.ledger;
  await ledger.appropriate("central-finance", amount, referenceDigest);
  const steps: [string, bigint, bigint][] = [
    ["central-finance", LOCAL_REGIONS.central, LOCAL_REGIONS.province],
    ["province-finance", LOCAL_REGIONS.province, LOCAL_REGIONS.city],
    ["city-finance", LOCAL_REGIONS.city, LOCAL_REGIONS.county],
  ];
  for (const [actor, fromRegion, toRegion] of steps) {
    await ledger.allocate(actor, { fromRegion, toRegion, amount, referenceDigest });
  }
  await ledger.fundProgramme("county-finance", { programmeId, amount, referenceDigest });
}

export interface SubmittedCase {
  caseId: string;
  programmeId: number;
  pseudonym: string;
  /** The stored record whose digest the chain holds; `recordDigest` stands alone if none is stored. */
  applicationRecordId: string;
  recordDigest: string;
}

/**
 * Submits and reviews a case in the township (township caseworker) and indexes it `in-notice` in the gateway's store.
 * Fresh random ids and digests unless given. Approve it with {@link approveCase} after {@link passNotice}.
 */
export async function submitCase(
  t: FixtureTarget,
  c: Partial<SubmittedCase> & { programmeId: number },
): Promise<SubmittedCase> {
  const { ledger, store } = t.gateway.ctx;
  const caseId = c.caseId ?? hex32();
  const pseudonym = c.pseudonym ?? hex32();
  const recordDigest = c.recordDigest ?? hex32();
  const applicationRecordId = c.applicationRecordId ?? `test-${caseId.slice(2, 14)}`;
  await ledger.submitCase("township-caseworker", {
    caseId,
    programmeId: c.programmeId,
    region: LOCAL_REGIONS.township,
    pseudonym,
    recordDigest,
  });
  await ledger.reviewCase("township-caseworker", { caseId, passed: true, reasonDigest: digest("review ok") });
  await store.putCase({
    caseId,
    programmeId: c.programmeId,
    regionCode: Number(LOCAL_REGIONS.township),
    pseudonym,
    submitter: "township-caseworker",
    applicationRecordId,
    status: "in-notice",
  });
  return { caseId, programmeId: c.programmeId, pseudonym, applicationRecordId, recordDigest };
}

/** Moves the chain past the notice period (7 days). */
export async function passNotice(t: FixtureTarget): Promise<void> {
  await t.chain.increaseTime(7 * DAY + 60);
}

export interface Assessment {
  householdSize?: number;
  incomePerHead?: bigint;
  /** The approved amount (temporary assistance). */
  amount?: bigint;
}

/** Approves a submitted case (county approver) with the programme's current rule version; returns its amount. */
export async function approveCase(
  t: FixtureTarget,
  caseId: string,
  programmeId: number,
  a: Assessment = {},
): Promise<bigint> {
  const { ledger, store } = t.gateway.ctx;
  const { ruleVersion } = await ledger.programme(programmeId);
  const approved = await ledger.approveCase("county-approver", {
    caseId,
    ruleVersion,
    assessment: { householdSize: a.householdSize ?? 1, incomePerHead: a.incomePerHead ?? 0n, amount: a.amount ?? 0n },
  });
  await store.setCaseStatus(caseId, "approved");
  return approved.amount;
}
