/**
 * The fault suite's system: a real anvil node (it stays up while the gateway is killed), a data folder kept on disk
 * (keys, deployment file, SQLite database), and the gateway either opened in this process (to seed it and to inspect
 * it afterwards) or run as a child process (gateway-process.ts) that the tests SIGKILL and start again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadGatewayConfig, type GatewayConfig } from "../../gateway/src/config";
import { createLogger } from "../../gateway/src/log";
import { type Gateway, openGateway } from "../../gateway/src/server";
import { type LocalInstitutionId, type LocalSeed, seedLocalConsortium } from "../../gateway/src/seed/local";
import type { Deployment } from "../../lib/deploy";
import { Chain, deploy, devWallet } from "../gateway/ledger/anvil";

const REPO = path.resolve(__dirname, "../..");
const CHILD = path.join(__dirname, "gateway-process.ts");
const CACHE = path.join(os.tmpdir(), "relief-faults-ts-cache");
const COMPILER_OPTIONS = (
  JSON.parse(fs.readFileSync(path.join(REPO, "tsconfig.json"), "utf8")) as { compilerOptions: object }
).compilerOptions;

/** transpile-cache.ts as JavaScript in the cache folder, for `node -r` (typescript is loaded in this process). */
function transpileHook(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require("typescript") as typeof import("typescript");
  const source = fs.readFileSync(path.join(__dirname, "transpile-cache.ts"), "utf8");
  const js = ts.transpileModule(source, { compilerOptions: COMPILER_OPTIONS as never }).outputText;
  fs.mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `hook-${createHash("sha256").update(js).digest("hex").slice(0, 16)}.js`);
  const partial = `${file}.${process.pid}`;
  fs.writeFileSync(partial, js);
  fs.renameSync(partial, file);
  return file;
}
const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

/** A gateway child process. */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** stderr and non-READY stdout, for failure messages. */
  output(): string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful close); resolves once the process is gone. */
  stop(): Promise<void>;
}

export class FaultCluster {
  seed!: LocalSeed;
  private constructor(
    readonly chain: Chain,
    readonly deployment: Deployment,
    readonly dir: string,
    readonly env: Record<string, string>,
    readonly config: GatewayConfig,
  ) {}

  /** anvil with the contracts, a data folder, the local consortium seeded through an in-process gateway. */
  static async start(options: { env?: Record<string, string> } = {}): Promise<FaultCluster> {
    const chain = await Chain.start();
    const deployment = await deploy(chain);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-faults-"));
    const env = {
      RELIEF_DATA_DIR: path.join(dir, "data"),
      RELIEF_SQLITE_PATH: path.join(dir, "relief.sqlite"),
      RELIEF_ANCHOR_INTERVAL_MS: "200",
      RELIEF_ANCHOR_LEASE_MS: "3000",
      RELIEF_LOG_LEVEL: "warn",
      ...options.env,
    };
    const config = loadGatewayConfig(env, dir);
    fs.mkdirSync(config.keysDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(config.keysDir, "chain-keys.json"), JSON.stringify({ admin: devWallet(0).privateKey }), {
      mode: 0o600,
    });
    fs.writeFileSync(path.join(config.dataDir, "deployment.json"), json(deployment));
    const cluster = new FaultCluster(chain, deployment, dir, env, config);
    cluster.warmUp(); // loads while the consortium is seeded
    const gateway = await cluster.open();
    try {
      cluster.seed = await seedLocalConsortium(gateway.ctx);
    } finally {
      await gateway.close();
    }
    return cluster;
  }

  /** The gateway in this process, on the cluster's folder (no anchoring worker unless asked). */
  open(options: { anchoring?: boolean } = {}): Promise<Gateway> {
    return openGateway({
      config: this.config,
      rpcUrl: this.chain.url,
      deployment: this.deployment,
      anchoring: options.anchoring ?? false,
      log: createLogger({ level: "silent" }),
    });
  }

  auth(who: LocalInstitutionId): string {
    return `Bearer ${this.seed.apiKeys[who]}`;
  }

  /**
   * Starts the gateway as a child process (on a free port); resolves once it listens. The process was started ahead
   * of time and has loaded its modules (gateway-process.ts); the next one is started now, for the next restart.
   */
  async spawn(): Promise<GatewayProcess> {
    const next = this.warm ?? this.prewarm();
    this.warmUp();
    const { child, exited, output } = await next;
    child.stdin!.end("go\n");
    const url = await new Promise<string>((resolve, reject) => {
      const ready = () => {
        const m = /READY (\S+)\n/.exec(output());
        if (m) resolve(m[1]);
      };
      child.stdout!.on("data", ready);
      ready();
      void exited.then(() => reject(new Error(`gateway exited before it listened: ${output()}`)));
    });
    const signal = (s: NodeJS.Signals) => async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(s);
      await exited;
    };
    return { url, child, output, kill: signal("SIGKILL"), stop: signal("SIGTERM") };
  }

  /** Starts the process for the next restart (its failure is seen by the `spawn` that awaits it). */
  private warmUp(): void {
    const warm = this.prewarm();
    warm.catch(() => undefined);
    this.warm = warm;
  }

  private warm: Promise<{ child: ChildProcess; exited: Promise<void>; output: () => string }> | undefined;

  /** A gateway process that has loaded its modules and waits for a line on stdin. */
  private async prewarm(): Promise<{ child: ChildProcess; exited: Promise<void>; output: () => string }> {
    this.hook ??= transpileHook();
    const child = spawn(process.execPath, ["-r", this.hook, CHILD], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? os.tmpdir(),
        RELIEF_FAULTS_TS_CACHE: CACHE,
        RELIEF_FAULTS_TS_OPTIONS: JSON.stringify(COMPILER_OPTIONS),
        RELIEF_FAULTS_TYPESCRIPT: require.resolve("typescript"),
        ...this.env,
        RELIEF_RPC_URL: this.chain.url,
        RELIEF_GATEWAY_PORT: "0",
        RELIEF_FAULTS_PREWARM: "1",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let text = "";
    const output = () => text;
    child.stdout!.on("data", (d: Buffer) => (text = (text + d.toString()).slice(-8000)));
    child.stderr!.on("data", (d: Buffer) => (text = (text + d.toString()).slice(-8000)));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.children.add(child);
    void exited.then(() => this.children.delete(child));
    await new Promise<void>((resolve, reject) => {
      const loaded = () => {
        if (text.includes("LOADED\n")) resolve();
      };
      child.stdout!.on("data", loaded);
      void exited.then(() => reject(new Error(`gateway process exited while loading: ${text}`)));
    });
    return { child, exited, output };
  }

  private readonly children = new Set<ChildProcess>();
  private hook: string | undefined;

  async dispose(): Promise<void> {
    this.warm = undefined; // a process still loading: killed below
    for (const child of this.children) child.kill("SIGKILL");
    await this.chain.dispose();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `check` holds, polling; fails after `ms` with `what` (a deadline for a condition, not a speed claim). */
export async function until(check: () => Promise<boolean>, ms: number, what: string, pollMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Whole milliseconds in [min, max), from a seeded generator (the seed is printed, so a run can be replayed). */
export function randomDelays(seed: number): (min: number, max: number) => number {
  let s = seed >>> 0 || 1;
  return (min, max) => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return min + (s % Math.max(1, max - min));
  };
}

/** Kills per scenario: RELIEF_FAULTS_FULL=1 for the full run, else a CI-sized run. */
export function killsPerScenario(ci: number, full = 20): number {
  return process.env.RELIEF_FAULTS_FULL === "1" ? full : ci;
}
