/** `InstitutionRegistry`: institutions, their role, region and SM2 key digest, and the pause. Administrator only. */
import type { Institution } from "../../lib/ledger-model";
import { isValidRegion } from "../../lib/regions";
import { Role } from "../../lib/roles";
import { callerAccount, isPaused, OWNER_KEY, PAUSED_KEY, PENDING_OWNER_KEY, requireOwner } from "./access";
import { account, big, bool, bytes32, uint, ZERO32, ZERO_ACCOUNT, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { refuse } from "./refusal";
import { institutionKey, INSTITUTION_BIGINTS, memberKey, type InstitutionDoc } from "./registry-state";

async function known(ctx: ReliefContext, acct: string): Promise<InstitutionDoc> {
  const inst = await ctx.store.get<InstitutionDoc>(institutionKey(ctx.store, acct), INSTITUTION_BIGINTS);
  if (inst === undefined || inst.role === Role.None) refuse("RegistryUnknownInstitution", { account: acct });
  return inst;
}

export async function registerInstitution(ctx: ReliefContext, input: Json): Promise<void> {
  const acct = account(input, "account");
  const role = uint(input, "role", 8);
  if (role > Role.Provider) refuse("InvalidArgument", { argument: "role", value: String(role) });
  const region = big(input, "region", 64);
  const keyDigest = bytes32(input, "keyDigest");
  await requireOwner(ctx);
  if (acct === ZERO_ACCOUNT || keyDigest === ZERO32) refuse("RegistryZeroValue");
  if (role === Role.None) refuse("RegistryInvalidRole", { role });
  if (!isValidRegion(region)) refuse("RegistryInvalidRegion", { region });
  const key = institutionKey(ctx.store, acct);
  const existing = await ctx.store.get<InstitutionDoc>(key, INSTITUTION_BIGINTS);
  if (existing !== undefined && existing.role !== Role.None) refuse("RegistryInstitutionExists", { account: acct });
  const doc: InstitutionDoc = {
    role,
    active: true,
    region,
    keyDigest,
    keyHistory: [{ validFrom: ctx.now, digest: keyDigest }],
  };
  await ctx.store.put(key, doc);
  await ctx.store.put(memberKey(ctx.store, role, acct), {});
  ctx.emit("InstitutionRegistered", { account: acct, role, region, keyDigest });
}

export async function setInstitutionActive(ctx: ReliefContext, input: Json): Promise<void> {
  const acct = account(input, "account");
  const active = bool(input, "active");
  await requireOwner(ctx);
  const inst = await known(ctx, acct);
  inst.active = active;
  await ctx.store.put(institutionKey(ctx.store, acct), inst);
  ctx.emit("InstitutionActiveSet", { account: acct, active });
}

export async function rotateInstitutionKey(ctx: ReliefContext, input: Json): Promise<void> {
  const acct = account(input, "account");
  const keyDigest = bytes32(input, "keyDigest");
  await requireOwner(ctx);
  if (keyDigest === ZERO32) refuse("RegistryZeroValue");
  const inst = await known(ctx, acct);
  const old = inst.keyDigest;
  inst.keyDigest = keyDigest;
  inst.keyHistory.push({ validFrom: ctx.now, digest: keyDigest });
  await ctx.store.put(institutionKey(ctx.store, acct), inst);
  ctx.emit("InstitutionKeyRotated", { account: acct, oldKeyDigest: old, newKeyDigest: keyDigest, validFrom: ctx.now });
}

export async function setPaused(ctx: ReliefContext, paused: boolean): Promise<void> {
  const by = await requireOwner(ctx);
  await ctx.store.put(PAUSED_KEY, paused);
  ctx.emit(paused ? "LedgerPaused" : "LedgerUnpaused", { by });
}

/** Ownable2Step: the owner names a successor, who must accept. */
export async function transferOwnership(ctx: ReliefContext, input: Json): Promise<void> {
  const newOwner = account(input, "newOwner");
  const owner = await requireOwner(ctx);
  await ctx.store.put(PENDING_OWNER_KEY, newOwner);
  ctx.emit("OwnershipTransferStarted", { previousOwner: owner, newOwner });
}

export async function acceptOwnership(ctx: ReliefContext): Promise<void> {
  const caller = callerAccount(ctx);
  const pending = await ctx.store.get<string>(PENDING_OWNER_KEY);
  if (pending !== caller) refuse("OwnableUnauthorizedAccount", { account: caller });
  const previous = (await ctx.store.get<string>(OWNER_KEY)) ?? ZERO_ACCOUNT;
  await ctx.store.del(PENDING_OWNER_KEY);
  await ctx.store.put(OWNER_KEY, caller);
  ctx.emit("OwnershipTransferred", { previousOwner: previous, newOwner: caller });
}

export async function renounceOwnership(ctx: ReliefContext): Promise<void> {
  await requireOwner(ctx);
  refuse("RegistryRenounceDisabled");
}

export async function institution(ctx: ReliefContext, input: Json): Promise<Institution> {
  const acct = account(input, "account");
  const inst = await ctx.store.get<InstitutionDoc>(institutionKey(ctx.store, acct), INSTITUTION_BIGINTS);
  if (inst === undefined) return { role: Role.None, active: false, region: 0n, keyDigest: ZERO32 };
  return { role: inst.role, active: inst.active, region: inst.region, keyDigest: inst.keyDigest };
}

export async function paused(ctx: ReliefContext): Promise<boolean> {
  return isPaused(ctx);
}

/** The accounts holding `role`, in account order (the EVM lists them in registration order). */
export async function roleMembers(ctx: ReliefContext, input: Json): Promise<string[]> {
  const role = uint(input, "role", 8);
  const out: string[] = [];
  for await (const kv of ctx.store.scan("member", role)) out.push(kv.attributes[1]);
  return out;
}

/** The key digest current for `account` at `timestamp` (zero before registration). */
export async function keyDigestAt(ctx: ReliefContext, input: Json): Promise<string> {
  const acct = account(input, "account");
  const timestamp = uint(input, "timestamp", 64);
  const inst = await ctx.store.get<InstitutionDoc>(institutionKey(ctx.store, acct), INSTITUTION_BIGINTS);
  for (const rec of [...(inst?.keyHistory ?? [])].reverse()) if (rec.validFrom <= timestamp) return rec.digest;
  return ZERO32;
}
