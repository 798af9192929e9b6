/**
 * `npm run fabric:package [-- --out DIR]`: builds the chaincode and writes an installable package in the format of
 * `peer lifecycle chaincode package --lang node`: a .tar.gz holding `metadata.json` (`{"type":"node","label"}`) and
 * `code.tar.gz`, whose `src/` is what the peer's Node builder runs (`npm install --production`, then `npm start`):
 * chaincode/package.json and the compiled JavaScript (chaincode/src and the lib/ modules it shares with the gateway).
 *
 * The archives are deterministic (sorted entries, fixed times and owners), so the same source gives the same
 * package id (`<label>:<sha256 of the package>`), which every organisation approves.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tar from "tar";

const ROOT = path.resolve(__dirname, "..");
const CHAINCODE = path.join(ROOT, "chaincode");
/** Fixed entry times: the package id must not depend on when it was built. */
const EPOCH = new Date("2000-01-01T00:00:00Z");

export interface ChaincodePackage {
  file: string;
  label: string;
  /** What `peer lifecycle chaincode calculatepackageid` prints. */
  packageId: string;
}

/** The label of the package: `relief_<chaincode/package.json version>`. */
export function packageLabel(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(CHAINCODE, "package.json"), "utf8")) as { version: string };
  return `relief_${pkg.version}`;
}

function listFiles(dir: string, base = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = path.posix.join(base, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

async function deterministicTar(cwd: string, file: string, entries: string[]): Promise<void> {
  await tar.create({ gzip: { level: 9 }, cwd, file, portable: true, mtime: EPOCH, noDirRecurse: true }, entries);
}

/** Compiles the chaincode into `srcDir` (its `dist/`) next to a copy of its package.json. */
export function buildChaincode(srcDir: string): void {
  fs.mkdirSync(srcDir, { recursive: true });
  const tsc = require.resolve("typescript/bin/tsc");
  const tsconfig = path.join(CHAINCODE, "tsconfig.json");
  execFileSync(process.execPath, [tsc, "-p", tsconfig, "--outDir", path.join(srcDir, "dist")], { stdio: "inherit" });
  const pkg = JSON.parse(fs.readFileSync(path.join(CHAINCODE, "package.json"), "utf8"));
  const main = path.join(srcDir, pkg.main);
  if (!fs.existsSync(main)) throw new Error(`the build has no ${pkg.main} (chaincode/package.json "main")`);
  fs.copyFileSync(path.join(CHAINCODE, "package.json"), path.join(srcDir, "package.json"));
}

/** Writes `<outDir>/<label>.tar.gz` from a built `srcDir` (see {@link buildChaincode}). */
export async function writePackage(srcDir: string, outDir: string): Promise<ChaincodePackage> {
  const label = packageLabel();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "relief-package-"));
  try {
    // code.tar.gz holds the build under src/, as the peer's Node builder expects.
    const codeDir = path.join(work, "code");
    fs.mkdirSync(codeDir);
    fs.cpSync(srcDir, path.join(codeDir, "src"), { recursive: true });
    const outerDir = path.join(work, "package");
    fs.mkdirSync(outerDir);
    const files = listFiles(codeDir);
    await deterministicTar(
      codeDir,
      path.join(outerDir, "code.tar.gz"),
      [...new Set([...dirsOf(files), ...files])].sort(),
    );
    fs.writeFileSync(path.join(outerDir, "metadata.json"), JSON.stringify({ type: "node", label }));
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `${label}.tar.gz`);
    await deterministicTar(outerDir, file, ["metadata.json", "code.tar.gz"]);
    const digest = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    return { file, label, packageId: `${label}:${digest}` };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Builds the chaincode and writes `<outDir>/<label>.tar.gz`. */
export async function packageChaincode(outDir: string): Promise<ChaincodePackage> {
  const build = fs.mkdtempSync(path.join(os.tmpdir(), "relief-chaincode-"));
  try {
    buildChaincode(build);
    return await writePackage(build, outDir);
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
}

/** Every directory above the files, so the archive lists them as a packer would. */
function dirsOf(files: string[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    for (let d = path.posix.dirname(f); d !== "."; d = path.posix.dirname(d)) dirs.add(d);
  }
  return [...dirs];
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--out");
  const outDir = path.resolve(i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : path.join(ROOT, "dist", "fabric"));
  const pkg = await packageChaincode(outDir);
  console.log(`wrote ${path.relative(process.cwd(), pkg.file)}`);
  console.log(`label:      ${pkg.label}`);
  console.log(`package id: ${pkg.packageId}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
