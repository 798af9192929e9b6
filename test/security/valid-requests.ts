/**
 * Valid requests for every endpoint of the gateway, built from the fuzzing world (issue 5): the right role's key, ids
 * that exist (cases, records, payouts, programmes, runs, sweeps, disasters, objections, spare institutions and keys),
 * regions inside the caller's scope, integer fen, and households whose resident ID numbers carry a correct GB 11643
 * check character. Schema-based generation cannot make these, so without them a third of the endpoints never got
 * a request past validation.
 *
 * Ids that only exist once the run has made them are bound late: a generated request is a function of {@link Live},
 * which collects them from the answers to earlier valid requests.
 */
import fc from "fast-check";
import { formatPeriod } from "../../lib/periods";
import { syntheticResidentId } from "../../lib/resident-id";
import { encodeSince } from "../../gateway/src/audit/checkpoints";
import type { Checkpoint } from "../../gateway/src/audit/checkpoints";
import { type World, keyIdOf } from "./world";

/** A valid request once its late-bound ids are filled in. */
export interface ValidRequest {
  /** A principal of the world (`w.auth`), or `none`. */
  principal: string;
  /** Sent instead of the principal's header (fresh beneficiary sessions). */
  authorization?: string;
  /** Path with query, percent-encoded. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  type?: string;
  /** Personal values this request carries: they must never come back in an error or reach a log. */
  personal?: string[];
}

export type LateRequest = (live: Live) => ValidRequest;

/** Spare institutions the world registers for the fuzzer to rotate, deactivate and revoke keys of. */
export const SPARE_INSTITUTIONS = ["fuzz-spare-a", "fuzz-spare-b"] as const;

/** Ids made during the run, by kind, from the answers to valid requests. */
export class Live {
  private readonly values = new Map<string, string[]>();

  constructor(private readonly w: World) {}

  add(kind: string, value: string): void {
    const list = this.values.get(kind) ?? [];
    if (!list.includes(value)) list.push(value);
    this.values.set(kind, list);
  }

  /** The `i`-th (modulo) value of a kind, or `fallback` if none was made yet. */
  pick(kind: string, i: number, fallback: string): string {
    const list = this.values.get(kind) ?? [];
    return list.length === 0 ? fallback : list[i % list.length];
  }

  /** The newest value of a kind. */
  latest(kind: string, fallback: string): string {
    const list = this.values.get(kind) ?? [];
    return list.length === 0 ? fallback : list[list.length - 1];
  }

  /** Takes the oldest value of a kind away (one-use values: sessions to end, keys to revoke). */
  take(kind: string, fallback: string): string {
    return this.values.get(kind)?.shift() ?? fallback;
  }

  /** Learns ids from a successful answer to `endpoint` (its path as sent). */
  harvest(endpoint: string, path: string, text: string): void {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const caseId = /\/cases\/(0x[0-9a-fA-F]{64})/.exec(path)?.[1];
    if (typeof body.runId === "string") this.add("runId", body.runId);
    if (typeof body.sweepId === "string") this.add("sweepId", body.sweepId);
    if (typeof body.disasterId === "string") this.add("disasterId", body.disasterId);
    if (typeof body.caseId === "string" && endpoint === "post /v1/cases") this.add("caseId", body.caseId);
    if (endpoint === "post /v1/cases/{caseId}/review" && caseId) this.add("inNotice", caseId);
    if (endpoint === "post /v1/cases/reviews" && Array.isArray(body.reviews)) {
      for (const r of body.reviews as { caseId: string; status: string }[])
        if (r.status === "in-notice") this.add("inNotice", r.caseId);
    }
    if (typeof body.objectionDigest === "string" && caseId) this.add("objection", `${caseId}|${body.objectionDigest}`);
    if (endpoint === "post /v1/cases/{caseId}/notice-code" && caseId === this.w.paidCaseId) {
      this.add("code", body.code as string);
    }
    if (endpoint === "post /v1/beneficiary/sessions") this.add("session", `Bearer ${body.token as string}`);
    if (typeof body.apiKey === "string" && endpoint.startsWith("post /v1/admin/")) {
      const id = keyIdOf(`Bearer ${body.apiKey}`);
      if (id) this.add("spareKeyId", id);
    }
    if (endpoint === "get /v1/checkpoint") this.add("since", encodeSince(body as unknown as Checkpoint));
    if (endpoint === "get /v1/receipts/{payoutId}/bundle") this.add("document", text);
    if (endpoint === "post /v1/beneficiary/vouchers/{voucherId}/presentations")
      this.add("voucherCode", body.code as string);
  }
}

