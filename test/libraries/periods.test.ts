import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { PeriodsHarness } from "../../typechain-types";
import { formatPeriod, parsePeriod, periodAt, periodStart } from "../../lib/periods";

async function deployHarness() {
  return (await (await ethers.getContractFactory("PeriodsHarness")).deploy()) as unknown as PeriodsHarness;
}

const Y2000 = Date.UTC(2000, 0, 1) / 1000;
const Y2100 = Date.UTC(2100, 0, 1) / 1000;
const timestamp = fc.integer({ min: Y2000, max: Y2100 });
const period = fc.integer({ min: parsePeriod("2000-01"), max: parsePeriod("2099-12") });

describe("Periods (Solidity) agrees with lib/periods.ts", function () {
  it("at() gives the period periodAt() gives for every timestamp 2000–2100", async function () {
    const h = await loadFixture(deployHarness);
    await fc.assert(
      fc.asyncProperty(timestamp, async (ts) => {
        expect(Number(await h.at(ts)), `at(${ts})`).to.equal(periodAt(ts));
      }),
      { numRuns: 400 },
    );
  });

  it("a period starts at midnight CST on its first day: the second before belongs to the previous period", async function () {
    const h = await loadFixture(deployHarness);
    await fc.assert(
      fc.asyncProperty(period, async (p) => {
        const start = periodStart(p);
        expect(Number(await h.at(start))).to.equal(p);
        expect(Number(await h.at(start - 1))).to.equal(p - 1);
        expect(periodAt(start)).to.equal(p);
        expect(periodAt(start - 1)).to.equal(p - 1);
      }),
      { numRuns: 200 },
    );
  });

  it("add() moves a period forward by whole months, across year ends", async function () {
    const h = await loadFixture(deployHarness);
    await fc.assert(
      fc.asyncProperty(period, fc.integer({ min: 0, max: 240 }), async (p, months) => {
        const next = Number(await h.add(p, months));
        expect(next).to.equal(p + months);
        expect(periodAt(periodStart(p + months))).to.equal(next);
      }),
      { numRuns: 100 },
    );
  });

  it("formatPeriod and parsePeriod round-trip", function () {
    fc.assert(
      fc.property(period, (p) => {
        expect(parsePeriod(formatPeriod(p))).to.equal(p);
      }),
    );
  });

  describe("known answers", function () {
    const cases: Array<[string, string, string]> = [
      ["2026-11-30T16:00:00Z is midnight on 1 December in CST", "2026-11-30T16:00:00Z", "2026-12"],
      ["2026-11-30T15:59:59Z is still November in CST", "2026-11-30T15:59:59Z", "2026-11"],
      ["2000-01-01T00:00:00Z is January 2000", "2000-01-01T00:00:00Z", "2000-01"],
      ["1999-12-31T16:00:00Z is already January 2000 in CST", "1999-12-31T16:00:00Z", "2000-01"],
      ["29 February 2024 (leap day) is February", "2024-02-29T12:00:00Z", "2024-02"],
      ["2024-02-29T16:00:00Z is 1 March in CST", "2024-02-29T16:00:00Z", "2024-03"],
      ["2100-02-28T16:00:00Z is 1 March (2100 is no leap year)", "2100-02-28T16:00:00Z", "2100-03"],
      ["the Unix epoch is January 1970", "1970-01-01T00:00:00Z", "1970-01"],
    ];
    for (const [label, iso, month] of cases) {
      it(`${label}: period ${parsePeriod(month)}`, async function () {
        const h = await loadFixture(deployHarness);
        const ts = Date.parse(iso) / 1000;
        expect(Number(await h.at(ts))).to.equal(parsePeriod(month));
        expect(periodAt(ts)).to.equal(parsePeriod(month));
      });
    }

    it("November 2026 is period 24,322 and December 2026 is 24,323", function () {
      expect(parsePeriod("2026-11")).to.equal(24_322);
      expect(parsePeriod("2026-12")).to.equal(24_323);
      expect(formatPeriod(24_323)).to.equal("2026-12");
    });
  });
});
