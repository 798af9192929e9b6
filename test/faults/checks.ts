/**
 * What the fault suite checks after a fault, read from the database's tables themselves and from the chain: every
 * record anchored exactly once (the store's anchors are the chain's AnchorLog, root for root, and their leaves are
 * the records, each once), no entitlement paid twice (PayoutExecuted per case, period and event at most once), and
 * nothing half-written (no case without its records, no record without its outbox entry, no orphan record or key).
 */
import Database from "better-sqlite3";
import { expect } from "chai";
import { Client } from "pg";
import type { Ledger } from "../../gateway/src/ledger";
import { buildTree } from "../../lib/merkle";

type Row = Record<string, unknown>;

/** Reads tables of the gateway's database: a SQLite file, or a PostgreSQL schema. */
export interface TableReader {
  all(sql: string): Promise<Row[]>;
  close(): Promise<void>;
}

export function sqliteTables(file: string): TableReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    all: async (sql) => db.prepare(sql).all() as Row[],
    close: async () => void db.close(),
  };
}

export async function postgresTables(databaseUrl: string, schema: string): Promise<TableReader> {
  const client = new Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await client.connect();
  return {
    all: async (sql) => (await client.query(sql)).rows as Row[],
    close: () => client.end(),
  };
}

/** Whether the gateway has caught up: no case waiting for the chain, no record waiting for an anchor. */
export async function caughtUp(db: TableReader): Promise<boolean> {
  const [row] = await db.all(
    "SELECT (SELECT count(*) FROM cases WHERE status = 'pending-chain') AS cases, " +
      "(SELECT count(*) FROM outbox WHERE status = 'pending') AS records, " +
      "(SELECT count(*) FROM anchors WHERE status = 'submitted') AS anchors",
  );
  return Number(row.cases) === 0 && Number(row.records) === 0 && Number(row.anchors) === 0;
}

export interface AnchoringCounts {
  records: number;
  anchors: number;
}

/**
 * Every record of the store is in exactly one anchor, and the store's anchors are the chain's: same count, each
 * sequence's root on chain is the Merkle root of its stored leaves (in leaf order), the record counts add up to the
 * number of records, and the chain emitted one RecordsAnchored per anchor.
 */
export async function expectAnchoredExactlyOnce(db: TableReader, ledger: Ledger): Promise<AnchoringCounts> {
  const records = await db.all("SELECT id, digest FROM records");
  const outbox = await db.all(
    "SELECT record_id, digest, status, anchor_sequence, leaf_index FROM outbox ORDER BY anchor_sequence, leaf_index",
  );
  const anchors = await db.all("SELECT sequence, root, record_count, status FROM anchors ORDER BY sequence");

  const entryOf = new Map(outbox.map((e) => [String(e.record_id), e]));
  const notAnchored = records.filter((r) => entryOf.get(String(r.id))?.status !== "anchored");
  expect(notAnchored.length, "records without an anchored outbox entry").to.equal(0);
  expect(outbox.length, "outbox entries (one per record)").to.equal(records.length);
  expect(anchors.filter((a) => a.status !== "confirmed").length, "anchors not confirmed").to.equal(0);

  const chainCount = await ledger.anchorCount();
  expect(chainCount, "anchors on chain = anchors in the store").to.equal(anchors.length);
  const leavesOf = new Map<number, string[]>();
  for (const e of outbox) {
    const seq = Number(e.anchor_sequence);
    leavesOf.set(seq, [...(leavesOf.get(seq) ?? []), String(e.digest)]);
  }
  let onChainRecords = 0;
  for (const a of anchors) {
    const seq = Number(a.sequence);
    const chain = await ledger.anchorAt(seq);
    const leaves = leavesOf.get(seq) ?? [];
    expect(chain.root, `anchor ${seq}: chain root`).to.equal(String(a.root));
    expect(buildTree(leaves).root, `anchor ${seq}: root of its stored leaves`).to.equal(chain.root);
    expect(chain.recordCount, `anchor ${seq}: record count`).to.equal(leaves.length);
    onChainRecords += chain.recordCount;
  }
  expect(onChainRecords, "records anchored on chain = records stored").to.equal(records.length);
  const events = (await ledger.events(0)).filter((e) => e.name === "RecordsAnchored");
  expect(events.length, "RecordsAnchored events").to.equal(chainCount);
  return { records: records.length, anchors: anchors.length };
}

/** Nothing half-written: each case has its application record, each record its outbox entry and its keys. */
export async function expectNothingHalfWritten(db: TableReader): Promise<void> {
  const casesWithoutRecord = await db.all(
    "SELECT c.case_id FROM cases c LEFT JOIN records r ON r.id = c.application_record_id WHERE r.id IS NULL",
  );
  expect(casesWithoutRecord.length, "cases without their application record").to.equal(0);
  const recordsWithoutCase = await db.all(
    "SELECT r.id FROM records r LEFT JOIN cases c ON c.case_id = r.case_id WHERE c.case_id IS NULL",
  );
  expect(recordsWithoutCase.length, "records of no case").to.equal(0);
  const recordsWithoutOutbox = await db.all(
    "SELECT r.id FROM records r LEFT JOIN outbox o ON o.record_id = r.id WHERE o.record_id IS NULL",
  );
  expect(recordsWithoutOutbox.length, "records not queued for anchoring").to.equal(0);
  const recordsWithoutKeys = await db.all(
    "SELECT r.id FROM records r LEFT JOIN record_keys k ON k.record_id = r.id WHERE k.record_id IS NULL",
  );
  expect(recordsWithoutKeys.length, "records with no wrapped key").to.equal(0);
  const pendingKeys = await db.all("SELECT idempotency_key FROM idempotency WHERE state = 'pending'");
  expect(pendingKeys.length, "idempotency keys left reserved").to.equal(0);
}

/** PayoutExecuted events per (case, period, event): at most one each. Returns the payouts by `caseId:period`. */
export async function expectPaidAtMostOnce(ledger: Ledger): Promise<Map<string, number>> {
  const paid = new Map<string, number>();
  for (const e of await ledger.events(0)) {
    if (e.name !== "PayoutExecuted") continue;
    const key = `${e.args.caseId}:${e.args.period}:${e.args.eventId}`;
    paid.set(key, (paid.get(key) ?? 0) + 1);
  }
  const twice = [...paid].filter(([, n]) => n > 1);
  expect(twice, "entitlements paid more than once").to.deep.equal([]);
  return paid;
}
