import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CaseStatus, ProgrammeKind, Role } from "../../lib/roles";
import {
  PROGRAMMES,
  REGION,
  assessment,
  caseAt,
  currentPeriod,
  deployFunded,
  digest,
  newCase,
  type Assessment,
  type Funded,
} from "../helpers/fixture";

const APPROVER_BIT = 1 << Role.Approver;
const UINT40_MAX = 2n ** 40n - 1n;

/** A case of `programme` whose notice is over, ready for a decision. */
function readyFor(programme: keyof typeof PROGRAMMES) {
  return async function ready() {
    const fx = await deployFunded();
    const c = await caseAt(fx, programme, "inNotice");
    if (PROGRAMMES[programme].noticePeriod > 0) await time.increase(PROGRAMMES[programme].noticePeriod);
    return { ...fx, ...c };
  };
}
const READY = {
  dibao: readyFor("dibao"),
  tekun: readyFor("tekun"),
  temporary: readyFor("temporary"),
  medical: readyFor("medical"),
  disaster: readyFor("disaster"),
};
const { dibao: readyDibao, tekun: readyTekun, temporary: readyTemporary } = READY;

/** Approves and checks CaseApproved and the stored case against the expected amount and periods. */
async function expectApproval(
  fx: Funded & { caseId: string; programmeId: bigint },
  who: keyof Funded["actors"],
  a: Assessment,
  expected: { amount: bigint; standard: bigint; months: number; ruleVersion?: string },
) {
  const { ledger, caseId } = fx;
  const ruleVersion = expected.ruleVersion ?? (await ledger.programme(fx.programmeId)).ruleVersion;
  const tx = await ledger.connect(fx.actors[who]).approveCase(caseId, a, ruleVersion);
  const first = await currentPeriod(ledger);
  const last = first + expected.months - 1;
  await expect(tx)
    .to.emit(ledger, "CaseApproved")
    .withArgs(caseId, expected.amount, first, last, ruleVersion, expected.standard, a.householdSize, a.incomePerHead);
  const c = await ledger.caseRecord(caseId);
  expect([c.status, c.amount, c.firstPeriod, c.lastPeriod]).to.deep.equal([
    BigInt(CaseStatus.Approved),
    expected.amount,
    BigInt(first),
    BigInt(last),
  ]);
  expect(await ledger.isActive(caseId)).to.equal(true);
}

