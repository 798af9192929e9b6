import { expect } from "chai";
import { submitPendingCases } from "../../../gateway/src/cases/submitter";
import { type TestGateway, startTestGateway } from "../api/harness";
import { application, counts, eventually } from "./helpers";

type IntakeBody = { caseId: string; records: { kind: string; digest: string }[] };

describe("cases API: taking applications in", function () {
  this.timeout(120_000);
  let t: TestGateway;

  before(async function () {
    t = await startTestGateway();
  });

  after(async function () {
    await t?.close();
  });

  type Who = Parameters<TestGateway["auth"]>[0];
  /** POST /v1/cases; `wait`: with `Prefer: wait=<wait>` (the chain's answer). */
  const post = (body: unknown, who: Who = "township-caseworker", wait?: number | string) => {
    const req = t.http.post("/v1/cases").set("Authorization", t.auth(who));
    if (wait !== undefined) req.set("Prefer", typeof wait === "number" ? `wait=${wait}` : wait);
    return req.send(body as object);
  };
  const kinds = (res: { body: { records: { kind: string }[] } }) => res.body.records.map((r) => r.kind);

  it("POST /v1/cases: 202 pending-chain once stored, four sealed records; the case goes on chain in the background with the manifest's digest", async function () {
    const { body } = application();

    const res = await post(body);

    expect(res.status).to.equal(202);
    expect(res.body.status).to.equal("pending-chain");
    expect(res.body.caseId).to.match(/^0x[0-9a-f]{64}$/);
    expect(res.body).to.not.have.property("txHash");
    expect(res.headers["preference-applied"]).to.equal(undefined);
    expect(kinds(res)).to.deep.equal(["identity", "household", "payment", "application"]);
    expect(await t.gateway.ctx.store.listRecords({ caseId: res.body.caseId })).to.have.length(4);
    const manifest = res.body.records.find((r: { kind: string }) => r.kind === "application");
    await eventually(
      async () => (await t.gateway.ctx.store.getCase(res.body.caseId))?.status === "submitted",
      20_000,
      "the case on chain",
    );
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

  it("Prefer: wait=10: 201 submitted with the transaction once the chain has the case; Preference-Applied; a longer wait is capped at 30 s", async function () {
    const { body } = application();

    const res = await post(body, "township-caseworker", 10);

    expect(res.status).to.equal(201);
    expect(res.headers["preference-applied"]).to.equal("wait=10");
    expect(res.headers.vary).to.match(/prefer/i);
    expect(res.body.status).to.equal("submitted");
    expect(res.body.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(kinds(res)).to.deep.equal(["identity", "household", "payment", "application"]);
    const manifest = res.body.records.find((r: { kind: string }) => r.kind === "application");
    expect((await t.gateway.ctx.ledger.caseRecord(res.body.caseId))?.recordDigest).to.equal(manifest.digest);
    expect((await t.gateway.ctx.store.getCase(res.body.caseId))?.status).to.equal("submitted");
    const submitted = await t.gateway.ctx.store.listAudit({ target: res.body.caseId, action: "case.submitted" });
    expect(submitted.map((a) => a.details)).to.deep.equal([
      { txHash: res.body.txHash, blockNumber: (submitted[0].details as { blockNumber: number }).blockNumber },
    ]);

    const capped = await post(application().body, "township-caseworker", "respond-async, wait=3600");
    expect(capped.status).to.equal(201);
    expect(capped.headers["preference-applied"]).to.equal("wait=30");
  });

  it("Prefer without a usable wait (malformed, 0, another preference) is ignored: 202, no Preference-Applied", async function () {
    for (const prefer of ["wait=soon", "wait=0", "return=minimal", "wait=-1"]) {
      const res = await post(application().body, "township-caseworker", prefer);
      expect(res.status, prefer).to.equal(202);
      expect(res.body.status, prefer).to.equal("pending-chain");
      expect(res.headers["preference-applied"], prefer).to.equal(undefined);
    }
  });

  it("stores no personal string in the clear: envelopes, audit log, logs and the index hold none of them", async function () {
    const { body, personal } = application();
    const res = await post(body, "township-caseworker", 10);
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

  it("Idempotency-Key: a replay returns the same case and stores once (the stored 202, or with Prefer: wait the same 201); another body with the key is 422", async function () {
    const { body } = application();
    const key = `intake-${Date.now()}`;
    const send = (b: unknown, wait?: number) => {
      const req = t.http
        .post("/v1/cases")
        .set("Authorization", t.auth("township-caseworker"))
        .set("Idempotency-Key", key);
      if (wait !== undefined) req.set("Prefer", `wait=${wait}`);
      return req.send(b as object);
    };

    const first = await send(body, 10);
    const afterFirst = await counts(t);
    // The same body with its keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const replay = await send(reordered, 10);
    const stored = await send(body);
    const other = await send({ ...body, household: { ...body.household, monthlyIncome: 1 } });

    expect(first.status).to.equal(201);
    expect(replay.status).to.equal(201);
    expect(replay.headers["idempotent-replayed"]).to.equal("true");
    expect(replay.body).to.deep.equal(first.body);
    expect(stored.status).to.equal(202);
    expect(stored.headers["idempotent-replayed"]).to.equal("true");
    expect(stored.body).to.deep.equal({
      caseId: first.body.caseId,
      status: "pending-chain",
      records: first.body.records,
    });
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
    expect((await post(body)).status).to.equal(202);
    const before = await counts(t);

    // 農村低保 (programme 2) shares exclusion group 1 with 城市低保.
    const again = await post({ ...body, programmeId: 2 });

    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("CONFLICT");
    expect(again.body.error.message).to.equal("an active case exists for this person in an exclusive programme");
    expect(await counts(t)).to.deep.equal(before);
    // Temporary assistance (group 0) is not exclusive.
    expect((await post({ ...body, programmeId: 4, requestedAmount: 100_000 })).status).to.equal(202);
  });

  it("a submission the chain refuses after the data is stored: with Prefer: wait 409 LEDGER_REJECTED, case marked rejected, replay the same", async function () {
    const { ledger } = t.gateway.ctx;
    const account = ledger.accountOf("township-caseworker");
    const { body } = application();
    const key = `refused-${Date.now()}`;
    const send = () =>
      t.http
        .post("/v1/cases")
        .set("Authorization", t.auth("township-caseworker"))
        .set("Idempotency-Key", key)
        .set("Prefer", "wait=10")
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
    expect(replay.headers["idempotent-replayed"]).to.equal("true");
    expect({ ...replay.body.error, requestId: "" }).to.deep.equal({ ...res.body.error, requestId: "" });
    const pseudonym = t.gateway.ctx.keyring.pseudonym(body.applicant.residentId);
    const cases = await t.gateway.ctx.store.listCases({ pseudonym });
    expect(cases.map((c) => c.status)).to.deep.equal(["rejected"]);
    const refused = await t.gateway.ctx.store.listAudit({ target: cases[0].caseId, action: "case.refused-on-chain" });
    expect(refused).to.have.length(1);
    expect(refused[0].details).to.deep.equal({ ledgerCode: "LedgerUnauthorizedRole" });
    // Rejected: the person may apply again.
    const again = await post(body, "township-caseworker", 10);
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

  it("chain down: 202 pending-chain with the data stored (also with Prefer: wait); back up: the submitter puts every case on chain exactly once", async function () {
    // Let what earlier tests started settle, then count.
    await submitPendingCases(t.gateway.ctx);
    const casesBefore = await t.gateway.ctx.ledger.caseCount();
    await t.chain.stop();
    const accepted: { caseId: string; records: { kind: string; digest: string }[] }[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const res = await post(application().body, "township-caseworker", i === 0 ? 2 : undefined);
        expect(res.status).to.equal(202);
        expect(res.body.status).to.equal("pending-chain");
        expect((await t.gateway.ctx.store.getCase(res.body.caseId))?.status).to.equal("pending-chain");
        expect(await t.gateway.ctx.store.listRecords({ caseId: res.body.caseId })).to.have.length(4);
        accepted.push(res.body);
      }
      // A round while the chain is away leaves them pending.
      const away = await submitPendingCases(t.gateway.ctx);
      expect(away.unavailable).to.equal(true);
      for (const c of accepted) expect((await t.gateway.ctx.store.getCase(c.caseId))?.status).to.equal("pending-chain");
    } finally {
      await t.chain.restart();
    }

    // Rounds run one after another and never send a case twice; two of them find nothing more to do.
    await Promise.all([submitPendingCases(t.gateway.ctx), submitPendingCases(t.gateway.ctx)]);
    await submitPendingCases(t.gateway.ctx);

    expect(await t.gateway.ctx.ledger.caseCount()).to.equal(casesBefore + accepted.length);
    for (const c of accepted) {
      expect((await t.gateway.ctx.store.getCase(c.caseId))?.status).to.equal("submitted");
      const onChain = await t.gateway.ctx.ledger.caseRecord(c.caseId);
      expect(onChain?.recordDigest).to.equal(c.records.find((r) => r.kind === "application")!.digest);
      const submitted = await t.gateway.ctx.store.listAudit({ target: c.caseId, action: "case.submitted" });
      expect(submitted).to.have.length(1);
    }
  });

  it("pipelining: cases taken in together are all sent before any is mined, then mined together", async function () {
    const { ctx } = t.gateway;
    const account = ctx.ledger.accountOf("township-caseworker");
    const nonce = (tag: string) => t.chain.rpc<string>("eth_getTransactionCount", [account, tag]).then(Number);
    await t.chain.rpc("evm_setAutomine", [false]);
    let ids: string[];
    try {
      const responses = await Promise.all([1, 2, 3, 4, 5].map(() => post(application().body)));
      expect(responses.map((r) => r.status)).to.deep.equal([202, 202, 202, 202, 202]);
      ids = responses.map((r) => r.body.caseId as string);
      // Five transactions in the node's pool at once: none waited for an earlier one's receipt.
      const latest = await nonce("latest");
      await eventually(async () => (await nonce("pending")) - latest === 5, 20_000, "five transactions sent");
      for (const id of ids) expect((await ctx.store.getCase(id))?.status).to.equal("pending-chain");
    } finally {
      await t.chain.rpc("evm_setAutomine", [true]);
    }
    await t.chain.rpc("evm_mine");
    await eventually(
      async () => (await Promise.all(ids.map((id) => ctx.store.getCase(id)))).every((c) => c?.status === "submitted"),
      20_000,
      "all five submitted",
    );
    const blocks = await Promise.all(
      ids.map(async (id) => {
        const [entry] = await ctx.store.listAudit({ target: id, action: "case.submitted" });
        return (entry.details as { blockNumber: number }).blockNumber;
      }),
    );
    expect(new Set(blocks).size).to.equal(1);
  });

  describe("batches: the background round puts stored cases on chain many a transaction", function () {
    /** Cases intake stores while the caseworker's chain account cannot pay gas: they stay `pending-chain`. */
    const storedWithoutGas = async (n: number, meanwhile?: (cases: IntakeBody[]) => Promise<void>) => {
      const { ctx } = t.gateway;
      await submitPendingCases(ctx);
      const account = ctx.ledger.accountOf("township-caseworker");
      const balance = await t.chain.rpc<string>("eth_getBalance", [account, "latest"]);
      await t.chain.rpc("anvil_setBalance", [account, "0x0"]);
      const cases: IntakeBody[] = [];
      try {
        for (let i = 0; i < n; i++) {
          const res = await post(application().body);
          expect(res.status).to.equal(202);
          cases.push(res.body as IntakeBody);
        }
        await submitPendingCases(ctx);
        for (const c of cases) expect((await ctx.store.getCase(c.caseId))?.status).to.equal("pending-chain");
        await meanwhile?.(cases);
      } finally {
        await t.chain.rpc("anvil_setBalance", [account, balance]);
      }
      await submitPendingCases(ctx);
      return cases;
    };
    const submittedEntry = async (caseId: string) => {
      const entries = await t.gateway.ctx.store.listAudit({ target: caseId, action: "case.submitted" });
      expect(entries, caseId).to.have.length(1);
      return entries[0].details as { txHash?: string; batch?: number; alreadyOnChain?: boolean };
    };

    it("pending cases of one caseworker go on chain in one submitCases transaction", async function () {
      const cases = await storedWithoutGas(3);
      const entries = await Promise.all(cases.map((c) => submittedEntry(c.caseId)));
      for (const c of cases) expect((await t.gateway.ctx.store.getCase(c.caseId))?.status).to.equal("submitted");
      expect(new Set(entries.map((e) => e.txHash)).size).to.equal(1);
      expect(entries.map((e) => e.batch)).to.deep.equal([3, 3, 3]);
      const receipt = await t.chain.rpc<{ logs: unknown[] }>("eth_getTransactionReceipt", [entries[0].txHash]);
      expect(receipt.logs).to.have.length(3); // one CaseSubmitted a case
      for (const c of cases) {
        const onChain = await t.gateway.ctx.ledger.caseRecord(c.caseId);
        expect(onChain?.recordDigest).to.equal(c.records.find((r) => r.kind === "application")!.digest);
      }
    });

    it("a batch the chain refuses is sent again case by case: one already on chain is taken, one refused is rejected, the rest go on", async function () {
      const { ctx } = t.gateway;
      const cases = await storedWithoutGas(3, async ([mined, clash]) => {
        // As if an earlier round's transaction had been mined unheard of (a crash), and a case id taken by another.
        for (const [c, digest] of [
          [mined, mined.records.find((r) => r.kind === "application")!.digest],
          [clash, `0x${"ab".repeat(32)}`],
        ] as const) {
          const row = (await ctx.store.getCase(c.caseId))!;
          await ctx.ledger.submitCase("county-approver", {
            caseId: c.caseId,
            programmeId: row.programmeId,
            region: BigInt(row.regionCode),
            pseudonym: row.pseudonym,
            recordDigest: digest,
          });
        }
      });
      const [mined, clash, clean] = cases;
      expect((await ctx.store.getCase(mined.caseId))?.status).to.equal("submitted");
      expect(await submittedEntry(mined.caseId)).to.deep.equal({ alreadyOnChain: true });
      expect((await ctx.store.getCase(clash.caseId))?.status).to.equal("rejected");
      const refused = await ctx.store.listAudit({ target: clash.caseId, action: "case.refused-on-chain" });
      expect(refused.map((e) => e.details)).to.deep.equal([{ ledgerCode: "LedgerCaseExists" }]);
      expect((await ctx.store.getCase(clean.caseId))?.status).to.equal("submitted");
      const alone = await submittedEntry(clean.caseId);
      expect(alone.batch).to.equal(undefined);
      expect(alone.txHash).to.match(/^0x[0-9a-f]{64}$/);
    });
  });
});
