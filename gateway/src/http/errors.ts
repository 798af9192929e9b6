/**
 * The API's one error type and its handler. Every error response is JSON:
 * `{ "error": { "code", "message", "field"?, "ledgerCode"?, "requestId" } }` with a stable `code` that clients branch
 * on. Messages name fields and ids, never values: a value may be personal data.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import { CodedError } from "../../../lib/errors";
import { LedgerError, LedgerUnavailableError } from "../ledger";
import { StoreError } from "../store";
import { KeyringError } from "../keys";
import { RecordError } from "../records";

export type ApiErrorCode =
  | "VALIDATION_FAILED"
  | "MALFORMED_JSON"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNAUTHENTICATED"
  | "FORBIDDEN_ROLE"
  | "OUTSIDE_REGION"
  | "SEPARATION_OF_DUTIES"
  | "NOT_FOUND"
  | "CONFLICT"
  | "IDEMPOTENCY_KEY_REUSED"
  | "IN_PROGRESS"
  | "LEDGER_REJECTED"
  | "NO_ACCESS"
  | "SHREDDED"
  | "RATE_LIMITED"
  | "LOCKED"
  | "CODE_INVALID"
  | "CODE_USED"
  | "CODE_EXPIRED"
  | "CHAIN_UNAVAILABLE"
  | "DATABASE_UNAVAILABLE"
  | "INTERNAL";

const STATUS: Record<ApiErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHENTICATED: 401,
  CODE_INVALID: 401,
  CODE_USED: 409,
  CODE_EXPIRED: 410,
  FORBIDDEN_ROLE: 403,
  OUTSIDE_REGION: 403,
  SEPARATION_OF_DUTIES: 403,
  NO_ACCESS: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IN_PROGRESS: 409,
  LEDGER_REJECTED: 409,
  SHREDDED: 410,
  IDEMPOTENCY_KEY_REUSED: 422,
  LOCKED: 423,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  CHAIN_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
};

export interface ApiErrorOptions {
  /** The request field at fault, as a dotted path (`household.members.0.residentId`). */
  field?: string;
  /** The contract's custom error name, for LEDGER_REJECTED. */
  ledgerCode?: string;
  /** Seconds to wait before retrying (429, 503). */
  retryAfter?: number;
  cause?: unknown;
}

export class ApiError extends CodedError<ApiErrorCode> {
  readonly status: number;
  readonly field?: string;
  readonly ledgerCode?: string;
  readonly retryAfter?: number;

  constructor(code: ApiErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(code, message, { cause: options.cause });
    this.status = STATUS[code];
    this.field = options.field;
    this.ledgerCode = options.ledgerCode;
    this.retryAfter = options.retryAfter;
  }
}

/** The HTTP status of a code (for the OpenAPI document). */
export function statusOf(code: ApiErrorCode): number {
  return STATUS[code];
}

/** Ledger refusals whose meaning is "no such thing" rather than "not now". */
const LEDGER_NOT_FOUND = new Set([
  "LedgerUnknownCase",
  "LedgerUnknownProgramme",
  "LedgerUnknownPayout",
  "LedgerUnknownAnchor",
  "VoucherUnknown",
  "VoucherUnknownRedemption",
]);
/** Ledger refusals that are the caller's role or region (the gateway checks first; the chain checks again). */
const LEDGER_FORBIDDEN = new Set(["RegistryUnauthorized", "RegistryInactive", "RegistryOutsideRegion"]);

