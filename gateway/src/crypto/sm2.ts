/**
 * SM2 (GB/T 32918 / GM/T 0003) on the recommended curve sm2p256v1: key pairs, PEM, signatures and encryption, in
 * the formats openssl and the GM/T 0009 standard use.
 *
 * - Keys: PEM SubjectPublicKeyInfo ("PUBLIC KEY") and PKCS#8 ("PRIVATE KEY"; SEC1 is read too),
 *   algorithm id-ecPublicKey with the curve OID 1.2.156.10197.1.301. The DER we write is
 *     SPKI   = 3059301306072a8648ce3d020106082a811ccf5501822d034200 ‖ 04 ‖ x ‖ y
 *     PKCS#8 = 308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420 ‖ d ‖ a144034200 ‖ 04 ‖ x ‖ y
 *   Check one: `openssl pkey -in priv.pem -noout -text`.
 * - Signatures: DER `SEQUENCE { INTEGER r, INTEGER s }` over e = SM3(Z ‖ M), Z computed with the user ID (default
 *   `1234567812345678`, GM/T 0009 section 10). Check one: `openssl pkeyutl -verify -rawin -digest sm3
 *   -pkeyopt distid:1234567812345678 -pubin -inkey pub.pem -sigfile sig -in msg` (without `distid` openssl 3.0 uses
 *   an empty ID and disagrees).
 * - Ciphertexts: GM/T 0009 `SEQUENCE { INTEGER x, INTEGER y, OCTET STRING C3, OCTET STRING C2 }` (C1 = (x, y),
 *   C3 = SM3(x2 ‖ M ‖ y2), C2 = M ⊕ KDF(x2 ‖ y2)). `openssl pkeyutl -decrypt -inkey priv.pem` reads it.
 *
 * The arithmetic is sm-crypto-v2's (noble-curves: about 25 times faster than sm-crypto for signing, bench/crypto.ts);
 * sm-crypto 0.5.8, the reference JavaScript library, interoperates (test/gateway/crypto/sm2.test.ts). Both libraries
 * are driven with `{ hash: true, der: true, userId }` on every signature call: their `hash` defaults differ. All
 * parsing (PEM, DER, the GM/T 0009 ciphertext) is done here, strictly, before the library sees anything; the
 * libraries' own decoders are lax. Private scalars are kept out of the key objects' fields (a WeakMap), so logging
 * or JSON-serialising a key never prints them.
 *
 * Randomness: key pairs, signature nonces and encryption nonces come from sm-crypto-v2, which draws from
 * `globalThis.crypto.getRandomValues` (Node's CSPRNG) — never from `Math.random` (sm-crypto < 0.5 did:
 * GHSA-vh45-f885-3848).
 */
import { sm2 as sm2v2 } from "sm-crypto-v2";
import { type BytesLike, toBuffer } from "./bytes";
import {
  TAG_BIT_STRING,
  TAG_CONTEXT_0,
  TAG_CONTEXT_1,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  type Tlv,
  encodeSequence,
  encodeTlv,
  encodeUnsigned,
  readChildren,
  readSequence,
  readTlv,
  readUnsigned,
} from "./der";
import { CryptoError, invariant } from "./errors";

/** The default SM2 user ID (GM/T 0009-2012 section 10), used for Z in every signature unless told otherwise. */
export const SM2_DEFAULT_USER_ID = "1234567812345678";

/** Order n of the base point of sm2p256v1. */
export const SM2_N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
/** Prime p of the field of sm2p256v1. */
export const SM2_P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;

const SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a811ccf5501822d034200", "hex");
const PKCS8_PREFIX = Buffer.from("308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420", "hex");
const PKCS8_MIDDLE = Buffer.from("a144034200", "hex");
const OID_EC_PUBLIC_KEY = Buffer.from("2a8648ce3d0201", "hex"); // 1.2.840.10045.2.1
const OID_SM2 = Buffer.from("2a811ccf5501822d", "hex"); // 1.2.156.10197.1.301

type PrecomputedPoint = ReturnType<typeof sm2v2.precomputePublicKey>;

const scalars = new WeakMap<Sm2PrivateKey, string>();
const precomputed = new WeakMap<Sm2PublicKey, PrecomputedPoint>();
/**
 * Keys that verify again and again arrive as new objects (parsed from the same PEM in each document: a checkpoint's
 * signer, a receipt's gateway key): by point, those seen before are precomputed once (verify is several times faster).
 */
const seenPoints = new Map<string, PrecomputedPoint | null>();
const MAX_SEEN_POINTS = 64;

