/**
 * The embedded store: SQLite through better-sqlite3 (a file, or ":memory:"), WAL journal, foreign keys on,
 * `secure_delete` on (deleted rows are overwritten, which crypto-shredding needs), STRICT tables.
 *
 * better-sqlite3 is synchronous: each statement runs to completion before control returns, and its own
 * `db.transaction()` helper cannot span an `await`. So every call, and every `transaction(fn)` from
 * `BEGIN IMMEDIATE` to `COMMIT`, runs alone in a queue, and the `tx` that `fn` gets executes its statements
 * synchronously on the connection that holds the transaction. While `fn` awaits something else, other callers wait
 * their turn (they do not slip into the open transaction). Hence the constraint: keep transactions short and never
 * await the network inside one.
 *
 * Stores of the same file in one process share that queue (a second connection waiting for SQLite's write lock
 * would block the event loop, so the transaction holding the lock could never finish). Another process waits for
 * the lock up to `busyTimeoutMs`, then gets UNAVAILABLE.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type StoreClock, openMigratedStore } from "./base";
import type { Driver, Executor, SqlValue } from "./driver";
import { StoreError, type StoreErrorCode } from "./errors";
import { rememberSqliteFile } from "./sqlite-file";
import type { Store } from "./store";

export interface SqliteStoreOptions extends StoreClock {
  /** A file path (its folder is created) or ":memory:". */
  path: string;
  /** How long a statement waits for another connection's write lock before UNAVAILABLE (default 5,000 ms). */
  busyTimeoutMs?: number;
  /**
   * FULL (default): a commit survives a power cut. NORMAL: faster, but the last commits before a power cut may be
   * lost (never corrupted).
   */
  synchronous?: "FULL" | "NORMAL";
}

function codeOf(sqliteCode: string): StoreErrorCode {
  if (sqliteCode === "SQLITE_CONSTRAINT_PRIMARYKEY" || sqliteCode === "SQLITE_CONSTRAINT_UNIQUE") return "CONFLICT";
  if (sqliteCode === "SQLITE_CONSTRAINT_FOREIGNKEY") return "NOT_FOUND";
  if (sqliteCode.startsWith("SQLITE_CONSTRAINT")) return "INVALID_ARGUMENT";
  if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/.test(sqliteCode)) return "UNAVAILABLE";
  return "INTERNAL";
}

/** The StoreError for what better-sqlite3 threw (StoreErrors pass through). */
export function translateSqliteError(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  if (error instanceof Database.SqliteError) {
    return new StoreError(codeOf(error.code), `SQLite: ${error.message}`, { cause: error });
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return new StoreError("INVALID_ARGUMENT", `SQLite: ${error.message}`, { cause: error });
  }
  return new StoreError("INTERNAL", "SQLite failed", { cause: error });
}

function sync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translateSqliteError(error);
  }
}

/** Runs async work one piece at a time, in order. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  users = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** The queue of each database file open in this process (":memory:" databases have their own). */
const queues = new Map<string, Queue>();

function acquireQueue(file: string): Queue {
  const queue = (file === ":memory:" ? undefined : queues.get(file)) ?? new Queue();
  if (file !== ":memory:") queues.set(file, queue);
  queue.users += 1;
  return queue;
}

function releaseQueue(file: string, queue: Queue): void {
  queue.users -= 1;
  if (queue.users === 0 && queues.get(file) === queue) queues.delete(file);
}

class SqliteDriver implements Driver {
  readonly dialect = "sqlite";
  readonly scope: object;
  readonly executor: Executor;
  /** Runs statements at once; only used while this driver's queue is held. */
  private readonly direct: Executor;
  private readonly statements = new Map<string, Database.Statement<SqlValue[]>>();
  private readonly queue: Queue;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Settles when the last call of this driver has. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    this.queue = acquireQueue(file);
    this.scope = this.queue;
    this.direct = {
      dialect: "sqlite",
      all: async (sql, params = []) => sync(() => this.prepare(sql).all(...params) as Record<string, unknown>[]),
      run: async (sql, params = []) => sync(() => this.prepare(sql).run(...params).changes),
    };
    this.executor = {
      dialect: "sqlite",
      all: (sql, params) => this.exclusive(() => this.direct.all(sql, params)),
      run: (sql, params) => this.exclusive(() => this.direct.run(sql, params)),
    };
  }

  private prepare(sql: string): Database.Statement<SqlValue[]> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<SqlValue[]>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` after everything queued before it on this file, alone. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.run(() =>
      this.closed ? Promise.reject(new StoreError("UNAVAILABLE", "the store is closed")) : fn(),
    );
    this.last = result.catch(() => undefined);
    return result;
  }

  inTransaction<T>(fn: (db: Executor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      // IMMEDIATE takes the write lock now: a deferred transaction that reads and then writes could fail with
      // SQLITE_BUSY at its first write when another connection wrote in between.
      sync(() => this.db.exec("BEGIN IMMEDIATE"));
      try {
        const value = await fn(this.direct);
        sync(() => this.db.exec("COMMIT"));
        return value;
      } catch (error) {
        if (this.db.inTransaction) {
          try {
            this.db.exec("ROLLBACK");
          } catch {
            // The first error says what went wrong; a failed ROLLBACK leaves SQLite rolling back by itself.
          }
        }
        throw error;
      }
    });
  }

  async lockMigrations(): Promise<void> {
    // BEGIN IMMEDIATE holds the write lock already.
  }

  async afterShred(): Promise<void> {
    // secure_delete zeroed the deleted rows in the pages; the WAL still holds the pages as they were before. Copy
    // it into the database and truncate it. (A checkpoint cannot complete while another connection reads.)
    await this.exclusive(async () => sync(() => this.db.pragma("wal_checkpoint(TRUNCATE)")));
  }

  /** Closes the connection once this driver's own calls are done (not other stores' of the same file). */
  close(): Promise<void> {
    this.closing ??= this.last.then(() => {
      this.closed = true;
      this.statements.clear();
      this.db.close();
      releaseQueue(this.file, this.queue);
    });
    return this.closing;
  }
}

/** The page cache of a connection, KiB. */
const CACHE_KIB = 65_536;

function openDatabase(options: SqliteStoreOptions): Database.Database {
  if (options.path !== ":memory:") mkdirSync(path.dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
  try {
    if (options.path !== ":memory:") {
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (mode !== "wal") throw new StoreError("UNAVAILABLE", `SQLite refused WAL mode (journal_mode ${String(mode)})`);
    }
    db.pragma("foreign_keys = ON");
    db.pragma(`synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
    db.pragma("secure_delete = ON");
    // 64 MiB of page cache (the default is 2 MiB): the indexes intake reads and writes stay in memory instead of
    // being read back through the OS (a system call a page) once the store holds a few thousand cases.
    db.pragma(`cache_size = -${CACHE_KIB}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Opens (creating if needed) and migrates an SQLite store. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const file = options.path === ":memory:" ? options.path : path.resolve(options.path);
  let db: Database.Database;
  try {
    db = openDatabase({ ...options, path: file });
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (error instanceof Database.SqliteError) throw translateSqliteError(error);
    throw new StoreError("UNAVAILABLE", "cannot create the SQLite database's folder", { cause: error });
  }
  const driver = new SqliteDriver(db, file);
  const store = await openMigratedStore(driver, options);
  if (file !== ":memory:") rememberSqliteFile(store, file);
  return store;
}
