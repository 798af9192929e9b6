/**
 * The audit sweep over the API (審計核查): an auditor starts a sweep of a scope inside their region, it runs in the
 * background (one at a time per gateway), and its status, progress and report are read back by id. The report is
 * kept in memory while the gateway runs and written as JSON under `<data dir>/reports/`, so a report survives a
 * restart (a GET reads the file when the run is not in memory). Mounted by `auditRoutes`.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Router } from "express";
import { z } from "zod";
import { formatPeriod, parsePeriod } from "../../../lib/periods";
import { Role } from "../../../lib/roles";
import { type InstitutionPrincipal, actorName, assertInRegion, requireInstitution } from "../auth";
import { type GatewayContext, runInBackground } from "../context";
import { ApiError } from "../http/errors";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { parse, programmeId, regionCode } from "../http/validate";
import { renderSweepHtml } from "./sweep/report-html";
import { SWEEP_REPORT_FORMAT, type SweepReport, runSweep } from "./sweep/sweep";
import type { SweepProgress, SweepScope } from "./sweep/types";

const SWEEP_ID = /^sw-\d{14}-[0-9a-f]{8}$/;

const sweepRequest = z
  .object({
    region: regionCode.optional().openapi({ description: "a region inside yours (default: yours)" }),
    programmeId: programmeId.optional(),
    period: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM")
      .transform((s) => parsePeriod(s))
      .optional(),
  })
  .strict()
  .openapi("SweepRequest");

const sweepIdParam = z.object({ sweepId: z.string().regex(SWEEP_ID, "is not a sweep id") });

const scopeView = z.object({
  region: z.string().nullable(),
  programmeId: z.number().nullable(),
  period: z.string().nullable(),
});

const sweepStatusView = z
  .object({
    sweepId: z.string(),
    status: z.enum(["running", "done", "failed"]),
    scope: scopeView,
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    progress: z
      .object({
        phase: z.enum(["records", "funds", "lifecycle", "report"]),
        done: z.number(),
        total: z.number().nullable(),
        ratePerSecond: z.number().nullable(),
      })
      .nullable(),
    summary: z
      .object({
        verdict: z.object({ clean: z.boolean(), errors: z.number(), warnings: z.number() }),
        counts: z.record(z.string(), z.number()),
        exceptionCounts: z.record(z.string(), z.number()),
        conservationHolds: z.boolean(),
      })
      .nullable(),
    error: z.string().nullable(),
  })
  .openapi("SweepStatus");

const sweepReportView = z
  .object({ format: z.literal(SWEEP_REPORT_FORMAT), sweepId: z.string().nullable(), scope: scopeView })
  .passthrough()
  .openapi("SweepReport", { description: "relief-sweep-report-v1 (see gateway/src/audit/sweep/sweep.ts)" });

interface ProgressState {
  phase: SweepProgress["phase"];
  done: number;
  total: number | null;
  ratePerSecond: number | null;
}

interface SweepRun {
  sweepId: string;
  status: "running" | "done" | "failed";
  scope: SweepReport["scope"];
  region: bigint;
  startedAt: Date;
  finishedAt: Date | null;
  progress: ProgressState | null;
  report: SweepReport | null;
  error: string | null;
}

/** Sweeps of each gateway (a context is one gateway). */
const runs = new WeakMap<GatewayContext, Map<string, SweepRun>>();

function runsOf(ctx: GatewayContext): Map<string, SweepRun> {
  let m = runs.get(ctx);
  if (!m) {
    m = new Map();
    runs.set(ctx, m);
  }
  return m;
}

/** Where a sweep's JSON report is written. */
export function sweepReportFile(ctx: GatewayContext, sweepId: string): string {
  return path.join(ctx.config.dataDir, "reports", `sweep-${sweepId}.json`);
}

function newSweepId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `sw-${stamp}-${randomBytes(4).toString("hex")}`;
}

function scopeJson(scope: SweepScope): SweepReport["scope"] {
  return {
    region: scope.region === undefined ? null : scope.region.toString(),
    programmeId: scope.programmeId ?? null,
    period: scope.period === undefined ? null : formatPeriod(scope.period),
  };
}

function statusJson(run: SweepRun) {
  const r = run.report;
  return {
    sweepId: run.sweepId,
    status: run.status,
    scope: run.scope,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    progress: run.progress,
    summary: r
      ? {
          verdict: r.verdict,
          counts: r.counts,
          exceptionCounts: r.exceptionCounts,
          conservationHolds: r.conservation.holds,
        }
      : null,
    error: run.error,
  };
}

/** A finished run read back from its report file (after a restart), or undefined. */
function runFromFile(ctx: GatewayContext, sweepId: string): SweepRun | undefined {
  let report: SweepReport;
  try {
    report = JSON.parse(fs.readFileSync(sweepReportFile(ctx, sweepId), "utf8")) as SweepReport;
  } catch {
    return undefined;
  }
  if (report.format !== SWEEP_REPORT_FORMAT) return undefined;
  return {
    sweepId,
    status: "done",
    scope: report.scope,
    region: BigInt(report.scope.region ?? "0"),
    startedAt: new Date(report.startedAt),
    finishedAt: new Date(report.finishedAt),
    progress: null,
    report,
    error: null,
  };
}

/** The run, if it exists and the auditor's region contains its scope (else 404 / 403). */
function visibleRun(ctx: GatewayContext, p: InstitutionPrincipal, sweepId: string): SweepRun {
  const run = runsOf(ctx).get(sweepId) ?? runFromFile(ctx, sweepId);
  if (!run) throw new ApiError("NOT_FOUND", "no such sweep");
  assertInRegion(p, run.region, "this sweep");
  return run;
}

