/**
 * The rows the store holds, as the rest of the gateway sees them. Timestamps are `Date`s here and integer epoch
 * milliseconds in the database (INTEGER in SQLite, BIGINT in PostgreSQL). Hex strings (digests, roots, transaction
 * hashes) are `0x` and lowercase hex, as ethers writes a bytes32. Nothing here is ever personal data in the clear:
 * personal data lives only inside sealed envelopes.
 */

/** A JSON value, for audit details and stored idempotent responses. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a record is. The known kinds are listed; the store accepts any non-empty kind (domain rules live above). */
export type RecordKind = "application" | "household" | "payment" | "settlement" | "decrypt-audit" | (string & {});

/** The classes of fields a wrapped data key opens (tiered access). */
export type FieldClass = "household" | "payment" | "identity" | "beneficiary";
export const FIELD_CLASSES: readonly FieldClass[] = ["household", "payment", "identity", "beneficiary"];

/** A sealed record as it is written. */
export interface NewRecord {
  id: string;
  kind: RecordKind;
  caseId: string;
  /** Administrative division code (GB/T 2260, or 12-digit statistical code; 0 is central). */
  regionCode: number;
  /** Version of the record's plaintext schema, so readers know how to parse what they open. */
  schemaVersion: number;
  /** The SM4 envelope from `sealData` (crypto/sm4.ts); the store checks that it parses as one. */
  envelope: Uint8Array;
  /**
   * The digest that is anchored on chain: `0x` + 64 lowercase hex digits. Sealed records: SM3 over a prefix, the header
   * and the envelope (gateway/src/records/sealing.ts), salted by the envelope's random data key; receipts: SM3 of the
   * signed receipt (gateway/src/receipts/receipt.ts). Never a plain hash of personal data.
   */
  digest: string;
}

/** A sealed record as it is stored. */
export interface StoredRecord extends Omit<NewRecord, "envelope"> {
  envelope: Buffer;
  createdAt: Date;
}

/** One wrapped copy of a record's data key, for one holder and one class of fields. */
export interface NewRecordKey {
  recordId: string;
  holderId: string;
  fieldClass: FieldClass;
  /** The data key wrapped to the holder (`wrapWithKek` or `wrapDataKey`, crypto/keys.ts). */
  wrappedKey: Uint8Array;
}

export interface RecordKey extends Omit<NewRecordKey, "wrappedKey"> {
  wrappedKey: Buffer;
  createdAt: Date;
}

export type OutboxStatus = "pending" | "anchored";

/**
 * A record's place in the anchoring queue. `anchorSequence` and `leafIndex` are set when the record is put into a
 * submitted anchor ({@link AnchorRow}); `txHash`, `blockNumber` and `anchoredAt` when that anchor is confirmed.
 */
export interface OutboxEntry {
  /** Order of enqueueing (claims are served in this order). */
  position: number;
  recordId: string;
  digest: string;
  regionCode: number;
  status: OutboxStatus;
  /** Times the entry was claimed. */
  attempts: number;
  /** Not claimable before this (lease of the current claim, or backoff after a failure). */
  nextAttemptAt: Date;
  enqueuedAt: Date;
  anchorSequence: number | null;
  leafIndex: number | null;
  txHash: string | null;
  blockNumber: number | null;
  anchoredAt: Date | null;
}

export type AnchorStatus = "submitted" | "confirmed";

/** An anchor the worker wrote on chain (or is about to): what it needs to reconcile with the chain after a crash. */
export interface AnchorRow {
  /** The anchor's number on chain (`IAnchorLog.anchor`'s `expectedSequence`). */
  sequence: number;
  /** Merkle root of the batch: `0x` + 64 lowercase hex digits. */
  root: string;
  recordCount: number;
  regionCode: number;
  status: AnchorStatus;
  txHash: string | null;
  blockNumber: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An audit log entry as it is appended. `details` must hold no personal data (ids, counts, codes only). */
export interface NewAuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  reason?: string | null;
  details?: JsonValue;
}

export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  reason: string | null;
  details: JsonValue;
}

/** A filter of the audit log; entries come oldest first. */
export interface AuditQuery {
  /** Entries at or after this time. */
  since?: Date;
  /** Entries before this time. */
  until?: Date;
  actor?: string;
  action?: string;
  target?: string;
  /** Entries with an id greater than this (paging). */
  afterId?: number;
  /** At most this many (default 100, at most 1,000). */
  limit?: number;
}

/** The stored response of an idempotent request. */
export interface IdempotentResponse {
  status: number;
  body: JsonValue;
}

/**
 * The answer of `getOrReserve(key, requestHash)`: the caller now owns the key (`reserved`: do the work, then
 * `completeIdempotency`, or `releaseIdempotency` if it failed without effect); another caller owns it and is not done
 * (`in-progress`); or the request was done and here is its response (`completed`: replay it).
 */
export type Reservation =
  | { outcome: "reserved" }
  | { outcome: "in-progress"; since: Date }
  | ({ outcome: "completed"; completedAt: Date } & IdempotentResponse);

export type HolderKeyStatus = "active" | "suspended" | "revoked";

/** A key holder (an institution's office): its SM2 public key and its SM4 key-encryption key, SM2-wrapped to it. */
export interface NewHolderKey {
  holderId: string;
  publicKeyPem: string;
  /** The holder's KEK wrapped to `publicKeyPem` with SM2 (`wrapDataKey`, crypto/keys.ts). */
  wrappedKek: Uint8Array;
  status?: HolderKeyStatus;
}

export interface HolderKey {
  holderId: string;
  publicKeyPem: string;
  wrappedKek: Buffer;
  status: HolderKeyStatus;
  createdAt: Date;
  rotatedAt: Date | null;
}

/** A migration applied to the database. */
export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: Date;
}
