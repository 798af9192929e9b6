import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { type TestGateway, startTestGateway } from "../gateway/api/harness";
import { application, csvOf } from "../gateway/cases/helpers";
import { caughtUp, expectAnchoredExactlyOnce, expectNothingHalfWritten, postgresTables } from "./checks";
import { FaultCluster, type GatewayProcess, until } from "./cluster";
import { TcpProxy } from "./proxy";

const DATABASE_URL = process.env.DATABASE_URL;

describe("faults: PostgreSQL unavailable (a proxy between the gateway and the server, cut and restored)", function () {
  this.timeout(300_000);
  let proxy: TcpProxy;
  let t: TestGateway;
  const schema = `relief_faults_${randomBytes(6).toString("hex")}`;

  before(async function () {
    if (!DATABASE_URL) {
      console.log("      DATABASE_URL is not set: skipping the PostgreSQL fault tests");
      this.skip();
    }
    const server = new URL(DATABASE_URL);
    proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port || 5432) });
    const through = new URL(DATABASE_URL);
    through.hostname = "127.0.0.1";
    through.port = String(proxy.port);
    t = await startTestGateway({
      backend: "postgres",
      databaseUrl: through.toString(),
      schema,
      anchoring: true,
      // Entries the worker had claimed when the database went away are claimable again after the lease.
      env: { RELIEF_ANCHOR_LEASE_MS: "3000" },
    });
  });

  after(async function () {
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
  });

  const caseworker = () => t.auth("township-caseworker");
  const intake = () => t.http.post("/v1/cases").set("Authorization", caseworker()).send(application().body);
  const importFile = (n: number) =>
    t.http
      .post("/v1/cases/import")
      .set("Authorization", caseworker())
      .set("Content-Type", "text/csv")
      .send(csvOf(Array.from({ length: n }, () => application().body)));

  it("cut mid-load: 503 DATABASE_UNAVAILABLE and /readyz says so; restored: every 2xx is there, nothing half-written", async function () {
    const accepted: string[] = [];
    const keep = (res: { status: number; body: { caseId?: string; caseIds?: string[] } }) => {
      if (res.status === 201 || res.status === 202) accepted.push(...(res.body.caseIds ?? [res.body.caseId!]));
    };
    keep(await intake());

    // Applications and imports running when the connections drop: each either committed (2xx) or failed (503).
    type Answer = Awaited<ReturnType<typeof intake>>;
    const answers: Answer[] = [];
    let cut = false;
    const lane = async (send: () => Promise<Answer>) => {
      while (!cut) {
        const res = await send();
        keep(res);
        answers.push(res);
      }
    };
    const lanes = [lane(intake), lane(intake), lane(intake), lane(() => importFile(20))];
    await new Promise((r) => setTimeout(r, 1500));
    await proxy.cut();
    cut = true;
    const cutAt = Date.now();
    await Promise.all(lanes);
    for (const res of answers) {
      if (res.status >= 300) {
        expect(res.status, JSON.stringify(res.body)).to.equal(503);
        expect(res.body.error.code).to.equal("DATABASE_UNAVAILABLE");
      }
    }
    const failedInFlight = answers.filter((r) => r.status === 503).length;

    // While cut: every call that needs the database is refused the same way.
    const refusals = [
      await intake(),
      await importFile(5),
      await t.http.get("/v1/cases").set("Authorization", caseworker()),
      await t.http
        .post("/v1/payout-runs")
        .set("Authorization", t.auth("county-finance"))
        .set("Idempotency-Key", "faults-db-run")
        .send({ programmeId: 1 }),
    ];
    for (const res of refusals) {
      expect(res.status, JSON.stringify(res.body)).to.equal(503);
      expect(res.body.error.code).to.equal("DATABASE_UNAVAILABLE");
      expect(res.headers["retry-after"]).to.equal("5");
    }
    const ready = await t.http.get("/readyz");
    expect(ready.status).to.equal(503);
    expect(ready.body.checks.database).to.deep.equal({ ok: false, detail: "database unavailable" });
    expect(ready.body.checks.chain.ok).to.equal(true);
    const outageMs = Date.now() - cutAt;

    await proxy.restore();
    await until(async () => (await t.http.get("/readyz")).status === 200, 30_000, "the database to be back");
    // The same key again: a run (a key left reserved by the cut would answer 409 IN_PROGRESS instead).
    const run = await t.http
      .post("/v1/payout-runs")
      .set("Authorization", t.auth("county-finance"))
      .set("Idempotency-Key", "faults-db-run")
      .send({ programmeId: 1 });
    expect(run.status, JSON.stringify(run.body)).to.equal(202);
    keep(await intake());

    const db = await postgresTables(DATABASE_URL!, schema);
    try {
      await until(() => caughtUp(db), 120_000, "every case on chain and every record anchored");
      const cases = new Set((await db.all("SELECT case_id FROM cases")).map((r) => String(r.case_id)));
      for (const caseId of accepted) expect(cases.has(caseId), `accepted case ${caseId}`).to.equal(true);
      await expectNothingHalfWritten(db);
      const anchored = await expectAnchoredExactlyOnce(db, t.gateway.ctx.ledger);
      console.log(
        `      [faults] PostgreSQL cut ${(outageMs / 1000).toFixed(1)} s (${proxy.dropped} connections dropped): ` +
          `${answers.length - failedInFlight} of ${answers.length} requests in flight committed, ${failedInFlight} ` +
          `503; ${cases.size} cases (${cases.size - accepted.length} committed without their answer), ` +
          `${anchored.records} records in ${anchored.anchors} anchors after recovery`,
      );
    } finally {
      await db.close();
    }
  });
});

describe("faults: SQLite locked by another process", function () {
  this.timeout(300_000);
  let cluster: FaultCluster;
  let gw: GatewayProcess;

  before(async function () {
    cluster = await FaultCluster.start();
    gw = await cluster.spawn();
  });

  after(async function () {
    await gw?.stop();
    await cluster?.dispose();
  });

  it("a writer holding the lock past the busy timeout: 503 DATABASE_UNAVAILABLE; released: intake works, nothing half-written", async function () {
    const post = () =>
      fetch(`${gw.url}/v1/cases`, {
        method: "POST",
        headers: { authorization: cluster.auth("township-caseworker"), "content-type": "application/json" },
        body: JSON.stringify(application().body),
      });
    expect((await post()).status).to.equal(202);

    const holder = new Database(cluster.config.sqlitePath);
    holder.exec("BEGIN IMMEDIATE"); // this process holds the write lock; the gateway is another process
    let refused: Response;
    try {
      refused = await post();
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect(refused.status).to.equal(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal("DATABASE_UNAVAILABLE");
    expect((await post()).status).to.equal(202);
  });
});
