/**
 * The off-chain store of the gateway, as the rest of the gateway uses it. Two implementations share one logical
 * schema and one implementation of these methods (tables/): SQLite (sqlite.ts, the embedded default) and PostgreSQL
 * (postgres.ts). `openStore` (open.ts) picks one.
 *
 * Every method is async and every failure is a `StoreError` with a stable `code` (errors.ts). The store holds no
 * domain rules: it checks the shape of what it stores (a digest is a bytes32, an envelope parses as an SM4 envelope)
 * and keeps its own invariants (the audit log is append-only and kept 180 days, an outbox entry is anchored once),
 * nothing more.
 */
import type {
  AnchorRow,
  AppliedMigration,
  AuditEntry,
  AuditQuery,
  FieldClass,
  HolderKey,
  HolderKeyStatus,
  IdempotentResponse,
  JsonValue,
  NewAuditEntry,
  NewHolderKey,
  NewRecord,
  NewRecordKey,
  OutboxEntry,
  RecordKey,
  RecordKind,
  Reservation,
  StoredRecord,
} from "./types";
import type {
  ApiKeyRow,
  BeneficiaryCodeRow,
  BeneficiarySessionRow,
  CaseIndexRow,
  CaseIndexStatus,
  CaseQuery,
  InstitutionRow,
  NewApiKey,
  NewCaseIndex,
  NewInstitution,
  NewPayout,
  NewPayoutRun,
  NewReceipt,
  PayoutQuery,
  PayoutRow,
  PayoutRowStatus,
  PayoutRunRow,
  PayoutRunStatus,
  ReceiptRow,
} from "./gateway-types";
import type { LeafCursor, ReceiptContent, ScannedEntry, UnqueuedRecord } from "./tables/scan";
import type { VouchersData } from "./voucher-types";

export type Dialect = "sqlite" | "postgres";

/** Sealed records. Records are never updated or deleted: their digests are anchored. */
export interface RecordsData {
  /** Stores a sealed record. CONFLICT if the id exists; INVALID_ARGUMENT if the envelope or digest is malformed. */
  insertRecord(record: NewRecord): Promise<StoredRecord>;
  /**
   * Stores many sealed records, all or none, in a few multi-row statements (bulk import), each row checked as
   * `insertRecord` checks it (a refusal names the row: `records[3]: digest …`). CONFLICT if an id exists or repeats.
   * Returns the stored records in order; they share one creation time.
   */
  insertRecords(records: NewRecord[]): Promise<StoredRecord[]>;
  getRecord(id: string): Promise<StoredRecord | undefined>;
  /** Records matching every given filter, oldest first (default limit 100, at most 1,000). */
  listRecords(filter: {
    caseId?: string;
    regionCode?: number;
    kind?: RecordKind;
    limit?: number;
  }): Promise<StoredRecord[]>;
}

/** Wrapped data keys: who can open which class of which record's fields. */
export interface RecordKeysData {
  /**
   * Stores wrapped keys, all or none, in a few multi-row statements. NOT_FOUND if a record is missing; CONFLICT if a
   * (record, holder, class) exists or repeats in `keys`.
   */
  putRecordKeys(keys: NewRecordKey[]): Promise<void>;
  getRecordKey(recordId: string, holderId: string, fieldClass: FieldClass): Promise<RecordKey | undefined>;
  /** A record's wrapped keys, of one holder if `holderId` is given. */
  listRecordKeys(recordId: string, holderId?: string): Promise<RecordKey[]>;
  /**
   * Crypto-shredding: deletes every wrapped key of every record of the case and returns how many. The records, their
   * digests and anchors stay; their envelopes can no longer be opened by anyone. On SQLite the deleted bytes are
   * overwritten (`secure_delete`) and the WAL is truncated after the commit.
   */
  shredKeys(caseId: string): Promise<number>;
}

/**
 * The anchoring queue. A worker claims pending entries in order, puts a batch into an anchor ({@link AnchorsData}),
 * and confirms it; an entry is anchored once.
 */
