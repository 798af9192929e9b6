/**
 * `Cases`: application, review, public notice and objections, approval or rejection, suspension, yearly
 * re-certification and gradual exit. Each check in the Solidity order, so the same call is refused with the same
 * error on both ledgers.
 */
import type {
  ApprovalOutcome,
  Assessment,
  CaseApproval,
  CaseDecision,
  CaseRecertification,
  CaseRecord,
  CaseReview,
  CaseSubmission,
  ObjectionResolution,
} from "../../lib/ledger-model";
import type { ProgrammeRule } from "../../lib/programmes";
import { contains, isValidRegion, levelOf } from "../../lib/regions";
import { CaseStatus, ProgrammeKind, Role } from "../../lib/roles";
import { authorize } from "./access";
import { account, big, bool, bytes32, object, objectList, uint, ZERO32, ZERO_ACCOUNT, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { caseIn, knownCase, loadCase, requireStatus, saveCase, type CaseDoc } from "./case-state";
import { loadProgramme } from "./programmes";
import { refuse } from "./refusal";
import { pad } from "./store";

const CASE_COUNT_KEY = "caseCount";
const UINT40_MAX = (1n << 40n) - 1n;

enum ObjectionState {
  None = 0,
  Open = 1,
  Dismissed = 2,
  Upheld = 3,
}

const objectionKey = (ctx: ReliefContext, caseId: string, digest: string) => ctx.store.key("objection", caseId, digest);
const holderKey = (ctx: ReliefContext, pseudonym: string, group: number) =>
  ctx.store.key("holder", pseudonym, pad(group, 10));

function parseAssessment(input: Json): Assessment {
  return {
    householdSize: uint(input, "householdSize", 16),
    incomePerHead: big(input, "incomePerHead", 64),
    amount: big(input, "amount", 64),
  };
}

function parseApproval(input: Json): CaseApproval {
  return {
    caseId: bytes32(input, "caseId"),
    assessment: parseAssessment(object(input, "assessment")),
    ruleVersion: bytes32(input, "ruleVersion"),
  };
}

function parseDecision(input: Json): CaseDecision {
  return { caseId: bytes32(input, "caseId"), reasonDigest: bytes32(input, "reasonDigest") };
}

export async function caseCount(ctx: ReliefContext): Promise<number> {
  return (await ctx.store.get<number>(CASE_COUNT_KEY)) ?? 0;
}

/** `Cases.isActive`: holds its pseudonym's place in its exclusion group now. */
export async function isActive(ctx: ReliefContext, caseId: string): Promise<boolean> {
  const doc = await loadCase(ctx, caseId);
  if (doc === undefined) return false;
  const entitled = [CaseStatus.Approved, CaseStatus.Suspended, CaseStatus.Exiting].includes(doc.status);
  return entitled && doc.lastPeriod >= ctx.period;
}

async function requireNoActiveHolder(
  ctx: ReliefContext,
  pseudonym: string,
  group: number,
  caseId: string,
): Promise<void> {
  if (group === 0) return;
  const holder = await ctx.store.get<string>(holderKey(ctx, pseudonym, group));
  if (holder !== undefined && holder !== caseId && (await isActive(ctx, holder))) {
    refuse("LedgerExclusiveCaseActive", { pseudonym, exclusionGroup: group, activeCaseId: holder });
  }
}

/** Decisions: an approver in scope, county level or above except for temporary assistance. */
async function authorizeApprover(ctx: ReliefContext, doc: CaseDoc): Promise<{ account: string; region: bigint }> {
  const caller = await authorize(ctx, [Role.Approver], doc.region);
  const kind = (await loadProgramme(ctx, doc.programmeId)).kind;
  if (kind !== ProgrammeKind.Temporary && levelOf(caller.region) > 3) {
    refuse("LedgerApproverLevelTooLow", { account: caller.account, region: caller.region });
  }
  return caller;
}

/** Approvals and re-certifications: as {@link authorizeApprover}, and never by the case's submitter. */
async function authorizeDecision(ctx: ReliefContext, caseId: string, doc: CaseDoc): Promise<bigint> {
  const caller = await authorizeApprover(ctx, doc);
  if (doc.submitter === caller.account) refuse("LedgerSelfApproval", { caseId, account: caller.account });
  return caller.region;
}

/** The amount per period (or per event) that the programme's rule gives for this assessment. */
function assess(caseId: string, p: ProgrammeRule, a: Assessment, actorRegion: bigint): bigint {
  let amount: bigint;
  if (p.kind === ProgrammeKind.MonthlyGap) {
    if (a.householdSize === 0 || a.householdSize > 99) refuse("LedgerInvalidInput", { field: "householdSize" });
    amount = a.incomePerHead >= p.amount ? 0n : (p.amount - a.incomePerHead) * BigInt(a.householdSize);
  } else if (p.kind === ProgrammeKind.Temporary) {
    amount = a.amount;
    if (levelOf(actorRegion) > 3 && amount > p.amount) {
      refuse("LedgerAboveApprovalCeiling", { caseId, amount, ceiling: p.amount });
    }
  } else if (p.kind === ProgrammeKind.Voucher) {
    // The voucher's face value: assessed per case, the programme's amount is the cap at every level.
    amount = a.amount;
    if (amount > p.amount) refuse("LedgerAboveApprovalCeiling", { caseId, amount, ceiling: p.amount });
  } else {
    amount = p.amount; // fixed monthly amount, the disaster grant per household, or the medical annual cap
  }
  if (amount === 0n) refuse("LedgerZeroEntitlement", { caseId });
  if (amount > UINT40_MAX) refuse("LedgerInvalidInput", { field: "amount" });
  return amount;
}

export async function submitCase(ctx: ReliefContext, input: Json): Promise<void> {
  const submission: CaseSubmission = {
    caseId: bytes32(input, "caseId"),
    programmeId: uint(input, "programmeId", 32),
    region: big(input, "region", 64),
    pseudonym: bytes32(input, "pseudonym"),
    recordDigest: bytes32(input, "recordDigest"),
  };
  const { caseId, programmeId, region, pseudonym, recordDigest } = submission;
  if (caseId === ZERO32) refuse("LedgerInvalidInput", { field: "caseId" });
  if (pseudonym === ZERO32) refuse("LedgerInvalidInput", { field: "pseudonym" });
  if (recordDigest === ZERO32) refuse("LedgerInvalidInput", { field: "recordDigest" });
  if (!isValidRegion(region)) refuse("LedgerInvalidInput", { field: "region" });
  const p = await loadProgramme(ctx, programmeId);
  if (!contains(p.region, region)) refuse("LedgerRegionOutsideProgramme", { region, programmeRegion: p.region });
  const caller = await authorize(ctx, [Role.Caseworker, Role.Approver], region);
  if ((await loadCase(ctx, caseId)) !== undefined) refuse("LedgerCaseExists", { caseId });
  await requireNoActiveHolder(ctx, pseudonym, p.exclusionGroup, caseId);

  const doc: CaseDoc = {
    status: CaseStatus.Submitted,
    programmeId,
    amount: 0n,
    noticeEnds: 0,
    firstPeriod: 0,
    lastPeriod: 0,
    paidThrough: 0,
    paidMask: 0,
    settledMask: 0,
    submitter: caller.account,
    region,
    openObjections: 0,
    beneficiaryKey: ZERO_ACCOUNT,
    pseudonym,
    recordDigest,
    exiting: false,
    epochs: [],
    eventCount: 0,
  };
  await saveCase(ctx, caseId, doc);
  const index = await caseCount(ctx);
  await ctx.store.put(CASE_COUNT_KEY, index + 1);
  await ctx.store.put(ctx.store.key("caseAt", pad(index)), caseId);
  // Query index: cases by region and programme (a partial key of the region alone finds a region's cases).
  await ctx.store.put(ctx.store.key("case~region~programme", pad(region), pad(programmeId, 10), caseId), {});
  ctx.emit("CaseSubmitted", { caseId, programmeId, region, pseudonym, recordDigest, submitter: caller.account });
}

/**
 * Many cases in one transaction, each exactly as {@link submitCase}, in order: the first refusal fails the whole
 * transaction, so none is written (the EVM's `submitCases`).
 */
export async function submitCases(ctx: ReliefContext, input: Json): Promise<void> {
  const cases = objectList(input, "cases");
  if (cases.length === 0) refuse("LedgerInvalidInput", { field: "cases" });
  for (const c of cases) await submitCase(ctx, c);
}

export async function reviewCase(ctx: ReliefContext, input: Json): Promise<{ noticeEnds: number }> {
  const review: CaseReview = {
    caseId: bytes32(input, "caseId"),
    passed: bool(input, "passed"),
    reasonDigest: bytes32(input, "reasonDigest"),
  };
  const { caseId, passed, reasonDigest } = review;
  const doc = await caseIn(ctx, caseId, CaseStatus.Submitted);
  await authorize(ctx, [Role.Caseworker], doc.region);
  if (passed) {
    const noticeEnds = ctx.now + (await loadProgramme(ctx, doc.programmeId)).noticePeriod;
    doc.status = CaseStatus.InNotice;
    doc.noticeEnds = noticeEnds;
    await saveCase(ctx, caseId, doc);
    ctx.emit("CaseReviewed", { caseId, passed: true, reasonDigest, noticeEnds });
    return { noticeEnds };
  }
  doc.status = CaseStatus.Rejected;
  await saveCase(ctx, caseId, doc);
  ctx.emit("CaseReviewed", { caseId, passed: false, reasonDigest, noticeEnds: 0 });
  ctx.emit("CaseRejected", { caseId, reasonDigest });
  return { noticeEnds: 0 };
}

/**
 * Many reviews in one transaction, each exactly as {@link reviewCase}, in order; the first refusal fails the whole
 * transaction (the EVM's `reviewCases`). Replies with each case's notice end (0 for a failed review), in order.
 */
export async function reviewCases(ctx: ReliefContext, input: Json): Promise<{ noticeEnds: number[] }> {
  const reviews = objectList(input, "reviews");
  if (reviews.length === 0) refuse("LedgerInvalidInput", { field: "reviews" });
  const noticeEnds: number[] = [];
  for (const r of reviews) noticeEnds.push((await reviewCase(ctx, r)).noticeEnds);
  return { noticeEnds };
}

export async function raiseObjection(ctx: ReliefContext, input: Json): Promise<void> {
  const caseId = bytes32(input, "caseId");
  const objectionDigest = bytes32(input, "objectionDigest");
  const doc = await caseIn(ctx, caseId, CaseStatus.InNotice);
  await authorize(ctx, [Role.Caseworker], doc.region);
  if (objectionDigest === ZERO32) refuse("LedgerInvalidInput", { field: "objectionDigest" });
  const key = objectionKey(ctx, caseId, objectionDigest);
  if (((await ctx.store.get<number>(key)) ?? ObjectionState.None) !== ObjectionState.None) {
    refuse("LedgerObjectionExists", { caseId, objectionDigest });
  }
  await ctx.store.put(key, ObjectionState.Open);
  doc.openObjections += 1;
  await saveCase(ctx, caseId, doc);
  ctx.emit("ObjectionRaised", { caseId, objectionDigest });
}

export async function resolveObjection(ctx: ReliefContext, input: Json): Promise<void> {
  const resolution: ObjectionResolution = {
    caseId: bytes32(input, "caseId"),
    objectionDigest: bytes32(input, "objectionDigest"),
    upheld: bool(input, "upheld"),
    reasonDigest: bytes32(input, "reasonDigest"),
  };
  const { caseId, objectionDigest, upheld, reasonDigest } = resolution;
  const doc = await caseIn(ctx, caseId, CaseStatus.InNotice);
  await authorizeApprover(ctx, doc);
  const key = objectionKey(ctx, caseId, objectionDigest);
  if ((await ctx.store.get<number>(key)) !== ObjectionState.Open)
    refuse("LedgerUnknownObjection", { caseId, objectionDigest });
  await ctx.store.put(key, upheld ? ObjectionState.Upheld : ObjectionState.Dismissed);
  doc.openObjections -= 1;
  ctx.emit("ObjectionResolved", { caseId, objectionDigest, upheld, reasonDigest });
  if (upheld) {
    doc.status = CaseStatus.Rejected;
    ctx.emit("CaseRejected", { caseId, reasonDigest });
  }
  await saveCase(ctx, caseId, doc);
}

export async function approveCase(ctx: ReliefContext, input: Json): Promise<ApprovalOutcome> {
  const { caseId, assessment, ruleVersion } = parseApproval(input);
  const doc = await caseIn(ctx, caseId, CaseStatus.InNotice);
  const p = await loadProgramme(ctx, doc.programmeId);
  const actorRegion = await authorizeDecision(ctx, caseId, doc);
  if (ctx.now < doc.noticeEnds) refuse("LedgerNoticeNotOver", { caseId, noticeEnds: doc.noticeEnds });
  if (doc.openObjections !== 0) refuse("LedgerOpenObjections", { caseId, openObjections: doc.openObjections });
  if (p.ruleVersion !== ruleVersion) {
    refuse("LedgerRuleVersionMismatch", {
      programmeId: doc.programmeId,
      expected: ruleVersion,
      current: p.ruleVersion,
    });
  }
  await requireNoActiveHolder(ctx, doc.pseudonym, p.exclusionGroup, caseId);

  const amount = assess(caseId, p, assessment, actorRegion);
  const first = ctx.period;
  doc.status = CaseStatus.Approved;
  doc.amount = amount;
  doc.firstPeriod = first;
  doc.lastPeriod = p.kind === ProgrammeKind.Temporary ? first : first + p.validityMonths - 1;
  await saveCase(ctx, caseId, doc);
  if (p.exclusionGroup !== 0) await ctx.store.put(holderKey(ctx, doc.pseudonym, p.exclusionGroup), caseId);
  // Query index: approved cases of a programme (what a keeper runs).
  await ctx.store.put(ctx.store.key("case~programme", pad(doc.programmeId, 10), caseId), {});
  ctx.emit("CaseApproved", {
    caseId,
    amount,
    firstPeriod: first,
    lastPeriod: doc.lastPeriod,
    ruleVersion: p.ruleVersion,
    standard: p.amount,
    householdSize: assessment.householdSize,
    incomePerHead: assessment.incomePerHead,
  });
  return { amount, firstPeriod: first, lastPeriod: doc.lastPeriod };
}

async function decision(
  ctx: ReliefContext,
  input: Json,
): Promise<{ caseId: string; reasonDigest: string; doc: CaseDoc }> {
  const d = parseDecision(input);
  return { ...d, doc: await knownCase(ctx, d.caseId) };
}

export async function rejectCase(ctx: ReliefContext, input: Json): Promise<void> {
  const { caseId, reasonDigest, doc } = await decision(ctx, input);
  requireStatus(caseId, doc, CaseStatus.Submitted, CaseStatus.InNotice);
  await authorizeApprover(ctx, doc);
  doc.status = CaseStatus.Rejected;
  await saveCase(ctx, caseId, doc);
  ctx.emit("CaseRejected", { caseId, reasonDigest });
}

/**
 * Many approvals and rejections in one transaction, each exactly as {@link approveCase} or {@link rejectCase}, in
 * order (`approve` says which); the first refusal fails the whole transaction (the EVM's `multicall` of the single
 * calls). Replies with what each approval gave, in order (`null` for a rejection).
 */
export async function decideCases(ctx: ReliefContext, input: Json): Promise<{ outcomes: (ApprovalOutcome | null)[] }> {
  const decisions = objectList(input, "decisions");
  if (decisions.length === 0) refuse("LedgerEmptyMulticall");
  const outcomes: (ApprovalOutcome | null)[] = [];
  for (const d of decisions) {
    if (bool(d, "approve")) outcomes.push(await approveCase(ctx, d));
    else {
      await rejectCase(ctx, d);
      outcomes.push(null);
    }
  }
  return { outcomes };
}

export async function suspendCase(ctx: ReliefContext, input: Json): Promise<void> {
  const { caseId, reasonDigest, doc } = await decision(ctx, input);
  requireStatus(caseId, doc, CaseStatus.Approved, CaseStatus.Exiting);
  await authorizeApprover(ctx, doc);
  // A suspended exit stays an exit: resuming it returns to Exiting with the same end.
  doc.status = CaseStatus.Suspended;
  await saveCase(ctx, caseId, doc);
  ctx.emit("CaseSuspended", { caseId, reasonDigest });
}

export async function resumeCase(ctx: ReliefContext, input: Json): Promise<void> {
  const { caseId, reasonDigest } = parseDecision(input);
  const doc = await caseIn(ctx, caseId, CaseStatus.Suspended);
  await authorizeApprover(ctx, doc);
  doc.status = doc.exiting ? CaseStatus.Exiting : CaseStatus.Approved;
  await saveCase(ctx, caseId, doc);
  ctx.emit("CaseResumed", { caseId, reasonDigest });
}

export async function recertifyCase(ctx: ReliefContext, input: Json): Promise<{ amount: bigint; lastPeriod: number }> {
  const recertification: CaseRecertification = {
    ...parseApproval(input),
    recordDigest: bytes32(input, "recordDigest"),
  };
  const { caseId, assessment, ruleVersion, recordDigest } = recertification;
  const doc = await caseIn(ctx, caseId, CaseStatus.Approved);
  const p = await loadProgramme(ctx, doc.programmeId);
  if (p.kind === ProgrammeKind.Temporary) refuse("LedgerInvalidCaseStatus", { caseId, status: doc.status });
  const actorRegion = await authorizeDecision(ctx, caseId, doc);
  if (p.ruleVersion !== ruleVersion) {
    refuse("LedgerRuleVersionMismatch", {
      programmeId: doc.programmeId,
      expected: ruleVersion,
      current: p.ruleVersion,
    });
  }
  if (recordDigest === ZERO32) refuse("LedgerInvalidInput", { field: "recordDigest" });
  await requireNoActiveHolder(ctx, doc.pseudonym, p.exclusionGroup, caseId);

  const amount = assess(caseId, p, assessment, actorRegion);
  if (amount !== doc.amount) {
    if ((doc.paidMask & ~doc.settledMask) !== 0) refuse("LedgerUnsettledPayouts", { caseId });
    // Remember what the payouts made so far were paid at, for settlement views and clawbacks.
    if (doc.paidMask !== 0)
      doc.epochs.push({ amount: doc.amount, paidThrough: doc.paidThrough, paidMask: doc.paidMask });
  }
  const current = ctx.period;
  const last = current + p.validityMonths - 1;
  // A lapsed eligibility restarts now: no one certified the family for the months in between.
  if (doc.lastPeriod < current) doc.firstPeriod = current;
  doc.amount = amount;
  doc.lastPeriod = last;
  doc.recordDigest = recordDigest;
  await saveCase(ctx, caseId, doc);
  if (p.exclusionGroup !== 0) await ctx.store.put(holderKey(ctx, doc.pseudonym, p.exclusionGroup), caseId);
  ctx.emit("CaseRecertified", {
    caseId,
    amount,
    lastPeriod: last,
    ruleVersion: p.ruleVersion,
    standard: p.amount,
    householdSize: assessment.householdSize,
    incomePerHead: assessment.incomePerHead,
    recordDigest,
  });
  return { amount, lastPeriod: last };
}

export async function exitCase(ctx: ReliefContext, input: Json): Promise<{ lastPeriod: number }> {
  const { caseId, reasonDigest, doc } = await decision(ctx, input);
  requireStatus(caseId, doc, CaseStatus.Approved, CaseStatus.Suspended);
  if (doc.status === CaseStatus.Suspended && doc.exiting)
    refuse("LedgerInvalidCaseStatus", { caseId, status: doc.status });
  await authorizeApprover(ctx, doc);
  const exitEnd = ctx.period + (await loadProgramme(ctx, doc.programmeId)).exitPeriods;
  if (exitEnd < doc.lastPeriod) doc.lastPeriod = exitEnd;
  doc.exiting = true;
  if (doc.status === CaseStatus.Approved) doc.status = CaseStatus.Exiting;
  await saveCase(ctx, caseId, doc);
  ctx.emit("CaseExited", { caseId, lastPeriod: doc.lastPeriod, reasonDigest });
  return { lastPeriod: doc.lastPeriod };
}

export async function setBeneficiaryKey(ctx: ReliefContext, input: Json): Promise<void> {
  const caseId = bytes32(input, "caseId");
  const key = account(input, "key");
  const doc = await knownCase(ctx, caseId);
  await authorize(ctx, [Role.Caseworker], doc.region);
  if (key === ZERO_ACCOUNT) refuse("LedgerInvalidInput", { field: "key" });
  doc.beneficiaryKey = key;
  await saveCase(ctx, caseId, doc);
  ctx.emit("BeneficiaryKeySet", { caseId, key });
}

/** The case as `CaseRecord` (without the chaincode's own bookkeeping), or `null`. */
export async function caseRecord(ctx: ReliefContext, input: Json): Promise<CaseRecord | null> {
  const doc = await loadCase(ctx, bytes32(input, "caseId"));
  if (doc === undefined) return null;
  const { exiting: _exiting, epochs: _epochs, eventCount: _eventCount, ...record } = doc;
  return record;
}

export async function caseIsActive(ctx: ReliefContext, input: Json): Promise<boolean> {
  return isActive(ctx, bytes32(input, "caseId"));
}

/** `Cases.caseIdAt`: the case submitted `index`-th (from 0), or `null`. */
export async function caseIdAt(ctx: ReliefContext, input: Json): Promise<string | null> {
  return (await ctx.store.get<string>(ctx.store.key("caseAt", pad(uint(input, "index", 53))))) ?? null;
}

/** Case ids of a region's subtree index entry (exact region code), optionally of one programme, in key order. */
export async function casesByRegion(ctx: ReliefContext, input: Json): Promise<string[]> {
  const parts: string[] = [pad(big(input, "region", 64))];
  if (input.programmeId !== undefined) parts.push(pad(uint(input, "programmeId", 32), 10));
  const out: string[] = [];
  for await (const kv of ctx.store.scan("case~region~programme", ...parts)) out.push(kv.attributes[2]);
  return out;
}

/** Approved cases of a programme, in case-id order. */
export async function programmeCases(ctx: ReliefContext, input: Json): Promise<string[]> {
  const out: string[] = [];
  for await (const kv of ctx.store.scan("case~programme", pad(uint(input, "programmeId", 32), 10)))
    out.push(kv.attributes[1]);
  return out;
}
