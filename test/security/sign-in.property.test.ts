/**
 * Beneficiary sign-in under any sequence of attempts (issue 5, brute force and expiry), on the gateway's injected
 * clock: a model of the one-time code (5 wrong codes lock it for 15 minutes, even for the right code; it expires 72 h
 * after issue; it opens one session) predicts the answer to every attempt. The example-based cases (the 429 per
 * address, the audit entries) are in test/gateway/beneficiary/beneficiary.test.ts.
 */
import { expect } from "chai";
import fc from "fast-check";
import { type TestGateway, startTestGateway } from "../gateway/api/harness";
import { residentId, submittedCase } from "../gateway/beneficiary/fixtures";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const RUNS = Number(process.env.RELIEF_SIGN_IN_RUNS ?? 12);

type Op = { kind: "wrong" } | { kind: "right" } | { kind: "wait"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "wrong" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "right" as const }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(MINUTE, 16 * MINUTE, 2 * HOUR, 71 * HOUR).map((ms) => ({ kind: "wait" as const, ms })),
  },
);

describe("beneficiary sign-in: lockout and expiry for any sequence of attempts (fast-check)", function () {
  this.timeout(180_000);
  let t: TestGateway;
  let offset = 0;
  let serial = 900;

  before(async function () {
    t = await startTestGateway({ now: () => new Date(Date.now() + offset) });
  });

  after(async function () {
    await t?.close();
  });

  it(`${RUNS} sequences: 423 while locked (right code too), 401 for wrong, used or expired codes, 201 once`, async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        offset += 2 * MINUTE; // a fresh window of the per-address limiter (at most 14 attempts a run)
        const resident = residentId(serial++);
        const kase = await submittedCase(t, resident);
        const issued = await t.http
          .post(`/v1/cases/${kase.caseId}/notice-code`)
          .set("Authorization", t.auth("township-caseworker"));
        expect(issued.status).to.equal(201);
        const code = issued.body.code as string;
        const wrong = String((Number(code) + 1) % 1e8).padStart(8, "0");
        const model = { failures: 0, lockedUntil: -Infinity, expiresAt: offset + 72 * HOUR, used: false };

        for (const o of ops) {
          if (o.kind === "wait") {
            offset += o.ms;
            continue;
          }
          // The model's clock is the offset: the real one moves too little in a test to cross a boundary.
          const now = offset;
          const res = await t.http
            .post("/v1/beneficiary/sessions")
            .send({ residentId: resident, code: o.kind === "right" ? code : wrong });
          let expected: [number, string | undefined];
          if (now < model.lockedUntil) expected = [423, "LOCKED"];
          else if (now >= model.expiresAt) expected = [401, "CODE_INVALID"];
          else if (o.kind === "wrong") {
            model.failures += 1;
            if (model.failures >= 5) model.lockedUntil = now + 15 * MINUTE;
            expected = [401, "CODE_INVALID"];
          } else if (model.used) expected = [401, "CODE_INVALID"];
          else {
            model.used = true;
            expected = [201, undefined];
          }
          expect([res.status, res.body.error?.code], `${o.kind} at +${Math.round(now / MINUTE)} min`).to.deep.equal(
            expected,
          );
          if (res.status === 201) expect(res.body.token).to.match(/^rlb_/);
          expect(JSON.stringify(res.body)).to.not.include(resident);
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.PROPERTY_SEED ?? 20_261_202) },
    );
  });
});
