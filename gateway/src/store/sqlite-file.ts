/** Which file a SQLite store was opened on: the audit sweep's anchor checks open their own read-only connections. */

/** The database file of each store `openSqliteStore` opened on a file. */
const files = new WeakMap<object, string>();

/** Notes the file `store` was opened on (openSqliteStore). */
export function rememberSqliteFile(store: object, file: string): void {
  files.set(store, file);
}

/** The database file of a store `openSqliteStore` opened (undefined: another store, ":memory:", or not a store). */
export function sqliteFileOf(store: object): string | undefined {
  return files.get(store);
}
