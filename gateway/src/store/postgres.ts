/**
 * The server store: PostgreSQL through a `pg` Pool. Single calls run on any pooled connection; `transaction(fn)`
 * holds one connection from `BEGIN` to `COMMIT` (READ COMMITTED). Where concurrency matters the schema and the SQL
 * decide, not the isolation level: unique keys (idempotency, outbox, anchors), `FOR UPDATE SKIP LOCKED` for outbox
 * claims, conditional UPDATEs for state changes, and an advisory lock around migrations.
 *
 * A lost or refused connection, or one that does not answer within `connectionTimeoutMillis`, is
 * `StoreError("UNAVAILABLE")`.
 */
import { Pool, type PoolClient, type PoolConfig } from "pg";
import { type StoreClock, openMigratedStore } from "./base";
import type { Driver, Executor, Row, SqlValue } from "./driver";
import { StoreError, type StoreErrorCode } from "./errors";
import type { Store } from "./store";

export interface PostgresStoreOptions extends StoreClock {
  /** A libpq URL: postgres://user:password@host:port/database. */
  databaseUrl: string;
  /** Use (and create) this schema instead of `public`: lowercase letters, digits and underscores. */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Give up connecting after this long (default 5,000 ms). */
  connectionTimeoutMillis?: number;
  /** Errors of idle pooled connections (the server restarted): they are dropped from the pool either way. */
  onIdleError?: (error: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const NETWORK_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout expired|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/;

function codeOf(error: { code?: unknown; message?: unknown }): StoreErrorCode {
  const code = typeof error.code === "string" ? error.code : "";
  if (code === "23505" || code === "40001" || code === "40P01") return "CONFLICT";
  if (code === "23503") return "NOT_FOUND";
  if (code.startsWith("23") || code.startsWith("22") || code === "P0001") return "INVALID_ARGUMENT";
  if (code.startsWith("08") || code.startsWith("57P") || code === "53300" || NETWORK_ERRORS.has(code))
    return "UNAVAILABLE";
  if (typeof error.message === "string" && UNAVAILABLE_MESSAGES.test(error.message)) return "UNAVAILABLE";
  return "INTERNAL";
}

/** The StoreError for what pg threw (StoreErrors pass through). */
export function translatePgError(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  if (error instanceof Error) {
    const code = codeOf(error as Error & { code?: unknown });
    return new StoreError(code, `PostgreSQL: ${error.message}`, { cause: error });
  }
  return new StoreError("INTERNAL", "PostgreSQL failed", { cause: error });
}

const numbered = new Map<string, string>();

/** `?` placeholders as `$1`, `$2`, … (the SQL of tables/ has no `?` in literals). */
function number(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, text);
  }
  return text;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
}

function executorOf(target: Queryable): Executor {
  const query = async (sql: string, params: readonly SqlValue[] = []) => {
    try {
      return await target.query(number(sql), [...params]);
    } catch (error) {
      throw translatePgError(error);
    }
  };
  return {
    dialect: "postgres",
    all: async (sql, params) => (await query(sql, params)).rows,
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
  };
}

class PostgresDriver implements Driver {
  readonly dialect = "postgres";
  readonly scope = this;
  readonly executor: Executor;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string | undefined,
  ) {
    this.executor = executorOf(pool);
  }

  async inTransaction<T>(fn: (db: Executor) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translatePgError(error);
    }
    // A checked-out client whose connection drops emits "error"; unheard, that event would crash the process. The
    // running query fails too, which is what the caller sees.
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on("error", onError);
    try {
      const db = executorOf(client);
      await db.run("BEGIN");
      try {
        const value = await fn(db);
        await db.run("COMMIT");
        return value;
      } catch (error) {
        if (broken === undefined) {
          try {
            await client.query("ROLLBACK");
          } catch (rollbackError) {
            broken = rollbackError as Error;
          }
        }
        throw error;
      }
    } catch (error) {
      if (error instanceof StoreError && error.code === "UNAVAILABLE") broken ??= error;
      throw error;
    } finally {
      client.removeListener("error", onError);
      client.release(broken); // a broken connection is destroyed, not pooled
    }
  }

  async lockMigrations(db: Executor): Promise<void> {
    const schema = this.schema ?? "public";
    await db.all("SELECT pg_advisory_xact_lock(hashtext(?))", [`relief-ledger/migrations/${schema}`]);
    if (this.schema !== undefined) await db.run(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
  }

  async afterShred(): Promise<void> {
    // Nothing a query can do: deleted tuples stay in heap pages until VACUUM reuses the space, and in WAL archives
    // and backups until those expire. Scrubbing them is the operator's retention policy.
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** Connects to PostgreSQL and migrates. UNAVAILABLE if the server cannot be reached in time. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new StoreError("INVALID_ARGUMENT", "schema must be lowercase letters, digits and underscores");
  }
  const config: PoolConfig = {
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 10_000,
    application_name: "relief-ledger-gateway",
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  };
  const pool = new Pool(config);
  // Without a listener, an idle connection's error (the server restarted) would crash the process.
  pool.on("error", (error) => options.onIdleError?.(error));
  const driver = new PostgresDriver(pool, options.schema);
  return openMigratedStore(driver, options);
}
