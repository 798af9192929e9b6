/**
 * The sweep's voucher check (救助券): the voucher books rebuilt from the chain's events alone, streaming like the fund
 * check. Per voucher it keeps its face value, what is left and its expiry; per redemption its amount and status; per
 * programme what was issued, redeemed, expired and paid, and the ledger's `VoucherFundsMoved` totals.
 *
 * What it reports:
 * - `voucher-conservation-broken`: a voucher issued twice, or redeemed, expired or paid without being issued or
 *   redeemed; a redemption above what was left, out of order, or a payment, settlement or failure of a redemption
 *   not in the right status, or of another amount; per programme, `issued ≠ redeemed + expired + outstanding` (a
 *   negative outstanding or unpaid), or the ledger's fund moves (Issue, Expire, Pay − Fail) differing from the book's
 *   events; ledger-wide, the escrow rebuilt from the moves differing from `Σ outstanding + Σ redeemed-not-paid`.
 * - `voucher-remaining-mismatch`: an event's `remaining` (VoucherRedeemed) or `amount` (VoucherExpired) differing from
 *   face value − Σ redemptions rebuilt.
 * - `redemption-after-expiry`: a redemption in a block at or after its voucher's expiry.
 * - `balance-mismatch`: a rebuilt figure differing from the chain's `voucherTotals` or `voucherEscrow`.
 *
 * Conservation is computed over every programme; the scope only filters what is listed.
 */
import { contains } from "../../../../lib/regions";
import { RedemptionStatus, VoucherFundsMove } from "../../../../lib/vouchers";
import type { LedgerEvent, VoucherLedger } from "../../ledger";
import type { ExceptionKind, SweepException, SweepScope } from "./types";

export type VoucherExceptionKind = Extract<
  ExceptionKind,
  "voucher-conservation-broken" | "voucher-remaining-mismatch" | "redemption-after-expiry" | "balance-mismatch"
>;

export type VoucherException = SweepException & { kind: VoucherExceptionKind };

/** The chain's views the rebuilt figures are compared with. */
export type VoucherViews = Pick<VoucherLedger, "voucherTotals" | "voucherEscrow">;

export interface VoucherProgrammeSummary {
  programmeId: number;
  region: bigint | null;
  vouchers: number;
  issued: bigint;
  redeemed: bigint;
  expired: bigint;
  /** `issued − redeemed − expired`, and Σ remaining of unexpired vouchers (they agree when the books hold). */
  outstanding: bigint;
  paid: bigint;
  /** `redeemed − paid`: owed to providers. */
  unpaid: bigint;
  /** Net of the ledger's moves: Issue − Expire − Pay + Fail. */
  escrowMoved: bigint;
  chain?: { issued: bigint; redeemed: bigint; expired: bigint; paid: bigint };
  holds: boolean;
}

export interface VouchersResult {
  programmes: VoucherProgrammeSummary[];
  vouchers: number;
  redemptions: number;
  /** Σ outstanding + Σ unpaid over every programme. */
  escrow: bigint;
  /** Net of every `VoucherFundsMoved`. */
  escrowMoved: bigint;
  chainEscrow?: bigint;
  holds: boolean;
  exceptions: VoucherException[];
}

interface Voucher {
  programmeId: number;
  face: bigint;
  remaining: bigint;
  expiresAt: number;
  expired: boolean;
  redemptions: number;
}

interface Redemption {
  programmeId: number;
  amount: bigint;
  status: RedemptionStatus;
}

interface Programme {
  region: bigint | null;
  vouchers: number;
  issued: bigint;
  redeemed: bigint;
  expired: bigint;
  paid: bigint;
  moved: Record<VoucherFundsMove, bigint>;
  lastTxHash?: string;
  lastBlockNumber?: number;
}

export class VouchersCheck {
  readonly #scope: SweepScope;
  readonly #vouchers = new Map<string, Voucher>();
  readonly #redemptions = new Map<string, Redemption>();
  readonly #programmes = new Map<number, Programme>();
  readonly #exceptions: VoucherException[] = [];

