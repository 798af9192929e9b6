/**
 * The voucher world on an {@link InMemoryPeer}: the funded ledger of fixture.ts plus providers (registered
 * institutions of Role.Provider with a category) and voucher programmes with terms and funded pools, and the
 * invariants every test checks after each step.
 */
import { expect } from "chai";
import { roleAttribute } from "../../lib/fabric-identity";
import { programmeRule } from "../../lib/programmes";
import { ProgrammeKind, Role } from "../../lib/roles";
import {
  categoryMask,
  ProviderCategory,
  VoucherKind,
  VoucherStatus,
  type ProviderCategory as Category,
} from "../../lib/vouchers";
import type { RedemptionRecord, VoucherRecord, VoucherTerms, VoucherTotals, Wire } from "../../lib/ledger-model";
import { DAY, digest, funded, newCase, REGION, type Ledger, type Programmes } from "./fixture";
import type { PeerIdentity } from "./peer";

export const VOUCHER_FUNDING = 5_000_000n; // 50,000 yuan per voucher pool
export const CAP = 300_000n; // at most 3,000 yuan per case

export const PROVIDERS = {
  school: { region: REGION.township, category: ProviderCategory.School },
  hospital: { region: REGION.county, category: ProviderCategory.Hospital },
  careAgency: { region: REGION.county, category: ProviderCategory.CareAgency },
  otherSchool: { region: REGION.otherTownship, category: ProviderCategory.School },
} as const;
export type ProviderName = keyof typeof PROVIDERS;

export const TERMS = {
  education: { kind: VoucherKind.Education, categories: categoryMask([ProviderCategory.School]), validity: 90 * DAY },
  care: {
    kind: VoucherKind.CareService,
    categories: categoryMask([ProviderCategory.CareAgency, ProviderCategory.Hospital]),
    validity: 30 * DAY,
  },
} satisfies Record<string, VoucherTerms>;

export type Voucher = Wire<VoucherRecord>;
export type Redemption = Wire<RedemptionRecord>;
type Totals = Wire<VoucherTotals>;

export interface VoucherWorld {
  ledger: Ledger;
  programmes: Programmes;
  /** Voucher programmes: education (90-day vouchers), care (30-day), short (1-month eligibility), unset (no terms). */
  vouchers: { education: number; care: number; short: number; unset: number };
  providers: Record<ProviderName, PeerIdentity>;
  /** Every voucher issued so far (ids), for the invariants. */
  issued: Set<string>;
}

async function createVoucherProgramme(ledger: Ledger, label: string, over: { validityMonths?: number } = {}) {
  const rule = programmeRule(ProgrammeKind.Voucher, REGION.county, digest(`${label}-voucher-2026`), {
    amount: CAP,
    noticePeriod: 0,
    ...over,
  });
  return (await ledger.submit<{ programmeId: number }>("approver", "createProgramme", rule)).programmeId;
}

/** Registers an institution of Role.Provider and has the administrator set its category. */
export async function registerProvider(
  ledger: Ledger,
  name: string,
  region: bigint,
  category?: Category,
): Promise<PeerIdentity> {
  const id = await ledger.peer.identity(name, { role: roleAttribute(Role.Provider), region: region.toString() });
  await ledger.submit("admin", "registerInstitution", {
    account: id.account,
    role: Role.Provider,
    region,
    keyDigest: digest(`sm2-key:${name}`),
  });
  if (category !== undefined) await ledger.submit("admin", "setProviderCategory", { account: id.account, category });
  return id;
}

export async function voucherWorld(): Promise<VoucherWorld> {
  const { ledger, programmes } = await funded();
  const vouchers = {
    education: await createVoucherProgramme(ledger, "education"),
    care: await createVoucherProgramme(ledger, "care"),
    short: await createVoucherProgramme(ledger, "short", { validityMonths: 1 }),
    unset: await createVoucherProgramme(ledger, "unset"),
  };
  await ledger.submit("approver", "setVoucherTerms", { programmeId: vouchers.education, terms: TERMS.education });
  await ledger.submit("approver", "setVoucherTerms", { programmeId: vouchers.care, terms: TERMS.care });
  await ledger.submit("approver", "setVoucherTerms", { programmeId: vouchers.short, terms: TERMS.education });
  // One pool's worth more than the four pools take stays with the county, for programmes the tests add.
  const total = VOUCHER_FUNDING * 5n;
  const ref = digest("voucher-budget-2026");
  for (const [who, fromRegion, toRegion] of [
    ["centralFinance", REGION.central, REGION.province],
    ["provinceFinance", REGION.province, REGION.city],
    ["cityFinance", REGION.city, REGION.county],
  ] as const) {
    await ledger.submit(who, "allocate", { fromRegion, toRegion, amount: total, referenceDigest: ref });
  }
  for (const programmeId of Object.values(vouchers)) {
    await ledger.submit("countyFinance", "fundProgramme", {
      programmeId,
      amount: VOUCHER_FUNDING,
      referenceDigest: ref,
    });
  }
  const providers = {} as Record<ProviderName, PeerIdentity>;
  for (const [name, p] of Object.entries(PROVIDERS)) {
    providers[name as ProviderName] = await registerProvider(ledger, name, p.region, p.category);
  }
  return { ledger, programmes, vouchers, providers, issued: new Set() };
}

