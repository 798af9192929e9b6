import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { ProgrammeKind, SkipReason } from "../../lib/roles";
import {
  DAY,
  POOL_FUNDING,
  PROGRAMMES,
  type Funded,
  approvedCase,
  approvedCases,
  assessment,
  caseAt,
  currentPeriod,
  deployFunded,
  digest,
  goToPeriod,
  longProgrammeCase,
  nextPeriod,
  payoutKey,
} from "../helpers/fixture";

const ZERO = ethers.ZeroHash;
const GAP_3 = 150_000n; // (737 − 237 yuan) × 3 people, in fen
const GAP_1 = 50_000n;
const FIXED = PROGRAMMES.tekun.amount;
const coder = ethers.AbiCoder.defaultAbiCoder();
const checkData = (programmeId: bigint, offset: number | bigint, limit: number | bigint) =>
  coder.encode(["uint32", "uint256", "uint256"], [programmeId, offset, limit]);
const performData = (programmeId: bigint, period: number, caseIds: string[]) =>
  coder.encode(["uint32", "uint24", "bytes32[]"], [programmeId, period, caseIds]);

/** checkUpkeep's answer as a plain array. */
async function upkeep(fx: Funded, programmeId: bigint, offset: number | bigint, limit: number | bigint) {
  const [needed, data] = await fx.ledger.checkUpkeep(checkData(programmeId, offset, limit));
  return [needed, data] as [boolean, string];
}

async function firstPeriod(fx: Funded, caseId: string) {
  return Number((await fx.ledger.caseRecord(caseId)).firstPeriod);
}

