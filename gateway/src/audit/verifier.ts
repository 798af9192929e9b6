/**
 * The independent verifier of audit bundles, checkpoints and consistency documents (and, by delegation, receipt
 * bundles): given the file and, optionally, read access to the chain, it runs every check of docs/PROOFS.md and says
 * which passed, which failed and which it could not run. It uses no gateway and no database; `scripts/verify.ts` is
 * its command line.
 *
 * A check is `ok: true` (passed), `false` (failed) or `null` (not run: offline, or nothing to check). A document is
 * valid when no check failed. Offline, every signature, digest, audit path and consistency proof in the file is
 * checked; only the chain can say that the anchors, the checkpoint's log and the chain facts are the chain's.
 */
import { getAddress } from "ethers";
import { parsePeriod } from "../../../lib/periods";
import { verifyProof } from "../anchoring/proof";
import { keyDigest } from "../crypto";
import type { LedgerEvent } from "../ledger/events";
import type { Ledger } from "../ledger/ledger";
import { parseCanonicalReceipt, receiptDigest, verifyReceiptSignature } from "../receipts/receipt";
import { RECEIPT_BUNDLE_FORMAT, type ReceiptLedger, verifyReceiptBundle } from "../receipts/bundle";
import { recordDigest } from "../records/sealing";
import { type AuditBundle, AUDIT_BUNDLE_FORMAT, BundleError, type CaseFacts, parseAuditBundle } from "./bundles";
import { caseStatusName, payoutStatusName, receiptOutcomeName, receiptSourceName, type BundleAnchor } from "./bundles";
import { type BlockTag, type ChainView, isMissingState } from "./chain-view";
import {
  CHECKPOINT_FORMAT,
  CONSISTENCY_FORMAT,
  type Checkpoint,
  CheckpointError,
  anchorLeaves,
  consistencyBetween,
  logRoot,
  parseCheckpoint,
  parseConsistency,
  readAnchors,
  verifyAnchorInCheckpoint,
  verifyCheckpointConsistency,
  verifyCheckpointSignature,
} from "./checkpoints";
import canonicalize from "canonicalize";

export interface Check {
  check: string;
  /** true passed, false failed, null not run. */
  ok: boolean | null;
  detail: string;
}

export type DocumentKind = "audit-bundle" | "receipt-bundle" | "checkpoint" | "consistency" | "unknown";

export interface Verification {
  kind: DocumentKind;
  /** No check failed. */
  valid: boolean;
  /** Whether the chain was read. */
  onChain: boolean;
  checks: Check[];
}

/**
 * Read access to the chain: `view` reads the contracts (at block tags), `events` decodes a block's ledger events (an
 * `EvmLedger`'s; without it the transactions named in a bundle are not checked).
 */
export interface VerifierChain {
  view: ChainView;
  events?: Ledger["events"];
}

export interface PinnedDeployment {
  chainId: bigint | number | string;
  addresses: { registry: string; ledger: string; receipts: string; anchors: string };
  deployedAtBlock?: number;
}

export interface VerifyOptions {
  chain?: VerifierChain;
  /** The deployment the auditor trusts; without it the contracts are taken from the document itself. */
  expected?: PinnedDeployment;
  /** An earlier checkpoint the auditor kept: the document's checkpoint must extend it. */
  since?: Checkpoint;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class Checks {
  readonly list: Check[] = [];
  add(check: string, ok: boolean | null, detail: string): void {
    this.list.push({ check, ok, detail });
  }
  /** Runs `fn`; a thrown error fails the check with the error as detail. */
  async run(check: string, fn: () => Promise<[boolean | null, string]> | [boolean | null, string]): Promise<void> {
    try {
      const [ok, detail] = await fn();
      this.add(check, ok, detail);
    } catch (error) {
      this.add(check, false, `cannot check: ${message(error)}`);
    }
  }
  done(kind: DocumentKind, onChain: boolean): Verification {
    return { kind, valid: this.list.every((c) => c.ok !== false), onChain, checks: this.list };
  }
}

/** The first `limit` problems, joined, with a count of the rest. */
function summary(problems: string[], limit = 3): string {
  const shown = problems.slice(0, limit).join("; ");
  return problems.length > limit ? `${shown}; and ${problems.length - limit} more` : shown;
}

/**
 * Parses a document's text: JSON, and in its canonical form (RFC 8785, as the gateway serves it; one trailing newline
 * allowed). Returns the parsed value, or an error message.
 */
export function parseDocumentText(text: string): { value: unknown } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: "not JSON" };
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalize(value);
  } catch {
    // RFC 8785 has no form for numbers JSON.parse turns into Infinity (found by test/security/fuzz.test.ts).
    return { error: "not canonical JSON: a number is out of range" };
  }
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (canonical !== body) {
    return { error: "not in its canonical form (RFC 8785 JSON, as the gateway serves it): the file was altered" };
  }
  return { value };
}

