/**
 * Assistance vouchers (救助券): the enums of `IVoucherBook` (contracts/interfaces/IVoucherBook.sol), in its order,
 * shared by the gateway and the chaincode. The rules themselves live in each ledger (contracts/vouchers/,
 * chaincode/src/vouchers.ts); the data shapes in lib/ledger-model.ts.
 */

/** What a voucher pays for. */
export enum VoucherKind {
  None = 0,
  Education = 1,
  Medical = 2,
  CareService = 3,
}

/** A provider's category; a voucher allows a set of them as a bit mask (`1 << category`). */
export enum ProviderCategory {
  None = 0,
  School = 1,
  Hospital = 2,
  CareAgency = 3,
  Pharmacy = 4,
}

export enum VoucherStatus {
  None = 0,
  Active = 1,
  Exhausted = 2,
  Expired = 3,
}

export enum RedemptionStatus {
  None = 0,
  Redeemed = 1,
  Paid = 2,
  Settled = 3,
}

/** `IVoucherFunding.VoucherFundsMove`: how money moves between a pool, the voucher escrow and paid out. */
export enum VoucherFundsMove {
  Issue = 0,
  Expire = 1,
  Pay = 2,
  Fail = 3,
}

/** The bit mask of every known category. */
export const ALL_CATEGORIES =
  (1 << ProviderCategory.School) |
  (1 << ProviderCategory.Hospital) |
  (1 << ProviderCategory.CareAgency) |
  (1 << ProviderCategory.Pharmacy);

/** Validity bounds of a voucher programme's terms, in seconds. */
export const MIN_VOUCHER_VALIDITY = 86_400;
export const MAX_VOUCHER_VALIDITY = 3 * 366 * 86_400;
/** How far ahead a presentation may run. */
export const MAX_PRESENTATION_SECONDS = 86_400;

export function categoryMask(categories: readonly ProviderCategory[]): number {
  return categories.reduce((mask, c) => mask | (1 << c), 0);
}

export function categoriesOf(mask: number): ProviderCategory[] {
  return [
    ProviderCategory.School,
    ProviderCategory.Hospital,
    ProviderCategory.CareAgency,
    ProviderCategory.Pharmacy,
  ].filter((c) => (mask & (1 << c)) !== 0);
}
