/**
 * The sweep's fund check: the fund trail (資金流向) rebuilt from the chain's events alone, streaming. Every movement
 * of money is exactly one event (docs/CONTRACTS.md "Fund trail"), so replaying them gives every region's balance,
 * every programme pool, what each programme paid out and, per programme and period, what was paid, settled, failed
 * and clawed back. The check keeps aggregates only (per region, per pool, per programme-period, and two numbers per
 * case in typed arrays), never the events.
 *
 * What it reports:
 * - `conservation-broken` when the books contradict themselves: a region or pool that paid out more than it held
 *   (its rebuilt balance went negative, at the transaction that did it); a failure that returned a different amount
 *   than the payout had paid; a run whose `PayoutRunExecuted` total differs from its payouts; a programme-period
 *   whose failures and settlements exceed what was paid, or whose clawbacks exceed what was settled; and, on the
 *   chain's own views, `appropriated ≠ Σ region balances + Σ pools + voucher escrow + paid out` or
 *   `Σ programmePaidOut ≠ paid out`.
 * - `balance-mismatch` when a rebuilt figure differs from the chain's view of it: `regionBalance`, `poolBalance`,
 *   `programmePaidOut` and `fundTotals`, naming the region or programme and the last transaction that touched it.
 *
 * Vouchers (救助券) move money by `VoucherFundsMoved` alone: Issue takes it from the pool into the voucher escrow,
 * Expire gives it back, Pay moves it from the escrow to paid out (a provider's settlement), Fail back again. The
 * voucher books themselves (issued = redeemed + expired + outstanding) are ./vouchers.ts's.
 *
 * Conservation is computed over everything; the scope (region subtree, programme, period) only filters what is
 * listed and reported.
 */
import { contains, levelOf } from "../../../../lib/regions";
import { periodAt } from "../../../../lib/periods";
import { VoucherFundsMove } from "../../../../lib/vouchers";
import { MONTHLY, type FundTotals, type Ledger, type LedgerEvent } from "../../ledger";
import { CaseIndex, grown } from "./events";
import type { SweepException, SweepScope } from "./types";

/** The chain's views the rebuilt figures are compared with (any {@link Ledger}, or a stub in tests). */
export type FundViews = Pick<Ledger, "regionBalance" | "poolBalance" | "programmePaidOut" | "fundTotals"> &
  Partial<Pick<Ledger, "voucherEscrow">>;

export type FundFlowType =
  | "appropriation"
  | "allocation"
  | "return"
  | "programme-funding"
  | "programme-defunding"
  | "payout"
  | "failure"
  | "clawback"
  | "voucher-issue"
  | "voucher-expiry"
  | "voucher-payment"
  | "voucher-failure";

/** Movements of one type between two places, summed. */
export interface FundFlow {
  type: FundFlowType;
  /** A region code, `pool:<programmeId>`, `appropriation` (new money), `voucher-escrow` or `paid-out`. */
  from: string;
  to: string;
  programmeId: number | null;
  count: number;
  amount: bigint;
}

export interface RegionSummary {
  region: bigint;
  level: number;
  appropriated: bigint;
  allocatedIn: bigint;
  allocatedOut: bigint;
  returnedIn: bigint;
  returnedOut: bigint;
  /** Moved from the region into its programmes' pools, and back. */
  funded: bigint;
  defunded: bigint;
  /** In − out, rebuilt. */
  balance: bigint;
  chainBalance: bigint;
  lastTxHash?: string;
  lastBlockNumber?: number;
}

/** A level of the hierarchy (0 central, 1 province, 2 city, 3 county): what came in, went out, and is held. */
export interface LevelSummary {
  level: number;
  regions: number;
  /** Appropriated (central), allocated from above, returned from below, defunded from pools. */
  cameIn: bigint;
  /** Allocated below, returned above, funded into pools. */
  wentOut: bigint;
  /** `cameIn − wentOut`. */
  balance: bigint;
  /** Σ `regionBalance` of the level's regions. */
  chainBalance: bigint;
  holds: boolean;
}

