/**
 * Anchoring through the production pipeline: sealed records stored with `storeSealed` (so queued in the outbox), then
 * one round of the real `AnchoringWorker` (claim → Merkle tree → `beginAnchor` → `ledger.anchor` on anvil →
 * `confirmAnchor`) at a given batch size, and the anchor transaction's gas read from its receipt. Unlike
 * bench/anchoring.ts (contract-level: a root of random digests anchored on Hardhat's in-process EVM), this runs the
 * gateway's worker, store and ledger adapter against anvil, and checks one inclusion proof per batch on chain.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider } from "ethers";
import { AnchoringWorker, proofOf, verifyProofOnChain } from "../gateway/src/anchoring";
import { HolderDirectory, KekCache, sealApplication, sealedList } from "../gateway/src/cases/sealing";
import { GATEWAY_ACTORS, type GatewayContext } from "../gateway/src/context";
import { type SealedRecord, storeSealed } from "../gateway/src/records";
import { HOUSEHOLDS_PER_TRANSACTION } from "./bulk-import";
import { BENCH_REGION, type HouseholdGenerator } from "./households";

export interface WorkerAnchorRow {
  /** The worker's `batchSize`, and the records queued for it. */
  batchSize: number;
  /** Records in the one anchor transaction the round sent. */
  recordsPerAnchorTx: number;
  gasUsed: number;
  gasPerRecord: number;
  /** Wall time of the worker's round (claim, tree, store, send, mining, confirm), ms. */
  roundMs: number;
  /** Records the round anchored per second of its wall time. */
  recordsPerSecond: number;
  /** A random record's inclusion proof verified on chain. */
  proofVerifiedOnChain: boolean;
}

export interface WorkerAnchoringResult {
  /** Records anchored before the measurement (left in the outbox by the intake run), in `drainAnchors` anchors. */
  drainedRecords: number;
  drainAnchors: number;
  rows: WorkerAnchorRow[];
}

/** Seals `records / 4` households with the production path and stores them (outbox entries included). */
async function queueRecords(ctx: GatewayContext, households: HouseholdGenerator, records: number): Promise<string[]> {
  if (records % 4 !== 0) throw new Error("records must be a multiple of 4 (four records a household)");
  const holders = await new HolderDirectory(ctx.store).holders("township-caseworker", Number(BENCH_REGION));
  const keks = new KekCache(ctx.keyring);
  const ids: string[] = [];
  try {
    for (let done = 0; done < records / 4; done += HOUSEHOLDS_PER_TRANSACTION) {
      const sealed: SealedRecord[] = [];
      const n = Math.min(HOUSEHOLDS_PER_TRANSACTION, records / 4 - done);
      for (const input of households.take(n)) {
        const caseId = "0x" + randomBytes(32).toString("hex");
        sealed.push(...sealedList(await sealApplication(keks, caseId, input, holders)));
      }
      await ctx.store.transaction(async (tx) => {
        for (const s of sealed) await storeSealed(tx, s);
      });
      ids.push(...sealed.map((s) => s.record.id));
    }
  } finally {
    await keks.wipe();
  }
  return ids;
}

/**
 * For each batch size: queues that many records, runs one worker round with that batch size and reads the gas of
 * its anchor. Stop any worker running on `ctx.store` first. Whatever is in the outbox beforehand is anchored first
 * (not measured), which also makes sure the log's one-off first-anchor cost is not in a row.
 */
export async function benchWorkerAnchoring(
  ctx: GatewayContext,
  households: HouseholdGenerator,
  sizes: number[],
): Promise<WorkerAnchoringResult> {
  const provider = new JsonRpcProvider(ctx.rpcUrl, undefined, { cacheTimeout: -1 });
  const chain = { chainId: ctx.deployment.chainId, contract: ctx.deployment.addresses.anchors };
  try {
    const drain = new AnchoringWorker({
      store: ctx.store,
      ledger: ctx.ledger,
      actor: GATEWAY_ACTORS.anchorer,
      batchSize: 10_000,
    });
    let drainedRecords = 0;
    let drainAnchors = 0;
    for (;;) {
      const round = await drain.runOnce();
      if (round.unavailable) throw round.unavailable;
      drainedRecords += round.anchoredRecords;
      drainAnchors += round.anchors.length;
      if (round.anchors.length === 0) break;
    }
    if ((await ctx.ledger.anchorCount()) === 0) {
      await queueRecords(ctx, households, 4);
      await drain.runOnce(); // the log's first anchor also initialises its counters: keep it out of the rows
    }

    const rows: WorkerAnchorRow[] = [];
    for (const batchSize of sizes) {
      const ids = await queueRecords(ctx, households, batchSize);
      const worker = new AnchoringWorker({
        store: ctx.store,
        ledger: ctx.ledger,
        actor: GATEWAY_ACTORS.anchorer,
        batchSize,
        maxBatchesPerRound: 1,
      });
      const started = performance.now();
      const round = await worker.runOnce();
      const roundMs = performance.now() - started;
      if (round.unavailable) throw round.unavailable;
      if (round.anchors.length !== 1 || round.anchors[0].recordCount !== batchSize) {
        throw new Error(`expected one anchor of ${batchSize} records, got ${JSON.stringify(round.anchors)}`);
      }
      const receipt = await provider.getTransactionReceipt(round.anchors[0].txHash);
      if (!receipt) throw new Error(`no receipt for anchor ${round.anchors[0].sequence}`);
      const sample = ids[Math.floor(Math.random() * ids.length)];
      const proofVerifiedOnChain = await verifyProofOnChain(ctx.ledger, await proofOf(ctx.store, sample, chain));
      if (!proofVerifiedOnChain) throw new Error(`the proof of record ${sample} did not verify on chain`);
      const gasUsed = Number(receipt.gasUsed);
      rows.push({
        batchSize,
        recordsPerAnchorTx: round.anchors[0].recordCount,
        gasUsed,
        gasPerRecord: gasUsed / batchSize,
        roundMs,
        recordsPerSecond: (batchSize * 1000) / roundMs,
        proofVerifiedOnChain,
      });
    }
    return { drainedRecords, drainAnchors, rows };
  } finally {
    provider.destroy();
  }
}
