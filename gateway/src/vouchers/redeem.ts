/**
 * A provider redeems a presented voucher (核銷): `POST /v1/voucher-redemptions {code, amount, invoiceNumber}` with an
 * `Idempotency-Key`. The gateway records the beneficiary's presentation on chain (its anchorer, naming this provider,
 * for this amount), then the provider's redemption, and uses the code.
 *
 * Exactly once, even with concurrent requests or a crash between the two chain transactions:
 * 1. Everything is checked first (code open and unexpired, voucher active, category, region, amounts); a refusal
 *    stores nothing.
 * 2. One store transaction marks the code used (a conditional `open → used` update: of concurrent requests with one
 *    code, one wins; the others get 409 CODE_USED) and inserts the pending redemption row, whose id is a keyed digest
 *    of the caller's scoped Idempotency-Key (and whose `code_digest` is unique).
 * 3. The chain steps. The invoice digest is keyed with the redemption id, so the chain's redemptions show whether this
 *    one happened: a retry with the same key (after a crash, a timeout, or a lost answer) finds the pending row and
 *    resumes: if the chain holds a redemption with our invoice digest, it is recorded and nothing is sent; else if
 *    the open presentation is ours it only redeems; else it presents and redeems. Sending either again is safe: a
 *    presentation only replaces the open one, and a redemption consumes the presentation, so the chain refuses a
 *    second redemption of it (VoucherNoPresentation) — two redeems racing (a dead process's transaction landing late,
 *    and the retry's) redeem once. The redemption is looked for before any new presentation, so a presentation is
 *    never made again after its redemption happened.
 * 4. One store transaction marks the row redeemed, writes the audit entry and stores the response under the key.
 * A definitive chain refusal (nothing redeemed) deletes the row and opens the code again; an unreachable chain keeps
 * the pending row for the retry (and the keeper settles rows nobody retried, keeper.ts).
 */
import { VoucherStatus } from "../../../lib/vouchers";
import { type InstitutionPrincipal } from "../auth";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type Answer, type IdempotentRequest, jsonBody, once, scopedKey } from "../http/idempotency";
import { type Account, LedgerError, type TxResult } from "../ledger";
import type { RedemptionRow } from "../store";
import { codeDigest, openCode } from "./codes";
import { chainNow, vouchersOf } from "./ledger";
import { providerRefusal } from "./providers";

/** How long a presentation made for a redemption stays open (the chain allows a day; the redemption follows at once). */
export const PRESENTATION_WINDOW_S = 3_600;

export interface RedemptionInput {
  code: string;
  amount: bigint;
  invoiceNumber: string;
}

export interface Redeemed {
  redemptionId: string;
  voucherId: string;
  index: number;
  amount: string;
  remaining: string;
  status: "redeemed";
  txHash: string | null;
}

/** The chain's redemption of this row, if it happened: found by its invoice digest (keyed with the row's id). */
async function findOnChain(
  ctx: GatewayContext,
  row: RedemptionRow,
  provider: Account,
): Promise<{ index: number; remaining: bigint } | undefined> {
  const chain = vouchersOf(ctx);
  const v = await chain.voucher(row.voucherId);
  if (!v) return undefined;
  for (let index = v.redemptionCount - 1; index >= 0; index--) {
    const r = await chain.redemption({ voucherId: row.voucherId, index });
    if (r && r.invoiceDigest === row.invoiceDigest && r.provider.toLowerCase() === provider.toLowerCase()) {
      return { index, remaining: v.remaining };
    }
  }
  return undefined;
}

/** Present (unless our presentation is open) and redeem; the chain's index and remaining value. */
async function sendToChain(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  row: RedemptionRow,
): Promise<{ index: number; remaining: bigint; tx?: TxResult }> {
  const found = await findOnChain(ctx, row, p.account);
  if (found) return found;
  const chain = vouchersOf(ctx);
  try {
    const open = await chain.presentation(row.voucherId);
    const now = await chainNow(ctx);
    const ours =
      open.presentationDigest === row.presentationDigest &&
      open.provider.toLowerCase() === p.account.toLowerCase() &&
      open.expiresAt > now;
    if (!ours) {
      await chain.presentVoucher(GATEWAY_ACTORS.anchorer, {
        voucherId: row.voucherId,
        provider: p.account,
        maxAmount: row.amount,
        expiresAt: now + PRESENTATION_WINDOW_S,
        presentationDigest: row.presentationDigest,
      });
    }
    const sent = await chain.redeemVoucher(p.id, {
      voucherId: row.voucherId,
      amount: row.amount,
      invoiceDigest: row.invoiceDigest,
    });
    return { index: sent.index, remaining: sent.remaining, tx: sent };
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    // Refused: perhaps because an earlier attempt's redemption landed meanwhile.
    const late = await findOnChain(ctx, row, p.account);
    if (late) return late;
    await ctx.store.undoRedemption(row.redemptionId);
    throw error;
  }
}

