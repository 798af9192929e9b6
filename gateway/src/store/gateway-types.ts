/**
 * The rows of the gateway's own tables (migration 002): the institutions it acts for and their API keys, the index of
 * cases it took in, payout runs and the payouts they made, beneficiaries' one-time codes and sessions, and receipts.
 * None of them holds personal data: cases are indexed by id, region, programme and keyed pseudonym only; codes, tokens
 * and API key secrets are stored as keyed digests, never in the clear. Amounts are integer fen as decimal strings
 * (they can exceed 2^53 in totals) and `bigint` in these types.
 */
import type { JsonValue } from "./types";

// ---- Institutions and API keys -----------------------------------------------------------------------------

/** An institution the gateway acts for: its ledger actor id, role, region and chain account. */
export interface NewInstitution {
  /** Ledger actor id and key-holder id: lowercase letters, digits, `-` and `_`, 1–64 characters. */
  id: string;
  /** Display name, e.g. "朝陽區民政局"; an institution's name is not personal data. */
  name: string;
  /** `Role` of lib/roles.ts (1..8). */
  role: number;
  /** GB/T 2260 or 12-digit division code; 0 is central. */
  regionCode: number;
  /** Checksummed 0x address of its chain key. */
  account: string;
}

export interface InstitutionRow extends NewInstitution {
  active: boolean;
  createdAt: Date;
}

/** An API key: `keyId` is public (it is in the token), the secret only as a keyed digest. */
export interface NewApiKey {
  keyId: string;
  /** The institution it acts as; null for the administrator's keys. */
  institutionId: string | null;
  /** HMAC-SM3 of the secret under the gateway's token key, 0x-hex. */
  secretDigest: string;
  label?: string | null;
}

export interface ApiKeyRow extends Required<NewApiKey> {
  createdAt: Date;
  revokedAt: Date | null;
}

// ---- Cases -------------------------------------------------------------------------------------------------

/**
 * The gateway's last known view of a case's chain status (lower-case names of `CaseStatus`), and `pending-chain`:
 * taken in and stored, not yet on chain (gateway/src/cases/submitter.ts retries).
 */
export const CASE_INDEX_STATUSES = [
  "pending-chain",
  "submitted",
  "in-notice",
  "approved",
  "suspended",
  "exiting",
  "rejected",
] as const;
export type CaseIndexStatus = (typeof CASE_INDEX_STATUSES)[number];

export interface NewCaseIndex {
  /** bytes32 0x-hex, the case id on chain. */
  caseId: string;
  programmeId: number;
  regionCode: number;
  /** Keyed SM3 pseudonym of the applicant's resident ID number (0x-hex). */
  pseudonym: string;
  /** Institution id of the caseworker who took the application. */
  submitter: string;
  /** The record whose digest is the case's `recordDigest` on chain. */
  applicationRecordId: string;
  status: CaseIndexStatus;
}

export interface CaseIndexRow extends NewCaseIndex {
  createdAt: Date;
  updatedAt: Date;
}

export interface CaseQuery {
  /** Cases whose region is inside this one (its subtree, by division code prefix). */
  withinRegion?: number;
  programmeId?: number;
  status?: CaseIndexStatus;
  pseudonym?: string;
  /** Cases whose caseId sorts after this one (paging); results are ordered by caseId. */
  afterCaseId?: string;
  /** Default 100, at most 1,000. */
  limit?: number;
}

// ---- Payout runs and payouts -------------------------------------------------------------------------------

export const PAYOUT_RUN_STATUSES = ["pending", "running", "completed", "failed"] as const;
export type PayoutRunStatus = (typeof PAYOUT_RUN_STATUSES)[number];
export const PAYOUT_RUN_KINDS = ["monthly", "disaster"] as const;
export type PayoutRunKind = (typeof PAYOUT_RUN_KINDS)[number];

export interface NewPayoutRun {
  runId: string;
  /** Institution that started it. */
  actor: string;
  kind: PayoutRunKind;
  programmeId: number;
  period: number;
  /** bytes32: zero for monthly runs, the disaster id for relief runs. */
  eventId: string;
  /** The region whose cases the run covers. */
  regionCode: number;
}

export interface PayoutRunRow extends NewPayoutRun {
  status: PayoutRunStatus;
  /** Cases listed, paid, skipped. */
  listed: number;
  paid: number;
  skipped: number;
  /** Fen paid by the run so far. */
  total: bigint;
  /** Outcome details (transactions, skip reasons by count): ids, counts, codes only. */
  result: JsonValue;
  /** A stable error code if the run failed. */
  errorCode: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const PAYOUT_ROW_STATUSES = ["paid", "settled", "failed"] as const;
export type PayoutRowStatus = (typeof PAYOUT_ROW_STATUSES)[number];

/** A payout the chain made, as the gateway recorded it from a run's or an event's transaction. */
export interface NewPayout {
  /** `caseId:period:eventId` (see gateway/src/payouts/ids.ts). */
  payoutId: string;
  caseId: string;
  period: number;
  eventId: string;
  programmeId: number;
  regionCode: number;
  amount: bigint;
  runId: string | null;
  txHash: string;
  blockNumber: number;
}

export interface PayoutRow extends NewPayout {
  status: PayoutRowStatus;
  /** Digest of the bank reference of the settlement or failure report. */
  bankRefDigest: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface PayoutQuery {
  caseId?: string;
  withinRegion?: number;
  programmeId?: number;
  period?: number;
  status?: PayoutRowStatus;
  runId?: string;
  afterPayoutId?: string;
  limit?: number;
}

// ---- Beneficiary access and receipts -----------------------------------------------------------------------

/** A one-time sign-in code issued for a beneficiary (by pseudonym), stored as a keyed digest. */
export interface BeneficiaryCodeRow {
  pseudonym: string;
  codeDigest: string;
  expiresAt: Date;
  /** Failed attempts since the code was issued. */
  failures: number;
  lockedUntil: Date | null;
  createdAt: Date;
}

export interface BeneficiarySessionRow {
  /** Keyed digest of the session token. */
  tokenDigest: string;
  pseudonym: string;
  expiresAt: Date;
  createdAt: Date;
}

export const RECEIPT_ROW_OUTCOMES = ["confirmed", "not-received"] as const;
export type ReceiptRowOutcome = (typeof RECEIPT_ROW_OUTCOMES)[number];

/** A receipt the gateway signed for a beneficiary and attested on chain. */
export interface NewReceipt {
  payoutId: string;
  caseId: string;
  outcome: ReceiptRowOutcome;
  /** The record that holds the receipt (its digest is anchored). */
  recordId: string;
  /** The canonical receipt JSON (no personal data). */
  receiptJson: string;
  /** The gateway's SM2 signature over `receiptJson`'s UTF-8 bytes, DER, base64. */
  signature: string;
  /** The attestation transaction, once sent. */
  txHash: string | null;
}

export interface ReceiptRow extends NewReceipt {
  createdAt: Date;
}
