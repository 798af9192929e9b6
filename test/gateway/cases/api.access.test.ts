import { expect } from "chai";
import { type TestGateway, startTestGateway } from "../api/harness";
import { application } from "./helpers";

describe("cases API: tiered access and region scope", function () {
  this.timeout(120_000);
  let t: TestGateway;
  let caseId: string;
  let app: ReturnType<typeof application>["body"];
  /** Authorization header of a caseworker of 朝陽區's neighbour township in 東城區 (110106001000). */
  let stranger: string;

  before(async function () {
    t = await startTestGateway();
    ({ body: app } = application({ members: 2 }));
    const res = await t.http
      .post("/v1/cases")
      .set("Authorization", t.auth("township-caseworker"))
      .set("Prefer", "wait=10")
      .send(app);
    expect(res.status).to.equal(201);
    caseId = res.body.caseId;
    const registered = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("admin"))
      .send({ id: "other-caseworker", name: "其他街道 (test)", role: "caseworker", region: "110106001000" });
    expect(registered.status).to.equal(201);
    stranger = `Bearer ${registered.body.apiKey}`;
  });

  after(async function () {
    await t?.close();
  });

  const get = (path: string, auth: string) => t.http.get(path).set("Authorization", auth);

  it("the submitting caseworker opens identity and household; the opening is audited with record ids only", async function () {
    const res = await get(`/v1/cases/${caseId}/details`, t.auth("township-caseworker"));

    expect(res.status).to.equal(200);
    expect(res.body.identity.applicant).to.deep.equal(app.applicant);
    expect(res.body.identity.members.map((m: { residentId: string }) => m.residentId)).to.deep.equal(
      app.household.members.map((m) => m.residentId),
    );
    expect(res.body.household.monthlyIncome).to.equal(app.household.monthlyIncome);
    expect(res.body.household.members[0]).to.deep.equal({ relation: "self", disability: "grade2" });
    expect(res.body).to.not.have.property("payment");
    const opened = await t.gateway.ctx.store.listAudit({ target: caseId, action: "record.opened" });
    expect(opened).to.have.length(1);
    expect(opened[0].actor).to.equal("township-caseworker");
    expect(JSON.stringify(opened[0])).to.not.include(app.applicant.name);
    expect((opened[0].details as { recordIds: string[] }).recordIds).to.have.length(3);
  });

  it("an approver in region opens the details too", async function () {
    const res = await get(`/v1/cases/${caseId}/details`, t.auth("county-approver"));
    expect(res.status).to.equal(200);
    expect(res.body.identity.applicant.residentId).to.equal(app.applicant.residentId);
  });

  it("finance gets NO_ACCESS for the household but opens the payment record; the caseworker cannot open payment", async function () {
    const details = await get(`/v1/cases/${caseId}/details`, t.auth("county-finance"));
    const payment = await get(`/v1/cases/${caseId}/payment-details`, t.auth("county-finance"));
    const bank = await get(`/v1/cases/${caseId}/payment-details`, t.auth("county-bank"));
    const caseworker = await get(`/v1/cases/${caseId}/payment-details`, t.auth("township-caseworker"));
    const auditor = await get(`/v1/cases/${caseId}/details`, t.auth("county-auditor"));

    expect(details.status).to.equal(403);
    expect(details.body.error.code).to.equal("NO_ACCESS");
    expect(payment.status).to.equal(200);
    expect(payment.body.payment).to.deep.equal(app.payment);
    expect(bank.status).to.equal(200);
    expect(bank.body.payment.accountNumber).to.equal(app.payment.accountNumber);
    expect(caseworker.status).to.equal(403);
    expect(caseworker.body.error.code).to.equal("FORBIDDEN_ROLE");
    expect(auditor.status).to.equal(403);
    expect(auditor.body.error.code).to.equal("NO_ACCESS");
  });

  it("finance's key is cryptographically kept from the household record, not only by the route", async function () {
    const { openRecord } = await import("../../../gateway/src/records");
    const records = await t.gateway.ctx.store.listRecords({ caseId });
    const household = records.find((r) => r.kind === "household")!;
    const identity = records.find((r) => r.kind === "identity")!;
    for (const record of [household, identity]) {
      for (const cls of ["household", "identity", "payment"] as const) {
        let code: string | undefined;
        try {
          await openRecord(t.gateway.ctx.keyring, t.gateway.ctx.store, record, "county-finance", cls);
        } catch (error) {
          code = (error as { code?: string }).code;
        }
        expect(code, `${record.kind}/${cls}`).to.equal("NO_ACCESS");
      }
    }
  });

  it("GET /v1/cases/{caseId}: index, chain state and the records' digests and anchoring, no personal data", async function () {
    const res = await get(`/v1/cases/${caseId}`, t.auth("county-finance"));

    expect(res.status).to.equal(200);
    expect(res.body).to.include({ caseId, programmeId: 1, region: "110105001000", status: "submitted" });
    expect(res.body.chain).to.include({
      status: "submitted",
      amount: "0",
      openObjections: 0,
      beneficiaryKeySet: false,
    });
    expect(res.body.chainReachable).to.equal(true);
    expect(res.body.records).to.have.length(4);
    for (const r of res.body.records) {
      expect(r.digest).to.match(/^0x[0-9a-f]{64}$/);
      expect(r.anchoring).to.include({ status: "pending", anchorSequence: null });
    }
    const manifest = res.body.records.find((r: { kind: string }) => r.kind === "application");
    expect(res.body.chain.recordDigest).to.equal(manifest.digest);
    for (const secret of [app.applicant.name, app.applicant.residentId, app.payment.accountNumber]) {
      expect(JSON.stringify(res.body)).to.not.include(secret);
    }
  });

  it("anchored records report their anchor once the worker has run", async function () {
    const { AnchoringWorker } = await import("../../../gateway/src/anchoring");
    const worker = new AnchoringWorker({
      store: t.gateway.ctx.store,
      ledger: t.gateway.ctx.ledger,
      actor: "gateway-anchorer",
      batchSize: 100,
      intervalMs: 1000,
    });
    await worker.runOnce();
    const res = await get(`/v1/cases/${caseId}`, t.auth("county-approver"));
    for (const r of res.body.records) {
      expect(r.anchoring).to.include({ status: "anchored" });
      expect(r.anchoring.txHash).to.match(/^0x[0-9a-f]{64}$/);
    }
  });

  it("a caseworker of another region: 403 OUTSIDE_REGION on get, details and lifecycle; its lists show none of these cases", async function () {
    const one = await get(`/v1/cases/${caseId}`, stranger);
    const details = await get(`/v1/cases/${caseId}/details`, stranger);
    const review = await t.http
      .post(`/v1/cases/${caseId}/review`)
      .set("Authorization", stranger)
      .send({ passed: true, reason: "looks fine" });
    const objection = await t.http
      .post(`/v1/cases/${caseId}/objections`)
      .set("Authorization", stranger)
      .send({ reason: "x" });
    const list = await get("/v1/cases", stranger);
    const search = await t.http
      .post("/v1/cases/search")
      .set("Authorization", stranger)
      .send({ residentId: app.applicant.residentId });

    for (const res of [one, details, review, objection]) {
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal("OUTSIDE_REGION");
    }
    expect(list.status).to.equal(200);
    expect(list.body.cases).to.deep.equal([]);
    expect(search.status).to.equal(200);
    expect(search.body.cases).to.deep.equal([]);
    expect((await t.gateway.ctx.ledger.caseRecord(caseId))?.status).to.equal(1); // still Submitted
  });

  it("an unknown case: 404; a malformed id: 400", async function () {
    const unknown = await get(`/v1/cases/0x${"12".repeat(32)}`, t.auth("county-approver"));
    const malformed = await get("/v1/cases/not-a-case", t.auth("county-approver"));
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal("NOT_FOUND");
    expect(malformed.status).to.equal(400);
    expect(malformed.body.error).to.include({ code: "VALIDATION_FAILED", field: "params.caseId" });
  });

  it("GET /v1/cases lists the region's cases with index fields only, filtered and paged", async function () {
    const second = await t.http
      .post("/v1/cases")
      .set("Authorization", t.auth("township-caseworker"))
      .send(application().body);
    expect(second.status).to.equal(202);

    const all = await get("/v1/cases", t.auth("county-auditor"));
    const page = await get("/v1/cases?limit=1", t.auth("county-approver"));
    const rest = await get(`/v1/cases?limit=1&after=${page.body.next}`, t.auth("county-approver"));
    const rejected = await get("/v1/cases?status=rejected", t.auth("county-approver"));
    const bank = await get("/v1/cases", t.auth("county-bank"));

    expect(all.status).to.equal(200);
    expect(all.body.cases.map((c: { caseId: string }) => c.caseId).sort()).to.deep.equal(
      [caseId, second.body.caseId].sort(),
    );
    expect(Object.keys(all.body.cases[0]).sort()).to.deep.equal(
      [
        "applicationRecordId",
        "caseId",
        "createdAt",
        "programmeId",
        "region",
        "status",
        "submitter",
        "updatedAt",
      ].sort(),
    );
    expect(page.body.cases).to.have.length(1);
    expect(rest.body.cases).to.have.length(1);
    expect(rest.body.cases[0].caseId).to.not.equal(page.body.cases[0].caseId);
    expect(rejected.body.cases).to.deep.equal([]);
    expect(bank.status).to.equal(403);
  });
});
