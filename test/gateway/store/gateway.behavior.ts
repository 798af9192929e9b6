/**
 * The behaviour of the gateway's own tables (migration 002), written once and run against every implementation
 * (sqlite.test.ts, postgres.test.ts). Tests share one database per suite and keep apart by unique ids, programmes
 * and pseudonyms; where a list cannot be narrowed to one test's rows, the test looks at its own rows only.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { getAddress } from "ethers";
import fc from "fast-check";
import type {
  CaseIndexRow,
  NewCaseIndex,
  NewInstitution,
  NewPayout,
  NewPayoutRun,
  NewReceipt,
  Store,
  StoreData,
} from "../../../gateway/src/store";
import { MAX_BATCH_ROWS } from "../../../gateway/src/store/tables/batch";
import { contains } from "../../../lib/regions";
import { type StoreHarness, TestClock, sealedRecord, storeErrorCode, uid } from "./harness";

const RUNS = Number(process.env.STORE_PROPERTY_RUNS ?? 25);
const ZERO32 = "0x" + "00".repeat(32);
const MINUTE = 60_000;

const hex32 = () => "0x" + randomBytes(32).toString("hex");
const address = () => getAddress("0x" + randomBytes(20).toString("hex"));
/** An institution id no other test uses (lowercase, digits and `-`). */
const institutionId = () => uid("inst").toLowerCase();

let programmes = Math.floor(Math.random() * 1_000_000) * 1_000;
/** A programme id no other test of this run uses, to narrow lists to one test's rows. */
const uniqueProgramme = () => ++programmes;

function newInstitution(overrides: Partial<NewInstitution> = {}): NewInstitution {
  return { id: institutionId(), name: "朝陽區民政局", role: 1, regionCode: 110105, account: address(), ...overrides };
}

function newCase(overrides: Partial<NewCaseIndex> = {}): NewCaseIndex {
  return {
    caseId: hex32(),
    programmeId: 1,
    regionCode: 110105,
    pseudonym: hex32(),
    submitter: "caseworker-1",
    applicationRecordId: uid("rec"),
    status: "submitted",
    ...overrides,
  };
}

function newRun(overrides: Partial<NewPayoutRun> = {}): NewPayoutRun {
  return {
    runId: uid("run"),
    actor: "finance-1",
    kind: "monthly",
    programmeId: 1,
    period: 202_401,
    eventId: ZERO32,
    regionCode: 110105,
    ...overrides,
  };
}

function newPayout(overrides: Partial<NewPayout> = {}): NewPayout {
  const caseId = overrides.caseId ?? hex32();
  const period = overrides.period ?? 202_401;
  const eventId = overrides.eventId ?? ZERO32;
  return {
    payoutId: `${caseId}:${period}:${eventId}`,
    caseId,
    period,
    eventId,
    programmeId: 1,
    regionCode: 110105,
    amount: 123_456n,
    runId: null,
    txHash: hex32(),
    blockNumber: 42,
    ...overrides,
  };
}

/** The StoreError `promise` rejects with. */
async function storeError(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    if ((error as Error).name !== "StoreError") throw error;
    return error as Error & { code: string };
  }
  throw new Error("expected a StoreError, the call succeeded");
}

/** Region codes of a small tree under province 11, with a neighbour county and another province. */
const TREE = {
  central: 0,
  province: 110000,
  city: 110100,
  county: 110105,
  countyWide: 110105000000,
  township: 110105001000,
  village: 110105001001,
  otherVillage: 110105002001,
  otherCounty: 110106,
  otherCityWide: 110200000000,
  otherProvince: 120000,
};

