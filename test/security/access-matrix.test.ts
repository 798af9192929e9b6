/**
 * The gateway's access matrix (issue 5, access control): every endpoint of the OpenAPI document × every principal
 * (no credential, the administrator, a beneficiary, every role of the local consortium, the same roles in the sibling
 * county 東城區 and two in the parent city) × region (the case's own township and county, the parent city, the
 * sibling county). The specification below is written from the routes' `require…` calls and docs/API.md; the test
 * fails if an endpoint has no row, so a new endpoint must be specified here.
 *  - role: an allowed principal gets past the door (anything but 401 and 403 FORBIDDEN_ROLE); everyone else 403
 *    FORBIDDEN_ROLE (or the stated code), and no credential 401 UNAUTHENTICATED;
 *  - region: an item of the township is refused with 403 OUTSIDE_REGION to the sibling county's institutions and
 *    served to those whose region contains it (township, county, city); the sibling case likewise the other way;
 *  - scope: no successful answer to a region-scoped principal carries the id of a case outside its region.
 * Supersedes nothing: test/gateway/cases/api.access.test.ts goes deeper into the cases endpoints' field classes.
 */
import { expect } from "chai";
import { contains } from "../../lib/regions";
import { LOCAL_INSTITUTIONS } from "../../gateway/src/seed/local";
import { type Endpoint, type OpenApiDocument, documentedEndpoints, key } from "./endpoints";
import { type RawServer, listen } from "./raw-http";
import { ADDED_INSTITUTIONS, PROVIDERS, type World, buildWorld } from "./world";

type RoleName = "caseworker" | "approver" | "finance" | "payment-agent" | "medical-office" | "auditor" | "provider";
type Who = RoleName | "admin" | "beneficiary" | "institution" | "signed-in" | "anyone";

interface Rule {
  allowed: Who[];
  /** The codes refusing the others, if not FORBIDDEN_ROLE. */
  refused?: string[];
}

const C: RoleName = "caseworker";
const A: RoleName = "approver";
const F: RoleName = "finance";
const P: RoleName = "payment-agent";
const M: RoleName = "medical-office";
const U: RoleName = "auditor";
const V: RoleName = "provider";

