/**
 * The ledger's domain data, chain-neutral and defined once: what the gateway's `Ledger` (gateway/src/ledger/ledger.ts)
 * takes and returns, and what the chaincode (chaincode/src/) parses from its one JSON argument, stores and replies.
 * Nothing here names a chain library's types.
 *
 * - Ids and digests are 32-byte values as 0x-prefixed hex (`Bytes32`), lowercase as the ledgers return them.
 * - Amounts are integer fen as `bigint`; region codes are `bigint` (`lib/regions.ts`); periods (`lib/periods.ts`),
 *   programme ids, timestamps (seconds), anchor sequences and counts are `number`.
 * - On the Fabric wire (docs/FABRIC.md) the same shapes travel as JSON with bigints as decimal strings: {@link Wire}.
 */
import type { CaseStatus, PayoutStatus, Role, SkipReason } from "./roles";
import type { DisputeOutcome, DisputeStatus, ReceiptOutcome, ReceiptSource } from "./receipts";
import type { ProviderCategory, RedemptionStatus, VoucherKind, VoucherStatus } from "./vouchers";

export type { ProgrammeRule } from "./programmes";

/** A 32-byte id, digest or Merkle root: `0x` and 64 hex digits. */
export type Bytes32 = string;
/** A chain account: an institution's or a beneficiary's key. */
export type Account = string;

/** The event id of monthly payouts (`PayoutKey.eventId`). */
export const MONTHLY: Bytes32 = `0x${"0".repeat(64)}`;

// ---- Institutions ------------------------------------------------------------------------------------------

export interface InstitutionRegistration {
  account: Account;
  role: Role;
  region: bigint;
  /** SM3 digest of the institution's SM2 public key (SPKI DER). */
  keyDigest: Bytes32;
}

export interface Institution {
  /** `Role.None` for an unknown account. */
  role: Role;
  active: boolean;
  region: bigint;
  keyDigest: Bytes32;
}

// ---- Budget ------------------------------------------------------------------------------------------------

/** Funds moving between a region and the region directly above or below. */
export interface FundTransfer {
  fromRegion: bigint;
  toRegion: bigint;
  amount: bigint;
  referenceDigest: Bytes32;
}

/** Funds moving between a programme's region and its pool. */
export interface PoolTransfer {
  programmeId: number;
  amount: bigint;
  referenceDigest: Bytes32;
}

export interface FundTotals {
  appropriated: bigint;
  held: bigint;
  paidOut: bigint;
}

// ---- Cases -------------------------------------------------------------------------------------------------

export interface CaseSubmission {
  caseId: Bytes32;
  programmeId: number;
  region: bigint;
  /** Keyed SM3 digest of the resident ID number. */
  pseudonym: Bytes32;
  recordDigest: Bytes32;
}

/** What an approver enters; which fields count depends on the programme kind. */
export interface Assessment {
  householdSize: number;
  incomePerHead: bigint;
  amount: bigint;
}

export interface CaseReview {
  caseId: Bytes32;
  passed: boolean;
  reasonDigest: Bytes32;
}

export interface ObjectionResolution {
  caseId: Bytes32;
  objectionDigest: Bytes32;
  upheld: boolean;
  reasonDigest: Bytes32;
}

export interface CaseApproval {
  caseId: Bytes32;
  assessment: Assessment;
  /** The programme's current rule version: an approval under a rule that changed meanwhile is refused. */
  ruleVersion: Bytes32;
}

export interface CaseRecertification extends CaseApproval {
  recordDigest: Bytes32;
}

/** A decision on a case that only records its reason: reject, suspend, resume, exit. */
export interface CaseDecision {
  caseId: Bytes32;
  reasonDigest: Bytes32;
}

/** One entry of a batch of decisions (`decideCases`): an approval as `approveCase`, or a rejection as `rejectCase`. */
export type CaseVerdict = ({ approve: true } & CaseApproval) | ({ approve: false } & CaseDecision);

/** What an approval in a batch gave: as `approveCase` replies. */
export interface ApprovalOutcome {
  amount: bigint;
  firstPeriod: number;
  lastPeriod: number;
}

export interface CaseRecord {
  status: CaseStatus;
  programmeId: number;
  region: bigint;
  /** Per period (monthly kinds), the approved sum (temporary), per household (disaster), annual cap (medical). */
  amount: bigint;
  noticeEnds: number;
  firstPeriod: number;
  lastPeriod: number;
  paidThrough: number;
  /** Bit i: period `paidThrough − i` is paid. */
  paidMask: number;
  /** Bit i: period `paidThrough − i` is settled. */
  settledMask: number;
  openObjections: number;
  submitter: Account;
  /** The zero address when none is set. */
  beneficiaryKey: Account;
  pseudonym: Bytes32;
  recordDigest: Bytes32;
}

// ---- Payouts -----------------------------------------------------------------------------------------------

/** A payout: a monthly entitlement (`eventId` {@link MONTHLY}) or an event payout (bill or disaster id). */
export interface PayoutKey {
  caseId: Bytes32;
  /** Monthly payouts: the period paid; event payouts: the period in which it was paid. */
  period: number;
  eventId: Bytes32;
}

export interface PayoutRun {
  programmeId: number;
  period: number;
  caseIds: readonly Bytes32[];
  /** Cases per transaction (default: the adapter's); a chunk that would not fit a transaction is split. */
  chunkSize?: number;
}

export interface DisasterReliefRun {
  disasterId: Bytes32;
  caseIds: readonly Bytes32[];
  chunkSize?: number;
}