/** Checks the request and stores the pending redemption with its code used, in one transaction. */
async function begin(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: RedemptionInput,
  redemptionId: string,
): Promise<RedemptionRow> {
  const digest = codeDigest(ctx, input.code);
  const code = await openCode(ctx, digest);
  const v = await vouchersOf(ctx).voucher(code.voucherId);
  if (!v) throw new ApiError("NOT_FOUND", "no such voucher", { field: "code" });
  const refusal = await providerRefusal(ctx, p, code.voucherId, v);
  if (refusal) throw refusal;
  if (input.amount > v.remaining) {
    throw new ApiError("LEDGER_REJECTED", "amount is above what is left on the voucher", {
      ledgerCode: "VoucherAboveRemaining",
      field: "amount",
    });
  }
  if (input.amount > code.maxAmount) {
    throw new ApiError("LEDGER_REJECTED", "amount is above what the beneficiary presented", {
      ledgerCode: "VoucherAbovePresented",
      field: "amount",
    });
  }
  return ctx.store.transaction(async (tx) => {
    if (!(await tx.useVoucherCode(digest, redemptionId, ctx.now()))) {
      throw new ApiError("CODE_USED", "this code has just been used", { field: "code" });
    }
    return tx.putRedemption({
      redemptionId,
      codeDigest: digest,
      voucherId: code.voucherId,
      programmeId: v.programmeId,
      regionCode: Number(v.region),
      providerId: p.id,
      amount: input.amount,
      invoiceDigest: ctx.keyring.digestSecret("voucher-invoice", `${redemptionId}\n${input.invoiceNumber}`),
      presentationDigest: ctx.keyring.digestSecret("voucher-presentation", redemptionId),
    });
  });
}

export function redeemedJson(row: RedemptionRow, index: number, remaining: bigint, txHash: string | null): Redeemed {
  return {
    redemptionId: row.redemptionId,
    voucherId: row.voucherId,
    index,
    amount: String(row.amount),
    remaining: String(remaining),
    status: "redeemed",
    txHash,
  };
}

/** Redeems `input.amount` of the presented voucher for provider `p`; 201. See the file comment. */
export async function redeemVoucher(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: RedemptionInput,
  idem: IdempotentRequest,
): Promise<Answer> {
  return once(ctx, p, "voucher-redemption", idem, async (complete) => {
    const redemptionId = ctx.keyring.digestSecret("voucher-redemption-id", scopedKey(p, idem));
    const row = (await ctx.store.getRedemption(redemptionId)) ?? (await begin(ctx, p, input, redemptionId));
    if (row.status !== "pending") {
      // Recorded before, its response not (it is stored in the same transaction: a store written by other means).
      return { status: 201, body: jsonBody(redeemedJson(row, row.redemptionIndex!, row.remaining ?? 0n, row.txHash)) };
    }
    const done = await sendToChain(ctx, p, row);
    const body = redeemedJson(row, done.index, done.remaining, done.tx?.txHash ?? null);
    await ctx.store.transaction(async (tx) => {
      await tx.updateRedemption(row.redemptionId, {
        status: "redeemed",
        redemptionIndex: done.index,
        remaining: done.remaining,
        ...(done.tx ? { txHash: done.tx.txHash, blockNumber: done.tx.blockNumber } : {}),
      });
      if (done.remaining === 0n && (await tx.getVoucherRow(row.voucherId))) {
        await tx.setVoucherStatus(row.voucherId, "exhausted");
      }
      await tx.appendAudit({
        actor: p.id,
        action: "voucher.redeemed",
        target: `${row.voucherId}:${done.index}`,
        details: { amount: String(row.amount), remaining: String(done.remaining), txHash: done.tx?.txHash ?? null },
      });
      await complete(tx, { status: 201, body: jsonBody(body) });
    });
    return { status: 201, body: jsonBody(body) };
  });
}

/**
 * The keeper's repair of pending redemptions nobody retried, once their presentation can no longer be redeemed:
 * recorded if the chain has them, else undone (their code opens again until it expires). Returns how many it settled.
 */
export async function settleStalePending(ctx: GatewayContext, olderThan: Date): Promise<number> {
  const rows = await ctx.store.listRedemptions({ status: "pending", updatedBefore: olderThan, limit: 100 });
  let settled = 0;
  for (const row of rows) {
    const provider = await ctx.store.getInstitution(row.providerId);
    if (!provider) continue;
    const found = await findOnChain(ctx, row, provider.account);
    if (found) {
      await ctx.store.updateRedemption(row.redemptionId, {
        status: "redeemed",
        redemptionIndex: found.index,
        remaining: found.remaining,
      });
    } else {
      const v = await vouchersOf(ctx).voucher(row.voucherId);
      // A still-open presentation of ours could yet be redeemed by a late transaction: wait for its deadline.
      const open = await vouchersOf(ctx).presentation(row.voucherId);
      if (v?.status === VoucherStatus.Active && open.presentationDigest === row.presentationDigest) {
        if (open.expiresAt > (await chainNow(ctx))) continue;
      }
      await ctx.store.undoRedemption(row.redemptionId);
    }
    settled++;
  }
  return settled;
}
