/**
 * Sealed records with tiered access.
 *
 * A record's plaintext is a JSON value, sealed with a fresh SM4 data key (`sealData`, SM4-CBC + HMAC-SM3) whose
 * additional data binds the record's header, so an envelope opens only as the record it was sealed for. The data key
 * is wrapped under the KEK of each granted holder, once per field class granted (`wrapWithKek`, bound to record id
 * and class): SM2 is never used per record, only once per holder to unwrap its KEK (keys/keyring.ts). The store keeps
 * the header, the envelope, the wrapped keys and the digest; the digest is anchored on chain.
 *
 * Field classes are access labels on wrapped copies of one data key: a holder granted any class of a record can, with
 * its KEK, decrypt the whole envelope; `openRecord` hands out only what was granted. Fields that must be separated
 * cryptographically (identity from payment data, say) go in separate records, one per class.
 *
 * Byte layout, v1 (integers big-endian; `u32` 4 bytes, `u64` 8 bytes; strings UTF-8, no terminator):
 *
 *   header   = u32(len id) ‖ id ‖ u32(len kind) ‖ kind ‖ u32(len caseId) ‖ caseId ‖ u64(regionCode) ‖ u64(schemaVersion)
 *   digest   = "0x" ‖ hex(SM3("relief-record-v1" ‖ 0x00 ‖ header ‖ envelope))
 *   AAD      = "relief-record-v1" ‖ 0x00 ‖ header                              (sealData's additional data)
 *   key wrap = wrapWithKek(KEK, data key, "relief-record-key-v1" ‖ 0x00 ‖ id ‖ 0x00 ‖ fieldClass)
 *
 * The header is self-delimiting, so header ‖ envelope splits one way only. The digest needs no key: anyone with the
 * stored record recomputes it. It is a commitment salted by the data key (the envelope is ciphertext under a fresh
 * random key with a random IV), so nothing on chain can be tested against a guessed resident ID; and once every
 * wrapped key is destroyed (crypto-shredding) the digest, and every anchor of it, still verifies. Reproduce it with
 * openssl, for a record in shell variables and its envelope in envelope.bin:
 *
 *   u32() { printf '%08x' "$1" | xxd -r -p; }; u64() { printf '%016x' "$1" | xxd -r -p; }
 *   { printf 'relief-record-v1\0'
 *     u32 "$(printf %s "$id" | wc -c)"; printf %s "$id"
 *     u32 "$(printf %s "$kind" | wc -c)"; printf %s "$kind"
 *     u32 "$(printf %s "$caseId" | wc -c)"; printf %s "$caseId"
 *     u64 "$regionCode"; u64 "$schemaVersion"; cat envelope.bin; } | openssl dgst -sm3
 */
import { createHash, randomBytes } from "node:crypto";
import { CryptoError, generateDataKey, openData, sealData, unwrapWithKek, wrapWithKek } from "../crypto";
import type { Keyring } from "../keys";
import {
  FIELD_CLASSES,
  type FieldClass,
  type JsonValue,
  type NewRecord,
  type NewRecordKey,
  type RecordKind,
  type Store,
  type StoreData,
  type StoredRecord,
} from "../store";
import { RecordError } from "./errors";

/** What a record's digest and its envelope's AAD bind. */
export interface RecordHeader {
  id: string;
  kind: RecordKind;
  caseId: string;
  regionCode: number;
  schemaVersion: number;
}

/** One holder's access to one class of a record's fields. */
export interface Grant {
  holderId: string;
  fieldClass: FieldClass;
}

/** A sealed record and its wrapped keys, ready for {@link storeSealed}. */
export interface SealedRecord {
  record: NewRecord;
  keys: NewRecordKey[];
}

/** The domain-separation prefix of the digest input and of the envelope's AAD: "relief-record-v1" and a zero byte. */
export const RECORD_DIGEST_PREFIX = Buffer.from("relief-record-v1\0", "utf8");
const KEY_CONTEXT_LABEL = "relief-record-key-v1";

/** The store's limits on the header's strings (characters). */
const MAX_ID = 200;
const MAX_KIND = 64;
const MAX_CASE_ID = 200;
/** Nesting depth a payload may have. */
const MAX_DEPTH = 256;

