/** The administrator's endpoints (institutions, API keys, holder keys) and `GET /v1/me` for every caller. */
import { Router } from "express";
import { z } from "zod";
import { Role } from "../../../lib/roles";
import { ROLE_NAMES, actorName, issueApiKey, principalOf, requireAdmin } from "../auth";
import { GATEWAY_ACTORS, type GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { parse, regionCode } from "../http/validate";
import type { InstitutionRow } from "../store";
import { INSTITUTION_ID, registerInstitution, rotateHolderKey } from "./registry";
import { CATEGORY_INPUTS } from "../vouchers/names";
import { vouchersOf } from "../vouchers/ledger";
import { setProviderCategory } from "../vouchers/providers";

const ROLE_BY_NAME = Object.fromEntries(Object.entries(ROLE_NAMES).map(([k, v]) => [v, Number(k) as Role]));
const institutionRoles = [
  "caseworker",
  "approver",
  "finance",
  "payment-agent",
  "medical-office",
  "auditor",
  "keeper",
  "provider",
] as const;

const newInstitution = z
  .object({
    id: z.string().regex(INSTITUTION_ID, "must be 1-64 lowercase letters, digits, '-' or '_'"),
    name: z.string().trim().min(1).max(100),
    role: z.enum(institutionRoles),
    region: regionCode,
    category: z
      .enum(CATEGORY_INPUTS)
      .optional()
      .openapi({ description: "providers only, and required for them: what they are (set on chain)" }),
  })
  .strict()
  .refine((i) => (i.role === "provider") === (i.category !== undefined), {
    message: "a provider needs a category, and only a provider has one",
    path: ["category"],
  })
  .openapi("NewInstitution");

const institutionView = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.string(),
    region: z.string(),
    account: z.string(),
    active: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("Institution");

export function institutionJson(row: InstitutionRow) {
  return {
    id: row.id,
    name: row.name,
    role: ROLE_NAMES[row.role as Role],
    region: String(row.regionCode),
    account: row.account,
    active: row.active,
    createdAt: row.createdAt.toISOString(),
  };
}

const idParam = z.object({ id: z.string().regex(INSTITUTION_ID, "is not an institution id") });

export function adminRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();

  registry.registerPath({
    method: "get",
    path: "/v1/me",
    summary: "Who the caller is",
    responses: { 200: json(z.object({ kind: z.string(), institution: institutionView.optional() })), ...errors(401) },
  });
  r.get("/me", async (_req, res) => {
    const p = principalOf(res);
    if (!p) throw new ApiError("UNAUTHENTICATED", "sign in: send 'Authorization: Bearer <token>'");
    if (p.kind !== "institution") return void res.json({ kind: p.kind });
    const row = await ctx.store.getInstitution(p.id);
    res.json({ kind: p.kind, institution: row ? institutionJson(row) : undefined });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/admin/institutions",
    summary: "Register an institution: chain account, role and region on chain, SM2 key holder, first API key",
    request: body(newInstitution),
    responses: {
      201: json(
        z.object({
          institution: institutionView,
          apiKey: z.string().openapi({ description: "shown once" }),
          category: z.string().optional().openapi({ description: "a provider's category" }),
        }),
      ),
      ...errors(400, 401, 403, 409, 503),
    },
  });
  r.post("/admin/institutions", async (req, res) => {
    requireAdmin(res);
    const input = parse(newInstitution, req.body);
    const { category, ...fields } = input;
    // A provider needs the voucher book: refuse before registering anything if this ledger has none.
    if (category !== undefined) vouchersOf(ctx);
    const { institution, apiKey } = await registerInstitution(ctx, { ...fields, role: ROLE_BY_NAME[input.role] });
    if (category !== undefined) await setProviderCategory(ctx, institution, category);
    res.status(201).json({
      institution: institutionJson(institution),
      apiKey: apiKey!.token,
      ...(category !== undefined ? { category } : {}),
    });
  });

  registry.registerPath({
    method: "get",
    path: "/v1/admin/institutions",
    summary: "List institutions",
    responses: { 200: json(z.object({ institutions: z.array(institutionView) })), ...errors(401, 403) },
  });
  r.get("/admin/institutions", async (_req, res) => {
    requireAdmin(res);
    res.json({ institutions: (await ctx.store.listInstitutions()).map(institutionJson) });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/admin/institutions/{id}/api-keys",
    summary: "Issue another API key for an institution (shown once)",
    request: { params: idParam },
    responses: { 201: json(z.object({ keyId: z.string(), apiKey: z.string() })), ...errors(401, 403, 404) },
  });
  r.post("/admin/institutions/:id/api-keys", async (req, res) => {
    const admin = requireAdmin(res);
    const { id } = parse(idParam, req.params, "params");
    if (!(await ctx.store.getInstitution(id))) throw new ApiError("NOT_FOUND", "no such institution");
    const key = await issueApiKey(ctx.store, ctx.keyring, id);
    await ctx.store.appendAudit({
      actor: actorName(admin),
      action: "api-key.issued",
      target: id,
      details: { keyId: key.keyId },
    });
    res.status(201).json({ keyId: key.keyId, apiKey: key.token });
  });

  const keyParam = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, "is not a key id") });
  registry.registerPath({
    method: "delete",
    path: "/v1/admin/api-keys/{keyId}",
    summary: "Revoke an API key",
    request: { params: keyParam },
    responses: { 200: json(z.object({ keyId: z.string(), revokedAt: z.string() })), ...errors(401, 403, 404) },
  });
  r.delete("/admin/api-keys/:keyId", async (req, res) => {
    const admin = requireAdmin(res);
    const { keyId } = parse(keyParam, req.params, "params");
    const row = await ctx.store.revokeApiKey(keyId);
    await ctx.store.appendAudit({ actor: actorName(admin), action: "api-key.revoked", target: keyId });
    res.json({ keyId, revokedAt: row.revokedAt?.toISOString() });
  });

  registry.registerPath({
    method: "post",
    path: "/v1/admin/institutions/{id}/key-rotation",
    summary: "Rotate the institution's SM2 holder key (records are not re-encrypted; the chain gets the new digest)",
    request: { params: idParam },
    responses: { 200: json(z.object({ keyDigest: z.string() })), ...errors(401, 403, 404, 503) },
  });
  r.post("/admin/institutions/:id/key-rotation", async (req, res) => {
    requireAdmin(res);
    const { id } = parse(idParam, req.params, "params");
    res.json(await rotateHolderKey(ctx, id));
  });

  const activeBody = z.object({ active: z.boolean() }).strict();
  registry.registerPath({
    method: "post",
    path: "/v1/admin/institutions/{id}/active",
    summary: "Activate or deactivate an institution, on chain and in the gateway",
    request: { params: idParam, ...body(activeBody) },
    responses: { 200: json(institutionView), ...errors(400, 401, 403, 404, 503) },
  });
  r.post("/admin/institutions/:id/active", async (req, res) => {
    const admin = requireAdmin(res);
    const { id } = parse(idParam, req.params, "params");
    const { active } = parse(activeBody, req.body);
    const inst = await ctx.store.getInstitution(id);
    if (!inst) throw new ApiError("NOT_FOUND", "no such institution");
    await ctx.ledger.setInstitutionActive(GATEWAY_ACTORS.admin, inst.account, active);
    const row = await ctx.store.setInstitutionActive(id, active);
    await ctx.store.appendAudit({
      actor: actorName(admin),
      action: active ? "institution.activated" : "institution.deactivated",
      target: id,
    });
    res.json(institutionJson(row));
  });
  return r;
}
