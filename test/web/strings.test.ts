/**
 * The beneficiary page's dictionaries: the same keys in Chinese and English, every key the page uses present, and a
 * word for every payment status, dispute outcome and sign-in error the API can answer with.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";
import { DISPUTE_OUTCOME_NAMES } from "../../gateway/src/beneficiary/payments";
import { KIND_NAMES } from "../../gateway/src/programmes/routes";
import { WEB_DIR } from "../../gateway/src/web/assets";

type Dictionary = Record<string, string>;

/** The ES module gateway/web/src/beneficiary-strings.js, loaded through esbuild as CommonJS. */
function loadStrings(): { zh: Dictionary; en: Dictionary } {
  const [out] = buildSync({
    entryPoints: [path.join(WEB_DIR, "src", "beneficiary-strings.js")],
    format: "cjs",
    write: false,
  }).outputFiles;
  const module = { exports: {} as { STRINGS: { zh: Dictionary; en: Dictionary } } };
  new Function("module", "exports", out.text)(module, module.exports);
  return module.exports.STRINGS;
}

describe("web: the beneficiary page's dictionaries", function () {
  const strings = loadStrings();
  const source = ["beneficiary.js", "beneficiary-vouchers.js"]
    .map((file) => fs.readFileSync(path.join(WEB_DIR, "src", file), "utf8"))
    .join("\n");
  const html = fs.readFileSync(path.join(WEB_DIR, "beneficiary.html"), "utf8");

  it("Chinese and English have the same keys, none empty", function () {
    expect(Object.keys(strings.en).sort()).to.deep.equal(Object.keys(strings.zh).sort());
    for (const dict of [strings.zh, strings.en]) {
      for (const [key, text] of Object.entries(dict)) expect(text.trim(), key).to.not.equal("");
    }
  });

  it("every key the page's script and HTML name is in the dictionary", function () {
    const used = [
      ...[...source.matchAll(/\b(?:t|say)\("([^"]+)"/g)].map((m) => m[1]),
      ...[...html.matchAll(/data-t="([^"]+)"/g)].map((m) => m[1]),
    ];
    expect(used.length).to.be.greaterThan(30);
    for (const key of used) expect(strings.zh, key).to.have.property(key);
  });

  it("has words for every programme kind, payment status, voucher status and kind, dispute outcome and sign-in error", function () {
    for (const status of ["pending", "paid", "settled", "confirmed", "disputed", "failed"]) {
      expect(strings.zh).to.have.property(`status.${status}`);
    }
    for (const kind of KIND_NAMES) expect(strings.zh).to.have.property(`kind.${kind}`);
    for (const outcome of Object.values(DISPUTE_OUTCOME_NAMES)) {
      if (outcome !== null) expect(strings.zh).to.have.property(`dispute.outcome.${outcome}`);
    }
    for (const status of ["active", "exhausted", "expired"])
      expect(strings.zh).to.have.property(`voucherStatus.${status}`);
    for (const kind of ["education", "medical", "care-service"])
      expect(strings.zh).to.have.property(`voucherKind.${kind}`);
    for (const code of ["CODE_INVALID", "LOCKED", "RATE_LIMITED", "VALIDATION_FAILED", "UNAUTHENTICATED"]) {
      expect(strings.zh).to.have.property(`error.${code}`);
    }
  });
});
