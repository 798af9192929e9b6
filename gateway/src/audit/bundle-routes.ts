/**
 * The proof-bundle endpoints (docs/PROOFS.md): audit bundles of a record, a case and a programme's period for
 * auditors in scope, and the anchor log's signed checkpoint and consistency proofs for anyone (they hold no personal
 * data: counts, roots and a block number). Documents are served as RFC 8785 canonical JSON, the form the verifier
 * (`npm run verify`) requires, so a saved response verifies byte for byte.
 *
 * `?since=` is the base64url (no padding) of an earlier checkpoint's JSON: the bundle or document then carries the
 * consistency proof from it. Mounted by `auditRoutes`.
 */
import { type Response, Router } from "express";
import { z } from "zod";
import { parsePeriod } from "../../../lib/periods";
import { Role } from "../../../lib/roles";
import { actorName, assertInRegion, requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type OpenAPIRegistry, errors, json } from "../http/openapi";
import { bytes32, parse, programmeId, regionCode } from "../http/validate";
import {
  AUDIT_BUNDLE_FORMAT,
  type BuiltBundle,
  caseBundle,
  consistencyFrom,
  currentCheckpoint,
  programmePeriodBundle,
  recordBundle,
} from "./bundles";
import { CONSISTENCY_FORMAT, type Checkpoint, CheckpointError, canonicalText, decodeSince } from "./checkpoints";

/** The response header that says how many of the subject's records were left out, not yet anchored. */
export const UNANCHORED_HEADER = "Relief-Unanchored-Records";

const sinceQuery = z
  .object({
    since: z
      .string()
      .max(4096)
      .optional()
      .openapi({ description: "base64url (no padding) of an earlier relief-checkpoint-v1 JSON" }),
  })
  .strict();

const recordIdParam = z.object({
  recordId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_:.-]{0,199}$/, "is not a record id"),
});
const caseIdParam = z.object({ caseId: bytes32 });
const programmePeriodParams = z.object({
  programmeId: z.coerce.number().pipe(programmeId),
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM")
    .transform((s) => parsePeriod(s)),
});
const programmePeriodQuery = sinceQuery
  .extend({ region: regionCode.optional().openapi({ description: "a region inside yours (default: yours)" }) })
  .strict();

const checkpointView = z
  .object({
    format: z.literal("relief-checkpoint-v1"),
    chainId: z.string(),
    anchorLog: z.string(),
    size: z.number(),
    root: z.string(),
    blockNumber: z.number(),
    signer: z.object({ publicKeyPem: z.string(), account: z.string() }),
    signature: z.string(),
  })
  .openapi("Checkpoint");

const consistencyView = z
  .object({
    format: z.literal(CONSISTENCY_FORMAT),
    from: checkpointView,
    to: checkpointView,
    proof: z.array(z.string()),
  })
  .openapi("CheckpointConsistency");

const bundleView = z
  .object({
    format: z.literal(AUDIT_BUNDLE_FORMAT),
    chain: z.object({
      chainId: z.string(),
      anchorLog: z.string(),
      ledger: z.string(),
      receiptBook: z.string(),
      registry: z.string(),
      deployedAtBlock: z.number(),
    }),
    subject: z.object({ kind: z.enum(["record", "case", "programme-period"]) }).passthrough(),
    records: z.array(
      z.object({
        recordId: z.string(),
        kind: z.string(),
        caseId: z.string(),
        regionCode: z.number().optional().openapi({ description: "sealed records only" }),
        schemaVersion: z.number().optional().openapi({ description: "sealed records only" }),
        envelope: z.string().optional().openapi({ description: "SM4 envelope (ciphertext), base64" }),
        receipt: z.object({ canonical: z.string(), signature: z.string() }).optional(),
        digest: z.string(),
        proof: z.unknown().openapi({ description: "relief-proof-v1" }),
      }),
    ),
    anchors: z.array(
      z.object({
        sequence: z.number(),
        root: z.string(),
        firstRecordIndex: z.number(),
        recordCount: z.number(),
        region: z.string(),
        blockNumber: z.number(),
        txHash: z.string(),
        checkpointProof: z.array(z.string()),
      }),
    ),
    checkpoint: checkpointView,
    consistency: z.object({ from: checkpointView, proof: z.array(z.string()) }).optional(),
    chainFacts: z.object({ atBlock: z.number(), cases: z.array(z.unknown()) }).optional(),
  })
  .openapi("AuditBundle");

function since(text: string | undefined): Checkpoint | undefined {
  if (text === undefined) return undefined;
  try {
    return decodeSince(text);
  } catch (error) {
    if (error instanceof CheckpointError) throw new ApiError("VALIDATION_FAILED", error.message, { field: "since" });
    throw error;
  }
}

function sendCanonical(res: Response, value: unknown): void {
  res.type("application/json").send(canonicalText(value));
}

