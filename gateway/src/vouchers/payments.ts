/**
 * Paying providers for what they redeemed (撥付), and the bank's settlement of those payments. The chain holds each
 * redemption's status (Redeemed → Paid → Settled; a failure makes it Redeemed again) and moves the money (escrow →
 * paid out, and back on a failure); the gateway's rows follow it. Payments of one gateway are made one at a time, and
 * each is one all-or-nothing chain transaction over redemptions the chain shows `Redeemed`, so a retry or a concurrent
 * request pays nothing twice; redemptions the chain shows paid while the gateway's row lags (it stopped after the
 * chain call) are repaired and counted, not paid again.
 */
import { RedemptionStatus } from "../../../lib/vouchers";
import { type InstitutionPrincipal, assertInRegion } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type Answer, type IdempotentRequest, jsonBody, once } from "../http/idempotency";
import type { RedemptionKey } from "../ledger";
import type { RedemptionRow, RedemptionRowStatus } from "../store";
import { voucherProgramme } from "./issue";
import { vouchersOf } from "./ledger";
import { REDEMPTION_STATUS_NAMES } from "./names";

/** Redemptions per payment request. */
export const MAX_PAYMENT_KEYS = 500;

const tails = new WeakMap<GatewayContext, Promise<unknown>>();

/** Runs `fn` after every earlier call of this gateway (payments and settlements never race each other). */
function serial<T>(ctx: GatewayContext, fn: () => Promise<T>): Promise<T> {
  const before = tails.get(ctx) ?? Promise.resolve();
  const run = before.then(fn, fn);
  tails.set(
    ctx,
    run.catch(() => undefined),
  );
  return run;
}

const keyOf = (row: RedemptionRow): RedemptionKey => ({ voucherId: row.voucherId, index: row.redemptionIndex! });
const ROW_OF: Record<RedemptionStatus, RedemptionRowStatus | undefined> = {
  [RedemptionStatus.None]: undefined,
  [RedemptionStatus.Redeemed]: "redeemed",
  [RedemptionStatus.Paid]: "paid",
  [RedemptionStatus.Settled]: "settled",
};

/** The rows of listed keys, each known and in scope (404 / 403 naming the item). */
async function rowsOf(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  keys: readonly RedemptionKey[],
  field: string,
): Promise<RedemptionRow[]> {
  const rows: RedemptionRow[] = [];
  const seen = new Set<string>();
  for (const [i, k] of keys.entries()) {
    const id = `${k.voucherId}:${k.index}`;
    if (seen.has(id))
      throw new ApiError("VALIDATION_FAILED", `${field}.${i}: listed twice`, { field: `${field}.${i}` });
    seen.add(id);
    const row = await ctx.store.getRedemptionByKey(k.voucherId, k.index);
    if (!row) throw new ApiError("NOT_FOUND", `${field}.${i}: no such redemption`, { field: `${field}.${i}` });
    assertInRegion(p, row.regionCode, `${field}.${i}`);
    rows.push(row);
  }
  return rows;
}

/** The chain's status of each row. */
async function chainStatuses(ctx: GatewayContext, rows: readonly RedemptionRow[]): Promise<RedemptionStatus[]> {
  const chain = vouchersOf(ctx);
  return Promise.all(rows.map(async (r) => (await chain.redemption(keyOf(r)))?.status ?? RedemptionStatus.None));
}

function notInStatus(field: string, want: string): ApiError {
  return new ApiError("LEDGER_REJECTED", `${field}: the redemption is not ${want}`, {
    ledgerCode: "VoucherRedemptionNotInStatus",
    field,
  });
}

export type PaymentRequest = { programmeId: number } | { redemptions: RedemptionKey[] };

