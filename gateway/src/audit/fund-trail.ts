/**
 * The fund trail (資金流向), rebuilt from the chain's events alone: nothing of the gateway's store is read, so an
 * auditor's figures do not depend on the gateway having recorded anything correctly.
 *
 * Every movement of money is exactly one event (docs/CONTRACTS.md "Fund trail"): `FundsAppropriated`,
 * `FundsAllocated`, `FundsReturned`, `ProgrammeFunded`, `ProgrammeDefunded`, `PayoutExecuted`, `PayoutFailed`,
 * `ClawbackRecorded`, and for vouchers `VoucherFundsMoved` (pool → voucher escrow when issued, back when expired,
 * escrow → paid out when a provider is paid, back when its bank failed); `PayoutSettled` moves nothing but is
 * reported with the payouts. Replaying them gives every
 * region's balance, every pool and the total paid out, which are then compared with the chain's own views.
 *
 * Conservation is checked for the requested region's subtree: what came into it (appropriations at central; for any
 * other region the allocations from its parent less what it returned to its parent) equals what its regions and
 * the pools of its programmes and their voucher escrow hold plus what those pools paid out (net of failures and
 * clawbacks). It is computed
 * over the whole region scope whatever `programmeId` and `period` say: those filter the lists only.
 */
import { contains } from "../../../lib/regions";
import { formatPeriod, periodAt } from "../../../lib/periods";
import type { GatewayContext } from "../context";
import { VoucherFundsMove } from "../../../lib/vouchers";
import type { LedgerEvent } from "../ledger";

export interface FundTrailScope {
  region: bigint;
  programmeId?: number;
  period?: number;
}

export type FlowType =
  | "appropriation"
  | "allocation"
  | "return"
  | "programme-funding"
  | "programme-defunding"
  | "voucher-issue"
  | "voucher-expiry"
  | "voucher-payment"
  | "voucher-failure";

export interface Flow {
  type: FlowType;
  /** A region code, `pool:<programmeId>`, `appropriation` (new money), `voucher-escrow` or `paid-out`. */
  from: string;
  to: string;
  programmeId: number | null;
  count: number;
  amount: string;
}

export interface RegionHolding {
  region: string;
  balance: string;
  chainBalance: string;
  matches: boolean;
}

export interface PoolHolding {
  programmeId: number;
  region: string;
  funded: string;
  defunded: string;
  paidOut: string;
  failed: string;
  clawedBack: string;
  /** Issued vouchers' value not yet expired or paid to providers (held outside the pool). */
  voucherEscrow: string;
  /** Paid to providers for redeemed vouchers, net of their banks' failures. */
  redemptionsPaid: string;
  balance: string;
  chainBalance: string;
  matches: boolean;
}

interface CountSum {
  count: number;
  amount: string;
}

export interface PayoutSummary {
  programmeId: number;
  period: string;
  count: number;
  amount: string;
  settled: CountSum;
  failed: CountSum;
  clawedBack: CountSum;
}

export interface FundTrail {
  scope: { region: string; programmeId: number | null; period: string | null; fromBlock: number; toBlock: number };
  flows: Flow[];
  regions: RegionHolding[];
  pools: PoolHolding[];
  payouts: PayoutSummary[];
  conservation: {
    /** Net funds that came into the scope. */
    appropriated: string;
    /** Held by the scope's regions, pools and their voucher escrow. */
    held: string;
    /** Paid out of the scope's pools, net of failures and clawbacks. */
    paidOut: string;
    /** `appropriated = held + paidOut` for the scope, and every replayed figure matches the chain's views. */
    holds: boolean;
    /** The replayed balances, pools and totals equal `regionBalance`, `poolBalance` and `fundTotals`. */
    matchesChain: boolean;
  };
}

interface PoolTally {
  region: bigint;
  funded: bigint;
  defunded: bigint;
  paidOut: bigint;
  failed: bigint;
  clawedBack: bigint;
  escrow: bigint;
  redemptionsPaid: bigint;
  balance: bigint;
}

interface PayoutTally {
  count: number;
  amount: bigint;
  settled: { count: number; amount: bigint };
  failed: { count: number; amount: bigint };
  clawedBack: { count: number; amount: bigint };
}

