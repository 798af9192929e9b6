import { expect } from "chai";
import { PayoutStatus } from "../../../lib/roles";
import { MONTHLY, type Ledger } from "../../../gateway/src/ledger";
import { sm3 } from "../../../gateway/src/crypto";
import { payoutIdOf } from "../../../gateway/src/payouts/ids";
import { type TestGateway, startTestGateway } from "../api/harness";
import { approveCases, fundPool, hex32, passNotice, settleBackground, submitCases } from "./helpers";

const URBAN = 1;
const BANK_REF = "ICBC-20261115-000123";
const REASON = "賬戶已銷戶 account closed";

describe("payouts API: settlement reports", function () {
  this.timeout(60_000);
  let t: TestGateway;
  let ledger: Ledger;
  let period: number;
  let ids: string[];
  let amounts: bigint[];
  const pid = (i: number) => payoutIdOf({ caseId: ids[i], period, eventId: MONTHLY });

  const csv = (text: string, who: Parameters<TestGateway["auth"]>[0] = "county-bank") =>
    t.http.post("/v1/settlements").set("Authorization", t.auth(who)).set("Content-Type", "text/csv").send(text);
  const runMonthly = async (key: string) => {
    const res = await t.http
      .post("/v1/payout-runs")
      .set("Authorization", t.auth("county-finance"))
      .set("Idempotency-Key", key)
      .send({ programmeId: URBAN });
    expect(res.status).to.equal(202);
    await settleBackground(t);
    return res.body.runId as string;
  };
  const status = async (i: number) => (await ledger.payoutStatus({ caseId: ids[i], period, eventId: MONTHLY })).status;

  before(async function () {
    t = await startTestGateway();
    ledger = t.gateway.ctx.ledger;
    await fundPool(t, URBAN, 10_000_000n);
    const specs = Array.from({ length: 5 }, (_, i) => ({
      programmeId: URBAN,
      householdSize: 1 + i,
      incomePerHead: 10_000n,
    }));
    ids = await submitCases(t, specs);
    await passNotice(t);
    amounts = await approveCases(t, ids, specs);
    period = await ledger.currentPeriod();
    await runMonthly("settle-run-1");
  });

  after(async function () {
    await t?.close();
  });

  let file: string;
  it("a CSV with settled and failed lines: chain statuses Settled / None, the failed payout's money back in the pool", async function () {
    const poolBefore = await ledger.poolBalance(URBAN);
    file = [
      "payout_id,bank_reference,outcome,reason",
      `${pid(0)},${BANK_REF},settled,`,
      `${pid(1)},${BANK_REF},settled,`,
      "",
      `${pid(2)},"${BANK_REF}",settled,`,
      `${pid(3)},,failed,"${REASON}"`,
    ].join("\r\n");
    const res = await csv(file);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ settled: 3, failed: 1, already: 0, transactions: 2 });
    expect(JSON.stringify(res.body)).to.not.include("ICBC");

    expect([await status(0), await status(1), await status(2)]).to.deep.equal(Array(3).fill(PayoutStatus.Settled));
    expect(await status(3)).to.equal(PayoutStatus.None);
    expect(await status(4)).to.equal(PayoutStatus.Paid);
    expect(await ledger.poolBalance(URBAN)).to.equal(poolBefore + amounts[3]);

    const rows = await Promise.all([0, 1, 2, 3, 4].map((i) => t.gateway.ctx.store.getPayout(pid(i))));
    expect(rows.map((r) => r!.status)).to.deep.equal(["settled", "settled", "settled", "failed", "paid"]);
    // No report-level reference in a CSV: the batch's reference is the digest of the file.
    const fileDigest = "0x" + sm3(Buffer.from(file, "utf8")).toString("hex");
    const digest = t.gateway.ctx.keyring.digestSecret("bank-reference", `report:${fileDigest}`);
    expect(rows.slice(0, 4).map((r) => r!.bankRefDigest)).to.deep.equal(Array(4).fill(digest));
    const settledEvents = (await ledger.events(0)).filter((e) => e.name === "PayoutSettled");
    expect(settledEvents).to.have.length(3);
    for (const e of settledEvents)
      if (e.name === "PayoutSettled") expect(e.args.bankRefDigest).to.equal(rows[0]!.bankRefDigest);

    const [failure] = await t.gateway.ctx.store.listAudit({ action: "payout.failed" });
    expect(failure).to.include({ target: pid(3), reason: REASON, actor: "county-bank" });
    expect(JSON.stringify(failure.details)).to.not.include("銷戶");
    expect(t.logs.join("")).to.not.include(BANK_REF).and.not.include("銷戶");
  });

  it("the same file again: every line `already`, nothing sent", async function () {
    const blockBefore = await ledger.blockNumber();
    const res = await csv(file);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ settled: 0, failed: 0, already: 4, transactions: 0 });
    expect(await ledger.blockNumber()).to.equal(blockBefore);
  });

  it("a report with a bad line: 400 with the rows at fault, nothing changed on chain or in the gateway", async function () {
    // The failed payout is payable again: the next run pays it again.
    await runMonthly("settle-run-2");
    expect(await status(3)).to.equal(PayoutStatus.Paid);
    expect(await t.gateway.ctx.store.getPayout(pid(3))).to.include({ status: "paid", bankRefDigest: null });

    const blockBefore = await ledger.blockNumber();
    const bad = [
      "payout_id,bank_reference,outcome,reason",
      `${pid(3)},${BANK_REF},settled,`,
      `${payoutIdOf({ caseId: hex32(), period, eventId: MONTHLY })},${BANK_REF},settled,`,
      `${pid(4)},${BANK_REF},bounced,`,
      `${pid(2)},,failed,`,
      `not-a-payout,${BANK_REF},settled,`,
      `${pid(0)},,failed,${REASON}`,
      `${pid(3)},${BANK_REF},settled,`,
    ].join("\n");
    const res = await csv(bad);
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal("VALIDATION_FAILED");
    expect(res.body.rows).to.deep.equal([
      { row: 2, field: "payout_id", code: "UNKNOWN_PAYOUT" },
      { row: 3, field: "outcome", code: "INVALID_OUTCOME" },
      { row: 4, field: "reason", code: "REQUIRED" },
      { row: 5, field: "payout_id", code: "INVALID_PAYOUT_ID" },
      { row: 6, field: "outcome", code: "NOT_AWAITING_SETTLEMENT" },
      { row: 7, field: "payout_id", code: "DUPLICATE_PAYOUT" },
    ]);
    expect(JSON.stringify(res.body)).to.not.include("ICBC").and.not.include("銷戶");
    expect(await ledger.blockNumber()).to.equal(blockBefore);
    expect(await status(3)).to.equal(PayoutStatus.Paid);
    expect(await t.gateway.ctx.store.getPayout(pid(3))).to.include({ status: "paid" });

    const header = await csv(`payout_id,outcome,comment\n${pid(3)},settled`);
    expect(header.body.rows).to.deep.equal([{ row: 0, field: "column 3", code: "UNKNOWN_COLUMN" }]);
    const missing = await csv(`payout_id,bank_reference\n${pid(3)},${BANK_REF}`);
    expect(missing.body.rows).to.deep.equal([{ row: 0, field: "outcome", code: "MISSING_COLUMN" }]);
    const malformed = await csv(`payout_id,bank_reference,outcome,reason\n"${pid(3)},x,settled,`);
    expect(malformed.body.rows[0]).to.include({ field: "csv", code: "MALFORMED_CSV" });
    expect((await csv("payout_id,bank_reference,outcome,reason\n")).body.rows).to.deep.equal([
      { row: 0, field: "csv", code: "EMPTY" },
    ]);
  });

  it("a JSON report settles the re-paid payout; other roles, other regions' agents and other media types are refused", async function () {
    const json = (body: unknown, who: Parameters<TestGateway["auth"]>[0] = "county-bank") =>
      t.http
        .post("/v1/settlements")
        .set("Authorization", t.auth(who))
        .send(body as object);
    expect((await json({ items: [] }, "county-finance")).body.error.code).to.equal("FORBIDDEN_ROLE");
    const text = await t.http
      .post("/v1/settlements")
      .set("Authorization", t.auth("county-bank"))
      .set("Content-Type", "text/plain")
      .send("x");
    expect(text.status).to.equal(415);

    const created = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("admin"))
      .send({ id: "shanghai-bank", name: "上海代發銀行 (test)", role: "payment-agent", region: "310000" });
    const foreign = await t.http
      .post("/v1/settlements")
      .set("Authorization", `Bearer ${created.body.apiKey}`)
      .send({ items: [{ payoutId: pid(3), bankReference: BANK_REF, outcome: "settled" }] });
    expect(foreign.status).to.equal(400);
    expect(foreign.body.rows).to.deep.equal([{ row: 1, field: "payoutId", code: "OUTSIDE_REGION" }]);

    const badItem = await json({ items: [{ payoutId: pid(3), outcome: "settled", bankReference: 7, note: "x" }] });
    expect(badItem.body.rows).to.deep.equal([
      { row: 1, field: "bankReference", code: "INVALID_TYPE" },
      { row: 1, field: "note", code: "UNKNOWN_FIELD" },
    ]);

    const res = await json({
      reference: "BATCH-2",
      items: [
        { payoutId: pid(3), bankReference: BANK_REF, outcome: "settled" },
        { payoutId: pid(0), bankReference: BANK_REF, outcome: "settled" },
      ],
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ settled: 1, failed: 0, already: 1, transactions: 1 });
    expect(await status(3)).to.equal(PayoutStatus.Settled);
    expect(await t.gateway.ctx.store.getPayout(pid(3))).to.include({
      status: "settled",
      bankRefDigest: t.gateway.ctx.keyring.digestSecret("bank-reference", "BATCH-2"),
    });
    const audit = await t.gateway.ctx.store.listAudit({ action: "settlement.reported" });
    expect(audit).to.have.length(3);
  });

  it("failed lines go many a transaction: one multicall for three failures, each payout failed with its amount", async function () {
    const specs = Array.from({ length: 2 }, (_, i) => ({
      programmeId: URBAN,
      householdSize: 2 + i,
      incomePerHead: 0n,
    }));
    const more = await submitCases(t, specs);
    await passNotice(t);
    const moreAmounts = await approveCases(t, more, specs);
    await runMonthly("settle-run-3");
    const failing = [pid(4), ...more.map((caseId) => payoutIdOf({ caseId, period, eventId: MONTHLY }))];
    const poolBefore = await ledger.poolBalance(URBAN);
    const res = await csv(
      ["payout_id,bank_reference,outcome,reason", ...failing.map((id) => `${id},,failed,${REASON}`)].join("\n"),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.equal({ settled: 0, failed: 3, already: 0, transactions: 1 });
    expect(await ledger.poolBalance(URBAN)).to.equal(poolBefore + amounts[4] + moreAmounts[0] + moreAmounts[1]);
    const audits = await Promise.all(
      failing.map(
        async (id) =>
          (await t.gateway.ctx.store.listAudit({ action: "payout.failed", target: id }))[0].details as Record<
            string,
            unknown
          >,
      ),
    );
    expect(new Set(audits.map((a) => a.txHash)).size).to.equal(1);
    expect(audits.map((a) => a.amount)).to.deep.equal([amounts[4], ...moreAmounts].map(String));
    for (const id of failing) expect((await t.gateway.ctx.store.getPayout(id))!.status).to.equal("failed");
  });
});
