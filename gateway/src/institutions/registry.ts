/**
 * Registering the institutions the gateway acts for: a chain key (saved first), the account registered in
 * `InstitutionRegistry` with its role, region and SM2 key digest, a key holder for the key hierarchy, the directory row
 * and an API key. Each step is skipped when it is done already, so a registration interrupted by a crash is finished
 * by running it again.
 */
import { Wallet } from "ethers";
import { EvmLedger, LedgerConfigError } from "../ledger";
import { isValidRegion } from "../../../lib/regions";
import { Role } from "../../../lib/roles";
import { type IssuedKey, issueApiKey } from "../auth";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { keyDigest } from "../crypto";
import type { InstitutionRow } from "../store";

export interface InstitutionInput {
  id: string;
  name: string;
  role: Role;
  region: bigint;
}

export const INSTITUTION_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const RESERVED = new Set<string>(Object.values(GATEWAY_ACTORS));

/** On a development chain (anvil, chain id 31337) new accounts are given gas money; consortium chains run gas-free. */
async function fundOnDevChain(ctx: GatewayContext, account: string): Promise<void> {
  if (ctx.deployment.chainId !== 31337n) return;
  await fetch(ctx.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "anvil_setBalance",
      params: [account, "0x56bc75e2d63100000"],
    }),
  });
}

/** Ensures the actor has a chain key loaded in the ledger and gas money (on a dev chain); returns its account. */
export async function ensureChainActor(ctx: GatewayContext, id: string): Promise<string> {
  if (!(ctx.ledger instanceof EvmLedger)) {
    // On Fabric an institution's identity is enrolled with the CA and configured; the gateway cannot mint one.
    if (ctx.ledger.actors().includes(id)) return ctx.ledger.accountOf(id);
    throw new LedgerConfigError(`no Fabric identity for ${id}: set RELIEF_FABRIC_CERT_${id.toUpperCase()} and _KEY_`);
  }
  const key = ctx.chainKeys.getOrCreate(id);
  if (!ctx.ledger.actors().includes(id)) ctx.ledger.addActor(id, key);
  const account = new Wallet(key).address;
  await fundOnDevChain(ctx, account);
  return account;
}

export async function registerInstitution(
  ctx: GatewayContext,
  input: InstitutionInput,
  options: { issueKey?: boolean; allowReserved?: boolean } = {},
): Promise<{ institution: InstitutionRow; apiKey?: IssuedKey }> {
  if (!INSTITUTION_ID.test(input.id)) throw new ApiError("VALIDATION_FAILED", "id: invalid", { field: "id" });
  if (RESERVED.has(input.id) && !options.allowReserved) {
    throw new ApiError("VALIDATION_FAILED", "id: reserved for the gateway", { field: "id" });
  }
  if (!isValidRegion(input.region)) throw new ApiError("VALIDATION_FAILED", "region: invalid", { field: "region" });
  const existing = await ctx.store.getInstitution(input.id);
  if (existing) throw new ApiError("CONFLICT", "an institution with this id exists");

  const account = await ensureChainActor(ctx, input.id);
  // The anchorer's on-chain key digest is the receipt-signing key's, so anyone can check a receipt's signer on chain.
  const digest =
    input.id === GATEWAY_ACTORS.anchorer
      ? keyDigest(ctx.keyring.signingPublicKeyPem)
      : (await ctx.keyring.hasHolder(input.id))
        ? keyDigest((await ctx.store.getHolderKey(input.id))!.publicKeyPem)
        : (await ctx.keyring.createHolder(input.id)).keyDigest;

  const onChain = await ctx.ledger.institution(account);
  if (onChain.role === Role.None) {
    await ctx.ledger.registerInstitution(GATEWAY_ACTORS.admin, {
      account,
      role: input.role,
      region: input.region,
      keyDigest: digest,
    });
  } else if (onChain.role !== input.role || onChain.region !== input.region) {
    throw new ApiError("CONFLICT", "the chain has this institution's account with another role or region");
  }
  const institution = await ctx.store.putInstitution({
    id: input.id,
    name: input.name,
    role: input.role,
    regionCode: Number(input.region),
    account,
  });
  await ctx.store.appendAudit({
    actor: GATEWAY_ACTORS.admin,
    action: "institution.registered",
    target: input.id,
    details: { role: input.role, region: String(input.region), account },
  });
  const apiKey =
    options.issueKey === false ? undefined : await issueApiKey(ctx.store, ctx.keyring, input.id, "initial");
  return { institution, apiKey };
}

/** Rotates an institution's SM2 holder key: the KEK is re-wrapped, records are not touched; the chain gets the new digest. */
export async function rotateHolderKey(ctx: GatewayContext, id: string): Promise<{ keyDigest: string }> {
  const inst = await ctx.store.getInstitution(id);
  if (!inst) throw new ApiError("NOT_FOUND", "no such institution");
  const rotated = await ctx.keyring.rotateHolder(id);
  await ctx.ledger.rotateInstitutionKey(GATEWAY_ACTORS.admin, inst.account, rotated.keyDigest);
  await ctx.store.appendAudit({
    actor: GATEWAY_ACTORS.admin,
    action: "holder-key.rotated",
    target: id,
    details: { keyDigest: rotated.keyDigest },
  });
  return { keyDigest: rotated.keyDigest };
}
