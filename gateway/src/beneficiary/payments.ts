/**
 * A beneficiary's payments (我的救助金), from the chain: every payout of every case under the session's pseudonym,
 * with its settlement, receipt and dispute state (`payoutStatus`, `receiptOf`, `disputeOf`), and approvers'
 * resolution of disputes.
 *
 * Status, most specific first: `pending` (an approved monthly entitlement for the current period that no run has paid
 * yet), `disputed` (the beneficiary reported it not received; see `dispute` for progress),
 * `confirmed` (a receipt confirms it), `settled` (the bank confirmed it), `paid` (paid on chain, awaiting
 * settlement), `failed` (the bank could not pay it; the money went back to the pool and it may be paid again).
 */
import { formatPeriod } from "../../../lib/periods";
import { DisputeOutcome, DisputeStatus, ReceiptOutcome } from "../../../lib/receipts";
import { CaseStatus, PayoutStatus } from "../../../lib/roles";
import type { BeneficiaryPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { MONTHLY, type PayoutKey, type PayoutState } from "../ledger";
import { parsePayoutId, payoutIdOf } from "../payouts/ids";
import { KIND_NAMES } from "../programmes/routes";
import type { CaseIndexRow } from "../store";

export type PaymentStatus = "pending" | "paid" | "settled" | "confirmed" | "disputed" | "failed";

export const DISPUTE_OUTCOME_NAMES: Record<DisputeOutcome, string | null> = {
  [DisputeOutcome.None]: null,
  [DisputeOutcome.PaymentProven]: "payment-proven",
  [DisputeOutcome.Reissued]: "reissued",
  [DisputeOutcome.Dismissed]: "dismissed",
  [DisputeOutcome.ResolvedByBeneficiary]: "resolved-by-beneficiary",
};

export interface PaymentView {
  payoutId: string;
  caseId: string;
  programmeId: number;
  /** The programme's kind (`monthly-gap`, `monthly-fixed`, …): what the beneficiary's page names the payment by. */
  programmeKind: string;
  /** "YYYY-MM" */
  period: string;
  eventId: string;
  /** Fen, decimal. */
  amount: string;
  status: PaymentStatus;
  receipt: { outcome: "confirmed" | "not-received"; at: string } | null;
  dispute: { status: "open" | "resolved"; openedAt: string; responseDeadline: string; outcome: string | null } | null;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The payment view of one payout key of `kase`. `fallbackAmount` is used when the chain no longer pays it. */
export async function paymentOf(
  ctx: GatewayContext,
  kase: CaseIndexRow,
  programmeKind: string,
  key: PayoutKey,
  fallback?: { amount: bigint; failed: boolean },
): Promise<PaymentView | undefined> {
  const [state, receipt, dispute] = await Promise.all([
    ctx.ledger.payoutStatus(key),
    ctx.ledger.receiptOf(key),
    ctx.ledger.disputeOf(key),
  ]);
  let status: PaymentStatus;
  if (dispute.status === DisputeStatus.Open) status = "disputed";
  else if (receipt.outcome === ReceiptOutcome.Confirmed) status = "confirmed";
  else if (dispute.status === DisputeStatus.Resolved) status = "disputed";
  else if (state.status === PayoutStatus.Settled) status = "settled";
  else if (state.status === PayoutStatus.Paid) status = "paid";
  else if (fallback?.failed) status = "failed";
  else return undefined;
  const amount = state.status === PayoutStatus.None ? (fallback?.amount ?? 0n) : state.amount;
  return {
    payoutId: payoutIdOf(key),
    caseId: kase.caseId,
    programmeId: kase.programmeId,
    programmeKind,
    period: formatPeriod(key.period),
    eventId: key.eventId,
    amount: String(amount),
    status,
    receipt:
      receipt.outcome === ReceiptOutcome.None
        ? null
        : {
            outcome: receipt.outcome === ReceiptOutcome.Confirmed ? "confirmed" : "not-received",
            at: iso(receipt.timestamp),
          },
    dispute:
      dispute.status === DisputeStatus.None
        ? null
        : {
            status: dispute.status === DisputeStatus.Open ? "open" : "resolved",
            openedAt: iso(dispute.openedAt),
            responseDeadline: iso(dispute.responseDeadline),
            outcome: DISPUTE_OUTCOME_NAMES[dispute.outcome] ?? null,
          },
  };
}

/** Every case of a pseudonym in the case index. */
export async function casesOf(ctx: GatewayContext, pseudonym: string): Promise<CaseIndexRow[]> {
  const out: CaseIndexRow[] = [];
  for (;;) {
    const page = await ctx.store.listCases({
      pseudonym,
      afterCaseId: out.length ? out[out.length - 1].caseId : undefined,
      limit: 1000,
    });
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** Every payout of every case of the beneficiary, newest period first. */
export async function listPayments(ctx: GatewayContext, who: BeneficiaryPrincipal): Promise<PaymentView[]> {
  const views: PaymentView[] = [];
  const kinds = new Map<number, string>();
  for (const kase of await casesOf(ctx, who.pseudonym)) {
    if (!kinds.has(kase.programmeId)) {
      kinds.set(kase.programmeId, KIND_NAMES[(await ctx.ledger.programme(kase.programmeId)).kind]);
    }
    const programmeKind = kinds.get(kase.programmeId)!;
    const keys = new Map<string, PayoutKey>();
    for (const key of await ctx.ledger.casePayouts(kase.caseId)) keys.set(payoutIdOf(key), key);
    // The gateway's own rows add payouts the chain no longer lists (failed ones, or outside its 32-period window).
    const rows = new Map(
      (await ctx.store.listPayouts({ caseId: kase.caseId, limit: 1000 })).map((r) => [r.payoutId, r]),
    );
    for (const row of rows.values()) {
      if (!keys.has(row.payoutId))
        keys.set(row.payoutId, { caseId: row.caseId, period: row.period, eventId: row.eventId });
    }
    const found = await Promise.all(
      [...keys.entries()].map(([id, key]) => {
        const row = rows.get(id);
        return paymentOf(ctx, kase, programmeKind, key, row && { amount: row.amount, failed: row.status === "failed" });
      }),
    );
    for (const v of found) if (v) views.push(v);
    const pending = await pendingOf(ctx, kase, programmeKind, keys);
    if (pending) views.push(pending);
  }
  return views.sort((a, b) =>
    a.period < b.period ? 1 : a.period > b.period ? -1 : a.payoutId.localeCompare(b.payoutId),
  );
}

/** Monthly kinds pay each period of an approved case's window; the current one is pending until a run pays it. */
const MONTHLY_KINDS = new Set(["monthly-gap", "monthly-fixed"]);
const DUE_STATUSES = new Set([CaseStatus.Approved, CaseStatus.Exiting]);

/** The current period's entitlement of `kase` if it is due and not yet paid (nor failed and listed in `known`). */
async function pendingOf(
  ctx: GatewayContext,
  kase: CaseIndexRow,
  programmeKind: string,
  known: ReadonlyMap<string, PayoutKey>,
): Promise<PaymentView | undefined> {
  if (!MONTHLY_KINDS.has(programmeKind)) return undefined;
  const [record, period] = await Promise.all([ctx.ledger.caseRecord(kase.caseId), ctx.ledger.currentPeriod()]);
  if (!record || !DUE_STATUSES.has(record.status)) return undefined;
  if (period < record.firstPeriod || period > record.lastPeriod) return undefined;
  const key: PayoutKey = { caseId: kase.caseId, period, eventId: MONTHLY };
  if (known.has(payoutIdOf(key))) return undefined;
  return {
    payoutId: payoutIdOf(key),
    caseId: kase.caseId,
    programmeId: kase.programmeId,
    programmeKind,
    period: formatPeriod(period),
    eventId: MONTHLY,
    amount: String(record.amount),
    status: "pending",
    receipt: null,
    dispute: null,
  };
}

export interface OwnedPayout {
  key: PayoutKey;
  payoutId: string;
  kase: CaseIndexRow;
  state: PayoutState;
}

/**
 * The payout `payoutId` if it belongs to a case of the beneficiary and the chain has it paid or settled. Another
 * beneficiary's payout is NOT_FOUND, exactly like one that does not exist.
 */
export async function ownedPayout(
  ctx: GatewayContext,
  who: BeneficiaryPrincipal,
  payoutId: string,
): Promise<OwnedPayout> {
  const key = parsePayoutId(payoutId);
  if (!key)
    throw new ApiError("VALIDATION_FAILED", "params.payoutId: is not a payout id", { field: "params.payoutId" });
  const kase = await ctx.store.getCase(key.caseId);
  if (!kase || kase.pseudonym !== who.pseudonym) throw new ApiError("NOT_FOUND", "no such payout");
  const state = await ctx.ledger.payoutStatus(key);
  return { key, payoutId: payoutIdOf(key), kase, state };
}

/** The case of a payout id, for institutions (NOT_FOUND if the gateway does not index it). */
export async function payoutCase(
  ctx: GatewayContext,
  payoutId: string,
): Promise<{ key: PayoutKey; kase: CaseIndexRow }> {
  const key = parsePayoutId(payoutId);
  if (!key)
    throw new ApiError("VALIDATION_FAILED", "params.payoutId: is not a payout id", { field: "params.payoutId" });
  const kase = await ctx.store.getCase(key.caseId);
  if (!kase) throw new ApiError("NOT_FOUND", "no such payout");
  return { key, kase };
}

export const RESOLUTION_OUTCOMES = {
  "payment-proven": DisputeOutcome.PaymentProven,
  reissued: DisputeOutcome.Reissued,
  dismissed: DisputeOutcome.Dismissed,
} as const;

/** An approver closes an open dispute on chain; the resolution text stays in the audit log, its digest on chain. */
export async function resolveDispute(
  ctx: GatewayContext,
  approver: string,
  key: PayoutKey,
  outcome: keyof typeof RESOLUTION_OUTCOMES,
  resolution: string,
): Promise<{ txHash: string; blockNumber: number }> {
  const dispute = await ctx.ledger.disputeOf(key);
  if (dispute.status !== DisputeStatus.Open) throw new ApiError("CONFLICT", "this payout has no open dispute");
  const resolutionDigest = ctx.keyring.digestSecret("dispute-resolution", resolution);
  const tx = await ctx.ledger.resolveDispute(approver, {
    key,
    outcome: RESOLUTION_OUTCOMES[outcome],
    resolutionDigest,
  });
  await ctx.store.appendAudit({
    actor: approver,
    action: "dispute.resolved",
    target: payoutIdOf(key),
    reason: resolution,
    details: { outcome, resolutionDigest, txHash: tx.txHash },
  });
  return tx;
}