const hex32 = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `0x${h}`);
const reason = fc.stringMatching(/^[a-z ]{1,40}$/).map((s) => `fuzz ${s}`);
const reference = fc.stringMatching(/^[A-Z0-9-]{1,30}$/).map((s) => `REF-${s}`);
const smallFen = fc.integer({ min: 1, max: 50_000 });
const period = fc.constantFrom("2025-12", "2026-01", "2026-06", "2026-11", "2026-12");
const idemKey = fc.stringMatching(/^[A-Za-z0-9._:-]{8,40}$/);
const json = (principal: string, path: string, body: unknown, extra: Partial<ValidRequest> = {}): ValidRequest => ({
  principal,
  path,
  body: JSON.stringify(body),
  type: "application/json",
  ...extra,
});
const get = (principal: string, path: string, query: Record<string, string | undefined> = {}): ValidRequest => {
  const q = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
  return { principal, path: q.size > 0 ? `${path}?${q}` : path };
};
const late = <T>(arb: fc.Arbitrary<T>, build: (v: T, live: Live) => ValidRequest): fc.Arbitrary<LateRequest> =>
  arb.map((v) => (live: Live) => build(v, live));
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A synthetic resident of 朝陽區 born 1940–2005, with its check character. */
export const residentIdArb = fc
  .tuple(fc.date({ min: new Date("1940-01-01"), max: new Date("2005-12-31"), noInvalidDate: true }), fc.nat(999))
  .map(([birth, sequence]) =>
    syntheticResidentId({ region: "110105", birthDate: birth.toISOString().slice(0, 10).replace(/-/g, ""), sequence }),
  );

const RELATIONS = ["spouse", "child", "parent", "sibling", "other"] as const;
const memberArb = (relation: string) =>
  fc.record({
    name: fc.stringMatching(/^[a-z]{8}$/).map((s) => `模糊${s}`),
    residentId: residentIdArb,
    relation: fc.constant(relation),
    disability: opt(fc.constantFrom("none", "grade1", "grade2", "grade3", "grade4")),
  });

/** A household application of programme 1–4 in the township (the body of `POST /v1/cases`). */
export const applicationArb = fc
  .record({
    programmeId: fc.constantFrom(1, 2, 3, 4),
    self: memberArb("self"),
    others: fc.array(fc.constantFrom(...RELATIONS).chain(memberArb), { maxLength: 3 }),
    phone: fc.stringMatching(/^1[3-9]\d{9}$/),
    street: fc.stringMatching(/^[a-z]{10}$/),
    monthlyIncome: fc.integer({ min: 0, max: 300_000 }),
    accountNumber: fc.stringMatching(/^\d{16,19}$/),
    documents: fc.array(
      fc.record({ kind: fc.constantFrom("id-card", "income-proof", "household-register"), digest: hex32 }),
      { maxLength: 2 },
    ),
    requestedAmount: opt(fc.integer({ min: 1, max: 500_000 })),
  })
  .map((a) => {
    // One person per resident ID (a household listing someone twice is refused, rightly).
    const members = [a.self, ...a.others].filter(
      (m, i, all) => all.findIndex((o) => o.residentId === m.residentId) === i,
    );
    const body = {
      programmeId: a.programmeId,
      region: "110105001000",
      applicant: {
        name: a.self.name,
        residentId: a.self.residentId,
        phone: a.phone,
        address: `北京市朝陽區模糊路${a.street}號`,
      },
      household: { members: JSON.parse(JSON.stringify(members)), monthlyIncome: a.monthlyIncome },
      payment: { bankName: "測試銀行朝陽支行", accountName: a.self.name, accountNumber: a.accountNumber },
      documents: a.documents,
      ...(a.requestedAmount !== undefined && { requestedAmount: a.requestedAmount }),
    };
    const personal = [
      ...members.map((m) => m.name),
      ...members.map((m) => m.residentId),
      a.phone,
      body.applicant.address,
      a.accountNumber,
    ];
    return { body, personal };
  });

type Application = (typeof applicationArb extends fc.Arbitrary<infer T> ? T : never)["body"];

const CSV_HEADER =
  "household_ref,programme_id,region,relation,name,resident_id,phone,address,monthly_income_fen,bank_name,account_name,account_number,disability,requested_amount_fen";

