import { expect } from "chai";
import fc from "fast-check";
import { parseYuan, yuan } from "../../lib/money";

describe("lib/money: fen shown as yuan and parsed back", function () {
  it("shows fen as yuan with thousands separators and two decimals", function () {
    expect(yuan("123456")).to.equal("¥1,234.56");
    expect(yuan(5n)).to.equal("¥0.05");
    expect(yuan(-100000n)).to.equal("−¥1,000.00");
    expect(yuan("not fen")).to.equal("not fen");
  });

  // parseYuan takes up to 13 digits of whole yuan: below 10^15 fen (within Number.MAX_SAFE_INTEGER).
  it("for all positive fen amounts parseYuan takes, parsing what is shown gives the amount back exactly", function () {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 15 - 1 }), (fen) => {
        const shown = yuan(BigInt(fen));
        expect(yuan(String(fen))).to.equal(shown);
        expect(parseYuan(shown.replace("¥", ""))).to.equal(fen);
      }),
    );
  });

  it("parses at most two decimals, positive amounts only", function () {
    expect(parseYuan("1,234.5")).to.equal(123450);
    expect(parseYuan(" 12 ")).to.equal(1200);
    for (const bad of ["0", "0.00", "1.234", "-1", "1e3", "", "¥1", "99999999999999"]) {
      expect(parseYuan(bad), bad).to.equal(null);
    }
  });
});
