/**
 * A voucher's whole life through the API, on anvil: issue → the beneficiary presents → the provider looks it up and
 * redeems part → again → finance pays → the bank settles one and fails the other (owed again, paid again) → an unused
 * voucher expires and its value returns to the pool; totals and escrow agree with the chain at every step, and the
 * keeper issues newly approved cases on its own.
 */
import { expect } from "chai";
import { RedemptionStatus, VoucherStatus } from "../../../lib/vouchers";
import { runVoucherKeeper } from "../../../gateway/src/vouchers/keeper";
import { approveCase, passNotice } from "../api/fixtures";
import { residentId, submittedCase } from "../beneficiary/fixtures";
import { type VoucherWorld, bearer, idemKey, issueAll, presentationCode, redeem, voucherWorld } from "./helpers";

const DAY = 86_400;

describe("vouchers API: the whole life of a voucher", function () {
  this.timeout(120_000);
  let w: VoucherWorld;

  before(async function () {
    w = await voucherWorld({ faceValues: [150_000n, 120_000n], validityDays: 30, pool: 1_000_000n });
  });
  after(async () => w?.close());

  it("issues, presents, redeems twice, pays, settles, fails and repays, expires — and the money adds up", async function () {
    const { tg, chain, programmeId } = w;
    const [alice, bob] = w.beneficiaries;
    const finance = tg.auth("county-finance");
    const bank = tg.auth("county-bank");
    const poolBefore = await tg.gateway.ctx.ledger.poolBalance(programmeId);

    // Issue: both approved cases get their voucher; a second run issues nothing twice.
    const run = await issueAll(w);
    expect(run.issued).to.equal(2);
    expect(run.total).to.equal("270000");
    const again = await issueAll(w);
    expect(again.issued).to.equal(0);
    expect(await chain.voucherEscrow()).to.equal(270_000n);
    expect(await tg.gateway.ctx.ledger.poolBalance(programmeId)).to.equal(poolBefore - 270_000n);

    // The beneficiary sees the voucher and presents it.
    const mine = await tg.http.get("/v1/beneficiary/vouchers").set("Authorization", bearer(alice.token));
    expect(mine.status).to.equal(200);
    expect(mine.body.vouchers).to.have.length(1);
    expect(mine.body.vouchers[0]).to.include({
      voucherId: alice.caseId,
      kind: "education",
      status: "active",
      faceValue: "150000",
      remaining: "150000",
    });
    const code1 = await presentationCode(w, alice);

    // The school looks it up: no personal data, and it may redeem.
    const look = await tg.http
      .post("/v1/voucher-presentations/lookup")
      .set("Authorization", w.providers.school)
      .send({ code: code1 });
    expect(look.status, JSON.stringify(look.body)).to.equal(200);
    expect(look.body).to.include({ voucherId: alice.caseId, kind: "education", remaining: "150000", redeemable: true });
    expect(look.body.providerCategory).to.equal("school");

    // First redemption, part of the value.
    const r1 = await redeem(w, w.providers.school, { code: code1, amount: 50_000, invoiceNumber: "INV-2026-0001" });
    expect(r1.status, JSON.stringify(r1.body)).to.equal(201);
    expect(r1.body).to.include({ voucherId: alice.caseId, index: 0, amount: "50000", remaining: "100000" });

    // Second, with a new code; its retry (same key) is replayed and redeems nothing twice.
    const code2 = await presentationCode(w, alice, 30_000);
    const key2 = idemKey();
    const body2 = { code: code2, amount: 30_000, invoiceNumber: "INV-2026-0002" };
    const r2 = await redeem(w, w.providers.school, body2, key2);
    expect(r2.status, JSON.stringify(r2.body)).to.equal(201);
    expect(r2.body).to.include({ index: 1, remaining: "70000" });
    const replay = await redeem(w, w.providers.school, body2, key2);
    expect(replay.status).to.equal(201);
    expect(replay.headers["idempotent-replayed"]).to.equal("true");
    expect(replay.body).to.deep.equal(r2.body);
    const v = await chain.voucher(alice.caseId);
    expect(v).to.include({ status: VoucherStatus.Active, remaining: 70_000n, redemptionCount: 2 });

    // The provider sees its own redemptions; officials see the voucher with them.
    const own = await tg.http.get("/v1/voucher-redemptions").set("Authorization", w.providers.school);
    expect(own.body.redemptions.map((r: { status: string }) => r.status)).to.deep.equal(["redeemed", "redeemed"]);
    const seen = await tg.http.get(`/v1/vouchers/${alice.caseId}`).set("Authorization", tg.auth("county-auditor"));
    expect(seen.status).to.equal(200);
    expect(seen.body.redemptions.map((r: { amount: string }) => r.amount)).to.deep.equal(["50000", "30000"]);
    expect(seen.body.redemptions[0].provider).to.deep.equal({
      id: "chaoyang-school",
      name: "chaoyang-school (test provider)",
    });

    // Finance pays the programme's redemptions; a retry with the key pays nothing twice.
    const payKey = idemKey();
    const paid = await tg.http
      .post("/v1/voucher-redemptions/payments")
      .set("Authorization", finance)
      .set("Idempotency-Key", payKey)
      .send({ programmeId });
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    expect(paid.body).to.include({ paid: 2, total: "80000" });
    const repaid = await tg.http
      .post("/v1/voucher-redemptions/payments")
      .set("Authorization", finance)
      .set("Idempotency-Key", payKey)
      .send({ programmeId });
    expect(repaid.body).to.deep.equal(paid.body);
    expect((await chain.voucherTotals(programmeId)).paid).to.equal(80_000n);
    expect(await chain.voucherEscrow()).to.equal(270_000n - 80_000n);

    // The bank settles the first and fails the second: it is owed again, and paid again.
    const settled = await tg.http
      .post("/v1/voucher-redemptions/settlements")
      .set("Authorization", bank)
      .send({ bankReference: "BANK-20261202-01", redemptions: [{ voucherId: alice.caseId, index: 0 }] });
    expect(settled.status, JSON.stringify(settled.body)).to.equal(200);
    expect(settled.body).to.include({ settled: 1, already: 0 });
    const failed = await tg.http
      .post("/v1/voucher-redemptions/failures")
      .set("Authorization", bank)
      .send({ redemption: { voucherId: alice.caseId, index: 1 }, reason: "account closed" });
    expect(failed.status, JSON.stringify(failed.body)).to.equal(200);
    expect(failed.body).to.include({ status: "redeemed", amount: "30000" });
    expect((await chain.redemption({ voucherId: alice.caseId, index: 1 }))?.status).to.equal(RedemptionStatus.Redeemed);
    expect((await chain.voucherTotals(programmeId)).paid).to.equal(50_000n);
    const second = await tg.http
      .post("/v1/voucher-redemptions/payments")
      .set("Authorization", finance)
      .set("Idempotency-Key", idemKey())
      .send({ redemptions: [{ voucherId: alice.caseId, index: 1 }] });
    expect(second.body).to.include({ paid: 1, total: "30000" });
    expect((await chain.redemption({ voucherId: alice.caseId, index: 0 }))?.status).to.equal(RedemptionStatus.Settled);

    // Bob never uses his voucher: after its expiry its value returns to the pool.
    const poolBeforeExpiry = await tg.gateway.ctx.ledger.poolBalance(programmeId);
    await w.advanceChain(31 * DAY);
    const expired = await tg.http.post("/v1/vouchers/expiries").set("Authorization", finance).send({ programmeId });
    expect(expired.status, JSON.stringify(expired.body)).to.equal(200);
    // Alice's voucher expires too: its 70,000 left go back as well.
    expect(expired.body).to.include({ expired: 2, returned: String(120_000 + 70_000) });
    expect(await tg.gateway.ctx.ledger.poolBalance(programmeId)).to.equal(poolBeforeExpiry + 190_000n);
    expect((await chain.voucher(bob.caseId))?.status).to.equal(VoucherStatus.Expired);

    const totals = await tg.http
      .get(`/v1/programmes/${programmeId}/voucher-totals`)
      .set("Authorization", tg.auth("county-auditor"));
    expect(totals.body).to.deep.equal({
      programmeId,
      issued: "270000",
      redeemed: "80000",
      expired: "190000",
      outstanding: "0",
      paid: "80000",
      unpaid: "0",
    });
    expect(await chain.voucherEscrow()).to.equal(0n);
    const listed = await tg.http
      .get(`/v1/vouchers?programmeId=${programmeId}&status=expired`)
      .set("Authorization", finance);
    expect(listed.body.vouchers).to.have.length(2);
    const programmes = await tg.http.get("/v1/programmes").set("Authorization", finance);
    const mineProgramme = programmes.body.programmes.find(
      (p: { programmeId: number }) => p.programmeId === programmeId,
    );
    expect(mineProgramme.voucher).to.deep.equal({ kind: "education", categories: ["school"], validityDays: 30 });
  });

  it("the keeper issues vouchers to newly approved cases, and new terms apply to vouchers issued afterwards", async function () {
    const { tg, chain, programmeId } = w;
    const terms = await tg.http
      .put(`/v1/programmes/${programmeId}/voucher-terms`)
      .set("Authorization", tg.auth("county-approver"))
      .send({ kind: "education", categories: ["school", "pharmacy"], validityDays: 60 });
    expect(terms.status, JSON.stringify(terms.body)).to.equal(200);
    expect(terms.body).to.deep.equal({ kind: "education", categories: ["school", "pharmacy"], validityDays: 60 });
    const carol = await submittedCase(tg, residentId(399), programmeId);
    await passNotice(tg);
    await approveCase(tg, carol.caseId, programmeId, { amount: 40_000n });
    const round = await runVoucherKeeper(tg.gateway.ctx);
    expect(round.issued).to.equal(1);
    const v = await chain.voucher(carol.caseId);
    expect(v).to.include({ status: VoucherStatus.Active, faceValue: 40_000n });
    expect(v!.expiresAt - v!.issuedAt).to.equal(60 * DAY);
    expect((await runVoucherKeeper(tg.gateway.ctx)).issued).to.equal(0);
  });
});
