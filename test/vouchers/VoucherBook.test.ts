import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { CaseStatus, ProgrammeKind, Role, SkipReason } from "../../lib/roles";
import {
  ProviderCategory,
  RedemptionStatus,
  VoucherFundsMove,
  VoucherKind,
  VoucherStatus,
  categoryMask,
} from "../../lib/vouchers";
import { DAY, REGION, assessment, digest, approvedCase, currentPeriod, nextPeriod, newCase } from "../helpers/fixture";
import {
  CAP,
  EDUCATION_TERMS,
  SMALL_POOL,
  VALIDITY,
  VOUCHER_POOL,
  approvedVoucherCase,
  deployVouchers,
  now,
  present,
  voucherRule,
  type VoucherFixture,
} from "./fixture";

const PROVIDER_BIT = 1 << Role.Provider;
const key = (voucherId: string, index: number) => ({ voucherId, index });
const BANK_REF = digest("bank-batch-1");

/** `appropriated == Σ region balances + Σ pools + voucher escrow + paid out`, and fundTotals' `held`. */
async function expectConserved(fx: VoucherFixture) {
  const { ledger } = fx;
  const [appropriated, held, paidOut] = await ledger.fundTotals();
  let sum = 0n;
  for (const region of Object.values(REGION)) sum += await ledger.regionBalance(region);
  const count = Number(await ledger.programmeCount());
  for (let id = 1; id <= count; id++) sum += await ledger.poolBalance(id);
  const escrow = await ledger.voucherEscrow();
  expect(sum + escrow).to.equal(held, "Σ balances + Σ pools + escrow == held");
  expect(held + paidOut).to.equal(appropriated);
}

async function totals(fx: VoucherFixture, programmeId: bigint) {
  const [issued, redeemed, expired, paid] = await fx.book.voucherTotals(programmeId);
  return { issued, redeemed, expired, paid };
}