const bundleDescription =
  "Auditors whose region contains the subject's. The bundle holds record headers, envelopes (ciphertext) and digests, " +
  "inclusion proofs, the anchors with their place in the signed checkpoint, and (cases, periods) the chain facts at " +
  `the checkpoint's block; never decrypted fields. Records not yet anchored are left out: the ${UNANCHORED_HEADER} ` +
  "header counts them. Served as RFC 8785 canonical JSON; verify with `npm run verify -- bundle.json --rpc URL`.";

export function bundleRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  async function sendBundle(res: Response, who: string, target: string, built: BuiltBundle): Promise<void> {
    const { bundle, unanchored } = built;
    await ctx.store.appendAudit({
      actor: who,
      action: "audit.bundle-exported",
      target,
      details: {
        subject: bundle.subject.kind,
        records: bundle.records.length,
        unanchored,
        checkpointSize: bundle.checkpoint.size,
      },
    });
    res.setHeader(UNANCHORED_HEADER, String(unanchored));
    sendCanonical(res, bundle);
  }

  const bundleResponses = { 200: json(bundleView), ...errors(400, 401, 403, 404, 409, 413, 503) };

  registry.registerPath({
    method: "get",
    path: "/v1/records/{recordId}/bundle",
    summary: "The audit bundle of one anchored record",
    description: bundleDescription + " 409 CONFLICT while the record is not anchored.",
    request: { params: recordIdParam, query: sinceQuery },
    responses: bundleResponses,
  });
  r.get("/records/:recordId/bundle", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const { recordId } = parse(recordIdParam, req.params, "params");
    const q = parse(sinceQuery, req.query, "query");
    const record = await ctx.store.getRecord(recordId);
    if (!record) throw new ApiError("NOT_FOUND", "no such record");
    assertInRegion(p, record.regionCode, "this record");
    await sendBundle(res, actorName(p), recordId, await recordBundle(ctx, recordId, { since: since(q.since) }));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/cases/{caseId}/bundle",
    summary: "The audit bundle of a case: its anchored records, its state on chain, its payouts and receipts",
    description: bundleDescription,
    request: { params: caseIdParam, query: sinceQuery },
    responses: bundleResponses,
  });
  r.get("/cases/:caseId/bundle", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const { caseId } = parse(caseIdParam, req.params, "params");
    const q = parse(sinceQuery, req.query, "query");
    const kase = await ctx.store.getCase(caseId);
    if (!kase) throw new ApiError("NOT_FOUND", "no such case");
    assertInRegion(p, kase.regionCode, "this case");
    await sendBundle(res, actorName(p), kase.caseId, await caseBundle(ctx, kase.caseId, { since: since(q.since) }));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/programmes/{programmeId}/periods/{period}/bundle",
    summary: "The audit bundle of a programme's period: its cases in a region, their records and that period's payouts",
    description:
      bundleDescription +
      " `period` is YYYY-MM; `region` (default: the caller's) must be inside the caller's region. At most 500 cases and " +
      "2,000 records (413 PAYLOAD_TOO_LARGE: narrow the region).",
    request: { params: programmePeriodParams, query: programmePeriodQuery },
    responses: bundleResponses,
  });
  r.get("/programmes/:programmeId/periods/:period/bundle", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor);
    const params = parse(programmePeriodParams, req.params, "params");
    const q = parse(programmePeriodQuery, req.query, "query");
    const region = q.region ?? p.region;
    assertInRegion(p, region, "the requested region");
    const built = await programmePeriodBundle(ctx, params.programmeId, params.period, {
      region,
      since: since(q.since),
    });
    await sendBundle(res, actorName(p), `programme:${params.programmeId}:${params.period}`, built);
  });

  registry.registerPath({
    method: "get",
    path: "/v1/checkpoint",
    summary: "The anchor log's current checkpoint, signed by the gateway (public: no personal data)",
    description:
      "The log's size (anchors), its RFC 6962 root over the anchors' leaves and the block it was read at, signed with " +
      "the gateway's SM2 key. Keep it: a later checkpoint or bundle must extend it (`npm run verify -- new.json " +
      "--since kept.json`).",
    security: [],
    responses: { 200: json(checkpointView), ...errors(503) },
  });
  r.get("/checkpoint", async (_req, res) => {
    sendCanonical(res, await currentCheckpoint(ctx));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/checkpoint/consistency",
    summary: "A consistency proof from an earlier checkpoint to the current one (public)",
    description:
      "`since` is the base64url of the earlier checkpoint's JSON. 409 CONFLICT if the chain's anchors do not give its " +
      "root (it is not of this log's history); 400 if it is of another chain or log, or larger than the log.",
    security: [],
    request: { query: z.object({ since: z.string().max(4096) }) },
    responses: { 200: json(consistencyView), ...errors(400, 409, 503) },
  });
  r.get("/checkpoint/consistency", async (req, res) => {
    const q = parse(sinceQuery.required({ since: true }), req.query, "query");
    const from = since(q.since) as Checkpoint;
    const to = await currentCheckpoint(ctx);
    const proof = await consistencyFrom(ctx, from, to);
    sendCanonical(res, { format: CONSISTENCY_FORMAT, from, to, proof });
  });

  return r;
}
