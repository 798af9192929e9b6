/**
 * Multi-row statements for the batch methods (`insertRecords`, `putRecordKeys`, `enqueueAnchors`, `putCases`,
 * `appendAudits`): many rows per `INSERT … VALUES (…), (…)`, so that a bulk import costs a few round trips per
 * transaction instead of several per row (on PostgreSQL each round trip is ~250 µs).
 *
 * A statement carries at most {@link MAX_BATCH_ROWS} rows, and never more bind parameters than the database takes
 * (PostgreSQL 65,535; the SQLite that better-sqlite3 bundles 32,766). Statement sizes are powers of two (a batch of
 * 1,300 rows is 512 + 512 + 256 + 16 + 4): each driver prepares and keeps every distinct SQL text, so a table has at
 * most ten shapes of its multi-row statement instead of one per batch size.
 */
import type { SqlValue } from "../driver";
import { StoreError, invariant } from "../errors";
import type { Dialect } from "../store";

/** Bind parameters one statement may carry. */
export const MAX_PARAMETERS: Record<Dialect, number> = { sqlite: 32_766, postgres: 65_535 };
/** Most rows one multi-row statement carries (a power of two). */
export const MAX_BATCH_ROWS = 512;

/** The largest power of two at most `n` (n ≥ 1). */
function floorPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * How many rows each statement of a batch of `total` rows carries, in order: full statements of the most rows the
 * dialect allows for `paramsPerRow` parameters a row, then the rest in descending powers of two.
 */
export function statementSizes(total: number, paramsPerRow: number, dialect: Dialect): number[] {
  const most = floorPowerOfTwo(Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMETERS[dialect] / paramsPerRow)));
  const sizes: number[] = [];
  let left = total;
  while (left >= most) {
    sizes.push(most);
    left -= most;
  }
  for (let size = most >> 1; left > 0; size >>= 1) {
    if (left >= size) {
      sizes.push(size);
      left -= size;
    }
  }
  return sizes;
}

/** `(?, ?, ?), (?, ?, ?)`: `rows` groups of `row` (one row's placeholders, parenthesised). */
export function valuesList(row: string, rows: number): string {
  return Array.from({ length: rows }, () => row).join(", ");
}

/**
 * Runs `statement` over `rows` (each row its parameters), in statements of {@link statementSizes}; returns what each
 * returned, concatenated.
 */
export async function inStatements<T>(
  dialect: Dialect,
  rows: readonly SqlValue[][],
  statement: (count: number, params: SqlValue[]) => Promise<T[]>,
): Promise<T[]> {
  if (rows.length === 0) return [];
  const out: T[] = [];
  let start = 0;
  for (const size of statementSizes(rows.length, rows[0].length, dialect)) {
    out.push(...(await statement(size, rows.slice(start, start + size).flat())));
    start += size;
  }
  return out;
}

/**
 * `items` checked as an array and each item converted by `check`; a refusal names the item's index in `name`
 * (`records[3]: digest must be …`), never its value. Every item is checked before anything is written.
 */
export function checkEach<I, O>(items: readonly I[], name: string, check: (item: I) => O): O[] {
  invariant(Array.isArray(items), "INVALID_ARGUMENT", `${name} must be an array`);
  return items.map((item, i) => {
    try {
      return check(item);
    } catch (error) {
      if (error instanceof StoreError && error.code === "INVALID_ARGUMENT") {
        throw new StoreError("INVALID_ARGUMENT", `${name}[${i}]: ${error.message}`, { cause: error });
      }
      throw error;
    }
  });
}

/** Refuses an item of a batch that is not an object (the single-row checks read its fields). */
export function checkObject(item: unknown): void {
  invariant(typeof item === "object" && item !== null, "INVALID_ARGUMENT", "must be an object");
}
