/**
 * A case's life after intake, each step one ledger call: township review (caseworker), objections during the public
 * notice (raised by a caseworker, resolved by an approver), approval, rejection, suspension, resumption, exit and
 * yearly re-certification (approver). The chain decides who may do what and when (contracts/cases/Cases.sol: e.g. the
 * submitter's institution can never approve, LedgerSelfApproval); the gateway checks role and region first.
 *
 * Free-text reasons go on chain as keyed digests (`keyring.digestSecret("reason", text)`) and stay off chain in the
 * audit entry's `reason`. After each call the index status is set from the chain's, in one transaction with the
 * audit entry.
 */
import { randomUUID } from "node:crypto";
import { ProgrammeKind } from "../../../lib/roles";
import type { InstitutionPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError, toApiError } from "../http/errors";
import {
  type ApprovalOutcome,
  type Assessment,
  type CaseRecord,
  type CaseVerdict,
  LedgerUnavailableError,
  type ProgrammeRule,
  type TxResult,
} from "../ledger";
import { openRecord, storeSealed } from "../records";
import type { CaseIndexRow, CaseIndexStatus, JsonValue } from "../store";
import type { HouseholdMember } from "./application";
import { INDEX_STATUS } from "./rules";
import { HolderDirectory, sealRecertification } from "./sealing";
import { auditOpened, currentRecords, visibleCase } from "./service";
import { awaitSubmission, recordedOutcome } from "./submitter";

/** How long a decision on a case that is still `pending-chain` waits for the case's submission, ms. */
export const SUBMIT_FIRST_MS = 20_000;

/**
 * The index entry of a case that is on chain, visible to the caller. A case still `pending-chain` (intake answers
 * before the chain has it) is submitted first, or its submission in flight awaited, up to {@link SUBMIT_FIRST_MS}:
 * 503 CHAIN_UNAVAILABLE if the chain is unreachable or slower than that (nothing was changed on it), 409
 * LEDGER_REJECTED if the chain refused the case (then or earlier: such a case is not on chain).
 */
async function onChainCase(ctx: GatewayContext, p: InstitutionPrincipal, caseId: string): Promise<CaseIndexRow> {
  const row = await visibleCase(ctx, p, caseId);
  if (row.status === "rejected") {
    // Refused when it was submitted: not on chain. Rejected on chain: the chain answers the call.
    const refused = await recordedOutcome(ctx, row);
    if (refused.status !== "rejected") return row;
    throw new ApiError("LEDGER_REJECTED", `the ledger refused the case: ${refused.ledgerCode}`, {
      ledgerCode: refused.ledgerCode,
    });
  }
  if (row.status !== "pending-chain") return row;
  const outcome = await awaitSubmission(ctx, caseId, SUBMIT_FIRST_MS);
  if (outcome === undefined || outcome.status === "pending-chain") {
    throw new ApiError(
      "CHAIN_UNAVAILABLE",
      "the case is waiting for the chain, which is unreachable; nothing was changed on it; retry later",
      { retryAfter: 5 },
    );
  }
  if (outcome.status === "rejected") {
    throw new ApiError("LEDGER_REJECTED", `the ledger refused the case: ${outcome.ledgerCode}`, {
      ledgerCode: outcome.ledgerCode,
    });
  }
  return (await ctx.store.getCase(caseId)) ?? row;
}

export const reasonDigest = (ctx: GatewayContext, reason: string): string => ctx.keyring.digestSecret("reason", reason);

export interface Decision {
  caseId: string;
  status: CaseIndexStatus;
  txHash: string;
  chain: CaseRecord | null;
}

/**
 * Records a decision the chain accepted: the index status from the chain's (or `expected` if the chain cannot be
 * read just now) and the audit entry, in one transaction.
 */