describe("Payouts", function () {
  let fx: Funded;

  beforeEach(async function () {
    fx = await loadFixture(deployFunded);
  });

  describe("executePayouts: amounts", function () {
    it("gap programme, approved case, current period → pays (standard − income per head) × household size", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      const [appropriated] = await ledger.fundTotals();

      const tx = ledger.connect(actors.stranger).executePayouts(programmes.dibao, period, [caseId]);

      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(caseId, programmes.dibao, ZERO, period, GAP_3);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 1, 0, GAP_3);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING - GAP_3);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(GAP_3);
      expect([...(await ledger.fundTotals())]).to.deep.equal([appropriated, appropriated - GAP_3, GAP_3]);
      const record = await ledger.caseRecord(caseId);
      expect([record.paidThrough, record.paidMask, record.settledMask]).to.deep.equal([BigInt(period), 1n, 0n]);
    });

    it("fixed programme, approved case → pays the programme's monthly amount", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "tekun");
      const period = await currentPeriod(ledger);

      await expect(ledger.executePayouts(programmes.tekun, period, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.tekun, ZERO, period, FIXED);
      expect(await ledger.poolBalance(programmes.tekun)).to.equal(POOL_FUNDING - FIXED);
    });

    it("temporary programme → pays the approved sum once, in the approval period only", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "temporary", {
        a: { amount: 300_000n },
        approver: actors.townshipApprover,
      });
      const period = await currentPeriod(ledger);

      await expect(ledger.executePayouts(programmes.temporary, period, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.temporary, ZERO, period, 300_000n);
      await expect(ledger.executePayouts(programmes.temporary, period, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, period, SkipReason.AlreadyPaid);
      await nextPeriod(ledger);
      await expect(ledger.executePayouts(programmes.temporary, period + 1, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, period + 1, SkipReason.Expired);
      expect(await ledger.programmePaidOut(programmes.temporary)).to.equal(300_000n);
    });
  });

  describe("executePayouts: skip reasons", function () {
    it("unknown case → PayoutSkipped UnknownCase, nothing paid", async function () {
      const { ledger, programmes } = fx;
      const period = await currentPeriod(ledger);
      const unknown = digest("no such case");

      const tx = ledger.executePayouts(programmes.dibao, period, [unknown]);

      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(unknown, ZERO, period, SkipReason.UnknownCase);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 0, 1, 0);
      await expect(tx).not.to.emit(ledger, "PayoutExecuted");
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING);
    });

    it("case of another programme → PayoutSkipped WrongProgramme", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "tekun");
      const period = await currentPeriod(ledger);

      await expect(ledger.executePayouts(programmes.dibao, period, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, period, SkipReason.WrongProgramme);
      expect(await ledger.poolBalance(programmes.tekun)).to.equal(POOL_FUNDING);
    });

    it("submitted, in-notice and rejected cases → PayoutSkipped NotApproved each", async function () {
      const { ledger, actors, programmes } = fx;
      const submitted = await caseAt(fx, "dibao", "submitted");
      const inNotice = await caseAt(fx, "dibao", "inNotice");
      const rejected = await caseAt(fx, "dibao", "inNotice");
      await ledger.connect(actors.approver).rejectCase(rejected.caseId, digest("income too high"));
      await time.increase(8 * DAY); // the notice of `inNotice` is over, yet it is still not approved
      const period = await currentPeriod(ledger);

      const tx = ledger.executePayouts(programmes.dibao, period, [submitted.caseId, inNotice.caseId, rejected.caseId]);

      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(submitted.caseId, ZERO, period, SkipReason.NotApproved);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(inNotice.caseId, ZERO, period, SkipReason.NotApproved);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(rejected.caseId, ZERO, period, SkipReason.NotApproved);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 0, 3, 0);
    });

    it("suspended case → PayoutSkipped Suspended", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      await ledger.connect(actors.approver).suspendCase(caseId, digest("review of income"));
      const period = await currentPeriod(ledger);

      await expect(ledger.executePayouts(programmes.dibao, period, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, period, SkipReason.Suspended);
    });

    it("a period before the approval → PayoutSkipped NotStarted", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);

      await expect(ledger.executePayouts(programmes.dibao, p0 - 1, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 - 1, SkipReason.NotStarted);
    });

    it("the period after eligibility ends → PayoutSkipped Expired; the last eligible period is still paid", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      expect((await ledger.caseRecord(caseId)).lastPeriod).to.equal(p0 + 11);
      await goToPeriod(p0 + 12);

      await expect(ledger.executePayouts(programmes.dibao, p0 + 12, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 12, SkipReason.Expired);
      await expect(ledger.executePayouts(programmes.dibao, p0 + 11, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, p0 + 11, GAP_3);
    });

    it("the period after a gradual exit ends → PayoutSkipped Expired", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      await expect(ledger.connect(actors.approver).exitCase(caseId, digest("income rose")))
        .to.emit(ledger, "CaseExited")
        .withArgs(caseId, p0 + 6, digest("income rose"));
      await goToPeriod(p0 + 7);

      await expect(ledger.executePayouts(programmes.dibao, p0 + 7, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 7, SkipReason.Expired);
    });

    it("a period already paid → PayoutSkipped AlreadyPaid, pool debited once", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [caseId]);

      const tx = ledger.executePayouts(programmes.dibao, period, [caseId]);

      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(caseId, ZERO, period, SkipReason.AlreadyPaid);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 0, 1, 0);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING - GAP_3);
    });

    it("a period 32 behind the latest paid one → PayoutSkipped OutsideWindow; 31 behind is still paid", async function () {
      const { ledger } = fx;
      const { caseId, programmeId, p0 } = await longProgrammeCase(fx);
      await goToPeriod(p0 + 32);
      await ledger.executePayouts(programmeId, p0 + 32, [caseId]);

      await expect(ledger.executePayouts(programmeId, p0, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0, SkipReason.OutsideWindow);
      await expect(ledger.executePayouts(programmeId, p0 + 1, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmeId, ZERO, p0 + 1, FIXED);
    });

    it("paying would push an unsettled payout out of the window → PayoutSkipped SettlementBacklog until it is settled", async function () {
      const { ledger, actors } = fx;
      const { caseId, programmeId, p0 } = await longProgrammeCase(fx);
      await ledger.executePayouts(programmeId, p0, [caseId]); // never settled
      await goToPeriod(p0 + 32);
      // p0 + 31 keeps p0 as the oldest tracked period, so it can be paid
      await expect(ledger.executePayouts(programmeId, p0 + 31, [caseId])).to.emit(ledger, "PayoutExecuted");

      await expect(ledger.executePayouts(programmeId, p0 + 32, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 32, SkipReason.SettlementBacklog);
      // arrears inside the window are not held up
      await expect(ledger.executePayouts(programmeId, p0 + 1, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmeId, ZERO, p0 + 1, FIXED);

      await ledger.connect(actors.paymentAgent).confirmSettlements(digest("bank batch"), [payoutKey(caseId, p0)]);
      await expect(ledger.executePayouts(programmeId, p0 + 32, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmeId, ZERO, p0 + 32, FIXED);
      await expect(ledger.executePayouts(programmeId, p0, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0, SkipReason.OutsideWindow);
    });

    it("pool short → PayoutSkipped InsufficientBudget for what it no longer covers; paid once the pool is refunded", async function () {
      const { ledger, actors, programmes } = fx;
      const [big, small] = await approvedCases(fx, "dibao", [{ householdSize: 3 }, { householdSize: 1 }]);
      const period = await currentPeriod(ledger);
      const left = GAP_3 + GAP_1 - 1n;
      await ledger.connect(actors.countyFinance).defundProgramme(programmes.dibao, POOL_FUNDING - left, digest("cut"));

      const tx = ledger.executePayouts(programmes.dibao, period, [big.caseId, small.caseId]);

      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(big.caseId, programmes.dibao, ZERO, period, GAP_3);
      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(small.caseId, ZERO, period, SkipReason.InsufficientBudget);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 1, 1, GAP_3);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(GAP_1 - 1n);

      await ledger.connect(actors.countyFinance).fundProgramme(programmes.dibao, 1n, digest("top-up"));
      await expect(ledger.executePayouts(programmes.dibao, period, [small.caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(small.caseId, programmes.dibao, ZERO, period, GAP_1);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(0n);
    });
  });

  describe("executePayouts: reverts", function () {
    it("a future period → LedgerPeriodNotDue(period, current)", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);

      await expect(ledger.executePayouts(programmes.dibao, period + 1, [caseId]))
        .to.be.revertedWithCustomError(ledger, "LedgerPeriodNotDue")
        .withArgs(period + 1, period);
    });

    it("medical or disaster programme → LedgerWrongProgrammeKind(programmeId, kind)", async function () {
      const { ledger, programmes } = fx;
      const period = await currentPeriod(ledger);

      await expect(ledger.executePayouts(programmes.medical, period, []))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongProgrammeKind")
        .withArgs(programmes.medical, ProgrammeKind.Medical);
      await expect(ledger.executePayouts(programmes.disaster, period, []))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongProgrammeKind")
        .withArgs(programmes.disaster, ProgrammeKind.Disaster);
    });

    it("unknown programme → LedgerUnknownProgramme", async function () {
      const { ledger } = fx;
      await expect(ledger.executePayouts(99, await currentPeriod(ledger), []))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownProgramme")
        .withArgs(99);
    });

    it("ledger paused → LedgerPausedError from the registry, nothing paid", async function () {
      const { ledger, registry, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      await registry.connect(actors.admin).pause();

      await expect(ledger.executePayouts(programmes.dibao, period, [caseId])).to.be.revertedWithCustomError(
        registry,
        "LedgerPausedError",
      );
      await expect(ledger.performUpkeep(performData(programmes.dibao, period, [caseId]))).to.be.revertedWithCustomError(
        registry,
        "LedgerPausedError",
      );
      await registry.connect(actors.admin).unpause();
      await expect(ledger.executePayouts(programmes.dibao, period, [caseId])).to.emit(ledger, "PayoutExecuted");
    });
  });

  describe("executePayouts: the life of an entitlement", function () {
    it("an earlier unpaid period inside the window → paid as arrears after a later one", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      await nextPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, p0 + 1, [caseId]);

      await expect(ledger.executePayouts(programmes.dibao, p0, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, p0, GAP_3);
      const record = await ledger.caseRecord(caseId);
      expect([record.paidThrough, record.paidMask]).to.deep.equal([BigInt(p0 + 1), 0b11n]);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(2n * GAP_3);
    });

    it("gradual exit → pays exactly the programme's exit periods after the exit month, then stops by itself", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const exitMonth = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, exitMonth, [caseId]);
      await ledger.connect(actors.approver).exitCase(caseId, digest("found work"));
      expect((await ledger.caseRecord(caseId)).status).to.equal(5n); // Exiting

      const paidPeriods: number[] = [];
      for (let i = 0; i < PROGRAMMES.dibao.exitPeriods + 2; i++) {
        await nextPeriod(ledger);
        const period = await currentPeriod(ledger);
        const receipt = await (await ledger.executePayouts(programmes.dibao, period, [caseId])).wait();
        const paid = receipt!.logs
          .map((log) => ledger.interface.parseLog(log))
          .filter((e) => e?.name === "PayoutExecuted");
        if (paid.length > 0) paidPeriods.push(period);
      }

      expect(paidPeriods).to.deep.equal(Array.from({ length: 6 }, (_, i) => exitMonth + 1 + i));
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(7n * GAP_3);
    });

    it("suspend stops payouts; resume restarts them and the held month is paid as arrears", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      await ledger.executePayouts(programmes.dibao, p0, [caseId]);
      await nextPeriod(ledger);
      await ledger.connect(actors.approver).suspendCase(caseId, digest("check income"));

      await expect(ledger.executePayouts(programmes.dibao, p0 + 1, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 1, SkipReason.Suspended);
      await nextPeriod(ledger);
      await expect(ledger.executePayouts(programmes.dibao, p0 + 2, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 2, SkipReason.Suspended);

      await ledger.connect(actors.approver).resumeCase(caseId, digest("income confirmed"));
      await expect(ledger.executePayouts(programmes.dibao, p0 + 2, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, p0 + 2, GAP_3);
      await expect(ledger.executePayouts(programmes.dibao, p0 + 1, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, p0 + 1, GAP_3);
    });

    it("suspended exit → no payouts; resumed, it pays again until the same exit end", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      await ledger.connect(actors.approver).exitCase(caseId, digest("exit"));
      await ledger.connect(actors.approver).suspendCase(caseId, digest("hold"));
      await goToPeriod(p0 + 6);

      await expect(ledger.executePayouts(programmes.dibao, p0 + 6, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 6, SkipReason.Suspended);
      await ledger.connect(actors.approver).resumeCase(caseId, digest("resume"));
      expect((await ledger.caseRecord(caseId)).status).to.equal(5n); // Exiting again
      await expect(ledger.executePayouts(programmes.dibao, p0 + 6, [caseId])).to.emit(ledger, "PayoutExecuted");
      await goToPeriod(p0 + 7);
      await expect(ledger.executePayouts(programmes.dibao, p0 + 7, [caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(caseId, ZERO, p0 + 7, SkipReason.Expired);
    });

    it("re-certification in the last eligible month → the following months are paid at the new amount", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      await goToPeriod(p0 + 11);
      await ledger.executePayouts(programmes.dibao, p0 + 11, [caseId]);
      await ledger.connect(actors.paymentAgent).confirmSettlements(digest("bank"), [payoutKey(caseId, p0 + 11)]);

      await expect(
        ledger
          .connect(actors.approver)
          .recertifyCase(caseId, assessment({ householdSize: 1 }), PROGRAMMES.dibao.ruleVersion, digest("annual")),
      )
        .to.emit(ledger, "CaseRecertified")
        .withArgs(
          caseId,
          GAP_1,
          p0 + 22,
          PROGRAMMES.dibao.ruleVersion,
          PROGRAMMES.dibao.amount,
          1,
          23_700n,
          digest("annual"),
        );
      await goToPeriod(p0 + 12);
      await expect(ledger.executePayouts(programmes.dibao, p0 + 12, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, p0 + 12, GAP_1);
    });

    it("re-certification after eligibility lapsed → eligibility restarts now; the lapsed months are not paid", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const p0 = await firstPeriod(fx, caseId);
      await goToPeriod(p0 + 15); // eligibility ended with p0 + 11
      await ledger
        .connect(actors.approver)
        .recertifyCase(caseId, assessment(), PROGRAMMES.dibao.ruleVersion, digest("late re-certification"));
      const record = await ledger.caseRecord(caseId);
      expect([record.firstPeriod, record.lastPeriod]).to.deep.equal([BigInt(p0 + 15), BigInt(p0 + 26)]);

      for (const lapsed of [p0 + 12, p0 + 13, p0 + 14]) {
        await expect(ledger.executePayouts(programmes.dibao, lapsed, [caseId]))
          .to.emit(ledger, "PayoutSkipped")
          .withArgs(caseId, ZERO, lapsed, SkipReason.NotStarted);
      }
      await expect(ledger.executePayouts(programmes.dibao, p0 + 15, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, p0 + 15, GAP_3);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(GAP_3);
    });

    it("the same case twice in one batch → paid once, the second entry skipped AlreadyPaid", async function () {
      const { ledger, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);

      const tx = ledger.executePayouts(programmes.dibao, period, [caseId, caseId]);

      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(caseId, programmes.dibao, ZERO, period, GAP_3);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(caseId, ZERO, period, SkipReason.AlreadyPaid);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 1, 1, GAP_3);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING - GAP_3);
    });

    it("mixed batch → pays the payable ones, skips each other with its reason, totals in the run event", async function () {
      const { ledger, actors, programmes } = fx;
      const [a, b, suspended] = await approvedCases(fx, "dibao", [
        { householdSize: 3 },
        { householdSize: 1 },
        { householdSize: 2 },
      ]);
      const other = await approvedCase(fx, "tekun");
      const submitted = await caseAt(fx, "dibao", "submitted");
      await ledger.connect(actors.approver).suspendCase(suspended.caseId, digest("hold"));
      const unknown = digest("unknown");
      const period = await currentPeriod(ledger);
      const [appropriated, , paidBefore] = await ledger.fundTotals();
      const ids = [a.caseId, unknown, suspended.caseId, other.caseId, b.caseId, submitted.caseId, a.caseId];

      const tx = ledger.connect(actors.keeper).executePayouts(programmes.dibao, period, ids);

      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(a.caseId, programmes.dibao, ZERO, period, GAP_3);
      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(b.caseId, programmes.dibao, ZERO, period, GAP_1);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(unknown, ZERO, period, SkipReason.UnknownCase);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(suspended.caseId, ZERO, period, SkipReason.Suspended);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(other.caseId, ZERO, period, SkipReason.WrongProgramme);
      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(submitted.caseId, ZERO, period, SkipReason.NotApproved);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(a.caseId, ZERO, period, SkipReason.AlreadyPaid);
      await expect(tx)
        .to.emit(ledger, "PayoutRunExecuted")
        .withArgs(programmes.dibao, ZERO, period, 2, 5, GAP_3 + GAP_1);
      const receipt = await (await tx).wait();
      expect(receipt!.logs.length).to.equal(ids.length + 1);

      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING - GAP_3 - GAP_1);
      expect(await ledger.poolBalance(programmes.tekun)).to.equal(POOL_FUNDING);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(GAP_3 + GAP_1);
      const paidOut = paidBefore + GAP_3 + GAP_1;
      expect([...(await ledger.fundTotals())]).to.deep.equal([appropriated, appropriated - paidOut, paidOut]);
    });
  });

  describe("checkUpkeep and performUpkeep", function () {
    it("checkUpkeep → exactly the cases due this period; performUpkeep pays them; then no upkeep", async function () {
      const { ledger, actors, programmes } = fx;
      const [a, paid, suspended, d] = await approvedCases(fx, "dibao", [
        { householdSize: 3 },
        { householdSize: 2 },
        { householdSize: 2 },
        { householdSize: 1 },
      ]);
      await approvedCase(fx, "tekun"); // another programme's case is never listed
      await caseAt(fx, "dibao", "inNotice"); // not approved: not among the programme's cases
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [paid.caseId]);
      await ledger.connect(actors.approver).suspendCase(suspended.caseId, digest("hold"));

      const [needed, data] = await upkeep(fx, programmes.dibao, 0, 100);

      expect(needed).to.equal(true);
      expect(data).to.equal(performData(programmes.dibao, period, [a.caseId, d.caseId]));
      const tx = ledger.connect(actors.keeper).performUpkeep(data);
      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(a.caseId, programmes.dibao, ZERO, period, GAP_3);
      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(d.caseId, programmes.dibao, ZERO, period, GAP_1);
      await expect(tx)
        .to.emit(ledger, "PayoutRunExecuted")
        .withArgs(programmes.dibao, ZERO, period, 2, 0, GAP_3 + GAP_1);
      expect(await upkeep(fx, programmes.dibao, 0, 100)).to.deep.equal([
        false,
        performData(programmes.dibao, period, []),
      ]);
    });

    it("checkUpkeep with offset and limit → only that slice of the programme's cases", async function () {
      const { ledger, programmes } = fx;
      const cases = await approvedCases(fx, "dibao", [{}, {}, {}, {}]);
      const period = await currentPeriod(ledger);
      const ids = cases.map((c) => c.caseId);

      expect(await upkeep(fx, programmes.dibao, 1, 2)).to.deep.equal([
        true,
        performData(programmes.dibao, period, ids.slice(1, 3)),
      ]);
      expect(await upkeep(fx, programmes.dibao, 3, 10)).to.deep.equal([
        true,
        performData(programmes.dibao, period, ids.slice(3)),
      ]);
      expect(await upkeep(fx, programmes.dibao, 4, 10)).to.deep.equal([
        false,
        performData(programmes.dibao, period, []),
      ]);
      expect((await upkeep(fx, programmes.dibao, 2, ethers.MaxUint256))[1]).to.equal(
        performData(programmes.dibao, period, ids.slice(2)),
      );
    });

    it("checkUpkeep with a short pool → only the cases the pool covers, in order", async function () {
      const { ledger, actors, programmes } = fx;
      const [a, , c] = await approvedCases(fx, "dibao", [
        { householdSize: 3 },
        { householdSize: 3 },
        { householdSize: 1 },
      ]);
      const period = await currentPeriod(ledger);
      await ledger
        .connect(actors.countyFinance)
        .defundProgramme(programmes.dibao, POOL_FUNDING - GAP_3 - GAP_1, digest("cut"));

      expect(await upkeep(fx, programmes.dibao, 0, 10)).to.deep.equal([
        true,
        performData(programmes.dibao, period, [a.caseId, c.caseId]),
      ]);
      await ledger.connect(actors.countyFinance).defundProgramme(programmes.dibao, GAP_3 + GAP_1, digest("cut"));
      expect(await upkeep(fx, programmes.dibao, 0, 10)).to.deep.equal([
        false,
        performData(programmes.dibao, period, []),
      ]);
    });

    it("checkUpkeep for a medical or disaster programme → no upkeep", async function () {
      const { programmes } = fx;
      await approvedCase(fx, "medical");
      await approvedCase(fx, "disaster");

      for (const id of [programmes.medical, programmes.disaster]) {
        const [needed] = await upkeep(fx, id, 0, 10);
        expect(needed).to.equal(false);
      }
    });

    it("performUpkeep with forged data (paid cases, another programme's, unknown, duplicates) → pays nothing extra", async function () {
      const { ledger, programmes } = fx;
      const [a] = await approvedCases(fx, "dibao", [{}]);
      const other = await approvedCase(fx, "tekun");
      const period = await currentPeriod(ledger);
      const [, data] = await upkeep(fx, programmes.dibao, 0, 10);
      await ledger.performUpkeep(data);
      const pool = await ledger.poolBalance(programmes.dibao);

      // stale: the same data again
      await expect(ledger.performUpkeep(data))
        .to.emit(ledger, "PayoutRunExecuted")
        .withArgs(programmes.dibao, ZERO, period, 0, 1, 0);
      // forged: duplicates, another programme's case, an unknown id
      const forged = performData(programmes.dibao, period, [a.caseId, a.caseId, other.caseId, digest("x")]);
      const tx = ledger.performUpkeep(forged);
      await expect(tx).to.emit(ledger, "PayoutRunExecuted").withArgs(programmes.dibao, ZERO, period, 0, 4, 0);
      await expect(tx).not.to.emit(ledger, "PayoutExecuted");
      // forged: the dibao case under the fixed programme
      await expect(ledger.performUpkeep(performData(programmes.tekun, period, [a.caseId])))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(a.caseId, ZERO, period, SkipReason.WrongProgramme);
      // forged: a future period
      await expect(ledger.performUpkeep(performData(programmes.dibao, period + 1, [a.caseId])))
        .to.be.revertedWithCustomError(ledger, "LedgerPeriodNotDue")
        .withArgs(period + 1, period);

      expect(await ledger.poolBalance(programmes.dibao)).to.equal(pool);
      expect(await ledger.poolBalance(programmes.tekun)).to.equal(POOL_FUNDING);
    });
  });
});