/** Which document `value` is, by its `format` field. */
export function documentKind(value: unknown): DocumentKind {
  const format = (value as { format?: unknown } | null)?.format;
  if (format === AUDIT_BUNDLE_FORMAT) return "audit-bundle";
  if (format === RECEIPT_BUNDLE_FORMAT) return "receipt-bundle";
  if (format === CHECKPOINT_FORMAT) return "checkpoint";
  if (format === CONSISTENCY_FORMAT) return "consistency";
  return "unknown";
}

/**
 * Verifies any document the gateway exports, given as its file text (audit bundles, checkpoints and consistency
 * documents must be in canonical form; receipt bundles are checked by `verifyReceiptBundle`, whose canonical part
 * is the receipt inside).
 */
export async function verifyDocument(text: string, options: VerifyOptions = {}): Promise<Verification> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    const checks = new Checks();
    checks.add("format", false, "not JSON");
    return checks.done("unknown", false);
  }
  const kind = documentKind(raw);
  if (kind === "receipt-bundle") return verifyReceiptDocument(raw, options);
  const parsed = parseDocumentText(text);
  if ("error" in parsed) {
    const checks = new Checks();
    checks.add("format", false, parsed.error);
    return checks.done(kind, false);
  }
  if (kind === "audit-bundle") return verifyAuditBundle(parsed.value, options);
  if (kind === "checkpoint" || kind === "consistency") return verifyCheckpointDocument(parsed.value, options);
  const checks = new Checks();
  checks.add("format", false, "not a relief document (format field unknown)");
  return checks.done("unknown", false);
}

/** A receipt bundle through `verifyReceiptBundle`, on the pinned (or the receipt's own) chain. */
async function verifyReceiptDocument(value: unknown, options: VerifyOptions): Promise<Verification> {
  const { chain, expected } = options;
  const view = chain?.view;
  const ledger: ReceiptLedger | undefined = view && {
    anchorCount: () => view.anchorCount(),
    anchorAt: (sequence: number) => view.anchorAt(sequence),
    verifyInclusion: (sequence: number, index: number, digest: string, proof: readonly string[]) =>
      view.verifyInclusion(sequence, index, digest, proof),
    institution: () => Promise.reject(new Error("not read")),
  };
  const result = await verifyReceiptBundle(value, {
    ledger,
    chain: expected
      ? { chainId: expected.chainId, contract: expected.addresses.anchors, receiptBook: expected.addresses.receipts }
      : undefined,
  });
  const checks = new Checks();
  for (const c of result.checks) checks.add(c.check, c.ok, c.detail);
  if (!chain) checks.add("proof-on-chain", null, "not checked offline: give --rpc");
  return checks.done("receipt-bundle", chain !== undefined);
}

// ---- chain helpers ------------------------------------------------------------------------------------------

/** Reads `fn(at)` at `block`; if the node has no state that old, at the latest block, saying so. */
async function atBlock<T>(block: number, fn: (at: BlockTag) => Promise<T>): Promise<{ value: T; latest: boolean }> {
  try {
    return { value: await fn(block), latest: false };
  } catch (error) {
    if (!isMissingState(error)) throw error;
    return { value: await fn("latest"), latest: true };
  }
}

