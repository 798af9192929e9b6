/**
 * Audit bundles (`relief-audit-bundle-v1`): what an auditor downloads to check, with nothing but the chain, that a
 * record, a case or a programme's payouts for a period are what was anchored and paid. A bundle holds
 *
 * - `chain`: the chain id and the four contracts (and the deployment block);
 * - `subject`: what it is the bundle of;
 * - `records`: each record's header, its envelope (SM4 ciphertext, base64) or, for a receipt record, the signed
 *   receipt, its digest and its inclusion proof (`relief-proof-v1`) — never decrypted fields;
 * - `anchors`: every anchor those proofs name, as the chain reports it, with its transaction and the audit path of
 *   its leaf in the anchor log;
 * - `checkpoint`: the anchor log's signed head (`relief-checkpoint-v1`, checkpoints.ts), and `consistency` from an
 *   earlier checkpoint when the caller gave one;
 * - `chainFacts` (case and programme-period bundles): each case's state on chain and its payouts with their
 *   statuses and receipt outcomes, read at the checkpoint's block.
 *
 * No personal data: envelopes are ciphertext, receipts hold ids, amounts and keyed digests only, and nothing decrypted
 * is ever put in a bundle (an auditor who needs plaintext uses the audited decrypt, which is logged and anchored).
 * Records not anchored yet are left out (the API says how many in the `Relief-Unanchored-Records` header): a bundle
 * only holds what the chain can confirm. Arrays are in a fixed order (records by anchor and leaf, anchors by
 * sequence, cases by id, payouts by period and event) and the API serves the bundle as RFC 8785 canonical JSON.
 * docs/PROOFS.md describes every field and the verification; verifier.ts runs it.
 */
