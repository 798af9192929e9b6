/**
 * Read-only SQLite connections of their own for the audit sweep's anchor checks (gateway/src/audit/sweep/leaf-check.ts),
 * in the main thread or in a worker thread: one anchor's leaves as raw rows streamed one at a time (arrays of only the
 * columns the check needs, no object per row, never a page held), and receipts by the very query of
 * `ScanData.receiptContents`.
 *
 * The rows are those of `ScanData.scanAnchoredLeaves` for one sequence, in the same order; the connections only read
 * (`readonly`), so several of them read the file beside the store's own connection (WAL mode).
 */
import Database from "better-sqlite3";
import { translateSqliteError } from "./sqlite";
import { type ReceiptContent, receiptContentsQuery, toReceiptContent } from "./tables/scan";

/**
 * A raw leaf row, by column: 0 leaf index, 1 record id, 2 queued digest, 3 queued region, 4 the record's id (null:
 * gone), 5 kind, 6 case id, 7 region, 8 schema version, 9 envelope, 10 the record's digest column, 11 the case's
 * programme (only when asked for).
 */
export type RawLeafRow = unknown[];

export interface LeafReader {
  /**
   * The leaves of anchor `sequence` by leaf index, one row at a time (one statement: while it is open, `receipts`
   * runs on a second connection). Close it (`return()`, or a `for … of` that ends) before `close`.
   */
  leafRows(sequence: number, withProgramme: boolean): IterableIterator<RawLeafRow>;
  /** As `ScanData.receiptContents`. */
  receipts(records: { recordId: string; caseId: string }[]): ReceiptContent[];
  close(): void;
}

const LEAF_COLUMNS =
  "o.leaf_index, o.record_id, o.digest, o.region_code, r.id, r.kind, r.case_id, r.region_code, r.schema_version, " +
  "r.envelope, r.digest";
const LEAF_WHERE = "WHERE o.anchor_sequence = ? ORDER BY o.anchor_sequence, o.leaf_index";

function open(file: string): Database.Database {
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw translateSqliteError(error);
  }
}

/** Opens `file` read-only (it must exist). */
export function openLeafReader(file: string): LeafReader {
  const db = open(file);
  let receiptsDb: Database.Database | undefined;
  const guarded = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw translateSqliteError(error);
    }
  };
  const [plain, withProgramme] = guarded(() => [
    db
      .prepare(`SELECT ${LEAF_COLUMNS} FROM outbox o LEFT JOIN records r ON r.id = o.record_id ${LEAF_WHERE}`)
      .raw(true),
    db
      .prepare(
        `SELECT ${LEAF_COLUMNS}, c.programme_id FROM outbox o LEFT JOIN records r ON r.id = o.record_id ` +
          `LEFT JOIN cases c ON c.case_id = r.case_id ${LEAF_WHERE}`,
      )
      .raw(true),
  ]);
  return {
    leafRows(sequence, programme) {
      const rows = guarded(() => (programme ? withProgramme : plain).iterate(sequence) as IterableIterator<RawLeafRow>);
      // Errors while stepping are the store's too.
      return {
        next: () => guarded(() => rows.next()),
        return: (value?: unknown) => guarded(() => (rows.return ? rows.return(value) : { done: true, value })),
        [Symbol.iterator]() {
          return this;
        },
      } as IterableIterator<RawLeafRow>;
    },
    receipts: (records) =>
      guarded(() => {
        if (records.length === 0) return [];
        receiptsDb ??= open(file);
        const query = receiptContentsQuery(records);
        return (receiptsDb.prepare(query.sql).all(...query.params) as Record<string, unknown>[]).map(toReceiptContent);
      }),
    close: () => {
      db.close();
      receiptsDb?.close();
    },
  };
}