async function recordDecision(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  row: CaseIndexRow,
  action: string,
  mined: TxResult,
  expected: CaseIndexStatus,
  reason: string | null,
  details: Record<string, JsonValue> = {},
): Promise<Decision> {
  let chain: CaseRecord | null = null;
  let status = expected;
  try {
    chain = await ctx.ledger.caseRecord(row.caseId);
    status = (chain && INDEX_STATUS[chain.status]) ?? expected;
  } catch (error) {
    if (!(error instanceof LedgerUnavailableError)) throw error;
  }
  await ctx.store.transaction(async (tx) => {
    if (status !== row.status) await tx.setCaseStatus(row.caseId, status);
    await tx.appendAudit({
      actor: p.id,
      action,
      target: row.caseId,
      reason,
      details: { txHash: mined.txHash, blockNumber: mined.blockNumber, status, ...details },
    });
  });
  return { caseId: row.caseId, status, txHash: mined.txHash, chain };
}

export async function reviewCase(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
  input: { passed: boolean; reason: string },
): Promise<Decision & { noticeEnds: number }> {
  const row = await onChainCase(ctx, p, caseId);
  const mined = await ctx.ledger.reviewCase(p.id, {
    caseId,
    passed: input.passed,
    reasonDigest: reasonDigest(ctx, input.reason),
  });
  const decision = await recordDecision(
    ctx,
    p,
    row,
    "case.reviewed",
    mined,
    input.passed ? "in-notice" : "rejected",
    input.reason,
    {
      passed: input.passed,
      noticeEnds: mined.noticeEnds,
    },
  );
  return { ...decision, noticeEnds: mined.noticeEnds };
}

/** A batch names each case once: `<list>.<i>.caseId` of the first repeat. */
function refuseRepeats(inputs: readonly { caseId: string }[], list: string): void {
  const seen = new Set<string>();
  inputs.forEach((r, i) => {
    if (seen.has(r.caseId)) {
      throw new ApiError("VALIDATION_FAILED", `${list}.${i}.caseId: the same case twice`, {
        field: `${list}.${i}.caseId`,
      });
    }
    seen.add(r.caseId);
  });
}

/** The chain's refusal of a batch, named after the item at fault (`<list>.<i>`) when the refusal names its case. */
function batchError(error: unknown, inputs: readonly { caseId: string }[], list: string): ApiError {
  const api = toApiError(error);
  const at = inputs.findIndex((r) => r.caseId === (error as { args?: { caseId?: unknown } }).args?.caseId);
  if (at < 0 || api.field !== undefined) return api;
  return new ApiError(api.code, `${list}.${at}: ${api.message}`, {
    field: `${list}.${at}`,
    ledgerCode: api.ledgerCode,
    retryAfter: api.retryAfter,
    cause: error,
  });
}

/** Most reviews one call takes: ~14,800 gas each in a batch on the EVM ledger, ~3 M gas for 200. */
export const REVIEW_BATCH_MAX = 200;

/**
 * Many township reviews in one ledger transaction (`reviewCases`), all or none: each case must be visible to the
 * caller and on chain (a case still `pending-chain` is submitted first, as for one review). If the chain refuses
 * one, nothing changed: the error names the refusal and `reviews.<i>`, the review at fault. Accepted, every
 * case's index status and audit entry are written in one store transaction, the status from the chain's events
 * (a passed review starts the notice, a failed one rejects) without reading each case back.
 */
export async function reviewCases(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  inputs: readonly { caseId: string; passed: boolean; reason: string }[],
): Promise<(Decision & { noticeEnds: number })[]> {
  refuseRepeats(inputs, "reviews");
  const rows: CaseIndexRow[] = [];
  for (const r of inputs) rows.push(await onChainCase(ctx, p, r.caseId));
  let mined: TxResult & { noticeEnds: number[] };
  try {
    mined = await ctx.ledger.reviewCases(
      p.id,
      inputs.map((r) => ({ caseId: r.caseId, passed: r.passed, reasonDigest: reasonDigest(ctx, r.reason) })),
    );
  } catch (error) {
    throw batchError(error, inputs, "reviews");
  }
  const decisions = inputs.map((r, i) => ({
    caseId: r.caseId,
    status: (r.passed ? "in-notice" : "rejected") as CaseIndexStatus,
    txHash: mined.txHash,
    chain: null,
    noticeEnds: mined.noticeEnds[i],
  }));
  await ctx.store.transaction(async (tx) => {
    for (const [i, d] of decisions.entries()) {
      if (d.status !== rows[i].status) await tx.setCaseStatus(d.caseId, d.status);
      await tx.appendAudit({
        actor: p.id,
        action: "case.reviewed",
        target: d.caseId,
        reason: inputs[i].reason,
        details: {
          txHash: mined.txHash,
          blockNumber: mined.blockNumber,
          status: d.status,
          passed: inputs[i].passed,
          noticeEnds: d.noticeEnds,
          batch: inputs.length,
        },
      });
    }
  });
  return decisions;
}

