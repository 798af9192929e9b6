/**
 * Authenticated data encryption with SM4 (GB/T 32907-2016): a versioned, self-describing envelope sealed under a
 * fresh 128-bit data key, with additional authenticated data (the record id) bound in.
 *
 * Envelope v1, bytes (big-endian):
 *
 *   offset  size  field
 *   0       1     version = 0x01
 *   1       1     algorithm: 0x01 SM4-CBC-HMAC-SM3, 0x02 SM4-GCM
 *   2       n     IV, fresh from the CSPRNG on every seal: n = 16 (CBC) or 12 (GCM)
 *   2 + n   m     ciphertext: CBC with PKCS#7 padding (m a positive multiple of 16), or GCM (m = plaintext length)
 *   end-t   t     tag: t = 32 (HMAC-SM3) or 16 (GCM)
 *
 * SM4-CBC-HMAC-SM3 (encrypt-then-MAC, Node's OpenSSL):
 *   encKey ‖ macKey = HMAC-SM3(data key, "relief-ledger/envelope/v1/SM4-CBC-HMAC-SM3" ‖ 0x01), 16 bytes each
 *                     (= HKDF-Expand-SM3 of RFC 5869 with the data key as PRK, that label as info, L = 32: one
 *                     HMAC; the data key is already uniformly random, so no extract step)
 *   ciphertext      = SM4-CBC(encKey, IV, PKCS#7(plaintext))
 *   tag             = HMAC-SM3(macKey, u64(len(aad)) ‖ aad ‖ version ‖ algorithm ‖ IV ‖ ciphertext)
 * SM4-GCM (RFC 8998, sm-crypto-v2; OpenSSL 3.0 has no SM4-GCM):
 *   ciphertext, tag = SM4-GCM(data key, IV, aad = version ‖ algorithm ‖ aad, plaintext)
 *
 * Opening checks the version and algorithm, then the tag in constant time, and only then decrypts: a wrong key, a
 * wrong AAD or any changed byte throws `CryptoError("AUTHENTICATION_FAILED")` and nothing is decrypted (so CBC gives
 * no padding oracle). ECB is never used for data.
 *
 * Reproduce the CBC part with openssl: `openssl enc -sm4-cbc -K <encKey hex> -iv <IV hex> -in plain` gives the
 * ciphertext; `openssl dgst -sm3 -mac HMAC -macopt hexkey:<macKey hex>` over the tag input gives the tag.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { sm4 as sm4v2 } from "sm-crypto-v2";
import { type BytesLike, toBuffer } from "./bytes";
import { CryptoError, invariant } from "./errors";

/** Bytes in an SM4 key, and so in a data key. */
export const SM4_KEY_BYTES = 16;
/** Bytes in an SM4 block. */
export const SM4_BLOCK_BYTES = 16;
/** Bytes in a data key: one SM4 key, fresh for every sealed record (or field class of a record). */
export const DATA_KEY_BYTES = SM4_KEY_BYTES;
/** The envelope format version this module writes and reads. */
export const ENVELOPE_VERSION = 1;

/** The two authenticated constructions an envelope may use. */
export type EnvelopeAlgorithm = "SM4-CBC-HMAC-SM3" | "SM4-GCM";

/**
 * What {@link sealData} uses unless told otherwise: SM4-CBC + HMAC-SM3 on Node's OpenSSL, because it is the faster
 * of the two on every size measured by `npx ts-node --transpile-only bench/crypto.ts` (one core of this 2-core
 * machine, load average about 3 from other work, so absolute numbers are about half of an idle machine's):
 *
 *                       SM4-GCM (sm-crypto-v2)    SM4-CBC-HMAC-SM3 (OpenSSL)   ratio
 *   seal 1 KiB          9,955 ops/s               18,664 ops/s                 1.9×
 *   open 1 KiB          10,617 ops/s              25,103 ops/s                 2.4×
 *   seal 1 MiB          22.6 MB/s                 55.4 MB/s                    2.5×
 *   open 1 MiB          20.5 MB/s                 64.2 MB/s                    3.1×
 *
 * GCM needs one primitive where EtM needs two, but the only SM4-GCM here is pure JavaScript (OpenSSL 3.0 has none),
 * while OpenSSL's SM4-CBC and SM3 are native. Deriving the two CBC-HMAC keys with one HMAC rather than Node's full
 * `hkdfSync("sm3")` (about 7 µs against 30 µs here) saves about 30% of a 1 KiB seal. Envelopes of either algorithm
 * open.
 */