import { getAddress } from "ethers";
import { z } from "zod";
import { formatPeriod, parsePeriod } from "../../../lib/periods";
import { CaseStatus, PayoutStatus } from "../../../lib/roles";
import { ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import { ProofError, type RecordProof, proofOf } from "../anchoring";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { PayoutKey } from "../ledger";
import { payoutIdOf } from "../payouts/ids";
import { recordProofSchema } from "../receipts/bundle";
import { bytes32Schema, chainIdSchema, checksummedAddressSchema, describeIssues } from "../receipts/receipt";
import type { ReceiptRow, StoredRecord } from "../store";
import { ChainView } from "./chain-view";
import {
  type Checkpoint,
  CheckpointError,
  anchorInclusionProof,
  anchorLeaves,
  consistencyBetween,
  parseCheckpoint,
  readAnchors,
  readCheckpoint,
  signCheckpoint,
} from "./checkpoints";
import { RECEIPT_RECORD_KIND, anchorChain } from "./verification";

export const AUDIT_BUNDLE_FORMAT = "relief-audit-bundle-v1";

export interface BundleChain {
  chainId: string;
  anchorLog: string;
  ledger: string;
  receiptBook: string;
  registry: string;
  deployedAtBlock: number;
}

export type BundleSubject =
  | { kind: "record"; recordId: string }
  | { kind: "case"; caseId: string }
  | { kind: "programme-period"; programmeId: number; period: string };

export interface BundleRecord {
  recordId: string;
  kind: string;
  caseId: string;
  /**
   * Sealed records only (their header is in the digest). A receipt record has neither: its digest commits to the
   * signed receipt alone, so its region and schema version would be claims that nothing in the bundle can check.
   */
  regionCode?: number;
  schemaVersion?: number;
  /** The sealed envelope (SM4-GCM ciphertext), base64: every record but receipts. */
  envelope?: string;
  /** Receipt records: the canonical receipt and the gateway's signature, whose receipt digest is the record digest. */
  receipt?: { canonical: string; signature: string };
  digest: string;
  proof: RecordProof;
}

export interface BundleAnchor {
  sequence: number;
  root: string;
  firstRecordIndex: number;
  recordCount: number;
  /** Decimal region code. */
  region: string;
  blockNumber: number;
  txHash: string;
  /** Audit path of the anchor's leaf in the log of the checkpoint's size. */
  checkpointProof: string[];
}

export type CaseStatusName = "submitted" | "in-notice" | "approved" | "suspended" | "exiting" | "rejected";
export type PayoutStatusName = "none" | "paid" | "settled";
export type ReceiptOutcomeName = "none" | "confirmed" | "not-received";
export type ReceiptSourceName = "none" | "signature" | "attestation";

export interface PayoutFacts {
  payoutId: string;
  period: number;
  eventId: string;
  /** Fen, decimal. */
  amount: string;
  status: PayoutStatusName;
  /** The payout's transaction and block, as the gateway noted them (null if it has none). */
  txHash: string | null;
  blockNumber: number | null;
  receipt: { outcome: ReceiptOutcomeName; source: ReceiptSourceName; timestamp: number; txHash: string | null };
}

export interface CaseFacts {
  caseId: string;
  status: CaseStatusName;
  programmeId: number;
  /** Decimal region code. */
  region: string;
  /** Fen, decimal (per period, approved sum, per household or annual cap, by programme kind). */
  amount: string;
  firstPeriod: number;
  lastPeriod: number;
  paidThrough: number;
  /** The digest of the case's application record (the chain's `recordDigest`). */
  recordDigest: string;
  /** The case's payouts on chain (a programme-period bundle: those of its period), by period and event id. */
  payouts: PayoutFacts[];
}

export interface ChainFacts {
  /** The block the facts were read at: the checkpoint's. */
  atBlock: number;
  cases: CaseFacts[];
}

export interface AuditBundle {
  format: typeof AUDIT_BUNDLE_FORMAT;
  chain: BundleChain;
  subject: BundleSubject;
  records: BundleRecord[];
  anchors: BundleAnchor[];
  checkpoint: Checkpoint;
  consistency?: { from: Checkpoint; proof: string[] };
  chainFacts?: ChainFacts;
}

export interface BundleOptions {
  /** An earlier checkpoint the caller kept: the bundle then proves that its checkpoint extends that one. */
  since?: Checkpoint;
}

export interface BuiltBundle {
  bundle: AuditBundle;
  /** Records of the subject left out because they are not anchored yet. */
  unanchored: number;
}

/** Limits of one bundle: a larger export should be split (by case). */
export const MAX_BUNDLE_RECORDS = 2_000;
export const MAX_BUNDLE_CASES = 500;

const CASE_STATUS: Record<number, CaseStatusName> = {
  [CaseStatus.Submitted]: "submitted",
  [CaseStatus.InNotice]: "in-notice",
  [CaseStatus.Approved]: "approved",
  [CaseStatus.Suspended]: "suspended",
  [CaseStatus.Exiting]: "exiting",
  [CaseStatus.Rejected]: "rejected",
};
const PAYOUT_STATUS: Record<number, PayoutStatusName> = {
  [PayoutStatus.None]: "none",
  [PayoutStatus.Paid]: "paid",
  [PayoutStatus.Settled]: "settled",
};
const RECEIPT_OUTCOME: Record<number, ReceiptOutcomeName> = {
  [ReceiptOutcome.None]: "none",
  [ReceiptOutcome.Confirmed]: "confirmed",
  [ReceiptOutcome.NotReceived]: "not-received",
};
const RECEIPT_SOURCE: Record<number, ReceiptSourceName> = {
  [ReceiptSource.None]: "none",
  [ReceiptSource.Signature]: "signature",
  [ReceiptSource.Attestation]: "attestation",
};

export const caseStatusName = (s: number): CaseStatusName => CASE_STATUS[s] ?? (`unknown-${s}` as CaseStatusName);
export const payoutStatusName = (s: number): PayoutStatusName =>
  PAYOUT_STATUS[s] ?? (`unknown-${s}` as PayoutStatusName);
export const receiptOutcomeName = (s: number): ReceiptOutcomeName =>
  RECEIPT_OUTCOME[s] ?? (`unknown-${s}` as ReceiptOutcomeName);
export const receiptSourceName = (s: number): ReceiptSourceName =>
  RECEIPT_SOURCE[s] ?? (`unknown-${s}` as ReceiptSourceName);

// ---- building -----------------------------------------------------------------------------------------------

const views = new WeakMap<GatewayContext, ChainView>();

/** The context's read-at-block view of the chain (one per context). */
export function chainViewOf(ctx: GatewayContext): ChainView {
  let view = views.get(ctx);
  if (!view) {
    view = new ChainView(ctx.rpcUrl, ctx.deployment.chainId, ctx.deployment.addresses);
    views.set(ctx, view);
  }
  return view;
}

/** The bundle's `chain` block of this deployment. */
export function bundleChain(ctx: GatewayContext): BundleChain {
  const d = ctx.deployment;
  return {
    chainId: BigInt(d.chainId).toString(),
    anchorLog: getAddress(d.addresses.anchors),
    ledger: getAddress(d.addresses.ledger),
    receiptBook: getAddress(d.addresses.receipts),
    registry: getAddress(d.addresses.registry),
    deployedAtBlock: d.deployedAtBlock,
  };
}

/** The log's checkpoint now, signed by the gateway's key as its anchoring institution. */
export async function currentCheckpoint(ctx: GatewayContext): Promise<Checkpoint> {
  const unsigned = await readCheckpoint(ctx.ledger, ctx.deployment, { cache: true });
  return signCheckpoint(unsigned, ctx.keyring.signingKey, ctx.ledger.accountOf(GATEWAY_ACTORS.anchorer));
}

/** The consistency proof from `since` to `checkpoint`; VALIDATION_FAILED / CONFLICT for a checkpoint that cannot be. */
export async function consistencyFrom(
  ctx: GatewayContext,
  since: Checkpoint,
  checkpoint: Checkpoint,
): Promise<string[]> {
  try {
    return await consistencyBetween(ctx.ledger, since, checkpoint, { cache: true });
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    if (error.code === "INCONSISTENT") throw new ApiError("CONFLICT", error.message, { field: "since" });
    throw new ApiError("VALIDATION_FAILED", error.message, { field: "since" });
  }
}

interface Proved {
  record: StoredRecord;
  proof: RecordProof;
}

async function proveAll(
  ctx: GatewayContext,
  records: StoredRecord[],
): Promise<{ proved: Proved[]; unanchored: number }> {
  const proved: Proved[] = [];
  let unanchored = 0;
  for (const record of records) {
    try {
      proved.push({ record, proof: await proofOf(ctx.store, record.id, anchorChain(ctx)) });
    } catch (error) {
      if (!(error instanceof ProofError)) throw error;
      if (error.code === "INCONSISTENT") {
        throw new ApiError(
          "CONFLICT",
          `the gateway's anchor of record ${record.id} does not match its leaves: run the audit sweep`,
        );
      }
      unanchored++;
    }
  }
  proved.sort((a, b) => a.proof.anchorSequence - b.proof.anchorSequence || a.proof.leafIndex - b.proof.leafIndex);
  return { proved, unanchored };
}

async function receiptRowsOf(ctx: GatewayContext, caseIds: Iterable<string>): Promise<Map<string, ReceiptRow>> {
  const byRecord = new Map<string, ReceiptRow>();
  for (const caseId of new Set(caseIds)) {
    for (const row of await ctx.store.listReceipts({ caseId })) byRecord.set(row.recordId, row);
  }
  return byRecord;
}

function bundleRecord(p: Proved, receipts: Map<string, ReceiptRow>): BundleRecord {
  const { record, proof } = p;
  const base = { recordId: record.id, kind: record.kind, caseId: record.caseId };
  if (record.kind === RECEIPT_RECORD_KIND) {
    const row = receipts.get(record.id);
    if (!row) throw new ApiError("CONFLICT", `receipt record ${record.id} has no stored receipt: run the audit sweep`);
    return { ...base, receipt: { canonical: row.receiptJson, signature: row.signature }, digest: record.digest, proof };
  }
  return {
    ...base,
    regionCode: record.regionCode,
    schemaVersion: record.schemaVersion,
    envelope: Buffer.from(record.envelope).toString("base64"),
    digest: record.digest,
    proof,
  };
}

async function caseFacts(
  ctx: GatewayContext,
  view: ChainView,
  caseId: string,
  atBlock: number,
  period?: number,
): Promise<CaseFacts> {
  const c = await view.caseRecord(caseId, atBlock);
  if (c === null) throw new ApiError("CONFLICT", `case ${caseId} is not on chain at block ${atBlock}`);
  const keys = (await view.casePayouts(caseId, atBlock))
    .filter((k) => period === undefined || k.period === period)
    .sort((a, b) => a.period - b.period || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const payouts: PayoutFacts[] = [];
  for (const key of keys) payouts.push(await payoutFacts(ctx, view, key, atBlock));
  return {
    caseId: caseId.toLowerCase(),
    status: caseStatusName(c.status),
    programmeId: c.programmeId,
    region: c.region.toString(),
    amount: c.amount.toString(),
    firstPeriod: c.firstPeriod,
    lastPeriod: c.lastPeriod,
    paidThrough: c.paidThrough,
    recordDigest: c.recordDigest,
    payouts,
  };
}

async function payoutFacts(
  ctx: GatewayContext,
  view: ChainView,
  key: PayoutKey,
  atBlock: number,
): Promise<PayoutFacts> {
  const payoutId = payoutIdOf(key);
  const [state, receipt, row, receiptRow] = await Promise.all([
    view.payoutStatus(key, atBlock),
    view.receiptOf(key, atBlock),
    ctx.store.getPayout(payoutId),
    ctx.store.getReceipt(payoutId),
  ]);
  const received = receipt.outcome !== ReceiptOutcome.None;
  return {
    payoutId,
    period: key.period,
    eventId: key.eventId.toLowerCase(),
    amount: state.amount.toString(),
    status: payoutStatusName(state.status),
    txHash: row?.txHash ?? null,
    blockNumber: row?.blockNumber ?? null,
    receipt: {
      outcome: receiptOutcomeName(receipt.outcome),
      source: receiptSourceName(receipt.source),
      timestamp: receipt.timestamp,
      txHash: received && receiptRow?.txHash ? receiptRow.txHash : null,
    },
  };
}

async function build(
  ctx: GatewayContext,
  subject: BundleSubject,
  records: StoredRecord[],
  facts: { caseIds: string[]; period?: number } | null,
  options: BundleOptions,
): Promise<BuiltBundle> {
  if (records.length > MAX_BUNDLE_RECORDS) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `a bundle holds at most ${MAX_BUNDLE_RECORDS} records: export by case`);
  }
  const { proved, unanchored } = await proveAll(ctx, records);
  // Read after the proofs: every anchor the store has confirmed is counted.
  const checkpoint = await currentCheckpoint(ctx);
  const inLog = proved.filter((p) => p.proof.anchorSequence < checkpoint.size);
  const anchors = await readAnchors(ctx.ledger, checkpoint.size, {
    cache: true,
    key: `${checkpoint.chainId}:${checkpoint.anchorLog}`,
  });
  const leaves = anchorLeaves(anchors);
  const receipts = await receiptRowsOf(
    ctx,
    inLog.filter((p) => p.record.kind === RECEIPT_RECORD_KIND).map((p) => p.record.caseId),
  );

  const bySequence = new Map<number, BundleAnchor>();
  for (const { proof } of inLog) {
    if (bySequence.has(proof.anchorSequence)) continue;
    const a = anchors[proof.anchorSequence];
    bySequence.set(proof.anchorSequence, {
      sequence: proof.anchorSequence,
      root: a.root,
      firstRecordIndex: a.firstRecordIndex,
      recordCount: a.recordCount,
      region: a.region.toString(),
      blockNumber: a.blockNumber,
      txHash: proof.txHash,
      checkpointProof: anchorInclusionProof(leaves, checkpoint.size, proof.anchorSequence),
    });
  }

  const bundle: AuditBundle = {
    format: AUDIT_BUNDLE_FORMAT,
    chain: bundleChain(ctx),
    subject,
    records: inLog.map((p) => bundleRecord(p, receipts)),
    anchors: [...bySequence.values()].sort((a, b) => a.sequence - b.sequence),
    checkpoint,
  };
  if (options.since !== undefined) {
    bundle.consistency = { from: options.since, proof: await consistencyFrom(ctx, options.since, checkpoint) };
  }
  if (facts !== null) {
    const view = chainViewOf(ctx);
    const cases: CaseFacts[] = [];
    for (const caseId of [...new Set(facts.caseIds.map((c) => c.toLowerCase()))].sort()) {
      cases.push(await caseFacts(ctx, view, caseId, checkpoint.blockNumber, facts.period));
    }
    bundle.chainFacts = { atBlock: checkpoint.blockNumber, cases };
  }
  return { bundle: parseAuditBundle(bundle), unanchored: unanchored + (proved.length - inLog.length) };
}