async function eventsOfTx(chain: VerifierChain, txHash: string, block?: number): Promise<LedgerEvent[] | null> {
  if (!chain.events) return null;
  let blockNumber = block;
  if (blockNumber === undefined) {
    const receipt = await chain.view.provider.getTransactionReceipt(txHash);
    if (receipt === null) return [];
    blockNumber = receipt.blockNumber;
  }
  const events = await chain.events(blockNumber, blockNumber);
  return events.filter((e) => e.txHash.toLowerCase() === txHash.toLowerCase());
}

function pinnedChecks(bundleChain: AuditBundle["chain"] | null, cp: Checkpoint, expected?: PinnedDeployment): string[] {
  const problems: string[] = [];
  if (!expected) return problems;
  const want = {
    chainId: BigInt(expected.chainId).toString(),
    anchorLog: getAddress(expected.addresses.anchors),
    ledger: getAddress(expected.addresses.ledger),
    receiptBook: getAddress(expected.addresses.receipts),
    registry: getAddress(expected.addresses.registry),
  };
  if (cp.chainId !== want.chainId) problems.push(`chain ${cp.chainId}, the deployment's is ${want.chainId}`);
  if (cp.anchorLog !== want.anchorLog)
    problems.push(`AnchorLog ${cp.anchorLog}, the deployment's is ${want.anchorLog}`);
  if (bundleChain) {
    if (bundleChain.ledger !== want.ledger) problems.push(`ReliefLedger ${bundleChain.ledger} is not the deployment's`);
    if (bundleChain.receiptBook !== want.receiptBook)
      problems.push(`ReceiptBook ${bundleChain.receiptBook} is not the deployment's`);
    if (bundleChain.registry !== want.registry)
      problems.push(`InstitutionRegistry ${bundleChain.registry} is not the deployment's`);
    if (expected.deployedAtBlock !== undefined && bundleChain.deployedAtBlock !== expected.deployedAtBlock) {
      problems.push(`deployedAtBlock ${bundleChain.deployedAtBlock}, the deployment's is ${expected.deployedAtBlock}`);
    }
  }
  return problems;
}

async function chainCheck(
  checks: Checks,
  bundleChain: AuditBundle["chain"] | null,
  cp: Checkpoint,
  options: VerifyOptions,
  anchors: readonly BundleAnchor[] = [],
): Promise<void> {
  const { chain, expected } = options;
  await checks.run("chain", async () => {
    const problems = pinnedChecks(bundleChain, cp, expected);
    if (bundleChain && (bundleChain.chainId !== cp.chainId || bundleChain.anchorLog !== cp.anchorLog)) {
      problems.push("the checkpoint is of another chain or log than the bundle");
    }
    if (bundleChain && bundleChain.deployedAtBlock >= cp.blockNumber) {
      problems.push(`deployedAtBlock ${bundleChain.deployedAtBlock} is not before the checkpoint's block`);
    }
    const early = anchors.find((a) => bundleChain !== null && a.blockNumber <= bundleChain.deployedAtBlock);
    if (early) problems.push(`anchor ${early.sequence} was mined at or before deployedAtBlock`);
    let deployment = "";
    if (chain) {
      const id = await chain.view.nodeChainId();
      if (id.toString() !== cp.chainId)
        problems.push(`the node is on chain ${id}, the document on chain ${cp.chainId}`);
      if (!(await chain.view.hasCode(cp.anchorLog))) problems.push(`no contract at AnchorLog ${cp.anchorLog}`);
      if (bundleChain) deployment = await deployedAtBlockOnChain(chain, bundleChain, problems);
    }
    if (problems.length > 0) return [false, summary(problems)];
    if (!chain && !expected) return [null, "not checked: give --rpc and --deployment to pin the chain and contracts"];
    const pinned = expected ? "the pinned deployment's contracts" : "contracts taken from the document (not pinned)";
    return [true, `chain ${cp.chainId}, ${pinned}${chain ? ", the node agrees" : ""}${deployment}`];
  });
}

/**
 * `deployedAtBlock` against the chain: none of the bundle's four contracts had code at that block (they were deployed
 * after it, so a scan of events from there misses none of theirs). Adds to `problems`; returns a note for the detail.
 */
