import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CaseStatus, Role } from "../../lib/roles";
import {
  PROGRAMMES,
  REGION,
  approvedCase,
  assessment,
  caseAt,
  currentPeriod,
  deployFunded,
  digest,
  goToPeriod,
  newCase,
  nextPeriod,
  type Funded,
} from "../helpers/fixture";

const APPROVER_BIT = 1 << Role.Approver;
const CASEWORKER_BIT = 1 << Role.Caseworker;
const DIBAO = PROGRAMMES.dibao;
const TEKUN = PROGRAMMES.tekun;
const MONTHLY = 150_000n; // the fixture's default assessment under the 低保 rule

/** A 低保 case approved in the current period. */
async function approvedDibao() {
  const fx = await deployFunded();
  const c = await approvedCase(fx, "dibao");
  return { ...fx, ...c, first: await currentPeriod(fx.ledger) };
}

async function status(fx: Funded, caseId: string) {
  return Number((await fx.ledger.caseRecord(caseId)).status) as CaseStatus;
}

describe("Cases: dynamic management (suspension, re-certification, exit, exclusion)", function () {
  describe("suspendCase and resumeCase", function () {
    it("suspends an approved case (CaseSuspended) and resumes it to Approved (CaseResumed)", async function () {
      const fx = await loadFixture(approvedDibao);
      await expect(fx.ledger.connect(fx.actors.approver2).suspendCase(fx.caseId, digest("moved away?")))
        .to.emit(fx.ledger, "CaseSuspended")
        .withArgs(fx.caseId, digest("moved away?"));
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Suspended);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(true); // it keeps its place in the exclusion group
      await expect(fx.ledger.connect(fx.actors.approver2).resumeCase(fx.caseId, digest("checked")))
        .to.emit(fx.ledger, "CaseResumed")
        .withArgs(fx.caseId, digest("checked"));
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Approved);
    });

    it("reverts with LedgerInvalidCaseStatus for states that cannot be suspended or resumed", async function () {
      const fx = await loadFixture(approvedDibao);
      const ap = fx.ledger.connect(fx.actors.approver);
      for (const stage of ["submitted", "inNotice"] as const) {
        const { caseId } = await caseAt(fx, "dibao", stage);
        const s = stage === "submitted" ? CaseStatus.Submitted : CaseStatus.InNotice;
        await expect(ap.suspendCase(caseId, digest("x")))
          .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
          .withArgs(caseId, s);
        await expect(ap.resumeCase(caseId, digest("x")))
          .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
          .withArgs(caseId, s);
      }
      await expect(ap.resumeCase(fx.caseId, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Approved);
      await ap.suspendCase(fx.caseId, digest("x"));
      await expect(ap.suspendCase(fx.caseId, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Suspended);
      const unknown = newCase("unknown").caseId;
      await expect(ap.suspendCase(unknown, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownCase")
        .withArgs(unknown);
      await expect(ap.resumeCase(unknown, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownCase")
        .withArgs(unknown);
    });

    it("only approvers in scope suspend and resume (registry errors)", async function () {
      const fx = await loadFixture(approvedDibao);
      await expect(fx.ledger.connect(fx.actors.caseworker).suspendCase(fx.caseId, digest("x")))
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.caseworker.address, APPROVER_BIT);
      await expect(fx.ledger.connect(fx.actors.otherApprover).suspendCase(fx.caseId, digest("x")))
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.actors.otherApprover.address, REGION.township);
    });
  });

  describe("recertifyCase (年度核查)", function () {
    it("extends eligibility from the current period and records the new assessment with CaseRecertified", async function () {
      const fx = await loadFixture(approvedDibao);
      await nextPeriod(fx.ledger, 3);
      const now = await currentPeriod(fx.ledger);
      expect(now).to.equal(fx.first + 3);
      const a = assessment({ householdSize: 2, incomePerHead: 33_700n });
      await expect(
        fx.ledger.connect(fx.actors.approver2).recertifyCase(fx.caseId, a, DIBAO.ruleVersion, digest("record:2027")),
      )
        .to.emit(fx.ledger, "CaseRecertified")
        .withArgs(fx.caseId, 80_000n, now + 11, DIBAO.ruleVersion, DIBAO.amount, 2, 33_700n, digest("record:2027"));
      const c = await fx.ledger.caseRecord(fx.caseId);
      expect([c.status, c.amount, c.firstPeriod, c.lastPeriod, c.recordDigest]).to.deep.equal([
        BigInt(CaseStatus.Approved),
        80_000n,
        BigInt(fx.first),
        BigInt(now + 11),
        digest("record:2027"),
      ]);
    });

    it("a timely re-certification (in the last eligible month) keeps firstPeriod; a late one restarts it at the current period", async function () {
      const fx = await loadFixture(approvedDibao);
      const { ledger, actors, caseId, first } = fx;
      const recertify = () =>
        ledger.connect(actors.approver).recertifyCase(caseId, assessment(), DIBAO.ruleVersion, digest("annual"));
      const periods = async () => {
        const c = await ledger.caseRecord(caseId);
        return [Number(c.firstPeriod), Number(c.lastPeriod)];
      };
      expect(await periods()).to.deep.equal([first, first + 11]);

      await goToPeriod(first + 11); // the last eligible month
      await recertify();
      expect(await periods()).to.deep.equal([first, first + 22]);

      await goToPeriod(first + 23); // one month after eligibility ended with first + 22
      expect(await ledger.isActive(caseId)).to.equal(false);
      await expect(recertify())
        .to.emit(ledger, "CaseRecertified")
        .withArgs(caseId, MONTHLY, first + 34, DIBAO.ruleVersion, DIBAO.amount, 3, 23_700n, digest("annual"));
      expect(await periods()).to.deep.equal([first + 23, first + 34]);
      expect(await ledger.isActive(caseId)).to.equal(true);
    });

    it("a re-certification long after eligibility lapsed → firstPeriod is the current period, the rest of the record unchanged", async function () {
      const fx = await loadFixture(approvedDibao);
      const { ledger, actors, caseId, first } = fx;
      const before = await ledger.caseRecord(caseId);
      await goToPeriod(first + 40);
      await ledger
        .connect(actors.approver2)
        .recertifyCase(caseId, assessment({ householdSize: 2 }), DIBAO.ruleVersion, digest("record:late"));

      const c = await ledger.caseRecord(caseId);
      expect([c.status, c.amount, c.firstPeriod, c.lastPeriod, c.paidThrough, c.paidMask, c.settledMask]).to.deep.equal(
        [BigInt(CaseStatus.Approved), 100_000n, BigInt(first + 40), BigInt(first + 51), 0n, 0n, 0n],
      );
      expect([c.programmeId, c.region, c.noticeEnds, c.submitter, c.pseudonym, c.recordDigest]).to.deep.equal([
        before.programmeId,
        before.region,
        before.noticeEnds,
        before.submitter,
        before.pseudonym,
        digest("record:late"),
      ]);
    });

    it("blocks an amount change with LedgerUnsettledPayouts while a payout awaits settlement, allows it once settled", async function () {
      const fx = await loadFixture(approvedDibao);
      const { ledger, actors, caseId } = fx;
      await ledger.executePayouts(fx.programmeId, fx.first, [caseId]);
      const changed = assessment({ incomePerHead: 33_700n }); // (737 − 337) × 3 = 1,200 yuan
      const recertify = (a = changed) =>
        ledger.connect(actors.approver).recertifyCase(caseId, a, DIBAO.ruleVersion, digest("record:new"));
      await expect(recertify()).to.be.revertedWithCustomError(ledger, "LedgerUnsettledPayouts").withArgs(caseId);
      // the same amount is fine: the unsettled payout stays right
      await expect(recertify(assessment())).to.emit(ledger, "CaseRecertified");

      await ledger
        .connect(actors.paymentAgent)
        .confirmSettlements(digest("bank-batch"), [{ caseId, period: fx.first, eventId: ethers.ZeroHash }]);
      await expect(recertify())
        .to.emit(ledger, "CaseRecertified")
        .withArgs(caseId, 120_000n, fx.first + 11, DIBAO.ruleVersion, DIBAO.amount, 3, 33_700n, digest("record:new"));
      expect((await ledger.caseRecord(caseId)).amount).to.equal(120_000n);
    });

    it("reverts with LedgerSelfApproval for the approver who submitted the case", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, actors, programmes } = fx;
      const { caseId, pseudonym } = newCase("self-recert");
      await ledger
        .connect(actors.approver)
        .submitCase(caseId, programmes.dibao, REGION.township, pseudonym, digest("r"));
      await ledger.connect(actors.caseworker).reviewCase(caseId, true, digest("ok"));
      await time.increase(DIBAO.noticePeriod);
      await ledger.connect(actors.approver2).approveCase(caseId, assessment(), DIBAO.ruleVersion);
      await expect(ledger.connect(actors.approver).recertifyCase(caseId, assessment(), DIBAO.ruleVersion, digest("n")))
        .to.be.revertedWithCustomError(ledger, "LedgerSelfApproval")
        .withArgs(caseId, actors.approver.address);
    });

    it("reverts for a township approver, a stale rule, a zero record digest or a zero entitlement", async function () {
      const fx = await loadFixture(approvedDibao);
      const { ledger, actors, caseId } = fx;
      await expect(
        ledger.connect(actors.townshipApprover).recertifyCase(caseId, assessment(), DIBAO.ruleVersion, digest("n")),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerApproverLevelTooLow")
        .withArgs(actors.townshipApprover.address, REGION.township);
      const ap = ledger.connect(actors.approver);
      await expect(ap.recertifyCase(caseId, assessment(), digest("old"), digest("n")))
        .to.be.revertedWithCustomError(ledger, "LedgerRuleVersionMismatch")
        .withArgs(fx.programmeId, digest("old"), DIBAO.ruleVersion);
      await expect(ap.recertifyCase(caseId, assessment(), DIBAO.ruleVersion, ethers.ZeroHash))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
        .withArgs("recordDigest");
      await expect(
        ap.recertifyCase(caseId, assessment({ incomePerHead: DIBAO.amount }), DIBAO.ruleVersion, digest("n")),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerZeroEntitlement")
        .withArgs(caseId);
    });

    it("reverts with LedgerInvalidCaseStatus for temporary assistance and for suspended or exiting cases", async function () {
      const fx = await loadFixture(approvedDibao);
      const { ledger, actors } = fx;
      const ap = ledger.connect(actors.approver);
      const temp = await caseAt(fx, "temporary", "approved", { a: { amount: 10_000n } });
      await expect(ap.recertifyCase(temp.caseId, assessment(), PROGRAMMES.temporary.ruleVersion, digest("n")))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidCaseStatus")
        .withArgs(temp.caseId, CaseStatus.Approved);
      await ap.suspendCase(fx.caseId, digest("x"));
      await expect(ap.recertifyCase(fx.caseId, assessment(), DIBAO.ruleVersion, digest("n")))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Suspended);
      await ap.resumeCase(fx.caseId, digest("x"));
      await ap.exitCase(fx.caseId, digest("x"));
      await expect(ap.recertifyCase(fx.caseId, assessment(), DIBAO.ruleVersion, digest("n")))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Exiting);
    });
  });

  describe("exitCase (漸退)", function () {
    it("right after approval the gradual exit ends first: lastPeriod = current + exit periods, status Exiting", async function () {
      const fx = await loadFixture(approvedDibao);
      const now = await currentPeriod(fx.ledger);
      await expect(fx.ledger.connect(fx.actors.approver).exitCase(fx.caseId, digest("income rose")))
        .to.emit(fx.ledger, "CaseExited")
        .withArgs(fx.caseId, now + DIBAO.exitPeriods, digest("income rose"));
      const c = await fx.ledger.caseRecord(fx.caseId);
      expect([c.status, c.lastPeriod]).to.deep.equal([BigInt(CaseStatus.Exiting), BigInt(now + DIBAO.exitPeriods)]);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(true);
    });

    it("near the end of eligibility the eligibility end stays: lastPeriod = min(eligibility end, current + exit periods)", async function () {
      const fx = await loadFixture(approvedDibao);
      await nextPeriod(fx.ledger, 8);
      const end = fx.first + DIBAO.validityMonths - 1;
      expect((await currentPeriod(fx.ledger)) + DIBAO.exitPeriods).to.be.greaterThan(end);
      await expect(fx.ledger.connect(fx.actors.approver).exitCase(fx.caseId, digest("x")))
        .to.emit(fx.ledger, "CaseExited")
        .withArgs(fx.caseId, end, digest("x"));
      expect((await fx.ledger.caseRecord(fx.caseId)).lastPeriod).to.equal(BigInt(end));
    });

    it("uses the programme's exit periods at the time of the exit (0: the current period is the last)", async function () {
      const fx = await loadFixture(approvedDibao);
      await fx.ledger
        .connect(fx.actors.approver)
        .updateProgrammeRule(fx.programmeId, { ...DIBAO, exitPeriods: 0, ruleVersion: digest("dibao-no-exit") });
      const now = await currentPeriod(fx.ledger);
      await expect(fx.ledger.connect(fx.actors.approver).exitCase(fx.caseId, digest("x")))
        .to.emit(fx.ledger, "CaseExited")
        .withArgs(fx.caseId, now, digest("x"));
    });

    it("an exit decided while suspended keeps the case suspended; resuming it makes it Exiting", async function () {
      const fx = await loadFixture(approvedDibao);
      const ap = fx.ledger.connect(fx.actors.approver);
      await ap.suspendCase(fx.caseId, digest("s"));
      const now = await currentPeriod(fx.ledger);
      await expect(ap.exitCase(fx.caseId, digest("e")))
        .to.emit(fx.ledger, "CaseExited")
        .withArgs(fx.caseId, now + DIBAO.exitPeriods, digest("e"));
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Suspended);
      await expect(ap.exitCase(fx.caseId, digest("e")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Suspended);
      await ap.resumeCase(fx.caseId, digest("r"));
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Exiting);
    });

    it("suspending an exiting case and resuming it returns it to Exiting with the same last period", async function () {
      const fx = await loadFixture(approvedDibao);
      const ap = fx.ledger.connect(fx.actors.approver);
      await ap.exitCase(fx.caseId, digest("e"));
      const { lastPeriod } = await fx.ledger.caseRecord(fx.caseId);
      await expect(ap.suspendCase(fx.caseId, digest("s")))
        .to.emit(fx.ledger, "CaseSuspended")
        .withArgs(fx.caseId, digest("s"));
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Suspended);
      await expect(ap.resumeCase(fx.caseId, digest("r")))
        .to.emit(fx.ledger, "CaseResumed")
        .withArgs(fx.caseId, digest("r"));
      const c = await fx.ledger.caseRecord(fx.caseId);
      expect([c.status, c.lastPeriod]).to.deep.equal([BigInt(CaseStatus.Exiting), lastPeriod]);
    });

    it("reverts with LedgerInvalidCaseStatus for an exiting, submitted or rejected case", async function () {
      const fx = await loadFixture(approvedDibao);
      const ap = fx.ledger.connect(fx.actors.approver);
      await ap.exitCase(fx.caseId, digest("e"));
      await expect(ap.exitCase(fx.caseId, digest("e")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Exiting);
      const submitted = await caseAt(fx, "dibao", "submitted");
      await expect(ap.exitCase(submitted.caseId, digest("e")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(submitted.caseId, CaseStatus.Submitted);
      await ap.rejectCase(submitted.caseId, digest("no"));
      await expect(ap.exitCase(submitted.caseId, digest("e")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(submitted.caseId, CaseStatus.Rejected);
    });

    it("the case stops being active once the gradual exit is over", async function () {
      const fx = await loadFixture(approvedDibao);
      await fx.ledger.connect(fx.actors.approver).exitCase(fx.caseId, digest("e"));
      await nextPeriod(fx.ledger, DIBAO.exitPeriods);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(true);
      await nextPeriod(fx.ledger);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(false);
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Exiting);
    });
  });

  describe("exclusion groups (低保 and 特困 share group 1)", function () {
    it("a pseudonym with an active 低保 case cannot submit a 特困 (or a second 低保) case: LedgerExclusiveCaseActive", async function () {
      const fx = await loadFixture(approvedDibao);
      for (const id of [fx.programmes.tekun, fx.programmes.dibao]) {
        const other = newCase("second");
        await expect(
          fx.ledger
            .connect(fx.actors.caseworker)
            .submitCase(other.caseId, id, REGION.township, fx.pseudonym, digest("r")),
        )
          .to.be.revertedWithCustomError(fx.ledger, "LedgerExclusiveCaseActive")
          .withArgs(fx.pseudonym, TEKUN.exclusionGroup, fx.caseId);
      }
    });

    it("a 特困 case submitted before the 低保 approval cannot be approved after it", async function () {
      const fx = await loadFixture(deployFunded);
      const pseudonym = digest("pseudonym:both");
      const tekun = await caseAt(fx, "tekun", "inNotice", { pseudonym });
      const dibao = await approvedCase(fx, "dibao", { pseudonym });
      await expect(fx.ledger.connect(fx.actors.approver).approveCase(tekun.caseId, assessment(), TEKUN.ruleVersion))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerExclusiveCaseActive")
        .withArgs(pseudonym, 1, dibao.caseId);
    });

    it("a suspended or exiting 低保 case still holds the place", async function () {
      const fx = await loadFixture(approvedDibao);
      const other = newCase("blocked");
      const submit = () =>
        fx.ledger
          .connect(fx.actors.caseworker)
          .submitCase(other.caseId, fx.programmes.tekun, REGION.township, fx.pseudonym, digest("r"));
      await fx.ledger.connect(fx.actors.approver).suspendCase(fx.caseId, digest("s"));
      await expect(submit()).to.be.revertedWithCustomError(fx.ledger, "LedgerExclusiveCaseActive");
      await fx.ledger.connect(fx.actors.approver).exitCase(fx.caseId, digest("e"));
      await fx.ledger.connect(fx.actors.approver).resumeCase(fx.caseId, digest("r"));
      await expect(submit())
        .to.be.revertedWithCustomError(fx.ledger, "LedgerExclusiveCaseActive")
        .withArgs(fx.pseudonym, 1, fx.caseId);
    });

    it("programmes outside the group (臨時救助, group 0) and rejected cases do not exclude", async function () {
      const fx = await loadFixture(approvedDibao);
      await expect(caseAt(fx, "temporary", "approved", { pseudonym: fx.pseudonym, a: { amount: 10_000n } })).to.not.be
        .rejected;
      const pseudonym = digest("pseudonym:rejected-first");
      const rejected = await caseAt(fx, "dibao", "submitted", { pseudonym });
      await fx.ledger.connect(fx.actors.approver).rejectCase(rejected.caseId, digest("no"));
      await expect(approvedCase(fx, "tekun", { pseudonym })).to.not.be.rejected;
    });

    it("after the 低保 eligibility lapses, a 特困 case can be submitted and approved; it then blocks re-certifying the 低保", async function () {
      const fx = await loadFixture(approvedDibao);
      await nextPeriod(fx.ledger, DIBAO.validityMonths);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(false);
      const tekun = await approvedCase(fx, "tekun", { pseudonym: fx.pseudonym });
      expect(await fx.ledger.isActive(tekun.caseId)).to.equal(true);
      await expect(
        fx.ledger.connect(fx.actors.approver).recertifyCase(fx.caseId, assessment(), DIBAO.ruleVersion, digest("n")),
      )
        .to.be.revertedWithCustomError(fx.ledger, "LedgerExclusiveCaseActive")
        .withArgs(fx.pseudonym, 1, tekun.caseId);
    });

    it("after a gradual exit ends, the pseudonym is free for the other programme of the group", async function () {
      const fx = await loadFixture(approvedDibao);
      await fx.ledger.connect(fx.actors.approver).exitCase(fx.caseId, digest("e"));
      await nextPeriod(fx.ledger, DIBAO.exitPeriods + 1);
      await expect(approvedCase(fx, "tekun", { pseudonym: fx.pseudonym })).to.not.be.rejected;
    });
  });

  describe("setBeneficiaryKey", function () {
    it("sets and replaces the confirming key with BeneficiaryKeySet, at any stage", async function () {
      const fx = await loadFixture(approvedDibao);
      await expect(fx.ledger.connect(fx.actors.caseworker).setBeneficiaryKey(fx.caseId, fx.actors.beneficiary.address))
        .to.emit(fx.ledger, "BeneficiaryKeySet")
        .withArgs(fx.caseId, fx.actors.beneficiary.address);
      expect((await fx.ledger.caseRecord(fx.caseId)).beneficiaryKey).to.equal(fx.actors.beneficiary.address);
      await expect(
        fx.ledger.connect(fx.actors.countyCaseworker).setBeneficiaryKey(fx.caseId, fx.actors.stranger.address),
      )
        .to.emit(fx.ledger, "BeneficiaryKeySet")
        .withArgs(fx.caseId, fx.actors.stranger.address);
      const submitted = await caseAt(fx, "dibao", "submitted");
      await expect(
        fx.ledger.connect(fx.actors.caseworker).setBeneficiaryKey(submitted.caseId, fx.actors.beneficiary.address),
      ).to.emit(fx.ledger, "BeneficiaryKeySet");
    });

    it("reverts with LedgerInvalidInput(key), LedgerUnknownCase, and the registry's errors", async function () {
      const fx = await loadFixture(approvedDibao);
      await expect(fx.ledger.connect(fx.actors.caseworker).setBeneficiaryKey(fx.caseId, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidInput")
        .withArgs("key");
      const unknown = newCase("unknown").caseId;
      await expect(fx.ledger.connect(fx.actors.caseworker).setBeneficiaryKey(unknown, fx.actors.beneficiary.address))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownCase")
        .withArgs(unknown);
      await expect(fx.ledger.connect(fx.actors.approver).setBeneficiaryKey(fx.caseId, fx.actors.beneficiary.address))
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.approver.address, CASEWORKER_BIT);
      await expect(
        fx.ledger.connect(fx.actors.otherCaseworker).setBeneficiaryKey(fx.caseId, fx.actors.beneficiary.address),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.actors.otherCaseworker.address, REGION.township);
    });
  });

  describe("views", function () {
    it("caseCount/caseIdAt list every case in submission order; programmeCaseCount/At only approved ones", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, programmes } = fx;
      const a = await caseAt(fx, "dibao", "submitted");
      const b = await caseAt(fx, "dibao", "approved");
      const c = await caseAt(fx, "tekun", "inNotice");
      const d = await caseAt(fx, "dibao", "approved");
      expect(await ledger.caseCount()).to.equal(4n);
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push(await ledger.caseIdAt(i));
      expect(ids).to.deep.equal([a.caseId, b.caseId, c.caseId, d.caseId]);
      await expect(ledger.caseIdAt(4)).to.be.revertedWithPanic(0x32);
      expect(await ledger.programmeCaseCount(programmes.dibao)).to.equal(2n);
      expect(await ledger.programmeCaseAt(programmes.dibao, 0)).to.equal(b.caseId);
      expect(await ledger.programmeCaseAt(programmes.dibao, 1)).to.equal(d.caseId);
      expect(await ledger.programmeCaseCount(programmes.tekun)).to.equal(0n);
      await expect(ledger.programmeCaseAt(programmes.tekun, 0)).to.be.revertedWithPanic(0x32);
    });

    it("caseRecord of an unknown case is all zeros and isActive is false", async function () {
      const { ledger } = await loadFixture(deployFunded);
      const unknown = newCase("unknown").caseId;
      const c = await ledger.caseRecord(unknown);
      expect([c.status, c.programmeId, c.amount, c.submitter, c.pseudonym]).to.deep.equal([
        0n,
        0n,
        0n,
        ethers.ZeroAddress,
        ethers.ZeroHash,
      ]);
      expect(await ledger.isActive(unknown)).to.equal(false);
    });

    it("isActive follows the eligibility window: true through the last period, false after", async function () {
      const fx = await loadFixture(approvedDibao);
      await nextPeriod(fx.ledger, DIBAO.validityMonths - 1);
      expect(await currentPeriod(fx.ledger)).to.equal(fx.first + DIBAO.validityMonths - 1);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(true);
      await nextPeriod(fx.ledger);
      expect(await fx.ledger.isActive(fx.caseId)).to.equal(false);
      expect(await status(fx, fx.caseId)).to.equal(CaseStatus.Approved);
      expect((await fx.ledger.caseRecord(fx.caseId)).amount).to.equal(MONTHLY);
    });
  });
});
