import { expect } from "chai";
import { type TestGateway, startTestGateway } from "../api/harness";
// After the harness: the gateway's modules extend zod for OpenAPI before the cases module builds its schemas.
import type { InstitutionPrincipal } from "../../../gateway/src/auth";
import { IMPORT_CHUNK, importCases } from "../../../gateway/src/cases/service";
import { type Store, StoreError } from "../../../gateway/src/store";
import { type Application, application, counts, csvOf, eventually } from "./helpers";

describe("cases API: CSV import", function () {
  this.timeout(180_000);
  let t: TestGateway;

  before(async function () {
    t = await startTestGateway();
  });

  after(async function () {
    await t?.close();
  });

  const upload = (csv: string, who: Parameters<TestGateway["auth"]>[0] = "township-caseworker") =>
    t.http.post("/v1/cases/import").set("Authorization", t.auth(who)).set("Content-Type", "text/csv").send(csv);

  const households = (n: number, options: Parameters<typeof application>[0] = {}): Application[] =>
    Array.from({ length: n }, () => application(options).body);

  it("50 households: 202, stored as pending-chain cases, and all of them end up on chain with their manifests", async function () {
    const apps = households(50);

    const res = await upload(csvOf(apps));

    expect(res.status).to.equal(202);
    expect(res.body.imported).to.equal(50);
    expect(res.body.caseIds).to.have.length(50);
    const store = t.gateway.ctx.store;
    await eventually(
      async () => (await store.listCases({ status: "pending-chain" })).length === 0,
      60_000,
      "the imported cases to be submitted",
    );
    for (const caseId of res.body.caseIds) {
      const row = await store.getCase(caseId);
      expect(row?.status).to.equal("submitted");
      const manifest = await store.getRecord(row!.applicationRecordId);
      const onChain = await t.gateway.ctx.ledger.caseRecord(caseId);
      expect(onChain?.recordDigest).to.equal(manifest?.digest);
      expect(await store.listRecords({ caseId })).to.have.length(4);
    }
    // The applicant of the first household is the one its pseudonym names.
    const first = await store.getCase(res.body.caseIds[0]);
    const pseudonyms = apps.map((a) => t.gateway.ctx.keyring.pseudonym(a.applicant.residentId));
    expect(pseudonyms).to.include(first!.pseudonym);
    const imported = await store.listAudit({ action: "cases.imported" });
    expect(imported.at(-1)?.details).to.deep.equal({ imported: 50 });
  });

  it("one bad row: 400 with that row (no value in it) and nothing stored", async function () {
    const apps = households(5);
    const bad = apps[2].household.members[1].residentId;
    apps[2].household.members[1].residentId = bad.slice(0, 17) + (bad[17] === "0" ? "1" : "0");
    const before = await counts(t);

    const res = await upload(csvOf(apps));

    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal("VALIDATION_FAILED");
    // Rows: header 0, households of 3 members each: household 3's second member is row 8.
    expect(res.body.rows).to.deep.equal([
      {
        row: 8,
        householdRef: "HH-3",
        field: "resident_id",
        code: "INVALID_RESIDENT_ID",
        message: "must be a valid GB 11643 resident ID number",
      },
    ]);
    expect(JSON.stringify(res.body)).to.not.include(apps[2].household.members[1].residentId);
    expect(await counts(t)).to.deep.equal(before);
  });

  it("households outside the caller's region or programme, or already enrolled: error rows, nothing stored", async function () {
    const enrolled = application().body;
    expect(
      (await t.http.post("/v1/cases").set("Authorization", t.auth("township-caseworker")).send(enrolled)).status,
    ).to.equal(202);
    const apps = households(4);
    apps[0].region = "110105002000"; // another township
    apps[1].programmeId = 42; // no such programme
    apps[3] = { ...enrolled, programmeId: 2 }; // 農村低保: the same exclusion group
    const twice = { ...apps[2], programmeId: 3 }; // in the file twice, 城市低保 and 特困
    const before = await counts(t);

    const res = await upload(csvOf([...apps, twice]));

    expect(res.status).to.equal(400);
    expect(
      res.body.rows.map((r: { householdRef: string; field: string; code: string }) => [
        r.householdRef,
        r.field,
        r.code,
      ]),
    ).to.deep.equal([
      ["HH-1", "region", "OUTSIDE_REGION"],
      ["HH-2", "programme_id", "UNKNOWN_PROGRAMME"],
      ["HH-4", "resident_id", "ACTIVE_CASE_EXISTS"],
      ["HH-5", "resident_id", "ACTIVE_CASE_EXISTS"],
    ]);
    expect(await counts(t)).to.deep.equal(before);
  });

  it("refused uploads: not text/csv 415, not a caseworker 403, a header-only file 400", async function () {
    const json = await t.http
      .post("/v1/cases/import")
      .set("Authorization", t.auth("township-caseworker"))
      .send({ csv: "x" });
    const finance = await upload(csvOf(households(1)), "county-finance");
    const empty = await upload(csvOf([]));

    expect(json.status).to.equal(415);
    expect(json.body.error.code).to.equal("UNSUPPORTED_MEDIA_TYPE");
    expect(finance.status).to.equal(403);
    expect(finance.body.error.code).to.equal("FORBIDDEN_ROLE");
    expect(empty.status).to.equal(400);
    expect(empty.body.rows[0]).to.include({ row: 0, code: "NO_HOUSEHOLDS" });
  });

  it("imports more than one transaction's worth (IMPORT_CHUNK + 1 households) in one request: every case with its four records, queued in order; speed is measured by npm run bench", async function () {
    const apps = households(IMPORT_CHUNK + 1, { members: 2 });
    const res = await upload(csvOf(apps));
    expect(res.status).to.equal(202);
    expect(res.body.imported).to.equal(IMPORT_CHUNK + 1);
    expect(res.body.caseIds).to.have.length(IMPORT_CHUNK + 1);
    const store = t.gateway.ctx.store;
    const pseudonyms = apps.map((a) => t.gateway.ctx.keyring.pseudonym(a.applicant.residentId));
    const stored = await store.listCasesOfPseudonyms(pseudonyms);
    expect(stored.map((c) => c.caseId).sort()).to.deep.equal([...res.body.caseIds].sort());
    // The last household of the first transaction and the one of the second: their records are queued in the order
    // sealed (identity, household, payment, manifest), the first transaction's before the second's.
    const queued: number[] = [];
    for (const caseId of [res.body.caseIds[IMPORT_CHUNK - 1], res.body.caseIds[IMPORT_CHUNK]]) {
      const byKind = new Map((await store.listRecords({ caseId })).map((r) => [r.kind, r]));
      for (const kind of ["identity", "household", "payment", "application"]) {
        queued.push((await store.getAnchoringStatus(byKind.get(kind)!.id))!.position);
      }
      expect(await store.listAudit({ action: "case.received", target: caseId })).to.have.length(1);
    }
    expect(queued).to.have.length(8);
    expect(queued).to.deep.equal([...queued].sort((x, y) => x - y));
  });

  it("a database failure midway: the transactions before stay stored and the import is audited as interrupted; nothing after", async function () {
    const ctx = t.gateway.ctx;
    const row = (await ctx.store.getInstitution("township-caseworker"))!;
    const principal: InstitutionPrincipal = {
      kind: "institution",
      keyId: "test",
      id: row.id,
      role: row.role,
      region: BigInt(row.regionCode),
      account: row.account,
    };
    // Three transactions; the second fails while the third's households are being sealed.
    const apps = households(2 * IMPORT_CHUNK + 1, { members: 1 });
    const failure = new StoreError("UNAVAILABLE", "the database went away");
    let calls = 0;
    const store: Store = {
      ...ctx.store,
      transaction: (fn) => (++calls === 2 ? Promise.reject(failure) : ctx.store.transaction(fn)),
    };

    const error = await importCases({ ...ctx, store }, principal, csvOf(apps)).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).to.equal(failure);
    const pseudonyms = apps.map((a) => ctx.keyring.pseudonym(a.applicant.residentId));
    const stored = await ctx.store.listCasesOfPseudonyms(pseudonyms);
    expect(new Set(stored.map((c) => c.pseudonym))).to.deep.equal(new Set(pseudonyms.slice(0, IMPORT_CHUNK)));
    const interrupted = await ctx.store.listAudit({ action: "cases.import-interrupted", actor: principal.id });
    expect(interrupted.at(-1)?.details).to.deep.equal({ imported: IMPORT_CHUNK, households: 2 * IMPORT_CHUNK + 1 });
  });
});
