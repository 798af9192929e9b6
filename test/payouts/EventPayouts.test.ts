import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CaseStatus, PayoutStatus, ProgrammeKind, Role, SkipReason } from "../../lib/roles";
import {
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  type Funded,
  approvedCase,
  caseAt,
  currentPeriod,
  deployFunded,
  digest,
  goToPeriod,
  nextPeriod,
  payoutKey,
} from "../helpers/fixture";

const ZERO = ethers.ZeroHash;
const CAP = PROGRAMMES.medical.amount; // 30,000 yuan a year
const GRANT = PROGRAMMES.disaster.amount; // 2,000 yuan per household
/** A second street office in Chaoyang, next to REGION.township. */
const NEIGHBOUR_TOWNSHIP = 110105002000n;
const roleBit = (role: Role) => 1 << role;

/** What the medical rule pays for a bill before the cap: 70% of the part above the 1,000-yuan deductible. */
const medicalShare = (bill: bigint) => ((bill - PROGRAMMES.medical.deductible) * 7000n) / 10_000n;

describe("EventPayouts", function () {
  let fx: Funded;

  beforeEach(async function () {
    fx = await loadFixture(deployFunded);
  });

  describe("certifyMedicalBill", function () {
    it("approved case, bill above the deductible → pays ratio × (bill − deductible) at once", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      const billId = digest("bill-1");
      const period = await currentPeriod(ledger);
      const [appropriated, , paidBefore] = await ledger.fundTotals();

      const tx = ledger.connect(actors.medicalOffice).certifyMedicalBill(billId, caseId, 500_000n, digest("bill-doc"));

      await expect(tx)
        .to.emit(ledger, "MedicalBillCertified")
        .withArgs(billId, caseId, 500_000n, 280_000n, digest("bill-doc"));
      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(caseId, programmes.medical, billId, period, 280_000n);
      expect(await ledger.poolBalance(programmes.medical)).to.equal(POOL_FUNDING - 280_000n);
      expect(await ledger.programmePaidOut(programmes.medical)).to.equal(280_000n);
      expect([...(await ledger.fundTotals())]).to.deep.equal([
        appropriated,
        appropriated - paidBefore - 280_000n,
        paidBefore + 280_000n,
      ]);
      expect([...(await ledger.payoutStatus(payoutKey(caseId, period, billId)))]).to.deep.equal([
        BigInt(PayoutStatus.Paid),
        280_000n,
      ]);
    });

    it("several bills in one year → each pays its share until the annual cap, then LedgerNothingPayable", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      const office = ledger.connect(actors.medicalOffice);
      const bill = 2_000_000n; // 1,330,000 payable before the cap
      const share = medicalShare(bill);

      await expect(office.certifyMedicalBill(digest("b1"), caseId, bill, digest("d1")))
        .to.emit(ledger, "MedicalBillCertified")
        .withArgs(digest("b1"), caseId, bill, share, digest("d1"));
      await expect(office.certifyMedicalBill(digest("b2"), caseId, bill, digest("d2")))
        .to.emit(ledger, "MedicalBillCertified")
        .withArgs(digest("b2"), caseId, bill, share, digest("d2"));
      await expect(office.certifyMedicalBill(digest("b3"), caseId, bill, digest("d3")))
        .to.emit(ledger, "MedicalBillCertified")
        .withArgs(digest("b3"), caseId, bill, CAP - 2n * share, digest("d3"));
      await expect(office.certifyMedicalBill(digest("b4"), caseId, bill, digest("d4")))
        .to.be.revertedWithCustomError(ledger, "LedgerNothingPayable")
        .withArgs(caseId);

      expect(await ledger.programmePaidOut(programmes.medical)).to.equal(CAP);
    });

    it("bill at or below the deductible → LedgerNothingPayable", async function () {
      const { ledger, actors } = fx;
      const { caseId } = await approvedCase(fx, "medical");

      await expect(
        ledger
          .connect(actors.medicalOffice)
          .certifyMedicalBill(digest("small"), caseId, PROGRAMMES.medical.deductible, digest("doc")),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerNothingPayable")
        .withArgs(caseId);
      await expect(
        ledger.connect(actors.medicalOffice).certifyMedicalBill(digest("small"), caseId, 99_999n, digest("doc")),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerNothingPayable")
        .withArgs(caseId);
    });

    it("same bill twice (even for another case) → LedgerBillAlreadyCertified", async function () {
      const { ledger, actors } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      const other = await approvedCase(fx, "medical");
      const office = ledger.connect(actors.medicalOffice);
      await office.certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc"));

      await expect(office.certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerBillAlreadyCertified")
        .withArgs(digest("bill"));
      await expect(office.certifyMedicalBill(digest("bill"), other.caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerBillAlreadyCertified")
        .withArgs(digest("bill"));
    });

    it("suspended case → LedgerCaseNotPayable(caseId, Suspended); not approved → (caseId, NotApproved)", async function () {
      const { ledger, actors } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      const submitted = await caseAt(fx, "medical", "submitted");
      await ledger.connect(actors.approver).suspendCase(caseId, digest("hold"));
      const office = ledger.connect(actors.medicalOffice);

      await expect(office.certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerCaseNotPayable")
        .withArgs(caseId, SkipReason.Suspended);
      await expect(office.certifyMedicalBill(digest("bill"), submitted.caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerCaseNotPayable")
        .withArgs(submitted.caseId, SkipReason.NotApproved);
    });

    it("case of a monthly programme → LedgerWrongProgrammeKind; unknown case → LedgerUnknownCase", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const office = ledger.connect(actors.medicalOffice);

      await expect(office.certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongProgrammeKind")
        .withArgs(programmes.dibao, ProgrammeKind.MonthlyGap);
      await expect(office.certifyMedicalBill(digest("bill"), digest("nobody"), 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownCase")
        .withArgs(digest("nobody"));
    });

    it("medical office of another county → LedgerUnauthorizedRegion; another role → LedgerUnauthorizedRole", async function () {
      const { ledger, registry, actors } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      await registry
        .connect(actors.admin)
        .registerInstitution(actors.stranger.address, Role.MedicalOffice, REGION.otherCounty, digest("sm2:fengtai"));

      await expect(ledger.connect(actors.stranger).certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.stranger.address, REGION.township);
      await expect(
        ledger.connect(actors.caseworker).certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")),
      )
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.caseworker.address, roleBit(Role.MedicalOffice));
    });

    it("zero bill id → LedgerInvalidInput(billId)", async function () {
      const { ledger, actors } = fx;
      const { caseId } = await approvedCase(fx, "medical");

      await expect(ledger.connect(actors.medicalOffice).certifyMedicalBill(ZERO, caseId, 500_000n, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
        .withArgs("billId");
    });

    it("pool short of the share → LedgerInsufficientFunds(available, share), nothing recorded", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      await ledger
        .connect(actors.countyFinance)
        .defundProgramme(programmes.medical, POOL_FUNDING - 100n, digest("cut"));

      await expect(
        ledger.connect(actors.medicalOffice).certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(100n, 280_000n);

      await ledger.connect(actors.countyFinance).fundProgramme(programmes.medical, 280_000n, digest("top-up"));
      await expect(
        ledger.connect(actors.medicalOffice).certifyMedicalBill(digest("bill"), caseId, 500_000n, digest("doc")),
      ).to.emit(ledger, "PayoutExecuted");
    });

    it("cap used up in one year → a new calendar year (CST) has a fresh cap", async function () {
      const { ledger, actors, programmes } = fx;
      // Approve in December, so that the next January lies inside the 12-month eligibility whatever month the
      // suites before this one left the chain in (approved in January, the next January would be past it).
      const now = await currentPeriod(ledger);
      const december = Math.floor(now / 12) * 12 + 11;
      if (now !== december) await goToPeriod(december);
      const { caseId } = await approvedCase(fx, "medical");
      const office = ledger.connect(actors.medicalOffice);
      const bill = 5_000_000n; // more than the cap on its own
      await office.certifyMedicalBill(digest("dec"), caseId, bill, digest("doc"));
      await expect(office.certifyMedicalBill(digest("dec-2"), caseId, bill, digest("doc")))
        .to.be.revertedWithCustomError(ledger, "LedgerNothingPayable")
        .withArgs(caseId);

      const january = Math.floor((await currentPeriod(ledger)) / 12) * 12 + 12;
      await goToPeriod(january, 60); // one minute into 1 January, China time

      await expect(office.certifyMedicalBill(digest("jan"), caseId, bill, digest("doc")))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.medical, digest("jan"), january, CAP);
      expect(await ledger.programmePaidOut(programmes.medical)).to.equal(2n * CAP);
    });
  });

  describe("declareDisaster", function () {
    it("approver in scope, region inside the programme → DisasterDeclared", async function () {
      const { ledger, actors, programmes } = fx;

      await expect(
        ledger
          .connect(actors.approver)
          .declareDisaster(digest("flood"), programmes.disaster, REGION.township, digest("declaration")),
      )
        .to.emit(ledger, "DisasterDeclared")
        .withArgs(digest("flood"), programmes.disaster, REGION.township, digest("declaration"));
    });

    it("township approver → may declare in its township, not for the whole county", async function () {
      const { ledger, registry, actors, programmes } = fx;
      const township = ledger.connect(actors.townshipApprover);

      await expect(township.declareDisaster(digest("a"), programmes.disaster, REGION.township, digest("d"))).to.emit(
        ledger,
        "DisasterDeclared",
      );
      await expect(township.declareDisaster(digest("b"), programmes.disaster, REGION.county, digest("d")))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.townshipApprover.address, REGION.county);
    });

    it("approver of another county → LedgerUnauthorizedRegion; a caseworker → LedgerUnauthorizedRole", async function () {
      const { ledger, registry, actors, programmes } = fx;

      await expect(
        ledger
          .connect(actors.otherApprover)
          .declareDisaster(digest("flood"), programmes.disaster, REGION.township, digest("d")),
      )
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.otherApprover.address, REGION.township);
      await expect(
        ledger
          .connect(actors.caseworker)
          .declareDisaster(digest("flood"), programmes.disaster, REGION.township, digest("d")),
      )
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.caseworker.address, roleBit(Role.Approver));
    });

    it("region outside the programme's → LedgerRegionOutsideProgramme; malformed region → LedgerInvalidInput", async function () {
      const { ledger, actors, programmes } = fx;
      const approver = ledger.connect(actors.approver);

      await expect(approver.declareDisaster(digest("flood"), programmes.disaster, REGION.otherCounty, digest("d")))
        .to.be.revertedWithCustomError(ledger, "LedgerRegionOutsideProgramme")
        .withArgs(REGION.otherCounty, REGION.county);
      await expect(approver.declareDisaster(digest("flood"), programmes.disaster, 123n, digest("d")))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
        .withArgs("region");
    });

    it("duplicate id → LedgerDisasterExists; zero id → LedgerInvalidInput(disasterId)", async function () {
      const { ledger, actors, programmes } = fx;
      const approver = ledger.connect(actors.approver);
      await approver.declareDisaster(digest("flood"), programmes.disaster, REGION.township, digest("d"));

      await expect(approver.declareDisaster(digest("flood"), programmes.disaster, REGION.county, digest("d2")))
        .to.be.revertedWithCustomError(ledger, "LedgerDisasterExists")
        .withArgs(digest("flood"));
      await expect(approver.declareDisaster(ZERO, programmes.disaster, REGION.county, digest("d2")))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
        .withArgs("disasterId");
    });

    it("programme not of the disaster kind → LedgerWrongProgrammeKind", async function () {
      const { ledger, actors, programmes } = fx;

      await expect(
        ledger.connect(actors.approver).declareDisaster(digest("flood"), programmes.dibao, REGION.county, digest("d")),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerWrongProgrammeKind")
        .withArgs(programmes.dibao, ProgrammeKind.MonthlyGap);
    });
  });

  describe("payDisasterRelief", function () {
    /** Households of the disaster programme: two in the township, one next door, one only submitted. */
    async function households() {
      const { actors } = fx;
      const a = await approvedCase(fx, "disaster");
      const b = await approvedCase(fx, "disaster");
      const neighbour = await caseAt(fx, "disaster", "approved", {
        region: NEIGHBOUR_TOWNSHIP,
        submitter: actors.countyCaseworker,
      });
      const submitted = await caseAt(fx, "disaster", "submitted");
      return { a, b, neighbour, submitted };
    }

    it("township declaration → pays each registered household of the township once, skips the rest with reasons", async function () {
      const { ledger, actors, programmes } = fx;
      const { a, b, neighbour, submitted } = await households();
      const suspended = await approvedCase(fx, "disaster");
      await ledger.connect(actors.approver).suspendCase(suspended.caseId, digest("hold"));
      const dibaoCase = await approvedCase(fx, "dibao");
      const flood = digest("flood");
      await ledger.connect(actors.approver).declareDisaster(flood, programmes.disaster, REGION.township, digest("d"));
      const period = await currentPeriod(ledger);
      const [appropriated, , paidBefore] = await ledger.fundTotals();

      const tx = ledger
        .connect(actors.stranger)
        .payDisasterRelief(flood, [
          a.caseId,
          b.caseId,
          neighbour.caseId,
          submitted.caseId,
          a.caseId,
          suspended.caseId,
          dibaoCase.caseId,
        ]);

      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(a.caseId, programmes.disaster, flood, period, GRANT);
      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(b.caseId, programmes.disaster, flood, period, GRANT);
      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(neighbour.caseId, flood, period, SkipReason.OutsideRegion);
      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(submitted.caseId, flood, period, SkipReason.NotApproved);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(a.caseId, flood, period, SkipReason.AlreadyPaid);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(suspended.caseId, flood, period, SkipReason.Suspended);
      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(dibaoCase.caseId, flood, period, SkipReason.WrongProgramme);
      await expect(tx)
        .to.emit(ledger, "PayoutRunExecuted")
        .withArgs(programmes.disaster, flood, period, 2, 5, 2n * GRANT);
      expect(await ledger.poolBalance(programmes.disaster)).to.equal(POOL_FUNDING - 2n * GRANT);
      expect(await ledger.programmePaidOut(programmes.disaster)).to.equal(2n * GRANT);
      expect([...(await ledger.fundTotals())]).to.deep.equal([
        appropriated,
        appropriated - paidBefore - 2n * GRANT,
        paidBefore + 2n * GRANT,
      ]);

      // a second call pays no one again
      await expect(ledger.payDisasterRelief(flood, [a.caseId, b.caseId]))
        .to.emit(ledger, "PayoutRunExecuted")
        .withArgs(programmes.disaster, flood, period, 0, 2, 0);
    });

    it("county declaration → the household next door is inside and paid too", async function () {
      const { ledger, actors, programmes } = fx;
      const { a, neighbour } = await households();
      const storm = digest("storm");
      await ledger.connect(actors.approver).declareDisaster(storm, programmes.disaster, REGION.county, digest("d"));
      const period = await currentPeriod(ledger);

      const tx = ledger.payDisasterRelief(storm, [a.caseId, neighbour.caseId]);

      await expect(tx)
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(neighbour.caseId, programmes.disaster, storm, period, GRANT);
      await expect(tx)
        .to.emit(ledger, "PayoutRunExecuted")
        .withArgs(programmes.disaster, storm, period, 2, 0, 2n * GRANT);
    });

    it("two disasters → a household is paid once for each", async function () {
      const { ledger, actors, programmes } = fx;
      const { a } = await households();
      const approver = ledger.connect(actors.approver);
      await approver.declareDisaster(digest("flood"), programmes.disaster, REGION.township, digest("d"));
      await approver.declareDisaster(digest("storm"), programmes.disaster, REGION.county, digest("d"));

      await expect(ledger.payDisasterRelief(digest("flood"), [a.caseId])).to.emit(ledger, "PayoutExecuted");
      await expect(ledger.payDisasterRelief(digest("storm"), [a.caseId])).to.emit(ledger, "PayoutExecuted");
      expect(await ledger.programmePaidOut(programmes.disaster)).to.equal(2n * GRANT);
    });

    it("pool short → pays while it covers, then PayoutSkipped InsufficientBudget", async function () {
      const { ledger, actors, programmes } = fx;
      const { a, b } = await households();
      const flood = digest("flood");
      await ledger.connect(actors.approver).declareDisaster(flood, programmes.disaster, REGION.township, digest("d"));
      await ledger
        .connect(actors.countyFinance)
        .defundProgramme(programmes.disaster, POOL_FUNDING - GRANT - GRANT / 2n, digest("cut"));
      const period = await currentPeriod(ledger);

      const tx = ledger.payDisasterRelief(flood, [a.caseId, b.caseId]);

      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(a.caseId, programmes.disaster, flood, period, GRANT);
      await expect(tx)
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(b.caseId, flood, period, SkipReason.InsufficientBudget);
      expect(await ledger.poolBalance(programmes.disaster)).to.equal(GRANT / 2n);
    });

    it("household approved in a month after the declaration → PayoutSkipped NotStarted", async function () {
      const { ledger, actors, programmes } = fx;
      const flood = digest("flood");
      await ledger.connect(actors.approver).declareDisaster(flood, programmes.disaster, REGION.township, digest("d"));
      const declared = await currentPeriod(ledger);
      await nextPeriod(ledger);
      const late = await approvedCase(fx, "disaster");
      expect((await ledger.caseRecord(late.caseId)).status).to.equal(BigInt(CaseStatus.Approved));

      await expect(ledger.payDisasterRelief(flood, [late.caseId]))
        .to.emit(ledger, "PayoutSkipped")
        .withArgs(late.caseId, flood, declared, SkipReason.NotStarted);
    });

    it("unknown disaster → LedgerUnknownDisaster; paused → LedgerPausedError", async function () {
      const { ledger, registry, actors, programmes } = fx;
      const { a } = await households();

      await expect(ledger.payDisasterRelief(digest("none"), [a.caseId]))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownDisaster")
        .withArgs(digest("none"));
      await ledger
        .connect(actors.approver)
        .declareDisaster(digest("flood"), programmes.disaster, REGION.county, digest("d"));
      await registry.connect(actors.admin).pause();
      await expect(ledger.payDisasterRelief(digest("flood"), [a.caseId])).to.be.revertedWithCustomError(
        registry,
        "LedgerPausedError",
      );
    });
  });
});
