/**
 * The gateway's core over HTTP: operations endpoints, the OpenAPI document, authentication, the administrator's
 * institution registration and API keys, and the shape of errors.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Role } from "../../../lib/roles";
import { type TestGateway, startTestGateway } from "./harness";

describe("gateway core (HTTP)", function () {
  let t: TestGateway;

  before(async function () {
    this.timeout(120_000);
    t = await startTestGateway();
  });

  after(async function () {
    await t?.close();
  });

  it("GET /healthz answers ok without a token", async function () {
    const res = await t.http.get("/healthz").expect(200);
    expect(res.body).to.deep.equal({ status: "ok" });
  });

  it("GET /readyz reports the database and the chain ready", async function () {
    const res = await t.http.get("/readyz").expect(200);
    expect(res.body.ready).to.equal(true);
    expect(res.body.checks.database.ok).to.equal(true);
    expect(res.body.checks.chain.ok).to.equal(true);
  });

  it("GET /readyz is 503 with the chain check failing while the chain is down", async function () {
    this.timeout(60_000);
    await t.chain.stop();
    try {
      const res = await t.http.get("/readyz").expect(503);
      expect(res.body.ready).to.equal(false);
      expect(res.body.checks.chain.ok).to.equal(false);
      expect(res.body.checks.database.ok).to.equal(true);
    } finally {
      await t.chain.restart();
    }
  });

  it("GET /metrics serves Prometheus text with the request counter", async function () {
    await t.http.get("/healthz");
    const res = await t.http.get("/metrics").expect(200);
    expect(res.headers["content-type"]).to.match(/^text\/plain/);
    expect(res.text).to.include("relief_http_requests_total");
  });

  it("GET /openapi.json is an OpenAPI 3 document listing the admin and programme paths", async function () {
    const res = await t.http.get("/openapi.json").expect(200);
    expect(res.body.openapi).to.match(/^3\./);
    expect(res.body.paths).to.have.property("/v1/admin/institutions");
    expect(res.body.paths).to.have.property("/v1/programmes");
    expect(res.body.components.schemas).to.have.property("Error");
  });

  it("GET /docs serves the interactive documentation page", async function () {
    const res = await t.http.get("/docs/").expect(200);
    expect(res.text).to.include("swagger-ui");
  });

  it("first start writes the administrator's key with mode 0600 and it signs in", async function () {
    const file = t.gateway.bootstrap.adminKeyFile!;
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(path.dirname(file)).to.equal(t.gateway.ctx.config.dataDir);
    const res = await t.http.get("/v1/me").set("Authorization", t.auth("admin")).expect(200);
    expect(res.body).to.deep.equal({ kind: "admin" });
  });

  it("an institution's key signs in as that institution", async function () {
    const res = await t.http.get("/v1/me").set("Authorization", t.auth("township-caseworker")).expect(200);
    expect(res.body.kind).to.equal("institution");
    expect(res.body.institution).to.include({ id: "township-caseworker", role: "caseworker", region: "110105001000" });
  });

  it("a forged, malformed or missing token is 401 UNAUTHENTICATED", async function () {
    const real = t.seed.apiKeys["township-caseworker"];
    const forged = real.slice(0, -4) + (real.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const header of [`Bearer ${forged}`, "Bearer rlk_0000000000000000_x", "Basic abc", "Bearer "]) {
      const res = await t.http.get("/v1/me").set("Authorization", header).expect(401);
      expect(res.body.error.code).to.equal("UNAUTHENTICATED");
    }
    const anonymous = await t.http.get("/v1/me").expect(401);
    expect(anonymous.body.error.code).to.equal("UNAUTHENTICATED");
  });

  it("POST /v1/admin/institutions registers the institution on chain and its key works; non-admins get 403", async function () {
    this.timeout(60_000);
    const body = { id: "chaoyang-2-caseworker", name: "麥子店街道 (test)", role: "caseworker", region: "110105002000" };
    const refused = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("county-approver"))
      .send(body)
      .expect(403);
    expect(refused.body.error.code).to.equal("FORBIDDEN_ROLE");

    const res = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("admin"))
      .send(body)
      .expect(201);
    expect(res.body.institution).to.include({ id: body.id, role: "caseworker", region: "110105002000", active: true });
    const onChain = await t.gateway.ctx.ledger.institution(res.body.institution.account);
    expect(onChain.role).to.equal(Role.Caseworker);
    expect(onChain.region).to.equal(110105002000n);
    const me = await t.http.get("/v1/me").set("Authorization", `Bearer ${res.body.apiKey}`).expect(200);
    expect(me.body.institution.id).to.equal(body.id);

    const again = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", t.auth("admin"))
      .send(body)
      .expect(409);
    expect(again.body.error.code).to.equal("CONFLICT");
  });

  it("a revoked API key no longer signs in", async function () {
    const issued = await t.http
      .post("/v1/admin/institutions/county-auditor/api-keys")
      .set("Authorization", t.auth("admin"))
      .expect(201);
    await t.http.get("/v1/me").set("Authorization", `Bearer ${issued.body.apiKey}`).expect(200);
    await t.http.delete(`/v1/admin/api-keys/${issued.body.keyId}`).set("Authorization", t.auth("admin")).expect(200);
    const res = await t.http.get("/v1/me").set("Authorization", `Bearer ${issued.body.apiKey}`).expect(401);
    expect(res.body.error.code).to.equal("UNAUTHENTICATED");
  });

  it("bad input: unknown field, invalid region, malformed JSON and oversized bodies are 4xx with a code and field", async function () {
    const admin = t.auth("admin");
    const unknown = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", admin)
      .send({ id: "x1", name: "n", role: "caseworker", region: "110105002000", extra: 1 })
      .expect(400);
    expect(unknown.body.error).to.include({ code: "VALIDATION_FAILED", field: "extra" });

    const region = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", admin)
      .send({ id: "x2", name: "n", role: "caseworker", region: "123" })
      .expect(400);
    expect(region.body.error).to.include({ code: "VALIDATION_FAILED", field: "region" });

    const malformed = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", admin)
      .set("Content-Type", "application/json")
      .send('{"id": ')
      .expect(400);
    expect(malformed.body.error.code).to.equal("MALFORMED_JSON");

    const big = await t.http
      .post("/v1/admin/institutions")
      .set("Authorization", admin)
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ id: "x3", name: "n".repeat(2_000_000) }))
      .expect(413);
    expect(big.body.error.code).to.equal("PAYLOAD_TOO_LARGE");
    expect(await t.gateway.ctx.store.getInstitution("x1")).to.equal(undefined);
  });

  it("an unknown path is 404 NOT_FOUND in the error format, with the request id", async function () {
    const res = await t.http.get("/v1/nothing-here").set("X-Request-Id", "test-123").expect(404);
    expect(res.body.error).to.deep.equal({ code: "NOT_FOUND", message: "no such endpoint", requestId: "test-123" });
  });

  it("a refused request is logged with its error code and route pattern, never the URL it came with", async function () {
    await t.http.get("/v1/nothing-here/110101199003070017").set("X-Request-Id", "log-404").expect(404);
    await t.http.get("/v1/budget/balances?region=abc").set("Authorization", t.auth("county-finance")).expect(400);

    const lines = t.logs.flatMap((chunk) => chunk.split("\n")).filter((l) => l.includes('"request refused"'));
    const unmatched = lines.map((l) => JSON.parse(l)).find((e) => e.requestId === "log-404");
    expect(unmatched).to.include({ errorCode: "NOT_FOUND", status: 404, route: "unmatched" });
    expect(
      lines.some((l) => l.includes('"errorCode":"VALIDATION_FAILED"') && l.includes('"route":"/budget/balances"')),
    ).to.equal(true);
    expect(t.logs.join("")).to.not.include("110101199003070017");
  });

  it("GET /v1/programmes lists the seeded programmes with their rules from the chain", async function () {
    const res = await t.http.get("/v1/programmes").set("Authorization", t.auth("county-finance")).expect(200);
    expect(res.body.programmes).to.have.length(6);
    expect(res.body.programmes[0]).to.include({
      programmeId: 1,
      kind: "monthly-gap",
      region: "110105",
      amount: "73700",
    });
  });

  it("POST /v1/admin/institutions/{id}/key-rotation puts the new key digest on chain", async function () {
    this.timeout(60_000);
    const inst = (await t.gateway.ctx.store.getInstitution("county-finance"))!;
    const before = await t.gateway.ctx.ledger.institution(inst.account);
    const res = await t.http
      .post("/v1/admin/institutions/county-finance/key-rotation")
      .set("Authorization", t.auth("admin"))
      .expect(200);
    const after = await t.gateway.ctx.ledger.institution(inst.account);
    expect(after.keyDigest).to.equal(res.body.keyDigest);
    expect(after.keyDigest).to.not.equal(before.keyDigest);
  });
});

describe("npm run admin (the administrator's CLI)", function () {
  let t: TestGateway;
  let url: string;
  let server: import("node:http").Server;

  before(async function () {
    this.timeout(120_000);
    t = await startTestGateway();
    server = await new Promise((resolve) => {
      const s = t.gateway.app.listen(0, "127.0.0.1", () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
  });

  after(async function () {
    await new Promise((r) => server?.close(r));
    await t?.close();
  });

  // Asynchronous: the gateway answering the CLI runs in this process.
  function admin(args: string[], env: Record<string, string> = {}) {
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "scripts/admin.ts", ...args, "--url", url],
        { encoding: "utf8", env: { ...process.env, RELIEF_ADMIN_KEY: t.adminKey, ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ status: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
      );
    });
  }

  it("add registers an institution whose printed key signs in; list shows it", async function () {
    this.timeout(60_000);
    const added = await admin([
      "add",
      "--id",
      "cli-auditor",
      "--name",
      "CLI 審計",
      "--role",
      "auditor",
      "--region",
      "110105",
    ]);
    expect(added.status, added.stderr).to.equal(0);
    const body = JSON.parse(added.stdout);
    expect(body.institution).to.include({ id: "cli-auditor", role: "auditor" });
    expect(body.apiKey).to.match(/^rlk_/);
    const listed = await admin(["list"]);
    expect(JSON.parse(listed.stdout).institutions.map((i: { id: string }) => i.id)).to.include("cli-auditor");
  });

  it("exits 2 with usage on a missing option, 1 with the API's code on a refusal", async function () {
    this.timeout(60_000);
    const usage = await admin(["add", "--id", "x"]);
    expect(usage.status).to.equal(2);
    expect(usage.stderr).to.include("--name is required");
    const refused = await admin(["list"], { RELIEF_ADMIN_KEY: t.seed.apiKeys["county-approver"] });
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.include("403 FORBIDDEN_ROLE");
  });
});