/** What a run did with one listed case, in the order the cases were listed. */
export type PayoutOutcome =
  { caseId: Bytes32; status: "paid"; amount: bigint } | { caseId: Bytes32; status: "skipped"; reason: SkipReason };

/** What a run, or one transaction of it, did. A run with no case listed reports programme and period 0. */
export interface PayoutRunSummary {
  programmeId: number;
  /** {@link MONTHLY} for a monthly run, the disaster id for a relief run. */
  eventId: Bytes32;
  period: number;
  outcomes: PayoutOutcome[];
  paid: number;
  skipped: number;
  /** Fen paid. */
  total: bigint;
}

export interface MedicalBill {
  billId: Bytes32;
  caseId: Bytes32;
  billAmount: bigint;
  billDigest: Bytes32;
}

export interface DisasterDeclaration {
  disasterId: Bytes32;
  programmeId: number;
  region: bigint;
  declarationDigest: Bytes32;
}

export interface SettlementBatch {
  bankRefDigest: Bytes32;
  keys: readonly PayoutKey[];
  /** Payouts per transaction (default: the adapter's). Each transaction is all or nothing. */
  chunkSize?: number;
}

export interface PayoutState {
  status: PayoutStatus;
  amount: bigint;
}

export interface Clawback {
  key: PayoutKey;
  amount: bigint;
  referenceDigest: Bytes32;
}

// ---- Receipts ----------------------------------------------------------------------------------------------

export interface ReceiptAttestation {
  key: PayoutKey;
  outcome: ReceiptOutcome.Confirmed | ReceiptOutcome.NotReceived;
  /** Digest of the beneficiary's SM2-signed receipt. */
  evidenceDigest: Bytes32;
}

export interface DisputeResolution {
  key: PayoutKey;
  outcome: DisputeOutcome.PaymentProven | DisputeOutcome.Reissued | DisputeOutcome.Dismissed;
  resolutionDigest: Bytes32;
}

export interface ReceiptRecord {
  outcome: ReceiptOutcome;
  source: ReceiptSource;
  timestamp: number;
}

export interface DisputeRecord {
  status: DisputeStatus;
  openedAt: number;
  responseDeadline: number;
  outcome: DisputeOutcome;
}

// ---- Vouchers (救助券, contracts/interfaces/IVoucherBook.sol) ----------------------------------------------------

/** How a programme of kind `Voucher` issues; set by an approver in the programme's region. */
export interface VoucherTerms {
  kind: VoucherKind;
  /** Bit mask of the {@link ProviderCategory} values that may redeem (`lib/vouchers.ts` `categoryMask`). */
  categories: number;
  /** Seconds from issue to expiry. */
  validity: number;
}

/** A case's voucher; its id is the case id (one voucher per case). */
export interface VoucherRecord {
  status: VoucherStatus;
  kind: VoucherKind;
  categories: number;
  programmeId: number;
  /** The programme's region: providers must lie inside it. */
  region: bigint;
  faceValue: bigint;
  remaining: bigint;
  issuedAt: number;
  expiresAt: number;
  redemptionCount: number;
}

/** The beneficiary presents a voucher to a provider (recorded by the gateway's anchorer). */
export interface VoucherPresentation {
  voucherId: Bytes32;
  provider: Account;
  maxAmount: bigint;
  /** Seconds; at most `MAX_PRESENTATION_SECONDS` ahead of the block. */
  expiresAt: number;
  presentationDigest: Bytes32;
}

export interface PresentationRecord {
  /** The zero address when there is no open presentation. */
  provider: Account;
  maxAmount: bigint;
  expiresAt: number;
  presentationDigest: Bytes32;
}

/** A presented provider redeems part or all of a voucher. */
export interface VoucherRedemption {
  voucherId: Bytes32;
  amount: bigint;
  invoiceDigest: Bytes32;
}

/** A redemption: the voucher and its index among the voucher's redemptions (from 0). */
export interface RedemptionKey {
  voucherId: Bytes32;
  index: number;
}

export interface RedemptionRecord {
  status: RedemptionStatus;
  provider: Account;
  amount: bigint;
  redeemedAt: number;
  invoiceDigest: Bytes32;
}

/** What an issuing run did with one listed case, in the order listed. */
export type VoucherIssueOutcome =
  | { caseId: Bytes32; status: "issued"; faceValue: bigint; expiresAt: number }
  | { caseId: Bytes32; status: "skipped"; reason: SkipReason };

/** Per voucher programme, fen: `issued == redeemed + expired + outstanding`. */
export interface VoucherTotals {
  issued: bigint;
  redeemed: bigint;
  expired: bigint;
  /** Paid to providers by the finance bureau (less failures reported back). */
  paid: bigint;
}

/** Re-exported so that model users need one import. */
export type { ProviderCategory };

// ---- Anchors -----------------------------------------------------------------------------------------------

export interface AnchorSubmission {
  /** The sequence number the anchor must get (`anchorCount()`): a retry of an anchored batch is refused. */
  expectedSequence: number;
  region: bigint;
  /** Merkle tree head of the batch (`lib/merkle.ts`). */
  root: Bytes32;
  recordCount: number;
  metadataDigest: Bytes32;
}

export interface AnchorRecord {
  root: Bytes32;
  firstRecordIndex: number;
  recordCount: number;
  region: bigint;
  anchoredAt: number;
  blockNumber: number;
}

/** A model type as JSON carries it (the chaincode's arguments, state and replies): bigints as decimal strings. */
export type Wire<T> = T extends bigint
  ? string
  : T extends readonly (infer E)[]
    ? Wire<E>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;
