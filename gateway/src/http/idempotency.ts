/**
 * `Idempotency-Key` for requests that create or pay something (case intake, payout runs, medical bills, disasters).
 * A key is scoped by the calling institution (`<institution id>:<key>`); the request hash is SM3 of the RFC 8785
 * canonical JSON of the operation's name and the request body, so the same body with its keys in another order is the
 * same request, and the same key sent with another body (or to another endpoint) is refused rather than replayed.
 *
 * - first use: the work runs, and its response is stored under the key (inside the work's own transaction when the
 *   work calls `complete`, so a change and its response are stored together);
 * - the same key and body again: the stored response is replayed (header `Idempotent-Replayed: true`);
 * - the same key while the first request still runs: the caller waits briefly for it and gets its response, or 409
 *   IN_PROGRESS with Retry-After;
 * - the same key with another body: 422 IDEMPOTENCY_KEY_REUSED.
 *
 * A request refused before it changed anything releases its key (it can be retried as is); a refusal after the work
 * committed something ({@link CommittedRefusal}) is stored like a success, so a replay never does the work twice.
 */
import canonicalize from "canonicalize";
import type { Request, Response } from "express";
import { z } from "zod";
import type { InstitutionPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { sm3 } from "../crypto";
import { type IdempotentResponse, type JsonValue, StoreError } from "../store";
import { ApiError, type ApiErrorCode, type ApiErrorOptions, errorJson } from "./errors";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Set on a replayed response. */
export const REPLAYED_HEADER = "Idempotent-Replayed";
const FIELD = "headers.idempotency-key";
const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const KEY_RULE = "1-128 letters, digits, '.', '_', ':' or '-'";
/** How long a caller waits for another caller of the same key to finish, and how often it looks. */
const WAIT_MS = 10_000;
const POLL_MS = 25;
/** Retry-After (seconds) of a 409 IN_PROGRESS. */
const RETRY_AFTER_S = 2;

/** A refusal that comes after the request committed changes: its response is kept for replays. */
export class CommittedRefusal extends ApiError {
  constructor(code: ApiErrorCode, message: string, options?: ApiErrorOptions) {
    super(code, message, options);
  }
}

/** The `Idempotency-Key` header of an endpoint, for its OpenAPI `request.headers`. */
export function idempotencyHeader(required: boolean, description: string) {
  const key = z.string();
  return z.object({
    [IDEMPOTENCY_HEADER]: (required ? key : key.optional()).openapi({ description: `${KEY_RULE}; ${description}` }),
  });
}

/** What a request says about idempotency: its key, its body (as sent) and its request id. */
export interface IdempotentRequest {
  key: string;
  body: unknown;
  requestId: string;
}

/** The request's validated `Idempotency-Key`, body and request id; `undefined` if it has no key and needs none. */
export function idempotencyOf(req: Request, res: Response, required: true): IdempotentRequest;
export function idempotencyOf(req: Request, res: Response, required: boolean): IdempotentRequest | undefined;
export function idempotencyOf(req: Request, res: Response, required: boolean): IdempotentRequest | undefined {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined || key === "") {
    if (!required) return undefined;
    throw new ApiError("VALIDATION_FAILED", `the ${IDEMPOTENCY_HEADER} header is required`, { field: FIELD });
  }
  if (!KEY_PATTERN.test(key)) {
    throw new ApiError("VALIDATION_FAILED", `${IDEMPOTENCY_HEADER}: ${KEY_RULE}`, { field: FIELD });
  }
  return { key, body: req.body ?? {}, requestId: String(res.locals.requestId ?? "") };
}

/** The scoped key (`<institution id>:<key>`) of a request's key: unique across institutions. */
export function scopedKey(p: InstitutionPrincipal, request: IdempotentRequest): string {
  return `${p.id}:${request.key}`;
}

/** SM3 of the canonical JSON of `{ operation, body }`, 0x-hex. */
export function requestHash(operation: string, body: unknown): string {
  const canonical = canonicalize({ operation, body: body ?? null }) ?? "null";
  return "0x" + sm3(Buffer.from(canonical, "utf8")).toString("hex");
}

/** A response, and whether it is the stored response of an earlier request. */
export interface Answer extends IdempotentResponse {
  replayed?: boolean;
}

/** Stores `response` under the key; pass the transaction that makes the change. */
export type Complete = (
  tx: Pick<GatewayContext["store"], "completeIdempotency">,
  response: IdempotentResponse,
) => Promise<void>;

/**
 * Reservations this gateway knows to be abandoned: those made before it started (the process that made them was
 * killed before its work committed: a committed work completes its key in the same transaction), and those whose
 * release failed (the database went away mid-request). Such a key would otherwise answer 409 IN_PROGRESS forever;
 * it is released and reserved anew. One gateway process per database is assumed (as payouts/resume.ts does).
 */
interface Abandoned {
  startedAt: Date;
  keys: Set<string>;
}
const ABANDONED = new WeakMap<GatewayContext, Abandoned>();

function abandonedOf(ctx: GatewayContext): Abandoned {
  let a = ABANDONED.get(ctx);
  if (!a) ABANDONED.set(ctx, (a = { startedAt: ctx.now(), keys: new Set() }));
  return a;
}

