/**
 * Who may act: the one place where the chaincode checks a caller, as `InstitutionRegistry.authorize` and OpenZeppelin's
 * `onlyOwner` do on the EVM.
 *
 * The caller is the transaction's client identity. Its account is derived from its MSP ID and public key
 * (`lib/fabric-identity.ts`); the registry's record for that account gives the role, active flag and region, and
 * the certificate's `role` and `region` attributes must say the same (a certificate issued for another role or
 * region never acts, even for a registered key). The administrator is the first identity whose certificate carries
 * `role=admin` to call an administrator function (the EVM deployer's counterpart), until it hands ownership on.
 */
import { ADMIN_ROLE_ATTRIBUTE, fabricAccount, roleFromAttribute } from "../../lib/fabric-identity";
import { contains } from "../../lib/regions";
import { Role } from "../../lib/roles";
import type { ReliefContext } from "./context";
import { refuse } from "./refusal";
import { institutionKey, type InstitutionDoc, INSTITUTION_BIGINTS } from "./registry-state";

export const PAUSED_KEY = "paused";
export const OWNER_KEY = "owner";
export const PENDING_OWNER_KEY = "pendingOwner";

export interface Caller {
  account: string;
  mspId: string;
  role: Role;
  region: bigint;
}

/** The calling identity's account. */
export function callerAccount(ctx: ReliefContext): string {
  return fabricAccount(ctx.clientIdentity.getMSPID(), ctx.clientIdentity.getIDBytes());
}

export async function isPaused(ctx: ReliefContext): Promise<boolean> {
  return (await ctx.store.get<boolean>(PAUSED_KEY)) === true;
}

/** For permissionless entry points: only the pause applies. */
export async function requireNotPaused(ctx: ReliefContext): Promise<void> {
  if (await isPaused(ctx)) refuse("LedgerPausedError");
}

/** `InstitutionRegistry.authorize`: active institution with one of `roles` whose region contains `region`. */
export async function authorize(ctx: ReliefContext, roles: readonly Role[], region: bigint): Promise<Caller> {
  const caller = await authorizeRole(ctx, roles);
  if (!contains(caller.region, region)) refuse("LedgerUnauthorizedRegion", { account: caller.account, region });
  return caller;
}

/**
 * As {@link authorize} without the region: for a caller whose region is checked against the target with a more
 * specific error (a provider redeeming a voucher outside its region is `VoucherOutsideRegion`).
 */
export async function authorizeRole(ctx: ReliefContext, roles: readonly Role[]): Promise<Caller> {
  await requireNotPaused(ctx);
  const account = callerAccount(ctx);
  const mask = roles.reduce((m, r) => m | (1 << r), 0);
  const inst = await ctx.store.get<InstitutionDoc>(institutionKey(ctx.store, account), INSTITUTION_BIGINTS);
  if (inst === undefined || inst.role === Role.None || !inst.active || (mask & (1 << inst.role)) === 0) {
    refuse("LedgerUnauthorizedRole", { account, roles: mask });
  }
  const id = ctx.clientIdentity;
  if (
    roleFromAttribute(id.getAttributeValue("role")) !== inst.role ||
    id.getAttributeValue("region") !== inst.region.toString()
  ) {
    refuse("LedgerUnauthorizedRole", { account, roles: mask });
  }
  return { account, mspId: id.getMSPID(), role: inst.role, region: inst.region };
}

/** OpenZeppelin `onlyOwner`; the first `role=admin` identity to ask becomes the owner. */
export async function requireOwner(ctx: ReliefContext): Promise<string> {
  const account = callerAccount(ctx);
  const owner = await ctx.store.get<string>(OWNER_KEY);
  if (owner === undefined) {
    if (ctx.clientIdentity.getAttributeValue("role") !== ADMIN_ROLE_ATTRIBUTE) {
      refuse("OwnableUnauthorizedAccount", { account });
    }
    await ctx.store.put(OWNER_KEY, account);
    ctx.emit("OwnershipTransferred", { previousOwner: `0x${"0".repeat(40)}`, newOwner: account });
    return account;
  }
  if (owner !== account) refuse("OwnableUnauthorizedAccount", { account });
  return account;
}
