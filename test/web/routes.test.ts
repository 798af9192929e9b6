/**
 * The web pages' HTTP side, without a browser: every page, the stylesheet and the bundled scripts carry the strict
 * Content-Security-Policy and a Permissions-Policy that lets only the auditor's and the provider's pages use the
 * camera; nothing else under /web is served; and POST /v1/verifications (the document verification the auditor's page
 * uses) checks role and input. The journeys themselves are in journeys.test.ts and vouchers.test.ts.
 */
import { expect } from "chai";
import { WEB_CSP } from "../../gateway/src/web/routes";
import { type TestGateway, startTestGateway } from "../gateway/api/harness";

describe("web pages: headers, served files and document verification", function () {
  this.timeout(120_000);
  let t: TestGateway;

  before(async function () {
    t = await startTestGateway();
  });

  after(async function () {
    await t?.close();
  });

  it("serves pages, stylesheet and scripts with the strict CSP; unknown pages are 404", async function () {
    for (const path of [
      "/web/",
      "/web/beneficiary",
      "/web/auditor",
      "/web/finance",
      "/web/provider",
      "/web/style.css",
    ]) {
      const res = await t.http.get(path);
      expect(res.status, path).to.equal(200);
      expect(res.headers["content-security-policy"], path).to.equal(WEB_CSP);
      expect(res.headers["x-frame-options"]).to.equal("DENY");
      // Only the auditor's and the provider's pages may ask for the camera (their QR scanners); no page for the
      // microphone or location.
      const camera = ["/web/auditor", "/web/provider"].includes(path) ? "camera=(self)" : "camera=()";
      expect(res.headers["permissions-policy"], path).to.equal(`${camera}, microphone=(), geolocation=()`);
    }
    for (const page of ["beneficiary", "auditor", "finance", "provider"]) {
      const res = await t.http.get(`/web/js/${page}.js`);
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^text\/javascript/);
    }
    expect((await t.http.get("/web/admin")).status).to.equal(404);
    expect((await t.http.get("/web/js/nothing.js")).status).to.equal(404);
    expect((await t.http.post("/web/beneficiary")).status).to.equal(404);
    expect((await t.http.get("/web/../package.json")).status).to.equal(404);
    expect((await t.http.get("/web")).headers.location).to.equal("/web/");
  });

  it("POST /v1/verifications: auditors only; a missing document is 400 with its field; a non-document is not valid", async function () {
    const refused = await t.http
      .post("/v1/verifications")
      .set("Authorization", t.auth("county-finance"))
      .send({ document: "{}" });
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal("FORBIDDEN_ROLE");
    const anonymous = await t.http.post("/v1/verifications").send({ document: "{}" });
    expect(anonymous.status).to.equal(401);
    const empty = await t.http.post("/v1/verifications").set("Authorization", t.auth("county-auditor")).send({});
    expect(empty.status).to.equal(400);
    expect(empty.body.error).to.include({ code: "VALIDATION_FAILED", field: "document" });
    const junk = await t.http
      .post("/v1/verifications")
      .set("Authorization", t.auth("county-auditor"))
      .send({ document: "not json" });
    expect(junk.status).to.equal(200);
    expect(junk.body).to.deep.include({ kind: "unknown", valid: false });
  });
});
