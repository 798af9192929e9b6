/**
 * The beneficiary's endpoints (救助對象): one-time codes printed on payment notices, sign-in, their payments, receipts
 * (confirm / not received) and receipt bundles; the gateway's public receipt key; approvers' resolution of disputes.
 */
import { type Response, Router } from "express";
import { z } from "zod";
import { isValidResidentId } from "../../../lib/resident-id";
import { Role } from "../../../lib/roles";
import { actorName, assertInRegion, closeSession, requireBeneficiary, requireInstitution } from "../auth";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { keyDigest } from "../crypto";
import { ApiError } from "../http/errors";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { bytes32, parse, reason } from "../http/validate";
import { payoutIdOf, payoutIdSchema } from "../payouts/ids";
import { RECEIPT_ROW_OUTCOMES } from "../store";
import { AttemptLimiter, CODE_DIGITS, SIGN_IN_LIMIT, issueNoticeCode, signIn } from "./codes";
import { listPayments, ownedPayout, payoutCase, resolveDispute } from "./payments";
import { bundleOf, issueReceipt, type IssuedReceipt } from "./receipts";

const caseIdParam = z.object({ caseId: bytes32 });
const payoutIdParam = z.object({ payoutId: payoutIdSchema });

const codeView = z
  .object({
    code: z.string().openapi({ description: "shown once: print it on the payment notice" }),
    expiresAt: z.string(),
  })
  .openapi("NoticeCode");

const signInRequest = z
  .object({
    residentId: z
      .string()
      .trim()
      .min(1, "is required")
      .max(18, "is at most 18 characters")
      .refine((s) => isValidResidentId(s), "is not a valid resident ID number"),
    code: z.string().regex(new RegExp(`^\\d{${CODE_DIGITS}}$`), `must be ${CODE_DIGITS} digits`),
  })
  .strict()
  .openapi("BeneficiarySignIn");

const sessionView = z.object({ token: z.string(), expiresAt: z.string() }).openapi("BeneficiarySession");

const paymentView = z
  .object({
    payoutId: z.string(),
    caseId: z.string(),
    programmeId: z.number(),
    programmeKind: z.string().openapi({ example: "monthly-gap" }),
    period: z.string().openapi({ example: "2026-11" }),
    eventId: z.string(),
    amount: z.string(),
    status: z.enum(["pending", "paid", "settled", "confirmed", "disputed", "failed"]),
    receipt: z.object({ outcome: z.enum(RECEIPT_ROW_OUTCOMES), at: z.string() }).nullable(),
    dispute: z
      .object({
        status: z.enum(["open", "resolved"]),
        openedAt: z.string(),
        responseDeadline: z.string(),
        outcome: z.string().nullable(),
      })
      .nullable(),
  })
  .openapi("BeneficiaryPayment");

const receiptView = z
  .object({
    payoutId: z.string(),
    outcome: z.enum(RECEIPT_ROW_OUTCOMES),
    receipt: z.object({ canonical: z.string(), signature: z.string() }),
    recordId: z.string(),
    txHash: z.string().nullable().openapi({ description: "the attestation; null while the chain was unreachable" }),
  })
  .openapi("IssuedReceipt");

const emptyBody = z.object({}).strict();
const notReceivedRequest = z
  .object({ reason: z.string().trim().min(1, "is required").max(200, "is at most 200 characters") })
  .strict()
  .openapi("NotReceived");

const resolveRequest = z
  .object({ outcome: z.enum(["payment-proven", "reissued", "dismissed"]), resolution: reason })
  .strict()
  .openapi("DisputeResolution");

const bundleView = z
  .object({
    format: z.literal("relief-receipt-bundle-v1"),
    receipt: z.object({ canonical: z.string(), signature: z.string() }),
    signer: z.object({ publicKeyPem: z.string() }),
    proof: z.unknown().nullable(),
  })
  .openapi("ReceiptBundle", { description: "Header X-Receipt-Anchored says whether `proof` is set" });

function receiptJson(r: IssuedReceipt) {
  return { payoutId: r.payoutId, outcome: r.outcome, receipt: r.receipt, recordId: r.recordId, txHash: r.txHash };
}

function bearerToken(header: string | undefined): string {
  return /^Bearer (\S+)$/.exec(header ?? "")?.[1] ?? "";
}