async function reserve(ctx: GatewayContext, key: string, hash: string): Promise<IdempotentResponse | undefined> {
  const deadline = Date.now() + WAIT_MS;
  const abandoned = abandonedOf(ctx);
  for (;;) {
    let reservation;
    try {
      reservation = await ctx.store.getOrReserve(key, hash);
    } catch (error) {
      if (error instanceof StoreError && error.code === "CONFLICT") {
        throw new ApiError("IDEMPOTENCY_KEY_REUSED", `this ${IDEMPOTENCY_HEADER} was used for another request`);
      }
      throw error;
    }
    if (reservation.outcome === "completed") return { status: reservation.status, body: reservation.body };
    if (reservation.outcome === "reserved") return undefined;
    // Taken over atomically (the store checks the reservation's time): of several callers, one gets it.
    const released = abandoned.keys.delete(key);
    if (released || reservation.since < abandoned.startedAt) {
      let taken: boolean;
      try {
        taken = await ctx.store.takeOverIdempotency(key, hash, reservation.since);
      } catch (error) {
        if (released) abandoned.keys.add(key);
        throw error;
      }
      if (taken) return undefined;
      continue;
    }
    if (Date.now() > deadline) {
      throw new ApiError(
        "IN_PROGRESS",
        `a request with this ${IDEMPOTENCY_HEADER} is still being processed; retry later`,
        { retryAfter: RETRY_AFTER_S },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Runs `work` once per key: returns its response, or the stored response of an earlier call with the same key,
 * operation and body (`replayed: true`). Without a key (`request` undefined), just runs `work`. `work` gets a
 * `complete` function that stores the response: call it inside the store transaction that makes the change, so the
 * change and its response are stored together; if `work` returns without calling it, the response is stored then.
 * If `work` throws, the reservation is released and the key can be used again — unless it threw a
 * {@link CommittedRefusal}, which is stored as the key's response.
 */
export async function once(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  operation: string,
  request: IdempotentRequest | undefined,
  work: (complete: Complete) => Promise<IdempotentResponse>,
): Promise<Answer> {
  if (request === undefined) return work(async () => {});
  const key = scopedKey(p, request);
  const hash = requestHash(operation, request.body);
  const stored = await reserve(ctx, key, hash);
  if (stored !== undefined) return { ...stored, replayed: true };

  let completed = false;
  const complete: Complete = async (tx, response) => {
    await tx.completeIdempotency(key, hash, response);
    completed = true;
  };
  let response: IdempotentResponse;
  try {
    response = await work(complete);
  } catch (error) {
    if (error instanceof CommittedRefusal && !completed) {
      await ctx.store.completeIdempotency(key, hash, {
        status: error.status,
        body: errorJson(error, request.requestId),
      });
    } else {
      // Releases only a reservation that is still pending (a completion rolled back with its transaction included).
      await ctx.store.releaseIdempotency(key, hash).catch(() => void abandonedOf(ctx).keys.add(key));
    }
    throw error;
  }
  if (!completed) await ctx.store.completeIdempotency(key, hash, response);
  return response;
}

/** The idempotency of work that is one store transaction (see {@link onceInTransaction}). */
export interface TxIdempotency {
  /**
   * Call first inside the work's transaction: reserves the key there. If the key has a stored response, the
   * transaction is abandoned and that response replayed; another body with the key is 422 IDEMPOTENCY_KEY_REUSED.
   */
  begin(tx: Pick<GatewayContext["store"], "getOrReserve">): Promise<void>;
  /** Call last inside the same transaction: stores the response with the change. */
  complete(tx: Pick<GatewayContext["store"], "completeIdempotency">, response: IdempotentResponse): Promise<void>;
}

/** Thrown by `begin` to abandon the work's transaction and replay the stored response. */
class StoredAnswer extends Error {
  constructor(readonly response: IdempotentResponse) {
    super("replayed");
  }
}

/**
 * {@link once} for work whose change is one store transaction: the key is reserved, and the response stored, inside
 * that transaction (`begin` first, `complete` last), so the reservation, the change and the response commit together
 * (one commit, not three). Concurrent requests with one key are serialised by the store (SQLite's one writer,
 * PostgreSQL's unique index): the later one finds the earlier one's response and replays it (after doing its
 * preparation again: use this for work whose preparation is cheap to repeat). A request that fails stores nothing,
 * its reservation included. Without a key (`request` undefined), `begin` and `complete` do nothing.
 */
export async function onceInTransaction(
  p: InstitutionPrincipal,
  operation: string,
  request: IdempotentRequest | undefined,
  work: (idempotency: TxIdempotency) => Promise<IdempotentResponse>,
): Promise<Answer> {
  if (request === undefined) return work({ begin: async () => {}, complete: async () => {} });
  const key = scopedKey(p, request);
  const hash = requestHash(operation, request.body);
  const idempotency: TxIdempotency = {
    async begin(tx) {
      let reservation;
      try {
        reservation = await tx.getOrReserve(key, hash);
      } catch (error) {
        if (error instanceof StoreError && error.code === "CONFLICT") {
          throw new ApiError("IDEMPOTENCY_KEY_REUSED", `this ${IDEMPOTENCY_HEADER} was used for another request`);
        }
        throw error;
      }
      if (reservation.outcome === "completed") {
        throw new StoredAnswer({ status: reservation.status, body: reservation.body });
      }
      if (reservation.outcome === "in-progress") {
        // Reserved by a request of the `once` kind that has not finished (or never will: a crash).
        throw new ApiError(
          "IN_PROGRESS",
          `a request with this ${IDEMPOTENCY_HEADER} is still being processed; retry later`,
          { retryAfter: RETRY_AFTER_S },
        );
      }
    },
    async complete(tx, response) {
      await tx.completeIdempotency(key, hash, response);
    },
  };
  try {
    return await work(idempotency);
  } catch (error) {
    if (error instanceof StoredAnswer) return { ...error.response, replayed: true };
    throw error;
  }
}

/** Sends an answer, marking a replay with `Idempotent-Replayed: true`. */
export function send(res: Response, answer: Answer): void {
  if (answer.replayed) res.setHeader(REPLAYED_HEADER, "true");
  res.status(answer.status).json(answer.body);
}

/** A JSON response body as the store keeps it. */
export function jsonBody(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}
