/** Programmes (救助項目) and their rules, read from the chain; approvers create them for their region. */
import { Router } from "express";
import { z } from "zod";
import { programmeRule, ruleFields } from "../../../lib/programmes";
import { ProgrammeKind, Role } from "../../../lib/roles";
import { assertInRegion, requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { bytes32, parse, programmeId, regionCode } from "../http/validate";
import type { ProgrammeRule } from "../ledger";
import { ApiError } from "../http/errors";
import { setTerms, termsOf, voucherTermsInput, voucherTermsView } from "../vouchers/terms";

/** The API's names of the programme kinds, indexed by `ProgrammeKind`. */
export const KIND_NAMES = [
  "monthly-gap",
  "monthly-fixed",
  "temporary",
  "medical",
  "disaster",
  "voucher",
] as const satisfies Record<ProgrammeKind, string>;
const KIND_BY_NAME = Object.fromEntries(KIND_NAMES.map((name, kind) => [name, kind as ProgrammeKind]));

const programmeView = z
  .object({
    programmeId: z.number(),
    kind: z.string(),
    region: z.string(),
    amount: z.string().openapi({
      description:
        "fen: standard per head (gap), per period (fixed), ceiling (temporary), annual cap (medical), per household (disaster)",
    }),
    deductible: z.string(),
    ratioBps: z.number(),
    validityMonths: z.number(),
    exitPeriods: z.number(),
    noticePeriod: z.number(),
    disputeWindow: z.number(),
    exclusionGroup: z.number(),
    ruleVersion: z.string(),
    voucher: voucherTermsView.nullable().optional().openapi({ description: "voucher programmes: their terms" }),
  })
  .openapi("Programme");

export function programmeJson(
  programmeId: number,
  rule: ProgrammeRule,
  voucher?: ReturnType<typeof voucherTermsView.parse> | null,
) {
  return {
    ...(voucher !== undefined ? { voucher } : {}),
    programmeId,
    ...ruleFields(rule),
    kind: KIND_NAMES[rule.kind],
    region: String(rule.region),
    amount: String(rule.amount),
    deductible: String(rule.deductible),
  };
}

const newProgramme = z
  .object({
    kind: z.enum(KIND_NAMES),
    region: regionCode,
    amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    deductible: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    ratioBps: z.number().int().min(0).max(10_000).optional(),
    validityMonths: z.number().int().min(1).max(32).optional(),
    exitPeriods: z.number().int().min(0).max(31).optional(),
    noticePeriod: z
      .number()
      .int()
      .min(0)
      .max(90 * 86400)
      .optional(),
    disputeWindow: z
      .number()
      .int()
      .min(0)
      .max(365 * 86400)
      .optional(),
    exclusionGroup: z.number().int().min(0).max(255).optional(),
    ruleVersion: bytes32,
    voucher: voucherTermsInput.optional().openapi({ description: "required for kind voucher, refused for others" }),
  })
  .strict()
  .openapi("NewProgramme");

export function programmeRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  registry.registerPath({
    method: "get",
    path: "/v1/programmes",
    summary: "Every programme with its current rule (from the chain)",
    responses: { 200: json(z.object({ programmes: z.array(programmeView) })), ...errors(401, 403, 503) },
  });
  r.get("/programmes", async (_req, res) => {
    requireInstitution(res);
    const count = await ctx.ledger.programmeCount();
    const rules = await Promise.all(Array.from({ length: count }, (_, i) => ctx.ledger.programme(i + 1)));
    const terms = await Promise.all(rules.map((rule, i) => termsOf(ctx, i + 1, rule.kind)));
    res.json({ programmes: rules.map((rule, i) => programmeJson(i + 1, rule, terms[i])) });
  });

  const idParam = z.object({ programmeId: z.coerce.number().pipe(programmeId) });
  registry.registerPath({
    method: "get",
    path: "/v1/programmes/{programmeId}",
    summary: "One programme's rule",
    request: { params: idParam },
    responses: { 200: json(programmeView), ...errors(401, 403, 404, 503) },
  });
  r.get("/programmes/:programmeId", async (req, res) => {
    requireInstitution(res);
    const { programmeId: id } = parse(idParam, req.params, "params");
    const rule = await ctx.ledger.programme(id);
    res.json(programmeJson(id, rule, await termsOf(ctx, id, rule.kind)));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/programmes",
    summary: "Create a programme in the approver's region (rule defaults from lib/programmes)",
    request: body(newProgramme),
    responses: { 201: json(programmeView), ...errors(400, 401, 403, 409, 503) },
  });
  r.post("/programmes", async (req, res) => {
    const p = requireInstitution(res, Role.Approver);
    const input = parse(newProgramme, req.body);
    assertInRegion(p, input.region, "the programme's region");
    if ((input.kind === "voucher") !== (input.voucher !== undefined)) {
      throw new ApiError("VALIDATION_FAILED", "voucher: required for kind voucher, and only for it", {
        field: "voucher",
      });
    }
    const { kind, region, ruleVersion, amount, voucher, ...over } = input;
    const rule = programmeRule(KIND_BY_NAME[kind], region, ruleVersion, {
      ...over,
      amount: BigInt(amount),
    } as Partial<ProgrammeRule>);
    if (input.deductible !== undefined) rule.deductible = BigInt(input.deductible);
    const created = await ctx.ledger.createProgramme(p.id, rule);
    await ctx.store.appendAudit({
      actor: p.id,
      action: "programme.created",
      target: String(created.programmeId),
      details: { txHash: created.txHash },
    });
    if (voucher !== undefined) await setTerms(ctx, p, created.programmeId, voucher);
    const made = await ctx.ledger.programme(created.programmeId);
    res.status(201).json(programmeJson(created.programmeId, made, await termsOf(ctx, created.programmeId, made.kind)));
  });
  return r;
}
