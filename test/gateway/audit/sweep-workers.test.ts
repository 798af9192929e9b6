/**
 * The records check's fast paths (gateway/src/audit/sweep/leaf-check.ts), in worker threads (anchor-pool.ts) and in
 * the main thread, against the full check through the store's scans: on random small SQLite stores with a random
 * tamper, all three give exactly the same exceptions and counts; a tampered record is found by the worker path at its
 * record and leaf; a worker that cannot do its work makes the check fail, never pass.
 */
import { expect } from "chai";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { AnchoringWorker } from "../../../gateway/src/anchoring";
import { AnchorWorkerError } from "../../../gateway/src/audit/sweep/anchor-pool";
import { type RecordsCheckSource, collectRecordsCheck } from "../../../gateway/src/audit/sweep/records";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import type { AnchorRecord, AnchorSubmission, Ledger } from "../../../gateway/src/ledger";
import { sealRecord } from "../../../gateway/src/records";
import type { Store } from "../../../gateway/src/store";
import { sqliteHarness } from "../store/harness";

const TOWNSHIP = 110105001000;
const hex32 = () => "0x" + randomBytes(32).toString("hex");
const keks = { kek: async () => Buffer.alloc(16, 7) };

/** An in-memory AnchorLog: what the anchoring worker sends and the check reads. */
function memoryChain(): Ledger {
  const anchors: AnchorRecord[] = [];
  return {
    anchorCount: async () => anchors.length,
    totalRecords: async () => anchors.reduce((n, a) => n + a.recordCount, 0),
    anchorAt: async (k: number) => anchors[k],
    anchor: async (_actor: string, s: AnchorSubmission) => {
      const firstRecordIndex = anchors.reduce((n, a) => n + a.recordCount, 0);
      anchors.push({
        root: s.root,
        firstRecordIndex,
        recordCount: s.recordCount,
        region: s.region,
        anchoredAt: 1,
        blockNumber: 1,
      });
      return { txHash: hex32(), blockNumber: 1, sequence: anchors.length - 1, firstRecordIndex };
    },
    events: async () => [],
  } as unknown as Ledger;
}

/** `records` sealed records in cases of three, anchored `batch` to an anchor; their ids in leaf order. */
async function build(store: Store, ledger: Ledger, records: number, batch: number): Promise<string[]> {
  const ids: string[] = [];
  let caseId = hex32();
  for (let i = 0; i < records; i++) {
    if (i % 3 === 0) caseId = hex32();
    const sealed = await sealRecord(
      keks,
      { kind: "household", caseId, regionCode: TOWNSHIP, schemaVersion: 1 },
      { n: i },
      [{ holderId: "auditor", fieldClass: "household" }],
    );
    await store.transaction(async (tx) => {
      await tx.insertRecord(sealed.record);
      await tx.enqueueAnchor(sealed.record.id);
    });
    ids.push(sealed.record.id);
  }
  const round = await new AnchoringWorker({
    store,
    ledger,
    actor: GATEWAY_ACTORS.anchorer,
    batchSize: batch,
  }).runOnce();
  if (round.unavailable) throw round.unavailable;
  return ids;
}

/** The same store seen through its scans alone (not a store `openSqliteStore` opened): the full check only. */
function scansOnly(store: Store): RecordsCheckSource["store"] {
  return {
    scanAnchoredLeaves: (q) => store.scanAnchoredLeaves(q),
    scanQueuedEntries: (q) => store.scanQueuedEntries(q),
    scanUnqueuedRecords: (q) => store.scanUnqueuedRecords(q),
    scanAnchors: (q) => store.scanAnchors(q),
    receiptContents: (r) => store.receiptContents(r),
  };
}

const TAMPERS = [
  "none",
  "envelope",
  "digest-column",
  "leaf-digest",
  "swap-leaves",
  "anchor-row",
  "anchor-root",
  "delete-row",
] as const;

