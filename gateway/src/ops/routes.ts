/** Operations: liveness, readiness (database and chain), Prometheus metrics, the OpenAPI document and its docs page. */
import { Router } from "express";
import swaggerUi from "swagger-ui-express";
import { z } from "zod";
import type { GatewayContext } from "../context";
import { type OpenAPIRegistry, json } from "../http/openapi";

const check = z.object({ ok: z.boolean(), detail: z.string().optional() });
const readiness = z
  .object({ ready: z.boolean(), checks: z.object({ database: check, chain: check }) })
  .openapi("Readiness");

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function opsRoutes(ctx: GatewayContext, registry: OpenAPIRegistry, document: () => object): Router {
  const r = Router();

  registry.registerPath({
    method: "get",
    path: "/healthz",
    summary: "Liveness: the process answers",
    security: [],
    responses: { 200: json(z.object({ status: z.literal("ok") })) },
  });
  r.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  registry.registerPath({
    method: "get",
    path: "/readyz",
    summary: "Readiness: the database and the chain answer",
    security: [],
    responses: { 200: json(readiness), 503: json(readiness, "not ready") },
  });
  r.get("/readyz", async (_req, res) => {
    const [database, chain] = await Promise.all([
      within(2000, ctx.store.listInstitutions({ activeOnly: true }))
        .then(() => ({ ok: true }))
        .catch(() => ({ ok: false, detail: "database unavailable" })),
      within(2000, ctx.ledger.blockNumber())
        .then((n) => ({ ok: true, detail: `block ${n}` }))
        .catch(() => ({ ok: false, detail: "chain unavailable" })),
    ]);
    const ready = database.ok && chain.ok;
    res.status(ready ? 200 : 503).json({ ready, checks: { database, chain } });
  });

  registry.registerPath({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    security: [],
    responses: { 200: { description: "text exposition format" } },
  });
  r.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", ctx.metrics.registry.contentType);
    res.send(await ctx.metrics.registry.metrics());
  });

  r.get("/openapi.json", (_req, res) => {
    res.json(document());
  });
  r.use("/docs", swaggerUi.serve);
  r.get("/docs", (req, res, next) =>
    swaggerUi.setup(document(), { customSiteTitle: "Relief Ledger API" })(req, res, next),
  );
  return r;
}
