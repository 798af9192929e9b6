/**
 * World-state access for one transaction. A peer does not show a transaction its own writes, but the Solidity
 * rules read what they wrote a line earlier (a case listed twice in one run is paid once): so every read goes
 * through this transaction's own write-through cache first. Range scans go to the peer only and do not see this
 * transaction's writes; the chaincode scans only in read-only transactions.
 *
 * Every value is written through {@link marshal} (sorted keys). Records keep bigints as decimal strings; a
 * reader names the fields to revive.
 */
import type { ChaincodeStub } from "fabric-shim-api";
import { marshalBytes } from "./marshal";

type Stored = Record<string, unknown>;

export class Store {
  private readonly cache = new Map<string, Buffer | null>();

  constructor(private readonly stub: ChaincodeStub) {}

  /** A composite key; numeric parts are zero-padded by the caller so that key order is numeric order. */
  key(type: string, ...parts: (string | number | bigint)[]): string {
    return this.stub.createCompositeKey(type, parts.map(String));
  }

  async raw(key: string): Promise<Buffer | null> {
    if (this.cache.has(key)) return this.cache.get(key) ?? null;
    const bytes = await this.stub.getState(key);
    const value = bytes && bytes.length > 0 ? Buffer.from(bytes) : null;
    this.cache.set(key, value);
    return value;
  }

  /** The record at `key` with `bigints` revived from decimal strings, or `undefined`. */
  async get<T>(key: string, bigints: readonly string[] = []): Promise<T | undefined> {
    const bytes = await this.raw(key);
    if (bytes === null) return undefined;
    const value = JSON.parse(bytes.toString("utf8")) as unknown;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const record = value as Stored;
      for (const f of bigints) if (typeof record[f] === "string") record[f] = BigInt(record[f] as string);
    }
    return value as T;
  }

  async getBig(key: string): Promise<bigint> {
    const v = await this.get<string>(key);
    return v === undefined ? 0n : BigInt(v);
  }

  async put(key: string, value: unknown): Promise<void> {
    const bytes = marshalBytes(value);
    this.cache.set(key, bytes);
    await this.stub.putState(key, bytes);
  }

  async putBig(key: string, value: bigint): Promise<void> {
    await this.put(key, value.toString());
  }

  async del(key: string): Promise<void> {
    this.cache.set(key, null);
    await this.stub.deleteState(key);
  }

  /** Keys and values under a partial composite key, in key order, from the committed state. */
  async *scan(
    type: string,
    ...parts: (string | number | bigint)[]
  ): AsyncGenerator<{ attributes: string[]; value: Buffer }> {
    const iterator = this.stub.getStateByPartialCompositeKey(type, parts.map(String));
    for await (const kv of iterator) {
      yield { attributes: this.stub.splitCompositeKey(kv.key).attributes, value: Buffer.from(kv.value) };
    }
  }
}

/** Zero-padded decimal, for numeric parts of composite keys. */
export function pad(n: number | bigint, width = 12): string {
  return n.toString().padStart(width, "0");
}