/** SQL for a tamper at record `id` (and its neighbour `other`). */
function tamperSql(kind: (typeof TAMPERS)[number], id: string, other: string): string {
  switch (kind) {
    case "none":
      return "SELECT 1";
    case "envelope":
      return `UPDATE records SET envelope = zeroblob(length(envelope)) WHERE id = '${id}'`;
    case "digest-column":
      return `UPDATE records SET digest = '${hex32()}' WHERE id = '${id}'`;
    case "leaf-digest":
      return `UPDATE outbox SET digest = '${hex32()}' WHERE record_id = '${id}'`;
    case "swap-leaves": {
      // Only within one anchor (else nothing changes).
      const same =
        `(SELECT anchor_sequence FROM outbox WHERE record_id = '${id}') = ` +
        `(SELECT anchor_sequence FROM outbox WHERE record_id = '${other}')`;
      return (
        `CREATE TEMP TABLE s AS SELECT (SELECT leaf_index FROM outbox WHERE record_id = '${id}') AS a, ` +
        `(SELECT leaf_index FROM outbox WHERE record_id = '${other}') AS b; ` +
        `UPDATE outbox SET leaf_index = -1 WHERE record_id = '${id}' AND ${same}; ` +
        `UPDATE outbox SET leaf_index = (SELECT a FROM s) WHERE record_id = '${other}' AND ${same}; ` +
        `UPDATE outbox SET leaf_index = (SELECT b FROM s) WHERE record_id = '${id}' AND ${same}`
      );
    }
    case "anchor-row":
      return `PRAGMA foreign_keys = OFF; DELETE FROM anchors WHERE sequence = (SELECT anchor_sequence FROM outbox WHERE record_id = '${id}')`;
    case "anchor-root":
      return `UPDATE anchors SET root = '${hex32()}' WHERE sequence = (SELECT anchor_sequence FROM outbox WHERE record_id = '${id}')`;
    case "delete-row":
      return `PRAGMA foreign_keys = OFF; DELETE FROM records WHERE id = '${id}'`;
  }
}

describe("audit sweep: records check in worker threads", function () {
  this.timeout(120_000);

  it("for random stores and tampers, workers, the main thread and the full check report exactly the same", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          records: fc.integer({ min: 2, max: 40 }),
          batch: fc.integer({ min: 1, max: 12 }),
          pageSize: fc.integer({ min: 1, max: 7 }),
          tamper: fc.constantFrom(...TAMPERS),
          pick: fc.nat(),
          threads: fc.integer({ min: 1, max: 3 }),
        }),
        async (spec) => {
          const h = sqliteHarness();
          try {
            const store = await h.open();
            const ledger = memoryChain();
            const ids = await build(store, ledger, spec.records, spec.batch);
            const at = spec.pick % ids.length;
            await h.raw(tamperSql(spec.tamper, ids[at], ids[(at + 1) % ids.length]));
            const options = { pageSize: spec.pageSize };
            const full = await collectRecordsCheck({ store: scansOnly(store), ledger }, {}, options);
            const here = await collectRecordsCheck({ store, ledger }, {}, { ...options, threads: 0 });
            const workers = await collectRecordsCheck({ store, ledger }, {}, { ...options, threads: spec.threads });
            expect(here).to.deep.equal(full);
            expect(workers).to.deep.equal(full);
            if (spec.tamper === "none") expect(full.exceptions).to.deep.equal([]);
            else if (spec.tamper !== "swap-leaves" && ids.length > 1) expect(full.errors).to.be.greaterThan(0);
          } finally {
            await h.destroy();
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it("a record tampered with is found by a worker, at that record and leaf", async function () {
    const h = sqliteHarness();
    try {
      const store = await h.open();
      const ledger = memoryChain();
      const ids = await build(store, ledger, 30, 10);
      await h.raw(tamperSql("envelope", ids[17], ids[18]));

      const result = await collectRecordsCheck({ store, ledger }, {}, { threads: 2 });

      expect(result.exceptions.map((e) => [e.kind, e.recordId, e.anchorSequence, e.leafIndex])).to.deep.equal([
        ["record-modified", ids[17], 1, 7],
      ]);
      expect(result).to.deep.include({ checked: 30, anchored: 30, anchors: 3, errors: 1 });
    } finally {
      await h.destroy();
    }
  });

  it("a worker that cannot open the database fails the check with an error; nothing passes", async function () {
    const h = sqliteHarness();
    try {
      const store = await h.open();
      const ledger = memoryChain();
      await build(store, ledger, 12, 4);
      // The store's own connection still reads the (unlinked) file; a worker opening it by name cannot.
      fs.rmSync(h.file);

      let error: unknown;
      try {
        await collectRecordsCheck({ store, ledger }, {}, { threads: 2 });
      } catch (e) {
        error = e;
      }

      expect(error).to.be.instanceOf(AnchorWorkerError);
      expect((error as AnchorWorkerError).code).to.equal("WORKER_FAILED");
    } finally {
      await h.destroy();
    }
  });
});