/** Submits and approves (no notice) a case of voucher programme `programmeId` for `amount`. */
export async function approvedVoucherCase(w: VoucherWorld, programmeId: number, amount: bigint): Promise<string> {
  const c = newCase("voucher");
  const { ledger } = w;
  await ledger.submit("caseworker", "submitCase", {
    caseId: c.caseId,
    programmeId,
    region: REGION.township,
    pseudonym: c.pseudonym,
    recordDigest: digest(`record:${c.caseId}`),
  });
  await ledger.submit("caseworker", "reviewCase", { caseId: c.caseId, passed: true, reasonDigest: digest("ok") });
  const { ruleVersion } = await ledger.query<{ ruleVersion: string }>("programme", { programmeId });
  await ledger.submit("approver", "approveCase", {
    caseId: c.caseId,
    assessment: { householdSize: 1, incomePerHead: 0n, amount },
    ruleVersion,
  });
  return c.caseId;
}

/** Issues the listed cases' vouchers and remembers the ones issued. */
export async function issue(w: VoucherWorld, caseIds: string[]) {
  const r = await w.ledger.submit<{
    outcomes: { caseId: string; status: "issued" | "skipped"; reason?: number; faceValue?: string }[];
    issued: number;
    total: string;
  }>("keeper", "issueVouchers", { caseIds });
  for (const o of r.outcomes) if (o.status === "issued") w.issued.add(o.caseId);
  return r;
}

/** An approved case with its voucher issued. */
export async function issuedVoucher(w: VoucherWorld, programmeId: number, amount: bigint): Promise<string> {
  const caseId = await approvedVoucherCase(w, programmeId, amount);
  const r = await issue(w, [caseId]);
  expect(r.outcomes[0].status).to.equal("issued");
  return caseId;
}

/** The anchorer records a presentation to `provider` for at most `maxAmount`, valid an hour. */
export function present(w: VoucherWorld, voucherId: string, provider: PeerIdentity, maxAmount: bigint, seconds = 3600) {
  return w.ledger.submit("anchorer", "presentVoucher", {
    voucherId,
    provider: provider.account,
    maxAmount,
    expiresAt: w.ledger.peer.now() + seconds,
    presentationDigest: digest(`presentation:${voucherId}:${w.ledger.peer.now()}`),
  });
}

export function redeem(w: VoucherWorld, provider: PeerIdentity, voucherId: string, amount: bigint) {
  return w.ledger.submit<{ index: number; remaining: string }>(provider, "redeemVoucher", {
    voucherId,
    amount,
    invoiceDigest: digest(`invoice:${voucherId}:${amount}`),
  });
}

export const voucherOf = (w: VoucherWorld, voucherId: string) =>
  w.ledger.query<Voucher | null>("voucher", { voucherId });

/**
 * The invariants: per voucher programme issued = redeemed + expired + outstanding and paid = its paid out;
 * voucher escrow = Σ outstanding + Σ redeemed-not-paid; appropriated = Σ balances + Σ pools + escrow + paid out,
 * and `held` = appropriated − paid out.
 */
export async function expectConserved(w: VoucherWorld): Promise<void> {
  const { ledger } = w;
  const outstanding = new Map<number, bigint>();
  for (const id of w.issued) {
    const v = (await voucherOf(w, id)) as Voucher;
    if (v.status === VoucherStatus.Active)
      outstanding.set(v.programmeId, (outstanding.get(v.programmeId) ?? 0n) + BigInt(v.remaining));
  }
  let owed = 0n;
  const count = await ledger.query<number>("programmeCount");
  for (let programmeId = 1; programmeId <= count; programmeId++) {
    const { kind } = await ledger.query<{ kind: ProgrammeKind }>("programme", { programmeId });
    if (kind !== ProgrammeKind.Voucher) continue;
    const t = await ledger.query<Totals>("voucherTotals", { programmeId });
    const out = outstanding.get(programmeId) ?? 0n;
    expect(BigInt(t.issued), `programme ${programmeId}: issued`).to.equal(BigInt(t.redeemed) + BigInt(t.expired) + out);
    expect(BigInt(t.paid), `programme ${programmeId}: paid ≤ redeemed`).to.be.at.most(BigInt(t.redeemed));
    expect(t.paid, `programme ${programmeId}: paid = paid out`).to.equal(
      await ledger.query<string>("programmePaidOut", { programmeId }),
    );
    owed += out + BigInt(t.redeemed) - BigInt(t.paid);
  }
  const escrow = BigInt(await ledger.query<string>("voucherEscrow"));
  expect(escrow, "escrow = outstanding + redeemed not paid").to.equal(owed);
  const t = await ledger.query<{ appropriated: string; held: string; paidOut: string }>("fundTotals");
  let held = 0n;
  for (const r of Object.values(REGION)) held += BigInt(await ledger.query<string>("regionBalance", { region: r }));
  for (let id = 1; id <= count; id++) held += BigInt(await ledger.query<string>("poolBalance", { programmeId: id }));
  expect(BigInt(t.appropriated), "appropriated = Σ balances + Σ pools + escrow + paid out").to.equal(
    held + escrow + BigInt(t.paidOut),
  );
  expect(BigInt(t.held)).to.equal(BigInt(t.appropriated) - BigInt(t.paidOut));
}