const ZERO_TALLY = (): PayoutTally => ({
  count: 0,
  amount: 0n,
  settled: { count: 0, amount: 0n },
  failed: { count: 0, amount: 0n },
  clawedBack: { count: 0, amount: 0n },
});

const keyOf = (caseId: string, period: number, eventId: string) => `${caseId}:${period}:${eventId}`;

/** What one replay of the events gives. */
interface Replay {
  appropriated: bigint;
  paidOut: bigint;
  balances: Map<bigint, bigint>;
  pools: Map<number, PoolTally>;
  flows: Map<string, Flow & { sum: bigint }>;
  payouts: Map<string, PayoutTally & { programmeId: number; period: number }>;
  inflow: bigint;
}

function add(map: Map<bigint, bigint>, region: bigint, amount: bigint): void {
  map.set(region, (map.get(region) ?? 0n) + amount);
}

function replay(events: LedgerEvent[], scope: FundTrailScope): Replay {
  const r: Replay = {
    appropriated: 0n,
    paidOut: 0n,
    balances: new Map(),
    pools: new Map(),
    flows: new Map(),
    payouts: new Map(),
    inflow: 0n,
  };
  const caseRegion = new Map<string, bigint>();
  const paid = new Map<string, { programmeId: number; amount: bigint }>();
  const inScope = (region: bigint) => contains(scope.region, region);
  const periodOk = (period: number) => scope.period === undefined || period === scope.period;
  const programmeOk = (programmeId: number) => scope.programmeId === undefined || programmeId === scope.programmeId;
  const blockPeriodOk = (e: LedgerEvent) =>
    scope.period === undefined || (e.timestamp !== undefined && periodAt(e.timestamp) === scope.period);
  const pool = (programmeId: number): PoolTally => {
    let p = r.pools.get(programmeId);
    if (!p) {
      p = {
        region: 0n,
        funded: 0n,
        defunded: 0n,
        paidOut: 0n,
        failed: 0n,
        clawedBack: 0n,
        escrow: 0n,
        redemptionsPaid: 0n,
        balance: 0n,
      };
      r.pools.set(programmeId, p);
    }
    return p;
  };
  const flow = (
    e: LedgerEvent,
    type: FlowType,
    from: string,
    to: string,
    amount: bigint,
    programmeId: number | null,
  ) => {
    if (!blockPeriodOk(e)) return;
    if (scope.programmeId !== undefined && programmeId !== scope.programmeId) return;
    const key = `${type}|${from}|${to}`;
    const f = r.flows.get(key) ?? { type, from, to, programmeId, count: 0, amount: "0", sum: 0n };
    f.count += 1;
    f.sum += amount;
    r.flows.set(key, f);
  };
  /** The payouts row of a payout, if it is in the requested scope (by pool or by case region). */
  const payoutRow = (programmeId: number, caseId: string, period: number) => {
    const poolRegion = pool(programmeId).region;
    const region = caseRegion.get(caseId);
    const visible = inScope(poolRegion) || (region !== undefined && inScope(region));
    if (!visible || !programmeOk(programmeId) || !periodOk(period)) return undefined;
    const key = `${programmeId}:${period}`;
    let row = r.payouts.get(key);
    if (!row) {
      row = { ...ZERO_TALLY(), programmeId, period };
      r.payouts.set(key, row);
    }
    return row;
  };

  for (const e of events) {
    switch (e.name) {
      case "ProgrammeCreated":
        pool(e.args.programmeId).region = e.args.region;
        break;
      case "CaseSubmitted":
        caseRegion.set(e.args.caseId, e.args.region);
        break;
      case "FundsAppropriated":
        r.appropriated += e.args.amount;
        add(r.balances, 0n, e.args.amount);
        if (scope.region === 0n) {
          r.inflow += e.args.amount;
          flow(e, "appropriation", "appropriation", "0", e.args.amount, null);
        }
        break;
      case "FundsAllocated":
      case "FundsReturned": {
        const { fromRegion, toRegion, amount } = e.args;
        add(r.balances, fromRegion, -amount);
        add(r.balances, toRegion, amount);
        if (!inScope(fromRegion) && inScope(toRegion)) r.inflow += amount;
        if (inScope(fromRegion) && !inScope(toRegion)) r.inflow -= amount;
        if (inScope(fromRegion) || inScope(toRegion)) {
          flow(
            e,
            e.name === "FundsAllocated" ? "allocation" : "return",
            String(fromRegion),
            String(toRegion),
            amount,
            null,
          );
        }
        break;
      }
      case "ProgrammeFunded":
      case "ProgrammeDefunded": {
        const { programmeId, region, amount } = e.args;
        const p = pool(programmeId);
        p.region = region;
        const funded = e.name === "ProgrammeFunded";
        add(r.balances, region, funded ? -amount : amount);
        p.balance += funded ? amount : -amount;
        if (funded) p.funded += amount;
        else p.defunded += amount;
        if (inScope(region)) {
          const poolName = `pool:${programmeId}`;
          if (funded) flow(e, "programme-funding", String(region), poolName, amount, programmeId);
          else flow(e, "programme-defunding", poolName, String(region), amount, programmeId);
        }
        break;
      }
      case "PayoutExecuted": {
        const { caseId, programmeId, eventId, period, amount } = e.args;
        const p = pool(programmeId);
        p.balance -= amount;
        p.paidOut += amount;
        r.paidOut += amount;
        paid.set(keyOf(caseId, period, eventId), { programmeId, amount });
        const row = payoutRow(programmeId, caseId, period);
        if (row) {
          row.count += 1;
          row.amount += amount;
        }
        break;
      }
      case "PayoutFailed": {
        const { caseId, programmeId, eventId, period, amount } = e.args;
        const p = pool(programmeId);
        p.balance += amount;
        p.failed += amount;
        r.paidOut -= amount;
        paid.delete(keyOf(caseId, period, eventId));
        const row = payoutRow(programmeId, caseId, period);
        if (row) {
          row.failed.count += 1;
          row.failed.amount += amount;
        }
        break;
      }
      case "ClawbackRecorded": {
        const { caseId, programmeId, period, amount } = e.args;
        const p = pool(programmeId);
        p.balance += amount;
        p.clawedBack += amount;
        r.paidOut -= amount;
        const row = payoutRow(programmeId, caseId, period);
        if (row) {
          row.clawedBack.count += 1;
          row.clawedBack.amount += amount;
        }
        break;
      }
      case "PayoutSettled": {
        const { caseId, eventId, period } = e.args;
        const payout = paid.get(keyOf(caseId, period, eventId));
        if (!payout) break;
        const row = payoutRow(payout.programmeId, caseId, period);
        if (row) {
          row.settled.count += 1;
          row.settled.amount += payout.amount;
        }
        break;
      }
      case "VoucherFundsMoved": {
        const { programmeId, move, amount } = e.args;
        const p = pool(programmeId);
        const poolName = `pool:${programmeId}`;
        if (move === VoucherFundsMove.Issue) {
          p.balance -= amount;
          p.escrow += amount;
          flow(e, "voucher-issue", poolName, "voucher-escrow", amount, programmeId);
        } else if (move === VoucherFundsMove.Expire) {
          p.balance += amount;
          p.escrow -= amount;
          flow(e, "voucher-expiry", "voucher-escrow", poolName, amount, programmeId);
        } else if (move === VoucherFundsMove.Pay) {
          p.escrow -= amount;
          p.redemptionsPaid += amount;
          r.paidOut += amount;
          flow(e, "voucher-payment", "voucher-escrow", "paid-out", amount, programmeId);
        } else {
          p.escrow += amount;
          p.redemptionsPaid -= amount;
          r.paidOut -= amount;
          flow(e, "voucher-failure", "paid-out", "voucher-escrow", amount, programmeId);
        }
        break;
      }
      default:
        break;
    }
  }
  return r;
}