/**
 * Records an objection received during the public notice. Its digest (keyed, and unique even for two objections
 * with the same text) is what the chain holds and what resolving it names.
 */
export async function raiseObjection(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
  input: { reason: string },
): Promise<Decision & { objectionDigest: string }> {
  const row = await onChainCase(ctx, p, caseId);
  const objectionDigest = ctx.keyring.digestSecret("objection", `${caseId}\0${randomUUID()}\0${input.reason}`);
  const mined = await ctx.ledger.raiseObjection(p.id, caseId, objectionDigest);
  const decision = await recordDecision(ctx, p, row, "case.objection-raised", mined, row.status, input.reason, {
    objectionDigest,
  });
  return { ...decision, objectionDigest };
}

export async function resolveObjection(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
  input: { objectionDigest: string; upheld: boolean; reason: string },
): Promise<Decision> {
  const row = await onChainCase(ctx, p, caseId);
  const mined = await ctx.ledger.resolveObjection(p.id, {
    caseId,
    objectionDigest: input.objectionDigest,
    upheld: input.upheld,
    reasonDigest: reasonDigest(ctx, input.reason),
  });
  return recordDecision(
    ctx,
    p,
    row,
    "case.objection-resolved",
    mined,
    input.upheld ? "rejected" : row.status,
    input.reason,
    {
      objectionDigest: input.objectionDigest,
      upheld: input.upheld,
    },
  );
}

type SimpleDecision = "reject" | "suspend" | "resume" | "exit";

const SIMPLE: Record<SimpleDecision, { action: string; expected: (row: CaseIndexRow) => CaseIndexStatus }> = {
  reject: { action: "case.rejected", expected: () => "rejected" },
  suspend: { action: "case.suspended", expected: () => "suspended" },
  resume: { action: "case.resumed", expected: () => "approved" },
  exit: { action: "case.exited", expected: (row) => (row.status === "suspended" ? "suspended" : "exiting") },
};

/** Reject, suspend, resume or exit: a decision that records only its reason. */
export async function decideCase(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
  decision: SimpleDecision,
  input: { reason: string },
): Promise<Decision & { lastPeriod?: number }> {
  const row = await onChainCase(ctx, p, caseId);
  const args = { caseId, reasonDigest: reasonDigest(ctx, input.reason) };
  let mined: TxResult & { lastPeriod?: number };
  if (decision === "reject") mined = await ctx.ledger.rejectCase(p.id, args);
  else if (decision === "suspend") mined = await ctx.ledger.suspendCase(p.id, args);
  else if (decision === "resume") mined = await ctx.ledger.resumeCase(p.id, args);
  else mined = await ctx.ledger.exitCase(p.id, args);
  const { action, expected } = SIMPLE[decision];
  const extra: { lastPeriod?: number } = mined.lastPeriod !== undefined ? { lastPeriod: mined.lastPeriod } : {};
  const recorded = await recordDecision(ctx, p, row, action, mined, expected(row), input.reason, { ...extra });
  return { ...recorded, ...extra };
}

export interface AssessmentInput {
  householdSize?: number;
  incomePerHead?: number;
  amount?: bigint;
}

interface HouseholdPayload {
  members: { relation: string; disability?: string; health?: string }[];
  monthlyIncome: number;
  documents: { kind: string; digest: string }[];
}

/** The case's current records, and its household record opened with `p`'s key (audit it as the caller's purpose). */
async function openHousehold(ctx: GatewayContext, p: InstitutionPrincipal, row: CaseIndexRow) {
  const current = await currentRecords(ctx, row, p.id);
  const payload = await openRecord(ctx.keyring, ctx.store, current.byKind.household, p.id, "household");
  return { current, payload: payload as unknown as HouseholdPayload };
}

