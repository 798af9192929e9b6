/**
 * The store's behaviour, written once and run against every implementation (sqlite.test.ts, postgres.test.ts).
 * Tests share one database per suite and keep apart by unique ids, actors, keys and region codes.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  CryptoError,
  generateDataKey,
  generateSm2KeyPair,
  openData,
  unwrapDataKey,
  unwrapWithKek,
  wrapDataKey,
  wrapWithKek,
} from "../../../gateway/src/crypto";
import {
  AUDIT_RETENTION_MIN_DAYS,
  MIGRATIONS,
  type NewAuditEntry,
  type NewRecord,
  type NewRecordKey,
  type Store,
  type StoreData,
} from "../../../gateway/src/store";
import { MAX_BATCH_ROWS } from "../../../gateway/src/store/tables/batch";
import {
  type StoreHarness,
  TestClock,
  enqueueRecords,
  recordDigest,
  sealedRecord,
  sleep,
  storeErrorCode,
  uid,
  uniqueRegion,
} from "./harness";

const DAY_MS = 86_400_000;
const RUNS = Number(process.env.STORE_PROPERTY_RUNS ?? 25);
const hex32 = (label: string) => "0x" + Buffer.from(label.padEnd(32, ".").slice(0, 32)).toString("hex");

/** Defines the behaviour suite; `makeHarness` undefined means this implementation is not available (skipped). */
export function describeStore(name: string, makeHarness: (() => StoreHarness) | undefined, skipReason = ""): void {
  describe(`store (${name})`, function () {
    let harness: StoreHarness;
    let store: Store;
    const clock = new TestClock();
    let nextSequence = Math.floor(Math.random() * 1_000_000) * 1_000;

    before(async function () {
      if (makeHarness === undefined) {
        console.warn(`    (skipped: ${skipReason})`);
        this.skip();
      }
      harness = makeHarness();
      store = await harness.open({ now: clock.now });
    });

    after(async function () {
      await harness?.destroy();
    });

    afterEach(function () {
      clock.offsetMs = 0;
    });

    describe("migrations", function () {
      it("migrate / open again: a migrated database gets no migration a second time", async function () {
        expect(await store.migrate()).to.deep.equal([]);
        const again = await harness.open();
        expect(await again.migrate()).to.deep.equal([]);
        const applied = await again.appliedMigrations();
        expect(applied.map((m) => [m.version, m.name])).to.deep.equal(MIGRATIONS.map((m) => [m.version, m.name]));
      });

      it("migrate: a fresh database gets every migration once, even when two stores open it at the same time", async function () {
        const fresh = makeHarness!();
        try {
          const [a, b] = await Promise.all([fresh.open(), fresh.open()]);
          expect(await a.appliedMigrations()).to.have.length(MIGRATIONS.length);
          expect(await b.migrate()).to.deep.equal([]);
        } finally {
          await fresh.destroy();
        }
      });

      it("open: a database with a migration this code does not know is refused with SCHEMA_MISMATCH", async function () {
        await harness.raw(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from-the-future', 0)",
        );
        try {
          expect(await storeErrorCode(harness.open())).to.equal("SCHEMA_MISMATCH");
        } finally {
          await harness.raw("DELETE FROM schema_migrations WHERE version = 999");
        }
      });
    });

    describe("records", function () {
      it("insertRecord / getRecord: the sealed record comes back as stored, with its creation time", async function () {
        const { record } = sealedRecord({ kind: "household", regionCode: 110105001000 });
        const stored = await store.insertRecord(record);
        const read = await store.getRecord(record.id);
        expect(read).to.deep.equal(stored);
        expect(read!.envelope).to.deep.equal(Buffer.from(record.envelope));
        expect(read!).to.include({ id: record.id, kind: "household", caseId: record.caseId, regionCode: 110105001000 });
        expect(read!.digest).to.equal(record.digest);
        expect(await store.getRecord(uid("missing"))).to.equal(undefined);
      });

      it("insertRecord: an existing id is CONFLICT; plaintext instead of an envelope and a malformed digest are INVALID_ARGUMENT", async function () {
        const { record } = sealedRecord();
        await store.insertRecord(record);
        expect(await storeErrorCode(store.insertRecord(record))).to.equal("CONFLICT");
        const plain = { ...record, id: uid("rec"), envelope: Buffer.from('{"name":"张三"}') };
        expect(await storeErrorCode(store.insertRecord(plain))).to.equal("INVALID_ARGUMENT");
        const upper = { ...sealedRecord().record, digest: record.digest.toUpperCase() };
        expect(await storeErrorCode(store.insertRecord(upper))).to.equal("INVALID_ARGUMENT");
        expect(await storeErrorCode(store.insertRecord({ ...sealedRecord().record, regionCode: -1 }))).to.equal(
          "INVALID_ARGUMENT",
        );
      });

      it("listRecords: filters by case, region and kind, oldest first", async function () {
        const caseId = uid("case");
        const region = uniqueRegion();
        const a = sealedRecord({ caseId, regionCode: region, kind: "application" }).record;
        const b = sealedRecord({ caseId, regionCode: region, kind: "payment" }).record;
        await store.insertRecord(a);
        clock.offsetMs = 1;
        await store.insertRecord(b);
        expect((await store.listRecords({ caseId })).map((r) => r.id)).to.deep.equal([a.id, b.id]);
        expect((await store.listRecords({ regionCode: region, kind: "payment" })).map((r) => r.id)).to.deep.equal([
          b.id,
        ]);
        expect(await store.listRecords({ caseId, limit: 1 })).to.have.length(1);
        expect(await storeErrorCode(store.listRecords({ caseId, limit: 0 }))).to.equal("INVALID_ARGUMENT");
      });
    });

    describe("record keys and crypto-shredding", function () {
      it("putRecordKeys: a key of a missing record is NOT_FOUND; a duplicate is CONFLICT and none of the batch is stored", async function () {
        const { record } = sealedRecord();
        await store.insertRecord(record);
        const key = {
          recordId: record.id,
          holderId: "caseworker",
          fieldClass: "household" as const,
          wrappedKey: randomKey(),
        };
        expect(await storeErrorCode(store.putRecordKeys([{ ...key, recordId: uid("missing") }]))).to.equal("NOT_FOUND");
        await store.putRecordKeys([key]);
        const other = { ...key, holderId: "approver" };
        expect(await storeErrorCode(store.putRecordKeys([other, key]))).to.equal("CONFLICT");
        expect((await store.listRecordKeys(record.id)).map((k) => k.holderId)).to.deep.equal(["caseworker"]);
        expect(await storeErrorCode(store.putRecordKeys([{ ...other, fieldClass: "secret" as never }]))).to.equal(
          "INVALID_ARGUMENT",
        );
      });

      it("shredKeys: the case's wrapped keys are gone and its envelope cannot be opened; the digest and the outbox entry stay", async function () {
        // Arrange: a caseworker with an SM2 key pair and an SM2-wrapped KEK, an auditor with a bare SM2 key.
        const caseworker = generateSm2KeyPair();
        const auditor = generateSm2KeyPair();
        const kek = generateDataKey();
        const holderId = uid("caseworker");
        await store.putHolderKey({
          holderId,
          publicKeyPem: caseworker.publicKey.toPem(),
          wrappedKek: wrapDataKey(kek, caseworker.publicKey),
        });
        const caseId = uid("case");
        const sample = sealedRecord({
          caseId,
          plaintext: JSON.stringify({ name: "李四", residentId: "110105199003071234" }),
        });
        const { record } = sample;
        const neighbour = sealedRecord();
        await store.transaction(async (tx) => {
          await tx.insertRecord(record);
          await tx.enqueueAnchor(record.id);
          await tx.insertRecord(neighbour.record);
          await tx.putRecordKeys([
            {
              recordId: record.id,
              holderId,
              fieldClass: "household",
              wrappedKey: wrapWithKek(kek, sample.dataKey, `${record.id}/household`),
            },
            {
              recordId: record.id,
              holderId: "auditor",
              fieldClass: "identity",
              wrappedKey: wrapDataKey(sample.dataKey, auditor.publicKey),
            },
            {
              recordId: neighbour.record.id,
              holderId,
              fieldClass: "household",
              wrappedKey: wrapWithKek(kek, neighbour.dataKey, "n"),
            },
          ]);
        });
        const holder = (await store.getHolderKey(holderId))!;
        const storedKek = unwrapDataKey(holder.wrappedKek, caseworker.privateKey);
        const wrapped = (await store.getRecordKey(record.id, holderId, "household"))!;
        const dataKey = unwrapWithKek(storedKek, wrapped.wrappedKey, `${record.id}/household`);
        expect(openData(dataKey, (await store.getRecord(record.id))!.envelope, record.id)).to.deep.equal(
          sample.plaintext,
        );
        const before = await store.getAnchoringStatus(record.id);

        // Act
        expect(await store.shredKeys(caseId)).to.equal(2);

        // Assert: no wrapped key of the case is left, the KEK alone opens nothing, the digest still matches.
        expect(await store.listRecordKeys(record.id)).to.deep.equal([]);
        expect(await store.getRecordKey(record.id, holderId, "household")).to.equal(undefined);
        const after = (await store.getRecord(record.id))!;
        expect(after.digest).to.equal(record.digest);
        expect(recordDigest(after.envelope)).to.equal(record.digest);
        expect(() => openData(storedKek, after.envelope, record.id)).to.throw(CryptoError);
        expect(await store.getAnchoringStatus(record.id)).to.deep.equal(before);
        expect(await store.listRecordKeys(neighbour.record.id)).to.have.length(1);
        expect(await store.shredKeys(caseId)).to.equal(0);
      });
    });

    describe("batch writes", function () {
      /** Batch sizes around the most rows one statement carries: one, two and three statements, and more. */
      const SIZES = [1, MAX_BATCH_ROWS - 1, MAX_BATCH_ROWS, MAX_BATCH_ROWS + 1, 2 * MAX_BATCH_ROWS + 1];
      const twoKeys = (record: NewRecord): NewRecordKey[] =>
        (["household", "identity"] as const).map((fieldClass) => ({
          recordId: record.id,
          holderId: "caseworker",
          fieldClass,
          wrappedKey: randomKey(),
        }));

      it("insertRecords / putRecordKeys / enqueueAnchors / appendAudits: batches around the statement size store exactly what the single-row methods store", async function () {
        // Arrange: two fresh databases on one frozen clock, the same rows for both.
        const at = new Date(Date.UTC(2026, 0, 5, 8));
        const singles = makeHarness!();
        const batches = makeHarness!();
        try {
          const one = await singles.open({ now: () => at });
          const many = await batches.open({ now: () => at });
          const region = uniqueRegion();
          const actor = uid("importer");
          const written: { records: NewRecord[]; keys: NewRecordKey[]; audit: NewAuditEntry[] }[] = SIZES.map(
            (size) => {
              const records = Array.from({ length: size }, (_, i) => {
                const { record } = sealedRecord({ regionCode: region, kind: i % 2 === 0 ? "identity" : "payment" });
                return record;
              });
              return {
                records,
                keys: records.flatMap(twoKeys),
                audit: records.map((r, i) => ({
                  actor,
                  action: "case.received",
                  target: r.caseId,
                  reason: i % 3 === 0 ? null : "import",
                  details: i % 2 === 0 ? { records: [r.id] } : undefined,
                })),
              };
            },
          );

          // Act: row by row in one database, batch by batch in the other, one transaction per batch in both.
          const returned = { one: [] as unknown[], many: [] as unknown[] };
          for (const batch of written) {
            returned.one.push(
              await one.transaction(async (tx) => {
                const out: unknown[] = [];
                for (const record of batch.records) out.push(await tx.insertRecord(record));
                // As storeSealed does: each record's keys in one call.
                for (let i = 0; i < batch.records.length; i++)
                  await tx.putRecordKeys(batch.keys.slice(2 * i, 2 * i + 2));
                for (const record of batch.records) out.push(await tx.enqueueAnchor(record.id));
                for (const entry of batch.audit) out.push(await tx.appendAudit(entry));
                return out;
              }),
            );
            returned.many.push(
              await many.transaction(async (tx) => [
                ...(await tx.insertRecords(batch.records)),
                ...(await tx.putRecordKeys(batch.keys).then(() => [])),
                ...(await tx.enqueueAnchors(batch.records.map((r) => r.id))),
                ...(await tx.appendAudits(batch.audit)),
              ]),
            );
          }

          // Assert: the same return values, and the same rows read back.
          expect(rowsOf(returned.many)).to.deep.equal(rowsOf(returned.one));
          const ids = written.flatMap((b) => b.records.map((r) => r.id));
          const read = async (s: Store) => ({
            records: await s.listRecords({ regionCode: region, limit: 1_000 }),
            last: await s.getRecord(ids[ids.length - 1]),
            keys: await Promise.all(
              [ids[0], ids[MAX_BATCH_ROWS], ids[ids.length - 1]].map((id) => s.listRecordKeys(id)),
            ),
            outbox: await s.claimOutbox({ limit: ids.length, leaseMs: 1, regionCode: region }),
            audit: await s.listAudit({ actor, limit: 1_000 }),
          });
          const [fromOne, fromMany] = [await read(one), await read(many)];
          expect(rowsOf(Object.values(fromMany))).to.deep.equal(rowsOf(Object.values(fromOne)));
          expect(fromMany.outbox.map((e) => e.recordId)).to.deep.equal(ids);
          expect(fromMany.keys.map((keys) => keys.length)).to.deep.equal([2, 2, 2]);
        } finally {
          await singles.destroy();
          await batches.destroy();
        }
      });

      it("insertRecords / putRecordKeys / enqueueAnchors: a duplicate anywhere in the batch is CONFLICT and none of the batch is written", async function () {
        const existing = sealedRecord().record;
        await store.insertRecord(existing);
        await store.putRecordKeys(twoKeys(existing));
        await store.enqueueAnchor(existing.id);
        // Batches that take two statements, with the duplicate in the last one, or repeated within the batch.
        const fresh = () => Array.from({ length: MAX_BATCH_ROWS + 2 }, () => sealedRecord().record);
        for (const duplicate of ["existing", "repeated"] as const) {
          const records = fresh();
          const batch = duplicate === "existing" ? [...records, existing] : [...records, records[0]];
          expect(await storeErrorCode(store.insertRecords(batch)), duplicate).to.equal("CONFLICT");
          expect(await store.getRecord(records[0].id)).to.equal(undefined);
          expect(await store.getRecord(records[records.length - 1].id)).to.equal(undefined);
        }

        const records = fresh();
        await store.insertRecords(records);
        const keys = records.flatMap(twoKeys);
        for (const batch of [
          [...keys, twoKeys(existing)[1]],
          [...keys, keys[0]],
        ]) {
          expect(await storeErrorCode(store.putRecordKeys(batch))).to.equal("CONFLICT");
          expect(await store.listRecordKeys(records[0].id)).to.deep.equal([]);
          expect(await store.listRecordKeys(records[records.length - 1].id)).to.deep.equal([]);
        }
        const missingKey = { ...keys[0], recordId: uid("missing") };
        expect(await storeErrorCode(store.putRecordKeys([...keys, missingKey]))).to.equal("NOT_FOUND");
        expect(await store.listRecordKeys(records[0].id)).to.deep.equal([]);

        const ids = records.map((r) => r.id);
        for (const [batch, code] of [
          [[...ids, existing.id], "CONFLICT"],
          [[...ids, ids[0]], "CONFLICT"],
          [[...ids, uid("missing")], "NOT_FOUND"],
        ] as const) {
          expect(await storeErrorCode(store.enqueueAnchors([...batch]))).to.equal(code);
          expect(await store.getAnchoringStatus(ids[0])).to.equal(undefined);
          expect(await store.getAnchoringStatus(ids[ids.length - 1])).to.equal(undefined);
        }
        expect(await store.putRecordKeys(keys)).to.equal(undefined);
        expect((await store.enqueueAnchors(ids)).map((e) => e.recordId)).to.deep.equal(ids);
      });

      it("insertRecords / putRecordKeys / enqueueAnchors / appendAudits: a malformed row is INVALID_ARGUMENT naming the argument and the row, and nothing is written", async function () {
        const good = sealedRecord().record;
        const actor = uid("auditor");
        const resident = "110105199003071234";
        const cases: [() => Promise<unknown>, string][] = [
          [() => store.insertRecords([good, { ...sealedRecord().record, digest: resident }]), "records[1]: digest"],
          [
            () => store.insertRecords([good, { ...sealedRecord().record, envelope: Buffer.from(resident) }]),
            "records[1]: envelope",
          ],
          [() => store.insertRecords([good, { ...sealedRecord().record, regionCode: -1 }]), "records[1]: regionCode"],
          [() => store.insertRecords([good, null as never]), "records[1]: must be an object"],
          [() => store.insertRecords("x" as never), "records must be an array"],
          [
            () => store.putRecordKeys([...twoKeys(good), { ...twoKeys(good)[0], fieldClass: resident as never }]),
            "keys[2]: fieldClass",
          ],
          [() => store.putRecordKeys([{ ...twoKeys(good)[0], holderId: "" }]), "keys[0]: holderId"],
          [() => store.enqueueAnchors([good.id, ""]), "recordIds[1]: record id"],
          [
            () =>
              store.appendAudits([
                { actor, action: "b" },
                { actor: "", action: resident },
              ]),
            "entries[1]: actor",
          ],
          [() => store.appendAudits([{ actor, action: "b", details: () => 1 } as never]), "entries[0]: details"],
        ];
        for (const [call, named] of cases) {
          const error = await storeError(call());
          expect(error.code, named).to.equal("INVALID_ARGUMENT");
          expect(error.message, named).to.include(named);
          expect(error.message, named).not.to.include(resident);
        }
        expect(await store.getRecord(good.id)).to.equal(undefined);
        expect(await store.listAudit({ actor })).to.deep.equal([]);
      });

      it("insertRecords / putRecordKeys / enqueueAnchors / appendAudits: an empty batch writes nothing", async function () {
        expect(await store.insertRecords([])).to.deep.equal([]);
        expect(await store.putRecordKeys([])).to.equal(undefined);
        expect(await store.enqueueAnchors([])).to.deep.equal([]);
        expect(await store.appendAudits([])).to.deep.equal([]);
      });
    });

    describe("transactions", function () {
      it("transaction: fast-check: a failure at any point leaves no record, key, outbox entry, audit row, reservation or holder", async function () {
        const existing = sealedRecord().record;
        await store.insertRecord(existing);
        type Step = "record" | "keys" | "audit" | "reserve" | "holder";
        const steps = fc.array(fc.constantFrom<Step>("record", "keys", "audit", "reserve", "holder"), {
          minLength: 1,
          maxLength: 8,
        });
        const failures = fc.constantFrom("throw", "conflict-caught", "conflict-thrown", "none");
        await fc.assert(
          fc.asyncProperty(steps, fc.nat(), failures, async (plan, at, failure) => {
            const failAt = at % (plan.length + 1);
            const actor = uid("actor");
            const written = {
              records: [] as string[],
              queued: [] as string[],
              keys: [] as string[],
              reservations: [] as string[],
              holders: [] as string[],
            };
            const work = store.transaction(async (tx: StoreData) => {
              for (let i = 0; i <= plan.length; i++) {
                if (i === failAt && failure === "throw") throw new Error("boom");
                if (i === failAt && failure !== "none") {
                  const duplicate = tx.insertRecord(existing);
                  if (failure === "conflict-thrown") await duplicate;
                  else await duplicate.catch(() => undefined); // caught: the transaction is spoiled anyway
                }
                if (i === plan.length) break;
                await perform(tx, plan[i], actor, written);
              }
              return "committed";
            });
            if (failure === "none") {
              expect(await work).to.equal("committed");
            } else {
              expect(
                await work.then(
                  () => "committed",
                  (error: Error) => (error.name === "StoreError" ? (error as { code?: string }).code : error.message),
                ),
              ).to.equal(failure === "throw" ? "boom" : "CONFLICT");
            }
            const visible = failure === "none";
            for (const id of written.records) {
              expect((await store.getRecord(id)) !== undefined).to.equal(visible);
            }
            for (const id of written.queued) {
              expect((await store.getAnchoringStatus(id)) !== undefined).to.equal(visible);
            }
            for (const id of written.keys) expect((await store.listRecordKeys(id)).length > 0).to.equal(visible);
            expect((await store.listAudit({ actor })).length).to.equal(
              visible ? plan.filter((s) => s === "audit").length : 0,
            );
            for (const key of written.reservations) {
              expect((await store.getOrReserve(key, "h")).outcome).to.equal(visible ? "in-progress" : "reserved");
            }
            for (const holder of written.holders)
              expect((await store.getHolderKey(holder)) !== undefined).to.equal(visible);
          }),
          { numRuns: RUNS },
        );
      });

      it("transaction: calling the store itself inside fn is INTERNAL; a tx kept after fn returns is refused", async function () {
        let kept: StoreData | undefined;
        const inner = await store.transaction(async (tx) => {
          kept = tx;
          return storeErrorCode(store.getRecord("x"));
        });
        expect(inner).to.equal("INTERNAL");
        expect(await storeErrorCode(kept!.getRecord("x"))).to.equal("INTERNAL");
        expect(await storeErrorCode(store.transaction(() => store.transaction(async () => 1)))).to.equal("INTERNAL");
      });

      it("transaction: while fn awaits, other callers neither see its writes nor have theirs rolled back with it", async function () {
        const inside = sealedRecord().record;
        const outside = sealedRecord().record;
        let entered!: () => void;
        const started = new Promise<void>((resolve) => (entered = resolve));
        const failing = store.transaction(async (tx) => {
          await tx.insertRecord(inside);
          entered();
          await sleep(80);
          throw new Error("rolled back");
        });
        await started; // from here on, calls come from outside the transaction
        const read = store.getRecord(inside.id);
        const other = await harness.open();
        const write = other.insertRecord(outside);
        expect(await failing.catch((error: Error) => error.message)).to.equal("rolled back");
        expect(await read).to.equal(undefined);
        await write;
        expect(await store.getRecord(inside.id)).to.equal(undefined);
        expect((await store.getRecord(outside.id))?.id).to.equal(outside.id);
      });

      it("transaction: a synchronous fn works and its value is returned", async function () {
        expect(await store.transaction(() => 42)).to.equal(42);
      });
    });

    describe("outbox and anchors", function () {
      it("claimOutbox: serves due pending entries in queue order, leases them, and serves them again after the lease", async function () {
        const region = uniqueRegion();
        const ids = await enqueueRecords(store, region, 7);
        const first = await store.claimOutbox({ limit: 3, leaseMs: 60_000, regionCode: region });
        const second = await store.claimOutbox({ limit: 3, leaseMs: 60_000, regionCode: region });
        const third = await store.claimOutbox({ limit: 3, leaseMs: 60_000, regionCode: region });
        expect([first, second, third].map((batch) => batch.map((e) => e.recordId))).to.deep.equal([
          ids.slice(0, 3),
          ids.slice(3, 6),
          ids.slice(6),
        ]);
        expect(first.every((e) => e.attempts === 1 && e.status === "pending" && e.regionCode === region)).to.equal(
          true,
        );
        expect(await store.claimOutbox({ limit: 10, leaseMs: 60_000, regionCode: region })).to.deep.equal([]);
        clock.offsetMs = 60_001;
        const retried = await store.claimOutbox({ limit: 10, leaseMs: 60_000, regionCode: region });
        expect(retried.map((e) => [e.recordId, e.attempts])).to.deep.equal(ids.map((id) => [id, 2]));
      });

      it("claimOutbox: two stores claiming at the same time never get the same entry and each gets its entries in order", async function () {
        const region = uniqueRegion();
        const ids = await enqueueRecords(store, region, 40);
        const other = await harness.open({ now: clock.now });
        const claimer = async (s: Store) => {
          const batches: string[][] = [];
          for (;;) {
            const batch = await s.claimOutbox({ limit: 3, leaseMs: 60_000, regionCode: region });
            if (batch.length === 0) return batches;
            batches.push(batch.map((e) => e.recordId));
          }
        };
        const results = await Promise.all([claimer(store), claimer(other), claimer(store), claimer(other)]);
        const claimed = results.flat(2);
        expect(claimed).to.have.length(ids.length);
        expect(new Set(claimed).size).to.equal(ids.length);
        const rank = new Map(ids.map((id, i) => [id, i]));
        for (const batches of results) {
          const order = batches.flat().map((id) => rank.get(id)!);
          expect(order).to.deep.equal([...order].sort((x, y) => x - y));
        }
      });

      it("enqueueAnchor: a missing record is NOT_FOUND; a record queued twice is CONFLICT", async function () {
        expect(await storeErrorCode(store.enqueueAnchor(uid("missing")))).to.equal("NOT_FOUND");
        const [id] = await enqueueRecords(store, uniqueRegion(), 1);
        expect(await storeErrorCode(store.enqueueAnchor(id))).to.equal("CONFLICT");
      });

      it("rescheduleOutbox: a pending entry is not claimable before the given time", async function () {
        const region = uniqueRegion();
        const ids = await enqueueRecords(store, region, 2);
        await store.claimOutbox({ limit: 2, leaseMs: 1, regionCode: region });
        expect(await store.rescheduleOutbox(ids, new Date(clock.now().getTime() + 10_000))).to.equal(2);
        clock.offsetMs = 5_000;
        expect(await store.claimOutbox({ limit: 2, leaseMs: 1, regionCode: region })).to.deep.equal([]);
        clock.offsetMs = 10_001;
        expect(await store.claimOutbox({ limit: 2, leaseMs: 1, regionCode: region })).to.have.length(2);
      });

      it("beginAnchor → setAnchorTransaction → confirmAnchor: every leaf gets its anchor, index, transaction and block", async function () {
        const region = uniqueRegion();
        const ids = await enqueueRecords(store, region, 3);
        const claimed = await store.claimOutbox({ limit: 10, leaseMs: 1, regionCode: region });
        const sequence = nextSequence++;
        const root = hex32(`root-${sequence}`);
        const anchor = await store.beginAnchor({
          sequence,
          root,
          regionCode: region,
          recordIds: claimed.map((e) => e.recordId),
        });
        expect(anchor).to.include({
          sequence,
          root,
          recordCount: 3,
          regionCode: region,
          status: "submitted",
          txHash: null,
        });
        expect((await store.getAnchoringStatus(ids[1]))!).to.include({
          anchorSequence: sequence,
          leafIndex: 1,
          status: "pending",
        });
        clock.offsetMs = 10;
        expect(await store.claimOutbox({ limit: 10, leaseMs: 1, regionCode: region })).to.deep.equal([]);

        const txHash = hex32(`tx-${sequence}`);
        expect((await store.setAnchorTransaction(sequence, txHash)).txHash).to.equal(txHash);
        expect(await store.confirmAnchor(sequence, { txHash, blockNumber: 1234 })).to.equal(3);

        const leaves = await store.listAnchorLeaves(sequence);
        expect(leaves.map((e) => [e.recordId, e.leafIndex, e.status, e.txHash, e.blockNumber])).to.deep.equal(
          ids.map((id, i) => [id, i, "anchored", txHash, 1234]),
        );
        expect((await store.getAnchor(sequence))!).to.include({ status: "confirmed", txHash, blockNumber: 1234 });
        expect(await store.confirmAnchor(sequence, { txHash, blockNumber: 1234 })).to.equal(0);
        expect(
          await storeErrorCode(store.confirmAnchor(sequence, { txHash: hex32("other"), blockNumber: 1234 })),
        ).to.equal("CONFLICT");
        expect(await storeErrorCode(store.setAnchorTransaction(sequence, txHash))).to.equal("CONFLICT");
        expect(await storeErrorCode(store.confirmAnchor(nextSequence++, { txHash, blockNumber: 1 }))).to.equal(
          "NOT_FOUND",
        );
        expect((await store.listAnchors({ status: "confirmed", limit: 1000 })).map((a) => a.sequence)).to.include(
          sequence,
        );
      });

      it("beginAnchor: an entry already in an anchor, of another region, or unknown is CONFLICT and nothing is written", async function () {
        const region = uniqueRegion();
        const ids = await enqueueRecords(store, region, 2);
        const [foreign] = await enqueueRecords(store, uniqueRegion(), 1);
        const first = nextSequence++;
        await store.beginAnchor({ sequence: first, root: hex32("a"), regionCode: region, recordIds: [ids[0]] });
        for (const recordIds of [
          [ids[1], ids[0]],
          [ids[1], foreign],
          [ids[1], uid("missing")],
        ]) {
          const sequence = nextSequence++;
          expect(
            await storeErrorCode(store.beginAnchor({ sequence, root: hex32("b"), regionCode: region, recordIds })),
          ).to.equal("CONFLICT");
          expect(await store.getAnchor(sequence)).to.equal(undefined);
          expect((await store.getAnchoringStatus(ids[1]))!.anchorSequence).to.equal(null);
        }
        expect(
          await storeErrorCode(
            store.beginAnchor({ sequence: first, root: hex32("c"), regionCode: region, recordIds: [ids[1]] }),
          ),
        ).to.equal("CONFLICT");
      });

      it("abandonAnchor: the anchor's entries are pending, in no anchor and claimable again; the anchor is gone", async function () {
        const region = uniqueRegion();
        const ids = await enqueueRecords(store, region, 2);
        const sequence = nextSequence++;
        await store.beginAnchor({ sequence, root: hex32("r"), regionCode: region, recordIds: ids });
        await store.confirmAnchor(sequence, { txHash: hex32("t"), blockNumber: 7 });
        expect(await store.abandonAnchor(sequence)).to.equal(2);
        expect(await store.getAnchor(sequence)).to.equal(undefined);
        expect((await store.getAnchoringStatus(ids[0]))!).to.include({
          status: "pending",
          anchorSequence: null,
          txHash: null,
        });
        expect(
          (await store.claimOutbox({ limit: 5, leaseMs: 1, regionCode: region })).map((e) => e.recordId),
        ).to.deep.equal(ids);
        expect(await storeErrorCode(store.abandonAnchor(sequence))).to.equal("NOT_FOUND");
      });
    });

    describe("audit log", function () {
      it("appendAudit / listAudit: entries come back oldest first, filtered by actor, action, time and id", async function () {
        const actor = uid("auditor");
        const a = await store.appendAudit({
          actor,
          action: "decrypt",
          target: "rec-1",
          reason: "complaint 17",
          details: { fields: ["identity"] },
        });
        clock.offsetMs = 1_000;
        const b = await store.appendAudit({ actor, action: "approve", target: "case-1" });
        expect(await store.listAudit({ actor })).to.deep.equal([a, b]);
        expect(a).to.include({ actor, action: "decrypt", target: "rec-1", reason: "complaint 17" });
        expect(a.details).to.deep.equal({ fields: ["identity"] });
        expect(b.details).to.equal(null);
        expect(await store.listAudit({ actor, action: "approve" })).to.deep.equal([b]);
        expect(await store.listAudit({ actor, since: b.at })).to.deep.equal([b]);
        expect(await store.listAudit({ actor, until: b.at })).to.deep.equal([a]);
        expect(await store.listAudit({ actor, afterId: a.id })).to.deep.equal([b]);
        expect(await store.listAudit({ actor, limit: 1 })).to.deep.equal([a]);
      });

      it(`purgeAudit: refuses to delete entries younger than ${AUDIT_RETENTION_MIN_DAYS} days and deletes only older ones`, async function () {
        const actor = uid("auditor");
        const base = -6 * 365 * DAY_MS; // years ago, so that the database's own 180-day guard agrees
        for (const ageDays of [0, 150, 250]) {
          clock.offsetMs = base + ageDays * DAY_MS;
          await store.appendAudit({ actor, action: `at-day-${ageDays}` });
        }
        clock.offsetMs = base + 300 * DAY_MS; // entries are now 300, 150 and 50 days old
        for (const days of [179, 179.99, 0, -1, Number.NaN]) {
          expect(await storeErrorCode(store.purgeAudit(days))).to.equal("INVALID_ARGUMENT");
        }
        expect(await store.listAudit({ actor })).to.have.length(3);
        expect(await store.purgeAudit(AUDIT_RETENTION_MIN_DAYS)).to.be.at.least(1);
        expect((await store.listAudit({ actor })).map((e) => e.action)).to.deep.equal(["at-day-150", "at-day-250"]);
      });

      it("audit_log: the database refuses to update an entry or to delete one younger than 180 days, even in raw SQL", async function () {
        const actor = uid("auditor");
        await store.appendAudit({ actor, action: "approve" });
        const where = `WHERE actor = '${actor}'`;
        let error: unknown;
        await harness.raw(`UPDATE audit_log SET action = 'forged' ${where}`).catch((e) => (error = e));
        expect(error, "UPDATE").to.be.instanceOf(Error);
        error = undefined;
        await harness.raw(`DELETE FROM audit_log ${where}`).catch((e) => (error = e));
        expect(error, "DELETE").to.be.instanceOf(Error);
        expect((await store.listAudit({ actor })).map((e) => e.action)).to.deep.equal(["approve"]);
      });
    });

    describe("idempotency", function () {
      it("getOrReserve: the first call reserves; the same key and hash then gets in-progress, then the stored response", async function () {
        const key = uid("idem");
        expect(await store.getOrReserve(key, "hash-1")).to.deep.equal({ outcome: "reserved" });
        expect((await store.getOrReserve(key, "hash-1")).outcome).to.equal("in-progress");
        await store.completeIdempotency(key, "hash-1", { status: 201, body: { runId: 9, ok: true } });
        const replay = await store.getOrReserve(key, "hash-1");
        expect(replay).to.deep.include({ outcome: "completed", status: 201, body: { runId: 9, ok: true } });
      });

      it("getOrReserve / completeIdempotency: another request hash with the same key is CONFLICT, before and after completion", async function () {
        const key = uid("idem");
        await store.getOrReserve(key, "hash-1");
        expect(await storeErrorCode(store.getOrReserve(key, "hash-2"))).to.equal("CONFLICT");
        expect(await storeErrorCode(store.completeIdempotency(key, "hash-2", { status: 200, body: null }))).to.equal(
          "CONFLICT",
        );
        await store.completeIdempotency(key, "hash-1", { status: 200, body: null });
        expect(await storeErrorCode(store.getOrReserve(key, "hash-2"))).to.equal("CONFLICT");
        expect(await storeErrorCode(store.completeIdempotency(key, "hash-1", { status: 200, body: null }))).to.equal(
          "CONFLICT",
        );
        expect(await storeErrorCode(store.completeIdempotency(uid("idem"), "h", { status: 200, body: null }))).to.equal(
          "NOT_FOUND",
        );
      });

      it("releaseIdempotency: a released reservation can be taken again; a completed one is not released", async function () {
        const key = uid("idem");
        await store.getOrReserve(key, "h");
        expect(await store.releaseIdempotency(key, "h")).to.equal(true);
        expect(await store.getOrReserve(key, "h")).to.deep.equal({ outcome: "reserved" });
        await store.completeIdempotency(key, "h", { status: 202, body: [] });
        expect(await store.releaseIdempotency(key, "h")).to.equal(false);
        expect((await store.getOrReserve(key, "h")).outcome).to.equal("completed");
      });

      it("takeOverIdempotency: of concurrent take-overs of a pending reservation, exactly one wins; a completed one is not taken", async function () {
        const key = uid("idem");
        await store.getOrReserve(key, "h");
        const pending = await store.getOrReserve(key, "h");
        if (pending.outcome !== "in-progress") throw new Error("expected the reservation in progress");
        const wins = await Promise.all([1, 2, 3].map(() => store.takeOverIdempotency(key, "h", pending.since)));
        expect(wins.filter(Boolean)).to.have.length(1);
        expect(await store.takeOverIdempotency(key, "other-hash", pending.since)).to.equal(false);
        const taken = await store.getOrReserve(key, "h");
        await store.completeIdempotency(key, "h", { status: 202, body: [] });
        if (taken.outcome === "in-progress")
          expect(await store.takeOverIdempotency(key, "h", taken.since)).to.equal(false);
        expect((await store.getOrReserve(key, "h")).outcome).to.equal("completed");
      });

      it("getOrReserve: of concurrent reservations of one key from two stores, exactly one wins", async function () {
        const other = await harness.open();
        const key = uid("idem");
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).getOrReserve(key, "h")),
        );
        expect(outcomes.filter((o) => o.outcome === "reserved")).to.have.length(1);
        expect(outcomes.filter((o) => o.outcome === "in-progress")).to.have.length(11);
      });

      it("getOrReserve: a caller racing a transaction that reserves and completes a key gets the completed response", async function () {
        const other = await harness.open();
        const key = uid("idem");
        const owner = store.transaction(async (tx) => {
          const reservation = await tx.getOrReserve(key, "h");
          await sleep(100);
          await tx.completeIdempotency(key, "h", { status: 201, body: { done: true } });
          return reservation.outcome;
        });
        await sleep(20);
        const racer = await other.getOrReserve(key, "h");
        expect(await owner).to.equal("reserved");
        expect(racer).to.deep.include({ outcome: "completed", status: 201, body: { done: true } });
      });

      it("purgeIdempotency: deletes keys created before the given time", async function () {
        const key = uid("idem");
        clock.offsetMs = -10 * DAY_MS;
        await store.getOrReserve(key, "h");
        clock.offsetMs = 0;
        expect(await store.purgeIdempotency(new Date(Date.now() - 9 * DAY_MS))).to.be.at.least(1);
        expect(await store.getOrReserve(key, "h")).to.deep.equal({ outcome: "reserved" });
      });
    });

    describe("holder keys", function () {
      it("putHolderKey / rotateHolderKey / setHolderKeyStatus: a holder is registered once, rotated in place and suspended", async function () {
        const holderId = uid("finance");
        const first = generateSm2KeyPair();
        const kek = generateDataKey();
        const created = await store.putHolderKey({
          holderId,
          publicKeyPem: first.publicKey.toPem(),
          wrappedKek: wrapDataKey(kek, first.publicKey),
        });
        expect(created).to.include({ holderId, status: "active", rotatedAt: null });
        expect(
          await storeErrorCode(store.putHolderKey({ holderId, publicKeyPem: "x", wrappedKek: randomKey() })),
        ).to.equal("CONFLICT");

        const second = generateSm2KeyPair();
        clock.offsetMs = 1_000;
        const rotated = await store.rotateHolderKey(holderId, {
          publicKeyPem: second.publicKey.toPem(),
          wrappedKek: wrapDataKey(kek, second.publicKey),
        });
        expect(rotated.publicKeyPem).to.equal(second.publicKey.toPem());
        expect(rotated.rotatedAt!.getTime()).to.be.greaterThan(created.createdAt.getTime());
        expect(unwrapDataKey(rotated.wrappedKek, second.privateKey)).to.deep.equal(kek); // same KEK, new wrapping

        expect((await store.setHolderKeyStatus(holderId, "suspended")).status).to.equal("suspended");
        expect((await store.listHolderKeys({ status: "suspended" })).map((k) => k.holderId)).to.include(holderId);
        expect(
          await storeErrorCode(store.rotateHolderKey(uid("nobody"), { publicKeyPem: "x", wrappedKek: randomKey() })),
        ).to.equal("NOT_FOUND");
        expect(await storeErrorCode(store.setHolderKeyStatus(holderId, "lost" as never))).to.equal("INVALID_ARGUMENT");
      });
    });
  });
}

