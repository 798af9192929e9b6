import { expect } from "chai";
import { isHexString } from "ethers";
import {
  CryptoError,
  Sm2PublicKey,
  generateDataKey,
  generateSm2KeyPair,
  keyDigest,
  openData,
  sealData,
  sm3,
  unwrapDataKey,
  unwrapWithKek,
  wrapDataKey,
  wrapWithKek,
} from "../../../gateway/src/crypto";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CryptoError);
    return (error as CryptoError).code;
  }
  expect.fail("expected a CryptoError, got a result");
}

const caseworker = generateSm2KeyPair();
const approver = generateSm2KeyPair();
const finance = generateSm2KeyPair();

describe("crypto/keys", function () {
  it("wrapDataKey / unwrapDataKey: the holder gets the data key back; another holder gets AUTHENTICATION_FAILED", function () {
    const dataKey = generateDataKey();
    const wrapped = wrapDataKey(dataKey, caseworker.publicKey);
    expect(unwrapDataKey(wrapped, caseworker.privateKey)).to.deep.equal(dataKey);
    expect(codeOf(() => unwrapDataKey(wrapped, finance.privateKey))).to.equal("AUTHENTICATION_FAILED");
  });

  it("wrapDataKey: keys shorter than 16 or longer than 64 bytes are refused; unwrap checks the expected size", function () {
    expect(codeOf(() => wrapDataKey(Buffer.alloc(8, 1), caseworker.publicKey))).to.equal("INVALID_KEY");
    expect(codeOf(() => wrapDataKey(Buffer.alloc(65, 1), caseworker.publicKey))).to.equal("INVALID_KEY");
    const wrapped = wrapDataKey(Buffer.alloc(32, 1), caseworker.publicKey);
    expect(codeOf(() => unwrapDataKey(wrapped, caseworker.privateKey))).to.equal("INVALID_KEY");
    expect(unwrapDataKey(wrapped, caseworker.privateKey, 32)).to.deep.equal(Buffer.alloc(32, 1));
  });

  it("wrapWithKek / unwrapWithKek: the same KEK and context give the key back; another context or KEK is refused", function () {
    const kek = generateDataKey();
    const dataKey = generateDataKey();
    const wrapped = wrapWithKek(kek, dataKey, "case-7/household");
    expect(unwrapWithKek(kek, wrapped, "case-7/household")).to.deep.equal(dataKey);
    expect(codeOf(() => unwrapWithKek(kek, wrapped, "case-8/household"))).to.equal("AUTHENTICATION_FAILED");
    expect(codeOf(() => unwrapWithKek(generateDataKey(), wrapped, "case-7/household"))).to.equal(
      "AUTHENTICATION_FAILED",
    );
  });

  it("wrapWithKek: a wrapped key is not a data envelope for the same AAD (domain separation)", function () {
    const kek = generateDataKey();
    const wrapped = wrapWithKek(kek, generateDataKey(), "case-7");
    expect(codeOf(() => openData(kek, wrapped, "case-7"))).to.equal("AUTHENTICATION_FAILED");
  });

  it("keyDigest: SM3 of the SPKI DER as a bytes32 hex string, the same from PEM (any line ends) or key object", function () {
    const { publicKey } = caseworker;
    const digest = keyDigest(publicKey);
    expect(isHexString(digest, 32)).to.equal(true);
    expect(digest).to.equal("0x" + sm3(publicKey.toSpkiDer()).toString("hex"));
    expect(keyDigest(publicKey.toPem())).to.equal(digest);
    expect(keyDigest(publicKey.toPem().replace(/\n/g, "\r\n"))).to.equal(digest);
    expect(keyDigest(Sm2PublicKey.fromHex(publicKey.hex))).to.equal(digest);
    expect(keyDigest(approver.publicKey)).to.not.equal(digest);
  });

  it("hierarchy: a record's data key wrapped for two holders opens for both, not for a third, and survives a holder key rotation", function () {
    // Arrange: a household record sealed under a fresh data key, wrapped for the caseworker and the approver through
    // their KEKs, each KEK SM2-wrapped to its holder.
    const record = { id: "case-0001", household: "张三, 3 persons, 1,200 CNY/month" };
    const dataKey = generateDataKey();
    const envelope = sealData(dataKey, record.household, record.id);
    const holders = [caseworker, approver].map((holder) => {
      const kek = generateDataKey();
      return {
        holder,
        wrappedKek: wrapDataKey(kek, holder.publicKey),
        wrappedDataKey: wrapWithKek(kek, dataKey, `${record.id}/household`),
      };
    });

    // Act + Assert: each holder unwraps its KEK with its SM2 key, then the data key, then the record.
    for (const { holder, wrappedKek, wrappedDataKey } of holders) {
      const kek = unwrapDataKey(wrappedKek, holder.privateKey);
      const key = unwrapWithKek(kek, wrappedDataKey, `${record.id}/household`);
      expect(openData(key, envelope, record.id).toString("utf8")).to.equal(record.household);
    }
    expect(codeOf(() => unwrapDataKey(holders[0].wrappedKek, finance.privateKey))).to.equal("AUTHENTICATION_FAILED");

    // Rotation: the caseworker's new SM2 key re-wraps the same KEK; the record and the wrapped data key are untouched.
    const rotated = generateSm2KeyPair();
    const kek = unwrapDataKey(holders[0].wrappedKek, caseworker.privateKey);
    const rewrapped = wrapDataKey(kek, rotated.publicKey);
    const key = unwrapWithKek(
      unwrapDataKey(rewrapped, rotated.privateKey),
      holders[0].wrappedDataKey,
      "case-0001/household",
    );
    expect(openData(key, envelope, record.id).toString("utf8")).to.equal(record.household);
  });
});
