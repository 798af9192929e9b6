/**
 * The anchoring worker: turns outbox entries into anchors on chain (IAnchorLog), crash-safely.
 *
 * One batch = pending entries of one region, in claim (queue) order; leaf i of the batch's Merkle tree is the i-th
 * claimed entry's record digest. Protocol per batch, each step durable before the next:
 *
 *   claimOutbox → beginAnchor(sequence = chain's anchorCount, root, leaves)   the store knows the anchor BEFORE sending
 *               → ledger.anchor(expectedSequence = sequence, …)               the contract refuses a second anchor at
 *                                                                              that sequence, so re-sending is safe
 *               → setAnchorTransaction → confirmAnchor(txHash, block)
 *
 * The sequence the store records is the number the chain gives the next anchor (`anchorCount()`); the contract
 * enforces it, and the store must hold no anchor at it (else the chain lost anchors: {@link AnchoringWorker.reconcile}).
 *
 * A submitted anchor that is not confirmed (crash, or the chain became unreachable mid-send) is settled against the
 * chain before any new batch and by `reconcile()` at start-up:
 * - the chain has its sequence with the same root → confirm it (it was mined; nothing is re-sent);
 * - the chain has its sequence with another root → someone else anchored: abandon ours, its entries are re-queued;
 * - its sequence is the chain's next → re-send the same (sequence, root): at most one of the sends is mined;
 * - the chain has fewer anchors → the chain lost blocks: abandon and re-queue.
 * Confirmed anchors the chain no longer has (or has with another root) are lost: abandoned and re-queued (with an
 * audit entry `anchor.lost`, the store having no "lost" status). Entries are therefore never anchored twice while the
 * chain has them.
 *
 * When the chain is unreachable ({@link LedgerUnavailableError}) a round fails softly: claimed entries not yet in an
 * anchor are rescheduled with exponential backoff, a submitted anchor stays submitted (settled next round).
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { buildTree } from "../../../lib/merkle";
import { type ActorId, type Ledger, LedgerError, LedgerUnavailableError, isLedgerError } from "../ledger";
import type { AnchorRow, OutboxEntry, Store } from "../store";

/** Most entries one claim of the store returns (`MAX_CLAIM` of the outbox table). */
const STORE_CLAIM_LIMIT = 10_000;
/** Most records one anchor holds. */
export const MAX_BATCH_SIZE = 100_000;

export const ANCHORING_DEFAULTS = {
  batchSize: 1_000,
  intervalMs: 5_000,
  leaseMs: 120_000,
  backoff: { initialMs: 1_000, maxMs: 300_000 },
  maxBatchesPerRound: 100,
  /** Confirmed anchors just below the chain's count whose roots reconcile compares with the chain. */
  reconcileWindow: 16,
  /** Consecutive missing sequences after which reconcile stops looking for store anchors above the chain's count. */
  reconcileGap: 32,
} as const;

export interface AnchoringWorkerOptions {
  store: Store;
  ledger: Ledger;
  /** The anchorer's actor id in the ledger (an active Anchorer whose region contains the records' regions). */
  actor: ActorId;
  /** Records per anchor, 1 to 100,000 (default 1,000). */
  batchSize?: number;
  /** Pause between rounds of {@link AnchoringWorker.start}, ms (default 5,000). */
  intervalMs?: number;
  /** Delay before entries are retried after the chain was unreachable: initialMs · 2^(failures − 1), capped. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** The clock backoff is measured on (default: the system clock). Use the store's clock. */
  clock?: () => Date;
  /** How long a claim leases entries, ms (default 120,000): longer than one batch takes to send and mine. */
  leaseMs?: number;
  /** Batches one round anchors at most (default 100). */
  maxBatchesPerRound?: number;
  /** Called with errors of background rounds ({@link AnchoringWorker.start}). */
  onError?: (error: unknown) => void;
}

/** An anchor confirmed in a round. */
export interface AnchoredBatch {
  sequence: number;
  regionCode: number;
  root: string;
  recordCount: number;
  txHash: string;
  blockNumber: number;
  /** Whether it was confirmed from the chain without sending (a send before a crash was mined). */
  recovered: boolean;
}

export interface RoundResult {
  anchors: AnchoredBatch[];
  /** Records confirmed in this round. */
  anchoredRecords: number;
  /** Set when the chain was unreachable: the round stopped, entries wait for `retryAt`. */
  unavailable?: LedgerUnavailableError;
  retryAt?: Date;
}

