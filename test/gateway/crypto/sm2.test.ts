import { expect } from "chai";
import fc from "fast-check";
import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { sm2 as sm2v1 } from "sm-crypto";
import {
  CryptoError,
  SM2_DEFAULT_USER_ID,
  Sm2PrivateKey,
  Sm2PublicKey,
  generateSm2KeyPair,
  parseSm2Signature,
  sm2CiphertextFromC1C3C2Hex,
  sm2CiphertextToC1C3C2Hex,
  sm2Decrypt,
  sm2Encrypt,
  sm2Sign,
  sm2Verify,
} from "../../../gateway/src/crypto";
import { SM2_N } from "../../../gateway/src/crypto/sm2";

/**
 * SM2 is slow in JavaScript (sm-crypto verifies about 40 signatures/s): the properties run a few times each.
 * sm-crypto 0.5.8 is the reference; it is always called with { hash: true, der: true, userId } (its defaults and
 * sm-crypto-v2's differ) and its raw ciphertexts are mode 1, C1C3C2 without the 04.
 */
const RUNS = Number(process.env.SM2_PROPERTY_RUNS ?? 8);
const V1_OPTIONS = { hash: true, der: true, userId: SM2_DEFAULT_USER_ID };

const alice = generateSm2KeyPair();
const bob = generateSm2KeyPair();
const messages = fc.uint8Array({ minLength: 1, maxLength: 200 });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CryptoError);
    return (error as CryptoError).code;
  }
  expect.fail("expected a CryptoError, got a result");
}

