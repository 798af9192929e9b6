/**
 * The peer's side of one transaction's simulation: what fabric-shim's `ChaincodeStub` asks the peer over the
 * chaincode stream (GetState, PutState, DelState, GetStateByRange, QueryStateNext, QueryStateClose,
 * GetHistoryForKey), answered from the committed state with the peer's rules:
 * - reads see the committed state only, never this transaction's own writes;
 * - writes go to the transaction's write set, applied only if the transaction commits;
 * - range results come in batches of {@link BATCH} with `has_more`, fetched by QueryStateNext;
 * - every read and range is recorded (read set with versions) for MVCC validation at commit;
 * - rich queries and private data are refused as a LevelDB peer without collections refuses them.
 */
import { protos, HistoryQueryIterator, StateQueryIterator, timestamp } from "./protos";
import { sameVersion, type Version, type WorldState } from "./world-state";

export const BATCH = 100;

interface OpenQuery {
  results: Uint8Array[];
  next: number;
}

export class Simulation {
  readonly reads = new Map<string, Version | null>();
  readonly ranges: { start: string; end: string; seen: { key: string; version: Version }[] }[] = [];
  readonly writes = new Map<string, Buffer | null>();
  private readonly queries = new Map<string, OpenQuery>();
  private queryCount = 0;

  constructor(
    private readonly state: WorldState,
    readonly txId: string,
  ) {}

  private publicOnly(collection: string): void {
    if (collection !== "") throw new Error(`collection ${collection} is not defined for this chaincode`);
  }

  private checkKey(key: string): void {
    if (typeof key !== "string" || key === "") throw new Error("key must not be an empty string");
    if (Buffer.from(key, "utf8").toString("utf8") !== key) throw new Error(`key ${key} is not valid UTF-8`);
  }

  async handleGetState(collection: string, key: string): Promise<Buffer> {
    this.publicOnly(collection);
    this.checkKey(key);
    const entry = this.state.get(key);
    if (!this.reads.has(key)) this.reads.set(key, entry?.version ?? null);
    // A peer answers an absent key with empty bytes.
    return entry ? Buffer.from(entry.value) : Buffer.alloc(0);
  }

  async handlePutState(collection: string, key: string, value: Uint8Array): Promise<Buffer> {
    this.publicOnly(collection);
    this.checkKey(key);
    // An empty value is a delete on a peer (the write set records it as such).
    this.writes.set(key, value && value.length > 0 ? Buffer.from(value) : null);
    return Buffer.alloc(0);
  }

  async handleDeleteState(collection: string, key: string): Promise<Buffer> {
    this.publicOnly(collection);
    this.checkKey(key);
    this.writes.set(key, null);
    return Buffer.alloc(0);
  }

  async handleGetStateByRange(
    collection: string,
    start: string,
    end: string,
    channel: string,
    txId: string,
    metadata?: unknown,
  ) {
    this.publicOnly(collection);
    if (metadata !== undefined && metadata !== null && (metadata as Uint8Array).length > 0) {
      throw new Error("pagination is supported in read-only transactions only; this peer does not implement it");
    }
    const rows = this.state.range(start, end);
    this.ranges.push({ start, end, seen: rows.map((r) => ({ key: r.key, version: r.version })) });
    const results = rows.map((r) => {
      const kv = new protos.ledger.queryresult.KV();
      kv.setNamespace("");
      kv.setKey(r.key);
      kv.setValue(r.value);
      return kv.serializeBinary();
    });
    const response = this.open(results);
    return { iterator: new StateQueryIterator(this, channel, txId, response) };
  }

  async handleQueryStateNext(id: string) {
    return this.batch(id);
  }

  async handleQueryStateClose(id: string) {
    this.queries.delete(id);
    const response = new protos.peer.QueryResponse();
    response.setId(id);
    return protos.peer.QueryResponse.deserializeBinary(response.serializeBinary());
  }

  async handleGetHistoryForKey(key: string, channel: string, txId: string) {
    this.checkKey(key);
    const results = this.state.historyOf(key).map((m) => {
      const km = new protos.ledger.queryresult.KeyModification();
      km.setTxId(m.txId);
      km.setValue(m.value);
      km.setTimestamp(timestamp(m.timestamp) as never);
      km.setIsDelete(m.isDelete);
      return km.serializeBinary();
    });
    return new HistoryQueryIterator(this, channel, txId, this.open(results));
  }

  async handleGetQueryResult(): Promise<never> {
    throw new Error("ExecuteQuery not supported for leveldb");
  }

  async handleGetPrivateDataHash(collection: string): Promise<never> {
    return this.publicOnly(collection || "-") as never;
  }

  async handlePurgeState(collection: string): Promise<never> {
    return this.publicOnly(collection || "-") as never;
  }

  async handleGetStateMetadata(collection: string, key: string): Promise<Record<string, Buffer>> {
    this.publicOnly(collection);
    this.checkKey(key);
    return {};
  }

  async handlePutStateMetadata(): Promise<never> {
    throw new Error("state-based endorsement is not supported by this in-memory peer");
  }

  async handleInvokeChaincode(): Promise<never> {
    throw new Error("chaincode-to-chaincode calls are not supported by this in-memory peer");
  }

  /** MVCC validation at commit: every key read and every range scanned must be unchanged. */
  validate(): "VALID" | "MVCC_READ_CONFLICT" | "PHANTOM_READ_CONFLICT" {
    for (const [key, version] of this.reads) {
      if (!sameVersion(version, this.state.version(key))) return "MVCC_READ_CONFLICT";
    }
    for (const r of this.ranges) {
      const now = this.state.range(r.start, r.end);
      if (now.length !== r.seen.length) return "PHANTOM_READ_CONFLICT";
      for (let i = 0; i < now.length; i++) {
        if (now[i].key !== r.seen[i].key || !sameVersion(now[i].version, r.seen[i].version))
          return "PHANTOM_READ_CONFLICT";
      }
    }
    return "VALID";
  }

  private open(results: Uint8Array[]) {
    const id = `${this.txId}-${++this.queryCount}`;
    this.queries.set(id, { results, next: 0 });
    return this.batch(id);
  }

  /** The next batch of an open query, through the wire format as the shim would receive it. */
  private batch(id: string) {
    const q = this.queries.get(id);
    if (q === undefined) throw new Error(`query iterator ${id} not found`);
    const response = new protos.peer.QueryResponse();
    const slice = q.results.slice(q.next, q.next + BATCH);
    q.next += slice.length;
    response.setResultsList(
      slice.map((bytes) => {
        const r = new protos.peer.QueryResultBytes();
        r.setResultbytes(bytes);
        return r;
      }),
    );
    response.setHasMore(q.next < q.results.length);
    response.setId(id);
    return protos.peer.QueryResponse.deserializeBinary(response.serializeBinary());
  }
}
