/**
 * The sweep's records check: every off-chain record against the Merkle root the chain holds for its anchor, naming
 * each kind of tampering at the record, leaf or anchor where it is.
 *
 * The chain is the authority. For each anchor on chain (sequence 0 to `anchorCount − 1`, a snapshot taken when the
 * check starts) whose region is in scope, the store's leaves of that sequence (outbox entries by leaf index, with their
 * records) are read page by page; each record's digest is recomputed from its stored header and envelope (receipt
 * records: from the receipt row, `receiptDigest(canonical, signature)`, see beneficiary/receipts.ts) and compared with
 * its leaf, the digest the store queued and anchored; then the Merkle root of the leaves is rebuilt and compared with
 * the chain's. What is found, and how it is named:
 *
 * - `record-modified`: a record whose recomputed digest (or whose `digest` column) is not its leaf, while the leaves
 *   do give the chain's root: the envelope or the header was edited after anchoring. At the record and leaf.
 * - `record-deleted`: a leaf whose record row is gone, or leaves the chain counts that the store does not have
 *   (consecutive missing leaves are one exception, at the first; `detail` gives the range). At the sequence and leaf.
 * - `record-inserted`: a record with no outbox entry at all (every record the gateway writes is queued in the same
 *   transaction), or an outbox entry at a leaf index beyond the chain's `recordCount`.
 * - `records-swapped`: two records of one anchor hold each other's anchored content (the root matches with the leaves
 *   as stored, and each record's content, under the other's header or id, gives the other's leaf); or two leaves
 *   exchanged places (the root matches only with the two exchanged: found through the queue order, which is the leaf
 *   order of every batch), or the store's leaves hold each other's digest. One exception per record, each naming the
 *   other.
 * - `anchor-missing`: the chain has anchor k and the store has no anchor row k; or the store has a confirmed anchor
 *   the chain does not have (checked against the chain's count at that moment, so an anchor confirmed during the
 *   sweep is not one); or leaves point at an anchor neither has (checked against the store's anchors at that moment,
 *   so an anchor the worker began during the sweep is not one).
 * - `anchor-root-mismatch`: the store's anchor row k has another root (or record count, or region) than the chain's.
 * - `proof-mismatch`: a record whose digest is unchanged (the chain's root is rebuilt from the records' own digests)
 *   but whose leaf in the store is not that digest, so the proof the store builds no longer verifies on chain; at the
 *   record. When the leaves do not give the chain's root and nothing above explains it, one `proof-mismatch` at the
 *   anchor (no leaf): no proof built from the store verifies.
 *
 * Proofs are not sent to the chain one by one: a leaf's proof verifies against the chain's root exactly when the root
 * rebuilt from the leaves is the chain's (`AnchorLog.verifyInclusion` is `lib/merkle.ts`'s algorithm), so one rebuild
 * per anchor decides every leaf of it.
 *
 * Receipt records: the anchored digest commits to the receipt (canonical text and signature), not to the record's
 * header or envelope (beneficiary/receipts.ts). Their receipt is looked up by the record's id and case, and their
 * region is compared with the one queued, so an edited kind, case or region is still found; an edited schema version
 * of a receipt record is not committed anywhere and cannot be.
 *
 * Also checked: records queued and not yet anchored (and those in a submitted anchor the chain does not have yet) are
 * counted as pending, not exceptions; their digests are compared with what was queued; if any has waited longer than
 * `pendingWarningMs` (default one hour), one `anchoring-overdue` warning says how many and names the oldest.
 *
 * Scope: `region` keeps the anchors whose region (on chain) is inside it, and the queued or unqueued records inside it.
 * `programmeId` keeps the records of cases of that programme in the case index, and records whose programme cannot be
 * known (a deleted record, a record of a case not in the index): those are reported in every programme's scope. An
 * anchor's own exceptions are reported when it holds a record in scope (or none the store knows). `period` does not
 * apply to records (a record is not of a period) and is ignored here.
 *
 * Memory: one anchor's leaves at a time (at most 100,000 digests, queue positions and ids), plus the few records
 * whose digest does not match; every table is read in pages of at most 5,000 rows.
 *
 * Speed, on a SQLite store (the store says its file, store/sqlite-file.ts): each anchor is first checked by the fast
 * path of ./leaf-check.ts, raw rows through a read-only connection of its own, in worker threads (./anchor-pool.ts;
 * {@link RecordsCheckOptions.threads}) a few anchors ahead, or in this thread. An anchor it finds clean, with the
 * chain's count and root and an agreeing anchor row, has nothing to report; any other goes through the full check
 * below, which names what is wrong. Exceptions and counts are the same either way; other stores take the full check.
 *
 * The AnchorLog is assumed to be written by this gateway alone (the anchoring worker's own assumption): an anchor of
 * another writer shows as `anchor-missing`.
 */
