/**
 * The ledger's failures, chain-neutral. Three kinds, which callers treat differently:
 * - {@link LedgerError}: the ledger refused the operation (a contract's custom error, by name in `code`). Retrying
 *   the same call fails the same way; the API maps most codes to a 4xx.
 * - {@link LedgerUnavailableError}: the chain could not be reached, or did not answer or mine in time. Nothing is
 *   known to have been refused; retry with backoff (a write may have been mined: reconcile before re-sending).
 * - {@link LedgerConfigError}: the gateway is set up wrong (an unknown actor, a bad key, a chain id mismatch).
 */
import type { TxResult } from "./ledger";

/**
 * Codes of a {@link LedgerError} that are not a contract's custom error:
 * - `Error`: a `require` message or `revert("…")` (args `{ message }`);
 * - `Panic`: a Solidity panic (args `{ code }`);
 * - `UnknownRevert`: revert data that no contract ABI declares (args `{ data }`), or none at all;
 * - `TransactionReverted`: a mined transaction failed and replaying it does not reproduce the revert (for example it
 *   ran out of gas);
 * - `InsufficientFundsForGas`: the actor's account cannot pay the transaction fee;
 * - `TransactionTooLarge`: a single item does not fit the transaction gas cap;
 * - `InvalidArgument`: a value that cannot be encoded for the chain (a malformed id or account, an amount out of
 *   range); args `{ argument, value }`. Nothing was sent.
 */
export type LedgerGenericErrorCode =
  | "Error"
  | "Panic"
  | "UnknownRevert"
  | "TransactionReverted"
  | "InsufficientFundsForGas"
  | "TransactionTooLarge"
  | "InvalidArgument";

export interface LedgerErrorDetails {
  /** The Ledger method, e.g. `approveCase`. */
  operation: string;
  actor?: string;
  /** The custom error's arguments by name; uint8…uint48 and enums are numbers, wider integers bigints. */
  args?: Record<string, unknown>;
  /** The same arguments in declaration order. */
  values?: unknown[];
  /** Set when the transaction was mined and failed. */
  txHash?: string;
  blockNumber?: number;
  /** Raw revert data, when there was some. */
  revertData?: string;
  /** Transactions of this call mined before it failed (chunked payout runs and settlements). */
  completed?: TxResult[];
  cause?: unknown;
}

/** The ledger refused: `code` is the contract's custom error name (e.g. `LedgerInvalidCaseStatus`). */
export class LedgerError extends Error {
  readonly code: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly values: readonly unknown[];
  readonly operation: string;
  readonly actor?: string;
  readonly txHash?: string;
  readonly blockNumber?: number;
  readonly revertData?: string;
  readonly completed: readonly TxResult[];

  constructor(code: string, details: LedgerErrorDetails) {
    const args = details.args ?? {};
    const shown = Object.entries(args)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    super(`${details.operation}: ${code}(${shown})`, { cause: details.cause });
    this.name = "LedgerError";
    this.code = code;
    this.args = args;
    this.values = details.values ?? [];
    this.operation = details.operation;
    this.actor = details.actor;
    this.txHash = details.txHash;
    this.blockNumber = details.blockNumber;
    this.revertData = details.revertData;
    this.completed = details.completed ?? [];
  }

  /** The same error, recording the transactions of its call that were mined before it. */
  withCompleted(completed: readonly TxResult[]): LedgerError {
    if (completed.length === 0) return this;
    return new LedgerError(this.code, {
      operation: this.operation,
      actor: this.actor,
      args: { ...this.args },
      values: [...this.values],
      txHash: this.txHash,
      blockNumber: this.blockNumber,
      revertData: this.revertData,
      completed: [...completed],
      cause: this.cause,
    });
  }
}

/** Why the chain was unavailable. */
export type UnavailableReason =
  /** The connection failed (refused, reset, DNS, HTTP 5xx). */
  | "unreachable"
  /** A request, or the wait for a transaction to be mined, ran past its deadline. */
  | "timeout";

export interface LedgerUnavailableDetails {
  operation: string;
  actor?: string;
  /** Set when a transaction had been sent: it may still be mined. */
  txHash?: string;
  completed?: TxResult[];
  cause?: unknown;
}

/** The chain could not be reached or did not answer in time. Safe to retry with backoff after reconciling. */
export class LedgerUnavailableError extends Error {
  readonly reason: UnavailableReason;
  /** What failed, without the operation prefix. */
  readonly detail: string;
  readonly operation: string;
  readonly actor?: string;
  readonly txHash?: string;
  readonly completed: readonly TxResult[];

  constructor(reason: UnavailableReason, detail: string, details: LedgerUnavailableDetails) {
    super(`${details.operation}: chain ${reason}: ${detail}`, { cause: details.cause });
    this.name = "LedgerUnavailableError";
    this.reason = reason;
    this.detail = detail;
    this.operation = details.operation;
    this.actor = details.actor;
    this.txHash = details.txHash;
    this.completed = details.completed ?? [];
  }

  withCompleted(completed: readonly TxResult[]): LedgerUnavailableError {
    if (completed.length === 0) return this;
    return new LedgerUnavailableError(this.reason, this.detail, {
      operation: this.operation,
      actor: this.actor,
      txHash: this.txHash,
      completed: [...completed],
      cause: this.cause,
    });
  }
}

/** The gateway's ledger configuration is wrong. */
export class LedgerConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LedgerConfigError";
  }
}

/** Whether `err` is a {@link LedgerError}, with `code` if given. */
export function isLedgerError(err: unknown, code?: string): err is LedgerError {
  return err instanceof LedgerError && (code === undefined || err.code === code);
}