/** The precomputed point of a verifying key: its own, or by point from the second time a point is seen. */
function verifyingPoint(publicKey: Sm2PublicKey): PrecomputedPoint | string {
  const own = precomputed.get(publicKey);
  if (own !== undefined) return own;
  const seen = seenPoints.get(publicKey.hex);
  if (seen) return seen;
  if (seen === null) {
    const point = sm2v2.precomputePublicKey(publicKey.hex);
    seenPoints.set(publicKey.hex, point);
    return point;
  }
  if (seenPoints.size >= MAX_SEEN_POINTS) seenPoints.delete(seenPoints.keys().next().value as string);
  seenPoints.set(publicKey.hex, null);
  return publicKey.hex;
}

const hex64 = (n: bigint) => n.toString(16).padStart(64, "0");

/** An SM2 public key: a point of sm2p256v1, checked to be on the curve. */
export class Sm2PublicKey {
  /** The uncompressed point `04 ‖ x ‖ y`: 130 lowercase hex digits (sm-crypto's public key format). */
  readonly hex: string;

  private constructor(hex: string) {
    this.hex = hex;
  }

  /** From the uncompressed point `04 ‖ x ‖ y` in hex (compressed points are refused). */
  static fromHex(hex: string): Sm2PublicKey {
    invariant(
      typeof hex === "string" && /^04[0-9a-fA-F]{128}$/.test(hex),
      "INVALID_KEY",
      "an SM2 public key is 04 ‖ x ‖ y, 65 bytes",
    );
    const lower = hex.toLowerCase();
    let valid = false;
    try {
      valid = sm2v2.verifyPublicKey(lower);
    } catch {
      valid = false;
    }
    invariant(valid, "INVALID_KEY", "the SM2 public key is not a point of sm2p256v1");
    return new Sm2PublicKey(lower);
  }

  /** From SubjectPublicKeyInfo DER (id-ecPublicKey, curve SM2, uncompressed point). */
  static fromSpkiDer(der: Uint8Array): Sm2PublicKey {
    const [algorithm, bits] = readSequence(der, [TAG_SEQUENCE, TAG_BIT_STRING]);
    checkAlgorithm(algorithm);
    const point = bitStringBytes(bits);
    invariant(point.length === 65 && point[0] === 0x04, "UNSUPPORTED", "only uncompressed SM2 points are supported");
    return Sm2PublicKey.fromHex(point.toString("hex"));
  }

  /** From a PEM "PUBLIC KEY" block (SPKI), as `openssl pkey -pubout` writes it. */
  static fromPem(pem: string): Sm2PublicKey {
    return Sm2PublicKey.fromSpkiDer(pemDecode(pem, ["PUBLIC KEY"]).der);
  }

  /** SubjectPublicKeyInfo DER; the same bytes openssl writes for this key. */
  toSpkiDer(): Buffer {
    return Buffer.concat([SPKI_PREFIX, Buffer.from(this.hex, "hex")]);
  }

  /** PEM "PUBLIC KEY". */
  toPem(): string {
    return pemEncode("PUBLIC KEY", this.toSpkiDer());
  }

  /**
   * Precomputes multiples of this point (about 90 ms and 0.9 MB of heap, once) so that verifying and encrypting to
   * it get 6 to 8 times faster (bench/crypto.ts). Worth it for a key used more than about 20 times: a holder's key
   * that data keys are wrapped to, a signer whose requests are verified. Returns this key.
   */
  precompute(): this {
    if (!precomputed.has(this)) precomputed.set(this, sm2v2.precomputePublicKey(this.hex));
    return this;
  }

  equals(other: Sm2PublicKey): boolean {
    return other instanceof Sm2PublicKey && other.hex === this.hex;
  }
}

/** An SM2 private key. Its scalar is not a property: it never shows in logs or JSON. */
export class Sm2PrivateKey {
  readonly publicKey: Sm2PublicKey;

  private constructor(d: string, publicKey: Sm2PublicKey) {
    this.publicKey = publicKey;
    scalars.set(this, d);
  }

  /** A fresh key pair from the CSPRNG. */
  static generate(): Sm2PrivateKey {
    for (;;) {
      const pair = sm2v2.generateKeyPairHex();
      const d = BigInt("0x" + pair.privateKey);
      // sm2p256v1 signing needs (1 + d) invertible: d ≤ n - 2. noble draws d in [1, n - 1]; reject the one bad value.
      if (d >= 1n && d <= SM2_N - 2n) return new Sm2PrivateKey(hex64(d), Sm2PublicKey.fromHex(pair.publicKey));
    }
  }

