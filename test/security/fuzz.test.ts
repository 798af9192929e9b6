/**
 * Property-based fuzzing of every endpoint of the gateway (issue 5, hostile input). The endpoints come from the
 * OpenAPI document, checked against the Express router stack, so a new endpoint is fuzzed without being listed. Each
 * generated request has a random principal (every role in and out of region, the administrator, a beneficiary, a
 * revoked key, garbage), path parameters (known ids, schema-valid, hostile, traversal), query, headers and body
 * (schema-valid, one field wrong, random JSON, broken JSON, wrong content type, oversized). For all of them:
 *  - never a 5xx, and every error is the API's JSON error with a stable code;
 *  - a refused request (4xx) changes nothing: no row of any table of the store, no block on the chain;
 *  - no personal value of the world (names, resident ids, phones, addresses, accounts, the one-time code) appears in
 *    an error body or, at the end, in any log line.
 * RELIEF_FUZZ_RUNS sets the number of requests (10,000 by default, the CI size), RELIEF_FUZZ_SEED the seed.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  type Endpoint,
  NOT_DOCUMENTED,
  type OpenApiDocument,
  documentedEndpoints,
  key,
  routerKey,
  servedRoutes,
} from "./endpoints";
import { type RawResponse, type RawServer, listen } from "./raw-http";
import { HOSTILE_STRINGS, SchemaArbitraries, anyJson } from "./schema-arbitrary";
import { type StateDigest, StateProbe, changes } from "./state";
import { type LateRequest, Live, SPARE_INSTITUTIONS, type ValidRequest, validRequests } from "./valid-requests";
import { type World, buildWorld } from "./world";
import { passNotice } from "../gateway/api/fixtures";

const RUNS = Number(process.env.RELIEF_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.RELIEF_FUZZ_SEED ?? 20_261_202);
const BATCH = 25;

/** A refused sign-in counts the failure against the code (that is the lockout) and audits a lock: by design. */
const SIGN_IN_COUNTS = { endpoint: "post /v1/beneficiary/sessions", tables: ["beneficiary_codes", "audit_log"] };

interface FuzzRequest {
  endpoint: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  principal: string;
  shape: string;
  /** A valid request from valid-requests.ts, whose late-bound ids are filled in just before it is sent. */
  late?: LateRequest;
}

/** Answers that refuse a request before the endpoint's own work: authentication, validation, routing, framing. */
const REFUSED_AT_THE_DOOR = [400, 401, 403, 404, 405, 413, 415, 422];

/**
 * Endpoints whose valid requests cannot get a 2xx in the fixture world, and why. Each still gets requests past
 * validation (a 409 from the domain or the chain); the test fails if one of them starts succeeding (then drop it).
 */
const NO_SUCCESS_IN_THIS_WORLD: Record<string, string> = {
  "get /v1/records/{recordId}/bundle":
    "records are anchored by the anchoring worker, which the test gateway does not run: 409 CONFLICT not anchored yet",
  "post /v1/beneficiary/payments/{payoutId}/not-received":
    "the world's one payout is confirmed first (so that its receipt endpoints succeed): 409 CONFLICT already confirmed",
  "post /v1/disputes/{payoutId}/resolve":
    "a dispute opens only with a not-received report, which the confirmed payout refuses: 409 CONFLICT no open dispute",
  "post /v1/medical-bills":
    "the world has no approved medical-assistance case: 409 LEDGER_REJECTED LedgerWrongProgrammeKind",
  "post /v1/cases/{caseId}/recertify":
    "no case is approved and recertifiable when its turn comes (409 LedgerInvalidCaseStatus): succeeds with some seeds",
};

