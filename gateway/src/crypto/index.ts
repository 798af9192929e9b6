/**
 * National cryptography for the gateway: SM3 digests and MACs, SM4 authenticated envelopes, SM2 keys, signatures
 * and encryption, and the key wrapping of the key hierarchy. Every failure is a {@link CryptoError} with a `code`.
 *
 * The raw, unauthenticated SM4 primitives in sm4.ts (ECB block, bare CBC, bare GCM) are deliberately not exported
 * here: data goes through {@link sealData} / {@link openData}.
 */
export { type CryptoErrorCode, CryptoError } from "./errors";
export { type BytesLike } from "./bytes";
export { SM3_DIGEST_BYTES, hkdfSm3, hmacSm3, sm3 } from "./sm3";
export {
  DATA_KEY_BYTES,
  DEFAULT_ENVELOPE_ALGORITHM,
  ENVELOPE_VERSION,
  type EnvelopeAlgorithm,
  type EnvelopeParts,
  generateDataKey,
  openData,
  parseEnvelope,
  sealData,
} from "./sm4";
export {
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
} from "./sm2";
export { keyDigest, unwrapDataKey, unwrapWithKek, wrapDataKey, wrapWithKek } from "./keys";
