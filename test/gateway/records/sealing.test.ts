import { expect } from "chai";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openData, parseEnvelope, sm3, unwrapWithKek } from "../../../gateway/src/crypto";
import { Keyring, KeyringError } from "../../../gateway/src/keys";
import {
  type Grant,
  type RecordHeader,
  RecordError,
  type SealedRecord,
  digestMatches,
  newRecordId,
  openRecord,
  recordDigest,
  recordKeyContext,
  sealRecord,
  storeSealed,
  storeSealedMany,
} from "../../../gateway/src/records";
import type { JsonValue, Store, StoredRecord } from "../../../gateway/src/store";
import { sqliteHarness, storeErrorCode, uid } from "../store/harness";

const RUNS = Number(process.env.RECORD_PROPERTY_RUNS ?? 40);

/** The error code `promise` rejects with, for RecordError and KeyringError (fails otherwise). */
async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof RecordError) && !(error instanceof KeyringError)) throw error;
    return error.code;
  }
  throw new Error("expected a RecordError or KeyringError, the call succeeded");
}

/** The header byte layout of records/sealing.ts, written out independently of it. */
function headerBytesByHand(header: RecordHeader): Buffer {
  const text = (s: string) => {
    const bytes = Buffer.from(s, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const u64 = (n: number) => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(BigInt(n));
    return out;
  };
  return Buffer.concat([
    text(header.id),
    text(header.kind),
    text(header.caseId),
    u64(header.regionCode),
    u64(header.schemaVersion),
  ]);
}

describe("records/sealing", function () {
  const harness = sqliteHarness();
  let store: Store;
  let keyring: Keyring;
  let keyDir: string;
  // Holders: a caseworker (household + identity), an approver (household), the payment agent (payment), and an
  // auditor granted nothing.
  const caseworker = "caseworker-110105";
  const approver = "approver-110100";
  const bank = "bank-agent";
  const auditor = "auditor";

  before(async function () {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-records-"));
    store = await harness.open();
    keyring = await Keyring.open({ dir: path.join(keyDir, "keys"), store });
    for (const id of [caseworker, approver, bank, auditor]) await keyring.createHolder(id);
  });

  after(async function () {
    await harness.destroy();
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  const standardGrants: Grant[] = [
    { holderId: caseworker, fieldClass: "household" },
    { holderId: caseworker, fieldClass: "identity" },
    { holderId: approver, fieldClass: "household" },
    { holderId: bank, fieldClass: "payment" },
  ];

  function header(overrides: Partial<RecordHeader> = {}): Omit<RecordHeader, "id"> & { id?: string } {
    return { kind: "application", caseId: uid("case"), regionCode: 110105, schemaVersion: 1, ...overrides };
  }

  async function sealAndStore(
    payload: JsonValue,
    grants: Grant[] = standardGrants,
    h = header(),
  ): Promise<{ stored: StoredRecord; sealed: SealedRecord }> {
    const sealed = await sealRecord(keyring, h, payload, grants);
    const stored = await store.transaction((tx) => storeSealed(tx, sealed));
    return { stored, sealed };
  }

  describe("newRecordId", function () {
    it("is rec_ and a 26-character ULID; ids made in a row strictly increase and start with the time", function () {
      const before = Date.now();
      const ids = Array.from({ length: 500 }, () => newRecordId());
      for (const id of ids) expect(id).to.match(/^rec_[0-9A-HJKMNP-TV-Z]{26}$/);
      for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1], `${ids[i - 1]} < ${ids[i]}`).to.equal(true);
      const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
      const time = [...ids[0].slice(4, 14)].reduce((t, c) => t * 32 + alphabet.indexOf(c), 0);
      expect(time).to.be.within(before, Date.now());
      expect(new Set(ids).size).to.equal(ids.length);
    });
  });

  describe("sealRecord / storeSealed / openRecord", function () {
    it("round trip: any JSON payload comes back from the store for every grant (fast-check)", async function () {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), async (payload) => {
          const grants: Grant[] = [
            { holderId: caseworker, fieldClass: "household" },
            { holderId: bank, fieldClass: "payment" },
          ];
          const { stored } = await sealAndStore(payload as JsonValue, grants);
          const fetched = (await store.getRecord(stored.id)) as StoredRecord;
          expect(digestMatches(fetched)).to.equal(true);
          for (const { holderId, fieldClass } of grants) {
            const opened = await openRecord(keyring, store, fetched, holderId, fieldClass);
            expect(opened).to.deep.equal(JSON.parse(JSON.stringify(payload)));
          }
        }),
        { numRuns: RUNS },
      );
    });

    it("storeSealed: the record, one wrapped key per distinct grant and a pending outbox entry, in one transaction", async function () {
      // Arrange: grants with a duplicate.
      const sealed = await sealRecord(keyring, header(), { household: { size: 3 } }, [
        ...standardGrants,
        { holderId: bank, fieldClass: "payment" },
      ]);
      expect(sealed.keys).to.have.length(4);
      expect(sealed.record.id).to.match(/^rec_/);

      // Act
      const stored = await store.transaction((tx) => storeSealed(tx, sealed));

      // Assert
      expect(stored.digest).to.equal(sealed.record.digest);
      const keys = await store.listRecordKeys(stored.id);
      expect(keys.map((k) => `${k.holderId}/${k.fieldClass}`).sort()).to.deep.equal(
        standardGrants.map((g) => `${g.holderId}/${g.fieldClass}`).sort(),
      );
      const outbox = await store.getAnchoringStatus(stored.id);
      expect(outbox?.status).to.equal("pending");
      expect(outbox?.digest).to.equal(stored.digest);
      // Storing it again fails as a whole: the record exists.
      expect(await storeErrorCode(store.transaction((tx) => storeSealed(tx, sealed)))).to.equal("CONFLICT");
    });

    it("storeSealedMany: the records, their wrapped keys and outbox entries in the order given; a corrupt or existing record anywhere and nothing of the batch is stored", async function () {
      const caseId = uid("case");
      const seal = (n: number) => sealRecord(keyring, header({ caseId }), { n }, standardGrants);
      const sealed: SealedRecord[] = [];
      for (let i = 0; i < 5; i++) sealed.push(await seal(i));

      const stored = await store.transaction((tx) => storeSealedMany(tx, sealed));

      expect(stored.map((r) => r.id)).to.deep.equal(sealed.map((s) => s.record.id));
      const positions: number[] = [];
      for (const [i, record] of stored.entries()) {
        expect(await openRecord(keyring, store, record, bank, "payment")).to.deep.equal({ n: i });
        expect(await store.listRecordKeys(record.id)).to.have.length(standardGrants.length);
        const entry = (await store.getAnchoringStatus(record.id))!;
        expect(entry).to.include({ status: "pending", digest: record.digest });
        positions.push(entry.position);
      }
      expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));

      const more = [await seal(10), await seal(11), await seal(12)];
      const tampered = { ...more[2], record: { ...more[2].record, digest: more[0].record.digest } };
      expect(await errorCode(store.transaction((tx) => storeSealedMany(tx, [more[0], more[1], tampered])))).to.equal(
        "CORRUPT",
      );
      expect(await storeErrorCode(store.transaction((tx) => storeSealedMany(tx, [...more, sealed[0]])))).to.equal(
        "CONFLICT",
      );
      for (const s of more) expect(await store.getRecord(s.record.id)).to.equal(undefined);
      expect(await store.transaction((tx) => storeSealedMany(tx, []))).to.deep.equal([]);
    });

    it("sealRecord: a given id is used; the envelope is an SM4-CBC-HMAC-SM3 envelope and holds no plaintext", async function () {
      const id = newRecordId();
      const marker = "MARKER-110105199003071234";
      const sealed = await sealRecord(keyring, header({ id }), { idNumber: marker }, standardGrants);
      expect(sealed.record.id).to.equal(id);
      expect(parseEnvelope(sealed.record.envelope).algorithm).to.equal("SM4-CBC-HMAC-SM3");
      expect(Buffer.from(sealed.record.envelope).includes(Buffer.from(marker))).to.equal(false);
      for (const key of sealed.keys) expect(Buffer.from(key.wrappedKey).includes(Buffer.from(marker))).to.equal(false);
    });

    it("grants per class: each holder opens the classes it was granted and gets NO_ACCESS for the others", async function () {
      const payload = { household: { size: 4, incomeFen: 120_000 } };
      const { stored } = await sealAndStore(payload);
      const cases: [string, Grant["fieldClass"], "ok" | "NO_ACCESS"][] = [
        [caseworker, "household", "ok"],
        [caseworker, "identity", "ok"],
        [caseworker, "payment", "NO_ACCESS"],
        [approver, "household", "ok"],
        [approver, "identity", "NO_ACCESS"],
        [bank, "payment", "ok"],
        [bank, "household", "NO_ACCESS"],
        [auditor, "household", "NO_ACCESS"],
        ["never-registered", "beneficiary", "NO_ACCESS"],
      ];
      for (const [holder, fieldClass, expected] of cases) {
        const label = `${holder}/${fieldClass}`;
        if (expected === "ok") {
          expect(await openRecord(keyring, store, stored, holder, fieldClass), label).to.deep.equal(payload);
        } else {
          expect(await errorCode(openRecord(keyring, store, stored, holder, fieldClass)), label).to.equal(expected);
        }
      }
    });

    it("sealRecord: no grants, an unknown holder or a bad field class are refused; an inactive holder is HOLDER_INACTIVE", async function () {
      expect(await errorCode(sealRecord(keyring, header(), 1, []))).to.equal("INVALID_ARGUMENT");
      expect(
        await errorCode(sealRecord(keyring, header(), 1, [{ holderId: "nobody", fieldClass: "household" }])),
      ).to.equal("NO_SUCH_HOLDER");
      expect(
        await errorCode(
          sealRecord(keyring, header(), 1, [{ holderId: caseworker, fieldClass: "secret" as Grant["fieldClass"] }]),
        ),
      ).to.equal("INVALID_ARGUMENT");
      const suspended = "suspended-office";
      await keyring.createHolder(suspended);
      await store.setHolderKeyStatus(suspended, "suspended");
      expect(
        await errorCode(sealRecord(keyring, header(), 1, [{ holderId: suspended, fieldClass: "household" }])),
      ).to.equal("HOLDER_INACTIVE");
    });

    it("sealRecord: a malformed header or a payload JSON would change is INVALID_ARGUMENT", async function () {
      const grants = [{ holderId: caseworker, fieldClass: "household" as const }];
      for (const bad of [
        header({ caseId: "" }),
        header({ kind: "k".repeat(65) }),
        header({ regionCode: -1 }),
        header({ regionCode: 1.5 }),
        header({ schemaVersion: 0 }),
        header({ id: "rec_\ud800" }),
      ]) {
        expect(await errorCode(sealRecord(keyring, bad, 1, grants)), JSON.stringify(bad)).to.equal("INVALID_ARGUMENT");
      }
      for (const bad of [Number.NaN, { a: Infinity }, [undefined], { d: new Date() }] as unknown as JsonValue[]) {
        expect(await errorCode(sealRecord(keyring, header(), bad, grants))).to.equal("INVALID_ARGUMENT");
      }
    });

    it("openRecord works inside a transaction with tx", async function () {
      const { stored } = await sealAndStore({ a: 1 });
      const opened = await store.transaction((tx) => openRecord(keyring, tx, stored, approver, "household"));
      expect(opened).to.deep.equal({ a: 1 });
    });
  });

  describe("rotation and shredding", function () {
    it("rotateHolder: records sealed before stay openable, also by a keyring opened afresh; new records too", async function () {
      const holder = "rotating-office";
      await keyring.createHolder(holder);
      const grants: Grant[] = [{ holderId: holder, fieldClass: "payment" }];
      const { stored: before } = await sealAndStore({ sealed: "before" }, grants);

      await keyring.rotateHolder(holder);

      const { stored: after } = await sealAndStore({ sealed: "after" }, grants);
      for (const k of [keyring, await Keyring.open({ dir: path.join(keyDir, "keys"), store })]) {
        expect(await openRecord(k, store, before, holder, "payment")).to.deep.equal({ sealed: "before" });
        expect(await openRecord(k, store, after, holder, "payment")).to.deep.equal({ sealed: "after" });
      }
    });

    it("after shredKeys(caseId): SHREDDED for every holder and class, digestMatches still true; other cases unaffected", async function () {
      const caseId = uid("case");
      const { stored: first } = await sealAndStore({ n: 1 }, standardGrants, header({ caseId }));
      const { stored: second } = await sealAndStore({ n: 2 }, standardGrants, header({ caseId, kind: "household" }));
      const { stored: other } = await sealAndStore({ n: 3 });

      expect(await store.shredKeys(caseId)).to.equal(8);

      for (const record of [first, second]) {
        const fetched = (await store.getRecord(record.id)) as StoredRecord;
        for (const { holderId, fieldClass } of [...standardGrants, { holderId: auditor, fieldClass: "payment" }]) {
          expect(
            await errorCode(openRecord(keyring, store, fetched, holderId, fieldClass as Grant["fieldClass"])),
          ).to.equal("SHREDDED");
        }
        expect(digestMatches(fetched)).to.equal(true);
        expect(recordDigest(fetched, fetched.envelope)).to.equal(record.digest);
      }
      expect(await openRecord(keyring, store, other, bank, "payment")).to.deep.equal({ n: 3 });
    });
  });

  describe("integrity", function () {
    let stored: StoredRecord;
    let otherStored: StoredRecord;
    before(async function () {
      stored = (await sealAndStore({ household: { size: 2, members: ["甲", "乙"] } })).stored;
      otherStored = (await sealAndStore({ household: { size: 5 } })).stored;
    });

    it("tampering any byte of the envelope is CORRUPT, whether or not the digest is recomputed (fast-check)", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: stored.envelope.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          async (position, mask) => {
            const envelope = Buffer.from(stored.envelope);
            envelope[position] ^= mask;
            const kept = { ...stored, envelope };
            expect(digestMatches(kept)).to.equal(false);
            expect(await errorCode(openRecord(keyring, store, kept, caseworker, "household"))).to.equal("CORRUPT");
            // An attacker who can write the store recomputes the (unkeyed) digest: the envelope's tag still fails.
            const resealed = { ...kept, digest: recordDigest(stored, envelope) };
            expect(digestMatches(resealed)).to.equal(true);
            expect(await errorCode(openRecord(keyring, store, resealed, caseworker, "household"))).to.equal("CORRUPT");
          },
        ),
        { numRuns: RUNS * 2 },
      );
    });

    it("an envelope moved to another record is CORRUPT, even with the digest recomputed and the keys moved along", async function () {
      // Another record's envelope in this record (whose own keys unwrap fine).
      const swapped = { ...otherStored, envelope: stored.envelope };
      expect(await errorCode(openRecord(keyring, store, swapped, caseworker, "household"))).to.equal("CORRUPT");
      const swappedResealed = { ...swapped, digest: recordDigest(otherStored, stored.envelope) };
      expect(await errorCode(openRecord(keyring, store, swappedResealed, caseworker, "household"))).to.equal("CORRUPT");

      // The record and its wrapped keys copied under a new id, digest recomputed: the key's context names the id.
      const newId = newRecordId();
      const moved = { ...stored, id: newId, digest: recordDigest({ ...stored, id: newId }, stored.envelope) };
      const movedRow = await store.insertRecord(moved);
      const keys = await store.listRecordKeys(stored.id);
      await store.putRecordKeys(keys.map((k) => ({ ...k, recordId: newId })));
      expect(digestMatches(movedRow)).to.equal(true);
      expect(await errorCode(openRecord(keyring, store, movedRow, caseworker, "household"))).to.equal("CORRUPT");
    });

    it("a wrapped key moved to another field class of the same record is CORRUPT", async function () {
      // The approver has a household key only: give it a "payment" key that is its household key.
      const householdKey = await store.getRecordKey(stored.id, approver, "household");
      await store.putRecordKeys([{ ...householdKey!, fieldClass: "payment" }]);
      expect(await errorCode(openRecord(keyring, store, stored, approver, "payment"))).to.equal("CORRUPT");
    });

    it("changing any header field is CORRUPT, with or without the digest recomputed", async function () {
      for (const change of [
        { kind: "payment" },
        { caseId: stored.caseId + "-x" },
        { regionCode: stored.regionCode + 1 },
        { schemaVersion: stored.schemaVersion + 1 },
      ]) {
        const changed = { ...stored, ...change };
        expect(digestMatches(changed)).to.equal(false);
        expect(await errorCode(openRecord(keyring, store, changed, caseworker, "household"))).to.equal("CORRUPT");
        const resealed = { ...changed, digest: recordDigest(changed, changed.envelope) };
        expect(await errorCode(openRecord(keyring, store, resealed, caseworker, "household"))).to.equal("CORRUPT");
      }
    });

    it("recordDigest: SM3 of prefix ‖ documented header bytes ‖ envelope; openssl dgst -sm3 gives the same", function () {
      const file = path.join(keyDir, "digest-input.bin");
      const record: RecordHeader = {
        id: stored.id,
        kind: stored.kind,
        caseId: "案件-" + stored.caseId,
        regionCode: 110105001002,
        schemaVersion: 3,
      };
      const input = Buffer.concat([Buffer.from("relief-record-v1\0"), headerBytesByHand(record), stored.envelope]);
      fs.writeFileSync(file, input);
      let output: string;
      try {
        output = execFileSync("openssl", ["dgst", "-sm3", "-hex", file], { encoding: "utf8" });
      } catch {
        console.warn("    (skipped: no openssl with SM3 on PATH)");
        this.skip();
      }
      const hex = /= ([0-9a-f]{64})\s*$/.exec(output)?.[1];
      expect(recordDigest(record, stored.envelope)).to.equal("0x" + hex);
      expect(recordDigest(record, stored.envelope)).to.equal("0x" + sm3(input).toString("hex"));
    });

    it("recordDigest: the envelope's AAD binds the header: the data key alone does not open it under another header", async function () {
      // Recover the data key through the caseworker's KEK, then open the envelope by hand with another header.
      const { sealed } = await sealAndStore({ x: 1 }, [{ holderId: caseworker, fieldClass: "household" }]);
      const dataKey = unwrapWithKek(
        await keyring.kek(caseworker),
        sealed.keys[0].wrappedKey,
        recordKeyContext(sealed.record.id, "household"),
      );
      const aad = (h: RecordHeader) => Buffer.concat([Buffer.from("relief-record-v1\0"), headerBytesByHand(h)]);
      expect(JSON.parse(openData(dataKey, sealed.record.envelope, aad(sealed.record)).toString())).to.deep.equal({
        x: 1,
      });
      expect(() => openData(dataKey, sealed.record.envelope, aad({ ...sealed.record, regionCode: 1 }))).to.throw();
    });

    it("digestMatches: false for a malformed record instead of throwing", function () {
      expect(digestMatches({ ...stored, regionCode: -5 })).to.equal(false);
      expect(digestMatches({ ...stored, digest: "0x" + "00".repeat(32) })).to.equal(false);
    });
  });
});
