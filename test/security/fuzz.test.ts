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
import { type World, buildWorld } from "./world";

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
}

const printable = fc.stringMatching(/^[\x21-\x7e]{0,60}$/);

describe("API fuzzing: every endpoint, valid and malformed requests (fast-check)", function () {
  this.timeout(600_000);
  let w: World;
  let raw: RawServer;
  let probe: StateProbe;
  let doc: OpenApiDocument;
  let endpoints: Endpoint[];

  before(async function () {
    w = await buildWorld();
    raw = await listen(w.t.gateway.app);
    probe = new StateProbe(w.t);
    doc = JSON.parse((await raw.send("get", "/openapi.json", {})).text) as OpenApiDocument;
    endpoints = documentedEndpoints(doc);
  });

  after(async function () {
    probe?.close();
    await raw?.close();
    await w?.t.close();
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
    const statuses = new Map<string, Map<number, number>>();
    let sent = 0;
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
      const credentialed = req.principal in w.auth || PUBLIC_WRITES.includes(req.endpoint);
      // Something may legitimately change state now: settle what came before first.
      if (credentialed && unchecked.length > 0) await check(unchecked);
      const res = await raw.send(req.method, req.path, req.headers, req.body);
      sent++;
      const byStatus = statuses.get(req.endpoint) ?? new Map<number, number>();
      byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      statuses.set(req.endpoint, byStatus);

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
      if (process.env.RELIEF_FUZZ_REPORT) console.log(`fuzzing ${target === "unrouted" ? target : key(target)}`);
      const arb = target === "unrouted" ? unroutedRequest(w, endpoints) : endpointRequest(w, target, schemas);
      const outcome = await fc.check(
        fc.asyncProperty(fc.array(arb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          for (const req of batch) await runOne(req);
          if (unchecked.length > 0) await check(unchecked);
        }),
        { numRuns: perTarget / BATCH, seed: SEED + i, endOnFailure: true },
      );
      // The failing request is in the error; the whole batch (fast-check's counterexample) would drown it.
      if (outcome.failed) throw outcome.errorInstance ?? new Error(`fuzzing failed (seed ${SEED + i})`);
    }

    expect(sent).to.be.at.least(RUNS);
    const leaked = w.t.logs.filter((line) => w.personal.some((v) => line.includes(v)));
    expect(leaked, "log lines with personal values").to.deep.equal([]);
    // Every endpoint was reached past authentication and validation at least once by some request.
    const neverPast = endpoints
      .map(key)
      .filter((k) => ![...(statuses.get(k)?.keys() ?? [])].some((s) => s !== 400 && s !== 401 && s !== 403));
    if (process.env.RELIEF_FUZZ_REPORT) printReport(statuses);
    expect(neverPast.length, `endpoints only ever refused at the door: ${neverPast.join(", ")}`).to.be.below(
      endpoints.length / 2,
    );
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
  const leaked = personal.filter((v) => res.text.includes(v));
  expect(leaked, `personal values in the error of ${describeRequest(req)}`).to.deep.equal([]);
}

function printReport(statuses: Map<string, Map<number, number>>): void {
  for (const [endpoint, byStatus] of [...statuses].sort()) {
    console.log(
      `${endpoint.padEnd(60)} ${[...byStatus]
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
  id: Object.keys(w.auth),
  keyId: w.keyIds,
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
    { weight: 3, arbitrary: schemas.valid(schema).map((v) => pct(String(v))) },
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