export interface PoolSummary {
  programmeId: number;
  region: bigint;
  funded: bigint;
  defunded: bigint;
  paidOut: bigint;
  failed: bigint;
  clawedBack: bigint;
  /** Into the voucher escrow when vouchers were issued, and back when they expired. */
  vouchersIssued: bigint;
  vouchersExpired: bigint;
  /** Paid to providers for redemptions, and returned to the escrow when a provider's bank failed. */
  redemptionsPaid: bigint;
  redemptionsFailed: bigint;
  /** `funded − defunded − paidOut + failed + clawedBack − vouchersIssued + vouchersExpired`. */
  balance: bigint;
  chainBalance: bigint;
  /** `paidOut − failed − clawedBack + redemptionsPaid − redemptionsFailed`, rebuilt, and `programmePaidOut`. */
  netPaidOut: bigint;
  chainPaidOut: bigint;
  lastTxHash?: string;
  lastBlockNumber?: number;
}

export interface CountAmount {
  count: number;
  amount: bigint;
}

/** Payouts of one programme for one period (the period paid for; for event payouts, the period paid in). */
export interface PeriodSummary {
  programmeId: number;
  period: number;
  paid: CountAmount;
  settled: CountAmount;
  failed: CountAmount;
  clawedBack: CountAmount;
  /** Paid, neither settled nor failed: `paid − settled − failed`. */
  outstanding: CountAmount;
}

export interface FundTotalsSummary {
  appropriated: bigint;
  /** Σ region balances + Σ pool balances + the voucher escrow, rebuilt. */
  held: bigint;
  /** The voucher escrow, rebuilt, and the chain's `voucherEscrow` (0 on a ledger without vouchers). */
  voucherEscrow: bigint;
  chainVoucherEscrow: bigint;
  /** Paid out net of failures and clawbacks, rebuilt. */
  paidOut: bigint;
  /** `appropriated = held + paidOut` for the rebuilt figures. */
  holds: boolean;
  chain: FundTotals;
  /** `appropriated = Σ regionBalance + Σ poolBalance + voucherEscrow + paidOut` on the chain's views. */
  chainHolds: boolean;
}

export interface FundsResult {
  flows: FundFlow[];
  regions: RegionSummary[];
  levels: LevelSummary[];
  pools: PoolSummary[];
  periods: PeriodSummary[];
  totals: FundTotalsSummary;
  exceptions: SweepException[];
}

export interface FundsCheckOptions {
  scope?: SweepScope;
  /** A case index shared with the lifecycle check (one index for both). */
  cases?: CaseIndex;
  /** Views fetched at once when finishing (default 8). */
  concurrency?: number;
}

interface Touch {
  lastTxHash?: string;
  lastBlockNumber?: number;
}

interface RegionTally extends Touch {
  appropriated: bigint;
  allocatedIn: bigint;
  allocatedOut: bigint;
  returnedIn: bigint;
  returnedOut: bigint;
  funded: bigint;
  defunded: bigint;
  balance: bigint;
  negative: boolean;
}

interface PoolTally extends Touch {
  region: bigint;
  funded: bigint;
  defunded: bigint;
  paidOut: bigint;
  failed: bigint;
  clawedBack: bigint;
  vouchersIssued: bigint;
  vouchersExpired: bigint;
  redemptionsPaid: bigint;
  redemptionsFailed: bigint;
  balance: bigint;
  negative: boolean;
}

interface PeriodTally extends Touch {
  programmeId: number;
  period: number;
  paid: CountAmount;
  settled: CountAmount;
  failed: CountAmount;
  clawedBack: CountAmount;
}

const ZERO = (): CountAmount => ({ count: 0, amount: 0n });
const UNKNOWN_REGION = -1;

