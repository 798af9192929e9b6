/**
 * Region subtree filters in SQL, with exactly the semantics of `contains(outer, inner)` in lib/regions.ts: central
 * (0) contains everything; otherwise both codes are widened to twelve digits (a six-digit code `c` is
 * `c × 10^6`) and compared above the outer code's level. So a province PP0000 covers the six-digit codes
 * PP0000..PP9999 and the twelve-digit PP0000000000..PP9999999999, a county PPCCDD itself and PPCCDD000000..
 * PPCCDD999999, a township …TTT000 its villages …TTT001..…TTT999.
 *
 * `withinRegion`: the stored codes inside a region are one or two numeric ranges (index-friendly). `containing`:
 * the stored codes whose subtree holds a region are a short list (central and one or two spellings per level).
 */
import type { SqlValue } from "../driver";
import { Level, levelOf, widen } from "../../../../lib/regions";

const SIX_DIGITS = 1_000_000n;
const MAX_CODE = BigInt(Number.MAX_SAFE_INTEGER);

/** The size of the subtree of a code of each level, in widened (twelve-digit) codes. */
const UNIT: Record<Exclude<Level, Level.Central>, bigint> = {
  [Level.Province]: 10_000_000_000n,
  [Level.City]: 100_000_000n,
  [Level.County]: 1_000_000n,
  [Level.Township]: 1_000n,
  [Level.Village]: 1n,
};

/** A condition on a column, with its parameters; `undefined` where no condition is needed. */
export interface SqlCondition {
  sql: string;
  params: SqlValue[];
}

/**
 * The inclusive ranges of codes that `outer` contains, or `undefined` if it contains every code (central). Codes are
 * non-negative safe integers (the store refuses others).
 */
export function subtreeRanges(outer: number): [number, number][] | undefined {
  const code = BigInt(outer);
  if (code === 0n) return undefined;
  const level = levelOf(code) as Exclude<Level, Level.Central>;
  const low = widen(code); // at least 10^6: a six-digit code is widened, a longer one is itself
  const high = low + UNIT[level] - 1n;
  const ranges: [bigint, bigint][] = [[low, high < MAX_CODE ? high : MAX_CODE]];
  // Six-digit codes `c` with c × 10^6 in [low, high].
  const sixLow = (low + SIX_DIGITS - 1n) / SIX_DIGITS;
  const sixHigh = high / SIX_DIGITS < SIX_DIGITS - 1n ? high / SIX_DIGITS : SIX_DIGITS - 1n;
  if (sixLow <= sixHigh) ranges.push([sixLow, sixHigh]);
  return ranges.map(([a, b]) => [Number(a), Number(b)]);
}

/** Every code whose subtree holds `inner` (central, and each ancestor level in its six- and twelve-digit forms). */
export function containingCodes(inner: number): number[] {
  const code = BigInt(inner);
  const codes = new Set<bigint>([0n]);
  if (code === 0n) return [0];
  const wide = widen(code);
  for (const [level, unit] of Object.entries(UNIT)) {
    const ancestor = (wide / unit) * unit;
    if (ancestor === 0n || levelOf(ancestor) !== Number(level)) continue;
    codes.add(ancestor); // at least 10^6, so it is its own widened form
    if (ancestor % SIX_DIGITS === 0n && ancestor / SIX_DIGITS < SIX_DIGITS) codes.add(ancestor / SIX_DIGITS);
  }
  return [...codes].filter((c) => c <= MAX_CODE).map(Number);
}

/** `column` is inside the subtree of `outer`; `undefined` for central (no condition). */
export function withinRegionCondition(column: string, outer: number): SqlCondition | undefined {
  const ranges = subtreeRanges(outer);
  if (ranges === undefined) return undefined;
  return {
    sql: `(${ranges.map(() => `${column} BETWEEN ? AND ?`).join(" OR ")})`,
    params: ranges.flat(),
  };
}

/** `column` is a region whose subtree holds `inner`. */
export function containingRegionCondition(column: string, inner: number): SqlCondition {
  const codes = containingCodes(inner);
  return { sql: `${column} IN (${codes.map(() => "?").join(", ")})`, params: codes };
}
