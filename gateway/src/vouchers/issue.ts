/**
 * Issuing and expiring vouchers. Issuing (發券) asks the chain to issue the listed approved cases of a voucher
 * programme their vouchers; the chain decides case by case (IVoucherBook.issueVouchers: anyone may call, the
 * conditions authorise) and skips the rest with a reason, so repeating a run issues nothing twice (`AlreadyPaid`).
 * Expiring (到期) returns the unused value of vouchers past their expiry to their pools. Finance bureaus call both
 * through the API; the keeper (keeper.ts) calls them on its own.
 */
import { ProgrammeKind, SkipReason } from "../../../lib/roles";
import { VoucherStatus } from "../../../lib/vouchers";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { ActorId, Bytes32, ProgrammeRule } from "../ledger";
import type { NewVoucherRow, VoucherRowStatus } from "../store";
import { chainNow, vouchersOf } from "./ledger";

/** Cases per issuing transaction. */
export const ISSUE_CHUNK = 200;
/** Vouchers per expiring transaction. */
export const EXPIRE_CHUNK = 200;
const PAGE = 1000;

export type IssueOutcomeJson =
  | { caseId: string; status: "issued"; faceValue: string; expiresAt: string }
  | { caseId: string; status: "skipped"; reason: string };

export interface IssueResult {
  programmeId: number;
  issued: number;
  total: string;
  outcomes: IssueOutcomeJson[];
  transactions: number;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The programme's rule, refusing a programme that is not of kind Voucher. */
export async function voucherProgramme(ctx: GatewayContext, programmeId: number): Promise<ProgrammeRule> {
  const rule = await ctx.ledger.programme(programmeId);
  if (rule.kind !== ProgrammeKind.Voucher) {
    throw new ApiError("LEDGER_REJECTED", "this programme does not issue vouchers", {
      ledgerCode: "VoucherNotVoucherProgramme",
      field: "programmeId",
    });
  }
  return rule;
}

/** Every indexed approved case of the programme that has no voucher row yet. */
export async function casesToIssue(ctx: GatewayContext, programmeId: number): Promise<Bytes32[]> {
  const ids: Bytes32[] = [];
  for (;;) {
    const page = await ctx.store.listCasesWithoutVoucher({
      programmeId,
      afterCaseId: ids.length ? ids[ids.length - 1] : undefined,
      limit: PAGE,
    });
    ids.push(...page.map((c) => c.caseId));
    if (page.length < PAGE) return ids;
  }
}

/** Issues the listed cases' vouchers as `actor` and records the issued ones. */
export async function issueVouchers(
  ctx: GatewayContext,
  actor: ActorId,
  programmeId: number,
  rule: ProgrammeRule,
  caseIds: readonly Bytes32[],
): Promise<IssueResult> {
  if (caseIds.length === 0) return { programmeId, issued: 0, total: "0", outcomes: [], transactions: 0 };
  const run = await vouchersOf(ctx).issueVouchers(actor, caseIds, ISSUE_CHUNK);
  const rows: NewVoucherRow[] = [];
  const outcomes = run.outcomes.map((o, i): IssueOutcomeJson => {
    if (o.status === "skipped") return { caseId: o.caseId, status: "skipped", reason: SkipReason[o.reason] };
    const tx = run.transactions[Math.min(Math.floor(i / ISSUE_CHUNK), run.transactions.length - 1)];
    rows.push({
      voucherId: o.caseId,
      programmeId,
      regionCode: Number(rule.region),
      faceValue: o.faceValue,
      expiresAt: o.expiresAt,
      txHash: tx.txHash,
      blockNumber: tx.blockNumber,
    });
    return { caseId: o.caseId, status: "issued", faceValue: String(o.faceValue), expiresAt: iso(o.expiresAt) };
  });
  // Vouchers issued by an earlier run the gateway did not hear of are skipped `AlreadyPaid`: index them too.
  for (const o of run.outcomes) {
    if (o.status !== "skipped" || o.reason !== SkipReason.AlreadyPaid) continue;
    if (await ctx.store.getVoucherRow(o.caseId)) continue;
    const v = await vouchersOf(ctx).voucher(o.caseId);
    if (v) {
      rows.push({
        voucherId: o.caseId,
        programmeId: v.programmeId,
        regionCode: Number(v.region),
        faceValue: v.faceValue,
        expiresAt: v.expiresAt,
        txHash: `0x${"0".repeat(64)}`,
        blockNumber: 0,
      });
    }
  }
  await ctx.store.transaction(async (tx) => {
    await tx.putVouchers(rows);
    await tx.appendAudit({
      actor,
      action: "vouchers.issued",
      target: String(programmeId),
      details: {
        listed: caseIds.length,
        issued: run.issued,
        total: String(run.total),
        transactions: run.transactions.map((t) => t.txHash).slice(0, 20),
      },
    });
  });
  ctx.log.info({ programmeId, listed: caseIds.length, issued: run.issued }, "vouchers issued");
  return { programmeId, issued: run.issued, total: String(run.total), outcomes, transactions: run.transactions.length };
}

const ROW_STATUS: Record<VoucherStatus, VoucherRowStatus | undefined> = {
  [VoucherStatus.None]: undefined,
  [VoucherStatus.Active]: "active",
  [VoucherStatus.Exhausted]: "exhausted",
  [VoucherStatus.Expired]: "expired",
};

/** Expires the active vouchers (in `withinRegion`, of `programmeId` if given) whose expiry has passed. */
export async function expireDue(
  ctx: GatewayContext,
  actor: ActorId,
  filter: { programmeId?: number; withinRegion?: number } = {},
): Promise<{ expired: number; returned: string; transactions: number }> {
  const now = await chainNow(ctx);
  const due = await ctx.store.listVoucherRows({ ...filter, status: "active", expiresBy: now, limit: PAGE });
  let expired = 0;
  let returned = 0n;
  let transactions = 0;
  for (let i = 0; i < due.length; i += EXPIRE_CHUNK) {
    const ids = due.slice(i, i + EXPIRE_CHUNK).map((r) => r.voucherId);
    const sent = await vouchersOf(ctx).expireVouchers(actor, ids);
    expired += sent.expired;
    returned += sent.returned;
    transactions++;
    const states = await Promise.all(ids.map((id) => vouchersOf(ctx).voucher(id)));
    await ctx.store.transaction(async (tx) => {
      for (let j = 0; j < ids.length; j++) {
        const status = states[j] ? ROW_STATUS[states[j]!.status] : undefined;
        if (status && status !== "active") await tx.setVoucherStatus(ids[j], status);
      }
      if (sent.expired > 0) {
        await tx.appendAudit({
          actor,
          action: "vouchers.expired",
          target: filter.programmeId === undefined ? undefined : String(filter.programmeId),
          details: { expired: sent.expired, returned: String(sent.returned), txHash: sent.txHash },
        });
      }
    });
  }
  return { expired, returned: String(returned), transactions };
}
