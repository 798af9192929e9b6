/**
 * `Idempotency-Key` for requests that create something. A key is scoped by the calling institution
 * (`<institution id>:<key>`); the request hash is SM3 of the body's RFC 8785 canonical JSON, so the same body with
 * its keys in another order is the same request.
 *
 * - first use: the work runs, and its response is stored under the key;
 * - the same key and body again: the stored response is replayed (header `Idempotent-Replayed: true`);
 * - the same key while the first request still runs: 409 IN_PROGRESS;
 * - the same key with another body: 422 IDEMPOTENCY_KEY_REUSED.
 *
 * A request refused before it changed anything releases its key (it can be retried as is); a refusal after the work
 * committed something ({@link CommittedRefusal}) is stored like a success, so a replay never does the work twice.
 */
import canonicalize from "canonicalize";
import type { Request, Response } from "express";
import type { InstitutionPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { sm3 } from "../crypto";
import { ApiError, type ApiErrorCode, type ApiErrorOptions } from "../http/errors";
import { type JsonValue, StoreError } from "../store";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** A refusal that comes after the request committed changes: its response is kept for replays. */
export class CommittedRefusal extends ApiError {
  constructor(code: ApiErrorCode, message: string, options?: ApiErrorOptions) {
    super(code, message, options);
  }
}

/** A route's answer. */
export interface Outcome {
  status: number;
  body: JsonValue;
}

/** SM3 of the canonical JSON of `body`, 0x-hex. */
export function requestHash(body: unknown): string {
  return "0x" + sm3(Buffer.from(canonicalize(body ?? null) ?? "null", "utf8")).toString("hex");
}

function refusalBody(error: ApiError, requestId: string): JsonValue {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.ledgerCode !== undefined && { ledgerCode: error.ledgerCode }),
      requestId,
    },
  };
}

/** Runs `work` under the request's `Idempotency-Key` (if any) and sends its outcome. */
export async function respondIdempotently(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  req: Request,
  res: Response,
  work: () => Promise<Outcome>,
): Promise<void> {
  const given = req.get(IDEMPOTENCY_HEADER);
  if (given === undefined) {
    const out = await work();
    res.status(out.status).json(out.body);
    return;
  }
  if (!KEY_PATTERN.test(given)) {
    throw new ApiError("VALIDATION_FAILED", `${IDEMPOTENCY_HEADER}: 1 to 128 printable ASCII characters`, {
      field: IDEMPOTENCY_HEADER,
    });
  }
  const key = `${p.id}:${given}`;
  const hash = requestHash(req.body);
  let reservation;
  try {
    reservation = await ctx.store.getOrReserve(key, hash);
  } catch (error) {
    if (error instanceof StoreError && error.code === "CONFLICT") {
      throw new ApiError("IDEMPOTENCY_KEY_REUSED", `this ${IDEMPOTENCY_HEADER} was used with another request body`);
    }
    throw error;
  }
  if (reservation.outcome === "completed") {
    res.setHeader("Idempotent-Replayed", "true");
    res.status(reservation.status).json(reservation.body);
    return;
  }
  if (reservation.outcome === "in-progress") {
    throw new ApiError(
      "IN_PROGRESS",
      `a request with this ${IDEMPOTENCY_HEADER} is still being processed; retry later`,
    );
  }
  let out: Outcome;
  try {
    out = await work();
  } catch (error) {
    if (error instanceof CommittedRefusal) {
      const body = refusalBody(error, String(res.locals.requestId ?? ""));
      await ctx.store.completeIdempotency(key, hash, { status: error.status, body });
    } else {
      await ctx.store.releaseIdempotency(key, hash).catch(() => false);
    }
    throw error;
  }
  await ctx.store.completeIdempotency(key, hash, out);
  res.status(out.status).json(out.body);
}
