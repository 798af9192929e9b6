/**
 * Verifying a document someone hands an auditor (a receipt bundle from a beneficiary, an audit bundle, a checkpoint):
 * the same checks as `npm run verify` (verifier.ts), run by the gateway against its own chain and deployment, so the
 * web pages can give a verdict without a command line. The document travels as text, because audit bundles must be
 * in their canonical form byte for byte. It holds no personal data (receipts carry ids, amounts and digests only).
 */
import { Router } from "express";
import { z } from "zod";
import { Role } from "../../../lib/roles";
import { requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { parse } from "../http/validate";
import { chainViewOf } from "./bundles";
import { verifyDocument } from "./verifier";

const verificationRequest = z
  .object({
    document: z
      .string()
      .min(1, "is required")
      .max(900_000, "is at most 900,000 characters")
      .openapi({ description: "the document's file text, exactly as downloaded" }),
  })
  .strict()
  .openapi("DocumentVerificationRequest");

const verificationView = z
  .object({
    kind: z.enum(["audit-bundle", "receipt-bundle", "checkpoint", "consistency", "unknown"]),
    valid: z.boolean(),
    onChain: z.boolean(),
    checks: z.array(z.object({ check: z.string(), ok: z.boolean().nullable(), detail: z.string() })),
  })
  .openapi("DocumentVerification");

export function documentRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  registry.registerPath({
    method: "post",
    path: "/v1/verifications",
    summary: "Verify a receipt bundle, audit bundle, checkpoint or consistency document against this gateway's chain",
    description:
      "Auditors and approvers. Runs every check of docs/PROOFS.md (as `npm run verify --rpc`), pinned to the " +
      "gateway's deployment. A document that fails a check is still a 200 answer, with `valid: false`.",
    request: body(verificationRequest),
    responses: { 200: json(verificationView), ...errors(400, 401, 403, 503) },
  });
  r.post("/verifications", async (req, res) => {
    requireInstitution(res, Role.Auditor, Role.Approver);
    const { document } = parse(verificationRequest, req.body ?? {});
    const result = await verifyDocument(document, {
      chain: { view: chainViewOf(ctx), events: ctx.ledger.events.bind(ctx.ledger) },
      expected: ctx.deployment,
    });
    res.json(result);
  });

  return r;
}