  /** From the scalar d in hex (1 ≤ d ≤ n - 2), as sm-crypto stores private keys. */
  static fromHex(dHex: string): Sm2PrivateKey {
    invariant(typeof dHex === "string" && /^[0-9a-fA-F]{1,64}$/.test(dHex), "INVALID_KEY", "d is 1..64 hex digits");
    const d = BigInt("0x" + dHex);
    invariant(d >= 1n && d <= SM2_N - 2n, "INVALID_KEY", "the SM2 private scalar is out of range [1, n - 2]");
    const d64 = hex64(d);
    return new Sm2PrivateKey(d64, Sm2PublicKey.fromHex(sm2v2.getPublicKeyFromPrivateKey(d64)));
  }

  /** From PKCS#8 PrivateKeyInfo DER (version 0, id-ecPublicKey, curve SM2, an RFC 5915 ECPrivateKey inside). */
  static fromPkcs8Der(der: Uint8Array): Sm2PrivateKey {
    const [version, algorithm, inner] = readSequence(der, [TAG_INTEGER, TAG_SEQUENCE, TAG_OCTET_STRING]);
    invariant(readUnsigned(version) === 0n, "UNSUPPORTED", "PKCS#8 version must be 0");
    checkAlgorithm(algorithm);
    return Sm2PrivateKey.fromEcPrivateKeyDer(inner.value, false);
  }

  /**
   * From a PEM "PRIVATE KEY" (PKCS#8, what `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2` writes) or
   * SEC1 with the SM2 curve OID, labelled "EC PRIVATE KEY" or "SM2 PRIVATE KEY" (what `openssl ec` writes for an SM2
   * key). Encrypted PEM is refused (UNSUPPORTED).
   */
  static fromPem(pem: string): Sm2PrivateKey {
    const { label, der } = pemDecode(pem, ["PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY"]);
    return label === "PRIVATE KEY" ? Sm2PrivateKey.fromPkcs8Der(der) : Sm2PrivateKey.fromEcPrivateKeyDer(der, true);
  }

  /** RFC 5915 ECPrivateKey; a public key inside must match d·G. SEC1 alone must name the SM2 curve. */
  private static fromEcPrivateKeyDer(der: Uint8Array, needsCurve: boolean): Sm2PrivateKey {
    const children = readChildren(readTlv(der, TAG_SEQUENCE).value);
    invariant(children.length >= 2 && children.length <= 4, "MALFORMED", "malformed DER: ECPrivateKey");
    const [version, scalar, ...optional] = children;
    invariant(readUnsigned(version) === 1n, "UNSUPPORTED", "ECPrivateKey version must be 1");
    invariant(
      scalar.tag === TAG_OCTET_STRING && scalar.value.length >= 1 && scalar.value.length <= 32,
      "MALFORMED",
      "malformed DER: ECPrivateKey privateKey",
    );
    const params = optional.find((t) => t.tag === TAG_CONTEXT_0);
    const embedded = optional.find((t) => t.tag === TAG_CONTEXT_1);
    const order = optional.map((t) => t.tag).join(",");
    invariant(
      ["", `${TAG_CONTEXT_0}`, `${TAG_CONTEXT_1}`, `${TAG_CONTEXT_0},${TAG_CONTEXT_1}`].includes(order),
      "MALFORMED",
      "malformed DER: ECPrivateKey optional fields",
    );
    if (params) {
      invariant(readTlv(params.value, TAG_OID).value.equals(OID_SM2), "UNSUPPORTED", "the key is not on curve SM2");
    } else {
      invariant(!needsCurve, "UNSUPPORTED", "an EC PRIVATE KEY without a curve cannot be an SM2 key");
    }
    const key = Sm2PrivateKey.fromHex(scalar.value.toString("hex"));
    if (embedded) {
      const point = bitStringBytes(readTlv(embedded.value, TAG_BIT_STRING));
      invariant(point.toString("hex") === key.publicKey.hex, "INVALID_KEY", "the embedded public key is not d·G");
    }
    return key;
  }

  /** PKCS#8 DER with the public key embedded (what openssl writes). */
  toPkcs8Der(): Buffer {
    return Buffer.concat([
      PKCS8_PREFIX,
      Buffer.from(this.toHex(), "hex"),
      PKCS8_MIDDLE,
      Buffer.from(this.publicKey.hex, "hex"),
    ]);
  }

  /** PEM "PRIVATE KEY" (PKCS#8). Secret: store it encrypted or with restrictive permissions. */
  toPem(): string {
    return pemEncode("PRIVATE KEY", this.toPkcs8Der());
  }

