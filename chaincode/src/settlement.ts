/**
 * `Settlement`: the payment agent confirms settlements per batch with a bank reference (all or nothing), or
 * reports a failure that returns the money to the pool so the payout can be made again.
 */
import { MONTHLY, type PayoutState, type SettlementBatch } from "../../lib/ledger-model";
import { contains } from "../../lib/regions";
import { PayoutStatus, Role } from "../../lib/roles";
import { authorize } from "./access";
import { bytes32, object, objectList, uint, ZERO32, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { knownCase, loadCase, periodBit, saveCase } from "./case-state";
import { caseCount, caseIdAt } from "./cases";
import { recordFailedPayout } from "./budget";
import { releaseMedical } from "./event-payouts";
import {
  eventPayoutKey,
  loadEventPayout,
  paidAmount,
  parsePayoutKey,
  payoutStatusOf,
  type PayoutKey,
} from "./payout-keys";
import { invalidArgument, refuse } from "./refusal";

export async function confirmSettlements(ctx: ReliefContext, input: Json): Promise<Record<string, never>> {
  const bankRefDigest = bytes32(input, "bankRefDigest");
  if (!Array.isArray(input.keys)) invalidArgument("keys", String(input.keys));
  const batch: SettlementBatch = {
    bankRefDigest,
    keys: (input.keys as unknown[]).map((k, i) => parsePayoutKey(object(input.keys as unknown as Json, String(i)))),
  };
  const { keys } = batch;
  if (keys.length === 0) refuse("LedgerInvalidInput", { field: "keys" });
  if (bankRefDigest === ZERO32) refuse("LedgerInvalidInput", { field: "bankRefDigest" });
  const first = await loadCase(ctx, keys[0].caseId);
  const agent = await authorize(ctx, [Role.PaymentAgent], first?.region ?? 0n);
  for (const k of keys) {
    const doc = await loadCase(ctx, k.caseId);
    const region = doc?.region ?? 0n;
    if (!contains(agent.region, region)) refuse("LedgerUnauthorizedRegion", { account: agent.account, region });
    const notAwaiting = { caseId: k.caseId, period: k.period, eventId: k.eventId };
    if (k.eventId === MONTHLY) {
      const bit = periodBit(doc, k.period);
      if (doc === undefined || bit === undefined || (doc.paidMask & bit) === 0 || (doc.settledMask & bit) !== 0) {
        refuse("LedgerNotAwaitingSettlement", notAwaiting);
      }
      doc.settledMask = (doc.settledMask | bit) >>> 0;
      await saveCase(ctx, k.caseId, doc);
    } else {
      const ep = await loadEventPayout(ctx, k.caseId, k.eventId);
      if (ep === undefined || ep.status !== PayoutStatus.Paid || ep.period !== k.period)
        refuse("LedgerNotAwaitingSettlement", notAwaiting);
      ep.status = PayoutStatus.Settled;
      await ctx.store.put(eventPayoutKey(ctx, k.caseId, k.eventId), ep);
    }
    ctx.emit("PayoutSettled", { caseId: k.caseId, eventId: k.eventId, period: k.period, bankRefDigest });
  }
  return {};
}

export async function reportFailure(ctx: ReliefContext, input: Json): Promise<{ amount: bigint }> {
  const k = parsePayoutKey(object(input, "key"));
  const reasonDigest = bytes32(input, "reasonDigest");
  const doc = await knownCase(ctx, k.caseId);
  await authorize(ctx, [Role.PaymentAgent], doc.region);
  const programmeId = doc.programmeId;
  const notAwaiting = { caseId: k.caseId, period: k.period, eventId: k.eventId };
  let amount: bigint;
  if (k.eventId === MONTHLY) {
    const bit = periodBit(doc, k.period);
    if (bit === undefined || (doc.paidMask & bit) === 0 || (doc.settledMask & bit) !== 0)
      refuse("LedgerNotAwaitingSettlement", notAwaiting);
    doc.paidMask = (doc.paidMask & ~bit) >>> 0;
    amount = paidAmount(doc, k.period);
    await saveCase(ctx, k.caseId, doc);
  } else {
    const ep = await loadEventPayout(ctx, k.caseId, k.eventId);
    if (ep === undefined || ep.status !== PayoutStatus.Paid || ep.period !== k.period)
      refuse("LedgerNotAwaitingSettlement", notAwaiting);
    amount = ep.amount;
    if (ep.medical) await releaseMedical(ctx, doc, k.eventId, ep);
    ep.status = PayoutStatus.None;
    await ctx.store.put(eventPayoutKey(ctx, k.caseId, k.eventId), ep);
  }
  await recordFailedPayout(ctx, programmeId, amount);
  ctx.emit("PayoutFailed", {
    caseId: k.caseId,
    programmeId,
    eventId: k.eventId,
    period: k.period,
    amount,
    reasonDigest,
  });
  return { amount };
}

/**
 * Many failure reports in one transaction, each exactly as {@link reportFailure}, in order; the first refusal fails
 * the whole transaction (the EVM ledger's `multicall` of `reportFailure`). Replies with each payout's amount.
 */
export async function reportFailures(ctx: ReliefContext, input: Json): Promise<{ amounts: bigint[] }> {
  const failures = objectList(input, "failures");
  if (failures.length === 0) refuse("LedgerEmptyMulticall");
  const amounts: bigint[] = [];
  for (const f of failures) amounts.push((await reportFailure(ctx, f)).amount);
  return { amounts };
}

export async function payoutStatus(ctx: ReliefContext, input: Json): Promise<PayoutState> {
  return payoutStatusOf(ctx, parsePayoutKey(input));
}

/** Every tracked payout of a case: monthly payouts in its window (newest first), then event payouts in order. */
export async function casePayoutKeys(ctx: ReliefContext, caseId: string): Promise<PayoutKey[]> {
  const doc = await loadCase(ctx, caseId);
  if (doc === undefined) return [];
  const keys: PayoutKey[] = [];
  for (let i = 0, mask = doc.paidMask; mask !== 0; ++i, mask >>>= 1) {
    if ((mask & 1) !== 0) keys.push({ caseId, period: doc.paidThrough - i, eventId: MONTHLY });
  }
  for await (const kv of ctx.store.scan("payout~case", caseId)) {
    const eventId = JSON.parse(kv.value.toString("utf8")) as string;
    const ep = await loadEventPayout(ctx, caseId, eventId);
    if (ep !== undefined && ep.status !== PayoutStatus.None) keys.push({ caseId, period: ep.period, eventId });
  }
  return keys;
}

/** `Settlement.unsettledPayouts`: payouts not yet settled among cases `[fromCase, fromCase + count)` in submission order. */
export async function unsettledPayouts(ctx: ReliefContext, input: Json): Promise<PayoutKey[]> {
  const fromCase = uint(input, "fromCase", 53);
  const count = uint(input, "count", 53);
  const keys: PayoutKey[] = [];
  const end = Math.min(fromCase + count, await caseCount(ctx));
  for (let c = fromCase; c < end; c++) {
    const caseId = (await caseIdAt(ctx, { index: c })) as string;
    for (const k of await casePayoutKeys(ctx, caseId)) {
      if ((await payoutStatusOf(ctx, k)).status === PayoutStatus.Paid) keys.push(k);
    }
  }
  return keys;
}

export async function casePayouts(ctx: ReliefContext, input: Json): Promise<PayoutKey[]> {
  return casePayoutKeys(ctx, bytes32(input, "caseId"));
}
