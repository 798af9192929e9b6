/**
 * The local consortium that `npm start` sets up on its embedded development chain (and the API tests use): one county,
 * 北京市朝陽區 (110105), with its township 建外街道 (110105001000), the finance bureaus above it, an approver, a
 * caseworker, a bank, a medical-insurance office and an auditor, and the county's programmes with PRODUCT.md's
 * figures. Nothing here runs against a configured (non-development) chain.
 */
import { id as keccakId } from "ethers";
import { DEFAULTS, programmeRule } from "../../../lib/programmes";
import { ProgrammeKind, Role } from "../../../lib/roles";
import type { GatewayContext } from "../context";
import { registerInstitution } from "../institutions/registry";
import type { ProgrammeRule } from "../ledger";

export const LOCAL_REGIONS = {
  central: 0n,
  province: 110000n,
  city: 110100n,
  county: 110105n,
  township: 110105001000n,
} as const;

export const LOCAL_INSTITUTIONS = [
  { id: "central-finance", name: "財政部 (local demo)", role: Role.Finance, region: LOCAL_REGIONS.central },
  { id: "province-finance", name: "北京市財政局 (local demo)", role: Role.Finance, region: LOCAL_REGIONS.province },
  { id: "city-finance", name: "北京市市級財政 (local demo)", role: Role.Finance, region: LOCAL_REGIONS.city },
  { id: "county-finance", name: "朝陽區財政局 (local demo)", role: Role.Finance, region: LOCAL_REGIONS.county },
  { id: "county-approver", name: "朝陽區民政局 (local demo)", role: Role.Approver, region: LOCAL_REGIONS.county },
  {
    id: "township-caseworker",
    name: "建外街道社會救助經辦 (local demo)",
    role: Role.Caseworker,
    region: LOCAL_REGIONS.township,
  },
  { id: "county-bank", name: "代發銀行朝陽支行 (local demo)", role: Role.PaymentAgent, region: LOCAL_REGIONS.county },
  { id: "county-medical", name: "朝陽區醫保局 (local demo)", role: Role.MedicalOffice, region: LOCAL_REGIONS.county },
  { id: "county-auditor", name: "朝陽區審計局 (local demo)", role: Role.Auditor, region: LOCAL_REGIONS.county },
] as const;

export type LocalInstitutionId = (typeof LOCAL_INSTITUTIONS)[number]["id"];

/** The county's programmes, created in this order (so their ids are 1..6 on a fresh chain). */
export function localProgrammes(): { name: string; rule: ProgrammeRule }[] {
  const county = LOCAL_REGIONS.county;
  const v = (label: string) => keccakId(`relief-ledger/rule/${label}`);
  return [
    {
      name: "城市低保 urban minimum living allowance",
      rule: programmeRule(ProgrammeKind.MonthlyGap, county, v("dibao-urban-2022"), {
        amount: 73_700n,
        exclusionGroup: 1,
      }),
    },
    {
      name: "農村低保 rural minimum living allowance",
      rule: programmeRule(ProgrammeKind.MonthlyGap, county, v("dibao-rural-2022"), {
        amount: 68_300n,
        exclusionGroup: 1,
      }),
    },
    {
      name: "特困供養 (分散) destitute support, dispersed",
      rule: programmeRule(ProgrammeKind.MonthlyFixed, county, v("tekun-dispersed-2023"), {
        amount: 80_000n,
        exclusionGroup: 1,
      }),
    },
    {
      name: "臨時救助 temporary assistance",
      rule: programmeRule(ProgrammeKind.Temporary, county, v("temporary-2023"), { amount: DEFAULTS.temporaryCeiling }),
    },
    {
      name: "醫療救助 medical assistance",
      rule: programmeRule(ProgrammeKind.Medical, county, v("medical-2023"), {
        amount: 5_000_000n,
        deductible: 100_000n,
        ratioBps: 7_000,
      }),
    },
    {
      name: "災害救助 disaster relief",
      rule: programmeRule(ProgrammeKind.Disaster, county, v("disaster-2023"), { amount: 200_000n }),
    },
  ];
}

export interface LocalSeed {
  /** API key tokens by institution id (shown once). */
  apiKeys: Record<LocalInstitutionId, string>;
  programmes: { programmeId: number; name: string }[];
}

/** Registers the local institutions and creates the programmes. Run once, on a fresh development chain. */
export async function seedLocalConsortium(ctx: GatewayContext): Promise<LocalSeed> {
  const apiKeys = {} as Record<LocalInstitutionId, string>;
  for (const inst of LOCAL_INSTITUTIONS) {
    const { apiKey } = await registerInstitution(ctx, inst);
    apiKeys[inst.id] = apiKey!.token;
  }
  const programmes: LocalSeed["programmes"] = [];
  for (const p of localProgrammes()) {
    const created = await ctx.ledger.createProgramme("county-approver", p.rule);
    programmes.push({ programmeId: created.programmeId, name: p.name });
  }
  return { apiKeys, programmes };
}