const invalid = (message: string) => new RecordError("INVALID_ARGUMENT", message);

/** `value`'s UTF-8 length, after checking it is a non-empty, well-formed string of at most `max` characters. */
function checkString(value: unknown, name: string, max: number): number {
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    throw invalid(`${name} must be a non-empty string of at most ${max} characters`);
  }
  // A lone surrogate encodes as U+FFFD: two different strings would have one encoding.
  // (String.prototype.isWellFormed: Node 20, ES2024, newer than this project's `lib`.)
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw invalid(`${name} must be well-formed Unicode`);
  }
  return Buffer.byteLength(value, "utf8");
}

function checkInteger(value: unknown, name: string, min: number): bigint {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw invalid(`${name} must be an integer of at least ${min}`);
  }
  return BigInt(value as number);
}

/** The canonical header bytes (layout in the file comment). INVALID_ARGUMENT for a header the store would refuse. */
export function encodeRecordHeader(header: RecordHeader): Buffer {
  if (typeof header !== "object" || header === null) throw invalid("a record header is an object");
  const id = checkString(header.id, "record id", MAX_ID);
  const kind = checkString(header.kind, "record kind", MAX_KIND);
  const caseId = checkString(header.caseId, "caseId", MAX_CASE_ID);
  const regionCode = checkInteger(header.regionCode, "regionCode", 0);
  const schemaVersion = checkInteger(header.schemaVersion, "schemaVersion", 1);
  // One buffer, written in place (the audit sweep encodes a header for every record it checks).
  const out = Buffer.allocUnsafe(12 + id + kind + caseId + 16);
  let at = 0;
  for (const [text, length] of [
    [header.id, id],
    [header.kind, kind],
    [header.caseId, caseId],
  ] as const) {
    at = out.writeUInt32BE(length, at);
    at += out.write(text, at, length, "utf8");
  }
  at = out.writeBigUInt64BE(regionCode, at);
  out.writeBigUInt64BE(schemaVersion, at);
  return out;
}

function digestOf(headerBytes: Buffer, envelope: Uint8Array): string {
  // SM3 over the three parts in turn: the same digest as over their concatenation, without copying the envelope
  // (the audit sweep recomputes this for every record).
  return "0x" + createHash("sm3").update(RECORD_DIGEST_PREFIX).update(headerBytes).update(envelope).digest("hex");
}

function aadOf(headerBytes: Buffer): Buffer {
  return Buffer.concat([RECORD_DIGEST_PREFIX, headerBytes]);
}

/**
 * The anchored digest: "0x" + hex SM3("relief-record-v1" ‖ 0x00 ‖ header bytes ‖ envelope), layout in the file
 * comment. No key is needed; it commits to the plaintext only through the envelope, which is salted by its key.
 */
export function recordDigest(header: RecordHeader, envelope: Uint8Array): string {
  if (!(envelope instanceof Uint8Array) || envelope.length === 0) throw invalid("an envelope is non-empty bytes");
  return digestOf(encodeRecordHeader(header), envelope);
}