function finishedReport(run: SweepRun): SweepReport {
  if (run.status === "running") throw new ApiError("IN_PROGRESS", "the sweep is still running");
  if (!run.report) throw new ApiError("NOT_FOUND", "the sweep failed and has no report");
  return run.report;
}

/** Starts a sweep in the background; 409 IN_PROGRESS if one is running. */
export function startSweep(ctx: GatewayContext, p: InstitutionPrincipal, scope: SweepScope): SweepRun {
  const all = runsOf(ctx);
  for (const r of all.values()) {
    if (r.status === "running") throw new ApiError("IN_PROGRESS", "a sweep is already running on this gateway");
  }
  const startedAt = new Date();
  const run: SweepRun = {
    sweepId: newSweepId(startedAt),
    status: "running",
    scope: scopeJson(scope),
    region: scope.region ?? 0n,
    startedAt,
    finishedAt: null,
    progress: null,
    report: null,
    error: null,
  };
  all.set(run.sweepId, run);
  let phaseStart = { phase: "", at: Date.now(), done: 0 };
  const onProgress = (g: SweepProgress) => {
    const now = Date.now();
    if (g.phase !== phaseStart.phase) phaseStart = { phase: g.phase, at: now, done: g.done };
    const seconds = (now - phaseStart.at) / 1000;
    run.progress = {
      phase: g.phase,
      done: g.done,
      total: g.total ?? null,
      ratePerSecond: seconds > 0 ? Math.round((g.done - phaseStart.done) / seconds) : null,
    };
  };
  runInBackground(ctx, "audit.sweep", async () => {
    try {
      const report = await runSweep(
        {
          store: ctx.store,
          ledger: ctx.ledger,
          deployment: ctx.deployment,
          rpcUrl: ctx.rpcUrl,
          clock: () => ctx.now(),
        },
        scope,
        { onProgress },
      );
      report.sweepId = run.sweepId;
      const file = sweepReportFile(ctx, run.sweepId);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
      run.report = report;
      run.status = "done";
    } catch (error) {
      run.status = "failed";
      const err = error as { name?: string; code?: string };
      run.error = err?.code ?? err?.name ?? "Error";
      throw error;
    } finally {
      run.finishedAt = new Date();
      await ctx.store
        .appendAudit({
          actor: actorName(p),
          action: "audit.sweep",
          target: run.sweepId,
          reason: null,
          details: {
            status: run.status,
            scope: run.scope,
            errors: run.report?.verdict.errors ?? null,
            warnings: run.report?.verdict.warnings ?? null,
            counts: run.report?.counts ?? null,
          },
        })
        .catch((error: unknown) => {
          const err = error as { name?: string; code?: string };
          ctx.log.warn({ errName: err?.name, errCode: err?.code }, "audit.sweep: audit entry not written");
        });
    }
  });
  return run;
}

export function sweepRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  registry.registerPath({
    method: "post",
    path: "/v1/audit/sweeps",
    summary: "Start a full audit sweep of a scope: records against anchors, the fund trail, the lifecycle",
    description:
      "Auditors. The scope (default: the caller's region) must be inside the caller's region. Runs in the " +
      "background, one sweep at a time per gateway (409 IN_PROGRESS otherwise); poll GET /v1/audit/sweeps/{sweepId}.",
    request: body(sweepRequest),
    responses: { 202: json(z.object({ sweepId: z.string() }), "Started"), ...errors(400, 401, 403, 409) },
  });
  r.post("/audit/sweeps", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const input = parse(sweepRequest, req.body ?? {});
    const region = input.region ?? p.region;
    assertInRegion(p, region, "the requested region");
    const run = startSweep(ctx, p, { region, programmeId: input.programmeId, period: input.period });
    res.status(202).json({ sweepId: run.sweepId });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/audit/sweeps/{sweepId}",
    summary: "A sweep's status, progress and (when done) summary",
    description: "Auditors whose region contains the sweep's scope.",
    request: { params: sweepIdParam },
    responses: { 200: json(sweepStatusView), ...errors(400, 401, 403, 404) },
  });
  r.get("/audit/sweeps/:sweepId", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const { sweepId } = parse(sweepIdParam, req.params, "params");
    res.json(statusJson(visibleRun(ctx, p, sweepId)));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/audit/sweeps/{sweepId}/report",
    summary: "A finished sweep's report (relief-sweep-report-v1 JSON)",
    description: "Auditors whose region contains the sweep's scope. 409 IN_PROGRESS while it runs.",
    request: { params: sweepIdParam },
    responses: { 200: json(sweepReportView), ...errors(400, 401, 403, 404, 409) },
  });
  r.get("/audit/sweeps/:sweepId/report", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const { sweepId } = parse(sweepIdParam, req.params, "params");
    res.json(finishedReport(visibleRun(ctx, p, sweepId)));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/audit/sweeps/{sweepId}/report.html",
    summary: "A finished sweep's report as one printable HTML page",
    description: "Auditors whose region contains the sweep's scope. 409 IN_PROGRESS while it runs.",
    request: { params: sweepIdParam },
    responses: {
      200: { description: "OK", content: { "text/html": { schema: z.string() } } },
      ...errors(400, 401, 403, 404, 409),
    },
  });
  r.get("/audit/sweeps/:sweepId/report.html", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const { sweepId } = parse(sweepIdParam, req.params, "params");
    const html = renderSweepHtml(finishedReport(visibleRun(ctx, p, sweepId)));
    res.type("text/html; charset=utf-8").send(html);
  });

  return r;
}
