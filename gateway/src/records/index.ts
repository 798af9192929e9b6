/**
 * Sealed records with tiered access: SM4 envelopes whose data keys are wrapped under holders' KEKs per field class,
 * and the anchored digest. Every failure is a {@link RecordError} with a `code`.
 */
export { type RecordErrorCode, RecordError } from "./errors";
export {
  type Grant,
  RECORD_DIGEST_PREFIX,
  type RecordHeader,
  type SealedRecord,
  digestMatches,
  encodeRecordHeader,
  newRecordId,
  openRecord,
  recordDigest,
  recordKeyContext,
  sealRecord,
  storeSealed,
  storeSealedMany,
} from "./sealing";
