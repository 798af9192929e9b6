import { expect } from "chai";
import Database from "better-sqlite3";
import { Role } from "../../../lib/roles";
import { formatPeriod } from "../../../lib/periods";
import { registerInstitution } from "../../../gateway/src/institutions/registry";
import { openRecord } from "../../../gateway/src/records";
import type { AnchoringWorker } from "../../../gateway/src/anchoring";
import { type TestGateway, startTestGateway } from "../api/harness";
import {
  TEKUN,
  TEKUN_AMOUNT,
  type TestCase,
  anchorer,
  approveCases,
  digest,
  fundPool,
  payCurrentPeriod,
  residentId,
  settle,
  submittedCase,
} from "../beneficiary/fixtures";

describe("audit API: verification, fund trail, audited decryption, audit log", function () {
  this.timeout(120_000);
  let tg: TestGateway;
  let worker: AnchoringWorker;
  let otherAuditor: string;
  let centralAuditor: string;
  let cases: TestCase[];

  before(async function () {
    tg = await startTestGateway();
    worker = anchorer(tg);
    otherAuditor = `Bearer ${
      (
        await registerInstitution(tg.gateway.ctx, {
          id: "fengtai-auditor",
          name: "豐台區審計局",
          role: Role.Auditor,
          region: 110106n,
        })
      ).apiKey!.token
    }`;
    centralAuditor = `Bearer ${
      (
        await registerInstitution(tg.gateway.ctx, {
          id: "central-auditor",
          name: "審計署",
          role: Role.Auditor,
          region: 0n,
        })
      ).apiKey!.token
    }`;
    cases = [await submittedCase(tg, residentId(11)), await submittedCase(tg, residentId(12))];
  });

  after(async function () {
    await tg?.close();
  });

  const verify = (recordId: string, auth = tg.auth("county-auditor")) =>
    tg.http.get(`/v1/records/${recordId}/verification`).set("Authorization", auth);

  describe("GET /v1/records/{recordId}/verification", function () {
    it("a record not yet anchored: digest matches, pending-anchor, no proof", async function () {
      const res = await verify(cases[0].record.id);

      expect(res.status).to.equal(200);
      expect(res.body).to.deep.include({
        recordId: cases[0].record.id,
        kind: "application",
        caseId: cases[0].caseId,
        digest: cases[0].record.digest,
        digestMatches: true,
        anchored: false,
        proof: null,
        verdict: "pending-anchor",
      });
    });

    it("after the anchoring worker ran: verified offline and on chain, proof names the chain's anchor", async function () {
      const round = await worker.runOnce();
      expect(round.anchoredRecords).to.be.at.least(2);

      const res = await verify(cases[0].record.id);

      expect(res.status).to.equal(200);
      expect(res.body).to.include({
        digestMatches: true,
        anchored: true,
        verifiedOffline: true,
        verifiedOnChain: true,
        verdict: "verified",
      });
      const proof = res.body.proof;
      expect(proof).to.include({
        format: "relief-proof-v1",
        recordId: cases[0].record.id,
        recordDigest: cases[0].record.digest,
      });
      const onChain = await tg.gateway.ctx.ledger.anchorAt(proof.anchorSequence);
      expect(onChain.root).to.equal(proof.root);
      expect(onChain.blockNumber).to.equal(proof.blockNumber);
      expect(proof.contract).to.equal(tg.deployment.addresses.anchors);
    });

    it("a caseworker and an approver of the region may verify; another region's auditor gets 403 OUTSIDE_REGION", async function () {
      expect((await verify(cases[0].record.id, tg.auth("township-caseworker"))).status).to.equal(200);
      expect((await verify(cases[0].record.id, tg.auth("county-approver"))).status).to.equal(200);
      const other = await verify(cases[0].record.id, otherAuditor);
      expect(other.status).to.equal(403);
      expect(other.body.error.code).to.equal("OUTSIDE_REGION");
      const bank = await verify(cases[0].record.id, tg.auth("county-bank"));
      expect(bank.status).to.equal(403);
      expect(bank.body.error.code).to.equal("FORBIDDEN_ROLE");
      expect((await tg.http.get(`/v1/records/${cases[0].record.id}/verification`)).status).to.equal(401);
      const missing = await verify("rec_00000000000000000000000000");
      expect(missing.status).to.equal(404);
      expect(missing.body.error.code).to.equal("NOT_FOUND");
    });

    it("a record whose envelope was edited in the database: digest no longer matches, tampered", async function () {
      const target = cases[1].record;
      const db = new Database(tg.gateway.ctx.config.sqlitePath);
      try {
        const row = db.prepare("SELECT envelope FROM records WHERE id = ?").get(target.id) as { envelope: Buffer };
        const edited = Buffer.from(row.envelope);
        edited[edited.length - 1] ^= 0x01;
        db.prepare("UPDATE records SET envelope = ? WHERE id = ?").run(edited, target.id);
      } finally {
        db.close();
      }

      const res = await verify(target.id);

      expect(res.status).to.equal(200);
      expect(res.body).to.include({ digestMatches: false, anchored: true, verdict: "tampered" });
    });
  });

  describe("POST /v1/records/{recordId}/decrypt", function () {
    const decrypt = (recordId: string, body: object, auth = tg.auth("county-auditor")) =>
      tg.http.post(`/v1/records/${recordId}/decrypt`).set("Authorization", auth).send(body);
    const decryptAudits = (caseId: string) => tg.gateway.ctx.store.listRecords({ caseId, kind: "decrypt-audit" });

    it("without a reason: 400 VALIDATION_FAILED on field reason, nothing logged or stored", async function () {
      const before = (await tg.gateway.ctx.store.listAudit({ action: "record.decrypted" })).length;

      const res = await decrypt(cases[0].record.id, { fields: "identity" });
      const blank = await decrypt(cases[0].record.id, { fields: "identity", reason: "   " });

      expect(res.status).to.equal(400);
      expect(res.body.error).to.include({ code: "VALIDATION_FAILED", field: "reason" });
      expect(blank.status).to.equal(400);
      expect(blank.body.error.field).to.equal("reason");
      expect(await tg.gateway.ctx.store.listAudit({ action: "record.decrypted" })).to.have.length(before);
      expect(await decryptAudits(cases[0].caseId)).to.deep.equal([]);
    });

    it("another region's auditor: 403 OUTSIDE_REGION; a class the auditor holds no key of: 403 NO_ACCESS; nothing logged", async function () {
      const other = await decrypt(cases[0].record.id, { fields: "identity", reason: "spot check" }, otherAuditor);
      const payment = await decrypt(cases[0].record.id, { fields: "payment", reason: "spot check" });
      const approver = await decrypt(
        cases[0].record.id,
        { fields: "identity", reason: "x" },
        tg.auth("county-approver"),
      );

      expect(other.status).to.equal(403);
      expect(other.body.error.code).to.equal("OUTSIDE_REGION");
      expect(payment.status).to.equal(403);
      expect(payment.body.error.code).to.equal("NO_ACCESS");
      expect(approver.status).to.equal(403);
      expect(approver.body.error.code).to.equal("FORBIDDEN_ROLE");
      expect(await tg.gateway.ctx.store.listAudit({ action: "record.decrypted" })).to.deep.equal([]);
      expect(await decryptAudits(cases[0].caseId)).to.deep.equal([]);
    });

    it("with a reason: the fields, an audit entry with the reason, and a decrypt-audit record that gets anchored", async function () {
      const reason = "2026年第一季度低保專項審計抽查";

      const res = await decrypt(cases[0].record.id, { fields: "identity", reason });

      expect(res.status).to.equal(200);
      expect(res.body).to.include({ recordId: cases[0].record.id, fieldClass: "identity", caseId: cases[0].caseId });
      expect(res.body.fields.applicant.residentId).to.equal(cases[0].residentId);

      const [entry] = await tg.gateway.ctx.store.listAudit({ action: "record.decrypted", target: cases[0].record.id });
      expect(entry).to.include({ actor: "county-auditor", reason });
      expect(entry.details).to.deep.include({ fieldClass: "identity", auditRecordId: res.body.auditRecordId });
      expect(JSON.stringify(entry.details)).to.not.include(cases[0].residentId);

      const [audit] = await decryptAudits(cases[0].caseId);
      expect(audit.id).to.equal(res.body.auditRecordId);
      const keys = await tg.gateway.ctx.store.listRecordKeys(audit.id);
      expect(keys.map((k) => k.holderId).sort()).to.deep.equal(["county-approver", "county-auditor"]);
      const payload = (await openRecord(
        tg.gateway.ctx.keyring,
        tg.gateway.ctx.store,
        audit,
        "county-approver",
        "household",
      )) as Record<string, unknown>;
      expect(payload).to.include({ auditor: "county-auditor", recordId: cases[0].record.id, fieldClass: "identity" });
      expect(payload.reasonDigest).to.match(/^0x[0-9a-f]{64}$/);
      expect(JSON.stringify(payload)).to.not.include(reason);

      expect((await verify(audit.id)).body.verdict).to.equal("pending-anchor");
      await worker.runOnce();
      expect((await verify(audit.id)).body).to.include({ verdict: "verified", verifiedOnChain: true });
    });
  });

  describe("GET /v1/fund-trail", function () {
    const trail = (query: string, auth = tg.auth("county-auditor")) =>
      tg.http.get(`/v1/fund-trail${query}`).set("Authorization", auth);
    const budget = TEKUN_AMOUNT * 10n;
    let period: number;

    before(async function () {
      await fundPool(tg, TEKUN, budget);
      await approveCases(tg, cases);
      const keys = await payCurrentPeriod(tg, cases);
      period = keys[0].period;
      await settle(tg, [keys[0]]);
      const ledger = tg.gateway.ctx.ledger;
      await ledger.recordClawback("county-finance", {
        key: keys[0],
        amount: 5_000n,
        referenceDigest: digest("overpaid"),
      });
      await ledger.reportFailure("county-bank", keys[1], digest("account closed"));
      await ledger.defundProgramme("county-finance", {
        programmeId: TEKUN,
        amount: 100_000n,
        referenceDigest: digest("back"),
      });
    });

    it("the county's trail: inflow = held + paid out, every replayed balance equals the chain's", async function () {
      const res = await trail("");

      expect(res.status).to.equal(200);
      const paidOut = TEKUN_AMOUNT * 2n - TEKUN_AMOUNT - 5_000n; // two paid, one failed, a clawback
      expect(res.body.scope).to.include({ region: "110105", programmeId: null, period: null });
      expect(res.body.conservation).to.deep.equal({
        appropriated: String(budget),
        held: String(budget - paidOut),
        paidOut: String(paidOut),
        holds: true,
        matchesChain: true,
      });
      const ledger = tg.gateway.ctx.ledger;
      const pool = res.body.pools.find((p: { programmeId: number }) => p.programmeId === TEKUN);
      expect(pool).to.deep.include({
        region: "110105",
        funded: String(budget),
        defunded: "100000",
        paidOut: String(TEKUN_AMOUNT * 2n),
        failed: String(TEKUN_AMOUNT),
        clawedBack: "5000",
        balance: String(await ledger.poolBalance(TEKUN)),
        matches: true,
      });
      expect(res.body.regions).to.deep.include({
        region: "110105",
        balance: "100000",
        chainBalance: "100000",
        matches: true,
      });
      expect(res.body.flows).to.deep.include.members([
        { type: "allocation", from: "110100", to: "110105", programmeId: null, count: 1, amount: String(budget) },
        {
          type: "programme-funding",
          from: "110105",
          to: `pool:${TEKUN}`,
          programmeId: TEKUN,
          count: 1,
          amount: String(budget),
        },
        {
          type: "programme-defunding",
          from: `pool:${TEKUN}`,
          to: "110105",
          programmeId: TEKUN,
          count: 1,
          amount: "100000",
        },
      ]);
      expect(res.body.flows.map((f: { type: string }) => f.type)).to.not.include("appropriation");
      expect(res.body.payouts).to.deep.equal([
        {
          programmeId: TEKUN,
          period: formatPeriod(period),
          count: 2,
          amount: String(TEKUN_AMOUNT * 2n),
          settled: { count: 1, amount: String(TEKUN_AMOUNT) },
          failed: { count: 1, amount: String(TEKUN_AMOUNT) },
          clawedBack: { count: 1, amount: "5000" },
        },
      ]);
    });

    it("central scope: appropriated, held and paid out equal the chain's fundTotals", async function () {
      const res = await trail("?region=0", centralAuditor);

      expect(res.status).to.equal(200);
      const totals = await tg.gateway.ctx.ledger.fundTotals();
      expect(res.body.conservation).to.deep.equal({
        appropriated: String(totals.appropriated),
        held: String(totals.held),
        paidOut: String(totals.paidOut),
        holds: true,
        matchesChain: true,
      });
      expect(res.body.flows).to.deep.include({
        type: "appropriation",
        from: "appropriation",
        to: "0",
        programmeId: null,
        count: 1,
        amount: String(budget),
      });
    });

    it("filters by programme and period; finance may read it; the region must be inside the caller's", async function () {
      const byProgramme = await trail(
        `?programmeId=${TEKUN}&period=${formatPeriod(period)}`,
        tg.auth("county-finance"),
      );
      expect(byProgramme.status).to.equal(200);
      expect(byProgramme.body.scope).to.include({ programmeId: TEKUN, period: formatPeriod(period) });
      expect(byProgramme.body.payouts).to.have.length(1);
      expect(byProgramme.body.flows.every((f: { programmeId: number }) => f.programmeId === TEKUN)).to.equal(true);

      const otherPeriod = await trail(`?period=2000-01`);
      expect(otherPeriod.body.payouts).to.deep.equal([]);
      expect(otherPeriod.body.conservation.holds).to.equal(true);

      const outside = await trail("?region=0");
      expect(outside.status).to.equal(403);
      expect(outside.body.error.code).to.equal("OUTSIDE_REGION");
      const caseworker = await trail("", tg.auth("township-caseworker"));
      expect(caseworker.status).to.equal(403);
      expect(caseworker.body.error.code).to.equal("FORBIDDEN_ROLE");
      const bad = await trail("?period=2026-13");
      expect(bad.status).to.equal(400);
      expect(bad.body.error.field).to.equal("query.period");
    });
  });

  describe("GET /v1/audit-log", function () {
    it("entries of the caller's region, filterable by action and pageable; other regions' cases are left out", async function () {
      const store = tg.gateway.ctx.store;
      const foreignCase = digest("fengtai-case");
      await store.putCase({
        caseId: foreignCase,
        programmeId: TEKUN,
        regionCode: 110106,
        pseudonym: digest("someone in fengtai"),
        submitter: "fengtai-caseworker",
        applicationRecordId: "rec_none",
        status: "submitted",
      });
      await store.appendAudit({ actor: "fengtai-caseworker", action: "case.submitted", target: foreignCase });
      await store.appendAudit({ actor: "township-caseworker", action: "case.submitted", target: cases[0].caseId });

      const county = await tg.http
        .get("/v1/audit-log?action=case.submitted")
        .set("Authorization", tg.auth("county-auditor"));
      const central = await tg.http.get("/v1/audit-log?action=case.submitted").set("Authorization", centralAuditor);
      const fengtai = await tg.http.get("/v1/audit-log?action=case.submitted").set("Authorization", otherAuditor);

      expect(county.status).to.equal(200);
      expect(county.body.entries.map((e: { target: string }) => e.target)).to.deep.equal([cases[0].caseId]);
      expect(central.body.entries.map((e: { target: string }) => e.target)).to.deep.equal([
        foreignCase,
        cases[0].caseId,
      ]);
      expect(fengtai.body.entries.map((e: { target: string }) => e.target)).to.deep.equal([foreignCase]);

      const decrypted = await tg.http
        .get("/v1/audit-log?action=record.decrypted")
        .set("Authorization", tg.auth("county-auditor"));
      expect(decrypted.body.entries).to.have.length(1);
      expect(decrypted.body.entries[0]).to.include({ actor: "county-auditor", target: cases[0].record.id });

      const first = await tg.http.get("/v1/audit-log?limit=2").set("Authorization", tg.auth("county-auditor"));
      expect(first.body.entries).to.have.length(2);
      const second = await tg.http
        .get(`/v1/audit-log?limit=2&after=${first.body.next}`)
        .set("Authorization", tg.auth("county-auditor"));
      expect(second.body.entries[0].id).to.be.greaterThan(first.body.entries[1].id);

      const approver = await tg.http.get("/v1/audit-log").set("Authorization", tg.auth("county-approver"));
      expect(approver.status).to.equal(403);
      const bad = await tg.http.get("/v1/audit-log?since=yesterday").set("Authorization", tg.auth("county-auditor"));
      expect(bad.status).to.equal(400);
      expect(bad.body.error.field).to.equal("query.since");
    });
  });

  describe("logs", function () {
    it("no resident ID or decrypt reason appears in any log line", function () {
      const text = tg.logs.join("");
      for (const c of cases) expect(text).to.not.include(c.residentId);
      expect(text).to.not.include("專項審計");
    });
  });
});
