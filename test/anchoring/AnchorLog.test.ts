import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { getBytes, hexlify, id } from "ethers";
import { Role } from "../../lib/roles";
import { buildTree, inclusionProof, verifyInclusion } from "../../lib/merkle";

const BEIJING = 110_000n;
const GUANGDONG = 440_000n;
const BEIJING_VILLAGE = 110_101_001_001n; // Dongcheng district, township 001, village 001
const ANCHORER_ROLES = 1n << BigInt(Role.Anchorer); // the role mask the registry reports
const ROOT = id("root");
const METADATA = id("batch metadata");

/** `n` distinct record digests; `seed` tells trees apart. */
function digestsFor(seed: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => id(`record ${seed}/${i}`));
}

function flipByte(hex: string, byteIndex: number, mask: number): string {
  const bytes = getBytes(hex);
  bytes[byteIndex] ^= mask;
  return hexlify(bytes);
}

async function deployFixture() {
  const [admin, anchorer, anchorerGuangdong, auditor, outsider] = await ethers.getSigners();
  const registry = await (await ethers.getContractFactory("InstitutionRegistry")).deploy(admin.address);
  const log = await (await ethers.getContractFactory("AnchorLog")).deploy(await registry.getAddress());
  await registry.registerInstitution(anchorer.address, Role.Anchorer, BEIJING, id("key: Beijing anchorer"));
  await registry.registerInstitution(
    anchorerGuangdong.address,
    Role.Anchorer,
    GUANGDONG,
    id("key: Guangdong anchorer"),
  );
  await registry.registerInstitution(auditor.address, Role.Auditor, BEIJING, id("key: Beijing auditor"));
  return { registry, log, admin, anchorer, anchorerGuangdong, auditor, outsider };
}