/** Producers of late-bound ids, sent once valid before fuzzing so that their consumers have something to use. */
const PRIMERS = [
  "post /v1/admin/institutions/{id}/api-keys",
  "post /v1/cases",
  "post /v1/cases/{caseId}/review",
  "post /v1/cases/{caseId}/objections",
  // The world's API case was taken in but never reviewed: reviewed, approved once the notice has passed, suspended
  // (so that resuming it succeeds).
  "post /v1/cases/{caseId}/review#api-case",
  "pass-notice",
  "post /v1/cases/{caseId}/approve#api-case",
  "post /v1/cases/{caseId}/suspend#api-case",
  // A case in its notice period after the clock moved, for objections.
  "post /v1/cases",
  "post /v1/cases/{caseId}/review",
  "post /v1/budget/appropriations#large",
  "post /v1/budget/allocations#province",
  "post /v1/cases/{caseId}/notice-code#paid-case",
  "post /v1/beneficiary/sessions",
  "get /v1/checkpoint",
  "post /v1/beneficiary/payments/{payoutId}/confirm",
  "get /v1/receipts/{payoutId}/bundle",
  "post /v1/payout-runs#tekun",
  "post /v1/disasters",
  "post /v1/audit/sweeps",
  // Two redemptions of the beneficiary's voucher, paid: one for the bank to settle, one to report failed.
  "post /v1/beneficiary/vouchers/{voucherId}/presentations",
  "post /v1/voucher-redemptions",
  "post /v1/beneficiary/vouchers/{voucherId}/presentations",
  "post /v1/voucher-redemptions",
  "post /v1/voucher-redemptions/payments",
  // A case taken in and rejected in a batch of decisions.
  "post /v1/cases",
  "post /v1/cases/decisions#fresh",
];

const printable = fc.stringMatching(/^[\x21-\x7e]{0,60}$/);

