/**
 * `ReceiptBook`: the beneficiary's confirmation of receipt, attested by the gateway's anchorer, and disputes of
 * non-receipt resolved by approvers. A payout has at most one receipt, except that a `NotReceived` receipt (which
 * opens a dispute) may be followed by one `Confirmed` receipt, which closes the dispute if it is still open.
 *
 * Not ported: `submitReceipt` (an EIP-712 signature by the case's beneficiary key relayed by anyone). On Fabric a
 * beneficiary holds no channel identity; receipts arrive through the gateway's attestation only.
 */
import type { DisputeRecord, ReceiptRecord } from "../../lib/ledger-model";
import { DisputeOutcome, DisputeStatus, ReceiptOutcome, ReceiptSource } from "../../lib/receipts";
import { PayoutStatus, Role } from "../../lib/roles";
import { authorize } from "./access";
import { bytes32, object, uint, ZERO32, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { loadCase } from "./case-state";
import { parsePayoutKey, payoutStatusOf, type PayoutKey } from "./payout-keys";
import { loadProgramme } from "./programmes";
import { refuse } from "./refusal";
import { casePayoutKeys } from "./settlement";
import { pad } from "./store";

interface Entry {
  receipt: ReceiptOutcome;
  source: ReceiptSource;
  receivedAt: number;
  dispute: DisputeStatus;
  outcome: DisputeOutcome;
  openedAt: number;
  responseDeadline: number;
}

const EMPTY: Entry = {
  receipt: ReceiptOutcome.None,
  source: ReceiptSource.None,
  receivedAt: 0,
  dispute: DisputeStatus.None,
  outcome: DisputeOutcome.None,
  openedAt: 0,
  responseDeadline: 0,
};

const parts = (k: PayoutKey) => [k.caseId, pad(k.period, 8), k.eventId] as const;
const entryKey = (ctx: ReliefContext, k: PayoutKey) => ctx.store.key("receipt", ...parts(k));
const openKey = (ctx: ReliefContext, k: PayoutKey) => ctx.store.key("openDispute", ...parts(k));
const OPEN_COUNT_KEY = "openDisputeCount";

async function entryOf(ctx: ReliefContext, k: PayoutKey): Promise<Entry> {
  return (await ctx.store.get<Entry>(entryKey(ctx, k))) ?? { ...EMPTY };
}

async function closeDispute(ctx: ReliefContext, k: PayoutKey): Promise<void> {
  await ctx.store.del(openKey(ctx, k));
  await ctx.store.put(OPEN_COUNT_KEY, ((await ctx.store.get<number>(OPEN_COUNT_KEY)) ?? 1) - 1);
}

export async function attestReceipt(ctx: ReliefContext, input: Json): Promise<void> {
  const key = parsePayoutKey(object(input, "key"));
  const outcome = uint(input, "outcome", 8);
  const evidenceDigest = bytes32(input, "evidenceDigest");
  const c = await loadCase(ctx, key.caseId);
  if (c === undefined) refuse("LedgerPayoutNotFound", { caseId: key.caseId, period: key.period, eventId: key.eventId });
  await authorize(ctx, [Role.Anchorer], c.region);
  if (evidenceDigest === ZERO32) refuse("LedgerInvalidInput", { field: "evidenceDigest" });
  await record(ctx, key, c.programmeId, outcome, ReceiptSource.Attestation, evidenceDigest);
}

/** The receipt rule, after the path's own checks. */
async function record(
  ctx: ReliefContext,
  key: PayoutKey,
  programmeId: number,
  outcome: number,
  source: ReceiptSource,
  noteDigest: string,
) {
  if (outcome !== ReceiptOutcome.Confirmed && outcome !== ReceiptOutcome.NotReceived)
    refuse("LedgerInvalidInput", { field: "outcome" });
  const where = { caseId: key.caseId, period: key.period, eventId: key.eventId };
  if ((await payoutStatusOf(ctx, key)).status === PayoutStatus.None) refuse("LedgerPayoutNotFound", where);
  const e = await entryOf(ctx, key);
  if (e.receipt === ReceiptOutcome.Confirmed || (e.receipt === ReceiptOutcome.NotReceived && outcome === e.receipt)) {
    refuse("LedgerReceiptExists", where);
  }
  const event = { caseId: key.caseId, eventId: key.eventId, period: key.period };
  if (outcome === ReceiptOutcome.Confirmed) {
    const closes = e.dispute === DisputeStatus.Open;
    e.receipt = ReceiptOutcome.Confirmed;
    e.source = source;
    e.receivedAt = ctx.now;
    if (closes) {
      e.dispute = DisputeStatus.Resolved;
      e.outcome = DisputeOutcome.ResolvedByBeneficiary;
      await closeDispute(ctx, key);
    }
    await ctx.store.put(entryKey(ctx, key), e);
    ctx.emit("ReceiptConfirmed", { ...event, source, noteDigest });
    if (closes)
      ctx.emit("DisputeResolved", {
        ...event,
        outcome: DisputeOutcome.ResolvedByBeneficiary,
        resolutionDigest: noteDigest,
      });
    return;
  }
  const deadline = ctx.now + (await loadProgramme(ctx, programmeId)).disputeWindow;
  const opened: Entry = {
    receipt: ReceiptOutcome.NotReceived,
    source,
    receivedAt: ctx.now,
    dispute: DisputeStatus.Open,
    outcome: DisputeOutcome.None,
    openedAt: ctx.now,
    responseDeadline: deadline,
  };
  await ctx.store.put(entryKey(ctx, key), opened);
  await ctx.store.put(openKey(ctx, key), {});
  await ctx.store.put(OPEN_COUNT_KEY, ((await ctx.store.get<number>(OPEN_COUNT_KEY)) ?? 0) + 1);
  ctx.emit("DisputeOpened", { ...event, responseDeadline: deadline, noteDigest });
}

export async function resolveDispute(ctx: ReliefContext, input: Json): Promise<void> {
  const key = parsePayoutKey(object(input, "key"));
  const outcome = uint(input, "outcome", 8);
  const resolutionDigest = bytes32(input, "resolutionDigest");
  const e = await entryOf(ctx, key);
  if (e.dispute !== DisputeStatus.Open)
    refuse("LedgerNoOpenDispute", { caseId: key.caseId, period: key.period, eventId: key.eventId });
  await authorize(ctx, [Role.Approver], (await loadCase(ctx, key.caseId))?.region ?? 0n);
  if (![DisputeOutcome.PaymentProven, DisputeOutcome.Reissued, DisputeOutcome.Dismissed].includes(outcome)) {
    refuse("LedgerInvalidInput", { field: "outcome" });
  }
  if (resolutionDigest === ZERO32) refuse("LedgerInvalidInput", { field: "resolutionDigest" });
  e.dispute = DisputeStatus.Resolved;
  e.outcome = outcome;
  await ctx.store.put(entryKey(ctx, key), e);
  await closeDispute(ctx, key);
  ctx.emit("DisputeResolved", {
    caseId: key.caseId,
    eventId: key.eventId,
    period: key.period,
    outcome,
    resolutionDigest,
  });
}

export async function receiptOf(ctx: ReliefContext, input: Json): Promise<ReceiptRecord> {
  const e = await entryOf(ctx, parsePayoutKey(input));
  return { outcome: e.receipt, source: e.source, timestamp: e.receivedAt };
}

export async function disputeOf(ctx: ReliefContext, input: Json): Promise<DisputeRecord> {
  const e = await entryOf(ctx, parsePayoutKey(input));
  return { status: e.dispute, openedAt: e.openedAt, responseDeadline: e.responseDeadline, outcome: e.outcome };
}

export async function isOverdue(ctx: ReliefContext, input: Json): Promise<boolean> {
  const e = await entryOf(ctx, parsePayoutKey(input));
  return e.dispute === DisputeStatus.Open && ctx.now > e.responseDeadline;
}

export async function openDisputeCount(ctx: ReliefContext): Promise<number> {
  return (await ctx.store.get<number>(OPEN_COUNT_KEY)) ?? 0;
}

/** Open disputes, in key order (the EVM's `openDisputeAt` order is unspecified too). */
export async function openDisputes(ctx: ReliefContext): Promise<PayoutKey[]> {
  const out: PayoutKey[] = [];
  for await (const kv of ctx.store.scan("openDispute")) {
    out.push({ caseId: kv.attributes[0], period: Number(kv.attributes[1]), eventId: kv.attributes[2] });
  }
  return out;
}

export async function unconfirmedPayouts(ctx: ReliefContext, input: Json): Promise<PayoutKey[]> {
  const keys = await casePayoutKeys(ctx, bytes32(input, "caseId"));
  const out: PayoutKey[] = [];
  for (const k of keys) if ((await entryOf(ctx, k)).receipt !== ReceiptOutcome.Confirmed) out.push(k);
  return out;
}
