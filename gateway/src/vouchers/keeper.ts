/**
 * The voucher keeper: every `RELIEF_VOUCHER_KEEPER_MS` (0: never) it issues vouchers to newly approved cases of voucher
 * programmes with terms, expires vouchers past their expiry (their unused value returns to the pool), and settles
 * pending redemptions nobody retried (redeem.ts). It acts as the gateway's anchorer: issuing and expiring are
 * permissionless on chain (the conditions authorise). Rounds never overlap; a failed round is logged and the next one
 * tries again.
 */
import { ProgrammeKind } from "../../../lib/roles";
import { VoucherKind } from "../../../lib/vouchers";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { casesToIssue, expireDue, issueVouchers } from "./issue";
import { vouchersOf } from "./ledger";
import { settleStalePending } from "./redeem";

/** Pending redemptions older than this are settled by the keeper (their presentation window has passed). */
export const STALE_PENDING_MS = 2 * 3_600_000;

export interface VoucherKeeperRound {
  issued: number;
  expired: number;
  settled: number;
}

/** One round of the keeper. */
export async function runVoucherKeeper(ctx: GatewayContext): Promise<VoucherKeeperRound> {
  const chain = vouchersOf(ctx);
  const actor = GATEWAY_ACTORS.anchorer;
  let issued = 0;
  const count = await ctx.ledger.programmeCount();
  for (let id = 1; id <= count; id++) {
    const rule = await ctx.ledger.programme(id);
    if (rule.kind !== ProgrammeKind.Voucher) continue;
    if ((await chain.voucherTerms(id)).kind === VoucherKind.None) continue;
    const ids = await casesToIssue(ctx, id);
    if (ids.length > 0) issued += (await issueVouchers(ctx, actor, id, rule, ids)).issued;
  }
  const { expired } = await expireDue(ctx, actor);
  const settled = await settleStalePending(ctx, new Date(ctx.now().getTime() - STALE_PENDING_MS));
  return { issued, expired, settled };
}

export interface VoucherKeeper {
  stop(): Promise<void>;
}

export function startVoucherKeeper(ctx: GatewayContext, intervalMs: number): VoucherKeeper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  const tick = () => {
    running = runVoucherKeeper(ctx)
      .then((r) => {
        if (r.issued + r.expired + r.settled > 0) ctx.log.info({ ...r }, "voucher keeper round");
      })
      .catch((error: unknown) => {
        const e = error as { name?: string; code?: string };
        ctx.log.warn({ errName: e?.name, errCode: e?.code }, "voucher keeper round failed");
      })
      .finally(() => {
        running = undefined;
        schedule();
      });
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