/** Defines the behaviour suite; `makeHarness` undefined means this implementation is not available (skipped). */
export function describeGatewayTables(
  name: string,
  makeHarness: (() => StoreHarness) | undefined,
  skipReason = "",
): void {
  describe(`store gateway tables (${name})`, function () {
    let harness: StoreHarness;
    let store: Store;
    const clock = new TestClock();

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

    describe("institutions and API keys", function () {
      it("putInstitution / getInstitution / getInstitutionByAccount: stored active, the account checksummed and found in any case", async function () {
        const account = address();
        const stored = await store.putInstitution(newInstitution({ account: account.toLowerCase(), role: 2 }));
        expect(stored).to.include({ account, role: 2, regionCode: 110105, active: true, name: "朝陽區民政局" });
        expect(stored.createdAt).to.be.instanceOf(Date);
        expect(await store.getInstitution(stored.id)).to.deep.equal(stored);
        expect(await store.getInstitutionByAccount(account)).to.deep.equal(stored);
        expect(await store.getInstitutionByAccount(account.toLowerCase())).to.deep.equal(stored);
        expect(await store.getInstitution(institutionId())).to.equal(undefined);
        expect(await store.getInstitutionByAccount(address())).to.equal(undefined);
      });

      it("putInstitution: an existing id or account is CONFLICT; a malformed id, role, account or region is INVALID_ARGUMENT naming the argument, not the value", async function () {
        const first = await store.putInstitution(newInstitution());
        expect(await storeErrorCode(store.putInstitution(newInstitution({ id: first.id })))).to.equal("CONFLICT");
        expect(
          await storeErrorCode(store.putInstitution(newInstitution({ account: first.account.toLowerCase() }))),
        ).to.equal("CONFLICT");
        const secret = "王小明-110105199003071234";
        const invalid: Partial<NewInstitution>[] = [
          { id: secret },
          { id: "Upper-Case" },
          { id: "" },
          { role: 0 },
          { role: 10 },
          { account: secret },
          { account: "0x" + "ab".repeat(19) },
          { regionCode: -1 },
          { regionCode: 1.5 },
          { name: "" },
        ];
        for (const overrides of invalid) {
          const error = await storeError(store.putInstitution(newInstitution(overrides)));
          expect(error.code, JSON.stringify(overrides)).to.equal("INVALID_ARGUMENT");
          expect(error.message).not.to.include(secret);
        }
        // a mixed-case account whose checksum is wrong
        const wrong = first.account.replace(/[a-f]/, (c) => c.toUpperCase());
        if (wrong !== first.account) {
          expect(await storeErrorCode(store.putInstitution(newInstitution({ account: wrong })))).to.equal(
            "INVALID_ARGUMENT",
          );
        }
        expect(await storeErrorCode(store.getInstitutionByAccount("not an address"))).to.equal("INVALID_ARGUMENT");
      });

      it("setInstitutionActive: deactivates and reactivates; an unknown institution is NOT_FOUND", async function () {
        const stored = await store.putInstitution(newInstitution());
        const off = await store.setInstitutionActive(stored.id, false);
        expect(off).to.deep.equal({ ...stored, active: false });
        expect((await store.getInstitution(stored.id))!.active).to.equal(false);
        expect((await store.setInstitutionActive(stored.id, true)).active).to.equal(true);
        expect(await storeErrorCode(store.setInstitutionActive(institutionId(), false))).to.equal("NOT_FOUND");
        expect(await storeErrorCode(store.setInstitutionActive(stored.id, "no" as never))).to.equal("INVALID_ARGUMENT");
      });

      it("listInstitutions: containingRegion lists the institutions whose region holds it, by id; role and activeOnly narrow", async function () {
        const tag = uid("tree").toLowerCase();
        const made = new Map<string, number>();
        for (const [label, regionCode] of Object.entries(TREE)) {
          const id = `${tag}-${label.toLowerCase()}`;
          await store.putInstitution(newInstitution({ id, regionCode, role: label.startsWith("other") ? 2 : 1 }));
          made.set(id, regionCode);
        }
        const idOf = (label: keyof typeof TREE) => `${tag}-${label.toLowerCase()}`;
        const mine = async (filter: Parameters<StoreData["listInstitutions"]>[0]) => {
          const all = await store.listInstitutions(filter);
          expect(all.map((i) => i.id)).to.deep.equal(
            all.map((i) => i.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
            "ordered by id",
          );
          if (filter?.containingRegion !== undefined) {
            for (const i of all) expect(contains(BigInt(i.regionCode), BigInt(filter.containingRegion))).to.equal(true);
          }
          return all.filter((i) => made.has(i.id)).map((i) => i.id);
        };
        const sorted = (...labels: (keyof typeof TREE)[]) => labels.map(idOf).sort();

        expect(await mine({ containingRegion: TREE.village })).to.deep.equal(
          sorted("central", "province", "city", "county", "countyWide", "township", "village"),
        );
        expect(await mine({ containingRegion: TREE.county })).to.deep.equal(
          sorted("central", "province", "city", "county", "countyWide"),
        );
        expect(await mine({ containingRegion: TREE.countyWide })).to.deep.equal(
          sorted("central", "province", "city", "county", "countyWide"),
        );
        expect(await mine({ containingRegion: TREE.otherCityWide })).to.deep.equal(
          sorted("central", "province", "otherCityWide"),
        );
        expect(await mine({ containingRegion: 0 })).to.deep.equal(sorted("central"));
        expect(await mine({ containingRegion: TREE.village, role: 2 })).to.deep.equal([]);
        expect(await mine({ role: 2 })).to.deep.equal(
          sorted("otherVillage", "otherCounty", "otherCityWide", "otherProvince"),
        );
        await store.setInstitutionActive(idOf("city"), false);
        expect(await mine({ containingRegion: TREE.county, activeOnly: true })).to.deep.equal(
          sorted("central", "province", "county", "countyWide"),
        );
        expect(await mine({ containingRegion: TREE.county, activeOnly: false })).to.have.length(5);
        expect(await mine({})).to.have.length(made.size);
        expect(await storeErrorCode(store.listInstitutions({ containingRegion: -5 }))).to.equal("INVALID_ARGUMENT");
      });

      it("putApiKey / getApiKey / listApiKeys / revokeApiKey: keys of an institution or the administrator, revoked once", async function () {
        const institution = await store.putInstitution(newInstitution());
        const secretDigest = hex32();
        const key = await store.putApiKey({ keyId: uid("key"), institutionId: institution.id, secretDigest });
        expect(key).to.include({ institutionId: institution.id, secretDigest, label: null, revokedAt: null });
        const admin = await store.putApiKey({ keyId: uid("key"), institutionId: null, secretDigest, label: "ops" });
        expect(admin).to.include({ institutionId: null, label: "ops" });
        expect(await store.getApiKey(key.keyId)).to.deep.equal(key);
        expect(await store.getApiKey(uid("key"))).to.equal(undefined);

        expect(await store.listApiKeys({ institutionId: institution.id })).to.deep.equal([key]);
        const adminKeys = await store.listApiKeys({ institutionId: null });
        expect(adminKeys.every((k) => k.institutionId === null)).to.equal(true);
        expect(adminKeys.map((k) => k.keyId)).to.include(admin.keyId);
        const all = (await store.listApiKeys()).map((k) => k.keyId);
        expect(all).to.include.members([key.keyId, admin.keyId]);
        expect(all).to.deep.equal([...all].sort());

        clock.offsetMs = MINUTE;
        const revoked = await store.revokeApiKey(key.keyId);
        expect(revoked.revokedAt).to.be.instanceOf(Date);
        clock.offsetMs = 2 * MINUTE;
        expect(await store.revokeApiKey(key.keyId)).to.deep.equal(revoked); // idempotent: the first time stays
      });

      it("putApiKey: an existing key id is CONFLICT, an unknown institution NOT_FOUND, a malformed digest INVALID_ARGUMENT; revoking an unknown key is NOT_FOUND", async function () {
        const institution = await store.putInstitution(newInstitution());
        const key = { keyId: uid("key"), institutionId: institution.id, secretDigest: hex32() };
        await store.putApiKey(key);
        expect(await storeErrorCode(store.putApiKey(key))).to.equal("CONFLICT");
        expect(
          await storeErrorCode(store.putApiKey({ ...key, keyId: uid("key"), institutionId: institutionId() })),
        ).to.equal("NOT_FOUND");
        expect(await storeErrorCode(store.putApiKey({ ...key, keyId: uid("key"), secretDigest: "0xABC" }))).to.equal(
          "INVALID_ARGUMENT",
        );
        expect(await storeErrorCode(store.putApiKey({ ...key, keyId: "" }))).to.equal("INVALID_ARGUMENT");
        expect(await storeErrorCode(store.revokeApiKey(uid("key")))).to.equal("NOT_FOUND");
      });
    });

    describe("cases", function () {
      it("putCase / getCase / setCaseStatus: the case comes back as stored; a status change moves updatedAt only", async function () {
        const entry = newCase();
        const stored = await store.putCase(entry);
        expect(stored).to.deep.include(entry);
        expect(stored.updatedAt).to.deep.equal(stored.createdAt);
        expect(await store.getCase(entry.caseId)).to.deep.equal(stored);
        expect(await store.getCase(hex32())).to.equal(undefined);
        clock.offsetMs = MINUTE;
        const approved = await store.setCaseStatus(entry.caseId, "approved");
        expect(approved).to.deep.include({ ...entry, status: "approved", createdAt: stored.createdAt });
        expect(approved.updatedAt.getTime()).to.be.greaterThan(stored.updatedAt.getTime());
        expect(await store.getCase(entry.caseId)).to.deep.equal(approved);
      });

      it("putCase: an existing case id is CONFLICT; a malformed id, pseudonym or status is INVALID_ARGUMENT; setCaseStatus of an unknown case is NOT_FOUND", async function () {
        const entry = newCase();
        await store.putCase(entry);
        expect(await storeErrorCode(store.putCase({ ...entry, pseudonym: hex32() }))).to.equal("CONFLICT");
        for (const overrides of [
          { caseId: "case-1" },
          { pseudonym: "110105199003071234" },
          { status: "paid" as never },
          { programmeId: -1 },
          { submitter: "" },
        ]) {
          const error = await storeError(store.putCase(newCase(overrides)));
          expect(error.code, JSON.stringify(overrides)).to.equal("INVALID_ARGUMENT");
          expect(error.message).not.to.include("110105199003071234");
        }
        expect(await storeErrorCode(store.setCaseStatus(hex32(), "approved"))).to.equal("NOT_FOUND");
        expect(await storeErrorCode(store.setCaseStatus(entry.caseId, "closed" as never))).to.equal("INVALID_ARGUMENT");
      });

      it("putCases: batches around the statement size store exactly what putCase stores", async function () {
        const at = new Date(Date.UTC(2026, 0, 5, 8));
        const singles = makeHarness!();
        const batches = makeHarness!();
        try {
          const one = await singles.open({ now: () => at });
          const many = await batches.open({ now: () => at });
          const programmeId = uniqueProgramme();
          const json = (rows: unknown[]) => rows.map((row) => JSON.stringify(row));
          let all: NewCaseIndex[] = [];
          for (const size of [1, MAX_BATCH_ROWS - 1, MAX_BATCH_ROWS, MAX_BATCH_ROWS + 1]) {
            const entries = Array.from({ length: size }, (_, i) =>
              newCase({ programmeId, status: i % 2 === 0 ? "pending-chain" : "submitted" }),
            );
            all = [...all, ...entries];
            const singly = await one.transaction(async (tx) => {
              const rows: CaseIndexRow[] = [];
              for (const entry of entries) rows.push(await tx.putCase(entry));
              return rows;
            });
            const batched = await many.putCases(entries);
            expect(json(batched)).to.deep.equal(json(singly));
            expect(batched.map((c) => c.caseId)).to.deep.equal(entries.map((e) => e.caseId));
          }
          const read = async (s: Store) => {
            const rows: CaseIndexRow[] = [];
            for (let after: string | undefined; ; after = rows[rows.length - 1].caseId) {
              const page = await s.listCases({ programmeId, afterCaseId: after, limit: 1_000 });
              if (page.length === 0) return rows;
              rows.push(...page);
            }
          };
          const [fromOne, fromMany] = [await read(one), await read(many)];
          expect(fromMany).to.have.length(all.length);
          expect(json(fromMany)).to.deep.equal(json(fromOne));
        } finally {
          await singles.destroy();
          await batches.destroy();
        }
      });

      it("putCases: an existing or repeated case id anywhere in the batch is CONFLICT, a malformed entry INVALID_ARGUMENT naming it, and nothing is written", async function () {
        const existing = newCase();
        await store.putCase(existing);
        const fresh = () => Array.from({ length: MAX_BATCH_ROWS + 2 }, () => newCase());
        for (const duplicate of ["existing", "repeated"] as const) {
          const entries = fresh();
          const batch = duplicate === "existing" ? [...entries, existing] : [...entries, { ...entries[0] }];
          expect(await storeErrorCode(store.putCases(batch)), duplicate).to.equal("CONFLICT");
          expect(await store.getCase(entries[0].caseId)).to.equal(undefined);
          expect(await store.getCase(entries[entries.length - 1].caseId)).to.equal(undefined);
        }
        const good = newCase();
        for (const [bad, named] of [
          [{ pseudonym: "110105199003071234" }, "entries[1]: pseudonym"],
          [{ status: "paid" as never }, "entries[1]: status"],
          [{ submitter: "" }, "entries[1]: submitter"],
        ] as const) {
          const error = await storeError(store.putCases([good, newCase(bad)]));
          expect(error.code, named).to.equal("INVALID_ARGUMENT");
          expect(error.message, named).to.include(named);
          expect(error.message, named).not.to.include("110105199003071234");
        }
        expect(await store.getCase(good.caseId)).to.equal(undefined);
        expect(await storeErrorCode(store.putCases("x" as never))).to.equal("INVALID_ARGUMENT");
        expect(await store.putCases([])).to.deep.equal([]);
      });

      it("listCasesOfPseudonyms: every case of the given pseudonyms, in every region, by case id, over several statements", async function () {
        const people = Array.from({ length: MAX_BATCH_ROWS + 1 }, () => hex32());
        const mine = [
          newCase({ pseudonym: people[0], regionCode: TREE.village }),
          newCase({ pseudonym: people[0], regionCode: TREE.otherProvince, status: "rejected" }),
          newCase({ pseudonym: people[MAX_BATCH_ROWS], regionCode: TREE.otherCounty }),
        ];
        const others = [newCase(), newCase()];
        await store.putCases([...mine, ...others]);
        const found = await store.listCasesOfPseudonyms(people);
        expect(found.map((c) => c.caseId)).to.deep.equal(mine.map((c) => c.caseId).sort());
        expect(found.find((c) => c.caseId === mine[1].caseId)).to.deep.include(mine[1]);
        expect(await store.listCasesOfPseudonyms([])).to.deep.equal([]);
        const error = await storeError(store.listCasesOfPseudonyms([people[0], "110105199003071234"]));
        expect(error.code).to.equal("INVALID_ARGUMENT");
        expect(error.message).to.include("pseudonyms[1]: pseudonym").and.not.include("110105199003071234");
      });

      it("listCases: withinRegion is the region's subtree; programme, status and pseudonym narrow; ordered and paged by caseId", async function () {
        const programmeId = uniqueProgramme();
        const pseudonym = hex32();
        const byLabel = new Map<string, NewCaseIndex>();
        for (const [label, regionCode] of Object.entries(TREE)) {
          const entry = newCase({
            programmeId,
            regionCode,
            status: label.startsWith("other") ? "approved" : "submitted",
            pseudonym: label === "village" ? pseudonym : hex32(),
          });
          await store.putCase(entry);
          byLabel.set(label, entry);
        }
        const ids = (...labels: (keyof typeof TREE)[]) => labels.map((l) => byLabel.get(l)!.caseId).sort();
        const list = async (query: Parameters<StoreData["listCases"]>[0]) =>
          (await store.listCases({ programmeId, ...query })).map((c) => c.caseId);

        expect(await list({ withinRegion: TREE.county })).to.deep.equal(
          ids("county", "countyWide", "township", "village", "otherVillage"),
        );
        expect(await list({ withinRegion: TREE.countyWide })).to.deep.equal(await list({ withinRegion: TREE.county }));
        expect(await list({ withinRegion: TREE.province })).to.deep.equal(
          ids(
            "province",
            "city",
            "county",
            "countyWide",
            "township",
            "village",
            "otherVillage",
            "otherCounty",
            "otherCityWide",
          ),
        );
        expect(await list({ withinRegion: TREE.township })).to.deep.equal(ids("township", "village"));
        expect(await list({ withinRegion: TREE.village })).to.deep.equal(ids("village"));
        expect(await list({ withinRegion: TREE.otherProvince })).to.deep.equal(ids("otherProvince"));
        expect(await list({ withinRegion: 0 })).to.deep.equal(ids(...(Object.keys(TREE) as (keyof typeof TREE)[])));
        expect(await list({ withinRegion: TREE.county, status: "approved" })).to.deep.equal(ids("otherVillage"));
        expect(await list({ pseudonym })).to.deep.equal(ids("village"));
        expect(await store.listCases({ programmeId: uniqueProgramme() })).to.deep.equal([]);

        // Paging: two at a time after the last case id seen gives every case once, in order.
        const all = await list({});
        expect(all).to.deep.equal([...all].sort());
        const paged: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await list({ limit: 2, afterCaseId: after });
          if (page.length === 0) break;
          paged.push(...page);
          after = page[page.length - 1];
        }
        expect(paged).to.deep.equal(all);
        for (const limit of [0, 1_001, 1.5]) {
          expect(await storeErrorCode(store.listCases({ programmeId, limit }))).to.equal("INVALID_ARGUMENT");
        }
        expect(await storeErrorCode(store.listCases({ withinRegion: -1 }))).to.equal("INVALID_ARGUMENT");
      });

      it("listCases: at most 100 by default and 1,000 when asked", async function () {
        const programmeId = uniqueProgramme();
        await store.transaction(async (tx) => {
          for (let i = 0; i < 105; i++) await tx.putCase(newCase({ programmeId }));
        });
        expect(await store.listCases({ programmeId })).to.have.length(100);
        expect(await store.listCases({ programmeId, limit: 1_000 })).to.have.length(105);
      });

      it("listCases: fast-check: withinRegion lists exactly the cases whose region contains(region, case region)", async function () {
        const programmeId = uniqueProgramme();
        const regions = [
          ...Object.values(TREE),
          110101,
          110105003000,
          110105003999,
          110199,
          119900,
          119999999999,
          120105001001,
          829999,
        ];
        const cases = regions.map((regionCode) => newCase({ programmeId, regionCode }));
        await store.transaction(async (tx) => {
          for (const entry of cases) await tx.putCase(entry);
        });
        const outer = fc.oneof(
          fc.constantFrom(...regions),
          fc.constantFrom(...regions).map((r) => (r < 1_000_000 ? r * 1_000_000 : r)),
          fc.constantFrom(...regions).map((r) => Math.floor(r / 1_000) * 1_000),
          fc.integer({ min: 0, max: 999_999_999_999 }),
        );
        await fc.assert(
          fc.asyncProperty(outer, async (region) => {
            const listed = (await store.listCases({ programmeId, withinRegion: region, limit: 1_000 })).map(
              (c) => c.caseId,
            );
            const expected = cases
              .filter((c) => contains(BigInt(region), BigInt(c.regionCode)))
              .map((c) => c.caseId)
              .sort();
            expect(listed, `withinRegion ${region}`).to.deep.equal(expected);
          }),
          { numRuns: RUNS },
        );
      });
    });

    describe("payout runs and payouts", function () {
      it("putPayoutRun / getPayoutRun / updatePayoutRun: a run starts pending and empty; updates set only what they give", async function () {
        const run = newRun({ kind: "disaster", eventId: hex32() });
        const stored = await store.putPayoutRun(run);
        expect(stored).to.deep.include({
          ...run,
          status: "pending",
          listed: 0,
          paid: 0,
          skipped: 0,
          total: 0n,
          result: null,
          errorCode: null,
        });
        expect(await store.getPayoutRun(run.runId)).to.deep.equal(stored);
        expect(await store.getPayoutRun(uid("run"))).to.equal(undefined);

        clock.offsetMs = MINUTE;
        const big = 2n ** 60n + 7n; // beyond 2^53: kept exactly
        const running = await store.updatePayoutRun(run.runId, { status: "running", listed: 10, total: big });
        expect(running).to.deep.include({ status: "running", listed: 10, paid: 0, skipped: 0, total: big });
        expect(running.updatedAt.getTime()).to.be.greaterThan(stored.updatedAt.getTime());
        const result = { transactions: [hex32()], skipped: { NotApproved: 2 } };
        const failed = await store.updatePayoutRun(run.runId, {
          status: "failed",
          paid: 7,
          skipped: 2,
          result,
          errorCode: "CHAIN_UNAVAILABLE",
        });
        expect(failed).to.deep.include({ status: "failed", listed: 10, paid: 7, skipped: 2, total: big, result });
        expect(failed.errorCode).to.equal("CHAIN_UNAVAILABLE");
        const retried = await store.updatePayoutRun(run.runId, { status: "running", errorCode: null });
        expect(retried).to.deep.include({ errorCode: null, result, paid: 7 });
        expect(await store.getPayoutRun(run.runId)).to.deep.equal(retried);
      });

      it("putPayoutRun / updatePayoutRun: an existing run id is CONFLICT, an unknown run NOT_FOUND, malformed values INVALID_ARGUMENT", async function () {
        const run = newRun();
        await store.putPayoutRun(run);
        expect(await storeErrorCode(store.putPayoutRun(run))).to.equal("CONFLICT");
        expect(await storeErrorCode(store.updatePayoutRun(uid("run"), { status: "running" }))).to.equal("NOT_FOUND");
        for (const overrides of [{ kind: "weekly" as never }, { eventId: "0x0" }, { period: -1 }, { runId: "" }]) {
          expect(await storeErrorCode(store.putPayoutRun(newRun(overrides))), JSON.stringify(overrides)).to.equal(
            "INVALID_ARGUMENT",
          );
        }
        for (const update of [
          { status: "done" as never },
          { status: "running" as const, total: -1n },
          { status: "running" as const, total: 5 as never },
          { status: "running" as const, listed: -1 },
        ]) {
          expect(await storeErrorCode(store.updatePayoutRun(run.runId, update))).to.equal("INVALID_ARGUMENT");
        }
        expect((await store.getPayoutRun(run.runId))!.status).to.equal("pending");
      });

      it("listPayoutRuns: newest first, then by run id; status narrows; the limit holds", async function () {
        const a = await store.putPayoutRun(newRun({ runId: uid("run-b") }));
        const b = await store.putPayoutRun(newRun({ runId: uid("run-a") }));
        clock.offsetMs = MINUTE;
        const c = await store.putPayoutRun(newRun());
        await store.updatePayoutRun(b.runId, { status: "completed" });
        const mine = new Set([a.runId, b.runId, c.runId]);
        const listed = (await store.listPayoutRuns({ limit: 1_000 })).map((r) => r.runId).filter((id) => mine.has(id));
        const expected = [a, b, c]
          .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.runId < y.runId ? -1 : 1))
          .map((r) => r.runId);
        expect(listed).to.deep.equal(expected);
        expect(listed[0]).to.equal(c.runId);
        const completed = await store.listPayoutRuns({ status: "completed", limit: 1_000 });
        expect(completed.every((r) => r.status === "completed")).to.equal(true);
        expect(completed.map((r) => r.runId))
          .to.include(b.runId)
          .and.not.include(a.runId);
        expect(await store.listPayoutRuns({ limit: 1 })).to.have.length(1);
        expect(await storeErrorCode(store.listPayoutRuns({ limit: 0 }))).to.equal("INVALID_ARGUMENT");
        expect(await storeErrorCode(store.listPayoutRuns({ status: "x" as never }))).to.equal("INVALID_ARGUMENT");
      });

      it("putPayouts: inserts every payout as paid; a replayed batch inserts nothing twice and changes nothing", async function () {
        const run = await store.putPayoutRun(newRun());
        const batch = [1, 2, 3].map(() => newPayout({ runId: run.runId, amount: 2n ** 70n }));
        expect(await store.putPayouts(batch)).to.equal(3);
        const first = (await store.getPayout(batch[0].payoutId))!;
        expect(first).to.deep.include({ ...batch[0], status: "paid", bankRefDigest: null });
        await store.setPayoutStatus(batch[0].payoutId, { status: "settled", bankRefDigest: hex32() });
        const settled = await store.getPayout(batch[0].payoutId);

        clock.offsetMs = MINUTE;
        expect(await store.putPayouts(batch)).to.equal(0);
        expect(await store.getPayout(batch[0].payoutId)).to.deep.equal(settled);
        const more = newPayout({ runId: run.runId });
        expect(await store.putPayouts([...batch, more])).to.equal(1);
        expect((await store.listPayouts({ runId: run.runId })).map((p) => p.payoutId)).to.deep.equal(
          [...batch, more].map((p) => p.payoutId).sort(),
        );
        expect(await store.putPayouts([])).to.equal(0);
      });

      it("putPayouts: hundreds in one call are inserted together (several statements, one transaction)", async function () {
        const runId = uid("run");
        const batch = Array.from({ length: 250 }, (_, i) => newPayout({ runId, amount: BigInt(i) }));
        expect(await store.putPayouts(batch)).to.equal(250);
        expect(await store.putPayouts(batch)).to.equal(0);
        const listed = await store.listPayouts({ runId, limit: 1_000 });
        expect(listed).to.have.length(250);
        expect(listed.map((p) => p.amount).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).to.deep.equal(
          batch.map((p) => p.amount),
        );
      });

      it("putPayouts: a malformed payout or a repeated payout id anywhere in the batch is INVALID_ARGUMENT and nothing is written", async function () {
        const good = newPayout();
        for (const bad of [
          newPayout({ amount: -1n }),
          newPayout({ amount: 100 as never }),
          newPayout({ txHash: "0x1234" }),
          newPayout({ caseId: "case-1", payoutId: uid("p") }),
          newPayout({ blockNumber: -1 }),
          good,
        ]) {
          expect(await storeErrorCode(store.putPayouts([good, bad]))).to.equal("INVALID_ARGUMENT");
        }
        expect(await store.getPayout(good.payoutId)).to.equal(undefined);
        expect(await storeErrorCode(store.putPayouts("x" as never))).to.equal("INVALID_ARGUMENT");
      });

      it("listPayouts: case, region subtree, programme, period, status and run narrow; ordered and paged by payout id", async function () {
        const programmeId = uniqueProgramme();
        const caseId = hex32();
        const runId = uid("run");
        const payouts = [
          newPayout({ programmeId, caseId, period: 202_401, regionCode: TREE.village, runId }),
          newPayout({ programmeId, caseId, period: 202_402, regionCode: TREE.village, runId }),
          newPayout({ programmeId, period: 202_401, regionCode: TREE.county }),
          newPayout({ programmeId, period: 202_401, regionCode: TREE.otherCounty, eventId: hex32() }),
          newPayout({ programmeId, period: 202_402, regionCode: TREE.otherProvince }),
        ];
        expect(await store.putPayouts(payouts)).to.equal(5);
        await store.setPayoutStatus(payouts[2].payoutId, { status: "failed", bankRefDigest: hex32() });
        const ids = (...indexes: number[]) => indexes.map((i) => payouts[i].payoutId).sort();
        const list = async (query: Parameters<StoreData["listPayouts"]>[0]) =>
          (await store.listPayouts({ programmeId, ...query })).map((p) => p.payoutId);

        expect(await list({})).to.deep.equal(ids(0, 1, 2, 3, 4));
        expect(await list({ caseId })).to.deep.equal(ids(0, 1));
        expect(await list({ withinRegion: TREE.county })).to.deep.equal(ids(0, 1, 2));
        expect(await list({ withinRegion: TREE.city })).to.deep.equal(ids(0, 1, 2, 3));
        expect(await list({ withinRegion: TREE.township })).to.deep.equal(ids(0, 1));
        expect(await list({ withinRegion: 0 })).to.deep.equal(ids(0, 1, 2, 3, 4));
        expect(await list({ period: 202_402 })).to.deep.equal(ids(1, 4));
        expect(await list({ status: "failed" })).to.deep.equal(ids(2));
        expect(await list({ status: "paid", period: 202_401 })).to.deep.equal(ids(0, 3));
        expect(await list({ runId })).to.deep.equal(ids(0, 1));
        const all = await list({});
        expect(await list({ afterPayoutId: all[1], limit: 2 })).to.deep.equal(all.slice(2, 4));
        expect(await list({ limit: 1 })).to.deep.equal(all.slice(0, 1));
        expect(await storeErrorCode(store.listPayouts({ limit: 1_001 }))).to.equal("INVALID_ARGUMENT");
        expect(await storeErrorCode(store.listPayouts({ caseId: "case" }))).to.equal("INVALID_ARGUMENT");
      });

      it("setPayoutStatus: settlement, failure and re-payment with a new transaction; an unknown payout is NOT_FOUND", async function () {
        const payout = newPayout();
        await store.putPayouts([payout]);
        const before = (await store.getPayout(payout.payoutId))!;
        clock.offsetMs = MINUTE;
        const bankRef = hex32();
        const failed = await store.setPayoutStatus(payout.payoutId, { status: "failed", bankRefDigest: bankRef });
        expect(failed).to.deep.include({ status: "failed", bankRefDigest: bankRef, txHash: payout.txHash });
        expect(failed.updatedAt.getTime()).to.be.greaterThan(before.updatedAt.getTime());
        expect(failed.createdAt).to.deep.equal(before.createdAt);
        const txHash = hex32();
        const repaid = await store.setPayoutStatus(payout.payoutId, {
          status: "paid",
          txHash,
          blockNumber: 99,
          bankRefDigest: null,
        });
        expect(repaid).to.deep.include({ status: "paid", txHash, blockNumber: 99, bankRefDigest: null });
        const settled = await store.setPayoutStatus(payout.payoutId, { status: "settled" });
        expect(settled).to.deep.include({ status: "settled", txHash, blockNumber: 99, bankRefDigest: null });
        expect(await store.getPayout(payout.payoutId)).to.deep.equal(settled);

        expect(await storeErrorCode(store.setPayoutStatus(uid("p"), { status: "settled" }))).to.equal("NOT_FOUND");
        expect(await storeErrorCode(store.setPayoutStatus(payout.payoutId, { status: "paid", txHash }))).to.equal(
          "INVALID_ARGUMENT",
        );
        expect(
          await storeErrorCode(store.setPayoutStatus(payout.payoutId, { status: "settled", bankRefDigest: "ref-1" })),
        ).to.equal("INVALID_ARGUMENT");
        expect(await storeErrorCode(store.setPayoutStatus(payout.payoutId, { status: "lost" as never }))).to.equal(
          "INVALID_ARGUMENT",
        );
        expect(await store.getPayout(payout.payoutId)).to.deep.equal(settled);
      });
    });

    describe("beneficiary codes, sessions and receipts", function () {
      it("putBeneficiaryCode / recordCodeFailure: failures count and lock; a new code resets failures but keeps a running lock", async function () {
        const pseudonym = hex32();
        const expiresAt = new Date(clock.now().getTime() + 5 * MINUTE);
        const issued = await store.putBeneficiaryCode({ pseudonym, codeDigest: hex32(), expiresAt });
        expect(issued).to.deep.include({ pseudonym, expiresAt, failures: 0, lockedUntil: null });
        expect(await store.getBeneficiaryCode(pseudonym)).to.deep.equal(issued);
        expect(await store.getBeneficiaryCode(hex32())).to.equal(undefined);

        expect((await store.recordCodeFailure(pseudonym, null)).failures).to.equal(1);
        const lockedUntil = new Date(clock.now().getTime() + 15 * MINUTE);
        const locked = await store.recordCodeFailure(pseudonym, lockedUntil);
        expect(locked).to.deep.include({ failures: 2, lockedUntil });
        expect(await store.recordCodeFailure(pseudonym, null)).to.deep.include({ failures: 3, lockedUntil });

        // A new code while the lock runs: failures reset, lock kept.
        const codeDigest = hex32();
        const reissued = await store.putBeneficiaryCode({ pseudonym, codeDigest, expiresAt });
        expect(reissued).to.deep.include({ codeDigest, failures: 0, lockedUntil });
        expect(await store.getBeneficiaryCode(pseudonym)).to.deep.equal(reissued);

        // After the lock: a new code clears it.
        clock.offsetMs = 16 * MINUTE;
        const later = await store.putBeneficiaryCode({ pseudonym, codeDigest: hex32(), expiresAt: clock.now() });
        expect(later).to.deep.include({ failures: 0, lockedUntil: null });
        expect(later.createdAt.getTime()).to.be.greaterThan(issued.createdAt.getTime());

        expect(await storeErrorCode(store.recordCodeFailure(hex32(), null))).to.equal("NOT_FOUND");
        expect(
          await storeErrorCode(store.putBeneficiaryCode({ pseudonym: "13800138000", codeDigest, expiresAt })),
        ).to.equal("INVALID_ARGUMENT");
        expect(
          await storeErrorCode(store.putBeneficiaryCode({ pseudonym, codeDigest, expiresAt: new Date(NaN) })),
        ).to.equal("INVALID_ARGUMENT");
        expect(await storeErrorCode(store.recordCodeFailure(pseudonym, "soon" as never))).to.equal("INVALID_ARGUMENT");
      });

      it("consumeBeneficiaryCode: deletes the code only with its digest, once", async function () {
        const pseudonym = hex32();
        const codeDigest = hex32();
        await store.putBeneficiaryCode({ pseudonym, codeDigest, expiresAt: new Date(Date.now() + MINUTE) });
        expect(await store.consumeBeneficiaryCode(pseudonym, hex32())).to.equal(false);
        expect(await store.getBeneficiaryCode(pseudonym)).not.to.equal(undefined);
        expect(await store.consumeBeneficiaryCode(pseudonym, codeDigest)).to.equal(true);
        expect(await store.getBeneficiaryCode(pseudonym)).to.equal(undefined);
        expect(await store.consumeBeneficiaryCode(pseudonym, codeDigest)).to.equal(false);
        expect(await storeErrorCode(store.consumeBeneficiaryCode(pseudonym, "123456"))).to.equal("INVALID_ARGUMENT");
      });

      it("putBeneficiarySession / getBeneficiarySession / deleteBeneficiarySession: stored once, deleted once", async function () {
        const session = { tokenDigest: hex32(), pseudonym: hex32(), expiresAt: new Date(Date.now() + MINUTE) };
        const stored = await store.putBeneficiarySession(session);
        expect(stored).to.deep.include(session);
        expect(await store.getBeneficiarySession(session.tokenDigest)).to.deep.equal(stored);
        expect(await storeErrorCode(store.putBeneficiarySession(session))).to.equal("CONFLICT");
        expect(await store.deleteBeneficiarySession(session.tokenDigest)).to.equal(true);
        expect(await store.getBeneficiarySession(session.tokenDigest)).to.equal(undefined);
        expect(await store.deleteBeneficiarySession(session.tokenDigest)).to.equal(false);
        expect(
          await storeErrorCode(store.putBeneficiarySession({ ...session, tokenDigest: "token-in-the-clear" })),
        ).to.equal("INVALID_ARGUMENT");
      });

      it("putReceipt / getReceipt / listReceipts / setReceiptTransaction: one receipt per payout, listed by case", async function () {
        const caseId = hex32();
        const { record } = sealedRecord({ kind: "receipt" });
        await store.insertRecord(record);
        const signature = randomBytes(71).toString("base64");
        const receipt = (payoutId: string, overrides: Partial<NewReceipt> = {}): NewReceipt => ({
          payoutId,
          caseId,
          outcome: "confirmed",
          recordId: record.id,
          receiptJson: JSON.stringify({ payoutId, outcome: "confirmed" }),
          signature,
          txHash: null,
          ...overrides,
        });
        const first = await store.putReceipt(receipt(`${caseId}:202401:${ZERO32}`));
        const second = await store.putReceipt(receipt(`${caseId}:202402:${ZERO32}`, { outcome: "not-received" }));
        expect(first).to.deep.include(receipt(first.payoutId));
        expect(await store.getReceipt(first.payoutId)).to.deep.equal(first);
        expect(await store.getReceipt(uid("p"))).to.equal(undefined);
        expect(await store.listReceipts({ caseId })).to.deep.equal([first, second]);
        expect(await store.listReceipts({ caseId: hex32() })).to.deep.equal([]);

        const txHash = hex32();
        const attested = await store.setReceiptTransaction(second.payoutId, txHash);
        expect(attested).to.deep.equal({ ...second, txHash });
        expect(await store.getReceipt(second.payoutId)).to.deep.equal(attested);

        expect(await storeErrorCode(store.putReceipt(receipt(first.payoutId)))).to.equal("CONFLICT");
        expect(await storeErrorCode(store.putReceipt(receipt(uid("p"), { recordId: uid("missing") })))).to.equal(
          "NOT_FOUND",
        );
        expect(await storeErrorCode(store.setReceiptTransaction(uid("p"), txHash))).to.equal("NOT_FOUND");
        for (const overrides of [
          { receiptJson: "{not json" },
          { signature: "not base64!" },
          { outcome: "lost" as never },
          { txHash: "0x" },
          { caseId: "case-1" },
        ]) {
          expect(
            await storeErrorCode(store.putReceipt(receipt(uid("p"), overrides))),
            JSON.stringify(overrides),
          ).to.equal("INVALID_ARGUMENT");
        }
        expect(await storeErrorCode(store.setReceiptTransaction(first.payoutId, "0x1"))).to.equal("INVALID_ARGUMENT");
        expect(await store.listReceipts({ caseId })).to.have.length(2);
      });
    });

    describe("transactions", function () {
      for (const failure of ["throw", "conflict-caught"] as const) {
        it(`transaction: a failure (${failure}) after writing every gateway table leaves nothing of it`, async function () {
          const existing = await store.putInstitution(newInstitution());
          const institution = newInstitution();
          const keyId = uid("key");
          const entry = newCase();
          const run = newRun();
          const payout = newPayout({ runId: run.runId });
          const pseudonym = hex32();
          const tokenDigest = hex32();
          const { record } = sealedRecord({ kind: "receipt" });
          const payoutId = uid("p");

          const outcome = await store
            .transaction(async (tx) => {
              await tx.putInstitution(institution);
              await tx.putApiKey({ keyId, institutionId: institution.id, secretDigest: hex32() });
              await tx.putCase(entry);
              await tx.putPayoutRun(run);
              expect(await tx.putPayouts([payout])).to.equal(1);
              await tx.putBeneficiaryCode({ pseudonym, codeDigest: hex32(), expiresAt: new Date() });
              await tx.putBeneficiarySession({ tokenDigest, pseudonym, expiresAt: new Date() });
              await tx.insertRecord(record);
              await tx.putReceipt({
                payoutId,
                caseId: entry.caseId,
                outcome: "confirmed",
                recordId: record.id,
                receiptJson: "{}",
                signature: "AAAA",
                txHash: null,
              });
              expect((await tx.getCase(entry.caseId))?.caseId).to.equal(entry.caseId); // visible inside
              if (failure === "throw") throw new Error("boom");
              await tx.putInstitution({ ...newInstitution(), id: existing.id }).catch(() => undefined);
              return "committed";
            })
            .then(
              (value) => value,
              (error: Error & { code?: string }) => error.code ?? error.message,
            );
          expect(outcome).to.equal(failure === "throw" ? "boom" : "CONFLICT");

          expect(await store.getInstitution(institution.id)).to.equal(undefined);
          expect(await store.getApiKey(keyId)).to.equal(undefined);
          expect(await store.getCase(entry.caseId)).to.equal(undefined);
          expect(await store.getPayoutRun(run.runId)).to.equal(undefined);
          expect(await store.getPayout(payout.payoutId)).to.equal(undefined);
          expect(await store.getBeneficiaryCode(pseudonym)).to.equal(undefined);
          expect(await store.getBeneficiarySession(tokenDigest)).to.equal(undefined);
          expect(await store.getRecord(record.id)).to.equal(undefined);
          expect(await store.getReceipt(payoutId)).to.equal(undefined);
          expect(await store.getInstitution(existing.id)).to.deep.equal(existing);
        });
      }

      it("transaction: what commits is all there", async function () {
        const entry = newCase();
        const payout = newPayout({ caseId: entry.caseId });
        await store.transaction(async (tx) => {
          await tx.putCase(entry);
          await tx.putPayouts([payout]);
          await tx.setCaseStatus(entry.caseId, "approved");
        });
        expect((await store.getCase(entry.caseId))?.status).to.equal("approved");
        expect((await store.listPayouts({ caseId: entry.caseId })).map((p) => p.payoutId)).to.deep.equal([
          payout.payoutId,
        ]);
      });
    });
  });
}