/** Who may call what. */
const SPEC: Record<string, Rule> = {
  "get /healthz": { allowed: ["anyone"] },
  "get /readyz": { allowed: ["anyone"] },
  "get /metrics": { allowed: ["anyone"] },
  "get /v1/gateway-key": { allowed: ["anyone"] },
  "get /v1/checkpoint": { allowed: ["anyone"] },
  "get /v1/checkpoint/consistency": { allowed: ["anyone"] },
  "post /v1/beneficiary/sessions": { allowed: ["anyone"] },
  "get /v1/me": { allowed: ["signed-in"] },

  "get /v1/admin/institutions": { allowed: ["admin"] },
  "post /v1/admin/institutions": { allowed: ["admin"] },
  "post /v1/admin/institutions/{id}/api-keys": { allowed: ["admin"] },
  "delete /v1/admin/api-keys/{keyId}": { allowed: ["admin"] },
  "post /v1/admin/institutions/{id}/key-rotation": { allowed: ["admin"] },
  "post /v1/admin/institutions/{id}/active": { allowed: ["admin"] },

  "get /v1/beneficiary/payments": { allowed: ["beneficiary"] },
  "post /v1/beneficiary/payments/{payoutId}/confirm": { allowed: ["beneficiary"] },
  "post /v1/beneficiary/payments/{payoutId}/not-received": { allowed: ["beneficiary"] },
  "get /v1/beneficiary/payments/{payoutId}/receipt": { allowed: ["beneficiary"] },
  "delete /v1/beneficiary/sessions/current": { allowed: ["beneficiary"] },

  "get /v1/programmes": { allowed: ["institution"] },
  "get /v1/programmes/{programmeId}": { allowed: ["institution"] },
  "post /v1/programmes": { allowed: [A] },

  "post /v1/cases": { allowed: [C] },
  "post /v1/cases/import": { allowed: [C] },
  "get /v1/cases": { allowed: [C, A, F, U] },
  "post /v1/cases/search": { allowed: [C, A] },
  "get /v1/cases/{caseId}": { allowed: [C, A, F, U] },
  // Any institution passes the route; only holders of the identity and household keys open them.
  "get /v1/cases/{caseId}/details": { allowed: [C, A], refused: ["NO_ACCESS", "OUTSIDE_REGION"] },
  "get /v1/cases/{caseId}/payment-details": { allowed: [F, P] },
  "post /v1/cases/{caseId}/review": { allowed: [C] },
  "post /v1/cases/reviews": { allowed: [C] },
  "post /v1/cases/{caseId}/objections": { allowed: [C] },
  "post /v1/cases/{caseId}/objections/resolve": { allowed: [A] },
  "post /v1/cases/{caseId}/approve": { allowed: [A] },
  "post /v1/cases/{caseId}/reject": { allowed: [A] },
  "post /v1/cases/decisions": { allowed: [A] },
  "post /v1/cases/{caseId}/suspend": { allowed: [A] },
  "post /v1/cases/{caseId}/resume": { allowed: [A] },
  "post /v1/cases/{caseId}/exit": { allowed: [A] },
  "post /v1/cases/{caseId}/recertify": { allowed: [A] },
  "post /v1/cases/{caseId}/notice-code": { allowed: [C, A, F, P] },
  "get /v1/cases/{caseId}/bundle": { allowed: [U] },

  "post /v1/budget/appropriations": { allowed: [F] },
  "post /v1/budget/allocations": { allowed: [F] },
  "post /v1/budget/returns": { allowed: [F] },
  "post /v1/budget/programmes/{programmeId}/funding": { allowed: [F] },
  "post /v1/budget/programmes/{programmeId}/defunding": { allowed: [F] },
  "get /v1/budget/balances": { allowed: [F, U] },

  "post /v1/payout-runs": { allowed: [F] },
  "get /v1/payout-runs/{runId}": { allowed: [F, U] },
  "get /v1/payouts": { allowed: [F, P, U] },
  "get /v1/payouts/{payoutId}": { allowed: [F, P, U] },
  "post /v1/medical-bills": { allowed: [M] },
  "post /v1/disasters": { allowed: [A] },
  "post /v1/disasters/{disasterId}/relief-runs": { allowed: [F] },
  "post /v1/settlements": { allowed: [P] },
  "post /v1/disputes/{payoutId}/resolve": { allowed: [A] },
  "get /v1/receipts/{payoutId}/bundle": { allowed: [U, A] },

  "get /v1/records/{recordId}/verification": { allowed: [U, C, A] },
  "post /v1/records/{recordId}/decrypt": { allowed: [U] },
  "get /v1/records/{recordId}/bundle": { allowed: [U] },
  "get /v1/programmes/{programmeId}/periods/{period}/bundle": { allowed: [U] },
  "get /v1/fund-trail": { allowed: [U, F] },
  "get /v1/audit-log": { allowed: [U] },
  "post /v1/audit/sweeps": { allowed: [U] },
  "get /v1/audit/sweeps/{sweepId}": { allowed: [U] },
  "get /v1/audit/sweeps/{sweepId}/report": { allowed: [U] },
  "get /v1/audit/sweeps/{sweepId}/report.html": { allowed: [U] },
  "post /v1/verifications": { allowed: [U, A] },

  // Vouchers (issue 9); the keeper role, which may issue and expire too, has no principal here.
  "post /v1/vouchers/issues": { allowed: [F] },
  "post /v1/vouchers/expiries": { allowed: [F] },
  "get /v1/vouchers": { allowed: [C, A, F, P, U] },
  "get /v1/vouchers/{voucherId}": { allowed: [C, A, F, P, U] },
  "get /v1/programmes/{programmeId}/voucher-totals": { allowed: [C, A, F, P, U] },
  "put /v1/programmes/{programmeId}/voucher-terms": { allowed: [A] },
  "get /v1/beneficiary/vouchers": { allowed: ["beneficiary"] },
  "post /v1/beneficiary/vouchers/{voucherId}/presentations": { allowed: ["beneficiary"] },
  "post /v1/voucher-presentations/lookup": { allowed: [V] },
  "post /v1/voucher-redemptions": { allowed: [V] },
  "get /v1/voucher-redemptions": { allowed: [V, F, P, U] },
  "post /v1/voucher-redemptions/payments": { allowed: [F] },
  "post /v1/voucher-redemptions/settlements": { allowed: [P] },
  "post /v1/voucher-redemptions/failures": { allowed: [P] },
};