/** Rebuilds the fund trail from the event stream; {@link finish} compares it with the chain's views. */
export class FundsCheck {
  readonly #scope: SweepScope;
  readonly #cases: CaseIndex;
  readonly #concurrency: number;
  #appropriated = 0n;
  #paidOut = 0n;
  #failed = 0n;
  #clawedBack = 0n;
  #voucherEscrow = 0n;
  readonly #regions = new Map<bigint, RegionTally>();
  readonly #pools = new Map<number, PoolTally>();
  /** Every programme-period, for the books. */
  readonly #periods = new Map<string, PeriodTally>();
  /** Programme-periods counting only payouts visible in a region scope (when the scope names a region). */
  readonly #scopedPeriods = new Map<string, PeriodTally>();
  readonly #flows = new Map<string, FundFlow>();
  /**
   * Per case (20 bytes, indexed by {@link CaseIndex}): its region (-1 unknown), its programme (0 unknown) and the
   * amount of its latest monthly payout. A case's unsettled monthly payouts were all paid at that amount: the
   * contracts change an amount only when nothing of the case awaits settlement (`LedgerUnsettledPayouts`).
   */
  #caseRegion = new Float64Array(0);
  #caseProgramme = new Uint32Array(0);
  #monthlyAmount = new Float64Array(0);
  /** Event payouts (bills, disasters) paid and not yet settled or failed: `caseId:eventId` → amount and period. */
  readonly #eventPending = new Map<string, { amount: bigint; period: number }>();
  /** Payouts of the current transaction's run so far, to check its `PayoutRunExecuted`. */
  #run = { txHash: "", count: 0, total: 0n };
  readonly #exceptions: SweepException[] = [];
  #events = 0;

  constructor(options: FundsCheckOptions = {}) {
    this.#scope = options.scope ?? {};
    this.#cases = options.cases ?? new CaseIndex();
    this.#concurrency = options.concurrency ?? 8;
  }

  /** Events consumed so far. */
  get events(): number {
    return this.#events;
  }