export interface ReconcileResult {
  /** Submitted anchors found mined on chain and confirmed without sending. */
  confirmed: number[];
  /** Submitted anchors that were (re-)sent because the chain's next sequence was theirs. */
  resent: number[];
  /** Submitted anchors the chain does not have (or has with another root): abandoned, entries re-queued. */
  abandoned: number[];
  /** Confirmed anchors the chain lost: abandoned, entries re-queued for anchoring again. */
  lost: number[];
  /** Entries re-queued. */
  requeued: number;
}

function checkPositive(value: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${what} must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

/** The metadata digest of a batch: what it is (region, size, queue positions), never what it holds. */
export function batchMetadataDigest(regionCode: number, leaves: readonly Pick<OutboxEntry, "position">[]): string {
  const first = leaves[0]?.position ?? 0;
  const last = leaves[leaves.length - 1]?.position ?? 0;
  return keccak256(toUtf8Bytes(`relief-anchor-v1:${regionCode}:${leaves.length}:${first}:${last}`));
}

export class AnchoringWorker {
  readonly store: Store;
  readonly ledger: Ledger;
  readonly actor: ActorId;
  readonly batchSize: number;
  readonly intervalMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly leaseMs: number;
  readonly maxBatchesPerRound: number;
  readonly #clock: () => Date;
  readonly #onError: (error: unknown) => void;
  /** Consecutive rounds that found the chain unreachable. */
  #failures = 0;
  /** Entries deferred because the chain was unreachable: due again as soon as it answers (not after their backoff). */
  readonly #deferred = new Set<string>();
  /** Serialises rounds and reconciliations. */
  #busy: Promise<unknown> = Promise.resolve();
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;

  constructor(options: AnchoringWorkerOptions) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.actor = options.actor;
    this.batchSize = checkPositive(options.batchSize ?? ANCHORING_DEFAULTS.batchSize, "batchSize", MAX_BATCH_SIZE);
    this.intervalMs = checkPositive(options.intervalMs ?? ANCHORING_DEFAULTS.intervalMs, "intervalMs");
    const initialMs = checkPositive(
      options.backoff?.initialMs ?? ANCHORING_DEFAULTS.backoff.initialMs,
      "backoff.initialMs",
    );
    const maxMs = checkPositive(options.backoff?.maxMs ?? ANCHORING_DEFAULTS.backoff.maxMs, "backoff.maxMs");
    if (maxMs < initialMs) throw new RangeError("backoff.maxMs must be at least backoff.initialMs");
    this.backoff = { initialMs, maxMs };
    this.leaseMs = checkPositive(options.leaseMs ?? ANCHORING_DEFAULTS.leaseMs, "leaseMs");
    this.maxBatchesPerRound = checkPositive(
      options.maxBatchesPerRound ?? ANCHORING_DEFAULTS.maxBatchesPerRound,
      "maxBatchesPerRound",
    );
    this.#clock = options.clock ?? (() => new Date());
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Consecutive rounds that found the chain unreachable (0 after a good round). */
  get failures(): number {
    return this.#failures;
  }

  /** The backoff delay after `failures` consecutive failures, ms. */
  backoffDelay(failures: number): number {
    const exponent = Math.min(Math.max(failures - 1, 0), 40);
    return Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** exponent);
  }

  /** Runs one round: settles unconfirmed anchors, then anchors pending entries, one region per batch. */
  runOnce(): Promise<RoundResult> {
    return this.#exclusive(() => this.#round());
  }

  /** Start-up reconciliation with the chain (see the module comment). */
  reconcile(): Promise<ReconcileResult> {
    return this.#exclusive(() => this.#reconcile());
  }

  /** Reconciles, then runs a round every `intervalMs` until {@link stop}. Errors go to `onError`. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Stops the loop; resolves once the current round (if any) has finished. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    const loop = this.#loop;
    this.#loop = undefined;
    await loop;
  }

  async #run(): Promise<void> {
    let reconciled = false;
    while (!this.#stopping) {
      try {
        if (!reconciled) {
          await this.reconcile();
          reconciled = true;
        }
        const result = await this.runOnce();
        if (result.unavailable) this.#onError(result.unavailable);
      } catch (error) {
        this.#onError(error);
      }
      if (this.#stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(fn, fn);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #round(): Promise<RoundResult> {
    const result: RoundResult = { anchors: [], anchoredRecords: 0 };
    try {
      if (this.#deferred.size > 0) {
        // Backoff spaces the attempts while the chain is down; it must not hold entries back once it answers (after
        // an outage of n rounds they would wait up to 2^(n-1) s, capped at backoff.maxMs). Throws while still down.
        await this.ledger.anchorCount();
        const ids = [...this.#deferred];
        this.#deferred.clear();
        await this.store.rescheduleOutbox(ids, this.#clock());
      }
      for (const row of await this.#listAnchors("submitted")) {
        const done = await this.#settle(row);
        if (done) this.#record(result, done);
      }
      for (let i = 0; i < this.maxBatchesPerRound; i++) {
        const batch = await this.#claimBatch();
        if (batch.length === 0) break;
        const done = await this.#anchorBatch(batch);
        if (done) this.#record(result, done);
      }
      this.#failures = 0;
      return result;
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      this.#failures += 1;
      result.unavailable = error;
      result.retryAt = new Date(this.#clock().getTime() + this.backoffDelay(this.#failures));
      return result;
    }
  }

  #record(result: RoundResult, done: AnchoredBatch): void {
    result.anchors.push(done);
    result.anchoredRecords += done.recordCount;
  }

  /** Claims up to `batchSize` due entries of one region (the region of the first due entry), in queue order. */
  async #claimBatch(): Promise<OutboxEntry[]> {
    const first = await this.store.claimOutbox({ limit: 1, leaseMs: this.leaseMs });
    if (first.length === 0) return [];
    const regionCode = first[0].regionCode;
    const batch = [...first];
    while (batch.length < this.batchSize) {
      const limit = Math.min(STORE_CLAIM_LIMIT, this.batchSize - batch.length);
      const more = await this.store.claimOutbox({ limit, leaseMs: this.leaseMs, regionCode });
      batch.push(...more);
      if (more.length < limit) break;
    }
    // Entries claimed one call apart: keep queue order across the calls.
    return batch.sort((a, b) => a.position - b.position);
  }

  async #anchorBatch(batch: OutboxEntry[]): Promise<AnchoredBatch | undefined> {
    const ids = batch.map((e) => e.recordId);
    let sequence: number;
    try {
      sequence = await this.ledger.anchorCount();
    } catch (error) {
      await this.#deferOnUnavailable(ids, error);
      throw error;
    }
    if ((await this.store.getAnchor(sequence)) !== undefined) {
      // The store has an anchor at the chain's next number: the chain lost anchors. Release, reconcile, go on.
      await this.store.rescheduleOutbox(ids, this.#clock());
      await this.#reconcile();
      return undefined;
    }
    const regionCode = batch[0].regionCode;
    const tree = buildTree(batch.map((e) => e.digest));
    const row = await this.store.beginAnchor({ sequence, root: tree.root, regionCode, recordIds: ids });
    return this.#send(row, batch, 0);
  }

  /** Reschedules claimed entries with backoff if `error` is the chain being unreachable. */
  async #deferOnUnavailable(ids: string[], error: unknown): Promise<void> {
    if (!(error instanceof LedgerUnavailableError)) return;
    const at = new Date(this.#clock().getTime() + this.backoffDelay(this.#failures + 1));
    await this.store.rescheduleOutbox(ids, at);
    for (const id of ids) this.#deferred.add(id);
  }

  /** Sends a submitted anchor and confirms it. Re-sending the same (sequence, root) is safe: see the module comment. */
  async #send(row: AnchorRow, leaves: OutboxEntry[] | undefined, depth: number): Promise<AnchoredBatch | undefined> {
    const entries = leaves ?? (await this.store.listAnchorLeaves(row.sequence));
    let mined;
    try {
      mined = await this.ledger.anchor(this.actor, {
        expectedSequence: row.sequence,
        region: BigInt(row.regionCode),
        root: row.root,
        recordCount: row.recordCount,
        metadataDigest: batchMetadataDigest(row.regionCode, entries),
      });
    } catch (error) {
      if (error instanceof LedgerUnavailableError) {
        // It may still be mined: keep the anchor submitted with its transaction; the next round settles it.
        if (error.txHash !== undefined) await this.store.setAnchorTransaction(row.sequence, error.txHash);
        throw error;
      }
      if (isLedgerError(error, "LedgerAnchorOutOfSequence") && depth < 3) {
        // Another anchor (maybe an earlier send of this one) took the number: see what the chain has.
        return this.#settle(row, depth + 1);
      }
      // Anything but the ledger refusing (e.g. the process dies): the anchor stays submitted, to be settled.
      if (!(error instanceof LedgerError)) throw error;
      // Refused (nothing was anchored): release the entries, with backoff, and let the caller see why.
      const ids = entries.map((e) => e.recordId);
      await this.store.abandonAnchor(row.sequence);
      await this.store.rescheduleOutbox(ids, new Date(this.#clock().getTime() + this.backoffDelay(1)));
      throw error;
    }
    await this.store.setAnchorTransaction(row.sequence, mined.txHash);
    await this.store.confirmAnchor(row.sequence, mined);
    return {
      sequence: row.sequence,
      regionCode: row.regionCode,
      root: row.root,
      recordCount: row.recordCount,
      txHash: mined.txHash,
      blockNumber: mined.blockNumber,
      recovered: false,
    };
  }

  /**
   * Settles a submitted anchor against the chain: confirms it if mined, re-sends it if its number is the chain's
   * next, abandons it otherwise. Returns the confirmed anchor, or undefined if abandoned.
   */
  async #settle(row: AnchorRow, depth = 0, outcome?: ReconcileResult): Promise<AnchoredBatch | undefined> {
    const count = await this.ledger.anchorCount();
    if (row.sequence < count) {
      const onChain = await this.ledger.anchorAt(row.sequence);
      if (onChain.root === row.root && onChain.recordCount === row.recordCount) {
        const txHash = (await this.#anchorTransaction(row.sequence, onChain.blockNumber)) ?? row.txHash;
        if (txHash === null) throw new Error(`anchor ${row.sequence} is on chain but its transaction was not found`);
        await this.store.confirmAnchor(row.sequence, { txHash, blockNumber: onChain.blockNumber });
        outcome?.confirmed.push(row.sequence);
        return {
          sequence: row.sequence,
          regionCode: row.regionCode,
          root: row.root,
          recordCount: row.recordCount,
          txHash,
          blockNumber: onChain.blockNumber,
          recovered: true,
        };
      }
    } else if (row.sequence === count) {
      outcome?.resent.push(row.sequence);
      return this.#send(row, undefined, depth);
    }
    // Another root at our number, or the chain has fewer anchors than our number: ours is not on chain.
    const released = await this.store.abandonAnchor(row.sequence);
    if (outcome) {
      outcome.abandoned.push(row.sequence);
      outcome.requeued += released;
    }
    return undefined;
  }

  /** The hash of the transaction that emitted `RecordsAnchored(sequence)` in block `blockNumber`. */
  async #anchorTransaction(sequence: number, blockNumber: number): Promise<string | undefined> {
    const events = await this.ledger.events(blockNumber, blockNumber);
    const event = events.find((e) => e.name === "RecordsAnchored" && e.args.sequence === sequence);
    return event?.txHash;
  }

  async #listAnchors(status: AnchorRow["status"]): Promise<AnchorRow[]> {
    return this.store.listAnchors({ status, limit: 1_000 });
  }

  async #reconcile(): Promise<ReconcileResult> {
    const outcome: ReconcileResult = { confirmed: [], resent: [], abandoned: [], lost: [], requeued: 0 };
    const count = await this.ledger.anchorCount();
    const candidates = new Map<number, AnchorRow>();
    for (const row of await this.#listAnchors("submitted")) candidates.set(row.sequence, row);
    // Confirmed anchors the chain may have lost: those at or above its count (found by probing upward), and the
    // few just below it, whose roots are compared (the chain rolled back, then another anchorer wrote).
    const from = Math.max(0, count - ANCHORING_DEFAULTS.reconcileWindow);
    for (let seq = from, misses = 0; seq < count || misses < ANCHORING_DEFAULTS.reconcileGap; seq++) {
      if (candidates.has(seq)) continue;
      const row = await this.store.getAnchor(seq);
      if (row === undefined) {
        if (seq >= count) misses += 1;
        continue;
      }
      misses = 0;
      candidates.set(seq, row);
    }
    const rows = [...candidates.values()].sort((a, b) => a.sequence - b.sequence);
    for (const row of rows) {
      if (row.status === "submitted") {
        await this.#settle(row, 0, outcome);
        continue;
      }
      const lost = row.sequence >= count || (await this.ledger.anchorAt(row.sequence)).root !== row.root;
      if (!lost) continue;
      const released = await this.store.transaction(async (tx) => {
        const n = await tx.abandonAnchor(row.sequence);
        await tx.appendAudit({
          actor: this.actor,
          action: "anchor.lost",
          target: `anchor:${row.sequence}`,
          details: {
            sequence: row.sequence,
            root: row.root,
            recordCount: row.recordCount,
            regionCode: row.regionCode,
            txHash: row.txHash,
            blockNumber: row.blockNumber,
            chainAnchorCount: count,
          },
        });
        return n;
      });
      outcome.lost.push(row.sequence);
      outcome.requeued += released;
    }
    return outcome;
  }
}
