/**
 * Merkle trees of record digests, the off-chain half of `contracts/libraries/MerkleLog.sol`.
 *
 * Layout: RFC 6962 / RFC 9162 section 2.1 with keccak256 in place of SHA-256. Every value is 32 bytes.
 *
 *   leaf hash   keccak256(0x00 ‖ recordDigest)   33 bytes in
 *   node hash   keccak256(0x01 ‖ left ‖ right)   65 bytes in
 *   MTH(D[1])   leaf hash of the one digest
 *   MTH(D[n])   node hash of MTH(D[0:k]) and MTH(D[k:n]), n > 1, k the largest power of two below n
 *
 * The different prefixes keep a leaf from ever being read as a node (second-preimage attacks). Trees are
 * built level by level: adjacent pairs are hashed and an unpaired last node moves up unchanged, which gives
 * the same MTH (the property tests check it against the recursive definition). An inclusion proof is the
 * audit path of RFC 9162 section 2.1.3.1, sibling hashes from the leaf upward, in the order
 * `MerkleLog.verifyInclusion` consumes them.
 */
import { concat, isHexString, keccak256 } from "ethers";
import { CodedError } from "./errors";

/** Why a Merkle operation refused its input. */
export type MerkleErrorCode = "EMPTY_TREE" | "INVALID_HASH" | "INVALID_NUMBER" | "INDEX_OUT_OF_RANGE";

/** A precondition of this module failed; `code` says which. */
export class MerkleError extends CodedError<MerkleErrorCode> {}

/** A built tree. Keep it to produce proofs for many leaves without rebuilding. */
export interface MerkleTree {
  /** The number of leaves. */
  readonly size: number;
  /**
   * `levels[0]` holds the leaf hashes; `levels[h + 1][i]` is the node hash of `levels[h][2i]` and
   * `levels[h][2i + 1]`, or `levels[h][2i]` itself when it has no right neighbour. The last level is `[root]`.
   */
  readonly levels: readonly (readonly string[])[];
  /** The tree head, MTH. */
  readonly root: string;
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

function requireHash(value: string, what: string): void {
  if (!isHexString(value, 32)) throw new MerkleError("INVALID_HASH", `${what} is not a 32-byte hex string`);
}

/** The leaf hash of a 32-byte record digest: keccak256(0x00 ‖ recordDigest). */
export function leafHash(recordDigest: string): string {
  requireHash(recordDigest, "record digest");
  return keccak256(concat([new Uint8Array([LEAF_PREFIX]), recordDigest]));
}

/** The interior node hash of two children: keccak256(0x01 ‖ left ‖ right). */
export function nodeHash(left: string, right: string): string {
  requireHash(left, "left child");
  requireHash(right, "right child");
  return keccak256(concat([new Uint8Array([NODE_PREFIX]), left, right]));
}

/** Builds the tree of `recordDigests` (32-byte hex strings, in log order). Throws on an empty list. */
export function buildTree(recordDigests: readonly string[]): MerkleTree {
  if (recordDigests.length === 0) throw new MerkleError("EMPTY_TREE", "a Merkle tree needs at least one leaf");
  // Hot loop (100,000 leaves take 200,000 hashes): the current level is also kept as bytes in one Buffer, so
  // each hash input is a native copy into a reused buffer instead of a `concat` that parses hex. Keccak itself
  // still dominates the time.
  const leafInput = Buffer.alloc(33);
  leafInput[0] = LEAF_PREFIX;
  let bytes = Buffer.alloc(32 * recordDigests.length);
  let level: string[] = recordDigests.map((digest, i) => {
    requireHash(digest, `record digest ${i}`);
    leafInput.write(digest.slice(2), 1, 32, "hex");
    const hash = keccak256(leafInput);
    bytes.write(hash.slice(2), 32 * i, 32, "hex");
    return hash;
  });
  const levels: string[][] = [level];
  const nodeInput = Buffer.alloc(65);
  nodeInput[0] = NODE_PREFIX;
  while (level.length > 1) {
    const width = Math.ceil(level.length / 2);
    const next: string[] = new Array<string>(width);
    const nextBytes = Buffer.alloc(32 * width);
    for (let i = 0; i + 1 < level.length; i += 2) {
      nodeInput.set(bytes.subarray(32 * i, 32 * i + 64), 1);
      const hash = keccak256(nodeInput);
      next[i >> 1] = hash;
      nextBytes.write(hash.slice(2), 32 * (i >> 1), 32, "hex");
    }
    if (level.length % 2 === 1) {
      next[width - 1] = level[level.length - 1];
      bytes.copy(nextBytes, 32 * (width - 1), 32 * (level.length - 1));
    }
    levels.push(next);
    level = next;
    bytes = nextBytes;
  }
  return { size: recordDigests.length, levels, root: level[0] };
}

/** The tree head (RFC 6962 MTH) of `recordDigests`. Throws on an empty list. */
export function merkleRoot(recordDigests: readonly string[]): string {
  return buildTree(recordDigests).root;
}

function isTree(source: MerkleTree | readonly string[]): source is MerkleTree {
  return !Array.isArray(source);
}

/**
 * The audit path of leaf `index`: sibling hashes from the leaf upward, as `MerkleLog.verifyInclusion` takes
 * them. Pass a tree from {@link buildTree} to prove many leaves; a digest list is built into a tree first.
 */
export function inclusionProof(source: MerkleTree | readonly string[], index: number): string[] {
  const tree = isTree(source) ? source : buildTree(source);
  if (!Number.isSafeInteger(index) || index < 0 || index >= tree.size) {
    throw new MerkleError("INDEX_OUT_OF_RANGE", `leaf index ${index} is outside a tree of ${tree.size} leaves`);
  }
  const proof: string[] = [];
  let i = index;
  for (let h = 0; h < tree.levels.length - 1; h++) {
    const sibling = i ^ 1;
    // An unpaired last node has no sibling on this level: it moves up unchanged.
    if (sibling < tree.levels[h].length) proof.push(tree.levels[h][sibling]);
    i >>= 1;
  }
  return proof;
}

function toCount(value: number | bigint, what: string): bigint {
  if (typeof value === "number" ? !Number.isSafeInteger(value) || value < 0 : value < 0n) {
    throw new MerkleError("INVALID_NUMBER", `${what} ${value} is not a non-negative integer`);
  }
  return BigInt(value);
}

/**
 * Whether `proof` shows that `recordDigest` is leaf `index` of the tree of `size` leaves whose head is `root`
 * (RFC 9162 section 2.1.3.2, step for step as in `MerkleLog.verifyInclusion`). A proof that does not verify,
 * including one for an index outside the tree, gives `false`; malformed input throws a {@link MerkleError}.
 * The proof binds the leaf to the root, not to `size`: take the size from where the root came from.
 */
export function verifyInclusion(
  root: string,
  size: number | bigint,
  index: number | bigint,
  recordDigest: string,
  proof: readonly string[],
): boolean {
  requireHash(root, "root");
  proof.forEach((p, i) => requireHash(p, `proof element ${i}`));
  const n = toCount(size, "size");
  let fn = toCount(index, "index");
  let r = leafHash(recordDigest);
  if (fn >= n) return false;
  let sn = n - 1n;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r === root.toLowerCase();
}
