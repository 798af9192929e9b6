/**
 * Vouchers in world state (`VoucherBook`'s storage) and the parsers of their arguments. Keys: `voucherTerms`
 * [programme], `providerCategory` [account], `voucher` [voucherId], `voucher~programme` [programme, voucherId],
 * `presentation` [voucherId], `redemption` [voucherId, index], `voucherPaid` [programme].
 */
import type {
  PresentationRecord,
  RedemptionKey,
  RedemptionRecord,
  VoucherRecord,
  VoucherTerms,
} from "../../lib/ledger-model";
import { ProviderCategory, VoucherKind } from "../../lib/vouchers";
import { bytes32, uint, ZERO32, ZERO_ACCOUNT, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { invalidArgument, refuse } from "./refusal";
import { pad } from "./store";

/** The `VoucherRecord` the ledgers answer with, and what has been redeemed of it (for the programme's totals). */
export interface VoucherDoc extends VoucherRecord {
  redeemed: bigint;
}

const VOUCHER_BIGINTS = ["region", "faceValue", "remaining", "redeemed"] as const;

export const NO_TERMS: VoucherTerms = { kind: VoucherKind.None, categories: 0, validity: 0 };
export const NO_PRESENTATION: PresentationRecord = {
  provider: ZERO_ACCOUNT,
  maxAmount: 0n,
  expiresAt: 0,
  presentationDigest: ZERO32,
};

export const termsKey = (ctx: ReliefContext, programmeId: number) =>
  ctx.store.key("voucherTerms", pad(programmeId, 10));
export const categoryKey = (ctx: ReliefContext, account: string) => ctx.store.key("providerCategory", account);
export const voucherKey = (ctx: ReliefContext, voucherId: string) => ctx.store.key("voucher", voucherId);
export const programmeVoucherKey = (ctx: ReliefContext, programmeId: number, voucherId: string) =>
  ctx.store.key("voucher~programme", pad(programmeId, 10), voucherId);
export const presentationKey = (ctx: ReliefContext, voucherId: string) => ctx.store.key("presentation", voucherId);
export const redemptionKey = (ctx: ReliefContext, k: RedemptionKey) =>
  ctx.store.key("redemption", k.voucherId, pad(k.index, 5));
export const voucherPaidKey = (ctx: ReliefContext, programmeId: number) =>
  ctx.store.key("voucherPaid", pad(programmeId, 10));

export async function loadTerms(ctx: ReliefContext, programmeId: number): Promise<VoucherTerms> {
  return (await ctx.store.get<VoucherTerms>(termsKey(ctx, programmeId))) ?? { ...NO_TERMS };
}

export async function categoryOf(ctx: ReliefContext, account: string): Promise<ProviderCategory> {
  return (await ctx.store.get<ProviderCategory>(categoryKey(ctx, account))) ?? ProviderCategory.None;
}

export async function loadVoucher(ctx: ReliefContext, voucherId: string): Promise<VoucherDoc | undefined> {
  return ctx.store.get<VoucherDoc>(voucherKey(ctx, voucherId), VOUCHER_BIGINTS);
}

/** The voucher, or the refusal `VoucherUnknown`. */
export async function knownVoucher(ctx: ReliefContext, voucherId: string): Promise<VoucherDoc> {
  const v = await loadVoucher(ctx, voucherId);
  if (v === undefined) refuse("VoucherUnknown", { voucherId });
  return v;
}

export async function saveVoucher(ctx: ReliefContext, voucherId: string, v: VoucherDoc): Promise<void> {
  await ctx.store.put(voucherKey(ctx, voucherId), v);
}

export async function loadPresentation(ctx: ReliefContext, voucherId: string): Promise<PresentationRecord> {
  return (
    (await ctx.store.get<PresentationRecord>(presentationKey(ctx, voucherId), ["maxAmount"])) ?? {
      ...NO_PRESENTATION,
    }
  );
}

export async function loadRedemption(ctx: ReliefContext, k: RedemptionKey): Promise<RedemptionRecord | undefined> {
  return ctx.store.get<RedemptionRecord>(redemptionKey(ctx, k), ["amount"]);
}

/** A redemption and its voucher, or the refusal `VoucherUnknownRedemption`. */
export async function knownRedemption(
  ctx: ReliefContext,
  k: RedemptionKey,
): Promise<{ voucher: VoucherDoc; redemption: RedemptionRecord }> {
  const voucher = await loadVoucher(ctx, k.voucherId);
  const redemption = voucher === undefined ? undefined : await loadRedemption(ctx, k);
  if (voucher === undefined || redemption === undefined) refuse("VoucherUnknownRedemption", { ...k });
  return { voucher, redemption };
}

// ---- Arguments -----------------------------------------------------------------------------------------------

export function parseTerms(input: Json): VoucherTerms {
  const kind = uint(input, "kind", 8);
  if (kind > VoucherKind.CareService) invalidArgument("kind", kind);
  return { kind, categories: uint(input, "categories", 16), validity: uint(input, "validity", 32) };
}

export function parseCategory(input: Json, field: string): ProviderCategory {
  const category = uint(input, field, 8);
  if (category > ProviderCategory.Pharmacy) invalidArgument(field, category);
  return category;
}

export function parseRedemptionKey(input: Json): RedemptionKey {
  return { voucherId: bytes32(input, "voucherId"), index: uint(input, "index", 16) };
}

export function parseRedemptionKeys(input: Json, field: string): RedemptionKey[] {
  const v = input[field];
  if (!Array.isArray(v)) return invalidArgument(field, String(v));
  return v.map((k: unknown, i) => {
    if (k === null || typeof k !== "object" || Array.isArray(k)) return invalidArgument(`${field}.${i}`, String(k));
    return parseRedemptionKey(k as Json);
  });
}
