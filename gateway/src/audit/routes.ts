/**
 * The auditor's endpoints (審計): record verification against the chain, the fund trail rebuilt from chain events,
 * the audited decryption, and the audit log. Every one checks role and region scope first.
 */
import { Router } from "express";
import { z } from "zod";
import { parsePeriod } from "../../../lib/periods";
import { Role } from "../../../lib/roles";
import { assertInRegion, requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { limit, parse, programmeId, reason, regionCode } from "../http/validate";
import type { AuditEntry } from "../store";
import { readAuditLog } from "./audit-log";
import { bundleRoutes } from "./bundle-routes";
import { sweepRoutes } from "./sweep-routes";
import { auditedDecrypt } from "./decrypt";
import { fundTrail } from "./fund-trail";
import { verifyRecord } from "./verification";

export const recordIdParam = z.object({
  recordId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_:.-]{0,199}$/, "is not a record id"),
});

const proofView = z
  .object({
    format: z.literal("relief-proof-v1"),
    recordId: z.string(),
    recordDigest: z.string(),
    leafIndex: z.number(),
    treeSize: z.number(),
    root: z.string(),
    siblings: z.array(z.string()),
    anchorSequence: z.number(),
    txHash: z.string(),
    blockNumber: z.number(),
    chainId: z.string(),
    contract: z.string(),
  })
  .openapi("RecordProof");

const verificationView = z
  .object({
    recordId: z.string(),
    kind: z.string(),
    caseId: z.string(),
    regionCode: z.number(),
    digest: z.string(),
    digestMatches: z.boolean(),
    anchored: z.boolean(),
    proof: proofView.nullable(),
    verifiedOffline: z.boolean().nullable(),
    verifiedOnChain: z.boolean().nullable(),
    verdict: z.enum(["verified", "pending-anchor", "tampered"]),
  })
  .openapi("RecordVerification");

const periodText = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM")
  .transform((s) => parsePeriod(s));

const fundTrailQuery = z
  .object({
    region: regionCode.optional(),
    programmeId: z.coerce.number().pipe(programmeId).optional(),
    period: periodText.optional(),
  })
  .strict();

const countSum = z.object({ count: z.number(), amount: z.string() });
const fundTrailView = z
  .object({
    scope: z.object({
      region: z.string(),
      programmeId: z.number().nullable(),
      period: z.string().nullable(),
      fromBlock: z.number(),
      toBlock: z.number(),
    }),
    flows: z.array(
      z.object({
        type: z.enum([
          "appropriation",
          "allocation",
          "return",
          "programme-funding",
          "programme-defunding",
          "voucher-issue",
          "voucher-expiry",
          "voucher-payment",
          "voucher-failure",
        ]),
        from: z.string(),
        to: z.string(),
        programmeId: z.number().nullable(),
        count: z.number(),
        amount: z.string(),
      }),
    ),
    regions: z.array(
      z.object({ region: z.string(), balance: z.string(), chainBalance: z.string(), matches: z.boolean() }),
    ),
    pools: z.array(
      z.object({
        programmeId: z.number(),
        region: z.string(),
        funded: z.string(),
        defunded: z.string(),
        paidOut: z.string(),
        failed: z.string(),
        clawedBack: z.string(),
        voucherEscrow: z.string().describe("issued vouchers' value not yet expired or paid to providers"),
        redemptionsPaid: z.string().describe("paid to providers for redeemed vouchers, net of bank failures"),
        balance: z.string(),
        chainBalance: z.string(),
        matches: z.boolean(),
      }),
    ),
    payouts: z.array(
      z.object({
        programmeId: z.number(),
        period: z.string(),
        count: z.number(),
        amount: z.string(),
        settled: countSum,
        failed: countSum,
        clawedBack: countSum,
      }),
    ),
    conservation: z.object({
      appropriated: z.string(),
      held: z.string(),
      paidOut: z.string(),
      holds: z.boolean(),
      matchesChain: z.boolean(),
    }),
  })
  .openapi("FundTrail");

const decryptRequest = z
  .object({ reason, fields: z.enum(["identity", "household", "payment"]) })
  .strict()
  .openapi("DecryptRequest");