export const DEFAULT_ENVELOPE_ALGORITHM: EnvelopeAlgorithm = "SM4-CBC-HMAC-SM3";

/** The fields of an envelope, as {@link parseEnvelope} reads them (views into the envelope, not copies). */
export interface EnvelopeParts {
  version: number;
  algorithm: EnvelopeAlgorithm;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

interface Construction {
  id: number;
  name: EnvelopeAlgorithm;
  ivBytes: number;
  tagBytes: number;
  /** Whether `ciphertextBytes` is a possible ciphertext length. */
  validLength(ciphertextBytes: number): boolean;
  seal(key: Buffer, iv: Buffer, plaintext: Buffer, header: Buffer, aad: Buffer): { ciphertext: Buffer; tag: Buffer };
  /** Verifies the tag (in constant time) before decrypting; throws AUTHENTICATION_FAILED on mismatch. */
  open(key: Buffer, parts: EnvelopeParts, header: Buffer, aad: Buffer): Buffer;
}

/** HKDF-Expand info ‖ counter 0x01: the data key is already uniformly random, so no extract step. */
const CBC_HMAC_KEY_LABEL = Buffer.from("relief-ledger/envelope/v1/SM4-CBC-HMAC-SM3\x01", "latin1");

function cbcHmacKeys(dataKey: Buffer): { encKey: Buffer; macKey: Buffer } {
  const okm = createHmac("sm3", dataKey).update(CBC_HMAC_KEY_LABEL).digest();
  return { encKey: okm.subarray(0, SM4_KEY_BYTES), macKey: okm.subarray(SM4_KEY_BYTES) };
}

function cbcHmacTag(macKey: Buffer, aad: Buffer, header: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  const aadLength = Buffer.alloc(8);
  aadLength.writeBigUInt64BE(BigInt(aad.length));
  return createHmac("sm3", macKey).update(aadLength).update(aad).update(header).update(iv).update(ciphertext).digest();
}

const CBC_HMAC_SM3: Construction = {
  id: 0x01,
  name: "SM4-CBC-HMAC-SM3",
  ivBytes: 16,
  tagBytes: 32,
  validLength: (n) => n > 0 && n % SM4_BLOCK_BYTES === 0,
  seal(key, iv, plaintext, header, aad) {
    const { encKey, macKey } = cbcHmacKeys(key);
    const cipher = createCipheriv("sm4-cbc", encKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext, tag: cbcHmacTag(macKey, aad, header, iv, ciphertext) };
  },
  open(key, parts, header, aad) {
    const { encKey, macKey } = cbcHmacKeys(key);
    const expected = cbcHmacTag(macKey, aad, header, parts.iv, parts.ciphertext);
    if (!timingSafeEqual(expected, parts.tag)) throw authenticationFailed();
    try {
      const decipher = createDecipheriv("sm4-cbc", encKey, parts.iv);
      return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
    } catch (cause) {
      // Only a sealer holding the key can get here (the tag verified): its padding was wrong.
      throw new CryptoError("MALFORMED", "SM4-CBC padding is invalid under an authentic tag", { cause });
    }
  },
};

const GCM: Construction = {
  id: 0x02,
  name: "SM4-GCM",
  ivBytes: 12,
  tagBytes: 16,
  validLength: () => true,
  seal(key, iv, plaintext, header, aad) {
    return sm4GcmEncrypt(key, iv, plaintext, Buffer.concat([header, aad]));
  },
  open(key, parts, header, aad) {
    return sm4GcmDecrypt(key, parts.iv, parts.ciphertext, Buffer.concat([header, aad]), parts.tag);
  },
};

const CONSTRUCTIONS: readonly Construction[] = [CBC_HMAC_SM3, GCM];

function authenticationFailed(): CryptoError {
  return new CryptoError("AUTHENTICATION_FAILED", "envelope failed authentication (wrong key, wrong AAD or tampered)");
}

function checkKey(key: Uint8Array): Buffer {
  invariant(key instanceof Uint8Array && key.length === SM4_KEY_BYTES, "INVALID_KEY", "an SM4 key is 16 bytes");
  return toBuffer(key);
}

/** A fresh random data key from the CSPRNG. */
export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/**
 * Encrypts and authenticates `plaintext` under `dataKey`, binding `aad` (e.g. the record id: it is not stored in the
 * envelope, and opening needs the same value). A fresh random IV every call.
 */
export function sealData(
  dataKey: Uint8Array,
  plaintext: BytesLike,
  aad: BytesLike,
  options: { algorithm?: EnvelopeAlgorithm } = {},
): Buffer {
  const key = checkKey(dataKey);
  const construction = CONSTRUCTIONS.find((c) => c.name === (options.algorithm ?? DEFAULT_ENVELOPE_ALGORITHM));
  invariant(construction, "UNSUPPORTED", `unknown envelope algorithm ${String(options.algorithm)}`);
  const header = Buffer.from([ENVELOPE_VERSION, construction.id]);
  const iv = randomBytes(construction.ivBytes);
  const { ciphertext, tag } = construction.seal(key, iv, toBuffer(plaintext), header, toBuffer(aad));
  return Buffer.concat([header, iv, ciphertext, tag]);
}

/** Verifies and decrypts an envelope made by {@link sealData} with the same key and AAD. */
export function openData(dataKey: Uint8Array, envelope: Uint8Array, aad: BytesLike): Buffer {
  const key = checkKey(dataKey);
  const bytes = toBuffer(envelope);
  const parts = parseEnvelope(bytes);
  const construction = CONSTRUCTIONS.find((c) => c.name === parts.algorithm) as Construction;
  return construction.open(key, parts, bytes.subarray(0, 2), toBuffer(aad));
}

/**
 * Reads an envelope's version, algorithm and fields without any key, checking only the layout: throws
 * `UNSUPPORTED` for another version or algorithm and `MALFORMED` for impossible lengths.
 */
export function parseEnvelope(envelope: Uint8Array): EnvelopeParts {
  invariant(envelope instanceof Uint8Array, "MALFORMED", "an envelope is bytes");
  const bytes = toBuffer(envelope);
  invariant(bytes.length >= 2, "MALFORMED", "envelope too short");
  invariant(bytes[0] === ENVELOPE_VERSION, "UNSUPPORTED", `envelope version ${bytes[0]} is not supported`);
  const construction = CONSTRUCTIONS.find((c) => c.id === bytes[1]);
  invariant(construction, "UNSUPPORTED", `envelope algorithm 0x${bytes[1].toString(16)} is not supported`);
  const ciphertextBytes = bytes.length - 2 - construction.ivBytes - construction.tagBytes;
  invariant(
    ciphertextBytes >= 0 && construction.validLength(ciphertextBytes),
    "MALFORMED",
    `${construction.name} envelope has an impossible length (${bytes.length} bytes)`,
  );
  const ivEnd = 2 + construction.ivBytes;
  return {
    version: bytes[0],
    algorithm: construction.name,
    iv: bytes.subarray(2, ivEnd),
    ciphertext: bytes.subarray(ivEnd, ivEnd + ciphertextBytes),
    tag: bytes.subarray(ivEnd + ciphertextBytes),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw primitives. NOT FOR DATA: they are unauthenticated (ECB, CBC) or bare (GCM without an envelope). They exist
// for the known-answer tests, openssl interoperability and the constructions above; index.ts does not export them.
// ---------------------------------------------------------------------------------------------------------------

/**
 * NOT FOR DATA. The SM4 block permutation under `key`, one 16-byte block per call (an ECB context reused, which is
 * what makes GB/T 32907 example 2 — a million chained encryptions — take about a second).
 */
export function sm4EcbBlockEncryptor(key: Uint8Array): (block: Uint8Array) => Buffer {
  const cipher = createCipheriv("sm4-ecb", checkKey(key), null).setAutoPadding(false);
  return (block) => {
    invariant(block.length === SM4_BLOCK_BYTES, "INVALID_ARGUMENT", "an SM4 block is 16 bytes");
    return cipher.update(block);
  };
}

/** NOT FOR DATA. One SM4 block encrypted under `key` (GB/T 32907 example 1). */
export function sm4EcbEncryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  return sm4EcbBlockEncryptor(key)(block);
}

/** NOT FOR DATA (unauthenticated). SM4-CBC, with PKCS#7 padding unless `padding` is false. */
export function sm4CbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, padding = true): Buffer {
  invariant(iv.length === SM4_BLOCK_BYTES, "INVALID_ARGUMENT", "an SM4-CBC IV is 16 bytes");
  const cipher = createCipheriv("sm4-cbc", checkKey(key), iv).setAutoPadding(padding);
  try {
    return Buffer.concat([cipher.update(plaintext), cipher.final()]);
  } catch (cause) {
    throw new CryptoError("INVALID_ARGUMENT", "SM4-CBC without padding needs whole blocks", { cause });
  }
}

/** NOT FOR DATA (unauthenticated). Inverse of {@link sm4CbcEncrypt}. */
export function sm4CbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, padding = true): Buffer {
  invariant(iv.length === SM4_BLOCK_BYTES, "INVALID_ARGUMENT", "an SM4-CBC IV is 16 bytes");
  const decipher = createDecipheriv("sm4-cbc", checkKey(key), iv).setAutoPadding(padding);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new CryptoError("MALFORMED", "SM4-CBC ciphertext or padding is invalid", { cause });
  }
}

