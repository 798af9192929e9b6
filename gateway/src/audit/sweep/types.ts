/**
 * The audit sweep's vocabulary, shared by its four checks (records against anchors, the fund trail, the voucher
 * books, the lifecycle of cases and payouts), its report and the offline verifier. An exception names what is wrong, where (case, record,
 * payout, anchor) and the chain transaction that proves it; it never carries personal data.
 */

/** What a sweep covers; every field optional (absent = everything). */
export interface SweepScope {
  /** Cases, records and funds inside this region's subtree (GB/T 2260 / 12-digit code; 0n is central). */
  region?: bigint;
  programmeId?: number;
  /** A period (`year * 12 + month − 1`, China time). */
  period?: number;
}

/** Kinds of exception, stable: tests, reports and clients branch on them. */
export type ExceptionKind =
  // records against anchors
  | "record-modified"
  | "record-deleted"
  | "record-inserted"
  | "records-swapped"
  | "anchor-missing"
  | "anchor-root-mismatch"
  | "proof-mismatch"
  /** Warning: records queued for anchoring longer than the sweep's threshold (one per sweep, with the count). */
  | "anchoring-overdue"
  // funds
  | "conservation-broken"
  | "balance-mismatch"
  // vouchers (./vouchers.ts)
  | "voucher-conservation-broken"
  | "voucher-remaining-mismatch"
  | "redemption-after-expiry"
  // lifecycle
  | "payout-without-approval"
  | "payout-while-suspended"
  | "payout-after-exit"
  | "payout-amount-mismatch"
  | "period-paid-twice"
  | "settlement-without-payout"
  | "payout-unsettled"
  | "receipt-missing"
  | "dispute-open"
  | "dispute-overdue";

export interface SweepException {
  kind: ExceptionKind;
  /** error: the books or the records are wrong; warning: something is late or open. */
  severity: "error" | "warning";
  caseId?: string;
  recordId?: string;
  payoutId?: string;
  anchorSequence?: number;
  /** Leaf index inside the anchor (records checks). */
  leafIndex?: number;
  programmeId?: number;
  period?: number;
  region?: string;
  /** The chain transaction that proves the exception (or the last one involved). */
  txHash?: string;
  blockNumber?: number;
  /** One sentence, ids and amounts only. */
  detail: string;
}

/** Progress of a long sweep, reported as it goes. */
export interface SweepProgress {
  phase: "records" | "funds" | "lifecycle" | "report";
  done: number;
  /** Known total, if the phase knows it up front. */
  total?: number;
}

export type ProgressListener = (progress: SweepProgress) => void;