export function beneficiaryRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();
  const limiter = new AttemptLimiter(SIGN_IN_LIMIT.attempts, SIGN_IN_LIMIT.windowMs, () => ctx.now());

  registry.registerPath({
    method: "post",
    path: "/v1/cases/{caseId}/notice-code",
    summary: "Issue the one-time sign-in code of the case's beneficiary (printed on the payment notice)",
    description:
      "Caseworkers, approvers, finance bureaus and payment agents in the case's region. Replaces an earlier code.",
    request: { params: caseIdParam },
    responses: { 201: json(codeView), ...errors(400, 401, 403, 404) },
  });
  r.post("/cases/:caseId/notice-code", async (req, res) => {
    const p = requireInstitution(res, Role.Caseworker, Role.Approver, Role.Finance, Role.PaymentAgent);
    const { caseId } = parse(caseIdParam, req.params, "params");
    const kase = await ctx.store.getCase(caseId);
    if (!kase) throw new ApiError("NOT_FOUND", "no such case");
    assertInRegion(p, kase.regionCode, "this case");
    const issued = await issueNoticeCode(ctx, p.id, kase);
    res.status(201).json({ code: issued.code, expiresAt: issued.expiresAt.toISOString() });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/beneficiary/sessions",
    summary: "Sign in with resident ID and one-time code: a session token",
    description: `Anonymous. Wrong, expired or unknown → 401 CODE_INVALID; locked → 423; more than ${SIGN_IN_LIMIT.attempts} attempts a minute from one address → 429.`,
    security: [],
    request: body(signInRequest),
    responses: { 201: json(sessionView), ...errors(400, 401, 423, 429) },
  });
  r.post("/beneficiary/sessions", async (req, res) => {
    limiter.take(req.ip ?? req.socket.remoteAddress ?? "unknown");
    const input = parse(signInRequest, req.body ?? {});
    const session = await signIn(ctx, input.residentId, input.code);
    res.status(201).json({ token: session.token, expiresAt: session.expiresAt.toISOString() });
  });

  registry.registerPath({
    method: "delete",
    path: "/v1/beneficiary/sessions/current",
    summary: "Sign out: ends the calling session",
    responses: { 204: { description: "signed out" }, ...errors(401, 403) },
  });
  r.delete("/beneficiary/sessions/current", async (req, res) => {
    const who = requireBeneficiary(res);
    await closeSession(ctx, bearerToken(req.headers.authorization));
    await ctx.store.appendAudit({ actor: actorName(who), action: "beneficiary.signed-out" });
    res.status(204).end();
  });

  registry.registerPath({
    method: "get",
    path: "/v1/beneficiary/payments",
    summary: "The signed-in beneficiary's payments, with settlement, receipt and dispute state from the chain",
    responses: { 200: json(z.object({ payments: z.array(paymentView) })), ...errors(401, 403, 503) },
  });
  r.get("/beneficiary/payments", async (_req, res) => {
    const who = requireBeneficiary(res);
    res.json({ payments: await listPayments(ctx, who) });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/beneficiary/payments/{payoutId}/confirm",
    summary: "Confirm receipt of a payment: a gateway-signed receipt, attested on chain",
    description: "201 with a new receipt; 200 with the receipt issued before (a payout has one receipt).",
    request: { params: payoutIdParam, ...body(emptyBody) },
    responses: { 200: json(receiptView), 201: json(receiptView), ...errors(400, 401, 403, 404, 409, 503) },
  });
  r.post("/beneficiary/payments/:payoutId/confirm", async (req, res) => {
    const who = requireBeneficiary(res);
    const { payoutId } = parse(payoutIdParam, req.params, "params");
    parse(emptyBody, req.body ?? {});
    const owned = await ownedPayout(ctx, who, payoutId);
    const issued = await issueReceipt(ctx, actorName(who), owned, "confirmed");
    res.status(issued.created ? 201 : 200).json(receiptJson(issued));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/beneficiary/payments/{payoutId}/not-received",
    summary: "Report a payment as not received: a signed receipt that opens a dispute on chain",
    description: "The reason stays off chain (audit log); the receipt and the chain carry its keyed digest.",
    request: { params: payoutIdParam, ...body(notReceivedRequest) },
    responses: { 200: json(receiptView), 201: json(receiptView), ...errors(400, 401, 403, 404, 409, 503) },
  });
  r.post("/beneficiary/payments/:payoutId/not-received", async (req, res) => {
    const who = requireBeneficiary(res);
    const { payoutId } = parse(payoutIdParam, req.params, "params");
    const input = parse(notReceivedRequest, req.body ?? {});
    const owned = await ownedPayout(ctx, who, payoutId);
    const issued = await issueReceipt(ctx, actorName(who), owned, "not-received", input.reason);
    res.status(issued.created ? 201 : 200).json(receiptJson(issued));
  });

  const sendBundle = async (res: Response, payoutId: string) => {
    const row = await ctx.store.getReceipt(payoutId);
    if (!row) throw new ApiError("NOT_FOUND", "this payout has no receipt");
    const { bundle, anchored } = await bundleOf(ctx, row);
    res.setHeader("X-Receipt-Anchored", String(anchored));
    res.setHeader("Content-Disposition", `attachment; filename="receipt-${row.recordId}.json"`);
    res.json(bundle);
  };

  registry.registerPath({
    method: "get",
    path: "/v1/beneficiary/payments/{payoutId}/receipt",
    summary: "Download the receipt bundle (relief-receipt-bundle-v1) of one of the beneficiary's payouts",
    description: "The proof is null until the receipt's record is anchored (header X-Receipt-Anchored: false).",
    request: { params: payoutIdParam },
    responses: { 200: json(bundleView), ...errors(400, 401, 403, 404) },
  });
  r.get("/beneficiary/payments/:payoutId/receipt", async (req, res) => {
    const who = requireBeneficiary(res);
    const { payoutId } = parse(payoutIdParam, req.params, "params");
    const owned = await ownedPayout(ctx, who, payoutId);
    await sendBundle(res, owned.payoutId);
  });

  registry.registerPath({
    method: "get",
    path: "/v1/receipts/{payoutId}/bundle",
    summary: "A payout's receipt bundle, for auditors and approvers in the case's region",
    request: { params: payoutIdParam },
    responses: { 200: json(bundleView), ...errors(400, 401, 403, 404) },
  });
  r.get("/receipts/:payoutId/bundle", async (req, res) => {
    const p = requireInstitution(res, Role.Auditor, Role.Approver);
    const { payoutId } = parse(payoutIdParam, req.params, "params");
    const { key, kase } = await payoutCase(ctx, payoutId);
    assertInRegion(p, kase.regionCode, "this payout");
    await sendBundle(res, payoutIdOf(key));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/gateway-key",
    summary: "The gateway's receipt-signing public key, its key digest and its account on chain",
    security: [],
    responses: {
      200: json(
        z.object({
          publicKeyPem: z.string(),
          keyDigest: z.string(),
          account: z.string(),
          chainId: z.string(),
          receiptBook: z.string(),
          anchorLog: z.string(),
          registry: z.string(),
        }),
      ),
    },
  });
  r.get("/gateway-key", (_req, res) => {
    res.json({
      publicKeyPem: ctx.keyring.signingPublicKeyPem,
      keyDigest: keyDigest(ctx.keyring.signingPublicKeyPem),
      account: ctx.ledger.accountOf(GATEWAY_ACTORS.anchorer),
      chainId: String(ctx.deployment.chainId),
      receiptBook: ctx.deployment.addresses.receipts,
      anchorLog: ctx.deployment.addresses.anchors,
      registry: ctx.deployment.addresses.registry,
    });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/disputes/{payoutId}/resolve",
    summary: "Resolve a payout's open dispute on chain (approvers in the case's region)",
    description: "The resolution text stays in the audit log; the chain gets its keyed digest.",
    request: { params: payoutIdParam, ...body(resolveRequest) },
    responses: {
      200: json(z.object({ payoutId: z.string(), outcome: z.string(), txHash: z.string() })),
      ...errors(400, 401, 403, 404, 409, 503),
    },
  });
  r.post("/disputes/:payoutId/resolve", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const { payoutId } = parse(payoutIdParam, req.params, "params");
    const input = parse(resolveRequest, req.body ?? {});
    const { key, kase } = await payoutCase(ctx, payoutId);
    assertInRegion(p, kase.regionCode, "this payout");
    const tx = await resolveDispute(ctx, p.id, key, input.outcome, input.resolution);
    res.json({ payoutId: payoutIdOf(key), outcome: input.outcome, txHash: tx.txHash });
  });

  return r;
}
