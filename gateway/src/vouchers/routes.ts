/**
 * Voucher endpoints (救助券): issuing and expiry (finance, keeper), views (officials in scope, auditors), voucher
 * programmes' terms (approvers), the beneficiary's vouchers and presentation codes, the provider's lookup and
 * redemption, and paying and settling redemptions (finance, payment agents). Rules live in the services of this
 * folder; amounts are integer fen (numbers in requests, decimal strings in responses).
 */
import { Router } from "express";
import { z } from "zod";
import { Role } from "../../../lib/roles";
import { assertInRegion, inRegion, requireBeneficiary, requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { idempotencyHeader, idempotencyOf, once, jsonBody, send } from "../http/idempotency";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { bytes32, fen, limit, parse, programmeId, reason } from "../http/validate";
import { REDEMPTION_ROW_STATUSES, VOUCHER_ROW_STATUSES } from "../store";
import { PRESENTATION_CODE_DIGITS, QR_PREFIX, codeDigest, issuePresentationCode, openCode } from "./codes";
import { casesToIssue, expireDue, issueVouchers, voucherProgramme } from "./issue";
import { vouchersOf } from "./ledger";
import { failRedemption, MAX_PAYMENT_KEYS, payRedemptions, settleRedemptions } from "./payments";
import { categoryName, providerRefusal } from "./providers";
import { redeemVoucher } from "./redeem";
import { setTerms, termsJson, voucherTermsInput, voucherTermsView } from "./terms";
import {
  beneficiaryVouchers,
  chainRedemptionView,
  chainRedemptions,
  redemptionRowJson,
  redemptionRowView,
  voucherJson,
  voucherView,
} from "./views";

const OFFICIALS = [Role.Caseworker, Role.Approver, Role.Finance, Role.PaymentAgent, Role.Auditor] as const;
const requiredKey = idempotencyHeader(true, "scoped to the caller; a retry with the same key pays nothing twice");
const optionalKey = idempotencyHeader(false, "optional; a retry with the same key returns the first answer");

const codeInput = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, ""))
  .transform((s) => (s.startsWith(QR_PREFIX) ? s.slice(QR_PREFIX.length) : s))
  .pipe(
    z.string().regex(new RegExp(`^\\d{${PRESENTATION_CODE_DIGITS}}$`), `must be ${PRESENTATION_CODE_DIGITS} digits`),
  )
  .openapi({ description: `the ${PRESENTATION_CODE_DIGITS}-digit code, or the QR code's payload` });
const keyInput = z.object({ voucherId: bytes32, index: z.number().int().min(0).max(0xffff) }).strict();

const issueRequest = z
  .object({
    programmeId,
    caseIds: z
      .array(bytes32)
      .min(1)
      .max(10_000)
      .optional()
      .openapi({ description: "default: every approved case of the programme without a voucher" }),
  })
  .strict()
  .openapi("VoucherIssueRequest");
const issueResult = z
  .object({
    programmeId: z.number(),
    issued: z.number(),
    total: z.string(),
    transactions: z.number(),
    outcomes: z.array(
      z.object({
        caseId: z.string(),
        status: z.enum(["issued", "skipped"]),
        faceValue: z.string().optional(),
        expiresAt: z.string().optional(),
        reason: z.string().optional().openapi({ description: "the chain's SkipReason name" }),
      }),
    ),
  })
  .openapi("VoucherIssueResult");
const expiryRequest = z.object({ programmeId: programmeId.optional() }).strict().openapi("VoucherExpiryRequest");
const expiryResult = z
  .object({ expired: z.number(), returned: z.string(), transactions: z.number() })
  .openapi("VoucherExpiryResult");
const totalsView = z
  .object({
    programmeId: z.number(),
    issued: z.string(),
    redeemed: z.string(),
    expired: z.string(),
    outstanding: z.string(),
    paid: z.string(),
    unpaid: z.string().openapi({ description: "redeemed, not yet paid to providers" }),
  })
  .openapi("VoucherTotals");
const presentationRequest = z
  .object({ maxAmount: fen.optional().openapi({ type: "integer", description: "default: all that is left" }) })
  .strict()
  .openapi("VoucherPresentationRequest");
