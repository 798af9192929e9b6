import { expect } from "chai";
import { programmeRule } from "../../../lib/programmes";
import { CaseStatus, ProgrammeKind, Role, SkipReason } from "../../../lib/roles";
import {
  ProviderCategory,
  RedemptionStatus,
  VoucherFundsMove,
  VoucherKind,
  VoucherStatus,
  categoryMask,
} from "../../../lib/vouchers";
import { LedgerError, type EvmLedger, type LedgerEvent } from "../../../gateway/src/ledger";
import { Chain, DAY, DIBAO, REGION, deployedLedger, devWallet, digest, fundPool, ledgerFor } from "./anvil";

/** 教育救助券 in Chaoyang: up to 2,000 yuan a case, no notice, 30 days to use it at a school. */
const EDUCATION = programmeRule(ProgrammeKind.Voucher, REGION.county, digest("education-voucher-2026"), {
  amount: 200_000n,
  noticePeriod: 0,
});
const TERMS = { kind: VoucherKind.Education, categories: categoryMask([ProviderCategory.School]), validity: 30 * DAY };
const ZERO = `0x${"0".repeat(64)}`;
const ZERO_ADDRESS = `0x${"0".repeat(40)}`;

/** The providers of the test: actor, development account, region, category. */
const PROVIDERS: ReadonlyArray<[string, number, bigint, ProviderCategory]> = [
  ["school", 11, REGION.township, ProviderCategory.School],
  ["hospital", 12, REGION.county, ProviderCategory.Hospital],
  ["farSchool", 13, 110106001000n, ProviderCategory.School], // a school in another county
];

async function ledgerError(promise: Promise<unknown>): Promise<LedgerError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LedgerError) return err;
    throw err;
  }
  throw new Error("expected a LedgerError, the call succeeded");
}

/** Submits, reviews and approves a case of `programmeId` for `amount`; `approve: false` leaves it in notice. */
async function voucherCase(ledger: EvmLedger, programmeId: number, label: string, amount: bigint, approve = true) {
  const caseId = digest(`voucher:${label}`);
  await ledger.submitCase("caseworker", {
    caseId,
    programmeId,
    region: REGION.township,
    pseudonym: digest(`voucher:pseudonym:${label}`),
    recordDigest: digest(`voucher:record:${label}`),
  });
  await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
  if (approve) {
    await ledger.approveCase("approver", {
      caseId,
      assessment: { householdSize: 1, incomePerHead: 0n, amount },
      ruleVersion: EDUCATION.ruleVersion,
    });
  }
  return caseId;
}

