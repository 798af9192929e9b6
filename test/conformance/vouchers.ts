/**
 * The voucher chapter of the conformance story (issue 9): a voucher programme and its terms, providers registered
 * and given categories, cases approved and issued their vouchers (with skips), presentations and redemptions
 * (partial, refused for the wrong category, outside the region, above the presentation and twice), payment,
 * settlement, a failed payment, and expiry back to the pool; then the chapter's state read back.
 *
 * Runs after the registry chapter and before the final state: it moves the clock past the vouchers' validity.
 */
import { periodAt } from "../../lib/periods";
import { programmeRule } from "../../lib/programmes";
import { ProgrammeKind, Role } from "../../lib/roles";
import { ProviderCategory, VoucherKind, categoryMask } from "../../lib/vouchers";
import type { Bytes32 } from "../../gateway/src/ledger";
import { DAY, REGION, digest } from "../gateway/ledger/anvil";
import type { ConformanceChain } from "./chains";
import { PROVIDERS } from "./institutions";

/** 教育救助券: up to 2,000 yuan a case, no notice, redeemable at schools for 30 days. */
const EDUCATION = programmeRule(ProgrammeKind.Voucher, REGION.county, digest("education-voucher-2027"), {
  amount: 200_000n,
  noticePeriod: 0,
});
const TERMS = { kind: VoucherKind.Education, categories: categoryMask([ProviderCategory.School]), validity: 30 * DAY };
const CATEGORY: Record<string, ProviderCategory> = {
  school: ProviderCategory.School,
  hospital: ProviderCategory.Hospital,
  farSchool: ProviderCategory.School,
};

type Step = (name: string, call: () => Promise<unknown>) => Promise<unknown>;

