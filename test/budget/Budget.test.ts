import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { PayoutStatus, Role } from "../../lib/roles";
import {
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  approvedCase,
  approvedCases,
  assessment,
  currentPeriod,
  deployFunded,
  digest,
  newCase,
  nextPeriod,
  payoutKey,
  type Funded,
} from "../helpers/fixture";
import type { ReliefLedger } from "../../typechain-types";

const FINANCE_BIT = 1 << Role.Finance;
const REF = digest("transfer-doc");
const BANK_REF = digest("bank batch");
const ZERO = ethers.ZeroHash;
const TOTAL = POOL_FUNDING * BigInt(Object.keys(PROGRAMMES).length);
/** The gap of the fixture's default assessment: (737 − 237) yuan × 3 people, in fen. */
const DIBAO_MONTHLY = 150_000n;
/** The regions whose balances the tests track (everything else must stay empty). */
const TRACKED = [REGION.central, REGION.province, REGION.city, REGION.county, REGION.township, REGION.otherCounty];
/** The fund-trail levels the transfers walk: central → province → city → county. */
const CHAIN = [REGION.central, REGION.province, REGION.city, REGION.county] as const;

/** What the books must say: kept by hand next to the chain and compared after every step. */
interface Books {
  appropriated: bigint;
  regions: Map<bigint, bigint>;
  pools: Map<bigint, bigint>;
  paid: Map<bigint, bigint>;
}

/** The books right after {deployFunded}: 2T appropriated, T passed down and split into five pools. */
function fundedBooks(fx: Funded): Books {
  const regions = new Map(TRACKED.map((r) => [r, 0n]));
  regions.set(REGION.central, TOTAL);
  const ids = Object.values(fx.programmes);
  return {
    appropriated: 2n * TOTAL,
    regions,
    pools: new Map(ids.map((id) => [id, POOL_FUNDING])),
    paid: new Map(ids.map((id) => [id, 0n])),
  };
}

const sum = (values: Iterable<bigint>) => [...values].reduce((a, b) => a + b, 0n);

/** Conservation: every tracked balance is as booked and appropriated == Σ regions + Σ pools + paid out. */
async function expectBooks(ledger: ReliefLedger, books: Books) {
  for (const [region, balance] of books.regions) {
    expect(await ledger.regionBalance(region), `balance of region ${region}`).to.equal(balance);
  }
  for (const [id, balance] of books.pools) expect(await ledger.poolBalance(id), `pool ${id}`).to.equal(balance);
  for (const [id, paid] of books.paid) expect(await ledger.programmePaidOut(id), `paid by ${id}`).to.equal(paid);
  const [appropriated, held, paidOut] = await ledger.fundTotals();
  const regions = sum(books.regions.values());
  const pools = sum(books.pools.values());
  const paid = sum(books.paid.values());
  expect(appropriated).to.equal(books.appropriated);
  expect(paidOut).to.equal(paid);
  expect(held).to.equal(regions + pools);
  expect(appropriated).to.equal(regions + pools + paidOut);
}

const add = (m: Map<bigint, bigint>, key: bigint, amount: bigint) => m.set(key, (m.get(key) ?? 0n) + amount);

/** The finance bureau of each level of the chain. */
const bureau = (fx: Funded, region: bigint): HardhatEthersSigner =>
  ({
    [REGION.central.toString()]: fx.actors.centralFinance,
    [REGION.province.toString()]: fx.actors.provinceFinance,
    [REGION.city.toString()]: fx.actors.cityFinance,
    [REGION.county.toString()]: fx.actors.countyFinance,
  })[region.toString()]!;

