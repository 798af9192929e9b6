/**
 * The Fabric adapter's voucher replies (chaincode/src/vouchers.ts) decoded to the `VoucherLedger` types, shaped as
 * the EVM adapter's (evm-views.ts): `null` for a voucher or redemption that does not exist, accounts checksummed.
 */
import type {
  Bytes32,
  PresentationRecord,
  RedemptionKey,
  RedemptionRecord,
  TxResult,
  VoucherIssueOutcome,
  VoucherRecord,
  VoucherTerms,
  VoucherTotals,
} from "./ledger";
import type { SkipReason } from "../../../lib/roles";
import type { RedemptionStatus, VoucherKind, VoucherStatus } from "../../../lib/vouchers";
import { Fields } from "./fabric-codec";

/** A redemption key as the chaincode takes it. */
export const redemptionArg = (k: RedemptionKey) => ({ voucherId: k.voucherId, index: k.index });

export function voucherTermsOf(reply: unknown): VoucherTerms {
  const f = Fields.of(reply, "voucherTerms");
  return { kind: f.num("kind") as VoucherKind, categories: f.num("categories"), validity: f.num("validity") };
}

export function voucherOf(reply: unknown): VoucherRecord | null {
  if (reply === null) return null;
  const f = Fields.of(reply, "voucher");
  if (f.num("status") === 0) return null;
  return {
    status: f.num("status") as VoucherStatus,
    kind: f.num("kind") as VoucherKind,
    categories: f.num("categories"),
    programmeId: f.num("programmeId"),
    region: f.big("region"),
    faceValue: f.big("faceValue"),
    remaining: f.big("remaining"),
    issuedAt: f.num("issuedAt"),
    expiresAt: f.num("expiresAt"),
    redemptionCount: f.num("redemptionCount"),
  };
}

export function presentationOf(reply: unknown): PresentationRecord {
  const f = Fields.of(reply, "presentation");
  return {
    provider: f.account("provider"),
    maxAmount: f.big("maxAmount"),
    expiresAt: f.num("expiresAt"),
    presentationDigest: f.hex("presentationDigest"),
  };
}

export function redemptionOf(reply: unknown): RedemptionRecord | null {
  if (reply === null) return null;
  const f = Fields.of(reply, "redemption");
  if (f.num("status") === 0) return null;
  return {
    status: f.num("status") as RedemptionStatus,
    provider: f.account("provider"),
    amount: f.big("amount"),
    redeemedAt: f.num("redeemedAt"),
    invoiceDigest: f.hex("invoiceDigest"),
  };
}

export function voucherTotalsOf(reply: unknown): VoucherTotals {
  const f = Fields.of(reply, "voucherTotals");
  return { issued: f.big("issued"), redeemed: f.big("redeemed"), expired: f.big("expired"), paid: f.big("paid") };
}

export interface IssueResult {
  outcomes: VoucherIssueOutcome[];
  issued: number;
  total: bigint;
  transactions: TxResult[];
}

/** Adds one committed chunk of an issuing run: an outcome per listed case, in order. */
export function addIssues(result: IssueResult, chunk: readonly Bytes32[], tx: TxResult, reply: unknown): void {
  const f = Fields.of(reply, "issueVouchers");
  const list = f.raw("outcomes");
  if (!Array.isArray(list)) throw new Error("issueVouchers: the chaincode's outcomes are not a list");
  const outcomes = list.map((o): VoucherIssueOutcome => {
    const g = Fields.of(o, "voucher issue outcome");
    const caseId = g.hex("caseId");
    const status = g.raw("status");
    if (status === "issued")
      return { caseId, status: "issued", faceValue: g.big("faceValue"), expiresAt: g.num("expiresAt") };
    if (status === "skipped") return { caseId, status: "skipped", reason: g.num("reason") as SkipReason };
    throw new Error(`voucher issue outcome of ${caseId}: unknown status ${String(status)}`);
  });
  if (outcomes.length !== chunk.length || outcomes.some((o, i) => o.caseId !== chunk[i].toLowerCase())) {
    throw new Error(`issueVouchers transaction ${tx.txHash}: its outcomes do not match the ${chunk.length} cases sent`);
  }
  result.outcomes.push(...outcomes);
  result.issued += f.num("issued");
  result.total += f.big("total");
  result.transactions.push(tx);
}
