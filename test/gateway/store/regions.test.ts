import { expect } from "chai";
import fc from "fast-check";
import { containingCodes, subtreeRanges } from "../../../gateway/src/store/tables/regions";
import { contains } from "../../../lib/regions";

const RUNS = Number(process.env.REGION_PROPERTY_RUNS ?? 1_000);

/** Whether the SQL ranges of `outer` (subtreeRanges) hold `inner`. */
function inRanges(outer: number, inner: number): boolean {
  const ranges = subtreeRanges(outer);
  return ranges === undefined || ranges.some(([low, high]) => low <= inner && inner <= high);
}

const containsNumbers = (outer: number, inner: number) => contains(BigInt(outer), BigInt(inner));

/** Division codes as they occur: six-digit (province, city, county) and twelve-digit (down to villages). */
const structured = fc
  .record({
    province: fc.integer({ min: 11, max: 82 }),
    city: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 99 })),
    county: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 99 })),
    township: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999 })),
    village: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999 })),
    twelve: fc.boolean(),
  })
  .map(({ province, city, county, township, village, twelve }) => {
    const six = province * 10_000 + city * 100 + county;
    return twelve ? six * 1_000_000 + township * 1_000 + village : six;
  });

/** Any code the store accepts (a non-negative safe integer), weighted towards real-looking ones. */
const code = fc.oneof(
  { weight: 6, arbitrary: structured },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 999_999 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9_999_999_999_999 }) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);

/** `inner` and a code made from it by zeroing its trailing digits (an ancestor, or a near miss). */
const related = fc
  .tuple(code, fc.integer({ min: 0, max: 12 }), fc.boolean(), fc.integer({ min: -2, max: 2 }))
  .map(([inner, zeros, narrow, nudge]) => {
    const wide = inner < 1_000_000 ? inner * 1_000_000 : inner;
    const unit = 10 ** zeros;
    let outer = Math.floor(wide / unit) * unit + (nudge === 0 ? 0 : nudge * unit);
    if (outer < 0) outer = 0;
    if (narrow && outer % 1_000_000 === 0 && outer < 1e12) outer /= 1_000_000;
    return [Math.min(outer, Number.MAX_SAFE_INTEGER), inner] as const;
  });

const pairs = fc.oneof(fc.tuple(code, code), related);

describe("store/tables/regions", function () {
  it("subtreeRanges: examples of the division hierarchy", function () {
    expect(subtreeRanges(0)).to.equal(undefined);
    expect(subtreeRanges(110000)).to.deep.equal([
      [110000000000, 119999999999],
      [110000, 119999],
    ]);
    expect(subtreeRanges(110100)).to.deep.equal([
      [110100000000, 110199999999],
      [110100, 110199],
    ]);
    expect(subtreeRanges(110105)).to.deep.equal([
      [110105000000, 110105999999],
      [110105, 110105],
    ]);
    expect(subtreeRanges(110105001000)).to.deep.equal([[110105001000, 110105001999]]);
    expect(subtreeRanges(110105001001)).to.deep.equal([[110105001001, 110105001001]]);
  });

  it("containingCodes: examples of the division hierarchy", function () {
    expect(containingCodes(0)).to.deep.equal([0]);
    expect(containingCodes(110105001001).sort((a, b) => a - b)).to.deep.equal(
      [0, 110000, 110100, 110105, 110105001000, 110105001001, 110000000000, 110100000000, 110105000000].sort(
        (a, b) => a - b,
      ),
    );
    expect(containingCodes(110105).sort((a, b) => a - b)).to.deep.equal(
      [0, 110000, 110100, 110105, 110000000000, 110100000000, 110105000000].sort((a, b) => a - b),
    );
    expect(containingCodes(110000).sort((a, b) => a - b)).to.deep.equal([0, 110000, 110000000000]);
  });

  it("subtreeRanges: fast-check: a code is in the ranges of `outer` exactly when contains(outer, code)", function () {
    fc.assert(
      fc.property(pairs, ([outer, inner]) => {
        expect(inRanges(outer, inner), `${outer} ⊇ ${inner}`).to.equal(containsNumbers(outer, inner));
      }),
      { numRuns: RUNS },
    );
  });

  it("containingCodes: fast-check: `outer` is listed for a code exactly when contains(outer, code)", function () {
    fc.assert(
      fc.property(pairs, ([outer, inner]) => {
        expect(containingCodes(inner).includes(outer), `${outer} ⊇ ${inner}`).to.equal(containsNumbers(outer, inner));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(code, (inner) => {
        for (const outer of containingCodes(inner)) expect(containsNumbers(outer, inner)).to.equal(true);
      }),
      { numRuns: RUNS },
    );
  });
});