export interface OutboxData {
  /** Queues a record for anchoring (call it in the same transaction as `insertRecord`). CONFLICT if queued already. */
  enqueueAnchor(recordId: string): Promise<OutboxEntry>;
  /**
   * Queues many records, all or none, in the order given (call it in the same transaction as `insertRecords`).
   * NOT_FOUND if a record is missing; CONFLICT if one is queued already or repeats. Returns the entries in order.
   */
  enqueueAnchors(recordIds: string[]): Promise<OutboxEntry[]>;
  /**
   * Claims up to `limit` pending entries that are in no anchor and due, in queue order, and leases them for
   * `leaseMs` (they are not claimable again before that, so two claimers never get the same entry while a lease
   * runs). Increments `attempts`. PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time.
   */
  claimOutbox(options: { limit: number; leaseMs: number; regionCode?: number }): Promise<OutboxEntry[]>;
  /** Makes pending entries claimable again at `at` (backoff after a failed attempt). Returns how many. */
  rescheduleOutbox(recordIds: string[], at: Date): Promise<number>;
  /** The record's anchoring status and proof coordinates, or undefined if it was never queued. */
  getAnchoringStatus(recordId: string): Promise<OutboxEntry | undefined>;
  /** The entries of anchor `sequence`, by leaf index (the leaves of its Merkle tree). */
  listAnchorLeaves(sequence: number): Promise<OutboxEntry[]>;
}

/**
 * Anchors, so that a worker can reconcile with the chain after a crash:
 * `beginAnchor` (before sending) → `setAnchorTransaction` (once sent) → `confirmAnchor` (once mined), or
 * `abandonAnchor` if the chain does not have it.
 */
export interface AnchorsData {
  /**
   * Records anchor `sequence` as submitted with these records as its leaves, in order (leaf index = position in
   * `recordIds`). Every record must be a pending outbox entry of `regionCode` in no other anchor (else CONFLICT,
   * and nothing is written); CONFLICT too if the sequence exists.
   */
  beginAnchor(anchor: { sequence: number; root: string; regionCode: number; recordIds: string[] }): Promise<AnchorRow>;
  /** Notes the transaction that carries a submitted anchor. NOT_FOUND / CONFLICT if not submitted. */
  setAnchorTransaction(sequence: number, txHash: string): Promise<AnchorRow>;
  /**
   * Marks anchor `sequence` confirmed and its entries anchored, with the transaction and block (the last proof
   * coordinates). Returns the number of entries marked. Confirming an anchor confirmed with the same transaction
   * and block again returns 0; with other ones, CONFLICT.
   */
  confirmAnchor(sequence: number, at: { txHash: string; blockNumber: number }): Promise<number>;
  /**
   * Forgets anchor `sequence` (the chain lost it or never got it): its entries become pending, in no anchor and due
   * now. Returns how many entries were released. NOT_FOUND if there is no such anchor.
   */
  abandonAnchor(sequence: number): Promise<number>;
  getAnchor(sequence: number): Promise<AnchorRow | undefined>;
  /** Anchors by sequence, optionally of one status (default limit 100, at most 1,000). */
  listAnchors(filter?: { status?: AnchorRow["status"]; limit?: number }): Promise<AnchorRow[]>;
}

/** Minimum age in days of audit entries that {@link AuditData.purgeAudit} deletes. */
export const AUDIT_RETENTION_MIN_DAYS = 180;

