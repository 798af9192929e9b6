/**
 * What bench/scale.ts measures besides wall time: the peak resident memory of this process (the gateway and the bench
 * share it) and of the anvil node, sampled while a stage runs; the gas of the blocks a stage mined (one JSON-RPC
 * batch per 500 blocks); the SQLite database's size on disk (the file and its WAL).
 */
import fs from "node:fs";
import { performance } from "node:perf_hooks";

/** Resident set size of process `pid` in bytes, from /proc (0 when it cannot be read). */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) process `pid` has used, from /proc (clock ticks of 1/100 s); 0 when unreadable. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Samples this process's RSS and `otherPid`'s every `everyMs` until stopped; returns the peaks. */
export function sampleMemory(otherPid: number | undefined, everyMs = 250) {
  let self = process.memoryUsage.rss();
  let other = rssOf(otherPid);
  const timer = setInterval(() => {
    self = Math.max(self, process.memoryUsage.rss());
    other = Math.max(other, rssOf(otherPid));
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      self = Math.max(self, process.memoryUsage.rss());
      other = Math.max(other, rssOf(otherPid));
      return { selfBytes: self, otherBytes: other };
    },
  };
}

async function rpcBatch(url: string, calls: { method: string; params: unknown[] }[]): Promise<unknown[]> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: "2.0", id, ...c }))),
  });
  const out = (await res.json()) as { id: number; result?: unknown; error?: { message: string } }[];
  out.sort((a, b) => a.id - b.id);
  return out.map((r) => {
    if (r.error) throw new Error(r.error.message);
    return r.result;
  });
}

export async function blockNumber(url: string): Promise<number> {
  const [n] = await rpcBatch(url, [{ method: "eth_blockNumber", params: [] }]);
  return Number(n);
}

/** Gas used and transactions in blocks (from, to]. */
export async function gasBetween(url: string, from: number, to: number): Promise<{ gas: number; txs: number }> {
  let gas = 0;
  let txs = 0;
  for (let start = from + 1; start <= to; start += 500) {
    const end = Math.min(to, start + 499);
    const calls = [];
    for (let n = start; n <= end; n++)
      calls.push({ method: "eth_getBlockByNumber", params: [`0x${n.toString(16)}`, false] });
    for (const block of (await rpcBatch(url, calls)) as { gasUsed: string; transactions: unknown[] }[]) {
      gas += Number(block.gasUsed);
      txs += block.transactions.length;
    }
  }
  return { gas, txs };
}

export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  return (await rpcBatch(url, [{ method, params }]))[0];
}

/** The SQLite database's bytes on disk: the file, its WAL and shared-memory file. */
export function fileBytes(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function sqliteBytes(file: string): number {
  return ["", "-wal", "-shm"].reduce((sum, suffix) => {
    try {
      return sum + fs.statSync(file + suffix).size;
    } catch {
      return sum;
    }
  }, 0);
}

/**
 * anvil's own throughput as its history grows, with and without a state dump every second: `windows` × `per` plain
 * transfers from a development account, one after another, on a fresh node each; transactions/s per window.
 */
export async function anvilDumpProbe(windows = 8, per = 500): Promise<{ dumpEverySecond: number[]; noDump: number[] }> {
  const { startAnvil } = await import("../lib/anvil");
  const { freePort } = await import("../test/gateway/ledger/anvil");
  const os = await import("node:os");
  const path = await import("node:path");
  const measureOne = async (dump: boolean) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-anvil-probe-"));
    const node = await startAnvil({
      port: await freePort(),
      ...(dump ? { stateFile: path.join(dir, "state.json"), stateInterval: 1 } : {}),
    });
    try {
      const rates: number[] = [];
      // anvil's last development account: its transfers touch nothing the product uses.
      const from = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
      for (let w = 0; w < windows; w++) {
        const started = performance.now();
        for (let i = 0; i < per; i++) {
          await rpc(node.url, "eth_sendTransaction", [
            { from, to: "0x000000000000000000000000000000000000dEaD", value: "0x1" },
          ]);
        }
        rates.push(Math.round(per / ((performance.now() - started) / 1000)));
      }
      return rates;
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  return { noDump: await measureOne(false), dumpEverySecond: await measureOne(true) };
}

/** Median ms of 9 reads of the latest state (a development account's nonce): anvil copies its state for each. */
export async function stateReadMs(url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const started = performance.now();
    await rpc(url, "eth_getTransactionCount", ["0xa0Ee7A142d267C1f36714E4a8F75612F20a79720", "latest"]);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[4];
}
