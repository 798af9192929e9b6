/**
 * The key hierarchy's wrapping. Every record (or every class of its fields) is sealed with a fresh SM4 data key
 * (sm4.ts). The data key is wrapped for each holder entitled to open it:
 *
 * - to the holder's SM2 public key ({@link wrapDataKey}: a GM/T 0009 ciphertext `openssl pkeyutl -decrypt` reads), or
 * - under the holder's SM4 key-encryption key ({@link wrapWithKek}: an SM4 envelope whose AAD binds a context such as
 *   record id and field class), the KEK itself SM2-wrapped once. This keeps SM2 off the per-record path: one core
 *   here does about 130–200 SM2 encryptions or decryptions per second (1,000 encryptions to a precomputed key), and
 *   about 20,000 SM4 envelopes of 1 KiB (bench/crypto.ts).
 *
 * Rotating a holder's SM2 key re-wraps its KEK, not the records. Destroying every wrapped copy of a data key makes
 * what it sealed unrecoverable while the record's digest, and so every anchor, still verifies (crypto-shredding).
 *
 * {@link keyDigest} is what `InstitutionRegistry` stores as `keyDigest`: SM3 of the SPKI DER of the holder's public
 * key. Reproduce it: `openssl pkey -pubin -in pub.pem -outform DER | openssl dgst -sm3`.
 */
import { type BytesLike, toBuffer } from "./bytes";
import { invariant } from "./errors";
import { Sm2PrivateKey, Sm2PublicKey, sm2Decrypt, sm2Encrypt } from "./sm2";
import { sm3 } from "./sm3";
import { DATA_KEY_BYTES, SM4_KEY_BYTES, openData, sealData } from "./sm4";

/** Domain separation of KEK wrapping from data sealing: the AAD is this label, a zero byte, then the context. */
const KEK_WRAP_LABEL = Buffer.from("relief-ledger/kek-wrap/v1\0", "utf8");

function checkKeyLength(key: Uint8Array, what: string): void {
  invariant(
    key instanceof Uint8Array && key.length >= 16 && key.length <= 64,
    "INVALID_KEY",
    `${what} is 16..64 bytes`,
  );
}

/** The data key encrypted to `holder` with SM2: a GM/T 0009 ASN.1 ciphertext. */
export function wrapDataKey(dataKey: Uint8Array, holder: Sm2PublicKey): Buffer {
  checkKeyLength(dataKey, "a wrapped key");
  return sm2Encrypt(holder, dataKey);
}

/**
 * The data key that {@link wrapDataKey} wrapped for this holder. Throws CryptoError (AUTHENTICATION_FAILED for a key
 * wrapped to someone else or altered, INVALID_KEY if the result is not `keyBytes` long).
 */
export function unwrapDataKey(wrapped: Uint8Array, holder: Sm2PrivateKey, keyBytes = DATA_KEY_BYTES): Buffer {
  const key = sm2Decrypt(holder, wrapped);
  invariant(key.length === keyBytes, "INVALID_KEY", `the unwrapped key is ${key.length} bytes, not ${keyBytes}`);
  return key;
}

/** The data key sealed under the holder's SM4 key-encryption key, bound to `context` (e.g. record id and class). */
export function wrapWithKek(kek: Uint8Array, dataKey: Uint8Array, context: BytesLike): Buffer {
  checkKeyLength(dataKey, "a wrapped key");
  return sealData(kek, dataKey, Buffer.concat([KEK_WRAP_LABEL, toBuffer(context)]));
}

/** The data key that {@link wrapWithKek} sealed; the same KEK and context are needed. */
export function unwrapWithKek(
  kek: Uint8Array,
  wrapped: Uint8Array,
  context: BytesLike,
  keyBytes = SM4_KEY_BYTES,
): Buffer {
  const key = openData(kek, wrapped, Buffer.concat([KEK_WRAP_LABEL, toBuffer(context)]));
  invariant(key.length === keyBytes, "INVALID_KEY", `the unwrapped key is ${key.length} bytes, not ${keyBytes}`);
  return key;
}

/**
 * SM3 of the public key's SPKI DER, as `0x` and 64 hex digits (a bytes32 for `InstitutionRegistry`). A PEM is parsed
 * and re-encoded first, so line breaks or a different PEM wrapping of the same key give the same digest.
 */
export function keyDigest(publicKey: Sm2PublicKey | string): string {
  const key = typeof publicKey === "string" ? Sm2PublicKey.fromPem(publicKey) : publicKey;
  return "0x" + sm3(key.toSpkiDer()).toString("hex");
}
