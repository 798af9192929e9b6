/**
 * The gateway's ledger, in domain terms. One interface for every chain: the EVM adapter ({@link EvmLedger} in
 * `evm.ts`) implements it over JSON-RPC with ethers, and a Hyperledger Fabric adapter will implement it over the
 * Fabric gateway. Nothing here names a chain library's types.
 *
 * Conventions:
 * - The data types (ids, amounts, regions, periods) are lib/ledger-model.ts's, shared with the chaincode, and
 *   re-exported here.
 * - Every write names the acting institution (`actor`); the adapter holds that institution's chain key. A write
 *   resolves only once its transaction is in a block and succeeded; it rejects with a {@link LedgerError} when
 *   the contract refuses (its custom error name in `code`) and with a {@link LedgerUnavailableError} when the
 *   chain cannot be reached in time.
 */
import type { ProgrammeRule } from "../../../lib/programmes";
import type {
  Account,
  AnchorRecord,
  AnchorSubmission,
  ApprovalOutcome,
  Bytes32,
  CaseApproval,
  CaseDecision,
  CaseRecertification,
  CaseRecord,
  CaseReview,
  CaseSubmission,
  CaseVerdict,
  Clawback,
  DisasterDeclaration,
  DisasterReliefRun,
  DisputeRecord,
  DisputeResolution,
  FundTotals,
  FundTransfer,
  Institution,
  InstitutionRegistration,
  MedicalBill,
  ObjectionResolution,
  PayoutKey,
  PayoutRun,
  PayoutRunSummary,
  PayoutState,
  PoolTransfer,
  PresentationRecord,
  ProviderCategory,
  ReceiptAttestation,
  ReceiptRecord,
  RedemptionKey,
  RedemptionRecord,
  SettlementBatch,
  VoucherIssueOutcome,
  VoucherPresentation,
  VoucherRecord,
  VoucherRedemption,
  VoucherTerms,
  VoucherTotals,
} from "../../../lib/ledger-model";
import type { LedgerEvent } from "./events";

export * from "../../../lib/ledger-model";

/** The gateway's name for an institution it acts for (it holds that institution's chain key). */
export type ActorId = string;

/** A transaction in a block. */
export interface TxResult {
  txHash: string;
  blockNumber: number;
}

/** One transaction of a run. */
export interface PayoutRunTransaction extends TxResult {
  cases: number;
  paid: number;
  skipped: number;
  total: bigint;
}

/** A run's outcome: the whole run's summary and its transactions (a run with no case listed sends none). */
export interface PayoutRunResult extends PayoutRunSummary {
  transactions: PayoutRunTransaction[];
}

export interface EventQueryOptions {
  /** Fill in each event's block timestamp (one extra request per block unless the node returns it with logs). */
  timestamps?: boolean;
}

