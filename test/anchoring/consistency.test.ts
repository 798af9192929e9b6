import { expect } from "chai";
import fc from "fast-check";
import { getBytes, hexlify, id, keccak256 } from "ethers";
import {
  EMPTY_ROOT,
  MerkleError,
  buildTree,
  consistencyProof,
  leafHash,
  merkleRoot,
  nodeHash,
  prefixRoot,
  verifyConsistency,
  type MerkleErrorCode,
} from "../../lib/merkle";

// RFC 6962 section 2.1.2, written recursively with slicing: slow, but plainly the spec.
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function referenceRoot(digests: readonly string[]): string {
  if (digests.length === 1) return leafHash(digests[0]);
  const k = largestPowerOfTwoBelow(digests.length);
  return nodeHash(referenceRoot(digests.slice(0, k)), referenceRoot(digests.slice(k)));
}

function referenceSubproof(m: number, digests: readonly string[], complete: boolean): string[] {
  const n = digests.length;
  if (m === n) return complete ? [] : [referenceRoot(digests)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...referenceSubproof(m, digests.slice(0, k), complete), referenceRoot(digests.slice(k))]
    : [...referenceSubproof(m - k, digests.slice(k), false), referenceRoot(digests.slice(0, k))];
}

function digestsFor(seed: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => id(`anchor ${seed}/${i}`));
}

function flipByte(hex: string, byteIndex: number, mask: number): string {
  const bytes = getBytes(hex);
  bytes[byteIndex] ^= mask;
  return hexlify(bytes);
}

function expectMerkleError(fn: () => unknown, code: MerkleErrorCode): void {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MerkleError);
    expect((error as MerkleError).code).to.equal(code);
    return;
  }
  expect.fail(`expected MerkleError ${code}`);
}

/**
 * The walk RFC 9162's verifier takes over a proof of `length` elements for sizes m < n (null: it fails whatever the
 * hashes): whether the old root is prepended, then per element whether it goes left of both running hashes (L) or
 * right of the second (R). Two size pairs with the same walk compute the same hashes from the same proof.
 */
