/**
 * Who is calling. Institutions (and the administrator) authenticate with API keys; beneficiaries with a session from
 * a one-time code. Every route asks for the principal it needs through `requireInstitution` / `requireAdmin` /
 * `requireBeneficiary` and checks region scope with `assertInRegion` before touching a record.
 */
import type { Request, Response } from "express";
import { contains } from "../../../lib/regions";
import { Role } from "../../../lib/roles";
import { ApiError } from "../http/errors";

export interface AdminPrincipal {
  kind: "admin";
  keyId: string;
}

export interface InstitutionPrincipal {
  kind: "institution";
  keyId: string;
  /** Institution id = ledger actor id = key-holder id. */
  id: string;
  role: Role;
  region: bigint;
  account: string;
}

export interface BeneficiaryPrincipal {
  kind: "beneficiary";
  pseudonym: string;
}

export type Principal = AdminPrincipal | InstitutionPrincipal | BeneficiaryPrincipal;

export const ROLE_NAMES: Record<Role, string> = {
  [Role.None]: "none",
  [Role.Caseworker]: "caseworker",
  [Role.Approver]: "approver",
  [Role.Finance]: "finance",
  [Role.PaymentAgent]: "payment-agent",
  [Role.MedicalOffice]: "medical-office",
  [Role.Auditor]: "auditor",
  [Role.Anchorer]: "anchorer",
  [Role.Keeper]: "keeper",
  [Role.Provider]: "provider",
};

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

function need(res: Response): Principal {
  const p = principalOf(res);
  if (!p) throw new ApiError("UNAUTHENTICATED", "sign in: send 'Authorization: Bearer <API key or session token>'");
  return p;
}

/** The calling institution, if it has one of `roles`; else 401 / 403 FORBIDDEN_ROLE. */
export function requireInstitution(res: Response, ...roles: Role[]): InstitutionPrincipal {
  const p = need(res);
  if (p.kind !== "institution" || (roles.length > 0 && !roles.includes(p.role))) {
    const names = roles.map((r) => ROLE_NAMES[r]).join(" or ");
    throw new ApiError("FORBIDDEN_ROLE", `this endpoint is for ${names || "institutions"}`);
  }
  return p;
}

export function requireAdmin(res: Response): AdminPrincipal {
  const p = need(res);
  if (p.kind !== "admin") throw new ApiError("FORBIDDEN_ROLE", "this endpoint is for the administrator");
  return p;
}

export function requireBeneficiary(res: Response): BeneficiaryPrincipal {
  const p = need(res);
  if (p.kind !== "beneficiary") throw new ApiError("FORBIDDEN_ROLE", "this endpoint is for beneficiaries");
  return p;
}

/** 403 OUTSIDE_REGION unless `region` is inside the institution's region. */
export function assertInRegion(p: InstitutionPrincipal, region: bigint | number, what = "this item"): void {
  if (!contains(p.region, BigInt(region))) {
    throw new ApiError("OUTSIDE_REGION", `${what} is outside your institution's region`);
  }
}

/** Whether `region` is inside the institution's region. */
export function inRegion(p: InstitutionPrincipal, region: bigint | number): boolean {
  return contains(p.region, BigInt(region));
}

/** The audit log's actor name of a principal. */
export function actorName(p: Principal): string {
  if (p.kind === "admin") return `admin:${p.keyId}`;
  if (p.kind === "institution") return p.id;
  return `beneficiary:${p.pseudonym.slice(0, 18)}`;
}

export type { Request };