async function deployedAtBlockOnChain(
  chain: VerifierChain,
  bundleChain: AuditBundle["chain"],
  problems: string[],
): Promise<string> {
  const block = bundleChain.deployedAtBlock;
  const contracts = [bundleChain.registry, bundleChain.ledger, bundleChain.receiptBook, bundleChain.anchorLog];
  try {
    for (const address of contracts) {
      if (await chain.view.hasCode(address, block)) {
        problems.push(`deployedAtBlock ${block}: contract ${address} already had code at that block`);
      }
    }
    return `, deployed after block ${block}`;
  } catch (error) {
    if (!isMissingState(error) && !isMissingState((error as { cause?: unknown }).cause)) throw error;
    return `; deployedAtBlock ${block} not checked (the node has no state that old)`;
  }
}

async function signatureChecks(checks: Checks, cp: Checkpoint, what: string, chain?: VerifierChain): Promise<void> {
  if (cp.signature === undefined || cp.signer === undefined) {
    checks.add(`${what}-signature`, null, `the ${what} is not signed`);
    return;
  }
  const ok = verifyCheckpointSignature(cp);
  checks.add(
    `${what}-signature`,
    ok,
    ok ? `SM2 signature of the ${what} verifies under its signer key` : `SM2 signature of the ${what} invalid`,
  );
  const signer = cp.signer;
  if (!chain) {
    checks.add(`${what}-signer-on-chain`, null, "not checked offline: the registry holds the gateway's key digest");
    return;
  }
  if (/^0x0{40}$/i.test(chain.view.addresses.registry)) {
    checks.add(`${what}-signer-on-chain`, null, "not checked: give --deployment to name the InstitutionRegistry");
    return;
  }
  await checks.run(`${what}-signer-on-chain`, async () => {
    const registered = await chain.view.institutionKeyDigest(signer.account);
    const digest = keyDigest(signer.publicKeyPem);
    return registered === digest
      ? [true, `institution ${signer.account} has the signer key's digest ${digest}`]
      : [false, `institution ${signer.account} has key digest ${registered}, the signer key is ${digest}`];
  });
}

async function checkpointOnChain(checks: Checks, cp: Checkpoint, chain: VerifierChain, what = "checkpoint") {
  await checks.run(`${what}-on-chain`, async () => {
    const count = await chain.view.anchorCount();
    if (count < cp.size) return [false, `the chain has ${count} anchors, the ${what} ${cp.size}`];
    const head = await chain.view.blockNumber();
    if (head < cp.blockNumber)
      return [false, `the chain is at block ${head}, the ${what} names block ${cp.blockNumber}`];
    const anchors = await readAnchors(chain.view, cp.size);
    const late = anchors.findIndex((a) => a.blockNumber > cp.blockNumber);
    if (late !== -1) return [false, `anchor ${late} was mined after the ${what}'s block ${cp.blockNumber}`];
    const root = logRoot(anchorLeaves(anchors), cp.size);
    return root === cp.root
      ? [true, `the chain's first ${cp.size} anchors give root ${root}`]
      : [false, `the chain's first ${cp.size} anchors give root ${root}, the ${what} says ${cp.root}`];
  });
}

/**
 * The consistency of `cp` with an earlier checkpoint: from the document's own proof (`own`), and from the auditor's
 * `since` (with the document's proof if it is from that checkpoint, else computed from the chain).
 */
async function consistencyChecks(
  checks: Checks,
  cp: Checkpoint,
  own: { from: Checkpoint; proof: string[] } | undefined,
  options: VerifyOptions,
): Promise<void> {
  const { since, chain } = options;
  if (own) {
    await signatureChecks(checks, own.from, "earlier-checkpoint", chain);
    const r = verifyCheckpointConsistency(own.from, cp, own.proof);
    checks.add("consistency", r.ok, r.detail);
  }
  if (since === undefined) {
    if (!own) checks.add("consistency", null, "no earlier checkpoint: give --since to check that this log extends one");
    return;
  }
  if (
    own &&
    own.from.size === since.size &&
    own.from.root === since.root &&
    own.from.chainId === since.chainId &&
    own.from.anchorLog === since.anchorLog
  ) {
    checks.add("since", true, `the document's proof starts from the checkpoint given (${since.size} anchors)`);
    return;
  }
  if (!chain) {
    checks.add("since", null, "not checked offline: the document holds no proof from the checkpoint given; give --rpc");
    return;
  }
  await checks.run("since", async () => {
    try {
      const proof = await consistencyBetween(chain.view, since, cp);
      const r = verifyCheckpointConsistency(since, cp, proof);
      return [r.ok, `${r.detail} (proof computed from the chain)`];
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      return [false, `${error.message}: the log was rewritten since the checkpoint given`];
    }
  });
}

