/**
 * Beneficiary sessions: `rlb_<32 random bytes>`, stored as a keyed digest with an expiry. A session is opened by a
 * one-time code (beneficiary/sign-in.ts) and names the beneficiary only by pseudonym.
 */
import { randomBytes } from "node:crypto";
import type { GatewayContext } from "../context";
import type { BeneficiaryPrincipal } from "./principal";

const PREFIX = "rlb_";
const TOKEN = /^rlb_[A-Za-z0-9_-]{43}$/;

export async function openSession(ctx: GatewayContext, pseudonym: string): Promise<{ token: string; expiresAt: Date }> {
  const token = PREFIX + randomBytes(32).toString("base64url");
  const expiresAt = new Date(ctx.now().getTime() + ctx.config.beneficiary.sessionTtlMs);
  await ctx.store.putBeneficiarySession({
    tokenDigest: ctx.keyring.digestSecret("session", token),
    pseudonym,
    expiresAt,
  });
  return { token, expiresAt };
}

export async function verifySession(ctx: GatewayContext, token: string): Promise<BeneficiaryPrincipal | undefined> {
  if (!TOKEN.test(token)) return undefined;
  const row = await ctx.store.getBeneficiarySession(ctx.keyring.digestSecret("session", token));
  if (!row || row.expiresAt.getTime() <= ctx.now().getTime()) return undefined;
  return { kind: "beneficiary", pseudonym: row.pseudonym };
}

export async function closeSession(ctx: GatewayContext, token: string): Promise<void> {
  if (TOKEN.test(token)) await ctx.store.deleteBeneficiarySession(ctx.keyring.digestSecret("session", token));
}
