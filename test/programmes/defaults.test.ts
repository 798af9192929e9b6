import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import fc from "fast-check";
import { DEFAULTS, gapAmount, medicalAmount, programmeRule } from "../../lib/programmes";
import { ProgrammeKind } from "../../lib/roles";
import {
  PROGRAMMES,
  REGION,
  assessment,
  deployFunded,
  deployRegistryAndLedger,
  digest,
  newCase,
} from "../helpers/fixture";

describe("lib/programmes", function () {
  it("uses the same defaults as the contract's constants", async function () {
    const { ledger } = await loadFixture(deployRegistryAndLedger);
    expect(await ledger.DEFAULT_NOTICE_PERIOD()).to.equal(BigInt(DEFAULTS.noticePeriod));
    expect(await ledger.DEFAULT_VALIDITY_MONTHS()).to.equal(BigInt(DEFAULTS.validityMonths));
    expect(await ledger.DEFAULT_EXIT_PERIODS()).to.equal(BigInt(DEFAULTS.exitPeriods));
    expect(await ledger.DEFAULT_TEMPORARY_CEILING()).to.equal(DEFAULTS.temporaryCeiling);
  });

  it("programmeRule: a temporary programme with defaults is accepted by the contract as built", async function () {
    const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
    const rule = programmeRule(ProgrammeKind.Temporary, REGION.county, digest("temporary-v1"));
    await expect(ledger.connect(actors.approver).createProgramme(rule)).to.emit(ledger, "ProgrammeCreated");
    const stored = await ledger.programme(1);
    expect(stored.amount).to.equal(DEFAULTS.temporaryCeiling);
    expect(stored.noticePeriod).to.equal(BigInt(DEFAULTS.noticePeriod));
  });

  it("gapAmount: for all assessments, equals the amount the contract approves (or the contract refuses a zero gap)", async function () {
    const fx = await loadFixture(deployFunded);
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: 100_000n }), fc.integer({ min: 1, max: 99 }), async (income, size) => {
        const expected = gapAmount(PROGRAMMES.dibao.amount, income, size);
        const { caseId } = newCase("gap");
        const { ledger, actors } = fx;
        await ledger
          .connect(actors.caseworker)
          .submitCase(caseId, fx.programmes.dibao, REGION.township, digest(caseId), digest("r"));
        await ledger.connect(actors.caseworker).reviewCase(caseId, true, digest("ok"));
        await time.increase(PROGRAMMES.dibao.noticePeriod);
        const approve = ledger
          .connect(actors.approver)
          .approveCase(
            caseId,
            assessment({ householdSize: size, incomePerHead: income }),
            PROGRAMMES.dibao.ruleVersion,
          );
        if (expected === 0n) {
          await expect(approve).to.be.revertedWithCustomError(ledger, "LedgerZeroEntitlement").withArgs(caseId);
        } else {
          await approve;
          expect((await ledger.caseRecord(caseId)).amount).to.equal(expected);
        }
      }),
      { numRuns: 20 },
    );
  });

  it("medicalAmount: for all bills, never more than the cap left nor the ratio of the bill above the deductible", function () {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 8n }),
        (bill, deductible, ratio, capLeft) => {
          const amount = medicalAmount(bill, deductible, ratio, capLeft);
          expect(amount <= capLeft).to.equal(true);
          expect(amount * 10_000n <= (bill > deductible ? bill - deductible : 0n) * BigInt(ratio)).to.equal(true);
        },
      ),
    );
  });
});
