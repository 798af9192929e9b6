import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { PayoutStatus, Role, SkipReason } from "../../lib/roles";
import {
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  type Funded,
  approvedCase,
  approvedCases,
  caseAt,
  currentPeriod,
  deployFunded,
  digest,
  goToPeriod,
  longProgrammeCase,
  nextPeriod,
} from "../helpers/fixture";

const ZERO = ethers.ZeroHash;
const GAP_3 = 150_000n;
const GAP_1 = 50_000n;
const GRANT = PROGRAMMES.disaster.amount;
const BANK_REF = digest("bank batch 2026-12");
const NEIGHBOUR_TOWNSHIP = 110105002000n;

type Key = { caseId: string; period: number; eventId: string };
const key = (caseId: string, period: number, eventId = ZERO): Key => ({ caseId, period, eventId });

/** A list of `IPayouts.PayoutKey` results as plain objects. */
function plain(keys: ReadonlyArray<{ caseId: string; period: bigint; eventId: string }>): Key[] {
  return keys.map((k) => ({ caseId: k.caseId, period: Number(k.period), eventId: k.eventId }));
}

async function status(fx: Funded, k: Key) {
  const [s, amount] = await fx.ledger.payoutStatus(k);
  return [Number(s), amount];
}

describe("Settlement", function () {
  let fx: Funded;

  beforeEach(async function () {
    fx = await loadFixture(deployFunded);
  });

  /**
   * Two gap cases paid for two months (the first month as arrears), a medical bill and a disaster grant:
   * every kind of payout, none settled yet.
   */
  async function paidScenario() {
    const { ledger, actors, programmes } = fx;
    const [a, b] = await approvedCases(fx, "dibao", [{ householdSize: 3 }, { householdSize: 1 }]);
    const p0 = Number((await ledger.caseRecord(a.caseId)).firstPeriod);
    const sick = await approvedCase(fx, "medical");
    const household = await approvedCase(fx, "disaster");
    await nextPeriod(ledger);
    const p1 = p0 + 1;
    await ledger.executePayouts(programmes.dibao, p1, [a.caseId, b.caseId]);
    await ledger.executePayouts(programmes.dibao, p0, [a.caseId, b.caseId]);
    const bill = digest("bill-1");
    await ledger.connect(actors.medicalOffice).certifyMedicalBill(bill, sick.caseId, 500_000n, digest("bill-doc"));
    const flood = digest("flood");
    await ledger.connect(actors.approver).declareDisaster(flood, programmes.disaster, REGION.county, digest("d"));
    await ledger.payDisasterRelief(flood, [household.caseId]);
    return { a, b, sick, household, p0, p1, bill, flood };
  }

  describe("confirmSettlements", function () {
    it("one monthly payout → PayoutSettled, status Settled, no longer unsettled", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [caseId]);
      expect(await status(fx, key(caseId, period))).to.deep.equal([PayoutStatus.Paid, GAP_3]);

      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key(caseId, period)]))
        .to.emit(ledger, "PayoutSettled")
        .withArgs(caseId, ZERO, period, BANK_REF);

      expect(await status(fx, key(caseId, period))).to.deep.equal([PayoutStatus.Settled, GAP_3]);
      expect((await ledger.caseRecord(caseId)).settledMask).to.equal(1n);
      expect(plain(await ledger.unsettledPayouts(0, 10))).to.deep.equal([]);
      expect(plain(await ledger.casePayouts(caseId))).to.deep.equal([key(caseId, period)]);
    });

    it("a batch of monthly, medical and disaster payouts → PayoutSettled for each, nothing left unsettled", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      const keys = [
        key(s.a.caseId, s.p1),
        key(s.a.caseId, s.p0),
        key(s.b.caseId, s.p1),
        key(s.b.caseId, s.p0),
        key(s.sick.caseId, s.p1, s.bill),
        key(s.household.caseId, s.p1, s.flood),
      ];
      expect(plain(await ledger.unsettledPayouts(0, 100))).to.deep.equal(keys);

      const tx = ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, keys);

      for (const k of keys) {
        await expect(tx).to.emit(ledger, "PayoutSettled").withArgs(k.caseId, k.eventId, k.period, BANK_REF);
      }
      expect((await (await tx).wait())!.logs.length).to.equal(keys.length);
      expect(plain(await ledger.unsettledPayouts(0, 100))).to.deep.equal([]);
      expect(await status(fx, keys[4])).to.deep.equal([PayoutStatus.Settled, 280_000n]);
      expect(await status(fx, keys[5])).to.deep.equal([PayoutStatus.Settled, GRANT]);
      expect(plain(await ledger.casePayouts(s.a.caseId))).to.deep.equal(keys.slice(0, 2));
    });

    it("unpaid period, period after the latest paid, never-paid event → LedgerNotAwaitingSettlement", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      const agent = ledger.connect(actors.paymentAgent);

      for (const k of [
        key(s.a.caseId, s.p0 - 1), // before the case began: never paid
        key(s.a.caseId, s.p1 + 1), // after paidThrough
        key(s.sick.caseId, s.p1, digest("other bill")),
        key(s.household.caseId, s.p1, digest("no such disaster")),
      ]) {
        await expect(agent.confirmSettlements(BANK_REF, [k]))
          .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
          .withArgs(k.caseId, k.period, k.eventId);
      }
    });

    it("already settled or failed → LedgerNotAwaitingSettlement", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      const agent = ledger.connect(actors.paymentAgent);
      const settled = [key(s.a.caseId, s.p0), key(s.sick.caseId, s.p1, s.bill)];
      const failed = [key(s.b.caseId, s.p0), key(s.household.caseId, s.p1, s.flood)];
      await agent.confirmSettlements(BANK_REF, settled);
      for (const k of failed) await agent.reportFailure(k, digest("account closed"));

      for (const k of [...settled, ...failed]) {
        await expect(agent.confirmSettlements(BANK_REF, [k]))
          .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
          .withArgs(k.caseId, k.period, k.eventId);
      }
    });

    it("event payout named with another period than it was paid in → LedgerNotAwaitingSettlement", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      const wrong = key(s.sick.caseId, s.p0, s.bill);

      expect(await status(fx, wrong)).to.deep.equal([PayoutStatus.None, 0n]);
      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [wrong]))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(wrong.caseId, wrong.period, wrong.eventId);
      await expect(ledger.connect(actors.paymentAgent).reportFailure(wrong, digest("reason")))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(wrong.caseId, wrong.period, wrong.eventId);
    });

    it("a period that has left the 32-period window → LedgerNotAwaitingSettlement", async function () {
      const { ledger, actors } = fx;
      const { caseId, programmeId, p0 } = await longProgrammeCase(fx);
      await ledger.executePayouts(programmeId, p0, [caseId]);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key(caseId, p0)]);
      await goToPeriod(p0 + 32);
      await ledger.executePayouts(programmeId, p0 + 32, [caseId]);

      expect(await status(fx, key(caseId, p0))).to.deep.equal([PayoutStatus.None, 0n]);
      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key(caseId, p0)]))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(caseId, p0, ZERO);
      await expect(ledger.connect(actors.paymentAgent).reportFailure(key(caseId, p0), digest("late")))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(caseId, p0, ZERO);
    });

    it("one bad key in a batch → the whole batch reverts, the good keys stay unsettled", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      const good = key(s.a.caseId, s.p0);
      const bad = key(s.a.caseId, s.p0 - 1);

      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [good, bad]))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(bad.caseId, bad.period, bad.eventId);
      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [good, good]))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(good.caseId, good.period, good.eventId);
      expect(await status(fx, good)).to.deep.equal([PayoutStatus.Paid, GAP_3]);
    });

    it("payment agent of another county → LedgerUnauthorizedRegion; another role → LedgerUnauthorizedRole", async function () {
      const { ledger, registry, actors } = fx;
      const s = await paidScenario();
      const k = key(s.a.caseId, s.p0);

      await expect(ledger.connect(actors.otherPaymentAgent).confirmSettlements(BANK_REF, [k]))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.otherPaymentAgent.address, REGION.township);
      await expect(ledger.connect(actors.otherPaymentAgent).reportFailure(k, digest("r")))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.otherPaymentAgent.address, REGION.township);
      await expect(ledger.connect(actors.countyFinance).confirmSettlements(BANK_REF, [k]))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.countyFinance.address, 1 << Role.PaymentAgent);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.Paid, GAP_3]);
    });

    it("township payment agent, batch with a case of the next township → LedgerUnauthorizedRegion for that key", async function () {
      const { ledger, registry, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const neighbour = await caseAt(fx, "dibao", "approved", {
        region: NEIGHBOUR_TOWNSHIP,
        submitter: actors.countyCaseworker,
      });
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [caseId, neighbour.caseId]);
      await registry
        .connect(actors.admin)
        .registerInstitution(actors.stranger.address, Role.PaymentAgent, REGION.township, digest("sm2:bank-branch"));

      await expect(
        ledger
          .connect(actors.stranger)
          .confirmSettlements(BANK_REF, [key(caseId, period), key(neighbour.caseId, period)]),
      )
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.stranger.address, NEIGHBOUR_TOWNSHIP);
      await expect(ledger.connect(actors.stranger).confirmSettlements(BANK_REF, [key(caseId, period)])).to.emit(
        ledger,
        "PayoutSettled",
      );
    });

    it("no keys → LedgerInvalidInput(keys); zero bank reference → LedgerInvalidInput(bankRefDigest)", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();

      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, []))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
        .withArgs("keys");
      await expect(ledger.connect(actors.paymentAgent).confirmSettlements(ZERO, [key(s.a.caseId, s.p0)]))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidInput")
        .withArgs("bankRefDigest");
    });

    it("paused → LedgerPausedError", async function () {
      const { ledger, registry, actors } = fx;
      const s = await paidScenario();
      await registry.connect(actors.admin).pause();

      await expect(
        ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key(s.a.caseId, s.p0)]),
      ).to.be.revertedWithCustomError(registry, "LedgerPausedError");
      await expect(
        ledger.connect(actors.paymentAgent).reportFailure(key(s.a.caseId, s.p0), digest("r")),
      ).to.be.revertedWithCustomError(registry, "LedgerPausedError");
    });
  });

  describe("reportFailure", function () {
    it("monthly payout → PayoutFailed, money back in the pool, the period payable again and paid by the next run", async function () {
      const { ledger, actors, programmes } = fx;
      const s = await paidScenario();
      const k = key(s.a.caseId, s.p0); // the arrears month, not the latest paid one
      const pool = await ledger.poolBalance(programmes.dibao);
      const paid = await ledger.programmePaidOut(programmes.dibao);
      const [appropriated, held, paidOut] = await ledger.fundTotals();

      await expect(ledger.connect(actors.paymentAgent).reportFailure(k, digest("account closed")))
        .to.emit(ledger, "PayoutFailed")
        .withArgs(s.a.caseId, programmes.dibao, ZERO, s.p0, GAP_3, digest("account closed"));

      expect(await ledger.poolBalance(programmes.dibao)).to.equal(pool + GAP_3);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(paid - GAP_3);
      expect([...(await ledger.fundTotals())]).to.deep.equal([appropriated, held + GAP_3, paidOut - GAP_3]);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.None, 0n]);
      expect(plain(await ledger.casePayouts(s.a.caseId))).to.deep.equal([key(s.a.caseId, s.p1)]);

      const tx = ledger.executePayouts(programmes.dibao, s.p0, [s.a.caseId, s.b.caseId]);
      await expect(tx).to.emit(ledger, "PayoutExecuted").withArgs(s.a.caseId, programmes.dibao, ZERO, s.p0, GAP_3);
      await expect(tx).to.emit(ledger, "PayoutSkipped").withArgs(s.b.caseId, ZERO, s.p0, SkipReason.AlreadyPaid);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(pool);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.Paid, GAP_3]);
    });

    it("the latest paid month failed → repaid by the next run for that month", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [caseId]);
      await ledger.connect(actors.paymentAgent).reportFailure(key(caseId, period), digest("wrong account"));

      await expect(ledger.executePayouts(programmes.dibao, period, [caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.dibao, ZERO, period, GAP_3);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(GAP_3);
    });

    it("settled, failed twice, unpaid → LedgerNotAwaitingSettlement; unknown case → LedgerUnknownCase", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      const agent = ledger.connect(actors.paymentAgent);
      await agent.confirmSettlements(BANK_REF, [key(s.a.caseId, s.p0)]);
      await agent.reportFailure(key(s.b.caseId, s.p0), digest("r"));

      for (const k of [key(s.a.caseId, s.p0), key(s.b.caseId, s.p0), key(s.a.caseId, s.p0 - 1)]) {
        await expect(agent.reportFailure(k, digest("r")))
          .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
          .withArgs(k.caseId, k.period, k.eventId);
      }
      await expect(agent.reportFailure(key(digest("nobody"), s.p0), digest("r")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownCase")
        .withArgs(digest("nobody"));
    });

    it("medical payout → its share of the annual cap is released and the same bill can be certified again", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "medical");
      const office = ledger.connect(actors.medicalOffice);
      const period = await currentPeriod(ledger);
      const share = 1_330_000n; // 70% of a 20,000-yuan bill above the 1,000-yuan deductible
      await office.certifyMedicalBill(digest("b1"), caseId, 2_000_000n, digest("d"));
      await office.certifyMedicalBill(digest("b2"), caseId, 2_000_000n, digest("d"));
      await office.certifyMedicalBill(digest("b3"), caseId, 2_000_000n, digest("d")); // capped: 340,000
      const pool = await ledger.poolBalance(programmes.medical);

      await expect(ledger.connect(actors.paymentAgent).reportFailure(key(caseId, period, digest("b2")), digest("r")))
        .to.emit(ledger, "PayoutFailed")
        .withArgs(caseId, programmes.medical, digest("b2"), period, share, digest("r"));
      expect(await ledger.poolBalance(programmes.medical)).to.equal(pool + share);

      await expect(office.certifyMedicalBill(digest("b2"), caseId, 2_000_000n, digest("d")))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(caseId, programmes.medical, digest("b2"), period, share);
      await expect(office.certifyMedicalBill(digest("b4"), caseId, 2_000_000n, digest("d")))
        .to.be.revertedWithCustomError(ledger, "LedgerNothingPayable")
        .withArgs(caseId);
      expect(plain(await ledger.casePayouts(caseId))).to.deep.equal(
        ["b1", "b2", "b3"].map((b) => key(caseId, period, digest(b))),
      );
      expect(await ledger.programmePaidOut(programmes.medical)).to.equal(PROGRAMMES.medical.amount);
    });

    it("disaster payout → money back in the pool and the household is paid again by the next relief call", async function () {
      const { ledger, actors, programmes } = fx;
      const s = await paidScenario();
      const k = key(s.household.caseId, s.p1, s.flood);

      await expect(ledger.connect(actors.paymentAgent).reportFailure(k, digest("r")))
        .to.emit(ledger, "PayoutFailed")
        .withArgs(s.household.caseId, programmes.disaster, s.flood, s.p1, GRANT, digest("r"));
      expect(await ledger.poolBalance(programmes.disaster)).to.equal(POOL_FUNDING);

      await expect(ledger.payDisasterRelief(s.flood, [s.household.caseId]))
        .to.emit(ledger, "PayoutExecuted")
        .withArgs(s.household.caseId, programmes.disaster, s.flood, s.p1, GRANT);
      expect(await ledger.poolBalance(programmes.disaster)).to.equal(POOL_FUNDING - GRANT);
      expect(plain(await ledger.casePayouts(s.household.caseId))).to.deep.equal([k]);
    });

    it("clawback of a payout still awaiting settlement → LedgerPayoutNotSettled; its failure can still be reported", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [caseId]);

      await expect(ledger.connect(actors.countyFinance).recordClawback(key(caseId, period), GAP_3, digest("recovered")))
        .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
        .withArgs(caseId, period, ZERO);
      await expect(ledger.connect(actors.paymentAgent).reportFailure(key(caseId, period), digest("r")))
        .to.emit(ledger, "PayoutFailed")
        .withArgs(caseId, programmes.dibao, ZERO, period, GAP_3, digest("r"));
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(0n);
    });

    it("a failed payout made again and settled → can be clawed back up to its amount", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      const k = key(caseId, period);
      await ledger.executePayouts(programmes.dibao, period, [caseId]);
      await ledger.connect(actors.paymentAgent).reportFailure(k, digest("r"));
      await ledger.executePayouts(programmes.dibao, period, [caseId]);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [k]);

      await expect(ledger.connect(actors.countyFinance).recordClawback(k, GAP_3, digest("recovered")))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.dibao, ZERO, period, GAP_3, digest("recovered"));
      expect(await ledger.clawedBack(k)).to.equal(GAP_3);
      expect(await ledger.poolBalance(programmes.dibao)).to.equal(POOL_FUNDING);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.Settled, GAP_3]);
    });

    it("a clawed-back payout is still settled: reportFailure → LedgerNotAwaitingSettlement", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "dibao");
      const period = await currentPeriod(ledger);
      const k = key(caseId, period);
      await ledger.executePayouts(programmes.dibao, period, [caseId]);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [k]);
      await ledger.connect(actors.countyFinance).recordClawback(k, GAP_3, digest("recovered"));

      await expect(ledger.connect(actors.paymentAgent).reportFailure(k, digest("r")))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAwaitingSettlement")
        .withArgs(caseId, period, ZERO);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(0n);
    });
  });

  describe("payoutStatus, unsettledPayouts, casePayouts", function () {
    it("payoutStatus → None before payment, Paid, then Settled, with the amount", async function () {
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "tekun");
      const period = await currentPeriod(ledger);
      const k = key(caseId, period);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.None, 0n]);

      await ledger.executePayouts(programmes.tekun, period, [caseId]);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.Paid, PROGRAMMES.tekun.amount]);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [k]);
      expect(await status(fx, k)).to.deep.equal([PayoutStatus.Settled, PROGRAMMES.tekun.amount]);
      expect(await status(fx, key(caseId, period - 1))).to.deep.equal([PayoutStatus.None, 0n]);
      expect(await status(fx, key(digest("nobody"), period))).to.deep.equal([PayoutStatus.None, 0n]);
    });

    it("unsettledPayouts over a range of cases → only those cases' unsettled payouts, in submission order", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario(); // cases in submission order: a, b, sick, household
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key(s.b.caseId, s.p1)]);

      expect(await ledger.caseCount()).to.equal(4n);
      expect(plain(await ledger.unsettledPayouts(0, 1))).to.deep.equal([key(s.a.caseId, s.p1), key(s.a.caseId, s.p0)]);
      expect(plain(await ledger.unsettledPayouts(1, 2))).to.deep.equal([
        key(s.b.caseId, s.p0),
        key(s.sick.caseId, s.p1, s.bill),
      ]);
      expect(plain(await ledger.unsettledPayouts(3, 100))).to.deep.equal([key(s.household.caseId, s.p1, s.flood)]);
      expect(plain(await ledger.unsettledPayouts(4, 100))).to.deep.equal([]);
      expect(plain(await ledger.unsettledPayouts(2, 0))).to.deep.equal([]);
      expect(plain(await ledger.unsettledPayouts(3, ethers.MaxUint256))).to.deep.equal([
        key(s.household.caseId, s.p1, s.flood),
      ]);
    });

    it("casePayouts → tracked payouts whatever their settlement, without failed ones", async function () {
      const { ledger, actors } = fx;
      const s = await paidScenario();
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key(s.b.caseId, s.p1)]);
      await ledger.connect(actors.paymentAgent).reportFailure(key(s.b.caseId, s.p0), digest("r"));

      expect(plain(await ledger.casePayouts(s.b.caseId))).to.deep.equal([key(s.b.caseId, s.p1)]);
      expect(plain(await ledger.casePayouts(s.sick.caseId))).to.deep.equal([key(s.sick.caseId, s.p1, s.bill)]);
      expect(plain(await ledger.casePayouts(digest("nobody")))).to.deep.equal([]);
      expect(GAP_1).to.equal((await ledger.caseRecord(s.b.caseId)).amount);
    });
  });
});
