import { expect } from "chai";
import { buildTree, inclusionProof } from "../../lib/merkle";
import { digest, REGION, registered, type Ledger } from "./fixture";

const ZERO32 = `0x${"0".repeat(64)}`;

describe("chaincode: anchors and inclusion proofs", function () {
  let ledger: Ledger;
  const batch = (label: string, n: number) => Array.from({ length: n }, (_, i) => digest(`${label}:${i}`));

  before(async function () {
    ledger = await registered();
  });

  it("numbers anchors without gaps and refuses a retried or skipped sequence", async function () {
    const tree = buildTree(batch("a", 5));
    const submission = {
      expectedSequence: 0,
      region: REGION.county,
      root: tree.root,
      recordCount: 5,
      metadataDigest: digest("meta"),
    };
    const r = await ledger.submit<{ sequence: number; firstRecordIndex: number }>("anchorer", "anchor", submission);
    expect(r).to.include({ sequence: 0, firstRecordIndex: 0 });
    expect(r.events).to.deep.equal([
      {
        name: "RecordsAnchored",
        args: {
          sequence: 0,
          region: "110105",
          root: tree.root,
          recordCount: 5,
          firstRecordIndex: 0,
          metadataDigest: digest("meta"),
        },
      },
    ]);
    await ledger.expectRefused("anchorer", "anchor", submission, "LedgerAnchorOutOfSequence", { expected: 0, next: 1 });
    await ledger.expectRefused(
      "anchorer",
      "anchor",
      { ...submission, expectedSequence: 2 },
      "LedgerAnchorOutOfSequence",
      { expected: 2, next: 1 },
    );
    await ledger.expectRefused(
      "anchorer",
      "anchor",
      { ...submission, expectedSequence: 1, root: ZERO32 },
      "LedgerAnchorZeroRoot",
    );
    await ledger.expectRefused(
      "anchorer",
      "anchor",
      { ...submission, expectedSequence: 1, recordCount: 0 },
      "LedgerAnchorZeroRecordCount",
    );
    await ledger.expectRefused(
      "anchorer",
      "anchor",
      { ...submission, expectedSequence: 1, region: 123n },
      "LedgerAnchorInvalidRegion",
      { region: 123n },
    );
    await ledger.expectRefused(
      "caseworker",
      "anchor",
      { ...submission, expectedSequence: 1 },
      "LedgerUnauthorizedRole",
    );
    const second = await ledger.submit<{ sequence: number; firstRecordIndex: number }>("anchorer", "anchor", {
      ...submission,
      expectedSequence: 1,
      recordCount: 3,
      root: buildTree(batch("b", 3)).root,
    });
    expect(second).to.include({ sequence: 1, firstRecordIndex: 5 });
    expect(await ledger.query("anchorCount")).to.equal(2);
    expect(await ledger.query("totalRecords")).to.equal(8);
    const at = await ledger.query<Record<string, unknown>>("anchorAt", { sequence: 1 });
    expect(at).to.deep.include({
      firstRecordIndex: 5,
      recordCount: 3,
      region: "110105",
      anchoredAt: ledger.peer.now(),
      blockNumber: 0,
      txId: second.tx.txId,
    });
    await ledger.expectRefused("auditor", "anchorAt", { sequence: 2 }, "LedgerUnknownAnchor", {
      sequence: 2,
      anchorCount: 2,
    });
  });

  it("verifies inclusion proofs from lib/merkle.ts for every leaf, and rejects wrong ones", async function () {
    const leaves = batch("c", 7);
    const tree = buildTree(leaves);
    const sequence = await ledger.query<number>("anchorCount");
    await ledger.submit("anchorer", "anchor", {
      expectedSequence: sequence,
      region: REGION.township,
      root: tree.root,
      recordCount: 7,
      metadataDigest: digest("m"),
    });
    for (let i = 0; i < leaves.length; i++) {
      const proof = inclusionProof(tree, i);
      expect(
        await ledger.query("verifyInclusion", { sequence, index: i, recordDigest: leaves[i], proof }),
        `leaf ${i}`,
      ).to.equal(true);
      expect(
        await ledger.query("verifyInclusion", { sequence, index: (i + 1) % 7, recordDigest: leaves[i], proof }),
      ).to.equal(false);
      expect(
        await ledger.query("verifyInclusion", { sequence, index: i, recordDigest: digest("forged"), proof }),
      ).to.equal(false);
    }
    expect(
      await ledger.query("verifyInclusion", {
        sequence,
        index: 7,
        recordDigest: leaves[0],
        proof: inclusionProof(tree, 0),
      }),
    ).to.equal(false);
    await ledger.expectRefused(
      "auditor",
      "verifyInclusion",
      { sequence: sequence + 1, index: 0, recordDigest: leaves[0], proof: [] },
      "LedgerUnknownAnchor",
    );
  });
});
