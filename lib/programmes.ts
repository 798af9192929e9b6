import { ProgrammeKind } from "./roles";

/**
 * A programme's rule as `IProgrammes.Programme` takes it, with the defaults of the policy sources in
 * PRODUCT.md (the same numbers as the constants in `contracts/programmes/Programmes.sol`).
 */
export interface ProgrammeRule {
  kind: ProgrammeKind;
  region: bigint;
  amount: bigint;
  deductible: bigint;
  ratioBps: number;
  validityMonths: number;
  exitPeriods: number;
  noticePeriod: number;
  disputeWindow: number;
  exclusionGroup: number;
  ruleVersion: string;
}

/** Exactly a rule's fields, in `IProgrammes.Programme`'s order (whatever else `rule` carries is left out). */
export function ruleFields(rule: ProgrammeRule): ProgrammeRule {
  return {
    kind: rule.kind,
    region: rule.region,
    amount: rule.amount,
    deductible: rule.deductible,
    ratioBps: rule.ratioBps,
    validityMonths: rule.validityMonths,
    exitPeriods: rule.exitPeriods,
    noticePeriod: rule.noticePeriod,
    disputeWindow: rule.disputeWindow,
    exclusionGroup: rule.exclusionGroup,
    ruleVersion: rule.ruleVersion,
  };
}

const DAY = 24 * 3600;

export const DEFAULTS = {
  noticePeriod: 7 * DAY, // 公示: 7 days
  validityMonths: 12, // yearly re-certification
  exitPeriods: 6, // 漸退: six more months
  temporaryCeiling: 500_000n, // a township approves up to 5,000 yuan
  disputeWindow: 15 * DAY,
} as const;

/** A rule with the defaults filled in; `amount` means what `IProgrammes.Programme.amount` says per kind. */
export function programmeRule(
  kind: ProgrammeKind,
  region: bigint,
  ruleVersion: string,
  over: Partial<ProgrammeRule> = {},
): ProgrammeRule {
  return {
    kind,
    region,
    amount: kind === ProgrammeKind.Temporary ? DEFAULTS.temporaryCeiling : 0n,
    deductible: 0n,
    ratioBps: 0,
    validityMonths: DEFAULTS.validityMonths,
    exitPeriods: DEFAULTS.exitPeriods,
    noticePeriod: DEFAULTS.noticePeriod,
    disputeWindow: DEFAULTS.disputeWindow,
    exclusionGroup: 0,
    ruleVersion,
    ...over,
  };
}

/** 低保's gap rule, as the contract computes it: (standard − income per head) × household size, floored at 0. */
export function gapAmount(standard: bigint, incomePerHead: bigint, householdSize: number): bigint {
  return incomePerHead >= standard ? 0n : (standard - incomePerHead) * BigInt(householdSize);
}

/** 醫療救助's rule for one bill: ratio × (bill − deductible), within what is left of the annual cap. */
export function medicalAmount(bill: bigint, deductible: bigint, ratioBps: number, capLeft: bigint): bigint {
  const raw = bill > deductible ? ((bill - deductible) * BigInt(ratioBps)) / 10_000n : 0n;
  return raw < capLeft ? raw : capLeft;
}