/**
 * Each row of lists of rows as JSON (bytes as hex, times as epoch ms): chai's deep equality, as the test runner
 * extends it, is slow on thousands of rows with buffers.
 */
function rowsOf(lists: unknown[]): string[] {
  return lists
    .flatMap((list) => (Array.isArray(list) ? list : [list]))
    .map((row) =>
      JSON.stringify(row, function (key, value) {
        const raw = (this as Record<string, unknown>)[key];
        if (Buffer.isBuffer(raw)) return raw.toString("hex");
        if (raw instanceof Date) return raw.getTime();
        return value;
      }),
    );
}

/** The StoreError `promise` rejects with (fails if it resolves or rejects with something else). */
async function storeError(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    if ((error as Error).name !== "StoreError") throw error;
    return error as Error & { code: string };
  }
  throw new Error("expected a StoreError, the call succeeded");
}

function randomKey(): Buffer {
  return generateDataKey();
}

/** One step of the atomicity property, noting what it wrote. */
async function perform(
  tx: StoreData,
  step: "record" | "keys" | "audit" | "reserve" | "holder",
  actor: string,
  written: { records: string[]; queued: string[]; keys: string[]; reservations: string[]; holders: string[] },
): Promise<void> {
  switch (step) {
    case "record": {
      const { record } = sealedRecord();
      await tx.insertRecord(record);
      await tx.enqueueAnchor(record.id);
      written.records.push(record.id);
      written.queued.push(record.id);
      return;
    }
    case "keys": {
      const { record } = sealedRecord();
      await tx.insertRecord(record);
      await tx.putRecordKeys([{ recordId: record.id, holderId: "h", fieldClass: "payment", wrappedKey: randomKey() }]);
      written.records.push(record.id);
      written.keys.push(record.id);
      return;
    }
    case "audit":
      await tx.appendAudit({ actor, action: "test" });
      return;
    case "reserve": {
      const key = uid("idem");
      await tx.getOrReserve(key, "h");
      written.reservations.push(key);
      return;
    }
    case "holder": {
      const holderId = uid("holder");
      await tx.putHolderKey({ holderId, publicKeyPem: "-----BEGIN PUBLIC KEY-----", wrappedKek: randomKey() });
      written.holders.push(holderId);
      return;
    }
  }
}
