/**
 * Shape checks at the store's boundary, each throwing `StoreError("INVALID_ARGUMENT")`. Messages name the argument,
 * never its value (a value could be personal data passed by mistake).
 */
import { invariant } from "./errors";
import type { JsonValue } from "./types";

const HEX32 = /^0x[0-9a-f]{64}$/;
/** Default and maximum page sizes of list methods. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1_000;

/** A non-empty string of at most `max` characters. */
export function checkText(value: unknown, name: string, max = 200): string {
  invariant(
    typeof value === "string" && value.length > 0 && value.length <= max,
    "INVALID_ARGUMENT",
    `${name} must be a non-empty string of at most ${max} characters`,
  );
  return value;
}

/** Null, or a string of at most `max` characters. */
export function checkOptionalText(value: unknown, name: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  invariant(
    typeof value === "string" && value.length <= max,
    "INVALID_ARGUMENT",
    `${name} must be a string of at most ${max} characters`,
  );
  return value;
}

/** `0x` and 64 lowercase hex digits (a bytes32, as ethers writes it). */
export function checkHex32(value: unknown, name: string): string {
  invariant(
    typeof value === "string" && HEX32.test(value),
    "INVALID_ARGUMENT",
    `${name} must be 0x and 64 lowercase hex digits`,
  );
  return value;
}

/** An integer from `min` to 2^53 - 1. */
export function checkInt(value: unknown, name: string, min = 0): number {
  invariant(
    Number.isSafeInteger(value) && (value as number) >= min,
    "INVALID_ARGUMENT",
    `${name} must be an integer of at least ${min}`,
  );
  return value as number;
}

/** Non-empty bytes, as a Buffer (a copy when given another Uint8Array). */
export function checkBytes(value: unknown, name: string): Buffer {
  invariant(value instanceof Uint8Array && value.length > 0, "INVALID_ARGUMENT", `${name} must be non-empty bytes`);
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  invariant(allowed.includes(value as T), "INVALID_ARGUMENT", `${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

export function checkDate(value: unknown, name: string): number {
  invariant(
    value instanceof Date && Number.isSafeInteger(value.getTime()),
    "INVALID_ARGUMENT",
    `${name} must be a valid Date`,
  );
  return value.getTime();
}

export function checkLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT;
  invariant(
    Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_LIMIT,
    "INVALID_ARGUMENT",
    `limit must be an integer from 1 to ${MAX_LIMIT}`,
  );
  return value as number;
}

/** JSON text of `value`, at most `maxBytes` long. */
export function checkJson(value: JsonValue | undefined, name: string, maxBytes: number): string | null {
  if (value === undefined || value === null) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  invariant(
    text !== undefined && Buffer.byteLength(text) <= maxBytes,
    "INVALID_ARGUMENT",
    `${name} must be JSON of at most ${maxBytes} bytes`,
  );
  return text;
}
