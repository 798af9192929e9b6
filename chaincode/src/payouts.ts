/**
 * `Payouts`: condition-triggered monthly payouts. An entitlement is paid for a period when the case is approved
 * (or inside its gradual exit), not suspended, its notice is over, the period is in its window, due and unpaid,
 * and the pool covers it. Anyone may run it: the conditions, not the caller, authorise payment. The paid bit is
 * set in the same write that records the payment, so a period is never paid twice.
 */
import { MONTHLY, type PayoutOutcome, type PayoutRun, type PayoutRunSummary } from "../../lib/ledger-model";
import { CaseStatus, ProgrammeKind, SkipReason } from "../../lib/roles";
import { requireNotPaused } from "./access";
import { bytes32List, uint, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { loadCase, saveCase, WINDOW, type CaseDoc } from "./case-state";
import { poolBalanceOf, recordPayouts } from "./budget";
import { loadProgramme, programmeKey } from "./programmes";
import { pad } from "./store";
import { refuse } from "./refusal";

export function isPeriodic(kind: ProgrammeKind): boolean {
  return kind === ProgrammeKind.MonthlyGap || kind === ProgrammeKind.MonthlyFixed || kind === ProgrammeKind.Temporary;
}

/** `Payouts._conditions`: the one place where "may this case be paid for this period" is decided. */
export function conditions(
  ctx: ReliefContext,
  doc: CaseDoc | undefined,
  programmeId: number,
  period: number,
): SkipReason | undefined {
  if (doc === undefined || doc.status === CaseStatus.None) return SkipReason.UnknownCase;
  if (doc.programmeId !== programmeId) return SkipReason.WrongProgramme;
  if (doc.status === CaseStatus.Suspended) return SkipReason.Suspended;
  if (doc.status !== CaseStatus.Approved && doc.status !== CaseStatus.Exiting) return SkipReason.NotApproved;
  if (ctx.now < doc.noticeEnds) return SkipReason.NoticeOpen;
  if (period < doc.firstPeriod) return SkipReason.NotStarted;
  if (period > doc.lastPeriod) return SkipReason.Expired;
  return undefined;
}

/** `Payouts._payPeriod`: the masks after paying `period`, or why it is skipped. */
function payPeriod(
  ctx: ReliefContext,
  doc: CaseDoc | undefined,
  programmeId: number,
  period: number,
): { reason: SkipReason } | { through: number; paid: number; settled: number } {
  const reason = conditions(ctx, doc, programmeId, period);
  if (reason !== undefined || doc === undefined) return { reason: reason ?? SkipReason.UnknownCase };
  let through = doc.paidThrough;
  let paid = doc.paidMask;
  let settled = doc.settledMask;
  if (period > through) {
    const shift = period - through;
    const unsettled = (paid & ~settled) >>> 0;
    // Advancing the window drops the oldest `shift` periods: none of them may await settlement.
    if (shift >= WINDOW ? unsettled !== 0 : unsettled >>> (WINDOW - shift) !== 0)
      return { reason: SkipReason.SettlementBacklog };
    paid = shift >= WINDOW ? 1 : ((paid << shift) | 1) >>> 0;
    settled = shift >= WINDOW ? 0 : (settled << shift) >>> 0;
    through = period;
  } else {
    const offset = through - period;
    if (offset >= WINDOW) return { reason: SkipReason.OutsideWindow };
    const bit = (1 << offset) >>> 0;
    if ((paid & bit) !== 0) return { reason: SkipReason.AlreadyPaid };
    paid = (paid | bit) >>> 0;
  }
  return { through, paid, settled };
}

/** One chunk of a run (the adapter chunks): its summary is the reply. */
export async function executePayouts(ctx: ReliefContext, input: Json): Promise<PayoutRunSummary> {
  const run: PayoutRun = {
    programmeId: uint(input, "programmeId", 32),
    period: uint(input, "period", 24),
    caseIds: bytes32List(input, "caseIds"),
  };
  const { programmeId, period, caseIds } = run;
  await requireNotPaused(ctx);
  const kind = (await loadProgramme(ctx, programmeId)).kind;
  if (!isPeriodic(kind)) refuse("LedgerWrongProgrammeKind", { programmeId, kind });
  if (period > ctx.period) refuse("LedgerPeriodNotDue", { period, currentPeriod: ctx.period });
  const available = await poolBalanceOf(ctx, programmeId);
  const outcomes: PayoutOutcome[] = [];
  let total = 0n;
  let paid = 0;
  for (const caseId of caseIds) {
    const doc = await loadCase(ctx, caseId);
    const step = payPeriod(ctx, doc, programmeId, period);
    let reason = "reason" in step ? step.reason : undefined;
    const amount = doc?.amount ?? 0n;
    if (reason === undefined && amount > available - total) reason = SkipReason.InsufficientBudget;
    if (reason !== undefined || doc === undefined || "reason" in step) {
      const why = reason ?? SkipReason.UnknownCase;
      ctx.emit("PayoutSkipped", { caseId, eventId: MONTHLY, period, reason: why });
      outcomes.push({ caseId, status: "skipped", reason: why });
      continue;
    }
    doc.paidThrough = step.through;
    doc.paidMask = step.paid;
    doc.settledMask = step.settled;
    await saveCase(ctx, caseId, doc);
    total += amount;
    paid += 1;
    ctx.emit("PayoutExecuted", { caseId, programmeId, eventId: MONTHLY, period, amount });
    outcomes.push({ caseId, status: "paid", amount });
  }
  if (total !== 0n) await recordPayouts(ctx, programmeId, total);
  const skipped = caseIds.length - paid;
  ctx.emit("PayoutRunExecuted", { programmeId, eventId: MONTHLY, period, paid, skipped, total });
  return { programmeId, eventId: MONTHLY, period, outcomes, paid, skipped, total };
}

/**
 * `Payouts.checkUpkeep` for a keeper: of the programme's approved cases `[offset, offset + limit)` (in case-id
 * order here, approval order on the EVM), those due this period, as many in order as the pool covers. A programme
 * paid by events never needs upkeep. Run the answer with `executePayouts`, which checks every condition again.
 */
export async function checkUpkeep(ctx: ReliefContext, input: Json) {
  const programmeId = uint(input, "programmeId", 32);
  const offset = uint(input, "offset", 53);
  const limit = uint(input, "limit", 53);
  const period = ctx.period;
  const p = await ctx.store.get<{ kind: ProgrammeKind }>(programmeKey(ctx, programmeId));
  const due: string[] = [];
  if (p !== undefined && isPeriodic(p.kind)) {
    const available = await poolBalanceOf(ctx, programmeId);
    let total = 0n;
    let i = 0;
    for await (const kv of ctx.store.scan("case~programme", pad(programmeId, 10))) {
      if (i++ < offset) continue;
      if (i > offset + limit) break;
      const caseId = kv.attributes[1];
      const doc = await loadCase(ctx, caseId);
      const step = payPeriod(ctx, doc, programmeId, period);
      if (!("reason" in step) && doc !== undefined && doc.amount <= available - total) {
        due.push(caseId);
        total += doc.amount;
      }
    }
  }
  return { upkeepNeeded: due.length > 0, programmeId, period, caseIds: due };
}

export async function currentPeriod(ctx: ReliefContext): Promise<number> {
  return ctx.period;
}
