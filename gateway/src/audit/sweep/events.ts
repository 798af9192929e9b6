/**
 * The chain's events for the sweep, read in block spans so that a sweep over years of history never holds more than
 * two spans of events at once (the one being checked and the next one being fetched), and a compact index of case ids
 * that the fund and lifecycle checks share.
 *
 * The stream needs nothing but the chain: one `ledger.events(from, to, { timestamps })` call per span, from the
 * deployment's block to the block that was the latest when the stream started (a fixed snapshot, so that a sweep
 * reports on one state of the chain even while blocks keep coming).
 */
import type { Ledger, LedgerEvent } from "../../ledger";
import type { ProgressListener, SweepProgress } from "./types";

/** Blocks per `ledger.events` call unless the caller says otherwise. */
export const DEFAULT_SPAN = 2_000;

/** What the stream reads from: any {@link Ledger} (the EVM adapter, a Fabric adapter, a test double). */
export type EventSource = Pick<Ledger, "events" | "blockNumber">;

export interface ChainEventsOptions {
  /** The first block (the deployment's block, `deployment.deployedAtBlock`). */
  fromBlock: number;
  /** The last block (default: the latest block when the stream starts). */
  toBlock?: number;
  /** Blocks per call (default {@link DEFAULT_SPAN}). */
  span?: number;
  /** Fill in block timestamps (default true: the lifecycle check measures ages with them). */
  timestamps?: boolean;
  /** Called after each span with the blocks done out of the blocks to do. */
  onProgress?: ProgressListener;
  /** The phase named in progress reports (default "funds"). */
  phase?: SweepProgress["phase"];
  /** Stops the stream between spans. */
  signal?: AbortSignal;
}

/** One span's events, in chain order. */
export interface EventSpan {
  fromBlock: number;
  toBlock: number;
  events: LedgerEvent[];
}

/**
 * The events of `fromBlock..toBlock`, span by span, in chain order. The next span is fetched while the caller works
 * on the current one.
 */
export async function* eventSpans(source: EventSource, options: ChainEventsOptions): AsyncGenerator<EventSpan> {
  const span = options.span ?? DEFAULT_SPAN;
  if (!Number.isSafeInteger(span) || span < 1) throw new RangeError("span must be a positive integer");
  const fromBlock = options.fromBlock;
  const toBlock = options.toBlock ?? (await source.blockNumber());
  const timestamps = options.timestamps ?? true;
  const total = Math.max(0, toBlock - fromBlock + 1);
  const phase = options.phase ?? "funds";
  const fetchSpan = (start: number): Promise<EventSpan> => {
    const end = Math.min(toBlock, start + span - 1);
    return source.events(start, end, { timestamps }).then((events) => ({ fromBlock: start, toBlock: end, events }));
  };
  let next = fromBlock <= toBlock ? fetchSpan(fromBlock) : undefined;
  while (next) {
    options.signal?.throwIfAborted();
    const current = await next;
    next = current.toBlock < toBlock ? fetchSpan(current.toBlock + 1) : undefined;
    // A failed prefetch must not surface as an unhandled rejection if the caller stops here.
    next?.catch(() => undefined);
    yield current;
    options.onProgress?.({ phase, done: current.toBlock - fromBlock + 1, total });
  }
}

/** The events of `fromBlock..toBlock` one by one, in chain order (see {@link eventSpans}). */
export async function* chainEvents(source: EventSource, options: ChainEventsOptions): AsyncGenerator<LedgerEvent> {
  for await (const span of eventSpans(source, options)) yield* span.events;
}

/** Something that consumes the event stream: the fund and lifecycle checks. */
export interface EventConsumer {
  consume(event: LedgerEvent): void;
}

/**
 * Feeds every event of the stream to every consumer, span by span; returns the number of events. The stream is read
 * once for all the checks.
 */
export async function feed(spans: AsyncIterable<EventSpan>, consumers: readonly EventConsumer[]): Promise<number> {
  let n = 0;
  for await (const span of spans) {
    for (const event of span.events) for (const c of consumers) c.consume(event);
    n += span.events.length;
  }
  return n;
}

const ID = /^0x[0-9a-fA-F]{64}$/;

