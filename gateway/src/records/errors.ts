import { CodedError } from "../../../lib/errors";

/** Why a sealed record could not be sealed or opened. Stable: callers branch on it. */
export type RecordErrorCode =
  /** The holder has no wrapped key of that field class for this record (others do). */
  | "NO_ACCESS"
  /** The record has no wrapped keys left at all: it was crypto-shredded. Its digest still verifies. */
  | "SHREDDED"
  /** The record failed its integrity check: its digest does not match its header and envelope, or its envelope or
   * wrapped key fails authentication (tampered, or moved from another record). Nothing is decrypted. */
  | "CORRUPT"
  /** A header, payload or grant list that cannot be sealed (a programming error of the caller). */
  | "INVALID_ARGUMENT";

/** The one error type of `gateway/src/records`. Messages name record ids and holders, never plaintext or keys. */
export class RecordError extends CodedError<RecordErrorCode> {}
