/**
 * Beneficiaries' presentation codes (出示碼): a signed-in beneficiary asks for a one-time code for one of their own
 * vouchers and shows it (as digits or a QR code) to a provider. A code is 12 random digits, valid 10 minutes, bound to
 * the voucher and the beneficiary's pseudonym, and stored only as `digestSecret("voucher-code", code)` (as sign-in
 * codes are, beneficiary/codes.ts). A new code replaces the voucher's open one. The provider's redemption uses it
 * once (redeem.ts).
 */
import { randomInt } from "node:crypto";
import { VoucherStatus } from "../../../lib/vouchers";
import { type BeneficiaryPrincipal, actorName } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { Bytes32, VoucherRecord } from "../ledger";
import type { VoucherCodeRow } from "../store";
import { chainNow, vouchersOf } from "./ledger";

export const PRESENTATION_CODE_DIGITS = 12;
export const PRESENTATION_CODE_TTL_MS = 10 * 60_000;
/** What a QR code carries: a versioned prefix and the code. */
export const QR_PREFIX = "relief-voucher:1:";

export interface PresentationCode {
  code: string;
  qr: string;
  expiresAt: Date;
  maxAmount: bigint;
}

export function codeDigest(ctx: GatewayContext, code: string): string {
  return ctx.keyring.digestSecret("voucher-code", code);
}

/** The chain's refusal of a voucher that cannot be used now, if any (the chain checks again). */
export async function unusable(
  ctx: GatewayContext,
  voucherId: Bytes32,
  v: VoucherRecord,
): Promise<ApiError | undefined> {
  if (v.status !== VoucherStatus.Active) {
    return new ApiError("LEDGER_REJECTED", "the voucher is not active", { ledgerCode: "VoucherNotActive" });
  }
  if ((await chainNow(ctx)) >= v.expiresAt) {
    return new ApiError("LEDGER_REJECTED", `voucher ${voucherId} has expired`, { ledgerCode: "VoucherIsExpired" });
  }
  return undefined;
}

/** A voucher of the beneficiary's own cases, from the chain; 404 for anyone else's (it says nothing about them). */
export async function ownVoucher(
  ctx: GatewayContext,
  who: BeneficiaryPrincipal,
  voucherId: Bytes32,
): Promise<VoucherRecord> {
  const kase = await ctx.store.getCase(voucherId);
  const v = kase?.pseudonym === who.pseudonym ? await vouchersOf(ctx).voucher(voucherId) : null;
  if (!v) throw new ApiError("NOT_FOUND", "no such voucher");
  return v;
}

/** Issues a presentation code for the beneficiary's voucher, for at most `maxAmount` (default: all that is left). */
export async function issuePresentationCode(
  ctx: GatewayContext,
  who: BeneficiaryPrincipal,
  voucherId: Bytes32,
  maxAmount?: bigint,
): Promise<PresentationCode> {
  const v = await ownVoucher(ctx, who, voucherId);
  const refusal = await unusable(ctx, voucherId, v);
  if (refusal) throw refusal;
  const max = maxAmount ?? v.remaining;
  if (max > v.remaining) {
    throw new ApiError("LEDGER_REJECTED", "maxAmount is above what is left on the voucher", {
      ledgerCode: "VoucherAboveRemaining",
      field: "maxAmount",
    });
  }
  const code = String(randomInt(0, 10 ** 6)).padStart(6, "0") + String(randomInt(0, 10 ** 6)).padStart(6, "0");
  const expiresAt = new Date(ctx.now().getTime() + PRESENTATION_CODE_TTL_MS);
  await ctx.store.transaction(async (tx) => {
    await tx.putVoucherCode({
      codeDigest: codeDigest(ctx, code),
      voucherId,
      pseudonym: who.pseudonym,
      maxAmount: max,
      expiresAt,
    });
    await tx.appendAudit({
      actor: actorName(who),
      action: "voucher.code-issued",
      target: voucherId,
      details: { maxAmount: String(max), expiresAt: expiresAt.toISOString() },
    });
  });
  return { code, qr: QR_PREFIX + code, expiresAt, maxAmount: max };
}

/** The open code of `digest`; 404 if unknown, 409 CODE_USED if used, 410 CODE_EXPIRED if expired or replaced. */
export async function openCode(ctx: GatewayContext, digest: string): Promise<VoucherCodeRow> {
  const row = await ctx.store.getVoucherCode(digest);
  if (!row) throw new ApiError("NOT_FOUND", "no presentation with this code", { field: "code" });
  if (row.status === "used") throw new ApiError("CODE_USED", "this code has been used", { field: "code" });
  if (row.status === "replaced") {
    throw new ApiError("CODE_EXPIRED", "this code was replaced by a newer one", { field: "code" });
  }
  if (row.expiresAt.getTime() <= ctx.now().getTime()) {
    throw new ApiError("CODE_EXPIRED", "this code has expired: ask for a new one", { field: "code" });
  }
  return row;
}
