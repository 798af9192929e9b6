import { CodedError } from "../../../lib/errors";

/** Why a cryptographic operation refused its input. Stable: callers branch on it and map it to HTTP statuses. */
export type CryptoErrorCode =
  /** Bytes that do not parse: an envelope, a PEM block, a DER structure, a ciphertext. */
  | "MALFORMED"
  /** Well-formed but of a version, algorithm or curve this module does not implement. */
  | "UNSUPPORTED"
  /** The integrity check failed: wrong key, wrong additional data, or tampered bytes. Nothing is decrypted. */
  | "AUTHENTICATION_FAILED"
  /** A key of the wrong size, out of range, or not a point of the SM2 curve. */
  | "INVALID_KEY"
  /** Any other argument a precondition refuses (an empty SM2 plaintext, a bad length). */
  | "INVALID_ARGUMENT";

/**
 * The one error type of `gateway/src/crypto`. Messages never carry key material or plaintext; `cause` holds the
 * library error when one was translated.
 */
export class CryptoError extends CodedError<CryptoErrorCode> {}

/** Throws `CryptoError(code, message)` unless `condition` holds. */
export function invariant(condition: unknown, code: CryptoErrorCode, message: string): asserts condition {
  if (!condition) throw new CryptoError(code, message);
}