/** Rebuilds the fund trail of `scope` from the chain's events and checks it against the chain's views. */
export async function fundTrail(ctx: GatewayContext, scope: FundTrailScope): Promise<FundTrail> {
  // Views are read at the latest block; if a block arrived meanwhile and figures differ, replay once more.
  for (let attempt = 0; ; attempt++) {
    const toBlock = await ctx.ledger.blockNumber();
    const fromBlock = ctx.deployment.deployedAtBlock;
    const events = await ctx.ledger.events(fromBlock, toBlock, { timestamps: scope.period !== undefined });
    const trail = await compare(ctx, scope, replay(events, scope), fromBlock, toBlock);
    if (trail.conservation.matchesChain || attempt >= 1 || (await ctx.ledger.blockNumber()) === toBlock) return trail;
  }
}

async function compare(
  ctx: GatewayContext,
  scope: FundTrailScope,
  r: Replay,
  fromBlock: number,
  toBlock: number,
): Promise<FundTrail> {
  const inScope = (region: bigint) => contains(scope.region, region);
  const regionCodes = [...r.balances.keys()].filter(inScope).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!regionCodes.includes(scope.region)) regionCodes.unshift(scope.region);
  const regions = await Promise.all(
    regionCodes.map(async (region) => {
      const balance = r.balances.get(region) ?? 0n;
      const chainBalance = await ctx.ledger.regionBalance(region);
      return { region, balance, chainBalance };
    }),
  );
  const poolIds = [...r.pools.keys()].filter((id) => inScope(r.pools.get(id)!.region)).sort((a, b) => a - b);
  const pools = await Promise.all(
    poolIds.map(async (programmeId) => ({
      programmeId,
      tally: r.pools.get(programmeId)!,
      chainBalance: await ctx.ledger.poolBalance(programmeId),
    })),
  );
  const totals = await ctx.ledger.fundTotals();

  const held =
    regions.reduce((s, x) => s + x.balance, 0n) + pools.reduce((s, x) => s + x.tally.balance + x.tally.escrow, 0n);
  const paidOut = pools.reduce(
    (s, x) => s + x.tally.paidOut - x.tally.failed - x.tally.clawedBack + x.tally.redemptionsPaid,
    0n,
  );
  const matchesChain =
    regions.every((x) => x.balance === x.chainBalance) &&
    pools.every((x) => x.tally.balance === x.chainBalance) &&
    totals.appropriated === r.appropriated &&
    totals.paidOut === r.paidOut &&
    totals.held === r.appropriated - r.paidOut;
  const holds = r.inflow === held + paidOut && matchesChain;

  const listedPools = pools.filter((x) => scope.programmeId === undefined || x.programmeId === scope.programmeId);
  const countSum = (c: { count: number; amount: bigint }): CountSum => ({ count: c.count, amount: String(c.amount) });
  return {
    scope: {
      region: String(scope.region),
      programmeId: scope.programmeId ?? null,
      period: scope.period === undefined ? null : formatPeriod(scope.period),
      fromBlock,
      toBlock,
    },
    flows: [...r.flows.values()].map(({ sum, ...f }) => ({ ...f, amount: String(sum) })),
    regions:
      scope.programmeId === undefined
        ? regions.map((x) => ({
            region: String(x.region),
            balance: String(x.balance),
            chainBalance: String(x.chainBalance),
            matches: x.balance === x.chainBalance,
          }))
        : [],
    pools: listedPools.map(({ programmeId, tally, chainBalance }) => ({
      programmeId,
      region: String(tally.region),
      funded: String(tally.funded),
      defunded: String(tally.defunded),
      paidOut: String(tally.paidOut),
      failed: String(tally.failed),
      clawedBack: String(tally.clawedBack),
      voucherEscrow: String(tally.escrow),
      redemptionsPaid: String(tally.redemptionsPaid),
      balance: String(tally.balance),
      chainBalance: String(chainBalance),
      matches: tally.balance === chainBalance,
    })),
    payouts: [...r.payouts.values()]
      .sort((a, b) => a.programmeId - b.programmeId || a.period - b.period)
      .map((p) => ({
        programmeId: p.programmeId,
        period: formatPeriod(p.period),
        count: p.count,
        amount: String(p.amount),
        settled: countSum(p.settled),
        failed: countSum(p.failed),
        clawedBack: countSum(p.clawedBack),
      })),
    conservation: {
      appropriated: String(r.inflow),
      held: String(held),
      paidOut: String(paidOut),
      holds,
      matchesChain,
    },
  };
}
