/**
 * The `relief` contract: one transaction per `Ledger` method (gateway/src/ledger/ledger.ts), each taking exactly one
 * string argument, the JSON of the method's parameters after `actor`, and replying with canonical JSON. The rules
 * live in the modules named after the Solidity contracts; this class only routes.
 */
import { Contract } from "fabric-contract-api";
import * as anchors from "./anchors";
import * as budget from "./budget";
import * as cases from "./cases";
import { args, type Json } from "./codec";
import { ReliefContext } from "./context";
import * as events from "./event-payouts";
import { keyHistory } from "./history";
import { marshal } from "./marshal";
import * as payouts from "./payouts";
import * as programmes from "./programmes";
import * as receipts from "./receipts";
import * as registry from "./registry";
import * as settlement from "./settlement";
import * as vouchers from "./vouchers";

export const CONTRACT_NAME = "relief";

type Handler = (ctx: ReliefContext, input: Json) => Promise<unknown>;

async function run(ctx: ReliefContext, json: string, handler: Handler): Promise<string> {
  const result = await handler(ctx, args(json));
  return marshal(result === undefined ? {} : result);
}

export class ReliefContract extends Contract {
  constructor() {
    super(CONTRACT_NAME);
  }

  createContext(): ReliefContext {
    return new ReliefContext();
  }

  async afterTransaction(ctx: ReliefContext): Promise<void> {
    ctx.flushEvents();
  }
}

/** The transactions, by `Ledger` method name. */
export const TRANSACTIONS: Readonly<Record<string, Handler>> = {
  registerInstitution: registry.registerInstitution,
  setInstitutionActive: registry.setInstitutionActive,
  rotateInstitutionKey: registry.rotateInstitutionKey,
  pause: (ctx) => registry.setPaused(ctx, true),
  unpause: (ctx) => registry.setPaused(ctx, false),
  transferOwnership: registry.transferOwnership,
  acceptOwnership: (ctx) => registry.acceptOwnership(ctx),
  renounceOwnership: (ctx) => registry.renounceOwnership(ctx),
  institution: registry.institution,
  isPaused: (ctx) => registry.paused(ctx),
  roleMembers: registry.roleMembers,
  keyDigestAt: registry.keyDigestAt,

  createProgramme: programmes.createProgramme,
  updateProgrammeRule: programmes.updateProgrammeRule,
  programme: programmes.programme,
  programmeCount: (ctx) => programmes.programmeCount(ctx),

  appropriate: budget.appropriate,
  allocate: budget.allocate,
  returnFunds: budget.returnFunds,
  fundProgramme: budget.fundProgramme,
  defundProgramme: budget.defundProgramme,
  recordClawback: budget.recordClawback,
  regionBalance: budget.regionBalance,
  poolBalance: budget.poolBalance,
  programmePaidOut: budget.programmePaidOut,
  fundTotals: (ctx) => budget.fundTotals(ctx),
  clawedBack: budget.clawedBack,

  submitCase: cases.submitCase,
  submitCases: cases.submitCases,
  reviewCase: cases.reviewCase,
  reviewCases: cases.reviewCases,
  raiseObjection: cases.raiseObjection,
  resolveObjection: cases.resolveObjection,
  approveCase: cases.approveCase,
  rejectCase: cases.rejectCase,
  decideCases: cases.decideCases,
  suspendCase: cases.suspendCase,
  resumeCase: cases.resumeCase,
  recertifyCase: cases.recertifyCase,
  exitCase: cases.exitCase,
  setBeneficiaryKey: cases.setBeneficiaryKey,
  caseRecord: cases.caseRecord,
  caseCount: (ctx) => cases.caseCount(ctx),
  caseIdAt: cases.caseIdAt,
  isActive: cases.caseIsActive,
  casesByRegion: cases.casesByRegion,
  programmeCases: cases.programmeCases,

  executePayouts: payouts.executePayouts,
  currentPeriod: (ctx) => payouts.currentPeriod(ctx),
  checkUpkeep: payouts.checkUpkeep,
  certifyMedicalBill: events.certifyMedicalBill,
  declareDisaster: events.declareDisaster,
  payDisasterRelief: events.payDisasterRelief,
  confirmSettlements: settlement.confirmSettlements,
  reportFailure: settlement.reportFailure,
  reportFailures: settlement.reportFailures,
  payoutStatus: settlement.payoutStatus,
  casePayouts: settlement.casePayouts,
  unsettledPayouts: settlement.unsettledPayouts,

  attestReceipt: receipts.attestReceipt,
  resolveDispute: receipts.resolveDispute,
  receiptOf: receipts.receiptOf,
  disputeOf: receipts.disputeOf,
  isOverdue: receipts.isOverdue,
  openDisputeCount: (ctx) => receipts.openDisputeCount(ctx),
  openDisputes: (ctx) => receipts.openDisputes(ctx),
  unconfirmedPayouts: receipts.unconfirmedPayouts,

  anchor: anchors.anchor,
  anchorCount: (ctx) => anchors.anchorCount(ctx),
  totalRecords: (ctx) => anchors.totalRecords(ctx),
  anchorAt: anchors.anchorAt,
  verifyInclusion: anchors.verifyInclusion,

  setVoucherTerms: vouchers.setVoucherTerms,
  setProviderCategory: vouchers.setProviderCategory,
  issueVouchers: vouchers.issueVouchers,
  presentVoucher: vouchers.presentVoucher,
  redeemVoucher: vouchers.redeemVoucher,
  payRedemptions: vouchers.payRedemptions,
  confirmRedemptionSettlements: vouchers.confirmRedemptionSettlements,
  reportRedemptionFailure: vouchers.reportRedemptionFailure,
  expireVouchers: vouchers.expireVouchers,
  voucherTerms: vouchers.voucherTerms,
  providerCategory: vouchers.providerCategory,
  voucher: vouchers.voucher,
  presentation: vouchers.presentation,
  redemption: vouchers.redemption,
  voucherTotals: vouchers.voucherTotals,
  voucherEscrow: (ctx) => budget.voucherEscrow(ctx),
  // One chaincode: the voucher book is this contract itself, so there is nothing to link.
  voucherBook: async () => CONTRACT_NAME,

  keyHistory,
};

// fabric-contract-api finds transactions among the prototype's own functions (no decorators needed): one each,
// taking the context and the one JSON string.
for (const [name, handler] of Object.entries(TRANSACTIONS)) {
  Object.defineProperty(ReliefContract.prototype, name, {
    value: function (ctx: ReliefContext, json: string): Promise<string> {
      return run(ctx, json, handler);
    },
  });
}