  /** The scalar d, 64 hex digits: the private key format of sm-crypto. Secret. */
  toHex(): string {
    return scalars.get(this) as string;
  }
}

/** A fresh SM2 key pair. */
export function generateSm2KeyPair(): { privateKey: Sm2PrivateKey; publicKey: Sm2PublicKey } {
  const privateKey = Sm2PrivateKey.generate();
  return { privateKey, publicKey: privateKey.publicKey };
}

function checkUserId(userId: string): void {
  // ENTL is the ID's length in bits on two bytes.
  invariant(
    typeof userId === "string" && Buffer.byteLength(userId, "utf8") < 8192,
    "INVALID_ARGUMENT",
    "an SM2 user ID is a string of fewer than 8,192 UTF-8 bytes",
  );
  // sm-crypto and sm-crypto-v2 turn the ID into bytes with their own UTF-8 encoder, which is wrong for code points
  // from U+40000 up (it masks the lead byte with 0x1c) and for unpaired surrogates: Z would then disagree with
  // openssl's. Such IDs are refused rather than silently signed with the wrong Z.
  invariant(
    !/[\p{Cs}\u{40000}-\u{10FFFF}]/u.test(userId),
    "INVALID_ARGUMENT",
    "an SM2 user ID may not hold code points above U+3FFFF or unpaired surrogates",
  );
}

/** Signs `message` (SM3 with Z of `userId`), returning the DER signature. */
export function sm2Sign(privateKey: Sm2PrivateKey, message: BytesLike, userId: string = SM2_DEFAULT_USER_ID): Buffer {
  checkUserId(userId);
  const der = sm2v2.doSignature(toBuffer(message), privateKey.toHex(), {
    hash: true,
    der: true,
    userId,
    publicKey: privateKey.publicKey.hex,
  });
  const signature = Buffer.from(der, "hex");
  parseSm2Signature(signature); // the library's encoder, held to the strict decoder
  return signature;
}

/**
 * Whether `signature` (DER) is a valid signature of `message` by `publicKey` with `userId`. A malformed signature
 * (non-canonical DER, r or s outside [1, n - 1]) is simply not valid: false, no exception.
 */
export function sm2Verify(
  publicKey: Sm2PublicKey,
  message: BytesLike,
  signature: Uint8Array,
  userId: string = SM2_DEFAULT_USER_ID,
): boolean {
  checkUserId(userId);
  try {
    parseSm2Signature(signature);
  } catch (error) {
    if (error instanceof CryptoError) return false;
    throw error;
  }
  return sm2v2.doVerifySignature(toBuffer(message), toBuffer(signature).toString("hex"), verifyingPoint(publicKey), {
    hash: true,
    der: true,
    userId,
  });
}

/** r and s of a DER signature, strictly: canonical DER, 1 ≤ r, s ≤ n - 1. Throws MALFORMED otherwise. */
export function parseSm2Signature(signature: Uint8Array): { r: bigint; s: bigint } {
  const [r, s] = readSequence(signature, [TAG_INTEGER, TAG_INTEGER]).map(readUnsigned);
  invariant(r >= 1n && r < SM2_N && s >= 1n && s < SM2_N, "MALFORMED", "SM2 signature r or s out of range");
  return { r, s };
}

/** Encrypts `plaintext` (at least one byte) to `publicKey`: a GM/T 0009 ASN.1 ciphertext, about 108 bytes longer. */
export function sm2Encrypt(publicKey: Sm2PublicKey, plaintext: BytesLike): Buffer {
  const message = toBuffer(plaintext);
  invariant(message.length > 0, "INVALID_ARGUMENT", "SM2 cannot encrypt an empty plaintext");
  const raw = sm2v2.doEncrypt(message, precomputed.get(publicKey) ?? publicKey.hex, 1);
  return sm2CiphertextFromC1C3C2Hex(raw);
}

/**
 * Decrypts a GM/T 0009 ciphertext. Throws MALFORMED if it does not parse or C1 is not on the curve, and
 * AUTHENTICATION_FAILED if C3 does not match (a wrong key or altered bytes). sm-crypto-style libraries return an
 * empty result instead of failing; this function never does.
 */
