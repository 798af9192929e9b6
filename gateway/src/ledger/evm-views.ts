/**
 * The contracts' view results in the ledger's types: one decoder per view, used by the adapter (`evm.ts`) and by the
 * auditor's read-only chain view at a past block (`audit/chain-view.ts`).
 */
import { getAddress, type Result } from "ethers";
import type { CaseStatus, PayoutStatus } from "../../../lib/roles";
import type { ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import type { ProviderCategory, RedemptionStatus, VoucherKind, VoucherStatus } from "../../../lib/vouchers";
import type {
  AnchorRecord,
  CaseRecord,
  PayoutKey,
  PayoutState,
  PresentationRecord,
  ReceiptRecord,
  RedemptionKey,
  RedemptionRecord,
  VoucherRecord,
  VoucherTerms,
  VoucherTotals,
} from "../../../lib/ledger-model";

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

/** A redemption key as the voucher book's `RedemptionKey` tuple. */
export function redemptionKeyTuple(key: RedemptionKey): { voucherId: string; index: number } {
  return { voucherId: key.voucherId, index: key.index };
}

/** `VoucherBook.voucherTerms` (kind None when unset). */
export function decodeVoucherTerms(t: Result): VoucherTerms {
  return { kind: num(t.kind) as VoucherKind, categories: num(t.categories), validity: num(t.validity) };
}

/** `VoucherBook.providerCategory`. */
export function decodeProviderCategory(c: unknown): ProviderCategory {
  return num(c) as ProviderCategory;
}

/** `VoucherBook.voucher`; null for a voucher that does not exist (status None). */
export function decodeVoucher(v: Result): VoucherRecord | null {
  if (num(v.status) === 0) return null;
  return {
    status: num(v.status) as VoucherStatus,
    kind: num(v.kind) as VoucherKind,
    categories: num(v.categories),
    programmeId: num(v.programmeId),
    region: big(v.region),
    faceValue: big(v.faceValue),
    remaining: big(v.remaining),
    issuedAt: num(v.issuedAt),
    expiresAt: num(v.expiresAt),
    redemptionCount: num(v.redemptionCount),
  };
}

/** `VoucherBook.presentation` (the zero address as provider when none is open). */
export function decodePresentation(p: Result): PresentationRecord {
  return {
    provider: getAddress(p.provider),
    maxAmount: big(p.maxAmount),
    expiresAt: num(p.expiresAt),
    presentationDigest: hex(p.presentationDigest),
  };
}

/** `VoucherBook.redemption`; null for a redemption that does not exist (status None). */
export function decodeRedemption(r: Result): RedemptionRecord | null {
  if (num(r.status) === 0) return null;
  return {
    status: num(r.status) as RedemptionStatus,
    provider: getAddress(r.provider),
    amount: big(r.amount),
    redeemedAt: num(r.redeemedAt),
    invoiceDigest: hex(r.invoiceDigest),
  };
}

/** `VoucherBook.voucherTotals`. */
export function decodeVoucherTotals([issued, redeemed, expired, paid]: Result): VoucherTotals {
  return { issued: big(issued), redeemed: big(redeemed), expired: big(expired), paid: big(paid) };
}