describe("API fuzzing: every endpoint, valid and malformed requests (fast-check)", function () {
  this.timeout(600_000);
  let w: World;
  let raw: RawServer;
  let probe: StateProbe;
  let doc: OpenApiDocument;
  let endpoints: Endpoint[];
  let valid: Record<string, fc.Arbitrary<LateRequest>>;
  let live: Live;
  /** Per endpoint: answers by status, of every request sent (the primers' too). */
  const statuses = new Map<string, Map<number, number>>();
  /** Per endpoint: valid requests sent, and how many of them succeeded; every other request is malformed. */
  const validSent = new Map<string, { sent: number; succeeded: number }>();
  let sent = 0;
  const tally = (endpoint: string, status: number, isValid: boolean) => {
    sent++;
    const byStatus = statuses.get(endpoint) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    statuses.set(endpoint, byStatus);
    if (!isValid) return;
    const v = validSent.get(endpoint) ?? { sent: 0, succeeded: 0 };
    v.sent++;
    if (status < 300) v.succeeded++;
    validSent.set(endpoint, v);
  };

  before(async function () {
    w = await buildWorld();
    raw = await listen(w.t.gateway.app);
    probe = new StateProbe(w.t);
    doc = JSON.parse((await raw.send("get", "/openapi.json", {})).text) as OpenApiDocument;
    // Ending the beneficiary's session comes last, so every other beneficiary request has one.
    endpoints = documentedEndpoints(doc).sort(
      (a, b) => Number(key(a).includes("sessions/current")) - Number(key(b).includes("sessions/current")),
    );
    for (const id of SPARE_INSTITUTIONS) {
      const res = await w.t.http
        .post("/v1/admin/institutions")
        .set("Authorization", w.auth.admin)
        .send({ id, name: `${id} (fuzz)`, role: "auditor", region: "110105" });
      expect(res.status, `register ${id}`).to.equal(201);
    }
    valid = validRequests(w);
    live = new Live(w);
    // A few tries each: a sample may be refused (a duplicate resident, a case not in notice); the run asserts success.
    for (const [i, primer] of PRIMERS.entries()) {
      if (primer === "pass-notice") {
        await passNotice(w.t);
        continue;
      }
      const [endpoint, target] = primer.split("#");
      for (const late of fc.sample(valid[endpoint], { numRuns: 5, seed: SEED + i })) {
        const req = resolve(w, late(live));
        // Reviews pass (a rejected case takes no objection), of the case just taken in unless another is named.
        if (endpoint.endsWith("review")) req.body = JSON.stringify({ passed: true, reason: "fuzz" });
        if (endpoint.endsWith("review") && !target) req.path = `/v1/cases/${live.latest("caseId", w.apiCaseId)}/review`;
        if (target) {
          const caseId = target === "api-case" ? w.apiCaseId : w.paidCaseId;
          req.path = req.path.replace(/0x[0-9a-fA-F]{64}/, caseId);
          // Money the budget endpoints can move on from, and a run that indexes the world's paid payout.
          if (target === "large") req.body = JSON.stringify({ amount: 1_000_000, reference: "fuzz" });
          if (target === "province") {
            req.headers.Authorization = w.auth["central-finance"];
            req.body = JSON.stringify({ toRegion: "110000", amount: 500_000, reference: "fuzz" });
          }
          if (target === "tekun") req.body = JSON.stringify({ programmeId: 3 });
          if (target === "fresh") {
            const caseId = live.latest("caseId", w.apiCaseId);
            req.body = JSON.stringify({ decisions: [{ caseId, decision: "reject", reason: "fuzz" }] });
          }
          if (req.body && endpoint.endsWith("approve"))
            req.body = JSON.stringify({ householdSize: 2, incomePerHead: 0 });
        }
        const res = await raw.send(endpoint.split(" ")[0], req.path, req.headers, req.body);
        tally(endpoint, res.status, true);
        expect(res.status, `priming ${endpoint}: ${res.text.slice(0, 300)}`).to.be.below(500);
        if (process.env.RELIEF_FUZZ_REPORT) console.log(`priming ${primer}: ${res.status} ${res.text.slice(0, 120)}`);
        await probe.quiesce();
        if (res.status < 300) {
          live.harvest(endpoint, req.path, res.text);
          break;
        }
      }
    }
    await probe.quiesce();
  });

  after(async function () {
    probe?.close();
    await raw?.close();
    await w?.t.close();
  });

  it("every documented endpoint has a valid-request arbitrary, and every arbitrary an endpoint", function () {
    expect(endpoints.map(key).filter((k) => !(k in valid))).to.deep.equal([]);
    expect(Object.keys(valid).filter((k) => !endpoints.map(key).includes(k))).to.deep.equal([]);
  });

  it("the OpenAPI document lists exactly the routes the app serves (so the fuzzer and the matrix miss none)", function () {
    const served = servedRoutes(w.t.gateway.app);
    const documented = endpoints.map(routerKey);
    expect(
      served.filter((r) => !documented.includes(r) && !(NOT_DOCUMENTED as readonly string[]).includes(r)),
    ).to.deep.equal([]);
    expect(documented.filter((d) => !served.includes(d))).to.deep.equal([]);
    expect(endpoints.length).to.be.greaterThan(50);
  });

  it(`${RUNS} generated requests: never a 5xx, refusals change nothing, no personal value in errors or logs (seed ${SEED})`, async function () {
    const schemas = new SchemaArbitraries(doc, knownStrings(w));
    const targets: (Endpoint | "unrouted")[] = [...endpoints, "unrouted"];
    const perTarget = Math.max(BATCH, Math.ceil(RUNS / targets.length / BATCH) * BATCH);
    /** The first refusal of a valid request per endpoint (for RELIEF_FUZZ_REPORT). */
    const refusals = new Map<string, string>();
    let baseline: StateDigest = await probe.quiesce();
    /** Refusals sent since `baseline` was taken, not yet checked against the state. */
    let unchecked: FuzzRequest[] = [];

    const check = async (current: FuzzRequest[], allowed: readonly string[] = []) => {
      const now = await probe.digestSince(baseline);
      let changed = changes(baseline, now, allowed);
      // Records opened before the refusal were opened: the trail says so (the only write a refusal may make).
      if (changed.includes("audit_log")) {
        const appended = probe.auditActionsAfter(baseline.auditRows);
        if (appended.length > 0 && appended.every((a) => a === "record.opened")) {
          changed = changed.filter((t) => t !== "audit_log");
        }
      }
      expect(
        changed,
        `refused request(s) changed ${changed.join(", ")}: ${current.map(describeRequest).join(" | ")}`,
      ).to.deep.equal([]);
      baseline = now;
      unchecked = [];
    };

    const runOne = async (req: FuzzRequest) => {
      if (req.late) Object.assign(req, resolve(w, req.late(live)));
      const credentialed = req.principal in w.auth || PUBLIC_WRITES.includes(req.endpoint) || req.late !== undefined;
      // Something may legitimately change state now: settle what came before first.
      if (credentialed && unchecked.length > 0) await check(unchecked);
      const res = await raw.send(req.method, req.path, req.headers, req.body);
      tally(req.endpoint, res.status, req.late !== undefined);
      if (req.late) {
        if (res.status < 300) live.harvest(req.endpoint, req.path, res.text);
        else if (process.env.RELIEF_FUZZ_REPORT && !refusals.has(req.endpoint))
          refusals.set(req.endpoint, `${res.status} ${res.text.slice(0, 160)}`);
      }
      // A new one-time code is personal: it must never come back in an error or reach a log.
      if (req.endpoint.endsWith("/notice-code") && res.status === 201) w.personal.push(JSON.parse(res.text).code);

      expect(res.status, `5xx: ${describeRequest(req)} → ${res.status} ${res.text.slice(0, 300)}`).to.be.below(500);
      if (res.status >= 400) {
        assertErrorBody(req, res, w.personal);
        if (!credentialed) unchecked.push(req);
        else await check([req], req.endpoint === SIGN_IN_COUNTS.endpoint ? SIGN_IN_COUNTS.tables : []);
      } else {
        // Reads start no background work: if nothing moved, nothing will.
        const read = ["get", "head", "options"].includes(req.method) && w.t.gateway.ctx.background.size === 0;
        const now = read ? await probe.digestSince(baseline) : undefined;
        baseline = now === baseline ? baseline : await probe.quiesce(now);
        unchecked = [];
      }
    };

    for (const [i, target] of targets.entries()) {
      const started = Date.now();
      if (process.env.RELIEF_FUZZ_REPORT) console.log(`fuzzing ${target === "unrouted" ? target : key(target)}`);
      const batch =
        target === "unrouted"
          ? fc.array(unroutedRequest(w, endpoints), { minLength: BATCH, maxLength: BATCH })
          : mixedBatch(endpointRequest(w, target, schemas), valid[key(target)], target);
      const outcome = await fc.check(
        fc.asyncProperty(batch, async (requests) => {
          for (const req of requests) await runOne(req);
          if (unchecked.length > 0) await check(unchecked);
        }),
        { numRuns: perTarget / BATCH, seed: SEED + i, endOnFailure: true },
      );
      // The failing request is in the error; the whole batch (fast-check's counterexample) would drown it.
      if (outcome.failed) throw outcome.errorInstance ?? new Error(`fuzzing failed (seed ${SEED + i})`);
      // Where the suite's time goes (printed only; never asserted).
      if (process.env.RELIEF_FUZZ_REPORT) console.log(`  ${Date.now() - started} ms`);
    }

    expect(sent).to.be.at.least(RUNS);
    const leaked = w.t.logs.filter((line) => w.personal.some((v) => containsValue(line, v)));
    expect(leaked, "log lines with personal values").to.deep.equal([]);
    if (process.env.RELIEF_FUZZ_REPORT) {
      printReport(statuses, validSent);
      for (const [e, r] of refusals) console.log(`first refused valid request of ${e}: ${r}`);
    }
    // Every endpoint was reached past authentication and validation at least once.
    const neverPast = endpoints
      .map(key)
      .filter((k) => ![...(statuses.get(k)?.keys() ?? [])].some((s) => !REFUSED_AT_THE_DOOR.includes(s)));
    expect(neverPast, "endpoints only ever refused at the door").to.deep.equal([]);
    // And every one succeeded at least once (mostly by a valid request), except those that cannot in this world.
    const neverSucceeded = endpoints
      .map(key)
      .filter((k) => ![...(statuses.get(k)?.keys() ?? [])].some((s) => s >= 200 && s < 300));
    expect(
      neverSucceeded.filter((k) => !(k in NO_SUCCESS_IN_THIS_WORLD)),
      "endpoints no request succeeded on",
    ).to.deep.equal([]);
  });
});