import os from "node:os";
import { MerkleError, merkleHashReady, merkleRoot } from "../../../../lib/merkle";
import { contains } from "../../../../lib/regions";
import type { AnchorRecord, Ledger } from "../../ledger";
import type { AnchorRow } from "../../store";
import { sqliteFileOf } from "../../store/sqlite-file";
import { type LeafReader, openLeafReader } from "../../store/sqlite-leaves";
import type { ScanData } from "../../store/store";
import type { ReceiptContent, ScannedEntry, ScannedRecord } from "../../store/tables/scan";
import { RECEIPT_RECORD_KIND } from "../verification";
import { AnchorPool } from "./anchor-pool";
import { type LeafJob, type LeafVerdict, checkAnchorLeaves } from "./leaf-check";
import { contentDigest as digestOfContent, headerOf, receiptContentDigest, sealedDigest } from "./record-digest";
import type { ExceptionKind, ProgressListener, SweepException, SweepScope } from "./types";

/** Rows per scan call. */
export const RECORDS_PAGE = 5_000;
/** Default age after which queued records earn an `anchoring-overdue` warning: one hour. */
export const PENDING_WARNING_MS = 3_600_000;
/** Mismatching records of one anchor whose envelopes are kept to look for swapped pairs among them. */
const MAX_SWAP_CANDIDATES = 64;
/** Records on chain from which the check starts worker threads by default (below, starting them costs more). */
export const WORKER_MIN_RECORDS = 20_000;
/** Most worker threads started by default. */
const MAX_DEFAULT_THREADS = 4;

/** What the check reads: the store's scans and the chain's anchors (a `GatewayContext` has both). */
export interface RecordsCheckSource {
  store: Pick<
    ScanData,
    "scanAnchoredLeaves" | "scanQueuedEntries" | "scanUnqueuedRecords" | "scanAnchors" | "receiptContents"
  >;
  ledger: Pick<Ledger, "anchorCount" | "anchorAt" | "totalRecords">;
  /** The clock pending ages are measured on (default: the system clock). */
  now?: () => Date;
}

export interface RecordsCheckOptions {
  /** Progress: records of the chain's anchors passed (in scope or not) out of the chain's total. */
  onProgress?: ProgressListener;
  /** Age of a queued record that earns the `anchoring-overdue` warning, ms (default one hour). */
  pendingWarningMs?: number;
  /** Rows per scan call, 1 to 5,000 (default 5,000). */
  pageSize?: number;
  /** Stops the check between pages (the generator throws the signal's reason). */
  signal?: AbortSignal;
  /**
   * Worker threads that check anchors of a SQLite store (./anchor-pool.ts); 0: the fast path in the main thread.
   * Default: one per core (at most 4) from {@link WORKER_MIN_RECORDS} records on chain, else 0. Other stores
   * (PostgreSQL, ":memory:") are always checked in the main thread through their scans.
   */
  threads?: number;
}

export interface RecordsSummary {
  /** Records in scope whose digest was recomputed. */
  checked: number;
  /** Leaves in scope of anchors on chain that the store has. */
  anchored: number;
  /** Records in scope queued for anchoring, or in an anchor the chain does not have yet. */
  pending: number;
  /** Anchors on chain in scope. */
  anchors: number;
  errors: number;
  warnings: number;
}

/** A leaf whose record is there but does not give the leaf. */
interface BadLeaf {
  leaf: number;
  entry: ScannedEntry;
  /** The digest recomputed from the record (null: malformed header, or a receipt record without its receipt). */
  content: string | null;
  /** Kept for the first few, to look for swapped pairs. */
  record: ScannedRecord | undefined;
  receipt: ReceiptContent | undefined;
  inScope: boolean;
}

/** The digest a stored record gives: the sealing digest, or for a receipt record its receipt's digest. */
function contentDigest(record: ScannedRecord, receipt: ReceiptContent | undefined): string | null {
  return digestOfContent(record, receipt, RECEIPT_RECORD_KIND);
}

/** The Merkle root of `leaves`, or null if one is not a 32-byte hex digest (someone wrote garbage in the outbox). */
function rootOf(leaves: readonly string[]): string | null {
  try {
    return merkleRoot(leaves);
  } catch (error) {
    if (error instanceof MerkleError) return null;
    throw error;
  }
}

/** Whether `row`'s content is what was anchored as `target`'s leaf: under the target's header, or with its id. */
function holdsContentOf(row: BadLeaf, target: BadLeaf): boolean {
  const wanted = target.entry.digest;
  if (row.content === wanted) return true;
  const mine = row.record;
  const theirs = target.record;
  if (mine === undefined || theirs === undefined) return false;
  if (mine.kind === RECEIPT_RECORD_KIND) return receiptContentDigest(row.receipt) === wanted;
  return (
    sealedDigest(headerOf(theirs), mine.envelope) === wanted ||
    sealedDigest({ ...headerOf(mine), id: theirs.id }, mine.envelope) === wanted
  );
}

/** Pairs of `bad` that hold each other's content; each leaf in at most one pair. */
function swappedPairs(bad: BadLeaf[], test: (a: BadLeaf, b: BadLeaf) => boolean): [BadLeaf, BadLeaf][] {
  const pairs: [BadLeaf, BadLeaf][] = [];
  const paired = new Set<number>();
  for (let a = 0; a < bad.length; a++) {
    if (paired.has(a)) continue;
    for (let b = a + 1; b < bad.length; b++) {
      if (paired.has(b)) continue;
      if (test(bad[a], bad[b]) && test(bad[b], bad[a])) {
        pairs.push([bad[a], bad[b]]);
        paired.add(a);
        paired.add(b);
        break;
      }
    }
  }
  return pairs;
}

