/**
 * The world the security suites attack: the local consortium, institutions of every role in a sibling county
 * (東城區 110106, outside 朝陽區's scope) and in the parent city, a case taken in through the API with personal data,
 * a paid and settled payout with a signed-in beneficiary, a case of the sibling county, a revoked API key. Everything
 * personal that went in is listed in `personal`, so suites can look for it where it must not be.
 */
import { expect } from "chai";
import { id as keccakId } from "ethers";
import { ProgrammeKind } from "../../lib/roles";
import { programmeRule } from "../../lib/programmes";
import { ProviderCategory, VoucherKind, categoryMask } from "../../lib/vouchers";
import { vouchersOf } from "../../gateway/src/vouchers/ledger";
import { approveCase } from "../gateway/api/fixtures";
import { payoutIdOf } from "../../gateway/src/payouts/ids";
import { type TestGateway, type TestGatewayOptions, startTestGateway } from "../gateway/api/harness";
import { application } from "../gateway/cases/helpers";
import {
  TEKUN,
  TEKUN_AMOUNT,
  approveCases,
  fundPool,
  payCurrentPeriod,
  residentId,
  settle,
  submittedCase,
} from "../gateway/beneficiary/fixtures";

export const SIBLING_COUNTY = 110106n;
export const SIBLING_TOWNSHIP = 110106001000n;

/** Institutions the world adds, by id: role name (as the admin API spells it) and region. */
export const ADDED_INSTITUTIONS = {
  "sibling-caseworker": { role: "caseworker", region: SIBLING_TOWNSHIP },
  "sibling-approver": { role: "approver", region: SIBLING_COUNTY },
  "sibling-finance": { role: "finance", region: SIBLING_COUNTY },
  "sibling-bank": { role: "payment-agent", region: SIBLING_COUNTY },
  "sibling-medical": { role: "medical-office", region: SIBLING_COUNTY },
  "sibling-auditor": { role: "auditor", region: SIBLING_COUNTY },
  "city-approver": { role: "approver", region: 110100n },
  "city-auditor": { role: "auditor", region: 110100n },
} as const;

export type AddedInstitutionId = keyof typeof ADDED_INSTITUTIONS;

/** Providers the world adds (issue 9): registered with their category. */
export const PROVIDERS = {
  "county-school": { role: "provider", region: 110105n, category: "school" },
} as const;

export interface World {
  t: TestGateway;
  /** Authorization header values by principal name. */
  auth: Record<string, string>;
  /** The case taken in through the API (township of 朝陽區), with personal data. */
  apiCaseId: string;
  /** Its records' ids. */
  recordIds: string[];
  /** The API case's household record, which the county auditor may decrypt. */
  householdRecordId: string;
  /** The paid, settled case of the signed-in beneficiary, and its payout id. */
  paidCaseId: string;
  payoutId: string;
  /** The resident ID number of the paid case's beneficiary (who signs in with it). */
  paidResidentId: string;
  /** A case of the sibling county (its own programme). */
  siblingCaseId: string;
  siblingProgrammeId: number;
  /** Key ids known to the store (one revoked). */
  keyIds: string[];
  /** Every personal value that went in (names, resident ids, phones, addresses, accounts, the one-time code). */
  personal: string[];
  /** A voucher programme of the county and the signed-in beneficiary's voucher in it (its case id). */
  voucherProgrammeId: number;
  voucherId: string;
}

