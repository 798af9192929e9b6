/** `Programmes`: what each programme pays and on which conditions (the rule type is `lib/programmes.ts`'s). */
import type { ProgrammeRule } from "../../lib/programmes";
import { isValidRegion, levelOf } from "../../lib/regions";
import { ProgrammeKind, Role } from "../../lib/roles";
import { authorize } from "./access";
import { big, bytes32, object, uint, ZERO32, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { invalidArgument, refuse } from "./refusal";
import { pad } from "./store";

const COUNT_KEY = "programmeCount";
export const PROGRAMME_BIGINTS = ["region", "amount", "deductible"] as const;
const UINT40_MAX = (1n << 40n) - 1n;
const DAY = 24 * 3600;

export function programmeKey(ctx: ReliefContext, programmeId: number): string {
  return ctx.store.key("programme", pad(programmeId, 10));
}

/** The rule as `IProgrammes.Programme` takes it, range-checked as the ABI would. */
export function parseRule(input: Json): ProgrammeRule {
  const kind = uint(input, "kind", 8);
  if (kind > ProgrammeKind.Voucher) invalidArgument("kind", kind);
  return {
    kind,
    region: big(input, "region", 64),
    amount: big(input, "amount", 64),
    deductible: big(input, "deductible", 64),
    ratioBps: uint(input, "ratioBps", 16),
    validityMonths: uint(input, "validityMonths", 16),
    exitPeriods: uint(input, "exitPeriods", 16),
    noticePeriod: uint(input, "noticePeriod", 32),
    disputeWindow: uint(input, "disputeWindow", 32),
    exclusionGroup: uint(input, "exclusionGroup", 32),
    ruleVersion: bytes32(input, "ruleVersion"),
  };
}

function validate(p: ProgrammeRule): void {
  // Pools are funded by a finance bureau of exactly the programme's region: county level at the finest.
  if (!isValidRegion(p.region) || levelOf(p.region) > 3) refuse("LedgerInvalidProgramme", { field: "region" });
  if (p.ruleVersion === ZERO32) refuse("LedgerInvalidProgramme", { field: "ruleVersion" });
  if (p.amount === 0n || p.amount > UINT40_MAX) refuse("LedgerInvalidProgramme", { field: "amount" });
  if (p.validityMonths === 0 || p.validityMonths > 120) refuse("LedgerInvalidProgramme", { field: "validityMonths" });
  if (p.exitPeriods > 24) refuse("LedgerInvalidProgramme", { field: "exitPeriods" });
  if (p.noticePeriod > 90 * DAY) refuse("LedgerInvalidProgramme", { field: "noticePeriod" });
  if (p.kind === ProgrammeKind.Medical) {
    if (p.ratioBps === 0 || p.ratioBps > 10_000) refuse("LedgerInvalidProgramme", { field: "ratioBps" });
  } else {
    if (p.ratioBps !== 0) refuse("LedgerInvalidProgramme", { field: "ratioBps" });
    if (p.deductible !== 0n) refuse("LedgerInvalidProgramme", { field: "deductible" });
  }
}

/** The programme, or the refusal `LedgerUnknownProgramme`. */
export async function loadProgramme(ctx: ReliefContext, programmeId: number): Promise<ProgrammeRule> {
  const p = await ctx.store.get<ProgrammeRule>(programmeKey(ctx, programmeId), PROGRAMME_BIGINTS);
  if (p === undefined) refuse("LedgerUnknownProgramme", { programmeId });
  return p;
}

export async function programmeCount(ctx: ReliefContext): Promise<number> {
  return (await ctx.store.get<number>(COUNT_KEY)) ?? 0;
}

export async function createProgramme(ctx: ReliefContext, input: Json): Promise<{ programmeId: number }> {
  const p = parseRule(input);
  validate(p);
  await authorize(ctx, [Role.Approver], p.region);
  const programmeId = (await programmeCount(ctx)) + 1;
  await ctx.store.put(COUNT_KEY, programmeId);
  await ctx.store.put(programmeKey(ctx, programmeId), p);
  ctx.emit("ProgrammeCreated", { programmeId, kind: p.kind, region: p.region, ruleVersion: p.ruleVersion });
  return { programmeId };
}

export async function updateProgrammeRule(ctx: ReliefContext, input: Json): Promise<void> {
  const programmeId = uint(input, "programmeId", 32);
  const p = parseRule(object(input, "rule"));
  const current = await loadProgramme(ctx, programmeId);
  // The exclusion group is identity too: changing it would orphan the places its active cases hold.
  if (p.kind !== current.kind || p.region !== current.region || p.exclusionGroup !== current.exclusionGroup) {
    refuse("LedgerProgrammeIdentityChanged", { programmeId });
  }
  validate(p);
  await authorize(ctx, [Role.Approver], p.region);
  const old = current.ruleVersion;
  if (p.ruleVersion === old) refuse("LedgerInvalidProgramme", { field: "ruleVersion" });
  await ctx.store.put(programmeKey(ctx, programmeId), p);
  ctx.emit("ProgrammeRuleUpdated", { programmeId, oldRuleVersion: old, newRuleVersion: p.ruleVersion });
}

export async function programme(ctx: ReliefContext, input: Json): Promise<ProgrammeRule> {
  return loadProgramme(ctx, uint(input, "programmeId", 32));
}