describe("EvmLedger vouchers on anvil", function () {
  this.timeout(60_000);
  let chain: Chain;
  let ledger: EvmLedger;
  let programmeId: number;
  let fromBlock: number;
  const now = async () =>
    Number((await chain.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false])).timestamp);

  before(async function () {
    ({ chain, ledger } = await deployedLedger());
    fromBlock = (await ledger.blockNumber()) + 1;
    for (const [actor, index, region] of PROVIDERS) {
      ledger.addActor(actor, devWallet(index));
      await chain.setBalance(ledger.accountOf(actor), 10n ** 21n);
      await ledger.registerInstitution("admin", {
        account: ledger.accountOf(actor),
        role: Role.Provider,
        region,
        keyDigest: digest(`sm2-key:${actor}`),
      });
    }
    programmeId = (await ledger.createProgramme("approver", EDUCATION)).programmeId;
    await fundPool(ledger, programmeId, 400_000n);
  });

  after(async function () {
    await ledger?.close();
    await chain?.dispose();
  });

  describe("terms and providers", function () {
    it("an approver in the region sets the terms; a cash programme and bad terms are refused by name", async function () {
      const dibao = (await ledger.createProgramme("approver", DIBAO)).programmeId;

      await ledger.setVoucherTerms("approver", programmeId, TERMS);

      expect(await ledger.voucherTerms(programmeId)).to.deep.equal(TERMS);
      expect(await ledger.voucherTerms(dibao)).to.deep.equal({ kind: VoucherKind.None, categories: 0, validity: 0 });
      const cash = await ledgerError(ledger.setVoucherTerms("approver", dibao, TERMS));
      expect(cash.code).to.equal("VoucherNotVoucherProgramme");
      expect(cash.args).to.deep.equal({ programmeId: dibao });
      const noCategory = await ledgerError(
        ledger.setVoucherTerms("approver", programmeId, { ...TERMS, categories: 0 }),
      );
      expect(noCategory.code).to.equal("VoucherInvalidTerms");
      expect(noCategory.args).to.deep.equal({ field: "categories" });
      const short = await ledgerError(ledger.setVoucherTerms("approver", programmeId, { ...TERMS, validity: 60 }));
      expect(short).to.include({ code: "VoucherInvalidTerms" });
      expect(short.args).to.deep.equal({ field: "validity" });
      expect((await ledgerError(ledger.setVoucherTerms("caseworker", programmeId, TERMS))).code).to.equal(
        "LedgerUnauthorizedRole",
      );
    });

    it("the administrator sets each provider's category; a non-provider is refused", async function () {
      for (const [actor, , , category] of PROVIDERS) {
        await ledger.setProviderCategory("admin", ledger.accountOf(actor), category);
      }

      expect(await ledger.providerCategory(ledger.accountOf("school"))).to.equal(ProviderCategory.School);
      expect(await ledger.providerCategory(ledger.accountOf("hospital"))).to.equal(ProviderCategory.Hospital);
      expect(await ledger.providerCategory(ledger.accountOf("caseworker"))).to.equal(ProviderCategory.None);
      const notProvider = await ledgerError(
        ledger.setProviderCategory("admin", ledger.accountOf("caseworker"), ProviderCategory.School),
      );
      expect(notProvider.code).to.equal("VoucherNotProvider");
      expect(notProvider.args).to.deep.equal({ account: ledger.accountOf("caseworker") });
      const byApprover = await ledgerError(
        ledger.setProviderCategory("approver", ledger.accountOf("school"), ProviderCategory.Hospital),
      );
      expect(byApprover.code).to.equal("OwnableUnauthorizedAccount");
    });
  });

  describe("a voucher from issue to settlement, and another to expiry", function () {
    let alice: string;
    let bob: string;
    let carol: string;
    const unknown = digest("voucher:nobody");

    before(async function () {
      alice = await voucherCase(ledger, programmeId, "alice", 100_000n);
      bob = await voucherCase(ledger, programmeId, "bob", 50_000n);
      carol = await voucherCase(ledger, programmeId, "carol", 50_000n, false);
    });

    it("approval above the programme's cap is refused", async function () {
      const caseId = digest("voucher:greedy");
      await ledger.submitCase("caseworker", {
        caseId,
        programmeId,
        region: REGION.township,
        pseudonym: caseId,
        recordDigest: caseId,
      });
      await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
      const above = await ledgerError(
        ledger.approveCase("approver", {
          caseId,
          assessment: { householdSize: 1, incomePerHead: 0n, amount: EDUCATION.amount + 1n },
          ruleVersion: EDUCATION.ruleVersion,
        }),
      );
      expect(above.code).to.equal("LedgerAboveApprovalCeiling");
    });

    it("issue in chunks: an outcome per listed case in order, skips with their reasons", async function () {
      const issued = await ledger.issueVouchers("keeper", [alice, carol, unknown, bob, alice], 2);
      const at = await now();

      expect(issued.transactions).to.have.length(3);
      expect(issued).to.include({ issued: 2, total: 150_000n });
      expect(issued.outcomes.map((o) => o.status === "skipped" && o.reason)).to.deep.equal([
        false,
        SkipReason.NotApproved,
        SkipReason.UnknownCase,
        false,
        SkipReason.AlreadyPaid,
      ]);
      expect(issued.outcomes[0]).to.deep.include({ caseId: alice, status: "issued", faceValue: 100_000n });
      const voucher = (await ledger.voucher(alice))!;
      expect(voucher).to.deep.equal({
        status: VoucherStatus.Active,
        kind: VoucherKind.Education,
        categories: TERMS.categories,
        programmeId,
        region: REGION.county,
        faceValue: 100_000n,
        remaining: 100_000n,
        issuedAt: voucher.issuedAt,
        expiresAt: voucher.issuedAt + TERMS.validity,
        redemptionCount: 0,
      });
      expect(voucher.issuedAt).to.be.within(at - 60, at);
      expect(await ledger.voucher(carol)).to.equal(null);
      expect(await ledger.poolBalance(programmeId)).to.equal(250_000n);
      expect(await ledger.voucherEscrow()).to.equal(150_000n);
      expect(await ledger.caseRecord(alice)).to.include({ status: CaseStatus.Approved });
    });

    it("a presented school redeems part; wrong category, outside the region, too much and twice are refused", async function () {
      const expiresAt = (await now()) + 3_600;
      await ledger.presentVoucher("anchorer", {
        voucherId: alice,
        provider: ledger.accountOf("school"),
        maxAmount: 60_000n,
        expiresAt,
        presentationDigest: digest("presented:alice:1"),
      });
      expect(await ledger.presentation(alice)).to.deep.equal({
        provider: ledger.accountOf("school"),
        maxAmount: 60_000n,
        expiresAt,
        presentationDigest: digest("presented:alice:1"),
      });
      const invoice = digest("invoice:1");

      const hospital = await ledgerError(
        ledger.redeemVoucher("hospital", { voucherId: alice, amount: 10_000n, invoiceDigest: invoice }),
      );
      const far = await ledgerError(
        ledger.redeemVoucher("farSchool", { voucherId: alice, amount: 10_000n, invoiceDigest: invoice }),
      );
      const tooMuch = await ledgerError(
        ledger.redeemVoucher("school", { voucherId: alice, amount: 60_001n, invoiceDigest: invoice }),
      );
      const redeemed = await ledger.redeemVoucher("school", {
        voucherId: alice,
        amount: 40_000n,
        invoiceDigest: invoice,
      });
      const twice = await ledgerError(
        ledger.redeemVoucher("school", { voucherId: alice, amount: 1_000n, invoiceDigest: invoice }),
      );
      const unknownVoucher = await ledgerError(
        ledger.redeemVoucher("school", { voucherId: unknown, amount: 1n, invoiceDigest: invoice }),
      );
      const notProvider = await ledgerError(
        ledger.redeemVoucher("caseworker", { voucherId: alice, amount: 1n, invoiceDigest: invoice }),
      );

      expect(hospital.code).to.equal("VoucherWrongCategory");
      expect(hospital.args).to.deep.equal({
        voucherId: alice,
        provider: ledger.accountOf("hospital"),
        category: ProviderCategory.Hospital,
      });
      expect(far.code).to.equal("VoucherOutsideRegion");
      expect(far.args).to.deep.equal({
        voucherId: alice,
        provider: ledger.accountOf("farSchool"),
        providerRegion: 110106001000n,
      });
      expect(tooMuch.code).to.equal("VoucherAbovePresented");
      expect(tooMuch.args).to.deep.equal({ voucherId: alice, amount: 60_001n, maxAmount: 60_000n });
      expect(redeemed).to.include({ index: 0, remaining: 60_000n });
      expect(twice.code).to.equal("VoucherNoPresentation");
      expect(unknownVoucher.code).to.equal("VoucherUnknown");
      expect(notProvider.code).to.equal("LedgerUnauthorizedRole");
      expect(await ledger.presentation(alice)).to.include({ provider: ZERO_ADDRESS, maxAmount: 0n });
      expect(await ledger.voucher(alice)).to.include({ remaining: 60_000n, redemptionCount: 1 });
      const redemption = (await ledger.redemption({ voucherId: alice, index: 0 }))!;
      expect(redemption).to.include({
        status: RedemptionStatus.Redeemed,
        provider: ledger.accountOf("school"),
        amount: 40_000n,
        invoiceDigest: invoice,
      });
      expect(await ledger.redemption({ voucherId: alice, index: 1 })).to.equal(null);
      expect(await ledger.voucherEscrow()).to.equal(150_000n);
    });

    it("finance pays, the payment agent settles; paying twice is refused", async function () {
      const key = { voucherId: alice, index: 0 };
      const paidOutBefore = await ledger.programmePaidOut(programmeId);

      const paid = await ledger.payRedemptions("countyFinance", [key]);
      const again = await ledgerError(ledger.payRedemptions("countyFinance", [key]));
      const byCaseworker = await ledgerError(
        ledger.confirmRedemptionSettlements("caseworker", digest("bank:1"), [key]),
      );
      await ledger.confirmRedemptionSettlements("paymentAgent", digest("bank:1"), [key]);

      expect(paid.total).to.equal(40_000n);
      expect(again.code).to.equal("VoucherRedemptionNotInStatus");
      expect(again.args).to.deep.equal({ voucherId: alice, index: 0, status: RedemptionStatus.Paid });
      expect(byCaseworker.code).to.equal("LedgerUnauthorizedRole");
      expect(await ledger.redemption(key)).to.include({ status: RedemptionStatus.Settled });
      expect(await ledger.programmePaidOut(programmeId)).to.equal(paidOutBefore + 40_000n);
      expect(await ledger.voucherEscrow()).to.equal(110_000n);
    });

    it("the rest redeemed exhausts the voucher; a failed payment makes it owed again", async function () {
      await ledger.presentVoucher("anchorer", {
        voucherId: alice,
        provider: ledger.accountOf("school"),
        maxAmount: 60_000n,
        expiresAt: (await now()) + 3_600,
        presentationDigest: digest("presented:alice:2"),
      });
      const redeemed = await ledger.redeemVoucher("school", {
        voucherId: alice,
        amount: 60_000n,
        invoiceDigest: digest("invoice:2"),
      });
      const key = { voucherId: alice, index: 1 };
      await ledger.payRedemptions("countyFinance", [key]);
      const escrowPaid = await ledger.voucherEscrow();

      await ledger.reportRedemptionFailure("paymentAgent", key, digest("account-closed"));

      expect(redeemed).to.include({ index: 1, remaining: 0n });
      expect(await ledger.voucher(alice)).to.include({ status: VoucherStatus.Exhausted, remaining: 0n });
      expect(await ledger.redemption(key)).to.include({ status: RedemptionStatus.Redeemed });
      expect(await ledger.voucherEscrow()).to.equal(escrowPaid + 60_000n);
      const exhausted = await ledgerError(
        ledger.presentVoucher("anchorer", {
          voucherId: alice,
          provider: ledger.accountOf("school"),
          maxAmount: 1n,
          expiresAt: (await now()) + 3_600,
          presentationDigest: ZERO,
        }),
      );
      expect(exhausted.code).to.equal("VoucherNotActive");
      expect(exhausted.args).to.deep.equal({ voucherId: alice, status: VoucherStatus.Exhausted });
    });

    it("past its expiry the unused value goes back to the pool; totals balance", async function () {
      const poolBefore = await ledger.poolBalance(programmeId);
      const early = await ledger.expireVouchers("keeper", [bob]);
      await chain.increaseTime(TERMS.validity + 1);
      const late = await ledgerError(
        ledger.presentVoucher("anchorer", {
          voucherId: bob,
          provider: ledger.accountOf("school"),
          maxAmount: 1n,
          expiresAt: (await now()) + 3_600,
          presentationDigest: ZERO,
        }),
      );

      const expired = await ledger.expireVouchers("keeper", [bob, alice, unknown]);

      expect(early).to.include({ expired: 0, returned: 0n });
      expect(late.code).to.equal("VoucherIsExpired");
      expect(expired).to.include({ expired: 1, returned: 50_000n });
      expect(await ledger.voucher(bob)).to.include({ status: VoucherStatus.Expired });
      expect(await ledger.poolBalance(programmeId)).to.equal(poolBefore + 50_000n);
      const totals = await ledger.voucherTotals(programmeId);
      expect(totals).to.deep.equal({ issued: 150_000n, redeemed: 100_000n, expired: 50_000n, paid: 40_000n });
      // Outstanding 0 (alice exhausted, bob expired): the escrow is the redeemed value not yet paid.
      expect(await ledger.voucherEscrow()).to.equal(totals.redeemed - totals.paid);
      const funds = await ledger.fundTotals();
      expect(funds.held).to.equal(funds.appropriated - funds.paidOut);
    });

    it("events: every voucher event decoded from the voucher book, the ledger's funds moves beside them", async function () {
      const events = await ledger.events(fromBlock);
      const vouchers = events.filter((e) => e.contract === "vouchers");
      const names = new Set(vouchers.map((e) => e.name));

      for (const name of [
        "VoucherTermsSet",
        "ProviderCategorySet",
        "VoucherIssued",
        "VoucherSkipped",
        "VoucherPresented",
        "VoucherRedeemed",
        "VoucherExpired",
        "RedemptionPaid",
        "RedemptionSettled",
        "RedemptionFailed",
      ]) {
        expect(names, name).to.include(name);
      }
      const first = vouchers.find((e) => e.name === "VoucherRedeemed") as Extract<
        LedgerEvent,
        { name: "VoucherRedeemed" }
      >;
      expect(first.args).to.deep.equal({
        voucherId: alice,
        index: 0,
        provider: ledger.accountOf("school"),
        programmeId,
        amount: 40_000n,
        remaining: 60_000n,
        invoiceDigest: digest("invoice:1"),
      });
      const skipped = vouchers.filter((e) => e.name === "VoucherSkipped").map((e) => e.args);
      expect(skipped).to.deep.equal([
        { caseId: carol, reason: SkipReason.NotApproved },
        { caseId: unknown, reason: SkipReason.UnknownCase },
        { caseId: alice, reason: SkipReason.AlreadyPaid },
      ]);
      const linked = events.filter((e) => e.name === "VoucherBookLinked");
      expect(linked).to.deep.equal([]); // linked at deployment, before the story
      const moves = events.flatMap((e) => (e.name === "VoucherFundsMoved" ? [[e.args.move, e.args.amount]] : []));
      expect(moves).to.deep.equal([
        [VoucherFundsMove.Issue, 100_000n], // chunk 1: alice (carol skipped)
        [VoucherFundsMove.Issue, 50_000n], // chunk 2: bob (unknown skipped)
        [VoucherFundsMove.Pay, 40_000n],
        [VoucherFundsMove.Pay, 60_000n],
        [VoucherFundsMove.Fail, 60_000n],
        [VoucherFundsMove.Expire, 50_000n],
      ]);
    });

    it("the deployment linked the book: its VoucherBookLinked is in the deployment's blocks", async function () {
      const linked = (await ledger.events(0, fromBlock - 1)).filter((e) => e.name === "VoucherBookLinked");
      expect(linked.map((e) => e.args)).to.deep.equal([{ book: ledger.addresses.vouchers }]);
    });
  });

  describe("issuing many vouchers under the transaction gas cap", function () {
    it("a chunk whose estimate exceeds the cap is split; every outcome in order", async function () {
      const many = (await ledger.createProgramme("approver", EDUCATION)).programmeId;
      await ledger.setVoucherTerms("approver", many, TERMS);
      await fundPool(ledger, many, 40n * 1_000n);
      const ids: string[] = [];
      for (let i = 0; i < 40; i += 20) {
        ids.push(
          ...(await Promise.all(
            Array.from({ length: 20 }, (_, j) => voucherCase(ledger, many, `many:${i + j}`, 1_000n)),
          )),
        );
      }
      const cap = 1_000_000n;
      const small = ledgerFor(
        chain,
        { chainId: ledger.chainId, addresses: ledger.addresses, deployedAtBlock: 0 },
        { txGasCap: cap },
      );
      try {
        const run = await small.issueVouchers("keeper", ids);

        expect(run.transactions.length).to.be.greaterThan(1);
        expect(run.outcomes.map((o) => o.caseId)).to.deep.equal(ids);
        expect(run.outcomes.every((o) => o.status === "issued")).to.equal(true);
        expect(run).to.include({ issued: 40, total: 40_000n });
        for (const t of run.transactions) {
          const receipt = await chain.rpc<{ gasUsed: string }>("eth_getTransactionReceipt", [t.txHash]);
          expect(BigInt(receipt.gasUsed)).to.be.at.most(cap);
        }
        expect(await ledger.poolBalance(many)).to.equal(0n);
      } finally {
        await small.close();
      }
    });
  });
});