function walk(m: number, n: number, length: number): string | null {
  if (m <= 0 || m >= n) return null;
  const prepend = (m & (m - 1)) === 0;
  const total = length + (prepend ? 1 : 0);
  if (total === 0) return null;
  let fn = m - 1;
  let sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  const ops = [prepend ? "P" : "-"];
  for (let i = 1; i < total; i++) {
    if (sn === 0) return null;
    if (fn & 1 || fn === sn) {
      ops.push("L");
      while (!(fn & 1) && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      ops.push("R");
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? ops.join("") : null;
}

const MAX = 300;
/** Sizes 1 ≤ m ≤ n ≤ MAX, and a seed for the leaves. */
const sizes = fc
  .tuple(fc.integer({ min: 1, max: MAX }), fc.integer({ min: 1, max: MAX }), fc.integer({ min: 0, max: 1e6 }))
  .map(([a, b, seed]) => ({ m: Math.min(a, b), n: Math.max(a, b), seed }));
/** Sizes with m < n, where a proof is not empty. */
const strictSizes = sizes.filter(({ m, n }) => m < n);

describe("merkle consistency proofs (RFC 9162 section 2.1.4)", function () {
  // A few trees of 300 leaves, shared by the cases: a tree of n leaves is the first n of one (prefixRoot and
  // consistencyProof of a bigger tree are checked against the tree of exactly n leaves in the first property).
  const trees = new Map<number, { digests: string[]; tree: ReturnType<typeof buildTree> }>();
  function treeOf(seed: number) {
    const key = seed % 8;
    let hit = trees.get(key);
    if (!hit) {
      const digests = digestsFor(key, MAX);
      hit = { digests, tree: buildTree(digests) };
      trees.set(key, hit);
    }
    return hit;
  }

  describe("known answers", function () {
    const d = digestsFor(1, 8);
    const l = d.map(leafHash);

    it("the empty tree's head is keccak256 of no bytes, and every tree extends it with an empty proof", function () {
      expect(EMPTY_ROOT).to.equal(keccak256("0x"));
      expect(EMPTY_ROOT).to.equal("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
      expect(consistencyProof(d, 0, 5)).to.deep.equal([]);
      expect(verifyConsistency(0, 5, EMPTY_ROOT, merkleRoot(d.slice(0, 5)), [])).to.equal(true);
      expect(verifyConsistency(0, 5, merkleRoot(d.slice(0, 1)), merkleRoot(d.slice(0, 5)), [])).to.equal(false);
    });

    it("PROOF(3, D[7]), PROOF(4, D[7]) and PROOF(6, D[7]) are RFC 6962's worked examples", function () {
      // RFC 6962 section 2.1.3: PROOF(3, D[7]) = [c, d, g, l] with c = L2, d = L3, g = node(L0, L1), l = MTH(D[4:7]).
      const l4to7 = nodeHash(nodeHash(l[4], l[5]), l[6]);
      expect(consistencyProof(d.slice(0, 7), 3, 7)).to.deep.equal([l[2], l[3], nodeHash(l[0], l[1]), l4to7]);
      // PROOF(4, D[7]) = [l]: the old tree is a complete subtree.
      expect(consistencyProof(d.slice(0, 7), 4, 7)).to.deep.equal([l4to7]);
      // PROOF(6, D[7]) = [i, j, k] with i = node(L4, L5), j = L6, k = node(node(L0, L1), node(L2, L3)).
      const k = nodeHash(nodeHash(l[0], l[1]), nodeHash(l[2], l[3]));
      expect(consistencyProof(d.slice(0, 7), 6, 7)).to.deep.equal([nodeHash(l[4], l[5]), l[6], k]);
      for (const m of [3, 4, 6]) {
        const proof = consistencyProof(d, m, 7);
        expect(verifyConsistency(m, 7, merkleRoot(d.slice(0, m)), merkleRoot(d.slice(0, 7)), proof)).to.equal(true);
      }
    });

    it("equal sizes: an empty proof and equal roots", function () {
      const root = merkleRoot(d);
      expect(consistencyProof(d, 8, 8)).to.deep.equal([]);
      expect(verifyConsistency(8, 8, root, root, [])).to.equal(true);
      expect(verifyConsistency(8, 8, root, root, [l[0]])).to.equal(false);
      expect(verifyConsistency(8, 8, root, merkleRoot(d.slice(0, 7)), [])).to.equal(false);
    });

    it("prefixRoot gives MTH of the first leaves of a bigger tree", function () {
      const tree = buildTree(d);
      for (let n = 1; n <= 8; n++) expect(prefixRoot(tree, n)).to.equal(merkleRoot(d.slice(0, n)));
    });
  });

  describe("for all sizes 1 ≤ m ≤ n ≤ 300", function () {
    it("the proof is RFC 6962's PROOF(m, D[n]) and verifies, from a tree of n leaves or a bigger one", function () {
      fc.assert(
        fc.property(sizes, ({ m, n, seed }) => {
          const { digests, tree } = treeOf(seed);
          const proof = consistencyProof(tree, m, n);
          expect(proof).to.deep.equal(consistencyProof(digests.slice(0, n), m, n));
          if (n <= 64) expect(proof).to.deep.equal(referenceSubproof(m, digests.slice(0, n), true));
          expect(verifyConsistency(m, n, prefixRoot(tree, m), prefixRoot(tree, n), proof)).to.equal(true);
          expect(prefixRoot(tree, n)).to.equal(merkleRoot(digests.slice(0, n)));
        }),
        { numRuns: 200 },
      );
    });

    it("accepts sizes as bigints, as read from the chain", function () {
      const { tree } = treeOf(7);
      const proof = consistencyProof(tree, 37, 100);
      expect(verifyConsistency(37n, 100n, prefixRoot(tree, 37), prefixRoot(tree, 100), proof)).to.equal(true);
    });

    it("rejects a proof with any byte of any element changed", function () {
      fc.assert(
        fc.property(
          strictSizes,
          fc.nat(),
          fc.integer({ min: 0, max: 31 }),
          fc.integer({ min: 1, max: 255 }),
          ({ m, n, seed }, which, byte, mask) => {
            const { tree } = treeOf(seed);
            const proof = consistencyProof(tree, m, n);
            const i = which % proof.length;
            const bad = proof.map((p, j) => (j === i ? flipByte(p, byte, mask) : p));
            expect(verifyConsistency(m, n, prefixRoot(tree, m), prefixRoot(tree, n), bad)).to.equal(false);
          },
        ),
        { numRuns: 300 },
      );
    });

    it("rejects a proof with an element dropped, added or two swapped", function () {
      fc.assert(
        fc.property(strictSizes, fc.nat(), ({ m, n, seed }, which) => {
          const { tree } = treeOf(seed);
          const proof = consistencyProof(tree, m, n);
          const oldRoot = prefixRoot(tree, m);
          const i = which % proof.length;
          expect(
            verifyConsistency(
              m,
              n,
              oldRoot,
              prefixRoot(tree, n),
              proof.filter((_, j) => j !== i),
            ),
          ).to.equal(false);
          expect(verifyConsistency(m, n, oldRoot, prefixRoot(tree, n), [...proof, proof[i]])).to.equal(false);
          expect(verifyConsistency(m, n, oldRoot, prefixRoot(tree, n), [proof[i], ...proof])).to.equal(false);
          if (proof.length > 1) {
            const j = (i + 1) % proof.length;
            if (proof[i] !== proof[j]) {
              const swapped = [...proof];
              [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
              expect(verifyConsistency(m, n, oldRoot, prefixRoot(tree, n), swapped)).to.equal(false);
            }
          }
        }),
        { numRuns: 200 },
      );
    });

    it("rejects either root with any byte changed", function () {
      fc.assert(
        fc.property(
          sizes,
          fc.boolean(),
          fc.integer({ min: 0, max: 31 }),
          fc.integer({ min: 1, max: 255 }),
          ({ m, n, seed }, old, byte, mask) => {
            const { tree } = treeOf(seed);
            const proof = consistencyProof(tree, m, n);
            const oldRoot = prefixRoot(tree, m);
            const newRoot = prefixRoot(tree, n);
            const result = old
              ? verifyConsistency(m, n, flipByte(oldRoot, byte, mask), newRoot, proof)
              : verifyConsistency(m, n, oldRoot, flipByte(newRoot, byte, mask), proof);
            expect(result).to.equal(false);
          },
        ),
        { numRuns: 300 },
      );
    });

    // As with inclusion proofs, the proof commits to the shape of the two trees, not to their sizes: another size
    // passes exactly when the verifier walks the proof the same way for it. The sizes must come from signed
    // checkpoints (and the chain), never from whoever presents the proof.
    it("rejects any other old or new size unless the verifier walks the proof the same way for it", function () {
      fc.assert(
        fc.property(strictSizes, ({ m, n, seed }) => {
          const { tree } = treeOf(seed);
          const proof = consistencyProof(tree, m, n);
          const oldRoot = prefixRoot(tree, m);
          const newRoot = prefixRoot(tree, n);
          const shape = walk(m, n, proof.length);
          expect(shape).to.not.equal(null);
          for (let other = 0; other <= n + 8; other++) {
            if (other !== m) {
              const same = other > 0 && walk(other, n, proof.length) === shape;
              expect(verifyConsistency(other, n, oldRoot, newRoot, proof), `old size ${other}`).to.equal(same);
            }
            if (other !== n) {
              const same = walk(m, other, proof.length) === shape;
              expect(verifyConsistency(m, other, oldRoot, newRoot, proof), `new size ${other}`).to.equal(same);
            }
          }
        }),
        { numRuns: 30 },
      );
    });

    it("accepts the proof from 4 to 8 leaves against new size 6 (same walk), and no other size", function () {
      const { tree } = treeOf(5);
      const proof = consistencyProof(tree, 4, 8);
      expect(verifyConsistency(4, 6, prefixRoot(tree, 4), prefixRoot(tree, 8), proof)).to.equal(true);
      expect(verifyConsistency(4, 9, prefixRoot(tree, 4), prefixRoot(tree, 8), proof)).to.equal(false);
    });

    it("rejects a new tree in which any old leaf was rewritten (history changed)", function () {
      fc.assert(
        fc.property(strictSizes, fc.nat(), ({ m, n, seed }, which) => {
          const { digests, tree } = treeOf(seed);
          const oldRoot = prefixRoot(tree, m);
          const rewritten = digests.slice(0, n);
          rewritten[which % m] = id(`rewritten ${which}`);
          const forged = buildTree(rewritten);
          // The forger's own proof from its tree, and the honest proof: neither links the old head to the new one.
          expect(verifyConsistency(m, n, oldRoot, forged.root, consistencyProof(forged, m, n))).to.equal(false);
          expect(verifyConsistency(m, n, oldRoot, forged.root, consistencyProof(tree, m, n))).to.equal(false);
        }),
        { numRuns: 200 },
      );
    });

    it("rejects the proof of a tree that reordered two old leaves", function () {
      const { digests } = treeOf(3);
      const oldRoot = merkleRoot(digests.slice(0, 20));
      const swapped = digests.slice(0, 50);
      [swapped[4], swapped[5]] = [swapped[5], swapped[4]];
      const forged = buildTree(swapped);
      expect(verifyConsistency(20, 50, oldRoot, forged.root, consistencyProof(forged, 20, 50))).to.equal(false);
    });
  });

  describe("preconditions", function () {
    const d = digestsFor(2, 10);

    it("refuses sizes outside 0 ≤ m ≤ n ≤ the tree's size with INDEX_OUT_OF_RANGE", function () {
      expectMerkleError(() => consistencyProof(d, 5, 11), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => consistencyProof(d, 6, 5), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => consistencyProof(d, -1, 5), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => consistencyProof(d, 1.5, 5), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => consistencyProof(d, 0, 0), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => prefixRoot(d, 0), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => prefixRoot(d, 11), "INDEX_OUT_OF_RANGE");
    });

    it("refuses roots and proof elements that are not 32-byte hex with INVALID_HASH, bad sizes with INVALID_NUMBER", function () {
      const root = merkleRoot(d);
      expectMerkleError(() => verifyConsistency(3, 10, "0x12", root, []), "INVALID_HASH");
      expectMerkleError(() => verifyConsistency(3, 10, root, root, ["0x12"]), "INVALID_HASH");
      expectMerkleError(() => verifyConsistency(-1, 10, root, root, []), "INVALID_NUMBER");
      expectMerkleError(() => verifyConsistency(3, 2.5, root, root, []), "INVALID_NUMBER");
    });

    it("treats an old size above the new one as a failed proof", function () {
      const root = merkleRoot(d);
      expect(verifyConsistency(10, 3, root, merkleRoot(d.slice(0, 3)), [])).to.equal(false);
    });
  });
});
