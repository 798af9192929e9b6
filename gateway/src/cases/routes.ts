/**
 * The cases API: intake (one application, or a CSV of households), reading cases within the caller's region, the
 * records' tiered access, and the lifecycle decisions. Routes parse, authorise, call the service and shape JSON.
 */
import express, { Router } from "express";
import { z } from "zod";
import { Role } from "../../../lib/roles";
import { requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { REPLAYED_HEADER, idempotencyHeader, idempotencyOf, onceInTransaction, send } from "../http/idempotency";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { applyWait, preferWaitHeader, preferredWait } from "../http/prefer";
import { bytes32, fen, limit, parse, reason } from "../http/validate";
import type { CaseRecord } from "../ledger";
import { CASE_INDEX_STATUSES, type CaseIndexRow, type OutboxEntry, type StoredRecord } from "../store";
import { applicationSchema, documentSchema, householdSchema, residentIdSchema } from "./application";
import {
  approveCase,
  decideCase,
  type Decision,
  raiseObjection,
  recertifyCase,
  resolveObjection,
  reviewCase,
  reviewCases,
  REVIEW_BATCH_MAX,
  decideCases,
  DECISION_BATCH_MAX,
} from "./lifecycle";
import { INDEX_STATUS } from "./rules";
import {
  awaitIntake,
  caseDetails,
  caseState,
  createCase,
  MAX_INTAKE_WAIT_S,
  importCases,
  listVisibleCases,
  paymentDetails,
  searchCases,
} from "./service";

/** Roles that read the case index of their region. */
const READERS = [Role.Caseworker, Role.Approver, Role.Finance, Role.Auditor];

// ---- Views -----------------------------------------------------------------------------------------------------

const caseView = z
  .object({
    caseId: z.string(),
    programmeId: z.number(),
    region: z.string(),
    status: z.enum(CASE_INDEX_STATUSES),
    submitter: z.string().openapi({ description: "institution id of the caseworker who took the application" }),
    applicationRecordId: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Case");

export function caseJson(row: CaseIndexRow) {
  return {
    caseId: row.caseId,
    programmeId: row.programmeId,
    region: String(row.regionCode),
    status: row.status,
    submitter: row.submitter,
    applicationRecordId: row.applicationRecordId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const chainView = z
  .object({
    status: z.string(),
    programmeId: z.number(),
    region: z.string(),
    amount: z.string().openapi({ description: "fen" }),
    noticeEnds: z.number().openapi({ description: "seconds since the epoch; 0 before review" }),
    firstPeriod: z.number(),
    lastPeriod: z.number(),
    paidThrough: z.number(),
    paidMask: z.number(),
    settledMask: z.number(),
    openObjections: z.number(),
    submitter: z.string().openapi({ description: "chain account" }),
    beneficiaryKeySet: z.boolean(),
    recordDigest: z.string(),
  })
  .openapi("CaseOnChain");

function chainJson(c: CaseRecord) {
  return {
    status: INDEX_STATUS[c.status] ?? "none",
    programmeId: c.programmeId,
    region: String(c.region),
    amount: String(c.amount),
    noticeEnds: c.noticeEnds,
    firstPeriod: c.firstPeriod,
    lastPeriod: c.lastPeriod,
    paidThrough: c.paidThrough,
    paidMask: c.paidMask,
    settledMask: c.settledMask,
    openObjections: c.openObjections,
    submitter: c.submitter,
    beneficiaryKeySet: !/^0x0{40}$/i.test(c.beneficiaryKey),
    recordDigest: c.recordDigest,
  };
}

const recordRef = z.object({ id: z.string(), kind: z.string(), digest: z.string() }).openapi("RecordRef");
const refJson = (r: Pick<StoredRecord, "id" | "kind" | "digest">) => ({ id: r.id, kind: r.kind, digest: r.digest });

const anchoringView = z.object({
  status: z.string(),
  anchorSequence: z.number().nullable(),
  leafIndex: z.number().nullable(),
  txHash: z.string().nullable(),
  blockNumber: z.number().nullable(),
  anchoredAt: z.string().nullable(),
});

function anchoringJson(e: OutboxEntry | undefined) {
  if (!e) return null;
  return {
    status: e.status,
    anchorSequence: e.anchorSequence,
    leafIndex: e.leafIndex,
    txHash: e.txHash,
    blockNumber: e.blockNumber,
    anchoredAt: e.anchoredAt?.toISOString() ?? null,
  };
}

const decisionView = z
  .object({ caseId: z.string(), status: z.enum(CASE_INDEX_STATUSES), txHash: z.string(), chain: chainView.nullable() })
  .openapi("CaseDecision");

function decisionJson(d: Decision) {
  return { caseId: d.caseId, status: d.status, txHash: d.txHash, chain: d.chain ? chainJson(d.chain) : null };
}

// ---- Requests ----------------------------------------------------------------------------------------------------

const caseParam = z.object({ caseId: bytes32 });
const listQuery = z
  .object({
    programmeId: z.coerce.number().int().min(1).optional(),
    status: z.enum(CASE_INDEX_STATUSES).optional(),
    after: bytes32.optional(),
    limit,
  })
  .strict();
const searchBody = z.object({ residentId: residentIdSchema }).strict().openapi("CaseSearch");
const reviewBody = z.object({ passed: z.boolean(), reason }).strict().openapi("CaseReview");
const reasonBody = z.object({ reason }).strict().openapi("CaseReason");
const reviewsBody = z
  .object({
    reviews: z
      .array(z.object({ caseId: bytes32, passed: z.boolean(), reason }).strict())
      .min(1)
      .max(REVIEW_BATCH_MAX),
  })
  .strict()
  .openapi("CaseReviews");
const resolveBody = z
  .object({ objectionDigest: bytes32, upheld: z.boolean(), reason })
  .strict()
  .openapi("ObjectionResolution");
const incomePerHead = z
  .number({ error: "must be an integer amount in fen" })
  .int("must be an integer amount in fen")
  .min(0, "must not be negative")
  .max(Number.MAX_SAFE_INTEGER, "is too large");
const assessmentFields = {
  householdSize: z.number().int("must be an integer").min(1, "must be at least 1").max(99, "is at most 99").optional(),
  incomePerHead: incomePerHead
    .optional()
    .openapi({ description: "fen per person per month; default: from the household record" }),
  amount: fen.optional().openapi({ description: "fen; temporary assistance (default: the amount requested)" }),
};
const approveBody = z.object(assessmentFields).strict().openapi("CaseApproval");
const decisionsBody = z
  .object({
    decisions: z
      .array(
        z.discriminatedUnion("decision", [
          z.object({ caseId: bytes32, decision: z.literal("approve"), ...assessmentFields }).strict(),
          z.object({ caseId: bytes32, decision: z.literal("reject"), reason }).strict(),
        ]),
      )
      .min(1)
      .max(DECISION_BATCH_MAX),
  })
  .strict()
  .openapi("CaseDecisions");
const recertifyBody = z
  .object({
    ...assessmentFields,
    household: householdSchema.optional().openapi({ description: "the household now; sealed as new records" }),
    documents: z.array(documentSchema).max(20).optional(),
  })
  .strict()
  .openapi("CaseRecertification");

// ---- Routes --------------------------------------------------------------------------------------------------------

export function caseRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();
  const caseParamDoc = { params: caseParam };

  registry.registerPath({
    method: "post",
    path: "/v1/cases",
    summary: "Take an application in (caseworker): sealed off chain, submitted on chain with the manifest's digest",
    description:
      "202 `pending-chain` once the application is stored (records, outbox, index entry and the idempotent " +
      "response in one transaction); the case goes on chain in the background, within moments when the chain " +
      "answers, later when it is unreachable. With `Prefer: wait=<seconds>` (at most " +
      `${MAX_INTAKE_WAIT_S}) the gateway waits that long for the chain: 201 \`submitted\` with the transaction, ` +
      "409 LEDGER_REJECTED if the chain refused the case (it is then `rejected`; its records stay), or 202 if the " +
      "chain has not answered in time (`Preference-Applied: wait=<seconds>` when the wait was honoured). A replay " +
      "of an `Idempotency-Key` returns the stored 202, which the same `Prefer: wait` turns into the chain's answer. " +
      "Lifecycle calls on a `pending-chain` case submit it first. 409 CONFLICT when the applicant has a live case " +
      "in an exclusive programme.",
    request: {
      headers: idempotencyHeader(false, "optional; replays return the first response").merge(
        preferWaitHeader(MAX_INTAKE_WAIT_S, "wait for the chain's answer"),
      ),
      ...body(applicationSchema.openapi("Application")),
    },
    responses: {
      201: json(
        z.object({
          caseId: z.string(),
          status: z.literal("submitted"),
          txHash: z.string().nullable().openapi({ description: "null if an earlier attempt put it on chain" }),
          records: z.array(recordRef),
        }),
        "on chain (only with `Prefer: wait`)",
      ),
      202: json(
        z.object({ caseId: z.string(), status: z.literal("pending-chain"), records: z.array(recordRef) }),
        "stored, waiting for the chain",
      ),
      ...errors(400, 401, 403, 409, 422, 503),
    },
  });
  r.post("/cases", async (req, res) => {
    const p = requireInstitution(res, Role.Caseworker);
    const input = parse(applicationSchema, req.body);
    const wait = preferredWait(req, MAX_INTAKE_WAIT_S);
    const answer = await onceInTransaction(p, "case", idempotencyOf(req, res, false), (idempotency) =>
      createCase(ctx, p, input, idempotency),
    );
    applyWait(res, wait);
    if (wait === undefined) return send(res, answer);
    // Marked before waiting: a replay whose wait ends in a refusal is still a replay.
    if (answer.replayed) res.setHeader(REPLAYED_HEADER, "true");
    send(res, await awaitIntake(ctx, answer, wait * 1000));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/cases/import",
    summary: "Import households from CSV (caseworker), all or nothing: one wrong row and nothing is imported",
    description:
      "UTF-8 CSV, one row per member, grouped by `household_ref` (gateway/src/cases/csv.ts). Any error (CSV rules, " +
      "region, programme, an applicant already enrolled in an exclusive programme) returns 400 with every wrong " +
      "row and stores nothing. Otherwise every household is stored as a `pending-chain` case and put on chain in " +
      "the background (202).",
    request: { body: { content: { "text/csv": { schema: z.string() } } } },
    responses: {
      202: json(z.object({ imported: z.number(), caseIds: z.array(z.string()) }), "stored; going on chain"),
      400: json(
        z.object({
          error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }),
          rows: z.array(
            z.object({
              row: z.number(),
              householdRef: z.string().optional(),
              field: z.string(),
              code: z.string(),
              message: z.string(),
            }),
          ),
        }),
        "wrong rows; nothing imported",
      ),
      ...errors(401, 403, 413, 415, 503),
    },
  });
  r.post(
    "/cases/import",
    (_req, res, next) => {
      requireInstitution(res, Role.Caseworker);
      next();
    },
    express.text({ type: "text/csv", limit: ctx.config.csvLimit }),
    async (req, res) => {
      const p = requireInstitution(res, Role.Caseworker);
      if (!req.is("text/csv") || typeof req.body !== "string") {
        throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the households as 'Content-Type: text/csv'");
      }
      const out = await importCases(ctx, p, req.body);
      if ("rows" in out) {
        const n = new Set(out.rows.map((e) => e.row)).size;
        res.status(400).json({
          error: {
            code: "VALIDATION_FAILED",
            message: `${n} row(s) have errors; nothing was imported`,
            requestId: String(res.locals.requestId ?? ""),
          },
          rows: out.rows,
        });
        return;
      }
      res.status(202).json(out);
    },
  );

  registry.registerPath({
    method: "get",
    path: "/v1/cases",
    summary: "Cases within the caller's region (index only, no personal data), by case id",
    request: { query: listQuery },
    responses: {
      200: json(
        z.object({
          cases: z.array(caseView),
          next: z.string().nullable().openapi({ description: "`after` of the next page" }),
        }),
      ),
      ...errors(400, 401, 403),
    },
  });
  r.get("/cases", async (req, res) => {
    const p = requireInstitution(res, ...READERS);
    const query = parse(listQuery, req.query, "query");
    const rows = await listVisibleCases(ctx, p, query);
    res.json({ cases: rows.map(caseJson), next: rows.length === query.limit ? rows[rows.length - 1].caseId : null });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/cases/search",
    summary: "Cases of one person within the caller's region, by resident ID (in the body, never in a URL)",
    request: body(searchBody),
    responses: { 200: json(z.object({ cases: z.array(caseView) })), ...errors(400, 401, 403) },
  });
  r.post("/cases/search", async (req, res) => {
    const p = requireInstitution(res, Role.Caseworker, Role.Approver);
    const { residentId } = parse(searchBody, req.body);
    res.json({ cases: (await searchCases(ctx, p, residentId)).map(caseJson) });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/cases/{caseId}",
    summary: "A case: index entry, chain state, and its records' digests and anchoring",
    request: caseParamDoc,
    responses: {
      200: json(
        caseView.extend({
          chain: chainView.nullable().openapi({ description: "null: not on chain (yet) or the chain is unreachable" }),
          chainReachable: z.boolean(),
          records: z.array(recordRef.extend({ createdAt: z.string(), anchoring: anchoringView.nullable() })),
        }),
      ),
      ...errors(400, 401, 403, 404),
    },
  });
  r.get("/cases/:caseId", async (req, res) => {
    const p = requireInstitution(res, ...READERS);
    const { caseId } = parse(caseParam, req.params, "params");
    const state = await caseState(ctx, p, caseId);
    res.json({
      ...caseJson(state.row),
      chain: state.chain ? chainJson(state.chain) : null,
      chainReachable: state.chain !== undefined,
      records: state.records.map(({ record, anchoring }) => ({
        ...refJson(record),
        createdAt: record.createdAt.toISOString(),
        anchoring: anchoringJson(anchoring),
      })),
    });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/cases/{caseId}/details",
    summary:
      "The household's identity and circumstances, decrypted (submitting caseworker, approvers in region; audited)",
    request: caseParamDoc,
    responses: {
      200: json(
        z.object({ caseId: z.string(), identity: z.unknown(), household: z.unknown(), records: z.array(recordRef) }),
      ),
      ...errors(400, 401, 403, 404, 410),
    },
  });
  r.get("/cases/:caseId/details", async (req, res) => {
    const p = requireInstitution(res);
    const { caseId } = parse(caseParam, req.params, "params");
    const d = await caseDetails(ctx, p, caseId);
    res.json({ caseId, identity: d.identity, household: d.household, records: d.records.map(refJson) });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/cases/{caseId}/payment-details",
    summary: "The payment record, decrypted (finance bureaus and payment agents in region; audited)",
    request: caseParamDoc,
    responses: {
      200: json(z.object({ caseId: z.string(), payment: z.unknown(), records: z.array(recordRef) })),
      ...errors(400, 401, 403, 404, 410),
    },
  });
  r.get("/cases/:caseId/payment-details", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.PaymentAgent);
    const { caseId } = parse(caseParam, req.params, "params");
    const d = await paymentDetails(ctx, p, caseId);
    res.json({ caseId, payment: d.payment, records: d.records.map(refJson) });
  });

  // ---- Lifecycle ----

  const lifecycle = (path: string, summary: string, request: z.ZodType, response: z.ZodType = decisionView) =>
    registry.registerPath({
      method: "post",
      path: `/v1/cases/{caseId}/${path}`,
      summary,
      request: { ...caseParamDoc, ...body(request) },
      responses: { 200: json(response), ...errors(400, 401, 403, 404, 409, 503) },
    });

  lifecycle(
    "review",
    "Township review (caseworker): passing starts the public notice, failing rejects",
    reviewBody,
    decisionView.extend({ noticeEnds: z.number() }),
  );
  r.post("/cases/:caseId/review", async (req, res) => {
    const p = requireInstitution(res, Role.Caseworker);
    const { caseId } = parse(caseParam, req.params, "params");
    const input = parse(reviewBody, req.body);
    const d = await reviewCase(ctx, p, caseId, input);
    res.json({ ...decisionJson(d), noticeEnds: d.noticeEnds });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/cases/reviews",
    summary:
      `Township review of many cases at once (caseworker, up to ${REVIEW_BATCH_MAX}): one ledger transaction, all or ` +
      "none; a refusal names the review at fault (`field`: `reviews.<i>`)",
    request: body(reviewsBody),
    responses: {
      200: json(
        z
          .object({ txHash: z.string(), reviews: z.array(decisionView.extend({ noticeEnds: z.number() })) })
          .openapi("CaseReviewsDone"),
      ),
      ...errors(400, 401, 403, 404, 409, 503),
    },
  });
  r.post("/cases/reviews", async (req, res) => {
    const p = requireInstitution(res, Role.Caseworker);
    const input = parse(reviewsBody, req.body);
    const done = await reviewCases(ctx, p, input.reviews);
    res.json({
      txHash: done[0].txHash,
      reviews: done.map((d) => ({ ...decisionJson(d), noticeEnds: d.noticeEnds })),
    });
  });

  lifecycle(
    "objections",
    "Record an objection received during the public notice (caseworker)",
    reasonBody,
    decisionView.extend({ objectionDigest: z.string() }),
  );
  r.post("/cases/:caseId/objections", async (req, res) => {
    const p = requireInstitution(res, Role.Caseworker);
    const { caseId } = parse(caseParam, req.params, "params");
    const input = parse(reasonBody, req.body);
    const d = await raiseObjection(ctx, p, caseId, input);
    res.json({ ...decisionJson(d), objectionDigest: d.objectionDigest });
  });

  lifecycle("objections/resolve", "Resolve an objection (approver): an upheld one rejects the case", resolveBody);
  r.post("/cases/:caseId/objections/resolve", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const { caseId } = parse(caseParam, req.params, "params");
    const input = parse(resolveBody, req.body);
    res.json(decisionJson(await resolveObjection(ctx, p, caseId, input)));
  });

  const assessmentView = z.object({ householdSize: z.number(), incomePerHead: z.string(), amount: z.string() });
  lifecycle(
    "approve",
    "Approve (approver, never the submitter's institution): the amount follows from the programme's rule",
    approveBody,
    decisionView.extend({
      amount: z.string(),
      firstPeriod: z.number(),
      lastPeriod: z.number(),
      assessment: assessmentView,
    }),
  );
  r.post("/cases/:caseId/approve", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const { caseId } = parse(caseParam, req.params, "params");
    const input = parse(approveBody, req.body ?? {});
    const d = await approveCase(ctx, p, caseId, input);
    res.json({
      ...decisionJson(d),
      amount: String(d.amount),
      firstPeriod: d.firstPeriod,
      lastPeriod: d.lastPeriod,
      assessment: d.assessment,
    });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/cases/decisions",
    summary:
      `Approve and reject many cases at once (approver, up to ${DECISION_BATCH_MAX}): one ledger transaction, all ` +
      "or none, each as its single route would; a refusal names the decision at fault (`field`: `decisions.<i>`)",
    request: body(decisionsBody),
    responses: {
      200: json(
        z
          .object({
            txHash: z.string(),
            decisions: z.array(
              decisionView.extend({
                amount: z.string().optional(),
                firstPeriod: z.number().optional(),
                lastPeriod: z.number().optional(),
              }),
            ),
          })
          .openapi("CaseDecisionsDone"),
      ),
      ...errors(400, 401, 403, 404, 409, 503),
    },
  });
  r.post("/cases/decisions", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const input = parse(decisionsBody, req.body);
    const done = await decideCases(ctx, p, input.decisions);
    res.json({
      txHash: done[0].txHash,
      decisions: done.map((d) => ({
        ...decisionJson(d),
        ...(d.amount !== undefined && {
          amount: String(d.amount),
          firstPeriod: d.firstPeriod,
          lastPeriod: d.lastPeriod,
        }),
      })),
    });
  });

  for (const [decision, summary] of [
    ["reject", "Reject a case in review or notice (approver)"],
    ["suspend", "Suspend payouts (approver)"],
    ["resume", "Resume a suspended case (approver)"],
    ["exit", "Exit with the programme's gradual exit (approver)"],
  ] as const) {
    lifecycle(
      decision,
      summary,
      reasonBody,
      decision === "exit" ? decisionView.extend({ lastPeriod: z.number() }) : decisionView,
    );
    r.post(`/cases/:caseId/${decision}`, async (req, res) => {
      const p = requireInstitution(res, Role.Approver);
      const { caseId } = parse(caseParam, req.params, "params");
      const input = parse(reasonBody, req.body);
      const d = await decideCase(ctx, p, caseId, decision, input);
      res.json({ ...decisionJson(d), ...(d.lastPeriod !== undefined && { lastPeriod: d.lastPeriod }) });
    });
  }

  lifecycle(
    "recertify",
    "Yearly re-certification (approver): optionally with the household now (sealed as new records)",
    recertifyBody,
    decisionView.extend({
      amount: z.string(),
      lastPeriod: z.number(),
      recordDigest: z.string(),
      records: z.array(recordRef),
      assessment: assessmentView,
    }),
  );
  r.post("/cases/:caseId/recertify", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const { caseId } = parse(caseParam, req.params, "params");
    const input = parse(recertifyBody, req.body ?? {});
    const d = await recertifyCase(ctx, p, caseId, input);
    res.json({
      ...decisionJson(d),
      amount: String(d.amount),
      lastPeriod: d.lastPeriod,
      recordDigest: d.recordDigest,
      records: d.records,
      assessment: d.assessment,
    });
  });

  return r;
}