describe("Cases: approval (審批)", function () {
  describe("the amount follows the programme's rule", function () {
    it("MonthlyGap (低保): (standard − income per head) × household size, for 12 months", async function () {
      const fx = await loadFixture(readyDibao);
      const a = assessment(); // 3 people, 237 yuan a head: (737 − 237) × 3 = 1,500 yuan
      await expectApproval(fx, "approver", a, { amount: 150_000n, standard: 73_700n, months: 12 });
    });

    it("MonthlyGap: for any household, the gap floored at zero (zero → LedgerZeroEntitlement) (property)", async function () {
      const standard = PROGRAMMES.dibao.amount;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 99 }),
          fc.oneof(fc.bigInt({ min: 0n, max: standard + 20_000n }), fc.constant(standard), fc.constant(standard - 1n)),
          async (householdSize, incomePerHead) => {
            const fx = await loadFixture(readyDibao);
            const a = assessment({ householdSize, incomePerHead });
            const gap = incomePerHead >= standard ? 0n : (standard - incomePerHead) * BigInt(householdSize);
            if (gap === 0n) {
              await expect(
                fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, a, PROGRAMMES.dibao.ruleVersion),
              )
                .to.be.revertedWithCustomError(fx.ledger, "LedgerZeroEntitlement")
                .withArgs(fx.caseId);
            } else {
              await expectApproval(fx, "approver", a, { amount: gap, standard, months: 12 });
            }
          },
        ),
        { numRuns: 30 },
      );
    });

    it("MonthlyGap: income equal to or above the standard gives LedgerZeroEntitlement", async function () {
      const fx = await loadFixture(readyDibao);
      for (const incomePerHead of [73_700n, 73_701n, 1_000_000n]) {
        await expect(
          fx.ledger
            .connect(fx.actors.approver)
            .approveCase(fx.caseId, assessment({ incomePerHead }), PROGRAMMES.dibao.ruleVersion),
        )
          .to.be.revertedWithCustomError(fx.ledger, "LedgerZeroEntitlement")
          .withArgs(fx.caseId);
      }
    });

    it("MonthlyGap: a household size of 0 or above 99 gives LedgerInvalidInput(householdSize)", async function () {
      const fx = await loadFixture(readyDibao);
      for (const householdSize of [0, 100]) {
        await expect(
          fx.ledger
            .connect(fx.actors.approver)
            .approveCase(fx.caseId, assessment({ householdSize }), PROGRAMMES.dibao.ruleVersion),
        )
          .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidInput")
          .withArgs("householdSize");
      }
    });

    it("MonthlyFixed (特困): the fixed monthly amount whatever the assessment says", async function () {
      const fx = await loadFixture(readyTekun);
      const a = assessment({ householdSize: 1, incomePerHead: 999_999n, amount: 5n });
      await expectApproval(fx, "approver", a, { amount: 80_000n, standard: 80_000n, months: 12 });
    });

    it("Temporary (臨時救助): a township approver may approve up to the ceiling, paid in one period", async function () {
      const fx = await loadFixture(readyTemporary);
      const a = assessment({ amount: 500_000n });
      await expectApproval(fx, "townshipApprover", a, { amount: 500_000n, standard: 500_000n, months: 1 });
    });

    it("Temporary: a township approver above the ceiling gets LedgerAboveApprovalCeiling(caseId, amount, ceiling)", async function () {
      const fx = await loadFixture(readyTemporary);
      await expect(
        fx.ledger
          .connect(fx.actors.townshipApprover)
          .approveCase(fx.caseId, assessment({ amount: 500_001n }), PROGRAMMES.temporary.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.ledger, "LedgerAboveApprovalCeiling")
        .withArgs(fx.caseId, 500_001n, 500_000n);
    });

    it("Temporary: a county approver may approve above the township ceiling", async function () {
      const fx = await loadFixture(readyTemporary);
      const a = assessment({ amount: 800_000n });
      await expectApproval(fx, "approver", a, { amount: 800_000n, standard: 500_000n, months: 1 });
    });

    it("Temporary: zero gives LedgerZeroEntitlement, more than 2^40 − 1 fen LedgerInvalidInput(amount)", async function () {
      const fx = await loadFixture(readyTemporary);
      const ap = fx.ledger.connect(fx.actors.approver);
      await expect(ap.approveCase(fx.caseId, assessment({ amount: 0n }), PROGRAMMES.temporary.ruleVersion))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerZeroEntitlement")
        .withArgs(fx.caseId);
      await expect(ap.approveCase(fx.caseId, assessment({ amount: UINT40_MAX + 1n }), PROGRAMMES.temporary.ruleVersion))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidInput")
        .withArgs("amount");
    });

    it("Medical (醫療救助): the annual cap per beneficiary", async function () {
      const fx = await loadFixture(READY.medical);
      await expectApproval(fx, "approver", assessment(), { amount: 3_000_000n, standard: 3_000_000n, months: 12 });
    });

    it("Disaster (災害救助): the grant per household", async function () {
      const fx = await loadFixture(READY.disaster);
      await expectApproval(fx, "approver2", assessment(), { amount: 200_000n, standard: 200_000n, months: 12 });
    });

    it("the approved case is listed for its programme in order of approval", async function () {
      const fx = await loadFixture(deployFunded);
      const a = await caseAt(fx, "tekun", "approved");
      const b = await caseAt(fx, "tekun", "approved");
      expect(await fx.ledger.programmeCaseCount(fx.programmes.tekun)).to.equal(2n);
      expect(await fx.ledger.programmeCaseAt(fx.programmes.tekun, 0)).to.equal(a.caseId);
      expect(await fx.ledger.programmeCaseAt(fx.programmes.tekun, 1)).to.equal(b.caseId);
      expect(await fx.ledger.programmeCaseCount(fx.programmes.dibao)).to.equal(0n);
    });
  });

  describe("rule versions", function () {
    it("reverts with LedgerRuleVersionMismatch(programmeId, given, current) for a stale or wrong version", async function () {
      const fx = await loadFixture(readyDibao);
      await expect(fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, assessment(), digest("dibao-2021")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerRuleVersionMismatch")
        .withArgs(fx.programmeId, digest("dibao-2021"), PROGRAMMES.dibao.ruleVersion);
    });

    it("after a rule update, the old version is refused and the approval records the new version and standard", async function () {
      const fx = await loadFixture(readyDibao);
      const next = { ...PROGRAMMES.dibao, amount: 80_000n, validityMonths: 6, ruleVersion: digest("dibao-2026") };
      await fx.ledger.connect(fx.actors.approver2).updateProgrammeRule(fx.programmeId, next);
      await expect(
        fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.ledger, "LedgerRuleVersionMismatch")
        .withArgs(fx.programmeId, PROGRAMMES.dibao.ruleVersion, next.ruleVersion);
      await expectApproval(fx, "approver", assessment(), {
        amount: (80_000n - 23_700n) * 3n,
        standard: 80_000n,
        months: 6,
        ruleVersion: next.ruleVersion,
      });
    });
  });

  describe("who decides", function () {
    async function submittedByApprover() {
      const fx = await deployFunded();
      const { caseId, pseudonym } = newCase("self");
      await fx.ledger
        .connect(fx.actors.approver)
        .submitCase(caseId, fx.programmes.dibao, REGION.township, pseudonym, digest("record:self"));
      await fx.ledger.connect(fx.actors.caseworker).reviewCase(caseId, true, digest("reviewed"));
      await time.increase(PROGRAMMES.dibao.noticePeriod);
      return { ...fx, caseId, programmeId: fx.programmes.dibao };
    }

    it("separation of duties: the approver who submitted a case gets LedgerSelfApproval; a second approver may approve", async function () {
      const fx = await loadFixture(submittedByApprover);
      await expect(
        fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.ledger, "LedgerSelfApproval")
        .withArgs(fx.caseId, fx.actors.approver.address);
      await expectApproval(fx, "approver2", assessment(), { amount: 150_000n, standard: 73_700n, months: 12 });
    });

    for (const programme of ["dibao", "tekun", "medical", "disaster"] as const) {
      it(`a township approver gets LedgerApproverLevelTooLow on a ${ProgrammeKind[PROGRAMMES[programme].kind]} case`, async function () {
        const fx = await loadFixture(READY[programme]);
        await expect(
          fx.ledger
            .connect(fx.actors.townshipApprover)
            .approveCase(fx.caseId, assessment(), PROGRAMMES[programme].ruleVersion),
        )
          .to.be.revertedWithCustomError(fx.ledger, "LedgerApproverLevelTooLow")
          .withArgs(fx.actors.townshipApprover.address, REGION.township);
      });
    }

    it("an approver of another county gets LedgerUnauthorizedRegion; a caseworker LedgerUnauthorizedRole", async function () {
      const fx = await loadFixture(readyDibao);
      await expect(
        fx.ledger.connect(fx.actors.otherApprover).approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.actors.otherApprover.address, REGION.township);
      await expect(
        fx.ledger
          .connect(fx.actors.countyCaseworker)
          .approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.countyCaseworker.address, APPROVER_BIT);
    });
  });

  describe("status", function () {
    it("reverts with LedgerInvalidCaseStatus for a case not yet reviewed, already approved, and LedgerUnknownCase", async function () {
      const fx = await loadFixture(deployFunded);
      const ap = fx.ledger.connect(fx.actors.approver);
      const submitted = await caseAt(fx, "dibao", "submitted");
      await expect(ap.approveCase(submitted.caseId, assessment(), PROGRAMMES.dibao.ruleVersion))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(submitted.caseId, CaseStatus.Submitted);
      const approved = await caseAt(fx, "dibao", "approved");
      await expect(ap.approveCase(approved.caseId, assessment(), PROGRAMMES.dibao.ruleVersion))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(approved.caseId, CaseStatus.Approved);
      const unknown = newCase("unknown").caseId;
      await expect(ap.approveCase(unknown, assessment(), PROGRAMMES.dibao.ruleVersion))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownCase")
        .withArgs(unknown);
    });
  });
});