  constructor(options: { scope?: SweepScope } = {}) {
    this.#scope = options.scope ?? {};
  }

  #programme(id: number): Programme {
    let p = this.#programmes.get(id);
    if (!p) {
      p = {
        region: null,
        vouchers: 0,
        issued: 0n,
        redeemed: 0n,
        expired: 0n,
        paid: 0n,
        moved: {
          [VoucherFundsMove.Issue]: 0n,
          [VoucherFundsMove.Expire]: 0n,
          [VoucherFundsMove.Pay]: 0n,
          [VoucherFundsMove.Fail]: 0n,
        },
      };
      this.#programmes.set(id, p);
    }
    return p;
  }

  #broken(kind: VoucherExceptionKind, e: LedgerEvent, detail: string, extra: Partial<VoucherException> = {}): void {
    this.#exceptions.push({ kind, severity: "error", txHash: e.txHash, blockNumber: e.blockNumber, detail, ...extra });
  }

  #touch(p: Programme, e: LedgerEvent): void {
    p.lastTxHash = e.txHash;
    p.lastBlockNumber = e.blockNumber;
  }

  consume(e: LedgerEvent): void {
    switch (e.name) {
      case "ProgrammeCreated":
        this.#programme(e.args.programmeId).region = e.args.region;
        return;
      case "VoucherIssued": {
        const { voucherId, programmeId, faceValue, expiresAt } = e.args;
        const p = this.#programme(programmeId);
        this.#touch(p, e);
        if (this.#vouchers.has(voucherId)) {
          this.#broken("voucher-conservation-broken", e, `voucher ${voucherId} issued twice`, {
            caseId: voucherId,
            programmeId,
          });
          return;
        }
        this.#vouchers.set(voucherId, {
          programmeId,
          face: faceValue,
          remaining: faceValue,
          expiresAt,
          expired: false,
          redemptions: 0,
        });
        p.vouchers += 1;
        p.issued += faceValue;
        return;
      }
      case "VoucherRedeemed": {
        const { voucherId, index, programmeId, amount, remaining } = e.args;
        const v = this.#vouchers.get(voucherId);
        const p = this.#programme(programmeId);
        this.#touch(p, e);
        const where = { caseId: voucherId, programmeId };
        if (!v || v.programmeId !== programmeId) {
          this.#broken(
            "voucher-conservation-broken",
            e,
            `redemption ${voucherId}:${index} of a voucher never issued in programme ${programmeId}`,
            where,
          );
          return;
        }
        if (v.expired)
          this.#broken(
            "voucher-conservation-broken",
            e,
            `redemption ${voucherId}:${index} of an expired voucher`,
            where,
          );
        if (e.timestamp !== undefined && e.timestamp >= v.expiresAt) {
          this.#broken(
            "redemption-after-expiry",
            e,
            `redemption ${voucherId}:${index} at ${e.timestamp}, the voucher expired at ${v.expiresAt}`,
            where,
          );
        }
        if (index !== v.redemptions) {
          this.#broken(
            "voucher-conservation-broken",
            e,
            `redemption ${voucherId}:${index} where index ${v.redemptions} was next`,
            where,
          );
        }
        if (amount <= 0n || amount > v.remaining) {
          this.#broken(
            "voucher-conservation-broken",
            e,
            `redemption ${voucherId}:${index} of ${amount} with ${v.remaining} left`,
            where,
          );
        }
        v.redemptions = Math.max(v.redemptions, index + 1);
        v.remaining -= amount;
        if (remaining !== v.remaining) {
          this.#broken(
            "voucher-remaining-mismatch",
            e,
            `voucher ${voucherId}: the event says ${remaining} left, face value − redemptions is ${v.remaining}`,
            where,
          );
        }
        this.#redemptions.set(`${voucherId}:${index}`, { programmeId, amount, status: RedemptionStatus.Redeemed });
        p.redeemed += amount;
        return;
      }
      case "VoucherExpired": {
        const { voucherId, programmeId, amount } = e.args;
        const v = this.#vouchers.get(voucherId);
        const p = this.#programme(programmeId);
        this.#touch(p, e);
        const where = { caseId: voucherId, programmeId };
        if (!v || v.programmeId !== programmeId || v.expired) {
          this.#broken(
            "voucher-conservation-broken",
            e,
            `voucher ${voucherId} expired without being issued and active`,
            where,
          );
          return;
        }
        if (amount !== v.remaining) {
          this.#broken(
            "voucher-remaining-mismatch",
            e,
            `voucher ${voucherId} expired returning ${amount}, ${v.remaining} was left`,
            where,
          );
        }
        if (e.timestamp !== undefined && e.timestamp < v.expiresAt) {
          this.#broken(
            "voucher-conservation-broken",
            e,
            `voucher ${voucherId} expired at ${e.timestamp}, before its expiry ${v.expiresAt}`,
            where,
          );
        }
        v.expired = true;
        v.remaining = 0n;
        p.expired += amount;
        return;
      }
      case "RedemptionPaid":
        return this.#move(
          e,
          e.args.voucherId,
          e.args.index,
          e.args.amount,
          RedemptionStatus.Redeemed,
          RedemptionStatus.Paid,
        );
      case "RedemptionFailed":
        return this.#move(
          e,
          e.args.voucherId,
          e.args.index,
          e.args.amount,
          RedemptionStatus.Paid,
          RedemptionStatus.Redeemed,
        );
      case "RedemptionSettled":
        return this.#move(
          e,
          e.args.voucherId,
          e.args.index,
          undefined,
          RedemptionStatus.Paid,
          RedemptionStatus.Settled,
        );
      case "VoucherFundsMoved": {
        const p = this.#programme(e.args.programmeId);
        this.#touch(p, e);
        p.moved[e.args.move] += e.args.amount;
        return;
      }
      default:
        return;
    }
  }

  #move(
    e: LedgerEvent,
    voucherId: string,
    index: number,
    amount: bigint | undefined,
    from: RedemptionStatus,
    to: RedemptionStatus,
  ): void {
    const r = this.#redemptions.get(`${voucherId}:${index}`);
    const where = { caseId: voucherId, programmeId: r?.programmeId };
    if (!r || r.status !== from) {
      this.#broken(
        "voucher-conservation-broken",
        e,
        `${e.name} of redemption ${voucherId}:${index}, which was not ${RedemptionStatus[from]}`,
        where,
      );
      return;
    }
    if (amount !== undefined && amount !== r.amount) {
      this.#broken(
        "voucher-conservation-broken",
        e,
        `${e.name} of ${amount} for redemption ${voucherId}:${index} of ${r.amount}`,
        where,
      );
    }
    const p = this.#programme(r.programmeId);
    this.#touch(p, e);
    if (to === RedemptionStatus.Paid) p.paid += r.amount;
    if (from === RedemptionStatus.Paid && to === RedemptionStatus.Redeemed) p.paid -= r.amount;
    r.status = to;
  }

  #inScope(id: number, p: Programme): boolean {
    if (this.#scope.programmeId !== undefined && this.#scope.programmeId !== id) return false;
    if (this.#scope.region !== undefined && p.region !== null && !contains(this.#scope.region, p.region)) return false;
    return true;
  }

  /** The summaries and exceptions, comparing with the chain's views when given. */
  async finish(views?: Partial<VoucherViews>): Promise<VouchersResult> {
    const exceptions = [...this.#exceptions];
    const remainingOf = new Map<number, bigint>();
    for (const v of this.#vouchers.values()) {
      if (!v.expired) remainingOf.set(v.programmeId, (remainingOf.get(v.programmeId) ?? 0n) + v.remaining);
    }
    const programmes: VoucherProgrammeSummary[] = [];
    let escrow = 0n;
    let escrowMoved = 0n;
    const ids = [...this.#programmes.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const p = this.#programmes.get(id)!;
      if (p.vouchers === 0 && p.moved[VoucherFundsMove.Issue] === 0n) continue;
      const where = { programmeId: id, txHash: p.lastTxHash, blockNumber: p.lastBlockNumber };
      const broken = (detail: string) =>
        exceptions.push({ kind: "voucher-conservation-broken", severity: "error", ...where, detail });
      const outstanding = p.issued - p.redeemed - p.expired;
      const unpaid = p.redeemed - p.paid;
      const moved =
        p.moved[VoucherFundsMove.Issue] -
        p.moved[VoucherFundsMove.Expire] -
        p.moved[VoucherFundsMove.Pay] +
        p.moved[VoucherFundsMove.Fail];
      const before = exceptions.length;
      if (outstanding < 0n || outstanding !== (remainingOf.get(id) ?? 0n)) {
        broken(
          `programme ${id}: issued ${p.issued} ≠ redeemed ${p.redeemed} + expired ${p.expired} + outstanding ${remainingOf.get(id) ?? 0n}`,
        );
      }
      if (unpaid < 0n) broken(`programme ${id}: paid ${p.paid} is more than redeemed ${p.redeemed}`);
      if (p.moved[VoucherFundsMove.Issue] !== p.issued) {
        broken(
          `programme ${id}: the ledger moved ${p.moved[VoucherFundsMove.Issue]} into escrow for ${p.issued} issued`,
        );
      }
      if (p.moved[VoucherFundsMove.Expire] !== p.expired) {
        broken(`programme ${id}: the ledger returned ${p.moved[VoucherFundsMove.Expire]} for ${p.expired} expired`);
      }
      if (p.moved[VoucherFundsMove.Pay] - p.moved[VoucherFundsMove.Fail] !== p.paid) {
        broken(
          `programme ${id}: the ledger paid out ${p.moved[VoucherFundsMove.Pay] - p.moved[VoucherFundsMove.Fail]} for ${p.paid} paid`,
        );
      }
      let chain: VoucherProgrammeSummary["chain"];
      if (views?.voucherTotals) {
        chain = await views.voucherTotals(id);
        for (const field of ["issued", "redeemed", "expired", "paid"] as const) {
          if (chain[field] !== p[field]) {
            exceptions.push({
              kind: "balance-mismatch",
              severity: "error",
              ...where,
              detail: `programme ${id}: ${field} rebuilt ${p[field]}, voucherTotals says ${chain[field]}`,
            });
          }
        }
      }
      escrow += outstanding + unpaid;
      escrowMoved += moved;
      if (this.#inScope(id, p)) {
        programmes.push({
          programmeId: id,
          region: p.region,
          vouchers: p.vouchers,
          issued: p.issued,
          redeemed: p.redeemed,
          expired: p.expired,
          outstanding,
          paid: p.paid,
          unpaid,
          escrowMoved: moved,
          chain,
          holds: exceptions.length === before,
        });
      }
    }
    if (escrow !== escrowMoved) {
      exceptions.push({
        kind: "voucher-conservation-broken",
        severity: "error",
        detail: `voucher escrow: the ledger's moves hold ${escrowMoved}, outstanding + unpaid is ${escrow}`,
      });
    }
    let chainEscrow: bigint | undefined;
    if (views?.voucherEscrow) {
      chainEscrow = await views.voucherEscrow();
      if (chainEscrow !== escrow) {
        exceptions.push({
          kind: "balance-mismatch",
          severity: "error",
          detail: `voucher escrow: rebuilt ${escrow}, voucherEscrow says ${chainEscrow}`,
        });
      }
    }
    return {
      programmes,
      vouchers: this.#vouchers.size,
      redemptions: this.#redemptions.size,
      escrow,
      escrowMoved,
      chainEscrow,
      holds: exceptions.length === 0,
      exceptions,
    };
  }
}

/** The check over a list of events (tests, tools): feed them all, then finish. */
export async function checkVoucherEvents(
  events: Iterable<LedgerEvent>,
  views?: Partial<VoucherViews>,
  scope?: SweepScope,
): Promise<VouchersResult> {
  const check = new VouchersCheck({ scope });
  for (const e of events) check.consume(e);
  return check.finish(views);
}
