/**
 * Reads `Authorization: Bearer <token>` and sets `res.locals.principal`: an institution or the administrator for an
 * API key (`rlk_…`), a beneficiary for a session token (`rlb_…`). A request without a token goes on anonymous (only
 * public endpoints accept it); a token that does not verify is refused here with 401, whatever the endpoint.
 */
import type { RequestHandler } from "express";
import type { Role } from "../../../lib/roles";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { isApiKeyToken, verifyApiKey } from "./api-keys";
import type { Principal } from "./principal";
import { verifySession } from "./sessions";

export function authenticate(ctx: GatewayContext): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) return next();
    const m = /^Bearer ([!-~]{1,200})$/.exec(header);
    if (!m) return next(new ApiError("UNAUTHENTICATED", "the Authorization header must be 'Bearer <token>'"));
    const token = m[1];
    try {
      const principal = isApiKeyToken(token) ? await institutionOf(ctx, token) : await verifySession(ctx, token);
      if (!principal) return next(new ApiError("UNAUTHENTICATED", "this token is not valid, revoked or expired"));
      res.locals.principal = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}

async function institutionOf(ctx: GatewayContext, token: string): Promise<Principal | undefined> {
  const key = await verifyApiKey(ctx.store, ctx.keyring, token);
  if (!key) return undefined;
  if (key.institutionId === null) return { kind: "admin", keyId: key.keyId };
  const inst = await ctx.store.getInstitution(key.institutionId);
  if (!inst || !inst.active) return undefined;
  return {
    kind: "institution",
    keyId: key.keyId,
    id: inst.id,
    role: inst.role as Role,
    region: BigInt(inst.regionCode),
    account: inst.account,
  };
}
