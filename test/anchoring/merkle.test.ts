import { expect } from "chai";
import fc from "fast-check";
import { getBytes, hexlify, id, keccak256 } from "ethers";
import {
  MerkleError,
  buildTree,
  inclusionProof,
  leafHash,
  merkleHashReady,
  merkleRoot,
  nodeHash,
  verifyInclusion,
  type MerkleErrorCode,
} from "../../lib/merkle";

// The RFC 6962 section 2.1 definitions, written recursively with slicing: slow, but plainly the spec.
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

function referencePath(m: number, digests: readonly string[]): string[] {
  if (digests.length === 1) return [];
  const k = largestPowerOfTwoBelow(digests.length);
  return m < k
    ? [...referencePath(m, digests.slice(0, k)), referenceRoot(digests.slice(k))]
    : [...referencePath(m - k, digests.slice(k)), referenceRoot(digests.slice(0, k))];
}

/** Which side each sibling of leaf `m` sits on in a tree of `n` leaves, from the leaf upward. */
function pathSides(m: number, n: number): string[] {
  if (n === 1) return [];
  const k = largestPowerOfTwoBelow(n);
  return m < k ? [...pathSides(m, k), "right"] : [...pathSides(m - k, n - k), "left"];
}

/** `n` distinct record digests; `seed` tells trees apart. */
function digestsFor(seed: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => id(`record ${seed}/${i}`));
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
  expect.fail(`expected a MerkleError ${code}`);
}

/** A tree size, a leaf index in it and a seed for its digests. */
const treeAndLeaf = (maxSize: number) =>
  fc
    .integer({ min: 1, max: maxSize })
    .chain((n) => fc.record({ n: fc.constant(n), index: fc.integer({ min: 0, max: n - 1 }), seed: fc.nat() }));

const byteFlip = fc.record({ byteIndex: fc.integer({ min: 0, max: 31 }), mask: fc.integer({ min: 1, max: 255 }) });