interface Principal {
  name: string;
  kind: "none" | "admin" | "beneficiary" | "institution";
  role?: RoleName;
  region?: bigint;
}

const ROLE_OF: Record<number, RoleName> = { 1: C, 2: A, 3: F, 4: P, 5: M, 6: U };

function principals(): Principal[] {
  const seeded = LOCAL_INSTITUTIONS.map((i) => ({
    name: i.id,
    kind: "institution" as const,
    role: ROLE_OF[i.role],
    region: i.region,
  }));
  const added = Object.entries(ADDED_INSTITUTIONS).map(([name, i]) => ({
    name,
    kind: "institution" as const,
    role: i.role as RoleName,
    region: i.region,
  }));
  const providers = Object.entries(PROVIDERS).map(([name, i]) => ({
    name,
    kind: "institution" as const,
    role: i.role as RoleName,
    region: i.region,
  }));
  return [
    { name: "none", kind: "none" },
    { name: "admin", kind: "admin" },
    { name: "beneficiary", kind: "beneficiary" },
    ...seeded,
    ...added,
    ...providers,
  ];
}

function allowedBy(rule: Rule, p: Principal): boolean {
  return rule.allowed.some(
    (who) =>
      who === "anyone" ||
      (who === "signed-in" && p.kind !== "none") ||
      (who === "institution" && p.kind === "institution") ||
      who === p.kind ||
      (p.kind === "institution" && who === p.role),
  );
}

const TOWNSHIP = 110105001000n;
const SIBLING_TOWNSHIP = 110106001000n;

