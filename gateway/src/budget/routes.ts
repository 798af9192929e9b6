/**
 * Budget endpoints (finance bureaus): appropriations, allocations down the hierarchy, returns up it, programme pool
 * funding and defunding, and balances (finance and auditors). Amounts are integer fen: numbers in requests, decimal
 * strings in responses.
 */
import { Router } from "express";
import { z } from "zod";
import { Role } from "../../../lib/roles";
import { requireInstitution } from "../auth";
import type { GatewayContext } from "../context";
import { type OpenAPIRegistry, body, errors, json } from "../http/openapi";
import { fen, parse, programmeId, regionCode } from "../http/validate";
import { KIND_NAMES } from "../programmes/routes";
import { type Balances, type Movement, allocate, appropriate, balances, movePool, returnFunds } from "./service";

const reference = z
  .string({ message: "is required" })
  .trim()
  .min(1, "is required")
  .max(200, "is at most 200 characters")
  .openapi({ description: "budget document reference; on chain only as a keyed digest" });

const appropriation = z.object({ amount: fen, reference }).strict().openapi("Appropriation");
const transfer = z.object({ toRegion: regionCode, amount: fen, reference }).strict().openapi("FundTransfer");
const poolTransfer = z.object({ amount: fen, reference }).strict().openapi("PoolTransfer");

const movementView = z
  .object({ txHash: z.string(), blockNumber: z.number(), referenceDigest: z.string() })
  .openapi("FundMovement");

const balancesView = z
  .object({
    region: z.string(),
    balance: z.string(),
    below: z.array(z.object({ region: z.string(), balance: z.string() })),
    pools: z.array(
      z.object({
        programmeId: z.number(),
        kind: z.string(),
        region: z.string(),
        balance: z.string(),
        paidOut: z.string(),
      }),
    ),
    totals: z.object({ appropriated: z.string(), held: z.string(), paidOut: z.string() }).optional(),
  })
  .openapi("Balances");

function movementJson(m: Movement) {
  return { txHash: m.txHash, blockNumber: m.blockNumber, referenceDigest: m.referenceDigest };
}

function balancesJson(b: Balances) {
  return {
    region: String(b.region),
    balance: String(b.balance),
    below: b.below.map((x) => ({ region: String(x.region), balance: String(x.balance) })),
    pools: b.pools.map((x) => ({
      programmeId: x.programmeId,
      kind: KIND_NAMES[x.kind],
      region: String(x.region),
      balance: String(x.balance),
      paidOut: String(x.paidOut),
    })),
    ...(b.totals && {
      totals: {
        appropriated: String(b.totals.appropriated),
        held: String(b.totals.held),
        paidOut: String(b.totals.paidOut),
      },
    }),
  };
}

export function budgetRoutes(ctx: GatewayContext, registry: OpenAPIRegistry): Router {
  const r = Router();
  const refused = errors(400, 401, 403, 404, 409, 503);

  registry.registerPath({
    method: "post",
    path: "/v1/budget/appropriations",
    summary: "Appropriate new funds to central (central finance bureau only)",
    request: body(appropriation),
    responses: { 201: json(movementView), ...refused },
  });
  r.post("/budget/appropriations", async (req, res) => {
    const p = requireInstitution(res, Role.Finance);
    const input = parse(appropriation, req.body);
    res.status(201).json(movementJson(await appropriate(ctx, p, input.amount, input.reference)));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/budget/allocations",
    summary: "Allocate funds from the bureau's region to a region directly below it (county at most)",
    request: body(transfer),
    responses: { 201: json(movementView), ...refused },
  });
  r.post("/budget/allocations", async (req, res) => {
    const p = requireInstitution(res, Role.Finance);
    const input = parse(transfer, req.body);
    res.status(201).json(movementJson(await allocate(ctx, p, input.toRegion, input.amount, input.reference)));
  });

  registry.registerPath({
    method: "post",
    path: "/v1/budget/returns",
    summary: "Return funds from the bureau's region to the region directly above it",
    request: body(transfer),
    responses: { 201: json(movementView), ...refused },
  });
  r.post("/budget/returns", async (req, res) => {
    const p = requireInstitution(res, Role.Finance);
    const input = parse(transfer, req.body);
    res.status(201).json(movementJson(await returnFunds(ctx, p, input.toRegion, input.amount, input.reference)));
  });

  const programmeParam = z.object({ programmeId: z.coerce.number().pipe(programmeId) });
  for (const direction of ["fund", "defund"] as const) {
    const segment = direction === "fund" ? "funding" : "defunding";
    registry.registerPath({
      method: "post",
      path: `/v1/budget/programmes/{programmeId}/${segment}`,
      summary:
        direction === "fund"
          ? "Fund a programme's pool from its region's balance (the programme region's finance bureau)"
          : "Move funds from a programme's pool back to its region's balance (the programme region's finance bureau)",
      request: { params: programmeParam, ...body(poolTransfer) },
      responses: { 201: json(movementView), ...refused },
    });
    r.post(`/budget/programmes/:programmeId/${segment}`, async (req, res) => {
      const p = requireInstitution(res, Role.Finance);
      const { programmeId: id } = parse(programmeParam, req.params, "params");
      const input = parse(poolTransfer, req.body);
      res.status(201).json(movementJson(await movePool(ctx, p, direction, id, input.amount, input.reference)));
    });
  }

  const balanceQuery = z.object({ region: regionCode.optional() }).strict();
  registry.registerPath({
    method: "get",
    path: "/v1/budget/balances",
    summary: "Balances of a region inside the caller's (default: the caller's own), the regions below it and its pools",
    request: { query: balanceQuery },
    responses: { 200: json(balancesView), ...errors(400, 401, 403, 503) },
  });
  r.get("/budget/balances", async (req, res) => {
    const p = requireInstitution(res, Role.Finance, Role.Auditor);
    const query = parse(balanceQuery, req.query, "query");
    res.json(balancesJson(await balances(ctx, p, query.region ?? p.region)));
  });

  return r;
}
