/**
 * Cases: taking applications in (one at a time, or a CSV of households), and reading them back within the caller's
 * region. Lifecycle decisions are in lifecycle.ts; resubmission to the chain in submitter.ts.
 *
 * Taking an application in: the caller's region must contain the application's, the programme must exist and its
 * region contain the application's, and the applicant must have no live case in the programme's exclusion group
 * (rules.ts). Then the application is sealed into four records (sealing.ts), stored with the case index entry
 * (`pending-chain`), a `case.received` audit entry and the request's idempotent response in one transaction, and
 * submitted to the chain with the manifest's digest in the background (submitter.ts). The data is safe before the
 * chain is asked: if the chain is unreachable the case stays `pending-chain` and the submitter sends it later; if
 * the chain refuses, the case is marked `rejected` (records are never deleted: their digests are anchored).
 */
import { randomBytes } from "node:crypto";
import { contains } from "../../../lib/regions";
import { Role } from "../../../lib/roles";
import { assertInRegion, inRegion, type InstitutionPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { TxIdempotency } from "../http/idempotency";
import { type CaseRecord, LedgerUnavailableError, type ProgrammeRule } from "../ledger";
import { openRecord, storeSealed, storeSealedMany } from "../records";
import type {
  CaseIndexRow,
  CaseIndexStatus,
  FieldClass,
  IdempotentResponse,
  JsonValue,
  OutboxEntry,
  StoreData,
  StoredRecord,
} from "../store";
import type { ApplicationInput } from "./application";
import { type CsvRowError, parseHouseholdsCsv } from "./csv";
import { blockingCase, casesOfPerson, exclusionFacts, programmeRule } from "./rules";
import {
  HolderDirectory,
  KekCache,
  type SealedApplication,
  sealApplication,
  sealedList,
  type CaseHolders,
} from "./sealing";
import { awaitSubmission, kickCaseSubmitter, submitInBackground } from "./submitter";

/** Households stored per transaction by an import. */
export const IMPORT_CHUNK = 500;
/**
 * PostgreSQL: households sealed between two turns of the event loop while the chunk before is stored (63 turns a
 * chunk, more than the ~52 statements of its transaction). Every turn is also one for the gateway's other work (the
 * case submitter starts putting the first chunks on chain), so not one a household.
 */
const SEAL_YIELD_EVERY = 8;

const EXCLUSIVE_CASE_MESSAGE = "an active case exists for this person in an exclusive programme";

export const newCaseId = (): string => "0x" + randomBytes(32).toString("hex");

function recordRefs(s: SealedApplication) {
  return sealedList(s).map(({ record }) => ({ id: record.id, kind: record.kind, digest: record.digest }));
}

/** Stores a sealed application with its index entry (`pending-chain`) and a `case.received` audit entry. */
async function storeApplication(
  tx: StoreData,
  caseId: string,
  input: ApplicationInput,
  pseudonym: string,
  submitter: string,
  sealed: SealedApplication,
  source: "api" | "csv",
): Promise<void> {
  for (const s of sealedList(sealed)) await storeSealed(tx, s);
  await tx.putCase({
    caseId,
    programmeId: input.programmeId,
    regionCode: Number(input.region),
    pseudonym,
    submitter,
    applicationRecordId: sealed.application.record.id,
    status: "pending-chain",
  });
  await tx.appendAudit({
    actor: submitter,
    action: "case.received",
    target: caseId,
    details: {
      source,
      programmeId: input.programmeId,
      region: input.region,
      records: sealedList(sealed).map((s) => s.record.id),
    },
  });
}

/** {@link storeApplication} for many applications of one submitter at once, in a few multi-row statements. */
async function storeApplications(
  tx: StoreData,
  submitter: string,
  source: "api" | "csv",
  entries: { caseId: string; input: ApplicationInput; pseudonym: string; sealed: SealedApplication }[],
): Promise<void> {
  await storeSealedMany(
    tx,
    entries.flatMap((e) => sealedList(e.sealed)),
  );
  await tx.putCases(
    entries.map(({ caseId, input, pseudonym, sealed }) => ({
      caseId,
      programmeId: input.programmeId,
      regionCode: Number(input.region),
      pseudonym,
      submitter,
      applicationRecordId: sealed.application.record.id,
      status: "pending-chain" as const,
    })),
  );
  await tx.appendAudits(
    entries.map(({ caseId, input, sealed }) => ({
      actor: submitter,
      action: "case.received",
      target: caseId,
      details: {
        source,
        programmeId: input.programmeId,
        region: input.region,
        records: sealedList(sealed).map((s) => s.record.id),
      },
    })),
  );
}

/** The programme of an application, checked against its region; VALIDATION_FAILED otherwise. */
async function checkedProgramme(ctx: GatewayContext, input: ApplicationInput): Promise<ProgrammeRule> {
  const rule = await programmeRule(ctx, input.programmeId);
  if (rule === undefined) {
    throw new ApiError("VALIDATION_FAILED", "programmeId: no such programme", { field: "programmeId" });
  }
  if (!contains(rule.region, BigInt(input.region))) {
    throw new ApiError("VALIDATION_FAILED", "region: outside the programme's region", { field: "region" });
  }
  return rule;
}

/**
 * `POST /v1/cases`: takes an application in. The idempotency key's reservation, the sealed records, their outbox
 * entries, the index entry, the audit entry and the idempotent response commit in one transaction (`idempotency`:
 * see `onceInTransaction`); the case's submission to the chain is then started (submitter.ts) and the answer is 202
 * `pending-chain` at once. {@link awaitIntake} turns it into the chain's answer for a client that asked to wait. 409
 * CONFLICT for a duplicate enrolment (nothing stored).
 */
export async function createCase(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: ApplicationInput,
  idempotency: TxIdempotency,
): Promise<IdempotentResponse> {
  assertInRegion(p, BigInt(input.region), "the application's region");
  const rule = await checkedProgramme(ctx, input);
  const pseudonym = ctx.keyring.pseudonym(input.applicant.residentId);
  const facts = await exclusionFacts(ctx, await casesOfPerson(ctx.store, pseudonym));

  const caseId = newCaseId();
  const holders = await new HolderDirectory(ctx.store).holders(p.id, Number(input.region));
  const sealed = await sealApplication(ctx.keyring, caseId, input, holders);
  const accepted: IdempotentResponse = {
    status: 202,
    body: { caseId, status: "pending-chain", records: recordRefs(sealed) },
  };
  await ctx.store.transaction(async (tx) => {
    // First: a replay of this request ends here (and stores nothing).
    await idempotency.begin(tx);
    // Checked again inside the transaction: a concurrent application for the same person commits first or waits.
    if (blockingCase(await casesOfPerson(tx, pseudonym), input.programmeId, rule.exclusionGroup, facts)) {
      throw new ApiError("CONFLICT", EXCLUSIVE_CASE_MESSAGE);
    }
    await storeApplication(tx, caseId, input, pseudonym, p.id, sealed, "api");
    await idempotency.complete(tx, accepted);
  });
  submitInBackground(ctx, {
    caseId,
    programmeId: input.programmeId,
    regionCode: Number(input.region),
    pseudonym,
    submitter: p.id,
    recordDigest: sealed.application.record.digest,
  });
  return accepted;
}

/** The longest `Prefer: wait` honoured on intake, s. */
export const MAX_INTAKE_WAIT_S = 30;

/**
 * An intake answer (fresh or replayed) once the chain has answered, for a client that waits up to `ms`: a 202
 * `pending-chain` becomes 201 `submitted` with the transaction when the chain has the case, or 409 LEDGER_REJECTED
 * when it refused it (the case is then `rejected`; its records stay); it stays 202 if the chain has not answered in
 * time (the submission goes on). Other answers are returned as they are.
 */
export async function awaitIntake(
  ctx: GatewayContext,
  answer: IdempotentResponse,
  ms: number,
): Promise<IdempotentResponse> {
  const body = answer.body as { caseId?: unknown; status?: unknown; records?: JsonValue } | null;
  if (answer.status !== 202 || body?.status !== "pending-chain" || typeof body.caseId !== "string") return answer;
  const caseId = body.caseId;
  const outcome = await awaitSubmission(ctx, caseId, ms);
  if (outcome === undefined || outcome.status === "pending-chain") return answer;
  if (outcome.status === "rejected") {
    throw new ApiError("LEDGER_REJECTED", `the ledger refused the case: ${outcome.ledgerCode}`, {
      ledgerCode: outcome.ledgerCode,
    });
  }
  return {
    status: 201,
    body: { caseId, status: outcome.status, txHash: outcome.txHash ?? null, records: body.records ?? [] },
  };
}

// ---- CSV import ----------------------------------------------------------------------------------------------

export type ImportOutcome = { imported: number; caseIds: string[] } | { rows: CsvRowError[] };

/** Error codes the import adds to those of csv.ts. */
export const IMPORT_ERROR = {
  OUTSIDE_REGION: "OUTSIDE_REGION",
  UNKNOWN_PROGRAMME: "UNKNOWN_PROGRAMME",
  OUTSIDE_PROGRAMME: "OUTSIDE_PROGRAMME",
  ACTIVE_CASE_EXISTS: "ACTIVE_CASE_EXISTS",
  NO_HOUSEHOLDS: "NO_HOUSEHOLDS",
} as const;

/**
 * `POST /v1/cases/import`: all or nothing. Every household is checked (CSV rules, the caller's region, the programme,
 * exclusive enrolment, within the file and against the index); if any row is wrong, nothing is stored and every
 * wrong row is returned. Otherwise every household is sealed and stored as a `pending-chain` case (in transactions
 * of {@link IMPORT_CHUNK} households) and the submitter is woken to put them on chain.
 */
export async function importCases(ctx: GatewayContext, p: InstitutionPrincipal, text: string): Promise<ImportOutcome> {
  const parsed = parseHouseholdsCsv(text);
  const rows: CsvRowError[] = [...parsed.errors];
  const rules = new Map<number, Promise<ProgrammeRule | undefined>>();
  const ruleOf = (id: number) => {
    let rule = rules.get(id);
    if (rule === undefined) rules.set(id, (rule = programmeRule(ctx, id)));
    return rule;
  };
  const enrolled = new Set<string>();
  const accepted: { input: ApplicationInput; pseudonym: string }[] = [];
  // The index entries of every applicant of the file, read in a few statements rather than one per household.
  const pseudonymOf = parsed.households.map((h) => ctx.keyring.pseudonym(h.application.applicant.residentId));
  const casesOf = new Map<string, CaseIndexRow[]>();
  for (const c of await ctx.store.listCasesOfPseudonyms([...new Set(pseudonymOf)])) {
    casesOf.set(c.pseudonym, [...(casesOf.get(c.pseudonym) ?? []), c]);
  }

  for (const [i, { householdRef, rows: rowNumbers, application: input }] of parsed.households.entries()) {
    const selfIndex = input.household.members.findIndex((m) => m.relation === "self");
    const row = rowNumbers[Math.max(selfIndex, 0)];
    const fail = (field: string, code: string, message: string) =>
      rows.push({ row, householdRef, field, code, message });
    if (!inRegion(p, BigInt(input.region))) {
      fail("region", IMPORT_ERROR.OUTSIDE_REGION, "the household's region is outside your institution's region");
      continue;
    }
    const programme = await ruleOf(input.programmeId);
    if (programme === undefined) {
      fail("programme_id", IMPORT_ERROR.UNKNOWN_PROGRAMME, "no such programme");
      continue;
    }
    if (!contains(programme.region, BigInt(input.region))) {
      fail("region", IMPORT_ERROR.OUTSIDE_PROGRAMME, "the household's region is outside the programme's region");
      continue;
    }
    const pseudonym = pseudonymOf[i];
    const group = programme.exclusionGroup;
    if (group !== 0) {
      const key = `${pseudonym}:${group}`;
      if (enrolled.has(key)) {
        fail(
          "resident_id",
          IMPORT_ERROR.ACTIVE_CASE_EXISTS,
          "another household of the file enrols this applicant in an exclusive programme",
        );
        continue;
      }
      enrolled.add(key);
      const existing = casesOf.get(pseudonym) ?? [];
      if (
        existing.length > 0 &&
        blockingCase(existing, input.programmeId, group, await exclusionFacts(ctx, existing, ruleOf))
      ) {
        fail("resident_id", IMPORT_ERROR.ACTIVE_CASE_EXISTS, EXCLUSIVE_CASE_MESSAGE);
        continue;
      }
    }
    accepted.push({ input, pseudonym });
  }
  if (rows.length === 0 && accepted.length === 0) {
    rows.push({ row: 0, field: "csv", code: IMPORT_ERROR.NO_HOUSEHOLDS, message: "the file has no households" });
  }
  if (rows.length > 0) return { rows: rows.sort((a, b) => a.row - b.row) };

  const caseIds: string[] = [];
  const directory = new HolderDirectory(ctx.store);
  const keks = new KekCache(ctx.keyring);
  type Chunk = { caseId: string; input: ApplicationInput; pseudonym: string; sealed: SealedApplication }[];
  const overlap = ctx.store.dialect === "postgres";
  const seal = async (start: number): Promise<Chunk> => {
    const chunk: Chunk = [];
    for (const { input, pseudonym } of accepted.slice(start, start + IMPORT_CHUNK)) {
      const caseId = newCaseId();
      const holders: CaseHolders = await directory.holders(p.id, Number(input.region));
      chunk.push({ caseId, input, pseudonym, sealed: await sealApplication(keks, caseId, input, holders) });
      // Let the transaction of the chunk before go on meanwhile: its statements' answers are I/O callbacks.
      if (overlap && chunk.length % SEAL_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return chunk;
  };
  // Each chunk is sealed (CPU, here) while the one before is stored; transactions still commit one after the other,
  // in order. Only PostgreSQL's statements leave this thread: SQLite's run in it, so there is nothing to overlap and
  // sealing does not yield (as before: an import holds the event loop while it seals and stores, and the SQLite
  // store, one writer, for its transactions).
  let next: Promise<Chunk> | undefined;
  try {
    for (let start = 0; start < accepted.length; start += IMPORT_CHUNK) {
      const chunk = await (next ?? seal(start));
      next = start + IMPORT_CHUNK < accepted.length ? seal(start + IMPORT_CHUNK) : undefined;
      next?.catch(() => undefined); // handled when awaited: not an unhandled rejection while this chunk is stored
      const last = next === undefined;
      await ctx.store.transaction(async (tx) => {
        await storeApplications(tx, p.id, "csv", chunk);
        // With the last chunk, not after it: a file whose households all committed is never answered 503.
        if (last)
          await tx.appendAudit({ actor: p.id, action: "cases.imported", details: { imported: accepted.length } });
      });
      caseIds.push(...chunk.map((h) => h.caseId));
    }
  } catch (error) {
    if (caseIds.length > 0) {
      // The file was valid; the database failed midway. What was stored stays (and goes on chain).
      await ctx.store
        .appendAudit({
          actor: p.id,
          action: "cases.import-interrupted",
          details: { imported: caseIds.length, households: accepted.length },
        })
        .catch(() => undefined);
      kickCaseSubmitter(ctx);
    }
    throw error;
  } finally {
    await next?.catch(() => undefined); // a chunk being sealed when a transaction failed: dropped
    await keks.wipe();
  }
  kickCaseSubmitter(ctx);
  return { imported: caseIds.length, caseIds };
}

// ---- Reading ---------------------------------------------------------------------------------------------------

/** The index entry of a case the caller may see: 404 if unknown, 403 OUTSIDE_REGION if outside the caller's region. */
export async function visibleCase(ctx: GatewayContext, p: InstitutionPrincipal, caseId: string): Promise<CaseIndexRow> {
  const row = await ctx.store.getCase(caseId);
  if (!row) throw new ApiError("NOT_FOUND", "no such case");
  assertInRegion(p, row.regionCode, "this case");
  return row;
}

export async function listVisibleCases(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  query: { programmeId?: number; status?: CaseIndexStatus; after?: string; limit: number },
): Promise<CaseIndexRow[]> {
  return ctx.store.listCases({
    withinRegion: Number(p.region),
    programmeId: query.programmeId,
    status: query.status,
    afterCaseId: query.after,
    limit: query.limit,
  });
}

/** The caller's region's cases of the person with this resident ID (by pseudonym; the ID is not kept). */
export async function searchCases(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  residentId: string,
): Promise<CaseIndexRow[]> {
  const pseudonym = ctx.keyring.pseudonym(residentId);
  const found = await ctx.store.listCases({ pseudonym, withinRegion: Number(p.region), limit: 1000 });
  await ctx.store.appendAudit({ actor: p.id, action: "cases.searched", details: { found: found.length } });
  return found;
}

export interface CaseState {
  row: CaseIndexRow;
  /** Null when the case is not on chain (yet); undefined when the chain could not be asked. */
  chain: CaseRecord | null | undefined;
  records: { record: StoredRecord; anchoring: OutboxEntry | undefined }[];
}

export async function caseState(ctx: GatewayContext, p: InstitutionPrincipal, caseId: string): Promise<CaseState> {
  const row = await visibleCase(ctx, p, caseId);
  let chain: CaseRecord | null | undefined;
  try {
    chain = await ctx.ledger.caseRecord(caseId);
  } catch (error) {
    if (!(error instanceof LedgerUnavailableError)) throw error;
  }
  const stored = await ctx.store.listRecords({ caseId, limit: 1000 });
  const records = await Promise.all(
    stored.map(async (record) => ({ record, anchoring: await ctx.store.getAnchoringStatus(record.id) })),
  );
  return { row, chain, records };
}

/** The payload of an application manifest (sealing.ts). */
export interface ApplicationManifest {
  format: string;
  schemaVersion: number;
  programmeId: number;
  region: string;
  memberCount: number;
  documentDigests: string[];
  requestedAmount?: number;
  records: Record<"identity" | "household" | "payment", { id: string; digest: string }>;
  supersedes?: string;
}

/**
 * The case's current manifest: the one whose digest the chain holds (re-certification adds manifests), or the first
 * one while the case is not on chain.
 */
export async function currentManifestRecord(ctx: GatewayContext, row: CaseIndexRow): Promise<StoredRecord> {
  const manifests = await ctx.store.listRecords({ caseId: row.caseId, kind: "application", limit: 1000 });
  const first = manifests.find((m) => m.id === row.applicationRecordId);
  if (!first) throw new ApiError("INTERNAL", "the case's application record is missing");
  if (manifests.length === 1) return first;
  const onChain = await ctx.ledger.caseRecord(row.caseId);
  return manifests.find((m) => m.digest === onChain?.recordDigest) ?? first;
}

/** The current manifest and the records it names, opened (manifest only) as `holderId`. */
export async function currentRecords(
  ctx: GatewayContext,
  row: CaseIndexRow,
  holderId: string,
  manifestClass: FieldClass = "household",
): Promise<{
  manifestRecord: StoredRecord;
  manifest: ApplicationManifest;
  byKind: Record<"identity" | "household" | "payment", StoredRecord>;
}> {
  const manifestRecord = await currentManifestRecord(ctx, row);
  const manifest = (await openRecord(
    ctx.keyring,
    ctx.store,
    manifestRecord,
    holderId,
    manifestClass,
  )) as unknown as ApplicationManifest;
  const get = async (kind: "identity" | "household" | "payment") => {
    const record = await ctx.store.getRecord(manifest.records[kind].id);
    if (!record || record.digest !== manifest.records[kind].digest) {
      throw new ApiError("INTERNAL", `the case's ${kind} record is missing or does not match its manifest`);
    }
    return record;
  };
  const [identity, household, payment] = await Promise.all([get("identity"), get("household"), get("payment")]);
  return { manifestRecord, manifest, byKind: { identity, household, payment } };
}

/** Appends the audit entry of records of a case opened by `p` (in `store`, or the transaction that uses them). */
export async function auditOpened(
  store: Pick<StoreData, "appendAudit">,
  p: InstitutionPrincipal,
  caseId: string,
  ids: string[],
  purpose: string,
): Promise<void> {
  await store.appendAudit({
    actor: p.id,
    action: "record.opened",
    target: caseId,
    details: { recordIds: ids, purpose },
  });
}

/**
 * The identity and household records of a case, opened with the caller's key: the caseworker who submitted it or an
 * approver in region. Everyone else gets 403 NO_ACCESS (auditors open records through the audited decrypt).
 */
export async function caseDetails(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
): Promise<{ identity: JsonValue; household: JsonValue; records: StoredRecord[] }> {
  const row = await visibleCase(ctx, p, caseId);
  const allowed = p.role === Role.Approver || (p.role === Role.Caseworker && p.id === row.submitter);
  if (!allowed) {
    throw new ApiError(
      "NO_ACCESS",
      "only the submitting caseworker and approvers in region open a household's details",
    );
  }
  const { manifestRecord, byKind } = await currentRecords(ctx, row, p.id);
  const identity = await openRecord(ctx.keyring, ctx.store, byKind.identity, p.id, "identity");
  const household = await openRecord(ctx.keyring, ctx.store, byKind.household, p.id, "household");
  const opened = [manifestRecord, byKind.identity, byKind.household];
  await auditOpened(
    ctx.store,
    p,
    caseId,
    opened.map((r) => r.id),
    "details",
  );
  return { identity, household, records: opened };
}

/** The payment record of a case, for finance bureaus and payment agents in region. */
export async function paymentDetails(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  caseId: string,
): Promise<{ payment: JsonValue; records: StoredRecord[] }> {
  const row = await visibleCase(ctx, p, caseId);
  const { manifestRecord, byKind } = await currentRecords(ctx, row, p.id);
  const payment = await openRecord(ctx.keyring, ctx.store, byKind.payment, p.id, "payment");
  const opened = [manifestRecord, byKind.payment];
  await auditOpened(
    ctx.store,
    p,
    caseId,
    opened.map((r) => r.id),
    "payment-details",
  );
  return { payment, records: opened };
}
