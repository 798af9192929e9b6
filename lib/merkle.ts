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
 *
 * A consistency proof (RFC 9162 section 2.1.4, RFC 6962 section 2.1.2 `PROOF(m, D[n])`) shows that the tree of
 * the first m leaves is a prefix of the tree of n leaves: nothing of the first m was changed, removed or reordered.
 * The off-chain log of anchors (gateway/src/audit/checkpoints.ts) uses it; the empty tree's head is
 * keccak256 of no bytes ({@link EMPTY_ROOT}, RFC 9162's `MTH({}) = HASH()`), and every tree extends it.
 */
import { concat, isHexString, keccak256 } from "ethers";
import { type IHasher, createKeccak } from "hash-wasm";
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

/**
 * keccak256 in WebAssembly (hash-wasm), once its module has compiled (asynchronously, when this module loads): several
 * times faster than ethers' JavaScript keccak on the trees' 33- and 65-byte inputs, which is most of the time of
 * rebuilding a large tree. Until it is loaded, or if it cannot be, ethers' keccak256 is used: the same bytes.
 */
let wasmKeccak: IHasher | undefined;
const wasmKeccakLoaded: Promise<void> = createKeccak(256).then(
  (hasher) => {
    wasmKeccak = hasher;
  },
  () => undefined,
);

/** Settles when the fast keccak of the tree functions is loaded (or could not be): await it before large trees. */
export function merkleHashReady(): Promise<void> {
  return wasmKeccakLoaded;
}

/** keccak256(`input`) written as 32 bytes into `out` at `offset`. */
function keccakInto(input: Uint8Array, out: Buffer, offset: number): void {
  if (wasmKeccak !== undefined) {
    wasmKeccak.init();
    wasmKeccak.update(input);
    out.set(wasmKeccak.digest("binary"), offset);
  } else {
    out.write(keccak256(input).slice(2), offset, 32, "hex");
  }
}

/** The leaf hashes of `recordDigests` as bytes, 32 per leaf (each digest checked). */
function leafHashBytes(recordDigests: readonly string[]): Buffer {
  if (recordDigests.length === 0) throw new MerkleError("EMPTY_TREE", "a Merkle tree needs at least one leaf");
  const leafInput = Buffer.alloc(33);
  leafInput[0] = LEAF_PREFIX;
  const bytes = Buffer.alloc(32 * recordDigests.length);
  for (let i = 0; i < recordDigests.length; i++) {
    const digest = recordDigests[i];
    requireHash(digest, `record digest ${i}`);
    leafInput.write(digest.slice(2), 1, 32, "hex");
    keccakInto(leafInput, bytes, 32 * i);
  }
  return bytes;
}

/**
 * The level above `bytes` (`width` nodes of 32 bytes), written into `out` (which may be `bytes` itself: node i is
 * written after nodes 2i and 2i + 1 were read). Returns the new width.
 */
function nextLevel(bytes: Buffer, width: number, out: Buffer, nodeInput: Buffer): number {
  const next = Math.ceil(width / 2);
  for (let i = 0; i + 1 < width; i += 2) {
    nodeInput.set(bytes.subarray(32 * i, 32 * i + 64), 1);
    keccakInto(nodeInput, out, 32 * (i >> 1));
  }
  // An unpaired last node moves up unchanged.
  if (width % 2 === 1) bytes.copy(out, 32 * (next - 1), 32 * (width - 1), 32 * width);
  return next;
}

function nodeInputBuffer(): Buffer {
  const nodeInput = Buffer.alloc(65);
  nodeInput[0] = NODE_PREFIX;
  return nodeInput;
}

const hexAt = (bytes: Buffer, i: number) => "0x" + bytes.toString("hex", 32 * i, 32 * i + 32);

/** Builds the tree of `recordDigests` (32-byte hex strings, in log order). Throws on an empty list. */
export function buildTree(recordDigests: readonly string[]): MerkleTree {
  // Hot loop (100,000 leaves take 200,000 hashes): each level is kept as bytes in one Buffer, so each hash input is a
  // native copy into a reused buffer; the hex strings of a level are made from those bytes once.
  let bytes = leafHashBytes(recordDigests);
  let width = recordDigests.length;
  const toHex = (b: Buffer, n: number) => Array.from({ length: n }, (_, i) => hexAt(b, i));
  const levels: string[][] = [toHex(bytes, width)];
  const nodeInput = nodeInputBuffer();
  while (width > 1) {
    const out = Buffer.alloc(32 * Math.ceil(width / 2));
    width = nextLevel(bytes, width, out, nodeInput);
    bytes = out;
    levels.push(toHex(bytes, width));
  }
  return { size: recordDigests.length, levels, root: levels[levels.length - 1][0] };
}

/**
 * The tree head (RFC 6962 MTH) of `recordDigests`, the root {@link buildTree} gives, without keeping the levels (one
 * buffer, hashed in place). Throws on an empty list.
 */
export function merkleRoot(recordDigests: readonly string[]): string {
  const bytes = leafHashBytes(recordDigests);
  const nodeInput = nodeInputBuffer();
  let width = recordDigests.length;
  while (width > 1) width = nextLevel(bytes, width, bytes, nodeInput);
  return hexAt(bytes, 0);
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

/** The head of the empty tree: keccak256 of zero bytes (RFC 9162 `MTH({}) = HASH()`). */
export const EMPTY_ROOT = keccak256(new Uint8Array(0));

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[start:end]) of a built tree, for any range the RFC 6962 recursion visits inside the first `end` leaves:
 * an aligned range of 2^h leaves, or an aligned range cut off by the end of the tree, is a node of `levels[h]`;
 * any other range splits at its largest power of two, as the definition does.
 */
function rangeRoot(tree: MerkleTree, start: number, end: number): string {
  const size = end - start;
  if (size === 1) return tree.levels[0][start];
  let h = 0;
  while (2 ** h < size) h++;
  const width = 2 ** h;
  if (start % width === 0 && (size === width || end === tree.size) && h < tree.levels.length) {
    return tree.levels[h][start / width];
  }
  const k = largestPowerOfTwoBelow(size);
  return nodeHash(rangeRoot(tree, start, start + k), rangeRoot(tree, start + k, end));
}

/** MTH(D[0:size]) of a built tree: its root, or the head of a prefix of it. Throws unless 1 ≤ size ≤ tree.size. */
export function prefixRoot(source: MerkleTree | readonly string[], size: number): string {
  const tree = isTree(source) ? source : buildTree(source);
  if (!Number.isSafeInteger(size) || size < 1 || size > tree.size) {
    throw new MerkleError("INDEX_OUT_OF_RANGE", `a prefix of ${size} leaves is outside a tree of ${tree.size} leaves`);
  }
  return rangeRoot(tree, 0, size);
}

/**
 * The consistency proof between the tree of the first `oldSize` leaves and the tree of the first `newSize` leaves
 * of `source` (RFC 6962 section 2.1.2 `PROOF(m, D[n])`): node hashes, as {@link verifyConsistency} takes them. Empty
 * when `oldSize` is 0 or equals `newSize`. Throws INDEX_OUT_OF_RANGE unless 0 ≤ oldSize ≤ newSize ≤ the tree's size.
 */
export function consistencyProof(source: MerkleTree | readonly string[], oldSize: number, newSize: number): string[] {
  const tree = isTree(source) ? source : buildTree(source);
  const valid = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!valid(oldSize) || !valid(newSize) || oldSize > newSize || newSize > tree.size || newSize === 0) {
    throw new MerkleError(
      "INDEX_OUT_OF_RANGE",
      `no consistency proof from ${oldSize} to ${newSize} leaves in a tree of ${tree.size} leaves`,
    );
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  // SUBPROOF(m, D[start:end], b), iteratively: each step appends one node, so collect and keep the order.
  const proof: string[] = [];
  let m = oldSize;
  let start = 0;
  let end = newSize;
  let complete = true;
  const tail: string[] = [];
  while (m !== end - start) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m <= k) {
      tail.push(rangeRoot(tree, start + k, end));
      end = start + k;
    } else {
      tail.push(rangeRoot(tree, start, start + k));
      start += k;
      m -= k;
      complete = false;
    }
  }
  // SUBPROOF(m, D[m], b): {} when b is still true (the old tree is this very subtree), else {MTH(D[m])}.
  if (!complete) proof.push(rangeRoot(tree, start, end));
  for (let i = tail.length - 1; i >= 0; i--) proof.push(tail[i]);
  return proof;
}

