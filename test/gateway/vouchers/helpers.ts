/**
 * The voucher API tests' world: a gateway on anvil with its keeper off (tests run it when they mean to), providers
 * registered through the admin API, a voucher programme created through the programmes API with its terms, a funded
 * pool, approved cases of sealed applications, and their beneficiaries signed in with notice codes.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { type TestGateway, startTestGateway } from "../api/harness";
import { approveCase, digest, fundPool, passNotice } from "../api/fixtures";
import { type TestCase, residentId, submittedCase } from "../beneficiary/fixtures";
import type { VoucherChain } from "../../../gateway/src/vouchers/ledger";
import { vouchersOf } from "../../../gateway/src/vouchers/ledger";

export const COUNTY = "110105";
/** 海淀區: a county outside the programme's. */
export const OTHER_COUNTY = "110108";

export interface Beneficiary extends TestCase {
  token: string;
  faceValue: bigint;
}

export interface VoucherWorld {
  tg: TestGateway;
  chain: VoucherChain;
  programmeId: number;
  /** API keys (`Bearer …`) of the providers, by id. */
  providers: Record<"school" | "hospital" | "far-school", string>;
  beneficiaries: Beneficiary[];
  /** Moves the gateway's clock (codes, sessions) forward. */
  tick(ms: number): void;
  /** Moves the chain's clock forward, and mines an event so that the gateway sees the chain's time. */
  advanceChain(seconds: number): Promise<void>;
  close(): Promise<void>;
}

export const bearer = (token: string) => `Bearer ${token}`;
export const idemKey = () => `k-${randomBytes(8).toString("hex")}`;

async function registerProvider(tg: TestGateway, id: string, category: string, region: string): Promise<string> {
  const res = await tg.http
    .post("/v1/admin/institutions")
    .set("Authorization", tg.auth("admin"))
    .send({ id, name: `${id} (test provider)`, role: "provider", region, category });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  expect(res.body.category).to.equal(category);
  return bearer(res.body.apiKey);
}

export async function signIn(tg: TestGateway, c: TestCase): Promise<string> {
  const code = await tg.http
    .post(`/v1/cases/${c.caseId}/notice-code`)
    .set("Authorization", tg.auth("township-caseworker"));
  expect(code.status, JSON.stringify(code.body)).to.equal(201);
  const session = await tg.http
    .post("/v1/beneficiary/sessions")
    .send({ residentId: c.residentId, code: code.body.code });
  expect(session.status, JSON.stringify(session.body)).to.equal(201);
  return session.body.token as string;
}

/**
 * The world: programme (education vouchers for schools, `validityDays` valid, cap 200,000 fen), pool funded with
 * `pool` fen, and one approved case per face value (not yet issued).
 */
export async function voucherWorld(options: {
  faceValues: bigint[];
  validityDays?: number;
  pool?: bigint;
  residentBase?: number;
  backend?: "sqlite" | "postgres";
}): Promise<VoucherWorld> {
  let offset = 0;
  const tg = await startTestGateway({
    backend: options.backend,
    now: () => new Date(Date.now() + offset),
    env: { RELIEF_VOUCHER_KEEPER_MS: "0" },
  });
  try {
    const chain = vouchersOf(tg.gateway.ctx);
    const providers = {
      school: await registerProvider(tg, "chaoyang-school", "school", COUNTY),
      hospital: await registerProvider(tg, "chaoyang-hospital", "hospital", COUNTY),
      "far-school": await registerProvider(tg, "haidian-school", "school", OTHER_COUNTY),
    };
    const created = await tg.http
      .post("/v1/programmes")
      .set("Authorization", tg.auth("county-approver"))
      .send({
        kind: "voucher",
        region: COUNTY,
        amount: 200_000,
        ruleVersion: digest("education-voucher-2026"),
        voucher: { kind: "education", categories: ["school"], validityDays: options.validityDays ?? 30 },
      });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body.voucher).to.deep.equal({
      kind: "education",
      categories: ["school"],
      validityDays: options.validityDays ?? 30,
    });
    const programmeId = created.body.programmeId as number;
    await fundPool(tg, programmeId, options.pool ?? 1_000_000n, digest("voucher-budget"));
    const cases: TestCase[] = [];
    for (const [i] of options.faceValues.entries()) {
      cases.push(await submittedCase(tg, residentId((options.residentBase ?? 300) + i), programmeId));
    }
    await passNotice(tg);
    const beneficiaries: Beneficiary[] = [];
    for (const [i, c] of cases.entries()) {
      const amount = await approveCase(tg, c.caseId, programmeId, { amount: options.faceValues[i] });
      expect(amount).to.equal(options.faceValues[i]);
      beneficiaries.push({ ...c, faceValue: amount, token: await signIn(tg, c) });
    }
    return {
      tg,
      chain,
      programmeId,
      providers,
      beneficiaries,
      tick: (ms) => {
        offset += ms;
      },
      async advanceChain(seconds) {
        await tg.chain.increaseTime(seconds);
        await tg.gateway.ctx.ledger.appropriate("central-finance", 1n, digest(`tick-${Math.random()}`));
      },
      close: () => tg.close(),
    };
  } catch (error) {
    await tg.close();
    throw error;
  }
}

/** Issues the programme's vouchers through the API (county finance). */
export async function issueAll(w: VoucherWorld) {
  const res = await w.tg.http
    .post("/v1/vouchers/issues")
    .set("Authorization", w.tg.auth("county-finance"))
    .send({ programmeId: w.programmeId });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as { issued: number; total: string; outcomes: { caseId: string; status: string; reason?: string }[] };
}

/** A presentation code of the beneficiary's voucher. */
export async function presentationCode(w: VoucherWorld, b: Beneficiary, maxAmount?: number): Promise<string> {
  const res = await w.tg.http
    .post(`/v1/beneficiary/vouchers/${b.caseId}/presentations`)
    .set("Authorization", bearer(b.token))
    .send(maxAmount === undefined ? {} : { maxAmount });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  expect(res.body.code).to.match(/^\d{12}$/);
  return res.body.code as string;
}

export function redeem(w: VoucherWorld, provider: string, body: object, key = idemKey()) {
  return w.tg.http
    .post("/v1/voucher-redemptions")
    .set("Authorization", provider)
    .set("Idempotency-Key", key)
    .send(body);
}