/**
 * Case ids (bytes32) to dense indexes 0, 1, 2, … so that per-case state can live in typed arrays. Costs about
 * 70 bytes a case: the 32 id bytes in one growing buffer, a 4-byte collision chain and one `Map` entry keyed by
 * a 31-bit hash of the id (a small integer, so no string or heap number per case). Ids are compared in full, so
 * hashes that collide only chain.
 */
export class CaseIndex {
  #bytes = new Uint8Array(32 * 1024);
  #next = new Int32Array(1024);
  #heads = new Map<number, number>();
  #size = 0;
  #lastId = "";
  #lastIndex = -1;

  get size(): number {
    return this.#size;
  }

  /** The index of `caseId`, or -1 if it has none. */
  find(caseId: string): number {
    if (caseId === this.#lastId) return this.#lastIndex;
    const head = this.#heads.get(prefix(caseId));
    for (let i = head ?? -1; i >= 0; i = this.#next[i]) if (this.#matches(i, caseId)) return this.#remember(caseId, i);
    return -1;
  }

  /** The index of `caseId`, given one now if it had none. */
  add(caseId: string): number {
    if (caseId === this.#lastId) return this.#lastIndex;
    if (!ID.test(caseId)) throw new RangeError("not a bytes32 case id");
    const key = prefix(caseId);
    const head = this.#heads.get(key);
    for (let i = head ?? -1; i >= 0; i = this.#next[i]) if (this.#matches(i, caseId)) return this.#remember(caseId, i);
    const index = this.#size++;
    if (index >= this.#next.length) this.#grow();
    const base = index * 32;
    for (let b = 0; b < 32; b++) this.#bytes[base + b] = byteAt(caseId, b);
    this.#next[index] = head ?? -1;
    this.#heads.set(key, index);
    return this.#remember(caseId, index);
  }

  /** The case id (lowercase hex) of an index. */
  idAt(index: number): string {
    if (index < 0 || index >= this.#size) throw new RangeError("no case at this index");
    let s = "0x";
    for (let b = index * 32, end = b + 32; b < end; b++) s += HEX[this.#bytes[b]];
    return s;
  }

  /** The last id looked up: both checks ask for the same event's case in turn. */
  #remember(caseId: string, index: number): number {
    this.#lastId = caseId;
    this.#lastIndex = index;
    return index;
  }

  #matches(index: number, caseId: string): boolean {
    const base = index * 32;
    for (let b = 0; b < 32; b++) if (this.#bytes[base + b] !== byteAt(caseId, b)) return false;
    return true;
  }

  #grow(): void {
    const n = Math.ceil(this.#next.length * 1.5);
    const next = new Int32Array(n);
    next.set(this.#next);
    this.#next = next;
    const bytes = new Uint8Array(n * 32);
    bytes.set(this.#bytes);
    this.#bytes = bytes;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Hex digit values by character code (-1: not a hex digit). */
const DIGIT = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) {
  DIGIT["0123456789abcdef".charCodeAt(c)] = c;
  DIGIT["0123456789ABCDEF".charCodeAt(c)] = c;
}

/** Byte `b` of a 0x-prefixed hex id (-1 if those characters are not hex digits: then nothing matches). */
function byteAt(id: string, b: number): number {
  const hi = DIGIT[id.charCodeAt(2 + 2 * b)];
  const lo = DIGIT[id.charCodeAt(3 + 2 * b)];
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/**
 * A 31-bit hash (FNV-1a) of an id's hex digits, case-blind: a V8 small integer. All 32 bytes count, so ids that share
 * a prefix (sequential or structured ids) do not all collide.
 */
function prefix(caseId: string): number {
  let h = 0x811c9dc5;
  for (let k = 2; k < caseId.length; k++) h = Math.imul(h ^ (caseId.charCodeAt(k) | 0x20), 0x01000193);
  return h >>> 1;
}

/** `array` if it holds `size` elements, else a copy 1.5 times longer (zero-filled): per-case typed arrays grow so. */
export function grown<T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(array: T, size: number): T {
  if (size <= array.length) return array;
  const Ctor = array.constructor as new (n: number) => T;
  const bigger = new Ctor(Math.max(size, Math.ceil(array.length * 1.5), 1024));
  bigger.set(array);
  return bigger;
}
