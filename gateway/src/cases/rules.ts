/**
 * The programme rules a case is taken in under, and the exclusion rule: a person holds at most one live case in the
 * programmes of one exclusion group (城市低保, 農村低保 and 特困 are group 1 locally).
 *
 * The chain enforces exclusion only against approved cases (`LedgerExclusiveCaseActive` at submission and approval).
 * The gateway refuses earlier: any case of the person in the group that is not rejected (pending, in review, in
 * notice, approved, suspended) blocks a new one, and so does an exiting case until its last period has passed.
 *
 * Rules are read from the chain and remembered per gateway for {@link RULE_TTL_MS} (intake does not ask the chain for
 * the rule of every application); when the chain is unreachable or slow to answer ({@link RULE_REFRESH_WAIT_MS}), the
 * last rule read is used, so an application is still taken in at once (it waits as `pending-chain`; the chain checks
 * the rule again on submission). What intake uses a
 * rule for is its region and exclusion group; approval and re-certification read the rule from the chain each time,
 * and the chain refuses a rule version that is not the programme's current one.
 */
import { CaseStatus } from "../../../lib/roles";
import type { GatewayContext } from "../context";
import { LedgerError, LedgerUnavailableError, type ProgrammeRule } from "../ledger";
import type { CaseIndexRow, CaseIndexStatus, StoreData } from "../store";

/** How long a rule read from the chain is used without asking again, ms. */
export const RULE_TTL_MS = 10_000;

/**
 * How long intake waits for the chain to refresh a rule it remembers, ms. A hung node answers nothing until the
 * adapter's deadline (10 s): past this, the remembered rule is used and the read goes on, updating it if it comes.
 */
export const RULE_REFRESH_WAIT_MS = 500;

interface RememberedRules {
  rules: Map<number, { rule: ProgrammeRule; readAt: number }>;
  /** The chain read in flight per programme and when it was asked: concurrent intakes share it. */
  reading: Map<number, { read: Promise<ProgrammeRule | undefined>; askedAt: number }>;
}

const remembered = new WeakMap<GatewayContext, RememberedRules>();

/** The index status of a chain status. */
export const INDEX_STATUS: Record<CaseStatus, CaseIndexStatus | undefined> = {
  [CaseStatus.None]: undefined,
  [CaseStatus.Submitted]: "submitted",
  [CaseStatus.InNotice]: "in-notice",
  [CaseStatus.Approved]: "approved",
  [CaseStatus.Suspended]: "suspended",
  [CaseStatus.Exiting]: "exiting",
  [CaseStatus.Rejected]: "rejected",
};

/**
 * The programme's rule: from the chain (and remembered), or the remembered one if the chain is unreachable.
 * Undefined if the chain has no such programme. LedgerUnavailableError if the chain is unreachable and the rule was
 * never read.
 */
export async function programmeRule(ctx: GatewayContext, programmeId: number): Promise<ProgrammeRule | undefined> {
  let known = remembered.get(ctx);
  if (known === undefined) remembered.set(ctx, (known = { rules: new Map(), reading: new Map() }));
  const last = known.rules.get(programmeId);
  if (last !== undefined && Date.now() - last.readAt < RULE_TTL_MS) return last.rule;
  const { read, askedAt } = readRule(ctx, known, programmeId);
  if (last === undefined) return read;
  // Callers that come while a read is late wait only for what is left of its RULE_REFRESH_WAIT_MS.
  const wait = Math.max(0, askedAt + RULE_REFRESH_WAIT_MS - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), wait)));
  try {
    const answer = await Promise.race([read, late]);
    return answer === "late" ? last.rule : answer;
  } catch (error) {
    if (error instanceof LedgerUnavailableError) return last.rule;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** One chain read of a rule, shared by the callers that ask while it is in flight; it updates the remembered rule. */
function readRule(
  ctx: GatewayContext,
  known: RememberedRules,
  programmeId: number,
): { read: Promise<ProgrammeRule | undefined>; askedAt: number } {
  const inFlight = known.reading.get(programmeId);
  if (inFlight !== undefined) return inFlight;
  const readAt = Date.now();
  const read = ctx.ledger.programme(programmeId).then(
    (rule) => {
      known.rules.set(programmeId, { rule, readAt });
      return rule;
    },
    (error: unknown) => {
      if (error instanceof LedgerError && error.code === "LedgerUnknownProgramme") return undefined;
      throw error;
    },
  );
  known.reading.set(programmeId, { read, askedAt: readAt });
  // Left alone once the caller used the remembered rule: its failure is not an unhandled rejection.
  read.then(
    () => known.reading.delete(programmeId),
    () => known.reading.delete(programmeId),
  );
  return { read, askedAt: readAt };
}

/** Forgets the remembered rules of `ctx` (the next intake asks the chain), e.g. after a rule change. */
export function forgetRules(ctx: GatewayContext): void {
  remembered.delete(ctx);
}

/**
 * What the exclusion check needs to know beyond the index: the exclusion group of each programme the person's cases
 * are in, and which exiting cases have run out (their last period has passed). Read before the transaction that
 * re-checks the index, so that the check inside it needs no chain call.
 */
export interface ExclusionFacts {
  groupOf: ReadonlyMap<number, number>;
  ended: ReadonlySet<string>;
}

const LIVE: ReadonlySet<CaseIndexStatus> = new Set([
  "pending-chain",
  "submitted",
  "in-notice",
  "approved",
  "suspended",
]);

export async function exclusionFacts(
  ctx: GatewayContext,
  cases: readonly CaseIndexRow[],
  ruleOf: (programmeId: number) => Promise<ProgrammeRule | undefined> = (id) => programmeRule(ctx, id),
): Promise<ExclusionFacts> {
  const groupOf = new Map<number, number>();
  const ended = new Set<string>();
  for (const c of cases) {
    if (c.status === "rejected" || groupOf.has(c.programmeId)) continue;
    try {
      const rule = await ruleOf(c.programmeId);
      if (rule !== undefined) groupOf.set(c.programmeId, rule.exclusionGroup);
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
    }
  }
  const exiting = cases.filter((c) => c.status === "exiting");
  if (exiting.length > 0) {
    try {
      const current = await ctx.ledger.currentPeriod();
      for (const c of exiting) {
        const record = await ctx.ledger.caseRecord(c.caseId);
        if (record !== null && record.lastPeriod < current) ended.add(c.caseId);
      }
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error; // unknown: treat as live
    }
  }
  return { groupOf, ended };
}

/**
 * The case among `cases` that keeps the person out of programme `programmeId` (exclusion group `group`), if any.
 * A programme whose group is unknown (the chain was unreachable) counts as in the group only if it is the same
 * programme.
 */
export function blockingCase(
  cases: readonly CaseIndexRow[],
  programmeId: number,
  group: number,
  facts: ExclusionFacts,
): CaseIndexRow | undefined {
  if (group === 0) return undefined;
  return cases.find((c) => {
    const live = LIVE.has(c.status) || (c.status === "exiting" && !facts.ended.has(c.caseId));
    if (!live) return false;
    const other = facts.groupOf.get(c.programmeId);
    return other === undefined ? c.programmeId === programmeId : other === group;
  });
}

/** The person's cases (by pseudonym), in every region: exclusion is national. */
export async function casesOfPerson(data: StoreData, pseudonym: string): Promise<CaseIndexRow[]> {
  return data.listCases({ pseudonym, limit: 1000 });
}