// ---- audit bundles ------------------------------------------------------------------------------------------

/** Runs every check of an audit bundle (docs/PROOFS.md). Never throws. `value` is the parsed JSON. */
export async function verifyAuditBundle(value: unknown, options: VerifyOptions = {}): Promise<Verification> {
  const checks = new Checks();
  const { chain } = options;
  let b: AuditBundle;
  try {
    b = parseAuditBundle(value);
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    checks.add("format", false, error.message);
    return checks.done("audit-bundle", false);
  }
  checks.add(
    "format",
    true,
    `${AUDIT_BUNDLE_FORMAT} of ${describeSubject(b)}: ${b.records.length} records, ${b.anchors.length} anchors`,
  );
  const cp = b.checkpoint;
  await chainCheck(checks, b.chain, cp, options, b.anchors);
  await signatureChecks(checks, cp, "checkpoint", chain);
  recordDigestCheck(checks, b);
  recordProofCheck(checks, b);
  anchorsInCheckpointCheck(checks, b);
  subjectCheck(checks, b);
  await consistencyChecks(checks, cp, b.consistency, options);

  if (!chain) {
    checks.add("anchors-on-chain", null, "not checked offline: give --rpc");
    checks.add("proofs-on-chain", null, "not checked offline");
    checks.add("checkpoint-on-chain", null, "not checked offline");
    if (b.chainFacts) checks.add("chain-facts", null, "not checked offline");
    return checks.done("audit-bundle", false);
  }
  await checks.run("anchors-on-chain", () => anchorsOnChain(chain, b.anchors));
  await checks.run("proofs-on-chain", async () => {
    const bad: string[] = [];
    for (const r of b.records) {
      const p = r.proof;
      if (!(await chain.view.verifyInclusion(p.anchorSequence, p.leafIndex, p.recordDigest, p.siblings))) {
        bad.push(`record ${r.recordId}`);
      }
    }
    return bad.length === 0
      ? [true, `AnchorLog.verifyInclusion accepts all ${b.records.length} proofs`]
      : [false, `AnchorLog.verifyInclusion refuses ${summary(bad)}`];
  });
  await checkpointOnChain(checks, cp, chain);
  if (b.chainFacts) await checks.run("chain-facts", () => chainFactsOnChain(chain, b));
  return checks.done("audit-bundle", true);
}

function describeSubject(b: AuditBundle): string {
  const s = b.subject;
  if (s.kind === "record") return `record ${s.recordId}`;
  if (s.kind === "case") return `case ${s.caseId}`;
  return `programme ${s.programmeId}, period ${s.period}`;
}

function recordDigestCheck(checks: Checks, b: AuditBundle): void {
  const bad: string[] = [];
  const signer = b.checkpoint.signer?.publicKeyPem;
  for (const r of b.records) {
    try {
      if (r.envelope !== undefined) {
        const header = {
          id: r.recordId,
          kind: r.kind,
          caseId: r.caseId,
          regionCode: r.regionCode as number,
          schemaVersion: r.schemaVersion as number,
        };
        if (recordDigest(header, Buffer.from(r.envelope, "base64")) !== r.digest) bad.push(`record ${r.recordId}`);
      } else if (r.receipt !== undefined) {
        const body = parseCanonicalReceipt(r.receipt.canonical);
        if (body.chainId !== b.chain.chainId || body.receiptBook !== b.chain.receiptBook) {
          bad.push(`receipt ${r.recordId} names another chain or ReceiptBook`);
        } else if (body.caseId !== r.caseId) {
          // Exactly the receipt's case: nothing else commits to a receipt record's caseId.
          bad.push(`receipt ${r.recordId} is of another case`);
        } else if (signer === undefined || !verifyReceiptSignature(signer, r.receipt.canonical, r.receipt.signature)) {
          bad.push(`receipt ${r.recordId}: signature invalid under the checkpoint's signer key`);
        } else if (receiptDigest(r.receipt.canonical, r.receipt.signature) !== r.digest) {
          bad.push(`receipt ${r.recordId}`);
        }
      } else {
        bad.push(`record ${r.recordId} has neither envelope nor receipt`);
      }
    } catch (error) {
      bad.push(`record ${r.recordId}: ${message(error)}`);
    }
  }
  checks.add(
    "record-digests",
    bad.length === 0,
    bad.length === 0
      ? `all ${b.records.length} digests recomputed from header and envelope (receipts: from the signed receipt)`
      : `digest does not match: ${summary(bad)}`,
  );
}

