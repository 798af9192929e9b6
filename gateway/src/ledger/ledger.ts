/**
 * The gateway's ledger, in domain terms. One interface for every chain: the EVM adapter ({@link EvmLedger} in
 * `evm.ts`) implements it over JSON-RPC with ethers, and a Hyperledger Fabric adapter will implement it over the
 * Fabric gateway. Nothing here names a chain library's types.
 *
 * Conventions:
 * - Ids and digests are 32-byte values as 0x-prefixed hex (`Bytes32`); the adapter returns them lowercase.
 * - Amounts are integer fen as `bigint`; region codes (GB/T 2260 plus township digits) are `bigint`, as in
 *   `lib/regions.ts`; periods (`year * 12 + month − 1`, China time), programme ids, timestamps (seconds), anchor
 *   sequences and counts are `number`.
 * - Every write names the acting institution (`actor`); the adapter holds that institution's chain key. A write
 *   resolves only once its transaction is in a block and succeeded; it rejects with a {@link LedgerError} when
 *   the contract refuses (its custom error name in `code`) and with a {@link LedgerUnavailableError} when the
 *   chain cannot be reached in time.
 */
import type { CaseStatus, PayoutStatus, Role, SkipReason } from "../../../lib/roles";
import type { DisputeOutcome, DisputeStatus, ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import type { ProgrammeRule } from "../../../lib/programmes";
import type { LedgerEvent } from "./events";

export type { ProgrammeRule } from "../../../lib/programmes";

/** A 32-byte id, digest or Merkle root: `0x` and 64 hex digits. */
export type Bytes32 = string;
/** A chain account: an institution's or a beneficiary's key. */
export type Account = string;
/** The gateway's name for an institution it acts for (it holds that institution's chain key). */
export type ActorId = string;

/** The event id of monthly payouts (`PayoutKey.eventId`). */
export const MONTHLY: Bytes32 = `0x${"0".repeat(64)}`;

/** A transaction in a block. */
export interface TxResult {
  txHash: string;
  blockNumber: number;
}

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

/** One transaction of a run. */
export interface PayoutRunTransaction extends TxResult {
  cases: number;
  paid: number;
  skipped: number;
  total: bigint;
}

/** A run's outcome. A run with no case listed sends nothing (a relief run then reports programme and period 0). */
export interface PayoutRunResult {
  programmeId: number;
  /** {@link MONTHLY} for a monthly run, the disaster id for a relief run. */
  eventId: Bytes32;
  period: number;
  outcomes: PayoutOutcome[];
  paid: number;
  skipped: number;
  /** Fen paid by the whole run. */
  total: bigint;
  transactions: PayoutRunTransaction[];
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

export interface EventQueryOptions {
  /** Fill in each event's block timestamp (one extra request per block unless the node returns it with logs). */
  timestamps?: boolean;
}

/** The ledger, chain-neutral. */
export interface Ledger {
  /** The chain account an actor signs as (to register it as an institution). */
  accountOf(actor: ActorId): Account;
  /** The actors whose keys this ledger holds. */
  actors(): ActorId[];

  // Institutions (the registry's administrator)
  registerInstitution(actor: ActorId, registration: InstitutionRegistration): Promise<TxResult>;
  setInstitutionActive(actor: ActorId, account: Account, active: boolean): Promise<TxResult>;
  rotateInstitutionKey(actor: ActorId, account: Account, keyDigest: Bytes32): Promise<TxResult>;
  pause(actor: ActorId): Promise<TxResult>;
  unpause(actor: ActorId): Promise<TxResult>;
  institution(account: Account): Promise<Institution>;
  isPaused(): Promise<boolean>;

  // Programmes (approvers)
  createProgramme(actor: ActorId, rule: ProgrammeRule): Promise<TxResult & { programmeId: number }>;
  updateProgrammeRule(actor: ActorId, programmeId: number, rule: ProgrammeRule): Promise<TxResult>;
  programme(programmeId: number): Promise<ProgrammeRule>;
  programmeCount(): Promise<number>;

  // Budget (finance bureaus)
  appropriate(actor: ActorId, amount: bigint, referenceDigest: Bytes32): Promise<TxResult>;
  allocate(actor: ActorId, transfer: FundTransfer): Promise<TxResult>;
  returnFunds(actor: ActorId, transfer: FundTransfer): Promise<TxResult>;
  fundProgramme(actor: ActorId, transfer: PoolTransfer): Promise<TxResult>;
  defundProgramme(actor: ActorId, transfer: PoolTransfer): Promise<TxResult>;
  recordClawback(actor: ActorId, clawback: Clawback): Promise<TxResult>;
  regionBalance(region: bigint): Promise<bigint>;
  poolBalance(programmeId: number): Promise<bigint>;
  programmePaidOut(programmeId: number): Promise<bigint>;
  fundTotals(): Promise<FundTotals>;
  clawedBack(key: PayoutKey): Promise<bigint>;

  // Cases (caseworkers and approvers)
  submitCase(actor: ActorId, submission: CaseSubmission): Promise<TxResult>;
  reviewCase(actor: ActorId, review: CaseReview): Promise<TxResult & { noticeEnds: number }>;
  raiseObjection(actor: ActorId, caseId: Bytes32, objectionDigest: Bytes32): Promise<TxResult>;
  resolveObjection(actor: ActorId, resolution: ObjectionResolution): Promise<TxResult>;
  approveCase(
    actor: ActorId,
    approval: CaseApproval,
  ): Promise<TxResult & { amount: bigint; firstPeriod: number; lastPeriod: number }>;
  rejectCase(actor: ActorId, decision: CaseDecision): Promise<TxResult>;
  suspendCase(actor: ActorId, decision: CaseDecision): Promise<TxResult>;
  resumeCase(actor: ActorId, decision: CaseDecision): Promise<TxResult>;
  recertifyCase(
    actor: ActorId,
    recertification: CaseRecertification,
  ): Promise<TxResult & { amount: bigint; lastPeriod: number }>;
  exitCase(actor: ActorId, decision: CaseDecision): Promise<TxResult & { lastPeriod: number }>;
  setBeneficiaryKey(actor: ActorId, caseId: Bytes32, key: Account): Promise<TxResult>;
  /** The case, or `null` if there is none. */
  caseRecord(caseId: Bytes32): Promise<CaseRecord | null>;
  caseCount(): Promise<number>;

  // Payouts
  /** Runs the monthly payouts of `run.caseIds` in chunks, one transaction each, in order. */
  executePayouts(actor: ActorId, run: PayoutRun): Promise<PayoutRunResult>;
  certifyMedicalBill(actor: ActorId, bill: MedicalBill): Promise<TxResult & { amount: bigint; period: number }>;
  declareDisaster(actor: ActorId, declaration: DisasterDeclaration): Promise<TxResult>;
  payDisasterRelief(actor: ActorId, run: DisasterReliefRun): Promise<PayoutRunResult>;
  /** Confirms settlements in chunks, one all-or-nothing transaction each, in order. */
  confirmSettlements(actor: ActorId, batch: SettlementBatch): Promise<{ transactions: TxResult[] }>;
  reportFailure(actor: ActorId, key: PayoutKey, reasonDigest: Bytes32): Promise<TxResult & { amount: bigint }>;
  payoutStatus(key: PayoutKey): Promise<PayoutState>;
  casePayouts(caseId: Bytes32): Promise<PayoutKey[]>;
  /** The period of the chain's latest block. */
  currentPeriod(): Promise<number>;

  // Receipts (the gateway's anchorer attests; approvers resolve disputes)
  attestReceipt(actor: ActorId, attestation: ReceiptAttestation): Promise<TxResult>;
  resolveDispute(actor: ActorId, resolution: DisputeResolution): Promise<TxResult>;
  receiptOf(key: PayoutKey): Promise<ReceiptRecord>;
  disputeOf(key: PayoutKey): Promise<DisputeRecord>;

  // Anchors (the gateway's anchorer)
  anchor(
    actor: ActorId,
    submission: AnchorSubmission,
  ): Promise<TxResult & { sequence: number; firstRecordIndex: number }>;
  anchorCount(): Promise<number>;
  totalRecords(): Promise<number>;
  /** Anchor `sequence`; rejects with `LedgerUnknownAnchor` if there is none. */
  anchorAt(sequence: number): Promise<AnchorRecord>;
  /** Whether the chain accepts `proof` for leaf `index` (counted from the batch's first record) of anchor `sequence`. */
  verifyInclusion(sequence: number, index: number, recordDigest: Bytes32, proof: readonly Bytes32[]): Promise<boolean>;

  // The event stream
  /** The latest block number. */
  blockNumber(): Promise<number>;
  /** Every event of the four contracts in blocks `fromBlock..toBlock` (default: the latest), in chain order. */
  events(fromBlock: number, toBlock?: number, options?: EventQueryOptions): Promise<LedgerEvent[]>;

  /** Releases connections. */
  close(): Promise<void>;
}
