/**
 * What the voucher API refuses, each with its stable code and field, and that a refusal moves nothing: a provider of
 * the wrong category or another region, a used, expired or replaced code, an amount above what is left or presented,
 * an expired voucher, the wrong roles (a caseworker cannot redeem, a provider cannot pay), another beneficiary's
 * voucher. No response or log line carries a resident ID or a presentation code.
 */
import { expect } from "chai";
import { type VoucherWorld, bearer, issueAll, presentationCode, redeem, voucherWorld } from "./helpers";

const DAY = 86_400;
const MINUTE = 60_000;

describe("vouchers API: refusals", function () {
  this.timeout(120_000);
  let w: VoucherWorld;
  const codes: string[] = [];
  const bodies: string[] = [];
  const code = async (i: number, max?: number) => {
    const c = await presentationCode(w, w.beneficiaries[i], max);
    codes.push(c);
    return c;
  };
  const keep = <T extends { body: unknown }>(res: T): T => {
    bodies.push(JSON.stringify(res.body));
    return res;
  };

  before(async function () {
    w = await voucherWorld({ faceValues: [100_000n, 60_000n], validityDays: 2, residentBase: 500 });
    await issueAll(w);
  });
  after(async () => w?.close());

  it("refuses a provider of the wrong category or outside the voucher's region, and the lookup says why", async function () {
    const c = await code(0);
    const look = keep(
      await w.tg.http
        .post("/v1/voucher-presentations/lookup")
        .set("Authorization", w.providers.hospital)
        .send({ code: c }),
    );
    expect(look.body).to.include({ redeemable: false, providerCategory: "hospital" });
    expect(look.body.refusal).to.include({ code: "LEDGER_REJECTED", ledgerCode: "VoucherWrongCategory" });
    const wrong = keep(await redeem(w, w.providers.hospital, { code: c, amount: 1_000, invoiceNumber: "H-1" }));
    expect(wrong.status).to.equal(409);
    expect(wrong.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "VoucherWrongCategory", field: "code" });
    const far = keep(await redeem(w, w.providers["far-school"], { code: c, amount: 1_000, invoiceNumber: "F-1" }));
    expect(far.status).to.equal(403);
    expect(far.body.error).to.include({ code: "OUTSIDE_REGION", ledgerCode: "VoucherOutsideRegion", field: "code" });
    // Refused requests used nothing: the code still redeems.
    const ok = keep(await redeem(w, w.providers.school, { code: c, amount: 1_000, invoiceNumber: "S-1" }));
    expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
    expect((await w.chain.voucher(w.beneficiaries[0].caseId))?.redemptionCount).to.equal(1);
  });

  it("uses a code once, even under concurrent requests, and refuses it afterwards", async function () {
    const c = await code(0);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        redeem(w, w.providers.school, { code: c, amount: 2_000, invoiceNumber: `C-${i}` }),
      ),
    );
    results.forEach(keep);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([201, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(r.body.error).to.include({ code: "CODE_USED", field: "code" });
    }
    expect((await w.chain.voucher(w.beneficiaries[0].caseId))?.remaining).to.equal(100_000n - 1_000n - 2_000n);
    const look = keep(
      await w.tg.http
        .post("/v1/voucher-presentations/lookup")
        .set("Authorization", w.providers.school)
        .send({ code: c }),
    );
    expect(look.status).to.equal(409);
    expect(look.body.error).to.include({ code: "CODE_USED", field: "code" });
  });

  it("refuses an expired or replaced code, and an unknown one", async function () {
    const old = await code(1);
    const fresh = await code(1);
    const replaced = keep(await redeem(w, w.providers.school, { code: old, amount: 1_000, invoiceNumber: "R-1" }));
    expect(replaced.status).to.equal(410);
    expect(replaced.body.error).to.include({ code: "CODE_EXPIRED", field: "code" });
    w.tick(11 * MINUTE);
    const late = keep(await redeem(w, w.providers.school, { code: fresh, amount: 1_000, invoiceNumber: "R-2" }));
    expect(late.status).to.equal(410);
    expect(late.body.error).to.include({ code: "CODE_EXPIRED", field: "code" });
    const unknown = keep(
      await redeem(w, w.providers.school, { code: "000000000000", amount: 1, invoiceNumber: "R-3" }),
    );
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error).to.include({ code: "NOT_FOUND", field: "code" });
    const malformed = keep(await redeem(w, w.providers.school, { code: "12ab", amount: 1, invoiceNumber: "R-4" }));
    expect(malformed.status).to.equal(400);
    expect(malformed.body.error).to.include({ code: "VALIDATION_FAILED", field: "code" });
  });

  it("refuses amounts above what is left or what was presented, and a redemption without an Idempotency-Key", async function () {
    const c = await code(1, 10_000);
    const above = keep(await redeem(w, w.providers.school, { code: c, amount: 10_001, invoiceNumber: "A-1" }));
    expect(above.status).to.equal(409);
    expect(above.body.error).to.include({ ledgerCode: "VoucherAbovePresented", field: "amount" });
    const all = await code(1);
    const tooMuch = keep(await redeem(w, w.providers.school, { code: all, amount: 60_001, invoiceNumber: "A-2" }));
    expect(tooMuch.status).to.equal(409);
    expect(tooMuch.body.error).to.include({ ledgerCode: "VoucherAboveRemaining", field: "amount" });
    const askTooMuch = keep(
      await w.tg.http
        .post(`/v1/beneficiary/vouchers/${w.beneficiaries[1].caseId}/presentations`)
        .set("Authorization", bearer(w.beneficiaries[1].token))
        .send({ maxAmount: 60_001 }),
    );
    expect(askTooMuch.status).to.equal(409);
    expect(askTooMuch.body.error).to.include({ ledgerCode: "VoucherAboveRemaining", field: "maxAmount" });
    const noKey = keep(
      await w.tg.http
        .post("/v1/voucher-redemptions")
        .set("Authorization", w.providers.school)
        .send({ code: all, amount: 1, invoiceNumber: "A-3" }),
    );
    expect(noKey.status).to.equal(400);
    expect(noKey.body.error).to.include({ code: "VALIDATION_FAILED", field: "headers.idempotency-key" });
    expect((await w.chain.voucher(w.beneficiaries[1].caseId))?.remaining).to.equal(60_000n);
  });

  it("refuses the wrong roles and another beneficiary's voucher", async function () {
    const [alice, bob] = w.beneficiaries;
    const c = await code(1);
    const caseworker = keep(
      await redeem(w, w.tg.auth("township-caseworker"), { code: c, amount: 1, invoiceNumber: "W-1" }),
    );
    expect(caseworker.status).to.equal(403);
    expect(caseworker.body.error.code).to.equal("FORBIDDEN_ROLE");
    const providerPays = keep(
      await w.tg.http
        .post("/v1/voucher-redemptions/payments")
        .set("Authorization", w.providers.school)
        .set("Idempotency-Key", "pay-1")
        .send({ programmeId: w.programmeId }),
    );
    expect(providerPays.status).to.equal(403);
    expect(providerPays.body.error.code).to.equal("FORBIDDEN_ROLE");
    const providerIssues = keep(
      await w.tg.http
        .post("/v1/vouchers/issues")
        .set("Authorization", w.providers.school)
        .send({ programmeId: w.programmeId }),
    );
    expect(providerIssues.status).to.equal(403);
    const bankPays = keep(
      await w.tg.http
        .post("/v1/voucher-redemptions/settlements")
        .set("Authorization", w.tg.auth("county-finance"))
        .send({ bankReference: "X", redemptions: [{ voucherId: alice.caseId, index: 0 }] }),
    );
    expect(bankPays.status).to.equal(403);
    const others = keep(
      await w.tg.http
        .post(`/v1/beneficiary/vouchers/${alice.caseId}/presentations`)
        .set("Authorization", bearer(bob.token))
        .send({}),
    );
    expect(others.status).to.equal(404);
    expect(others.body.error.code).to.equal("NOT_FOUND");
    const mine = keep(await w.tg.http.get("/v1/beneficiary/vouchers").set("Authorization", bearer(bob.token)));
    expect(mine.body.vouchers.map((v: { voucherId: string }) => v.voucherId)).to.deep.equal([bob.caseId]);
    const beneficiaryLooks = keep(
      await w.tg.http
        .post("/v1/voucher-presentations/lookup")
        .set("Authorization", bearer(bob.token))
        .send({ code: c }),
    );
    expect(beneficiaryLooks.status).to.equal(403);
    const notFinance = keep(
      await w.tg.http
        .post("/v1/voucher-redemptions/payments")
        .set("Authorization", w.tg.auth("county-finance"))
        .set("Idempotency-Key", "pay-2")
        .send({ redemptions: [{ voucherId: bob.caseId, index: 5 }] }),
    );
    expect(notFinance.status).to.equal(404);
    expect(notFinance.body.error).to.include({ code: "NOT_FOUND", field: "redemptions.0" });
  });

  it("refuses an expired voucher, then expires it", async function () {
    const c = await code(1);
    await w.advanceChain(3 * DAY);
    const late = keep(await redeem(w, w.providers.school, { code: c, amount: 1_000, invoiceNumber: "E-1" }));
    expect(late.status).to.equal(409);
    expect(late.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "VoucherIsExpired" });
    const present = keep(
      await w.tg.http
        .post(`/v1/beneficiary/vouchers/${w.beneficiaries[1].caseId}/presentations`)
        .set("Authorization", bearer(w.beneficiaries[1].token))
        .send({}),
    );
    expect(present.status).to.equal(409);
    expect(present.body.error.ledgerCode).to.equal("VoucherIsExpired");
    const expired = await w.tg.http
      .post("/v1/vouchers/expiries")
      .set("Authorization", w.tg.auth("county-finance"))
      .send({});
    expect(expired.body).to.include({ expired: 2, returned: String(100_000 - 3_000 + 60_000) });
  });

  it("no response and no log line carries a resident ID or a presentation code", async function () {
    const logs = w.tg.logs.join("\n");
    for (const b of w.beneficiaries) {
      expect(logs).to.not.include(b.residentId);
      for (const body of bodies) expect(body).to.not.include(b.residentId);
    }
    expect(codes.length).to.be.greaterThan(5);
    for (const c of codes) expect(logs).to.not.include(c);
    for (const body of bodies) expect(body).to.not.match(/pseudonym/);
  });
});
