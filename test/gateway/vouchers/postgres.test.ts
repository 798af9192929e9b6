/**
 * The voucher life on PostgreSQL (pooled connections, row locks): issue, present, concurrent redemptions of one code
 * (exactly one succeeds), a payment retried with its key, expiry.
 */
import { expect } from "chai";
import { type VoucherWorld, idemKey, issueAll, presentationCode, redeem, voucherWorld } from "./helpers";

const DATABASE_URL = process.env.DATABASE_URL;
const DAY = 86_400;

describe("vouchers API on PostgreSQL", function () {
  this.timeout(120_000);
  let w: VoucherWorld;

  before(async function () {
    if (!DATABASE_URL) {
      console.warn("    (skipped: DATABASE_URL is not set, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)");
      this.skip();
    }
    w = await voucherWorld({ faceValues: [80_000n, 20_000n], validityDays: 5, backend: "postgres", residentBase: 800 });
  });
  after(async () => w?.close());

  it("redeems a code once under concurrent requests, pays once, and expires the rest", async function () {
    const { tg, chain, programmeId } = w;
    expect((await issueAll(w)).issued).to.equal(2);
    const code = await presentationCode(w, w.beneficiaries[0]);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        redeem(w, w.providers.school, { code, amount: 30_000, invoiceNumber: `PG-${i}` }),
      ),
    );
    expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409, 409]);
    expect((await chain.voucher(w.beneficiaries[0].caseId))?.redemptionCount).to.equal(1);
    const key = idemKey();
    const pay = () =>
      tg.http
        .post("/v1/voucher-redemptions/payments")
        .set("Authorization", tg.auth("county-finance"))
        .set("Idempotency-Key", key)
        .send({ programmeId });
    const [p1, p2] = await Promise.all([pay(), pay()]);
    expect(p1.body).to.deep.equal(p2.body);
    expect(p1.body).to.include({ paid: 1, total: "30000" });
    expect((await chain.voucherTotals(programmeId)).paid).to.equal(30_000n);
    await w.advanceChain(6 * DAY);
    const expired = await tg.http
      .post("/v1/vouchers/expiries")
      .set("Authorization", tg.auth("county-finance"))
      .send({ programmeId });
    expect(expired.body).to.include({ expired: 2, returned: "70000" });
    expect(await chain.voucherEscrow()).to.equal(0n);
  });
});