export async function voucherChapter(
  chain: ConformanceChain,
  step: Step,
  id: (label: string) => Bytes32,
  cashProgramme: { programmeId: number; caseId: Bytes32 },
): Promise<void> {
  const L = chain.ledger;
  const ref = digest("budget-2027");

  // ---- Programme, terms, providers ---------------------------------------------------------------------------
  const education = (
    (await step("create education vouchers", () => L.createProgramme("approver", EDUCATION))) as {
      programmeId: number;
    }
  ).programmeId;
  await step("set voucher terms by a caseworker", () => L.setVoucherTerms("caseworker", education, TERMS));
  await step("set voucher terms on a cash programme", () =>
    L.setVoucherTerms("approver", cashProgramme.programmeId, TERMS),
  );
  await step("set voucher terms without categories", () =>
    L.setVoucherTerms("approver", education, { ...TERMS, categories: 0 }),
  );
  await step("set voucher terms valid for a minute", () =>
    L.setVoucherTerms("approver", education, { ...TERMS, validity: 60 }),
  );
  await step("set education voucher terms", () => L.setVoucherTerms("approver", education, TERMS));
  await step("fund education vouchers", () =>
    L.fundProgramme("countyFinance", { programmeId: education, amount: 200_000n, referenceDigest: ref }),
  );
  for (const [actor, role, region] of PROVIDERS) {
    await step(`register ${actor}`, () =>
      L.registerInstitution("admin", {
        account: L.accountOf(actor),
        role,
        region,
        keyDigest: digest(`sm2-key:${actor}`),
      }),
    );
  }
  await step("register a provider by the approver", () =>
    L.registerInstitution("approver", {
      account: `0x${"0c".repeat(20)}`,
      role: Role.Provider,
      region: REGION.county,
      keyDigest: id("k"),
    }),
  );
  await step("set a caseworker's provider category", () =>
    L.setProviderCategory("admin", L.accountOf("caseworker"), ProviderCategory.School),
  );
  await step("set a provider category by the approver", () =>
    L.setProviderCategory("approver", L.accountOf("school"), ProviderCategory.Hospital),
  );
  for (const [actor] of PROVIDERS) {
    await step(`set ${actor}'s category`, () => L.setProviderCategory("admin", L.accountOf(actor), CATEGORY[actor]));
  }

  // ---- Cases and issue ---------------------------------------------------------------------------------------
  const approve = (label: string, amount: bigint, name = `approve ${label}`) =>
    step(name, () =>
      L.approveCase("approver", {
        caseId: id(label),
        assessment: { householdSize: 1, incomePerHead: 0n, amount },
        ruleVersion: EDUCATION.ruleVersion,
      }),
    );
  for (const label of ["ivan", "judy", "kim", "leo", "mallory", "oscar"]) {
    await step(`submit ${label}`, () =>
      L.submitCase("caseworker", {
        caseId: id(label),
        programmeId: education,
        region: REGION.township,
        pseudonym: id(`pseudonym:${label}`),
        recordDigest: id(`record:${label}`),
      }),
    );
    // leo stays submitted: never reviewed
    if (label !== "leo") {
      await step(`review ${label}`, () =>
        L.reviewCase("caseworker", { caseId: id(label), passed: true, reasonDigest: id("ok") }),
      );
    }
  }
  await approve("ivan", 100_000n);
  await approve("judy", 50_000n);
  await approve("kim", 30_000n);
  await approve("oscar", 100_000n);
  await approve("mallory", EDUCATION.amount + 1n, "approve mallory above the programme's cap");
  await approve("mallory", 0n, "approve mallory for nothing");
  await step("suspend kim", () => L.suspendCase("approver", { caseId: id("kim"), reasonDigest: id("reason:suspend") }));
  await step("payout run on a voucher programme", () =>
    L.executePayouts("keeper", { programmeId: education, period: periodAt(chain.now()), caseIds: [id("ivan")] }),
  );
  // ivan and judy fit the pool (150,000 of 200,000); oscar's 100,000 then does not.
  const listed = ["ivan", "leo", "nobody", "judy", "kim", "oscar", "ivan"].map(id);
  await step("issue vouchers", () => L.issueVouchers("keeper", [...listed, cashProgramme.caseId], 2));
  await step("pause before issuing", () => L.pause("admin"));
  await step("issue vouchers while paused", () => L.issueVouchers("keeper", [id("oscar")]));
  await step("unpause after issuing", () => L.unpause("admin"));

  // ---- Presentation and redemption -------------------------------------------------------------------------
  const ivan = id("ivan");
  const present = (label: string, actor: string, voucherId: Bytes32, maxAmount: bigint, provider = "school") =>
    step(label, () =>
      L.presentVoucher(actor, {
        voucherId,
        provider: L.accountOf(provider),
        maxAmount,
        expiresAt: chain.now() + 3_600,
        presentationDigest: id(`presentation:${label}`),
      }),
    );
  await present("present by a caseworker", "caseworker", ivan, 60_000n);
  await present("present above the remaining value", "anchorer", ivan, 100_001n);
  await present("present to a caseworker", "anchorer", ivan, 60_000n, "caseworker");
  await present("present an unknown voucher", "anchorer", id("nobody"), 1n);
  await step("present for two days", () =>
    L.presentVoucher("anchorer", {
      voucherId: ivan,
      provider: L.accountOf("school"),
      maxAmount: 1n,
      expiresAt: chain.now() + 2 * DAY,
      presentationDigest: id("presentation:two days"),
    }),
  );
  await present("present ivan's voucher to the school", "anchorer", ivan, 60_000n);
  const redeem = (label: string, actor: string, amount: bigint, voucherId = ivan) =>
    step(label, () => L.redeemVoucher(actor, { voucherId, amount, invoiceDigest: id(`invoice:${label}`) }));
  await redeem("redeem at a hospital (wrong category)", "hospital", 10_000n);
  await redeem("redeem at a school in another county", "farSchool", 10_000n);
  await redeem("redeem by a caseworker", "caseworker", 10_000n);
  await redeem("redeem more than presented", "school", 60_001n);
  await redeem("redeem nothing", "school", 0n);
  await redeem("redeem an unknown voucher", "school", 1n, id("nobody"));
  await redeem("redeem part at the school", "school", 40_000n);
  await redeem("redeem twice on one presentation", "school", 1_000n);
  await step("presentation of ivan after redeeming", () => L.presentation(ivan));

  // ---- Payment, settlement, failure ------------------------------------------------------------------------
  const first = { voucherId: ivan, index: 0 };
  const second = { voucherId: ivan, index: 1 };
  await step("pay redemptions by the keeper", () => L.payRedemptions("keeper", [first]));
  await step("pay an unknown redemption", () => L.payRedemptions("countyFinance", [first, second]));
  await step("pay ivan's redemption", () => L.payRedemptions("countyFinance", [first]));
  await step("pay ivan's redemption twice", () => L.payRedemptions("countyFinance", [first]));
  await step("settle ivan's redemption by the keeper", () =>
    L.confirmRedemptionSettlements("keeper", id("voucher-bank-1"), [first]),
  );
  await step("settle ivan's redemption", () =>
    L.confirmRedemptionSettlements("paymentAgent", id("voucher-bank-1"), [first]),
  );
  await step("settle ivan's redemption again", () =>
    L.confirmRedemptionSettlements("paymentAgent", id("voucher-bank-1"), [first]),
  );
  await present("present ivan's voucher again", "anchorer", ivan, 60_000n);
  await redeem("redeem the rest at the school", "school", 60_000n);
  await present("present an exhausted voucher", "anchorer", ivan, 1n);
  await step("report an unpaid redemption failed", () =>
    L.reportRedemptionFailure("paymentAgent", second, id("reason:early")),
  );
  await step("pay the second redemption", () => L.payRedemptions("countyFinance", [second]));
  await step("report the second payment failed", () =>
    L.reportRedemptionFailure("paymentAgent", second, id("reason:account-closed")),
  );
  await step("report a settled redemption failed", () =>
    L.reportRedemptionFailure("paymentAgent", first, id("reason:x")),
  );

  // ---- Expiry ----------------------------------------------------------------------------------------------
  const judy = id("judy");
  await step("expire vouchers before their time", () => L.expireVouchers("keeper", [judy]));
  chain.advance(TERMS.validity + DAY);
  await present("present an expired voucher", "anchorer", judy, 1n);
  await step("expire vouchers", () => L.expireVouchers("keeper", [judy, ivan, id("nobody"), judy]));
  await step("expire vouchers again", () => L.expireVouchers("keeper", [judy]));

  // ---- The chapter's state ---------------------------------------------------------------------------------
  for (const label of ["ivan", "judy", "kim", "oscar", "nobody"]) {
    await step(`voucher of ${label}`, () => L.voucher(id(label)));
  }
  for (const index of [0, 1, 2]) {
    await step(`redemption ${index} of ivan`, () => L.redemption({ voucherId: ivan, index }));
  }
  await step("presentation of judy", () => L.presentation(judy));
  await step("education voucher terms", () => L.voucherTerms(education));
  await step("cash programme's voucher terms", () => L.voucherTerms(cashProgramme.programmeId));
  for (const [actor] of PROVIDERS) {
    await step(`category of ${actor}`, () => L.providerCategory(L.accountOf(actor)));
  }
  await step("category of a caseworker", () => L.providerCategory(L.accountOf("caseworker")));
  await step("education voucher totals", () => L.voucherTotals(education));
  await step("voucher escrow", () => L.voucherEscrow());
  await step("pool of education vouchers", () => L.poolBalance(education));
  await step("paid out by education vouchers", () => L.programmePaidOut(education));
  await step("case ivan", () => L.caseRecord(ivan));
  await step("institution school", () => L.institution(L.accountOf("school")));
}
