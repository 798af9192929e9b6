/**
 * A case in world state: `Cases.Entitlement` and `Cases.CaseFile` in one record, with the amount epochs and the
 * exit flag. The paid and settled masks keep `PackedEntitlement`'s meaning: bit i is period `paidThrough − i`,
 * 32 periods tracked.
 */
import type { CaseRecord } from "../../lib/ledger-model";
import { CaseStatus } from "../../lib/roles";
import type { ReliefContext } from "./context";
import { refuse } from "./refusal";

export const WINDOW = 32;

export interface AmountEpoch {
  amount: bigint;
  paidThrough: number;
  paidMask: number;
}

/** The `CaseRecord` the ledgers answer with, and what only the chaincode's rules need. */
export interface CaseDoc extends CaseRecord {
  /** Whether an exit was decided (a suspended exit resumes as an exit). */
  exiting: boolean;
  epochs: AmountEpoch[];
  /** Event payouts listed so far (the `caseEvent` index runs 0 … eventCount − 1). */
  eventCount: number;
}

const CASE_BIGINTS = ["amount", "region"] as const;

export function caseKey(ctx: ReliefContext, caseId: string): string {
  return ctx.store.key("case", caseId);
}

export async function loadCase(ctx: ReliefContext, caseId: string): Promise<CaseDoc | undefined> {
  const doc = await ctx.store.get<CaseDoc>(caseKey(ctx, caseId), CASE_BIGINTS);
  if (doc !== undefined) doc.epochs = doc.epochs.map((e) => ({ ...e, amount: BigInt(e.amount) }));
  return doc;
}

export async function saveCase(ctx: ReliefContext, caseId: string, doc: CaseDoc): Promise<void> {
  await ctx.store.put(caseKey(ctx, caseId), doc);
}

/** `Cases._known`. */
export async function knownCase(ctx: ReliefContext, caseId: string): Promise<CaseDoc> {
  const doc = await loadCase(ctx, caseId);
  if (doc === undefined || doc.status === CaseStatus.None) refuse("LedgerUnknownCase", { caseId });
  return doc;
}

/** Refuses `LedgerInvalidCaseStatus` unless the case is in one of the `allowed` statuses. */
export function requireStatus(caseId: string, doc: CaseDoc, ...allowed: CaseStatus[]): void {
  if (!allowed.includes(doc.status)) refuse("LedgerInvalidCaseStatus", { caseId, status: doc.status });
}

/** `Cases._case`: known and in `expected` status. */
export async function caseIn(ctx: ReliefContext, caseId: string, expected: CaseStatus): Promise<CaseDoc> {
  const doc = await knownCase(ctx, caseId);
  requireStatus(caseId, doc, expected);
  return doc;
}

/** `Payouts._periodBit`: the bit of `period` in the masks, if inside the tracked window. */
export function periodBit(doc: CaseDoc | undefined, period: number): number | undefined {
  if (doc === undefined) return undefined;
  if (period > doc.paidThrough || doc.paidThrough - period >= WINDOW) return undefined;
  return (1 << (doc.paidThrough - period)) >>> 0;
}