  consume(e: LedgerEvent): void {
    this.#events++;
    switch (e.name) {
      case "ProgrammeCreated":
        this.#pool(e.args.programmeId).region = e.args.region;
        break;
      case "CaseSubmitted": {
        const i = this.#caseIndex(e.args.caseId);
        this.#caseRegion[i] = Number(e.args.region);
        this.#caseProgramme[i] = e.args.programmeId;
        break;
      }
      case "FundsAppropriated": {
        const { amount } = e.args;
        this.#appropriated += amount;
        const r = this.#region(0n, e);
        r.appropriated += amount;
        r.balance += amount;
        this.#flow(e, "appropriation", "appropriation", "0", null, amount, [0n]);
        break;
      }
      case "FundsAllocated":
      case "FundsReturned": {
        const { fromRegion, toRegion, amount } = e.args;
        const from = this.#region(fromRegion, e);
        const to = this.#region(toRegion, e);
        if (e.name === "FundsAllocated") {
          from.allocatedOut += amount;
          to.allocatedIn += amount;
        } else {
          from.returnedOut += amount;
          to.returnedIn += amount;
        }
        from.balance -= amount;
        to.balance += amount;
        this.#checkRegion(fromRegion, from, e);
        const type = e.name === "FundsAllocated" ? "allocation" : "return";
        this.#flow(e, type, String(fromRegion), String(toRegion), null, amount, [fromRegion, toRegion]);
        break;
      }
      case "ProgrammeFunded":
      case "ProgrammeDefunded": {
        const { programmeId, region, amount } = e.args;
        const r = this.#region(region, e);
        const p = this.#pool(programmeId, e);
        p.region = region;
        const pool = `pool:${programmeId}`;
        if (e.name === "ProgrammeFunded") {
          r.funded += amount;
          r.balance -= amount;
          p.funded += amount;
          p.balance += amount;
          this.#checkRegion(region, r, e);
          this.#flow(e, "programme-funding", String(region), pool, programmeId, amount, [region]);
        } else {
          r.defunded += amount;
          r.balance += amount;
          p.defunded += amount;
          p.balance -= amount;
          this.#checkPool(programmeId, p, e);
          this.#flow(e, "programme-defunding", pool, String(region), programmeId, amount, [region]);
        }
        break;
      }
      case "PayoutExecuted": {
        const { caseId, programmeId, eventId, period, amount } = e.args;
        const p = this.#pool(programmeId, e);
        p.paidOut += amount;
        p.balance -= amount;
        this.#paidOut += amount;
        this.#checkPool(programmeId, p, e);
        const i = this.#caseIndex(caseId);
        if (eventId === MONTHLY) this.#monthlyAmount[i] = Number(amount);
        else this.#eventPending.set(`${caseId}:${eventId}`, { amount, period });
        this.#tally(e, programmeId, period, i, (t) => add(t.paid, amount));
        this.#flow(e, "payout", `pool:${programmeId}`, "paid-out", programmeId, amount, [p.region]);
        if (this.#run.txHash !== e.txHash) this.#run = { txHash: e.txHash, count: 0, total: 0n };
        this.#run.count += 1;
        this.#run.total += amount;
        break;
      }
      case "PayoutRunExecuted": {
        const { programmeId, eventId, period, paid, total } = e.args;
        const run = this.#run.txHash === e.txHash ? this.#run : { count: 0, total: 0n };
        if (run.count !== paid || run.total !== total) {
          this.#report(
            {
              kind: "conservation-broken",
              programmeId,
              period,
              detail:
                `run of programme ${programmeId} (event ${eventId}) reports ${paid} payouts for ${total} fen, ` +
                `its payouts were ${run.count} for ${run.total} fen`,
            },
            e,
            this.#poolRegion(programmeId),
          );
        }
        this.#run = { txHash: e.txHash, count: 0, total: 0n };
        break;
      }
      case "PayoutSettled": {
        const { caseId, eventId, period } = e.args;
        const i = this.#cases.find(caseId);
        let amount: bigint | undefined;
        if (eventId === MONTHLY) {
          if (i >= 0 && this.#monthlyAmount[i] > 0) amount = BigInt(this.#monthlyAmount[i]);
        } else {
          const key = `${caseId}:${eventId}`;
          amount = this.#eventPending.get(key)?.amount;
          this.#eventPending.delete(key);
        }
        // A settlement of no known payout is the lifecycle check's to report; it moves no money.
        if (amount === undefined) break;
        // Settlements name only the case: a case belongs to one programme, whose pool paid it.
        const programmeId = this.#caseProgramme[i];
        if (programmeId > 0) this.#tally(e, programmeId, period, i, (t) => add(t.settled, amount));
        break;
      }
      case "PayoutFailed": {
        const { caseId, programmeId, eventId, period, amount } = e.args;
        const p = this.#pool(programmeId, e);
        p.failed += amount;
        p.balance += amount;
        this.#failed += amount;
        const i = this.#caseIndex(caseId);
        let paid: bigint | undefined;
        if (eventId === MONTHLY) {
          if (this.#monthlyAmount[i] > 0) paid = BigInt(this.#monthlyAmount[i]);
        } else {
          const key = `${caseId}:${eventId}`;
          paid = this.#eventPending.get(key)?.amount;
          this.#eventPending.delete(key);
        }
        if (paid !== undefined && paid !== amount) {
          this.#report(
            {
              kind: "conservation-broken",
              caseId,
              payoutId: `${caseId}:${period}:${eventId}`,
              programmeId,
              period,
              detail: `failure returned ${amount} fen to pool ${programmeId}, the payout paid ${paid} fen`,
            },
            e,
            this.#caseRegionOf(i),
          );
        }
        this.#tally(e, programmeId, period, i, (t) => add(t.failed, amount));
        this.#flow(e, "failure", "paid-out", `pool:${programmeId}`, programmeId, amount, [p.region]);
        break;
      }
      case "ClawbackRecorded": {
        const { caseId, programmeId, period, amount } = e.args;
        const p = this.#pool(programmeId, e);
        p.clawedBack += amount;
        p.balance += amount;
        this.#clawedBack += amount;
        const i = this.#caseIndex(caseId);
        this.#tally(e, programmeId, period, i, (t) => add(t.clawedBack, amount));
        this.#flow(e, "clawback", "paid-out", `pool:${programmeId}`, programmeId, amount, [p.region]);
        break;
      }
      case "VoucherFundsMoved":
        this.#voucherMove(e, e.args.programmeId, e.args.move, e.args.amount);
        break;
      default:
        break;
    }
  }

  #voucherMove(e: LedgerEvent, programmeId: number, move: VoucherFundsMove, amount: bigint): void {
    const p = this.#pool(programmeId, e);
    const pool = `pool:${programmeId}`;
    switch (move) {
      case VoucherFundsMove.Issue:
        p.vouchersIssued += amount;
        p.balance -= amount;
        this.#voucherEscrow += amount;
        this.#checkPool(programmeId, p, e);
        this.#flow(e, "voucher-issue", pool, "voucher-escrow", programmeId, amount, [p.region]);
        break;
      case VoucherFundsMove.Expire:
        p.vouchersExpired += amount;
        p.balance += amount;
        this.#voucherEscrow -= amount;
        this.#flow(e, "voucher-expiry", "voucher-escrow", pool, programmeId, amount, [p.region]);
        break;
      case VoucherFundsMove.Pay:
        p.redemptionsPaid += amount;
        this.#paidOut += amount;
        this.#voucherEscrow -= amount;
        this.#flow(e, "voucher-payment", "voucher-escrow", "paid-out", programmeId, amount, [p.region]);
        break;
      case VoucherFundsMove.Fail:
        p.redemptionsFailed += amount;
        this.#failed += amount;
        this.#voucherEscrow += amount;
        this.#flow(e, "voucher-failure", "paid-out", "voucher-escrow", programmeId, amount, [p.region]);
        break;
    }
  }

