import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { generateDataKey, generateSm2KeyPair, wrapDataKey } from "../../../gateway/src/crypto";
import { type Store, openSqliteStore } from "../../../gateway/src/store";
import * as tables from "../../../gateway/src/store/tables";
import { sealedRecord, sqliteHarness, storeErrorCode, uid } from "./harness";
import { describeGatewayTables } from "./gateway.behavior";
import { describeStore } from "./store.behavior";

describeStore("SQLite", () => sqliteHarness());
describeGatewayTables("SQLite", () => sqliteHarness());

/** The bytes SQLite keeps for the database: the file, its WAL and its shared-memory index, when they exist. */
function databaseBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

describe("store/sqlite", function () {
  const harnesses: ReturnType<typeof sqliteHarness>[] = [];
  function fresh() {
    const harness = sqliteHarness();
    harnesses.push(harness);
    return harness;
  }

  after(async function () {
    for (const harness of harnesses) await harness.destroy();
  });

  it("openSqliteStore: the file is in WAL mode and a second open of it applies no migration", async function () {
    const harness = fresh();
    const store = await harness.open();
    expect(await store.migrate()).to.deep.equal([]);
    const db = new Database(harness.file, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
    } finally {
      db.close();
    }
  });

  it("the submitter's listing (cases of one status in case-id order) searches an index; it does not walk the table", async function () {
    const harness = fresh();
    await (await harness.open()).close();
    const db = new Database(harness.file, { readonly: true });
    try {
      // The statement of `listCases({ status, limit })` (store/tables/cases.ts).
      const plan = db
        .prepare("EXPLAIN QUERY PLAN SELECT * FROM cases WHERE status = ? ORDER BY case_id LIMIT ?")
        .all("pending-chain", 1000) as { detail: string }[];
      expect(plan.map((p) => p.detail)).to.deep.equal(["SEARCH cases USING INDEX cases_status_idx (status=?)"]);
    } finally {
      db.close();
    }
  });

  it('openSqliteStore(":memory:"): works without a file', async function () {
    const store = await openSqliteStore({ path: ":memory:" });
    try {
      const { record } = sealedRecord();
      await store.insertRecord(record);
      expect((await store.getRecord(record.id))?.digest).to.equal(record.digest);
    } finally {
      await store.close();
    }
  });

  it("openSqliteStore: a folder that cannot be created is UNAVAILABLE; a closed store is UNAVAILABLE", async function () {
    const harness = fresh();
    const blocker = path.join(harness.folder, "a-file");
    writeFileSync(blocker, "not a folder");
    expect(await storeErrorCode(openSqliteStore({ path: path.join(blocker, "relief.sqlite") }))).to.equal(
      "UNAVAILABLE",
    );
    const store = await harness.open();
    await store.close();
    expect(await storeErrorCode(store.getRecord("x"))).to.equal("UNAVAILABLE");
  });

  it("transaction: opening or calling another store of the same file inside fn is INTERNAL, not a deadlock", async function () {
    const harness = fresh();
    const store = await harness.open();
    const other = await harness.open();
    const codes = await store.transaction(async () => [
      await storeErrorCode(harness.open()),
      await storeErrorCode(other.getRecord("x")),
    ]);
    expect(codes).to.deep.equal(["INTERNAL", "INTERNAL"]);
    expect(await other.getRecord("x")).to.equal(undefined);
  });

  it("file bytes: the plaintext of sealed records is nowhere in the database, its WAL or shm (a marker in the clear is found)", async function () {
    // Arrange: a record with a known marker sealed, with keys, an outbox entry, audit and idempotency rows.
    const marker = "MARKER-王小明-110105199003071234-13800138000";
    const harness = fresh();
    const store: Store = await harness.open();
    const { record } = sealedRecord({ plaintext: JSON.stringify({ name: marker, account: marker }) });
    const holder = generateSm2KeyPair();
    await store.transaction(async (tx) => {
      await tx.insertRecord(record);
      await tx.enqueueAnchor(record.id);
      await tx.putRecordKeys([
        {
          recordId: record.id,
          holderId: "h",
          fieldClass: "identity",
          wrappedKey: wrapDataKey(generateDataKey(), holder.publicKey),
        },
      ]);
      await tx.appendAudit({ actor: "caseworker-1", action: "create-application", target: record.id });
      await tx.getOrReserve("idem-1", "hash");
      await tx.completeIdempotency("idem-1", "hash", { status: 201, body: { id: record.id } });
    });
    const needle = Buffer.from(marker);

    // Assert: while open (WAL in use) and after close (checkpointed).
    expect(databaseBytes(harness.file).indexOf(needle), "while open").to.equal(-1);
    await store.close();
    expect(databaseBytes(harness.file).indexOf(needle), "after close").to.equal(-1);

    // Control: the same scan finds the marker when it is stored in the clear.
    const control = await harness.open();
    await control.appendAudit({ actor: "control", action: "control", reason: marker });
    expect(databaseBytes(harness.file).indexOf(needle)).to.be.greaterThan(-1);
  });

  it("data methods are built once per connection, not per call or transaction; a call's shred is its own", async function () {
    // Arrange: count how often the store builds its table methods.
    const module = tables as { createData: typeof tables.createData };
    const original = module.createData;
    let built = 0;
    module.createData = (ctx) => {
      built += 1;
      return original(ctx);
    };
    try {
      const harness = fresh();
      const store = await harness.open();
      const afterOpen = built;

      // Act: plain calls, multi-statement calls, transactions, concurrent ones and a failing one.
      const caseId = uid("case");
      const { record } = sealedRecord({ caseId });
      await store.insertRecord(record);
      const key = (holderId: string) => ({
        recordId: record.id,
        holderId,
        fieldClass: "household" as const,
        wrappedKey: generateDataKey(),
      });
      await store.putRecordKeys([key("a"), key("b")]);
      await Promise.all(Array.from({ length: 20 }, () => store.getRecord(record.id)));
      for (let i = 0; i < 5; i++) await store.transaction((tx) => tx.listRecordKeys(record.id));
      expect(await storeErrorCode(store.transaction((tx) => tx.getOrReserve("", "x")))).to.equal("INVALID_ARGUMENT");
      const [shredded, listed] = await Promise.all([store.shredKeys(caseId), store.listRecordKeys(record.id)]);

      // Assert: the executor's methods and the transaction connection's, built once each; behaviour unchanged.
      expect(built - afterOpen).to.be.at.most(2);
      expect(shredded).to.equal(2);
      expect(listed.length === 0 || listed.length === 2).to.equal(true);
      expect(await store.listRecordKeys(record.id)).to.deep.equal([]);
      await store.close();
    } finally {
      module.createData = original;
    }
  });

  it("shredKeys: the wrapped keys' bytes are overwritten in the file and the WAL is truncated (they are found before)", async function () {
    const harness = fresh();
    const store = await harness.open();
    const caseId = uid("case");
    const { record } = sealedRecord({ caseId });
    const wrapped = [generateDataKey(), generateDataKey()].map((k) => Buffer.concat([k, k])); // 32 distinctive bytes
    await store.transaction(async (tx) => {
      await tx.insertRecord(record);
      await tx.putRecordKeys(
        wrapped.map((wrappedKey, i) => ({
          recordId: record.id,
          holderId: `h${i}`,
          fieldClass: "household",
          wrappedKey,
        })),
      );
    });
    for (const key of wrapped) expect(databaseBytes(harness.file).indexOf(key), "before").to.be.greaterThan(-1);

    expect(await store.shredKeys(caseId)).to.equal(2);

    for (const key of wrapped) expect(databaseBytes(harness.file).indexOf(key), "after").to.equal(-1);
    expect(databaseBytes(harness.file).indexOf(record.envelope)).to.be.greaterThan(-1); // the record itself stays
  });
});
