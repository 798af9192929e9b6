/**
 * The institutions of the conformance story (actor, role, region) and its clock's start, shared by the conformance
 * chains and the Fabric adapter's tests so that every suite registers the same identities the same way.
 */
import { Role } from "../../lib/roles";
import type { Ledger } from "../../gateway/src/ledger";
import { REGION, digest } from "../gateway/ledger/anvil";

/** A township of another county: a caseworker there must not act in Chaoyang. */
export const ELSEWHERE = 110106001000n;

/** The institutions of the story: actor, role, region. `admin` administers the registry on both chains. */
export const INSTITUTIONS: ReadonlyArray<[string, Role, bigint]> = [
  ["centralFinance", Role.Finance, REGION.central],
  ["provinceFinance", Role.Finance, REGION.province],
  ["cityFinance", Role.Finance, REGION.city],
  ["countyFinance", Role.Finance, REGION.county],
  ["approver", Role.Approver, REGION.county],
  ["caseworker", Role.Caseworker, REGION.township],
  ["strangerCaseworker", Role.Caseworker, ELSEWHERE],
  ["paymentAgent", Role.PaymentAgent, REGION.county],
  ["medicalOffice", Role.MedicalOffice, REGION.county],
  ["anchorer", Role.Anchorer, REGION.central],
  ["keeper", Role.Keeper, REGION.central],
  ["auditor", Role.Auditor, REGION.central],
];

/**
 * The voucher providers (schools, hospitals): chain identities like the institutions above, but registered by the
 * story itself, in its voucher chapter, so that registration and category are steps compared across the ledgers.
 */
export const PROVIDERS: ReadonlyArray<[string, Role, bigint]> = [
  ["school", Role.Provider, REGION.township],
  ["hospital", Role.Provider, REGION.county],
  ["farSchool", Role.Provider, ELSEWHERE],
];

/** 2027-01-10 00:00 China time: the story's first write (after anvil's deployment blocks, which use the wall clock). */
export const T0 = Date.UTC(2027, 0, 9, 16, 0, 0) / 1000;

/** Registers every institution of the story, as `admin`, with its SM2 key's stand-in digest. */
export async function registerInstitutions(ledger: Ledger): Promise<void> {
  for (const [actor, role, region] of INSTITUTIONS) {
    await ledger.registerInstitution("admin", {
      account: ledger.accountOf(actor),
      role,
      region,
      keyDigest: digest(`sm2-key:${actor}`),
    });
  }
}
