/**
 * The gateway's off-chain store: sealed records and their wrapped keys, the anchoring outbox and anchors, the audit
 * log, idempotency keys and the holders' keys, on SQLite (embedded default) or PostgreSQL. Every failure is a
 * {@link StoreError} with a `code`.
 */
export { type StoreErrorCode, StoreError } from "./errors";
export * from "./types";
export * from "./gateway-types";
export * from "./voucher-types";
export {
  AUDIT_RETENTION_MIN_DAYS,
  type AnchorsData,
  type AuditData,
  type BeneficiaryData,
  type CasesData,
  type InstitutionsData,
  type PayoutsData,
  type Dialect,
  type HolderKeysData,
  type IdempotencyData,
  type OutboxData,
  type RecordKeysData,
  type RecordsData,
  type Store,
  type StoreData,
} from "./store";
export { DEFAULT_SQLITE_PATH, type OpenStoreOptions, type StoreLocation, openStore, storeLocation } from "./open";
export { type SqliteStoreOptions, openSqliteStore } from "./sqlite";
export { type PostgresStoreOptions, openPostgresStore } from "./postgres";
export { MIGRATIONS } from "./migrations";
