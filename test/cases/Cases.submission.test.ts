import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CaseStatus, Role } from "../../lib/roles";
import { PROGRAMMES, REGION, assessment, caseAt, deployFunded, digest, newCase } from "../helpers/fixture";

const CASEWORKER_BIT = 1 << Role.Caseworker;
const APPROVER_BIT = 1 << Role.Approver;
const NOTICE = PROGRAMMES.dibao.noticePeriod;

describe("Cases: submission, review, public notice and objections", function () {
  describe("submitCase", function () {
    it("opens a case with CaseSubmitted and stores it as Submitted", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const { caseId, pseudonym } = newCase("submit");
      const record = digest("record:submit");
      await expect(
        ledger.connect(actors.caseworker).submitCase(caseId, programmes.dibao, REGION.township, pseudonym, record),
      )
        .to.emit(ledger, "CaseSubmitted")
        .withArgs(caseId, programmes.dibao, REGION.township, pseudonym, record, actors.caseworker.address);
      const c = await ledger.caseRecord(caseId);
      expect(c.status).to.equal(CaseStatus.Submitted);
      expect([c.programmeId, c.region, c.submitter, c.pseudonym, c.recordDigest]).to.deep.equal([
        programmes.dibao,
        REGION.township,
        actors.caseworker.address,
        pseudonym,
        record,
      ]);
      expect([
        c.amount,
        c.noticeEnds,
        c.firstPeriod,
        c.lastPeriod,
        c.paidThrough,
        c.paidMask,
        c.settledMask,
      ]).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n, 0n]);
      expect([c.openObjections, c.beneficiaryKey]).to.deep.equal([0n, ethers.ZeroAddress]);
      expect(await ledger.isActive(caseId)).to.equal(false);
      expect(await ledger.caseCount()).to.equal(1n);
      expect(await ledger.caseIdAt(0)).to.equal(caseId);
    });

    for (const who of ["countyCaseworker", "approver", "townshipApprover"] as const) {
      it(`accepts a submission from the ${who} (in scope)`, async function () {
        const { ledger, actors, programmes } = await loadFixture(deployFunded);
        const { caseId, pseudonym } = newCase(who);
        await expect(
          ledger.connect(actors[who]).submitCase(caseId, programmes.tekun, REGION.township, pseudonym, digest("r")),
        )
          .to.emit(ledger, "CaseSubmitted")
          .withArgs(caseId, programmes.tekun, REGION.township, pseudonym, digest("r"), actors[who].address);
      });
    }

    it("accepts a case registered at the county itself or at a village below the township", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const a = newCase("county-level");
      await expect(
        ledger
          .connect(actors.countyCaseworker)
          .submitCase(a.caseId, programmes.dibao, REGION.county, a.pseudonym, digest("r")),
      ).to.emit(ledger, "CaseSubmitted");
      const b = newCase("village");
      await expect(
        ledger
          .connect(actors.caseworker)
          .submitCase(b.caseId, programmes.dibao, 110105001001n, b.pseudonym, digest("r")),
      ).to.emit(ledger, "CaseSubmitted");
    });

    it("reverts with LedgerRegionOutsideProgramme when the household lies outside the programme's region", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const { caseId, pseudonym } = newCase("outside");
      for (const [who, region] of [
        [actors.otherCaseworker, REGION.otherTownship],
        [actors.caseworker, REGION.city],
      ] as const) {
        await expect(ledger.connect(who).submitCase(caseId, programmes.dibao, region, pseudonym, digest("r")))
          .to.be.revertedWithCustomError(ledger, "LedgerRegionOutsideProgramme")
          .withArgs(region, REGION.county);
      }
    });

    it("reverts with LedgerUnauthorizedRegion for a caseworker submitting outside its own township", async function () {
      const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
      const { caseId, pseudonym } = newCase("elsewhere");
      const neighbour = 110105002000n;
      await expect(
        ledger.connect(actors.caseworker).submitCase(caseId, programmes.dibao, neighbour, pseudonym, digest("r")),
      )
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.caseworker.address, neighbour);
      await expect(
        ledger.connect(actors.caseworker).submitCase(caseId, programmes.dibao, REGION.county, pseudonym, digest("r")),
      )
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.caseworker.address, REGION.county);
    });

    it("reverts with LedgerUnauthorizedRole (caseworker | approver) for every other role", async function () {
      const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
      const { caseId, pseudonym } = newCase("role");
      for (const who of [actors.countyFinance, actors.paymentAgent, actors.medicalOffice, actors.stranger]) {
        await expect(ledger.connect(who).submitCase(caseId, programmes.dibao, REGION.township, pseudonym, digest("r")))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, CASEWORKER_BIT | APPROVER_BIT);
      }
    });

    it("reverts with LedgerInvalidInput for a zero case id, pseudonym or record digest, or a malformed region", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const { caseId, pseudonym } = newCase("zero");
      const cw = ledger.connect(actors.caseworker);
      const Z = ethers.ZeroHash;
      const cases: Array<[string, () => Promise<unknown>]> = [
        ["caseId", () => cw.submitCase(Z, programmes.dibao, REGION.township, pseudonym, digest("r"))],
        ["pseudonym", () => cw.submitCase(caseId, programmes.dibao, REGION.township, Z, digest("r"))],
        ["recordDigest", () => cw.submitCase(caseId, programmes.dibao, REGION.township, pseudonym, Z)],
        ["region", () => cw.submitCase(caseId, programmes.dibao, 110105000999n, pseudonym, digest("r"))],
      ];
      for (const [field, call] of cases) {
        await expect(call(), field).to.be.revertedWithCustomError(ledger, "LedgerInvalidInput").withArgs(field);
      }
    });

    it("reverts with LedgerCaseExists for a case id already used, whatever its state", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, actors, programmes } = fx;
      for (const stage of ["submitted", "approved"] as const) {
        const { caseId } = await caseAt(fx, "temporary", stage, { a: { amount: 10_000n } });
        await expect(
          ledger
            .connect(actors.caseworker)
            .submitCase(caseId, programmes.dibao, REGION.township, digest("p2"), digest("r")),
        )
          .to.be.revertedWithCustomError(ledger, "LedgerCaseExists")
          .withArgs(caseId);
      }
    });

    it("reverts with LedgerUnknownProgramme for a programme that does not exist", async function () {
      const { ledger, actors } = await loadFixture(deployFunded);
      const { caseId, pseudonym } = newCase("nowhere");
      await expect(ledger.connect(actors.caseworker).submitCase(caseId, 42, REGION.township, pseudonym, digest("r")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownProgramme")
        .withArgs(42);
    });
  });

  describe("reviewCase", function () {
    it("a passing review starts the notice: CaseReviewed(passed, noticeEnds = now + notice) and InNotice", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "submitted");
      const at = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(at);
      await expect(fx.ledger.connect(fx.actors.caseworker).reviewCase(caseId, true, digest("ok")))
        .to.emit(fx.ledger, "CaseReviewed")
        .withArgs(caseId, true, digest("ok"), at + NOTICE);
      const c = await fx.ledger.caseRecord(caseId);
      expect([c.status, c.noticeEnds]).to.deep.equal([BigInt(CaseStatus.InNotice), BigInt(at + NOTICE)]);
    });

    it("a failing review rejects: CaseReviewed(false, …, 0) then CaseRejected", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "submitted");
      const tx = fx.ledger.connect(fx.actors.countyCaseworker).reviewCase(caseId, false, digest("income too high"));
      await expect(tx).to.emit(fx.ledger, "CaseReviewed").withArgs(caseId, false, digest("income too high"), 0);
      await expect(tx).to.emit(fx.ledger, "CaseRejected").withArgs(caseId, digest("income too high"));
      expect((await fx.ledger.caseRecord(caseId)).status).to.equal(CaseStatus.Rejected);
    });

    it("reverts with LedgerInvalidCaseStatus when the case is not awaiting review, LedgerUnknownCase when unknown", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "inNotice");
      await expect(fx.ledger.connect(fx.actors.caseworker).reviewCase(caseId, true, digest("again")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(caseId, CaseStatus.InNotice);
      const unknown = newCase("unknown").caseId;
      await expect(fx.ledger.connect(fx.actors.caseworker).reviewCase(unknown, true, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownCase")
        .withArgs(unknown);
    });

    it("reverts with the registry's errors for an approver (not a reviewer) and an out-of-region caseworker", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "submitted");
      await expect(fx.ledger.connect(fx.actors.approver).reviewCase(caseId, true, digest("x")))
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.approver.address, CASEWORKER_BIT);
      await expect(fx.ledger.connect(fx.actors.otherCaseworker).reviewCase(caseId, true, digest("x")))
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.actors.otherCaseworker.address, REGION.township);
    });
  });

  describe("public notice", function () {
    it("approval reverts with LedgerNoticeNotOver until the notice ends, then succeeds", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "inNotice");
      const { noticeEnds } = await fx.ledger.caseRecord(caseId);
      const approve = () =>
        fx.ledger.connect(fx.actors.approver).approveCase(caseId, assessment(), PROGRAMMES.dibao.ruleVersion);
      await expect(approve())
        .to.be.revertedWithCustomError(fx.ledger, "LedgerNoticeNotOver")
        .withArgs(caseId, noticeEnds);
      await time.increaseTo(noticeEnds - 2n);
      await expect(approve())
        .to.be.revertedWithCustomError(fx.ledger, "LedgerNoticeNotOver")
        .withArgs(caseId, noticeEnds);
      await time.increaseTo(noticeEnds);
      await expect(approve()).to.emit(fx.ledger, "CaseApproved");
    });

    it("a programme without notice can be approved in the next block", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "temporary", "inNotice");
      await expect(
        fx.ledger
          .connect(fx.actors.approver)
          .approveCase(caseId, assessment({ amount: 1n }), PROGRAMMES.temporary.ruleVersion),
      ).to.emit(fx.ledger, "CaseApproved");
    });
  });

  describe("objections", function () {
    async function inNoticeWithObjection() {
      const fx = await deployFunded();
      const c = await caseAt(fx, "dibao", "inNotice");
      await fx.ledger.connect(fx.actors.caseworker).raiseObjection(c.caseId, digest("objection:1"));
      return { ...fx, ...c };
    }

    it("raiseObjection records an open objection with ObjectionRaised", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "inNotice");
      await expect(fx.ledger.connect(fx.actors.countyCaseworker).raiseObjection(caseId, digest("o")))
        .to.emit(fx.ledger, "ObjectionRaised")
        .withArgs(caseId, digest("o"));
      await fx.ledger.connect(fx.actors.caseworker).raiseObjection(caseId, digest("o2"));
      expect((await fx.ledger.caseRecord(caseId)).openObjections).to.equal(2n);
    });

    it("an open objection blocks approval after the notice: LedgerOpenObjections(caseId, count)", async function () {
      const fx = await loadFixture(inNoticeWithObjection);
      await time.increase(NOTICE);
      await expect(
        fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.ledger, "LedgerOpenObjections")
        .withArgs(fx.caseId, 1);
    });

    it("a dismissed objection (ObjectionResolved upheld=false) lets approval go on", async function () {
      const fx = await loadFixture(inNoticeWithObjection);
      await expect(
        fx.ledger
          .connect(fx.actors.approver2)
          .resolveObjection(fx.caseId, digest("objection:1"), false, digest("unfounded")),
      )
        .to.emit(fx.ledger, "ObjectionResolved")
        .withArgs(fx.caseId, digest("objection:1"), false, digest("unfounded"))
        .and.not.to.emit(fx.ledger, "CaseRejected");
      const c = await fx.ledger.caseRecord(fx.caseId);
      expect([c.status, c.openObjections]).to.deep.equal([BigInt(CaseStatus.InNotice), 0n]);
      await time.increase(NOTICE);
      await expect(
        fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      ).to.emit(fx.ledger, "CaseApproved");
    });

    it("an upheld objection rejects the case: ObjectionResolved then CaseRejected, and approval is refused", async function () {
      const fx = await loadFixture(inNoticeWithObjection);
      const tx = fx.ledger
        .connect(fx.actors.approver2)
        .resolveObjection(fx.caseId, digest("objection:1"), true, digest("hidden income"));
      await expect(tx)
        .to.emit(fx.ledger, "ObjectionResolved")
        .withArgs(fx.caseId, digest("objection:1"), true, digest("hidden income"));
      await expect(tx).to.emit(fx.ledger, "CaseRejected").withArgs(fx.caseId, digest("hidden income"));
      expect((await fx.ledger.caseRecord(fx.caseId)).status).to.equal(CaseStatus.Rejected);
      await time.increase(NOTICE);
      await expect(
        fx.ledger.connect(fx.actors.approver).approveCase(fx.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
      )
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(fx.caseId, CaseStatus.Rejected);
    });

    it("reverts with LedgerObjectionExists for a digest already raised, open or resolved", async function () {
      const fx = await loadFixture(inNoticeWithObjection);
      const cw = fx.ledger.connect(fx.actors.caseworker);
      await expect(cw.raiseObjection(fx.caseId, digest("objection:1")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerObjectionExists")
        .withArgs(fx.caseId, digest("objection:1"));
      await fx.ledger
        .connect(fx.actors.approver)
        .resolveObjection(fx.caseId, digest("objection:1"), false, digest("x"));
      await expect(cw.raiseObjection(fx.caseId, digest("objection:1")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerObjectionExists")
        .withArgs(fx.caseId, digest("objection:1"));
    });

    it("reverts with LedgerUnknownObjection for an objection never raised or already resolved", async function () {
      const fx = await loadFixture(inNoticeWithObjection);
      const ap = fx.ledger.connect(fx.actors.approver);
      await expect(ap.resolveObjection(fx.caseId, digest("objection:2"), false, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownObjection")
        .withArgs(fx.caseId, digest("objection:2"));
      await ap.resolveObjection(fx.caseId, digest("objection:1"), false, digest("x"));
      await expect(ap.resolveObjection(fx.caseId, digest("objection:1"), true, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownObjection")
        .withArgs(fx.caseId, digest("objection:1"));
    });

    it("reverts with LedgerInvalidInput(objectionDigest) for a zero digest", async function () {
      const fx = await loadFixture(deployFunded);
      const { caseId } = await caseAt(fx, "dibao", "inNotice");
      await expect(fx.ledger.connect(fx.actors.caseworker).raiseObjection(caseId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidInput")
        .withArgs("objectionDigest");
    });

    it("reverts with LedgerInvalidCaseStatus outside the notice (submitted or approved)", async function () {
      const fx = await loadFixture(deployFunded);
      for (const stage of ["submitted", "approved"] as const) {
        const { caseId } = await caseAt(fx, "dibao", stage);
        const status = stage === "submitted" ? CaseStatus.Submitted : CaseStatus.Approved;
        await expect(fx.ledger.connect(fx.actors.caseworker).raiseObjection(caseId, digest("late")))
          .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
          .withArgs(caseId, status);
        await expect(fx.ledger.connect(fx.actors.approver).resolveObjection(caseId, digest("late"), true, digest("x")))
          .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
          .withArgs(caseId, status);
      }
    });

    it("only caseworkers raise and only approvers resolve objections (registry errors)", async function () {
      const fx = await loadFixture(inNoticeWithObjection);
      await expect(fx.ledger.connect(fx.actors.approver).raiseObjection(fx.caseId, digest("o")))
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.approver.address, CASEWORKER_BIT);
      await expect(
        fx.ledger.connect(fx.actors.caseworker).resolveObjection(fx.caseId, digest("objection:1"), false, digest("x")),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.caseworker.address, APPROVER_BIT);
      await expect(
        fx.ledger
          .connect(fx.actors.otherApprover)
          .resolveObjection(fx.caseId, digest("objection:1"), false, digest("x")),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.actors.otherApprover.address, REGION.township);
    });
  });

  describe("rejectCase", function () {
    it("refuses a township approver on an allowance case (LedgerApproverLevelTooLow) but lets it decide temporary assistance", async function () {
      const fx = await loadFixture(deployFunded);
      const dibao = await caseAt(fx, "dibao", "submitted");
      await expect(fx.ledger.connect(fx.actors.townshipApprover).rejectCase(dibao.caseId, digest("no")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerApproverLevelTooLow")
        .withArgs(fx.actors.townshipApprover.address, REGION.township);
      const temporary = await caseAt(fx, "temporary", "submitted");
      await expect(fx.ledger.connect(fx.actors.townshipApprover).rejectCase(temporary.caseId, digest("no")))
        .to.emit(fx.ledger, "CaseRejected")
        .withArgs(temporary.caseId, digest("no"));
    });

    for (const stage of ["submitted", "inNotice"] as const) {
      it(`rejects a case that is ${stage} with CaseRejected`, async function () {
        const fx = await loadFixture(deployFunded);
        const { caseId, programmeId } = await caseAt(fx, "dibao", stage);
        await expect(fx.ledger.connect(fx.actors.approver2).rejectCase(caseId, digest("not eligible")))
          .to.emit(fx.ledger, "CaseRejected")
          .withArgs(caseId, digest("not eligible"));
        expect((await fx.ledger.caseRecord(caseId)).status).to.equal(CaseStatus.Rejected);
        expect(await fx.ledger.isActive(caseId)).to.equal(false);
        expect(await fx.ledger.programmeCaseCount(programmeId)).to.equal(0n);
      });
    }

    it("reverts with LedgerInvalidCaseStatus for an approved or already rejected case, LedgerUnknownCase for none", async function () {
      const fx = await loadFixture(deployFunded);
      const ap = fx.ledger.connect(fx.actors.approver);
      const approved = await caseAt(fx, "dibao", "approved");
      await expect(ap.rejectCase(approved.caseId, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(approved.caseId, CaseStatus.Approved);
      const rejected = await caseAt(fx, "dibao", "submitted");
      await ap.rejectCase(rejected.caseId, digest("x"));
      await expect(ap.rejectCase(rejected.caseId, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerInvalidCaseStatus")
        .withArgs(rejected.caseId, CaseStatus.Rejected);
      const unknown = newCase("unknown").caseId;
      await expect(ap.rejectCase(unknown, digest("x")))
        .to.be.revertedWithCustomError(fx.ledger, "LedgerUnknownCase")
        .withArgs(unknown);
    });
  });
});
