/**
 * `npm start`'s script (scripts/start.ts) as a child process on a fresh folder: its own chain and API ports, its data
 * directory and database in a temporary folder, the repository as its working directory (it needs the compiled
 * artifacts). Resolves once the script prints "Press Ctrl-C to stop.".
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../gateway/ledger/anvil";

const ROOT = path.resolve(__dirname, "..", "..");

export interface StartedScript {
  child: ChildProcess;
  work: string;
  dataDir: string;
  chainPort: number;
  apiPort: number;
  /** The environment the script runs with: give it to clients of this product (the demo). */
  env: NodeJS.ProcessEnv;
  output(): string;
  stop(): Promise<void>;
}

export async function startScript(prefix = "relief-start-"): Promise<StartedScript> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const chainPort = await freePort();
  const apiPort = await freePort();
  const dataDir = path.join(work, "relief");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RELIEF_DATA_DIR: dataDir,
    RELIEF_SQLITE_PATH: path.join(work, "data", "relief.sqlite"),
    RELIEF_CHAIN_PORT: String(chainPort),
    RELIEF_GATEWAY_PORT: String(apiPort),
    RELIEF_ANCHOR_INTERVAL_MS: "1000",
    DATABASE_URL: "",
  };
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/start.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("Press Ctrl-C to stop.")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  }).catch(async (error) => {
    await stop();
    throw error;
  });
  return { child, work, dataDir, chainPort, apiPort, env, output: () => out, stop };
}
