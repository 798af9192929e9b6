/**
 * Opens the store the configuration asks for: PostgreSQL when a database URL is given (option or `DATABASE_URL`),
 * else SQLite at `sqlitePath` (default `data/relief.sqlite` under the working directory; the folder is created).
 */
import path from "node:path";
import type { StoreClock } from "./base";
import { openPostgresStore, type PostgresStoreOptions } from "./postgres";
import { openSqliteStore, type SqliteStoreOptions } from "./sqlite";
import type { Store } from "./store";

export const DEFAULT_SQLITE_PATH = path.join("data", "relief.sqlite");

export interface OpenStoreOptions extends StoreClock {
  databaseUrl?: string;
  sqlitePath?: string;
  postgres?: Omit<PostgresStoreOptions, "databaseUrl" | "now">;
  sqlite?: Omit<SqliteStoreOptions, "path" | "now">;
}

export type StoreLocation = { dialect: "postgres"; databaseUrl: string } | { dialect: "sqlite"; path: string };

/** Where `openStore` would open the store, without opening it. */
export function storeLocation(options: OpenStoreOptions = {}, env: NodeJS.ProcessEnv = process.env): StoreLocation {
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== "") return { dialect: "postgres", databaseUrl };
  return { dialect: "sqlite", path: path.resolve(options.sqlitePath ?? DEFAULT_SQLITE_PATH) };
}

/** Opens and migrates the store. */
export async function openStore(options: OpenStoreOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const location = storeLocation(options, env);
  if (location.dialect === "postgres") {
    return openPostgresStore({ ...options.postgres, databaseUrl: location.databaseUrl, now: options.now });
  }
  return openSqliteStore({ ...options.sqlite, path: location.path, now: options.now });
}
