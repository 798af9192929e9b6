/**
 * The gateway's secrets (pseudonym key, token key, receipt-signing key) and the holder keys of the key hierarchy.
 * Every failure is a {@link KeyringError} with a `code`.
 */
export { type KeyringErrorCode, KeyringError } from "./errors";
export { HOLDER_CACHE_MS, HOLDER_ID_PATTERN, Keyring, type KeyringOptions } from "./keyring";
