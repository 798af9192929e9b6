/**
 * The README's walk-through, run as written: `npm start`'s script is started on a fresh data directory (its own
 * chain port, API port and folders), then every command of the README's walk-through block, and after it every
 * command of "A voucher's life", runs in one bash session against it. Afterwards the gateway's output (its logs) and everything on the chain — every transaction's input and
 * every event — are scanned for the personal values the walk-through used: none may appear.
 */
import { expect } from "chai";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, hexlify, toUtf8Bytes } from "ethers";
import { freePort } from "./gateway/ledger/anvil";

const ROOT = path.resolve(__dirname, "..");

/** The shell of the README between the `<!-- name:start -->` and `<!-- name:end -->` markers. */
export function walkthroughScript(
  readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8"),
  name: "walkthrough" | "vouchers" = "walkthrough",
): string {
  const section = new RegExp(`<!-- ${name}:start -->([\\s\\S]*?)<!-- ${name}:end -->`).exec(readme);
  if (!section) throw new Error(`README.md has no ${name} markers`);
  const blocks = [...section[1].matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.join("\n");
}

/** Personal values the walk-through and the voucher's life enter (their applicants): none may reach a log or the chain. */
const PERSONAL = [
  "11010519491231002X",
  "王秀英",
  "13800138000",
  "6222020200112233445",
  "建國門外大街1號",
  "110105198003150119",
  "李建國",
  "6222020200112233446",
  "建國門外大街2號",
];

function startProduct(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/start.ts"], {
      cwd: env.RELIEF_WORKDIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("Press Ctrl-C to stop.")) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
}

describe("README walk-through (npm start, then the commands as written)", function () {
  this.timeout(300_000);
  let work: string;
  let product: { child: ChildProcess; output: () => string } | undefined;
  let chainPort: number;
  let apiPort: number;

  before(async function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "relief-walkthrough-"));
    // The script runs from the repository (it needs the compiled artifacts) with its data in the temporary folder.
    chainPort = await freePort();
    apiPort = await freePort();
    const env = {
      ...process.env,
      RELIEF_WORKDIR: ROOT,
      RELIEF_DATA_DIR: path.join(work, "relief"),
      RELIEF_SQLITE_PATH: path.join(work, "data", "relief.sqlite"),
      RELIEF_CHAIN_PORT: String(chainPort),
      RELIEF_GATEWAY_PORT: String(apiPort),
      RELIEF_ANCHOR_INTERVAL_MS: "1000",
      DATABASE_URL: "",
    };
    product = await startProduct(env);
  });

  after(async function () {
    if (product && product.child.exitCode === null) {
      const exited = new Promise((r) => product!.child.once("exit", r));
      product.child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("the first start prints how the administrator signs in, and the local consortium's key file", function () {
    const out = product!.output();
    expect(out).to.include("The administrator signs in with the API key in");
    expect(out).to.include("api-keys.env");
    const keysEnv = path.join(work, "relief", "api-keys.env");
    expect(fs.statSync(keysEnv).mode & 0o777).to.equal(0o600);
  });

  it("every command of the walk-through and the voucher's life succeeds, and no personal value reaches the logs or the chain", async function () {
    const script = [walkthroughScript(), walkthroughScript(undefined, "vouchers")]
      .join("\n")
      .replaceAll(".relief/", `${path.join(work, "relief")}/`)
      .replaceAll("127.0.0.1:8080", `127.0.0.1:${apiPort}`)
      .replaceAll("127.0.0.1:8545", `127.0.0.1:${chainPort}`);
    const run = spawnSync("bash", ["-euo", "pipefail", "-c", script], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 240_000,
      env: { ...process.env, RELIEF_DATA_DIR: path.join(work, "relief") },
    });
    const transcript = `${run.stdout}\n${run.stderr}`;
    expect(run.status, transcript).to.equal(0);
    expect(run.stdout.match(/^VALID(;.*)?$/gm), transcript).to.have.length(2);
    // The voucher's last line: its programme's totals after 1,200 of 3,000 yuan were redeemed and paid.
    const totals = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect(totals, transcript).to.include({
      issued: "300000",
      redeemed: "120000",
      outstanding: "180000",
      paid: "120000",
    });

    const logs = product!.output();
    for (const value of PERSONAL) expect(logs, `logs carry ${value}`).to.not.include(value);

    const provider = new JsonRpcProvider(`http://127.0.0.1:${chainPort}`, undefined, { cacheTimeout: -1 });
    try {
      const latest = await provider.getBlockNumber();
      const chunks: string[] = [];
      for (let n = 0; n <= latest; n++) {
        const block = await provider.getBlock(n, true);
        for (const tx of block?.prefetchedTransactions ?? []) chunks.push(tx.data.toLowerCase());
      }
      for (const log of await provider.getLogs({ fromBlock: 0, toBlock: latest })) {
        chunks.push(log.data.toLowerCase(), ...log.topics.map((x) => x.toLowerCase()));
      }
      const chain = chunks.join("\n");
      expect(chain.length).to.be.greaterThan(1000);
      for (const value of PERSONAL) {
        const hex = hexlify(toUtf8Bytes(value)).slice(2).toLowerCase();
        expect(chain, `the chain carries ${value}`).to.not.include(hex);
      }
    } finally {
      provider.destroy();
    }
  });
});
