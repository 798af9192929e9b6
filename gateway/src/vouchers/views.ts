/**
 * What the API shows of vouchers and redemptions: chain values (the chain is the authority) and the gateway's row of
 * a redemption. No personal data: a voucher is named by its case id, a beneficiary never; providers by institution.
 */
import { z } from "zod";
import { categoriesOf } from "../../../lib/vouchers";
import type { BeneficiaryPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { casesOf } from "../beneficiary/payments";
import type { Bytes32, RedemptionRecord, VoucherRecord } from "../ledger";
import { REDEMPTION_ROW_STATUSES, type RedemptionRow } from "../store";
import { vouchersOf } from "./ledger";
import { CATEGORY_NAMES, REDEMPTION_STATUS_NAMES, VOUCHER_KIND_NAMES, VOUCHER_STATUS_NAMES } from "./names";

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export const voucherView = z
  .object({
    voucherId: z.string().openapi({ description: "the case id: one voucher per case" }),
    programmeId: z.number(),
    kind: z.string().openapi({ example: "education" }),
    categories: z.array(z.string()),
    status: z.string().openapi({ example: "active" }),
    region: z.string(),
    faceValue: z.string(),
    remaining: z.string(),
    issuedAt: z.string(),
    expiresAt: z.string(),
    redemptionCount: z.number(),
  })
  .openapi("Voucher");

export const chainRedemptionView = z
  .object({
    voucherId: z.string(),
    index: z.number(),
    status: z.string(),
    provider: z.object({ id: z.string().nullable(), name: z.string().nullable() }),
    amount: z.string(),
    redeemedAt: z.string(),
  })
  .openapi("VoucherRedemptionOnChain");

export const redemptionRowView = z
  .object({
    redemptionId: z.string(),
    voucherId: z.string(),
    index: z.number().nullable(),
    programmeId: z.number(),
    region: z.string(),
    providerId: z.string(),
    amount: z.string(),
    remaining: z.string().nullable(),
    status: z.enum(REDEMPTION_ROW_STATUSES),
    txHash: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("VoucherRedemption");

export function voucherJson(voucherId: Bytes32, v: VoucherRecord) {
  return {
    voucherId,
    programmeId: v.programmeId,
    kind: VOUCHER_KIND_NAMES[v.kind],
    categories: categoriesOf(v.categories).map((c) => CATEGORY_NAMES[c]),
    status: VOUCHER_STATUS_NAMES[v.status],
    region: String(v.region),
    faceValue: String(v.faceValue),
    remaining: String(v.remaining),
    issuedAt: iso(v.issuedAt),
    expiresAt: iso(v.expiresAt),
    redemptionCount: v.redemptionCount,
  };
}

export function redemptionRowJson(row: RedemptionRow) {
  return {
    redemptionId: row.redemptionId,
    voucherId: row.voucherId,
    index: row.redemptionIndex,
    programmeId: row.programmeId,
    region: String(row.regionCode),
    providerId: row.providerId,
    amount: String(row.amount),
    remaining: row.remaining === null ? null : String(row.remaining),
    status: row.status,
    txHash: row.txHash,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A voucher's redemptions from the chain, each with its provider's institution id and name. */
export async function chainRedemptions(ctx: GatewayContext, voucherId: Bytes32, v: VoucherRecord) {
  const chain = vouchersOf(ctx);
  const found = await Promise.all(
    Array.from({ length: v.redemptionCount }, (_, index) => chain.redemption({ voucherId, index })),
  );
  const names = new Map<string, { id: string | null; name: string | null }>();
  const out = [];
  for (const [index, r] of found.entries()) {
    if (!r) continue;
    out.push(await chainRedemptionJson(ctx, voucherId, index, r, names));
  }
  return out;
}

async function chainRedemptionJson(
  ctx: GatewayContext,
  voucherId: Bytes32,
  index: number,
  r: RedemptionRecord,
  names: Map<string, { id: string | null; name: string | null }>,
) {
  let provider = names.get(r.provider);
  if (!provider) {
    const inst = await ctx.store.getInstitutionByAccount(r.provider);
    provider = { id: inst?.id ?? null, name: inst?.name ?? null };
    names.set(r.provider, provider);
  }
  return {
    voucherId,
    index,
    status: REDEMPTION_STATUS_NAMES[r.status],
    provider,
    amount: String(r.amount),
    redeemedAt: iso(r.redeemedAt),
  };
}

/** The beneficiary's own vouchers with their redemptions. */
export async function beneficiaryVouchers(ctx: GatewayContext, who: BeneficiaryPrincipal) {
  const chain = vouchersOf(ctx);
  const out = [];
  for (const kase of await casesOf(ctx, who.pseudonym)) {
    const v = await chain.voucher(kase.caseId);
    if (!v) continue;
    out.push({ ...voucherJson(kase.caseId, v), redemptions: await chainRedemptions(ctx, kase.caseId, v) });
  }
  return out;
}