const presentationView = z
  .object({
    code: z.string().openapi({ description: "one-time, shown once; valid 10 minutes" }),
    qr: z.string().openapi({ description: "the QR code's payload" }),
    expiresAt: z.string(),
    maxAmount: z.string(),
  })
  .openapi("VoucherPresentationCode");
const lookupRequest = z.object({ code: codeInput }).strict().openapi("VoucherLookup");
const lookupView = z
  .object({
    voucherId: z.string(),
    programmeId: z.number(),
    kind: z.string(),
    categories: z.array(z.string()),
    status: z.string(),
    remaining: z.string(),
    maxAmount: z.string().openapi({ description: "what the beneficiary presented" }),
    expiresAt: z.string(),
    codeExpiresAt: z.string(),
    providerCategory: z.string(),
    redeemable: z.boolean(),
    refusal: z
      .object({ code: z.string(), ledgerCode: z.string().optional(), message: z.string() })
      .optional()
      .openapi({ description: "why this provider may not redeem it" }),
  })
  .openapi("VoucherLookupResult");
const redemptionRequest = z
  .object({
    code: codeInput,
    amount: fen.openapi({ type: "integer" }),
    invoiceNumber: z.string().trim().min(1, "is required").max(100, "is at most 100 characters"),
  })
  .strict()
  .openapi("VoucherRedemptionRequest");
const redeemedView = z
  .object({
    redemptionId: z.string(),
    voucherId: z.string(),
    index: z.number(),
    amount: z.string(),
    remaining: z.string(),
    status: z.literal("redeemed"),
    txHash: z.string().nullable(),
  })
  .openapi("VoucherRedeemed");
const paymentRequest = z
  .union([
    z.object({ programmeId }).strict(),
    z.object({ redemptions: z.array(keyInput).min(1).max(MAX_PAYMENT_KEYS) }).strict(),
  ])
  .openapi("VoucherPaymentRequest");
const paymentResult = z
  .object({ paid: z.number(), already: z.number(), total: z.string(), txHash: z.string().nullable() })
  .openapi("VoucherPaymentResult");
const settlementRequest = z
  .object({
    bankReference: z.string().trim().min(1, "is required").max(200),
    redemptions: z.array(keyInput).min(1).max(MAX_PAYMENT_KEYS),
  })
  .strict()
  .openapi("VoucherSettlementRequest");
const failureRequest = z.object({ redemption: keyInput, reason }).strict().openapi("VoucherFailureRequest");

const idParam = z.object({ voucherId: bytes32 });
const programmeParam = z.object({ programmeId: z.coerce.number().pipe(programmeId) });
const listQuery = z
  .object({
    programmeId: z.coerce.number().pipe(programmeId).optional(),
    status: z.enum(VOUCHER_ROW_STATUSES).optional(),
    after: bytes32.optional().openapi({ description: "the last voucherId of the previous page" }),
    limit,
  })
  .strict();
const redemptionQuery = z
  .object({
    status: z.enum(REDEMPTION_ROW_STATUSES).optional(),
    programmeId: z.coerce.number().pipe(programmeId).optional(),
    voucherId: bytes32.optional(),
    after: z.string().max(200).optional().openapi({ description: "the last redemptionId of the previous page" }),
    limit,
  })
  .strict();

