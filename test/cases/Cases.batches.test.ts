import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CaseStatus } from "../../lib/roles";
import { PROGRAMMES, REGION, accepted, deployFunded, digest, inTurn, newCase } from "../helpers/fixture";

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_203);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);

type Submission = { caseId: string; programmeId: bigint; region: bigint; pseudonym: string; recordDigest: string };

describe("Cases: submitCases and reviewCases (many cases in one transaction)", function () {
  const batchOf = (programmeId: bigint, n: number, label: string): Submission[] =>
    Array.from({ length: n }, (_, i) => {
      const { caseId, pseudonym } = newCase(`${label}:${i}`);
      return { caseId, programmeId, region: REGION.township, pseudonym, recordDigest: digest(`record:${label}:${i}`) };
    });

  it("opens every case in order, each with its CaseSubmitted, stored as submitCase stores it", async function () {
    const { ledger, actors, programmes } = await loadFixture(deployFunded);
    const batch = batchOf(programmes.dibao, 5, "batch");
    const tx = ledger.connect(actors.caseworker).submitCases(batch);
    for (const c of batch) {
      await expect(tx)
        .to.emit(ledger, "CaseSubmitted")
        .withArgs(c.caseId, c.programmeId, c.region, c.pseudonym, c.recordDigest, actors.caseworker.address);
    }
    expect(await ledger.caseCount()).to.equal(5n);
    for (const [i, c] of batch.entries()) {
      expect(await ledger.caseIdAt(i)).to.equal(c.caseId);
      const r = await ledger.caseRecord(c.caseId);
      expect([r.status, r.programmeId, r.region, r.submitter, r.pseudonym, r.recordDigest]).to.deep.equal([
        BigInt(CaseStatus.Submitted),
        c.programmeId,
        c.region,
        actors.caseworker.address,
        c.pseudonym,
        c.recordDigest,
      ]);
    }
  });

  it("is all or none: one refused case reverts the batch with that case's error and stores nothing", async function () {
    const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
    const cw = ledger.connect(actors.caseworker);
    const batch = batchOf(programmes.dibao, 4, "atomic");
    // The same id twice in one batch: the second is refused as an existing case.
    await expect(cw.submitCases([...batch, batch[1]]))
      .to.be.revertedWithCustomError(ledger, "LedgerCaseExists")
      .withArgs(batch[1].caseId);
    const outside = { ...batch[3], region: 110105002000n };
    await expect(cw.submitCases([batch[0], outside]))
      .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
      .withArgs(actors.caseworker.address, 110105002000n);
    await expect(cw.submitCases([batch[0], { ...batch[2], recordDigest: ethers.ZeroHash }]))
      .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
      .withArgs("recordDigest");
    expect(await ledger.caseCount()).to.equal(0n);
    for (const c of batch) expect((await ledger.caseRecord(c.caseId)).status).to.equal(CaseStatus.None);
  });

  it("reverts with LedgerInvalidInput(cases) for an empty batch, and checks the role as submitCase does", async function () {
    const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
    await expect(ledger.connect(actors.caseworker).submitCases([]))
      .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
      .withArgs("cases");
    await expect(
      ledger.connect(actors.countyFinance).submitCases(batchOf(programmes.dibao, 1, "role")),
    ).to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole");
  });

  it("costs less a case than one submitCase transaction each", async function () {
    const { ledger, actors, programmes } = await loadFixture(deployFunded);
    const cw = ledger.connect(actors.caseworker);
    const [one] = batchOf(programmes.dibao, 1, "single");
    const single = await (
      await cw.submitCase(one.caseId, one.programmeId, one.region, one.pseudonym, one.recordDigest)
    ).wait();
    const many = await (await cw.submitCases(batchOf(programmes.dibao, 50, "fifty"))).wait();
    expect(many!.gasUsed / 50n).to.be.lessThan(single!.gasUsed);
  });

  it("for all batches: succeeds exactly when submitting each case in turn would, leaving the same cases", async function () {
    const fx = await loadFixture(deployFunded);
    const { ledger, actors, programmes } = fx;
    const pool = batchOf(programmes.dibao, 6, "pool");
    const entry = fc.record({
      pick: fc.nat({ max: pool.length - 1 }),
      flaw: fc.constantFrom("none", "none", "none", "zeroDigest", "outside", "unknownProgramme"),
    });
    const shape = (pick: number, flaw: string): Submission => {
      const c = pool[pick];
      if (flaw === "zeroDigest") return { ...c, recordDigest: ethers.ZeroHash };
      if (flaw === "outside") return { ...c, region: REGION.otherTownship };
      if (flaw === "unknownProgramme") return { ...c, programmeId: 999n };
      return c;
    };
    const view = async (batch: Submission[]) => {
      const out: unknown[] = [await ledger.caseCount()];
      for (const c of batch) out.push(Array.from(await ledger.caseRecord(c.caseId), String));
      return out;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
        const batch = entries.map((e) => shape(e.pick, e.flaw));
        const start = await takeSnapshot();
        const cw = ledger.connect(actors.caseworker);
        const eachOk = await inTurn(batch, (c) =>
          cw.submitCase(c.caseId, c.programmeId, c.region, c.pseudonym, c.recordDigest),
        );
        const afterEach = eachOk ? await view(batch) : undefined;
        await start.restore();
        const batchOk = await accepted(cw.submitCases(batch));
        expect(batchOk).to.equal(eachOk);
        if (batchOk) expect(await view(batch)).to.deep.equal(afterEach);
        else expect(await ledger.caseCount()).to.equal(0n);
        await start.restore();
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  describe("reviewCases", function () {
    /** `n` cases submitted in one batch, ready for review. */
    const submitted = async (n: number, label: string) => {
      const fx = await loadFixture(deployFunded);
      const batch = batchOf(fx.programmes.dibao, n, label);
      await fx.ledger.connect(fx.actors.caseworker).submitCases(batch);
      return { ...fx, ids: batch.map((c) => c.caseId) };
    };

    it("reviews every case in order, as reviewCase does: passed → InNotice with its notice end, failed → Rejected", async function () {
      const { ledger, actors, ids } = await submitted(3, "review");
      const at = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(at);
      const reviews = ids.map((caseId, i) => ({ caseId, passed: i !== 1, reasonDigest: digest(`reason:${i}`) }));
      const tx = ledger.connect(actors.caseworker).reviewCases(reviews);
      const noticeEnds = at + PROGRAMMES.dibao.noticePeriod;
      await expect(tx).to.emit(ledger, "CaseReviewed").withArgs(ids[0], true, digest("reason:0"), noticeEnds);
      await expect(tx).to.emit(ledger, "CaseReviewed").withArgs(ids[1], false, digest("reason:1"), 0);
      await expect(tx).to.emit(ledger, "CaseRejected").withArgs(ids[1], digest("reason:1"));
      await expect(tx).to.emit(ledger, "CaseReviewed").withArgs(ids[2], true, digest("reason:2"), noticeEnds);
      const statuses = await Promise.all(ids.map(async (id) => (await ledger.caseRecord(id)).status));
      expect(statuses).to.deep.equal([CaseStatus.InNotice, CaseStatus.Rejected, CaseStatus.InNotice].map(BigInt));
    });

    it("is all or none: a case reviewed twice, or unknown, reverts the batch and changes nothing", async function () {
      const { ledger, registry, actors, ids } = await submitted(2, "review-atomic");
      const cw = ledger.connect(actors.caseworker);
      const ok = (caseId: string) => ({ caseId, passed: true, reasonDigest: digest("ok") });
      await expect(cw.reviewCases([ok(ids[0]), ok(ids[1]), ok(ids[0])]))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidCaseStatus")
        .withArgs(ids[0], CaseStatus.InNotice);
      await expect(cw.reviewCases([ok(ids[0]), ok(digest("nobody"))]))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownCase")
        .withArgs(digest("nobody"));
      await expect(cw.reviewCases([])).to.be.revertedWithCustomError(ledger, "LedgerInvalidInput").withArgs("reviews");
      await expect(ledger.connect(actors.otherCaseworker).reviewCases([ok(ids[0])])).to.be.revertedWithCustomError(
        registry,
        "LedgerUnauthorizedRegion",
      );
      for (const id of ids) expect((await ledger.caseRecord(id)).status).to.equal(CaseStatus.Submitted);
    });

    it("for all batches: succeeds exactly when reviewing each case in turn would, leaving the same cases", async function () {
      const { ledger, actors, ids } = await submitted(4, "review-property");
      const pool = [...ids, digest("unknown case")];
      const view = async () => Promise.all(pool.map(async (id) => Array.from(await ledger.caseRecord(id), String)));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ pick: fc.nat({ max: pool.length - 1 }), passed: fc.boolean() }), {
            minLength: 1,
            maxLength: 6,
          }),
          async (entries) => {
            const reviews = entries.map((e) => ({ caseId: pool[e.pick], passed: e.passed, reasonDigest: digest("r") }));
            const start = await takeSnapshot();
            const cw = ledger.connect(actors.caseworker);
            const eachOk = await inTurn(reviews, (r) => cw.reviewCase(r.caseId, r.passed, r.reasonDigest));
            // Same block time for both paths: the notice ends the same.
            const afterEach = eachOk ? (await view()).map((v) => v.filter((_, i) => i !== 4)) : undefined;
            await start.restore();
            const batchOk = await accepted(cw.reviewCases(reviews));
            expect(batchOk).to.equal(eachOk);
            if (batchOk) expect((await view()).map((v) => v.filter((_, i) => i !== 4))).to.deep.equal(afterEach);
            else for (const v of await view()) expect(v[0]).to.be.oneOf([String(CaseStatus.Submitted), "0"]);
            await start.restore();
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });
  });
});
