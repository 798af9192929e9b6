/**
 * The ledger's events in domain terms: every event that the institution registry, the relief ledger, the receipt
 * book, the anchor log and the voucher book emit, with its fields in the order the contracts declare them. The fund trail and the
 * audit are rebuilt from this stream, so it is chain-neutral: an adapter (EVM, Fabric) decodes its chain's logs
 * into these shapes.
 *
 * {@link EVENT_FIELDS} is the single source: the TypeScript types below are derived from it, and the EVM adapter
 * checks it against the contracts' ABIs when it starts (a changed event fails loudly instead of decoding wrong).
 */
import type { CaseStatus, ProgrammeKind, Role, SkipReason } from "../../../lib/roles";
import type { DisputeOutcome, ReceiptSource } from "../../../lib/receipts";
import type { ProviderCategory, VoucherFundsMove, VoucherKind } from "../../../lib/vouchers";

/**
 * What a field holds once decoded:
 * - `bytes32`: a 32-byte id or digest as 0x-prefixed lowercase hex;
 * - `account`: a checksummed chain account (an institution's or a beneficiary's key);
 * - `number`: an integer that always fits a JavaScript number (periods, programme ids, timestamps, counts);
 * - `bigint`: fen amounts and region codes;
 * - the enum kinds: the number of a {@link Role}, {@link ProgrammeKind}, {@link VoucherKind}, … member.
 */
export type FieldKind =
  | "bytes32"
  | "account"
  | "number"
  | "bigint"
  | "bool"
  | "string"
  | "role"
  | "programmeKind"
  | "caseStatus"
  | "skipReason"
  | "receiptSource"
  | "disputeOutcome"
  | "voucherKind"
  | "providerCategory"
  | "voucherFundsMove";

interface FieldTypes {
  bytes32: string;
  account: string;
  number: number;
  bigint: bigint;
  bool: boolean;
  string: string;
  role: Role;
  programmeKind: ProgrammeKind;
  caseStatus: CaseStatus;
  skipReason: SkipReason;
  receiptSource: ReceiptSource;
  disputeOutcome: DisputeOutcome;
  voucherKind: VoucherKind;
  providerCategory: ProviderCategory;
  voucherFundsMove: VoucherFundsMove;
}

/** Which contract emits an event. */
export type LedgerContract = "registry" | "ledger" | "receipts" | "anchors" | "vouchers";

