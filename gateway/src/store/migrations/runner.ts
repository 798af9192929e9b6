/**
 * Applies migrations in order inside one transaction and records each in `schema_migrations`. Concurrent migrators
 * are serialised (the driver's `lockMigrations`: PostgreSQL advisory lock, SQLite's write lock), so two processes
 * opening a fresh database apply each migration once.
 */
import type { Driver, Executor } from "../driver";
import { StoreError } from "../errors";
import { toDate, toInt, toText } from "../rows";
import type { AppliedMigration } from "../types";
import { COLUMN_TYPES, type Migration } from "./types";

function createTable(driver: Driver): string {
  const t = COLUMN_TYPES[driver.dialect];
  return (
    `CREATE TABLE IF NOT EXISTS schema_migrations (version ${t.int} PRIMARY KEY, name TEXT NOT NULL, ` +
    `applied_at ${t.bigint} NOT NULL)${t.tableSuffix}`
  );
}

async function applied(db: Executor): Promise<AppliedMigration[]> {
  const rows = await db.all("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  return rows.map((row) => ({
    version: toInt(row.version),
    name: toText(row.name),
    appliedAt: toDate(row.applied_at),
  }));
}

function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (i > 0 && m.version <= migrations[i - 1].version) {
      throw new StoreError("INTERNAL", `migration ${m.version} is listed after ${migrations[i - 1].version}`);
    }
  });
}

/** Applies what is missing; returns the versions applied now (empty if the database was up to date). */
export async function runMigrations(driver: Driver, migrations: readonly Migration[], now: number): Promise<number[]> {
  checkList(migrations);
  return driver.inTransaction(async (db) => {
    await driver.lockMigrations(db);
    await db.run(createTable(driver));
    const known = new Map(migrations.map((m) => [m.version, m]));
    const done = new Set<number>();
    for (const row of await applied(db)) {
      const migration = known.get(row.version);
      if (migration === undefined || migration.name !== row.name) {
        throw new StoreError(
          "SCHEMA_MISMATCH",
          `the database has migration ${row.version} (${row.name}), which this code does not know: is it newer?`,
        );
      }
      done.add(row.version);
    }
    const versions: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.up(driver.dialect)) await db.run(statement);
      await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        migration.version,
        migration.name,
        now,
      ]);
      versions.push(migration.version);
    }
    return versions;
  });
}

/** The migrations recorded in the database (which `runMigrations` has created). */
export async function listAppliedMigrations(driver: Driver): Promise<AppliedMigration[]> {
  return applied(driver.executor);
}
