/**
 * The OpenAPI 3 document (`GET /openapi.json`), generated from the same zod schemas the routes validate with. Each
 * component registers its paths on the registry it is given (`register(registry)` next to its router).
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

export { OpenAPIRegistry };

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_FAILED" }),
      message: z.string(),
      field: z.string().optional(),
      ledgerCode: z.string().optional(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

/** Standard error responses to spread into a path's `responses`. */
export function errors(...statuses: number[]) {
  const out: Record<string, { description: string; content: { "application/json": { schema: typeof errorBody } } }> =
    {};
  for (const s of statuses)
    out[String(s)] = { description: "error", content: { "application/json": { schema: errorBody } } };
  return out;
}

export function json<T extends z.ZodType>(schema: T, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}

export function body<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } } } };
}

export function newRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "Institution API key `rlk_…` (issued by the administrator) or beneficiary session token `rlb_…`",
  });
  return registry;
}

export function buildDocument(registry: OpenAPIRegistry, version: string) {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Relief Ledger gateway (救助資金鏈)",
      version,
      description:
        "Social-assistance money on a blockchain: budgets, applications, approvals, condition-triggered payouts, " +
        "settlement, receipts and audit. Personal data is sealed off chain (SM4, SM2-wrapped keys); the chain holds " +
        "keyed digests. Amounts are integer fen. Errors are JSON with a stable `code`.",
    },
    security: [{ apiKey: [] }],
  });
}
