/**
 * The EVM adapter of {@link Ledger}: ethers 6 over JSON-RPC (anvil locally, a Besu QBFT consortium in production).
 *
 * - One provider without response caching (`cacheTimeout: -1`: the "nonce too low" trap), with a static network
 *   (ethers otherwise asks `eth_chainId` again every request or two, to notice a network change; the chain id is
 *   checked once by {@link EvmLedger.connect}), over Node's http with keep-alive ({@link NodeJsonRpcProvider}).
 *   Requests made in the same turn of the event loop go as one JSON-RPC batch (up to {@link RPC_BATCH}; ethers'
 *   default 10 ms wait for more is off): pipelined writes share round trips, a lone request goes at once.
 * - Writes are encoded with each function's selector computed once, estimated and receipts read with raw JSON-RPC
 *   (ethers' formatting checksums every address with keccak in JavaScript): a case submission costs the gateway a
 *   few hundred microseconds of CPU beyond signing, not milliseconds.
 * - Contract objects from `lib/deploy.ts`'s `attach`; one {@link TxSender} per institution key.
 * - Every request has a deadline; a write waits for its receipt up to `receiptTimeoutMs`, checks its status and
 *   never reports a reverted transaction as done.
 * - Reverts become {@link LedgerError}s named after the contracts' custom errors; an unreachable or silent node
 *   becomes a {@link LedgerUnavailableError}.
 */
import {
  Network,
  Wallet,
  getAddress,
  toQuantity,
  type BaseContract,
  type BaseWallet,
  type FunctionFragment,
  type Interface,
  type TransactionRequest,
  concat,
} from "ethers";
import { attach, type LedgerAddresses } from "../../../lib/deploy";
import { ruleFields } from "../../../lib/programmes";
import type { Role, SkipReason } from "../../../lib/roles";
import type { DisputeOutcome, DisputeStatus } from "../../../lib/receipts";
import { chunks, emptyRun, withDefaults } from "./adapter-kit";
import { LedgerConfigError, LedgerError, LedgerUnavailableError } from "./errors";
import type { LedgerContract, LedgerEvent, LedgerEventArgs, LedgerEventName } from "./events";
import { EventDecoder, RevertDecoder, checkEventSchema, type RawLog } from "./evm-codec";
import {
  NodeJsonRpcProvider,
  TxSender,
  hasCode,
  isRevert,
  revertData,
  sleep,
  unavailableReason,
  withDeadline,
  type SenderNode,
} from "./evm-rpc";
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
  type VoucherIssueOutcome,
  type VoucherPresentation,
  type VoucherRecord,
  type VoucherRedemption,
  type VoucherTerms,
  type VoucherTotals,
} from "./ledger";
import {
  big,
  decodeAnchor,
  decodeCaseRecord,
  decodePayoutKeys,
  decodePayoutState,
  decodeReceipt,
  decodePresentation,
  decodeProviderCategory,
  decodeRedemption,
  decodeVoucher,
  decodeVoucherTerms,
  decodeVoucherTotals,
  hex,
  num,
  redemptionKeyTuple,
} from "./evm-views";

export interface EvmLedgerOptions {
  /** JSON-RPC endpoint of a node. */
  rpcUrl: string;
  /** The chain id the deployment lives on; checked by {@link EvmLedger.connect}. */
  chainId: bigint | number;
  addresses: LedgerAddresses;
  /** The institutions' chain keys by actor id: 32-byte hex private keys or ethers wallets. */
  actors?: Readonly<Record<ActorId, string | BaseWallet>>;
  /** Deadline of each JSON-RPC request, ms. */
  rpcTimeoutMs?: number;
  /** How long a write waits for its transaction to be mined, ms. */
  receiptTimeoutMs?: number;
  /** The longest pause between two receipt polls, ms (polling starts at 5 ms and backs off). */
  pollIntervalMs?: number;
  /** Cases per payout transaction. */
  payoutChunkSize?: number;
  /** Payouts per settlement transaction. */
  settlementChunkSize?: number;
  /** Gas a single transaction may use (EIP-7825: 2^24). Chunks whose estimate exceeds it are split. */
  txGasCap?: bigint;
  /** Gas limit = estimate plus this share, capped at `txGasCap`. */
  gasMarginPercent?: number;
  /** Blocks per `eth_getLogs` request (halved if the node refuses the range). */
  logBlockSpan?: number;
  /** How long fee data (base fee, priority fee) is reused, ms. */
  feeCacheMs?: number;
}

export const EVM_DEFAULTS = {
  rpcTimeoutMs: 10_000,
  receiptTimeoutMs: 60_000,
  pollIntervalMs: 250,
  payoutChunkSize: 1_000,
  settlementChunkSize: 500,
  txGasCap: 16_777_216n,
  gasMarginPercent: 20,
  logBlockSpan: 5_000,
  feeCacheMs: 1_000,
} as const;

/** Most JSON-RPC requests in one batch. */
const RPC_BATCH = 32;

type Settings = Required<Omit<EvmLedgerOptions, "actors" | "addresses" | "rpcUrl" | "chainId">>;

const ARTIFACTS: Record<LedgerContract, string> = {
  registry: "InstitutionRegistry",
  ledger: "ReliefLedger",
  receipts: "ReceiptBook",
  anchors: "AnchorLog",
  vouchers: "VoucherBook",
};
const CONTRACTS = Object.keys(ARTIFACTS) as LedgerContract[];

/** The fields of a transaction receipt the adapter reads (raw JSON-RPC). */
interface Receipt {
  hash: string;
  blockNumber: number;
  status: number;
  logs: RawLog[];
}

/** A mined, successful transaction with its decoded ledger events. */
interface Mined extends TxResult {
  events: LedgerEvent[];
}

interface Context {
  operation: string;
  actor?: ActorId;
  txHash?: string;
}

type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

const key = (k: PayoutKey) => ({ caseId: k.caseId, period: k.period, eventId: k.eventId });

