import { expect } from "chai";
import { createHmac, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  Sm2PrivateKey,
  Sm2PublicKey,
  generateDataKey,
  generateSm2KeyPair,
  hmacSm3,
  keyDigest,
  parseEnvelope,
  sealData,
  sm2Decrypt,
  sm2Encrypt,
  sm2Sign,
  sm2Verify,
  sm3,
} from "../../../gateway/src/crypto";
import { sm4CbcDecrypt, sm4CbcEncrypt } from "../../../gateway/src/crypto/sm4";
import { filesIn, openssl, opensslSm2Sign, opensslSm2Verify } from "./openssl";

/**
 * Interoperability with the openssl command line (3.0 here), on temporary files: keys, SM2 signatures with the
 * default ID 1234567812345678, GM/T 0009 SM2 ciphertexts, SM3, HMAC-SM3, SM4-CBC and the envelope layout. Skipped,
 * with a warning, where openssl is missing or has no SM2.
 */

describe("crypto interop with the openssl command line", function () {
  let dir = "";
  const { file, write } = filesIn(() => dir);

  before(function () {
    try {
      openssl("version");
      openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2");
    } catch {
      console.warn("    (skipped: no openssl with SM2 on PATH; the openssl interoperability tests did not run)");
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-sm-"));
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const ours = generateSm2KeyPair();

  describe("keys", function () {
    it("openssl reads our PKCS#8 private key as an SM2 key with our d and public point", function () {
      const text = openssl("pkey", "-in", write("priv.pem", ours.privateKey.toPem()), "-noout", "-text").toString();
      expect(text).to.include("ASN1 OID: SM2");
      // openssl prints d as a minimal positive integer (a 00 in front of a high bit, leading zero bytes dropped).
      const hexAfter = (label: string, until: string) =>
        text.slice(text.indexOf(label) + label.length, text.indexOf(until)).replace(/[^0-9a-f]/g, "");
      expect(BigInt("0x" + hexAfter("priv:", "pub:"))).to.equal(BigInt("0x" + ours.privateKey.toHex()));
      expect(hexAfter("pub:", "ASN1 OID")).to.equal(ours.publicKey.hex);
    });

    it("openssl re-encodes our PEM keys to the same bytes (private and public)", function () {
      const priv = write("priv.pem", ours.privateKey.toPem());
      const pub = write("pub.pem", ours.publicKey.toPem());
      expect(openssl("pkey", "-in", priv).toString()).to.equal(ours.privateKey.toPem());
      expect(openssl("pkey", "-pubin", "-in", pub).toString()).to.equal(ours.publicKey.toPem());
    });

    it("we read an openssl-generated key (PKCS#8, SEC1 'SM2 PRIVATE KEY', SPKI) and derive its public key", function () {
      const priv = file("openssl-priv.pem");
      openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", priv);
      const key = Sm2PrivateKey.fromPem(fs.readFileSync(priv, "utf8"));
      const pub = Sm2PublicKey.fromPem(openssl("pkey", "-in", priv, "-pubout").toString());
      expect(key.publicKey.equals(pub)).to.equal(true);
      const sec1 = file("openssl-sec1.pem");
      openssl("ec", "-in", priv, "-out", sec1);
      expect(fs.readFileSync(sec1, "utf8")).to.include("BEGIN SM2 PRIVATE KEY");
      expect(Sm2PrivateKey.fromPem(fs.readFileSync(sec1, "utf8")).toHex()).to.equal(key.toHex());
    });

    it("keyDigest equals `openssl pkey -pubin -outform DER | openssl dgst -sm3`", function () {
      const der = openssl("pkey", "-pubin", "-in", write("pub.pem", ours.publicKey.toPem()), "-outform", "DER");
      const digest = openssl("dgst", "-sm3", "-r", write("pub.der", der)).toString().split(" ")[0];
      expect(keyDigest(ours.publicKey.toPem())).to.equal("0x" + digest);
    });
  });

  describe("SM2 signatures", function () {
    const message = "payout 2026-03 case-0001 1200.00 CNY";

    it("our signature verifies with `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678`", function () {
      const out = opensslSm2Verify(
        write("pub.pem", ours.publicKey.toPem()),
        write("msg", message),
        write("sig", sm2Sign(ours.privateKey, message)),
      );
      expect(out).to.include("Signature Verified Successfully");
    });

    it("without distid, openssl 3.0 uses an empty ID and rejects the same signature (why distid is always passed)", function () {
      write("sig", sm2Sign(ours.privateKey, message));
      const args = [
        "pkeyutl",
        "-verify",
        "-rawin",
        "-digest",
        "sm3",
        "-pubin",
        "-inkey",
        write("pub.pem", ours.publicKey.toPem()),
      ];
      expect(() => openssl(...args, "-sigfile", file("sig"), "-in", write("msg", message))).to.throw();
    });

    it("an openssl signature (`pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:…`) verifies here", function () {
      const signature = opensslSm2Sign(write("priv.pem", ours.privateKey.toPem()), write("msg", message));
      expect(sm2Verify(ours.publicKey, message, signature)).to.equal(true);
      expect(sm2Verify(ours.publicKey, message + " ", signature)).to.equal(false);
    });
  });

  describe("SM2 encryption", function () {
    const dataKey = randomBytes(16);

    it("our GM/T 0009 ciphertext decrypts with `openssl pkeyutl -decrypt`", function () {
      const out = openssl(
        "pkeyutl",
        "-decrypt",
        "-inkey",
        write("priv.pem", ours.privateKey.toPem()),
        "-in",
        write("ct", sm2Encrypt(ours.publicKey, dataKey)),
      );
      expect(out).to.deep.equal(dataKey);
    });

    it("openssl's `pkeyutl -encrypt -pubin` output decrypts here", function () {
      const ciphertext = openssl(
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        write("pub.pem", ours.publicKey.toPem()),
        "-in",
        write("pt", dataKey),
      );
      expect(sm2Decrypt(ours.privateKey, ciphertext)).to.deep.equal(dataKey);
    });

    it("openssl decrypts the GM/T 0003.5 Annex C vector with a PEM key we made from its d", function () {
      const d = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
      const asn1 =
        "307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73022100e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766041321886ca989ca9c7d58087307ca93092d651efa";
      const priv = write("vector.pem", Sm2PrivateKey.fromHex(d).toPem());
      const out = openssl("pkeyutl", "-decrypt", "-inkey", priv, "-in", write("vector.ct", Buffer.from(asn1, "hex")));
      expect(out.toString()).to.equal("encryption standard");
    });
  });

  describe("SM3 and SM4", function () {
    const data = randomBytes(3000);

    it("sm3 equals `openssl dgst -sm3`; hmacSm3 equals `openssl dgst -sm3 -mac HMAC -macopt hexkey:…`", function () {
      const key = randomBytes(20);
      const input = write("data", data);
      expect(openssl("dgst", "-sm3", "-r", input).toString().split(" ")[0]).to.equal(sm3(data).toString("hex"));
      const mac = openssl("dgst", "-sm3", "-mac", "HMAC", "-macopt", `hexkey:${key.toString("hex")}`, "-r", input);
      expect(mac.toString().split(" ")[0]).to.equal(hmacSm3(key, data).toString("hex"));
    });

    it("SM4-CBC with PKCS#7 equals `openssl enc -sm4-cbc -K … -iv …`, both directions", function () {
      const key = randomBytes(16);
      const iv = randomBytes(16);
      const args = ["-sm4-cbc", "-K", key.toString("hex"), "-iv", iv.toString("hex")];
      const ciphertext = openssl("enc", ...args, "-in", write("data", data));
      expect(ciphertext).to.deep.equal(sm4CbcEncrypt(key, iv, data));
      const back = openssl("enc", "-d", ...args, "-in", write("ct", sm4CbcEncrypt(key, iv, data)));
      expect(back).to.deep.equal(data);
      expect(sm4CbcDecrypt(key, iv, ciphertext)).to.deep.equal(data);
    });

    it("an SM4-CBC-HMAC-SM3 envelope is reproduced step by step with openssl (key derivation, tag, decryption)", function () {
      const dataKey = generateDataKey();
      const aad = Buffer.from("case-0001/household");
      const envelope = sealData(dataKey, data, aad);
      const { iv, ciphertext, tag } = parseEnvelope(envelope);
      const hmac = (key: Buffer, name: string, input: Buffer) =>
        Buffer.from(
          openssl("dgst", "-sm3", "-mac", "HMAC", "-macopt", `hexkey:${key.toString("hex")}`, "-r", write(name, input))
            .toString()
            .split(" ")[0],
          "hex",
        );
      // encKey ‖ macKey = HMAC-SM3(data key, "relief-ledger/envelope/v1/SM4-CBC-HMAC-SM3" ‖ 0x01)
      const label = Buffer.concat([Buffer.from("relief-ledger/envelope/v1/SM4-CBC-HMAC-SM3"), Buffer.from([1])]);
      const keys = hmac(dataKey, "label", label);
      expect(keys).to.deep.equal(createHmac("sm3", dataKey).update(label).digest());
      const [encKey, macKey] = [keys.subarray(0, 16), keys.subarray(16)];
      // tag = HMAC-SM3(macKey, u64(len(aad)) ‖ aad ‖ version ‖ algorithm ‖ IV ‖ ciphertext)
      const aadLength = Buffer.alloc(8);
      aadLength.writeBigUInt64BE(BigInt(aad.length));
      const signed = Buffer.concat([aadLength, aad, envelope.subarray(0, envelope.length - 32)]);
      expect(hmac(macKey, "tag-input", signed)).to.deep.equal(tag);
      const plaintext = openssl(
        "enc",
        "-d",
        "-sm4-cbc",
        "-K",
        encKey.toString("hex"),
        "-iv",
        iv.toString("hex"),
        "-in",
        write("envelope-ct", ciphertext),
      );
      expect(plaintext).to.deep.equal(data);
    });
  });
});
