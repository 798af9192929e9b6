/**
 * A redemption is two chain transactions (the anchorer's presentation, the provider's redemption) and a payment one:
 * when the chain stops answering between or after them, a retry with the same Idempotency-Key resumes and redeems or
 * pays nothing twice; a definitive refusal after the code was taken gives the code back; and the keeper settles a
 * pending redemption that nobody retried.
 */
import { expect } from "chai";
import { LedgerError, LedgerUnavailableError } from "../../../gateway/src/ledger";
import { runVoucherKeeper } from "../../../gateway/src/vouchers/keeper";
import type { VoucherChain } from "../../../gateway/src/vouchers/ledger";
import { type VoucherWorld, idemKey, issueAll, presentationCode, redeem, voucherWorld } from "./helpers";

const HOUR = 3_600_000;

type Method = "presentVoucher" | "redeemVoucher" | "payRedemptions";

/** Replaces a ledger method once (on the instance; the prototype's stays), counting calls of the real one. */
function patchOnce(
  chain: VoucherChain,
  method: Method,
  how: "fail-before" | "fail-after" | "refuse",
): { calls: () => number; restore: () => void } {
  const target = chain as unknown as Record<string, unknown>;
  const real = (chain[method] as (...a: unknown[]) => Promise<unknown>).bind(chain);
  let calls = 0;
  let done = false;
  const unavailable = () =>
    new LedgerUnavailableError("timeout", "test: no answer", { operation: method, actor: "test" });
  target[method] = async (...args: unknown[]) => {
    if (done) {
      calls++;
      return real(...args);
    }
    done = true;
    if (how === "refuse") throw new LedgerError("VoucherNoPresentation", { operation: method });
    if (how === "fail-before") throw unavailable();
    calls++;
    await real(...args);
    throw unavailable();
  };
  return { calls: () => calls, restore: () => void delete target[method] };
}

describe("vouchers API: resuming after the chain stopped answering", function () {
  this.timeout(120_000);
  let w: VoucherWorld;

  before(async function () {
    w = await voucherWorld({ faceValues: [100_000n], residentBase: 700 });
    await issueAll(w);
  });
  after(async () => w?.close());

  const voucherId = () => w.beneficiaries[0].caseId;
  const count = async () => (await w.chain.voucher(voucherId()))!.redemptionCount;

  it("resumes after the presentation was recorded but the redemption was not sent, presenting nothing again", async function () {
    const code = await presentationCode(w, w.beneficiaries[0]);
    const key = idemKey();
    const body = { code, amount: 10_000, invoiceNumber: "RES-1" };
    const redeemPatch = patchOnce(w.chain, "redeemVoucher", "fail-before");
    try {
      const first = await redeem(w, w.providers.school, body, key);
      expect(first.status).to.equal(503);
      expect(first.body.error.code).to.equal("CHAIN_UNAVAILABLE");
      // The code is taken: another request cannot use it meanwhile.
      const other = await redeem(w, w.providers.school, body);
      expect(other.body.error).to.include({ code: "CODE_USED", field: "code" });
      let presents = 0;
      const realPresent = w.chain.presentVoucher.bind(w.chain);
      (w.chain as unknown as Record<string, unknown>).presentVoucher = async (...a: Parameters<typeof realPresent>) => {
        presents++;
        return realPresent(...a);
      };
      const retry = await redeem(w, w.providers.school, body, key);
      delete (w.chain as unknown as Record<string, unknown>).presentVoucher;
      expect(retry.status, JSON.stringify(retry.body)).to.equal(201);
      expect(retry.body).to.include({ index: 0, remaining: "90000" });
      expect(presents).to.equal(0);
      expect(await count()).to.equal(1);
    } finally {
      redeemPatch.restore();
    }
  });

  it("resumes after the redemption was mined but its answer lost, redeeming nothing twice", async function () {
    const code = await presentationCode(w, w.beneficiaries[0]);
    const key = idemKey();
    const body = { code, amount: 20_000, invoiceNumber: "RES-2" };
    const patch = patchOnce(w.chain, "redeemVoucher", "fail-after");
    try {
      const first = await redeem(w, w.providers.school, body, key);
      expect(first.status).to.equal(503);
      expect(await count()).to.equal(2);
      const retry = await redeem(w, w.providers.school, body, key);
      expect(retry.status, JSON.stringify(retry.body)).to.equal(201);
      expect(retry.body).to.include({ index: 1, remaining: "70000" });
      const replay = await redeem(w, w.providers.school, body, key);
      expect(replay.headers["idempotent-replayed"]).to.equal("true");
      expect(patch.calls()).to.equal(1);
      expect(await count()).to.equal(2);
      expect((await w.chain.voucher(voucherId()))!.remaining).to.equal(70_000n);
    } finally {
      patch.restore();
    }
  });

  it("gives the code back when the chain refuses the redemption for good", async function () {
    const code = await presentationCode(w, w.beneficiaries[0]);
    const body = { code, amount: 5_000, invoiceNumber: "RES-3" };
    const patch = patchOnce(w.chain, "redeemVoucher", "refuse");
    try {
      const refused = await redeem(w, w.providers.school, body);
      expect(refused.status).to.equal(409);
      expect(refused.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "VoucherNoPresentation" });
      const again = await redeem(w, w.providers.school, body);
      expect(again.status, JSON.stringify(again.body)).to.equal(201);
      expect(again.body).to.include({ index: 2, remaining: "65000" });
    } finally {
      patch.restore();
    }
  });

  it("pays nothing twice when a payment's answer was lost and it is retried with its key", async function () {
    const { tg, programmeId } = w;
    const key = idemKey();
    const pay = () =>
      tg.http
        .post("/v1/voucher-redemptions/payments")
        .set("Authorization", tg.auth("county-finance"))
        .set("Idempotency-Key", key)
        .send({ programmeId });
    const patch = patchOnce(w.chain, "payRedemptions", "fail-after");
    try {
      expect((await pay()).status).to.equal(503);
      expect((await w.chain.voucherTotals(programmeId)).paid).to.equal(35_000n);
      const retry = await pay();
      expect(retry.status, JSON.stringify(retry.body)).to.equal(200);
      expect(retry.body).to.include({ paid: 0, already: 3, total: "35000" });
      expect(patch.calls()).to.equal(1);
      expect((await w.chain.voucherTotals(programmeId)).paid).to.equal(35_000n);
      const rows = await tg.gateway.ctx.store.listRedemptions({ programmeId });
      expect(rows.map((r) => r.status)).to.deep.equal(["paid", "paid", "paid"]);
    } finally {
      patch.restore();
    }
  });

  it("the keeper records a pending redemption that nobody retried", async function () {
    const code = await presentationCode(w, w.beneficiaries[0]);
    const patch = patchOnce(w.chain, "redeemVoucher", "fail-after");
    try {
      expect((await redeem(w, w.providers.school, { code, amount: 1_000, invoiceNumber: "RES-5" })).status).to.equal(
        503,
      );
    } finally {
      patch.restore();
    }
    const pending = await w.tg.gateway.ctx.store.listRedemptions({ status: "pending" });
    expect(pending).to.have.length(1);
    w.tick(3 * HOUR);
    const round = await runVoucherKeeper(w.tg.gateway.ctx);
    expect(round.settled).to.equal(1);
    const row = await w.tg.gateway.ctx.store.getRedemption(pending[0].redemptionId);
    expect(row).to.include({ status: "redeemed", redemptionIndex: 3 });
    expect(await count()).to.equal(4);
  });
});
