/**
 * Databases for the store tests: an SQLite file in a temporary folder, or a fresh PostgreSQL schema
 * (`relief_test_<random>`, dropped afterwards), each opened as many times as a test needs, plus sample sealed
 * records made with the real crypto module.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Client } from "pg";
import { generateDataKey, hmacSm3, sealData } from "../../../gateway/src/crypto";
import {
  type Dialect,
  type NewRecord,
  type Store,
  openPostgresStore,
  openSqliteStore,
} from "../../../gateway/src/store";

export interface StoreHarness {
  readonly dialect: Dialect;
  /** Opens (and migrates) a store on this harness's database; every call opens the same database. */
  open(options?: { now?: () => Date }): Promise<Store>;
  /** Runs SQL on the database behind the store's back (to test the database's own guards). */
  raw(sql: string): Promise<void>;
  /** Closes every store opened here and deletes the database. */
  destroy(): Promise<void>;
}

export function sqliteHarness(): StoreHarness & { readonly file: string; readonly folder: string } {
  const folder = mkdtempSync(path.join(tmpdir(), "relief-store-"));
  const file = path.join(folder, "relief.sqlite");
  const stores: Store[] = [];
  return {
    dialect: "sqlite",
    file,
    folder,
    async open(options = {}) {
      const store = await openSqliteStore({ path: file, now: options.now });
      stores.push(store);
      return store;
    },
    async raw(sql) {
      const db = new Database(file);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    async destroy() {
      for (const store of stores) await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

export function postgresHarness(databaseUrl: string): StoreHarness & { readonly schema: string } {
  const schema = `relief_test_${randomBytes(6).toString("hex")}`;
  const stores: Store[] = [];
  async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
  return {
    dialect: "postgres",
    schema,
    async open(options = {}) {
      const store = await openPostgresStore({ databaseUrl, schema, now: options.now, poolSize: 4 });
      stores.push(store);
      return store;
    },
    async raw(sql) {
      await withClient((client) => client.query(sql));
    },
    async destroy() {
      for (const store of stores) await store.close();
      await withClient((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

/** A clock the tests move: real time plus an offset. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
}

let counter = 0;

/** An id no other test of this run uses. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString("hex")}`;
}

/** A region code no other test of this run uses (the store does not check codes: a domain rule). */
export function uniqueRegion(): number {
  counter += 1;
  return 900_000_000_000 + counter;
}

/** The deployment secret of the keyed record digests, for these tests. */
export const DIGEST_SECRET = Buffer.from("relief-ledger/test/digest-secret/v1");

/** `0x` + HMAC-SM3(secret, envelope): the digest that would be anchored. */
export function recordDigest(envelope: Uint8Array): string {
  return "0x" + hmacSm3(DIGEST_SECRET, envelope).toString("hex");
}

export interface SealedSample {
  record: NewRecord;
  dataKey: Buffer;
  plaintext: Buffer;
}

/** A record whose envelope seals `plaintext` (JSON) under a fresh data key, bound to the record id. */
export function sealedRecord(
  options: Partial<Omit<NewRecord, "envelope" | "digest">> & { plaintext?: string } = {},
): SealedSample {
  const id = options.id ?? uid("rec");
  const plaintext = Buffer.from(options.plaintext ?? JSON.stringify({ household: { size: 3 }, note: id }));
  const dataKey = generateDataKey();
  const envelope = sealData(dataKey, plaintext, id);
  return {
    record: {
      id,
      kind: options.kind ?? "application",
      caseId: options.caseId ?? uid("case"),
      regionCode: options.regionCode ?? 110105,
      schemaVersion: options.schemaVersion ?? 1,
      envelope,
      digest: recordDigest(envelope),
    },
    dataKey,
    plaintext,
  };
}

/** Inserts records and queues them for anchoring, each in one transaction; returns their ids in order. */
export async function enqueueRecords(store: Store, regionCode: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { record } = sealedRecord({ regionCode });
    await store.transaction(async (tx) => {
      await tx.insertRecord(record);
      await tx.enqueueAnchor(record.id);
    });
    ids.push(record.id);
  }
  return ids;
}

/** The StoreError code `promise` rejects with (fails if it resolves or rejects with something else). */
export async function storeErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((error as Error).name !== "StoreError" || typeof code !== "string") throw error;
    return code;
  }
  throw new Error("expected a StoreError, the call succeeded");
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
