import { expect } from "chai";
import { ZeroAddress } from "ethers";
import { programmeRule } from "../../lib/programmes";
import { ProgrammeKind, SkipReason } from "../../lib/roles";
import {
  ProviderCategory,
  RedemptionStatus,
  VoucherFundsMove,
  VoucherKind,
  VoucherStatus,
  categoryMask,
} from "../../lib/vouchers";
import { LedgerError, type LedgerEvent } from "../../gateway/src/ledger";
import { FabricLedger } from "../../gateway/src/ledger/fabric";
import type { InMemoryPeer } from "../chaincode/peer";
import { PROVIDERS, registerInstitutions } from "../conformance/institutions";
import { DAY, REGION, digest } from "../gateway/ledger/anvil";
import { gatewayTransports, rejection, storyPeer } from "./fixture";
import type { FabricGatewayServer } from "./gateway-server";

/** 教育救助券: up to 2,000 yuan a case, no notice, 30 days at a school. */
const EDUCATION = programmeRule(ProgrammeKind.Voucher, REGION.county, digest("fabric-education-voucher"), {
  amount: 200_000n,
  noticePeriod: 0,
});
const TERMS = { kind: VoucherKind.Education, categories: categoryMask([ProviderCategory.School]), validity: 30 * DAY };
const CATEGORY: Record<string, ProviderCategory> = {
  school: ProviderCategory.School,
  hospital: ProviderCategory.Hospital,
  farSchool: ProviderCategory.School,
};

/**
 * The Fabric adapter's `VoucherLedger` through the production transport (fabric-gateway over gRPC to the Gateway
 * service in front of the in-memory peer): each method one chaincode transaction, replies decoded to the model's
 * types, voucher events decoded to the `LedgerEvent`s of events.ts, refusals to `LedgerError`s named as in Solidity.
 */