/** Pairs of `bad` whose leaves in the store are each other's digests (linear: by digest). */
function digestSwaps(bad: BadLeaf[]): [BadLeaf, BadLeaf][] {
  const byLeafDigest = new Map<string, BadLeaf>();
  for (const b of bad) byLeafDigest.set(b.entry.digest, b);
  const pairs: [BadLeaf, BadLeaf][] = [];
  const paired = new Set<number>();
  for (const a of bad) {
    if (a.content === null || paired.has(a.leaf)) continue;
    const b = byLeafDigest.get(a.content);
    if (b === undefined || b === a || paired.has(b.leaf) || b.content !== a.entry.digest) continue;
    pairs.push(a.leaf < b.leaf ? [a, b] : [b, a]);
    paired.add(a.leaf);
    paired.add(b.leaf);
  }
  return pairs;
}

/** How a record no longer gives its leaf (for `detail`). */
function whatChanged(b: BadLeaf): string {
  const record = b.entry.record;
  if (b.content === null) {
    return record?.kind === RECEIPT_RECORD_KIND
      ? "no longer gives a digest: its receipt is missing or malformed"
      : "no longer gives a digest: its header is malformed";
  }
  if (b.content !== b.entry.digest) return `gives digest ${b.content}, not its anchored leaf ${b.entry.digest}`;
  if (record !== null && record.digest !== b.entry.digest) {
    return `has digest ${record.digest} in its row, not its anchored leaf ${b.entry.digest}`;
  }
  return `has region ${record?.regionCode ?? "?"}, not the region ${b.entry.regionCode} it was queued and anchored with`;
}

function inRegion(scope: SweepScope, region: bigint | number): boolean {
  return scope.region === undefined || contains(scope.region, BigInt(region));
}

/** Whether a record of this programme is in scope; an unknown programme (null) is in every scope. */
function inProgramme(scope: SweepScope, programmeId: number | null): boolean {
  return scope.programmeId === undefined || programmeId === null || programmeId === scope.programmeId;
}