/** The ledger, chain-neutral. */
export interface Ledger extends VoucherLedger {
  /**
   * How many writes of one actor may be in flight at once and still land as sent: on the EVM ledger an actor's
   * transactions are ordered by nonce; on Fabric, transactions endorsed together that write the same keys (a pool,
   * the fund totals) invalidate each other (MVCC), so one at a time.
   */
  readonly writesInFlight: number;
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
  /**
   * Many cases in one transaction, each as {@link submitCase} would, in order; all or none: the first refusal is
   * thrown as that case's `LedgerError` and nothing is stored. Size a batch to the chain's gas cap (the submitter
   * sends 64, ~8.1 M gas on the EVM).
   */
  submitCases(actor: ActorId, submissions: readonly CaseSubmission[]): Promise<TxResult>;
  reviewCase(actor: ActorId, review: CaseReview): Promise<TxResult & { noticeEnds: number }>;
  /**
   * Many reviews in one transaction, each as {@link reviewCase} would, in order; all or none (the first refusal is
   * thrown as that case's `LedgerError`). Each review's notice end, in order (0 for a failed review).
   */
  reviewCases(actor: ActorId, reviews: readonly CaseReview[]): Promise<TxResult & { noticeEnds: number[] }>;
  raiseObjection(actor: ActorId, caseId: Bytes32, objectionDigest: Bytes32): Promise<TxResult>;
  resolveObjection(actor: ActorId, resolution: ObjectionResolution): Promise<TxResult>;
  approveCase(actor: ActorId, approval: CaseApproval): Promise<TxResult & ApprovalOutcome>;
  rejectCase(actor: ActorId, decision: CaseDecision): Promise<TxResult>;
  /**
   * Many approvals and rejections in one transaction, each as {@link approveCase} or {@link rejectCase} would, in
   * order; all or none (the first refusal is thrown as that case's `LedgerError`). What each approval gave, in
   * order (`null` for a rejection). On the EVM ledger, one `multicall` of the single calls.
   */
  decideCases(
    actor: ActorId,
    verdicts: readonly CaseVerdict[],
  ): Promise<TxResult & { outcomes: (ApprovalOutcome | null)[] }>;
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
  /**
   * Many failure reports in one transaction, each as {@link reportFailure} would, in order; all or none (the first
   * refusal is thrown as that payout's `LedgerError`). Each payout's amount, in order. On the EVM ledger, one
   * `multicall` of the single calls.
   */
  reportFailures(
    actor: ActorId,
    failures: readonly { key: PayoutKey; reasonDigest: Bytes32 }[],
  ): Promise<TxResult & { amounts: bigint[] }>;
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
  /** Every event of the five contracts (four before vouchers) in blocks `fromBlock..toBlock` (default: the latest), in chain order. */
  events(fromBlock: number, toBlock?: number, options?: EventQueryOptions): Promise<LedgerEvent[]>;

  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Assistance vouchers (救助券), contracts/interfaces/IVoucherBook.sol; on the EVM a fifth contract, the VoucherBook.
 * Writes follow the {@link Ledger} conventions; {@link Ledger} extends it (both adapters implement it).
 */
export interface VoucherLedger {
  /** Approver in the programme's region; the programme must be of kind `Voucher`. */
  setVoucherTerms(actor: ActorId, programmeId: number, terms: VoucherTerms): Promise<TxResult>;
  /** The administrator; `account` must be a registered `Provider` institution. */
  setProviderCategory(actor: ActorId, account: Account, category: ProviderCategory): Promise<TxResult>;
  /** Issues the listed cases' vouchers in chunks (anyone may call; the conditions authorise). */
  issueVouchers(
    actor: ActorId,
    caseIds: readonly Bytes32[],
    chunkSize?: number,
  ): Promise<{ outcomes: VoucherIssueOutcome[]; issued: number; total: bigint; transactions: TxResult[] }>;
  /** The gateway's anchorer, for a beneficiary who presented the voucher to `provider`. */
  presentVoucher(actor: ActorId, presentation: VoucherPresentation): Promise<TxResult>;
  /** The presented provider. */
  redeemVoucher(
    actor: ActorId,
    redemption: VoucherRedemption,
  ): Promise<TxResult & { index: number; remaining: bigint }>;
  /** A finance bureau in scope; one all-or-nothing transaction. */
  payRedemptions(actor: ActorId, keys: readonly RedemptionKey[]): Promise<TxResult & { total: bigint }>;
  /** The payment agent; one all-or-nothing transaction. */
  confirmRedemptionSettlements(
    actor: ActorId,
    bankRefDigest: Bytes32,
    keys: readonly RedemptionKey[],
  ): Promise<TxResult>;
  reportRedemptionFailure(actor: ActorId, key: RedemptionKey, reasonDigest: Bytes32): Promise<TxResult>;
  /** Returns expired vouchers' unused value to their pools (anyone may call). */
  expireVouchers(
    actor: ActorId,
    voucherIds: readonly Bytes32[],
  ): Promise<TxResult & { expired: number; returned: bigint }>;
  /** The programme's terms (`kind` None when unset). */
  voucherTerms(programmeId: number): Promise<VoucherTerms>;
  providerCategory(account: Account): Promise<ProviderCategory>;
  /** The voucher, or `null` if there is none. */
  voucher(voucherId: Bytes32): Promise<VoucherRecord | null>;
  presentation(voucherId: Bytes32): Promise<PresentationRecord>;
  /** The redemption, or `null` if there is none. */
  redemption(key: RedemptionKey): Promise<RedemptionRecord | null>;
  voucherTotals(programmeId: number): Promise<VoucherTotals>;
  /** Fen held for vouchers: outstanding value plus redemptions not yet paid. */
  voucherEscrow(): Promise<bigint>;
}
