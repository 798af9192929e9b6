/** The API's names of the voucher enums (lib/vouchers.ts), indexed by their numbers. */
import { ProviderCategory, RedemptionStatus, VoucherKind, VoucherStatus } from "../../../lib/vouchers";

export const VOUCHER_KIND_NAMES = ["none", "education", "medical", "care-service"] as const satisfies Record<
  VoucherKind,
  string
>;
export const CATEGORY_NAMES = ["none", "school", "hospital", "care-agency", "pharmacy"] as const satisfies Record<
  ProviderCategory,
  string
>;
export const VOUCHER_STATUS_NAMES = ["none", "active", "exhausted", "expired"] as const satisfies Record<
  VoucherStatus,
  string
>;
export const REDEMPTION_STATUS_NAMES = ["none", "redeemed", "paid", "settled"] as const satisfies Record<
  RedemptionStatus,
  string
>;

/** Names a client may send (not "none"). */
export const KIND_INPUTS = ["education", "medical", "care-service"] as const;
export const CATEGORY_INPUTS = ["school", "hospital", "care-agency", "pharmacy"] as const;

export type KindName = (typeof KIND_INPUTS)[number];
export type CategoryName = (typeof CATEGORY_INPUTS)[number];

export function kindOf(name: KindName): VoucherKind {
  return VOUCHER_KIND_NAMES.indexOf(name) as VoucherKind;
}

export function categoryOf(name: CategoryName): ProviderCategory {
  return CATEGORY_NAMES.indexOf(name) as ProviderCategory;
}
