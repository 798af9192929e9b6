/**
 * The sweep's records check (gateway/src/audit/sweep/records.ts): a clean store reports nothing; each kind of
 * tampering, done directly in the database (or on the chain), is reported as exactly that kind, at exactly that record,
 * leaf or anchor, and nothing else.
 *
 * Two setups:
 * - a real gateway (anvil, SQLite) with ~20 cases of two programmes in two regions, anchored by an AnchoringWorker;
 *   every tamper works on a copy of its database file, checked against the real chain;
 * - random small stores (fast-check) on SQLite and PostgreSQL with an in-memory anchor log, so that each run has a
 *   fresh store and a chain of its own, and a random single tamper of a random kind.
 */
import { expect } from "chai";
import Database from "better-sqlite3";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { AnchoringWorker } from "../../../gateway/src/anchoring";
import { type RecordsCheckSource, checkRecords, collectRecordsCheck } from "../../../gateway/src/audit/sweep/records";
import type { SweepException, SweepProgress, SweepScope } from "../../../gateway/src/audit/sweep/types";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import type { AnchorRecord, AnchorSubmission, Ledger } from "../../../gateway/src/ledger";
import { receiptDigest } from "../../../gateway/src/receipts/receipt";
import { type Grant, sealRecord } from "../../../gateway/src/records";
import { type Dialect, type Store, openSqliteStore } from "../../../gateway/src/store";
import { type TestGateway, startTestGateway } from "../api/harness";
import { type StoreHarness, postgresHarness, sqliteHarness } from "../store/harness";

const DATABASE_URL = process.env.DATABASE_URL;
const TOWNSHIP = 110105001000;
const FENGTAI = 110106;

const hex32 = () => "0x" + randomBytes(32).toString("hex");

// ---- Building a store -------------------------------------------------------------------------------------------

interface CaseSpec {
  programmeId: number;
  regionCode: number;
  /** Sealed records of the case (the first is its application). */
  records: number;
  /** Also a receipt record, as beneficiary/receipts.ts writes it. */
  receipt: boolean;
}

interface BuiltRecord {
  id: string;
  caseId: string;
  kind: string;
  programmeId: number;
  regionCode: number;
}

type KekSource = Parameters<typeof sealRecord>[0];

/** A KEK source for stores without a keyring: every holder has the same (test) KEK, a fresh copy per call. */
const testKeks: KekSource = { kek: async () => Buffer.alloc(16, 7) };

/** Seals and stores the cases' records (indexed in the case index), in order; returns them. */
async function addCases(store: Store, keks: KekSource, grants: Grant[], cases: CaseSpec[]): Promise<BuiltRecord[]> {
  const built: BuiltRecord[] = [];
  for (const spec of cases) {
    const caseId = hex32();
    const ids: string[] = [];
    await store.transaction(async (tx) => {
      for (let i = 0; i < spec.records; i++) {
        const kind = i === 0 ? "application" : "household";
        const sealed = await sealRecord(
          keks,
          { kind, caseId, regionCode: spec.regionCode, schemaVersion: 1 },
          { n: i, note: "測試" },
          grants,
          tx,
        );
        await tx.insertRecord(sealed.record);
        await tx.putRecordKeys(sealed.keys);
        await tx.enqueueAnchor(sealed.record.id);
        ids.push(sealed.record.id);
        built.push({ id: sealed.record.id, caseId, kind, programmeId: spec.programmeId, regionCode: spec.regionCode });
      }
      await tx.putCase({
        caseId,
        programmeId: spec.programmeId,
        regionCode: spec.regionCode,
        pseudonym: hex32(),
        submitter: "township-caseworker",
        applicationRecordId: ids[0] ?? "none",
        status: "submitted",
      });
      if (spec.receipt) {
        const canonical = JSON.stringify({
          format: "relief-receipt-v1",
          caseId,
          nonce: randomBytes(4).toString("hex"),
        });
        const signature = randomBytes(72).toString("base64");
        const sealed = await sealRecord(
          keks,
          { kind: "receipt", caseId, regionCode: spec.regionCode, schemaVersion: 1 },
          { canonical, signature },
          grants,
          tx,
        );
        const record = await tx.insertRecord({ ...sealed.record, digest: receiptDigest(canonical, signature) });
        await tx.putRecordKeys(sealed.keys);
        await tx.enqueueAnchor(record.id);
        await tx.putReceipt({
          payoutId: `${caseId}:${built.length}:0x${"00".repeat(32)}`,
          caseId,
          outcome: "confirmed",
          recordId: record.id,
          receiptJson: canonical,
          signature,
          txHash: null,
        });
        built.push({
          id: record.id,
          caseId,
          kind: "receipt",
          programmeId: spec.programmeId,
          regionCode: spec.regionCode,
        });
      }
    });
  }
  return built;
}

