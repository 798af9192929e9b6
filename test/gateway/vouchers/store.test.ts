/**
 * The voucher tables (migration 003) on SQLite and PostgreSQL: the voucher index and the cases still to issue, the
 * one-time presentation codes (one use, even by concurrent users), and redemptions (one per code; undone when the
 * chain refused).
 */
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import type { Store } from "../../../gateway/src/store";
import { type StoreHarness, postgresHarness, sqliteHarness, storeErrorCode } from "../store/harness";

const hex32 = () => `0x${randomBytes(32).toString("hex")}`;
const TOWNSHIP = 110105001000;
const COUNTY = 110105;

function describeVoucherTables(name: string, make: (() => StoreHarness) | undefined): void {
  describe(`store/vouchers (${name})`, function () {
    let harness: StoreHarness;
    let store: Store;
    before(async function () {
      if (!make) return this.skip();
      harness = make();
      store = await harness.open();
    });
    after(async () => harness?.destroy());

    async function approvedCase(programmeId: number): Promise<string> {
      const caseId = hex32();
      await store.putCase({
        caseId,
        programmeId,
        regionCode: TOWNSHIP,
        pseudonym: hex32(),
        submitter: "township-caseworker",
        applicationRecordId: `r-${caseId.slice(2, 10)}`,
        status: "approved",
      });
      return caseId;
    }

    it("lists approved cases without a voucher, and records an issued voucher once", async function () {
      const [a, b] = [await approvedCase(40), await approvedCase(40)];
      const pending = (await store.listCasesWithoutVoucher({ programmeId: 40 })).map((c) => c.caseId);
      expect(pending.sort()).to.deep.equal([a, b].sort());
      const row = {
        voucherId: a,
        programmeId: 40,
        regionCode: COUNTY,
        faceValue: 120_000n,
        expiresAt: 2_000_000_000,
        txHash: hex32(),
        blockNumber: 7,
      };
      expect(await store.putVouchers([row])).to.equal(1);
      expect(await store.putVouchers([row])).to.equal(0);
      expect((await store.listCasesWithoutVoucher({ programmeId: 40 })).map((c) => c.caseId)).to.deep.equal([b]);
      expect((await store.getVoucherRow(a))?.faceValue).to.equal(120_000n);
      expect(
        await store.listVoucherRows({ status: "active", expiresBy: 1_999_999_999, programmeId: 40 }),
      ).to.have.length(0);
      expect(
        await store.listVoucherRows({ status: "active", expiresBy: 2_000_000_000, programmeId: 40 }),
      ).to.have.length(1);
      expect(await store.listVoucherRows({ withinRegion: 110106, programmeId: 40 })).to.have.length(0);
      expect((await store.setVoucherStatus(a, "expired")).status).to.equal("expired");
    });

    it("uses a code once whatever the number of concurrent users, and reopens it when its redemption is undone", async function () {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 10 }), async (users) => {
          const voucherId = hex32();
          const codeDigest = hex32();
          const expiresAt = new Date(Date.now() + 600_000);
          await store.putVoucherCode({ codeDigest, voucherId, pseudonym: hex32(), maxAmount: 500n, expiresAt });
          const ids = Array.from({ length: users }, (_, i) => `redemption-${i}-${codeDigest.slice(2, 10)}`);
          const won = await Promise.all(
            ids.map((id) =>
              store
                .transaction(async (tx) => {
                  if (!(await tx.useVoucherCode(codeDigest, id, new Date()))) return false;
                  await tx.putRedemption({
                    redemptionId: id,
                    codeDigest,
                    voucherId,
                    programmeId: 40,
                    regionCode: COUNTY,
                    providerId: "school",
                    amount: 100n,
                    invoiceDigest: hex32(),
                    presentationDigest: hex32(),
                  });
                  return true;
                })
                .catch(() => false),
            ),
          );
          expect(won.filter(Boolean)).to.have.length(1);
          const winner = ids[won.indexOf(true)];
          expect((await store.getVoucherCode(codeDigest))?.redemptionId).to.equal(winner);
          await store.undoRedemption(winner);
          expect((await store.getVoucherCode(codeDigest))?.status).to.equal("open");
          expect(await store.getRedemption(winner)).to.equal(undefined);
        }),
        { numRuns: 4 },
      );
    });

    it("refuses an expired code, a second redemption of one code, and replaces a voucher's open code", async function () {
      const voucherId = hex32();
      const old = hex32();
      await store.putVoucherCode({
        codeDigest: old,
        voucherId,
        pseudonym: hex32(),
        maxAmount: 1n,
        expiresAt: new Date(Date.now() + 1000),
      });
      expect(await store.useVoucherCode(old, "r-late", new Date(Date.now() + 2000))).to.equal(false);
      const fresh = hex32();
      await store.putVoucherCode({
        codeDigest: fresh,
        voucherId,
        pseudonym: hex32(),
        maxAmount: 1n,
        expiresAt: new Date(Date.now() + 600_000),
      });
      expect((await store.getVoucherCode(old))?.status).to.equal("replaced");
      const redemption = {
        redemptionId: "r-one",
        codeDigest: fresh,
        voucherId,
        programmeId: 41,
        regionCode: COUNTY,
        providerId: "school",
        amount: 1n,
        invoiceDigest: hex32(),
        presentationDigest: hex32(),
      };
      await store.putRedemption(redemption);
      expect(await storeErrorCode(store.putRedemption({ ...redemption, redemptionId: "r-two" }))).to.equal("CONFLICT");
      const done = await store.updateRedemption("r-one", { status: "redeemed", redemptionIndex: 0, remaining: 0n });
      expect(done.redemptionIndex).to.equal(0);
      expect((await store.getRedemptionByKey(voucherId, 0))?.redemptionId).to.equal("r-one");
      expect(await store.listRedemptions({ programmeId: 41, status: "redeemed", withinRegion: COUNTY })).to.have.length(
        1,
      );
      expect(await store.listRedemptions({ programmeId: 41, withinRegion: 110106 })).to.have.length(0);
      expect(await storeErrorCode(store.undoRedemption("r-one"))).to.equal("NOT_FOUND");
    });
  });
}

describeVoucherTables("SQLite", () => sqliteHarness());
const DATABASE_URL = process.env.DATABASE_URL;
describeVoucherTables("PostgreSQL", DATABASE_URL ? () => postgresHarness(DATABASE_URL) : undefined);