/** The audit log: append-only (the database refuses updates, and deletes of entries younger than 180 days). */
export interface AuditData {
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Appends many entries, all or none, in the order given (one time for all); returns them in order. */
  appendAudits(entries: NewAuditEntry[]): Promise<AuditEntry[]>;
  listAudit(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes entries older than `olderThanDays` days; INVALID_ARGUMENT if that is under 180. Returns how many. */
  purgeAudit(olderThanDays: number): Promise<number>;
}

/**
 * Idempotency keys. Scope keys by caller (e.g. `institution:key`) before passing them: the store compares them as
 * given.
 */
export interface IdempotencyData {
  /**
   * The first caller of a key reserves it; callers with the same key and request hash then get `in-progress` or the
   * stored response; a caller with the same key and another request hash gets CONFLICT.
   */
  getOrReserve(key: string, requestHash: string): Promise<Reservation>;
  /** Stores the response of a reserved key. NOT_FOUND if not reserved; CONFLICT if another hash or already done. */
  completeIdempotency(key: string, requestHash: string, response: IdempotentResponse): Promise<void>;
  /** Drops a reservation that is not completed (the request failed with no effect), so the key can be reused. */
  releaseIdempotency(key: string, requestHash: string): Promise<boolean>;
  /**
   * Takes over the pending reservation made at `since` whose maker is gone (it died, or could not release it):
   * true for exactly one caller, who then holds it (reserved anew, now); false if it is no longer that reservation.
   */
  takeOverIdempotency(key: string, requestHash: string, since: Date): Promise<boolean>;
  /** Deletes keys created before `before`. Returns how many. */
  purgeIdempotency(before: Date): Promise<number>;
}

/** The holders' keys: SM2 public key and SM2-wrapped KEK, for the key hierarchy. */
export interface HolderKeysData {
  /** Registers a holder. CONFLICT if it exists. */
  putHolderKey(key: NewHolderKey): Promise<HolderKey>;
  /** Replaces the holder's public key and re-wrapped KEK (records are not re-encrypted). NOT_FOUND if unknown. */
  rotateHolderKey(holderId: string, key: { publicKeyPem: string; wrappedKek: Uint8Array }): Promise<HolderKey>;
  setHolderKeyStatus(holderId: string, status: HolderKeyStatus): Promise<HolderKey>;
  getHolderKey(holderId: string): Promise<HolderKey | undefined>;
  listHolderKeys(filter?: { status?: HolderKeyStatus }): Promise<HolderKey[]>;
}

/** The institutions the gateway acts for, and API keys. */
export interface InstitutionsData {
  /** CONFLICT if the id or the account exists. */
  putInstitution(institution: NewInstitution): Promise<InstitutionRow>;
  getInstitution(id: string): Promise<InstitutionRow | undefined>;
  getInstitutionByAccount(account: string): Promise<InstitutionRow | undefined>;
  /** Institutions by id; filters combine (`containingRegion`: institutions whose region contains this one). */
  listInstitutions(filter?: {
    role?: number;
    containingRegion?: number;
    activeOnly?: boolean;
  }): Promise<InstitutionRow[]>;
  setInstitutionActive(id: string, active: boolean): Promise<InstitutionRow>;
  /** CONFLICT if the key id exists; NOT_FOUND if the institution does not. */
  putApiKey(key: NewApiKey): Promise<ApiKeyRow>;
  getApiKey(keyId: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(filter?: { institutionId?: string | null }): Promise<ApiKeyRow[]>;
  /** Marks the key revoked (idempotent). NOT_FOUND if there is none. */
  revokeApiKey(keyId: string): Promise<ApiKeyRow>;
}

/** The index of cases taken in through the gateway (ids, region, programme, pseudonym, last known status). */
export interface CasesData {
  /** CONFLICT if the case id exists. */
  putCase(entry: NewCaseIndex): Promise<CaseIndexRow>;
  /** Indexes many cases, all or none (one time for all). CONFLICT if a case id exists or repeats. Rows in order. */
  putCases(entries: NewCaseIndex[]): Promise<CaseIndexRow[]>;
  getCase(caseId: string): Promise<CaseIndexRow | undefined>;
  listCases(query?: CaseQuery): Promise<CaseIndexRow[]>;
  /**
   * Every case of any of these pseudonyms (all regions, no limit), by case id: a bulk import's exclusion check in a
   * few statements instead of one `listCases` per household.
   */
  listCasesOfPseudonyms(pseudonyms: string[]): Promise<CaseIndexRow[]>;
  /** NOT_FOUND if there is no such case. */
  setCaseStatus(caseId: string, status: CaseIndexStatus): Promise<CaseIndexRow>;
}

/** Payout runs and the payouts they (or event payouts) made. */
export interface PayoutsData {
  /** CONFLICT if the run id exists. Status `pending`. */
  putPayoutRun(run: NewPayoutRun): Promise<PayoutRunRow>;
  getPayoutRun(runId: string): Promise<PayoutRunRow | undefined>;
  listPayoutRuns(filter?: { status?: PayoutRunStatus; limit?: number }): Promise<PayoutRunRow[]>;
  /** Sets status and progress. NOT_FOUND if there is no such run. */
  updatePayoutRun(
    runId: string,
    update: {
      status: PayoutRunStatus;
      listed?: number;
      paid?: number;
      skipped?: number;
      total?: bigint;
      result?: JsonValue;
      errorCode?: string | null;
    },
  ): Promise<PayoutRunRow>;
  /**
   * Records payouts the chain made, all or none. A payout id that exists already is left as it is (a replayed run
   * records nothing twice); returns how many were inserted.
   */
  putPayouts(payouts: NewPayout[]): Promise<number>;
  getPayout(payoutId: string): Promise<PayoutRow | undefined>;
  listPayouts(query?: PayoutQuery): Promise<PayoutRow[]>;
  /**
   * Sets a payout's status after settlement (`settled`), failure (`failed`), or a re-payment after a failure
   * (`paid`, with the new transaction). NOT_FOUND if there is none.
   */
  setPayoutStatus(
    payoutId: string,
    update: { status: PayoutRowStatus; bankRefDigest?: string | null; txHash?: string; blockNumber?: number },
  ): Promise<PayoutRow>;
}

/** Beneficiaries' one-time codes and sessions, and the receipts the gateway signed. */
export interface BeneficiaryData {
  /** Issues (or replaces) the pseudonym's code: failures reset, lock kept if it is still running. */
  putBeneficiaryCode(code: { pseudonym: string; codeDigest: string; expiresAt: Date }): Promise<BeneficiaryCodeRow>;
  getBeneficiaryCode(pseudonym: string): Promise<BeneficiaryCodeRow | undefined>;
  /** Counts a failed attempt; locks until `lockUntil` when given. Returns the updated row. NOT_FOUND if none. */
  recordCodeFailure(pseudonym: string, lockUntil: Date | null): Promise<BeneficiaryCodeRow>;
  /** Deletes the code (it was used). Returns whether one was deleted. */
  consumeBeneficiaryCode(pseudonym: string, codeDigest: string): Promise<boolean>;
  putBeneficiarySession(session: {
    tokenDigest: string;
    pseudonym: string;
    expiresAt: Date;
  }): Promise<BeneficiarySessionRow>;
  getBeneficiarySession(tokenDigest: string): Promise<BeneficiarySessionRow | undefined>;
  deleteBeneficiarySession(tokenDigest: string): Promise<boolean>;
  /** CONFLICT if the payout has a receipt. */
  putReceipt(receipt: NewReceipt): Promise<ReceiptRow>;
  getReceipt(payoutId: string): Promise<ReceiptRow | undefined>;
  listReceipts(filter: { caseId: string }): Promise<ReceiptRow[]>;
  /** Notes the attestation transaction. NOT_FOUND if there is no receipt. */
  setReceiptTransaction(payoutId: string, txHash: string): Promise<ReceiptRow>;
}

/**
 * Read-only paged scans for the audit sweep (tables/scan.ts): pages of at most 5,000 rows (the default), each call one
 * statement. They read rows as they are, without checking them.
 */
export interface ScanData {
  /**
   * Outbox entries in an anchor, with their record (null if gone) and case programme, by (anchor sequence, leaf
   * index): those with `fromSequence` ≤ sequence ≤ `throughSequence`, after the cursor `after`.
   */
  scanAnchoredLeaves(query?: {
    after?: LeafCursor;
    fromSequence?: number;
    throughSequence?: number;
    limit?: number;
  }): Promise<ScannedEntry[]>;
  /** Outbox entries in no anchor (queued), with their records, by queue position after `afterPosition`. */
  scanQueuedEntries(query?: { afterPosition?: number; withinRegion?: number; limit?: number }): Promise<ScannedEntry[]>;
  /** Records that have no outbox entry at all, by id after `afterId`. */
  scanUnqueuedRecords(query?: { afterId?: string; withinRegion?: number; limit?: number }): Promise<UnqueuedRecord[]>;
  /** Anchors by sequence after `afterSequence` (any status). */
  scanAnchors(query?: { afterSequence?: number; limit?: number }): Promise<AnchorRow[]>;
  /** The receipts (canonical text, signature) of these receipt records (at most 5,000); missing ones are left out. */
  receiptContents(records: { recordId: string; caseId: string }[]): Promise<ReceiptContent[]>;
}

/** Every data method; a transaction's `tx` has exactly these. */
export interface StoreData
  extends
    RecordsData,
    RecordKeysData,
    OutboxData,
    AnchorsData,
    AuditData,
    IdempotencyData,
    HolderKeysData,
    InstitutionsData,
    CasesData,
    PayoutsData,
    BeneficiaryData,
    ScanData,
    VouchersData {}

export interface Store extends StoreData {
  readonly dialect: Dialect;
  /**
   * Runs `fn(tx)` atomically: everything done through `tx` commits if `fn` resolves and rolls back if it throws. If
   * a `tx` method fails, the transaction is spoiled: later `tx` calls throw that error again and the transaction
   * rolls back even if `fn` caught it. Inside `fn`, use `tx`, not the store (that throws INTERNAL: on SQLite it would
   * wait for the transaction it is in). Do not keep `tx` after `fn` returns.
   *
   * SQLite: better-sqlite3 is synchronous and has one connection, so the transaction holds the whole store until
   * `fn` settles and every other call waits its turn. `fn` may await, but should not await slow things (the chain,
   * the network) inside a transaction. PostgreSQL: one pooled connection, `BEGIN … COMMIT`, READ COMMITTED, with
   * row locks and unique keys where concurrency matters.
   */
  transaction<T>(fn: (tx: StoreData) => Promise<T> | T): Promise<T>;
  /** Applies the migrations not yet applied, in order, in one transaction; returns their versions. */
  migrate(): Promise<number[]>;
  appliedMigrations(): Promise<AppliedMigration[]>;
  /** Waits for running work and closes the database. */
  close(): Promise<void>;
}
