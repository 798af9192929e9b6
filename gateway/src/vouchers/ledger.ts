/**
 * The voucher side of the gateway's ledger. `ctx.ledger` is a `Ledger`; until `Ledger extends VoucherLedger` lands
 * (both adapters implementing it), this accessor narrows it, refusing with 503 when the running adapter has no
 * vouchers yet. Also the chain's clock as the gateway estimates it: voucher expiries and presentation deadlines are
 * chain time, which a development chain can run ahead of the wall clock.
 */
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { Ledger, VoucherLedger } from "../ledger";

export type VoucherChain = Ledger & VoucherLedger;

/** `ctx.ledger` with its voucher methods; 503 CHAIN_UNAVAILABLE if the adapter has none. */
export function vouchersOf(ctx: Pick<GatewayContext, "ledger">): VoucherChain {
  const ledger = ctx.ledger as unknown as Partial<VoucherLedger>;
  if (typeof ledger.issueVouchers !== "function" || typeof ledger.voucher !== "function") {
    throw new ApiError("CHAIN_UNAVAILABLE", "this ledger has no voucher book", { retryAfter: 60 });
  }
  return ctx.ledger as unknown as VoucherChain;
}

/** Blocks looked back for the latest block time. */
const LOOKBACK_BLOCKS = 64;

/**
 * The chain's time (seconds) as best known: the later of the newest event's block time in the last blocks and the
 * gateway's clock. The next block is at least this late; it may be later (a chain whose clock was moved forward
 * without a block since), so deadlines computed from it keep a margin.
 */
export async function chainNow(ctx: Pick<GatewayContext, "ledger" | "now">): Promise<number> {
  const wall = Math.floor(ctx.now().getTime() / 1000);
  const latest = await ctx.ledger.blockNumber();
  const events = await ctx.ledger.events(Math.max(0, latest - LOOKBACK_BLOCKS), latest, { timestamps: true });
  const newest = events.reduce((t, e) => Math.max(t, e.timestamp ?? 0), 0);
  return Math.max(wall, newest);
}