/** The assessment: what was given, the rest from the household (size, income per head) and the requested amount. */
function assessmentOf(
  given: AssessmentInput,
  household: { size: number; monthlyIncome: number } | undefined,
  requestedAmount: number | undefined,
  kind: ProgrammeKind,
): Assessment {
  const householdSize = given.householdSize ?? household?.size ?? 0;
  const incomePerHead =
    given.incomePerHead !== undefined
      ? BigInt(given.incomePerHead)
      : household && household.size > 0
        ? BigInt(household.monthlyIncome) / BigInt(household.size)
        : 0n;
  const amount = given.amount ?? (requestedAmount !== undefined ? BigInt(requestedAmount) : 0n);
  if (kind === ProgrammeKind.Temporary && amount === 0n) {
    throw new ApiError("VALIDATION_FAILED", "amount: required for temporary assistance (none was requested)", {
      field: "amount",
    });
  }
  return { householdSize, incomePerHead, amount };
}

const needsHousehold = (given: AssessmentInput, kind: ProgrammeKind) =>
  given.householdSize === undefined ||
  given.incomePerHead === undefined ||
  (kind === ProgrammeKind.Temporary && given.amount === undefined);

function assessmentJson(a: Assessment) {
  return { householdSize: a.householdSize, incomePerHead: String(a.incomePerHead), amount: String(a.amount) };
}

/** The assessment of an approval: `given`, the rest from the household record (opened and audited) where needed. */
async function assess(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  row: CaseIndexRow,
  kind: ProgrammeKind,
  given: AssessmentInput,
): Promise<Assessment> {
  let household: { size: number; monthlyIncome: number } | undefined;
  let requestedAmount: number | undefined;
  if (needsHousehold(given, kind)) {
    const { current, payload } = await openHousehold(ctx, p, row);
    household = { size: payload.members.length, monthlyIncome: payload.monthlyIncome };
    requestedAmount = current.manifest.requestedAmount;
    const opened = [current.manifestRecord.id, current.byKind.household.id];
    await auditOpened(ctx.store, p, row.caseId, opened, "assessment");
  }
  return assessmentOf(given, household, requestedAmount, kind);
}

/**
 * County approval. The assessment is filled from the household record (opened with the approver's key: member count,
 * income per head) and the requested amount where not given; the rule version is the programme's current one.
 */
export async function approveCase(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
  given: AssessmentInput,
): Promise<Decision & ApprovalOutcome & { assessment: ReturnType<typeof assessmentJson> }> {
  const row = await onChainCase(ctx, p, caseId);
  const rule = await ctx.ledger.programme(row.programmeId);
  const assessment = await assess(ctx, p, row, rule.kind, given);
  const mined = await ctx.ledger.approveCase(p.id, { caseId, assessment, ruleVersion: rule.ruleVersion });
  const decision = await recordDecision(ctx, p, row, "case.approved", mined, "approved", null, {
    amount: String(mined.amount),
    firstPeriod: mined.firstPeriod,
    lastPeriod: mined.lastPeriod,
    ruleVersion: rule.ruleVersion,
  });
  return {
    ...decision,
    amount: mined.amount,
    firstPeriod: mined.firstPeriod,
    lastPeriod: mined.lastPeriod,
    assessment: assessmentJson(assessment),
  };
}

/** Most decisions one call takes: ~70,100 gas an approval in a batch on the EVM ledger (bench/gas.ts), ~7 M for 100. */
export const DECISION_BATCH_MAX = 100;

export type BatchDecisionInput =
  ({ caseId: string; decision: "approve" } & AssessmentInput) | { caseId: string; decision: "reject"; reason: string };

/**
 * Many approvals and rejections in one ledger transaction (`decideCases`), all or none, each as
 * {@link approveCase} or {@link decideCase} `reject` would: every case visible to the caller and on chain, each
 * approval's assessment from what is given and the household record. If the chain refuses one, nothing changed on
 * it: the error names the refusal and `decisions.<i>`. Accepted, every case's index status and audit entry are
 * written in one store transaction, from the chain's reply, without reading each case back.
 */
