/**
 * What bench/scale.ts measures besides wall time: the peak resident memory of this process (the gateway and the bench
 * share it) and of the anvil node, sampled while a stage runs; the gas of the blocks a stage mined (one JSON-RPC
 * batch per 500 blocks); the SQLite database's size on disk (the file and its WAL).
 */
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { Interface, type InterfaceAbi } from "ethers";
import { loadArtifact } from "../lib/deploy";

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

/**
 * A counting JSON-RPC proxy in front of a node: how many requests of each method the gateway (or anything pointed
 * at `url`) sends. The bench's own instrument, not the product's: `counts` is reset by the caller between windows.
 */
export async function countingProxy(target: string): Promise<{
  url: string;
  counts: Map<string, number>;
  close(): Promise<void>;
}> {
  const http = await import("node:http");
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true });
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { method: string } | { method: string }[];
        for (const call of Array.isArray(parsed) ? parsed : [parsed])
          counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
      } catch {
        counts.set("(unparsed)", (counts.get("(unparsed)") ?? 0) + 1);
      }
      const upstream = http.request(
        to,
        { method: "POST", agent, headers: { "content-type": "application/json", "content-length": body.length } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, { "content-type": "application/json" });
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as import("node:net").AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface GrowthWindow {
  /** Cases on chain at the end of the window. */
  cases: number;
  perSecond: number;
  /** CPU ms a case: anvil, and this process (the adapter and the bench). */
  anvilCpuMs: number;
  selfCpuMs: number;
  blocks: number;
  anvilRssMiB: number;
  /** JSON-RPC requests a case, by method. */
  rpcPerCase: Record<string, number>;
  /** p50 ms of an `eth_estimateGas` of a submission, and of mining an empty block (`evm_mine`), after the window. */
  estimateMs: number;
  emptyBlockMs: number;
}

/**
 * The chain's cost a case as cases accumulate, without the gateway's store: `total` cases submitted through the EVM
 * adapter (`submitCase`, `concurrency` in flight, as the case submitter does), in windows of `window`, on a fresh
 * anvil started with `anvil` (e.g. `{ pruneHistory: 256 }`, `{ blockTime: 1 }`). Per window: cases/s, CPU a case,
 * blocks, anvil's memory, RPC requests a case (through {@link countingProxy}), and after it the time of one gas
 * estimate and of one empty block.
 */
export async function chainGrowthProbe(
  options: {
    anvil?: { pruneHistory?: number; blockTime?: number; transactionBlockKeeper?: number };
    total?: number;
    window?: number;
    concurrency?: number;
    /** Block gas limit to set (`evm_setBlockGasLimit`), for blocks of many transactions. */
    blockGasLimit?: number;
    onWindow?: (w: GrowthWindow) => void;
  } = {},
): Promise<GrowthWindow[]> {
  const { startAnvil } = await import("../lib/anvil");
  const { freePort, deploy, devWallet, INSTITUTIONS, digest, DIBAO, REGION } =
    await import("../test/gateway/ledger/anvil");
  const { EvmLedger } = await import("../gateway/src/ledger");
  const total = options.total ?? 10_000;
  const window = options.window ?? 1_000;
  const concurrency = options.concurrency ?? 32;
  const node = await startAnvil({ port: await freePort(), stateInterval: 0, ...options.anvil });
  if (options.blockGasLimit) await rpc(node.url, "evm_setBlockGasLimit", [`0x${options.blockGasLimit.toString(16)}`]);
  const proxy = await countingProxy(node.url);
  const chain = { url: node.url } as Parameters<typeof deploy>[0];
  const windows: GrowthWindow[] = [];
  try {
    const deployment = await deploy(chain);
    const actors: Record<string, string> = { admin: devWallet(0).privateKey };
    for (const [actor, index] of INSTITUTIONS) actors[actor] = devWallet(index).privateKey;
    const ledger = new EvmLedger({
      rpcUrl: proxy.url,
      chainId: deployment.chainId,
      addresses: deployment.addresses,
      actors,
      pollIntervalMs: 250,
    });
    for (const [actor, index, role, region] of INSTITUTIONS) {
      if (index >= 10) await rpc(node.url, "anvil_setBalance", [ledger.accountOf(actor), "0x3635c9adc5dea00000"]);
      await ledger.registerInstitution("admin", {
        account: ledger.accountOf(actor),
        role,
        region,
        keyDigest: digest(`sm2-key:${actor}`),
      });
    }
    const { programmeId } = await ledger.createProgramme("approver", DIBAO);
    const submission = (i: number) => ({
      caseId: digest(`probe:case:${i}`),
      programmeId,
      region: REGION.township,
      pseudonym: digest(`probe:pseudonym:${i}`),
      recordDigest: digest(`probe:record:${i}`),
    });
    const pid = node.process.pid;
    const ledgerAbi = new Interface(loadArtifact("ReliefLedger").abi as InterfaceAbi);
    for (let done = 0; done < total; done += window) {
      proxy.counts.clear();
      const block0 = await blockNumber(node.url);
      const anvil0 = cpuSecondsOf(pid);
      const self0 = process.cpuUsage();
      const started = performance.now();
      let next = done;
      const end = Math.min(total, done + window);
      const lane = async () => {
        for (let i = next++; i < end; i = next++) await ledger.submitCase("caseworker", submission(i));
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
      const seconds = (performance.now() - started) / 1000;
      const selfUsed = process.cpuUsage(self0);
      const n = end - done;
      const rpcPerCase: Record<string, number> = {};
      for (const [method, count] of proxy.counts) rpcPerCase[method] = Math.round((count / n) * 100) / 100;
      const blocks = (await blockNumber(node.url)) - block0;
      const anvilCpuMs = ((cpuSecondsOf(pid) - anvil0) * 1000) / n;
      const estimateTimes: number[] = [];
      const probeCase = submission(total + 1);
      for (let k = 0; k < 5; k++) {
        const t = performance.now();
        await rpc(node.url, "eth_estimateGas", [
          {
            from: ledger.accountOf("caseworker"),
            to: deployment.addresses.ledger,
            data: ledgerAbi.encodeFunctionData("submitCase", [
              probeCase.caseId,
              probeCase.programmeId,
              probeCase.region,
              probeCase.pseudonym,
              probeCase.recordDigest,
            ]),
          },
        ]);
        estimateTimes.push(performance.now() - t);
      }
      const mineTimes: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t = performance.now();
        await rpc(node.url, "evm_mine");
        mineTimes.push(performance.now() - t);
      }
      const w: GrowthWindow = {
        cases: end,
        perSecond: Math.round(n / seconds),
        anvilCpuMs: Math.round(anvilCpuMs * 10) / 10,
        selfCpuMs: Math.round(((selfUsed.user + selfUsed.system) / 1000 / n) * 10) / 10,
        blocks,
        anvilRssMiB: Math.round(rssOf(pid) / 2 ** 20),
        rpcPerCase,
        estimateMs: Math.round(estimateTimes.sort((a, b) => a - b)[2] * 100) / 100,
        emptyBlockMs: Math.round(mineTimes.sort((a, b) => a - b)[1] * 100) / 100,
      };
      windows.push(w);
      options.onWindow?.(w);
    }
    await ledger.close();
    return windows;
  } finally {
    await proxy.close();
    await node.stop();
  }
}
