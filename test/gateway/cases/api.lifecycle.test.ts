import { expect } from "chai";
import { CaseStatus } from "../../../lib/roles";
import { type TestGateway, startTestGateway } from "../api/harness";
import { DAY } from "../ledger/anvil";
import { application } from "./helpers";

const NOTICE = 7 * DAY;

describe("cases API: lifecycle", function () {
  this.timeout(120_000);
  let t: TestGateway;

  before(async function () {
    t = await startTestGateway();
  });

  after(async function () {
    await t?.close();
  });

  type Who = Parameters<TestGateway["auth"]>[0];
  const act = (caseId: string, path: string, who: Who, body: object = {}) =>
    t.http.post(`/v1/cases/${caseId}/${path}`).set("Authorization", t.auth(who)).send(body);

  const intake = (body: object, wait?: number) => {
    const req = t.http.post("/v1/cases").set("Authorization", t.auth("township-caseworker"));
    if (wait !== undefined) req.set("Prefer", `wait=${wait}`);
    return req.send(body);
  };

  /** A case the chain has (intake waited for it). */
  async function submitted(options: Parameters<typeof application>[0] = {}) {
    const { body } = application(options);
    const res = await intake(body, 10);
    expect(res.status).to.equal(201);
    return { caseId: res.body.caseId as string, body, records: res.body.records };
  }

  /** A case just taken in (202 `pending-chain`; its submission may be in flight). */
  async function accepted(options: Parameters<typeof application>[0] = {}) {
    const { body } = application(options);
    const res = await intake(body);
    expect(res.status).to.equal(202);
    return { caseId: res.body.caseId as string, body, records: res.body.records };
  }

  const indexStatus = async (caseId: string) => (await t.gateway.ctx.store.getCase(caseId))?.status;
  const chainStatus = async (caseId: string) => (await t.gateway.ctx.ledger.caseRecord(caseId))?.status;

  it("review → notice → approve (gap rule from the household record) → re-certify → suspend → resume → exit", async function () {
    const { caseId } = await submitted({ members: 3, monthlyIncome: 60_000 });

    const byApprover = await act(caseId, "review", "county-approver", { passed: true, reason: "材料齊全" });
    expect(byApprover.status).to.equal(403);
    expect(byApprover.body.error.code).to.equal("FORBIDDEN_ROLE");

    const review = await act(caseId, "review", "township-caseworker", {
      passed: true,
      reason: "材料齊全，入戶核查屬實",
    });
    expect(review.status).to.equal(200);
    expect(review.body.status).to.equal("in-notice");
    expect(review.body.noticeEnds).to.be.greaterThan(0);
    expect(await indexStatus(caseId)).to.equal("in-notice");

    const early = await act(caseId, "approve", "county-approver");
    expect(early.status).to.equal(409);
    expect(early.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerNoticeNotOver" });

    await t.chain.increaseTime(NOTICE + 1);
    const approve = await act(caseId, "approve", "county-approver");
    expect(approve.status).to.equal(200);
    // 補差: (73,700 − 60,000 / 3) × 3
    expect(approve.body.amount).to.equal(String((73_700 - 20_000) * 3));
    expect(approve.body.assessment).to.deep.equal({ householdSize: 3, incomePerHead: "20000", amount: "0" });
    expect(approve.body.status).to.equal("approved");
    expect(approve.body.chain).to.include({ status: "approved", amount: "161100" });
    expect(await indexStatus(caseId)).to.equal("approved");

    // Re-certification with the household now: a fourth member and more income, sealed as new records.
    const before = await t.http.get(`/v1/cases/${caseId}/details`).set("Authorization", t.auth("county-approver"));
    const newborn = application({ members: 3 }).body.household.members[2];
    const household = {
      members: [
        ...before.body.identity.members.map((m: { name: string; residentId: string }, i: number) => ({
          ...m,
          relation: before.body.household.members[i].relation,
        })),
        { name: newborn.name, residentId: newborn.residentId, relation: "child" },
      ],
      monthlyIncome: 100_000,
    };
    const recertify = await act(caseId, "recertify", "county-approver", { household });
    expect(recertify.status).to.equal(200);
    expect(recertify.body.amount).to.equal(String((73_700 - 25_000) * 4));
    expect(recertify.body.records.map((r: { kind: string }) => r.kind)).to.deep.equal([
      "identity",
      "household",
      "application",
    ]);
    const onChain = await t.gateway.ctx.ledger.caseRecord(caseId);
    expect(onChain?.recordDigest).to.equal(recertify.body.recordDigest);
    expect(recertify.body.records[2].digest).to.equal(recertify.body.recordDigest);
    const after = await t.http.get(`/v1/cases/${caseId}/details`).set("Authorization", t.auth("township-caseworker"));
    expect(after.status).to.equal(200);
    expect(after.body.identity.members).to.have.length(4);
    expect(after.body.identity.applicant).to.deep.equal(before.body.identity.applicant);
    expect(after.body.household.monthlyIncome).to.equal(100_000);
    const payment = await t.http.get(`/v1/cases/${caseId}/payment-details`).set("Authorization", t.auth("county-bank"));
    expect(payment.status).to.equal(200);

    const suspend = await act(caseId, "suspend", "county-approver", { reason: "未按時報告收入變化" });
    expect(suspend.status).to.equal(200);
    expect(suspend.body.status).to.equal("suspended");
    const resume = await act(caseId, "resume", "county-approver", { reason: "已補報" });
    expect(resume.body.status).to.equal("approved");
    const exit = await act(caseId, "exit", "county-approver", { reason: "收入超過標準" });
    expect(exit.status).to.equal(200);
    expect(exit.body.status).to.equal("exiting");
    expect(exit.body.lastPeriod).to.be.a("number");
    expect(await chainStatus(caseId)).to.equal(CaseStatus.Exiting);
    expect(await indexStatus(caseId)).to.equal("exiting");

    const actions = (await t.gateway.ctx.store.listAudit({ target: caseId })).map((a) => a.action);
    expect(actions).to.include.members([
      "case.reviewed",
      "case.approved",
      "case.recertified",
      "case.suspended",
      "case.resumed",
      "case.exited",
    ]);
    const suspended = (await t.gateway.ctx.store.listAudit({ target: caseId, action: "case.suspended" }))[0];
    expect(suspended.reason).to.equal("未按時報告收入變化");
    const events = JSON.stringify(await t.gateway.ctx.ledger.events(0), (_k, v) =>
      typeof v === "bigint" ? String(v) : v,
    );
    expect(events).to.not.include("未按時報告收入變化");
    expect(events).to.include(t.gateway.ctx.keyring.digestSecret("reason", "未按時報告收入變化"));
  });

  it("reject: an approver rejects a submitted case; the index follows; a second rejection is refused by the chain", async function () {
    const { caseId } = await submitted();

    const reject = await act(caseId, "reject", "county-approver", { reason: "不符合條件" });
    const again = await act(caseId, "reject", "county-approver", { reason: "不符合條件" });

    expect(reject.status).to.equal(200);
    expect(reject.body.status).to.equal("rejected");
    expect(await indexStatus(caseId)).to.equal("rejected");
    expect(await chainStatus(caseId)).to.equal(CaseStatus.Rejected);
    expect(again.status).to.equal(409);
    expect(again.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerInvalidCaseStatus" });
    // A rejected case no longer blocks a new application of the same person.
    const { body } = application();
    // Rejecting it right after intake (202) submits it first.
    const first = await intake(body);
    expect(first.status).to.equal(202);
    expect((await act(first.body.caseId, "reject", "county-approver", { reason: "材料不全" })).status).to.equal(200);
    const second = await intake(body, 10);
    expect(second.status).to.equal(201);
  });

  it("a decision on a case still pending-chain submits it first (once), then decides", async function () {
    const { caseId } = await accepted();

    const review = await act(caseId, "review", "township-caseworker", { passed: true, reason: "材料齊全" });

    expect(review.status).to.equal(200);
    expect(review.body.status).to.equal("in-notice");
    expect(await chainStatus(caseId)).to.equal(CaseStatus.InNotice);
    expect(await indexStatus(caseId)).to.equal("in-notice");
    const audit = await t.gateway.ctx.store.listAudit({ target: caseId });
    expect(audit.map((a) => a.action)).to.deep.equal(["case.received", "case.submitted", "case.reviewed"]);
  });

  it("chain down: a decision on a pending-chain case is 503 CHAIN_UNAVAILABLE and changes nothing; back up, it goes through", async function () {
    // Taken in while the chain is away: nothing on chain yet.
    await t.chain.stop();
    let caseId: string;
    try {
      ({ caseId } = await accepted());
      const res = await act(caseId, "review", "township-caseworker", { passed: true, reason: "ok" });
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal("CHAIN_UNAVAILABLE");
      expect(res.headers["retry-after"]).to.equal("5");
      expect(await indexStatus(caseId)).to.equal("pending-chain");
      const actions = (await t.gateway.ctx.store.listAudit({ target: caseId })).map((a) => a.action);
      expect(actions).to.deep.equal(["case.received"]);
    } finally {
      await t.chain.restart();
    }
    expect(await chainStatus(caseId)).to.equal(undefined);

    const review = await act(caseId, "review", "township-caseworker", { passed: true, reason: "ok" });

    expect(review.status).to.equal(200);
    expect(review.body.status).to.equal("in-notice");
    const actions = (await t.gateway.ctx.store.listAudit({ target: caseId })).map((a) => a.action);
    expect(actions).to.deep.equal(["case.received", "case.submitted", "case.reviewed"]);
  });

  it("a decision on a pending-chain case the chain refuses: 409 LEDGER_REJECTED naming the refusal; the case is rejected", async function () {
    const { ledger } = t.gateway.ctx;
    const account = ledger.accountOf("township-caseworker");
    await ledger.setInstitutionActive("admin", account, false);
    let caseId: string;
    let res;
    try {
      ({ caseId } = await accepted());
      res = await act(caseId, "review", "township-caseworker", { passed: true, reason: "ok" });
    } finally {
      await ledger.setInstitutionActive("admin", account, true);
    }

    expect(res.status).to.equal(409);
    expect(res.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerUnauthorizedRole" });
    expect(await indexStatus(caseId)).to.equal("rejected");
    expect(await chainStatus(caseId)).to.equal(undefined);
  });

  it("objections: an open one blocks approval; an upheld one rejects the case", async function () {
    const { caseId } = await submitted();
    expect((await act(caseId, "review", "township-caseworker", { passed: true, reason: "ok" })).status).to.equal(200);

    const objection = await act(caseId, "objections", "township-caseworker", { reason: "鄰居反映有車輛" });
    expect(objection.status).to.equal(200);
    expect(objection.body.objectionDigest).to.match(/^0x[0-9a-f]{64}$/);
    expect(objection.body.chain.openObjections).to.equal(1);

    await t.chain.increaseTime(NOTICE + 1);
    const blocked = await act(caseId, "approve", "county-approver");
    expect(blocked.status).to.equal(409);
    expect(blocked.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerOpenObjections" });

    const resolve = await act(caseId, "objections/resolve", "county-approver", {
      objectionDigest: objection.body.objectionDigest,
      upheld: true,
      reason: "核實有車輛",
    });
    expect(resolve.status).to.equal(200);
    expect(resolve.body.status).to.equal("rejected");
    expect(await indexStatus(caseId)).to.equal("rejected");
  });

  it("a failed review rejects the case", async function () {
    const { caseId } = await submitted();
    const review = await act(caseId, "review", "township-caseworker", { passed: false, reason: "收入超標" });
    expect(review.status).to.equal(200);
    expect(review.body.status).to.equal("rejected");
    expect(await chainStatus(caseId)).to.equal(CaseStatus.Rejected);
  });

  it("temporary assistance: approval defaults to the amount requested", async function () {
    const { caseId } = await submitted({ programmeId: 4, requestedAmount: 300_000 });
    await act(caseId, "review", "township-caseworker", { passed: true, reason: "急難" });
    await t.chain.increaseTime(NOTICE + 1);

    const approve = await act(caseId, "approve", "county-approver");

    expect(approve.status).to.equal(200);
    expect(approve.body.amount).to.equal("300000");
  });

  it("separation of duties: the institution that submitted a case cannot approve it (409 LEDGER_REJECTED)", async function () {
    // Approvers may submit on chain too (Cases.sol); the API lets only caseworkers, so set the case up directly.
    const { ctx } = t.gateway;
    const caseId = "0x" + "5e".repeat(32);
    const pseudonym = ctx.keyring.pseudonym(application().body.applicant.residentId);
    await ctx.ledger.submitCase("county-approver", {
      caseId,
      programmeId: 1,
      region: 110105001000n,
      pseudonym,
      recordDigest: "0x" + "d1".repeat(32),
    });
    await ctx.store.putCase({
      caseId,
      programmeId: 1,
      regionCode: 110105001000,
      pseudonym,
      submitter: "county-approver",
      applicationRecordId: "rec_none",
      status: "submitted",
    });
    expect((await act(caseId, "review", "township-caseworker", { passed: true, reason: "ok" })).status).to.equal(200);
    await t.chain.increaseTime(NOTICE + 1);

    const res = await act(caseId, "approve", "county-approver", { householdSize: 2, incomePerHead: 10_000 });

    expect(res.status).to.equal(409);
    expect(res.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerSelfApproval" });
    expect(await chainStatus(caseId)).to.equal(CaseStatus.InNotice);
    expect(await indexStatus(caseId)).to.equal("in-notice");
  });

  it("validation: a reason is required; unknown fields are refused; nothing reaches the chain", async function () {
    const { caseId } = await submitted();
    const noReason = await act(caseId, "suspend", "county-approver", {});
    const extra = await act(caseId, "review", "township-caseworker", { passed: true, reason: "x", note: "y" });
    const badAmount = await act(caseId, "approve", "county-approver", { amount: -5 });

    expect(noReason.status).to.equal(400);
    expect(noReason.body.error).to.include({ code: "VALIDATION_FAILED", field: "reason" });
    expect(extra.status).to.equal(400);
    expect(extra.body.error).to.include({ code: "VALIDATION_FAILED", field: "note" });
    expect(badAmount.status).to.equal(400);
    expect(badAmount.body.error).to.include({ code: "VALIDATION_FAILED", field: "amount" });
    expect(await chainStatus(caseId)).to.equal(CaseStatus.Submitted);
  });

  describe("POST /v1/cases/reviews: many reviews in one transaction", function () {
    const reviews = (body: object, who: Who = "township-caseworker") =>
      t.http.post("/v1/cases/reviews").set("Authorization", t.auth(who)).send(body);

    it("reviews every case in one ledger transaction: statuses, notice ends, one audit entry a case", async function () {
      const cases = [await submitted(), await submitted(), await accepted()]; // the last may still be pending-chain
      const res = await reviews({
        reviews: cases.map((c, i) => ({ caseId: c.caseId, passed: i !== 1, reason: `批量審核 ${i}` })),
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.reviews.map((r: { status: string }) => r.status)).to.deep.equal([
        "in-notice",
        "rejected",
        "in-notice",
      ]);
      const receipt = await t.chain.rpc<{ status: string }>("eth_getTransactionReceipt", [res.body.txHash]);
      expect(receipt.status).to.equal("0x1");
      expect(res.body.reviews[0].noticeEnds).to.be.greaterThan(0);
      expect(res.body.reviews[1].noticeEnds).to.equal(0);
      for (const [i, c] of cases.entries()) {
        expect(await indexStatus(c.caseId)).to.equal(i === 1 ? "rejected" : "in-notice");
        expect(await chainStatus(c.caseId)).to.equal(i === 1 ? CaseStatus.Rejected : CaseStatus.InNotice);
        const audit = await t.gateway.ctx.store.listAudit({ target: c.caseId, action: "case.reviewed" });
        expect(audit).to.have.length(1);
        expect(audit[0].reason).to.equal(`批量審核 ${i}`);
        expect(audit[0].details).to.include({ txHash: res.body.txHash, batch: 3, passed: i !== 1 });
      }
      // Reasons go on chain as keyed digests only.
      expect(JSON.stringify(await t.chain.rpc("eth_getTransactionReceipt", [res.body.txHash]))).to.not.include(
        Buffer.from("批量審核").toString("hex"),
      );
    });

    it("all or none: one case the chain refuses names reviews.<i>, and no case changes", async function () {
      const [a, b] = [await submitted(), await submitted()];
      expect((await act(b.caseId, "review", "township-caseworker", { passed: true, reason: "先審" })).status).to.equal(
        200,
      );
      const res = await reviews({
        reviews: [
          { caseId: a.caseId, passed: true, reason: "ok" },
          { caseId: b.caseId, passed: true, reason: "again" },
        ],
      });
      expect(res.status).to.equal(409);
      expect(res.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerInvalidCaseStatus" });
      expect(res.body.error.field).to.equal("reviews.1");
      expect(await indexStatus(a.caseId)).to.equal("submitted");
      expect(await chainStatus(a.caseId)).to.equal(CaseStatus.Submitted);
      expect(await t.gateway.ctx.store.listAudit({ target: a.caseId, action: "case.reviewed" })).to.have.length(0);
    });

    it("bad input is 400 naming the field, a wrong role 403, an invisible case 404; nothing changes", async function () {
      const a = await submitted();
      const ok = { caseId: a.caseId, passed: true, reason: "ok" };
      for (const [body, field] of [
        [{ reviews: [] }, "reviews"],
        [{ reviews: [{ ...ok, passed: "yes" }] }, "reviews.0.passed"],
        [{ reviews: [ok, ok] }, "reviews.1.caseId"],
        [{ reviews: [{ ...ok, extra: 1 }] }, "reviews.0.extra"],
        [{ reviews: Array.from({ length: 201 }, () => ok) }, "reviews"],
      ] as const) {
        const res = await reviews(body);
        expect(res.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
        expect(res.body.error.code).to.equal("VALIDATION_FAILED");
        expect(res.body.error.field).to.equal(field);
      }
      expect((await reviews({ reviews: [ok] }, "county-approver")).status).to.equal(403);
      const nobody = await reviews({ reviews: [{ ...ok, caseId: `0x${"12".repeat(32)}` }] });
      expect(nobody.status).to.equal(404);
      expect(await indexStatus(a.caseId)).to.equal("submitted");
    });
  });

  describe("POST /v1/cases/decisions: many approvals and rejections in one transaction", function () {
    const decide = (body: object, who: Who = "county-approver") =>
      t.http.post("/v1/cases/decisions").set("Authorization", t.auth(who)).send(body);

    /** Cases whose notice is over, ready for a decision. */
    async function inNotice(n: number, options: Parameters<typeof application>[0] = {}) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const { caseId } = await submitted(options);
        expect((await act(caseId, "review", "township-caseworker", { passed: true, reason: "ok" })).status).to.equal(
          200,
        );
        ids.push(caseId);
      }
      await t.chain.increaseTime(NOTICE + 1);
      return ids;
    }

    it("decides every case in one ledger transaction, each as its single route: amounts, statuses, audit", async function () {
      const ids = await inNotice(3, { members: 3, monthlyIncome: 60_000 });
      const res = await decide({
        decisions: [
          { caseId: ids[0], decision: "approve" },
          { caseId: ids[1], decision: "reject", reason: "收入核實超標" },
          { caseId: ids[2], decision: "approve", householdSize: 2, incomePerHead: 10_000 },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const [first, second, third] = res.body.decisions;
      // 補差 from the household record, as POST /approve: (73,700 − 60,000 / 3) × 3; and from what was given.
      expect(first).to.include({ status: "approved", amount: String((73_700 - 20_000) * 3), txHash: res.body.txHash });
      expect(second).to.include({ status: "rejected" });
      expect(second).to.not.have.property("amount");
      expect(third).to.include({ status: "approved", amount: String((73_700 - 10_000) * 2) });
      const receipt = await t.chain.rpc<{ status: string }>("eth_getTransactionReceipt", [res.body.txHash]);
      expect(receipt.status).to.equal("0x1");
      expect(await chainStatus(ids[0])).to.equal(CaseStatus.Approved);
      expect(await chainStatus(ids[1])).to.equal(CaseStatus.Rejected);
      expect(await chainStatus(ids[2])).to.equal(CaseStatus.Approved);
      expect((await t.gateway.ctx.ledger.caseRecord(ids[2]))?.amount).to.equal(BigInt((73_700 - 10_000) * 2));
      expect([await indexStatus(ids[0]), await indexStatus(ids[1]), await indexStatus(ids[2])]).to.deep.equal([
        "approved",
        "rejected",
        "approved",
      ]);
      const approved = await t.gateway.ctx.store.listAudit({ target: ids[0], action: "case.approved" });
      expect(approved).to.have.length(1);
      expect(approved[0].details).to.include({ txHash: res.body.txHash, batch: 3, amount: "161100" });
      const rejected = await t.gateway.ctx.store.listAudit({ target: ids[1], action: "case.rejected" });
      expect(rejected[0].reason).to.equal("收入核實超標");
      // The household was opened for the first approval only (the third was given its assessment).
      expect(await t.gateway.ctx.store.listAudit({ target: ids[0], action: "record.opened" })).to.not.have.length(0);
      expect(JSON.stringify(receipt)).to.not.include(Buffer.from("收入核實超標").toString("hex"));
    });

    it("all or none: one case the chain refuses names decisions.<i>, and no case changes", async function () {
      const ids = await inNotice(2);
      expect((await act(ids[1], "reject", "county-approver", { reason: "先駁回" })).status).to.equal(200);
      const res = await decide({
        decisions: [
          { caseId: ids[0], decision: "approve" },
          { caseId: ids[1], decision: "approve" },
        ],
      });
      expect(res.status).to.equal(409);
      expect(res.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerInvalidCaseStatus" });
      expect(res.body.error.field).to.equal("decisions.1");
      expect(await indexStatus(ids[0])).to.equal("in-notice");
      expect(await chainStatus(ids[0])).to.equal(CaseStatus.InNotice);
      expect(await t.gateway.ctx.store.listAudit({ target: ids[0], action: "case.approved" })).to.have.length(0);
    });

    it("bad input is 400 naming the field, a wrong role 403, an invisible case 404; nothing changes", async function () {
      const [a] = await inNotice(1);
      const ok = { caseId: a, decision: "approve" };
      for (const [body, field] of [
        [{ decisions: [] }, "decisions"],
        [{ decisions: [{ ...ok, decision: "maybe" }] }, "decisions.0.decision"],
        [{ decisions: [{ caseId: a, decision: "reject" }] }, "decisions.0.reason"],
        [{ decisions: [ok, ok] }, "decisions.1.caseId"],
        [{ decisions: [{ ...ok, householdSize: 0 }] }, "decisions.0.householdSize"],
        [{ decisions: [{ ...ok, reason: "x" }] }, "decisions.0.reason"],
        [{ decisions: Array.from({ length: 101 }, () => ok) }, "decisions"],
      ] as const) {
        const res = await decide(body);
        expect(res.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
        expect(res.body.error.code).to.equal("VALIDATION_FAILED");
        expect(res.body.error.field).to.equal(field);
      }
      expect((await decide({ decisions: [ok] }, "township-caseworker")).status).to.equal(403);
      const nobody = await decide({ decisions: [{ ...ok, caseId: `0x${"12".repeat(32)}` }] });
      expect(nobody.status).to.equal(404);
      expect(await indexStatus(a)).to.equal("in-notice");
    });
  });
});