/** Translates an error from any layer into the API's error. Unknown errors become INTERNAL with no detail. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof LedgerUnavailableError) {
    // "Nothing was changed" only when it is true: a transaction sent may still be mined, and those of the call that
    // were mined stay (a retry of what they did is refused by the chain, not repeated).
    const mined = error.completed.at(-1)?.txHash;
    const message =
      error.txHash !== undefined
        ? `the chain did not confirm transaction ${error.txHash} in time; it may still take effect: check before retrying`
        : mined !== undefined
          ? `the chain stopped answering after ${error.completed.length} transaction(s) of this call were mined (the last ${mined}): check before retrying`
          : "the chain is unreachable; nothing was changed on it; retry later";
    return new ApiError("CHAIN_UNAVAILABLE", message, { retryAfter: 5, cause: error });
  }
  if (error instanceof LedgerError) {
    if (LEDGER_NOT_FOUND.has(error.code)) {
      return new ApiError("NOT_FOUND", `the ledger has no such item (${error.code})`, {
        ledgerCode: error.code,
        cause: error,
      });
    }
    if (LEDGER_FORBIDDEN.has(error.code)) {
      return new ApiError("FORBIDDEN_ROLE", `the ledger refused this institution (${error.code})`, {
        ledgerCode: error.code,
        cause: error,
      });
    }
    return new ApiError("LEDGER_REJECTED", `the ledger refused the operation: ${error.code}`, {
      ledgerCode: error.code,
      cause: error,
    });
  }
  if (error instanceof StoreError) {
    switch (error.code) {
      case "CONFLICT":
        return new ApiError("CONFLICT", error.message, { cause: error });
      case "NOT_FOUND":
        return new ApiError("NOT_FOUND", error.message, { cause: error });
      case "INVALID_ARGUMENT":
        return new ApiError("VALIDATION_FAILED", error.message, { cause: error });
      case "UNAVAILABLE":
        return new ApiError("DATABASE_UNAVAILABLE", "the database is unavailable; nothing was stored; retry later", {
          retryAfter: 5,
          cause: error,
        });
      default:
        return new ApiError("INTERNAL", "internal error", { cause: error });
    }
  }
  if (error instanceof RecordError) {
    if (error.code === "NO_ACCESS") return new ApiError("NO_ACCESS", "this institution holds no key for these fields");
    if (error.code === "SHREDDED") return new ApiError("SHREDDED", "this record's personal data has been destroyed");
    return new ApiError("INTERNAL", "a stored record failed its integrity check", { cause: error });
  }
  if (error instanceof KeyringError) return new ApiError("INTERNAL", "key holder unavailable", { cause: error });
  const http = error as { type?: string; status?: number };
  if (http?.type === "entity.parse.failed") return new ApiError("MALFORMED_JSON", "the request body is not valid JSON");
  if (http?.type === "entity.too.large") return new ApiError("PAYLOAD_TOO_LARGE", "the request body is too large");
  if (http?.type === "encoding.unsupported" || http?.type === "charset.unsupported") {
    return new ApiError("UNSUPPORTED_MEDIA_TYPE", "unsupported body encoding");
  }
  if (typeof http?.status === "number" && http.status >= 400 && http.status < 500) {
    return new ApiError("VALIDATION_FAILED", "the request could not be read");
  }
  return new ApiError("INTERNAL", "internal error", { cause: error });
}

export interface ErrorLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The error handler, registered after every route. Logs the code and the cause's code and name, never values. */
export function errorHandler(log: ErrorLogger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const api = toApiError(error);
    const requestId = String(res.locals.requestId ?? "");
    const cause = api.cause as { code?: unknown; name?: unknown } | undefined;
    const entry = {
      requestId,
      // Not `code`: the logger redacts that key everywhere (a beneficiary's one-time code travels under it).
      errorCode: api.code,
      status: api.status,
      method: req.method,
      // The route's pattern, never the URL's path: a client may put anything in a URL, personal data included.
      // (Express has left the router by now, so this is the pattern within its router, e.g. `/budget/balances`.)
      route: typeof req.route?.path === "string" ? req.route.path : "unmatched",
      causeName: typeof cause?.name === "string" ? cause.name : undefined,
      causeCode: typeof cause?.code === "string" ? cause.code : undefined,
    };
    if (api.status >= 500) log.error(entry, "request failed");
    else log.warn(entry, "request refused");
    if (res.headersSent) return;
    if (api.retryAfter) res.setHeader("Retry-After", String(api.retryAfter));
    res.status(api.status).json(errorJson(api, requestId));
  };
}

/** An error's response body: `{ "error": { "code", "message", "field"?, "ledgerCode"?, "requestId" } }`. */
export function errorJson(api: ApiError, requestId: string) {
  return {
    error: {
      code: api.code,
      message: api.message,
      ...(api.field !== undefined ? { field: api.field } : {}),
      ...(api.ledgerCode !== undefined ? { ledgerCode: api.ledgerCode } : {}),
      requestId,
    },
  };
}

export const notFound: RequestHandler = (_req, _res, next) => next(new ApiError("NOT_FOUND", "no such endpoint"));