function checkPageSize(value: number | undefined): number {
  const size = value ?? RECORDS_PAGE;
  if (!Number.isSafeInteger(size) || size < 1 || size > RECORDS_PAGE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${RECORDS_PAGE}`);
  }
  return size;
}

/** The worker threads the check starts by default for `total` records on chain (0: none, the main thread's path). */
export function defaultThreads(total: number): number {
  return total >= WORKER_MIN_RECORDS ? Math.min(MAX_DEFAULT_THREADS, Math.max(1, os.availableParallelism())) : 0;
}

/** An anchor of the chain, and the promised verdict of a worker on it. */
interface AnchorTask {
  chain: AnchorRecord;
  verdict?: Promise<LeafVerdict>;
}

/** How anchors are checked fast: by a pool of workers, or by a connection of this thread. */
interface FastPath {
  pool?: AnchorPool;
  reader?: LeafReader;
  close(): Promise<void>;
}

/** The check's running state, shared by its phases. */
class RecordsCheck {
  readonly summary: RecordsSummary = { checked: 0, anchored: 0, pending: 0, anchors: 0, errors: 0, warnings: 0 };
  readonly #store: RecordsCheckSource["store"];
  readonly #ledger: RecordsCheckSource["ledger"];
  readonly #now: () => Date;
  readonly #scope: SweepScope;
  readonly #page: number;
  readonly #warnAfterMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onProgress: ProgressListener | undefined;
  readonly #threads: number | undefined;
  #done = 0;
  #total: number | undefined;

  constructor(source: RecordsCheckSource, scope: SweepScope, options: RecordsCheckOptions) {
    this.#store = source.store;
    this.#ledger = source.ledger;
    this.#now = source.now ?? (() => new Date());
    this.#scope = scope;
    this.#page = checkPageSize(options.pageSize);
    this.#warnAfterMs = options.pendingWarningMs ?? PENDING_WARNING_MS;
    this.#signal = options.signal;
    this.#onProgress = options.onProgress;
    if (options.threads !== undefined && (!Number.isSafeInteger(options.threads) || options.threads < 0)) {
      throw new RangeError("threads must be a non-negative integer");
    }
    this.#threads = options.threads;
  }

  #count(exceptions: SweepException[]): SweepException[] {
    for (const e of exceptions) {
      if (e.severity === "error") this.summary.errors += 1;
      else this.summary.warnings += 1;
    }
    return exceptions;
  }

  #progress(): void {
    this.#onProgress?.({ phase: "records", done: this.#done, total: this.#total });
  }

  /** Between pages: lets the process serve other work (the scans and hashing are synchronous), and stops if asked. */
  async #pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#signal?.throwIfAborted();
  }

  /** The receipts of the receipt records of a page, by record id. */
  async #receipts(page: ScannedEntry[]): Promise<Map<string, ReceiptContent>> {
    const wanted = page
      .filter((e) => e.record !== null && e.record.kind === RECEIPT_RECORD_KIND)
      .map((e) => ({ recordId: e.recordId, caseId: (e.record as ScannedRecord).caseId }));
    const found = new Map<string, ReceiptContent>();
    if (wanted.length === 0) return found;
    for (const receipt of await this.#store.receiptContents(wanted)) found.set(receipt.recordId, receipt);
    return found;
  }

  /** Pages of the leaves of anchor `sequence`, by leaf index. */
  async *#leafPages(sequence: number): AsyncGenerator<ScannedEntry[]> {
    let after = { sequence, leafIndex: -1 };
    for (;;) {
      await this.#pause();
      const page = await this.#store.scanAnchoredLeaves({
        fromSequence: sequence,
        throughSequence: sequence,
        after,
        limit: this.#page,
      });
      if (page.length > 0) yield page;
      if (page.length < this.#page) return;
      after = { sequence, leafIndex: page[page.length - 1].leafIndex as number };
    }
  }

  async *run(): AsyncGenerator<SweepException, RecordsSummary, undefined> {
    const [count, total] = await Promise.all([
      this.#ledger.anchorCount(),
      this.#ledger.totalRecords(),
      merkleHashReady(),
    ]);
    this.#total = total;
    this.#progress();
    const storeAnchors = this.#anchorRows();
    let pendingRow = await storeAnchors.next();

    const fast = await this.#fastPath(total);
    try {
      // The chain's anchors (and, with workers, their verdicts) are fetched ahead, and consumed in order.
      const ahead = fast?.pool ? fast.pool.size * 2 : 1;
      const tasks: Promise<AnchorTask>[] = [];
      let scheduled = 0;
      for (let k = 0; k < count; k++) {
        while (scheduled < count && scheduled <= k + ahead) tasks.push(this.#fetch(scheduled++, fast?.pool));
        await this.#pause();
        const { chain, verdict } = await (tasks.shift() as Promise<AnchorTask>);
        let row: AnchorRow | undefined;
        while (!pendingRow.done && pendingRow.value.sequence <= k) {
          if (pendingRow.value.sequence === k) row = pendingRow.value;
          pendingRow = await storeAnchors.next();
        }
        if (inRegion(this.#scope, chain.region)) {
          this.summary.anchors += 1;
          const v = verdict ? await verdict : fast?.reader ? await this.#verdictHere(fast.reader, k) : undefined;
          const exceptions = v && this.#accepts(v, chain, row) ? [] : await this.#checkAnchor(k, chain, row);
          for (const e of this.#count(exceptions)) yield e;
        }
        this.#done += chain.recordCount;
        this.#progress();
      }
    } finally {
      await fast?.close();
    }

    // The store's anchors above the chain's count: in flight (submitted), or lost by the chain (confirmed).
    let liveCount: number | undefined;
    const tail = new Set<number>();
    while (!pendingRow.done) {
      const row = pendingRow.value;
      tail.add(row.sequence);
      if (inRegion(this.#scope, row.regionCode)) {
        if (row.status === "submitted") {
          for (const e of this.#count(await this.#checkInFlight(row))) yield e;
        } else {
          liveCount ??= await this.#ledger.anchorCount();
          if (row.sequence >= liveCount) {
            yield* this.#count([
              {
                kind: "anchor-missing",
                severity: "error",
                anchorSequence: row.sequence,
                region: String(row.regionCode),
                txHash: row.txHash ?? undefined,
                blockNumber: row.blockNumber ?? undefined,
                detail:
                  `the store's anchor ${row.sequence} is confirmed, but the chain has ${liveCount} anchors ` +
                  `(0 to ${liveCount - 1})`,
              },
            ]);
          }
        }
      }
      pendingRow = await storeAnchors.next();
    }
    for (const e of this.#count(await this.#orphanLeaves(count, tail, () => this.#ledger.anchorCount()))) yield e;
    for await (const e of this.#queued()) yield* this.#count([e]);
    for await (const e of this.#unqueued()) yield* this.#count([e]);
    this.#done = Math.max(this.#done, this.#total ?? 0);
    this.#progress();
    return this.summary;
  }

  /**
   * The fast path for a SQLite store (./leaf-check.ts): a pool of workers, or (0 threads) a read-only connection of the
   * main thread. Undefined for other stores.
   */
  async #fastPath(total: number): Promise<FastPath | undefined> {
    const file = sqliteFileOf(this.#store);
    if (file === undefined) return undefined;
    const threads = this.#threads ?? defaultThreads(total);
    if (threads > 0) {
      const pool = await AnchorPool.open(file, threads);
      return { pool, close: () => pool.close() };
    }
    const reader = openLeafReader(file);
    return { reader, close: async () => reader.close() };
  }

  #job(sequence: number): LeafJob {
    return {
      sequence,
      pageSize: this.#page,
      programmeId: this.#scope.programmeId ?? null,
      receiptKind: RECEIPT_RECORD_KIND,
    };
  }

  /** Anchor `k` from the chain and, if a pool is given and the anchor is in scope, its verdict from a worker. */
  #fetch(k: number, pool: AnchorPool | undefined): Promise<AnchorTask> {
    const task = this.#ledger.anchorAt(k).then((chain): AnchorTask => {
      if (pool === undefined || !inRegion(this.#scope, chain.region)) return { chain };
      const verdict = pool.check(this.#job(k));
      verdict.catch(() => undefined);
      return { chain, verdict };
    });
    // Keep a prefetch that is never awaited (the caller stopped) from becoming an unhandled rejection.
    task.catch(() => undefined);
    return task;
  }

  /** The verdict on anchor `k` in this thread, pausing between pages. */
  async #verdictHere(reader: LeafReader, k: number): Promise<LeafVerdict> {
    const run = checkAnchorLeaves(reader, this.#job(k));
    try {
      for (;;) {
        const step = run.next();
        if (step.done) return step.value;
        await this.#pause();
      }
    } finally {
      run.return(undefined as never); // closes its statement if it stopped between pages (aborted)
    }
  }

  /**
   * Whether a verdict settles the anchor: clean, exactly the chain's leaves and root, and the store's anchor row agrees
   * with the chain. Then the full check would report nothing, and the verdict's counts are its counts.
   */
  #accepts(v: LeafVerdict, chain: AnchorRecord, row: AnchorRow | undefined): boolean {
    const root = chain.root.toLowerCase();
    const settled =
      v.clean &&
      v.rows === chain.recordCount &&
      v.root === root &&
      row !== undefined &&
      row.root.toLowerCase() === root &&
      row.recordCount === chain.recordCount &&
      BigInt(row.regionCode) === BigInt(chain.region);
    if (settled) {
      this.summary.anchored += v.anchored;
      this.summary.checked += v.checked;
    }
    return settled;
  }

  /** The store's anchor rows by sequence, page by page. */
  async *#anchorRows(): AsyncGenerator<AnchorRow> {
    let after = -1;
    for (;;) {
      await this.#pause();
      const page = await this.#store.scanAnchors({ afterSequence: after, limit: this.#page });
      yield* page;
      if (page.length < this.#page) return;
      after = page[page.length - 1].sequence;
    }
  }

  /** Checks anchor `k` of the chain against the store's anchor row (if any) and leaves. */
  async #checkAnchor(k: number, chain: AnchorRecord, row: AnchorRow | undefined): Promise<SweepException[]> {
    const n = chain.recordCount;
    const chainRoot = chain.root.toLowerCase();
    const digests: (string | undefined)[] = new Array<string | undefined>(n);
    const positions = new Float64Array(n).fill(Number.NaN);
    const ids: (string | undefined)[] = new Array<string | undefined>(n);
    const scoped = new Uint8Array(n);
    const bad: BadLeaf[] = [];
    const leafExceptions: SweepException[] = [];
    let seen = 0;
    let anyInScope = false;
    let txHash: string | undefined = row?.txHash ?? undefined;
    const region = String(chain.region);
    const at = (kind: ExceptionKind, detail: string, extra: Partial<SweepException> = {}): SweepException => ({
      kind,
      severity: "error",
      anchorSequence: k,
      region,
      txHash,
      blockNumber: chain.blockNumber,
      detail,
      ...extra,
    });
    const atLeaf = (kind: ExceptionKind, leaf: number, entry: ScannedEntry | undefined, detail: string) =>
      at(kind, detail, {
        leafIndex: leaf,
        recordId: entry?.recordId ?? ids[leaf],
        caseId: entry?.record?.caseId,
        programmeId: entry?.programmeId ?? undefined,
      });

    for await (const page of this.#leafPages(k)) {
      const receipts = await this.#receipts(page);
      for (const entry of page) {
        const leaf = entry.leafIndex as number;
        const inScope = inProgramme(this.#scope, entry.programmeId);
        txHash ??= entry.txHash ?? undefined;
        if (leaf >= n) {
          if (inScope) {
            leafExceptions.push(
              atLeaf(
                "record-inserted",
                leaf,
                entry,
                `record ${entry.recordId} is leaf ${leaf} of anchor ${k}, which has ${n} leaves on chain`,
              ),
            );
          }
          continue;
        }
        seen += 1;
        digests[leaf] = entry.digest;
        positions[leaf] = entry.position;
        ids[leaf] = entry.recordId;
        scoped[leaf] = inScope ? 1 : 0;
        if (inScope) {
          anyInScope = true;
          this.summary.anchored += 1;
        }
        const record = entry.record;
        if (record === null) {
          if (inScope) {
            leafExceptions.push(
              atLeaf("record-deleted", leaf, entry, `record ${entry.recordId} (leaf ${leaf} of anchor ${k}) is gone`),
            );
          }
          continue;
        }
        // Records out of the programme scope are recomputed too: explaining a wrong root needs every leaf.
        if (inScope) this.summary.checked += 1;
        const receipt = receipts.get(entry.recordId);
        const content = contentDigest(record, receipt);
        if (content !== entry.digest || record.digest !== entry.digest || record.regionCode !== entry.regionCode) {
          const keep = bad.length < MAX_SWAP_CANDIDATES;
          bad.push({
            leaf,
            entry: keep ? entry : { ...entry, record: { ...record, envelope: Buffer.alloc(0) } },
            content,
            record: keep ? record : undefined,
            receipt: keep ? receipt : undefined,
            inScope,
          });
        }
      }
    }

    const anchorExceptions: SweepException[] = [];
    // An anchor's own exceptions, when it holds a record in scope (or none the store knows of).
    const attributable = anyInScope || seen === 0;
    if (row === undefined) {
      if (attributable) {
        anchorExceptions.push(
          at(
            "anchor-missing",
            `the chain has anchor ${k} (${n} records, region ${region}); the store has no anchor ${k}` +
              (seen === 0 ? " and none of its leaves" : ""),
          ),
        );
      }
      // Nothing of the anchor in the store: the missing anchor says it all (not one deletion per leaf).
      if (seen === 0) return anchorExceptions;
    } else if (
      row.root.toLowerCase() !== chainRoot ||
      row.recordCount !== n ||
      BigInt(row.regionCode) !== BigInt(chain.region)
    ) {
      if (attributable) {
        anchorExceptions.push(
          at(
            "anchor-root-mismatch",
            `the store's anchor ${k} has root ${row.root} over ${row.recordCount} records of region ${row.regionCode}; ` +
              `the chain's has root ${chainRoot} over ${n} records of region ${region}`,
          ),
        );
      }
    }

    // Leaves the chain counts that the store does not have, as runs.
    let complete = true;
    for (let i = 0; i < n; i++) {
      if (digests[i] !== undefined) continue;
      complete = false;
      let j = i;
      while (j + 1 < n && digests[j + 1] === undefined) j++;
      leafExceptions.push(
        at(
          "record-deleted",
          i === j
            ? `leaf ${i} of anchor ${k} has no entry in the store`
            : `leaves ${i} to ${j} of anchor ${k} (${j - i + 1} records) have no entry in the store`,
          { leafIndex: i },
        ),
      );
      i = j;
    }

    const modifiedOne = (b: BadLeaf) =>
      atLeaf(
        "record-modified",
        b.leaf,
        b.entry,
        `record ${b.entry.recordId} (leaf ${b.leaf} of anchor ${k}) ${whatChanged(b)}`,
      );
    const modified = (b: BadLeaf): SweepException[] => (b.inScope ? [modifiedOne(b)] : []);
    const swapped = (a: BadLeaf | number, b: BadLeaf | number, how: string): SweepException[] => {
      const leafA = typeof a === "number" ? a : a.leaf;
      const leafB = typeof b === "number" ? b : b.leaf;
      const entryA = typeof a === "number" ? undefined : a.entry;
      const entryB = typeof b === "number" ? undefined : b.entry;
      const idA = entryA?.recordId ?? ids[leafA];
      const idB = entryB?.recordId ?? ids[leafB];
      const out: SweepException[] = [];
      if (scoped[leafA]) {
        out.push(
          atLeaf(
            "records-swapped",
            leafA,
            entryA,
            `record ${idA} (leaf ${leafA}) and record ${idB} (leaf ${leafB}) of anchor ${k} ${how}`,
          ),
        );
      }
      if (scoped[leafB]) {
        out.push(
          atLeaf(
            "records-swapped",
            leafB,
            entryB,
            `record ${idB} (leaf ${leafB}) and record ${idA} (leaf ${leafA}) of anchor ${k} ${how}`,
          ),
        );
      }
      return out;
    };

    if (!complete) {
      // Without every leaf the root cannot be rebuilt: what the records themselves show.
      const pairs = swappedPairs(bad.slice(0, MAX_SWAP_CANDIDATES), holdsContentOf);
      const inPair = new Set(pairs.flatMap(([a, b]) => [a.leaf, b.leaf]));
      for (const [a, b] of pairs) leafExceptions.push(...swapped(a, b, "hold each other's anchored content"));
      for (const b of bad) if (!inPair.has(b.leaf)) leafExceptions.push(...modified(b));
      return [...anchorExceptions, ...sortByLeaf(leafExceptions)];
    }

    const leaves = digests as string[];
    const storeRoot = rootOf(leaves);
    if (storeRoot === chainRoot) {
      // The leaves are what the chain anchored: a record that does not give its leaf was changed (or swapped).
      const pairs = swappedPairs(bad.slice(0, MAX_SWAP_CANDIDATES), holdsContentOf);
      const inPair = new Set(pairs.flatMap(([a, b]) => [a.leaf, b.leaf]));
      for (const [a, b] of pairs) leafExceptions.push(...swapped(a, b, "hold each other's anchored content"));
      for (const b of bad) if (!inPair.has(b.leaf)) leafExceptions.push(...modified(b));
    } else if (row !== undefined && row.root.toLowerCase() !== chainRoot && storeRoot === row.root.toLowerCase()) {
      // The store's anchor and its leaves agree with each other, not with the chain: `anchor-root-mismatch` says it.
      for (const b of bad) leafExceptions.push(...modified(b));
    } else {
      leafExceptions.push(...this.#explainRoot(k, chainRoot, leaves, positions, bad, { at, modified, swapped }));
    }
    return [...anchorExceptions, ...sortByLeaf(leafExceptions)];
  }

  /**
   * The leaves do not give the chain's root: the records' own digests may (the store's leaves were edited), or the
   * leaves in queue order may (two leaves exchanged places). Else one `proof-mismatch` for the anchor.
   */
  #explainRoot(
    k: number,
    chainRoot: string,
    leaves: string[],
    positions: Float64Array,
    bad: BadLeaf[],
    make: {
      at: (kind: ExceptionKind, detail: string, extra?: Partial<SweepException>) => SweepException;
      modified: (b: BadLeaf) => SweepException[];
      swapped: (a: BadLeaf | number, b: BadLeaf | number, how: string) => SweepException[];
    },
  ): SweepException[] {
    const out: SweepException[] = [];
    if (bad.length > 0 && bad.every((b) => b.content !== null)) {
      const own = leaves.slice();
      for (const b of bad) own[b.leaf] = b.content as string;
      if (rootOf(own) === chainRoot) {
        // The records are intact and were anchored as they are; their leaves in the store are not their digests.
        const pairs = digestSwaps(bad);
        const inPair = new Set(pairs.flatMap(([a, b]) => [a.leaf, b.leaf]));
        for (const [a, b] of pairs)
          out.push(...make.swapped(a, b, "have each other's digest as their leaf in the store"));
        for (const b of bad) {
          if (inPair.has(b.leaf) || !b.inScope) continue;
          out.push({
            ...make.modified(b)[0],
            kind: "proof-mismatch",
            detail:
              `record ${b.entry.recordId} (leaf ${b.leaf} of anchor ${k}) is unchanged, but the store's leaf ` +
              `${b.entry.digest} is not its digest ${b.content}: its proof no longer verifies on chain`,
          });
        }
        return out;
      }
    }
    // Every batch's leaves are in queue order: leaves out of that order exchanged places.
    const order = Array.from({ length: leaves.length }, (_, i) => i).sort((a, b) => positions[a] - positions[b]);
    if (order.some((j, i) => j !== i) && rootOf(order.map((j) => leaves[j])) === chainRoot) {
      const done = new Set<number>();
      for (let i = 0; i < order.length; i++) {
        const j = order[i];
        if (j === i || done.has(i)) continue;
        // Leaf i holds what belongs at the place where leaf `j`... follow the cycle; a 2-cycle is a swap.
        if (order[j] === i) {
          out.push(...make.swapped(Math.min(i, j), Math.max(i, j), "exchanged places"));
          done.add(i);
          done.add(j);
        } else {
          out.push(...make.swapped(j, i, "are out of their anchored order"));
          done.add(i);
        }
      }
      for (const b of bad) out.push(...make.modified(b));
      return out;
    }
    out.push(
      make.at(
        "proof-mismatch",
        `the store's ${leaves.length} leaves of anchor ${k} give root ${rootOf(leaves) ?? "(malformed)"}, the ` +
          `chain's is ${chainRoot}: no proof built from the store verifies`,
      ),
    );
    for (const b of bad) out.push(...make.modified(b));
    return out;
  }

  /** A submitted anchor the chain does not have yet: its records are pending; their digests are still compared. */
  async #checkInFlight(row: AnchorRow): Promise<SweepException[]> {
    const out: SweepException[] = [];
    for await (const page of this.#leafPages(row.sequence)) {
      const receipts = await this.#receipts(page);
      for (const entry of page) {
        if (!inProgramme(this.#scope, entry.programmeId)) continue;
        this.summary.pending += 1;
        const e = this.#pendingEntryException(entry, receipts);
        if (e) out.push({ ...e, anchorSequence: row.sequence, leafIndex: entry.leafIndex ?? undefined });
      }
    }
    return out;
  }

  /** record-deleted / record-modified for a queued entry whose record is gone or no longer gives what was queued. */
  #pendingEntryException(entry: ScannedEntry, receipts: Map<string, ReceiptContent>): SweepException | undefined {
    const base = {
      severity: "error" as const,
      recordId: entry.recordId,
      region: String(entry.regionCode),
      programmeId: entry.programmeId ?? undefined,
    };
    const record = entry.record;
    if (record === null) {
      return { ...base, kind: "record-deleted", detail: `record ${entry.recordId}, queued for anchoring, is gone` };
    }
    this.summary.checked += 1;
    const content = contentDigest(record, receipts.get(entry.recordId));
    if (content === entry.digest && record.digest === entry.digest && record.regionCode === entry.regionCode) {
      return undefined;
    }
    return {
      ...base,
      kind: "record-modified",
      caseId: record.caseId,
      detail: `record ${entry.recordId}, queued for anchoring, gives digest ${content ?? "(none)"}, not the queued ${entry.digest}`,
    };
  }

  /** Leaves that point at an anchor above the chain's count that the store has no row of. */
  async #orphanLeaves(from: number, tail: Set<number>, live: () => Promise<number>): Promise<SweepException[]> {
    const out: SweepException[] = [];
    let after: { sequence: number; leafIndex: number } | undefined;
    let liveCount: number | undefined;
    let reported = -1;
    for (;;) {
      await this.#pause();
      const page = await this.#store.scanAnchoredLeaves({ fromSequence: from, after, limit: this.#page });
      for (const entry of page) {
        const sequence = entry.anchorSequence as number;
        if (tail.has(sequence) || sequence === reported) continue;
        if (!inRegion(this.#scope, entry.regionCode) || !inProgramme(this.#scope, entry.programmeId)) continue;
        liveCount ??= await live();
        if (sequence < liveCount) continue;
        reported = sequence;
        // Begun by the anchoring worker after this sweep read the store's anchors: in flight, not missing.
        const [now] = await this.#store.scanAnchors({ afterSequence: sequence - 1, limit: 1 });
        if (now?.sequence === sequence) continue;
        out.push({
          kind: "anchor-missing",
          severity: "error",
          anchorSequence: sequence,
          recordId: entry.recordId,
          region: String(entry.regionCode),
          detail: `records are leaves of anchor ${sequence}, which neither the store nor the chain has`,
        });
      }
      if (page.length < this.#page) return out;
      const last = page[page.length - 1];
      after = { sequence: last.anchorSequence as number, leafIndex: last.leafIndex as number };
    }
  }

  /** Queued entries in scope: counted; digests compared; one warning if some waited too long. */
  async *#queued(): AsyncGenerator<SweepException> {
    const cutoff = this.#now().getTime() - this.#warnAfterMs;
    let overdue = 0;
    let oldest: ScannedEntry | undefined;
    let after: number | undefined;
    const withinRegion = this.#scope.region === undefined ? undefined : Number(this.#scope.region);
    for (;;) {
      await this.#pause();
      const page = await this.#store.scanQueuedEntries({ afterPosition: after, withinRegion, limit: this.#page });
      const receipts = await this.#receipts(page);
      for (const entry of page) {
        if (!inProgramme(this.#scope, entry.programmeId)) continue;
        this.summary.pending += 1;
        if (entry.enqueuedAt.getTime() < cutoff) {
          overdue += 1;
          if (oldest === undefined || entry.enqueuedAt < oldest.enqueuedAt) oldest = entry;
        }
        const e = this.#pendingEntryException(entry, receipts);
        if (e) yield e;
      }
      if (page.length < this.#page) break;
      after = page[page.length - 1].position;
    }
    if (oldest !== undefined) {
      yield {
        kind: "anchoring-overdue",
        severity: "warning",
        recordId: oldest.recordId,
        region: String(oldest.regionCode),
        detail:
          `${overdue} records have waited for anchoring longer than ${Math.round(this.#warnAfterMs / 60_000)} ` +
          `minutes; the oldest, ${oldest.recordId}, since ${oldest.enqueuedAt.toISOString()}`,
      };
    }
  }

  /** Records in scope with no outbox entry: written behind the gateway's back. */
  async *#unqueued(): AsyncGenerator<SweepException> {
    let after: string | undefined;
    const withinRegion = this.#scope.region === undefined ? undefined : Number(this.#scope.region);
    for (;;) {
      await this.#pause();
      const page = await this.#store.scanUnqueuedRecords({ afterId: after, withinRegion, limit: this.#page });
      for (const record of page) {
        if (!inProgramme(this.#scope, record.programmeId)) continue;
        yield {
          kind: "record-inserted",
          severity: "error",
          recordId: record.id,
          caseId: record.caseId,
          region: String(record.regionCode),
          programmeId: record.programmeId ?? undefined,
          detail: `record ${record.id} (${record.kind}) is in no anchor and was never queued for anchoring`,
        };
      }
      if (page.length < this.#page) return;
      after = page[page.length - 1].id;
    }
  }
}

function sortByLeaf(exceptions: SweepException[]): SweepException[] {
  return exceptions.sort((a, b) => (a.leafIndex ?? -1) - (b.leafIndex ?? -1));
}

/**
 * The records check over `scope` (see the module comment): yields each exception as it is found, anchor by anchor,
 * and returns the counts. Read-only.
 */
export function checkRecords(
  source: RecordsCheckSource,
  scope: SweepScope = {},
  options: RecordsCheckOptions = {},
): AsyncGenerator<SweepException, RecordsSummary, undefined> {
  return new RecordsCheck(source, scope, options).run();
}

/** {@link checkRecords}, collected: the counts and every exception (for a scope whose exceptions fit in memory). */
export async function collectRecordsCheck(
  source: RecordsCheckSource,
  scope: SweepScope = {},
  options: RecordsCheckOptions = {},
): Promise<RecordsSummary & { exceptions: SweepException[] }> {
  const exceptions: SweepException[] = [];
  const run = checkRecords(source, scope, options);
  for (;;) {
    const step = await run.next();
    if (step.done) return { ...step.value, exceptions };
    exceptions.push(step.value);
  }
}