/** Every event, by contract, with its fields in declaration order. */
export const EVENT_FIELDS = {
  registry: {
    InstitutionRegistered: { account: "account", role: "role", region: "bigint", keyDigest: "bytes32" },
    InstitutionActiveSet: { account: "account", active: "bool" },
    InstitutionKeyRotated: {
      account: "account",
      oldKeyDigest: "bytes32",
      newKeyDigest: "bytes32",
      validFrom: "number",
    },
    LedgerPaused: { by: "account" },
    LedgerUnpaused: { by: "account" },
    OwnershipTransferStarted: { previousOwner: "account", newOwner: "account" },
    OwnershipTransferred: { previousOwner: "account", newOwner: "account" },
  },
  ledger: {
    ProgrammeCreated: { programmeId: "number", kind: "programmeKind", region: "bigint", ruleVersion: "bytes32" },
    ProgrammeRuleUpdated: { programmeId: "number", oldRuleVersion: "bytes32", newRuleVersion: "bytes32" },
    FundsAppropriated: { amount: "bigint", referenceDigest: "bytes32" },
    FundsAllocated: { fromRegion: "bigint", toRegion: "bigint", amount: "bigint", referenceDigest: "bytes32" },
    FundsReturned: { fromRegion: "bigint", toRegion: "bigint", amount: "bigint", referenceDigest: "bytes32" },
    ProgrammeFunded: { programmeId: "number", region: "bigint", amount: "bigint", referenceDigest: "bytes32" },
    ProgrammeDefunded: { programmeId: "number", region: "bigint", amount: "bigint", referenceDigest: "bytes32" },
    ClawbackRecorded: {
      caseId: "bytes32",
      programmeId: "number",
      eventId: "bytes32",
      period: "number",
      amount: "bigint",
      referenceDigest: "bytes32",
    },
    CaseSubmitted: {
      caseId: "bytes32",
      programmeId: "number",
      region: "bigint",
      pseudonym: "bytes32",
      recordDigest: "bytes32",
      submitter: "account",
    },
    CaseReviewed: { caseId: "bytes32", passed: "bool", reasonDigest: "bytes32", noticeEnds: "number" },
    ObjectionRaised: { caseId: "bytes32", objectionDigest: "bytes32" },
    ObjectionResolved: { caseId: "bytes32", objectionDigest: "bytes32", upheld: "bool", reasonDigest: "bytes32" },
    CaseApproved: {
      caseId: "bytes32",
      amount: "bigint",
      firstPeriod: "number",
      lastPeriod: "number",
      ruleVersion: "bytes32",
      standard: "bigint",
      householdSize: "number",
      incomePerHead: "bigint",
    },
    CaseRejected: { caseId: "bytes32", reasonDigest: "bytes32" },
    CaseSuspended: { caseId: "bytes32", reasonDigest: "bytes32" },
    CaseResumed: { caseId: "bytes32", reasonDigest: "bytes32" },
    CaseRecertified: {
      caseId: "bytes32",
      amount: "bigint",
      lastPeriod: "number",
      ruleVersion: "bytes32",
      standard: "bigint",
      householdSize: "number",
      incomePerHead: "bigint",
      recordDigest: "bytes32",
    },
    CaseExited: { caseId: "bytes32", lastPeriod: "number", reasonDigest: "bytes32" },
    BeneficiaryKeySet: { caseId: "bytes32", key: "account" },
    PayoutExecuted: {
      caseId: "bytes32",
      programmeId: "number",
      eventId: "bytes32",
      period: "number",
      amount: "bigint",
    },
    PayoutSkipped: { caseId: "bytes32", eventId: "bytes32", period: "number", reason: "skipReason" },
    PayoutRunExecuted: {
      programmeId: "number",
      eventId: "bytes32",
      period: "number",
      paid: "number",
      skipped: "number",
      total: "bigint",
    },
    MedicalBillCertified: {
      billId: "bytes32",
      caseId: "bytes32",
      billAmount: "bigint",
      amount: "bigint",
      billDigest: "bytes32",
    },
    DisasterDeclared: {
      disasterId: "bytes32",
      programmeId: "number",
      region: "bigint",
      declarationDigest: "bytes32",
    },
    PayoutSettled: { caseId: "bytes32", eventId: "bytes32", period: "number", bankRefDigest: "bytes32" },
    PayoutFailed: {
      caseId: "bytes32",
      programmeId: "number",
      eventId: "bytes32",
      period: "number",
      amount: "bigint",
      reasonDigest: "bytes32",
    },
    // IVoucherFunding: the relief ledger's side of the voucher book
    VoucherBookLinked: { book: "account" },
    VoucherFundsMoved: { programmeId: "number", move: "voucherFundsMove", amount: "bigint" },
  },
  receipts: {
    ReceiptConfirmed: {
      caseId: "bytes32",
      eventId: "bytes32",
      period: "number",
      source: "receiptSource",
      noteDigest: "bytes32",
    },
    DisputeOpened: {
      caseId: "bytes32",
      eventId: "bytes32",
      period: "number",
      responseDeadline: "number",
      noteDigest: "bytes32",
    },
    DisputeResolved: {
      caseId: "bytes32",
      eventId: "bytes32",
      period: "number",
      outcome: "disputeOutcome",
      resolutionDigest: "bytes32",
    },
    EIP712DomainChanged: {},
  },
  anchors: {
    RecordsAnchored: {
      sequence: "number",
      region: "bigint",
      root: "bytes32",
      recordCount: "number",
      firstRecordIndex: "number",
      metadataDigest: "bytes32",
    },
  },
  vouchers: {
    VoucherTermsSet: { programmeId: "number", kind: "voucherKind", categories: "number", validity: "number" },
    ProviderCategorySet: { provider: "account", category: "providerCategory" },
    VoucherIssued: {
      voucherId: "bytes32",
      programmeId: "number",
      kind: "voucherKind",
      faceValue: "bigint",
      expiresAt: "number",
    },
    VoucherSkipped: { caseId: "bytes32", reason: "skipReason" },
    VoucherPresented: {
      voucherId: "bytes32",
      provider: "account",
      maxAmount: "bigint",
      expiresAt: "number",
      presentationDigest: "bytes32",
    },
    VoucherRedeemed: {
      voucherId: "bytes32",
      index: "number",
      provider: "account",
      programmeId: "number",
      amount: "bigint",
      remaining: "bigint",
      invoiceDigest: "bytes32",
    },
    VoucherExpired: { voucherId: "bytes32", programmeId: "number", amount: "bigint" },
    RedemptionPaid: { voucherId: "bytes32", index: "number", provider: "account", amount: "bigint" },
    RedemptionSettled: { voucherId: "bytes32", index: "number", bankRefDigest: "bytes32" },
    RedemptionFailed: { voucherId: "bytes32", index: "number", amount: "bigint", reasonDigest: "bytes32" },
  },
} as const satisfies Record<LedgerContract, Record<string, Record<string, FieldKind>>>;

type Schema = typeof EVENT_FIELDS;
type Flat = UnionToIntersection<Schema[LedgerContract]>;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The name of every ledger event. */
export type LedgerEventName = keyof Flat & string;

/** The decoded fields of event `N`. */
export type LedgerEventArgs<N extends LedgerEventName> = {
  -readonly [F in keyof Flat[N]]: Flat[N][F] extends FieldKind ? FieldTypes[Flat[N][F]] : never;
};

/** Where an event sits in the chain: events are totally ordered by (blockNumber, logIndex). */
export interface EventPosition {
  blockNumber: number;
  logIndex: number;
  txHash: string;
  /** The block's timestamp (seconds), when the caller asked for timestamps. */
  timestamp?: number;
}

/** One decoded event; switch on `name` to narrow `args`. */
export type LedgerEvent = {
  [N in LedgerEventName]: EventPosition & { name: N; contract: LedgerContract; args: LedgerEventArgs<N> };
}[LedgerEventName];

/** The contract that emits each event. */
export const EVENT_CONTRACT: Readonly<Record<LedgerEventName, LedgerContract>> = Object.fromEntries(
  (Object.keys(EVENT_FIELDS) as LedgerContract[]).flatMap((contract) =>
    Object.keys(EVENT_FIELDS[contract]).map((name) => [name, contract]),
  ),
) as Record<LedgerEventName, LedgerContract>;