function recordProofCheck(checks: Checks, b: AuditBundle): void {
  const anchors = new Map(b.anchors.map((a) => [a.sequence, a]));
  const bad: string[] = [];
  for (const r of b.records) {
    const p = r.proof;
    const a = anchors.get(p.anchorSequence);
    const why =
      p.recordId !== r.recordId
        ? "the proof is of another record"
        : p.recordDigest !== r.digest
          ? "the proof is of another digest"
          : p.chainId !== b.chain.chainId || p.contract !== b.chain.anchorLog
            ? "the proof is on another chain or AnchorLog"
            : !verifyProof(p)
              ? `the audit path does not lead to root ${p.root}`
              : a === undefined
                ? `anchor ${p.anchorSequence} is not in the bundle`
                : a.root !== p.root ||
                    a.recordCount !== p.treeSize ||
                    a.blockNumber !== p.blockNumber ||
                    a.txHash !== p.txHash
                  ? `the proof does not match anchor ${a.sequence} (root, size, block or transaction)`
                  : null;
    if (why !== null) bad.push(`record ${r.recordId}: ${why}`);
  }
  checks.add(
    "record-proofs",
    bad.length === 0,
    bad.length === 0 ? `all ${b.records.length} audit paths lead to their anchor's root` : summary(bad),
  );
}

function anchorsInCheckpointCheck(checks: Checks, b: AuditBundle): void {
  const cp = b.checkpoint;
  const bad: string[] = [];
  for (const a of b.anchors) {
    if (a.sequence >= cp.size) bad.push(`anchor ${a.sequence} is outside the checkpoint's ${cp.size} anchors`);
    else if (a.blockNumber > cp.blockNumber) bad.push(`anchor ${a.sequence} is later than the checkpoint's block`);
    else if (!verifyAnchorInCheckpoint(cp, a, a.checkpointProof)) {
      bad.push(`anchor ${a.sequence}'s leaf is not in the checkpoint's log`);
    }
  }
  checks.add(
    "anchors-in-checkpoint",
    bad.length === 0,
    bad.length === 0
      ? `all ${b.anchors.length} anchors are leaves of the checkpoint's log (${cp.size} anchors, root ${cp.root})`
      : summary(bad),
  );
}

function subjectCheck(checks: Checks, b: AuditBundle): void {
  const s = b.subject;
  const problems: string[] = [];
  const facts = b.chainFacts?.cases ?? [];
  if (s.kind === "record") {
    if (b.records.length !== 1 || b.records[0].recordId !== s.recordId)
      problems.push("the bundle is not of that one record");
  } else if (s.kind === "case") {
    if (facts.length !== 1 || facts[0].caseId !== s.caseId) problems.push("chainFacts are not of that one case");
    const other = b.records.filter((r) => r.caseId.toLowerCase() !== s.caseId);
    if (other.length > 0) problems.push(`record ${other[0].recordId} is of another case`);
  } else {
    const period = parsePeriod(s.period);
    const cases = new Set(facts.map((c) => c.caseId));
    const stray = b.records.find((r) => !cases.has(r.caseId.toLowerCase()));
    if (stray) problems.push(`record ${stray.recordId} is of a case the bundle has no facts of`);
    const otherProgramme = facts.find((c) => c.programmeId !== s.programmeId);
    if (otherProgramme) problems.push(`case ${otherProgramme.caseId} is of programme ${otherProgramme.programmeId}`);
    for (const c of facts) {
      if (c.payouts.some((p) => p.period !== period))
        problems.push(`case ${c.caseId} lists a payout of another period`);
    }
  }
  checks.add(
    "subject",
    problems.length === 0,
    problems.length === 0 ? `the records and facts are those of ${describeSubject(b)}` : summary(problems),
  );
}