const decryptView = z
  .object({
    recordId: z.string(),
    kind: z.string(),
    caseId: z.string(),
    fieldClass: z.string(),
    fields: z.unknown(),
    auditRecordId: z.string().openapi({ description: "the anchored decrypt-audit record of this access" }),
  })
  .openapi("DecryptedFields");

const auditQuery = z
  .object({
    since: z.iso.datetime({ offset: true, message: "must be an ISO 8601 time" }).optional(),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9.-]{0,63}$/, "is not an action name")
      .optional(),
    target: z.string().min(1).max(500).optional(),
    after: z.coerce.number().int().min(0).optional(),
    limit,
  })
  .strict();

const auditEntryView = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  details: z.unknown(),
});

function auditEntryJson(e: AuditEntry) {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    reason: e.reason,
    details: e.details,
  };
}

export function auditRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();
  r.use(bundleRoutes(ctx, registry));
  r.use(sweepRoutes(ctx, registry));

  registry.registerPath({
    method: "get",
    path: "/v1/records/{recordId}/verification",
    summary: "Verify a record: its digest, its anchor and its inclusion proof, offline and on chain",
    description: "Auditors, caseworkers and approvers whose region contains the record's.",
    request: { params: recordIdParam },
    responses: { 200: json(verificationView), ...errors(400, 401, 403, 404, 503) },
  });
  r.get("/records/:recordId/verification", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor, Role.Caseworker, Role.Approver);
    const { recordId } = parse(recordIdParam, req.params, "params");
    const record = await ctx.store.getRecord(recordId);
    if (!record) throw new ApiError("NOT_FOUND", "no such record");
    assertInRegion(p, record.regionCode, "this record");
    res.json(await verifyRecord(ctx, record));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/fund-trail",
    summary: "The fund trail of a region (default: the caller's), rebuilt from chain events alone, with conservation",
    description:
      "Auditors and finance bureaus. `programmeId` and `period` (YYYY-MM) filter the lists; conservation is always " +
      "computed over the whole region scope.",
    request: { query: fundTrailQuery },
    responses: { 200: json(fundTrailView), ...errors(400, 401, 403, 503) },
  });
  r.get("/fund-trail", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor, Role.Finance);
    const q = parse(fundTrailQuery, req.query, "query");
    const region = q.region ?? p.region;
    assertInRegion(p, region, "the requested region");
    res.json(await fundTrail(ctx, { region, programmeId: q.programmeId, period: q.period }));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/records/{recordId}/decrypt",
    summary: "Decrypt one class of a record's fields, with a logged and anchored reason",
    description:
      "Auditors in the record's region holding a key of that class. The access is written to the audit log and as " +
      "an anchored decrypt-audit record before anything is decrypted.",
    request: { params: recordIdParam, ...body(decryptRequest) },
    responses: { 200: json(decryptView), ...errors(400, 401, 403, 404, 410, 503) },
  });
  r.post("/records/:recordId/decrypt", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const { recordId } = parse(recordIdParam, req.params, "params");
    const input = parse(decryptRequest, req.body ?? {});
    const record = await ctx.store.getRecord(recordId);
    if (!record) throw new ApiError("NOT_FOUND", "no such record");
    assertInRegion(p, record.regionCode, "this record");
    res.json(await auditedDecrypt(ctx, p, record, input.fields, input.reason));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/audit-log",
    summary: "Audit log entries, oldest first, without those about cases and records outside the caller's region",
    description: "Auditors. Page with `after` = the previous page's `next`.",
    request: { query: auditQuery },
    responses: {
      200: json(z.object({ entries: z.array(auditEntryView), next: z.number().nullable() })),
      ...errors(400, 401, 403),
    },
  });
  r.get("/audit-log", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const q = parse(auditQuery, req.query, "query");
    const page = await readAuditLog(ctx, p.region, {
      since: q.since === undefined ? undefined : new Date(q.since),
      action: q.action,
      target: q.target,
      afterId: q.after,
      limit: q.limit,
    });
    res.json({ entries: page.entries.map(auditEntryJson), next: page.next });
  });

  return r;
}