export function sm2Decrypt(privateKey: Sm2PrivateKey, ciphertext: Uint8Array): Buffer {
  const raw = sm2CiphertextToC1C3C2Hex(ciphertext);
  let out: Uint8Array | number[];
  try {
    out = sm2v2.doDecrypt(raw, privateKey.toHex(), 1, { output: "array" });
  } catch (cause) {
    throw new CryptoError("MALFORMED", "SM2 ciphertext C1 is not a point of sm2p256v1", { cause });
  }
  // sm-crypto-v2 returns a Uint8Array on success and a plain empty array when C3 does not match.
  if (!(out instanceof Uint8Array) || out.length === 0) {
    throw new CryptoError("AUTHENTICATION_FAILED", "SM2 decryption failed (wrong key or altered ciphertext)");
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * GM/T 0009 ASN.1 ciphertext → sm-crypto's raw mode-1 hex `x ‖ y ‖ C3 ‖ C2` (x and y 32 bytes each, no `04`).
 * Strict: canonical DER, x and y below p, C3 32 bytes, C2 not empty.
 */
export function sm2CiphertextToC1C3C2Hex(ciphertext: Uint8Array): string {
  const [x, y, c3, c2] = readSequence(ciphertext, [TAG_INTEGER, TAG_INTEGER, TAG_OCTET_STRING, TAG_OCTET_STRING]);
  const cx = readUnsigned(x);
  const cy = readUnsigned(y);
  invariant(cx < SM2_P && cy < SM2_P, "MALFORMED", "SM2 ciphertext C1 coordinates out of range");
  invariant(c3.value.length === 32, "MALFORMED", "SM2 ciphertext C3 is 32 bytes");
  invariant(c2.value.length > 0, "MALFORMED", "SM2 ciphertext C2 is empty");
  return hex64(cx) + hex64(cy) + c3.value.toString("hex") + c2.value.toString("hex");
}

/** sm-crypto's raw mode-1 hex `x ‖ y ‖ C3 ‖ C2` (no `04`; a leading `04` is refused) → GM/T 0009 ASN.1. */
export function sm2CiphertextFromC1C3C2Hex(hex: string): Buffer {
  invariant(
    typeof hex === "string" && hex.length > 192 && hex.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(hex),
    "MALFORMED",
    "a raw SM2 ciphertext is x ‖ y ‖ C3 ‖ C2 in hex, at least 97 bytes",
  );
  // x may itself begin with 04: the length tells a prefixed C1 (65 bytes) from a bare one, not the first byte.
  return encodeSequence(
    encodeUnsigned(BigInt("0x" + hex.slice(0, 64))),
    encodeUnsigned(BigInt("0x" + hex.slice(64, 128))),
    encodeTlv(TAG_OCTET_STRING, Buffer.from(hex.slice(128, 192), "hex")),
    encodeTlv(TAG_OCTET_STRING, Buffer.from(hex.slice(192), "hex")),
  );
}

function checkAlgorithm(algorithm: Tlv): void {
  const [oid, curve] = readChildren(algorithm.value);
  invariant(
    oid?.tag === TAG_OID && oid.value.equals(OID_EC_PUBLIC_KEY),
    "UNSUPPORTED",
    "the key is not an EC (id-ecPublicKey) key",
  );
  invariant(
    curve?.tag === TAG_OID && curve.value.equals(OID_SM2) && readChildren(algorithm.value).length === 2,
    "UNSUPPORTED",
    "the key is not on curve SM2 (1.2.156.10197.1.301)",
  );
}

function bitStringBytes(bits: Tlv): Buffer {
  invariant(bits.tag === TAG_BIT_STRING && bits.value[0] === 0, "MALFORMED", "malformed DER: BIT STRING");
  return bits.value.subarray(1);
}

/** PEM with 64-character lines and a final newline, as openssl writes it. */
export function pemEncode(label: string, der: Uint8Array): string {
  const body = toBuffer(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${body}${body.endsWith("\n") ? "" : "\n"}-----END ${label}-----\n`;
}

/** The DER inside the one PEM block of `pem`, whose label must be one of `labels`. */
export function pemDecode(pem: string, labels: readonly string[]): { label: string; der: Buffer } {
  invariant(typeof pem === "string", "MALFORMED", "PEM must be a string");
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g)];
  invariant(blocks.length === 1, "MALFORMED", `expected one PEM block, found ${blocks.length}`);
  const [, label, body] = blocks[0];
  invariant(!/ENCRYPTED/.test(label) && !/Proc-Type:/.test(body), "UNSUPPORTED", "encrypted PEM is not supported");
  invariant(labels.includes(label), "MALFORMED", `expected a PEM ${labels.join(" or ")}, found ${label}`);
  const base64 = body.replace(/\s+/g, "");
  invariant(/^[A-Za-z0-9+/]+={0,2}$/.test(base64) && base64.length % 4 === 0, "MALFORMED", "PEM body is not base64");
  const der = Buffer.from(base64, "base64");
  invariant(der.toString("base64") === base64, "MALFORMED", "PEM body is not canonical base64");
  return { label, der };
}
