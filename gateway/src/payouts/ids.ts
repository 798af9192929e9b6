/**
 * Payout ids: the gateway's name for a payout, `caseId:period:eventId` — the chain's `PayoutKey` written out, so an
 * id maps to exactly one key and back. The case and event ids are lowercase 0x-hex bytes32 values; the period is the
 * period number (`year × 12 + month − 1`) in decimal without leading zeros. Monthly payouts have the zero event id
 * ({@link MONTHLY}); event payouts the medical bill's or the disaster's id.
 *
 * `0x3f…a1:24322:0x0000…0000` is the November 2026 allowance of case `0x3f…a1`.
 */
import { z } from "zod";
import { MONTHLY, type PayoutKey } from "../ledger";

/** The largest period a `PayoutKey` holds (`uint24`). */
const MAX_PERIOD = 0xff_ffff;
const PAYOUT_ID = /^(0x[0-9a-f]{64}):(0|[1-9][0-9]{0,7}):(0x[0-9a-f]{64})$/;

/** The payout id of a key. */
export function payoutIdOf(key: PayoutKey): string {
  return `${key.caseId.toLowerCase()}:${key.period}:${key.eventId.toLowerCase()}`;
}

/** The key of a payout id, or `undefined` if the text is not a payout id (upper-case hex is accepted). */
export function parsePayoutId(id: string): PayoutKey | undefined {
  if (typeof id !== "string") return undefined;
  const m = PAYOUT_ID.exec(id.toLowerCase());
  if (!m) return undefined;
  const period = Number(m[2]);
  if (period > MAX_PERIOD) return undefined;
  return { caseId: m[1], period, eventId: m[3] };
}

/** A payout id in a request (kept as sent; {@link parsePayoutId} gives its key). */
export const payoutIdSchema = z
  .string()
  .refine((s) => parsePayoutId(s) !== undefined, "is not a payout id (caseId:period:eventId)");

/** Whether a payout is a monthly one (rather than a medical bill or a disaster relief payment). */
export function isMonthly(key: PayoutKey): boolean {
  return key.eventId.toLowerCase() === MONTHLY;
}
