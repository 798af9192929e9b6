/**
 * Parsing of a transaction's one JSON argument at the boundary. Each reader checks what the EVM ABI encoder
 * would refuse (a malformed id, an integer out of its Solidity type's range) and refuses with `InvalidArgument`,
 * so nothing malformed reaches the rules.
 */
import { invalidArgument } from "./refusal";

export type Json = Record<string, unknown>;

export const ZERO32 = `0x${"0".repeat(64)}`;
export const ZERO_ACCOUNT = `0x${"0".repeat(40)}`;

/** The transaction's argument object. */
export function args(text: string | undefined): Json {
  let value: unknown;
  try {
    value = JSON.parse(text ?? "{}");
  } catch {
    return invalidArgument("args", "not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return invalidArgument("args", "not an object");
  return value as Json;
}

export function object(input: Json, field: string): Json {
  const v = input[field];
  if (v === null || typeof v !== "object" || Array.isArray(v)) return invalidArgument(field, String(v));
  return v as Json;
}

export function bytes32(input: Json, field: string): string {
  const v = input[field];
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(v)) return invalidArgument(field, String(v));
  return v.toLowerCase();
}

export function bytes32List(input: Json, field: string): string[] {
  const v = input[field];
  if (!Array.isArray(v)) return invalidArgument(field, String(v));
  return v.map((_, i) => bytes32(v as unknown as Json, String(i)));
}

/** A list of argument objects (`[{…}, …]`), each read by the caller's readers. */
export function objectList(input: Json, field: string): Json[] {
  const v = input[field];
  if (!Array.isArray(v)) return invalidArgument(field, String(v));
  return v.map((_, i) => object(v as unknown as Json, String(i)));
}

export function account(input: Json, field: string): string {
  const v = input[field];
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(v)) return invalidArgument(field, String(v));
  return v.toLowerCase();
}

export function bool(input: Json, field: string): boolean {
  const v = input[field];
  if (typeof v !== "boolean") return invalidArgument(field, String(v));
  return v;
}

/** An unsigned integer of `bits` bits given as a JSON number. */
export function uint(input: Json, field: string, bits: number): number {
  const v = input[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || (bits < 53 && v >= 2 ** bits)) {
    return invalidArgument(field, String(v));
  }
  return v;
}

/** An unsigned integer of `bits` bits given as a decimal string (or a safe JSON integer). */
export function big(input: Json, field: string, bits: number): bigint {
  const v = input[field];
  let n: bigint;
  if (typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v)) n = BigInt(v);
  else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  else return invalidArgument(field, String(v));
  if (n >= 1n << BigInt(bits)) return invalidArgument(field, String(v));
  return n;
}
