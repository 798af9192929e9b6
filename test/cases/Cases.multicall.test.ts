import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CaseStatus } from "../../lib/roles";
import { PROGRAMMES, REGION, accepted, assessment, deployFunded, digest, inTurn, newCase } from "../helpers/fixture";

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_203);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);

/** A decision as the approver's list holds it: approve with the standard assessment, or reject with a reason. */
type Decision = { caseId: string; approve: boolean };

describe("ReliefLedger.multicall: many lifecycle calls in one transaction (decisions on a list of cases)", function () {
  /** `n` dibao cases whose notice is over, ready for a decision, and the programme's rule version. */
  async function ready(n = 4) {
    const fx = await deployFunded();
    const cases = Array.from({ length: n }, (_, i) => {
      const { caseId, pseudonym } = newCase(`multicall:${i}`);
      return {
        caseId,
        programmeId: fx.programmes.dibao,
        region: REGION.township,
        pseudonym,
        recordDigest: digest(`record:multicall:${i}`),
      };
    });
    await fx.ledger.connect(fx.actors.caseworker).submitCases(cases);
    await fx.ledger
      .connect(fx.actors.caseworker)
      .reviewCases(cases.map((c) => ({ caseId: c.caseId, passed: true, reasonDigest: digest("reviewed") })));
    await time.increase(PROGRAMMES.dibao.noticePeriod);
    const ruleVersion = (await fx.ledger.programme(fx.programmes.dibao)).ruleVersion;
    return { ...fx, ids: cases.map((c) => c.caseId), ruleVersion };
  }
  type Ready = Awaited<ReturnType<typeof ready>>;

  const encode = (fx: Ready, d: Decision) =>
    d.approve
      ? fx.ledger.interface.encodeFunctionData("approveCase", [d.caseId, assessment(), fx.ruleVersion])
      : fx.ledger.interface.encodeFunctionData("rejectCase", [d.caseId, digest("income above the standard")]);
  const statuses = (fx: Ready) => Promise.all(fx.ids.map(async (id) => (await fx.ledger.caseRecord(id)).status));

  it("approves and rejects a list in one transaction, each with the events and state of a call alone", async function () {
    const fx = await loadFixture(ready);
    const { ledger, actors, ids } = fx;
    const decisions = ids.map((caseId, i) => ({ caseId, approve: i !== 2 }));
    const tx = ledger.connect(actors.approver).multicall(decisions.map((d) => encode(fx, d)));
    for (const d of decisions) {
      if (d.approve) await expect(tx).to.emit(ledger, "CaseApproved");
      else await expect(tx).to.emit(ledger, "CaseRejected").withArgs(d.caseId, digest("income above the standard"));
    }
    expect(await statuses(fx)).to.deep.equal(
      [CaseStatus.Approved, CaseStatus.Approved, CaseStatus.Rejected, CaseStatus.Approved].map(BigInt),
    );
    const approvedAlone = await ledger.caseRecord(ids[0]);
    expect(approvedAlone.amount).to.equal(150_000n); // (standard − income a head) × 3, as approveCase alone
  });

  it("keeps the caller: each call is authorised as if the caller had sent it alone", async function () {
    const fx = await loadFixture(ready);
    const { ledger, registry, actors, ids } = fx;
    // A caseworker holds no approver role, in a batch or not; an approver of another county has no scope here.
    await expect(
      ledger.connect(actors.caseworker).multicall([encode(fx, { caseId: ids[0], approve: true })]),
    ).to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole");
    await expect(
      ledger.connect(actors.otherApprover).multicall([encode(fx, { caseId: ids[0], approve: false })]),
    ).to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion");
    expect(await statuses(fx)).to.deep.equal(ids.map(() => BigInt(CaseStatus.InNotice)));
  });

  it("is all or none: the first refusal reverts the batch with that call's own error", async function () {
    const fx = await loadFixture(ready);
    const { ledger, actors, ids } = fx;
    const approver = ledger.connect(actors.approver);
    const twice = [ids[0], ids[1], ids[0]].map((caseId) => encode(fx, { caseId, approve: true }));
    await expect(approver.multicall(twice))
      .to.be.revertedWithCustomError(ledger, "LedgerInvalidCaseStatus")
      .withArgs(ids[0], CaseStatus.Approved);
    await expect(approver.multicall([])).to.be.revertedWithCustomError(ledger, "LedgerEmptyMulticall");
    await expect(approver.multicall(["0x12345678"])).to.be.reverted; // no such function: refused, nothing done
    expect(await statuses(fx)).to.deep.equal(ids.map(() => BigInt(CaseStatus.InNotice)));
  });

  it("costs less a decision than one transaction each", async function () {
    const fx = await loadFixture(ready);
    const { ledger, actors, ids, ruleVersion } = fx;
    const approver = ledger.connect(actors.approver);
    const alone = await (await approver.approveCase(ids[0], assessment(), ruleVersion)).wait();
    const rest = ids.slice(1).map((caseId) => encode(fx, { caseId, approve: true }));
    const many = await (await approver.multicall(rest)).wait();
    expect(many!.gasUsed / BigInt(rest.length)).to.be.lessThan(alone!.gasUsed);
  });

  it("for all lists of decisions: succeeds exactly when the calls one after another would, leaving the same cases", async function () {
    const fx = await loadFixture(ready);
    const { ledger, actors, ids } = fx;
    const pool = [...ids, digest("unknown case")];
    const view = () => Promise.all(pool.map(async (id) => Array.from(await ledger.caseRecord(id), String)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ pick: fc.nat({ max: pool.length - 1 }), approve: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (entries) => {
          const decisions = entries.map((e) => ({ caseId: pool[e.pick], approve: e.approve }));
          const approver = ledger.connect(actors.approver);
          const start = await takeSnapshot();
          const eachOk = await inTurn(decisions, (d) =>
            d.approve
              ? approver.approveCase(d.caseId, assessment(), fx.ruleVersion)
              : approver.rejectCase(d.caseId, digest("income above the standard")),
          );
          const afterEach = eachOk ? await view() : undefined;
          await start.restore();
          const before = await view();
          const batchOk = await accepted(approver.multicall(decisions.map((d) => encode(fx, d))));
          expect(batchOk).to.equal(eachOk);
          // Approvals record the period of their block: the batch runs within one month of the calls alone.
          expect(await view()).to.deep.equal(batchOk ? afterEach : before);
          await start.restore();
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
