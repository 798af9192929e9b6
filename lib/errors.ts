/**
 * The base of the project's typed errors: a stable `code` that callers branch on (and the API maps to an
 * HTTP status), a message that never carries personal data or key material, and the translated `cause`.
 * Each module names its own subclass and code set (`CryptoError`, `StoreError`, `MerkleError`, …).
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
