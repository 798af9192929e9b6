/**
 * The gateway's voucher tables (migration 003): its index of the vouchers the chain issued, the beneficiaries'
 * presentation codes, and the providers' redemptions. The chain is the authority on every amount and status; these
 * rows let the gateway list, scope and resume. No personal data: codes are keyed digests, beneficiaries keyed
 * pseudonyms, invoices keyed digests. Amounts are integer fen (`bigint`, decimal TEXT in the database).
 */
import type { CaseIndexRow } from "./gateway-types";

// ---- Vouchers ----------------------------------------------------------------------------------------------

export const VOUCHER_ROW_STATUSES = ["active", "exhausted", "expired"] as const;
export type VoucherRowStatus = (typeof VOUCHER_ROW_STATUSES)[number];

/** A voucher the chain issued (its id is its case id). */
export interface NewVoucherRow {
  voucherId: string;
  programmeId: number;
  regionCode: number;
  faceValue: bigint;
  /** Chain time, seconds. */
  expiresAt: number;
  txHash: string;
  blockNumber: number;
}

export interface VoucherRow extends NewVoucherRow {
  status: VoucherRowStatus;
  createdAt: Date;
  updatedAt: Date;
}

export interface VoucherQuery {
  programmeId?: number;
  status?: VoucherRowStatus;
  withinRegion?: number;
  /** Only vouchers whose `expiresAt` (seconds) is at most this. */
  expiresBy?: number;
  afterVoucherId?: string;
  limit?: number;
}

// ---- Presentation codes ------------------------------------------------------------------------------------

export const VOUCHER_CODE_STATUSES = ["open", "used", "replaced"] as const;
export type VoucherCodeStatus = (typeof VOUCHER_CODE_STATUSES)[number];

/** A beneficiary's one-time presentation code, stored only as its keyed digest. */
export interface NewVoucherCode {
  codeDigest: string;
  voucherId: string;
  pseudonym: string;
  maxAmount: bigint;
  expiresAt: Date;
}

export interface VoucherCodeRow extends NewVoucherCode {
  status: VoucherCodeStatus;
  /** The redemption that used it. */
  redemptionId: string | null;
  createdAt: Date;
  usedAt: Date | null;
}

// ---- Redemptions -------------------------------------------------------------------------------------------

/** `pending`: the code is used and the chain not yet known to have redeemed; then the chain's status. */
export const REDEMPTION_ROW_STATUSES = ["pending", "redeemed", "paid", "settled"] as const;
export type RedemptionRowStatus = (typeof REDEMPTION_ROW_STATUSES)[number];

export interface NewRedemptionRow {
  redemptionId: string;
  codeDigest: string;
  voucherId: string;
  programmeId: number;
  regionCode: number;
  providerId: string;
  amount: bigint;
  invoiceDigest: string;
  presentationDigest: string;
}

export interface RedemptionRow extends NewRedemptionRow {
  status: RedemptionRowStatus;
  /** The chain's index among the voucher's redemptions, once redeemed. */
  redemptionIndex: number | null;
  remaining: bigint | null;
  txHash: string | null;
  blockNumber: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface RedemptionQuery {
  providerId?: string;
  status?: RedemptionRowStatus;
  programmeId?: number;
  voucherId?: string;
  withinRegion?: number;
  /** Only rows last updated before this (the keeper's stale pending rows). */
  updatedBefore?: Date;
  afterRedemptionId?: string;
  limit?: number;
}

export interface RedemptionUpdate {
  status: RedemptionRowStatus;
  redemptionIndex?: number;
  remaining?: bigint;
  txHash?: string;
  blockNumber?: number;
}

/** The voucher tables. */
export interface VouchersData {
  /** Records vouchers the chain issued; an id that exists is left as it is. Returns how many were inserted. */
  putVouchers(vouchers: NewVoucherRow[]): Promise<number>;
  getVoucherRow(voucherId: string): Promise<VoucherRow | undefined>;
  /** By voucher id (default limit 100, at most 1,000). */
  listVoucherRows(query?: VoucherQuery): Promise<VoucherRow[]>;
  /** NOT_FOUND if there is none. */
  setVoucherStatus(voucherId: string, status: VoucherRowStatus): Promise<VoucherRow>;
  /** Indexed cases of the programme, approved or exiting, with no voucher row, by case id. */
  listCasesWithoutVoucher(query: {
    programmeId: number;
    afterCaseId?: string;
    limit?: number;
  }): Promise<CaseIndexRow[]>;

  /** Stores a code; the voucher's earlier open codes become `replaced`. CONFLICT if the digest exists. */
  putVoucherCode(code: NewVoucherCode): Promise<VoucherCodeRow>;
  getVoucherCode(codeDigest: string): Promise<VoucherCodeRow | undefined>;
  /**
   * Marks an open, unexpired (at `now`) code used by `redemptionId`. Returns false if it is not open or expired: of
   * concurrent users of one code, exactly one gets true.
   */
  useVoucherCode(codeDigest: string, redemptionId: string, now: Date): Promise<boolean>;
  /** A redemption refused before anything moved: its row is deleted and its code open again. */
  undoRedemption(redemptionId: string): Promise<void>;

  /** Status `pending`. CONFLICT if the id or the code digest has a redemption. */
  putRedemption(redemption: NewRedemptionRow): Promise<RedemptionRow>;
  getRedemption(redemptionId: string): Promise<RedemptionRow | undefined>;
  getRedemptionByKey(voucherId: string, index: number): Promise<RedemptionRow | undefined>;
  /** By redemption id (default limit 100, at most 1,000). */
  listRedemptions(query?: RedemptionQuery): Promise<RedemptionRow[]>;
  /** NOT_FOUND if there is none. */
  updateRedemption(redemptionId: string, update: RedemptionUpdate): Promise<RedemptionRow>;
}