/** The context a record's data key is wrapped under for one field class. */
export function recordKeyContext(recordId: string, fieldClass: FieldClass): string {
  return `${KEY_CONTEXT_LABEL}\0${recordId}\0${fieldClass}`;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_BITS = 80n;
let lastTime = -1;
let lastRandom = 0n;

function base32(value: bigint, chars: number): string {
  let out = "";
  for (let i = 0; i < chars; i++) {
    out = CROCKFORD[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/**
 * A new record id: "rec_" + a ULID (26 Crockford base32 characters: 48 bits of milliseconds, then 80 random bits).
 * Ids sort by creation time; within one millisecond (or if the clock steps back) this process increments the random
 * part, so its ids are strictly increasing.
 */
export function newRecordId(): string {
  let time = Date.now();
  let random: bigint;
  if (time <= lastTime) {
    time = lastTime;
    random = lastRandom + 1n;
    if (random >> RANDOM_BITS !== 0n) {
      time += 1;
      random = BigInt("0x" + randomBytes(10).toString("hex"));
    }
  } else {
    random = BigInt("0x" + randomBytes(10).toString("hex"));
  }
  lastTime = time;
  lastRandom = random;
  return "rec_" + base32(BigInt(time), 10) + base32(random, 16);
}

/** `payload` as JSON text; INVALID_ARGUMENT for anything that would not come back the same from JSON.parse. */
function jsonText(payload: JsonValue): string {
  const check = (value: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) throw invalid(`a payload nests at most ${MAX_DEPTH} levels`);
    if (value === null || typeof value === "string" || typeof value === "boolean") return;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw invalid("a payload holds finite numbers only");
      return;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) check(value[i], depth + 1);
      return;
    }
    if (typeof value === "object") {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw invalid("a payload holds plain objects only");
      for (const item of Object.values(value)) check(item, depth + 1);
      return;
    }
    throw invalid(`a payload cannot hold a ${typeof value}`);
  };
  check(payload, 0);
  return JSON.stringify(payload);
}

function dedupeGrants(grants: Grant[]): Grant[] {
  if (!Array.isArray(grants) || grants.length === 0) throw invalid("a record needs at least one grant");
  const seen = new Map<string, Grant>();
  for (const grant of grants) {
    if (typeof grant?.holderId !== "string" || grant.holderId.length === 0) throw invalid("a grant names a holder");
    if (!FIELD_CLASSES.includes(grant.fieldClass)) {
      throw invalid(`a grant's field class is one of ${FIELD_CLASSES.join(", ")}`);
    }
    seen.set(`${grant.holderId}\0${grant.fieldClass}`, { holderId: grant.holderId, fieldClass: grant.fieldClass });
  }
  return [...seen.values()];
}

/**
 * Seals `payload` as a record with `header` (a new id from {@link newRecordId} unless given) for `grants`
 * (deduplicated; at least one). The holders' KEKs come from `keyring` (NO_SUCH_HOLDER / HOLDER_INACTIVE from there);
 * pass `data` (a transaction's `tx`) when sealing inside `store.transaction`. Nothing is stored: see
 * {@link storeSealed}.
 */
export async function sealRecord(
  keyring: Pick<Keyring, "kek">,
  header: Omit<RecordHeader, "id"> & { id?: string },
  payload: JsonValue,
  grants: Grant[],
  data?: StoreData,
): Promise<SealedRecord> {
  const full: RecordHeader = {
    id: header.id ?? newRecordId(),
    kind: header.kind,
    caseId: header.caseId,
    regionCode: header.regionCode,
    schemaVersion: header.schemaVersion,
  };
  const headerBytes = encodeRecordHeader(full);
  const unique = dedupeGrants(grants);
  const plaintext = Buffer.from(jsonText(payload), "utf8");

  const keks = new Map<string, Buffer>();
  const dataKey = generateDataKey();
  try {
    for (const { holderId } of unique) {
      if (!keks.has(holderId)) keks.set(holderId, await keyring.kek(holderId, data));
    }
    const envelope = sealData(dataKey, plaintext, aadOf(headerBytes));
    const keys: NewRecordKey[] = unique.map(({ holderId, fieldClass }) => ({
      recordId: full.id,
      holderId,
      fieldClass,
      wrappedKey: wrapWithKek(keks.get(holderId) as Buffer, dataKey, recordKeyContext(full.id, fieldClass)),
    }));
    return { record: { ...full, envelope, digest: digestOf(headerBytes, envelope) }, keys };
  } finally {
    dataKey.fill(0);
    plaintext.fill(0);
    for (const kek of keks.values()) kek.fill(0);
  }
}

/**
 * Stores a sealed record, its wrapped keys and its outbox entry. Call it inside `store.transaction` so that the
 * three commit together. CORRUPT if the record's digest does not match it; the store's errors otherwise (CONFLICT
 * for an id that exists).
 */
export async function storeSealed(tx: StoreData, sealed: SealedRecord): Promise<StoredRecord> {
  const { record, keys } = checkSealed(sealed);
  const stored = await tx.insertRecord(record);
  await tx.putRecordKeys(keys);
  await tx.enqueueAnchor(stored.id);
  return stored;
}

/**
 * {@link storeSealed} for many records at once (a bulk import): every record checked first (CORRUPT, INVALID_ARGUMENT
 * as there), then the records, all their wrapped keys and their outbox entries (queued in the order given) in a few
 * multi-row statements. Call it inside `store.transaction`. Returns the stored records in order.
 */
export async function storeSealedMany(tx: StoreData, sealed: SealedRecord[]): Promise<StoredRecord[]> {
  if (!Array.isArray(sealed)) throw invalid("sealed records come as an array");
  if (sealed.length === 0) return [];
  const checked = sealed.map(checkSealed);
  const stored = await tx.insertRecords(checked.map((s) => s.record));
  await tx.putRecordKeys(checked.flatMap((s) => s.keys));
  await tx.enqueueAnchors(stored.map((r) => r.id));
  return stored;
}

/** What {@link storeSealed} checks before storing: the digest matches, and the keys are the record's. */
function checkSealed(sealed: SealedRecord): SealedRecord {
  const { record, keys } = sealed;
  if (!digestMatches(record)) throw new RecordError("CORRUPT", `record ${record.id}: digest does not match`);
  if (!Array.isArray(keys) || keys.length === 0) throw invalid("a sealed record has at least one wrapped key");
  if (keys.some((key) => key.recordId !== record.id)) throw invalid("every wrapped key is the record's");
  return sealed;
}

/**
 * Opens `record` as `holderId` for `fieldClass` and returns its payload. NO_ACCESS if that holder has no key of
 * that class for it; SHREDDED if the record has no keys left at all; CORRUPT if the digest does not match the header
 * and envelope, or the wrapped key or envelope fails authentication. The holder's KEK comes from `keyring`
 * (NO_SUCH_HOLDER / HOLDER_INACTIVE). `data` may be a transaction's `tx`. The caller logs the decryption (who, why).
 */
export async function openRecord(
  keyring: Pick<Keyring, "kek">,
  data: StoreData | Store,
  record: StoredRecord,
  holderId: string,
  fieldClass: FieldClass,
): Promise<JsonValue> {
  const key = await data.getRecordKey(record.id, holderId, fieldClass);
  if (!key) {
    if ((await data.listRecordKeys(record.id)).length === 0) {
      throw new RecordError("SHREDDED", `record ${record.id} has been crypto-shredded`);
    }
    throw new RecordError("NO_ACCESS", `holder ${holderId} has no ${fieldClass} key for record ${record.id}`);
  }
  const corrupt = (what: string, cause?: unknown) =>
    new RecordError("CORRUPT", `record ${record.id}: ${what}`, cause === undefined ? undefined : { cause });

  let headerBytes: Buffer;
  try {
    headerBytes = encodeRecordHeader(record);
  } catch (error) {
    throw corrupt("malformed header", error);
  }
  if (!(record.envelope instanceof Uint8Array) || digestOf(headerBytes, record.envelope) !== record.digest) {
    throw corrupt("digest does not match its header and envelope");
  }

  const kek = await keyring.kek(holderId, data);
  let dataKey: Buffer;
  try {
    dataKey = unwrapWithKek(kek, key.wrappedKey, recordKeyContext(record.id, fieldClass));
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    throw corrupt(`the ${fieldClass} key of holder ${holderId} fails authentication`, error);
  } finally {
    kek.fill(0);
  }
  let plaintext: Buffer;
  try {
    plaintext = openData(dataKey, record.envelope, aadOf(headerBytes));
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    throw corrupt("envelope fails authentication", error);
  } finally {
    dataKey.fill(0);
  }
  try {
    return JSON.parse(plaintext.toString("utf8")) as JsonValue;
  } catch (error) {
    throw corrupt("payload is not JSON", error);
  } finally {
    plaintext.fill(0);
  }
}

/** Whether a record's digest matches its header and envelope (no keys needed). False for a malformed record. */
export function digestMatches(record: StoredRecord | NewRecord): boolean {
  try {
    return recordDigest(record, record.envelope) === record.digest;
  } catch (error) {
    if (error instanceof RecordError) return false;
    throw error;
  }
}
