/**
 * Keys (issue 5): key files are created 0600 in 0700 folders, no key material reaches a log line, none is in the
 * repository, and the rotation procedure of docs/SECURITY.md works end to end: an institution's API key is replaced
 * and the old one refused; its SM2 holder key is rotated, the chain holds the new key's digest, the old private key
 * is gone and the records sealed before still open.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { type TestGateway, startTestGateway } from "../gateway/api/harness";
import { application } from "../gateway/cases/helpers";

const REPO = path.resolve(__dirname, "../..");

/** Every file and folder below `dir`. */
function walk(dir: string): { file: string; dir: boolean }[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const file = path.join(dir, d.name);
    return d.isDirectory() ? [{ file, dir: true }, ...walk(file)] : [{ file, dir: false }];
  });
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe("keys: file modes, logs, repository, rotation", function () {
  this.timeout(180_000);
  let t: TestGateway;
  let caseId: string;
  let personal: string[];

  before(async function () {
    t = await startTestGateway();
    const { body, personal: p } = application({ members: 1 });
    personal = p;
    const res = await t.http
      .post("/v1/cases")
      .set("Authorization", t.auth("township-caseworker"))
      .set("Prefer", "wait=20")
      .send(body);
    expect(res.status).to.equal(201);
    caseId = res.body.caseId;
  });

  after(async function () {
    await t?.close();
  });

  it("every key file the gateway created is 0600, every key folder 0700, the administrator's key file 0600", function () {
    const { keysDir } = t.gateway.ctx.config;
    const entries = walk(keysDir);
    expect(entries.filter((e) => !e.dir).length, "key files").to.be.greaterThan(5);
    expect(mode(keysDir).toString(8)).to.equal("700");
    for (const e of entries) expect(mode(e.file).toString(8), e.file).to.equal(e.dir ? "700" : "600");
    expect(mode(t.gateway.bootstrap.adminKeyFile!).toString(8)).to.equal("600");
  });

  it("no key material in any log line: secrets, SM2 private keys, chain keys, API keys and their secrets", async function () {
    // Requests that handle keys: a refused wrong secret, a revoked key, an issued key.
    const issued = await t.http
      .post("/v1/admin/institutions/county-auditor/api-keys")
      .set("Authorization", t.auth("admin"));
    await t.http.delete(`/v1/admin/api-keys/${issued.body.keyId}`).set("Authorization", t.auth("admin"));
    await t.http.get("/v1/me").set("Authorization", `Bearer ${issued.body.apiKey}`);
    await t.http.get("/v1/me").set("Authorization", t.auth("county-auditor").slice(0, -4) + "AAAA");

    const material: string[] = [t.adminKey, issued.body.apiKey, ...Object.values(t.seed.apiKeys)];
    material.push(...material.map((token) => token.split("_").slice(2).join("_"))); // the secrets alone
    for (const { file, dir } of walk(t.gateway.ctx.config.keysDir)) {
      if (dir) continue;
      const text = fs.readFileSync(file);
      if (file.endsWith(".json")) {
        material.push(
          ...(Object.values(JSON.parse(text.toString())) as string[]).flatMap((v) => [v, v.replace(/^0x/, "")]),
        );
      } else if (text.toString().includes("-----BEGIN")) {
        // The base64 lines of a PEM body (the private key's bytes).
        material.push(
          ...text
            .toString()
            .split("\n")
            .filter((l) => l.length >= 40 && !l.startsWith("-----")),
        );
      } else {
        material.push(text.toString("hex"), text.toString("base64"));
      }
    }
    const leaked = t.logs.filter((line) => material.some((m) => m.length >= 16 && line.includes(m)));
    expect(leaked).to.deep.equal([]);
    expect(t.logs.length).to.be.greaterThan(5);
  });

  it("the repository holds no key material, and .relief/ and data/ are git-ignored", function () {
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO }).toString().split("\0").filter(Boolean);
    const patterns = [
      // A PEM private key with a body (a regular expression or a stub of one line is not one).
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?\n([A-Za-z0-9+/=]{40,}\r?\n){2,}/,
      /\brlk_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}/,
      /\brlb_[A-Za-z0-9_-]{30,}/,
      // A 32-byte hex value assigned to something named like a private key or secret.
      /(private[_-]?key|secret|passphrase|mnemonic)["']?\s*[:=]\s*["'`]?(0x)?[0-9a-fA-F]{64}\b/i,
    ];
    const found: string[] = [];
    for (const file of files) {
      const full = path.join(REPO, file);
      if (!fs.existsSync(full) || fs.statSync(full).size > 2_000_000) continue;
      const text = fs.readFileSync(full, "utf8");
      for (const re of patterns) if (re.test(text)) found.push(`${file}: ${re}`);
    }
    expect(found).to.deep.equal([]);
    expect(files.length).to.be.greaterThan(100);
    for (const ignored of [
      ".relief/admin.key",
      ".relief/data/keys/token.key",
      "data/relief.sqlite",
      "x.key",
      "x.pem",
    ]) {
      expect(() => execFileSync("git", ["check-ignore", "-q", ignored], { cwd: REPO }), ignored).to.not.throw();
    }
  });

  it("rotation: a new API key works and the revoked one is refused; the holder key rotates, the chain holds its digest, records still open", async function () {
    const ctx = t.gateway.ctx;
    const old = t.auth("township-caseworker");
    const fresh = await t.http
      .post("/v1/admin/institutions/township-caseworker/api-keys")
      .set("Authorization", t.auth("admin"));
    expect(fresh.status).to.equal(201);
    const oldKeyId = /rlk_([0-9a-f]{16})_/.exec(old)![1];
    expect(
      (await t.http.delete(`/v1/admin/api-keys/${oldKeyId}`).set("Authorization", t.auth("admin"))).status,
    ).to.equal(200);
    const refused = await t.http.get("/v1/cases").set("Authorization", old);
    expect(refused.status).to.equal(401);
    expect(refused.body.error.code).to.equal("UNAUTHENTICATED");
    const newAuth = `Bearer ${fresh.body.apiKey}`;
    expect((await t.http.get("/v1/cases").set("Authorization", newAuth)).status).to.equal(200);

    const inst = (await ctx.store.getInstitution("township-caseworker"))!;
    const before = await ctx.ledger.institution(inst.account);
    const holderFiles = () =>
      walk(ctx.config.keysDir)
        .filter((e) => !e.dir && e.file.includes("township-caseworker"))
        .map((e) => ({ file: e.file, text: fs.readFileSync(e.file, "utf8") }));
    const filesBefore = holderFiles();
    expect(filesBefore.length, "holder key file").to.be.greaterThan(0);

    const rotated = await t.http
      .post("/v1/admin/institutions/township-caseworker/key-rotation")
      .set("Authorization", t.auth("admin"));
    expect(rotated.status).to.equal(200);
    const after = await ctx.ledger.institution(inst.account);
    expect(after.keyDigest).to.equal(rotated.body.keyDigest);
    expect(after.keyDigest).to.not.equal(before.keyDigest);
    const filesAfter = holderFiles();
    for (const f of filesAfter) expect(mode(f.file).toString(8), f.file).to.equal("600");
    const oldPrivate = filesBefore.map((f) => f.text).join();
    expect(filesAfter.map((f) => f.text).join(), "the old private key is gone").to.not.equal(oldPrivate);
    for (const f of filesAfter) expect(oldPrivate.includes(f.text)).to.equal(false);
    const audit = await ctx.store.listAudit({ action: "holder-key.rotated", target: "township-caseworker" });
    expect(audit).to.have.length(1);

    ctx.keyring.forgetHolder?.("township-caseworker");
    const details = await t.http.get(`/v1/cases/${caseId}/details`).set("Authorization", newAuth);
    expect(details.status).to.equal(200);
    expect(JSON.stringify(details.body)).to.include(personal[0]);
  });
});