describe("FabricLedger: vouchers over gRPC", function () {
  this.timeout(60_000);
  let peer: InMemoryPeer;
  let server: FabricGatewayServer;
  let ledger: FabricLedger;
  let programmeId: number;
  let counter = 0;

  async function approvedCase(amount: bigint): Promise<string> {
    counter += 1;
    const caseId = digest(`fabric-voucher:${counter}`);
    await ledger.submitCase("caseworker", {
      caseId,
      programmeId,
      region: REGION.township,
      pseudonym: digest(`fabric-voucher:p:${counter}`),
      recordDigest: digest(`fabric-voucher:r:${counter}`),
    });
    await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
    await ledger.approveCase("approver", {
      caseId,
      assessment: { householdSize: 1, incomePerHead: 0n, amount },
      ruleVersion: EDUCATION.ruleVersion,
    });
    return caseId;
  }

  const presentTo = (voucherId: string, actor: string, maxAmount: bigint) =>
    ledger.presentVoucher("anchorer", {
      voucherId,
      provider: ledger.accountOf(actor),
      maxAmount,
      expiresAt: peer.now() + 600,
      presentationDigest: digest(`presented:${voucherId}:${maxAmount}`),
    });

  before(async function () {
    let identities;
    ({ peer, identities } = await storyPeer());
    const grpc = await gatewayTransports(peer, identities);
    server = grpc.server;
    ledger = new FabricLedger({ actors: grpc.transports, retryBackoffMs: 1 });
    await registerInstitutions(ledger);
    for (const [actor, role, region] of PROVIDERS) {
      await ledger.registerInstitution("admin", {
        account: ledger.accountOf(actor),
        role,
        region,
        keyDigest: digest(`sm2-key:${actor}`),
      });
      await ledger.setProviderCategory("admin", ledger.accountOf(actor), CATEGORY[actor]);
    }
    programmeId = (await ledger.createProgramme("approver", EDUCATION)).programmeId;
    await ledger.setVoucherTerms("approver", programmeId, TERMS);
    const ref = digest("fabric-voucher-budget");
    const amount = 1_000_000n;
    await ledger.appropriate("centralFinance", amount, ref);
    for (const [actor, fromRegion, toRegion] of [
      ["centralFinance", REGION.central, REGION.province],
      ["provinceFinance", REGION.province, REGION.city],
      ["cityFinance", REGION.city, REGION.county],
    ] as const) {
      await ledger.allocate(actor, { fromRegion, toRegion, amount, referenceDigest: ref });
    }
    await ledger.fundProgramme("countyFinance", { programmeId, amount, referenceDigest: ref });
  });

  after(async function () {
    await ledger?.close();
    await server?.stop();
  });

  it("a voucher's life: issue, present, redeem, pay, settle, expire — replies and events decoded", async function () {
    const school = ledger.accountOf("school");
    expect(await ledger.voucherTerms(programmeId)).to.deep.equal(TERMS);
    expect(await ledger.providerCategory(school)).to.equal(ProviderCategory.School);
    const [a, b] = [await approvedCase(150_000n), await approvedCase(30_000n)];
    const from = (await ledger.blockNumber()) + 1;

    const issued = await ledger.issueVouchers("keeper", [a, b, a, digest("unknown")], 2);
    expect(issued.transactions).to.have.length(2);
    expect(issued).to.deep.include({ issued: 2, total: 180_000n });
    expect(issued.outcomes.map((o) => (o.status === "skipped" ? o.reason : o.faceValue))).to.deep.equal([
      150_000n,
      30_000n,
      SkipReason.AlreadyPaid,
      SkipReason.UnknownCase,
    ]);
    const v = await ledger.voucher(a);
    expect(v).to.deep.include({
      status: VoucherStatus.Active,
      kind: VoucherKind.Education,
      programmeId,
      region: REGION.county,
      faceValue: 150_000n,
      remaining: 150_000n,
      redemptionCount: 0,
    });
    expect(await ledger.voucher(digest("unknown"))).to.equal(null);

    await presentTo(a, "school", 100_000n);
    expect(await ledger.presentation(a)).to.deep.include({ provider: school, maxAmount: 100_000n });
    const redeemed = await ledger.redeemVoucher("school", {
      voucherId: a,
      amount: 90_000n,
      invoiceDigest: digest("i"),
    });
    expect(redeemed).to.include({ index: 0, remaining: 60_000n });
    expect((await ledger.presentation(a)).provider).to.equal(ZeroAddress);
    expect(await ledger.redemption({ voucherId: a, index: 0 })).to.deep.include({
      status: RedemptionStatus.Redeemed,
      provider: school,
      amount: 90_000n,
    });
    expect(await ledger.redemption({ voucherId: a, index: 1 })).to.equal(null);
    const escrow = await ledger.voucherEscrow();

    const paid = await ledger.payRedemptions("countyFinance", [{ voucherId: a, index: 0 }]);
    expect(paid.total).to.equal(90_000n);
    expect(await ledger.voucherEscrow()).to.equal(escrow - 90_000n);
    await ledger.confirmRedemptionSettlements("paymentAgent", digest("bank"), [{ voucherId: a, index: 0 }]);
    expect((await ledger.redemption({ voucherId: a, index: 0 }))?.status).to.equal(RedemptionStatus.Settled);

    peer.setTime((v?.expiresAt ?? 0) + 1);
    const expired = await ledger.expireVouchers("keeper", [a, b]);
    expect(expired).to.include({ expired: 2, returned: 90_000n });
    expect(await ledger.voucherTotals(programmeId)).to.deep.equal({
      issued: 180_000n,
      redeemed: 90_000n,
      expired: 90_000n,
      paid: 90_000n,
    });
    expect(await ledger.programmePaidOut(programmeId)).to.equal(90_000n);

    const events = (await ledger.events(from)).filter(
      (e) => e.contract === "vouchers" || e.name === "VoucherFundsMoved",
    );
    expect(events.map((e) => e.name)).to.deep.equal([
      "VoucherIssued",
      "VoucherIssued",
      "VoucherFundsMoved",
      "VoucherSkipped",
      "VoucherSkipped",
      "VoucherPresented",
      "VoucherRedeemed",
      "RedemptionPaid",
      "VoucherFundsMoved",
      "RedemptionSettled",
      "VoucherExpired",
      "VoucherExpired",
      "VoucherFundsMoved",
    ]);
    const byName = <N extends LedgerEvent["name"]>(name: N) =>
      events.find((e): e is Extract<LedgerEvent, { name: N }> => e.name === name)!;
    expect(byName("VoucherIssued")).to.deep.include({ contract: "vouchers" });
    expect(byName("VoucherIssued").args).to.deep.equal({
      voucherId: a,
      programmeId,
      kind: VoucherKind.Education,
      faceValue: 150_000n,
      expiresAt: v?.expiresAt,
    });
    expect(byName("VoucherRedeemed").args).to.deep.equal({
      voucherId: a,
      index: 0,
      provider: school,
      programmeId,
      amount: 90_000n,
      remaining: 60_000n,
      invoiceDigest: digest("i"),
    });
    expect(byName("VoucherFundsMoved")).to.deep.include({
      contract: "ledger",
      args: { programmeId, move: VoucherFundsMove.Issue, amount: 180_000n },
    });
    expect(byName("RedemptionPaid").args).to.deep.equal({ voucherId: a, index: 0, provider: school, amount: 90_000n });
  });

  it("refusals arrive as LedgerErrors named as the Solidity errors, with their arguments", async function () {
    const v = (await ledger.issueVouchers("keeper", [await approvedCase(50_000n)])).outcomes[0].caseId;
    await presentTo(v, "hospital", 10_000n);

    const wrong = (await rejection(
      ledger.redeemVoucher("hospital", { voucherId: v, amount: 1_000n, invoiceDigest: digest("i") }),
    )) as LedgerError;
    expect(wrong).to.be.instanceOf(LedgerError);
    expect(wrong.code).to.equal("VoucherWrongCategory");
    expect(wrong.args).to.deep.include({ voucherId: v, category: ProviderCategory.Hospital });
    expect((wrong.cause as Error).name).to.equal("EndorseError");

    await presentTo(v, "school", 10_000n);
    await ledger.redeemVoucher("school", { voucherId: v, amount: 10_000n, invoiceDigest: digest("i") });
    const twice = (await rejection(
      ledger.redeemVoucher("school", { voucherId: v, amount: 1n, invoiceDigest: digest("i") }),
    )) as LedgerError;
    expect(twice.code).to.equal("VoucherNoPresentation");

    const key = { voucherId: v, index: 0 };
    const notPaid = (await rejection(ledger.reportRedemptionFailure("paymentAgent", key, digest("f")))) as LedgerError;
    expect(notPaid.code).to.equal("VoucherRedemptionNotInStatus");
    expect(notPaid.args).to.deep.include({ index: 0, status: RedemptionStatus.Redeemed });

    // A failed payment makes the redemption payable again.
    await ledger.payRedemptions("countyFinance", [key]);
    await ledger.reportRedemptionFailure("paymentAgent", key, digest("account closed"));
    expect((await ledger.redemption(key))?.status).to.equal(RedemptionStatus.Redeemed);
    expect((await ledger.payRedemptions("countyFinance", [key])).total).to.equal(10_000n);

    const cash = (await rejection(
      ledger.executePayouts("keeper", { programmeId, period: await ledger.currentPeriod(), caseIds: [v] }),
    )) as LedgerError;
    expect(cash.code).to.equal("LedgerWrongProgrammeKind");
  });
});