  /**
   * Checks the per-period books and compares every rebuilt figure with the chain's views. Read the views at the
   * block the stream ended at: if blocks arrived meanwhile, figures may differ for that reason alone (sweep again).
   */
  async finish(views: FundViews): Promise<FundsResult> {
    const scope = this.#scope;
    const regionInScope = (region: bigint) => scope.region === undefined || contains(scope.region, region);
    const programmeInScope = (id: number) => scope.programmeId === undefined || scope.programmeId === id;
    const periodInScope = (period: number) => scope.period === undefined || scope.period === period;
    const globalInScope = (scope.region === undefined || scope.region === 0n) && scope.programmeId === undefined;
    const exceptions = [...this.#exceptions];

    // Per programme and period: failures and settlements within what was paid, clawbacks within what was settled.
    for (const t of this.#periods.values()) {
      const problems: string[] = [];
      if (t.failed.amount + t.settled.amount > t.paid.amount) {
        problems.push(`settled ${t.settled.amount} and failed ${t.failed.amount} fen of ${t.paid.amount} paid`);
      }
      if (t.clawedBack.amount > t.settled.amount) {
        problems.push(`clawed back ${t.clawedBack.amount} fen of ${t.settled.amount} settled`);
      }
      if (problems.length === 0) continue;
      if (!programmeInScope(t.programmeId) || !periodInScope(t.period)) continue;
      const region = this.#poolRegion(t.programmeId);
      if (scope.region !== undefined && !this.#scopedPeriods.has(`${t.programmeId}:${t.period}`)) continue;
      exceptions.push({
        kind: "conservation-broken",
        severity: "error",
        programmeId: t.programmeId,
        period: t.period,
        region: region === undefined ? undefined : String(region),
        txHash: t.lastTxHash,
        blockNumber: t.lastBlockNumber,
        detail: `programme ${t.programmeId}, period ${t.period}: ${problems.join("; ")}`,
      });
    }

    const regionCodes = [...this.#regions.keys()].sort(compareBig);
    const poolIds = [...this.#pools.keys()].sort((a, b) => a - b);
    const chainRegions = await mapLimited(regionCodes, this.#concurrency, (r) => views.regionBalance(r));
    const chainPools = await mapLimited(poolIds, this.#concurrency, async (id) => ({
      balance: await views.poolBalance(id),
      paidOut: await views.programmePaidOut(id),
    }));
    const chain = await views.fundTotals();
    const chainEscrow = views.voucherEscrow ? await views.voucherEscrow() : 0n;

    const regions: RegionSummary[] = regionCodes.map((region, k) => {
      const t = this.#regions.get(region)!;
      return {
        region,
        level: levelOf(region),
        appropriated: t.appropriated,
        allocatedIn: t.allocatedIn,
        allocatedOut: t.allocatedOut,
        returnedIn: t.returnedIn,
        returnedOut: t.returnedOut,
        funded: t.funded,
        defunded: t.defunded,
        balance: t.balance,
        chainBalance: chainRegions[k],
        lastTxHash: t.lastTxHash,
        lastBlockNumber: t.lastBlockNumber,
      };
    });
    for (const r of regions) {
      if (r.balance === r.chainBalance || !regionInScope(r.region) || scope.programmeId !== undefined) continue;
      exceptions.push({
        kind: "balance-mismatch",
        severity: "error",
        region: String(r.region),
        txHash: r.lastTxHash,
        blockNumber: r.lastBlockNumber,
        detail: `region ${r.region}: events give ${r.balance} fen, the chain holds ${r.chainBalance} fen`,
      });
    }

    const pools: PoolSummary[] = poolIds.map((programmeId, k) => {
      const t = this.#pools.get(programmeId)!;
      return {
        programmeId,
        region: t.region,
        funded: t.funded,
        defunded: t.defunded,
        paidOut: t.paidOut,
        failed: t.failed,
        clawedBack: t.clawedBack,
        vouchersIssued: t.vouchersIssued,
        vouchersExpired: t.vouchersExpired,
        redemptionsPaid: t.redemptionsPaid,
        redemptionsFailed: t.redemptionsFailed,
        balance: t.funded - t.defunded - t.paidOut + t.failed + t.clawedBack - t.vouchersIssued + t.vouchersExpired,
        chainBalance: chainPools[k].balance,
        netPaidOut: t.paidOut - t.failed - t.clawedBack + t.redemptionsPaid - t.redemptionsFailed,
        chainPaidOut: chainPools[k].paidOut,
        lastTxHash: t.lastTxHash,
        lastBlockNumber: t.lastBlockNumber,
      };
    });
    for (const p of pools) {
      if (!regionInScope(p.region) || !programmeInScope(p.programmeId)) continue;
      if (p.balance !== p.chainBalance) {
        exceptions.push(
          poolException(p, "balance-mismatch", `events give ${p.balance} fen, the pool holds ${p.chainBalance} fen`),
        );
      }
      if (p.netPaidOut !== p.chainPaidOut) {
        exceptions.push(
          poolException(
            p,
            "balance-mismatch",
            `events give ${p.netPaidOut} fen paid out, the chain's programmePaidOut is ${p.chainPaidOut} fen`,
          ),
        );
      }
    }

    const levels = new Map<number, LevelSummary>();
    for (const r of regions) {
      const l = levels.get(r.level) ?? {
        level: r.level,
        regions: 0,
        cameIn: 0n,
        wentOut: 0n,
        balance: 0n,
        chainBalance: 0n,
        holds: true,
      };
      l.regions += 1;
      l.cameIn += r.appropriated + r.allocatedIn + r.returnedIn + r.defunded;
      l.wentOut += r.allocatedOut + r.returnedOut + r.funded;
      l.chainBalance += r.chainBalance;
      l.balance = l.cameIn - l.wentOut;
      l.holds = l.balance === l.chainBalance;
      levels.set(r.level, l);
    }

    const netPaid = this.#paidOut - this.#failed - this.#clawedBack;
    const held =
      regions.reduce((s, r) => s + r.balance, 0n) + pools.reduce((s, p) => s + p.balance, 0n) + this.#voucherEscrow;
    const chainHeld =
      chainRegions.reduce((s, b) => s + b, 0n) + chainPools.reduce((s, p) => s + p.balance, 0n) + chainEscrow;
    const chainProgrammesPaid = chainPools.reduce((s, p) => s + p.paidOut, 0n);
    const totals: FundTotalsSummary = {
      appropriated: this.#appropriated,
      held,
      voucherEscrow: this.#voucherEscrow,
      chainVoucherEscrow: chainEscrow,
      paidOut: netPaid,
      holds: this.#appropriated === held + netPaid,
      chain,
      chainHolds: chain.appropriated === chainHeld + chain.paidOut && chainProgrammesPaid === chain.paidOut,
    };
    if (globalInScope) {
      const central = this.#regions.get(0n);
      const last = { txHash: central?.lastTxHash, blockNumber: central?.lastBlockNumber };
      const global = (kind: "balance-mismatch" | "conservation-broken", detail: string) =>
        exceptions.push({ kind, severity: "error", region: "0", ...last, detail });
      if (!totals.holds) {
        global(
          "conservation-broken",
          `events give ${this.#appropriated} fen appropriated, ${held} held, ${netPaid} paid`,
        );
      }
      if (chain.appropriated !== chainHeld + chain.paidOut) {
        global(
          "conservation-broken",
          `the chain holds ${chainHeld} fen in regions, pools and voucher escrow and paid out ${chain.paidOut} fen ` +
            `of ${chain.appropriated} fen appropriated`,
        );
      }
      if (chainProgrammesPaid !== chain.paidOut) {
        global(
          "conservation-broken",
          `the programmes' paid-out sum to ${chainProgrammesPaid} fen, fundTotals says ${chain.paidOut} fen`,
        );
      }
      if (chain.appropriated !== this.#appropriated) {
        global(
          "balance-mismatch",
          `events give ${this.#appropriated} fen appropriated, fundTotals says ${chain.appropriated} fen`,
        );
      }
      if (chain.paidOut !== netPaid) {
        global("balance-mismatch", `events give ${netPaid} fen paid out, fundTotals says ${chain.paidOut} fen`);
      }
      if (chain.held !== this.#appropriated - netPaid) {
        global(
          "balance-mismatch",
          `events give ${this.#appropriated - netPaid} fen held, fundTotals says ${chain.held} fen`,
        );
      }
    }

    const periodSource = scope.region === undefined ? this.#periods : this.#scopedPeriods;
    const periods: PeriodSummary[] = [...periodSource.values()]
      .filter((t) => programmeInScope(t.programmeId) && periodInScope(t.period))
      .sort((a, b) => a.programmeId - b.programmeId || a.period - b.period)
      .map((t) => ({
        programmeId: t.programmeId,
        period: t.period,
        paid: { ...t.paid },
        settled: { ...t.settled },
        failed: { ...t.failed },
        clawedBack: { ...t.clawedBack },
        outstanding: {
          count: t.paid.count - t.settled.count - t.failed.count,
          amount: t.paid.amount - t.settled.amount - t.failed.amount,
        },
      }));

    return {
      flows: [...this.#flows.values()].map((f) => ({ ...f })),
      regions: regions.filter((r) => regionInScope(r.region) && scope.programmeId === undefined),
      levels: [...levels.values()].sort((a, b) => a.level - b.level),
      pools: pools.filter((p) => regionInScope(p.region) && programmeInScope(p.programmeId)),
      periods,
      totals,
      exceptions,
    };
  }

  #caseIndex(caseId: string): number {
    const i = this.#cases.add(caseId);
    if (i >= this.#caseRegion.length) {
      const n = this.#caseRegion.length;
      this.#caseRegion = grown(this.#caseRegion, i + 1);
      this.#caseRegion.fill(UNKNOWN_REGION, n);
      this.#monthlyAmount = grown(this.#monthlyAmount, this.#caseRegion.length);
      this.#caseProgramme = grown(this.#caseProgramme, this.#caseRegion.length);
    }
    return i;
  }

  #caseRegionOf(i: number): bigint | undefined {
    if (i < 0 || i >= this.#caseRegion.length || this.#caseRegion[i] === UNKNOWN_REGION) return undefined;
    return BigInt(this.#caseRegion[i]);
  }

  #poolRegion(programmeId: number): bigint | undefined {
    return this.#pools.get(programmeId)?.region;
  }

  #region(region: bigint, e?: LedgerEvent): RegionTally {
    let t = this.#regions.get(region);
    if (!t) {
      t = {
        appropriated: 0n,
        allocatedIn: 0n,
        allocatedOut: 0n,
        returnedIn: 0n,
        returnedOut: 0n,
        funded: 0n,
        defunded: 0n,
        balance: 0n,
        negative: false,
      };
      this.#regions.set(region, t);
    }
    if (e) touch(t, e);
    return t;
  }

  #pool(programmeId: number, e?: LedgerEvent): PoolTally {
    let t = this.#pools.get(programmeId);
    if (!t) {
      t = {
        region: 0n,
        funded: 0n,
        defunded: 0n,
        paidOut: 0n,
        failed: 0n,
        clawedBack: 0n,
        vouchersIssued: 0n,
        vouchersExpired: 0n,
        redemptionsPaid: 0n,
        redemptionsFailed: 0n,
        balance: 0n,
        negative: false,
      };
      this.#pools.set(programmeId, t);
    }
    if (e) touch(t, e);
    return t;
  }

  #checkRegion(region: bigint, t: RegionTally, e: LedgerEvent): void {
    if (t.balance >= 0n || t.negative) return;
    t.negative = true;
    if (this.#scope.programmeId !== undefined) return;
    this.#report(
      {
        kind: "conservation-broken",
        region: String(region),
        detail: `region ${region} sent out more than it held: its balance would be ${t.balance} fen`,
      },
      e,
      region,
    );
  }