export async function buildWorld(options: TestGatewayOptions = {}): Promise<World> {
  const t = await startTestGateway(options);
  const auth: Record<string, string> = { admin: t.auth("admin") };
  for (const id of Object.keys(t.seed.apiKeys)) auth[id] = t.auth(id as keyof typeof t.seed.apiKeys);

  for (const [id, inst] of Object.entries(ADDED_INSTITUTIONS)) {
    const res = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", auth.admin)
      .send({ id, name: `${id} (test)`, role: inst.role, region: String(inst.region) });
    expect(res.status, `register ${id}`).to.equal(201);
    auth[id] = `Bearer ${res.body.apiKey}`;
  }
  for (const [id, p] of Object.entries(PROVIDERS)) {
    const res = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", auth.admin)
      .send({ id, name: `${id} (test)`, role: p.role, region: String(p.region), category: p.category });
    expect(res.status, `register ${id}`).to.equal(201);
    auth[id] = `Bearer ${res.body.apiKey}`;
  }

  const { body: app, personal } = application({ members: 2 });
  const intake = await t.http
    .post("/v1/cases")
    .set("Authorization", auth["township-caseworker"])
    .set("Prefer", "wait=20")
    .send(app);
  expect(intake.status, "intake").to.equal(201);
  const apiCaseId = intake.body.caseId as string;
  const recordIds = (intake.body.records as { id: string }[]).map((r) => r.id);
  const householdRecordId = (intake.body.records as { id: string; kind: string }[]).find(
    (r) => r.kind === "household",
  )!.id;

  const resident = residentId(731);
  const paid = await submittedCase(t, resident);
  await fundPool(t, TEKUN, TEKUN_AMOUNT * 10n);
  // The beneficiary's education voucher (issue 9), approved with the payout's case.
  const voucherRule = programmeRule(ProgrammeKind.Voucher, 110105n, keccakId("security/voucher-rule"), {
    amount: 100_000n,
  });
  const { programmeId: voucherProgrammeId } = await t.gateway.ctx.ledger.createProgramme(
    "county-approver",
    voucherRule,
  );
  await vouchersOf(t.gateway.ctx).setVoucherTerms("county-approver", voucherProgrammeId, {
    kind: VoucherKind.Education,
    categories: categoryMask([ProviderCategory.School]),
    validity: 365 * 86_400,
  });
  await fundPool(t, voucherProgrammeId, 1_000_000n);
  const voucherCase = await submittedCase(t, resident, voucherProgrammeId);
  await approveCases(t, [paid]);
  await approveCase(t, voucherCase.caseId, voucherProgrammeId, { amount: 100_000n });
  const issued = await t.http
    .post("/v1/vouchers/issues")
    .set("Authorization", auth["county-finance"])
    .send({ programmeId: voucherProgrammeId });
  expect(issued.body.issued, "voucher issue").to.equal(1);
  const [key] = await payCurrentPeriod(t, [paid]);
  await settle(t, [key]);
  const code = await t.http
    .post(`/v1/cases/${paid.caseId}/notice-code`)
    .set("Authorization", auth["township-caseworker"]);
  expect(code.status, "notice code").to.equal(201);
  const session = await t.http.post("/v1/beneficiary/sessions").send({ residentId: resident, code: code.body.code });
  expect(session.status, "beneficiary session").to.equal(201);
  auth.beneficiary = `Bearer ${session.body.token}`;

  const { ledger } = t.gateway.ctx;
  const rule = programmeRule(ProgrammeKind.MonthlyFixed, SIBLING_COUNTY, keccakId("security/sibling-rule"), {
    amount: 50_000n,
  });
  const { programmeId: siblingProgrammeId } = await ledger.createProgramme("sibling-approver", rule);
  const sibling = application({ members: 1, programmeId: siblingProgrammeId, region: String(SIBLING_TOWNSHIP) });
  const siblingIntake = await t.http
    .post("/v1/cases")
    .set("Authorization", auth["sibling-caseworker"])
    .set("Prefer", "wait=20")
    .send(sibling.body);
  expect(siblingIntake.status, "sibling intake").to.equal(201);
  const siblingCaseId = siblingIntake.body.caseId as string;
  personal.push(...sibling.personal);

  const spare = await t.http.post("/v1/admin/institutions/county-auditor/api-keys").set("Authorization", auth.admin);
  expect(spare.status).to.equal(201);
  const revoked = await t.http.delete(`/v1/admin/api-keys/${spare.body.keyId}`).set("Authorization", auth.admin);
  expect(revoked.status).to.equal(200);
  auth.revoked = `Bearer ${spare.body.apiKey}`;

  const keyIds = [
    spare.body.keyId as string,
    ...Object.values(auth)
      .map(keyIdOf)
      .filter((k): k is string => !!k),
  ];
  return {
    t,
    auth,
    apiCaseId,
    recordIds,
    householdRecordId,
    paidCaseId: paid.caseId,
    payoutId: payoutIdOf(key),
    paidResidentId: resident,
    siblingCaseId,
    siblingProgrammeId,
    keyIds,
    personal: [...personal, resident, code.body.code as string],
    voucherProgrammeId,
    voucherId: voucherCase.caseId,
  };
}

/** The key id of an `rlk_<key id>_<secret>` header value. */
export function keyIdOf(header: string): string | undefined {
  return /rlk_([0-9a-f]{16})_/.exec(header)?.[1];
}