/**
 * The bundle of one record. NOT_FOUND if there is none; CONFLICT if it is not anchored yet. The caller has checked
 * the record's region against the principal.
 */
export async function recordBundle(
  ctx: GatewayContext,
  recordId: string,
  options: BundleOptions = {},
): Promise<BuiltBundle> {
  const record = await ctx.store.getRecord(recordId);
  if (!record) throw new ApiError("NOT_FOUND", "no such record");
  const built = await build(ctx, { kind: "record", recordId }, [record], null, options);
  if (built.bundle.records.length === 0) throw new ApiError("CONFLICT", "this record is not anchored yet");
  return built;
}

/** Every record of a case (up to {@link MAX_BUNDLE_RECORDS}), in the store's order. */
async function caseRecords(ctx: GatewayContext, caseId: string): Promise<StoredRecord[]> {
  const records = await ctx.store.listRecords({ caseId, limit: 1_000 });
  if (records.length >= 1_000) {
    throw new ApiError("PAYLOAD_TOO_LARGE", "this case has too many records for one bundle");
  }
  return records;
}

/** The bundle of a case: all its anchored records and its chain facts. NOT_FOUND if the gateway has no such case. */
export async function caseBundle(
  ctx: GatewayContext,
  caseId: string,
  options: BundleOptions = {},
): Promise<BuiltBundle> {
  const kase = await ctx.store.getCase(caseId);
  if (!kase) throw new ApiError("NOT_FOUND", "no such case");
  const id = kase.caseId.toLowerCase();
  return build(ctx, { kind: "case", caseId: id }, await caseRecords(ctx, kase.caseId), { caseIds: [id] }, options);
}

