/**
 * The contracts' view results in the ledger's types: one decoder per view, used by the adapter (`evm.ts`) and by the
 * auditor's read-only chain view at a past block (`audit/chain-view.ts`).
 */
import { getAddress, type Result } from "ethers";
import type { CaseStatus, PayoutStatus } from "../../../lib/roles";
import type { ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import type { AnchorRecord, CaseRecord, PayoutKey, PayoutState, ReceiptRecord } from "../../../lib/ledger-model";

export const num = (v: unknown): number => Number(v as bigint);
export const big = (v: unknown): bigint => BigInt(v as bigint);
export const hex = (v: unknown): string => String(v).toLowerCase();

/** A payout key as the contracts' `PayoutKey` tuple. */
export function payoutKeyTuple(key: PayoutKey): [string, number, string] {
  return [key.caseId, key.period, key.eventId];
}

/** `Cases.caseRecord`; null for a case that does not exist (status 0). */
export function decodeCaseRecord(c: Result): CaseRecord | null {
  if (num(c.status) === 0) return null;
  return {
    status: num(c.status) as CaseStatus,
    programmeId: num(c.programmeId),
    region: big(c.region),
    amount: big(c.amount),
    noticeEnds: num(c.noticeEnds),
    firstPeriod: num(c.firstPeriod),
    lastPeriod: num(c.lastPeriod),
    paidThrough: num(c.paidThrough),
    paidMask: num(c.paidMask),
    settledMask: num(c.settledMask),
    openObjections: num(c.openObjections),
    submitter: getAddress(c.submitter),
    beneficiaryKey: getAddress(c.beneficiaryKey),
    pseudonym: hex(c.pseudonym),
    recordDigest: hex(c.recordDigest),
  };
}

/** `Payouts.casePayouts`. */
export function decodePayoutKeys(keys: Result): PayoutKey[] {
  return [...keys].map((k) => ({ caseId: hex(k.caseId), period: num(k.period), eventId: hex(k.eventId) }));
}

/** `Payouts.payoutStatus`. */
export function decodePayoutState([status, amount]: Result): PayoutState {
  return { status: num(status) as PayoutStatus, amount: big(amount) };
}

/** `ReceiptBook.receiptOf`. */
export function decodeReceipt(r: Result): ReceiptRecord {
  return {
    outcome: num(r.outcome) as ReceiptOutcome,
    source: num(r.source) as ReceiptSource,
    timestamp: num(r.timestamp),
  };
}

/** `AnchorLog.anchorAt`. */
export function decodeAnchor(a: Result): AnchorRecord {
  return {
    root: hex(a.root),
    firstRecordIndex: num(a.firstRecordIndex),
    recordCount: num(a.recordCount),
    region: big(a.region),
    anchoredAt: num(a.anchoredAt),
    blockNumber: num(a.blockNumber),
  };
}
