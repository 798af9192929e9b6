import { expect } from "chai";
import { formatPeriod } from "../../../lib/periods";
import { medicalAmount } from "../../../lib/programmes";
import { PayoutStatus } from "../../../lib/roles";
import { type Ledger, LedgerUnavailableError } from "../../../gateway/src/ledger";
import { payoutIdOf } from "../../../gateway/src/payouts/ids";
import { type TestGateway, startTestGateway } from "../api/harness";
import { allRuns, approveCases, fundPool, hex32, passNotice, settleBackground, submitCases } from "./helpers";

const URBAN = 1;
const MEDICAL = 5; // cap 5,000,000 a year, deductible 100,000, 70 %
const DISASTER = 6; // 200,000 per household

describe("payouts API: medical bills and disaster relief", function () {
  this.timeout(60_000);
  let t: TestGateway;
  let ledger: Ledger;
  let medicalCases: string[];
  let disasterCases: string[];
  let urbanCase: string;

  const bill = (body: object, who: Parameters<TestGateway["auth"]>[0] = "county-medical", key?: string) => {
    const req = t.http.post("/v1/medical-bills").set("Authorization", t.auth(who));
    return key === undefined ? req.send(body) : req.set("Idempotency-Key", key).send(body);
  };
  const declare = (body: object, who: Parameters<TestGateway["auth"]>[0] = "county-approver", key?: string) => {
    const req = t.http.post("/v1/disasters").set("Authorization", t.auth(who));
    return key === undefined ? req.send(body) : req.set("Idempotency-Key", key).send(body);
  };
  const relief = (
    disasterId: string,
    key: string | undefined,
    who: Parameters<TestGateway["auth"]>[0] = "county-finance",
  ) => {
    const req = t.http.post(`/v1/disasters/${disasterId}/relief-runs`).set("Authorization", t.auth(who));
    return key === undefined ? req.send({}) : req.set("Idempotency-Key", key).send({});
  };

  before(async function () {
    t = await startTestGateway();
    ledger = t.gateway.ctx.ledger;
    await fundPool(t, MEDICAL, 20_000_000n);
    await fundPool(t, DISASTER, 10_000_000n);
    const specs = [
      ...Array.from({ length: 2 }, () => ({ programmeId: MEDICAL })),
      ...Array.from({ length: 3 }, () => ({ programmeId: DISASTER })),
      { programmeId: URBAN, householdSize: 1, incomePerHead: 0n },
    ];
    const ids = await submitCases(t, specs);
    await passNotice(t);
    await approveCases(t, ids, specs);
    medicalCases = ids.slice(0, 2);
    disasterCases = ids.slice(2, 5);
    urbanCase = ids[5];
  });

  after(async function () {
    await t?.close();
  });

  it("a certified bill pays 70 % of (bill − 100,000); the next bill is capped by what is left of the 5,000,000 cap", async function () {
    const caseId = medicalCases[0];
    const poolBefore = await ledger.poolBalance(MEDICAL);
    const first = await bill({ caseId, billAmount: 1_000_000, billDigest: hex32() });
    expect(first.status).to.equal(201);
    expect(first.body.amount).to.equal("630000");
    expect(first.body.amount).to.equal(String(medicalAmount(1_000_000n, 100_000n, 7_000, 5_000_000n)));
    const period = await ledger.currentPeriod();
    expect(first.body).to.include({ period: formatPeriod(period) });
    expect(first.body.payoutId).to.equal(payoutIdOf({ caseId, period, eventId: first.body.billId }));
    expect(await ledger.payoutStatus({ caseId, period, eventId: first.body.billId })).to.deep.equal({
      status: PayoutStatus.Paid,
      amount: 630_000n,
    });

    const second = await bill({ caseId, billAmount: 10_000_000, billDigest: hex32() });
    expect(second.status).to.equal(201);
    expect(second.body.amount).to.equal(String(5_000_000n - 630_000n));
    expect(await ledger.poolBalance(MEDICAL)).to.equal(poolBefore - 5_000_000n);

    const third = await bill({ caseId, billAmount: 500_000, billDigest: hex32() });
    expect(third.status).to.equal(409);
    expect(third.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerNothingPayable" });

    const row = await t.gateway.ctx.store.getPayout(first.body.payoutId);
    expect(row).to.include({
      status: "paid",
      amount: 630_000n,
      runId: null,
      programmeId: MEDICAL,
      txHash: first.body.txHash,
    });
    const audit = await t.gateway.ctx.store.listAudit({ action: "medical-bill.certified" });
    expect(audit).to.have.length(2);
  });

  it("a bill sent twice with one Idempotency-Key is paid once; refusals: other roles, non-medical cases, unknown cases, bad bodies", async function () {
    const caseId = medicalCases[1];
    const body = { caseId, billAmount: 200_000, billDigest: hex32() };
    const a = await bill(body, "county-medical", "bill-1");
    const b = await bill(body, "county-medical", "bill-1");
    expect(a.status).to.equal(201);
    expect(b.status).to.equal(201);
    expect(b.body).to.deep.equal(a.body);
    expect(a.body.amount).to.equal("70000");
    expect(await ledger.casePayouts(caseId)).to.have.length(1);
    expect((await bill({ ...body, billAmount: 300_000 }, "county-medical", "bill-1")).status).to.equal(422);

    expect((await bill(body, "county-finance")).body.error.code).to.equal("FORBIDDEN_ROLE");
    const urban = await bill({ caseId: urbanCase, billAmount: 200_000, billDigest: hex32() });
    expect(urban.status).to.equal(409);
    expect(urban.body.error.ledgerCode).to.equal("LedgerWrongProgrammeKind");
    expect((await bill({ caseId: hex32(), billAmount: 200_000, billDigest: hex32() })).status).to.equal(404);
    const zero = await bill({ caseId, billAmount: 0, billDigest: hex32() });
    expect(zero.status).to.equal(400);
    expect(zero.body.error.field).to.equal("billAmount");
    expect((await bill({ caseId, billAmount: 1, billDigest: "0x12" })).body.error.field).to.equal("billDigest");
    expect(await ledger.casePayouts(caseId)).to.have.length(1);
  });

  it("a bill whose answer was lost after the chain paid it: the retry with the same key records it, pays nothing twice", async function () {
    const caseId = medicalCases[1];
    const body = { caseId, billAmount: 300_000, billDigest: hex32() };
    const original = ledger.certifyMedicalBill.bind(ledger);
    ledger.certifyMedicalBill = async (actor, b) => {
      await original(actor, b);
      throw new LedgerUnavailableError("timeout", "simulated", { operation: "certifyMedicalBill" });
    };
    try {
      const lost = await bill(body, "county-medical", "bill-lost");
      expect(lost.status).to.equal(503);
      expect(lost.body.error.code).to.equal("CHAIN_UNAVAILABLE");
    } finally {
      ledger.certifyMedicalBill = original;
    }
    expect(await ledger.casePayouts(caseId)).to.have.length(2);
    const retry = await bill(body, "county-medical", "bill-lost");
    expect(retry.status).to.equal(201);
    expect(retry.body.amount).to.equal("140000");
    expect(await ledger.casePayouts(caseId)).to.have.length(2);
    const event = (await ledger.events(0)).find(
      (e) => e.name === "MedicalBillCertified" && e.args.billId === retry.body.billId,
    );
    expect(retry.body).to.include({ txHash: event!.txHash, blockNumber: event!.blockNumber });
    expect(await t.gateway.ctx.store.getPayout(retry.body.payoutId)).to.include({ amount: 140_000n, status: "paid" });
  });

  let disasterId: string;
  it("an approver declares a disaster (the chain's rule); finance may not; wrong programme kinds and regions are refused", async function () {
    const body = { programmeId: DISASTER, region: "110105001000", declaration: "2026年7月 暴雨洪澇災害 (test)" };
    expect((await declare(body, "county-finance")).body.error.code).to.equal("FORBIDDEN_ROLE");
    const wrongKind = await declare({ ...body, programmeId: URBAN });
    expect(wrongKind.status).to.equal(409);
    expect(wrongKind.body.error.ledgerCode).to.equal("LedgerWrongProgrammeKind");
    const outside = await declare({ ...body, region: "310000" });
    expect(outside.status).to.equal(409);
    expect(outside.body.error.ledgerCode).to.equal("LedgerRegionOutsideProgramme");

    const res = await declare(body, "county-approver", "flood-1");
    expect(res.status).to.equal(201);
    disasterId = res.body.disasterId;
    expect(res.body).to.include({
      programmeId: DISASTER,
      region: "110105001000",
      period: formatPeriod(await ledger.currentPeriod()),
    });
    expect(res.body.declarationDigest).to.equal(t.gateway.ctx.keyring.digestSecret("declaration", body.declaration));
    const again = await declare(body, "county-approver", "flood-1");
    expect(again.status).to.equal(201);
    expect(again.body).to.deep.equal(res.body);
    const declared = (await ledger.events(0)).filter((e) => e.name === "DisasterDeclared");
    expect(declared).to.have.length(1);
    // The declaration's text is in the audit log's reason, never in its details or on chain.
    const [entry] = await t.gateway.ctx.store.listAudit({ action: "disaster.declared" });
    expect(entry.reason).to.equal(body.declaration);
    expect(JSON.stringify(entry.details)).to.not.include("暴雨");
  });

  it("a declaration whose answer was lost: the retry with the same key finds it on chain and records it once", async function () {
    const body = { programmeId: DISASTER, region: "110105", declaration: "地震 (test)" };
    const original = ledger.declareDisaster.bind(ledger);
    ledger.declareDisaster = async (actor, d) => {
      await original(actor, d);
      throw new LedgerUnavailableError("timeout", "simulated", { operation: "declareDisaster" });
    };
    try {
      expect((await declare(body, "county-approver", "quake-1")).status).to.equal(503);
    } finally {
      ledger.declareDisaster = original;
    }
    const retry = await declare(body, "county-approver", "quake-1");
    expect(retry.status).to.equal(201);
    const events = (await ledger.events(0)).filter(
      (e) => e.name === "DisasterDeclared" && e.args.disasterId === retry.body.disasterId,
    );
    expect(events).to.have.length(1);
    expect(retry.body).to.include({ txHash: events[0].txHash, region: "110105" });
    expect(
      await t.gateway.ctx.store.listAudit({ action: "disaster.declared", target: retry.body.disasterId }),
    ).to.have.length(1);
  });

  it("a relief run pays each approved household of the disaster's region once; a second run skips them all", async function () {
    expect((await relief(disasterId, undefined)).status).to.equal(400);
    expect((await relief(hex32(), "relief-x")).status).to.equal(404);
    expect((await relief(disasterId, "relief-x", "county-approver")).body.error.code).to.equal("FORBIDDEN_ROLE");

    const poolBefore = await ledger.poolBalance(DISASTER);
    const res = await relief(disasterId, "relief-1");
    expect(res.status).to.equal(202);
    await settleBackground(t);
    const run = await t.http.get(`/v1/payout-runs/${res.body.runId}`).set("Authorization", t.auth("county-finance"));
    expect(run.body).to.include({
      kind: "disaster",
      eventId: disasterId,
      programmeId: DISASTER,
      status: "completed",
      listed: 3,
      paid: 3,
      skipped: 0,
      total: "600000",
      region: "110105001000",
    });
    expect(await ledger.poolBalance(DISASTER)).to.equal(poolBefore - 600_000n);
    const period = await ledger.currentPeriod();
    for (const caseId of disasterCases) {
      expect(await ledger.payoutStatus({ caseId, period, eventId: disasterId })).to.deep.equal({
        status: PayoutStatus.Paid,
        amount: 200_000n,
      });
    }
    const replay = await relief(disasterId, "relief-1");
    expect(replay.body).to.deep.equal(res.body);

    const runsBefore = (await allRuns(t)).length;
    const second = await relief(disasterId, "relief-2");
    await settleBackground(t);
    expect(await allRuns(t)).to.have.length(runsBefore + 1);
    const run2 = await t.http
      .get(`/v1/payout-runs/${second.body.runId}`)
      .set("Authorization", t.auth("county-auditor"));
    expect(run2.body).to.include({ status: "completed", paid: 0, skipped: 3 });
    expect(run2.body.result.skipped).to.deep.equal({ AlreadyPaid: 3 });
    for (const caseId of disasterCases) expect(await ledger.casePayouts(caseId)).to.have.length(1);
    const rows = await t.gateway.ctx.store.listPayouts({ programmeId: DISASTER });
    expect(rows.map((r) => r.runId)).to.deep.equal(Array(3).fill(res.body.runId));
  });
});
