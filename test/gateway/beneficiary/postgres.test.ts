import { expect } from "chai";
import { ReceiptOutcome } from "../../../lib/receipts";
import { payoutIdOf } from "../../../gateway/src/payouts/ids";
import { verifyReceiptBundle } from "../../../gateway/src/receipts/bundle";
import { type TestGateway, startTestGateway } from "../api/harness";
import {
  TEKUN,
  TEKUN_AMOUNT,
  anchorer,
  approveCases,
  fundPool,
  payCurrentPeriod,
  residentId,
  submittedCase,
} from "./fixtures";

const DATABASE_URL = process.env.DATABASE_URL;
const SKIP =
  "DATABASE_URL is not set; the beneficiary and audit flow on PostgreSQL did not run " +
  "(e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)";

describe("beneficiary and audit API on PostgreSQL: sign-in, receipt, anchoring, audited decryption", function () {
  this.timeout(120_000);
  let tg: TestGateway;

  before(async function () {
    if (!DATABASE_URL) {
      console.warn(`    (skipped: ${SKIP})`);
      this.skip();
    }
    tg = await startTestGateway({ backend: "postgres" });
  });

  after(async function () {
    await tg?.close();
  });

  it("code → session → confirm → anchored bundle verifies on chain; decrypt logs and seals the access", async function () {
    const c = await submittedCase(tg, residentId(31));
    await fundPool(tg, TEKUN, TEKUN_AMOUNT);
    await approveCases(tg, [c]);
    const [key] = await payCurrentPeriod(tg, [c]);
    const payoutId = payoutIdOf(key);

    const code = await tg.http
      .post(`/v1/cases/${c.caseId}/notice-code`)
      .set("Authorization", tg.auth("county-approver"));
    expect(code.status).to.equal(201);
    const wrong = String((Number(code.body.code) + 1) % 1e8).padStart(8, "0");
    expect(
      (await tg.http.post("/v1/beneficiary/sessions").send({ residentId: c.residentId, code: wrong })).status,
    ).to.equal(401);
    const signedIn = await tg.http
      .post("/v1/beneficiary/sessions")
      .send({ residentId: c.residentId, code: code.body.code });
    expect(signedIn.status).to.equal(201);
    const auth = `Bearer ${signedIn.body.token}`;

    const [first, second] = await Promise.all([
      tg.http.post(`/v1/beneficiary/payments/${payoutId}/confirm`).set("Authorization", auth),
      tg.http.post(`/v1/beneficiary/payments/${payoutId}/confirm`).set("Authorization", auth),
    ]);
    expect([first.status, second.status].sort()).to.deep.equal([200, 201]);
    expect(first.body.receipt).to.deep.equal(second.body.receipt);
    expect(await tg.gateway.ctx.store.listReceipts({ caseId: c.caseId })).to.have.length(1);
    expect((await tg.gateway.ctx.ledger.receiptOf(key)).outcome).to.equal(ReceiptOutcome.Confirmed);

    const decrypt = await tg.http
      .post(`/v1/records/${c.record.id}/decrypt`)
      .set("Authorization", tg.auth("county-auditor"))
      .send({ reason: "年度審計", fields: "identity" });
    expect(decrypt.status).to.equal(200);
    expect(decrypt.body.fields.applicant.residentId).to.equal(c.residentId);

    await anchorer(tg).runOnce();

    const bundle = await tg.http.get(`/v1/beneficiary/payments/${payoutId}/receipt`).set("Authorization", auth);
    const ledger = tg.gateway.ctx.ledger;
    const verification = await verifyReceiptBundle(bundle.body, {
      ledger,
      gatewayAccount: ledger.accountOf("gateway-anchorer"),
    });
    expect(verification.checks.filter((x) => !x.ok)).to.deep.equal([]);
    const audit = await tg.http
      .get(`/v1/records/${decrypt.body.auditRecordId}/verification`)
      .set("Authorization", tg.auth("county-auditor"));
    expect(audit.body.verdict).to.equal("verified");
    const trail = await tg.http.get("/v1/fund-trail").set("Authorization", tg.auth("county-auditor"));
    expect(trail.body.conservation).to.include({ holds: true, paidOut: String(TEKUN_AMOUNT) });
  });
});