describe("access matrix: every endpoint × role × region", function () {
  this.timeout(300_000);
  let w: World;
  let raw: RawServer;
  let endpoints: Endpoint[];
  /** Successful answers to region-scoped principals, for the scope check. */
  const answered: { principal: Principal; what: string; text: string }[] = [];

  before(async function () {
    w = await buildWorld();
    raw = await listen(w.t.gateway.app);
    const doc = JSON.parse((await raw.send("get", "/openapi.json", {})).text) as OpenApiDocument;
    // Ending the beneficiary's session comes last, so every other beneficiary call has one.
    endpoints = documentedEndpoints(doc).sort(
      (a, b) => Number(key(a).includes("sessions/current")) - Number(key(b).includes("sessions/current")),
    );
  });

  after(async function () {
    await raw?.close();
    await w?.t.close();
  });

  const send = async (p: Principal, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (p.kind !== "none") headers.Authorization = w.auth[p.name];
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await raw.send(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    if (res.status < 300 && p.kind === "institution")
      answered.push({ principal: p, what: `${method} ${path}`, text: res.text });
    return res;
  };

  /** A path into the township's world: the API case, its first record, the paid payout. */
  const inScopePath = (e: Endpoint) =>
    e.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
      encodeURIComponent(
        (
          {
            caseId: w.apiCaseId,
            recordId: w.recordIds[0],
            payoutId: w.payoutId,
            programmeId: "3",
            voucherId: w.voucherId,
            id: "county-auditor",
            keyId: w.keyIds[0],
            period: "2026-01",
          } as Record<string, string>
        )[name] ?? "0x" + "1".repeat(64),
      ),
    );

  it("every documented endpoint has a row in the specification, and every row an endpoint", function () {
    const keys = endpoints.map(key);
    expect(
      keys.filter((k) => !(k in SPEC)),
      "endpoints without a rule",
    ).to.deep.equal([]);
    expect(
      Object.keys(SPEC).filter((k) => !keys.includes(k)),
      "rules without an endpoint",
    ).to.deep.equal([]);
  });

  it("role: allowed principals get past the door; others 403 FORBIDDEN_ROLE (or the stated code); no credential 401", async function () {
    const wrong: string[] = [];
    let checked = 0;
    for (const e of endpoints) {
      const rule = SPEC[key(e)];
      for (const p of principals()) {
        const body = e.method === "get" || e.method === "delete" ? undefined : {};
        const res = await send(p, e.method, inScopePath(e), body);
        const code = res.headers["content-type"]?.includes("json") ? JSON.parse(res.text)?.error?.code : undefined;
        checked++;
        const allowed = allowedBy(rule, p);
        const refusedWith = rule.refused && p.kind === "institution" ? rule.refused : ["FORBIDDEN_ROLE"];
        const ok =
          res.status < 500 &&
          (allowed
            ? res.status !== 401 && code !== "FORBIDDEN_ROLE" && code !== "NO_ACCESS"
            : p.kind === "none"
              ? res.status === 401 && code === "UNAUTHENTICATED"
              : res.status === 403 && refusedWith.includes(code));
        if (!ok)
          wrong.push(`${key(e)} as ${p.name}: ${allowed ? "allowed" : "refused"} expected, got ${res.status} ${code}`);
      }
    }
    expect(wrong).to.deep.equal([]);
    expect(checked).to.equal(endpoints.length * principals().length);
  });

  /** Item endpoints that check the item's region, with a body the route accepts up to that check. */
  const REGIONAL: { key: string; body?: unknown }[] = [
    { key: "get /v1/cases/{caseId}" },
    { key: "get /v1/cases/{caseId}/details" },
    { key: "get /v1/cases/{caseId}/payment-details" },
    { key: "get /v1/cases/{caseId}/bundle" },
    { key: "get /v1/records/{recordId}/verification" },
    { key: "get /v1/records/{recordId}/bundle" },
    { key: "post /v1/records/{recordId}/decrypt", body: { reason: "access matrix", fields: "identity" } },
    { key: "post /v1/cases/{caseId}/notice-code" },
    { key: "post /v1/cases/{caseId}/objections", body: { reason: "access matrix" } },
    { key: "post /v1/cases/{caseId}/suspend", body: { reason: "access matrix" } },
    { key: "post /v1/cases/{caseId}/review", body: { passed: true, reason: "access matrix" } },
  ];

  it("region: the sibling county's institutions get 403 OUTSIDE_REGION on the township's items, and the township's on the sibling's", async function () {
    const wrong: string[] = [];
    for (const r of REGIONAL) {
      const e = endpoints.find((x) => key(x) === r.key)!;
      expect(e, r.key).to.not.equal(undefined);
      for (const p of principals().filter((x) => x.kind === "institution" && allowedBy(SPEC[r.key], x))) {
        // The township's item, and (for case endpoints) the sibling county's case.
        const targets = [{ region: TOWNSHIP, path: inScopePath(e) }];
        if (e.params.includes("caseId")) {
          targets.push({ region: SIBLING_TOWNSHIP, path: e.path.replace("{caseId}", w.siblingCaseId) });
        }
        for (const target of targets) {
          const inScope = contains(p.region!, target.region);
          // Writes are sent only where they must be refused: the matrix must not change the cases it tests with.
          if (inScope && e.method !== "get") continue;
          const res = await send(p, e.method, target.path, r.body);
          const code = JSON.parse(res.text || "{}")?.error?.code;
          const ok = inScope
            ? res.status < 500 && code !== "OUTSIDE_REGION" && res.status !== 403
            : res.status === 403 && code === "OUTSIDE_REGION";
          if (!ok) wrong.push(`${r.key} on ${target.region} as ${p.name} (${p.region}): got ${res.status} ${code}`);
        }
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it("lists: each institution sees the cases of its region only", async function () {
    for (const p of principals().filter((x) => x.kind === "institution" && allowedBy(SPEC["get /v1/cases"], x))) {
      const res = await send(p, "get", "/v1/cases?limit=1000");
      expect(res.status, p.name).to.equal(200);
      const ids = (JSON.parse(res.text).cases as { caseId: string }[]).map((c) => c.caseId);
      expect(ids.includes(w.apiCaseId), `${p.name} sees the township's case`).to.equal(contains(p.region!, TOWNSHIP));
      expect(ids.includes(w.siblingCaseId), `${p.name} sees the sibling's case`).to.equal(
        contains(p.region!, SIBLING_TOWNSHIP),
      );
    }
  });

  it("scope: no successful answer to an institution names a case outside its region", function () {
    const cases = [
      { id: w.apiCaseId, region: TOWNSHIP },
      { id: w.paidCaseId, region: TOWNSHIP },
      { id: w.siblingCaseId, region: SIBLING_TOWNSHIP },
    ];
    const leaks = answered.flatMap(({ principal, what, text }) =>
      cases
        .filter(
          (c) => !contains(principal.region!, c.region) && text.toLowerCase().includes(c.id.slice(2).toLowerCase()),
        )
        .map((c) => `${what} as ${principal.name} names ${c.id}`),
    );
    expect(leaks).to.deep.equal([]);
    expect(answered.length).to.be.greaterThan(100);
  });
});
