import { expect } from "chai";
import fc from "fast-check";
import { sm4 as sm4v1 } from "sm-crypto";
import {
  CryptoError,
  DATA_KEY_BYTES,
  DEFAULT_ENVELOPE_ALGORITHM,
  type EnvelopeAlgorithm,
  generateDataKey,
  openData,
  parseEnvelope,
  sealData,
} from "../../../gateway/src/crypto";
import { sm4CbcDecrypt, sm4CbcEncrypt, sm4GcmDecrypt } from "../../../gateway/src/crypto/sm4";

const ALGORITHMS: EnvelopeAlgorithm[] = ["SM4-CBC-HMAC-SM3", "SM4-GCM"];
const RUNS = Number(process.env.PROPERTY_RUNS ?? 100);

const plaintexts = fc.uint8Array({ maxLength: 600 });
const aads = fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }));
const algorithms = fc.constantFrom(...ALGORITHMS);

/** The code of the CryptoError that `fn` throws; fails the test if it returns or throws anything else. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CryptoError);
    return (error as CryptoError).code;
  }
  expect.fail("expected a CryptoError, got a result");
}

describe("crypto/sm4 envelopes", function () {
  it("sealData / openData: for all plaintexts, AADs and both algorithms, open(seal(x)) = x", function () {
    fc.assert(
      fc.property(plaintexts, aads, algorithms, (plaintext, aad, algorithm) => {
        const key = generateDataKey();
        const envelope = sealData(key, plaintext, aad, { algorithm });
        expect(openData(key, envelope, aad)).to.deep.equal(Buffer.from(plaintext));
      }),
      { numRuns: RUNS },
    );
  });

  it("sealData: the default algorithm is SM4-CBC-HMAC-SM3 and the envelope says so (version 1, algorithm byte 1)", function () {
    expect(DEFAULT_ENVELOPE_ALGORITHM).to.equal("SM4-CBC-HMAC-SM3");
    const envelope = sealData(generateDataKey(), "x".repeat(20), "case-1");
    expect([...envelope.subarray(0, 2)]).to.deep.equal([1, 1]);
    const parts = parseEnvelope(envelope);
    expect(parts).to.include({ version: 1, algorithm: "SM4-CBC-HMAC-SM3" });
    expect([parts.iv.length, parts.ciphertext.length, parts.tag.length]).to.deep.equal([16, 32, 32]);
  });

  it("sealData SM4-GCM: 12-byte IV, ciphertext as long as the plaintext, 16-byte tag", function () {
    const parts = parseEnvelope(sealData(generateDataKey(), "x".repeat(20), "case-1", { algorithm: "SM4-GCM" }));
    expect(parts).to.include({ version: 1, algorithm: "SM4-GCM" });
    expect([parts.iv.length, parts.ciphertext.length, parts.tag.length]).to.deep.equal([12, 20, 16]);
  });

  it("sealData: the same plaintext, key and AAD sealed twice gives different IVs and ciphertexts", function () {
    for (const algorithm of ALGORITHMS) {
      const key = generateDataKey();
      const a = parseEnvelope(sealData(key, "same", "case-1", { algorithm }));
      const b = parseEnvelope(sealData(key, "same", "case-1", { algorithm }));
      expect(a.iv.equals(b.iv)).to.equal(false);
      expect(a.ciphertext.equals(b.ciphertext)).to.equal(false);
    }
  });

  it("sealData: equal plaintext blocks give unequal ciphertext blocks (no ECB)", function () {
    const parts = parseEnvelope(sealData(generateDataKey(), Buffer.alloc(16 * 8, 0x41), "case-1"));
    const blocks = new Set<string>();
    for (let i = 0; i < parts.ciphertext.length; i += 16)
      blocks.add(parts.ciphertext.subarray(i, i + 16).toString("hex"));
    expect(blocks.size).to.equal(parts.ciphertext.length / 16);
  });

  it("openData: for all envelopes, flipping any bit of any byte (header, IV, ciphertext, tag) is detected", function () {
    fc.assert(
      fc.property(
        plaintexts,
        aads,
        algorithms,
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (pt, aad, algorithm, at, bit) => {
          const key = generateDataKey();
          const envelope = sealData(key, pt, aad, { algorithm });
          const index = at % envelope.length;
          envelope[index] ^= 1 << bit;
          const code = codeOf(() => openData(key, envelope, aad));
          if (index >= 2) expect(code).to.equal("AUTHENTICATION_FAILED");
          else expect(code).to.be.oneOf(["UNSUPPORTED", "MALFORMED", "AUTHENTICATION_FAILED"]);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("openData: for all envelopes, any other AAD is refused with AUTHENTICATION_FAILED", function () {
    fc.assert(
      fc.property(
        plaintexts,
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        algorithms,
        (pt, a, b, algorithm) => {
          fc.pre(a !== b);
          const key = generateDataKey();
          expect(codeOf(() => openData(key, sealData(key, pt, a, { algorithm }), b))).to.equal("AUTHENTICATION_FAILED");
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("openData: another data key is refused with AUTHENTICATION_FAILED", function () {
    for (const algorithm of ALGORITHMS) {
      const envelope = sealData(generateDataKey(), "household data", "case-1", { algorithm });
      expect(codeOf(() => openData(generateDataKey(), envelope, "case-1"))).to.equal("AUTHENTICATION_FAILED");
    }
  });

  it("openData: for all envelopes, truncating or extending is refused (MALFORMED or AUTHENTICATION_FAILED)", function () {
    fc.assert(
      fc.property(plaintexts, algorithms, fc.integer({ min: -80, max: 40 }), (pt, algorithm, delta) => {
        fc.pre(delta !== 0);
        const key = generateDataKey();
        const envelope = sealData(key, pt, "case-1", { algorithm });
        const changed =
          delta < 0
            ? envelope.subarray(0, Math.max(0, envelope.length + delta))
            : Buffer.concat([envelope, Buffer.alloc(delta, 0)]);
        expect(codeOf(() => openData(key, changed, "case-1"))).to.be.oneOf(["MALFORMED", "AUTHENTICATION_FAILED"]);
      }),
      { numRuns: RUNS },
    );
  });

  it("openData: another version or algorithm byte is refused with UNSUPPORTED before any key work", function () {
    const key = generateDataKey();
    const envelope = sealData(key, "x", "case-1");
    for (const [index, value] of [
      [0, 2],
      [0, 0],
      [1, 0],
      [1, 3],
    ]) {
      const changed = Buffer.from(envelope);
      changed[index] = value;
      expect(codeOf(() => parseEnvelope(changed))).to.equal("UNSUPPORTED");
    }
  });

  it("sealData / openData: a data key that is not 16 bytes is refused with INVALID_KEY", function () {
    expect(DATA_KEY_BYTES).to.equal(16);
    expect(codeOf(() => sealData(Buffer.alloc(32, 1), "x", "case-1"))).to.equal("INVALID_KEY");
    const envelope = sealData(generateDataKey(), "x", "case-1");
    expect(codeOf(() => openData(Buffer.alloc(15, 1), envelope, "case-1"))).to.equal("INVALID_KEY");
  });

  it("generateDataKey: 16 random bytes, different every call", function () {
    const keys = new Set(Array.from({ length: 100 }, () => generateDataKey().toString("hex")));
    expect(keys.size).to.equal(100);
    expect([...keys].every((k) => k.length === 32)).to.equal(true);
  });

  it("sm4GcmDecrypt: a missing (empty) or short tag is refused, never decrypted unchecked as sm-crypto-v2 would", function () {
    const key = generateDataKey();
    const iv = Buffer.alloc(12, 7);
    for (const tag of [Buffer.alloc(0), Buffer.alloc(8)]) {
      expect(codeOf(() => sm4GcmDecrypt(key, iv, Buffer.from("abc"), Buffer.alloc(0), tag))).to.equal(
        "AUTHENTICATION_FAILED",
      );
    }
  });

  it("sm4CbcEncrypt (raw): for all keys, IVs and plaintexts, equals sm-crypto's SM4-CBC with PKCS#7 and decrypts back", function () {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 100 }),
        (key, iv, plaintext) => {
          const ciphertext = sm4CbcEncrypt(key, iv, plaintext);
          const reference = sm4v1.encrypt(Array.from(plaintext), Buffer.from(key).toString("hex"), {
            mode: "cbc",
            iv: Buffer.from(iv).toString("hex"),
          });
          expect(ciphertext.toString("hex")).to.equal(reference);
          expect(sm4CbcDecrypt(key, iv, ciphertext)).to.deep.equal(Buffer.from(plaintext));
        },
      ),
      { numRuns: 50 },
    );
  });
});