async function anchorsOnChain(chain: VerifierChain, anchors: BundleAnchor[]): Promise<[boolean, string]> {
  const bad: string[] = [];
  const count = await chain.view.anchorCount();
  for (const a of anchors) {
    if (a.sequence >= count) {
      bad.push(`anchor ${a.sequence} does not exist (the chain has ${count})`);
      continue;
    }
    const c = await chain.view.anchorAt(a.sequence);
    if (
      c.root !== a.root ||
      c.firstRecordIndex !== a.firstRecordIndex ||
      c.recordCount !== a.recordCount ||
      c.region.toString() !== a.region ||
      c.blockNumber !== a.blockNumber
    ) {
      bad.push(`anchor ${a.sequence} differs from the chain's`);
      continue;
    }
    const events = await eventsOfTx(chain, a.txHash, a.blockNumber);
    if (events === null) continue;
    const anchored = events.find((e) => e.name === "RecordsAnchored" && e.args.sequence === a.sequence);
    if (!anchored || anchored.name !== "RecordsAnchored" || anchored.args.root !== a.root) {
      bad.push(`transaction ${a.txHash} in block ${a.blockNumber} did not anchor ${a.sequence}`);
    }
  }
  const txs = chain.events ? ", transaction" : "; transactions not checked";
  return bad.length === 0
    ? [true, `all ${anchors.length} anchors are the chain's (root, counts, region, block${txs})`]
    : [false, summary(bad)];
}