function only<N extends LedgerEventName>(events: readonly LedgerEvent[], name: N): LedgerEventArgs<N> {
  const found = events.find((e) => e.name === name);
  if (!found) throw new Error(`the transaction emitted no ${name} event`);
  return found.args as LedgerEventArgs<N>;
}

/** Every `name` event of a transaction, in order. */
function emitted<N extends LedgerEventName>(events: readonly LedgerEvent[], name: N): LedgerEventArgs<N>[] {
  return events.filter((e) => e.name === name).map((e) => e.args as LedgerEventArgs<N>);
}

/** A ledger function and its arguments, for {@link EvmLedger.multicall}. */
type Call = readonly [fn: string, args: unknown[]];

export class EvmLedger implements Ledger {
  readonly writesInFlight = 4;
  readonly chainId: bigint;
  readonly addresses: Readonly<LedgerAddresses>;
  readonly #settings: Settings;
  readonly #provider: NodeJsonRpcProvider;
  /** Each written function's fragment and selector, by contract and name (ethers hashes the signature per call). */
  readonly #functions = new Map<string, { fragment: FunctionFragment; selector: string }>();
  /** The receipt wait of each sender's latest transaction (see `#waitForReceipt`). */
  readonly #receiptWaits = new WeakMap<TxSender, Promise<void>>();
  readonly #contracts: Record<LedgerContract, BaseContract>;
  readonly #interfaces: Record<LedgerContract, Interface>;
  readonly #events: EventDecoder;
  readonly #reverts: RevertDecoder;
  readonly #senders = new Map<ActorId, TxSender>();
  readonly #node: SenderNode;
  #fees: { at: number; value: Promise<Fees> } | null = null;

