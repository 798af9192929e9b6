import { expect } from "chai";
import { submitPendingCases } from "../../../gateway/src/cases/submitter";
import { type TestGateway, startTestGateway } from "../api/harness";
import { application, csvOf, eventually } from "./helpers";

const DATABASE_URL = process.env.DATABASE_URL;

describe("cases API on PostgreSQL (smoke)", function () {
  this.timeout(120_000);
  let t: TestGateway | undefined;

  before(async function () {
    if (!DATABASE_URL) {
      console.warn(
        "    (skipped: DATABASE_URL is not set; the cases API did not run on PostgreSQL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
      );
      this.skip();
    }
    t = await startTestGateway({ backend: "postgres" });
  });

  after(async function () {
    await t?.close();
  });

  it("create with an Idempotency-Key, replay, details, duplicate enrolment, import, outage and resubmission", async function () {
    const gw = t!;
    const caseworker = gw.auth("township-caseworker");
    const { body } = application();

    const created = await gw.http
      .post("/v1/cases")
      .set("Authorization", caseworker)
      .set("Idempotency-Key", "pg-1")
      .set("Prefer", "wait=10")
      .send(body);
    const replay = await gw.http
      .post("/v1/cases")
      .set("Authorization", caseworker)
      .set("Idempotency-Key", "pg-1")
      .send(body);
    expect(created.status).to.equal(201);
    expect(replay.body.caseId).to.equal(created.body.caseId);
    const onChain = await gw.gateway.ctx.ledger.caseRecord(created.body.caseId);
    expect(onChain?.recordDigest).to.equal(created.body.records[3].digest);

    const details = await gw.http.get(`/v1/cases/${created.body.caseId}/details`).set("Authorization", caseworker);
    expect(details.status).to.equal(200);
    expect(details.body.identity.applicant.residentId).to.equal(body.applicant.residentId);
    const finance = await gw.http
      .get(`/v1/cases/${created.body.caseId}/details`)
      .set("Authorization", gw.auth("county-finance"));
    expect(finance.body.error.code).to.equal("NO_ACCESS");

    const duplicate = await gw.http
      .post("/v1/cases")
      .set("Authorization", caseworker)
      .send({ ...body, programmeId: 3 });
    expect(duplicate.status).to.equal(409);

    const imported = await gw.http
      .post("/v1/cases/import")
      .set("Authorization", caseworker)
      .set("Content-Type", "text/csv")
      .send(csvOf(Array.from({ length: 10 }, () => application().body)));
    expect(imported.status).to.equal(202);
    await eventually(
      async () => (await gw.gateway.ctx.store.listCases({ status: "pending-chain" })).length === 0,
      30_000,
      "the imported cases to be submitted",
    );
    for (const caseId of imported.body.caseIds) {
      expect(await gw.gateway.ctx.ledger.caseRecord(caseId)).to.not.equal(null);
    }

    await gw.chain.stop();
    let pending;
    try {
      pending = await gw.http.post("/v1/cases").set("Authorization", caseworker).send(application().body);
    } finally {
      await gw.chain.restart();
    }
    expect(pending.status).to.equal(202);
    await submitPendingCases(gw.gateway.ctx);
    expect((await gw.gateway.ctx.store.getCase(pending.body.caseId))?.status).to.equal("submitted");
  });
});
