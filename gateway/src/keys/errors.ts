import { CodedError } from "../../../lib/errors";

/** Why the keyring refused. Stable: callers branch on it. */
export type KeyringErrorCode =
  /** No key holder of that id is registered (or the id cannot be one). */
  | "NO_SUCH_HOLDER"
  /** The key holder is registered but suspended or revoked: its KEK is not handed out. */
  | "HOLDER_INACTIVE"
  /** A key file (or the key folder) is open to group or others: it is refused, never read. */
  | "KEY_FILE_INSECURE"
  /** A key file is missing where one must exist, unreadable, or does not hold the key it should. */
  | "KEY_FILE_INVALID"
  /** An argument the keyring refuses: a malformed holder id or purpose, an empty resident id or secret. */
  | "INVALID_ARGUMENT";

/**
 * The one error type of `gateway/src/keys`. Messages name files and holder ids, never key material, resident ids or
 * secrets.
 */
export class KeyringError extends CodedError<KeyringErrorCode> {}
