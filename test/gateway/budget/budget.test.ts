import { expect } from "chai";
import type { Ledger } from "../../../gateway/src/ledger";
import { type TestGateway, startTestGateway } from "../api/harness";

const URBAN = 1;
const REF = "財社〔2026〕12號";

describe("budget API: the fund trail down the hierarchy", function () {
  this.timeout(60_000);
  let t: TestGateway;
  let ledger: Ledger;
  let shanghaiKey: string;

  type Who = Parameters<TestGateway["auth"]>[0];
  const post = (path: string, body: object, who: Who) =>
    t.http.post(`/v1/budget${path}`).set("Authorization", t.auth(who)).send(body);
  const balances = (who: Who, region?: string) =>
    t.http
      .get(`/v1/budget/balances${region === undefined ? "" : `?region=${region}`}`)
      .set("Authorization", t.auth(who));

  before(async function () {
    t = await startTestGateway();
    ledger = t.gateway.ctx.ledger;
    const created = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("admin"))
      .send({ id: "shanghai-finance", name: "上海市財政局 (test)", role: "finance", region: "310000" });
    expect(created.status).to.equal(201);
    shanghaiKey = created.body.apiKey;
  });

  after(async function () {
    await t?.close();
  });

  it("central appropriates; the reference goes on chain as a keyed digest and into the audit log's reason", async function () {
    const res = await post("/appropriations", { amount: 1_000_000_000, reference: REF }, "central-finance");
    expect(res.status).to.equal(201);
    expect(res.body).to.have.keys("txHash", "blockNumber", "referenceDigest");
    expect(res.body.referenceDigest).to.equal(t.gateway.ctx.keyring.digestSecret("reference", REF));
    expect(await ledger.regionBalance(0n)).to.equal(1_000_000_000n);
    const [event] = (await ledger.events(res.body.blockNumber, res.body.blockNumber)).filter(
      (e) => e.name === "FundsAppropriated",
    );
    expect(event.args).to.deep.equal({ amount: 1_000_000_000n, referenceDigest: res.body.referenceDigest });
    const [entry] = await t.gateway.ctx.store.listAudit({ action: "budget.appropriated" });
    expect(entry).to.include({ actor: "central-finance", reason: REF });
    expect(JSON.stringify(entry.details)).to.not.include("財社");

    const province = await post("/appropriations", { amount: 1, reference: REF }, "province-finance");
    expect(province.status).to.equal(403);
    expect(province.body.error.code).to.equal("OUTSIDE_REGION");
    expect((await post("/appropriations", { amount: 1, reference: REF }, "county-approver")).body.error.code).to.equal(
      "FORBIDDEN_ROLE",
    );
  });

  it("allocations central → province → city → county, funding of the county's pool, and the balances", async function () {
    const steps: [Who, string, number][] = [
      ["central-finance", "110000", 500_000_000],
      ["province-finance", "110100", 300_000_000],
      ["city-finance", "110105", 200_000_000],
    ];
    for (const [who, toRegion, amount] of steps) {
      const res = await post("/allocations", { toRegion, amount, reference: REF }, who);
      expect(res.status, `${who} → ${toRegion}`).to.equal(201);
    }
    const fund = await post(`/programmes/${URBAN}/funding`, { amount: 100_000_000, reference: REF }, "county-finance");
    expect(fund.status).to.equal(201);
    expect(await ledger.poolBalance(URBAN)).to.equal(100_000_000n);

    const central = await balances("central-finance");
    expect(central.status).to.equal(200);
    expect(central.body).to.include({ region: "0", balance: "500000000" });
    expect(central.body.below).to.deep.equal([
      { region: "110000", balance: "200000000" },
      { region: "110100", balance: "100000000" },
      { region: "110105", balance: "100000000" },
      { region: "310000", balance: "0" },
    ]);
    expect(central.body.pools).to.have.length(6);
    expect(central.body.pools[0]).to.deep.equal({
      programmeId: URBAN,
      kind: "monthly-gap",
      region: "110105",
      balance: "100000000",
      paidOut: "0",
    });
    expect(central.body.totals).to.deep.equal({ appropriated: "1000000000", held: "1000000000", paidOut: "0" });

    const county = await balances("county-auditor");
    expect(county.status).to.equal(200);
    expect(county.body).to.include({ region: "110105", balance: "100000000" });
    expect(county.body.below).to.deep.equal([]);
    expect(county.body).to.not.have.property("totals");
    const city = await balances("province-finance", "110100");
    expect(city.body).to.include({ region: "110100", balance: "100000000" });
    expect(city.body.below).to.deep.equal([{ region: "110105", balance: "100000000" }]);
  });

  it("overdrawing: 409 LEDGER_REJECTED with the chain's error; nothing moved", async function () {
    const res = await post("/allocations", { toRegion: "110105", amount: 100_000_001, reference: REF }, "city-finance");
    expect(res.status).to.equal(409);
    expect(res.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerInsufficientFunds" });
    const pool = await post(`/programmes/${URBAN}/funding`, { amount: 100_000_001, reference: REF }, "county-finance");
    expect(pool.body.error).to.include({ code: "LEDGER_REJECTED", ledgerCode: "LedgerInsufficientFunds" });
    const defund = await post(
      `/programmes/${URBAN}/defunding`,
      { amount: 100_000_001, reference: REF },
      "county-finance",
    );
    expect(defund.body.error.ledgerCode).to.equal("LedgerInsufficientFunds");
    expect(await ledger.regionBalance(110100n)).to.equal(100_000_000n);
    expect(await ledger.regionBalance(110105n)).to.equal(100_000_000n);
    expect(await t.gateway.ctx.store.listAudit({ action: "budget.allocated" })).to.have.length(3);
  });

  it("wrong-region finance: 403; skipping a level or going below the county: 409 LedgerNotAdjacentRegion", async function () {
    const shanghai = await t.http
      .post(`/v1/budget/programmes/${URBAN}/funding`)
      .set("Authorization", `Bearer ${shanghaiKey}`)
      .send({ amount: 1, reference: REF });
    expect(shanghai.status).to.equal(403);
    expect(shanghai.body.error.code).to.equal("OUTSIDE_REGION");
    const cityFunds = await post(`/programmes/${URBAN}/funding`, { amount: 1, reference: REF }, "city-finance");
    expect(cityFunds.status).to.equal(403);
    expect(cityFunds.body.error.code).to.equal("OUTSIDE_REGION");
    const elsewhere = await post("/allocations", { toRegion: "310000", amount: 1, reference: REF }, "province-finance");
    expect(elsewhere.status).to.equal(403);
    expect(elsewhere.body.error.code).to.equal("OUTSIDE_REGION");
    const balancesOutside = await balances("county-auditor", "110000");
    expect(balancesOutside.status).to.equal(403);
    expect((await balances("township-caseworker")).body.error.code).to.equal("FORBIDDEN_ROLE");

    const skip = await post("/allocations", { toRegion: "110105", amount: 1, reference: REF }, "province-finance");
    expect(skip.status).to.equal(409);
    expect(skip.body.error.ledgerCode).to.equal("LedgerNotAdjacentRegion");
    const township = await post(
      "/allocations",
      { toRegion: "110105001000", amount: 1, reference: REF },
      "county-finance",
    );
    expect(township.body.error.ledgerCode).to.equal("LedgerNotAdjacentRegion");
    expect(await ledger.regionBalance(110105001000n)).to.equal(0n);
  });

  it("returns go to the region directly above; defunding moves pool money back to the region", async function () {
    const back = await post("/returns", { toRegion: "110100", amount: 50_000_000, reference: REF }, "county-finance");
    expect(back.status).to.equal(201);
    expect(await ledger.regionBalance(110105n)).to.equal(50_000_000n);
    expect(await ledger.regionBalance(110100n)).to.equal(150_000_000n);
    const skip = await post("/returns", { toRegion: "110000", amount: 1, reference: REF }, "county-finance");
    expect(skip.status).to.equal(409);
    expect(skip.body.error.ledgerCode).to.equal("LedgerNotAdjacentRegion");
    const sideways = await post("/returns", { toRegion: "310000", amount: 1, reference: REF }, "county-finance");
    expect(sideways.status).to.equal(400);
    expect(sideways.body.error.field).to.equal("toRegion");

    const defund = await post(
      `/programmes/${URBAN}/defunding`,
      { amount: 10_000_000, reference: REF },
      "county-finance",
    );
    expect(defund.status).to.equal(201);
    expect(await ledger.poolBalance(URBAN)).to.equal(90_000_000n);
    expect(await ledger.regionBalance(110105n)).to.equal(60_000_000n);
    const totals = await ledger.fundTotals();
    expect(totals).to.deep.equal({ appropriated: 1_000_000_000n, held: 1_000_000_000n, paidOut: 0n });
    const actions = (await t.gateway.ctx.store.listAudit({ actor: "county-finance" })).map((e) => e.action);
    expect(actions).to.deep.equal(["budget.programme-funded", "budget.returned", "budget.programme-defunded"]);
  });

  it("validation: integer fen, positive; a reference; no unknown fields; an unknown programme is 404", async function () {
    const cases: [object, string][] = [
      [{ amount: 0, reference: REF }, "amount"],
      [{ amount: -5, reference: REF }, "amount"],
      [{ amount: 1.5, reference: REF }, "amount"],
      [{ amount: "100", reference: REF }, "amount"],
      [{ amount: 100 }, "reference"],
      [{ amount: 100, reference: "   " }, "reference"],
      [{ amount: 100, reference: REF, memo: "x" }, "memo"],
    ];
    for (const [body, field] of cases) {
      const res = await post("/appropriations", body, "central-finance");
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.body.error).to.include({ code: "VALIDATION_FAILED", field });
    }
    const region = await post("/allocations", { toRegion: "999999", amount: 1, reference: REF }, "central-finance");
    expect(region.body.error.field).to.equal("toRegion");
    const unknown = await post("/programmes/99/funding", { amount: 1, reference: REF }, "county-finance");
    expect(unknown.status).to.equal(404);
    expect(await ledger.regionBalance(0n)).to.equal(500_000_000n);
  });

  it("GET /openapi.json describes the budget and payout endpoints", async function () {
    const res = await t.http.get("/openapi.json");
    expect(res.status).to.equal(200);
    const paths = Object.keys(res.body.paths);
    for (const path of [
      "/v1/budget/appropriations",
      "/v1/budget/allocations",
      "/v1/budget/returns",
      "/v1/budget/programmes/{programmeId}/funding",
      "/v1/budget/programmes/{programmeId}/defunding",
      "/v1/budget/balances",
      "/v1/payout-runs",
      "/v1/payout-runs/{runId}",
      "/v1/payouts",
      "/v1/payouts/{payoutId}",
      "/v1/medical-bills",
      "/v1/disasters",
      "/v1/disasters/{disasterId}/relief-runs",
      "/v1/settlements",
    ]) {
      expect(paths, path).to.include(path);
    }
    expect(Object.keys(res.body.paths["/v1/settlements"].post.requestBody.content)).to.have.members([
      "text/csv",
      "application/json",
    ]);
  });
});