/**
 * The bundle of a programme's period over the cases of that programme inside `options.region` (default: everywhere;
 * the API passes the caller's scope): every case's anchored records, its state on chain and its payouts of that
 * period. PAYLOAD_TOO_LARGE beyond {@link MAX_BUNDLE_CASES} cases or {@link MAX_BUNDLE_RECORDS} records.
 */
export async function programmePeriodBundle(
  ctx: GatewayContext,
  programmeId: number,
  period: number,
  options: BundleOptions & { region?: bigint } = {},
): Promise<BuiltBundle> {
  const region = options.region ?? 0n;
  const caseIds: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ctx.store.listCases({
      withinRegion: Number(region),
      programmeId,
      afterCaseId: after,
      limit: 500,
    });
    caseIds.push(...page.map((c) => c.caseId));
    if (caseIds.length > MAX_BUNDLE_CASES) {
      throw new ApiError("PAYLOAD_TOO_LARGE", `a bundle covers at most ${MAX_BUNDLE_CASES} cases: narrow the region`);
    }
    if (page.length < 500) break;
    after = page[page.length - 1].caseId;
  }
  const records: StoredRecord[] = [];
  for (const caseId of caseIds) {
    records.push(...(await caseRecords(ctx, caseId)));
    if (records.length > MAX_BUNDLE_RECORDS) {
      throw new ApiError(
        "PAYLOAD_TOO_LARGE",
        `a bundle holds at most ${MAX_BUNDLE_RECORDS} records: narrow the region`,
      );
    }
  }
  return build(
    ctx,
    { kind: "programme-period", programmeId, period: formatPeriod(period) },
    records,
    { caseIds, period },
    options,
  );
}