  #checkPool(programmeId: number, t: PoolTally, e: LedgerEvent): void {
    if (t.balance >= 0n || t.negative) return;
    t.negative = true;
    if (this.#scope.programmeId !== undefined && this.#scope.programmeId !== programmeId) return;
    this.#report(
      {
        kind: "conservation-broken",
        programmeId,
        region: String(t.region),
        detail: `pool ${programmeId} paid out more than it held: its balance would be ${t.balance} fen`,
      },
      e,
      t.region,
    );
  }

  /** Adds an exception found while streaming, if what it concerns is in scope. */
  #report(
    x: Omit<SweepException, "severity" | "txHash" | "blockNumber">,
    e: LedgerEvent,
    region: bigint | undefined,
  ): void {
    const s = this.#scope;
    if (s.region !== undefined && (region === undefined || !contains(s.region, region))) return;
    if (s.programmeId !== undefined && x.programmeId !== undefined && x.programmeId !== s.programmeId) return;
    if (s.period !== undefined && x.period !== undefined && x.period !== s.period) return;
    this.#exceptions.push({ ...x, severity: "error", txHash: e.txHash, blockNumber: e.blockNumber });
  }

  /** Counts a payout movement in its programme-period row (and in the scoped row when the scope can see it). */
  #tally(e: LedgerEvent, programmeId: number, period: number, i: number, f: (t: PeriodTally) => void): void {
    if (i >= 0) this.#caseProgramme[i] = programmeId;
    const key = `${programmeId}:${period}`;
    const t = periodRow(this.#periods, key, programmeId, period);
    f(t);
    touch(t, e);
    const s = this.#scope.region;
    if (s === undefined) return;
    const pool = this.#poolRegion(programmeId);
    const region = this.#caseRegionOf(i);
    if ((pool !== undefined && contains(s, pool)) || (region !== undefined && contains(s, region))) {
      const st = periodRow(this.#scopedPeriods, key, programmeId, period);
      f(st);
      touch(st, e);
    }
  }

  #flow(
    e: LedgerEvent,
    type: FundFlowType,
    from: string,
    to: string,
    programmeId: number | null,
    amount: bigint,
    regions: bigint[],
  ): void {
    const s = this.#scope;
    if (s.programmeId !== undefined && programmeId !== s.programmeId) return;
    if (s.region !== undefined && !regions.some((r) => contains(s.region!, r))) return;
    if (s.period !== undefined && (e.timestamp === undefined || periodAt(e.timestamp) !== s.period)) return;
    const key = `${type}|${from}|${to}|${programmeId ?? ""}`;
    let f = this.#flows.get(key);
    if (!f) {
      f = { type, from, to, programmeId, count: 0, amount: 0n };
      this.#flows.set(key, f);
    }
    f.count += 1;
    f.amount += amount;
  }
}

function add(c: CountAmount, amount: bigint): void {
  c.count += 1;
  c.amount += amount;
}

function touch(t: Touch, e: LedgerEvent): void {
  t.lastTxHash = e.txHash;
  t.lastBlockNumber = e.blockNumber;
}

function periodRow(map: Map<string, PeriodTally>, key: string, programmeId: number, period: number): PeriodTally {
  let t = map.get(key);
  if (!t) {
    t = { programmeId, period, paid: ZERO(), settled: ZERO(), failed: ZERO(), clawedBack: ZERO() };
    map.set(key, t);
  }
  return t;
}

function poolException(p: PoolSummary, kind: "balance-mismatch" | "conservation-broken", what: string): SweepException {
  return {
    kind,
    severity: "error",
    programmeId: p.programmeId,
    region: String(p.region),
    txHash: p.lastTxHash,
    blockNumber: p.lastBlockNumber,
    detail: `pool ${p.programmeId}: ${what}`,
  };
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `f` over `items`, at most `limit` at a time, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await f(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