export async function decideCases(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  inputs: readonly BatchDecisionInput[],
): Promise<(Decision & Partial<ApprovalOutcome>)[]> {
  refuseRepeats(inputs, "decisions");
  const rows: CaseIndexRow[] = [];
  for (const d of inputs) rows.push(await onChainCase(ctx, p, d.caseId));
  const rules = new Map<number, ProgrammeRule>();
  const verdicts: CaseVerdict[] = [];
  for (const [i, d] of inputs.entries()) {
    if (d.decision === "reject") {
      verdicts.push({ approve: false, caseId: d.caseId, reasonDigest: reasonDigest(ctx, d.reason) });
      continue;
    }
    const programmeId = rows[i].programmeId;
    if (!rules.has(programmeId)) rules.set(programmeId, await ctx.ledger.programme(programmeId));
    const rule = rules.get(programmeId)!;
    const given = { householdSize: d.householdSize, incomePerHead: d.incomePerHead, amount: d.amount };
    const assessment = await assess(ctx, p, rows[i], rule.kind, given).catch((error: unknown) => {
      const api = toApiError(error);
      if (api.field === undefined) throw api;
      throw new ApiError(api.code, `decisions.${i}.${api.message}`, { field: `decisions.${i}.${api.field}` });
    });
    verdicts.push({ approve: true, caseId: d.caseId, assessment, ruleVersion: rule.ruleVersion });
  }
  let mined: TxResult & { outcomes: (ApprovalOutcome | null)[] };
  try {
    mined = await ctx.ledger.decideCases(p.id, verdicts);
  } catch (error) {
    throw batchError(error, inputs, "decisions");
  }
  const decisions = inputs.map((d, i) => ({
    caseId: d.caseId,
    status: (d.decision === "approve" ? "approved" : "rejected") as CaseIndexStatus,
    txHash: mined.txHash,
    chain: null,
    ...(mined.outcomes[i] ?? {}),
  }));
  await ctx.store.transaction(async (tx) => {
    for (const [i, d] of decisions.entries()) {
      const input = inputs[i];
      const verdict = verdicts[i];
      if (d.status !== rows[i].status) await tx.setCaseStatus(d.caseId, d.status);
      const base = { txHash: mined.txHash, blockNumber: mined.blockNumber, status: d.status, batch: inputs.length };
      await tx.appendAudit(
        input.decision === "reject"
          ? { actor: p.id, action: "case.rejected", target: d.caseId, reason: input.reason, details: base }
          : {
              actor: p.id,
              action: "case.approved",
              target: d.caseId,
              reason: null,
              details: {
                ...base,
                amount: String(d.amount),
                firstPeriod: d.firstPeriod ?? null,
                lastPeriod: d.lastPeriod ?? null,
                ruleVersion: verdict.approve ? verdict.ruleVersion : null,
              },
            },
      );
    }
  });
  return decisions;
}

export interface HouseholdUpdate {
  members: HouseholdMember[];
  monthlyIncome: number;
}

/** The household's rules beyond its schema: one `self`, no member twice, and `self` is the case's applicant. */
function checkHouseholdUpdate(ctx: GatewayContext, row: CaseIndexRow, household: HouseholdUpdate): void {
  const selves = household.members.flatMap((m, i) => (m.relation === "self" ? [i] : []));
  if (selves.length !== 1) {
    throw new ApiError("VALIDATION_FAILED", 'household.members: exactly one member must have relation "self"', {
      field: "household.members",
    });
  }
  const seen = new Set<string>();
  household.members.forEach((m, i) => {
    if (seen.has(m.residentId)) {
      throw new ApiError("VALIDATION_FAILED", `household.members.${i}.residentId: the same as another member's`, {
        field: `household.members.${i}.residentId`,
      });
    }
    seen.add(m.residentId);
  });
  if (ctx.keyring.pseudonym(household.members[selves[0]].residentId) !== row.pseudonym) {
    throw new ApiError(
      "VALIDATION_FAILED",
      `household.members.${selves[0]}.residentId: "self" must be the case's applicant`,
      {
        field: `household.members.${selves[0]}.residentId`,
      },
    );
  }
}

/**
 * Yearly re-certification. With `household`, the updated household is sealed first (new identity, household and
 * manifest records, stored with an audit entry) and the chain gets the new manifest's digest; without it the records
 * stay and the chain keeps the current digest. The assessment defaults as for approval, from the household in force.
 */
