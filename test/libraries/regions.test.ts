import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { RegionsHarness } from "../../typechain-types";
import { Level, contains, isChild, isValidRegion, levelOf } from "../../lib/regions";
import { REGION } from "../helpers/fixture";

async function deployHarness() {
  return (await (await ethers.getContractFactory("RegionsHarness")).deploy()) as unknown as RegionsHarness;
}

const UINT64_MAX = 2n ** 64n - 1n;
const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** A well-formed region of any level (central, province, city, county, township or village) and that level. */
const validRegionAndLevel = fc
  .record({
    level: fc.integer({ min: 0, max: 5 }),
    province: fc.integer({ min: 11, max: 82 }),
    city: fc.integer({ min: 1, max: 99 }),
    county: fc.integer({ min: 1, max: 99 }),
    township: fc.integer({ min: 1, max: 999 }),
    village: fc.integer({ min: 1, max: 999 }),
  })
  .map(({ level, province, city, county, township, village }) => {
    if (level === 0) return [0n, level] as const;
    const digits = [
      pad(province, 2),
      pad(level >= 2 ? city : 0, 2),
      pad(level >= 3 ? county : 0, 2),
      level >= 4 ? pad(township, 3) + pad(level >= 5 ? village : 0, 3) : "",
    ].join("");
    return [BigInt(digits), level] as const;
  });
const validRegion = validRegionAndLevel.map(([code]) => code);

/** Six-digit and twelve-digit numbers of any shape, mostly malformed, and the full uint64 range. */
const anyCode = fc.oneof(
  fc.bigInt({ min: 0n, max: 999_999n }),
  fc.bigInt({ min: 100_000_000_000n, max: 999_999_999_999n }),
  // twelve digits whose six-digit prefix is well formed but whose suffix is anything
  fc
    .tuple(
      validRegion.filter((r) => r !== 0n && r < 1_000_000n),
      fc.bigInt({ min: 0n, max: 999_999n }),
    )
    .map(([six, rest]) => six * 1_000_000n + rest),
  fc.bigInt({ min: 1_000_000n, max: 99_999_999_999n }),
  fc.bigInt({ min: 0n, max: UINT64_MAX }),
);

/** A code and a code derived from it (an ancestor, a descendant or a sibling), so relations hold often. */
const relatedPair = fc
  .tuple(validRegion, fc.integer({ min: 0, max: 5 }), fc.boolean(), validRegion)
  .map(([code, cut, swap, other]) => {
    const wide = code < 1_000_000n ? code * 1_000_000n : code;
    const units = [0n, 10_000_000_000n, 100_000_000n, 1_000_000n, 1_000n, 1n];
    let ancestor = cut === 0 ? 0n : (wide / units[cut]) * units[cut];
    if (ancestor % 1_000_000n === 0n) ancestor /= 1_000_000n; // six-digit form above the township
    const pick = swap ? [other, code] : [ancestor, code];
    return pick as [bigint, bigint];
  });