/**
 * Whether `proof` shows that the tree of `newSize` leaves with head `newRoot` extends the tree of `oldSize` leaves
 * with head `oldRoot` (RFC 9162 section 2.1.4.2, step for step). `oldSize` 0 needs an empty proof and
 * {@link EMPTY_ROOT} as `oldRoot`; equal sizes need an empty proof and equal roots. A proof that does not verify gives
 * `false`; malformed input (not 32-byte hex, a negative or fractional size) throws a {@link MerkleError}.
 */
export function verifyConsistency(
  oldSize: number | bigint,
  newSize: number | bigint,
  oldRoot: string,
  newRoot: string,
  proof: readonly string[],
): boolean {
  requireHash(oldRoot, "old root");
  requireHash(newRoot, "new root");
  if (!Array.isArray(proof)) throw new MerkleError("INVALID_HASH", "a consistency proof is an array of hashes");
  proof.forEach((p, i) => requireHash(p, `proof element ${i}`));
  const m = toCount(oldSize, "old size");
  const n = toCount(newSize, "new size");
  const first = oldRoot.toLowerCase();
  const second = newRoot.toLowerCase();
  if (m > n) return false;
  if (m === 0n) return proof.length === 0 && first === EMPTY_ROOT;
  if (m === n) return proof.length === 0 && first === second;
  if (proof.length === 0) return false;
  // Step 2: an old tree that is a complete subtree is its own first node.
  const path = (m & (m - 1n)) === 0n ? [first, ...proof] : [...proof];
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0].toLowerCase();
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return fr === first && sr === second && sn === 0n;
}
