import type { Dialect } from "../store";

/** A schema change: its statements in each dialect, one statement per string, run in order in one transaction. */
export interface Migration {
  /** 1, 2, 3, …: the order of application and the key in `schema_migrations`. */
  version: number;
  name: string;
  up(dialect: Dialect): string[];
}

/** Column types of the one logical schema, per dialect. */
export interface ColumnTypes {
  /** Bytes: BLOB / BYTEA. */
  bytes: string;
  /** 64-bit integers (epoch milliseconds, region codes, block numbers): INTEGER / BIGINT. */
  bigint: string;
  /** Small integers (counts, versions): INTEGER / INTEGER. */
  int: string;
  /** An auto-incremented 64-bit primary key. */
  serial: string;
  /** What follows a CREATE TABLE's closing parenthesis (SQLite: STRICT type checking). */
  tableSuffix: string;
}

export const COLUMN_TYPES: Record<Dialect, ColumnTypes> = {
  sqlite: {
    bytes: "BLOB",
    bigint: "INTEGER",
    int: "INTEGER",
    serial: "INTEGER PRIMARY KEY AUTOINCREMENT",
    tableSuffix: " STRICT",
  },
  postgres: {
    bytes: "BYTEA",
    bigint: "BIGINT",
    int: "INTEGER",
    serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    tableSuffix: "",
  },
};