/** The CSV import form of applications: one row per member, household columns on the `self` row. */
export function csvOf(apps: Application[]): string {
  const cell = (v: unknown) => (v === undefined ? "" : String(v));
  const lines = [CSV_HEADER];
  apps.forEach((a, h) => {
    for (const m of a.household.members as {
      relation: string;
      name: string;
      residentId: string;
      disability?: string;
    }[]) {
      const self = m.relation === "self";
      const household = self
        ? [a.applicant.phone, a.applicant.address, a.household.monthlyIncome, a.payment.bankName, a.payment.accountName]
        : ["", "", "", "", ""];
      lines.push(
        [
          `HH-${h + 1}`,
          self ? a.programmeId : "",
          self ? a.region : "",
          m.relation,
          m.name,
          m.residentId,
          ...household,
          self ? a.payment.accountNumber : "",
          m.disability,
          self ? a.requestedAmount : "",
        ]
          .map(cell)
          .join(","),
      );
    }
  });
  return `${lines.join("\n")}\n`;
}

/**
 * One valid-request arbitrary per endpoint (`method path` as in the OpenAPI document). The fuzz test asserts that
 * every documented endpoint has one.
 */
export function validRequests(w: World): Record<string, fc.Arbitrary<LateRequest>> {
  const ownCases = [w.apiCaseId, w.paidCaseId];
  const currentPeriod = formatPeriod(Number(w.payoutId.split(":")[1]));
  /** A case of the township: the world's, or one the run took in (index `i`). */
  const caseOf = (live: Live, i: number, fallback = w.apiCaseId) =>
    i % 3 === 0 ? fallback : live.pick("caseId", i, fallback);
  const caseArb = fc.nat();
  const enc = encodeURIComponent;
  const seeded = (...ids: string[]) => fc.constantFrom(...ids);

  return {
    "get /healthz": fc.constant(() => get("none", "/healthz")),
    "get /readyz": fc.constant(() => get("none", "/readyz")),
    "get /metrics": fc.constant(() => get("none", "/metrics")),
    "get /v1/gateway-key": fc.constant(() => get("none", "/v1/gateway-key")),
    "get /v1/checkpoint": fc.constant(() => get("none", "/v1/checkpoint")),
    "get /v1/checkpoint/consistency": late(fc.nat(), (i, live) =>
      get("none", "/v1/checkpoint/consistency", { since: live.pick("since", i, "AAAA") }),
    ),
    "get /v1/me": late(seeded("admin", "county-auditor", "township-caseworker", "beneficiary"), (p) =>
      get(p, "/v1/me"),
    ),

    "get /v1/admin/institutions": fc.constant(() => get("admin", "/v1/admin/institutions")),
    "post /v1/admin/institutions": late(
      fc.record({
        id: fc.stringMatching(/^[a-z0-9]{10}$/),
        role: fc.constantFrom("caseworker", "approver", "finance", "payment-agent", "medical-office", "auditor"),
      }),
      ({ id, role }) =>
        json("admin", "/v1/admin/institutions", {
          id: `fuzz-${id}`,
          name: `fuzz ${id}`,
          role,
          region: role === "caseworker" ? "110105001000" : "110105",
        }),
    ),
    "post /v1/admin/institutions/{id}/api-keys": late(seeded(...SPARE_INSTITUTIONS), (id) =>
      json("admin", `/v1/admin/institutions/${id}/api-keys`, {}),
    ),
    "delete /v1/admin/api-keys/{keyId}": late(fc.nat(), (i, live) => ({
      principal: "admin",
      path: `/v1/admin/api-keys/${i % 4 === 0 ? live.pick("spareKeyId", i, "0".repeat(16)) : live.take("spareKeyId", "0".repeat(16))}`,
    })),
    "post /v1/admin/institutions/{id}/key-rotation": late(seeded(...SPARE_INSTITUTIONS), (id) =>
      json("admin", `/v1/admin/institutions/${id}/key-rotation`, {}),
    ),
    "post /v1/admin/institutions/{id}/active": late(
      fc.tuple(seeded(...SPARE_INSTITUTIONS), fc.boolean()),
      ([id, active]) => json("admin", `/v1/admin/institutions/${id}/active`, { active }),
    ),

    "get /v1/programmes": late(seeded("county-approver", "township-caseworker", "county-auditor"), (p) =>
      get(p, "/v1/programmes"),
    ),
    "get /v1/programmes/{programmeId}": late(
      fc.tuple(seeded("county-approver", "sibling-approver"), fc.integer({ min: 1, max: 7 })),
      ([p, id]) => get(p, `/v1/programmes/${id}`),
    ),
    "post /v1/programmes": late(
      fc.record({
        kind: fc.constantFrom("monthly-fixed", "temporary", "monthly-gap"),
        amount: fc.integer({ min: 1, max: 200_000 }),
        ruleVersion: hex32,
        noticePeriod: opt(fc.integer({ min: 0, max: 14 * 86_400 })),
      }),
      (r) => json("county-approver", "/v1/programmes", { ...r, region: "110105" }),
    ),

    "post /v1/cases": late(
      fc.tuple(applicationArb, opt(idemKey), fc.constantFrom(undefined, "wait=0", "wait=5")),
      ([app, key, prefer]) =>
        json("township-caseworker", "/v1/cases", app.body, {
          personal: app.personal,
          headers: { ...(key && { "Idempotency-Key": key }), ...(prefer && { Prefer: prefer }) },
        }),
    ),
    "post /v1/cases/import": late(fc.array(applicationArb, { minLength: 1, maxLength: 3 }), (apps) => ({
      principal: "township-caseworker",
      path: "/v1/cases/import",
      type: "text/csv",
      body: csvOf(apps.map((a) => a.body)),
      personal: apps.flatMap((a) => a.personal),
    })),
    "get /v1/cases": late(
      fc.record({
        p: seeded("township-caseworker", "county-approver", "county-finance", "county-auditor", "city-auditor"),
        programmeId: opt(fc.integer({ min: 1, max: 6 })),
        status: opt(fc.constantFrom("submitted", "in-notice", "approved", "pending-chain")),
        limit: opt(fc.integer({ min: 1, max: 100 })),
      }),
      ({ p, programmeId, status, limit }) =>
        get(p, "/v1/cases", { programmeId: programmeId?.toString(), status, limit: limit?.toString() }),
    ),
    "post /v1/cases/search": late(
      fc.tuple(
        seeded("township-caseworker", "county-approver"),
        fc.oneof(residentIdArb, fc.constant(w.paidResidentId)),
      ),
      ([p, residentId]) => json(p, "/v1/cases/search", { residentId }, { personal: [residentId] }),
    ),
    "get /v1/cases/{caseId}": late(
      fc.tuple(seeded("township-caseworker", "county-approver", "county-finance", "county-auditor"), caseArb),
      ([p, i], live) => get(p, `/v1/cases/${caseOf(live, i)}`),
    ),
    "get /v1/cases/{caseId}/details": late(
      fc.tuple(seeded("township-caseworker", "county-approver"), caseArb),
      ([p, i], live) => get(p, `/v1/cases/${caseOf(live, i)}/details`),
    ),
    "get /v1/cases/{caseId}/payment-details": late(
      fc.tuple(seeded("county-finance", "county-bank"), caseArb),
      ([p, i], live) => get(p, `/v1/cases/${caseOf(live, i)}/payment-details`),
    ),
    "post /v1/cases/{caseId}/review": late(fc.tuple(caseArb, fc.boolean(), reason), ([i, passed, r], live) =>
      json("township-caseworker", `/v1/cases/${live.pick("caseId", i, w.apiCaseId)}/review`, { passed, reason: r }),
    ),
    // The newest case (likely not reviewed yet) and at most one other, distinct.
    "post /v1/cases/reviews": late(
      fc.tuple(caseArb, fc.boolean(), reason, fc.boolean()),
      ([i, passed, r, two], live) => {
        const newest = live.latest("caseId", w.apiCaseId);
        const other = live.pick("caseId", i, w.apiCaseId);
        const ids = two && other !== newest ? [newest, other] : [newest];
        return json("township-caseworker", "/v1/cases/reviews", {
          reviews: ids.map((caseId) => ({ caseId, passed, reason: r })),
        });
      },
    ),
    "post /v1/cases/{caseId}/objections": late(fc.tuple(caseArb, reason), ([i, r], live) =>
      json(
        "township-caseworker",
        `/v1/cases/${i % 2 ? live.latest("inNotice", w.apiCaseId) : live.pick("inNotice", i, w.apiCaseId)}/objections`,
        { reason: r },
      ),
    ),
    "post /v1/cases/{caseId}/objections/resolve": late(
      fc.tuple(fc.nat(), fc.boolean(), reason),
      ([i, upheld, r], live) => {
        const fallback = `${w.apiCaseId}|0x${"0".repeat(64)}`;
        const [caseId, objectionDigest] = (
          i % 2 ? live.latest("objection", fallback) : live.pick("objection", i, fallback)
        ).split("|");
        return json("county-approver", `/v1/cases/${caseId}/objections/resolve`, {
          objectionDigest,
          upheld,
          reason: r,
        });
      },
    ),
    "post /v1/cases/{caseId}/approve": late(
      fc.tuple(caseArb, opt(fc.record({ householdSize: fc.integer({ min: 1, max: 6 }), incomePerHead: smallFen }))),
      ([i, facts], live) => json("county-approver", `/v1/cases/${caseOf(live, i)}/approve`, facts ?? {}),
    ),
    // A case the run took in (most stay submitted) rejected, now and then with an approval of another (which
    // succeeds when that case's notice is over, else refuses the whole batch). Not the newest: reviews want it.
    "post /v1/cases/decisions": late(
      fc.tuple(caseArb, caseArb, fc.nat({ max: 3 }), reason),
      ([i, j, shape, r], live) => {
        const newest = live.latest("caseId", w.apiCaseId);
        const picked = [i, i + 1].map((k) => live.pick("caseId", k, w.apiCaseId)).find((id) => id !== newest);
        const rejected = picked ?? w.apiCaseId;
        const other = caseOf(live, j);
        const decisions: object[] = [{ caseId: rejected, decision: "reject", reason: r }];
        if (shape === 0 && other !== rejected) decisions.push({ caseId: other, decision: "approve" });
        return json("county-approver", "/v1/cases/decisions", { decisions });
      },
    ),
    "post /v1/cases/{caseId}/reject": late(fc.tuple(caseArb, reason), ([i, r], live) =>
      json("county-approver", `/v1/cases/${live.pick("caseId", i, w.apiCaseId)}/reject`, { reason: r }),
    ),
    "post /v1/cases/{caseId}/suspend": late(fc.tuple(caseArb, reason), ([i, r], live) =>
      json("county-approver", `/v1/cases/${caseOf(live, i)}/suspend`, { reason: r }),
    ),
    "post /v1/cases/{caseId}/resume": late(fc.tuple(caseArb, reason), ([i, r], live) =>
      json("county-approver", `/v1/cases/${caseOf(live, i)}/resume`, { reason: r }),
    ),
    "post /v1/cases/{caseId}/exit": late(fc.tuple(caseArb, reason), ([i, r], live) =>
      json("county-approver", `/v1/cases/${i % 2 ? w.paidCaseId : live.pick("caseId", i, w.paidCaseId)}/exit`, {
        reason: r,
      }),
    ),
    "post /v1/cases/{caseId}/recertify": late(
      fc.tuple(
        caseArb,
        fc.oneof(
          fc.constant({}),
          fc.record({ householdSize: fc.integer({ min: 1, max: 6 }), incomePerHead: smallFen }),
          fc.record({ amount: smallFen }),
        ),
      ),
      ([i, facts], live) =>
        json("county-approver", `/v1/cases/${live.pick("caseId", i, w.apiCaseId)}/recertify`, facts),
    ),
    "post /v1/cases/{caseId}/notice-code": late(
      fc.tuple(seeded("township-caseworker", "county-approver", "county-finance", "county-bank"), fc.nat()),
      ([p, i], live) => json(p, `/v1/cases/${i % 2 === 0 ? w.paidCaseId : caseOf(live, i)}/notice-code`, {}),
    ),
    "get /v1/cases/{caseId}/bundle": late(fc.tuple(seeded(...ownCases), fc.boolean()), ([c, since], live) =>
      get("county-auditor", `/v1/cases/${c}/bundle`, {
        since: since ? live.latest("since", "") || undefined : undefined,
      }),
    ),

    "post /v1/budget/appropriations": late(fc.tuple(smallFen, reference), ([amount, r]) =>
      json("central-finance", "/v1/budget/appropriations", { amount, reference: r }),
    ),
    "post /v1/budget/allocations": late(
      fc.tuple(
        fc.constantFrom(
          ["central-finance", "110000"],
          ["province-finance", "110100"],
          ["city-finance", "110105"],
          ["city-finance", "110106"],
        ),
        smallFen,
        reference,
      ),
      ([[p, toRegion], amount, r]) => json(p, "/v1/budget/allocations", { toRegion, amount, reference: r }),
    ),
    "post /v1/budget/returns": late(
      fc.tuple(
        fc.constantFrom(["county-finance", "110100"], ["city-finance", "110000"], ["province-finance", "0"]),
        fc.integer({ min: 1, max: 100 }),
        reference,
      ),
      ([[p, toRegion], amount, r]) => json(p, "/v1/budget/returns", { toRegion, amount, reference: r }),
    ),
    "post /v1/budget/programmes/{programmeId}/funding": late(
      fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 100 }), reference),
      ([id, amount, r]) => json("county-finance", `/v1/budget/programmes/${id}/funding`, { amount, reference: r }),
    ),
    "post /v1/budget/programmes/{programmeId}/defunding": late(
      fc.tuple(fc.constantFrom(3, 3, 1), fc.integer({ min: 1, max: 100 }), reference),
      ([id, amount, r]) => json("county-finance", `/v1/budget/programmes/${id}/defunding`, { amount, reference: r }),
    ),
    "get /v1/budget/balances": late(
      fc.tuple(seeded("county-finance", "county-auditor", "city-finance"), opt(seeded("110105", "110105001000"))),
      ([p, region]) => get(p, "/v1/budget/balances", { region }),
    ),

    "post /v1/payout-runs": late(
      fc.tuple(idemKey, fc.constantFrom(1, 2, 3, 4), opt(fc.constant(currentPeriod))),
      ([key, programmeId, p]) =>
        json(
          "county-finance",
          "/v1/payout-runs",
          { programmeId, ...(p && { period: p }) },
          { headers: { "Idempotency-Key": key } },
        ),
    ),
    "get /v1/payout-runs/{runId}": late(
      fc.tuple(seeded("county-finance", "county-auditor"), fc.nat()),
      ([p, i], live) => get(p, `/v1/payout-runs/${live.pick("runId", i, "00000000-0000-4000-8000-000000000000")}`),
    ),
    "get /v1/payouts": late(
      fc.record({
        p: seeded("county-finance", "county-bank", "county-auditor"),
        programmeId: opt(fc.constantFrom("3", "1")),
        period: opt(fc.constant(currentPeriod)),
        status: opt(fc.constantFrom("paid", "settled", "failed")),
        caseId: opt(fc.constant(w.paidCaseId)),
        limit: opt(fc.integer({ min: 1, max: 50 }).map(String)),
      }),
      ({ p, ...query }) => get(p, "/v1/payouts", query),
    ),
    "get /v1/payouts/{payoutId}": late(seeded("county-finance", "county-bank", "county-auditor"), (p) =>
      get(p, `/v1/payouts/${enc(w.payoutId)}`),
    ),
    "post /v1/medical-bills": late(
      fc.tuple(caseArb, fc.integer({ min: 1, max: 10_000_000 }), hex32, opt(idemKey)),
      ([i, billAmount, billDigest, key], live) =>
        json(
          "county-medical",
          "/v1/medical-bills",
          { caseId: caseOf(live, i), billAmount, billDigest },
          { headers: key ? { "Idempotency-Key": key } : {} },
        ),
    ),
    "post /v1/disasters": late(fc.tuple(reason, opt(idemKey)), ([declaration, key]) =>
      json(
        "county-approver",
        "/v1/disasters",
        { programmeId: 6, region: "110105", declaration },
        { headers: key ? { "Idempotency-Key": key } : {} },
      ),
    ),
    "post /v1/disasters/{disasterId}/relief-runs": late(fc.tuple(fc.nat(), idemKey), ([i, key], live) =>
      json(
        "county-finance",
        `/v1/disasters/${live.pick("disasterId", i, `0x${"0".repeat(64)}`)}/relief-runs`,
        {},
        { headers: { "Idempotency-Key": key } },
      ),
    ),
    "post /v1/settlements": late(
      fc.tuple(fc.boolean(), fc.constantFrom("settled", "failed"), reference),
      ([csv, outcome, r]) =>
        csv
          ? {
              principal: "county-bank",
              path: "/v1/settlements",
              type: "text/csv",
              body: `payout_id,outcome,bank_reference\n${w.payoutId},${outcome},${r}\n`,
            }
          : json("county-bank", "/v1/settlements", {
              reference: r,
              items: [{ payoutId: w.payoutId, outcome, ...(outcome === "failed" && { reason: "account closed" }) }],
            }),
    ),
    "post /v1/disputes/{payoutId}/resolve": late(
      fc.tuple(fc.constantFrom("payment-proven", "reissued", "dismissed"), reason),
      ([outcome, resolution]) =>
        json("county-approver", `/v1/disputes/${enc(w.payoutId)}/resolve`, { outcome, resolution }),
    ),
    "get /v1/receipts/{payoutId}/bundle": late(seeded("county-auditor", "county-approver"), (p) =>
      get(p, `/v1/receipts/${enc(w.payoutId)}/bundle`),
    ),

    "get /v1/records/{recordId}/verification": late(
      fc.tuple(seeded("county-auditor", "township-caseworker", "county-approver"), seeded(...w.recordIds)),
      ([p, id]) => get(p, `/v1/records/${enc(id)}/verification`),
    ),
    "post /v1/records/{recordId}/decrypt": late(
      // Most of them the one the auditor may open (its household record), so that some always succeed: one valid
      // request in five of each endpoint is sent, and a seed gave five of the others once.
      fc
        .tuple(
          fc.oneof(
            { arbitrary: fc.constant([w.householdRecordId, "household"] as const), weight: 4 },
            {
              arbitrary: fc.tuple(seeded(...w.recordIds), fc.constantFrom("identity", "household", "payment")),
              weight: 1,
            },
          ),
          reason,
        )
        .map(([[id, fields], r]) => [id, fields, r] as const),
      ([id, fields, r]) => json("county-auditor", `/v1/records/${enc(id)}/decrypt`, { reason: r, fields }),
    ),
    "get /v1/records/{recordId}/bundle": late(seeded(...w.recordIds), (id) =>
      get("county-auditor", `/v1/records/${enc(id)}/bundle`),
    ),
    "get /v1/programmes/{programmeId}/periods/{period}/bundle": late(
      fc.tuple(fc.constantFrom(3, 1), opt(seeded("110105", "110105001000"))),
      ([id, region]) => get("county-auditor", `/v1/programmes/${id}/periods/${currentPeriod}/bundle`, { region }),
    ),
    "get /v1/fund-trail": late(
      fc.record({
        p: seeded("county-auditor", "county-finance"),
        region: opt(seeded("110105", "110105001000")),
        programmeId: opt(fc.constantFrom("3", "1")),
        period: opt(fc.constant(currentPeriod)),
      }),
      ({ p, ...query }) => get(p, "/v1/fund-trail", query),
    ),
    "get /v1/audit-log": late(
      fc.record({
        action: opt(fc.constantFrom("record.opened", "case.submitted", "payout-run.started")),
        limit: opt(fc.integer({ min: 1, max: 100 }).map(String)),
      }),
      (query) => get("county-auditor", "/v1/audit-log", query),
    ),
    "post /v1/audit/sweeps": late(
      fc.record({ region: opt(fc.constant("110105")), programmeId: opt(fc.constant(3)), period: opt(period) }),
      (body) => json("county-auditor", "/v1/audit/sweeps", JSON.parse(JSON.stringify(body))),
    ),
    "get /v1/audit/sweeps/{sweepId}": late(fc.nat(), (i, live) =>
      get("county-auditor", `/v1/audit/sweeps/${live.pick("sweepId", i, "sw-00000000000000-00000000")}`),
    ),
    "get /v1/audit/sweeps/{sweepId}/report": late(fc.nat(), (i, live) =>
      get("county-auditor", `/v1/audit/sweeps/${live.pick("sweepId", i, "sw-00000000000000-00000000")}/report`),
    ),
    "get /v1/audit/sweeps/{sweepId}/report.html": late(fc.nat(), (i, live) =>
      get("county-auditor", `/v1/audit/sweeps/${live.pick("sweepId", i, "sw-00000000000000-00000000")}/report.html`),
    ),
    "post /v1/verifications": late(fc.tuple(seeded("county-auditor", "county-approver"), fc.nat()), ([p, i], live) =>
      json(p, "/v1/verifications", { document: live.pick("document", i, "{}") }),
    ),

    "post /v1/beneficiary/sessions": late(fc.constant(null), (_v, live) => {
      const code = live.latest("code", "00000000");
      return json(
        "none",
        "/v1/beneficiary/sessions",
        { residentId: w.paidResidentId, code },
        { personal: [w.paidResidentId, code] },
      );
    }),
    "delete /v1/beneficiary/sessions/current": late(fc.constant(null), (_v, live) => ({
      principal: "fresh-session",
      authorization: live.take("session", "Bearer rlb_none"),
      path: "/v1/beneficiary/sessions/current",
    })),
    "get /v1/beneficiary/payments": fc.constant(() => get("beneficiary", "/v1/beneficiary/payments")),
    "post /v1/beneficiary/payments/{payoutId}/confirm": fc.constant(() =>
      json("beneficiary", `/v1/beneficiary/payments/${enc(w.payoutId)}/confirm`, {}),
    ),
    "post /v1/beneficiary/payments/{payoutId}/not-received": late(reason, (r) =>
      json("beneficiary", `/v1/beneficiary/payments/${enc(w.payoutId)}/not-received`, { reason: r }),
    ),
    "get /v1/beneficiary/payments/{payoutId}/receipt": fc.constant(() =>
      get("beneficiary", `/v1/beneficiary/payments/${enc(w.payoutId)}/receipt`),
    ),

    // Vouchers (issue 9): the beneficiary's voucher in the world's voucher programme, redeemed by the county school.
    "post /v1/vouchers/issues": late(opt(idemKey), (key) =>
      json(
        "county-finance",
        "/v1/vouchers/issues",
        { programmeId: w.voucherProgrammeId },
        key ? { headers: { "Idempotency-Key": key } } : {},
      ),
    ),
    "post /v1/vouchers/expiries": late(opt(fc.constant(w.voucherProgrammeId)), (programmeId) =>
      json("county-finance", "/v1/vouchers/expiries", programmeId === undefined ? {} : { programmeId }),
    ),
    "get /v1/vouchers": late(
      fc.tuple(
        seeded("county-finance", "county-auditor", "township-caseworker"),
        opt(fc.constantFrom("active", "exhausted", "expired")),
      ),
      ([p, status]) => get(p, "/v1/vouchers", { programmeId: String(w.voucherProgrammeId), status }),
    ),
    "get /v1/vouchers/{voucherId}": late(seeded("county-auditor", "county-finance", "county-bank"), (p) =>
      get(p, `/v1/vouchers/${w.voucherId}`),
    ),
    "get /v1/programmes/{programmeId}/voucher-totals": late(seeded("county-auditor", "county-approver"), (p) =>
      get(p, `/v1/programmes/${w.voucherProgrammeId}/voucher-totals`),
    ),
    "put /v1/programmes/{programmeId}/voucher-terms": late(
      fc.tuple(fc.subarray(["hospital", "care-agency", "pharmacy"]), fc.integer({ min: 30, max: 1000 })),
      ([more, validityDays]) => ({
        ...json("county-approver", `/v1/programmes/${w.voucherProgrammeId}/voucher-terms`, {
          kind: "education",
          categories: ["school", ...more],
          validityDays,
        }),
      }),
    ),
    "get /v1/beneficiary/vouchers": fc.constant(() => get("beneficiary", "/v1/beneficiary/vouchers")),
    "post /v1/beneficiary/vouchers/{voucherId}/presentations": late(opt(fc.integer({ min: 1, max: 500 })), (max) =>
      json("beneficiary", `/v1/beneficiary/vouchers/${w.voucherId}/presentations`, max ? { maxAmount: max } : {}),
    ),
    "post /v1/voucher-presentations/lookup": late(fc.constant(null), (_v, live) => {
      const code = live.latest("voucherCode", "000000000000");
      return json("county-school", "/v1/voucher-presentations/lookup", { code }, { personal: [code] });
    }),
    "post /v1/voucher-redemptions": late(fc.tuple(fc.integer({ min: 1, max: 100 }), idemKey), ([amount, key], live) => {
      const code = live.latest("voucherCode", "000000000000");
      return json(
        "county-school",
        "/v1/voucher-redemptions",
        { code, amount, invoiceNumber: `INV-${key.slice(0, 12)}` },
        { headers: { "Idempotency-Key": key }, personal: [code] },
      );
    }),
    "get /v1/voucher-redemptions": late(
      fc.tuple(
        seeded("county-school", "county-finance", "county-bank", "county-auditor"),
        opt(fc.constantFrom("redeemed", "paid", "settled")),
      ),
      ([p, status]) => get(p, "/v1/voucher-redemptions", { status }),
    ),
    "post /v1/voucher-redemptions/payments": late(idemKey, (key) =>
      json(
        "county-finance",
        "/v1/voucher-redemptions/payments",
        { programmeId: w.voucherProgrammeId },
        { headers: { "Idempotency-Key": key } },
      ),
    ),
    "post /v1/voucher-redemptions/settlements": late(reference, (bankReference) =>
      json("county-bank", "/v1/voucher-redemptions/settlements", {
        bankReference,
        redemptions: [{ voucherId: w.voucherId, index: 0 }],
      }),
    ),
    "post /v1/voucher-redemptions/failures": late(reason, (r) =>
      json("county-bank", "/v1/voucher-redemptions/failures", {
        redemption: { voucherId: w.voucherId, index: 1 },
        reason: r,
      }),
    ),
  };
}
