/**
 * Calendar months in China Standard Time (UTC+8), numbered `year * 12 + (month - 1)`, exactly as
 * `contracts/libraries/Periods.sol` numbers them: November 2026 is 24,322.
 */
const CST_OFFSET_SECONDS = 8 * 3600;

/** The period that contains a Unix timestamp (seconds). */
export function periodAt(timestamp: number | bigint): number {
  const d = new Date((Number(timestamp) + CST_OFFSET_SECONDS) * 1000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** "2026-11" for period 24,322. */
export function formatPeriod(period: number): string {
  const year = Math.floor(period / 12);
  const month = (period % 12) + 1;
  return `${year}-${String(month).padStart(2, "0")}`;
}

/** The period named "YYYY-MM". */
export function parsePeriod(text: string): number {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(text);
  if (!m) throw new RangeError(`not a period (YYYY-MM): ${text}`);
  return Number(m[1]) * 12 + Number(m[2]) - 1;
}

/** The Unix timestamp (seconds) at which a period starts, midnight of its first day in CST. */
export function periodStart(period: number): number {
  return Date.UTC(Math.floor(period / 12), period % 12, 1) / 1000 - CST_OFFSET_SECONDS;
}
