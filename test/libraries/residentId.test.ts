import { expect } from "chai";
import fc from "fast-check";
import {
  ageOn,
  birthDateOf,
  isValidResidentId,
  normaliseResidentId,
  residentIdCheckChar,
  syntheticResidentId,
} from "../../lib/resident-id";

/** An independent MOD 11-2: weight 2^(17-i) mod 11, check value (12 - sum mod 11) mod 11, 10 written X. */
function referenceCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (2 ** (17 - i) % 11);
  const value = (12 - (sum % 11)) % 11;
  return value === 10 ? "X" : String(value);
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");
const TODAY = new Date("2024-06-15T12:00:00+08:00");

/** A real date from 1900-01-01 to 2024-06-15, as YYYYMMDD. */
const birthDate = fc
  .date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2024-06-15T00:00:00Z"), noInvalidDate: true })
  .map((d) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`);
const region = fc.integer({ min: 110_000, max: 829_999 }).map(String);
const sequence = fc.integer({ min: 0, max: 999 });
const validId = fc
  .record({ region, birthDate, sequence })
  .map((o) => syntheticResidentId(o))
  .filter((id) => isValidResidentId(id, TODAY));
const digits17 = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 17, maxLength: 17 }).map((d) => d.join(""));

describe("lib/resident-id (GB 11643-1999)", function () {
  describe("known numbers", function () {
    it("accepts the textbook example 11010519491231002X, and with a lowercase x", function () {
      expect(residentIdCheckChar("11010519491231002")).to.equal("X");
      expect(isValidResidentId("11010519491231002X")).to.equal(true);
      expect(isValidResidentId("11010519491231002x")).to.equal(true);
      expect(normaliseResidentId("11010519491231002x")).to.equal("11010519491231002X");
    });

    it("accepts numbers whose check characters were computed independently", function () {
      for (const id of ["310115199003072346", "510108200002295811", "650102202306301004", "110105190001011231"]) {
        expect(isValidResidentId(id), id).to.equal(true);
      }
    });

    it("rejects a number whose check character is right but whose birth date is before 1900", function () {
      expect(residentIdCheckChar("44052418800101001")).to.equal("4");
      expect(isValidResidentId("440524188001010014")).to.equal(false);
    });

    it("rejects wrong lengths, non-digits, an X anywhere but last, and non-strings", function () {
      for (const id of [
        "",
        "11010519491231002",
        "11010519491231002XX",
        "1101051949123100X2",
        "11010519491231002Y",
        " 11010519491231002X",
        "１１０１０５１９４９１２３１００２X",
      ]) {
        expect(isValidResidentId(id), JSON.stringify(id)).to.equal(false);
      }
      expect(isValidResidentId(11010519491231 as unknown as string)).to.equal(false);
      expect(isValidResidentId(undefined as unknown as string)).to.equal(false);
    });

    it("normalise leaves everything else unchanged", function () {
      expect(normaliseResidentId("110105194912310021")).to.equal("110105194912310021");
      expect(normaliseResidentId("x")).to.equal("x");
    });
  });

  describe("check character", function () {
    it("agrees with an independent MOD 11-2 for random first 17 digits", function () {
      fc.assert(
        fc.property(digits17, (first17) => {
          expect(residentIdCheckChar(first17)).to.equal(referenceCheckChar(first17));
        }),
        { numRuns: 2_000 },
      );
    });

    it("exactly one of the eleven check characters completes any valid first 17 digits", function () {
      fc.assert(
        fc.property(validId, (id) => {
          const accepted = [..."0123456789X"].filter((c) => isValidResidentId(id.slice(0, 17) + c, TODAY));
          expect(accepted).to.deep.equal([id[17]]);
        }),
      );
    });

    it("throws RangeError, without the value, unless given 17 digits", function () {
      for (const bad of ["1101051949123100", "110105194912310021", "1101051949123100a", ""]) {
        expect(() => residentIdCheckChar(bad)).to.throw(RangeError, /^residentIdCheckChar needs exactly 17 digits$/);
      }
    });
  });

  describe("single-character substitutions", function () {
    const replacement = fc.constantFrom(..."0123456789Xx Aa-_".split(""), "１", "〇");

    it("every single-character substitution of a valid number is rejected", function () {
      fc.assert(
        fc.property(validId, fc.integer({ min: 0, max: 17 }), replacement, (id, at, char) => {
          const changed = id.slice(0, at) + char + id.slice(at + 1);
          fc.pre(normaliseResidentId(changed) !== id);
          expect(isValidResidentId(changed, TODAY), `position ${at}`).to.equal(false);
        }),
        { numRuns: 3_000 },
      );
    });

    it("exhaustively, for the textbook example", function () {
      const id = "11010519491231002X";
      for (let at = 0; at < 18; at++) {
        for (const char of "0123456789X") {
          if (char === id[at]) continue;
          const changed = id.slice(0, at) + char + id.slice(at + 1);
          expect(isValidResidentId(changed), `position ${at} → ${char}`).to.equal(false);
        }
      }
    });
  });

  describe("birth date", function () {
    const withBirth = (ymd: string) => {
      const first17 = "110105" + ymd + "123";
      return first17 + residentIdCheckChar(first17);
    };

    it("accepts real dates, including 29 February of leap years and 1900-01-01", function () {
      for (const ymd of ["19000101", "20000229", "19960229", "19491231", "20240615"]) {
        expect(isValidResidentId(withBirth(ymd), TODAY), ymd).to.equal(true);
      }
    });

    it("rejects dates that do not exist", function () {
      for (const ymd of [
        "19000229",
        "19990229",
        "20230230",
        "20230431",
        "20231301",
        "20230001",
        "20230100",
        "19991232",
      ]) {
        expect(isValidResidentId(withBirth(ymd), TODAY), ymd).to.equal(false);
      }
    });

    it("rejects dates before 1900 and after today", function () {
      for (const ymd of ["18991231", "18800101", "20240616", "20250101", "99991231"]) {
        expect(isValidResidentId(withBirth(ymd), TODAY), ymd).to.equal(false);
      }
    });

    it("decides 'today' in China Standard Time", function () {
      const id = withBirth("20240616");
      // 2024-06-15T16:30Z is already 2024-06-16 00:30 in Beijing.
      expect(isValidResidentId(id, new Date("2024-06-15T15:59:59Z"))).to.equal(false);
      expect(isValidResidentId(id, new Date("2024-06-15T16:30:00Z"))).to.equal(true);
    });

    it("birthDateOf returns the encoded date and throws, without the value, on an invalid number", function () {
      expect(birthDateOf("11010519491231002X")).to.deep.equal({ year: 1949, month: 12, day: 31 });
      expect(() => birthDateOf("11010519491231002Y")).to.throw(RangeError, /^not a valid GB 11643 resident ID number$/);
    });

    it("ageOn counts whole years, turning a year older on the birthday", function () {
      const birth = { year: 2006, month: 6, day: 15 };
      expect(ageOn(birth, new Date("2024-06-14T12:00:00+08:00"))).to.equal(17);
      expect(ageOn(birth, new Date("2024-06-15T00:00:00+08:00"))).to.equal(18);
      expect(ageOn({ year: 2004, month: 2, day: 29 }, new Date("2022-02-28T12:00:00+08:00"))).to.equal(17);
      expect(ageOn({ year: 2004, month: 2, day: 29 }, new Date("2022-03-01T12:00:00+08:00"))).to.equal(18);
    });
  });

  describe("synthetic numbers", function () {
    it("are always valid and encode their region, birth date and sequence", function () {
      fc.assert(
        fc.property(region, birthDate, sequence, (r, b, s) => {
          const id = syntheticResidentId({ region: r, birthDate: b, sequence: s });
          expect(isValidResidentId(id)).to.equal(true);
          expect(id.slice(0, 6)).to.equal(r);
          expect(id.slice(6, 14)).to.equal(b);
          expect(Number(id.slice(14, 17))).to.equal(s);
          expect(normaliseResidentId(id)).to.equal(id);
        }),
        { numRuns: 1_000 },
      );
    });

    it("refuse out-of-range options with RangeError", function () {
      const ok = { region: "110105", birthDate: "19900101", sequence: 1 };
      expect(() => syntheticResidentId({ ...ok, region: "11010" })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, region: "1101051" })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, birthDate: "19900230" })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, birthDate: "18991231" })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, birthDate: "99991231" })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, sequence: -1 })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, sequence: 1000 })).to.throw(RangeError);
      expect(() => syntheticResidentId({ ...ok, sequence: 1.5 })).to.throw(RangeError);
    });
  });
});
