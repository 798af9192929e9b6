/**
 * What a database driver gives the shared implementation (tables/): an executor of SQL and transactions on one
 * connection. SQL is written once with `?` placeholders; the PostgreSQL driver numbers them (`$1`, `$2`, …).
 * Parameters are strings, numbers (integers below 2^53), byte buffers or null; timestamps are epoch milliseconds.
 */
import type { Dialect } from "./store";

export type SqlValue = string | number | Buffer | null;
export type Row = Record<string, unknown>;

export interface Executor {
  readonly dialect: Dialect;
  /** The rows of a statement that returns rows (SELECT, or INSERT/UPDATE/DELETE … RETURNING). */
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The number of rows a statement that returns no rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Driver {
  readonly dialect: Dialect;
  /**
   * What a transaction holds exclusively: store calls into the same scope from inside a transaction are refused
   * (they would wait for it forever). SQLite: every store of the file in this process; PostgreSQL: this store.
   */
  readonly scope: object;
  /** Runs single statements outside any transaction (each one atomic on its own). */
  readonly executor: Executor;
  /** Runs `fn` on one connection between BEGIN and COMMIT; ROLLBACK if it throws. */
  inTransaction<T>(fn: (db: Executor) => Promise<T>): Promise<T>;
  /** Called inside the migration transaction before anything else: serialises concurrent migrators. */
  lockMigrations(db: Executor): Promise<void>;
  /** Called after a commit that deleted wrapped keys: scrubs what the database keeps of deleted rows, if it can. */
  afterShred(): Promise<void>;
  close(): Promise<void>;
}
