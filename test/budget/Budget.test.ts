import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Role } from "../../lib/roles";
import {
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  approvedCase,
  currentPeriod,
  deployFunded,
  digest,
  newCase,
  type Funded,
} from "../helpers/fixture";
import type { ReliefLedger } from "../../typechain-types";

const FINANCE_BIT = 1 << Role.Finance;
const REF = digest("transfer-doc");
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
    async function paidDibao() {
      const fx = await loadFixture(deployFunded);
      const c = await approvedCase(fx, "dibao");
      const period = await currentPeriod(fx.ledger);
      await fx.ledger.executePayouts(fx.programmes.dibao, period, [c.caseId]);
      return { ...fx, ...c, period };
    }

    it("a payout moves money from the pool to paid out; a clawback moves it back with ClawbackRecorded", async function () {
      const fx = await loadFixture(paidDibao);
      const books = fundedBooks(fx);
      const { ledger, actors, programmes, caseId } = fx;
      add(books.pools, programmes.dibao, -DIBAO_MONTHLY);
      add(books.paid, programmes.dibao, DIBAO_MONTHLY);
      await expectBooks(ledger, books);

      await expect(ledger.connect(actors.countyFinance).recordClawback(caseId, 50_000n, REF))
        .to.emit(ledger, "ClawbackRecorded")
        .withArgs(caseId, programmes.dibao, 50_000n, REF);
      add(books.pools, programmes.dibao, 50_000n);
      add(books.paid, programmes.dibao, -50_000n);
      await expectBooks(ledger, books);

      await ledger.connect(actors.countyFinance).recordClawback(caseId, 100_000n, REF);
      add(books.pools, programmes.dibao, 100_000n);
      add(books.paid, programmes.dibao, -100_000n);
      await expectBooks(ledger, books);
    });

    it("a payout the bank could not make goes back to the pool and the books stay balanced", async function () {
      const fx = await loadFixture(paidDibao);
      const books = fundedBooks(fx);
      const { ledger, actors, caseId, period } = fx;
      await ledger
        .connect(actors.paymentAgent)
        .reportFailure({ caseId, period, eventId: ethers.ZeroHash }, digest("account closed"));
      await expectBooks(ledger, books);
    });

    it("reverts with LedgerInsufficientFunds(paid, requested) beyond what the programme paid out", async function () {
      const { ledger, actors, caseId } = await loadFixture(paidDibao);
      await expect(ledger.connect(actors.countyFinance).recordClawback(caseId, DIBAO_MONTHLY + 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(DIBAO_MONTHLY, DIBAO_MONTHLY + 1n);
    });

    // BUG: recordClawback (contracts/budget/Budget.sol) checks the amount only against the programme's total
    // paid out, not against what this case was paid and the bank settled. So (1) a clawback can be booked on a
    // case that was never paid, and (2) clawing back a payout that is still unsettled and then receiving the
    // bank's failure report for it makes reportFailure (contracts/payouts/Settlement.sol) underflow
    // `_programmePaid` and revert with panic 0x11: the failure can never be recorded. A fix needs per-case
    // paid/settled totals kept by the payout modules.
    it.skip("a clawback is limited to what the case was paid and settled; a later failure report still works", async function () {
      const fx = await loadFixture(paidDibao);
      const { ledger, actors, caseId, period } = fx;
      const neverPaid = await approvedCase(fx, "dibao");
      await expect(ledger.connect(actors.countyFinance).recordClawback(neverPaid.caseId, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerInsufficientFunds")
        .withArgs(0n, 1n);
      await ledger
        .connect(actors.countyFinance)
        .recordClawback(caseId, DIBAO_MONTHLY, REF)
        .catch(() => undefined);
      await expect(
        ledger
          .connect(actors.paymentAgent)
          .reportFailure({ caseId, period, eventId: ethers.ZeroHash }, digest("closed")),
      ).to.emit(ledger, "PayoutFailed");
    });

    it("reverts with LedgerZeroAmount, LedgerUnknownCase, and LedgerUnauthorizedRegion for other bureaus", async function () {
      const { ledger, registry, actors, caseId } = await loadFixture(paidDibao);
      await expect(ledger.connect(actors.countyFinance).recordClawback(caseId, 0n, REF)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroAmount",
      );
      const unknown = newCase("never").caseId;
      await expect(ledger.connect(actors.countyFinance).recordClawback(unknown, 1n, REF))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownCase")
        .withArgs(unknown);
      for (const who of [actors.centralFinance, actors.cityFinance]) {
        await expect(ledger.connect(who).recordClawback(caseId, 1n, REF))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.county);
      }
      await expect(ledger.connect(actors.approver).recordClawback(caseId, 1n, REF))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.approver.address, FINANCE_BIT);
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
