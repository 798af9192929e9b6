import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

/**
 * A local anvil node from the npm package `@foundry-rs/anvil`: a real EVM that keeps its state on
 * disk (`--state`), dumping every second and on a graceful stop.
 */
export interface AnvilOptions {
  port: number;
  stateFile?: string;
  chainId?: number;
  /** Extra seconds between blocks; omitted = a block per transaction. */
  blockTime?: number;
  /**
   * Seconds between dumps of the state file (default: RELIEF_CHAIN_STATE_INTERVAL, else 1); 0 = only on a graceful
   * stop. anvil dumps the whole chain, history included, each time: at tens of thousands of transactions a dump every
   * second costs more than the transactions (docs/BENCHMARKS.md, scale).
   */
  stateInterval?: number;
  /**
   * Keep only the last N blocks' states (default: RELIEF_CHAIN_PRUNE_HISTORY, else all). By default anvil keeps every
   * block's state, writing the older ones to disk (~/.foundry/anvil/tmp/) whole, so a block costs in proportion to
   * the chain's state: gigabytes, and slower and slower blocks, after a few thousand transactions. Pruned, reads at
   * older blocks (audit bundles' views at their checkpoint) fail and the verifier falls back to the latest state.
   */
  pruneHistory?: number;
  /** Keep the transactions and receipts of only the last N blocks (anvil's `--transaction-block-keeper`). */
  transactionBlockKeeper?: number;
}

/** The state-dump interval asked for, in whole seconds (RELIEF_CHAIN_STATE_INTERVAL when not given; default 1). */
export function stateIntervalOf(given: number | undefined, env = process.env.RELIEF_CHAIN_STATE_INTERVAL): number {
  const value = given ?? (env === undefined || env === "" ? 1 : Number(env));
  if (!Number.isInteger(value) || value < 0) throw new RangeError("the state interval is a whole number of seconds");
  return value;
}

export interface AnvilNode {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function anvilBinary(): string {
  const pkg = `@foundry-rs/anvil-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  const dir = path.dirname(require.resolve(`${pkg}/package.json`));
  return path.join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

export async function startAnvil(opts: AnvilOptions): Promise<AnvilNode> {
  const args = ["--host", "127.0.0.1", "--port", String(opts.port), "--chain-id", String(opts.chainId ?? 31337)];
  // Consortium chains and OpenZeppelin 5 both need Cancun.
  args.push("--hardfork", "cancun");
  if (opts.stateFile) {
    args.push("--state", opts.stateFile);
    const interval = stateIntervalOf(opts.stateInterval);
    if (interval > 0) args.push("--state-interval", String(interval));
  }
  const prune =
    opts.pruneHistory ?? (process.env.RELIEF_CHAIN_PRUNE_HISTORY ? Number(process.env.RELIEF_CHAIN_PRUNE_HISTORY) : 0);
  if (!Number.isInteger(prune) || prune < 0) throw new RangeError("pruneHistory is a whole number of blocks");
  if (prune > 0) args.push("--prune-history", String(prune));
  if (opts.blockTime) args.push("--block-time", String(opts.blockTime));
  if (opts.transactionBlockKeeper) args.push("--transaction-block-keeper", String(opts.transactionBlockKeeper));
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${opts.port}`;
  await waitForRpc(url, child, () => output);
  if (opts.stateFile) await keepClockMonotonic(url);
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM"); // graceful: anvil writes its state file on the way out
      }),
  };
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/**
 * A restored chain whose clock was moved forward (`evm_increaseTime`, e.g. to skip a notice period on a development
 * chain) would otherwise mine its next blocks at wall-clock time, before its latest block: set the clock to just after
 * that block so time never runs backwards across a restart.
 */
async function keepClockMonotonic(url: string): Promise<void> {
  const latest = (await rpc(url, "eth_getBlockByNumber", ["latest", false])) as { timestamp: string } | null;
  const last = latest ? Number(BigInt(latest.timestamp)) : 0;
  if (last >= Math.floor(Date.now() / 1000)) await rpc(url, "evm_setTime", [last + 1]);
}

async function waitForRpc(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
      });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`anvil did not answer at ${url}: ${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