describe("crypto/sm2", function () {
  describe("keys", function () {
    it("generateSm2KeyPair: keys are distinct, d in [1, n - 2], the public key on the curve and equal to d·G", function () {
      const pairs = Array.from({ length: 8 }, () => generateSm2KeyPair());
      expect(new Set(pairs.map((p) => p.privateKey.toHex())).size).to.equal(pairs.length);
      for (const { privateKey, publicKey } of pairs) {
        const d = BigInt("0x" + privateKey.toHex());
        expect(d >= 1n && d <= SM2_N - 2n).to.equal(true);
        expect(Sm2PrivateKey.fromHex(privateKey.toHex()).publicKey.equals(publicKey)).to.equal(true);
        expect(Sm2PublicKey.fromHex(publicKey.hex).hex).to.equal(publicKey.hex);
      }
    });

    it("PEM: private (PKCS#8) and public (SPKI) keys round-trip, with the DER prefixes openssl writes", function () {
      const { privateKey, publicKey } = alice;
      const priv = Sm2PrivateKey.fromPem(privateKey.toPem());
      expect(priv.toHex()).to.equal(privateKey.toHex());
      expect(Sm2PublicKey.fromPem(publicKey.toPem()).equals(publicKey)).to.equal(true);
      expect(publicKey.toSpkiDer().toString("hex")).to.equal(
        "3059301306072a8648ce3d020106082a811ccf5501822d034200" + publicKey.hex,
      );
      expect(privateKey.toPkcs8Der().toString("hex")).to.equal(
        "308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420" +
          privateKey.toHex() +
          "a144034200" +
          publicKey.hex,
      );
      expect(privateKey.toPem()).to.match(
        /^-----BEGIN PRIVATE KEY-----\n(.{64}\n)+.{1,64}\n-----END PRIVATE KEY-----\n$/,
      );
    });

    it("PEM: CRLF line ends and surrounding text are accepted", function () {
      const pem = "comment\r\n" + alice.publicKey.toPem().replace(/\n/g, "\r\n") + "\r\n";
      expect(Sm2PublicKey.fromPem(pem).equals(alice.publicKey)).to.equal(true);
    });

    it("PEM: a P-256 key is refused with UNSUPPORTED, an encrypted key too", function () {
      const p256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
      const pub = p256.publicKey.export({ type: "spki", format: "pem" }) as string;
      const priv = p256.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
      expect(codeOf(() => Sm2PublicKey.fromPem(pub))).to.equal("UNSUPPORTED");
      expect(codeOf(() => Sm2PrivateKey.fromPem(priv))).to.equal("UNSUPPORTED");
      const encrypted = alice.privateKey.toPem().replace(/PRIVATE KEY/g, "ENCRYPTED PRIVATE KEY");
      expect(codeOf(() => Sm2PrivateKey.fromPem(encrypted))).to.equal("UNSUPPORTED");
    });

    it("PEM: a wrong label, two blocks, bad base64 or trailing DER bytes are refused with MALFORMED", function () {
      const pem = alice.publicKey.toPem();
      expect(codeOf(() => Sm2PrivateKey.fromPem(pem))).to.equal("MALFORMED");
      expect(codeOf(() => Sm2PublicKey.fromPem(pem + pem))).to.equal("MALFORMED");
      expect(codeOf(() => Sm2PublicKey.fromPem(pem.replace(/\n[A-Za-z]/, "\n!")))).to.equal("MALFORMED");
      const longer = Buffer.concat([alice.publicKey.toSpkiDer(), Buffer.from([0])]);
      expect(codeOf(() => Sm2PublicKey.fromSpkiDer(longer))).to.equal("MALFORMED");
    });

    it("fromHex: a point off the curve, d = 0 and d = n - 1 are refused with INVALID_KEY", function () {
      const hex = alice.publicKey.hex;
      const offCurve = hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
      expect(codeOf(() => Sm2PublicKey.fromHex(offCurve))).to.equal("INVALID_KEY");
      expect(codeOf(() => Sm2PublicKey.fromHex("02" + hex.slice(2, 66)))).to.equal("INVALID_KEY");
      expect(codeOf(() => Sm2PrivateKey.fromHex("0"))).to.equal("INVALID_KEY");
      expect(codeOf(() => Sm2PrivateKey.fromHex((SM2_N - 1n).toString(16)))).to.equal("INVALID_KEY");
    });

    it("fromPkcs8Der: an embedded public key that is not d·G is refused with INVALID_KEY", function () {
      const der = alice.privateKey.toPkcs8Der();
      const forged = Buffer.concat([der.subarray(0, der.length - 65), Buffer.from(bob.publicKey.hex, "hex")]);
      expect(codeOf(() => Sm2PrivateKey.fromPkcs8Der(forged))).to.equal("INVALID_KEY");
    });

    it("Sm2PrivateKey: the scalar shows neither in JSON nor in util.inspect", function () {
      const d = alice.privateKey.toHex();
      expect(JSON.stringify(alice.privateKey)).to.not.include(d);
      expect(inspect(alice.privateKey, { depth: 5, showHidden: true })).to.not.include(d);
    });
  });

  describe("signatures", function () {
    it("sm2Sign / sm2Verify: for all messages, the signature verifies and is strict DER with 1 ≤ r, s < n", function () {
      fc.assert(
        fc.property(messages, (message) => {
          const signature = sm2Sign(alice.privateKey, message);
          const { r, s } = parseSm2Signature(signature);
          expect(r > 0n && r < SM2_N && s > 0n && s < SM2_N).to.equal(true);
          expect(sm2Verify(alice.publicKey, message, signature)).to.equal(true);
        }),
        { numRuns: RUNS * 2 },
      );
    });

    it("sm2Verify: another message, another key or another user ID is refused", function () {
      const signature = sm2Sign(alice.privateKey, "payout 42");
      expect(sm2Verify(alice.publicKey, "payout 43", signature)).to.equal(false);
      expect(sm2Verify(bob.publicKey, "payout 42", signature)).to.equal(false);
      expect(sm2Verify(alice.publicKey, "payout 42", signature, "ALICE123@YAHOO.COM")).to.equal(false);
      expect(sm2Verify(alice.publicKey, "payout 42", sm2Sign(alice.privateKey, "payout 42", "x"), "x")).to.equal(true);
    });

    it("sm2Verify: for all signatures, flipping any bit gives false, never an exception", function () {
      const signature = sm2Sign(alice.privateKey, "payout 42");
      fc.assert(
        fc.property(fc.nat({ max: signature.length - 1 }), fc.integer({ min: 0, max: 7 }), (index, bit) => {
          const changed = Buffer.from(signature);
          changed[index] ^= 1 << bit;
          expect(sm2Verify(alice.publicKey, "payout 42", changed)).to.equal(false);
        }),
        { numRuns: RUNS * 2 },
      );
    });

    it("sm2Verify: non-canonical DER (a padded r) and r = 0 are refused", function () {
      const { r, s } = parseSm2Signature(sm2Sign(alice.privateKey, "m"));
      const int = (n: bigint, pad = 0) => {
        let bytes = Buffer.from(n.toString(16).padStart(64, "0"), "hex");
        while (bytes.length > 1 && bytes[0] === 0 && !(bytes[1] & 0x80)) bytes = bytes.subarray(1);
        if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
        bytes = Buffer.concat([Buffer.alloc(pad), bytes]);
        return Buffer.concat([Buffer.from([2, bytes.length]), bytes]);
      };
      const seq = (...parts: Buffer[]) => {
        const body = Buffer.concat(parts);
        return Buffer.concat([Buffer.from([0x30, body.length]), body]);
      };
      expect(sm2Verify(alice.publicKey, "m", seq(int(r), int(s)))).to.equal(true);
      expect(sm2Verify(alice.publicKey, "m", seq(int(r, 1), int(s)))).to.equal(false);
      expect(sm2Verify(alice.publicKey, "m", seq(int(0n), int(s)))).to.equal(false);
      expect(sm2Verify(alice.publicKey, "m", seq(int(r + SM2_N), int(s)))).to.equal(false);
    });

    it("sm2Sign: a user ID that the libraries would encode wrongly (U+E0041) is refused with INVALID_ARGUMENT", function () {
      expect(codeOf(() => sm2Sign(alice.privateKey, "m", "id\u{E0041}"))).to.equal("INVALID_ARGUMENT");
      expect(sm2Verify(alice.publicKey, "m", sm2Sign(alice.privateKey, "m", "局长 😀"), "局长 😀")).to.equal(true);
    });

    it("interop: for all messages, sm-crypto 0.5.8 verifies our signatures and we verify sm-crypto's", function () {
      const d = alice.privateKey.toHex();
      const pub = alice.publicKey.hex;
      fc.assert(
        fc.property(messages, (message) => {
          const ours = sm2Sign(alice.privateKey, message);
          expect(sm2v1.doVerifySignature(Array.from(message), ours.toString("hex"), pub, V1_OPTIONS)).to.equal(true);
          const theirs = sm2v1.doSignature(Array.from(message), d, V1_OPTIONS);
          expect(sm2Verify(alice.publicKey, message, Buffer.from(theirs, "hex"))).to.equal(true);
        }),
        { numRuns: RUNS },
      );
    });

    it("precompute: a precomputed public key verifies the same signatures", function () {
      const hot = Sm2PublicKey.fromHex(alice.publicKey.hex).precompute();
      const signature = sm2Sign(alice.privateKey, "m");
      expect(sm2Verify(hot, "m", signature)).to.equal(true);
      expect(sm2Verify(hot, "n", signature)).to.equal(false);
    });
  });

  describe("encryption", function () {
    it("sm2Encrypt / sm2Decrypt: for all plaintexts, decrypt(encrypt(x)) = x and the ciphertext is GM/T 0009 DER", function () {
      fc.assert(
        fc.property(messages, (plaintext) => {
          const ciphertext = sm2Encrypt(alice.publicKey, plaintext);
          expect(ciphertext[0]).to.equal(0x30);
          expect(sm2CiphertextFromC1C3C2Hex(sm2CiphertextToC1C3C2Hex(ciphertext))).to.deep.equal(ciphertext);
          expect(sm2Decrypt(alice.privateKey, ciphertext)).to.deep.equal(Buffer.from(plaintext));
        }),
        { numRuns: RUNS },
      );
    });

    it("sm2Encrypt: the same plaintext encrypts differently every time", function () {
      expect(sm2Encrypt(alice.publicKey, "k").equals(sm2Encrypt(alice.publicKey, "k"))).to.equal(false);
    });

    it("sm2Encrypt: an empty plaintext is refused with INVALID_ARGUMENT", function () {
      expect(codeOf(() => sm2Encrypt(alice.publicKey, new Uint8Array(0)))).to.equal("INVALID_ARGUMENT");
    });

    it("sm2Decrypt: another private key throws AUTHENTICATION_FAILED (sm-crypto would return '')", function () {
      const ciphertext = sm2Encrypt(alice.publicKey, "data key");
      expect(codeOf(() => sm2Decrypt(bob.privateKey, ciphertext))).to.equal("AUTHENTICATION_FAILED");
      expect(sm2v1.doDecrypt(sm2CiphertextToC1C3C2Hex(ciphertext), bob.privateKey.toHex(), 1)).to.equal("");
    });

    it("sm2Decrypt: for all ciphertexts, flipping any bit throws CryptoError and never returns data", function () {
      const ciphertext = sm2Encrypt(alice.publicKey, "a sixteen-byte k");
      fc.assert(
        fc.property(fc.nat({ max: ciphertext.length - 1 }), fc.integer({ min: 0, max: 7 }), (index, bit) => {
          const changed = Buffer.from(ciphertext);
          changed[index] ^= 1 << bit;
          expect(codeOf(() => sm2Decrypt(alice.privateKey, changed))).to.be.oneOf([
            "MALFORMED",
            "AUTHENTICATION_FAILED",
          ]);
        }),
        { numRuns: RUNS * 3 },
      );
    });

    it("sm2CiphertextFromC1C3C2Hex: sm-crypto's raw hex with a leading 04 does not decrypt (it throws, not '')", function () {
      const raw = sm2v1.doEncrypt("data key", alice.publicKey.hex, 1);
      expect(codeOf(() => sm2Decrypt(alice.privateKey, sm2CiphertextFromC1C3C2Hex("04" + raw)))).to.be.oneOf([
        "MALFORMED",
        "AUTHENTICATION_FAILED",
      ]);
    });

    it("interop: for all plaintexts, sm-crypto 0.5.8 decrypts ours (as C1C3C2 hex) and we decrypt sm-crypto's", function () {
      fc.assert(
        fc.property(messages, (plaintext) => {
          const ours = sm2Encrypt(alice.publicKey, plaintext);
          const opened = sm2v1.doDecrypt(sm2CiphertextToC1C3C2Hex(ours), alice.privateKey.toHex(), 1, {
            output: "array",
          });
          expect(Buffer.from(opened)).to.deep.equal(Buffer.from(plaintext));
          const theirs = sm2v1.doEncrypt(Array.from(plaintext), alice.publicKey.hex, 1);
          expect(sm2Decrypt(alice.privateKey, sm2CiphertextFromC1C3C2Hex(theirs))).to.deep.equal(
            Buffer.from(plaintext),
          );
        }),
        { numRuns: RUNS },
      );
    });

    it("precompute: encrypting to a precomputed public key decrypts with the private key", function () {
      const hot = Sm2PublicKey.fromHex(bob.publicKey.hex).precompute();
      expect(sm2Decrypt(bob.privateKey, sm2Encrypt(hot, "data key")).toString()).to.equal("data key");
    });
  });
});
