import { expect } from "chai";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as tar from "tar";
import { buildChaincode, packageLabel, writePackage } from "../../scripts/fabric-package";

const ROOT = path.resolve(__dirname, "../..");

async function entries(file: string): Promise<string[]> {
  const names: string[] = [];
  await tar.list({ file, onReadEntry: (e) => names.push(e.path) });
  return names;
}

/**
 * `npm run fabric:package`: the package is what `peer lifecycle chaincode package --lang node` writes, and what it
 * holds runs — package.json's start script and main exist, and requiring the built chaincode gives the contracts.
 */
describe("npm run fabric:package", function () {
  this.timeout(120_000);
  // Under node_modules/.cache so that the unpacked chaincode resolves its dependencies from the repository's
  // node_modules, as the peer's builder resolves them from the ones it installs.
  const work = path.join(ROOT, "node_modules", ".cache", `relief-package-test-${process.pid}`);
  let pkg: Awaited<ReturnType<typeof writePackage>>;

  before(async function () {
    fs.rmSync(work, { recursive: true, force: true });
    // What `npm run fabric:package` does (scripts/fabric-package.ts packageChaincode), keeping the build.
    buildChaincode(path.join(work, "build"));
    pkg = await writePackage(path.join(work, "build"), path.join(work, "out"));
  });

  after(function () {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("writes <label>.tar.gz holding metadata.json and code.tar.gz, and its package id", async function () {
    expect(path.basename(pkg.file)).to.equal(`${packageLabel()}.tar.gz`);
    expect(pkg.label).to.match(/^relief_[0-9]+\.[0-9]+\.[0-9]+/);
    expect((await entries(pkg.file)).sort()).to.deep.equal(["code.tar.gz", "metadata.json"]);
    const digest = createHash("sha256").update(fs.readFileSync(pkg.file)).digest("hex");
    expect(pkg.packageId).to.equal(`${pkg.label}:${digest}`);

    const outer = path.join(work, "outer");
    fs.mkdirSync(outer, { recursive: true });
    await tar.extract({ file: pkg.file, cwd: outer });
    expect(JSON.parse(fs.readFileSync(path.join(outer, "metadata.json"), "utf8"))).to.deep.equal({
      type: "node",
      label: pkg.label,
    });
  });

  it("code.tar.gz has src/ with package.json and the built JavaScript of the chaincode and lib/", async function () {
    const outer = path.join(work, "outer");
    const names = await entries(path.join(outer, "code.tar.gz"));

    expect(names.every((n) => n.startsWith("src/"))).to.equal(true);
    expect(names).to.include("src/package.json");
    expect(names).to.include("src/dist/chaincode/src/index.js");
    expect(names).to.include("src/dist/chaincode/src/contract.js");
    expect(names).to.include("src/dist/lib/fabric-identity.js");
    expect(names).to.include("src/dist/lib/ledger-model.js");
    expect(names.filter((n) => n.endsWith(".ts"))).to.deep.equal([]);
  });

  it("package.json starts fabric-chaincode-node, its main exists, and requiring it gives the relief contract", async function () {
    const code = path.join(work, "code");
    fs.mkdirSync(code, { recursive: true });
    await tar.extract({ file: path.join(work, "outer", "code.tar.gz"), cwd: code });
    const manifest = JSON.parse(fs.readFileSync(path.join(code, "src", "package.json"), "utf8"));

    expect(manifest.scripts.start).to.equal("fabric-chaincode-node start");
    expect(manifest.dependencies).to.include.keys("fabric-contract-api", "fabric-shim");
    const main = path.join(code, "src", manifest.main);
    expect(fs.existsSync(main)).to.equal(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const built = require(main) as { contracts: (new () => { getName(): string })[] };
    expect(built.contracts).to.be.an("array").with.length.greaterThan(0);
    const names = built.contracts.map((C) => new C().getName());
    expect(names).to.include("relief");
    const relief = built.contracts[names.indexOf("relief")].prototype as unknown as Record<string, unknown>;
    for (const fn of ["registerInstitution", "submitCase", "executePayouts", "confirmSettlements", "anchor"]) {
      expect(relief[fn], fn).to.be.a("function");
    }
  });

  it("the same build gives the same package (the id every organisation approves)", async function () {
    const again = await writePackage(path.join(work, "build"), path.join(work, "again"));
    expect(again.packageId).to.equal(pkg.packageId);
  });
});
