import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DisputeOutcome, DisputeStatus, ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import { formatPeriod } from "../../../lib/periods";
import type { AnchoringWorker } from "../../../gateway/src/anchoring";
import { keyDigest } from "../../../gateway/src/crypto";
import { MONTHLY, type PayoutKey } from "../../../gateway/src/ledger";
import { payoutIdOf } from "../../../gateway/src/payouts/ids";
import { verifyReceiptBundle } from "../../../gateway/src/receipts/bundle";
import { parseCanonicalReceipt } from "../../../gateway/src/receipts/receipt";
import { type TestGateway, startTestGateway } from "../api/harness";
import { filesIn, opensslSm2Verify } from "../crypto/openssl";
import {
  TEKUN,
  TEKUN_AMOUNT,
  type TestCase,
  anchorer,
  approveCases,
  fundPool,
  payCurrentPeriod,
  residentId,
  settle,
  submittedCase,
} from "./fixtures";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("beneficiary API: one-time codes, sessions, payments, receipts, disputes", function () {
  this.timeout(120_000);
  let tg: TestGateway;
  let worker: AnchoringWorker;
  /** The gateway's clock runs `offset` ms ahead of the system clock. */
  let offset = 0;
  const tick = (ms: number) => {
    offset += ms;
  };
  let alice: TestCase;
  let bob: TestCase;
  let carol: TestCase;
  let keys: Record<"alice" | "bob", PayoutKey>;

  before(async function () {
    tg = await startTestGateway({ now: () => new Date(Date.now() + offset) });
    worker = anchorer(tg);
    alice = await submittedCase(tg, residentId(21));
    bob = await submittedCase(tg, residentId(22));
    carol = await submittedCase(tg, residentId(23)); // has a case but no code yet
    await fundPool(tg, TEKUN, TEKUN_AMOUNT * 10n);
    await approveCases(tg, [alice, bob]);
    const [a, b] = await payCurrentPeriod(tg, [alice, bob]);
    keys = { alice: a, bob: b };
    await settle(tg, [keys.alice]);
  });

  after(async function () {
    await tg?.close();
  });

  const issueCode = async (c: TestCase, who: Parameters<TestGateway["auth"]>[0] = "township-caseworker") =>
    tg.http.post(`/v1/cases/${c.caseId}/notice-code`).set("Authorization", tg.auth(who));
  const signIn = (id: string, code: string) => tg.http.post("/v1/beneficiary/sessions").send({ residentId: id, code });
  const wrongCode = (code: string) => String((Number(code) + 1) % 1e8).padStart(8, "0");
  /** A fresh window of the per-address limiter. */
  const freshWindow = () => tick(MINUTE + 1_000);
  const session = async (c: TestCase) => {
    const { code } = (await issueCode(c)).body;
    const res = await signIn(c.residentId, code);
    expect(res.status).to.equal(201);
    return `Bearer ${res.body.token}`;
  };

  describe("POST /v1/cases/{caseId}/notice-code", function () {
    it("a caseworker in the case's region gets an 8-digit code once; the store and the audit log never hold it", async function () {
      const res = await issueCode(alice);

      expect(res.status).to.equal(201);
      expect(res.body.code).to.match(/^\d{8}$/);
      const expiresAt = Date.parse(res.body.expiresAt);
      expect(expiresAt - (Date.now() + offset)).to.be.within(72 * HOUR - 5_000, 72 * HOUR + 1_000);
      const stored = await tg.gateway.ctx.store.getBeneficiaryCode(alice.pseudonym);
      expect(stored!.codeDigest).to.equal(tg.gateway.ctx.keyring.digestSecret("otp", res.body.code));
      const [entry] = await tg.gateway.ctx.store.listAudit({ action: "beneficiary.code-issued", target: alice.caseId });
      expect(entry.actor).to.equal("township-caseworker");
      expect(JSON.stringify(entry)).to.not.include(res.body.code);
      expect(tg.logs.join("")).to.not.include(res.body.code);
    });

    it("a bank may issue one for a payment notice; a medical office may not; an unknown case is 404", async function () {
      expect((await issueCode(bob, "county-bank")).status).to.equal(201);
      const medical = await issueCode(bob, "county-medical");
      expect(medical.status).to.equal(403);
      expect(medical.body.error.code).to.equal("FORBIDDEN_ROLE");
      const unknown = await tg.http
        .post(`/v1/cases/0x${"ab".repeat(32)}/notice-code`)
        .set("Authorization", tg.auth("county-approver"));
      expect(unknown.status).to.equal(404);
      const anonymous = await tg.http.post(`/v1/cases/${bob.caseId}/notice-code`);
      expect(anonymous.status).to.equal(401);
    });
  });

  describe("POST /v1/beneficiary/sessions", function () {
    it("the right code opens a session and is used up; signing out ends the session", async function () {
      freshWindow();
      const { code } = (await issueCode(alice)).body;

      const res = await signIn(alice.residentId, code);

      expect(res.status).to.equal(201);
      expect(res.body.token).to.match(/^rlb_/);
      const auth = `Bearer ${res.body.token}`;
      expect((await tg.http.get("/v1/beneficiary/payments").set("Authorization", auth)).status).to.equal(200);
      const again = await signIn(alice.residentId, code);
      expect(again.status).to.equal(401);
      expect(again.body.error.code).to.equal("CODE_INVALID");

      expect((await tg.http.delete("/v1/beneficiary/sessions/current").set("Authorization", auth)).status).to.equal(
        204,
      );
      const after = await tg.http.get("/v1/beneficiary/payments").set("Authorization", auth);
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal("UNAUTHENTICATED");
    });

    it("a wrong code, and an ID with no code, get the same 401 CODE_INVALID", async function () {
      freshWindow();
      const { code } = (await issueCode(bob)).body;

      const wrong = await signIn(bob.residentId, wrongCode(code));
      const nobody = await signIn(carol.residentId, code);
      const stranger = await signIn(residentId(99), code);

      for (const res of [wrong, nobody, stranger]) {
        expect(res.status).to.equal(401);
        expect(res.body.error.code).to.equal("CODE_INVALID");
        expect(res.body.error.message).to.equal(wrong.body.error.message);
      }
      const malformed = await signIn("110105196001010000", code);
      expect(malformed.status).to.equal(400);
      expect(malformed.body.error.field).to.equal("residentId");
      expect(JSON.stringify(malformed.body)).to.not.include("110105196001010000");
    });

    it("five wrong codes lock sign-in: 423 LOCKED even with the right code, until the lock runs out", async function () {
      freshWindow();
      const { code } = (await issueCode(bob)).body;

      for (let i = 0; i < 5; i++) {
        const res = await signIn(bob.residentId, wrongCode(code));
        expect(res.status, `attempt ${i + 1}`).to.equal(401);
      }
      const locked = await signIn(bob.residentId, code);
      expect(locked.status).to.equal(423);
      expect(locked.body.error.code).to.equal("LOCKED");
      expect(Number(locked.headers["retry-after"])).to.be.within(1, 15 * 60);
      const reissued = await issueCode(bob); // a new code does not lift the lock
      expect((await signIn(bob.residentId, reissued.body.code)).status).to.equal(423);
      expect(await tg.gateway.ctx.store.listAudit({ action: "beneficiary.code-locked" })).to.have.length(1);

      tick(15 * MINUTE + 1_000);
      expect((await signIn(bob.residentId, reissued.body.code)).status).to.equal(201);
    });

    it("an expired code: 401 CODE_INVALID", async function () {
      const { code } = (await issueCode(alice)).body;
      tick(72 * HOUR + MINUTE);

      const res = await signIn(alice.residentId, code);

      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal("CODE_INVALID");
    });

    it("more than 20 attempts a minute from one address: 429 RATE_LIMITED with Retry-After", async function () {
      freshWindow();
      for (let i = 0; i < 20; i++) {
        expect((await signIn(residentId(100 + i), "12345678")).status).to.equal(401);
      }

      const limited = await signIn(residentId(200), "12345678");

      expect(limited.status).to.equal(429);
      expect(limited.body.error.code).to.equal("RATE_LIMITED");
      expect(Number(limited.headers["retry-after"])).to.be.within(1, 60);
      freshWindow();
      expect((await signIn(residentId(200), "12345678")).status).to.equal(401);
    });
  });

  describe("payments and receipts", function () {
    let aliceAuth: string;
    let bobAuth: string;
    let confirmed: { canonical: string; signature: string };
    const aliceId = () => payoutIdOf(keys.alice);
    const bobId = () => payoutIdOf(keys.bob);

    before(async function () {
      freshWindow();
      aliceAuth = await session(alice);
      bobAuth = await session(bob);
    });

    it("GET /v1/beneficiary/payments: each beneficiary sees their own payouts only, with the chain's status", async function () {
      const a = await tg.http.get("/v1/beneficiary/payments").set("Authorization", aliceAuth);
      const b = await tg.http.get("/v1/beneficiary/payments").set("Authorization", bobAuth);
      const carolAuth = await session(carol);
      const c = await tg.http.get("/v1/beneficiary/payments").set("Authorization", carolAuth);

      expect(a.status).to.equal(200);
      expect(a.body.payments).to.deep.equal([
        {
          payoutId: aliceId(),
          caseId: alice.caseId,
          programmeId: TEKUN,
          programmeKind: "monthly-fixed",
          period: formatPeriod(keys.alice.period),
          eventId: MONTHLY,
          amount: String(TEKUN_AMOUNT),
          status: "settled",
          receipt: null,
          dispute: null,
        },
      ]);
      expect(b.body.payments.map((p: { payoutId: string; status: string }) => [p.payoutId, p.status])).to.deep.equal([
        [bobId(), "paid"],
      ]);
      expect(c.body.payments).to.deep.equal([]);
      const institution = await tg.http
        .get("/v1/beneficiary/payments")
        .set("Authorization", tg.auth("county-approver"));
      expect(institution.status).to.equal(403);
    });

    it("confirm: 201 with a receipt signed by the gateway's key (openssl verifies it), attested on chain", async function () {
      const res = await tg.http
        .post(`/v1/beneficiary/payments/${aliceId()}/confirm`)
        .set("Authorization", aliceAuth)
        .send({});

      expect(res.status).to.equal(201);
      expect(res.body).to.include({ payoutId: aliceId(), outcome: "confirmed" });
      expect(res.body.txHash).to.match(/^0x[0-9a-f]{64}$/);
      confirmed = res.body.receipt;
      const body = parseCanonicalReceipt(confirmed.canonical);
      expect(body).to.include({
        payoutId: aliceId(),
        caseId: alice.caseId,
        period: keys.alice.period,
        programmeId: TEKUN,
        amountFen: String(TEKUN_AMOUNT),
        outcome: "confirmed",
        noteDigest: null,
        chainId: String(tg.deployment.chainId),
        receiptBook: tg.deployment.addresses.receipts,
      });

      const key = await tg.http.get("/v1/gateway-key");
      expect(key.status).to.equal(200);
      expect(body.gatewayKeyDigest).to.equal(key.body.keyDigest);
      expect(keyDigest(key.body.publicKeyPem)).to.equal(key.body.keyDigest);
      const registered = await tg.gateway.ctx.ledger.institution(key.body.account);
      expect(registered.keyDigest).to.equal(key.body.keyDigest);

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-receipt-"));
      const { write } = filesIn(() => dir);
      try {
        const out = opensslSm2Verify(
          write("gateway.pem", key.body.publicKeyPem),
          write("receipt.json", confirmed.canonical),
          write("receipt.sig", Buffer.from(confirmed.signature, "base64")),
        );
        expect(out).to.include("Signature Verified Successfully");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }

      const onChain = await tg.gateway.ctx.ledger.receiptOf(keys.alice);
      expect(onChain).to.include({ outcome: ReceiptOutcome.Confirmed, source: ReceiptSource.Attestation });
      const payments = await tg.http.get("/v1/beneficiary/payments").set("Authorization", aliceAuth);
      expect(payments.body.payments[0]).to.include({ status: "confirmed" });
      expect(payments.body.payments[0].receipt.outcome).to.equal("confirmed");
    });

    it("confirm again: 200 with the same receipt; the store and the chain hold one", async function () {
      const res = await tg.http.post(`/v1/beneficiary/payments/${aliceId()}/confirm`).set("Authorization", aliceAuth);

      expect(res.status).to.equal(200);
      expect(res.body.receipt).to.deep.equal(confirmed);
      expect(await tg.gateway.ctx.store.listReceipts({ caseId: alice.caseId })).to.have.length(1);
      expect(await tg.gateway.ctx.store.listRecords({ caseId: alice.caseId, kind: "receipt" })).to.have.length(1);
      const not = await tg.http
        .post(`/v1/beneficiary/payments/${aliceId()}/not-received`)
        .set("Authorization", aliceAuth)
        .send({ reason: "changed my mind" });
      expect(not.status).to.equal(409);
      expect(not.body.error.code).to.equal("CONFLICT");
    });

    it("another beneficiary's payout, or one not paid: 404 / 409, nothing stored", async function () {
      const foreign = await tg.http.post(`/v1/beneficiary/payments/${aliceId()}/confirm`).set("Authorization", bobAuth);
      expect(foreign.status).to.equal(404);
      expect(foreign.body.error.code).to.equal("NOT_FOUND");
      const foreignBundle = await tg.http
        .get(`/v1/beneficiary/payments/${aliceId()}/receipt`)
        .set("Authorization", bobAuth);
      expect(foreignBundle.status).to.equal(404);

      const unpaid = payoutIdOf({ ...keys.bob, period: keys.bob.period - 1 });
      const res = await tg.http.post(`/v1/beneficiary/payments/${unpaid}/confirm`).set("Authorization", bobAuth);
      expect(res.status).to.equal(409);
      expect(await tg.gateway.ctx.store.getReceipt(unpaid)).to.equal(undefined);
      const malformed = await tg.http.post("/v1/beneficiary/payments/not-an-id/confirm").set("Authorization", bobAuth);
      expect(malformed.status).to.equal(400);
      expect(malformed.body.error.field).to.equal("params.payoutId");
    });

    it("the receipt bundle: no proof before anchoring; after it, verifyReceiptBundle passes every check on chain", async function () {
      const early = await tg.http.get(`/v1/beneficiary/payments/${aliceId()}/receipt`).set("Authorization", aliceAuth);
      expect(early.status).to.equal(200);
      expect(early.headers["x-receipt-anchored"]).to.equal("false");
      expect(early.body).to.include({ format: "relief-receipt-bundle-v1", proof: null });
      const offline = await verifyReceiptBundle(early.body);
      expect(offline.checks.find((c) => c.check === "signature")!.ok).to.equal(true);
      expect(offline.valid).to.equal(false); // not anchored yet

      await worker.runOnce();

      const res = await tg.http.get(`/v1/beneficiary/payments/${aliceId()}/receipt`).set("Authorization", aliceAuth);
      expect(res.status).to.equal(200);
      expect(res.headers["x-receipt-anchored"]).to.equal("true");
      expect(res.body.receipt).to.deep.equal(confirmed);
      const ledger = tg.gateway.ctx.ledger;
      const verification = await verifyReceiptBundle(res.body, {
        ledger,
        gatewayAccount: ledger.accountOf("gateway-anchorer"),
        chain: {
          chainId: tg.deployment.chainId,
          contract: tg.deployment.addresses.anchors,
          receiptBook: tg.deployment.addresses.receipts,
        },
      });
      expect(verification.checks.filter((c) => !c.ok)).to.deep.equal([]);
      expect(verification.checks.map((c) => c.check)).to.include.members(["proof-on-chain", "signer-on-chain"]);

      const audited = await tg.http
        .get(`/v1/receipts/${aliceId()}/bundle`)
        .set("Authorization", tg.auth("county-auditor"));
      expect(audited.status).to.equal(200);
      expect(audited.body).to.deep.equal(res.body);
      const [record] = await tg.gateway.ctx.store.listRecords({ caseId: alice.caseId, kind: "receipt" });
      const verified = await tg.http
        .get(`/v1/records/${record.id}/verification`)
        .set("Authorization", tg.auth("county-auditor"));
      expect(verified.body).to.include({ kind: "receipt", digestMatches: true, verdict: "verified" });
    });

    it("not received: a signed receipt with the note's digest opens a dispute on chain; the reason stays off chain", async function () {
      const reason = "存摺上沒有這筆入賬";

      const res = await tg.http
        .post(`/v1/beneficiary/payments/${bobId()}/not-received`)
        .set("Authorization", bobAuth)
        .send({ reason });

      expect(res.status).to.equal(201);
      const body = parseCanonicalReceipt(res.body.receipt.canonical);
      expect(body).to.include({
        outcome: "not-received",
        noteDigest: tg.gateway.ctx.keyring.digestSecret("note", reason),
      });
      expect(res.body.receipt.canonical).to.not.include(reason);
      const dispute = await tg.gateway.ctx.ledger.disputeOf(keys.bob);
      expect(dispute.status).to.equal(DisputeStatus.Open);
      const [entry] = await tg.gateway.ctx.store.listAudit({ action: "receipt.not-received", target: bobId() });
      expect(entry.reason).to.equal(reason);
      const payments = await tg.http.get("/v1/beneficiary/payments").set("Authorization", bobAuth);
      expect(payments.body.payments[0]).to.include({ status: "disputed" });
      expect(payments.body.payments[0].dispute).to.include({ status: "open", outcome: null });
      expect(Date.parse(payments.body.payments[0].dispute.responseDeadline)).to.equal(dispute.responseDeadline * 1000);
      expect(tg.logs.join("")).to.not.include(reason);
    });

    it("an approver resolves the dispute on chain; a second resolution is refused; others may not resolve", async function () {
      const caseworker = await tg.http
        .post(`/v1/disputes/${bobId()}/resolve`)
        .set("Authorization", tg.auth("township-caseworker"))
        .send({ outcome: "payment-proven", resolution: "bank statement shows the credit" });
      expect(caseworker.status).to.equal(403);

      const res = await tg.http
        .post(`/v1/disputes/${bobId()}/resolve`)
        .set("Authorization", tg.auth("county-approver"))
        .send({ outcome: "payment-proven", resolution: "bank statement shows the credit" });

      expect(res.status).to.equal(200);
      expect(res.body).to.include({ payoutId: bobId(), outcome: "payment-proven" });
      const dispute = await tg.gateway.ctx.ledger.disputeOf(keys.bob);
      expect(dispute).to.include({ status: DisputeStatus.Resolved, outcome: DisputeOutcome.PaymentProven });
      const payments = await tg.http.get("/v1/beneficiary/payments").set("Authorization", bobAuth);
      expect(payments.body.payments[0].dispute).to.include({ status: "resolved", outcome: "payment-proven" });
      const again = await tg.http
        .post(`/v1/disputes/${bobId()}/resolve`)
        .set("Authorization", tg.auth("county-approver"))
        .send({ outcome: "dismissed", resolution: "again" });
      expect(again.status).to.equal(409);
      const bad = await tg.http
        .post(`/v1/disputes/${bobId()}/resolve`)
        .set("Authorization", tg.auth("county-approver"))
        .send({ outcome: "upheld", resolution: "x" });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.field).to.equal("outcome");
    });
  });

  describe("pending entitlements", function () {
    it("an approved case that no run has paid this period shows its current period as pending", async function () {
      freshWindow();
      await approveCases(tg, [carol]);
      const period = await tg.gateway.ctx.ledger.currentPeriod();
      const res = await tg.http.get("/v1/beneficiary/payments").set("Authorization", await session(carol));

      expect(res.status).to.equal(200);
      expect(res.body.payments).to.deep.equal([
        {
          payoutId: payoutIdOf({ caseId: carol.caseId, period, eventId: MONTHLY }),
          caseId: carol.caseId,
          programmeId: TEKUN,
          programmeKind: "monthly-fixed",
          period: formatPeriod(period),
          eventId: MONTHLY,
          amount: String(TEKUN_AMOUNT),
          status: "pending",
          receipt: null,
          dispute: null,
        },
      ]);
    });
  });

  describe("documentation and logs", function () {
    it("the OpenAPI document lists the beneficiary and audit endpoints", async function () {
      const res = await tg.http.get("/openapi.json");

      expect(res.status).to.equal(200);
      expect(Object.keys(res.body.paths)).to.include.members([
        "/v1/cases/{caseId}/notice-code",
        "/v1/beneficiary/sessions",
        "/v1/beneficiary/sessions/current",
        "/v1/beneficiary/payments",
        "/v1/beneficiary/payments/{payoutId}/confirm",
        "/v1/beneficiary/payments/{payoutId}/not-received",
        "/v1/beneficiary/payments/{payoutId}/receipt",
        "/v1/receipts/{payoutId}/bundle",
        "/v1/gateway-key",
        "/v1/disputes/{payoutId}/resolve",
        "/v1/records/{recordId}/verification",
        "/v1/records/{recordId}/decrypt",
        "/v1/fund-trail",
        "/v1/audit-log",
      ]);
    });

    it("no resident ID appears in any log line", function () {
      const text = tg.logs.join("");
      for (const c of [alice, bob, carol]) expect(text).to.not.include(c.residentId);
    });
  });
});