describe("Budget", function () {
  it("the funded fixture starts with balanced books", async function () {
    const fx = await loadFixture(deployFunded);
    await expectBooks(fx.ledger, fundedBooks(fx));
  });

  describe("appropriate", function () {
    it("adds new money at the central level with FundsAppropriated", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      await expect(fx.ledger.connect(fx.actors.centralFinance).appropriate(12_345n, REF))
        .to.emit(fx.ledger, "FundsAppropriated")
        .withArgs(12_345n, REF);
      books.appropriated += 12_345n;
      add(books.regions, REGION.central, 12_345n);
      await expectBooks(fx.ledger, books);
    });

    it("reverts with LedgerUnauthorizedRegion for every finance bureau below central", async function () {
      const { ledger, registry, actors } = await loadFixture(deployFunded);
      for (const who of [actors.provinceFinance, actors.cityFinance, actors.countyFinance]) {
        await expect(ledger.connect(who).appropriate(1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.central);
      }
    });

    it("reverts with LedgerUnauthorizedRole for central institutions that are not finance", async function () {
      const { ledger, registry, actors } = await loadFixture(deployFunded);
      for (const who of [actors.auditor, actors.keeper, actors.admin]) {
        await expect(ledger.connect(who).appropriate(1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, FINANCE_BIT);
      }
    });

    it("reverts with LedgerZeroAmount for zero", async function () {
      const { ledger, actors } = await loadFixture(deployFunded);
      await expect(ledger.connect(actors.centralFinance).appropriate(0n, REF)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroAmount",
      );
    });
  });

  describe("allocate", function () {
    it("moves money down exactly one level at a time, central → province → city → county, with FundsAllocated", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      const amounts = [1_000_000n, 600_000n, 250_000n];
      for (let i = 0; i < 3; i++) {
        const [from, to] = [CHAIN[i], CHAIN[i + 1]];
        await expect(fx.ledger.connect(bureau(fx, from)).allocate(from, to, amounts[i], REF))
          .to.emit(fx.ledger, "FundsAllocated")
          .withArgs(from, to, amounts[i], REF);
        add(books.regions, from, -amounts[i]);
        add(books.regions, to, amounts[i]);
        await expectBooks(fx.ledger, books);
      }
    });

    it("allocates to a sibling county of the same city (Fengtai)", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      const { ledger, actors } = fx;
      await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 500n, REF);
      await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 500n, REF);
      await expect(ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.otherCounty, 200n, REF))
        .to.emit(ledger, "FundsAllocated")
        .withArgs(REGION.city, REGION.otherCounty, 200n, REF);
      add(books.regions, REGION.central, -500n);
      add(books.regions, REGION.city, 300n);
      add(books.regions, REGION.otherCounty, 200n);
      await expectBooks(ledger, books);
    });

    it("reverts with LedgerNotAdjacentRegion below the county (a township), skipping a level, sideways or to a bad code", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, actors } = fx;
      // give the county something to (not) pass down
      await ledger.connect(actors.countyFinance).defundProgramme(fx.programmes.dibao, 1_000n, REF);
      const bad: Array<[HardhatEthersSigner, bigint, bigint]> = [
        [actors.countyFinance, REGION.county, REGION.township],
        [actors.countyFinance, REGION.county, REGION.otherTownship],
        [actors.centralFinance, REGION.central, REGION.city],
        [actors.centralFinance, REGION.central, REGION.county],
        [actors.centralFinance, REGION.central, REGION.central],
        [actors.provinceFinance, REGION.province, REGION.central],
        [actors.provinceFinance, REGION.province, 120100n],
        [actors.cityFinance, REGION.city, 110205n],
        [actors.cityFinance, REGION.city, 110100n],
        [actors.cityFinance, REGION.city, 110005n],
      ];
      for (const [who, from, to] of bad) {
        await expect(ledger.connect(who).allocate(from, to, 1n, REF), `${from} → ${to}`)
          .to.be.revertedWithCustomError(ledger, "LedgerNotAdjacentRegion")
          .withArgs(from, to);
      }
    });

    it("reverts with LedgerInsufficientFunds(available, requested) and LedgerZeroAmount", async function () {
      const { ledger, actors } = await loadFixture(deployFunded);
      await expect(ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, TOTAL + 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(TOTAL, TOTAL + 1n);
      await expect(ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(0n, 1n);
      await expect(
        ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 0n, REF),
      ).to.be.revertedWithCustomError(ledger, "LedgerZeroAmount");
    });

    it("reverts with LedgerUnauthorizedRegion when a parent region's bureau moves a child's funds, or a child its parent's", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, registry, actors } = fx;
      await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 1_000n, REF);
      await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 1_000n, REF);
      const cases: Array<[HardhatEthersSigner, bigint, bigint]> = [
        [actors.centralFinance, REGION.province, REGION.city],
        [actors.centralFinance, REGION.city, REGION.county],
        [actors.provinceFinance, REGION.city, REGION.county],
        [actors.countyFinance, REGION.city, REGION.county],
        [actors.cityFinance, REGION.province, REGION.city],
      ];
      for (const [who, from, to] of cases) {
        await expect(ledger.connect(who).allocate(from, to, 1n, REF), `${who.address} moves ${from}`)
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, from);
      }
    });

    it("reverts with LedgerUnauthorizedRole for institutions that are not finance bureaus", async function () {
      const { ledger, registry, actors } = await loadFixture(deployFunded);
      for (const who of [actors.auditor, actors.approver, actors.stranger]) {
        await expect(ledger.connect(who).allocate(REGION.central, REGION.province, 1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, FINANCE_BIT);
      }
    });
  });

  describe("returnFunds", function () {
    it("moves money up exactly one level at a time, county → city → province → central, with FundsReturned", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      await fx.ledger.connect(fx.actors.countyFinance).defundProgramme(fx.programmes.tekun, 90_000n, REF);
      add(books.pools, fx.programmes.tekun, -90_000n);
      add(books.regions, REGION.county, 90_000n);
      await expectBooks(fx.ledger, books);
      const amounts = [90_000n, 50_000n, 20_000n];
      for (let i = 3; i > 0; i--) {
        const [from, to, amount] = [CHAIN[i], CHAIN[i - 1], amounts[3 - i]];
        await expect(fx.ledger.connect(bureau(fx, from)).returnFunds(from, to, amount, REF))
          .to.emit(fx.ledger, "FundsReturned")
          .withArgs(from, to, amount, REF);
        add(books.regions, from, -amount);
        add(books.regions, to, amount);
        await expectBooks(fx.ledger, books);
      }
    });

    it("reverts with LedgerNotAdjacentRegion when skipping a level, going down or sideways", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, actors } = fx;
      await ledger.connect(actors.countyFinance).defundProgramme(fx.programmes.dibao, 1_000n, REF);
      const bad: Array<[HardhatEthersSigner, bigint, bigint]> = [
        [actors.countyFinance, REGION.county, REGION.province],
        [actors.countyFinance, REGION.county, REGION.central],
        [actors.countyFinance, REGION.county, REGION.township],
        [actors.countyFinance, REGION.county, REGION.otherCounty],
        [actors.countyFinance, REGION.county, 120100n],
        [actors.provinceFinance, REGION.province, REGION.city],
      ];
      for (const [who, from, to] of bad) {
        await expect(ledger.connect(who).returnFunds(from, to, 1n, REF), `${from} → ${to}`)
          .to.be.revertedWithCustomError(ledger, "LedgerNotAdjacentRegion")
          .withArgs(from, to);
      }
    });

    it("reverts with LedgerInsufficientFunds, LedgerZeroAmount, and LedgerUnauthorizedRegion for the parent's bureau", async function () {
      const { ledger, registry, actors } = await loadFixture(deployFunded);
      await expect(ledger.connect(actors.countyFinance).returnFunds(REGION.county, REGION.city, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(0n, 1n);
      await expect(
        ledger.connect(actors.countyFinance).returnFunds(REGION.county, REGION.city, 0n, REF),
      ).to.be.revertedWithCustomError(ledger, "LedgerZeroAmount");
      await expect(ledger.connect(actors.cityFinance).returnFunds(REGION.county, REGION.city, 1n, REF))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.cityFinance.address, REGION.county);
    });
  });

  describe("fundProgramme and defundProgramme", function () {
    it("moves money between the county and a pool with ProgrammeFunded / ProgrammeDefunded", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      const { ledger, actors, programmes } = fx;
      const county = actors.countyFinance;
      await expect(ledger.connect(county).defundProgramme(programmes.medical, 400_000n, REF))
        .to.emit(ledger, "ProgrammeDefunded")
        .withArgs(programmes.medical, REGION.county, 400_000n, REF);
      add(books.pools, programmes.medical, -400_000n);
      add(books.regions, REGION.county, 400_000n);
      await expectBooks(ledger, books);
      await expect(ledger.connect(county).fundProgramme(programmes.dibao, 300_000n, REF))
        .to.emit(ledger, "ProgrammeFunded")
        .withArgs(programmes.dibao, REGION.county, 300_000n, REF);
      add(books.pools, programmes.dibao, 300_000n);
      add(books.regions, REGION.county, -300_000n);
      await expectBooks(ledger, books);
      // Empty a pool completely, then fund it from the remaining county balance.
      await ledger.connect(county).defundProgramme(programmes.disaster, POOL_FUNDING, REF);
      add(books.pools, programmes.disaster, -POOL_FUNDING);
      add(books.regions, REGION.county, POOL_FUNDING);
      await expectBooks(ledger, books);
    });

    it("reverts with LedgerInsufficientFunds(available, requested) for the region or the pool", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      await expect(ledger.connect(actors.countyFinance).fundProgramme(programmes.dibao, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(0n, 1n);
      await expect(ledger.connect(actors.countyFinance).defundProgramme(programmes.dibao, POOL_FUNDING + 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(POOL_FUNDING, POOL_FUNDING + 1n);
    });

    it("reverts with LedgerZeroAmount and LedgerUnknownProgramme", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const county = ledger.connect(actors.countyFinance);
      await expect(county.fundProgramme(programmes.dibao, 0n, REF)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroAmount",
      );
      await expect(county.defundProgramme(programmes.dibao, 0n, REF)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroAmount",
      );
      await expect(county.fundProgramme(99, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownProgramme")
        .withArgs(99);
      await expect(county.defundProgramme(99, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownProgramme")
        .withArgs(99);
    });

    it("reverts with LedgerUnauthorizedRegion for any bureau but the programme region's own", async function () {
      const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
      for (const who of [actors.centralFinance, actors.provinceFinance, actors.cityFinance]) {
        await expect(ledger.connect(who).fundProgramme(programmes.dibao, 1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.county);
        await expect(ledger.connect(who).defundProgramme(programmes.dibao, 1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.county);
      }
    });

    it("funds a city-level programme from the city's own balance; the county bureau may not touch it", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      const { ledger, registry, actors } = fx;
      // a municipal approver (Beijing's districts) creates a city-wide programme: the seventh
      await registry.registerInstitution(actors.stranger.address, Role.Approver, REGION.city, digest("city-approver"));
      await ledger.connect(actors.stranger).createProgramme({ ...PROGRAMMES.temporary, region: REGION.city });
      const id = await ledger.programmeCount();
      books.pools.set(id, 0n);
      books.paid.set(id, 0n);
      await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 5_000n, REF);
      await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 5_000n, REF);
      add(books.regions, REGION.central, -5_000n);
      add(books.regions, REGION.city, 5_000n);
      await expect(ledger.connect(actors.countyFinance).fundProgramme(id, 1n, REF))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.countyFinance.address, REGION.city);
      await expect(ledger.connect(actors.cityFinance).fundProgramme(id, 5_000n, REF))
        .to.emit(ledger, "ProgrammeFunded")
        .withArgs(id, REGION.city, 5_000n, REF);
      add(books.regions, REGION.city, -5_000n);
      add(books.pools, id, 5_000n);
      await expectBooks(ledger, books);
    });
  });

  describe("recordClawback", function () {
    /** A 低保 case paid for the current period, not yet settled. */
    async function paidDibao() {
      const fx = await loadFixture(deployFunded);
      const c = await approvedCase(fx, "dibao");
      const period = await currentPeriod(fx.ledger);
      await fx.ledger.executePayouts(fx.programmes.dibao, period, [c.caseId]);
      return { ...fx, ...c, period, key: payoutKey(c.caseId, period) };
    }

    /** `paidDibao` with the payout settled by the payment agent: money that reached the family. */
    async function settledDibao() {
      const fx = await paidDibao();
      await fx.ledger.connect(fx.actors.paymentAgent).confirmSettlements(BANK_REF, [fx.key]);
      return fx;
    }

    /** A certified medical bill (5,000 yuan, paying 2,800), settled. */
    async function settledBill() {
      const fx = await loadFixture(deployFunded);
      const c = await approvedCase(fx, "medical");
      const billId = digest("bill:clawback");
      await fx.ledger.connect(fx.actors.medicalOffice).certifyMedicalBill(billId, c.caseId, 500_000n, digest("bill"));
      const period = await currentPeriod(fx.ledger);
      const key = payoutKey(c.caseId, period, billId);
      await fx.ledger.connect(fx.actors.paymentAgent).confirmSettlements(BANK_REF, [key]);
      return { ...fx, ...c, billId, period, key };
    }

    it("a settled payout: the payout moves money from the pool to paid out; a clawback moves it back with ClawbackRecorded", async function () {
      const fx = await loadFixture(settledDibao);
      const books = fundedBooks(fx);
      const { ledger, actors, programmes, caseId, period, key } = fx;
      add(books.pools, programmes.dibao, -DIBAO_MONTHLY);
      add(books.paid, programmes.dibao, DIBAO_MONTHLY);
      await expectBooks(ledger, books);
      expect(await ledger.clawedBack(key)).to.equal(0n);

      await expect(ledger.connect(actors.countyFinance).recordClawback(key, 50_000n, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.dibao, ZERO, period, 50_000n, REF);
      add(books.pools, programmes.dibao, 50_000n);
      add(books.paid, programmes.dibao, -50_000n);
      await expectBooks(ledger, books);
      expect(await ledger.clawedBack(key)).to.equal(50_000n);

      await expect(ledger.connect(actors.countyFinance).recordClawback(key, 100_000n, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.dibao, ZERO, period, 100_000n, REF);
      add(books.pools, programmes.dibao, 100_000n);
      add(books.paid, programmes.dibao, -100_000n);
      await expectBooks(ledger, books);
      expect(await ledger.clawedBack(key)).to.equal(DIBAO_MONTHLY);
      // the payout itself stays settled and listed: a clawback is booked beside it, not instead of it
      expect([...(await ledger.payoutStatus(key))]).to.deep.equal([BigInt(PayoutStatus.Settled), DIBAO_MONTHLY]);
    });

    it("a payout the bank could not make goes back to the pool and the books stay balanced", async function () {
      const fx = await loadFixture(paidDibao);
      const books = fundedBooks(fx);
      const { ledger, actors, key } = fx;
      await ledger.connect(actors.paymentAgent).reportFailure(key, digest("account closed"));
      await expectBooks(ledger, books);
    });

    it("reverts with LedgerClawbackExceedsPayout(key, payout amount) beyond the payout, whatever else the programme paid", async function () {
      const fx = await loadFixture(settledDibao);
      const { ledger, actors, programmes, caseId, period, key } = fx;
      // another family's settled payout: the programme has paid out twice the payout now
      const other = await approvedCase(fx, "dibao");
      await ledger.executePayouts(programmes.dibao, period, [other.caseId]);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [payoutKey(other.caseId, period)]);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(2n * DIBAO_MONTHLY);

      await expect(ledger.connect(actors.countyFinance).recordClawback(key, DIBAO_MONTHLY + 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
        .withArgs(caseId, period, ZERO, DIBAO_MONTHLY);
      expect(await ledger.clawedBack(key)).to.equal(0n);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(2n * DIBAO_MONTHLY);
    });

    it("several partial clawbacks → each accepted while the total stays within the payout; the one past it reverts with what is left", async function () {
      const fx = await loadFixture(settledDibao);
      const { ledger, actors, caseId, period, key } = fx;
      const finance = ledger.connect(actors.countyFinance);
      for (const amount of [10_000n, 60_000n, 79_999n]) await finance.recordClawback(key, amount, REF);
      expect(await ledger.clawedBack(key)).to.equal(149_999n);

      await expect(finance.recordClawback(key, 2n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
        .withArgs(caseId, period, ZERO, 1n);
      await expect(finance.recordClawback(key, 1n, REF)).to.emit(ledger, "ClawbackRecorded");
      await expect(finance.recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
        .withArgs(caseId, period, ZERO, 0n);
      expect(await ledger.clawedBack(key)).to.equal(DIBAO_MONTHLY);
    });

    it("any sequence of partial clawbacks on one payout never recovers more than the payout (property)", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.bigInt({ min: 1n, max: DIBAO_MONTHLY + 1n }), { minLength: 1, maxLength: 6 }),
          async (amounts) => {
            const fx = await loadFixture(settledDibao);
            const { ledger, actors, programmes, caseId, period, key } = fx;
            const books = fundedBooks(fx);
            add(books.pools, programmes.dibao, -DIBAO_MONTHLY);
            add(books.paid, programmes.dibao, DIBAO_MONTHLY);
            let left = DIBAO_MONTHLY;
            for (const amount of amounts) {
              const call = ledger.connect(actors.countyFinance).recordClawback(key, amount, REF);
              if (amount > left) {
                await expect(call)
                  .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
                  .withArgs(caseId, period, ZERO, left);
              } else {
                await expect(call)
                  .to.emit(ledger, "ClawbackRecorded")
                  .withArgs(caseId, programmes.dibao, ZERO, period, amount, REF);
                left -= amount;
                add(books.pools, programmes.dibao, amount);
                add(books.paid, programmes.dibao, -amount);
              }
              expect(await ledger.clawedBack(key)).to.equal(DIBAO_MONTHLY - left);
              await expectBooks(ledger, books);
            }
          },
        ),
        { numRuns: 8 },
      );
    });

    it("two monthly payouts of one case → each has its own cap", async function () {
      const fx = await loadFixture(settledDibao);
      const { ledger, actors, programmes, caseId, period, key } = fx;
      await nextPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period + 1, [caseId]);
      const next = payoutKey(caseId, period + 1);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [next]);
      const finance = ledger.connect(actors.countyFinance);

      await finance.recordClawback(key, DIBAO_MONTHLY, REF);
      await expect(finance.recordClawback(next, DIBAO_MONTHLY, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.dibao, ZERO, period + 1, DIBAO_MONTHLY, REF);
      expect([await ledger.clawedBack(key), await ledger.clawedBack(next)]).to.deep.equal([
        DIBAO_MONTHLY,
        DIBAO_MONTHLY,
      ]);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(0n);
    });

    it("a settled medical bill payout → clawed back under its bill id, at most the 2,800 yuan paid", async function () {
      const fx = await loadFixture(settledBill);
      const books = fundedBooks(fx);
      const { ledger, actors, programmes, caseId, billId, period, key } = fx;
      const paid = 280_000n; // 70% of 5,000 yuan above the 1,000-yuan deductible
      add(books.pools, programmes.medical, -paid);
      add(books.paid, programmes.medical, paid);
      const finance = ledger.connect(actors.countyFinance);

      await expect(finance.recordClawback(key, 200_000n, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.medical, billId, period, 200_000n, REF);
      add(books.pools, programmes.medical, 200_000n);
      add(books.paid, programmes.medical, -200_000n);
      await expectBooks(ledger, books);
      await expect(finance.recordClawback(key, 80_001n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
        .withArgs(caseId, period, billId, 80_000n);
      await finance.recordClawback(key, 80_000n, REF);
      add(books.pools, programmes.medical, 80_000n);
      add(books.paid, programmes.medical, -80_000n);
      await expectBooks(ledger, books);
      expect(await ledger.clawedBack(key)).to.equal(paid);
      // the monthly key of the same case and period names no payout
      expect(await ledger.clawedBack(payoutKey(caseId, period))).to.equal(0n);
      await expect(finance.recordClawback(payoutKey(caseId, period), 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
        .withArgs(caseId, period, ZERO);
    });

    it("an event payout named with another period, or an unknown bill → LedgerPayoutNotSettled", async function () {
      const { ledger, actors, caseId, billId, period } = await loadFixture(settledBill);
      for (const k of [payoutKey(caseId, period - 1, billId), payoutKey(caseId, period, digest("no such bill"))]) {
        await expect(ledger.connect(actors.countyFinance).recordClawback(k, 1n, REF))
          .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
          .withArgs(k.caseId, k.period, k.eventId);
      }
    });

    it("a settled disaster grant → clawed back under the disaster id, at most the grant", async function () {
      const fx = await loadFixture(deployFunded);
      const { ledger, actors, programmes } = fx;
      const { caseId } = await approvedCase(fx, "disaster");
      const flood = digest("flood");
      await ledger.connect(actors.approver).declareDisaster(flood, programmes.disaster, REGION.county, digest("d"));
      await ledger.payDisasterRelief(flood, [caseId]);
      const period = await currentPeriod(ledger);
      const key = payoutKey(caseId, period, flood);
      const finance = ledger.connect(actors.countyFinance);
      await expect(finance.recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
        .withArgs(caseId, period, flood);
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [key]);

      await expect(finance.recordClawback(key, PROGRAMMES.disaster.amount, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.disaster, flood, period, PROGRAMMES.disaster.amount, REF);
      await expect(finance.recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
        .withArgs(caseId, period, flood, 0n);
      expect(await ledger.poolBalance(programmes.disaster)).to.equal(POOL_FUNDING);
      expect(await ledger.programmePaidOut(programmes.disaster)).to.equal(0n);
    });

    it("a never-paid or unsettled payout → LedgerPayoutNotSettled; the failure report of the unsettled one still works", async function () {
      const fx = await loadFixture(paidDibao);
      const books = fundedBooks(fx);
      const { ledger, actors, programmes, caseId, period, key } = fx;
      const neverPaid = await approvedCase(fx, "dibao");
      const finance = ledger.connect(actors.countyFinance);
      for (const k of [payoutKey(neverPaid.caseId, period), key, payoutKey(caseId, period - 1)]) {
        await expect(finance.recordClawback(k, 1n, REF))
          .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
          .withArgs(k.caseId, k.period, k.eventId);
      }
      expect(await ledger.clawedBack(key)).to.equal(0n);

      await expect(ledger.connect(actors.paymentAgent).reportFailure(key, digest("closed")))
        .to.emit(ledger, "PayoutFailed")
        .withArgs(caseId, programmes.dibao, ZERO, period, DIBAO_MONTHLY, digest("closed"));
      await expectBooks(ledger, books);
      // a failed payout is no payout: nothing to claw back either
      await expect(finance.recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
        .withArgs(caseId, period, ZERO);
    });

    it("conservation: payouts, settlements, a failure and clawbacks on every kind of payout keep the books balanced", async function () {
      const fx = await loadFixture(deployFunded);
      const books = fundedBooks(fx);
      const { ledger, actors, programmes } = fx;
      const pay = (id: bigint, amount: bigint) => {
        add(books.pools, id, -amount);
        add(books.paid, id, amount);
      };
      const clawback = async (key: ReturnType<typeof payoutKey>, id: bigint, amount: bigint) => {
        await ledger.connect(actors.countyFinance).recordClawback(key, amount, REF);
        add(books.pools, id, amount);
        add(books.paid, id, -amount);
        await expectBooks(ledger, books);
      };
      const [a, b] = await approvedCases(fx, "dibao", [{ householdSize: 3 }, { householdSize: 1 }]);
      const sick = await approvedCase(fx, "medical");
      const period = await currentPeriod(ledger);
      await ledger.executePayouts(programmes.dibao, period, [a.caseId, b.caseId]);
      pay(programmes.dibao, DIBAO_MONTHLY + 50_000n);
      const bill = digest("bill:conservation");
      await ledger.connect(actors.medicalOffice).certifyMedicalBill(bill, sick.caseId, 2_000_000n, digest("bill"));
      pay(programmes.medical, 1_330_000n);
      await expectBooks(ledger, books);
      const [keyA, keyB, keyBill] = [
        payoutKey(a.caseId, period),
        payoutKey(b.caseId, period),
        payoutKey(sick.caseId, period, bill),
      ];
      await ledger.connect(actors.paymentAgent).confirmSettlements(BANK_REF, [keyA, keyBill]);
      await ledger.connect(actors.paymentAgent).reportFailure(keyB, digest("closed"));
      add(books.pools, programmes.dibao, 50_000n);
      add(books.paid, programmes.dibao, -50_000n);
      await expectBooks(ledger, books);

      await clawback(keyA, programmes.dibao, 1n);
      await clawback(keyBill, programmes.medical, 1_000_000n);
      await clawback(keyA, programmes.dibao, DIBAO_MONTHLY - 1n);
      await clawback(keyBill, programmes.medical, 330_000n);
      expect(await ledger.programmePaidOut(programmes.dibao)).to.equal(0n);
      expect(await ledger.programmePaidOut(programmes.medical)).to.equal(0n);
      expect([...(await ledger.fundTotals())][2]).to.equal(0n);
    });

    it("reverts with LedgerZeroAmount, and LedgerUnauthorizedRegion / LedgerUnauthorizedRole for other institutions", async function () {
      const { ledger, registry, actors, key } = await loadFixture(settledDibao);
      await expect(ledger.connect(actors.countyFinance).recordClawback(key, 0n, REF)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroAmount",
      );
      for (const who of [actors.centralFinance, actors.cityFinance]) {
        await expect(ledger.connect(who).recordClawback(key, 1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.county);
      }
      await expect(ledger.connect(actors.approver).recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.approver.address, FINANCE_BIT);
    });

    it("an unknown case → LedgerPayoutNotSettled for anyone, checked before the caller's role", async function () {
      const { ledger, actors, period } = await loadFixture(settledDibao);
      const unknown = newCase("never").caseId;
      for (const who of [actors.countyFinance, actors.stranger]) {
        await expect(ledger.connect(who).recordClawback(payoutKey(unknown, period), 1n, REF))
          .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
          .withArgs(unknown, period, ZERO);
      }
    });

    it("a known case's unsettled payout → the caller's role and region are checked first, then the settlement", async function () {
      const { ledger, registry, actors, caseId, period, key } = await loadFixture(paidDibao);
      await expect(ledger.connect(actors.stranger).recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.stranger.address, FINANCE_BIT);
      await expect(ledger.connect(actors.cityFinance).recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.cityFinance.address, REGION.county);
      // the settlement is checked before the amount
      await expect(ledger.connect(actors.countyFinance).recordClawback(key, 0n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerPayoutNotSettled")
        .withArgs(caseId, period, ZERO);
    });

    // A re-certification may change the amount once everything is settled; the cap stays what was paid
    // (the ledger keeps the amount of each epoch: contracts/cases/Cases.sol AmountEpoch).
    it("a re-certification that changes the amount moves neither way the cap of an earlier payout", async function () {
      const fx = await loadFixture(settledDibao);
      const { ledger, actors, programmes, caseId, period, key } = fx;
      const other = await approvedCase(fx, "dibao"); // other money paid out by the programme
      await ledger.executePayouts(programmes.dibao, period, [other.caseId]);
      const recertify = (householdSize: number) =>
        ledger
          .connect(actors.approver)
          .recertifyCase(caseId, assessment({ householdSize }), PROGRAMMES.dibao.ruleVersion, digest("annual"));
      const finance = ledger.connect(actors.countyFinance);

      await recertify(1); // 500 yuan a month from now on: the 1,500 paid was an overpayment
      await expect(finance.recordClawback(key, DIBAO_MONTHLY, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.dibao, ZERO, period, DIBAO_MONTHLY, REF);
      await recertify(5); // 2,500 yuan a month
      await expect(finance.recordClawback(key, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerClawbackExceedsPayout")
        .withArgs(caseId, period, ZERO, 0n);
    });
  });

  describe("conservation under any sequence of transfers (property)", function () {
    type Op =
      | { kind: "allocate"; level: number; amount: bigint }
      | { kind: "return"; level: number; amount: bigint }
      | { kind: "fund" | "defund"; programme: number; amount: bigint };
    const amount = fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: 1n, max: 1_000_000n }),
      fc.bigInt({ min: POOL_FUNDING / 2n, max: TOTAL }),
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("allocate" as const), level: fc.integer({ min: 0, max: 2 }), amount }),
      fc.record({ kind: fc.constant("return" as const), level: fc.integer({ min: 1, max: 3 }), amount }),
      fc.record({
        kind: fc.constantFrom("fund" as const, "defund" as const),
        programme: fc.integer({ min: 1, max: 5 }),
        amount,
      }),
    );

    it("keeps appropriated == Σ regions + Σ pools + paid out and each balance as booked", async function () {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
          const fx = await loadFixture(deployFunded);
          const { ledger } = fx;
          const books = fundedBooks(fx);
          for (const o of ops) {
            let from: bigint, to: bigint, source: Map<bigint, bigint>, sink: Map<bigint, bigint>;
            let srcKey: bigint, sinkKey: bigint, call: Promise<unknown>, event: string, args: unknown[];
            if (o.kind === "allocate" || o.kind === "return") {
              [from, to] =
                o.kind === "allocate" ? [CHAIN[o.level], CHAIN[o.level + 1]] : [CHAIN[o.level], CHAIN[o.level - 1]];
              [source, sink, srcKey, sinkKey] = [books.regions, books.regions, from, to];
              const signer = ledger.connect(bureau(fx, from));
              call =
                o.kind === "allocate"
                  ? signer.allocate(from, to, o.amount, REF)
                  : signer.returnFunds(from, to, o.amount, REF);
              [event, args] = [o.kind === "allocate" ? "FundsAllocated" : "FundsReturned", [from, to, o.amount, REF]];
            } else {
              const id = BigInt(o.programme);
              const signer = ledger.connect(fx.actors.countyFinance);
              if (o.kind === "fund") {
                [source, sink, srcKey, sinkKey] = [books.regions, books.pools, REGION.county, id];
                call = signer.fundProgramme(id, o.amount, REF);
                event = "ProgrammeFunded";
              } else {
                [source, sink, srcKey, sinkKey] = [books.pools, books.regions, id, REGION.county];
                call = signer.defundProgramme(id, o.amount, REF);
                event = "ProgrammeDefunded";
              }
              args = [id, REGION.county, o.amount, REF];
            }
            const available = source.get(srcKey) ?? 0n;
            if (o.amount === 0n) {
              await expect(call).to.be.revertedWithCustomError(ledger, "LedgerZeroAmount");
            } else if (o.amount > available) {
              await expect(call)
                .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
                .withArgs(available, o.amount);
            } else {
              await expect(call)
                .to.emit(ledger, event)
                .withArgs(...args);
              add(source, srcKey, -o.amount);
              add(sink, sinkKey, o.amount);
            }
            await expectBooks(ledger, books);
          }
        }),
        { numRuns: 12 },
      );
    });
  });
});
