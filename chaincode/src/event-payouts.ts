/**
 * `EventPayouts`: payouts an event triggers rather than the calendar — a medical bill certified by a medical
 * office, a disaster declared in a region. The programme's rule sets the amount; no one approves the payment.
 */
import type {
  DisasterDeclaration,
  DisasterReliefRun,
  MedicalBill,
  PayoutOutcome,
  PayoutRunSummary,
} from "../../lib/ledger-model";
import { medicalAmount } from "../../lib/programmes";
import { contains, isValidRegion } from "../../lib/regions";
import { PayoutStatus, ProgrammeKind, Role, SkipReason } from "../../lib/roles";
import { authorize, requireNotPaused } from "./access";
import { big, bytes32, bytes32List, uint, ZERO32, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { knownCase, loadCase, saveCase, type CaseDoc } from "./case-state";
import { poolBalanceOf, recordPayouts } from "./budget";
import { eventPayoutKey, loadEventPayout, type EventPayout } from "./payout-keys";
import { conditions } from "./payouts";
import { loadProgramme } from "./programmes";
import { refuse } from "./refusal";
import { pad } from "./store";

interface Disaster {
  programmeId: number;
  region: bigint;
  period: number;
}

const billKey = (ctx: ReliefContext, billId: string) => ctx.store.key("bill", billId);
const disasterKey = (ctx: ReliefContext, id: string) => ctx.store.key("disaster", id);
const medicalUsedKey = (ctx: ReliefContext, pseudonym: string, programmeId: number, year: number) =>
  ctx.store.key("medicalUsed", pseudonym, pad(programmeId, 10), pad(year, 6));

/** Stores an event payout; an event is listed once per case even if a failed payout is made again. */
async function recordEventPayout(
  ctx: ReliefContext,
  caseId: string,
  doc: CaseDoc,
  eventId: string,
  payout: EventPayout,
) {
  const key = eventPayoutKey(ctx, caseId, eventId);
  if ((await loadEventPayout(ctx, caseId, eventId)) === undefined) {
    // Query index: the payouts of a case, in the order they were first made.
    await ctx.store.put(ctx.store.key("payout~case", caseId, pad(doc.eventCount, 6)), eventId);
    doc.eventCount += 1;
    await saveCase(ctx, caseId, doc);
  }
  await ctx.store.put(key, payout);
}

export async function certifyMedicalBill(ctx: ReliefContext, input: Json): Promise<{ amount: bigint; period: number }> {
  const bill: MedicalBill = {
    billId: bytes32(input, "billId"),
    caseId: bytes32(input, "caseId"),
    billAmount: big(input, "billAmount", 64),
    billDigest: bytes32(input, "billDigest"),
  };
  const { billId, caseId, billAmount, billDigest } = bill;
  const doc = await knownCase(ctx, caseId);
  const p = await loadProgramme(ctx, doc.programmeId);
  if (p.kind !== ProgrammeKind.Medical)
    refuse("LedgerWrongProgrammeKind", { programmeId: doc.programmeId, kind: p.kind });
  await authorize(ctx, [Role.MedicalOffice], doc.region);
  if (billId === ZERO32) refuse("LedgerInvalidInput", { field: "billId" });
  if ((await ctx.store.get<boolean>(billKey(ctx, billId))) === true) refuse("LedgerBillAlreadyCertified", { billId });
  const period = ctx.period;
  const reason = conditions(ctx, doc, doc.programmeId, period);
  if (reason !== undefined) refuse("LedgerCaseNotPayable", { caseId, reason });

  // ratio × (bill − deductible), within what is left of this beneficiary's cap for the year (the case amount).
  const usedKey = medicalUsedKey(ctx, doc.pseudonym, doc.programmeId, Math.floor(period / 12));
  const used = await ctx.store.getBig(usedKey);
  const left = doc.amount > used ? doc.amount - used : 0n;
  const amount = medicalAmount(billAmount, p.deductible, p.ratioBps, left);
  if (amount === 0n) refuse("LedgerNothingPayable", { caseId });
  const available = await poolBalanceOf(ctx, doc.programmeId);
  if (available < amount) refuse("LedgerInsufficientFunds", { available, requested: amount });
  await ctx.store.putBig(usedKey, used + amount);

  await ctx.store.put(billKey(ctx, billId), true);
  await recordEventPayout(ctx, caseId, doc, billId, { amount, period, status: PayoutStatus.Paid, medical: true });
  await recordPayouts(ctx, doc.programmeId, amount);
  ctx.emit("MedicalBillCertified", { billId, caseId, billAmount, amount, billDigest });
  ctx.emit("PayoutExecuted", { caseId, programmeId: doc.programmeId, eventId: billId, period, amount });
  return { amount, period };
}

/** Undoes the medical bookkeeping of a failed bill payout so the bill can be certified again. */
export async function releaseMedical(ctx: ReliefContext, doc: CaseDoc, billId: string, ep: EventPayout): Promise<void> {
  await ctx.store.put(billKey(ctx, billId), false);
  const usedKey = medicalUsedKey(ctx, doc.pseudonym, doc.programmeId, Math.floor(ep.period / 12));
  await ctx.store.putBig(usedKey, (await ctx.store.getBig(usedKey)) - ep.amount);
}

export async function declareDisaster(ctx: ReliefContext, input: Json): Promise<void> {
  const declaration: DisasterDeclaration = {
    disasterId: bytes32(input, "disasterId"),
    programmeId: uint(input, "programmeId", 32),
    region: big(input, "region", 64),
    declarationDigest: bytes32(input, "declarationDigest"),
  };
  const { disasterId, programmeId, region, declarationDigest } = declaration;
  const p = await loadProgramme(ctx, programmeId);
  if (p.kind !== ProgrammeKind.Disaster) refuse("LedgerWrongProgrammeKind", { programmeId, kind: p.kind });
  if (!isValidRegion(region)) refuse("LedgerInvalidInput", { field: "region" });
  if (!contains(p.region, region)) refuse("LedgerRegionOutsideProgramme", { region, programmeRegion: p.region });
  await authorize(ctx, [Role.Approver], region);
  if (disasterId === ZERO32) refuse("LedgerInvalidInput", { field: "disasterId" });
  if ((await ctx.store.get<Disaster>(disasterKey(ctx, disasterId))) !== undefined)
    refuse("LedgerDisasterExists", { disasterId });
  await ctx.store.put(disasterKey(ctx, disasterId), { programmeId, region, period: ctx.period });
  ctx.emit("DisasterDeclared", { disasterId, programmeId, region, declarationDigest });
}

/** One chunk of a relief run (the adapter chunks): its summary is the reply. */
export async function payDisasterRelief(ctx: ReliefContext, input: Json): Promise<PayoutRunSummary> {
  const run: DisasterReliefRun = { disasterId: bytes32(input, "disasterId"), caseIds: bytes32List(input, "caseIds") };
  const { disasterId, caseIds } = run;
  await requireNotPaused(ctx);
  const d = await ctx.store.get<Disaster>(disasterKey(ctx, disasterId), ["region"]);
  if (d === undefined) refuse("LedgerUnknownDisaster", { disasterId });
  const available = await poolBalanceOf(ctx, d.programmeId);
  const outcomes: PayoutOutcome[] = [];
  let total = 0n;
  let paid = 0;
  for (const caseId of caseIds) {
    const doc = await loadCase(ctx, caseId);
    const amount = doc?.amount ?? 0n;
    let reason = conditions(ctx, doc, d.programmeId, d.period);
    if (reason === undefined && doc !== undefined && !contains(d.region, doc.region)) reason = SkipReason.OutsideRegion;
    if (
      reason === undefined &&
      ((await loadEventPayout(ctx, caseId, disasterId))?.status ?? PayoutStatus.None) !== PayoutStatus.None
    ) {
      reason = SkipReason.AlreadyPaid;
    }
    if (reason === undefined && amount > available - total) reason = SkipReason.InsufficientBudget;
    if (reason !== undefined || doc === undefined) {
      const why = reason ?? SkipReason.UnknownCase;
      ctx.emit("PayoutSkipped", { caseId, eventId: disasterId, period: d.period, reason: why });
      outcomes.push({ caseId, status: "skipped", reason: why });
      continue;
    }
    await recordEventPayout(ctx, caseId, doc, disasterId, {
      amount,
      period: d.period,
      status: PayoutStatus.Paid,
      medical: false,
    });
    total += amount;
    paid += 1;
    ctx.emit("PayoutExecuted", { caseId, programmeId: d.programmeId, eventId: disasterId, period: d.period, amount });
    outcomes.push({ caseId, status: "paid", amount });
  }
  if (total !== 0n) await recordPayouts(ctx, d.programmeId, total);
  const skipped = caseIds.length - paid;
  ctx.emit("PayoutRunExecuted", {
    programmeId: d.programmeId,
    eventId: disasterId,
    period: d.period,
    paid,
    skipped,
    total,
  });
  return { programmeId: d.programmeId, eventId: disasterId, period: d.period, outcomes, paid, skipped, total };
}
