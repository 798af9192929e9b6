/**
 * The one serialisation of everything the chaincode writes or returns: RFC 8785 canonical JSON (sorted keys,
 * no whitespace), with bigints as decimal strings, so every peer produces the same bytes for the same state.
 */
import canonicalize from "canonicalize";

function plain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

export function marshal(value: unknown): string {
  return canonicalize(plain(value)) ?? "null";
}

export function marshalBytes(value: unknown): Buffer {
  return Buffer.from(marshal(value), "utf8");
}