export async function recertifyCase(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
  input: AssessmentInput & { household?: HouseholdUpdate; documents?: { kind: string; digest: string }[] },
): Promise<
  Decision & {
    amount: bigint;
    lastPeriod: number;
    recordDigest: string;
    records: { id: string; kind: string; digest: string }[];
    assessment: ReturnType<typeof assessmentJson>;
  }
> {
  const row = await onChainCase(ctx, p, caseId);
  const rule = await ctx.ledger.programme(row.programmeId);
  const given: AssessmentInput = {
    householdSize: input.householdSize,
    incomePerHead: input.incomePerHead,
    amount: input.amount,
  };
  if (input.household) checkHouseholdUpdate(ctx, row, input.household);

  let household: { size: number; monthlyIncome: number } | undefined;
  let recordDigest: string;
  let records: { id: string; kind: string; digest: string }[] = [];
  const needs = input.household !== undefined || needsHousehold(given, rule.kind);
  if (!needs) {
    recordDigest = (await ctx.ledger.caseRecord(caseId))?.recordDigest ?? "";
  } else {
    const { current, payload: previousHousehold } = await openHousehold(ctx, p, row);
    const opened = [current.manifestRecord.id, current.byKind.household.id];
    if (input.household === undefined) {
      household = { size: previousHousehold.members.length, monthlyIncome: previousHousehold.monthlyIncome };
      recordDigest = current.manifestRecord.digest;
      await auditOpened(ctx.store, p, caseId, opened, "assessment");
    } else {
      const update = input.household;
      const previousIdentity = (await openRecord(
        ctx.keyring,
        ctx.store,
        current.byKind.identity,
        p.id,
        "identity",
      )) as { applicant: JsonValue };
      opened.push(current.byKind.identity.id);
      const documents = input.documents ?? previousHousehold.documents;
      const { records: _records, supersedes: _supersedes, ...manifestBase } = current.manifest;
      const holders = await new HolderDirectory(ctx.store).holders(row.submitter, row.regionCode);
      const sealed = await sealRecertification(
        ctx.keyring,
        caseId,
        row.regionCode,
        {
          identity: {
            applicant: previousIdentity.applicant,
            members: update.members.map((m) => ({ name: m.name, residentId: m.residentId })),
          },
          household: {
            members: update.members.map((m) => ({
              relation: m.relation,
              ...(m.disability !== undefined && { disability: m.disability }),
              ...(m.health !== undefined && { health: m.health }),
            })),
            monthlyIncome: update.monthlyIncome,
            documents,
          },
          manifest: {
            ...(manifestBase as unknown as Record<string, JsonValue>),
            memberCount: update.members.length,
            documentDigests: documents.map((d) => d.digest),
          },
        },
        current.manifest.records.payment,
        current.manifestRecord.id,
        holders,
      );
      const list = [sealed.identity, sealed.household, sealed.application];
      await ctx.store.transaction(async (tx) => {
        for (const s of list) await storeSealed(tx, s);
        await auditOpened(tx, p, caseId, opened, "recertification");
        await tx.appendAudit({
          actor: p.id,
          action: "case.records-added",
          target: caseId,
          details: { records: list.map((s) => s.record.id), purpose: "recertification" },
        });
      });
      household = { size: update.members.length, monthlyIncome: update.monthlyIncome };
      recordDigest = sealed.application.record.digest;
      records = list.map(({ record }) => ({ id: record.id, kind: record.kind, digest: record.digest }));
    }
  }
  const assessment = assessmentOf(given, household, undefined, rule.kind);
  const mined = await ctx.ledger.recertifyCase(p.id, {
    caseId,
    assessment,
    ruleVersion: rule.ruleVersion,
    recordDigest,
  });
  const decision = await recordDecision(ctx, p, row, "case.recertified", mined, "approved", null, {
    amount: String(mined.amount),
    lastPeriod: mined.lastPeriod,
    recordDigest,
    ruleVersion: rule.ruleVersion,
  });
  return {
    ...decision,
    amount: mined.amount,
    lastPeriod: mined.lastPeriod,
    recordDigest,
    records,
    assessment: assessmentJson(assessment),
  };
}