/**
 * Bare SM4-GCM encryption (RFC 8998) with sm-crypto-v2: a 12-byte IV that must never repeat under a key, a 16-byte
 * tag. Use {@link sealData} for data.
 */
export function sm4GcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  invariant(iv.length === 12, "INVALID_ARGUMENT", "an SM4-GCM IV is 12 bytes here");
  const result = sm4v2.encrypt(plaintext, checkKey(key), {
    mode: "gcm",
    iv,
    associatedData: aad,
    output: "array",
    outputTag: true,
  });
  invariant(result.tag && result.tag.length === 16, "INVALID_ARGUMENT", "SM4-GCM produced no tag");
  return { ciphertext: Buffer.from(result.output), tag: Buffer.from(result.tag) };
}

/**
 * Bare SM4-GCM decryption: verifies the 16-byte `tag` (sm-crypto-v2 compares in constant time) and throws
 * AUTHENTICATION_FAILED on mismatch. The tag is mandatory: sm-crypto-v2 decrypts WITHOUT checking anything when
 * its `tag` option is missing or an empty string.
 */
export function sm4GcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
  tag: Uint8Array,
): Buffer {
  invariant(iv.length === 12, "INVALID_ARGUMENT", "an SM4-GCM IV is 12 bytes here");
  invariant(tag instanceof Uint8Array && tag.length === 16, "AUTHENTICATION_FAILED", "an SM4-GCM tag is 16 bytes");
  const k = checkKey(key);
  try {
    return Buffer.from(sm4v2.decrypt(ciphertext, k, { mode: "gcm", iv, associatedData: aad, tag, output: "array" }));
  } catch (cause) {
    throw new CryptoError("AUTHENTICATION_FAILED", "SM4-GCM tag mismatch", { cause });
  }
}