/** Anchors everything queued, `batchSize` records per anchor. */
async function anchorAll(store: Store, ledger: Ledger, batchSize: number): Promise<void> {
  const worker = new AnchoringWorker({ store, ledger, actor: GATEWAY_ACTORS.anchorer, batchSize });
  const round = await worker.runOnce();
  if (round.unavailable) throw round.unavailable;
}

/** An in-memory AnchorLog: what the worker sends and the check reads. */
class MemoryAnchorLog {
  readonly anchors: AnchorRecord[] = [];
  #block = 100;

  async anchorCount(): Promise<number> {
    return this.anchors.length;
  }

  async totalRecords(): Promise<number> {
    return this.anchors.reduce((sum, a) => sum + a.recordCount, 0);
  }

  async anchorAt(sequence: number): Promise<AnchorRecord> {
    const anchor = this.anchors[sequence];
    if (anchor === undefined) throw new Error(`no anchor ${sequence}`);
    return anchor;
  }

  async anchor(_actor: string, submission: AnchorSubmission) {
    if (submission.expectedSequence !== this.anchors.length) throw new Error("out of sequence");
    return this.push(submission.root, submission.recordCount, submission.region);
  }

  /** Appends an anchor as the contract would (a tamper: one the store does not know of). */
  push(root: string, recordCount: number, region: bigint) {
    const sequence = this.anchors.length;
    const firstRecordIndex = this.anchors.reduce((sum, a) => sum + a.recordCount, 0);
    this.#block += 1;
    this.anchors.push({
      root,
      firstRecordIndex,
      recordCount,
      region,
      anchoredAt: 1_700_000_000,
      blockNumber: this.#block,
    });
    return { txHash: hex32(), blockNumber: this.#block, sequence, firstRecordIndex };
  }

  async events() {
    return [];
  }

  asLedger(): Ledger {
    return this as unknown as Ledger;
  }
}

// ---- Tampering --------------------------------------------------------------------------------------------------

/** SQL behind the store's back. */
interface RawDb {
  dialect: Dialect;
  exec(sql: string): Promise<void>;
}

function bytes(db: RawDb, value: Buffer): string {
  return db.dialect === "sqlite" ? `X'${value.toString("hex")}'` : `'\\x${value.toString("hex")}'::bytea`;
}

/** A prefix that turns foreign keys off for the statements after it (a DBA can). */
function noForeignKeys(db: RawDb): string {
  return db.dialect === "sqlite" ? "PRAGMA foreign_keys = OFF; " : "SET session_replication_role = replica; ";
}

/** What a test expects of an exception: its kind and place. */
interface Place {
  kind: SweepException["kind"];
  recordId?: string;
  anchorSequence?: number;
  leafIndex?: number;
}

function placeOf(e: SweepException): Place {
  const place: Place = { kind: e.kind };
  if (e.recordId !== undefined) place.recordId = e.recordId;
  if (e.anchorSequence !== undefined) place.anchorSequence = e.anchorSequence;
  if (e.leafIndex !== undefined) place.leafIndex = e.leafIndex;
  return place;
}

function sortPlaces(places: Place[]): Place[] {
  const key = (p: Place) => `${p.kind}|${p.anchorSequence ?? ""}|${p.leafIndex ?? ""}|${p.recordId ?? ""}`;
  return [...places].sort((a, b) => key(a).localeCompare(key(b)));
}

/** An anchored leaf of the store: where a record is. */
interface Leaf {
  sequence: number;
  leafIndex: number;
  recordId: string;
  kind: string;
}

async function anchoredLeaves(store: Store): Promise<Leaf[]> {
  const leaves: Leaf[] = [];
  for (const entry of await store.scanAnchoredLeaves({ limit: 5_000 })) {
    leaves.push({
      sequence: entry.anchorSequence as number,
      leafIndex: entry.leafIndex as number,
      recordId: entry.recordId,
      kind: entry.record?.kind ?? "",
    });
  }
  return leaves;
}

type HeaderField = "schema_version" | "case_id" | "region_code" | "kind";
const HEADER_FIELDS: HeaderField[] = ["schema_version", "case_id", "region_code", "kind"];

const tamper = {
  /** Flips one byte of the record's envelope. */
  async envelopeByte(db: RawDb, store: Store, recordId: string, at = 20): Promise<void> {
    const record = (await store.getRecord(recordId))!;
    const envelope = Buffer.from(record.envelope);
    envelope[at % envelope.length] ^= 0x01;
    await db.exec(`UPDATE records SET envelope = ${bytes(db, envelope)} WHERE id = '${recordId}'`);
  },
  /** Edits a header field (a receipt record's schema version is committed nowhere: not that one). */
  async header(db: RawDb, recordId: string, field: HeaderField = "schema_version"): Promise<void> {
    const set = {
      schema_version: "schema_version = schema_version + 1",
      case_id: `case_id = '${hex32()}'`,
      region_code: "region_code = region_code + 1",
      kind: "kind = 'payment'",
    }[field];
    await db.exec(`UPDATE records SET ${set} WHERE id = '${recordId}'`);
  },
  async receiptText(db: RawDb, recordId: string): Promise<void> {
    await db.exec(`UPDATE receipts SET receipt_json = receipt_json || ' ' WHERE record_id = '${recordId}'`);
  },
  /** Deletes the record with its keys and queue entry (as a careful intruder would), or the record row alone. */
  async deleteRecord(db: RawDb, recordId: string, alone: boolean): Promise<void> {
    const dependents = alone
      ? ""
      : `DELETE FROM record_keys WHERE record_id = '${recordId}'; DELETE FROM outbox WHERE record_id = '${recordId}'; `;
    await db.exec(
      `${noForeignKeys(db)}${dependents}DELETE FROM receipts WHERE record_id = '${recordId}'; ` +
        `DELETE FROM records WHERE id = '${recordId}'`,
    );
  },
  /** Exchanges two records' envelopes and digests. */
  async swapContent(db: RawDb, store: Store, a: string, b: string): Promise<void> {
    const ra = (await store.getRecord(a))!;
    const rb = (await store.getRecord(b))!;
    await db.exec(
      `UPDATE records SET envelope = ${bytes(db, rb.envelope)}, digest = '${rb.digest}' WHERE id = '${a}'; ` +
        `UPDATE records SET envelope = ${bytes(db, ra.envelope)}, digest = '${ra.digest}' WHERE id = '${b}'`,
    );
  },
  /** Exchanges two leaves' places in their anchor. */
  async swapLeaves(db: RawDb, a: Leaf, b: Leaf): Promise<void> {
    await db.exec(
      `UPDATE outbox SET leaf_index = -1 WHERE record_id = '${a.recordId}'; ` +
        `UPDATE outbox SET leaf_index = ${a.leafIndex} WHERE record_id = '${b.recordId}'; ` +
        `UPDATE outbox SET leaf_index = ${b.leafIndex} WHERE record_id = '${a.recordId}'`,
    );
  },
  async deleteAnchor(db: RawDb, sequence: number): Promise<void> {
    await db.exec(`${noForeignKeys(db)}DELETE FROM anchors WHERE sequence = ${sequence}`);
  },
  async anchorRoot(db: RawDb, sequence: number): Promise<void> {
    await db.exec(`UPDATE anchors SET root = '${hex32()}' WHERE sequence = ${sequence}`);
  },
  async leafDigest(db: RawDb, recordId: string): Promise<void> {
    await db.exec(`UPDATE outbox SET digest = '${hex32()}' WHERE record_id = '${recordId}'`);
  },
  /** Puts a queued record into an anchor, past its last leaf. */
  async extraLeaf(db: RawDb, recordId: string, sequence: number, leafIndex: number): Promise<void> {
    await db.exec(
      `UPDATE outbox SET anchor_sequence = ${sequence}, leaf_index = ${leafIndex} WHERE record_id = '${recordId}'`,
    );
  },
  /** A sealed record stored with no queue entry. */
  async insertRecord(store: Store, regionCode: number): Promise<string> {
    const sealed = await sealRecord(
      testKeks,
      { kind: "application", caseId: hex32(), regionCode, schemaVersion: 1 },
      { forged: true },
      [{ holderId: "x", fieldClass: "household" }],
    );
    await store.insertRecord(sealed.record);
    return sealed.record.id;
  },
};

async function places(source: RecordsCheckSource, scope: SweepScope = {}, pageSize?: number): Promise<Place[]> {
  const result = await collectRecordsCheck(source, scope, { pageSize });
  return sortPlaces(result.exceptions.map(placeOf));
}

// ---- The real gateway ------------------------------------------------------------------------------------------

describe("audit sweep: records against anchors (gateway, SQLite, anvil)", function () {
  this.timeout(180_000);
  let tg: TestGateway;
  let golden: string;
  let records: BuiltRecord[];
  let queued: BuiltRecord[];
  let leaves: Leaf[];
  let copies = 0;
  const opened: Store[] = [];

  before(async function () {
    tg = await startTestGateway();
    const ctx = tg.gateway.ctx;
    const grants: Grant[] = [{ holderId: "county-auditor", fieldClass: "household" }];
    const specs: CaseSpec[] = Array.from({ length: 20 }, (_, i) => ({
      programmeId: i % 2 === 0 ? 3 : 1,
      regionCode: i < 14 ? TOWNSHIP : FENGTAI,
      records: i % 3 === 0 ? 2 : 1,
      receipt: i === 0 || i === 15,
    }));
    records = await addCases(ctx.store, ctx.keyring, grants, specs);
    await anchorAll(ctx.store, ctx.ledger, 6);
    // Two cases taken in after the round: queued, not anchored.
    queued = await addCases(ctx.store, ctx.keyring, grants, [
      { programmeId: 3, regionCode: TOWNSHIP, records: 1, receipt: false },
      { programmeId: 1, regionCode: FENGTAI, records: 1, receipt: false },
    ]);
    leaves = await anchoredLeaves(ctx.store);
    golden = path.join(tg.dir, "golden.sqlite");
    const source = new Database(ctx.config.sqlitePath, { readonly: true });
    try {
      await source.backup(golden);
    } finally {
      source.close();
    }
  });

  after(async function () {
    for (const store of opened) await store.close();
    await tg?.close();
  });

  /** A copy of the clean database, tampered with by `edit` (through better-sqlite3 and the store), then reopened. */
  async function tampered(edit?: (db: RawDb, store: Store) => Promise<void>): Promise<RecordsCheckSource> {
    copies += 1;
    const file = path.join(tg.dir, `copy-${copies}.sqlite`);
    fs.copyFileSync(golden, file);
    const store = await openSqliteStore({ path: file });
    opened.push(store);
    if (edit) {
      const db = new Database(file);
      try {
        await edit(
          {
            dialect: "sqlite",
            exec: async (sql) => {
              db.exec(sql);
            },
          },
          store,
        );
      } finally {
        db.close();
      }
    }
    return { store, ledger: tg.gateway.ctx.ledger };
  }

  const leafOf = (recordId: string) => leaves.find((l) => l.recordId === recordId)!;
  const anchoredOfKind = (kind: string) => leaves.filter((l) => l.kind === kind);

  it("a clean store: nothing to report; every record checked, anchored or pending", async function () {
    const source = await tampered();
    const progress: SweepProgress[] = [];

    const result = await collectRecordsCheck(source, {}, { onProgress: (p) => progress.push(p) });

    expect(result.exceptions).to.deep.equal([]);
    expect(leaves.length).to.equal(records.length);
    expect(result).to.deep.include({
      checked: records.length + queued.length,
      anchored: records.length,
      pending: queued.length,
      anchors: await tg.gateway.ctx.ledger.anchorCount(),
      errors: 0,
      warnings: 0,
    });
    expect(result.anchors).to.be.greaterThan(4);
    const total = await tg.gateway.ctx.ledger.totalRecords();
    expect(progress.every((p) => p.phase === "records" && p.total === total)).to.equal(true);
    expect(progress[progress.length - 1].done).to.equal(total);
  });

  it("the same with pages of one row (every scan pages)", async function () {
    expect(await places(await tampered(), {}, 1)).to.deep.equal([]);
  });

  it("the live store itself: nothing to report", async function () {
    const ctx = tg.gateway.ctx;
    expect(await places({ store: ctx.store, ledger: ctx.ledger })).to.deep.equal([]);
  });

  it("record-modified: one envelope byte changed, at that record and leaf", async function () {
    const target = anchoredOfKind("household")[1];
    const source = await tampered((db, store) => tamper.envelopeByte(db, store, target.recordId));

    expect(await places(source)).to.deep.equal([
      {
        kind: "record-modified",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ]);
  });

  it("record-modified: a header field changed", async function () {
    const target = anchoredOfKind("application")[3];
    const source = await tampered((db) => tamper.header(db, target.recordId));

    expect(await places(source)).to.deep.equal([
      {
        kind: "record-modified",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ]);
  });

  it("record-modified: a receipt record whose receipt row was edited", async function () {
    const target = anchoredOfKind("receipt")[0];
    const source = await tampered((db) => tamper.receiptText(db, target.recordId));

    const result = await collectRecordsCheck(source);

    expect(result.exceptions.map(placeOf)).to.deep.equal([
      {
        kind: "record-modified",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ]);
    expect(result.exceptions[0]).to.deep.include({
      severity: "error",
      caseId: records.find((r) => r.id === target.recordId)!.caseId,
    });
    expect(result.exceptions[0].blockNumber).to.be.a("number");
    expect(result.exceptions[0].txHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("record-modified: a receipt record's case or region edited (its digest is the receipt's)", async function () {
    const target = anchoredOfKind("receipt")[1];
    const expected = [
      {
        kind: "record-modified",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ];

    expect(await places(await tampered((db) => tamper.header(db, target.recordId, "case_id")))).to.deep.equal(expected);
    expect(await places(await tampered((db) => tamper.header(db, target.recordId, "region_code")))).to.deep.equal(
      expected,
    );
  });

  it("record-modified: a queued record edited before it was anchored", async function () {
    const target = queued[0];
    const source = await tampered((db) => tamper.header(db, target.id));

    expect(await places(source)).to.deep.equal([{ kind: "record-modified", recordId: target.id }]);
  });

  it("record-deleted: a record deleted with its keys and queue entry, at its anchor and leaf", async function () {
    const target = anchoredOfKind("application")[5];
    const source = await tampered((db) => tamper.deleteRecord(db, target.recordId, false));

    expect(await places(source)).to.deep.equal([
      { kind: "record-deleted", anchorSequence: target.sequence, leafIndex: target.leafIndex },
    ]);
  });

  it("record-deleted: the record row alone deleted (foreign keys off), naming the record", async function () {
    const target = anchoredOfKind("household")[0];
    const source = await tampered((db) => tamper.deleteRecord(db, target.recordId, true));

    expect(await places(source)).to.deep.equal([
      {
        kind: "record-deleted",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ]);
  });

  it("record-inserted: a record written behind the gateway's back (no queue entry)", async function () {
    let inserted = "";
    const source = await tampered(async (_db, store) => {
      inserted = await tamper.insertRecord(store, TOWNSHIP);
    });

    expect(await places(source)).to.deep.equal([{ kind: "record-inserted", recordId: inserted }]);
  });

  it("record-inserted: a queued record slipped into an anchor past its last leaf", async function () {
    const anchor = await tg.gateway.ctx.ledger.anchorAt(0);
    const target = queued[0];
    const source = await tampered((db) => tamper.extraLeaf(db, target.id, 0, anchor.recordCount));

    expect(await places(source)).to.deep.equal([
      { kind: "record-inserted", recordId: target.id, anchorSequence: 0, leafIndex: anchor.recordCount },
    ]);
  });

  it("records-swapped: two records of one anchor exchanged envelopes and digests; both named", async function () {
    const [a, b] = leaves.filter((l) => l.sequence === 1 && l.kind !== "receipt");
    const source = await tampered((db, store) => tamper.swapContent(db, store, a.recordId, b.recordId));

    const result = await collectRecordsCheck(source);

    expect(sortPlaces(result.exceptions.map(placeOf))).to.deep.equal(
      sortPlaces([
        { kind: "records-swapped", recordId: a.recordId, anchorSequence: 1, leafIndex: a.leafIndex },
        { kind: "records-swapped", recordId: b.recordId, anchorSequence: 1, leafIndex: b.leafIndex },
      ]),
    );
    for (const e of result.exceptions) expect(e.detail).to.include(a.recordId).and.include(b.recordId);
  });

  it("records-swapped: two leaves exchanged places in their anchor", async function () {
    const inAnchor = leaves.filter((l) => l.sequence === 2);
    const [a, b] = [inAnchor[0], inAnchor[inAnchor.length - 1]];
    const source = await tampered((db) => tamper.swapLeaves(db, a, b));

    expect(await places(source)).to.deep.equal(
      sortPlaces([
        { kind: "records-swapped", recordId: b.recordId, anchorSequence: 2, leafIndex: a.leafIndex },
        { kind: "records-swapped", recordId: a.recordId, anchorSequence: 2, leafIndex: b.leafIndex },
      ]),
    );
  });

  it("anchor-missing: the store's anchor row deleted", async function () {
    const source = await tampered((db) => tamper.deleteAnchor(db, 3));

    expect(await places(source)).to.deep.equal([{ kind: "anchor-missing", anchorSequence: 3 }]);
  });

  it("anchor-missing: the store holds a confirmed anchor the chain does not have", async function () {
    const count = await tg.gateway.ctx.ledger.anchorCount();
    const source = await tampered((db) =>
      db.exec(
        "INSERT INTO anchors (sequence, root, record_count, region_code, status, tx_hash, block_number, created_at, " +
          `updated_at) VALUES (${count}, '${hex32()}', 3, ${TOWNSHIP}, 'confirmed', '${hex32()}', 5, 1, 1)`,
      ),
    );

    expect(await places(source)).to.deep.equal([{ kind: "anchor-missing", anchorSequence: count }]);
  });

  it("anchor-root-mismatch: the store's anchor root edited", async function () {
    const source = await tampered((db) => tamper.anchorRoot(db, 1));

    expect(await places(source)).to.deep.equal([{ kind: "anchor-root-mismatch", anchorSequence: 1 }]);
  });

  it("proof-mismatch: a record unchanged, its leaf in the store edited (its proof no longer verifies)", async function () {
    const target = anchoredOfKind("application")[2];
    const source = await tampered((db) => tamper.leafDigest(db, target.recordId));

    expect(await places(source)).to.deep.equal([
      {
        kind: "proof-mismatch",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ]);
  });

  it("scope: a tamper in another programme or region is not reported; in scope it is", async function () {
    const target = leafOf(
      records.find((r) => r.programmeId === 1 && r.regionCode === FENGTAI && r.kind === "application")!.id,
    );
    const source = await tampered((db) => tamper.header(db, target.recordId));
    const expected = [
      {
        kind: "record-modified",
        recordId: target.recordId,
        anchorSequence: target.sequence,
        leafIndex: target.leafIndex,
      },
    ];

    expect(await places(source, { programmeId: 3 })).to.deep.equal([]);
    expect(await places(source, { region: BigInt(TOWNSHIP) })).to.deep.equal([]);
    expect(await places(source, { programmeId: 1 })).to.deep.equal(expected);
    expect(await places(source, { region: BigInt(FENGTAI) })).to.deep.equal(expected);
    expect(await places(source, { region: 110000n, programmeId: 1, period: 24_000 })).to.deep.equal(expected);
  });

  it("scope: counts only the records in scope", async function () {
    const source = await tampered();
    const inFengtai = records.filter((r) => r.regionCode === FENGTAI).length;
    const ofTekun = records.filter((r) => r.programmeId === 3).length;

    expect(await collectRecordsCheck(source, { region: BigInt(FENGTAI) })).to.deep.include({
      anchored: inFengtai,
      pending: 1,
      exceptions: [],
    });
    expect(await collectRecordsCheck(source, { programmeId: 3 })).to.deep.include({
      anchored: ofTekun,
      pending: 1,
      exceptions: [],
    });
  });

  it("pending records past the warning age: one anchoring-overdue warning, nothing else", async function () {
    const source = await tampered();
    const later = { ...source, now: () => new Date(Date.now() + 2 * 3_600_000) };

    const result = await collectRecordsCheck(later);

    expect(result.exceptions.map((e) => [e.kind, e.severity])).to.deep.equal([["anchoring-overdue", "warning"]]);
    expect(result.exceptions[0].recordId).to.equal(queued[0].id);
    expect(result.exceptions[0].detail).to.match(/^2 records/);
    expect(result).to.deep.include({ errors: 0, warnings: 1 });
  });

  it("streams: the generator yields exceptions and returns the counts", async function () {
    const target = anchoredOfKind("household")[2];
    const source = await tampered((db) => tamper.header(db, target.recordId));
    const run = checkRecords(source);
    const yielded: SweepException[] = [];
    let step = await run.next();
    while (!step.done) {
      yielded.push(step.value);
      step = await run.next();
    }
    expect(yielded.map((e) => e.kind)).to.deep.equal(["record-modified"]);
    expect(step.value).to.deep.include({ errors: 1, warnings: 0, anchored: records.length });
  });

  it("an aborted check stops with the signal's reason", async function () {
    const source = await tampered();
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    let failure: unknown;
    await collectRecordsCheck(source, {}, { signal: controller.signal }).catch((error: unknown) => (failure = error));
    expect((failure as Error).message).to.equal("stop");
  });

  // Last: it changes the chain for every later check.
  it("an anchor the worker begins while the sweep runs, after the sweep read the store's anchors, is not missing", async function () {
    const source = await tampered();
    const store = source.store as Store;
    const count = await tg.gateway.ctx.ledger.anchorCount();
    let begun = false;
    const racing: RecordsCheckSource = {
      ledger: source.ledger,
      store: {
        scanAnchoredLeaves: store.scanAnchoredLeaves.bind(store),
        scanQueuedEntries: store.scanQueuedEntries.bind(store),
        scanUnqueuedRecords: store.scanUnqueuedRecords.bind(store),
        receiptContents: store.receiptContents.bind(store),
        // The worker's beginAnchor (its row and leaves, one transaction) commits right after the sweep's read.
        scanAnchors: async (query) => {
          const page = await store.scanAnchors(query);
          if (!begun) {
            begun = true;
            const id = queued.find((r) => r.regionCode === TOWNSHIP)!.id;
            await store.beginAnchor({ sequence: count, root: hex32(), regionCode: TOWNSHIP, recordIds: [id] });
          }
          return page;
        },
      },
    };

    expect(await places(racing)).to.deep.equal([]);
    expect(begun).to.equal(true);
  });

  it("anchor-missing: an anchor on chain the store does not know of", async function () {
    const ledger = tg.gateway.ctx.ledger;
    const sequence = await ledger.anchorCount();
    await ledger.anchor(GATEWAY_ACTORS.anchorer, {
      expectedSequence: sequence,
      region: BigInt(TOWNSHIP),
      root: hex32(),
      recordCount: 3,
      metadataDigest: hex32(),
    });
    const source = await tampered();

    expect(await places(source)).to.deep.equal([{ kind: "anchor-missing", anchorSequence: sequence }]);
    expect(await places(source, { region: BigInt(FENGTAI) })).to.deep.equal([]);
  });
});

// ---- Random small stores ------------------------------------------------------------------------------------------

const KINDS = [
  "modify-envelope",
  "modify-header",
  "modify-receipt",
  "modify-digest-column",
  "delete-with-entry",
  "delete-row",
  "insert",
  "extra-leaf",
  "swap-content",
  "swap-leaves",
  "delete-anchor",
  "chain-extra-anchor",
  "chain-lost-anchor",
  "anchor-root",
  "leaf-digest",
] as const;

const storeSpec = fc.record({
  cases: fc.array(
    fc.record({
      programmeId: fc.constantFrom(1, 3, 5),
      regionCode: fc.constantFrom(TOWNSHIP, FENGTAI),
      records: fc.integer({ min: 1, max: 3 }),
      receipt: fc.boolean(),
    }),
    { minLength: 2, maxLength: 8 },
  ),
  batchSize: fc.integer({ min: 1, max: 7 }),
  queued: fc.integer({ min: 0, max: 2 }),
  pageSize: fc.integer({ min: 1, max: 6 }),
  kind: fc.noBias(fc.constantFrom(...KINDS)),
  pick: fc.nat(),
  pick2: fc.nat(),
});

/** Applies a random tamper of `kind`; returns the places expected, or undefined if this store has nothing to tamper. */
async function randomTamper(
  db: RawDb,
  store: Store,
  chain: MemoryAnchorLog,
  kind: (typeof KINDS)[number],
  pick: number,
  pick2: number,
  queued: BuiltRecord[],
): Promise<Place[] | undefined> {
  const leaves = await anchoredLeaves(store);
  const of = (list: Leaf[]) => (list.length === 0 ? undefined : list[pick % list.length]);
  const place = (k: Place["kind"], l: Leaf, withId = true): Place => ({
    kind: k,
    ...(withId ? { recordId: l.recordId } : {}),
    anchorSequence: l.sequence,
    leafIndex: l.leafIndex,
  });
  switch (kind) {
    case "modify-envelope": {
      const l = of(leaves.filter((x) => x.kind !== "receipt"));
      if (!l) return undefined;
      await tamper.envelopeByte(db, store, l.recordId, pick2);
      return [place("record-modified", l)];
    }
    case "modify-header": {
      const l = of(leaves);
      if (!l) return undefined;
      const fields = l.kind === "receipt" ? HEADER_FIELDS.slice(1) : HEADER_FIELDS;
      await tamper.header(db, l.recordId, fields[pick2 % fields.length]);
      return [place("record-modified", l)];
    }
    case "modify-receipt": {
      const l = of(leaves.filter((x) => x.kind === "receipt"));
      if (!l) return undefined;
      await tamper.receiptText(db, l.recordId);
      return [place("record-modified", l)];
    }
    case "modify-digest-column": {
      const l = of(leaves);
      if (!l) return undefined;
      await db.exec(`UPDATE records SET digest = '${hex32()}' WHERE id = '${l.recordId}'`);
      return [place("record-modified", l)];
    }
    case "delete-with-entry": {
      const l = of(leaves);
      if (!l) return undefined;
      await tamper.deleteRecord(db, l.recordId, false);
      return [place("record-deleted", l, false)];
    }
    case "delete-row": {
      const l = of(leaves);
      if (!l) return undefined;
      await tamper.deleteRecord(db, l.recordId, true);
      return [place("record-deleted", l)];
    }
    case "insert": {
      const id = await tamper.insertRecord(store, pick % 2 === 0 ? TOWNSHIP : FENGTAI);
      return [{ kind: "record-inserted", recordId: id }];
    }
    case "extra-leaf": {
      if (queued.length === 0 || chain.anchors.length === 0) return undefined;
      const target = queued[pick % queued.length];
      const sequence = pick2 % chain.anchors.length;
      const leafIndex = chain.anchors[sequence].recordCount + (pick % 3);
      await tamper.extraLeaf(db, target.id, sequence, leafIndex);
      return [{ kind: "record-inserted", recordId: target.id, anchorSequence: sequence, leafIndex }];
    }
    case "swap-content":
    case "swap-leaves": {
      const sealed = kind === "swap-content" ? leaves.filter((x) => x.kind !== "receipt") : leaves;
      const sequences = [...new Set(sealed.map((l) => l.sequence))].filter(
        (s) => sealed.filter((l) => l.sequence === s).length >= 2,
      );
      if (sequences.length === 0) return undefined;
      const inAnchor = sealed.filter((l) => l.sequence === sequences[pick % sequences.length]);
      const i = pick2 % inAnchor.length;
      const j = (i + 1 + (pick % (inAnchor.length - 1))) % inAnchor.length;
      const [a, b] = [inAnchor[i], inAnchor[j]];
      if (kind === "swap-content") {
        await tamper.swapContent(db, store, a.recordId, b.recordId);
        return [place("records-swapped", a), place("records-swapped", b)];
      }
      await tamper.swapLeaves(db, a, b);
      return [
        { ...place("records-swapped", b), leafIndex: a.leafIndex },
        { ...place("records-swapped", a), leafIndex: b.leafIndex },
      ];
    }
    case "delete-anchor": {
      if (chain.anchors.length === 0) return undefined;
      const sequence = pick % chain.anchors.length;
      await tamper.deleteAnchor(db, sequence);
      return [{ kind: "anchor-missing", anchorSequence: sequence }];
    }
    case "chain-extra-anchor": {
      const { sequence } = chain.push(hex32(), 1 + (pick % 5), BigInt(pick2 % 2 === 0 ? TOWNSHIP : FENGTAI));
      return [{ kind: "anchor-missing", anchorSequence: sequence }];
    }
    case "chain-lost-anchor": {
      if (chain.anchors.length === 0) return undefined;
      chain.anchors.pop();
      return [{ kind: "anchor-missing", anchorSequence: chain.anchors.length }];
    }
    case "anchor-root": {
      if (chain.anchors.length === 0) return undefined;
      const sequence = pick % chain.anchors.length;
      await tamper.anchorRoot(db, sequence);
      return [{ kind: "anchor-root-mismatch", anchorSequence: sequence }];
    }
    case "leaf-digest": {
      const l = of(leaves);
      if (!l) return undefined;
      await tamper.leafDigest(db, l.recordId);
      return [place("proof-mismatch", l)];
    }
  }
}

function describeProperty(name: string, harness: (() => StoreHarness) | undefined, runs: number, skip: string): void {
  describe(`audit sweep: records against anchors, random stores (${name})`, function () {
    this.timeout(180_000);
    if (harness === undefined) {
      it.skip(`${skip}`);
      return;
    }
    const open = harness;

    it("a clean random store reports nothing; a random single tamper is reported as that kind, there", async function () {
      await fc.assert(
        fc.asyncProperty(storeSpec, async (spec) => {
          const h = open();
          try {
            const store = await h.open();
            const chain = new MemoryAnchorLog();
            const grants: Grant[] = [{ holderId: "auditor", fieldClass: "household" }];
            await addCases(store, testKeks, grants, spec.cases);
            await anchorAll(store, chain.asLedger(), spec.batchSize);
            const queued = await addCases(
              store,
              testKeks,
              grants,
              Array.from({ length: spec.queued }, () => ({
                programmeId: 1,
                regionCode: TOWNSHIP,
                records: 1,
                receipt: false,
              })),
            );
            const source = { store, ledger: chain.asLedger() };
            expect(await places(source, {}, spec.pageSize)).to.deep.equal([]);

            const db: RawDb = { dialect: h.dialect, exec: (sql) => h.raw(sql) };
            const expected = await randomTamper(db, store, chain, spec.kind, spec.pick, spec.pick2, queued);
            fc.pre(expected !== undefined);

            expect(await places(source, {}, spec.pageSize)).to.deep.equal(sortPlaces(expected!));
          } finally {
            await h.destroy();
          }
        }),
        { numRuns: runs },
      );
    });
  });
}

describeProperty("SQLite", () => sqliteHarness(), 80, "");
describeProperty(
  "PostgreSQL",
  DATABASE_URL ? () => postgresHarness(DATABASE_URL) : undefined,
  30,
  "DATABASE_URL is not set; the PostgreSQL records-check property did not run (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
);
