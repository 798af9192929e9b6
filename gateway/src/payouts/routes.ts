/**
 * Payout endpoints: monthly payout runs and disaster relief runs (finance), the payouts they made (finance, payment
 * agents, auditors), medical bills (medical offices), disaster declarations (approvers) and settlement reports
 * (payment agents). Runs are asynchronous: `POST` answers 202 with the run id, `GET /v1/payout-runs/{runId}` shows
 * its progress. Amounts are integer fen: numbers in requests, decimal strings in responses; periods are "YYYY-MM"
 * (China time).
 */
import express, { Router } from "express";
import { z } from "zod";
import { formatPeriod, parsePeriod } from "../../../lib/periods";
import { Role } from "../../../lib/roles";
import { assertInRegion, requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { idempotencyHeader, idempotencyOf, send } from "../http/idempotency";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { bytes32, fen, limit, parse, programmeId, reason, regionCode } from "../http/validate";
import {
  PAYOUT_ROW_STATUSES,
  PAYOUT_RUN_KINDS,
  PAYOUT_RUN_STATUSES,
  type PayoutRow,
  type PayoutRunRow,
} from "../store";
import { certifyBill, declareDisaster, findDisaster } from "./events";
import { payoutIdSchema } from "./ids";
import { startMonthlyRun, startReliefRun } from "./runs";
import { MAX_SETTLEMENT_ROWS, applySettlement, parseSettlementCsv, parseSettlementJson } from "./settlement";

const periodText = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be a period YYYY-MM")
  .transform((s) => parsePeriod(s));

const requiredKey = idempotencyHeader(true, "scoped to the caller");
const optionalKey = idempotencyHeader(false, "optional; a retry with the same key pays nothing twice");

const newRun = z
  .object({
    programmeId,
    period: periodText.optional().openapi({ description: "YYYY-MM; default: the chain's current period" }),
  })
  .strict()
  .openapi("NewPayoutRun");
const noBody = z.object({}).strict();
const runAccepted = z.object({ runId: z.string(), status: z.literal("pending") }).openapi("PayoutRunAccepted");

const runView = z
  .object({
    runId: z.string(),
    kind: z.enum(PAYOUT_RUN_KINDS),
    programmeId: z.number(),
    period: z.string(),
    eventId: z.string(),
    region: z.string(),
    status: z.enum(PAYOUT_RUN_STATUSES),
    listed: z.number(),
    paid: z.number(),
    skipped: z.number(),
    total: z.string(),
    errorCode: z.string().nullable(),
    result: z.object({
      transactions: z.array(
        z.object({ txHash: z.string(), blockNumber: z.number(), paid: z.number(), skipped: z.number() }),
      ),
      transactionCount: z.number(),
      skipped: z
        .record(z.string(), z.number())
        .openapi({ description: "cases skipped, by the chain's SkipReason name" }),
      reconciled: z.number(),
      unlocated: z.number(),
      ledgerCode: z.string().optional(),
    }),
    actor: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("PayoutRun");

const payoutView = z
  .object({
    payoutId: z.string().openapi({ description: "caseId:period:eventId (period as its number)" }),
    caseId: z.string(),
    programmeId: z.number(),
    period: z.string(),
    eventId: z.string(),
    region: z.string(),
    amount: z.string(),
    status: z.enum(PAYOUT_ROW_STATUSES),
    runId: z.string().nullable(),
    txHash: z.string(),
    blockNumber: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Payout");

const newBill = z.object({ caseId: bytes32, billAmount: fen, billDigest: bytes32 }).strict().openapi("MedicalBill");
const billPaid = z
  .object({
    billId: z.string(),
    payoutId: z.string(),
    amount: z.string(),
    period: z.string(),
    txHash: z.string(),
    blockNumber: z.number(),
  })
  .openapi("MedicalBillPaid");

const newDisaster = z
  .object({
    programmeId,
    region: regionCode,
    declaration: reason.openapi({ description: "the declaration's text; on chain only as a keyed digest" }),
  })
  .strict()
  .openapi("DisasterDeclaration");
const disasterView = z
  .object({
    disasterId: z.string(),
    programmeId: z.number(),
    region: z.string(),
    period: z.string(),
    declarationDigest: z.string(),
    txHash: z.string(),
    blockNumber: z.number(),
  })
  .openapi("Disaster");

const settlementJson = z
  .object({
    reference: z
      .string()
      .optional()
      .openapi({ description: "the report's bank reference (default: the report's digest)" }),
    items: z
      .array(
        z.object({
          payoutId: z.string(),
          bankReference: z.string().optional().openapi({ description: "required for settled" }),
          outcome: z.enum(["settled", "failed"]),
          reason: z.string().optional().openapi({ description: "required for failed" }),
        }),
      )
      .max(MAX_SETTLEMENT_ROWS),
  })
  .openapi("SettlementReport");
const settlementResult = z
  .object({ settled: z.number(), failed: z.number(), already: z.number(), transactions: z.number() })
  .openapi("SettlementResult");
const settlementRefused = z
  .object({
    error: z.object({ code: z.literal("VALIDATION_FAILED"), message: z.string(), requestId: z.string() }),
    rows: z.array(z.object({ row: z.number(), field: z.string(), code: z.string() })),
  })
  .openapi("SettlementRefused");

export function runJson(run: PayoutRunRow) {
  return {
    runId: run.runId,
    kind: run.kind,
    programmeId: run.programmeId,
    period: formatPeriod(run.period),
    eventId: run.eventId,
    region: String(run.regionCode),
    status: run.status,
    listed: run.listed,
    paid: run.paid,
    skipped: run.skipped,
    total: String(run.total),
    errorCode: run.errorCode,
    result: resultJson(run.result),
    actor: run.actor,
    createdAt: run.createdAt.toISOString(),
    updatedAt: run.updatedAt.toISOString(),
  };
}

function resultJson(value: unknown) {
  const r = (value ?? {}) as Record<string, unknown>;
  return {
    transactions: Array.isArray(r.transactions) ? r.transactions : [],
    transactionCount: typeof r.transactionCount === "number" ? r.transactionCount : 0,
    skipped: r.skipped && typeof r.skipped === "object" ? r.skipped : {},
    reconciled: typeof r.reconciled === "number" ? r.reconciled : 0,
    unlocated: typeof r.unlocated === "number" ? r.unlocated : 0,
    ...(typeof r.ledgerCode === "string" ? { ledgerCode: r.ledgerCode } : {}),
  };
}

export function payoutJson(row: PayoutRow) {
  return {
    payoutId: row.payoutId,
    caseId: row.caseId,
    programmeId: row.programmeId,
    period: formatPeriod(row.period),
    eventId: row.eventId,
    region: String(row.regionCode),
    amount: String(row.amount),
    status: row.status,
    runId: row.runId,
    txHash: row.txHash,
    blockNumber: row.blockNumber,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function payoutRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  // ---- Payout runs --------------------------------------------------------------------------------------

  registry.registerPath({
    method: "post",
    path: "/v1/payout-runs",
    summary:
      "Start a monthly payout run of a programme (finance at or above the programme's region); 202, asynchronous",
    request: { headers: requiredKey, ...body(newRun) },
    responses: {
      202: json(runAccepted, "accepted (or the same answer for a repeated key)"),
      ...errors(400, 401, 403, 404, 409, 422, 503),
    },
  });
  r.post("/payout-runs", async (req, res) => {
    const p = requireInstitution(res, Role.Finance);
    const idem = idempotencyOf(req, res, true);
    const input = parse(newRun, req.body);
    send(res, await startMonthlyRun(ctx, p, input, idem));
  });

  const runParam = z.object({ runId: z.string().uuid("is not a run id") });
  registry.registerPath({
    method: "get",
    path: "/v1/payout-runs/{runId}",
    summary: "A payout run's status and progress (finance and auditors of a region containing the run's)",
    request: { params: runParam },
    responses: { 200: json(runView), ...errors(400, 401, 403, 404) },
  });
  r.get("/payout-runs/:runId", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.Auditor);
    const { runId } = parse(runParam, req.params, "params");
    const run = await ctx.store.getPayoutRun(runId);
    if (!run) throw new ApiError("NOT_FOUND", "no such payout run");
    assertInRegion(p, run.regionCode, "the run's region");
    res.json(runJson(run));
  });

  // ---- Payouts ------------------------------------------------------------------------------------------

  const payoutQuery = z
    .object({
      programmeId: z.coerce.number().pipe(programmeId).optional(),
      period: periodText.optional(),
      status: z.enum(PAYOUT_ROW_STATUSES).optional(),
      caseId: bytes32.optional(),
      runId: z.string().uuid().optional(),
      after: z.string().max(200).optional().openapi({ description: "the last payoutId of the previous page" }),
      limit,
    })
    .strict();
  registry.registerPath({
    method: "get",
    path: "/v1/payouts",
    summary: "Payouts in the caller's region, ordered by payout id (finance, payment agents, auditors)",
    request: { query: payoutQuery },
    responses: {
      200: json(z.object({ payouts: z.array(payoutView), next: z.string().optional() })),
      ...errors(400, 401, 403),
    },
  });
  r.get("/payouts", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.PaymentAgent, Role.Auditor);
    const q = parse(payoutQuery, req.query, "query");
    const rows = await ctx.store.listPayouts({
      withinRegion: Number(p.region),
      programmeId: q.programmeId,
      period: q.period,
      status: q.status,
      caseId: q.caseId,
      runId: q.runId,
      afterPayoutId: q.after,
      limit: q.limit,
    });
    const next = rows.length === q.limit ? rows[rows.length - 1].payoutId : undefined;
    res.json({ payouts: rows.map(payoutJson), ...(next ? { next } : {}) });
  });

  const payoutParam = z.object({ payoutId: payoutIdSchema });
  registry.registerPath({
    method: "get",
    path: "/v1/payouts/{payoutId}",
    summary: "One payout (finance, payment agents, auditors of its region)",
    request: { params: payoutParam },
    responses: { 200: json(payoutView), ...errors(400, 401, 403, 404) },
  });
  r.get("/payouts/:payoutId", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.PaymentAgent, Role.Auditor);
    const { payoutId } = parse(payoutParam, req.params, "params");
    const row = await ctx.store.getPayout(payoutId.toLowerCase());
    if (!row) throw new ApiError("NOT_FOUND", "no such payout");
    assertInRegion(p, row.regionCode, "the payout");
    res.json(payoutJson(row));
  });

  // ---- Event payouts ------------------------------------------------------------------------------------

  registry.registerPath({
    method: "post",
    path: "/v1/medical-bills",
    summary:
      "Certify a medical bill of an approved medical-assistance case; the chain pays it at once (medical offices)",
    request: { headers: optionalKey, ...body(newBill) },
    responses: { 201: json(billPaid), ...errors(400, 401, 403, 404, 409, 422, 503) },
  });
  r.post("/medical-bills", async (req, res) => {
    const p = requireInstitution(res, Role.MedicalOffice);
    const idem = idempotencyOf(req, res, false);
    const input = parse(newBill, req.body);
    send(res, await certifyBill(ctx, p, input, idem));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/disasters",
    summary: "Declare a disaster in a region for a disaster-relief programme (approvers, as the chain requires)",
    request: { headers: optionalKey, ...body(newDisaster) },
    responses: { 201: json(disasterView), ...errors(400, 401, 403, 404, 409, 422, 503) },
  });
  r.post("/disasters", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const idem = idempotencyOf(req, res, false);
    const input = parse(newDisaster, req.body);
    send(res, await declareDisaster(ctx, p, input, idem));
  });

  const disasterParam = z.object({ disasterId: bytes32 });
  registry.registerPath({
    method: "post",
    path: "/v1/disasters/{disasterId}/relief-runs",
    summary: "Start a relief run paying a declared disaster's approved households (finance of a region containing it)",
    request: { params: disasterParam, headers: requiredKey, ...body(noBody) },
    responses: { 202: json(runAccepted), ...errors(400, 401, 403, 404, 422, 503) },
  });
  r.post("/disasters/:disasterId/relief-runs", async (req, res) => {
    const p = requireInstitution(res, Role.Finance);
    const idem = idempotencyOf(req, res, true);
    const { disasterId } = parse(disasterParam, req.params, "params");
    parse(noBody, idem.body);
    const disaster = await findDisaster(ctx, disasterId);
    if (!disaster) throw new ApiError("NOT_FOUND", "no such disaster");
    send(res, await startReliefRun(ctx, p, disaster, idem));
  });

  // ---- Settlement ---------------------------------------------------------------------------------------

  registry.registerPath({
    method: "post",
    path: "/v1/settlements",
    summary:
      "A settlement report (payment agents): CSV payout_id,bank_reference,outcome,reason or JSON; all lines checked " +
      "first, any error refuses the whole report; lines already in the reported state count as `already`",
    request: {
      body: {
        content: {
          "text/csv": { schema: z.string().openapi({ example: "payout_id,bank_reference,outcome,reason\n" }) },
          "application/json": { schema: settlementJson },
        },
      },
    },
    responses: {
      200: json(settlementResult),
      400: json(settlementRefused, "the report has errors; nothing was sent or changed"),
      ...errors(401, 403, 409, 413, 415, 503),
    },
  });
  r.post("/settlements", express.text({ type: "text/csv", limit: ctx.config.csvLimit }), async (req, res) => {
    const p = requireInstitution(res, Role.PaymentAgent);
    let report;
    if (req.is("text/csv")) report = parseSettlementCsv(typeof req.body === "string" ? req.body : "");
    else if (req.is("application/json") || req.is("application/*+json")) report = parseSettlementJson(req.body);
    else throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the report as text/csv or application/json");
    const outcome = await applySettlement(ctx, p, report);
    if ("errors" in outcome) {
      ctx.log.warn({ requestId: res.locals.requestId, rows: outcome.total }, "settlement report refused");
      return void res.status(400).json({
        error: {
          code: "VALIDATION_FAILED",
          message: `${outcome.total} problem(s) in the report; nothing was sent or changed`,
          requestId: String(res.locals.requestId ?? ""),
        },
        rows: outcome.errors,
      });
    }
    res.json({
      settled: outcome.settled,
      failed: outcome.failed,
      already: outcome.already,
      transactions: outcome.transactions,
    });
  });

  return r;
}