describe("AnchorLog", function () {
  describe("anchor", function () {
    it("stores the first batch as anchor 0 and emits RecordsAnchored", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      const tx = log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA);

      await expect(tx).to.emit(log, "RecordsAnchored").withArgs(0, BEIJING, ROOT, 3, 0, METADATA);
      const receipt = (await (await tx).wait())!;
      const block = (await ethers.provider.getBlock(receipt.blockNumber))!;
      const stored = await log.anchorAt(0);
      expect(stored.root).to.equal(ROOT);
      expect(stored.firstRecordIndex).to.equal(0n);
      expect(stored.recordCount).to.equal(3n);
      expect(stored.region).to.equal(BEIJING);
      expect(stored.anchoredAt).to.equal(BigInt(block.timestamp));
      expect(stored.blockNumber).to.equal(BigInt(receipt.blockNumber));
      expect(await log.anchorCount()).to.equal(1n);
      expect(await log.totalRecords()).to.equal(3n);
    });

    it("numbers the next batch 1 and starts its records after the first batch's", async function () {
      const { log, anchorer, anchorerGuangdong } = await loadFixture(deployFixture);
      await log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA);

      const second = id("second root");
      await expect(log.connect(anchorerGuangdong).anchor(1, GUANGDONG, second, 5, METADATA))
        .to.emit(log, "RecordsAnchored")
        .withArgs(1, GUANGDONG, second, 5, 3, METADATA);

      expect((await log.anchorAt(1)).firstRecordIndex).to.equal(3n);
      expect(await log.anchorCount()).to.equal(2n);
      expect(await log.totalRecords()).to.equal(8n);
    });

    it("returns the anchor's number", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);
      await log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA);

      expect(await log.connect(anchorer).anchor.staticCall(1, BEIJING, ROOT, 3, METADATA)).to.equal(1n);
    });

    it("accepts a batch of a region inside the anchorer's and a zero metadata digest", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      await expect(log.connect(anchorer).anchor(0, BEIJING_VILLAGE, ROOT, 1, ethers.ZeroHash))
        .to.emit(log, "RecordsAnchored")
        .withArgs(0, BEIJING_VILLAGE, ROOT, 1, 0, ethers.ZeroHash);
      expect((await log.anchorAt(0)).region).to.equal(BEIJING_VILLAGE);
    });

    it("costs under 110,000 gas for a later anchor, whatever the record count", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);
      await log.connect(anchorer).anchor(0, BEIJING, ROOT, 1, METADATA);

      const small = await (await log.connect(anchorer).anchor(1, BEIJING, ROOT, 1, METADATA)).wait();
      const large = await (await log.connect(anchorer).anchor(2, BEIJING, ROOT, 100_000, METADATA)).wait();

      expect(small!.gasUsed).to.be.lessThan(110_000n);
      expect(large!.gasUsed).to.be.lessThan(110_000n);
    });

    it("reverts a retried anchor with LedgerAnchorOutOfSequence", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);
      await log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA);

      await expect(log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(log, "LedgerAnchorOutOfSequence")
        .withArgs(0, 1);
    });

    it("reverts an anchor that skips a number with LedgerAnchorOutOfSequence", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      await expect(log.connect(anchorer).anchor(1, BEIJING, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(log, "LedgerAnchorOutOfSequence")
        .withArgs(1, 0);
    });

    it("reverts a zero root with LedgerAnchorZeroRoot", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      await expect(
        log.connect(anchorer).anchor(0, BEIJING, ethers.ZeroHash, 3, METADATA),
      ).to.be.revertedWithCustomError(log, "LedgerAnchorZeroRoot");
    });

    it("reverts a batch of zero records with LedgerAnchorZeroRecordCount", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      await expect(log.connect(anchorer).anchor(0, BEIJING, ROOT, 0, METADATA)).to.be.revertedWithCustomError(
        log,
        "LedgerAnchorZeroRecordCount",
      );
    });

    it("reverts a malformed region code inside the anchorer's prefix with LedgerAnchorInvalidRegion", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      // 110099: county digits without city digits. Its prefix is Beijing's, so only the format check stops it.
      await expect(log.connect(anchorer).anchor(0, 110_099n, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(log, "LedgerAnchorInvalidRegion")
        .withArgs(110_099n);
    });

    it("reverts a caller without the Anchorer role with LedgerUnauthorizedRole", async function () {
      const { registry, log, auditor, outsider } = await loadFixture(deployFixture);

      await expect(log.connect(auditor).anchor(0, BEIJING, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(auditor.address, ANCHORER_ROLES);
      await expect(log.connect(outsider).anchor(0, BEIJING, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(outsider.address, ANCHORER_ROLES);
    });

    it("reverts a batch outside the anchorer's region with LedgerUnauthorizedRegion", async function () {
      const { registry, log, anchorer } = await loadFixture(deployFixture);

      await expect(log.connect(anchorer).anchor(0, GUANGDONG, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(anchorer.address, GUANGDONG);
    });

    it("reverts an inactive anchorer with LedgerUnauthorizedRole", async function () {
      const { registry, log, anchorer } = await loadFixture(deployFixture);
      await registry.setActive(anchorer.address, false);

      await expect(log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(anchorer.address, ANCHORER_ROLES);
    });

    it("reverts while paused with LedgerPausedError, and anchors again once unpaused", async function () {
      const { registry, log, anchorer } = await loadFixture(deployFixture);
      await registry.pause();

      await expect(log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA)).to.be.revertedWithCustomError(
        registry,
        "LedgerPausedError",
      );

      await registry.unpause();
      await expect(log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA)).to.emit(log, "RecordsAnchored");
    });

    it("keeps numbers gapless under any sequence of attempts; a rejected attempt changes nothing", async function () {
      // Each attempt names a number near the next one (a retry below it, a skip above it), so about one in
      // seven succeeds; the model says which must, and the log must match the model after every attempt.
      const attempt = fc.record({
        offset: fc.integer({ min: -3, max: 3 }),
        guangdong: fc.boolean(),
        count: fc.integer({ min: 1, max: 9 }),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(attempt, { minLength: 1, maxLength: 20 }), async (attempts) => {
          const { log, anchorer, anchorerGuangdong } = await loadFixture(deployFixture);
          const roots: string[] = [];
          let total = 0n;
          for (const [k, { offset, guangdong, count }] of attempts.entries()) {
            const next = BigInt(roots.length);
            const expected = next + BigInt(offset) < 0n ? next + 1n : next + BigInt(offset);
            const [signer, region] = guangdong ? [anchorerGuangdong, GUANGDONG] : [anchorer, BEIJING];
            const root = id(`attempt ${k}`);
            const call = log.connect(signer).anchor(expected, region, root, count, METADATA);
            if (expected === next) {
              await expect(call).to.emit(log, "RecordsAnchored").withArgs(next, region, root, count, total, METADATA);
              roots.push(root);
              total += BigInt(count);
            } else {
              await expect(call)
                .to.be.revertedWithCustomError(log, "LedgerAnchorOutOfSequence")
                .withArgs(expected, next);
            }
            expect(await log.anchorCount()).to.equal(BigInt(roots.length));
            expect(await log.totalRecords()).to.equal(total);
          }
          for (const [s, root] of roots.entries()) expect((await log.anchorAt(s)).root).to.equal(root);
          await expect(log.anchorAt(roots.length))
            .to.be.revertedWithCustomError(log, "LedgerUnknownAnchor")
            .withArgs(roots.length, roots.length);
        }),
        { numRuns: 25 },
      );
    });
  });

  describe("views", function () {
    it("reports the registry it trusts", async function () {
      const { registry, log } = await loadFixture(deployFixture);

      expect(await log.registry()).to.equal(await registry.getAddress());
    });

    it("reverts anchorAt and verifyInclusion for an unknown anchor with LedgerUnknownAnchor", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);

      await expect(log.anchorAt(0)).to.be.revertedWithCustomError(log, "LedgerUnknownAnchor").withArgs(0, 0);
      await log.connect(anchorer).anchor(0, BEIJING, ROOT, 3, METADATA);
      await expect(log.anchorAt(1)).to.be.revertedWithCustomError(log, "LedgerUnknownAnchor").withArgs(1, 1);
      await expect(log.verifyInclusion(1, 0, ROOT, []))
        .to.be.revertedWithCustomError(log, "LedgerUnknownAnchor")
        .withArgs(1, 1);
    });
  });

  describe("verifyInclusion", function () {
    it("agrees with lib/merkle.ts for every leaf of trees of 1 to 17 leaves, and rejects tampering", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);
      for (let n = 1; n <= 17; n++) {
        const digests = digestsFor(n, n);
        const tree = buildTree(digests);
        const sequence = n - 1;
        await log.connect(anchorer).anchor(sequence, BEIJING, tree.root, n, METADATA);
        for (let i = 0; i < n; i++) {
          const proof = inclusionProof(tree, i);
          const where = `leaf ${i} of ${n}`;
          expect(verifyInclusion(tree.root, n, i, digests[i], proof), where).to.equal(true);
          expect(await log.verifyInclusion(sequence, i, digests[i], proof), where).to.equal(true);
          const wrongDigest = flipByte(digests[i], 31, 1);
          expect(await log.verifyInclusion(sequence, i, wrongDigest, proof), where).to.equal(false);
          if (proof.length > 0) {
            const wrongProof = [flipByte(proof[0], 0, 0x80), ...proof.slice(1)];
            expect(await log.verifyInclusion(sequence, i, digests[i], wrongProof), where).to.equal(false);
          }
        }
        expect(await log.verifyInclusion(sequence, n, digests[0], inclusionProof(tree, 0))).to.equal(false);
      }
    });

    it("agrees with lib/merkle.ts on random trees, for genuine and tampered proofs", async function () {
      const { log, anchorer } = await loadFixture(deployFixture);
      const tamper = fc.record({
        target: fc.constantFrom("none", "digest", "proof", "drop", "append", "index"),
        element: fc.nat(),
        byteIndex: fc.integer({ min: 0, max: 31 }),
        mask: fc.integer({ min: 1, max: 255 }),
        otherIndex: fc.nat(),
      });
      const tree = fc
        .integer({ min: 1, max: 1_000 })
        .chain((n) => fc.record({ n: fc.constant(n), index: fc.integer({ min: 0, max: n - 1 }), seed: fc.nat() }));
      await fc.assert(
        fc.asyncProperty(tree, tamper, async ({ n, index, seed }, { target, element, byteIndex, mask, otherIndex }) => {
          const digests = digestsFor(seed, n);
          const built = buildTree(digests);
          const sequence = await log.anchorCount();
          await log.connect(anchorer).anchor(sequence, BEIJING, built.root, n, METADATA);
          let digest = digests[index];
          let proof = inclusionProof(built, index);
          let at = index;
          if (target === "digest") digest = flipByte(digest, byteIndex, mask);
          if (target === "proof" && proof.length > 0) {
            const j = element % proof.length;
            proof = proof.map((p, k) => (k === j ? flipByte(p, byteIndex, mask) : p));
          }
          if (target === "drop" && proof.length > 0) proof = proof.filter((_, k) => k !== element % proof.length);
          if (target === "append") proof = [...proof, digests[element % n]];
          if (target === "index") at = (index + 1 + (otherIndex % (n + 1))) % (n + 2);
          const offChain = verifyInclusion(built.root, n, at, digest, proof);
          expect(await log.verifyInclusion(sequence, at, digest, proof)).to.equal(offChain);
          const untouched = target === "none" || (["proof", "drop"].includes(target) && n === 1);
          expect(offChain).to.equal(untouched);
        }),
        { numRuns: 40 },
      );
    });
  });
});
