/**
 * Request validation with zod: the first issue becomes a VALIDATION_FAILED error naming the field at fault, with the
 * schema's message (never the value). Shared field schemas live here so every route reads ids, amounts and regions
 * the same way.
 */
import { z } from "zod";
import { isValidRegion } from "../../../lib/regions";
import { ApiError } from "./errors";

/** Parses `value` with `schema`, or throws VALIDATION_FAILED for the first issue. `where` prefixes the field path. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where?: "query" | "params"): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.map(String).join(".");
  const field = [where, path].filter(Boolean).join(".") || undefined;
  const message = issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message;
  throw new ApiError("VALIDATION_FAILED", field ? `${field}: ${message}` : message, {
    field: issue.code === "unrecognized_keys" ? [field, issue.keys[0]].filter(Boolean).join(".") : field,
  });
}

export const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x and 64 hex digits")
  .transform((s) => s.toLowerCase());

/** Integer fen, positive, below 2^53 (JSON numbers) — as a bigint. */
export const fen = z
  .number({ message: "must be an integer amount in fen" })
  .int("must be an integer amount in fen")
  .positive("must be positive")
  .max(Number.MAX_SAFE_INTEGER, "is too large")
  .transform((n) => BigInt(n));

/** A GB/T 2260 division code (6 digits) or a 12-digit statistical code, as a string; "0" is central. */
export const regionCode = z
  .string()
  .regex(/^(0|\d{6}|\d{12})$/, "must be a 6- or 12-digit division code, or 0 for central")
  // zod 4 runs refinements after a failed regex too: only digits reach BigInt (else a 500, found by the fuzzer).
  .refine((s) => /^\d{1,12}$/.test(s) && isValidRegion(BigInt(s)), "is not a valid division code")
  .transform((s) => BigInt(s));

/** A period as `YYYY-MM` (China time) or its number (`year * 12 + month − 1`). */
export const periodNumber = z
  .number()
  .int()
  .min(2000 * 12)
  .max(2200 * 12);

export const programmeId = z.number().int("must be an integer").min(1, "must be at least 1").max(0xffff);

/** Free-text reasons are digested before they go on chain; they are kept off chain in the audit log. */
export const reason = z.string().trim().min(1, "is required").max(500, "is at most 500 characters");

export const limit = z.coerce.number().int().min(1).max(1000).default(100);