/** Endpoints anyone may write to: their refusals are checked at once. */
const PUBLIC_WRITES = [SIGN_IN_COUNTS.endpoint];

function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? "" : ` body(${req.body.length})=${req.body.slice(0, 200)}`;
  return `${req.method.toUpperCase()} ${req.path.slice(0, 200)} as ${req.principal} [${req.shape}] ${JSON.stringify(req.headers).slice(0, 200)}${body}`;
}

function assertErrorBody(req: FuzzRequest, res: RawResponse, personal: string[]): void {
  if (req.method === "head") return;
  // Node's HTTP parser answers a request line and headers above 16 KB itself, before the app sees it.
  if (res.status === 431 && res.text === "") return;
  let body: { error?: { code?: unknown; requestId?: unknown } };
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new Error(
      `not a JSON error: ${describeRequest(req)} → ${res.status} ${JSON.stringify(res.headers)} ${res.text.slice(0, 200)}`,
    );
  }
  expect(body.error?.code, `error code of ${describeRequest(req)}`)
    .to.be.a("string")
    .and.match(/^[A-Z_]+$/);
  const leaked = personal.filter((v) => containsValue(res.text, v));
  expect(leaked, `personal values in the error of ${describeRequest(req)}`).to.deep.equal([]);
}

function printReport(
  statuses: Map<string, Map<number, number>>,
  validSent: Map<string, { sent: number; succeeded: number }>,
): void {
  console.log(`${"endpoint".padEnd(58)} valid (2xx)  malformed  statuses`);
  for (const [endpoint, byStatus] of [...statuses].sort()) {
    const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
    const v = validSent.get(endpoint) ?? { sent: 0, succeeded: 0 };
    console.log(
      `${endpoint.padEnd(58)} ${`${v.sent} (${v.succeeded})`.padEnd(12)} ${String(total - v.sent).padEnd(10)} ${[
        ...byStatus,
      ]
        .sort()
        .map(([s, n]) => `${s}:${n}`)
        .join(" ")}`,
    );
  }
}