export function voucherRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  // ---- Issue and expiry ------------------------------------------------------------------------------

  registry.registerPath({
    method: "post",
    path: "/v1/vouchers/issues",
    summary: "Issue the vouchers of a voucher programme's approved cases (finance or keeper at or above its region)",
    request: { headers: optionalKey, ...body(issueRequest) },
    responses: { 200: json(issueResult), ...errors(400, 401, 403, 404, 409, 422, 503) },
  });
  r.post("/vouchers/issues", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.Keeper);
    const idem = idempotencyOf(req, res, false);
    const input = parse(issueRequest, req.body);
    const answer = await once(ctx, p, "voucher-issue", idem, async () => {
      const rule = await voucherProgramme(ctx, input.programmeId);
      assertInRegion(p, rule.region, "the programme's region");
      let ids = input.caseIds;
      if (ids) {
        for (const [i, id] of ids.entries()) {
          const kase = await ctx.store.getCase(id);
          if (!kase) throw new ApiError("NOT_FOUND", `caseIds.${i}: no such case`, { field: `caseIds.${i}` });
          if (kase.programmeId !== input.programmeId) {
            throw new ApiError("VALIDATION_FAILED", `caseIds.${i}: not a case of this programme`, {
              field: `caseIds.${i}`,
            });
          }
          if (!inRegion(p, kase.regionCode)) {
            throw new ApiError("OUTSIDE_REGION", `caseIds.${i} is outside your institution's region`, {
              field: `caseIds.${i}`,
            });
          }
        }
      } else ids = await casesToIssue(ctx, input.programmeId);
      return { status: 200, body: jsonBody(await issueVouchers(ctx, p.id, input.programmeId, rule, ids)) };
    });
    send(res, answer);
  });

  registry.registerPath({
    method: "post",
    path: "/v1/vouchers/expiries",
    summary: "Return the unused value of vouchers past their expiry to their pools (finance or keeper, in scope)",
    request: body(expiryRequest),
    responses: { 200: json(expiryResult), ...errors(400, 401, 403, 404, 409, 503) },
  });
  r.post("/vouchers/expiries", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.Keeper);
    const input = parse(expiryRequest, req.body ?? {});
    if (input.programmeId !== undefined) {
      assertInRegion(p, (await voucherProgramme(ctx, input.programmeId)).region, "the programme's region");
    }
    res.json(await expireDue(ctx, p.id, { programmeId: input.programmeId, withinRegion: Number(p.region) }));
  });

  // ---- Views ------------------------------------------------------------------------------------------

  registry.registerPath({
    method: "get",
    path: "/v1/vouchers",
    summary: "Vouchers in the caller's region, by voucher id, with the chain's values (officials and auditors)",
    request: { query: listQuery },
    responses: {
      200: json(z.object({ vouchers: z.array(voucherView), next: z.string().optional() })),
      ...errors(400, 401, 403, 503),
    },
  });
  r.get("/vouchers", async (req, res) => {
    const p = requireInstitution(res, ...OFFICIALS);
    const q = parse(listQuery, req.query, "query");
    const rows = await ctx.store.listVoucherRows({
      programmeId: q.programmeId,
      status: q.status,
      withinRegion: Number(p.region),
      afterVoucherId: q.after,
      limit: q.limit,
    });
    const chain = vouchersOf(ctx);
    const found = await Promise.all(rows.map((row) => chain.voucher(row.voucherId)));
    const vouchers = rows.flatMap((row, i) => (found[i] ? [voucherJson(row.voucherId, found[i]!)] : []));
    const next = rows.length === q.limit ? rows[rows.length - 1].voucherId : undefined;
    res.json({ vouchers, ...(next ? { next } : {}) });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/vouchers/{voucherId}",
    summary: "One voucher and its redemptions, from the chain (officials and auditors of its region)",
    request: { params: idParam },
    responses: {
      200: json(voucherView.extend({ redemptions: z.array(chainRedemptionView) })),
      ...errors(400, 401, 403, 404, 503),
    },
  });
  r.get("/vouchers/:voucherId", async (req, res) => {
    const p = requireInstitution(res, ...OFFICIALS);
    const { voucherId } = parse(idParam, req.params, "params");
    const v = await vouchersOf(ctx).voucher(voucherId);
    if (!v) throw new ApiError("NOT_FOUND", "no such voucher");
    assertInRegion(p, v.region, "the voucher");
    res.json({ ...voucherJson(voucherId, v), redemptions: await chainRedemptions(ctx, voucherId, v) });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/programmes/{programmeId}/voucher-totals",
    summary: "A voucher programme's totals from the chain: issued = redeemed + expired + outstanding",
    request: { params: programmeParam },
    responses: { 200: json(totalsView), ...errors(400, 401, 403, 404, 409, 503) },
  });
  r.get("/programmes/:programmeId/voucher-totals", async (req, res) => {
    const p = requireInstitution(res, ...OFFICIALS);
    const { programmeId: id } = parse(programmeParam, req.params, "params");
    assertInRegion(p, (await voucherProgramme(ctx, id)).region, "the programme's region");
    const t = await vouchersOf(ctx).voucherTotals(id);
    res.json({
      programmeId: id,
      issued: String(t.issued),
      redeemed: String(t.redeemed),
      expired: String(t.expired),
      outstanding: String(t.issued - t.redeemed - t.expired),
      paid: String(t.paid),
      unpaid: String(t.redeemed - t.paid),
    });
  });

  registry.registerPath({
    method: "put",
    path: "/v1/programmes/{programmeId}/voucher-terms",
    summary: "Replace a voucher programme's terms (approvers whose region contains the programme's)",
    request: { params: programmeParam, ...body(voucherTermsInput) },
    responses: { 200: json(voucherTermsView), ...errors(400, 401, 403, 404, 409, 503) },
  });
  r.put("/programmes/:programmeId/voucher-terms", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const { programmeId: id } = parse(programmeParam, req.params, "params");
    const input = parse(voucherTermsInput, req.body);
    await setTerms(ctx, p, id, input);
    res.json(termsJson(await vouchersOf(ctx).voucherTerms(id)));
  });

  // ---- The beneficiary ------------------------------------------------------------------------------

  registry.registerPath({
    method: "get",
    path: "/v1/beneficiary/vouchers",
    summary: "The signed-in beneficiary's vouchers and their redemptions (with the providers' names)",
    responses: {
      200: json(z.object({ vouchers: z.array(voucherView.extend({ redemptions: z.array(chainRedemptionView) })) })),
      ...errors(401, 403, 503),
    },
  });
  r.get("/beneficiary/vouchers", async (_req, res) => {
    const who = requireBeneficiary(res);
    res.json({ vouchers: await beneficiaryVouchers(ctx, who) });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/beneficiary/vouchers/{voucherId}/presentations",
    summary: "A one-time presentation code (10 minutes) to show a provider; replaces the voucher's open code",
    request: { params: idParam, ...body(presentationRequest) },
    responses: { 201: json(presentationView), ...errors(400, 401, 403, 404, 409, 503) },
  });
  r.post("/beneficiary/vouchers/:voucherId/presentations", async (req, res) => {
    const who = requireBeneficiary(res);
    const { voucherId } = parse(idParam, req.params, "params");
    const input = parse(presentationRequest, req.body ?? {});
    const issued = await issuePresentationCode(ctx, who, voucherId, input.maxAmount);
    ctx.log.info({ requestId: res.locals.requestId, voucherId }, "voucher presentation code issued");
    res.status(201).json({
      code: issued.code,
      qr: issued.qr,
      expiresAt: issued.expiresAt.toISOString(),
      maxAmount: String(issued.maxAmount),
    });
  });

  // ---- The provider ---------------------------------------------------------------------------------

  registry.registerPath({
    method: "post",
    path: "/v1/voucher-presentations/lookup",
    summary: "What a presented code is for, and whether this provider may redeem it (providers; no personal data)",
    request: body(lookupRequest),
    responses: { 200: json(lookupView), ...errors(400, 401, 403, 404, 409, 410, 503) },
  });
  r.post("/voucher-presentations/lookup", async (req, res) => {
    const p = requireInstitution(res, Role.Provider);
    const { code } = parse(lookupRequest, req.body);
    const row = await openCode(ctx, codeDigest(ctx, code));
    const v = await vouchersOf(ctx).voucher(row.voucherId);
    if (!v) throw new ApiError("NOT_FOUND", "no such voucher", { field: "code" });
    const refusal = await providerRefusal(ctx, p, row.voucherId, v);
    const view = voucherJson(row.voucherId, v);
    res.json({
      voucherId: view.voucherId,
      programmeId: view.programmeId,
      kind: view.kind,
      categories: view.categories,
      status: view.status,
      remaining: view.remaining,
      maxAmount: String(row.maxAmount < v.remaining ? row.maxAmount : v.remaining),
      expiresAt: view.expiresAt,
      codeExpiresAt: row.expiresAt.toISOString(),
      providerCategory: await categoryName(ctx, p.account),
      redeemable: refusal === undefined,
      ...(refusal ? { refusal: { code: refusal.code, ledgerCode: refusal.ledgerCode, message: refusal.message } } : {}),
    });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/voucher-redemptions",
    summary:
      "Redeem part or all of a presented voucher (the presented code's provider); uses the code once. Idempotency-Key " +
      "required: a retry with it resumes and redeems nothing twice",
    request: { headers: requiredKey, ...body(redemptionRequest) },
    responses: { 201: json(redeemedView), ...errors(400, 401, 403, 404, 409, 410, 422, 503) },
  });
  r.post("/voucher-redemptions", async (req, res) => {
    const p = requireInstitution(res, Role.Provider);
    const idem = idempotencyOf(req, res, true);
    const input = parse(redemptionRequest, req.body);
    send(res, await redeemVoucher(ctx, p, input, idem));
  });

  registry.registerPath({
    method: "get",
    path: "/v1/voucher-redemptions",
    summary: "Redemptions: a provider's own; finance, payment agents and auditors: those in their region",
    request: { query: redemptionQuery },
    responses: {
      200: json(z.object({ redemptions: z.array(redemptionRowView), next: z.string().optional() })),
      ...errors(400, 401, 403),
    },
  });
  r.get("/voucher-redemptions", async (req, res) => {
    const p = requireInstitution(res, Role.Provider, Role.Finance, Role.PaymentAgent, Role.Auditor);
    const q = parse(redemptionQuery, req.query, "query");
    const rows = await ctx.store.listRedemptions({
      ...(p.role === Role.Provider ? { providerId: p.id } : { withinRegion: Number(p.region) }),
      status: q.status,
      programmeId: q.programmeId,
      voucherId: q.voucherId,
      afterRedemptionId: q.after,
      limit: q.limit,
    });
    const next = rows.length === q.limit ? rows[rows.length - 1].redemptionId : undefined;
    res.json({ redemptions: rows.map(redemptionRowJson), ...(next ? { next } : {}) });
  });

  // ---- Paying providers ------------------------------------------------------------------------------

  registry.registerPath({
    method: "post",
    path: "/v1/voucher-redemptions/payments",
    summary: "Pay providers for redeemed redemptions: a programme's or the listed ones (finance in scope)",
    request: { headers: requiredKey, ...body(paymentRequest) },
    responses: { 200: json(paymentResult), ...errors(400, 401, 403, 404, 409, 422, 503) },
  });
  r.post("/voucher-redemptions/payments", async (req, res) => {
    const p = requireInstitution(res, Role.Finance);
    const idem = idempotencyOf(req, res, true);
    const input = parse(paymentRequest, req.body);
    send(res, await payRedemptions(ctx, p, input, idem));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/voucher-redemptions/settlements",
    summary: "The bank paid these redemptions to the providers (payment agents in scope); all or nothing",
    request: body(settlementRequest),
    responses: {
      200: json(z.object({ settled: z.number(), already: z.number(), txHash: z.string().nullable() })),
      ...errors(400, 401, 403, 404, 409, 503),
    },
  });
  r.post("/voucher-redemptions/settlements", async (req, res) => {
    const p = requireInstitution(res, Role.PaymentAgent);
    const input = parse(settlementRequest, req.body);
    res.json(await settleRedemptions(ctx, p, input.bankReference, input.redemptions));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/voucher-redemptions/failures",
    summary: "The bank could not pay this redemption: it is owed to the provider again (payment agents in scope)",
    request: body(failureRequest),
    responses: {
      200: json(
        z.object({
          voucherId: z.string(),
          index: z.number(),
          amount: z.string(),
          status: z.string(),
          txHash: z.string().nullable(),
        }),
      ),
      ...errors(400, 401, 403, 404, 409, 503),
    },
  });
  r.post("/voucher-redemptions/failures", async (req, res) => {
    const p = requireInstitution(res, Role.PaymentAgent);
    const input = parse(failureRequest, req.body);
    res.json(await failRedemption(ctx, p, input.redemption, input.reason));
  });

  return r;
}
