import { expect } from "chai";
import { submitPendingCases } from "../../../gateway/src/cases/submitter";
import { type TestGateway, startTestGateway } from "../api/harness";
import { application, counts } from "./helpers";

describe("cases API: taking applications in", function () {
  this.timeout(120_000);
  let t: TestGateway;

  before(async function () {
    t = await startTestGateway();
  });

  after(async function () {
    await t?.close();
  });

  const post = (body: unknown, who: Parameters<TestGateway["auth"]>[0] = "township-caseworker") =>
    t.http
      .post("/v1/cases")
      .set("Authorization", t.auth(who))
      .send(body as object);

  it("POST /v1/cases: 201, four sealed records, and the chain holds the case with the manifest's digest", async function () {
    const { body } = application();

    const res = await post(body);

    expect(res.status).to.equal(201);
    expect(res.body.status).to.equal("submitted");
    expect(res.body.caseId).to.match(/^0x[0-9a-f]{64}$/);
    expect(res.body.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(res.body.records.map((r: { kind: string }) => r.kind)).to.deep.equal([
      "identity",
      "household",
      "payment",
      "application",
    ]);
    const manifest = res.body.records.find((r: { kind: string }) => r.kind === "application");
    const onChain = await t.gateway.ctx.ledger.caseRecord(res.body.caseId);
    expect(onChain).to.not.equal(null);
    expect(onChain!.recordDigest).to.equal(manifest.digest);
    expect(onChain!.programmeId).to.equal(1);
    expect(onChain!.region).to.equal(110105001000n);
    expect(onChain!.pseudonym).to.equal(t.gateway.ctx.keyring.pseudonym(body.applicant.residentId));
    const row = await t.gateway.ctx.store.getCase(res.body.caseId);
    expect(row).to.include({ status: "submitted", submitter: "township-caseworker", applicationRecordId: manifest.id });
    const audit = await t.gateway.ctx.store.listAudit({ target: res.body.caseId });
    expect(audit.map((a) => a.action)).to.deep.equal(["case.received", "case.submitted"]);
  });

  it("stores no personal string in the clear: envelopes, audit log, logs and the index hold none of them", async function () {
    const { body, personal } = application();
    const res = await post(body);
    expect(res.status).to.equal(201);

    const records = await t.gateway.ctx.store.listRecords({ caseId: res.body.caseId });
    expect(records).to.have.length(4);
    const audit = JSON.stringify(await t.gateway.ctx.store.listAudit({ limit: 1000 }));
    const index = JSON.stringify(await t.gateway.ctx.store.listCases({ limit: 1000 }));
    const logs = t.logs.join("");
    for (const secret of personal) {
      const bytes = Buffer.from(secret, "utf8");
      for (const r of records) expect(r.envelope.includes(bytes), `envelope of ${r.kind}`).to.equal(false);
      expect(audit.includes(secret), "audit log").to.equal(false);
      expect(index.includes(secret), "case index").to.equal(false);
      expect(logs.includes(secret), "logs").to.equal(false);
      expect(JSON.stringify(res.body).includes(secret), "response").to.equal(false);
    }
  });

  it("an invalid resident ID: 400 VALIDATION_FAILED naming applicant.residentId, never the value; nothing stored", async function () {
    const { body } = application();
    const bad = body.applicant.residentId.slice(0, 17) + (body.applicant.residentId[17] === "1" ? "2" : "1");
    const before = await counts(t);

    const res = await post({ ...body, applicant: { ...body.applicant, residentId: bad } });

    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal("VALIDATION_FAILED");
    expect(res.body.error.field).to.equal("applicant.residentId");
    expect(JSON.stringify(res.body)).to.not.include(bad);
    expect(t.logs.join("")).to.not.include(bad);
    expect(await counts(t)).to.deep.equal(before);
  });

  it("an unknown field: 400 VALIDATION_FAILED naming it; nothing stored", async function () {
    const { body } = application();
    const before = await counts(t);

    const res = await post({ ...body, nickname: "x" });

    expect(res.status).to.equal(400);
    expect(res.body.error).to.include({ code: "VALIDATION_FAILED", field: "nickname" });
    expect(await counts(t)).to.deep.equal(before);
  });

  it("malformed JSON: 400 MALFORMED_JSON; nothing stored", async function () {
    const before = await counts(t);

    const res = await t.http
      .post("/v1/cases")
      .set("Authorization", t.auth("township-caseworker"))
      .set("Content-Type", "application/json")
      .send('{"programmeId": 1,');

    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal("MALFORMED_JSON");
    expect(await counts(t)).to.deep.equal(before);
  });

  it("refused before anything is stored: wrong role 403, region outside the caseworker's 403, unknown programme 400", async function () {
    const before = await counts(t);
    const { body } = application();

    const approver = await post(body, "county-approver");
    const outside = await post({ ...body, region: "110105002000" });
    const unknown = await post({ ...body, programmeId: 99 });

    expect(approver.status).to.equal(403);
    expect(approver.body.error.code).to.equal("FORBIDDEN_ROLE");
    expect(outside.status).to.equal(403);
    expect(outside.body.error.code).to.equal("OUTSIDE_REGION");
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error).to.include({ code: "VALIDATION_FAILED", field: "programmeId" });
    expect(await counts(t)).to.deep.equal(before);
  });

  it("Idempotency-Key: a replay returns the same case and stores once; another body with the key is 422", async function () {
    const { body } = application();
    const key = `intake-${Date.now()}`;
    const send = (b: unknown) =>
      t.http
        .post("/v1/cases")
        .set("Authorization", t.auth("township-caseworker"))
        .set("Idempotency-Key", key)
        .send(b as object);

    const first = await send(body);
    const afterFirst = await counts(t);
    // The same body with its keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const replay = await send(reordered);
    const other = await send({ ...body, household: { ...body.household, monthlyIncome: 1 } });

    expect(first.status).to.equal(201);
    expect(replay.status).to.equal(201);
    expect(replay.headers["idempotent-replayed"]).to.equal("true");
    expect(replay.body).to.deep.equal(first.body);
    expect(other.status).to.equal(422);
    expect(other.body.error.code).to.equal("IDEMPOTENCY_KEY_REUSED");
    const badKey = await t.http
      .post("/v1/cases")
      .set("Authorization", t.auth("township-caseworker"))
      .set("Idempotency-Key", "bad key with spaces")
      .send(application().body);
    expect(badKey.status).to.equal(400);
    expect(badKey.body.error).to.include({ code: "VALIDATION_FAILED", field: "headers.idempotency-key" });
    expect(await counts(t)).to.deep.equal(afterFirst);
    const pseudonym = t.gateway.ctx.keyring.pseudonym(body.applicant.residentId);
    expect(await t.gateway.ctx.store.listCases({ pseudonym })).to.have.length(1);
  });

  it("a second application of the same person in the same exclusion group: 409 CONFLICT, nothing stored", async function () {
    const { body } = application();
    expect((await post(body)).status).to.equal(201);
    const before = await counts(t);

    // 農村低保 (programme 2) shares exclusion group 1 with 城市低保.
    const again = await post({ ...body, programmeId: 2 });

    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("CONFLICT");
    expect(again.body.error.message).to.equal("an active case exists for this person in an exclusive programme");
    expect(await counts(t)).to.deep.equal(before);
    // Temporary assistance (group 0) is not exclusive.
    expect((await post({ ...body, programmeId: 4, requestedAmount: 100_000 })).status).to.equal(201);
  });

  it("a submission the chain refuses after the data is stored: 409 LEDGER_REJECTED, case marked rejected, replay the same", async function () {
    const { ledger } = t.gateway.ctx;
    const account = ledger.accountOf("township-caseworker");
    const { body } = application();
    const key = `refused-${Date.now()}`;
    const send = () =>
      t.http
        .post("/v1/cases")
        .set("Authorization", t.auth("township-caseworker"))
        .set("Idempotency-Key", key)
        .send(body);
    // The chain deactivates the caseworker behind the gateway's back.
    await ledger.setInstitutionActive("admin", account, false);
    let res, replay;
    try {
      res = await send();
      replay = await send();
    } finally {
      await ledger.setInstitutionActive("admin", account, true);
    }

    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal("LEDGER_REJECTED");
    expect(res.body.error.ledgerCode).to.equal("LedgerUnauthorizedRole"); // an inactive account has no role
    expect(replay.status).to.equal(409);
    expect(replay.body).to.deep.equal(res.body);
    const pseudonym = t.gateway.ctx.keyring.pseudonym(body.applicant.residentId);
    const cases = await t.gateway.ctx.store.listCases({ pseudonym });
    expect(cases.map((c) => c.status)).to.deep.equal(["rejected"]);
    const refused = await t.gateway.ctx.store.listAudit({ target: cases[0].caseId, action: "case.refused-on-chain" });
    expect(refused).to.have.length(1);
    expect(refused[0].details).to.deep.equal({ ledgerCode: "LedgerUnauthorizedRole" });
    // Rejected: the person may apply again.
    const again = await t.http.post("/v1/cases").set("Authorization", t.auth("township-caseworker")).send(body);
    expect(again.status).to.equal(201);
  });

  it("POST /v1/cases/search finds the person's cases by resident ID, without echoing it", async function () {
    const { body } = application();
    const created = await post(body);

    const res = await t.http
      .post("/v1/cases/search")
      .set("Authorization", t.auth("county-approver"))
      .send({ residentId: body.applicant.residentId });

    expect(res.status).to.equal(200);
    expect(res.body.cases.map((c: { caseId: string }) => c.caseId)).to.deep.equal([created.body.caseId]);
    expect(JSON.stringify(res.body)).to.not.include(body.applicant.residentId);
    const finance = await t.http
      .post("/v1/cases/search")
      .set("Authorization", t.auth("county-finance"))
      .send({ residentId: body.applicant.residentId });
    expect(finance.status).to.equal(403);
  });

  it("chain down: 202 pending-chain with the data stored; back up: the submitter puts it on chain exactly once", async function () {
    const { body } = application();
    // Read the programme once so that its rule is known while the chain is away.
    expect((await t.http.get("/v1/programmes/1").set("Authorization", t.auth("township-caseworker"))).status).to.equal(
      200,
    );
    const casesBefore = await t.gateway.ctx.ledger.caseCount();
    await t.chain.stop();
    let res;
    try {
      res = await post(body);
      expect(res.status).to.equal(202);
      expect(res.body.status).to.equal("pending-chain");
      expect((await t.gateway.ctx.store.getCase(res.body.caseId))?.status).to.equal("pending-chain");
      expect(await t.gateway.ctx.store.listRecords({ caseId: res.body.caseId })).to.have.length(4);
    } finally {
      await t.chain.restart();
    }

    await submitPendingCases(t.gateway.ctx);
    await submitPendingCases(t.gateway.ctx);

    const row = await t.gateway.ctx.store.getCase(res.body.caseId);
    expect(row?.status).to.equal("submitted");
    expect(await t.gateway.ctx.ledger.caseCount()).to.equal(casesBefore + 1);
    const onChain = await t.gateway.ctx.ledger.caseRecord(res.body.caseId);
    expect(onChain?.recordDigest).to.equal(
      res.body.records.find((r: { kind: string }) => r.kind === "application").digest,
    );
    const submitted = await t.gateway.ctx.store.listAudit({ target: res.body.caseId, action: "case.submitted" });
    expect(submitted).to.have.length(1);
  });
});
