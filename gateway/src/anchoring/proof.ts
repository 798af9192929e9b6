/**
 * Inclusion proofs of anchored records (`relief-proof-v1`): everything an auditor needs to check, offline, that a
 * record digest is leaf `leafIndex` of the Merkle tree whose head is `root`, and then, against the chain alone, that
 * anchor `anchorSequence` of the AnchorLog at `contract` on chain `chainId` has that root (transaction `txHash` in
 * block `blockNumber`).
 *
 * A proof is built from the store: the record's outbox entry gives the anchor and leaf index, the anchor's leaves (in
 * leaf order) give the tree, which is rebuilt and cached per anchor (keyed by sequence and root).
 */
import { getAddress, isHexString } from "ethers";
import { MerkleError, buildTree, inclusionProof, verifyInclusion, type MerkleTree } from "../../../lib/merkle";
import type { Ledger } from "../ledger";
import type { Store } from "../store";
import { CodedError } from "../../../lib/errors";

export const PROOF_FORMAT = "relief-proof-v1";

export interface RecordProof {
  format: typeof PROOF_FORMAT;
  recordId: string;
  /** The keyed record digest that is the leaf (before the leaf hash). */
  recordDigest: string;
  leafIndex: number;
  treeSize: number;
  root: string;
  /** Audit path from the leaf upward (`lib/merkle.ts` `inclusionProof`, as `AnchorLog.verifyInclusion` takes it). */
  siblings: string[];
  anchorSequence: number;
  txHash: string;
  blockNumber: number;
  /** Decimal chain id. */
  chainId: string;
  /** The AnchorLog contract's address (checksummed). */
  contract: string;
}

/** Where the anchors live: the chain and the AnchorLog contract. */
export interface AnchorChain {
  chainId: bigint | number | string;
  /** Address of the AnchorLog contract (`deployment.addresses.anchors`). */
  contract: string;
}

export type ProofErrorCode =
  /** The record was never queued for anchoring (or does not exist). */
  | "NOT_QUEUED"
  /** The record is queued but its anchor is not confirmed yet. */
  | "NOT_ANCHORED"
  /** The store's anchor does not match its leaves (a bug or tampering). */
  | "INCONSISTENT";

export class ProofError extends CodedError<ProofErrorCode> {}

/** Trees of recent anchors, so that proofs of many records of one batch rebuild its tree once. */
export class ProofCache {
  readonly #trees = new Map<string, { tree: MerkleTree; leaves: string[] }>();

  constructor(readonly maxAnchors = 8) {}

  get(key: string): { tree: MerkleTree; leaves: string[] } | undefined {
    const hit = this.#trees.get(key);
    if (hit !== undefined) {
      this.#trees.delete(key);
      this.#trees.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: { tree: MerkleTree; leaves: string[] }): void {
    this.#trees.set(key, value);
    while (this.#trees.size > this.maxAnchors) {
      const oldest = this.#trees.keys().next().value as string;
      this.#trees.delete(oldest);
    }
  }
}

const defaultCache = new ProofCache();

/** The inclusion proof of an anchored record. Throws a {@link ProofError} if it is not anchored (yet). */
export async function proofOf(
  store: Store,
  recordId: string,
  chain: AnchorChain,
  cache: ProofCache = defaultCache,
): Promise<RecordProof> {
  const entry = await store.getAnchoringStatus(recordId);
  if (entry === undefined) throw new ProofError("NOT_QUEUED", `record ${recordId} was never queued for anchoring`);
  if (
    entry.status !== "anchored" ||
    entry.anchorSequence === null ||
    entry.leafIndex === null ||
    entry.txHash === null ||
    entry.blockNumber === null
  ) {
    throw new ProofError("NOT_ANCHORED", `record ${recordId} is not anchored yet`);
  }
  const sequence = entry.anchorSequence;
  const anchor = await store.getAnchor(sequence);
  if (anchor === undefined || anchor.status !== "confirmed") {
    throw new ProofError("NOT_ANCHORED", `anchor ${sequence} of record ${recordId} is not confirmed`);
  }
  const key = `${sequence}:${anchor.root}`;
  let built = cache.get(key);
  if (built === undefined) {
    const leaves = (await store.listAnchorLeaves(sequence)).map((e) => e.digest);
    const tree = buildTree(leaves);
    if (tree.root !== anchor.root || leaves.length !== anchor.recordCount) {
      throw new ProofError("INCONSISTENT", `the leaves of anchor ${sequence} do not give its root`);
    }
    built = { tree, leaves };
    cache.set(key, built);
  }
  if (built.leaves[entry.leafIndex] !== entry.digest) {
    throw new ProofError("INCONSISTENT", `leaf ${entry.leafIndex} of anchor ${sequence} is not record ${recordId}`);
  }
  return {
    format: PROOF_FORMAT,
    recordId,
    recordDigest: entry.digest,
    leafIndex: entry.leafIndex,
    treeSize: built.tree.size,
    root: anchor.root,
    siblings: inclusionProof(built.tree, entry.leafIndex),
    anchorSequence: sequence,
    txHash: entry.txHash,
    blockNumber: entry.blockNumber,
    chainId: BigInt(chain.chainId).toString(),
    contract: getAddress(chain.contract),
  };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The offline check of a proof: well-formed, and the audit path leads from the record digest at `leafIndex` to
 * `root` in a tree of `treeSize` leaves. Whether the chain has `root` as anchor `anchorSequence` is
 * {@link verifyProofOnChain}'s part. Never throws: malformed input gives `false`.
 */
export function verifyProof(proof: RecordProof): boolean {
  if (typeof proof !== "object" || proof === null || proof.format !== PROOF_FORMAT) return false;
  if (!isCount(proof.leafIndex) || !isCount(proof.treeSize) || !isCount(proof.anchorSequence)) return false;
  if (!isCount(proof.blockNumber) || !Array.isArray(proof.siblings)) return false;
  if (!isHexString(proof.txHash, 32) || !isHexString(proof.recordDigest, 32) || !isHexString(proof.root, 32)) {
    return false;
  }
  try {
    return verifyInclusion(proof.root, proof.treeSize, proof.leafIndex, proof.recordDigest, proof.siblings);
  } catch (error) {
    if (error instanceof MerkleError) return false;
    throw error;
  }
}

/**
 * The on-chain check: the proof verifies offline, the chain's anchor `anchorSequence` has `root`, `treeSize` records
 * and was mined in `blockNumber`, and `AnchorLog.verifyInclusion` accepts the audit path.
 */
export async function verifyProofOnChain(ledger: Ledger, proof: RecordProof): Promise<boolean> {
  if (!verifyProof(proof)) return false;
  if (proof.anchorSequence >= (await ledger.anchorCount())) return false;
  const anchor = await ledger.anchorAt(proof.anchorSequence);
  if (anchor.root !== proof.root.toLowerCase() || anchor.recordCount !== proof.treeSize) return false;
  if (anchor.blockNumber !== proof.blockNumber) return false;
  return ledger.verifyInclusion(proof.anchorSequence, proof.leafIndex, proof.recordDigest, proof.siblings);
}