/** Ids and values the world knows, offered wherever a string goes (the personal ones too: echoes would leak). */
function knownStrings(w: World): string[] {
  return [
    w.apiCaseId,
    w.paidCaseId,
    w.siblingCaseId,
    w.payoutId,
    ...w.recordIds,
    ...w.keyIds,
    ...Object.keys(w.auth),
    ...w.personal,
    "110105",
    "110105001000",
    "110106001000",
    "0",
    "2026-01",
  ];
}

const KNOWN_PARAMS = (w: World): Record<string, string[]> => ({
  caseId: [w.apiCaseId, w.paidCaseId, w.siblingCaseId],
  recordId: w.recordIds,
  payoutId: [w.payoutId, `${w.siblingCaseId}:${w.payoutId.split(":")[1]}:${w.payoutId.split(":")[2]}`],
  programmeId: ["1", "3", String(w.siblingProgrammeId), "0", "65536", "-1", "1.5", "1e3"],
  // Only the spare institutions and the revoked key: rotating, deactivating or revoking a principal's own key would
  // leave every later request of that principal refused at the door (valid-requests.ts covers the successful path).
  id: [...SPARE_INSTITUTIONS, "no-such-institution"],
  keyId: [w.keyIds[0], "0123456789abcdef"],
});

/** Percent-encodes any string, lone surrogates included (as UTF-8 of U+FFFD, the way a client would send them). */
function pct(s: string): string {
  return [...Buffer.from(s, "utf8")]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`,
    )
    .join("");
}

const RAW_SEGMENTS = ["..", ".", "..%2f..%2fadmin", "%2e%2e", "%00", "%", "%zz", "%c0%ae", "a%2Fb", "%E2%80%AE"];

function principal(w: World): fc.Arbitrary<{ name: string; header?: string }> {
  const known = Object.entries(w.auth).map(([name, header]) => ({ name, header }));
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.constant({ name: "none" }) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        printable.map((s) => ({ name: "garbage", header: `Bearer ${s}` })),
        printable.map((s) => ({ name: "garbage-scheme", header: s })),
        fc
          .constantFrom(...w.keyIds)
          .map((k) => ({ name: "wrong-secret", header: `Bearer rlk_${k}_${"A".repeat(43)}` })),
        printable.map((s) => ({ name: "bad-session", header: `Bearer rlb_${s}` })),
        fc.constant({ name: "basic", header: "Basic YWRtaW46YWRtaW4=" }),
        fc.constant({ name: "huge", header: `Bearer rlk_${"a".repeat(8_000)}` }),
        fc.constant({ name: "lowercase-bearer", header: w.auth.admin.replace("Bearer", "bearer") }),
      ),
    },
  );
}

function paramValue(w: World, schemas: SchemaArbitraries, e: Endpoint, name: string): fc.Arbitrary<string> {
  const known = KNOWN_PARAMS(w)[name] ?? [];
  const schema = e.operation.parameters?.find((p) => p.in === "path" && p.name === name)?.schema;
  return fc.oneof(
    ...(known.length > 0 ? [{ weight: 5, arbitrary: fc.constantFrom(...known).map(pct) }] : []),
    // Not a principal's own institution: rotating its key or deactivating it would shut it out for the rest of the run.
    {
      weight: 3,
      arbitrary: schemas
        .valid(schema)
        .filter(
          (v) =>
            (name !== "id" || !(String(v) in w.auth)) && (name !== "keyId" || !w.keyIds.slice(1).includes(String(v))),
        )
        .map((v) => pct(String(v))),
    },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS).map(pct) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );
}

function query(schemas: SchemaArbitraries, e: Endpoint): fc.Arbitrary<string> {
  const params = (e.operation.parameters ?? []).filter((p) => p.in === "query");
  const fields: Record<string, fc.Arbitrary<string>> = {};
  for (const p of params) {
    fields[p.name] = fc.oneof(
      { weight: 3, arbitrary: schemas.valid(p.schema).map((v) => String(v)) },
      { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    );
  }
  return fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.option(fc.tuple(printable, printable), { freq: 5 }),
      fc.boolean(),
    )
    .map(([values, extra, repeat]) => {
      const q = new URLSearchParams(values as Record<string, string>);
      if (extra) q.append(extra[0] || "x", extra[1]);
      // A repeated key turns into an array with the simple query parser.
      const first = Object.keys(values)[0];
      if (repeat && first) q.append(first, (values as Record<string, string>)[first]);
      return q.toString();
    });
}

const BAD_JSON = ["{", '{"a":1,}', "[1,2", "nul", "\u0000", "{'a':1}", '{"a":"\\ud800"}', "1".repeat(2_000)];
const WRONG_TYPES = [
  "text/plain",
  "application/xml",
  "text/csv",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "application/json; charset=utf-7",
  "application/json; charset=latin1",
  "",
];

function jsonBody(
  schemas: SchemaArbitraries,
  schema: Record<string, unknown>,
): fc.Arbitrary<{ shape: string; type?: string; body: string }> {
  const json = (shape: string) => (v: unknown) => ({
    shape,
    type: "application/json",
    body: JSON.stringify(v) ?? "null",
  });
  return fc.oneof(
    { weight: 5, arbitrary: schemas.valid(schema).map(json("valid")) },
    { weight: 4, arbitrary: schemas.malformed(schema).map(json("malformed")) },
    { weight: 1, arbitrary: anyJson.map(json("random-json")) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...BAD_JSON).map((body) => ({ shape: "bad-json", type: "application/json", body })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(schemas.valid(schema), fc.constantFrom(...WRONG_TYPES))
        .map(([v, type]) => ({ shape: `type:${type}`, type: type || undefined, body: JSON.stringify(v) ?? "" })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}')
        .map((body) => ({ shape: "prototype", type: "application/json", body })),
    },
  );
}

const OVERSIZED = `{"x":"${"a".repeat(1_100_000)}"}`;

function csvBody(w: World): fc.Arbitrary<{ shape: string; type?: string; body: string }> {
  const cell = fc.oneof(
    fc.constantFrom(...knownStrings(w), ...HOSTILE_STRINGS.filter((s) => s.length < 100)),
    printable,
  );
  const row = fc.array(cell, { minLength: 1, maxLength: 14 }).map((cells) => cells.map(csvCell).join(","));
  return fc.oneof(
    fc.array(row, { maxLength: 5 }).map((rows) => ({ shape: "csv", type: "text/csv", body: rows.join("\n") })),
    fc
      .constantFrom('a,"b\nc', '"unterminated', "\ufeffhousehold_ref\n", ",,,,\n,,,,", "x".repeat(3_000))
      .map((body) => ({ shape: "bad-csv", type: "text/csv", body })),
    anyJson.map((v) => ({ shape: "json-not-csv", type: "application/json", body: JSON.stringify(v) ?? "null" })),
  );
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function bodyOf(w: World, schemas: SchemaArbitraries, e: Endpoint) {
  const content = e.operation.requestBody?.content ?? {};
  const none = fc.constant({
    shape: "no-body",
    type: undefined as string | undefined,
    body: undefined as string | undefined,
  });
  const junk = anyJson.map((v) => ({ shape: "unexpected-body", type: "application/json", body: JSON.stringify(v) }));
  const oversized = fc.constant({ shape: "oversized", type: "application/json", body: OVERSIZED });
  if (content["text/csv"]) return fc.oneof({ weight: 20, arbitrary: csvBody(w) }, { weight: 1, arbitrary: none });
  if (content["application/json"]) {
    return fc.oneof(
      { weight: 60, arbitrary: jsonBody(schemas, content["application/json"].schema) },
      { weight: 3, arbitrary: none },
      { weight: 1, arbitrary: oversized },
    );
  }
  return fc.oneof({ weight: 6, arbitrary: none }, { weight: 1, arbitrary: junk });
}

function extraHeaders(): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      "Idempotency-Key": fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
        printable,
        fc.constant("k".repeat(200)),
      ),
      Prefer: fc.constantFrom("wait=1", "wait=0", "wait=abc", "wait=-5", "wait=99999999999", "respond-async"),
      "X-Request-Id": fc.oneof(printable, fc.constant("r".repeat(100))),
      "Content-Encoding": fc.constantFrom("gzip", "br", "identity", "x-unknown", "", "", "", "", "", ""),
      "X-Forwarded-For": fc.constantFrom("1.2.3.4", "::1", "garbage"),
    },
    { requiredKeys: [] },
  );
}

function endpointRequest(w: World, e: Endpoint, schemas: SchemaArbitraries): fc.Arbitrary<FuzzRequest> {
  const params: Record<string, fc.Arbitrary<string>> = {};
  for (const name of e.params) params[name] = paramValue(w, schemas, e, name);
  return fc
    .tuple(principal(w), fc.record(params), query(schemas, e), bodyOf(w, schemas, e), extraHeaders())
    .map(([who, values, q, body, extra]) => {
      const path = e.path.replace(/\{(\w+)\}/g, (_m, name: string) => values[name]);
      const headers: Record<string, string> = { ...extra };
      if (who.header !== undefined) headers.Authorization = who.header;
      if (body.type !== undefined) headers["Content-Type"] = body.type;
      if (headers["Content-Encoding"] === "") delete headers["Content-Encoding"];
      return {
        endpoint: key(e),
        method: e.method,
        path: q ? `${path}?${q}` : path,
        headers,
        body: body.body,
        principal: who.name,
        shape: body.shape,
      };
    });
}

/** Paths and methods the app does not serve: wrong methods on real paths, traversal, case, doubled slashes. */
function unroutedRequest(w: World, endpoints: Endpoint[]): fc.Arbitrary<FuzzRequest> {
  const known = KNOWN_PARAMS(w);
  const real = endpoints.map((e) => e.path.replace(/\{(\w+)\}/g, (_m, n: string) => pct(known[n]?.[0] ?? "x")));
  const path = fc.oneof(
    fc.constantFrom(...real).map((p) => p.toUpperCase()),
    fc.constantFrom(...real).map((p) => p.replace("/v1/", "//v1//")),
    fc.constantFrom(...real).map((p) => `${p}/..%2f..%2f..%2fetc%2fpasswd`),
    fc.constantFrom(...real).map((p) => `/v1/../..${p}`),
    fc.constantFrom(
      "/",
      "/v1",
      "/v1/",
      "/v2/cases",
      "/.env",
      "/.relief/admin.key",
      "/data/relief.sqlite",
      "/%2e%2e/%2e%2e/etc/passwd",
    ),
    fc
      .array(fc.oneof(printable.map(pct), fc.constantFrom(...RAW_SEGMENTS)), { maxLength: 4 })
      .map((s) => `/v1/${s.join("/")}`),
  );
  const method = fc.constantFrom("get", "post", "put", "patch", "delete", "options", "head");
  return fc.tuple(principal(w), method, path, fc.option(anyJson)).map(([who, m, p, body]) => {
    const headers: Record<string, string> = {};
    if (who.header !== undefined) headers.Authorization = who.header;
    if (body !== null) headers["Content-Type"] = "application/json";
    return {
      endpoint: "unrouted",
      method: m,
      path: p,
      headers,
      body: body === null ? undefined : JSON.stringify(body),
      principal: who.name,
      shape: "unrouted",
    };
  });
}

/** A valid request to `e`, its path, headers and body filled in when it is sent. */
function lateRequest(e: Endpoint, late: LateRequest): FuzzRequest {
  return {
    endpoint: key(e),
    method: e.method,
    path: e.path,
    headers: {},
    principal: "valid",
    shape: "valid-api",
    late,
  };
}

/** The wire form of a valid request. */
function resolve(w: World, v: ValidRequest): Pick<FuzzRequest, "path" | "headers" | "body" | "principal"> {
  const headers: Record<string, string> = { ...v.headers };
  const authorization = v.authorization ?? w.auth[v.principal];
  if (authorization !== undefined) headers.Authorization = authorization;
  if (v.type !== undefined) headers["Content-Type"] = v.type;
  if (v.personal) w.personal.push(...v.personal.filter((p) => !w.personal.includes(p)));
  return { path: v.path, headers, body: v.body, principal: v.principal };
}

/**
 * Valid requests in each batch of 25, the rest malformed: two for a read, one for a write (writes reach the chain and
 * the state is checked after each), so that the CI run stays within its time.
 */
const validPerBatch = (e: Endpoint) => (e.method === "get" ? 2 : 1);

/** A batch of malformed requests with {@link validPerBatch} valid ones spread through it. */
function mixedBatch(
  malformed: fc.Arbitrary<FuzzRequest>,
  valid: fc.Arbitrary<LateRequest>,
  e: Endpoint,
): fc.Arbitrary<FuzzRequest[]> {
  const n = validPerBatch(e);
  return fc
    .tuple(
      fc.array(malformed, { minLength: BATCH - n, maxLength: BATCH - n }),
      fc.array(valid, { minLength: n, maxLength: n }),
      fc.array(fc.nat(BATCH - n), { minLength: n, maxLength: n }),
    )
    .map(([bad, good, at]) => {
      const out = [...bad];
      good.forEach((late, i) => out.splice(Math.min(at[i], out.length), 0, lateRequest(e, late)));
      return out;
    });
}

/**
 * Whether `text` carries `value`. A short number (a one-time code, a phone number) counts only as a value of its own,
 * not inside a longer run of letters and digits: an 8-digit code also occurs inside a millisecond timestamp.
 */
function containsValue(text: string, value: string): boolean {
  if (!/^\d{1,11}$/.test(value)) return text.includes(value);
  for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
    const before = text[at - 1] ?? "";
    const after = text[at + value.length] ?? "";
    if (!/[A-Za-z0-9]/.test(before) && !/[A-Za-z0-9]/.test(after)) return true;
  }
  return false;
}