/** Pays redeemed redemptions (a programme's, or the listed ones) as finance bureau `p`. 200 with the total. */
export async function payRedemptions(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: PaymentRequest,
  idem: IdempotentRequest,
): Promise<Answer> {
  return once(ctx, p, "voucher-payment", idem, (complete) =>
    serial(ctx, async () => {
      let rows: RedemptionRow[];
      if ("programmeId" in input) {
        const rule = await voucherProgramme(ctx, input.programmeId);
        assertInRegion(p, rule.region, "the programme's region");
        rows = await ctx.store.listRedemptions({
          programmeId: input.programmeId,
          status: "redeemed",
          withinRegion: Number(p.region),
          limit: MAX_PAYMENT_KEYS,
        });
      } else {
        rows = await rowsOf(ctx, p, input.redemptions, "redemptions");
      }
      const statuses = await chainStatuses(ctx, rows);
      const pay: RedemptionRow[] = [];
      const repair: { row: RedemptionRow; status: RedemptionRowStatus }[] = [];
      rows.forEach((row, i) => {
        const chainStatus = statuses[i];
        if (chainStatus === RedemptionStatus.Redeemed) pay.push(row);
        else if (row.status === "redeemed" && ROW_OF[chainStatus]) repair.push({ row, status: ROW_OF[chainStatus]! });
        else if (!("programmeId" in input)) throw notInStatus(`redemptions.${i}`, "redeemed");
      });
      const sent = pay.length > 0 ? await vouchersOf(ctx).payRedemptions(p.id, pay.map(keyOf)) : undefined;
      const repaired = repair.reduce((s, r) => s + r.row.amount, 0n);
      const body = {
        paid: pay.length,
        already: repair.length,
        total: String((sent?.total ?? 0n) + repaired),
        txHash: sent?.txHash ?? null,
      };
      await ctx.store.transaction(async (tx) => {
        for (const row of pay) await tx.updateRedemption(row.redemptionId, { status: "paid" });
        for (const r of repair) await tx.updateRedemption(r.row.redemptionId, { status: r.status });
        await tx.appendAudit({
          actor: p.id,
          action: "voucher-redemptions.paid",
          target: "programmeId" in input ? String(input.programmeId) : undefined,
          details: { ...body, redemptions: pay.slice(0, 50).map((r) => `${r.voucherId}:${r.redemptionIndex}`) },
        });
        await complete(tx, { status: 200, body: jsonBody(body) });
      });
      return { status: 200, body: jsonBody(body) };
    }),
  );
}

/** The payment agent confirms that these paid redemptions reached the providers. */
export async function settleRedemptions(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  bankReference: string,
  keys: RedemptionKey[],
): Promise<{ settled: number; already: number; txHash: string | null }> {
  return serial(ctx, async () => {
    const rows = await rowsOf(ctx, p, keys, "redemptions");
    const statuses = await chainStatuses(ctx, rows);
    const send: RedemptionRow[] = [];
    const already: RedemptionRow[] = [];
    rows.forEach((row, i) => {
      if (statuses[i] === RedemptionStatus.Paid) send.push(row);
      else if (statuses[i] === RedemptionStatus.Settled) already.push(row);
      else throw notInStatus(`redemptions.${i}`, "paid");
    });
    const bankRefDigest = ctx.keyring.digestSecret("bank-reference", bankReference);
    const sent =
      send.length > 0
        ? await vouchersOf(ctx).confirmRedemptionSettlements(p.id, bankRefDigest, send.map(keyOf))
        : undefined;
    await ctx.store.transaction(async (tx) => {
      for (const row of [...send, ...already]) await tx.updateRedemption(row.redemptionId, { status: "settled" });
      await tx.appendAudit({
        actor: p.id,
        action: "voucher-redemptions.settled",
        target: bankRefDigest,
        details: { settled: send.length, already: already.length, txHash: sent?.txHash ?? null },
      });
    });
    return { settled: send.length, already: already.length, txHash: sent?.txHash ?? null };
  });
}

/** The payment agent reports that a paid redemption did not reach the provider: it is owed again. */
export async function failRedemption(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  key: RedemptionKey,
  reason: string,
): Promise<{ voucherId: string; index: number; amount: string; status: string; txHash: string | null }> {
  return serial(ctx, async () => {
    const [row] = await rowsOf(ctx, p, [key], "redemption");
    const [status] = await chainStatuses(ctx, [row]);
    let txHash: string | null = null;
    if (status === RedemptionStatus.Paid) {
      const reasonDigest = ctx.keyring.digestSecret("failure-reason", reason);
      txHash = (await vouchersOf(ctx).reportRedemptionFailure(p.id, key, reasonDigest)).txHash;
    } else if (!(status === RedemptionStatus.Redeemed && row.status === "paid")) {
      throw notInStatus("redemption", "paid");
    }
    await ctx.store.transaction(async (tx) => {
      await tx.updateRedemption(row.redemptionId, { status: "redeemed" });
      await tx.appendAudit({
        actor: p.id,
        action: "voucher-redemption.failed",
        target: `${key.voucherId}:${key.index}`,
        reason,
        details: { amount: String(row.amount), txHash },
      });
    });
    return {
      voucherId: key.voucherId,
      index: key.index,
      amount: String(row.amount),
      status: REDEMPTION_STATUS_NAMES[RedemptionStatus.Redeemed],
      txHash,
    };
  });
}