describe("VoucherBook", function () {
  let fx: VoucherFixture;

  beforeEach(async function () {
    fx = await loadFixture(deployVouchers);
  });

  describe("the ledger's side (IVoucherFunding)", function () {
    it("links its voucher book once, by the registry's owner only", async function () {
      const { ledger, book, actors } = fx;
      expect(await ledger.voucherBook()).to.equal(await book.getAddress());
      expect(await book.ledger()).to.equal(await ledger.getAddress());
      await expect(ledger.connect(actors.admin).linkVoucherBook(actors.stranger.address))
        .to.be.revertedWithCustomError(ledger, "LedgerVoucherBookAlreadyLinked")
        .withArgs(await book.getAddress());

      const fresh = await (await ethers.getContractFactory("ReliefLedger")).deploy(await fx.registry.getAddress());
      await expect(fresh.connect(actors.approver).linkVoucherBook(actors.stranger.address))
        .to.be.revertedWithCustomError(fresh, "OwnableUnauthorizedAccount")
        .withArgs(actors.approver.address);
      await expect(fresh.connect(actors.admin).linkVoucherBook(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(fresh, "LedgerNotVoucherBook")
        .withArgs(ethers.ZeroAddress);
      await expect(fresh.connect(actors.admin).linkVoucherBook(actors.stranger.address))
        .to.emit(fresh, "VoucherBookLinked")
        .withArgs(actors.stranger.address);
    });

    it("moves voucher funds only for the linked book", async function () {
      const { ledger, actors, voucherProgrammes } = fx;
      for (const who of [actors.admin, actors.countyFinance, actors.stranger]) {
        await expect(ledger.connect(who).moveVoucherFunds(voucherProgrammes.education, VoucherFundsMove.Issue, 1n))
          .to.be.revertedWithCustomError(ledger, "LedgerNotVoucherBook")
          .withArgs(who.address);
      }
      expect(await ledger.poolBalance(voucherProgrammes.education)).to.equal(VOUCHER_POOL);
      expect(await ledger.voucherEscrow()).to.equal(0n);
    });
  });

  describe("voucher programmes and providers on the ledger", function () {
    it("the registry registers the Provider role; a role past it is refused by the ABI", async function () {
      const { registry, providers } = fx;
      const inst = await registry.institution(providers.school.address);
      expect(inst.role).to.equal(BigInt(Role.Provider));
      expect(await registry.roleMemberCount(Role.Provider)).to.equal(6n);
      const data = registry.interface
        .encodeFunctionData("registerInstitution", [
          ethers.Wallet.createRandom().address,
          0,
          REGION.county,
          digest("k"),
        ])
        .replace(/^(0x.{8}.{64}).{64}/, (_, head: string) => head + (Role.Provider + 1).toString(16).padStart(64, "0"));
      await expect(fx.actors.admin.sendTransaction({ to: await registry.getAddress(), data })).to.be.reverted;
    });

    it("approval: a county approver, amount = assessment.amount up to the cap, eligible for validityMonths", async function () {
      const { ledger, voucherProgrammes } = fx;
      const caseId = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      const record = await ledger.caseRecord(caseId);
      const period = await currentPeriod(ledger);
      expect(record.status).to.equal(BigInt(CaseStatus.Approved));
      expect(record.amount).to.equal(CAP);
      expect(record.firstPeriod).to.equal(BigInt(period));
      expect(record.lastPeriod).to.equal(BigInt(period + 12 - 1));
    });

    it("approval: township approver, above the cap, or zero → refused", async function () {
      const { ledger, actors, voucherProgrammes } = fx;
      const rule = await ledger.programme(voucherProgrammes.education);
      const c = newCase("voucher-refused");
      await ledger
        .connect(actors.caseworker)
        .submitCase(c.caseId, voucherProgrammes.education, REGION.township, c.pseudonym, digest("record"));
      await ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("reviewed"));
      await expect(
        ledger.connect(actors.townshipApprover).approveCase(c.caseId, assessment({ amount: 1n }), rule.ruleVersion),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerApproverLevelTooLow")
        .withArgs(actors.townshipApprover.address, REGION.township);
      await expect(
        ledger.connect(actors.approver).approveCase(c.caseId, assessment({ amount: CAP + 1n }), rule.ruleVersion),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerAboveApprovalCeiling")
        .withArgs(c.caseId, CAP + 1n, CAP);
      await expect(ledger.connect(actors.approver).approveCase(c.caseId, assessment({ amount: 0n }), rule.ruleVersion))
        .to.be.revertedWithCustomError(ledger, "LedgerZeroEntitlement")
        .withArgs(c.caseId);
    });

    it("a voucher programme keeps ratioBps and deductible at zero", async function () {
      const { ledger, actors } = fx;
      await expect(ledger.connect(actors.approver).createProgramme(voucherRule("ratio", { ratioBps: 100 })))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidProgramme")
        .withArgs("ratioBps");
      await expect(ledger.connect(actors.approver).createProgramme(voucherRule("deductible", { deductible: 1n })))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidProgramme")
        .withArgs("deductible");
    });

    it("cash payout runs refuse voucher programmes and upkeep is never needed", async function () {
      const { ledger, voucherProgrammes } = fx;
      const caseId = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      const period = await currentPeriod(ledger);
      await expect(ledger.executePayouts(voucherProgrammes.education, period, [caseId]))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongProgrammeKind")
        .withArgs(voucherProgrammes.education, ProgrammeKind.Voucher);
      const checkData = ethers.AbiCoder.defaultAbiCoder().encode(
        ["uint32", "uint256", "uint256"],
        [voucherProgrammes.education, 0, 10],
      );
      const [needed] = await ledger.checkUpkeep(checkData);
      expect(needed).to.equal(false);
      const performData = ethers.AbiCoder.defaultAbiCoder().encode(
        ["uint32", "uint24", "bytes32[]"],
        [voucherProgrammes.education, period, [caseId]],
      );
      await expect(ledger.performUpkeep(performData)).to.be.revertedWithCustomError(ledger, "LedgerWrongProgrammeKind");
      expect(await ledger.poolBalance(voucherProgrammes.education)).to.equal(VOUCHER_POOL);
    });
  });

  describe("terms and provider categories", function () {
    it("setVoucherTerms: approver in scope, voucher programmes only, valid terms; later vouchers use new terms", async function () {
      const { book, actors, programmes, voucherProgrammes, registry } = fx;
      const id = voucherProgrammes.education;
      await expect(book.connect(actors.approver).setVoucherTerms(programmes.dibao, EDUCATION_TERMS))
        .to.be.revertedWithCustomError(book, "VoucherNotVoucherProgramme")
        .withArgs(programmes.dibao);
      await expect(book.connect(actors.otherApprover).setVoucherTerms(id, EDUCATION_TERMS))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.otherApprover.address, REGION.county);
      await expect(book.connect(actors.countyFinance).setVoucherTerms(id, EDUCATION_TERMS))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.countyFinance.address, 1 << Role.Approver);
      const invalid: Array<[string, object]> = [
        ["kind", { kind: VoucherKind.None }],
        ["categories", { categories: 0 }],
        ["categories", { categories: 1 }], // bit 0 is ProviderCategory.None
        ["categories", { categories: 1 << 5 }],
        ["validity", { validity: DAY - 1 }],
        ["validity", { validity: 3 * 366 * DAY + 1 }],
      ];
      for (const [field, over] of invalid) {
        await expect(book.connect(actors.approver).setVoucherTerms(id, { ...EDUCATION_TERMS, ...over }))
          .to.be.revertedWithCustomError(book, "VoucherInvalidTerms")
          .withArgs(field);
      }
      const care = {
        kind: VoucherKind.CareService,
        categories: categoryMask([ProviderCategory.CareAgency]),
        validity: DAY,
      };
      await expect(book.connect(actors.approver).setVoucherTerms(id, care))
        .to.emit(book, "VoucherTermsSet")
        .withArgs(id, care.kind, care.categories, care.validity);
      expect([...(await book.voucherTerms(id))]).to.deep.equal([
        BigInt(care.kind),
        BigInt(care.categories),
        BigInt(DAY),
      ]);
      const caseId = await approvedVoucherCase(fx, id, CAP);
      await book.issueVouchers([caseId]);
      const v = await book.voucher(caseId);
      expect([v.kind, v.categories, v.expiresAt - v.issuedAt]).to.deep.equal([
        BigInt(care.kind),
        BigInt(care.categories),
        BigInt(DAY),
      ]);
    });

    it("setProviderCategory: the administrator, for a registered provider, a real category", async function () {
      const { book, actors, providers } = fx;
      const school = providers.uncategorised.address;
      await expect(book.connect(actors.approver).setProviderCategory(school, ProviderCategory.School))
        .to.be.revertedWithCustomError(book, "OwnableUnauthorizedAccount")
        .withArgs(actors.approver.address);
      await expect(
        book.connect(actors.admin).setProviderCategory(actors.medicalOffice.address, ProviderCategory.Hospital),
      )
        .to.be.revertedWithCustomError(book, "VoucherNotProvider")
        .withArgs(actors.medicalOffice.address);
      await expect(book.connect(actors.admin).setProviderCategory(school, ProviderCategory.None))
        .to.be.revertedWithCustomError(book, "LedgerInvalidInput")
        .withArgs("category");
      await expect(book.connect(actors.admin).setProviderCategory(school, ProviderCategory.CareAgency))
        .to.emit(book, "ProviderCategorySet")
        .withArgs(school, ProviderCategory.CareAgency);
      expect(await book.providerCategory(school)).to.equal(BigInt(ProviderCategory.CareAgency));
    });
  });

  describe("issueVouchers", function () {
    it("issues one voucher per approved case: pool → escrow, one VoucherFundsMoved per programme", async function () {
      const { ledger, book, actors, voucherProgrammes } = fx;
      const id = voucherProgrammes.education;
      const a = await approvedVoucherCase(fx, id, CAP);
      const b = await approvedVoucherCase(fx, id, 120_000n);

      const tx = book.connect(actors.stranger).issueVouchers([a, b]);
      await expect(tx).to.emit(book, "VoucherIssued").withArgs(a, id, VoucherKind.Education, CAP, anyValue);
      await expect(tx).to.emit(book, "VoucherIssued").withArgs(b, id, VoucherKind.Education, 120_000n, anyValue);
      await expect(tx)
        .to.emit(ledger, "VoucherFundsMoved")
        .withArgs(id, VoucherFundsMove.Issue, CAP + 120_000n);
      const receipt = await (await tx).wait();
      const moves = receipt!.logs.filter((l) => ledger.interface.parseLog(l)?.name === "VoucherFundsMoved");
      expect(moves).to.have.length(1);

      const issuedAt = (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp;
      const v = await book.voucher(a);
      expect(v.status).to.equal(BigInt(VoucherStatus.Active));
      expect([v.programmeId, v.region, v.faceValue, v.remaining]).to.deep.equal([id, REGION.county, CAP, CAP]);
      expect([v.issuedAt, v.expiresAt, v.redemptionCount]).to.deep.equal([
        BigInt(issuedAt),
        BigInt(issuedAt + VALIDITY),
        0n,
      ]);
      expect(await ledger.poolBalance(id)).to.equal(VOUCHER_POOL - CAP - 120_000n);
      expect(await ledger.voucherEscrow()).to.equal(CAP + 120_000n);
      expect(await totals(fx, id)).to.deep.equal({ issued: CAP + 120_000n, redeemed: 0n, expired: 0n, paid: 0n });
      await expectConserved(fx);
    });

    it("skips with a reason: unknown, wrong programme, no terms, not approved, suspended, expired, already issued", async function () {
      const { ledger, book, actors, voucherProgrammes } = fx;
      const unknown = digest("no such case");
      const cash = (await approvedCase(fx, "tekun")).caseId;
      await ledger.connect(actors.approver).createProgramme(voucherRule("no-terms"));
      const noTermsId = await ledger.programmeCount();
      const noTerms = await approvedVoucherCase(fx, noTermsId, CAP);
      const inNotice = newCase("in-notice");
      await ledger
        .connect(actors.caseworker)
        .submitCase(inNotice.caseId, voucherProgrammes.education, REGION.township, inNotice.pseudonym, digest("r"));
      await ledger.connect(actors.caseworker).reviewCase(inNotice.caseId, true, digest("reviewed"));
      const suspended = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      await ledger.connect(actors.approver).suspendCase(suspended, digest("suspended"));
      const lapsing = await approvedVoucherCase(fx, voucherProgrammes.small, CAP); // validityMonths 1
      const issued = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      await book.issueVouchers([issued]);
      await nextPeriod(ledger);

      const tx = book.issueVouchers([unknown, cash, noTerms, inNotice.caseId, suspended, lapsing, issued]);
      const expected: Array<[string, SkipReason]> = [
        [unknown, SkipReason.UnknownCase],
        [cash, SkipReason.WrongProgramme],
        [noTerms, SkipReason.WrongProgramme],
        [inNotice.caseId, SkipReason.NotApproved],
        [suspended, SkipReason.Suspended],
        [lapsing, SkipReason.Expired],
        [issued, SkipReason.AlreadyPaid],
      ];
      for (const [caseId, reason] of expected) {
        await expect(tx).to.emit(book, "VoucherSkipped").withArgs(caseId, reason);
      }
      await expect(tx).not.to.emit(book, "VoucherIssued");
      await expect(tx).not.to.emit(ledger, "VoucherFundsMoved");
      expect([...(await book.issueVouchers.staticCall([unknown, cash, suspended]))]).to.deep.equal([0n, 0n]);
    });

    it("an exiting case still gets its voucher; a resumed case gets it after its suspension", async function () {
      const { ledger, book, actors, voucherProgrammes } = fx;
      const exiting = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      await ledger.connect(actors.approver).exitCase(exiting, digest("exit"));
      const resumed = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      await ledger.connect(actors.approver).suspendCase(resumed, digest("s"));
      await ledger.connect(actors.approver).resumeCase(resumed, digest("r"));
      expect([...(await book.issueVouchers.staticCall([exiting, resumed]))]).to.deep.equal([2n, 2n * CAP]);
    });

    it("InsufficientBudget counts the earlier issues of the same call", async function () {
      const { ledger, book, voucherProgrammes } = fx;
      const id = voucherProgrammes.small; // pool 5,000 yuan: one 3,000-yuan voucher, then 2,000 left
      const first = await approvedVoucherCase(fx, id, CAP);
      const second = await approvedVoucherCase(fx, id, CAP);
      const third = await approvedVoucherCase(fx, id, SMALL_POOL - CAP);
      const tx = book.issueVouchers([first, second, third]);
      await expect(tx).to.emit(book, "VoucherIssued").withArgs(first, id, VoucherKind.Education, CAP, anyValue);
      await expect(tx).to.emit(book, "VoucherSkipped").withArgs(second, SkipReason.InsufficientBudget);
      await expect(tx)
        .to.emit(book, "VoucherIssued")
        .withArgs(third, id, VoucherKind.Education, SMALL_POOL - CAP, anyValue);
      await expect(tx).to.emit(ledger, "VoucherFundsMoved").withArgs(id, VoucherFundsMove.Issue, SMALL_POOL);
      expect(await ledger.poolBalance(id)).to.equal(0n);
      expect((await book.voucher(second)).status).to.equal(BigInt(VoucherStatus.None));
      await expectConserved(fx);
    });

    it("a batch over two programmes moves each programme's pool once", async function () {
      const { ledger, book, voucherProgrammes } = fx;
      const { education, small } = voucherProgrammes;
      const ids = [
        await approvedVoucherCase(fx, education, 100_000n),
        await approvedVoucherCase(fx, small, 50_000n),
        await approvedVoucherCase(fx, education, 10_000n),
        await approvedVoucherCase(fx, small, 5_000n),
      ];
      const receipt = await (await book.issueVouchers(ids)).wait();
      const moves = receipt!.logs
        .map((l) => ledger.interface.parseLog(l))
        .filter((l) => l?.name === "VoucherFundsMoved")
        .map((l) => [l!.args.programmeId, l!.args.amount]);
      expect(moves).to.deep.equal([
        [education, 110_000n],
        [small, 55_000n],
      ]);
      await expectConserved(fx);
    });

    it("refused while the ledger is paused", async function () {
      const { registry, book, actors, voucherProgrammes } = fx;
      const caseId = await approvedVoucherCase(fx, voucherProgrammes.education, CAP);
      await registry.connect(actors.admin).pause();
      await expect(book.issueVouchers([caseId])).to.be.revertedWithCustomError(book, "LedgerPausedError");
      await expect(book.expireVouchers([caseId])).to.be.revertedWithCustomError(book, "LedgerPausedError");
    });
  });

  describe("a voucher's life", function () {
    it("issue → present → partial redeem → present → redeem the rest → pay → settle", async function () {
      const { ledger, book, actors, providers, voucherProgrammes } = fx;
      const id = voucherProgrammes.education;
      const voucherId = await approvedVoucherCase(fx, id, CAP);
      await book.issueVouchers([voucherId]);
      const school = providers.school;

      // Present for at most 1,000 yuan, redeem 800.
      const deadline = await present(fx, voucherId, school.address, 100_000n);
      expect([...(await book.presentation(voucherId))]).to.deep.equal([
        school.address,
        100_000n,
        BigInt(deadline),
        digest(`presentation:${voucherId}:${deadline}`),
      ]);
      const invoice = digest("invoice-1");
      await expect(book.connect(school).redeemVoucher(voucherId, 80_000n, invoice))
        .to.emit(book, "VoucherRedeemed")
        .withArgs(voucherId, 0, school.address, id, 80_000n, CAP - 80_000n, invoice);
      expect((await book.presentation(voucherId)).provider).to.equal(ethers.ZeroAddress);
      const r0 = await book.redemption(key(voucherId, 0));
      expect([r0.status, r0.provider, r0.amount, r0.invoiceDigest]).to.deep.equal([
        BigInt(RedemptionStatus.Redeemed),
        school.address,
        80_000n,
        invoice,
      ]);

      // The rest, at a pharmacy (also allowed by the terms).
      const pharmacy = providers.pharmacy;
      await present(fx, voucherId, pharmacy.address, CAP - 80_000n);
      expect(
        await book.connect(pharmacy).redeemVoucher.staticCall(voucherId, CAP - 80_000n, digest("i2")),
      ).to.deep.equal([1n, 0n]);
      await book.connect(pharmacy).redeemVoucher(voucherId, CAP - 80_000n, digest("invoice-2"));
      const v = await book.voucher(voucherId);
      expect([v.status, v.remaining, v.redemptionCount]).to.deep.equal([BigInt(VoucherStatus.Exhausted), 0n, 2n]);
      expect(await totals(fx, id)).to.deep.equal({ issued: CAP, redeemed: CAP, expired: 0n, paid: 0n });
      expect(await ledger.voucherEscrow()).to.equal(CAP);
      await expectConserved(fx);

      // Finance pays both; escrow → paid out.
      const keys = [key(voucherId, 0), key(voucherId, 1)];
      expect(await book.connect(actors.countyFinance).payRedemptions.staticCall(keys)).to.equal(CAP);
      const pay = book.connect(actors.countyFinance).payRedemptions(keys);
      await expect(pay).to.emit(book, "RedemptionPaid").withArgs(voucherId, 0, school.address, 80_000n);
      await expect(pay)
        .to.emit(book, "RedemptionPaid")
        .withArgs(voucherId, 1, pharmacy.address, CAP - 80_000n);
      await expect(pay).to.emit(ledger, "VoucherFundsMoved").withArgs(id, VoucherFundsMove.Pay, CAP);
      expect(await ledger.voucherEscrow()).to.equal(0n);
      expect(await ledger.programmePaidOut(id)).to.equal(CAP);
      expect((await totals(fx, id)).paid).to.equal(CAP);
      await expectConserved(fx);

      // The payment agent confirms.
      const settle = book.connect(actors.paymentAgent).confirmRedemptionSettlements(BANK_REF, keys);
      await expect(settle).to.emit(book, "RedemptionSettled").withArgs(voucherId, 0, BANK_REF);
      await expect(settle).to.emit(book, "RedemptionSettled").withArgs(voucherId, 1, BANK_REF);
      expect((await book.redemption(key(voucherId, 1))).status).to.equal(BigInt(RedemptionStatus.Settled));
      await expect(book.connect(actors.paymentAgent).reportRedemptionFailure(key(voucherId, 0), digest("late")))
        .to.be.revertedWithCustomError(book, "VoucherRedemptionNotInStatus")
        .withArgs(voucherId, 0, RedemptionStatus.Settled);
      await expectConserved(fx);
    });

    it("a failure report makes a paid redemption owed (and payable) again", async function () {
      const { ledger, book, actors, providers, voucherProgrammes } = fx;
      const id = voucherProgrammes.education;
      const voucherId = await approvedVoucherCase(fx, id, CAP);
      await book.issueVouchers([voucherId]);
      await present(fx, voucherId, providers.school.address, 50_000n);
      await book.connect(providers.school).redeemVoucher(voucherId, 50_000n, digest("invoice"));
      await book.connect(actors.countyFinance).payRedemptions([key(voucherId, 0)]);

      const reason = digest("account closed");
      const fail = book.connect(actors.paymentAgent).reportRedemptionFailure(key(voucherId, 0), reason);
      await expect(fail).to.emit(book, "RedemptionFailed").withArgs(voucherId, 0, 50_000n, reason);
      await expect(fail).to.emit(ledger, "VoucherFundsMoved").withArgs(id, VoucherFundsMove.Fail, 50_000n);
      expect((await book.redemption(key(voucherId, 0))).status).to.equal(BigInt(RedemptionStatus.Redeemed));
      expect(await ledger.programmePaidOut(id)).to.equal(0n);
      expect(await ledger.voucherEscrow()).to.equal(CAP);
      expect((await totals(fx, id)).paid).to.equal(0n);
      await expectConserved(fx);

      await book.connect(actors.countyFinance).payRedemptions([key(voucherId, 0)]);
      expect(await ledger.programmePaidOut(id)).to.equal(50_000n);
      await book.connect(actors.paymentAgent).confirmRedemptionSettlements(BANK_REF, [key(voucherId, 0)]);
      await expectConserved(fx);
    });

    it("expiry returns the unused value to the pool; an expired voucher cannot be presented or redeemed", async function () {
      const { ledger, book, actors, providers, voucherProgrammes } = fx;
      const id = voucherProgrammes.education;
      const voucherId = await approvedVoucherCase(fx, id, CAP);
      const other = await approvedVoucherCase(fx, id, 10_000n);
      await book.issueVouchers([voucherId, other]);
      await present(fx, voucherId, providers.school.address, 100_000n);
      await book.connect(providers.school).redeemVoucher(voucherId, 100_000n, digest("invoice"));
      await present(fx, other, providers.school.address, 10_000n);
      await book.connect(providers.school).redeemVoucher(other, 10_000n, digest("invoice")); // exhausted
      const { expiresAt } = await book.voucher(voucherId);

      // Not yet: skipped silently.
      expect([...(await book.expireVouchers.staticCall([voucherId]))]).to.deep.equal([0n, 0n]);
      await present(fx, voucherId, providers.school.address, 1_000n, 3600);
      await time.increaseTo(expiresAt);
      await expect(book.connect(providers.school).redeemVoucher(voucherId, 1_000n, digest("late")))
        .to.be.revertedWithCustomError(book, "VoucherIsExpired")
        .withArgs(voucherId, expiresAt);
      await expect(
        book
          .connect(actors.anchorer)
          .presentVoucher(voucherId, providers.school.address, 1n, expiresAt + 60n, digest("p")),
      )
        .to.be.revertedWithCustomError(book, "VoucherIsExpired")
        .withArgs(voucherId, expiresAt);

      const pool = await ledger.poolBalance(id);
      const tx = book.connect(actors.stranger).expireVouchers([voucherId, other, digest("unknown")]);
      await expect(tx)
        .to.emit(book, "VoucherExpired")
        .withArgs(voucherId, id, CAP - 100_000n);
      await expect(tx)
        .to.emit(ledger, "VoucherFundsMoved")
        .withArgs(id, VoucherFundsMove.Expire, CAP - 100_000n);
      expect(await ledger.poolBalance(id)).to.equal(pool + CAP - 100_000n);
      const v = await book.voucher(voucherId);
      expect([v.status, v.remaining]).to.deep.equal([BigInt(VoucherStatus.Expired), 0n]);
      expect((await book.voucher(other)).status).to.equal(BigInt(VoucherStatus.Exhausted));
      expect(await totals(fx, id)).to.deep.equal({
        issued: CAP + 10_000n,
        redeemed: 110_000n,
        expired: CAP - 100_000n,
        paid: 0n,
      });
      expect(await ledger.voucherEscrow()).to.equal(110_000n); // redeemed, still owed to the school
      expect([...(await book.expireVouchers.staticCall([voucherId]))]).to.deep.equal([0n, 0n]);
      await expect(
        book
          .connect(actors.anchorer)
          .presentVoucher(voucherId, providers.school.address, 1n, (await now()) + 60, digest("p")),
      )
        .to.be.revertedWithCustomError(book, "VoucherNotActive")
        .withArgs(voucherId, VoucherStatus.Expired);
      // What was redeemed before expiry is still paid.
      await book.connect(actors.countyFinance).payRedemptions([key(voucherId, 0), key(other, 0)]);
      expect(await ledger.voucherEscrow()).to.equal(0n);
      await expectConserved(fx);
    });
  });

  describe("refusals", function () {
    let voucherId: string;

    beforeEach(async function () {
      voucherId = await approvedVoucherCase(fx, fx.voucherProgrammes.education, CAP);
      await fx.book.issueVouchers([voucherId]);
    });

    it("presentVoucher: only the anchorer in scope, a live voucher, an active provider, sane bounds", async function () {
      const { book, registry, actors, providers } = fx;
      const deadline = (await now()) + 600;
      const p = (who = actors.anchorer, provider = providers.school.address, max = 1_000n, until = deadline) =>
        book.connect(who).presentVoucher(voucherId, provider, max, until, digest("p"));
      await expect(p(actors.caseworker))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.caseworker.address, 1 << Role.Anchorer);
      await expect(
        book
          .connect(actors.anchorer)
          .presentVoucher(digest("nope"), providers.school.address, 1n, deadline, digest("p")),
      )
        .to.be.revertedWithCustomError(book, "VoucherUnknown")
        .withArgs(digest("nope"));
      await expect(p(actors.anchorer, actors.medicalOffice.address))
        .to.be.revertedWithCustomError(book, "VoucherNotProvider")
        .withArgs(actors.medicalOffice.address);
      await expect(p(actors.anchorer, providers.inactiveSchool.address))
        .to.be.revertedWithCustomError(book, "VoucherNotProvider")
        .withArgs(providers.inactiveSchool.address);
      await expect(p(actors.anchorer, providers.school.address, 0n))
        .to.be.revertedWithCustomError(book, "LedgerInvalidInput")
        .withArgs("maxAmount");
      await expect(p(actors.anchorer, providers.school.address, CAP + 1n))
        .to.be.revertedWithCustomError(book, "VoucherAboveRemaining")
        .withArgs(voucherId, CAP + 1n, CAP);
      await expect(p(actors.anchorer, providers.school.address, 1n, (await now()) + DAY + 2))
        .to.be.revertedWithCustomError(book, "LedgerInvalidInput")
        .withArgs("expiresAt");
      await expect(p(actors.anchorer, providers.school.address, 1n, await now()))
        .to.be.revertedWithCustomError(book, "LedgerInvalidInput")
        .withArgs("expiresAt");
    });

    it("a newer presentation replaces the open one", async function () {
      const { book, providers } = fx;
      await present(fx, voucherId, providers.school.address, 10_000n);
      await present(fx, voucherId, providers.pharmacy.address, 20_000n);
      await expect(book.connect(providers.school).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherNoPresentation")
        .withArgs(voucherId, providers.school.address);
      await book.connect(providers.pharmacy).redeemVoucher(voucherId, 20_000n, digest("i"));
    });

    it("the same presentation never redeems twice", async function () {
      const { book, providers } = fx;
      await present(fx, voucherId, providers.school.address, 50_000n);
      await book.connect(providers.school).redeemVoucher(voucherId, 10_000n, digest("i1"));
      await expect(book.connect(providers.school).redeemVoucher(voucherId, 10_000n, digest("i1")))
        .to.be.revertedWithCustomError(book, "VoucherNoPresentation")
        .withArgs(voucherId, providers.school.address);
      expect((await book.voucher(voucherId)).remaining).to.equal(CAP - 10_000n);
    });

    it("redeemVoucher: wrong category, outside region, another provider's presentation, above presented", async function () {
      const { book, providers } = fx;
      await present(fx, voucherId, providers.hospital.address, 10_000n);
      await expect(book.connect(providers.hospital).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherWrongCategory")
        .withArgs(voucherId, providers.hospital.address, ProviderCategory.Hospital);
      await expect(book.connect(providers.uncategorised).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherWrongCategory")
        .withArgs(voucherId, providers.uncategorised.address, ProviderCategory.None);
      await present(fx, voucherId, providers.outsideSchool.address, 10_000n);
      await expect(book.connect(providers.outsideSchool).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherOutsideRegion")
        .withArgs(voucherId, providers.outsideSchool.address, REGION.otherTownship);

      // Presented to the pharmacy: the school may not use it.
      await present(fx, voucherId, providers.pharmacy.address, 10_000n);
      await expect(book.connect(providers.school).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherNoPresentation")
        .withArgs(voucherId, providers.school.address);
      await expect(book.connect(providers.pharmacy).redeemVoucher(voucherId, 10_001n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherAbovePresented")
        .withArgs(voucherId, 10_001n, 10_000n);
      await expect(book.connect(providers.pharmacy).redeemVoucher(voucherId, 0n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherAbovePresented")
        .withArgs(voucherId, 0n, 10_000n);
      expect((await book.voucher(voucherId)).remaining).to.equal(CAP);
    });

    it("redeemVoucher: a past presentation deadline, unknown or exhausted vouchers", async function () {
      const { book, providers, voucherProgrammes } = fx;
      await present(fx, voucherId, providers.school.address, CAP, 60);
      await time.increase(60);
      await expect(book.connect(providers.school).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherNoPresentation")
        .withArgs(voucherId, providers.school.address);
      await expect(book.connect(providers.school).redeemVoucher(digest("nope"), 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherUnknown")
        .withArgs(digest("nope"));
      await present(fx, voucherId, providers.school.address, CAP);
      await book.connect(providers.school).redeemVoucher(voucherId, CAP, digest("i"));
      await expect(book.connect(providers.school).redeemVoucher(voucherId, 1n, digest("i")))
        .to.be.revertedWithCustomError(book, "VoucherNotActive")
        .withArgs(voucherId, VoucherStatus.Exhausted);
      expect((await totals(fx, voucherProgrammes.education)).redeemed).to.equal(CAP);
    });

    it("redeemVoucher: only an active provider may call", async function () {
      const { book, registry, actors, providers } = fx;
      await present(fx, voucherId, providers.school.address, 10_000n);
      for (const who of [actors.anchorer, actors.countyFinance, actors.stranger, providers.inactiveSchool]) {
        await expect(book.connect(who).redeemVoucher(voucherId, 1n, digest("i")))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, PROVIDER_BIT);
      }
      await registry.connect(actors.admin).pause();
      await expect(
        book.connect(providers.school).redeemVoucher(voucherId, 1n, digest("i")),
      ).to.be.revertedWithCustomError(registry, "LedgerPausedError");
    });

    it("payments and settlements: finance and payment agent in scope, right statuses, all or nothing", async function () {
      const { ledger, book, registry, actors, providers } = fx;
      await present(fx, voucherId, providers.school.address, 10_000n);
      await book.connect(providers.school).redeemVoucher(voucherId, 10_000n, digest("i"));
      const k = key(voucherId, 0);
      const missing = key(voucherId, 1);

      await expect(book.connect(actors.paymentAgent).payRedemptions([k]))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.paymentAgent.address, 1 << Role.Finance);
      // A finance bureau outside the voucher's region (a Fengtai bureau would be; Chaoyang's township has none):
      const fengtai = ethers.Wallet.createRandom().connect(ethers.provider);
      await ethers.provider.send("hardhat_setBalance", [fengtai.address, "0x56bc75e2d63100000"]);
      await registry.registerInstitution(fengtai.address, Role.Finance, REGION.otherCounty, digest("k"));
      await expect(book.connect(fengtai).payRedemptions([k]))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(fengtai.address, REGION.county);
      await expect(book.connect(actors.countyFinance).payRedemptions([]))
        .to.be.revertedWithCustomError(book, "LedgerInvalidInput")
        .withArgs("keys");
      await expect(book.connect(actors.countyFinance).payRedemptions([k, missing]))
        .to.be.revertedWithCustomError(book, "VoucherUnknownRedemption")
        .withArgs(voucherId, 1);
      await expect(book.connect(actors.countyFinance).payRedemptions([k, k]))
        .to.be.revertedWithCustomError(book, "VoucherRedemptionNotInStatus")
        .withArgs(voucherId, 0, RedemptionStatus.Paid);
      expect((await book.redemption(k)).status).to.equal(BigInt(RedemptionStatus.Redeemed));
      await expect(book.connect(actors.paymentAgent).confirmRedemptionSettlements(BANK_REF, [k]))
        .to.be.revertedWithCustomError(book, "VoucherRedemptionNotInStatus")
        .withArgs(voucherId, 0, RedemptionStatus.Redeemed);
      await expect(book.connect(actors.paymentAgent).reportRedemptionFailure(k, digest("r")))
        .to.be.revertedWithCustomError(book, "VoucherRedemptionNotInStatus")
        .withArgs(voucherId, 0, RedemptionStatus.Redeemed);

      // City finance contains the county: it may pay.
      await book.connect(actors.cityFinance).payRedemptions([k]);
      await expect(book.connect(actors.otherPaymentAgent).confirmRedemptionSettlements(BANK_REF, [k]))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.otherPaymentAgent.address, REGION.county);
      await expect(book.connect(actors.otherPaymentAgent).reportRedemptionFailure(k, digest("r")))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.otherPaymentAgent.address, REGION.county);
      await expect(book.connect(actors.countyFinance).confirmRedemptionSettlements(BANK_REF, [k]))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.countyFinance.address, 1 << Role.PaymentAgent);
      await expect(book.connect(actors.paymentAgent).confirmRedemptionSettlements(ethers.ZeroHash, [k]))
        .to.be.revertedWithCustomError(book, "LedgerInvalidInput")
        .withArgs("bankRefDigest");
      await expect(book.connect(actors.paymentAgent).confirmRedemptionSettlements(BANK_REF, [k, missing]))
        .to.be.revertedWithCustomError(book, "VoucherUnknownRedemption")
        .withArgs(voucherId, 1);
      expect((await book.redemption(k)).status).to.equal(BigInt(RedemptionStatus.Paid));
      await book.connect(actors.paymentAgent).confirmRedemptionSettlements(BANK_REF, [k]);
      expect(await ledger.voucherEscrow()).to.equal(CAP - 10_000n);
      await expectConserved(fx);
    });
  });

  describe("no transfer", function () {
    it("ERC-20 and ERC-1155 transfer calls revert and change nothing", async function () {
      const { book, providers, actors } = fx;
      const voucherId = await approvedVoucherCase(fx, fx.voucherProgrammes.education, CAP);
      await book.issueVouchers([voucherId]);
      const before = await book.voucher(voucherId);
      const erc = new ethers.Interface([
        "function transfer(address to, uint256 amount)",
        "function transferFrom(address from, address to, uint256 amount)",
        "function approve(address spender, uint256 amount)",
        "function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes data)",
        "function safeBatchTransferFrom(address from, address to, uint256[] ids, uint256[] amounts, bytes data)",
        "function setApprovalForAll(address operator, bool approved)",
      ]);
      const to = providers.school.address;
      const from = actors.beneficiary.address;
      const calls = [
        erc.encodeFunctionData("transfer", [to, CAP]),
        erc.encodeFunctionData("transferFrom", [from, to, CAP]),
        erc.encodeFunctionData("approve", [to, CAP]),
        erc.encodeFunctionData("safeTransferFrom", [from, to, voucherId, 1, "0x"]),
        erc.encodeFunctionData("safeBatchTransferFrom", [from, to, [voucherId], [1], "0x"]),
        erc.encodeFunctionData("setApprovalForAll", [to, true]),
      ];
      for (const data of calls) {
        for (const signer of [actors.beneficiary, actors.anchorer, providers.school]) {
          await expect(signer.sendTransaction({ to: await book.getAddress(), data })).to.be.reverted;
        }
      }
      await expect(actors.beneficiary.sendTransaction({ to: await book.getAddress(), value: 1n })).to.be.reverted;
      expect([...(await book.voucher(voucherId))]).to.deep.equal([...before]);
    });
  });

  describe("gas", function () {
    it("issueVouchers (batch of 100), redeemVoucher, payRedemptions per key", async function () {
      this.timeout(120_000);
      const { ledger, book, actors, providers, voucherProgrammes } = fx;
      const id = voucherProgrammes.education;
      const ref = digest("more");
      const needed = 100n * 1_000n;
      await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, needed, ref);
      await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, needed, ref);
      await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, needed, ref);
      await ledger.connect(actors.countyFinance).fundProgramme(id, needed, ref);
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) ids.push(await approvedVoucherCase(fx, id, 1_000n, { label: "gas" }));
      const issue = await (await book.issueVouchers(ids)).wait();
      const perCase = issue!.gasUsed / 100n;

      const redeems: bigint[] = [];
      for (const voucherId of ids.slice(0, 10)) {
        await present(fx, voucherId, providers.school.address, 400n);
        redeems.push(
          (await (await book.connect(providers.school).redeemVoucher(voucherId, 400n, digest("i"))).wait())!.gasUsed,
        );
      }
      const keys = ids.slice(0, 10).map((v) => key(v, 0));
      const pay = await (await book.connect(actors.countyFinance).payRedemptions(keys)).wait();
      const payOne = await (async () => {
        const v = ids[10];
        await present(fx, v, providers.school.address, 400n);
        await book.connect(providers.school).redeemVoucher(v, 400n, digest("i"));
        return (await (await book.connect(actors.countyFinance).payRedemptions([key(v, 0)])).wait())!.gasUsed;
      })();
      const redeem = redeems.reduce((a, b) => a + b, 0n) / BigInt(redeems.length);
      console.log(
        `      gas: issueVouchers ${perCase}/case (100 in ${issue!.gasUsed}); redeemVoucher ${redeem}; ` +
          `payRedemptions ${pay!.gasUsed / 10n}/key (10 keys, ${pay!.gasUsed}), 1 key ${payOne}`,
      );
      expect((await book.voucherTotals(id))[0]).to.equal(100n * 1_000n);
      expect(perCase).to.be.lessThan(60_000n);
      await expectConserved(fx);
    });
  });
});
