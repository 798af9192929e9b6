/**
 * Money as people read it: amounts are integer fen everywhere (`bigint` in code, decimal strings in JSON), shown
 * as yuan and parsed back exactly, with BigInt, never through floating point. Used by the gateway's printable
 * reports and, bundled by esbuild, by the web pages (gateway/web/src/format.js).
 */

/** Fen (a bigint, or its decimal string) as yuan with thousands separators: "123456" → "¥1,234.56". */
export function yuan(fen: string | bigint | number): string {
  let v: bigint;
  try {
    v = BigInt(fen);
  } catch {
    return String(fen);
  }
  const negative = v < 0n;
  if (negative) v = -v;
  const whole = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = (v % 100n).toString().padStart(2, "0");
  return `${negative ? "−" : ""}¥${whole}.${cents}`;
}

/** "1,234.5" yuan → 123450 fen (a number), or null if it is not a positive amount with at most 2 decimals. */
export function parseYuan(text: string): number | null {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(
    String(text)
      .trim()
      .replace(/[,，\s]/g, ""),
  );
  if (!m) return null;
  const fen = BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
  if (fen <= 0n || fen > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(fen);
}