describe("merkle", function () {
  describe("known answers", function () {
    // Digests 0x0101…01, 0x0202…02 and 0x0303…03. Each expected value was computed with js-sha3 (an
    // implementation independent of the one ethers uses), e.g. the first leaf:
    //   node -e 'console.log(require("js-sha3").keccak256(Buffer.from("00" + "01".repeat(32), "hex")))'
    // and the 2-leaf root likewise from "01" + L0 + L1 (hex without 0x), the 3-leaf root from "01" + N01 + L2.
    const d = ["0x" + "01".repeat(32), "0x" + "02".repeat(32), "0x" + "03".repeat(32)];
    const L0 = "0xb11a95f7ddcfbdc542f175f12554edd00d11d2bdc67124e3e3f39f1a1e54bc4a";
    const L1 = "0x43674370dffec60479f0fa769467ef9701bcad7f6bd1e97634b1ad1a3a4fad58";
    const L2 = "0x4f02043ddc57fe1c114cbe5e5c72ff6ec6254c9fcef42ea9cd55a05dd82d27aa";
    const N01 = "0x6674e6b1fd07d288e813849586c794cc68b17ddbbb7c552d9ca2c34259fca435";
    const R3 = "0xdc3d8ff7b6a3c804a00ed2dd29d07a2fd0558ae8afef24d4263541f88f5a600a";

    it("hashes a leaf as keccak256(0x00 ‖ digest) and a node as keccak256(0x01 ‖ left ‖ right)", function () {
      expect(leafHash(d[0])).to.equal(L0);
      expect(keccak256("0x00" + "01".repeat(32))).to.equal(L0);
      expect(nodeHash(L0, L1)).to.equal(N01);
      expect(keccak256("0x01" + L0.slice(2) + L1.slice(2))).to.equal(N01);
    });

    it("gives the 1-leaf root as the leaf hash, with an empty proof", function () {
      expect(merkleRoot(d.slice(0, 1))).to.equal(L0);
      expect(inclusionProof(d.slice(0, 1), 0)).to.deep.equal([]);
      expect(verifyInclusion(L0, 1, 0, d[0], [])).to.equal(true);
    });

    it("gives the 2-leaf root as the node hash of the two leaves", function () {
      expect(merkleRoot(d.slice(0, 2))).to.equal(N01);
      expect(inclusionProof(d.slice(0, 2), 0)).to.deep.equal([L1]);
      expect(inclusionProof(d.slice(0, 2), 1)).to.deep.equal([L0]);
    });

    it("gives the 3-leaf root as node(node(L0, L1), L2), the third leaf moving up unpaired", function () {
      expect(merkleRoot(d)).to.equal(R3);
      expect(inclusionProof(d, 0)).to.deep.equal([L1, L2]);
      expect(inclusionProof(d, 1)).to.deep.equal([L0, L2]);
      expect(inclusionProof(d, 2)).to.deep.equal([N01]);
      expect(buildTree(d).levels).to.deep.equal([[L0, L1, L2], [N01, L2], [R3]]);
    });
  });

  describe("against the recursive RFC 6962 definition", function () {
    it("gives the same root for every size from 1 to 200", function () {
      for (let n = 1; n <= 200; n++) {
        const digests = digestsFor(n, n);
        expect(merkleRoot(digests), `size ${n}`).to.equal(referenceRoot(digests));
      }
    });

    it("gives the same root and levels with the WebAssembly keccak loaded, for any digests", async function () {
      await merkleHashReady();
      const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));
      fc.assert(
        fc.property(fc.array(digest, { minLength: 1, maxLength: 300 }), (digests) => {
          const tree = buildTree(digests);
          expect(merkleRoot(digests)).to.equal(referenceRoot(digests));
          expect(tree.root).to.equal(merkleRoot(digests));
          expect(tree.levels[0]).to.deep.equal(digests.map(leafHash));
        }),
        { numRuns: 100 },
      );
    });

    it("gives the same audit path as PATH(m, D[n])", function () {
      fc.assert(
        fc.property(treeAndLeaf(300), ({ n, index, seed }) => {
          const digests = digestsFor(seed, n);
          expect(inclusionProof(buildTree(digests), index)).to.deep.equal(referencePath(index, digests));
        }),
        { numRuns: 50 },
      );
    });
  });

  describe("verifyInclusion", function () {
    it("accepts the proof of every leaf of a random tree", function () {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 150 }), fc.nat(), (n, seed) => {
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          digests.forEach((digest, i) => {
            expect(verifyInclusion(tree.root, n, i, digest, inclusionProof(tree, i)), `leaf ${i}`).to.equal(true);
          });
        }),
        { numRuns: 25 },
      );
    });

    it("accepts sizes and indices as bigints, as read from the chain", function () {
      const digests = digestsFor(0, 5);
      const tree = buildTree(digests);
      expect(verifyInclusion(tree.root, 5n, 3n, digests[3], inclusionProof(tree, 3))).to.equal(true);
    });

    it("rejects a digest with any byte changed", function () {
      fc.assert(
        fc.property(treeAndLeaf(64), byteFlip, ({ n, index, seed }, { byteIndex, mask }) => {
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          const tampered = flipByte(digests[index], byteIndex, mask);
          expect(verifyInclusion(tree.root, n, index, tampered, inclusionProof(tree, index))).to.equal(false);
        }),
      );
    });

    it("rejects a proof with any byte of any element changed", function () {
      fc.assert(
        fc.property(treeAndLeaf(64), fc.nat(), byteFlip, ({ n, index, seed }, element, { byteIndex, mask }) => {
          fc.pre(n > 1);
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          const proof = inclusionProof(tree, index);
          const j = element % proof.length;
          proof[j] = flipByte(proof[j], byteIndex, mask);
          expect(verifyInclusion(tree.root, n, index, digests[index], proof)).to.equal(false);
        }),
      );
    });

    it("rejects a proof with an element dropped or added", function () {
      fc.assert(
        fc.property(treeAndLeaf(64), ({ n, index, seed }) => {
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          const proof = inclusionProof(tree, index);
          const digest = digests[index];
          expect(verifyInclusion(tree.root, n, index, digest, [...proof, tree.root])).to.equal(false);
          if (proof.length > 0) {
            expect(verifyInclusion(tree.root, n, index, digest, proof.slice(0, -1))).to.equal(false);
          }
        }),
      );
    });

    it("rejects a root with any byte changed", function () {
      fc.assert(
        fc.property(treeAndLeaf(64), byteFlip, ({ n, index, seed }, { byteIndex, mask }) => {
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          const root = flipByte(tree.root, byteIndex, mask);
          expect(verifyInclusion(root, n, index, digests[index], inclusionProof(tree, index))).to.equal(false);
        }),
      );
    });

    it("rejects the proof at any other index, inside or outside the tree", function () {
      fc.assert(
        fc.property(treeAndLeaf(64), ({ n, index, seed }) => {
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          const proof = inclusionProof(tree, index);
          for (let other = 0; other < n + 3; other++) {
            if (other === index) continue;
            expect(verifyInclusion(tree.root, n, other, digests[index], proof), `index ${other}`).to.equal(false);
          }
        }),
        { numRuns: 30 },
      );
    });

    // The proof commits to the leaf's path, not to the size: a wrong size passes exactly when its tree has the
    // same path shape for the leaf (size 3 and 4 for leaf 0, say). This is why AnchorLog takes the size from
    // storage and the gateway must take it from the anchor, never from whoever presents the proof.
    it("rejects any other size unless that size gives the leaf the same path shape", function () {
      fc.assert(
        fc.property(treeAndLeaf(64), ({ n, index, seed }) => {
          const digests = digestsFor(seed, n);
          const tree = buildTree(digests);
          const proof = inclusionProof(tree, index);
          const shape = pathSides(index, n).join();
          for (let size = 0; size <= 2 * n + 2; size++) {
            if (size === n) continue;
            const sameShape = index < size && pathSides(index, size).join() === shape;
            const verified = verifyInclusion(tree.root, size, index, digests[index], proof);
            expect(verified, `size ${size}`).to.equal(sameShape);
          }
        }),
        { numRuns: 30 },
      );
    });

    it("accepts a proof of leaf 0 of a 4-leaf tree against size 3 (same shape)", function () {
      const digests = digestsFor(1, 4);
      const tree = buildTree(digests);
      expect(verifyInclusion(tree.root, 3, 0, digests[0], inclusionProof(tree, 0))).to.equal(true);
      expect(verifyInclusion(tree.root, 3, 2, digests[2], inclusionProof(tree, 2))).to.equal(false);
    });
  });

  describe("preconditions", function () {
    it("refuses an empty list with EMPTY_TREE", function () {
      expectMerkleError(() => merkleRoot([]), "EMPTY_TREE");
      expectMerkleError(() => buildTree([]), "EMPTY_TREE");
      expectMerkleError(() => inclusionProof([], 0), "EMPTY_TREE");
    });

    it("refuses digests, roots and proof elements that are not 32-byte hex with INVALID_HASH", function () {
      const good = id("record");
      expectMerkleError(() => leafHash("0x1234"), "INVALID_HASH");
      expectMerkleError(() => nodeHash(good, good.slice(2)), "INVALID_HASH");
      expectMerkleError(() => buildTree([good, "0x" + "zz".repeat(32)]), "INVALID_HASH");
      expectMerkleError(() => verifyInclusion("0x", 1, 0, good, []), "INVALID_HASH");
      expectMerkleError(() => verifyInclusion(good, 2, 0, good, [good + "00"]), "INVALID_HASH");
    });

    it("refuses a leaf index outside the tree with INDEX_OUT_OF_RANGE", function () {
      const tree = buildTree(digestsFor(0, 3));
      expectMerkleError(() => inclusionProof(tree, 3), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => inclusionProof(tree, -1), "INDEX_OUT_OF_RANGE");
      expectMerkleError(() => inclusionProof(tree, 0.5), "INDEX_OUT_OF_RANGE");
    });

    it("refuses a negative or fractional size or index with INVALID_NUMBER", function () {
      const good = id("record");
      expectMerkleError(() => verifyInclusion(good, -1, 0, good, []), "INVALID_NUMBER");
      expectMerkleError(() => verifyInclusion(good, 1.5, 0, good, []), "INVALID_NUMBER");
      expectMerkleError(() => verifyInclusion(good, 1, -1n, good, []), "INVALID_NUMBER");
    });

    it("treats an index at or past the size as a failed proof, as MerkleLog does", function () {
      const digests = digestsFor(0, 2);
      const tree = buildTree(digests);
      expect(verifyInclusion(tree.root, 2, 2, digests[0], inclusionProof(tree, 0))).to.equal(false);
      expect(verifyInclusion(tree.root, 0, 0, digests[0], [])).to.equal(false);
    });
  });
});
