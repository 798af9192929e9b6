/** Reading database values back: PostgreSQL returns BIGINT as strings, SQLite INTEGER as numbers. */
import type { JsonValue } from "./types";

export function toInt(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new TypeError("an integer column held a value that is not a safe integer");
  return n;
}

export function toIntOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : toInt(value);
}

export function toDate(value: unknown): Date {
  return new Date(toInt(value));
}

export function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  throw new TypeError("a bytes column held a value that is not bytes");
}

export function toText(value: unknown): string {
  if (typeof value !== "string") throw new TypeError("a text column held a value that is not text");
  return value;
}

export function toTextOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : toText(value);
}

export function toJson(value: unknown): JsonValue {
  return value === null || value === undefined ? null : (JSON.parse(toText(value)) as JsonValue);
}
