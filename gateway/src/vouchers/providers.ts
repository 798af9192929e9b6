/**
 * Providers (定點服務機構): schools, hospitals, care agencies and pharmacies registered as institutions of role
 * `provider`, each with one category that the administrator sets on chain. Which vouchers a provider may redeem: a
 * category the voucher allows, inside the voucher's region, while the voucher is active and unexpired.
 */
import { contains } from "../../../lib/regions";
import { ProviderCategory } from "../../../lib/vouchers";
import type { InstitutionPrincipal } from "../auth";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { Bytes32, VoucherRecord } from "../ledger";
import type { InstitutionRow } from "../store";
import { unusable } from "./codes";
import { vouchersOf } from "./ledger";
import { CATEGORY_NAMES, type CategoryName, categoryOf } from "./names";

/** Sets a registered provider's category on chain (the administrator). */
export async function setProviderCategory(
  ctx: GatewayContext,
  institution: InstitutionRow,
  category: CategoryName,
): Promise<void> {
  const tx = await vouchersOf(ctx).setProviderCategory(GATEWAY_ACTORS.admin, institution.account, categoryOf(category));
  await ctx.store.appendAudit({
    actor: GATEWAY_ACTORS.admin,
    action: "provider.category-set",
    target: institution.id,
    details: { category, txHash: tx.txHash },
  });
}

export async function categoryName(ctx: GatewayContext, account: string): Promise<string> {
  return CATEGORY_NAMES[await vouchersOf(ctx).providerCategory(account)];
}

/** Why this provider may not redeem the voucher now, if it may not (the chain checks the same again). */
export async function providerRefusal(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  voucherId: Bytes32,
  v: VoucherRecord,
): Promise<ApiError | undefined> {
  const refusal = await unusable(ctx, voucherId, v);
  if (refusal) return refusal;
  const category = await vouchersOf(ctx).providerCategory(p.account);
  if (category === ProviderCategory.None || (v.categories & (1 << category)) === 0) {
    return new ApiError("LEDGER_REJECTED", "this voucher is not for providers of your category", {
      ledgerCode: "VoucherWrongCategory",
      field: "code",
    });
  }
  if (!contains(v.region, p.region)) {
    return new ApiError("OUTSIDE_REGION", "your institution is outside the voucher's region", {
      ledgerCode: "VoucherOutsideRegion",
      field: "code",
    });
  }
  return undefined;
}