async function chainFactsOnChain(chain: VerifierChain, b: AuditBundle): Promise<[boolean, string]> {
  const facts = b.chainFacts!;
  const block = facts.atBlock;
  const period = b.subject.kind === "programme-period" ? parsePeriod(b.subject.period) : undefined;
  const bad: string[] = [];
  let latest = false;
  let payouts = 0;
  const digests = new Map<string, Set<string>>();
  for (const r of b.records) {
    const key = r.caseId.toLowerCase();
    if (!digests.has(key)) digests.set(key, new Set());
    digests.get(key)!.add(r.digest);
  }
  for (const c of facts.cases) {
    const read = await atBlock(block, (at) => chain.view.caseRecord(c.caseId, at));
    latest ||= read.latest;
    const onChain = read.value;
    if (onChain === null) {
      bad.push(`case ${c.caseId} is not on chain`);
      continue;
    }
    const expected: Omit<CaseFacts, "payouts"> = {
      caseId: c.caseId,
      status: caseStatusName(onChain.status),
      programmeId: onChain.programmeId,
      region: onChain.region.toString(),
      amount: onChain.amount.toString(),
      firstPeriod: onChain.firstPeriod,
      lastPeriod: onChain.lastPeriod,
      paidThrough: onChain.paidThrough,
      recordDigest: onChain.recordDigest,
    };
    const { payouts: listed, ...claimed } = c;
    const diff = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => expected[k] !== claimed[k]);
    if (diff.length > 0) bad.push(`case ${c.caseId}: ${diff.join(", ")} differ from the chain`);
    if (!digests.get(c.caseId)?.has(onChain.recordDigest)) {
      bad.push(`case ${c.caseId}: its application record (digest ${onChain.recordDigest}) is not in the bundle`);
    }
    const keys = (await atBlock(block, (at) => chain.view.casePayouts(c.caseId, at))).value.filter(
      (k) => period === undefined || k.period === period,
    );
    const chainIds = keys.map((k) => `${k.caseId}:${k.period}:${k.eventId}`).sort();
    const listedIds = listed.map((p) => p.payoutId).sort();
    if (chainIds.join() !== listedIds.join()) {
      bad.push(`case ${c.caseId}: the chain's payouts (${chainIds.length}) are not the bundle's (${listedIds.length})`);
      continue;
    }
    for (const p of listed) {
      payouts++;
      const key = { caseId: c.caseId, period: p.period, eventId: p.eventId };
      const state = (await atBlock(block, (at) => chain.view.payoutStatus(key, at))).value;
      const receipt = (await atBlock(block, (at) => chain.view.receiptOf(key, at))).value;
      const differs: string[] = [];
      if (payoutStatusName(state.status) !== p.status) differs.push("status");
      if (state.amount.toString() !== p.amount) differs.push("amount");
      if (receiptOutcomeName(receipt.outcome) !== p.receipt.outcome) differs.push("receipt outcome");
      if (receiptSourceName(receipt.source) !== p.receipt.source) differs.push("receipt source");
      if (receipt.timestamp !== p.receipt.timestamp) differs.push("receipt time");
      if (differs.length > 0) {
        bad.push(`payout ${p.payoutId}: ${differs.join(", ")} differ from the chain`);
        continue;
      }
      if (p.txHash !== null && p.blockNumber !== null) {
        const events = (await eventsOfTx(chain, p.txHash, p.blockNumber)) ?? [];
        const paid = events.find(
          (e) =>
            e.name === "PayoutExecuted" &&
            e.args.caseId === c.caseId &&
            e.args.period === p.period &&
            e.args.eventId === p.eventId,
        );
        if (chain.events && (!paid || paid.name !== "PayoutExecuted" || paid.args.amount.toString() !== p.amount)) {
          bad.push(`payout ${p.payoutId}: transaction ${p.txHash} did not pay it`);
          continue;
        }
      }
      if (p.receipt.txHash !== null) {
        const events = await eventsOfTx(chain, p.receipt.txHash);
        if (events === null) continue;
        const names = p.receipt.outcome === "confirmed" ? ["ReceiptConfirmed"] : ["DisputeOpened", "ReceiptConfirmed"];
        const attested = events.find(
          (e) =>
            names.includes(e.name) &&
            (e.args as { caseId: string }).caseId === c.caseId &&
            (e.args as { period: number }).period === p.period &&
            (e.args as { eventId: string }).eventId === p.eventId,
        );
        if (!attested) bad.push(`payout ${p.payoutId}: transaction ${p.receipt.txHash} did not record its receipt`);
      }
    }
  }
  const where = latest ? `the latest state (the node has no state at block ${block})` : `block ${block}`;
  return bad.length === 0
    ? [true, `${facts.cases.length} cases and ${payouts} payouts match the chain at ${where}, with their transactions`]
    : [false, `${summary(bad)} (read at ${where})`];
}

// ---- checkpoints ----------------------------------------------------------------------------------------------

/** A checkpoint (with `options.since`: a pair) or a consistency document. `value` is the parsed JSON. */
export async function verifyCheckpointDocument(value: unknown, options: VerifyOptions = {}): Promise<Verification> {
  const checks = new Checks();
  const { chain } = options;
  const kind = documentKind(value);
  let cp: Checkpoint;
  let own: { from: Checkpoint; proof: string[] } | undefined;
  try {
    if (kind === "consistency") {
      const doc = parseConsistency(value);
      cp = doc.to;
      own = { from: doc.from, proof: doc.proof };
    } else {
      cp = parseCheckpoint(value);
    }
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    checks.add("format", false, error.message);
    return checks.done(kind, false);
  }
  checks.add("format", true, `${kind === "consistency" ? CONSISTENCY_FORMAT : CHECKPOINT_FORMAT}: ${cp.size} anchors`);
  await chainCheck(checks, null, cp, options);
  await signatureChecks(checks, cp, "checkpoint", chain);
  await consistencyChecks(checks, cp, own, options);
  if (!chain) {
    checks.add("checkpoint-on-chain", null, "not checked offline: give --rpc");
    return checks.done(kind, false);
  }
  await checkpointOnChain(checks, cp, chain);
  if (own) await checkpointOnChain(checks, own.from, chain, "earlier-checkpoint");
  if (options.since) await checkpointOnChain(checks, options.since, chain, "since");
  return checks.done(kind, true);
}
