/**
 * `Idempotency-Key` handling for the payout endpoints. Keys are scoped by the calling institution
 * (`<institution>:<key>`); the request hash is the SM3 digest of the RFC 8785 canonical JSON of the operation's name
 * and its request body, so the same key sent with another body (or to another endpoint) is refused with 422
 * IDEMPOTENCY_KEY_REUSED rather than replayed.
 *
 * The first caller reserves the key and does the work; callers with the same key and body then get the stored
 * response. A caller that arrives while the first is still working waits for it (briefly) and gets its response,
 * so concurrent retries of one request all see one answer.
 */
import type { Request } from "express";
import canonicalize from "canonicalize";
import type { InstitutionPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { sm3 } from "../crypto";
import { ApiError } from "../http/errors";
import { StoreError, type IdempotentResponse, type JsonValue } from "../store";

const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** How long a caller waits for another caller of the same key to finish, and how often it looks. */
const WAIT_MS = 10_000;
const POLL_MS = 25;

/** The request's `Idempotency-Key`, validated; `undefined` if absent and not required. */
export function idempotencyKeyOf(req: Request, required: true): string;
export function idempotencyKeyOf(req: Request, required: boolean): string | undefined;
export function idempotencyKeyOf(req: Request, required: boolean): string | undefined {
  const key = req.get("idempotency-key");
  if (key === undefined || key === "") {
    if (!required) return undefined;
    throw new ApiError("VALIDATION_FAILED", "the Idempotency-Key header is required", {
      field: "headers.idempotency-key",
    });
  }
  if (!KEY_PATTERN.test(key)) {
    throw new ApiError("VALIDATION_FAILED", "Idempotency-Key: 1-128 letters, digits, '.', '_', ':' or '-'", {
      field: "headers.idempotency-key",
    });
  }
  return key;
}

export interface Idempotent {
  scopedKey: string;
  requestHash: string;
}

/** The scoped key and request hash of an operation. */
export function idempotent(p: InstitutionPrincipal, key: string, operation: string, body: unknown): Idempotent {
  const canonical = canonicalize({ operation, body: body ?? null }) ?? "null";
  return { scopedKey: `${p.id}:${key}`, requestHash: "0x" + sm3(Buffer.from(canonical, "utf8")).toString("hex") };
}

/**
 * Runs `work` once per key: returns its response, or the stored response of an earlier call with the same key and
 * body. `work` gets a `complete` function that stores the response (call it inside the store transaction that makes
 * the change, so a change and its response are stored together); if `work` throws before completing, the reservation
 * is released and the key can be used again.
 */
export async function once(
  ctx: GatewayContext,
  id: Idempotent,
  work: (
    complete: (tx: Pick<GatewayContext["store"], "completeIdempotency">, response: IdempotentResponse) => Promise<void>,
  ) => Promise<IdempotentResponse>,
): Promise<IdempotentResponse> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    let reservation;
    try {
      reservation = await ctx.store.getOrReserve(id.scopedKey, id.requestHash);
    } catch (error) {
      if (error instanceof StoreError && error.code === "CONFLICT") {
        throw new ApiError("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for another request");
      }
      throw error;
    }
    if (reservation.outcome === "completed") return { status: reservation.status, body: reservation.body };
    if (reservation.outcome === "reserved") break;
    if (Date.now() > deadline) {
      throw new ApiError("IN_PROGRESS", "a request with this Idempotency-Key is still being processed; retry later", {
        retryAfter: 2,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }

  let completed = false;
  const complete = async (tx: Pick<GatewayContext["store"], "completeIdempotency">, response: IdempotentResponse) => {
    await tx.completeIdempotency(id.scopedKey, id.requestHash, response);
    completed = true;
  };
  try {
    const response = await work(complete);
    if (!completed) await ctx.store.completeIdempotency(id.scopedKey, id.requestHash, response);
    return response;
  } catch (error) {
    // Releases only a reservation that is still pending (a completion rolled back with its transaction included).
    await ctx.store.releaseIdempotency(id.scopedKey, id.requestHash).catch(() => undefined);
    throw error;
  }
}

/** A JSON response body as the store keeps it. */
export function jsonBody(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}
