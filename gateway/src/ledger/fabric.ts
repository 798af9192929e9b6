/**
 * The Hyperledger Fabric adapter of {@link Ledger}: every method is one chaincode transaction named as the method,
 * with one JSON argument (fabric-codec.ts), sent through the acting institution's {@link FabricTransport}.
 *
 * - Writes are submitted and resolve once committed valid; queries are evaluated on a peer.
 * - Batch methods (payout runs, relief runs, settlements) are sent in chunks, one transaction each and in order,
 *   exactly as the EVM adapter does; a failure carries the transactions already committed.
 * - `RL:<CustomErrorName>` refusals become {@link LedgerError}s with the Solidity contracts' error names; an
 *   unreachable peer or a passed deadline becomes a {@link LedgerUnavailableError} (fabric-errors.ts).
 * - Retries: a transaction invalidated by an MVCC or phantom read conflict changed nothing and is endorsed again;
 *   so is one whose endorsement could not reach a peer (nothing was ordered). A failure after the transaction went
 *   to the orderer is reported with its transaction id, never re-sent blindly.
 */
import type { SkipReason, CaseStatus, PayoutStatus, Role } from "../../../lib/roles";
import type { DisputeOutcome, DisputeStatus, ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import { chunks, emptyRun, withDefaults } from "./adapter-kit";
import { LedgerConfigError, LedgerError, LedgerUnavailableError } from "./errors";
import type { LedgerEvent } from "./events";
import { Fields, decodeChaincodeEvents, decodeReply, encodeArg, toAccount, toBigint, toNumber } from "./fabric-codec";
import { classifyFabricError, ledgerErrorOf, type FabricPhase } from "./fabric-errors";
import type { FabricTransport } from "./fabric-transport";
import {
  addIssues,
  presentationOf,
  redemptionArg,
  redemptionOf,
  voucherOf,
  voucherTermsOf,
  voucherTotalsOf,
  type IssueResult,
} from "./fabric-vouchers";
import {
  MONTHLY,
  type Account,
  type ActorId,
  type AnchorRecord,
  type AnchorSubmission,
  type Bytes32,
  type CaseApproval,
  type CaseDecision,
  type CaseRecertification,
  type CaseRecord,
  type CaseReview,
  type CaseSubmission,
  type CaseVerdict,
  type ApprovalOutcome,
  type Clawback,
  type DisasterDeclaration,
  type DisasterReliefRun,
  type DisputeRecord,
  type DisputeResolution,
  type EventQueryOptions,
  type FundTotals,
  type FundTransfer,
  type Institution,
  type InstitutionRegistration,
  type Ledger,
  type MedicalBill,
  type ObjectionResolution,
  type PayoutKey,
  type PayoutOutcome,
  type PayoutRun,
  type PayoutRunResult,
  type PayoutState,
  type PoolTransfer,
  type PresentationRecord,
  type ProgrammeRule,
  type ProviderCategory,
  type ReceiptAttestation,
  type ReceiptRecord,
  type RedemptionKey,
  type RedemptionRecord,
  type SettlementBatch,
  type TxResult,
  type VoucherLedger,
  type VoucherPresentation,
  type VoucherRecord,
  type VoucherRedemption,
  type VoucherTerms,
  type VoucherTotals,
} from "./ledger";

export interface FabricLedgerOptions {
  /** One transport per institution identity, by actor id. */
  actors: Readonly<Record<ActorId, FabricTransport>>;
  /** The transport queries and the event stream go through (default: the first actor's). */
  reader?: FabricTransport;
  /** Cases per payout transaction. */
  payoutChunkSize?: number;
  /** Payouts per settlement transaction. */
  settlementChunkSize?: number;
  /** How many times a transaction is endorsed again after a read conflict or an unreachable endorser. */
  retries?: number;
  /** The first pause before a retry, ms (doubled each time). */
  retryBackoffMs?: number;
}

/** Chunks smaller than on EVM: every endorsing peer simulates the whole chunk, and Fabric caps a block's bytes. */
export const FABRIC_DEFAULTS = {
  payoutChunkSize: 200,
  settlementChunkSize: 200,
  retries: 3,
  retryBackoffMs: 50,
} as const;

type Settings = Required<Omit<FabricLedgerOptions, "actors" | "reader">>;

interface Context {
  operation: string;
  actor?: ActorId;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const key = (k: PayoutKey) => ({ caseId: k.caseId, eventId: k.eventId, period: k.period });

export class FabricLedger implements Ledger, VoucherLedger {
  readonly writesInFlight = 1;
  readonly #settings: Settings;
  readonly #actors = new Map<ActorId, FabricTransport>();
  readonly #reader: FabricTransport;
  /** Block numbers of anchors seen committed (the chaincode cannot know its own block). */
  readonly #anchorBlocks = new Map<number, number>();
  #anchorsScannedTo = -1;

  constructor(options: FabricLedgerOptions) {
    this.#settings = withDefaults(FABRIC_DEFAULTS, options) as Settings;
    for (const [actor, transport] of Object.entries(options.actors)) this.#actors.set(actor, transport);
    const reader = options.reader ?? this.#actors.values().next().value;
    if (!reader) throw new LedgerConfigError("the Fabric ledger needs at least one actor identity");
    this.#reader = reader;
  }

  /**
   * Checks that the peer answers and the chaincode is committed on the channel: rejects with a
   * {@link LedgerUnavailableError} if the peer cannot be reached, a {@link LedgerConfigError} (or a `LedgerError`
   * from the chaincode) otherwise.
   */
  async connect(): Promise<void> {
    await this.blockNumber();
    await this.programmeCount();
  }

  /** Checksummed, as the EVM adapter's accounts and this adapter's decoded events are. */
  accountOf(actor: ActorId): Account {
    return toAccount(this.#transport(actor, "accountOf").account, "accountOf");
  }

  actors(): ActorId[] {
    return [...this.#actors.keys()];
  }

  async close(): Promise<void> {
    const all = new Set([this.#reader, ...this.#actors.values()]);
    await Promise.all([...all].map((t) => t.close()));
  }

  // ---- Institutions ----------------------------------------------------------------------------------------

  async registerInstitution(actor: ActorId, r: InstitutionRegistration): Promise<TxResult> {
    return this.#tx("registerInstitution", actor, r);
  }

  async setInstitutionActive(actor: ActorId, account: Account, active: boolean): Promise<TxResult> {
    return this.#tx("setInstitutionActive", actor, { account, active });
  }

  async rotateInstitutionKey(actor: ActorId, account: Account, keyDigest: Bytes32): Promise<TxResult> {
    return this.#tx("rotateInstitutionKey", actor, { account, keyDigest });
  }

  async pause(actor: ActorId): Promise<TxResult> {
    return this.#tx("pause", actor, {});
  }

  async unpause(actor: ActorId): Promise<TxResult> {
    return this.#tx("unpause", actor, {});
  }

  async institution(account: Account): Promise<Institution> {
    const reply = await this.#query("institution", { account });
    if (reply === null) return { role: 0 as Role, active: false, region: 0n, keyDigest: `0x${"0".repeat(64)}` };
    const f = Fields.of(reply, "institution");
    return {
      role: f.num("role") as Role,
      active: f.bool("active"),
      region: f.big("region"),
      keyDigest: f.hex("keyDigest"),
    };
  }

  async isPaused(): Promise<boolean> {
    return Boolean(await this.#query("isPaused", {}));
  }

  // ---- Programmes ------------------------------------------------------------------------------------------

  async createProgramme(actor: ActorId, rule: ProgrammeRule): Promise<TxResult & { programmeId: number }> {
    const { tx, reply } = await this.#send("createProgramme", actor, rule);
    return { ...tx, programmeId: Fields.of(reply, "createProgramme").num("programmeId") };
  }

  async updateProgrammeRule(actor: ActorId, programmeId: number, rule: ProgrammeRule): Promise<TxResult> {
    return this.#tx("updateProgrammeRule", actor, { programmeId, rule });
  }

  async programme(programmeId: number): Promise<ProgrammeRule> {
    const f = Fields.of(await this.#query("programme", { programmeId }), "programme");
    return {
      kind: f.num("kind"),
      region: f.big("region"),
      amount: f.big("amount"),
      deductible: f.big("deductible"),
      ratioBps: f.num("ratioBps"),
      validityMonths: f.num("validityMonths"),
      exitPeriods: f.num("exitPeriods"),
      noticePeriod: f.num("noticePeriod"),
      disputeWindow: f.num("disputeWindow"),
      exclusionGroup: f.num("exclusionGroup"),
      ruleVersion: f.hex("ruleVersion"),
    };
  }

  async programmeCount(): Promise<number> {
    return this.#number("programmeCount", {});
  }

  // ---- Budget ----------------------------------------------------------------------------------------------

  async appropriate(actor: ActorId, amount: bigint, referenceDigest: Bytes32): Promise<TxResult> {
    return this.#tx("appropriate", actor, { amount, referenceDigest });
  }

  async allocate(actor: ActorId, t: FundTransfer): Promise<TxResult> {
    return this.#tx("allocate", actor, t);
  }

  async returnFunds(actor: ActorId, t: FundTransfer): Promise<TxResult> {
    return this.#tx("returnFunds", actor, t);
  }

  async fundProgramme(actor: ActorId, t: PoolTransfer): Promise<TxResult> {
    return this.#tx("fundProgramme", actor, t);
  }

  async defundProgramme(actor: ActorId, t: PoolTransfer): Promise<TxResult> {
    return this.#tx("defundProgramme", actor, t);
  }

  async recordClawback(actor: ActorId, c: Clawback): Promise<TxResult> {
    return this.#tx("recordClawback", actor, { key: key(c.key), amount: c.amount, referenceDigest: c.referenceDigest });
  }

  async regionBalance(region: bigint): Promise<bigint> {
    return this.#bigint("regionBalance", { region });
  }

  async poolBalance(programmeId: number): Promise<bigint> {
    return this.#bigint("poolBalance", { programmeId });
  }

  async programmePaidOut(programmeId: number): Promise<bigint> {
    return this.#bigint("programmePaidOut", { programmeId });
  }

  async fundTotals(): Promise<FundTotals> {
    const f = Fields.of(await this.#query("fundTotals", {}), "fundTotals");
    return { appropriated: f.big("appropriated"), held: f.big("held"), paidOut: f.big("paidOut") };
  }

  async clawedBack(k: PayoutKey): Promise<bigint> {
    return this.#bigint("clawedBack", key(k));
  }

  // ---- Cases -----------------------------------------------------------------------------------------------

  async submitCase(actor: ActorId, s: CaseSubmission): Promise<TxResult> {
    return this.#tx("submitCase", actor, s);
  }

  async submitCases(actor: ActorId, cases: readonly CaseSubmission[]): Promise<TxResult> {
    return this.#tx("submitCases", actor, { cases });
  }

  async reviewCase(actor: ActorId, r: CaseReview): Promise<TxResult & { noticeEnds: number }> {
    const { tx, reply } = await this.#send("reviewCase", actor, r);
    return { ...tx, noticeEnds: Fields.of(reply, "reviewCase").num("noticeEnds") };
  }

  async reviewCases(actor: ActorId, reviews: readonly CaseReview[]): Promise<TxResult & { noticeEnds: number[] }> {
    const { tx, reply } = await this.#send("reviewCases", actor, { reviews });
    const ends = Fields.of(reply, "reviewCases").raw("noticeEnds");
    if (!Array.isArray(ends) || ends.length !== reviews.length) {
      throw new Error("reviewCases: the chaincode's reply has not one notice end a review");
    }
    return { ...tx, noticeEnds: ends.map((v, i) => toNumber(v, `reviewCases.noticeEnds.${i}`)) };
  }

  async raiseObjection(actor: ActorId, caseId: Bytes32, objectionDigest: Bytes32): Promise<TxResult> {
    return this.#tx("raiseObjection", actor, { caseId, objectionDigest });
  }

  async resolveObjection(actor: ActorId, r: ObjectionResolution): Promise<TxResult> {
    return this.#tx("resolveObjection", actor, r);
  }

  async approveCase(actor: ActorId, a: CaseApproval): Promise<TxResult & ApprovalOutcome> {
    const { tx, reply } = await this.#send("approveCase", actor, a);
    const f = Fields.of(reply, "approveCase");
    return { ...tx, amount: f.big("amount"), firstPeriod: f.num("firstPeriod"), lastPeriod: f.num("lastPeriod") };
  }

  async decideCases(
    actor: ActorId,
    verdicts: readonly CaseVerdict[],
  ): Promise<TxResult & { outcomes: (ApprovalOutcome | null)[] }> {
    const { tx, reply } = await this.#send("decideCases", actor, { decisions: verdicts });
    const outcomes = Fields.of(reply, "decideCases").raw("outcomes");
    if (!Array.isArray(outcomes) || outcomes.length !== verdicts.length) {
      throw new Error("decideCases: the chaincode's reply has not one outcome a decision");
    }
    return {
      ...tx,
      outcomes: outcomes.map((o, i) => {
        if (o === null) return null;
        const f = Fields.of(o, `decideCases.outcomes.${i}`);
        return { amount: f.big("amount"), firstPeriod: f.num("firstPeriod"), lastPeriod: f.num("lastPeriod") };
      }),
    };
  }

  async rejectCase(actor: ActorId, d: CaseDecision): Promise<TxResult> {
    return this.#tx("rejectCase", actor, d);
  }

  async suspendCase(actor: ActorId, d: CaseDecision): Promise<TxResult> {
    return this.#tx("suspendCase", actor, d);
  }

  async resumeCase(actor: ActorId, d: CaseDecision): Promise<TxResult> {
    return this.#tx("resumeCase", actor, d);
  }

  async recertifyCase(
    actor: ActorId,
    r: CaseRecertification,
  ): Promise<TxResult & { amount: bigint; lastPeriod: number }> {
    const { tx, reply } = await this.#send("recertifyCase", actor, r);
    const f = Fields.of(reply, "recertifyCase");
    return { ...tx, amount: f.big("amount"), lastPeriod: f.num("lastPeriod") };
  }

  async exitCase(actor: ActorId, d: CaseDecision): Promise<TxResult & { lastPeriod: number }> {
    const { tx, reply } = await this.#send("exitCase", actor, d);
    return { ...tx, lastPeriod: Fields.of(reply, "exitCase").num("lastPeriod") };
  }

  async setBeneficiaryKey(actor: ActorId, caseId: Bytes32, beneficiaryKey: Account): Promise<TxResult> {
    return this.#tx("setBeneficiaryKey", actor, { caseId, key: beneficiaryKey });
  }

  async caseRecord(caseId: Bytes32): Promise<CaseRecord | null> {
    const reply = await this.#query("caseRecord", { caseId });
    if (reply === null) return null;
    const f = Fields.of(reply, "caseRecord");
    if (f.num("status") === 0) return null;
    return {
      status: f.num("status") as CaseStatus,
      programmeId: f.num("programmeId"),
      region: f.big("region"),
      amount: f.big("amount"),
      noticeEnds: f.num("noticeEnds"),
      firstPeriod: f.num("firstPeriod"),
      lastPeriod: f.num("lastPeriod"),
      paidThrough: f.num("paidThrough"),
      paidMask: f.num("paidMask"),
      settledMask: f.num("settledMask"),
      openObjections: f.num("openObjections"),
      submitter: f.account("submitter"),
      beneficiaryKey: f.account("beneficiaryKey"),
      pseudonym: f.hex("pseudonym"),
      recordDigest: f.hex("recordDigest"),
    };
  }

  async caseCount(): Promise<number> {
    return this.#number("caseCount", {});
  }

  // ---- Payouts ---------------------------------------------------------------------------------------------

  async executePayouts(actor: ActorId, run: PayoutRun): Promise<PayoutRunResult> {
    const result = emptyRun(run.programmeId, MONTHLY, run.period);
    await this.#chunked(
      "executePayouts",
      actor,
      run.caseIds,
      run.chunkSize ?? this.#settings.payoutChunkSize,
      (caseIds) => ({ programmeId: run.programmeId, period: run.period, caseIds }),
      (chunk, tx, reply) => addRun(result, chunk, tx, reply),
    );
    return result;
  }

  async payDisasterRelief(actor: ActorId, run: DisasterReliefRun): Promise<PayoutRunResult> {
    const result = emptyRun(0, run.disasterId.toLowerCase(), 0);
    await this.#chunked(
      "payDisasterRelief",
      actor,
      run.caseIds,
      run.chunkSize ?? this.#settings.payoutChunkSize,
      (caseIds) => ({ disasterId: run.disasterId, caseIds }),
      (chunk, tx, reply) => addRun(result, chunk, tx, reply),
    );
    return result;
  }

  async certifyMedicalBill(actor: ActorId, b: MedicalBill): Promise<TxResult & { amount: bigint; period: number }> {
    const { tx, reply } = await this.#send("certifyMedicalBill", actor, b);
    const f = Fields.of(reply, "certifyMedicalBill");
    return { ...tx, amount: f.big("amount"), period: f.num("period") };
  }

  async declareDisaster(actor: ActorId, d: DisasterDeclaration): Promise<TxResult> {
    return this.#tx("declareDisaster", actor, d);
  }

  async confirmSettlements(actor: ActorId, batch: SettlementBatch): Promise<{ transactions: TxResult[] }> {
    const transactions = await this.#chunked(
      "confirmSettlements",
      actor,
      batch.keys,
      batch.chunkSize ?? this.#settings.settlementChunkSize,
      (keys) => ({ bankRefDigest: batch.bankRefDigest, keys: keys.map(key) }),
      () => undefined,
    );
    return { transactions };
  }

  async reportFailure(actor: ActorId, k: PayoutKey, reasonDigest: Bytes32): Promise<TxResult & { amount: bigint }> {
    const { tx, reply } = await this.#send("reportFailure", actor, { key: key(k), reasonDigest });
    return { ...tx, amount: Fields.of(reply, "reportFailure").big("amount") };
  }

  async reportFailures(
    actor: ActorId,
    failures: readonly { key: PayoutKey; reasonDigest: Bytes32 }[],
  ): Promise<TxResult & { amounts: bigint[] }> {
    const body = { failures: failures.map((f) => ({ key: key(f.key), reasonDigest: f.reasonDigest })) };
    const { tx, reply } = await this.#send("reportFailures", actor, body);
    const amounts = Fields.of(reply, "reportFailures").raw("amounts");
    if (!Array.isArray(amounts) || amounts.length !== failures.length) {
      throw new Error("reportFailures: the chaincode's reply has not one amount a report");
    }
    return { ...tx, amounts: amounts.map((a, i) => toBigint(a, `reportFailures.amounts.${i}`)) };
  }

  async payoutStatus(k: PayoutKey): Promise<PayoutState> {
    const reply = await this.#query("payoutStatus", key(k));
    if (reply === null) return { status: 0 as PayoutStatus, amount: 0n };
    const f = Fields.of(reply, "payoutStatus");
    return { status: f.num("status") as PayoutStatus, amount: f.big("amount") };
  }

  async casePayouts(caseId: Bytes32): Promise<PayoutKey[]> {
    const reply = await this.#query("casePayouts", { caseId });
    if (!Array.isArray(reply)) throw new Error("casePayouts: the chaincode's reply is not an array");
    return reply.map((k) => {
      const f = Fields.of(k, "casePayouts");
      return { caseId: f.hex("caseId"), period: f.num("period"), eventId: f.hex("eventId") };
    });
  }

  async currentPeriod(): Promise<number> {
    return this.#number("currentPeriod", {});
  }

  // ---- Receipts --------------------------------------------------------------------------------------------

  async attestReceipt(actor: ActorId, a: ReceiptAttestation): Promise<TxResult> {
    return this.#tx("attestReceipt", actor, { key: key(a.key), outcome: a.outcome, evidenceDigest: a.evidenceDigest });
  }

  async resolveDispute(actor: ActorId, r: DisputeResolution): Promise<TxResult> {
    return this.#tx("resolveDispute", actor, {
      key: key(r.key),
      outcome: r.outcome,
      resolutionDigest: r.resolutionDigest,
    });
  }

  async receiptOf(k: PayoutKey): Promise<ReceiptRecord> {
    const reply = await this.#query("receiptOf", key(k));
    if (reply === null) return { outcome: 0 as ReceiptOutcome, source: 0 as ReceiptSource, timestamp: 0 };
    const f = Fields.of(reply, "receiptOf");
    return {
      outcome: f.num("outcome") as ReceiptOutcome,
      source: f.num("source") as ReceiptSource,
      timestamp: f.num("timestamp"),
    };
  }

  async disputeOf(k: PayoutKey): Promise<DisputeRecord> {
    const reply = await this.#query("disputeOf", key(k));
    if (reply === null)
      return { status: 0 as DisputeStatus, openedAt: 0, responseDeadline: 0, outcome: 0 as DisputeOutcome };
    const f = Fields.of(reply, "disputeOf");
    return {
      status: f.num("status") as DisputeStatus,
      openedAt: f.num("openedAt"),
      responseDeadline: f.num("responseDeadline"),
      outcome: f.num("outcome") as DisputeOutcome,
    };
  }

  // ---- Anchors ---------------------------------------------------------------------------------------------

  async anchor(
    actor: ActorId,
    a: AnchorSubmission,
  ): Promise<TxResult & { sequence: number; firstRecordIndex: number }> {
    const { tx, reply } = await this.#send("anchor", actor, a);
    const f = Fields.of(reply, "anchor");
    const sequence = f.num("sequence");
    this.#anchorBlocks.set(sequence, tx.blockNumber);
    return { ...tx, sequence, firstRecordIndex: f.num("firstRecordIndex") };
  }

  async anchorCount(): Promise<number> {
    return this.#number("anchorCount", {});
  }

  async totalRecords(): Promise<number> {
    return this.#number("totalRecords", {});
  }

  async anchorAt(sequence: number): Promise<AnchorRecord> {
    const reply = await this.#query("anchorAt", { sequence });
    if (reply === null) {
      throw new LedgerError("LedgerUnknownAnchor", { operation: "anchorAt", args: { sequence }, values: [sequence] });
    }
    const f = Fields.of(reply, "anchorAt");
    return {
      root: f.hex("root"),
      firstRecordIndex: f.num("firstRecordIndex"),
      recordCount: f.num("recordCount"),
      region: f.big("region"),
      anchoredAt: f.num("anchoredAt"),
      // The chaincode cannot know its block (it answers 0): the adapter finds it in the event stream.
      blockNumber:
        f.has("blockNumber") && f.num("blockNumber") > 0 ? f.num("blockNumber") : await this.#anchorBlock(sequence),
    };
  }

  async verifyInclusion(
    sequence: number,
    index: number,
    recordDigest: Bytes32,
    proof: readonly Bytes32[],
  ): Promise<boolean> {
    return Boolean(await this.#query("verifyInclusion", { sequence, index, recordDigest, proof: [...proof] }));
  }

  // ---- Vouchers (chaincode/src/vouchers.ts: the voucher book is part of the one chaincode) ---------------------

  async setVoucherTerms(actor: ActorId, programmeId: number, terms: VoucherTerms): Promise<TxResult> {
    const t = { kind: terms.kind, categories: terms.categories, validity: terms.validity };
    return this.#tx("setVoucherTerms", actor, { programmeId, terms: t });
  }

  async setProviderCategory(actor: ActorId, account: Account, category: ProviderCategory): Promise<TxResult> {
    return this.#tx("setProviderCategory", actor, { account, category });
  }

  async issueVouchers(actor: ActorId, caseIds: readonly Bytes32[], chunkSize?: number): Promise<IssueResult> {
    const result: IssueResult = { outcomes: [], issued: 0, total: 0n, transactions: [] };
    await this.#chunked(
      "issueVouchers",
      actor,
      caseIds,
      chunkSize ?? this.#settings.payoutChunkSize,
      (chunk) => ({ caseIds: chunk }),
      (chunk, tx, reply) => addIssues(result, chunk, tx, reply),
    );
    return result;
  }

  async presentVoucher(actor: ActorId, p: VoucherPresentation): Promise<TxResult> {
    return this.#tx("presentVoucher", actor, {
      voucherId: p.voucherId,
      provider: p.provider,
      maxAmount: p.maxAmount,
      expiresAt: p.expiresAt,
      presentationDigest: p.presentationDigest,
    });
  }

  async redeemVoucher(actor: ActorId, r: VoucherRedemption): Promise<TxResult & { index: number; remaining: bigint }> {
    const arg = { voucherId: r.voucherId, amount: r.amount, invoiceDigest: r.invoiceDigest };
    const { tx, reply } = await this.#send("redeemVoucher", actor, arg);
    const f = Fields.of(reply, "redeemVoucher");
    return { ...tx, index: f.num("index"), remaining: f.big("remaining") };
  }

  async payRedemptions(actor: ActorId, keys: readonly RedemptionKey[]): Promise<TxResult & { total: bigint }> {
    const { tx, reply } = await this.#send("payRedemptions", actor, { keys: keys.map(redemptionArg) });
    return { ...tx, total: Fields.of(reply, "payRedemptions").big("total") };
  }

  async confirmRedemptionSettlements(
    actor: ActorId,
    bankRefDigest: Bytes32,
    keys: readonly RedemptionKey[],
  ): Promise<TxResult> {
    return this.#tx("confirmRedemptionSettlements", actor, { bankRefDigest, keys: keys.map(redemptionArg) });
  }

  async reportRedemptionFailure(actor: ActorId, k: RedemptionKey, reasonDigest: Bytes32): Promise<TxResult> {
    return this.#tx("reportRedemptionFailure", actor, { key: redemptionArg(k), reasonDigest });
  }

  async expireVouchers(
    actor: ActorId,
    voucherIds: readonly Bytes32[],
  ): Promise<TxResult & { expired: number; returned: bigint }> {
    const { tx, reply } = await this.#send("expireVouchers", actor, { voucherIds: [...voucherIds] });
    const f = Fields.of(reply, "expireVouchers");
    return { ...tx, expired: f.num("expired"), returned: f.big("returned") };
  }

  async voucherTerms(programmeId: number): Promise<VoucherTerms> {
    return voucherTermsOf(await this.#query("voucherTerms", { programmeId }));
  }

  async providerCategory(account: Account): Promise<ProviderCategory> {
    return this.#number("providerCategory", { account }) as Promise<ProviderCategory>;
  }

  async voucher(voucherId: Bytes32): Promise<VoucherRecord | null> {
    return voucherOf(await this.#query("voucher", { voucherId }));
  }

  async presentation(voucherId: Bytes32): Promise<PresentationRecord> {
    return presentationOf(await this.#query("presentation", { voucherId }));
  }

  async redemption(k: RedemptionKey): Promise<RedemptionRecord | null> {
    return redemptionOf(await this.#query("redemption", redemptionArg(k)));
  }

  async voucherTotals(programmeId: number): Promise<VoucherTotals> {
    return voucherTotalsOf(await this.#query("voucherTotals", { programmeId }));
  }

  async voucherEscrow(): Promise<bigint> {
    return this.#bigint("voucherEscrow", {});
  }

  /** The block an anchor was committed in: a chaincode knows its transaction, not its block. */
  async #anchorBlock(sequence: number): Promise<number> {
    const known = this.#anchorBlocks.get(sequence);
    if (known !== undefined) return known;
    // Scan the blocks not scanned yet (once each), remembering every anchor seen.
    const last = await this.blockNumber();
    for (const e of await this.events(this.#anchorsScannedTo + 1, last)) {
      if (e.name === "RecordsAnchored") this.#anchorBlocks.set(e.args.sequence, e.blockNumber);
    }
    this.#anchorsScannedTo = Math.max(this.#anchorsScannedTo, last);
    const found = this.#anchorBlocks.get(sequence);
    if (found === undefined) throw new Error(`anchor ${sequence} has no RecordsAnchored event`);
    return found;
  }

  // ---- Events ----------------------------------------------------------------------------------------------

  async blockNumber(): Promise<number> {
    const height = await this.#read("blockNumber", "events", () => this.#reader.blockHeight());
    return height - 1;
  }

  async events(fromBlock: number, toBlock?: number, options: EventQueryOptions = {}): Promise<LedgerEvent[]> {
    const last = toBlock ?? (await this.blockNumber());
    if (last < fromBlock) return [];
    const raw = await this.#read("events", "events", () => this.#reader.events(fromBlock, last));
    const out = decodeChaincodeEvents(raw);
    if (options.timestamps) {
      const transport = this.#reader;
      if (!transport.txTimestamp) throw new LedgerConfigError("events: this Fabric transport has no timestamps");
      const times = new Map<string, number>();
      for (const e of out) {
        if (!times.has(e.txHash)) {
          times.set(e.txHash, await this.#read("events", "events", () => transport.txTimestamp!(e.txHash)));
        }
        e.timestamp = times.get(e.txHash);
      }
    }
    return out;
  }

  // ---- Machinery -------------------------------------------------------------------------------------------

  #transport(actor: ActorId, operation: string): FabricTransport {
    const t = this.#actors.get(actor);
    if (!t) throw new LedgerConfigError(`${operation}: no Fabric identity for actor "${actor}"`);
    return t;
  }

  async #read<T>(operation: string, phase: FabricPhase, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw ledgerErrorOf(classifyFabricError(err, phase), { operation }, err);
    }
  }

  async #query(fn: string, arg: object): Promise<unknown> {
    const bytes = await this.#read(fn, "evaluate", () => this.#reader.evaluate(fn, encodeArg(arg)));
    return decodeReply(bytes);
  }

  async #number(fn: string, arg: object): Promise<number> {
    return toNumber(await this.#query(fn, arg), fn);
  }

  async #bigint(fn: string, arg: object): Promise<bigint> {
    return toBigint(await this.#query(fn, arg), fn);
  }

  async #tx(fn: string, actor: ActorId, arg: object): Promise<TxResult> {
    return (await this.#send(fn, actor, arg)).tx;
  }

  /**
   * Submits one transaction and waits for its commit, endorsing again after a read conflict or an endorsement that
   * reached no peer (both changed nothing).
   */
  async #send(fn: string, actor: ActorId, arg: object): Promise<{ tx: TxResult; reply: unknown }> {
    const transport = this.#transport(actor, fn);
    const ctx: Context = { operation: fn, actor };
    const text = encodeArg(arg);
    for (let attempt = 0; ; attempt++) {
      try {
        const committed = await transport.submit(fn, text);
        return {
          tx: { txHash: committed.txId, blockNumber: committed.blockNumber },
          reply: decodeReply(committed.result),
        };
      } catch (err) {
        const failure = classifyFabricError(err, "submit");
        const retryable =
          failure.kind === "conflict" || (failure.kind === "unavailable" && failure.phase === "endorse");
        if (!retryable || attempt >= this.#settings.retries) throw ledgerErrorOf(failure, ctx, err);
        await sleep(this.#settings.retryBackoffMs * 2 ** attempt);
      }
    }
  }

  /** Sends `items` in chunks, one transaction each and in order; a failure carries the transactions committed. */
  async #chunked<T>(
    operation: string,
    actor: ActorId,
    items: readonly T[],
    chunkSize: number,
    arg: (chunk: T[]) => object,
    onCommitted: (chunk: T[], tx: TxResult, reply: unknown) => void,
  ): Promise<TxResult[]> {
    this.#transport(actor, operation);
    const completed: TxResult[] = [];
    try {
      for (const chunk of chunks(items, chunkSize)) {
        const { tx, reply } = await this.#send(operation, actor, arg(chunk));
        onCommitted(chunk, tx, reply);
        completed.push(tx);
      }
    } catch (err) {
      if (err instanceof LedgerError || err instanceof LedgerUnavailableError) throw err.withCompleted(completed);
      throw err;
    }
    return completed;
  }
}

/** A chunk's reply: its outcomes, either as a list or as `{ outcomes, programmeId, period, … }`. */
function chunkOutcomes(reply: unknown): { outcomes: PayoutOutcome[]; programmeId?: number; period?: number } {
  const list = Array.isArray(reply) ? reply : Fields.of(reply, "payout run").raw("outcomes");
  if (!Array.isArray(list)) throw new Error("payout run: the chaincode's outcomes are not a list");
  const outcomes = list.map((o): PayoutOutcome => {
    const f = Fields.of(o, "payout outcome");
    const caseId = f.hex("caseId");
    const status = f.raw("status");
    if (status === "paid") return { caseId, status: "paid", amount: f.big("amount") };
    if (status === "skipped") return { caseId, status: "skipped", reason: f.num("reason") as SkipReason };
    throw new Error(`payout outcome of ${caseId}: unknown status ${String(status)}`);
  });
  if (Array.isArray(reply)) return { outcomes };
  const f = Fields.of(reply, "payout run");
  return {
    outcomes,
    programmeId: f.has("programmeId") ? f.num("programmeId") : undefined,
    period: f.has("period") ? f.num("period") : undefined,
  };
}

/** Adds one committed chunk of a payout run: an outcome per listed case, in order. */
function addRun(result: PayoutRunResult, chunk: readonly Bytes32[], tx: TxResult, reply: unknown): void {
  const { outcomes, programmeId, period } = chunkOutcomes(reply);
  if (outcomes.length !== chunk.length || outcomes.some((o, i) => o.caseId !== chunk[i].toLowerCase())) {
    throw new Error(`payout run transaction ${tx.txHash}: its outcomes do not match the ${chunk.length} cases sent`);
  }
  const paid = outcomes.filter((o) => o.status === "paid");
  const total = paid.reduce((sum, o) => sum + (o.status === "paid" ? o.amount : 0n), 0n);
  if (programmeId !== undefined) result.programmeId = programmeId;
  if (period !== undefined) result.period = period;
  result.outcomes.push(...outcomes);
  result.paid += paid.length;
  result.skipped += outcomes.length - paid.length;
  result.total += total;
  result.transactions.push({
    ...tx,
    cases: chunk.length,
    paid: paid.length,
    skipped: outcomes.length - paid.length,
    total,
  });
}
