/** Payout keys and what a key names: `Settlement.payoutStatus` and `_paidAmount`. */
import { MONTHLY, type PayoutKey, type PayoutState } from "../../lib/ledger-model";
import { PayoutStatus } from "../../lib/roles";
import { bytes32, uint, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { loadCase, periodBit, WINDOW, type CaseDoc } from "./case-state";

export type { PayoutKey } from "../../lib/ledger-model";

/** A bill's or a disaster's payout to a case: its state, the period it was paid in, and whether it is a bill. */
export interface EventPayout extends PayoutState {
  period: number;
  medical: boolean;
}

export function parsePayoutKey(input: Json): PayoutKey {
  return { caseId: bytes32(input, "caseId"), period: uint(input, "period", 24), eventId: bytes32(input, "eventId") };
}

export function eventPayoutKey(ctx: ReliefContext, caseId: string, eventId: string): string {
  return ctx.store.key("eventPayout", caseId, eventId);
}

export async function loadEventPayout(
  ctx: ReliefContext,
  caseId: string,
  eventId: string,
): Promise<EventPayout | undefined> {
  return ctx.store.get<EventPayout>(eventPayoutKey(ctx, caseId, eventId), ["amount"]);
}

/** What the paid monthly payout of `period` was paid at: the earliest epoch snapshot showing it paid, else now. */
export function paidAmount(doc: CaseDoc, period: number): bigint {
  let amount = doc.amount;
  for (let k = doc.epochs.length; k > 0; --k) {
    const ep = doc.epochs[k - 1];
    if (
      period > ep.paidThrough ||
      ep.paidThrough - period >= WINDOW ||
      ((ep.paidMask >>> (ep.paidThrough - period)) & 1) === 0
    )
      break;
    amount = ep.amount;
  }
  return amount;
}

export async function payoutStatusOf(ctx: ReliefContext, k: PayoutKey): Promise<PayoutState> {
  const none = { status: PayoutStatus.None, amount: 0n };
  if (k.eventId !== MONTHLY) {
    const ep = await loadEventPayout(ctx, k.caseId, k.eventId);
    if (ep === undefined || ep.status === PayoutStatus.None || ep.period !== k.period) return none;
    return { status: ep.status, amount: ep.amount };
  }
  const doc = await loadCase(ctx, k.caseId);
  const bit = periodBit(doc, k.period);
  if (doc === undefined || bit === undefined || (doc.paidMask & bit) === 0) return none;
  return {
    status: (doc.settledMask & bit) !== 0 ? PayoutStatus.Settled : PayoutStatus.Paid,
    amount: paidAmount(doc, k.period),
  };
}