describe("Regions (Solidity) agrees with lib/regions.ts", function () {
  it("isValid and level agree for every generated code, valid or not", async function () {
    const h = await loadFixture(deployHarness);
    await fc.assert(
      fc.asyncProperty(fc.oneof(validRegion, anyCode), async (code) => {
        const valid = isValidRegion(code);
        expect(await h.isValid(code), `isValid(${code})`).to.equal(valid);
        if (valid) expect(Number(await h.level(code)), `level(${code})`).to.equal(levelOf(code));
      }),
      { numRuns: 400 },
    );
  });

  it("every generated well-formed region is valid and has the level it was built with", async function () {
    const h = await loadFixture(deployHarness);
    await fc.assert(
      fc.asyncProperty(validRegionAndLevel, async ([code, level]) => {
        expect(isValidRegion(code)).to.equal(true);
        expect(await h.isValid(code)).to.equal(true);
        expect(levelOf(code)).to.equal(level);
        expect(Number(await h.level(code))).to.equal(level);
      }),
      { numRuns: 100 },
    );
  });

  it("contains and isChild agree for related and unrelated pairs of valid codes", async function () {
    const h = await loadFixture(deployHarness);
    await fc.assert(
      fc.asyncProperty(relatedPair, async ([outer, inner]) => {
        expect(await h.contains(outer, inner), `contains(${outer}, ${inner})`).to.equal(contains(outer, inner));
        expect(await h.isChild(outer, inner), `isChild(${outer}, ${inner})`).to.equal(isChild(outer, inner));
      }),
      { numRuns: 400 },
    );
  });

  it("an ancestor contains its descendant, and isChild holds exactly one level down", async function () {
    await fc.assert(
      fc.property(relatedPair, ([outer, inner]) => {
        if (contains(outer, inner) && outer !== inner) expect(levelOf(outer)).to.be.lessThan(levelOf(inner));
        expect(isChild(outer, inner)).to.equal(contains(outer, inner) && levelOf(inner) === levelOf(outer) + 1);
      }),
      { numRuns: 1000 },
    );
  });

  describe("known answers", function () {
    const cases: Array<[string, bigint, boolean, Level | null]> = [
      ["central", 0n, true, Level.Central],
      ["Beijing", 110000n, true, Level.Province],
      ["Beijing's districts", 110100n, true, Level.City],
      ["Chaoyang", 110105n, true, Level.County],
      ["a Chaoyang street office", 110105001000n, true, Level.Township],
      ["a community in it", 110105001001n, true, Level.Village],
      ["Macau (82)", 820000n, true, Level.Province],
      ["a town of Dongguan (a city without counties)", 441900003000n, true, Level.Township],
      ["province 10 (none)", 100000n, false, null],
      ["province 83 (none)", 830000n, false, null],
      ["county digits without a city", 110005n, false, null],
      ["twelve digits with township 000", 110105000000n, false, null],
      ["thirteen digits", 1_101_050_010_000n, false, null],
      ["seven digits", 1_101_050n, false, null],
    ];
    for (const [label, code, valid, level] of cases) {
      it(`${label} (${code}) is ${valid ? `valid at level ${Level[level!]}` : "invalid"} on chain and in TS`, async function () {
        const h = await loadFixture(deployHarness);
        expect(await h.isValid(code)).to.equal(valid);
        expect(isValidRegion(code)).to.equal(valid);
        if (level !== null) {
          expect(Number(await h.level(code))).to.equal(level);
          expect(levelOf(code)).to.equal(level);
        }
      });
    }

    it("110105001000 lies inside 110105, 110100, 110000 and central, not inside 110106", async function () {
      const h = await loadFixture(deployHarness);
      for (const outer of [REGION.township, REGION.county, REGION.city, REGION.province, REGION.central]) {
        expect(await h.contains(outer, REGION.township), `inside ${outer}`).to.equal(true);
      }
      for (const outer of [REGION.otherCounty, REGION.otherTownship, 110105002000n, 110105001001n, 120000n]) {
        expect(await h.contains(outer, REGION.township), `not inside ${outer}`).to.equal(false);
      }
      expect(await h.contains(REGION.township, REGION.central)).to.equal(false);
    });

    it("isChild holds only from each level to the next along the same branch", async function () {
      const h = await loadFixture(deployHarness);
      const chain = [REGION.central, REGION.province, REGION.city, REGION.county, REGION.township, 110105001001n];
      for (let i = 0; i < chain.length; i++) {
        for (let j = 0; j < chain.length; j++) {
          expect(await h.isChild(chain[i], chain[j]), `isChild(${chain[i]}, ${chain[j]})`).to.equal(j === i + 1);
        }
      }
      expect(await h.isChild(REGION.city, REGION.otherCounty)).to.equal(true);
      expect(await h.isChild(REGION.county, REGION.otherTownship)).to.equal(false);
    });
  });
});
