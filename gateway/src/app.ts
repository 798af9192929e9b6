/**
 * The Express application, apart from `listen()` so tests drive it with supertest. Routes adapt HTTP to the domain
 * modules and back; every component registers its routes and their OpenAPI description here.
 */
import { randomUUID } from "node:crypto";
import express, { type Express, type RequestHandler } from "express";
import { authenticate, principalOf } from "./auth";
import type { GatewayContext } from "./context";
import { errorHandler, notFound } from "./http/errors";
import { buildDocument, newRegistry } from "./http/openapi";
import { opsRoutes } from "./ops/routes";
import { adminRoutes } from "./institutions/routes";
import { programmeRoutes } from "./programmes/routes";
import { caseRoutes } from "./cases/routes";
import { budgetRoutes } from "./budget/routes";
import { payoutRoutes } from "./payouts/routes";
import { auditRoutes } from "./audit/routes";
import { beneficiaryRoutes } from "./beneficiary/routes";
import { documentRoutes } from "./audit/document-routes";
import { webRoutes } from "./web/routes";
import { voucherRoutes } from "./vouchers/routes";

export const API_VERSION = "1.0.0";

function requestContext(ctx: GatewayContext): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.get("x-request-id");
    res.locals.requestId = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    res.setHeader("X-Request-Id", res.locals.requestId);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Cache-Control", "no-store");
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // The route pattern, never the URL: ids in a URL are not personal data, but patterns keep metrics bounded.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
      ctx.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      ctx.metrics.httpDuration.observe({ method: req.method, route }, seconds);
      const p = principalOf(res);
      ctx.log.info(
        {
          requestId: res.locals.requestId,
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
          principal: p?.kind === "institution" ? p.id : p?.kind,
        },
        "request",
      );
    });
    next();
  };
}

export function createApp(ctx: GatewayContext): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.set("query parser", "simple");
  const registry = newRegistry();

  app.use(requestContext(ctx));
  app.use(
    express.json({ limit: ctx.config.bodyLimit, strict: true, type: ["application/json", "application/*+json"] }),
  );
  app.use(authenticate(ctx));

  app.use(opsRoutes(ctx, registry, () => buildDocument(registry, API_VERSION)));
  app.use("/v1", adminRoutes(ctx, registry));
  app.use("/v1", programmeRoutes(ctx, registry));
  app.use("/v1", caseRoutes(ctx, registry));
  app.use("/v1", budgetRoutes(ctx, registry));
  app.use("/v1", payoutRoutes(ctx, registry));
  app.use("/v1", auditRoutes(ctx, registry));
  app.use("/v1", beneficiaryRoutes(ctx, registry));
  app.use("/v1", documentRoutes(ctx, registry));
  app.use("/v1", voucherRoutes(ctx, registry));
  app.use(webRoutes());

  app.use(notFound);
  app.use(errorHandler(ctx.log));
  return app;
}