// ---- parsing ------------------------------------------------------------------------------------------------

const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const decimalSchema = z.string().regex(/^(0|[1-9][0-9]{0,39})$/, "a decimal integer without leading zeros");
const hashesSchema = z.array(bytes32Schema).max(128);
const recordIdSchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, "a record id of printable ASCII (at most 200)");
const periodTextSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM")
  // zod runs this even when the pattern failed: a text parsePeriod refuses is simply not a period (never a throw).
  .refine((s) => {
    try {
      return formatPeriod(parsePeriod(s)) === s;
    } catch {
      return false;
    }
  }, "a period");
const base64Schema = z
  .string()
  .min(4)
  .max(10_000_000)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "padded base64")
  .refine((s) => s.length % 4 === 0 && Buffer.from(s, "base64").toString("base64") === s, "canonical base64");

const subjectSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("record"), recordId: recordIdSchema }).strict(),
  z.object({ kind: z.literal("case"), caseId: bytes32Schema }).strict(),
  z
    .object({
      kind: z.literal("programme-period"),
      programmeId: z.number().int().min(1).max(0xffff_ffff),
      period: periodTextSchema,
    })
    .strict(),
]);

const recordSchema = z
  .object({
    recordId: recordIdSchema,
    kind: z.string().min(1).max(64),
    caseId: z.string().min(1).max(200),
    regionCode: countSchema.optional(),
    schemaVersion: countSchema.min(1).optional(),
    envelope: base64Schema.optional(),
    receipt: z
      .object({ canonical: z.string().min(2).max(10_000), signature: base64Schema })
      .strict()
      .optional(),
    digest: bytes32Schema,
    proof: recordProofSchema,
  })
  .strict()
  .refine(
    (r) =>
      r.kind === RECEIPT_RECORD_KIND
        ? r.receipt !== undefined &&
          r.envelope === undefined &&
          r.regionCode === undefined &&
          r.schemaVersion === undefined
        : r.envelope !== undefined &&
          r.receipt === undefined &&
          r.regionCode !== undefined &&
          r.schemaVersion !== undefined,
    "a receipt record carries its receipt and no region or schema version (nothing commits to them); every other " +
      "record its envelope, region and schema version",
  );