  constructor(options: EvmLedgerOptions) {
    this.#settings = withDefaults(EVM_DEFAULTS, options) as Settings;
    this.chainId = BigInt(options.chainId);
    this.addresses = Object.freeze({ ...options.addresses });
    const network = Network.from(this.chainId);
    this.#provider = new NodeJsonRpcProvider(
      options.rpcUrl,
      network,
      { cacheTimeout: -1, staticNetwork: network, batchMaxCount: RPC_BATCH, batchStallTime: 0 },
      this.#settings.rpcTimeoutMs,
    );
    this.#contracts = {} as Record<LedgerContract, BaseContract>;
    this.#interfaces = {} as Record<LedgerContract, Interface>;
    for (const c of CONTRACTS) {
      this.#contracts[c] = attach(ARTIFACTS[c], getAddress(options.addresses[c]), this.#provider);
      this.#interfaces[c] = this.#contracts[c].interface;
    }
    checkEventSchema(this.#interfaces);
    this.#events = new EventDecoder(this.addresses, this.#interfaces);
    this.#reverts = new RevertDecoder(CONTRACTS.map((c) => this.#interfaces[c]));
    for (const [actor, k] of Object.entries(options.actors ?? {})) this.addActor(actor, k);
    this.#node = {
      pendingNonce: (address) =>
        this.#rpc({ operation: "nonce" }, () => this.#provider.getTransactionCount(address, "pending")),
      // eth_sendRawTransaction directly: ethers' broadcastTransaction recovers the sender from the signature
      // (an elliptic-curve recovery in JavaScript per transaction) only to check what we signed.
      broadcast: (signed) =>
        this.#rpc({ operation: "send" }, () => this.#provider.send("eth_sendRawTransaction", [signed])),
    };
  }

  /**
   * Checks that the node answers, is on the configured chain and holds the deployment. Rejects with a
   * {@link LedgerUnavailableError} if the node cannot be reached, a {@link LedgerConfigError} otherwise.
   */
  async connect(): Promise<void> {
    const ctx = { operation: "connect" };
    const chainId = BigInt(await this.#rpc(ctx, () => this.#provider.send("eth_chainId", [])));
    if (chainId !== this.chainId) {
      throw new LedgerConfigError(`the node at the RPC URL is on chain ${chainId}, the deployment on ${this.chainId}`);
    }
    for (const c of CONTRACTS) {
      const code = await this.#rpc(ctx, () => this.#provider.getCode(this.addresses[c]));
      if (code === "0x") throw new LedgerConfigError(`no ${ARTIFACTS[c]} contract at ${this.addresses[c]}`);
    }
  }

  /** Adds (or replaces) the chain key an actor signs with. */
  addActor(actor: ActorId, signer: string | BaseWallet): void {
    let wallet: BaseWallet;
    try {
      wallet = typeof signer === "string" ? new Wallet(signer) : signer;
    } catch (cause) {
      throw new LedgerConfigError(`actor ${actor}: not a private key`, { cause });
    }
    this.#senders.set(actor, new TxSender(wallet));
  }

  accountOf(actor: ActorId): Account {
    return this.#sender(actor, "accountOf").address;
  }

  actors(): ActorId[] {
    return [...this.#senders.keys()];
  }

  async close(): Promise<void> {
    this.#provider.destroy();
  }

  // ---- Institutions ----------------------------------------------------------------------------------------

  async registerInstitution(actor: ActorId, r: InstitutionRegistration): Promise<TxResult> {
    return this.#tx("registerInstitution", actor, "registry", [r.account, r.role, r.region, r.keyDigest]);
  }

  async setInstitutionActive(actor: ActorId, account: Account, active: boolean): Promise<TxResult> {
    return this.#tx("setActive", actor, "registry", [account, active], "setInstitutionActive");
  }

  async rotateInstitutionKey(actor: ActorId, account: Account, keyDigest: Bytes32): Promise<TxResult> {
    return this.#tx("rotateKey", actor, "registry", [account, keyDigest], "rotateInstitutionKey");
  }

  async pause(actor: ActorId): Promise<TxResult> {
    return this.#tx("pause", actor, "registry", []);
  }

  async unpause(actor: ActorId): Promise<TxResult> {
    return this.#tx("unpause", actor, "registry", []);
  }

  async institution(account: Account): Promise<Institution> {
    const i = await this.#call("registry", "institution", [account]);
    return { role: num(i.role) as Role, active: Boolean(i.active), region: big(i.region), keyDigest: hex(i.keyDigest) };
  }

  async isPaused(): Promise<boolean> {
    return Boolean(await this.#call("registry", "paused", []));
  }

  // ---- Programmes ------------------------------------------------------------------------------------------

  async createProgramme(actor: ActorId, rule: ProgrammeRule): Promise<TxResult & { programmeId: number }> {
    const mined = await this.#send("createProgramme", actor, "ledger", "createProgramme", [ruleFields(rule)]);
    return { ...txResult(mined), programmeId: only(mined.events, "ProgrammeCreated").programmeId };
  }

  async updateProgrammeRule(actor: ActorId, programmeId: number, rule: ProgrammeRule): Promise<TxResult> {
    return this.#tx("updateProgrammeRule", actor, "ledger", [programmeId, ruleFields(rule)]);
  }

  async programme(programmeId: number): Promise<ProgrammeRule> {
    const p = await this.#call("ledger", "programme", [programmeId]);
    return {
      kind: num(p.kind),
      region: big(p.region),
      amount: big(p.amount),
      deductible: big(p.deductible),
      ratioBps: num(p.ratioBps),
      validityMonths: num(p.validityMonths),
      exitPeriods: num(p.exitPeriods),
      noticePeriod: num(p.noticePeriod),
      disputeWindow: num(p.disputeWindow),
      exclusionGroup: num(p.exclusionGroup),
      ruleVersion: hex(p.ruleVersion),
    };
  }

  async programmeCount(): Promise<number> {
    return num(await this.#call("ledger", "programmeCount", []));
  }

  // ---- Budget ----------------------------------------------------------------------------------------------

  async appropriate(actor: ActorId, amount: bigint, referenceDigest: Bytes32): Promise<TxResult> {
    return this.#tx("appropriate", actor, "ledger", [amount, referenceDigest]);
  }

  async allocate(actor: ActorId, t: FundTransfer): Promise<TxResult> {
    return this.#tx("allocate", actor, "ledger", [t.fromRegion, t.toRegion, t.amount, t.referenceDigest]);
  }

  async returnFunds(actor: ActorId, t: FundTransfer): Promise<TxResult> {
    return this.#tx("returnFunds", actor, "ledger", [t.fromRegion, t.toRegion, t.amount, t.referenceDigest]);
  }

  async fundProgramme(actor: ActorId, t: PoolTransfer): Promise<TxResult> {
    return this.#tx("fundProgramme", actor, "ledger", [t.programmeId, t.amount, t.referenceDigest]);
  }

  async defundProgramme(actor: ActorId, t: PoolTransfer): Promise<TxResult> {
    return this.#tx("defundProgramme", actor, "ledger", [t.programmeId, t.amount, t.referenceDigest]);
  }

  async recordClawback(actor: ActorId, c: Clawback): Promise<TxResult> {
    return this.#tx("recordClawback", actor, "ledger", [key(c.key), c.amount, c.referenceDigest]);
  }

  async regionBalance(region: bigint): Promise<bigint> {
    return big(await this.#call("ledger", "regionBalance", [region]));
  }

  async poolBalance(programmeId: number): Promise<bigint> {
    return big(await this.#call("ledger", "poolBalance", [programmeId]));
  }

  async programmePaidOut(programmeId: number): Promise<bigint> {
    return big(await this.#call("ledger", "programmePaidOut", [programmeId]));
  }

  async fundTotals(): Promise<FundTotals> {
    const [appropriated, held, paidOut] = await this.#call("ledger", "fundTotals", []);
    return { appropriated: big(appropriated), held: big(held), paidOut: big(paidOut) };
  }

  async clawedBack(k: PayoutKey): Promise<bigint> {
    return big(await this.#call("ledger", "clawedBack", [key(k)]));
  }

  // ---- Cases -----------------------------------------------------------------------------------------------

  async submitCase(actor: ActorId, s: CaseSubmission): Promise<TxResult> {
    return this.#tx("submitCase", actor, "ledger", [s.caseId, s.programmeId, s.region, s.pseudonym, s.recordDigest]);
  }

  async submitCases(actor: ActorId, batch: readonly CaseSubmission[]): Promise<TxResult> {
    const tuples = batch.map((s) => [s.caseId, s.programmeId, s.region, s.pseudonym, s.recordDigest]);
    return this.#tx("submitCases", actor, "ledger", [tuples]);
  }

  async reviewCase(actor: ActorId, r: CaseReview): Promise<TxResult & { noticeEnds: number }> {
    const mined = await this.#send("reviewCase", actor, "ledger", "reviewCase", [r.caseId, r.passed, r.reasonDigest]);
    return { ...txResult(mined), noticeEnds: only(mined.events, "CaseReviewed").noticeEnds };
  }

  async reviewCases(actor: ActorId, reviews: readonly CaseReview[]): Promise<TxResult & { noticeEnds: number[] }> {
    const tuples = reviews.map((r) => [r.caseId, r.passed, r.reasonDigest]);
    const mined = await this.#send("reviewCases", actor, "ledger", "reviewCases", [tuples]);
    const reviewed = emitted(mined.events, "CaseReviewed");
    return { ...txResult(mined), noticeEnds: reviewed.map((a) => a.noticeEnds) };
  }

  async raiseObjection(actor: ActorId, caseId: Bytes32, objectionDigest: Bytes32): Promise<TxResult> {
    return this.#tx("raiseObjection", actor, "ledger", [caseId, objectionDigest]);
  }

  async resolveObjection(actor: ActorId, r: ObjectionResolution): Promise<TxResult> {
    return this.#tx("resolveObjection", actor, "ledger", [r.caseId, r.objectionDigest, r.upheld, r.reasonDigest]);
  }

  async approveCase(actor: ActorId, a: CaseApproval): Promise<TxResult & ApprovalOutcome> {
    const args = [a.caseId, assessmentArg(a.assessment), a.ruleVersion];
    const mined = await this.#send("approveCase", actor, "ledger", "approveCase", args);
    const approved = only(mined.events, "CaseApproved");
    return {
      ...txResult(mined),
      amount: approved.amount,
      firstPeriod: approved.firstPeriod,
      lastPeriod: approved.lastPeriod,
    };
  }

  async decideCases(
    actor: ActorId,
    verdicts: readonly CaseVerdict[],
  ): Promise<TxResult & { outcomes: (ApprovalOutcome | null)[] }> {
    const calls = verdicts.map((v): Call =>
      v.approve
        ? ["approveCase", [v.caseId, assessmentArg(v.assessment), v.ruleVersion]]
        : ["rejectCase", [v.caseId, v.reasonDigest]],
    );
    const mined = await this.#multicall("decideCases", actor, calls);
    // One CaseApproved an approval, in the order of the calls.
    const approvals = emitted(mined.events, "CaseApproved");
    if (approvals.length !== verdicts.filter((v) => v.approve).length) {
      throw new Error("decideCases: not one CaseApproved an approval");
    }
    let next = 0;
    const outcomes = verdicts.map((v) => {
      if (!v.approve) return null;
      const a = approvals[next++];
      return { amount: a.amount, firstPeriod: a.firstPeriod, lastPeriod: a.lastPeriod };
    });
    return { ...txResult(mined), outcomes };
  }

  async rejectCase(actor: ActorId, d: CaseDecision): Promise<TxResult> {
    return this.#tx("rejectCase", actor, "ledger", [d.caseId, d.reasonDigest]);
  }

  async suspendCase(actor: ActorId, d: CaseDecision): Promise<TxResult> {
    return this.#tx("suspendCase", actor, "ledger", [d.caseId, d.reasonDigest]);
  }

  async resumeCase(actor: ActorId, d: CaseDecision): Promise<TxResult> {
    return this.#tx("resumeCase", actor, "ledger", [d.caseId, d.reasonDigest]);
  }

  async recertifyCase(
    actor: ActorId,
    r: CaseRecertification,
  ): Promise<TxResult & { amount: bigint; lastPeriod: number }> {
    const args = [r.caseId, assessmentArg(r.assessment), r.ruleVersion, r.recordDigest];
    const mined = await this.#send("recertifyCase", actor, "ledger", "recertifyCase", args);
    const recertified = only(mined.events, "CaseRecertified");
    return { ...txResult(mined), amount: recertified.amount, lastPeriod: recertified.lastPeriod };
  }

  async exitCase(actor: ActorId, d: CaseDecision): Promise<TxResult & { lastPeriod: number }> {
    const mined = await this.#send("exitCase", actor, "ledger", "exitCase", [d.caseId, d.reasonDigest]);
    return { ...txResult(mined), lastPeriod: only(mined.events, "CaseExited").lastPeriod };
  }

  async setBeneficiaryKey(actor: ActorId, caseId: Bytes32, beneficiaryKey: Account): Promise<TxResult> {
    return this.#tx("setBeneficiaryKey", actor, "ledger", [caseId, beneficiaryKey]);
  }

  async caseRecord(caseId: Bytes32): Promise<CaseRecord | null> {
    return decodeCaseRecord(await this.#call("ledger", "caseRecord", [caseId]));
  }

  async caseCount(): Promise<number> {
    return num(await this.#call("ledger", "caseCount", []));
  }

  // ---- Payouts ---------------------------------------------------------------------------------------------

  async executePayouts(actor: ActorId, run: PayoutRun): Promise<PayoutRunResult> {
    const result = emptyRun(run.programmeId, MONTHLY, run.period);
    await this.#chunked(
      "executePayouts",
      actor,
      run.caseIds,
      run.chunkSize ?? this.#settings.payoutChunkSize,
      (chunk) => ["executePayouts", [run.programmeId, run.period, chunk]],
      (chunk, mined) => addRun(result, chunk, mined),
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
      (chunk) => ["payDisasterRelief", [run.disasterId, chunk]],
      (chunk, mined) => addRun(result, chunk, mined),
    );
    return result;
  }

  async certifyMedicalBill(actor: ActorId, b: MedicalBill): Promise<TxResult & { amount: bigint; period: number }> {
    const args = [b.billId, b.caseId, b.billAmount, b.billDigest];
    const mined = await this.#send("certifyMedicalBill", actor, "ledger", "certifyMedicalBill", args);
    const paid = only(mined.events, "PayoutExecuted");
    return { ...txResult(mined), amount: paid.amount, period: paid.period };
  }

  async declareDisaster(actor: ActorId, d: DisasterDeclaration): Promise<TxResult> {
    return this.#tx("declareDisaster", actor, "ledger", [d.disasterId, d.programmeId, d.region, d.declarationDigest]);
  }

  async confirmSettlements(actor: ActorId, batch: SettlementBatch): Promise<{ transactions: TxResult[] }> {
    const transactions = await this.#chunked(
      "confirmSettlements",
      actor,
      batch.keys,
      batch.chunkSize ?? this.#settings.settlementChunkSize,
      (chunk) => ["confirmSettlements", [batch.bankRefDigest, chunk.map(key)]],
      () => undefined,
    );
    return { transactions };
  }

  async reportFailure(actor: ActorId, k: PayoutKey, reasonDigest: Bytes32): Promise<TxResult & { amount: bigint }> {
    const mined = await this.#send("reportFailure", actor, "ledger", "reportFailure", [key(k), reasonDigest]);
    return { ...txResult(mined), amount: only(mined.events, "PayoutFailed").amount };
  }

  async reportFailures(
    actor: ActorId,
    failures: readonly { key: PayoutKey; reasonDigest: Bytes32 }[],
  ): Promise<TxResult & { amounts: bigint[] }> {
    const calls = failures.map((f): Call => ["reportFailure", [key(f.key), f.reasonDigest]]);
    const mined = await this.#multicall("reportFailures", actor, calls);
    const amounts = emitted(mined.events, "PayoutFailed").map((a) => a.amount);
    if (amounts.length !== failures.length) throw new Error("reportFailures: not one PayoutFailed a report");
    return { ...txResult(mined), amounts };
  }

  async payoutStatus(k: PayoutKey): Promise<PayoutState> {
    return decodePayoutState(await this.#call("ledger", "payoutStatus", [key(k)]));
  }

  async casePayouts(caseId: Bytes32): Promise<PayoutKey[]> {
    return decodePayoutKeys(await this.#call("ledger", "casePayouts", [caseId]));
  }

  async currentPeriod(): Promise<number> {
    return num(await this.#call("ledger", "currentPeriod", []));
  }

  // ---- Receipts --------------------------------------------------------------------------------------------

  async attestReceipt(actor: ActorId, a: ReceiptAttestation): Promise<TxResult> {
    return this.#tx("attestReceipt", actor, "receipts", [key(a.key), a.outcome, a.evidenceDigest]);
  }

  async resolveDispute(actor: ActorId, r: DisputeResolution): Promise<TxResult> {
    return this.#tx("resolveDispute", actor, "receipts", [key(r.key), r.outcome, r.resolutionDigest]);
  }

  async receiptOf(k: PayoutKey): Promise<ReceiptRecord> {
    return decodeReceipt(await this.#call("receipts", "receiptOf", [key(k)]));
  }

  async disputeOf(k: PayoutKey): Promise<DisputeRecord> {
    const d = await this.#call("receipts", "disputeOf", [key(k)]);
    return {
      status: num(d.status) as DisputeStatus,
      openedAt: num(d.openedAt),
      responseDeadline: num(d.responseDeadline),
      outcome: num(d.outcome) as DisputeOutcome,
    };
  }

  // ---- Anchors ---------------------------------------------------------------------------------------------

  async anchor(
    actor: ActorId,
    a: AnchorSubmission,
  ): Promise<TxResult & { sequence: number; firstRecordIndex: number }> {
    const args = [a.expectedSequence, a.region, a.root, a.recordCount, a.metadataDigest];
    const mined = await this.#send("anchor", actor, "anchors", "anchor", args);
    const anchored = only(mined.events, "RecordsAnchored");
    return { ...txResult(mined), sequence: anchored.sequence, firstRecordIndex: anchored.firstRecordIndex };
  }

  async anchorCount(): Promise<number> {
    return num(await this.#call("anchors", "anchorCount", []));
  }

  async totalRecords(): Promise<number> {
    return num(await this.#call("anchors", "totalRecords", []));
  }

  async anchorAt(sequence: number): Promise<AnchorRecord> {
    return decodeAnchor(await this.#call("anchors", "anchorAt", [sequence]));
  }

  async verifyInclusion(
    sequence: number,
    index: number,
    recordDigest: Bytes32,
    proof: readonly Bytes32[],
  ): Promise<boolean> {
    return Boolean(await this.#call("anchors", "verifyInclusion", [sequence, index, recordDigest, [...proof]]));
  }

  // ---- Vouchers (the VoucherBook; its pool ↔ escrow ↔ paid-out moves are the ledger's VoucherFundsMoved) -----

  async setVoucherTerms(actor: ActorId, programmeId: number, terms: VoucherTerms): Promise<TxResult> {
    const t = { kind: terms.kind, categories: terms.categories, validity: terms.validity };
    return this.#tx("setVoucherTerms", actor, "vouchers", [programmeId, t]);
  }

  async setProviderCategory(actor: ActorId, account: Account, category: ProviderCategory): Promise<TxResult> {
    return this.#tx("setProviderCategory", actor, "vouchers", [account, category]);
  }

  async issueVouchers(
    actor: ActorId,
    caseIds: readonly Bytes32[],
    chunkSize?: number,
  ): Promise<{ outcomes: VoucherIssueOutcome[]; issued: number; total: bigint; transactions: TxResult[] }> {
    const result = { outcomes: [] as VoucherIssueOutcome[], issued: 0, total: 0n, transactions: [] as TxResult[] };
    result.transactions = await this.#chunked(
      "issueVouchers",
      actor,
      caseIds,
      chunkSize ?? this.#settings.payoutChunkSize,
      (chunk) => ["issueVouchers", [chunk]],
      (chunk, mined) => addIssues(result, chunk, mined),
      "vouchers",
    );
    return result;
  }

  async presentVoucher(actor: ActorId, p: VoucherPresentation): Promise<TxResult> {
    const args = [p.voucherId, p.provider, p.maxAmount, p.expiresAt, p.presentationDigest];
    return this.#tx("presentVoucher", actor, "vouchers", args);
  }

  async redeemVoucher(actor: ActorId, r: VoucherRedemption): Promise<TxResult & { index: number; remaining: bigint }> {
    const args = [r.voucherId, r.amount, r.invoiceDigest];
    const mined = await this.#send("redeemVoucher", actor, "vouchers", "redeemVoucher", args);
    const redeemed = only(mined.events, "VoucherRedeemed");
    return { ...txResult(mined), index: redeemed.index, remaining: redeemed.remaining };
  }

  async payRedemptions(actor: ActorId, keys: readonly RedemptionKey[]): Promise<TxResult & { total: bigint }> {
    const args = [keys.map(redemptionKeyTuple)];
    const mined = await this.#send("payRedemptions", actor, "vouchers", "payRedemptions", args);
    const total = mined.events.reduce((sum, e) => (e.name === "RedemptionPaid" ? sum + e.args.amount : sum), 0n);
    return { ...txResult(mined), total };
  }

  async confirmRedemptionSettlements(
    actor: ActorId,
    bankRefDigest: Bytes32,
    keys: readonly RedemptionKey[],
  ): Promise<TxResult> {
    return this.#tx("confirmRedemptionSettlements", actor, "vouchers", [bankRefDigest, keys.map(redemptionKeyTuple)]);
  }

  async reportRedemptionFailure(actor: ActorId, k: RedemptionKey, reasonDigest: Bytes32): Promise<TxResult> {
    return this.#tx("reportRedemptionFailure", actor, "vouchers", [redemptionKeyTuple(k), reasonDigest]);
  }

  async expireVouchers(
    actor: ActorId,
    voucherIds: readonly Bytes32[],
  ): Promise<TxResult & { expired: number; returned: bigint }> {
    const mined = await this.#send("expireVouchers", actor, "vouchers", "expireVouchers", [[...voucherIds]]);
    let expired = 0;
    let returned = 0n;
    for (const e of mined.events) {
      if (e.name !== "VoucherExpired") continue;
      expired += 1;
      returned += e.args.amount;
    }
    return { ...txResult(mined), expired, returned };
  }

  async voucherTerms(programmeId: number): Promise<VoucherTerms> {
    return decodeVoucherTerms(await this.#call("vouchers", "voucherTerms", [programmeId]));
  }

  async providerCategory(account: Account): Promise<ProviderCategory> {
    return decodeProviderCategory(await this.#call("vouchers", "providerCategory", [account]));
  }

  async voucher(voucherId: Bytes32): Promise<VoucherRecord | null> {
    return decodeVoucher(await this.#call("vouchers", "voucher", [voucherId]));
  }

  async presentation(voucherId: Bytes32): Promise<PresentationRecord> {
    return decodePresentation(await this.#call("vouchers", "presentation", [voucherId]));
  }

  async redemption(k: RedemptionKey): Promise<RedemptionRecord | null> {
    return decodeRedemption(await this.#call("vouchers", "redemption", [redemptionKeyTuple(k)]));
  }

  async voucherTotals(programmeId: number): Promise<VoucherTotals> {
    return decodeVoucherTotals(await this.#call("vouchers", "voucherTotals", [programmeId]));
  }

  async voucherEscrow(): Promise<bigint> {
    return big(await this.#call("ledger", "voucherEscrow", []));
  }

  // ---- Events ----------------------------------------------------------------------------------------------

  async blockNumber(): Promise<number> {
    return num(await this.#rpc({ operation: "blockNumber" }, () => this.#provider.send("eth_blockNumber", [])));
  }

  async events(fromBlock: number, toBlock?: number, options: EventQueryOptions = {}): Promise<LedgerEvent[]> {
    const ctx = { operation: "events" };
    const last = toBlock ?? (await this.blockNumber());
    const address = CONTRACTS.map((c) => this.addresses[c]);
    const out: LedgerEvent[] = [];
    let span = this.#settings.logBlockSpan;
    for (let start = fromBlock; start <= last;) {
      const end = Math.min(last, start + span - 1);
      const filter = { address, fromBlock: toQuantity(start), toBlock: toQuantity(end) };
      let logs: RawLog[];
      try {
        logs = await this.#rpc(ctx, () => this.#provider.send("eth_getLogs", [filter]));
      } catch (err) {
        // Nodes cap the blocks or results of one query: ask for half the range.
        if (end > start && !(err instanceof LedgerUnavailableError)) {
          span = Math.max(1, Math.floor((end - start + 1) / 2));
          continue;
        }
        throw err;
      }
      for (const log of logs) if (!log.removed) out.push(this.#events.decode(log));
      start = end + 1;
    }
    out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    if (options.timestamps) await this.#fillTimestamps(out);
    return out;
  }

  async #fillTimestamps(events: LedgerEvent[]): Promise<void> {
    const times = new Map<number, number>();
    for (const e of events) {
      if (e.timestamp !== undefined) times.set(e.blockNumber, e.timestamp);
    }
    for (const e of events) {
      if (!times.has(e.blockNumber)) {
        const block = await this.#rpc({ operation: "events" }, () =>
          this.#provider.send("eth_getBlockByNumber", [toQuantity(e.blockNumber), false]),
        );
        times.set(e.blockNumber, num(block.timestamp));
      }
      e.timestamp = times.get(e.blockNumber);
    }
  }

  // ---- Machinery -------------------------------------------------------------------------------------------

  #sender(actor: ActorId, operation: string): TxSender {
    const sender = this.#senders.get(actor);
    if (!sender) throw new LedgerConfigError(`${operation}: no chain key for actor "${actor}"`);
    return sender;
  }

  /** Runs a JSON-RPC request under the deadline, translating failures. */
  async #rpc<T>(ctx: Context, request: () => Promise<T>): Promise<T> {
    const ms = this.#settings.rpcTimeoutMs;
    try {
      return await withDeadline(
        request(),
        ms,
        () => new LedgerUnavailableError("timeout", `no answer within ${ms} ms`, { ...ctx }),
      );
    } catch (err) {
      throw this.#translate(err, ctx);
    }
  }

  /** A view call. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async #call(contract: LedgerContract, fn: string, args: unknown[]): Promise<any> {
    return this.#rpc({ operation: fn }, () => this.#contracts[contract].getFunction(fn).staticCall(...args));
  }

  /** A write whose result is only its transaction. */
  async #tx(fn: string, actor: ActorId, contract: LedgerContract, args: unknown[], operation = fn): Promise<TxResult> {
    return txResult(await this.#send(operation, actor, contract, fn, args));
  }

  /** Estimates, sends, waits for and checks one transaction. */
  /** One `multicall` transaction of ledger calls, each as if `actor` had sent it alone. */
  async #multicall(operation: string, actor: ActorId, calls: readonly Call[]): Promise<Mined> {
    const iface = this.#interfaces.ledger;
    const data = calls.map(([fn, args]) => iface.encodeFunctionData(fn, args));
    return this.#send(operation, actor, "ledger", "multicall", [data]);
  }

  async #send(
    operation: string,
    actor: ActorId,
    contract: LedgerContract,
    fn: string,
    args: unknown[],
  ): Promise<Mined> {
    const sender = this.#sender(actor, operation);
    const ctx = { operation, actor };
    const request = this.#request(ctx, sender, contract, fn, args);
    const gas = await this.#estimate(ctx, request);
    if (gas > this.#settings.txGasCap) {
      throw new LedgerError("TransactionTooLarge", { ...ctx, args: { gas, cap: this.#settings.txGasCap } });
    }
    return this.#sendAndWait(ctx, sender, request, gas);
  }

  #request(ctx: Context, sender: TxSender, contract: LedgerContract, fn: string, args: unknown[]): TransactionRequest {
    let data: string;
    try {
      const iface = this.#interfaces[contract];
      let known = this.#functions.get(`${contract}.${fn}`);
      if (known === undefined) {
        const fragment = iface.getFunction(fn);
        if (!fragment) throw new Error(`the ${contract} contract has no function ${fn}`);
        known = { fragment, selector: fragment.selector };
        this.#functions.set(`${contract}.${fn}`, known);
      }
      data = concat([known.selector, iface.getAbiCoder().encode(known.fragment.inputs, args)]);
    } catch (err) {
      throw this.#translate(err, ctx);
    }
    return { from: sender.address, to: this.addresses[contract], data };
  }

  async #estimate(ctx: Context, request: TransactionRequest): Promise<bigint> {
    const call = { from: request.from, to: request.to, data: request.data };
    return BigInt(await this.#rpc(ctx, () => this.#provider.send("eth_estimateGas", [call])));
  }

  async #sendAndWait(ctx: Context, sender: TxSender, request: TransactionRequest, gas: bigint): Promise<Mined> {
    const cap = this.#settings.txGasCap;
    const withMargin = (gas * (100n + BigInt(this.#settings.gasMarginPercent))) / 100n;
    const tx: TransactionRequest = {
      to: request.to,
      data: request.data,
      chainId: this.chainId,
      gasLimit: withMargin < cap ? withMargin : cap,
      ...(await this.#feeData(ctx)),
    };
    const txHash = await sender.send(tx, this.#node).catch((err) => {
      throw this.#translate(err, ctx);
    });
    const receipt = await this.#waitForReceipt({ ...ctx, txHash }, sender);
    const mined: TxResult = { txHash: receipt.hash.toLowerCase(), blockNumber: receipt.blockNumber };
    if (receipt.status !== 1) {
      const decoded = await this.#replay(request, receipt.blockNumber);
      throw new LedgerError(decoded?.code ?? "TransactionReverted", {
        ...ctx,
        ...mined,
        args: decoded?.args,
        values: decoded?.values,
        revertData: decoded?.revertData,
      });
    }
    // Decoded when first read: writes whose result is only their transaction (`#tx`) never pay for it.
    let events: LedgerEvent[] | undefined;
    const decoder = this.#events;
    return {
      ...mined,
      get events() {
        return (events ??= receipt.logs.filter((log) => decoder.owns(log)).map((log) => decoder.decode(log)));
      },
    };
  }

  async #feeData(ctx: Context): Promise<Fees> {
    const now = Date.now();
    if (!this.#fees || now - this.#fees.at > this.#settings.feeCacheMs) {
      const value = this.#rpc(ctx, () => this.#provider.getFeeData()).then((f): Fees => {
        if (f.maxFeePerGas !== null && f.maxPriorityFeePerGas !== null) {
          return { maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas };
        }
        return { gasPrice: f.gasPrice ?? 0n };
      });
      this.#fees = { at: now, value };
      value.catch(() => (this.#fees = null));
    }
    return this.#fees.value;
  }

  /**
   * Waits for the receipt of a transaction just sent. One actor's transactions are mined in nonce order, so the wait
   * for a transaction starts polling once the actor's previous one has its receipt (or has given up): a pipeline of
   * writes polls for one receipt at a time, not for all of them.
   */
  async #waitForReceipt(ctx: Context & { txHash: string }, sender: TxSender): Promise<Receipt> {
    const limit = this.#settings.receiptTimeoutMs;
    const deadline = Date.now() + limit;
    const earlier = this.#receiptWaits.get(sender);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.#receiptWaits.set(sender, mine);
    let pause = 5;
    try {
      if (earlier) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([earlier, new Promise<void>((resolve) => (timer = setTimeout(resolve, limit)))]);
        clearTimeout(timer);
      }
      for (;;) {
        const raw = await this.#pollReceipt(ctx, deadline);
        if (raw) {
          const r = raw as { transactionHash: string; blockNumber: string; status: string; logs: RawLog[] };
          return {
            hash: r.transactionHash,
            blockNumber: Number(r.blockNumber),
            status: Number(r.status),
            logs: r.logs,
          };
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new LedgerUnavailableError("timeout", `transaction ${ctx.txHash} not mined within ${limit} ms`, ctx);
        }
        await sleep(Math.min(pause, left));
        pause = Math.min(pause * 2, this.#settings.pollIntervalMs);
      }
    } catch (err) {
      // The transaction may be lost (a node restarted from an older state): count nonces from the node again.
      sender.resetNonce();
      throw err;
    } finally {
      done();
      if (this.#receiptWaits.get(sender) === mine) this.#receiptWaits.delete(sender);
    }
  }

  /**
   * One receipt poll. A node busy mining a large block can leave a poll unanswered past the RPC deadline while the
   * transaction is on its way into a block: such a poll counts as "not yet" until the receipt's own deadline, rather
   * than failing a write that is about to be mined. A node that refuses or errs fails the wait at once.
   */
  async #pollReceipt(ctx: Context & { txHash: string }, deadline: number): Promise<unknown> {
    try {
      return await this.#rpc(ctx, () => this.#provider.send("eth_getTransactionReceipt", [ctx.txHash]));
    } catch (err) {
      if (err instanceof LedgerUnavailableError && err.reason === "timeout" && Date.now() < deadline) return null;
      throw err;
    }
  }

  /** Why a mined transaction failed: the revert of the same call on the state after its block, if it reverts. */
  async #replay(request: TransactionRequest, blockNumber: number) {
    const ms = this.#settings.rpcTimeoutMs;
    try {
      const replay = this.#provider.call({ ...request, blockTag: blockNumber });
      await withDeadline(replay, ms, () => new Error(`replay not answered within ${ms} ms`));
      return undefined;
    } catch (err) {
      // Not a revert (the node went away, the replay timed out): the transaction failed all the same.
      if (!isRevert(err)) return undefined;
      const decoded = this.#reverts.decode(revertData(err));
      return { ...decoded, revertData: revertData(err) };
    }
  }

  /**
   * Sends `items` in chunks, one transaction each and in order, splitting any chunk whose gas estimate exceeds
   * the transaction cap. A failure carries the transactions already mined.
   */
  async #chunked<T>(
    operation: string,
    actor: ActorId,
    items: readonly T[],
    chunkSize: number,
    call: (chunk: T[]) => [string, unknown[]],
    onMined: (chunk: T[], mined: Mined) => void,
    contract: LedgerContract = "ledger",
  ): Promise<TxResult[]> {
    const sender = this.#sender(actor, operation);
    const ctx = { operation, actor };
    const pending = chunks(items, chunkSize);
    const completed: TxResult[] = [];
    try {
      while (pending.length > 0) {
        const chunk = pending.shift()!;
        const [fn, args] = call(chunk);
        const request = this.#request(ctx, sender, contract, fn, args);
        const gas = await this.#estimate(ctx, request);
        if (gas > this.#settings.txGasCap) {
          if (chunk.length === 1) {
            throw new LedgerError("TransactionTooLarge", { ...ctx, args: { gas, cap: this.#settings.txGasCap } });
          }
          const half = Math.ceil(chunk.length / 2);
          pending.unshift(chunk.slice(0, half), chunk.slice(half));
          continue;
        }
        const mined = await this.#sendAndWait(ctx, sender, request, gas);
        onMined(chunk, mined);
        completed.push(txResult(mined));
      }
    } catch (err) {
      if (err instanceof LedgerError || err instanceof LedgerUnavailableError) throw err.withCompleted(completed);
      throw err;
    }
    return completed;
  }

  /** The ledger's error for a failure of a request. */
  #translate(err: unknown, ctx: Context): unknown {
    if (err instanceof LedgerError || err instanceof LedgerUnavailableError || err instanceof LedgerConfigError) {
      return err;
    }
    const reason = unavailableReason(err);
    if (reason)
      return new LedgerUnavailableError(reason, (err as Error).message ?? String(err), { ...ctx, cause: err });
    if (hasCode(err, "INVALID_ARGUMENT")) {
      const { argument, value } = err as { argument?: string; value?: unknown };
      return new LedgerError("InvalidArgument", { ...ctx, args: { argument, value }, cause: err });
    }
    if (hasCode(err, "INSUFFICIENT_FUNDS")) {
      return new LedgerError("InsufficientFundsForGas", { ...ctx, cause: err });
    }
    if (isRevert(err)) {
      const data = revertData(err);
      const decoded = this.#reverts.decode(data);
      return new LedgerError(decoded.code, {
        ...ctx,
        args: decoded.args,
        values: decoded.values,
        revertData: data,
        cause: err,
      });
    }
    return err;
  }
}

function txResult(m: TxResult): TxResult {
  return { txHash: m.txHash, blockNumber: m.blockNumber };
}

function assessmentArg(a: { householdSize: number; incomePerHead: bigint; amount: bigint }) {
  return { householdSize: a.householdSize, incomePerHead: a.incomePerHead, amount: a.amount };
}

/** Adds one mined chunk of a payout run: an outcome per listed case, in order, from its events. */
function addRun(result: PayoutRunResult, chunk: readonly Bytes32[], mined: Mined): void {
  const outcomes: PayoutOutcome[] = [];
  for (const e of mined.events) {
    if (e.name === "PayoutExecuted") outcomes.push({ caseId: e.args.caseId, status: "paid", amount: e.args.amount });
    if (e.name === "PayoutSkipped") {
      outcomes.push({ caseId: e.args.caseId, status: "skipped", reason: e.args.reason as SkipReason });
    }
  }
  const summary = only(mined.events, "PayoutRunExecuted");
  if (outcomes.length !== chunk.length || outcomes.some((o, i) => o.caseId !== chunk[i].toLowerCase())) {
    throw new Error(`payout run transaction ${mined.txHash}: its events do not match the ${chunk.length} cases sent`);
  }
  result.programmeId = summary.programmeId;
  result.period = summary.period;
  result.outcomes.push(...outcomes);
  result.paid += summary.paid;
  result.skipped += summary.skipped;
  result.total += summary.total;
  result.transactions.push({
    ...txResult(mined),
    cases: chunk.length,
    paid: summary.paid,
    skipped: summary.skipped,
    total: summary.total,
  });
}

/** Adds one mined chunk of an issuing run: an outcome per listed case, in order, from its events. */
function addIssues(
  result: { outcomes: VoucherIssueOutcome[]; issued: number; total: bigint },
  chunk: readonly Bytes32[],
  mined: Mined,
): void {
  const outcomes: VoucherIssueOutcome[] = [];
  for (const e of mined.events) {
    if (e.name === "VoucherIssued") {
      const { voucherId, faceValue, expiresAt } = e.args;
      outcomes.push({ caseId: voucherId, status: "issued", faceValue, expiresAt });
    }
    if (e.name === "VoucherSkipped") {
      outcomes.push({ caseId: e.args.caseId, status: "skipped", reason: e.args.reason as SkipReason });
    }
  }
  if (outcomes.length !== chunk.length || outcomes.some((o, i) => o.caseId !== chunk[i].toLowerCase())) {
    throw new Error(
      `issueVouchers transaction ${mined.txHash}: its events do not match the ${chunk.length} cases sent`,
    );
  }
  for (const o of outcomes) {
    if (o.status !== "issued") continue;
    result.issued += 1;
    result.total += o.faceValue;
  }
  result.outcomes.push(...outcomes);
}
