import { CodedError } from "../../../lib/errors";

/** Why the store refused or failed an operation. Stable: the API maps them to HTTP statuses. */
export type StoreErrorCode =
  /** A row with that key exists, a concurrent writer won, or the row is not in the state the operation needs. (409) */
  | "CONFLICT"
  /** The row, or a row it refers to, does not exist. (404) */
  | "NOT_FOUND"
  /** An argument the store refuses before or while writing: a malformed digest, a bad limit, a short retention. (400) */
  | "INVALID_ARGUMENT"
  /** The database cannot be reached or is busy: connection refused or lost, timeout, SQLite locked. Retry. (503) */
  | "UNAVAILABLE"
  /** The database holds migrations this code does not know, or a different name for a known version. (500) */
  | "SCHEMA_MISMATCH"
  /** A misuse of the store (the outer store called inside `transaction`) or an unexpected database error. (500) */
  | "INTERNAL";

/**
 * The one error type of `gateway/src/store`. Messages name tables, columns and ids, never record contents; `cause`
 * holds the driver's error when one was translated.
 */
export class StoreError extends CodedError<StoreErrorCode> {}

/** Throws `StoreError(code, message)` unless `condition` holds. */
export function invariant(condition: unknown, code: StoreErrorCode, message: string): asserts condition {
  if (!condition) throw new StoreError(code, message);
}