const anchorSchema = z
  .object({
    sequence: countSchema,
    root: bytes32Schema,
    firstRecordIndex: countSchema,
    recordCount: countSchema.min(1),
    region: decimalSchema,
    blockNumber: countSchema,
    txHash: bytes32Schema,
    checkpointProof: hashesSchema,
  })
  .strict();

const payoutSchema = z
  .object({
    payoutId: z.string().max(200),
    period: countSchema,
    eventId: bytes32Schema,
    amount: decimalSchema,
    status: z.enum(["none", "paid", "settled"]),
    txHash: bytes32Schema.nullable(),
    blockNumber: countSchema.nullable(),
    receipt: z
      .object({
        outcome: z.enum(["none", "confirmed", "not-received"]),
        source: z.enum(["none", "signature", "attestation"]),
        timestamp: countSchema,
        txHash: bytes32Schema.nullable(),
      })
      .strict(),
  })
  .strict()
  .refine((p) => (p.txHash === null) === (p.blockNumber === null), "txHash and blockNumber go together");

const caseFactsSchema = z
  .object({
    caseId: bytes32Schema,
    status: z.enum(["submitted", "in-notice", "approved", "suspended", "exiting", "rejected"]),
    programmeId: z.number().int().min(1).max(0xffff_ffff),
    region: decimalSchema,
    amount: decimalSchema,
    firstPeriod: countSchema,
    lastPeriod: countSchema,
    paidThrough: countSchema,
    recordDigest: bytes32Schema,
    payouts: z.array(payoutSchema).max(10_000),
  })
  .strict();

const bundleSchema = z
  .object({
    format: z.literal(AUDIT_BUNDLE_FORMAT),
    chain: z
      .object({
        chainId: chainIdSchema,
        anchorLog: checksummedAddressSchema,
        ledger: checksummedAddressSchema,
        receiptBook: checksummedAddressSchema,
        registry: checksummedAddressSchema,
        deployedAtBlock: countSchema,
      })
      .strict(),
    subject: subjectSchema,
    records: z.array(recordSchema).max(MAX_BUNDLE_RECORDS),
    anchors: z.array(anchorSchema).max(MAX_BUNDLE_RECORDS),
    checkpoint: z.unknown(),
    consistency: z.object({ from: z.unknown(), proof: hashesSchema }).strict().optional(),
    chainFacts: z
      .object({ atBlock: countSchema, cases: z.array(caseFactsSchema).max(MAX_BUNDLE_CASES) })
      .strict()
      .optional(),
  })
  .strict();

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

function strictlyIncreasing<T>(items: readonly T[], key: (t: T) => string | number, what: string): void {
  for (let i = 1; i < items.length; i++) {
    if (!(key(items[i - 1]) < key(items[i]))) throw new BundleError(`${what} are not in order without repeats`);
  }
}

const pad = (n: number) => n.toString().padStart(16, "0");

/**
 * `value` as an audit bundle, strictly: every field of it, its proofs and checkpoints, no others; records ordered by
 * (anchor, leaf) without repeats, anchors by sequence and exactly those the proofs name, cases by id, payouts by
 * (period, event); chain facts read at the checkpoint's block; the subject's shape matching `chainFacts`. Throws
 * {@link BundleError} naming the first problem. What it returns is ready for the verifier's checks.
 */
export function parseAuditBundle(value: unknown): AuditBundle {
  const result = bundleSchema.safeParse(value);
  if (!result.success) throw new BundleError(`not a ${AUDIT_BUNDLE_FORMAT}: ${describeIssues(result.error)}`);
  const b = result.data;
  let checkpoint: Checkpoint;
  let from: Checkpoint | undefined;
  try {
    checkpoint = parseCheckpoint(b.checkpoint, "checkpoint");
    if (b.consistency) from = parseCheckpoint(b.consistency.from, "consistency.from");
  } catch (error) {
    if (error instanceof CheckpointError) throw new BundleError(error.message);
    throw error;
  }
  if (checkpoint.signature === undefined) throw new BundleError("the checkpoint is not signed");
  strictlyIncreasing(b.records, (r) => `${pad(r.proof.anchorSequence)}:${pad(r.proof.leafIndex)}`, "records");
  strictlyIncreasing(b.anchors, (a) => a.sequence, "anchors");
  const named = [...new Set(b.records.map((r) => r.proof.anchorSequence))].sort((x, y) => x - y);
  if (named.join() !== b.anchors.map((a) => a.sequence).join()) {
    throw new BundleError("anchors are not exactly the anchors the records' proofs name");
  }
  if (b.chainFacts) {
    if (b.chainFacts.atBlock !== checkpoint.blockNumber) {
      throw new BundleError("chainFacts are not read at the checkpoint's block");
    }
    strictlyIncreasing(b.chainFacts.cases, (c) => c.caseId, "chainFacts.cases");
    for (const c of b.chainFacts.cases) {
      strictlyIncreasing(c.payouts, (p) => `${pad(p.period)}:${p.eventId}`, `payouts of case ${c.caseId}`);
      for (const p of c.payouts) {
        if (p.payoutId !== `${c.caseId}:${p.period}:${p.eventId}`)
          throw new BundleError(`payout ${p.payoutId}: wrong id`);
      }
    }
  }
  const kind = b.subject.kind;
  if ((kind === "record") !== (b.chainFacts === undefined)) {
    throw new BundleError(`a ${kind} bundle ${kind === "record" ? "has no" : "has"} chainFacts`);
  }
  const bundle: AuditBundle = {
    format: AUDIT_BUNDLE_FORMAT,
    chain: b.chain,
    subject: b.subject,
    records: b.records.map((r) => {
      const { envelope, receipt, regionCode, schemaVersion, ...rest } = r;
      return {
        ...rest,
        ...(regionCode !== undefined ? { regionCode } : {}),
        ...(schemaVersion !== undefined ? { schemaVersion } : {}),
        ...(envelope !== undefined ? { envelope } : {}),
        ...(receipt !== undefined ? { receipt } : {}),
      } as BundleRecord;
    }),
    anchors: b.anchors,
    checkpoint,
  };
  if (b.consistency && from) bundle.consistency = { from, proof: b.consistency.proof };
  if (b.chainFacts) bundle.chainFacts = b.chainFacts as ChainFacts;
  return bundle;
}
