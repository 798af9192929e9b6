import { expect } from "chai";
import fc from "fast-check";
import { gapAmount } from "../../lib/programmes";
import { CaseStatus } from "../../lib/roles";
import {
  approvedCase,
  digest,
  funded,
  newCase,
  PROGRAMMES,
  REGION,
  type Emitted,
  type Ledger,
  type Name,
  type Programmes,
} from "./fixture";

const MONTHLY = `0x${"0".repeat(64)}`;

/**
 * For all sequences of fund movements, payout runs (any cases, repeated), settlements, failures and clawbacks, by
 * any actor, refused or not: appropriated == Σ region balances + Σ pools + paid out after every transaction, and a
 * (case, period) is never paid twice unless the earlier payout failed. The ledger's state carries over between runs:
 * every reachable state must keep the invariants.
 */
describe("chaincode: properties of the fund trail", function () {
  let ledger: Ledger;
  let programmes: Programmes;
  let cases: { caseId: string; programmeId: number }[];
  const outstanding = new Map<string, number>();

  const regions = Object.values(REGION);
  const actors: Name[] = [
    "centralFinance",
    "provinceFinance",
    "cityFinance",
    "countyFinance",
    "keeper",
    "paymentAgent",
    "caseworker",
  ];

  async function conserved(): Promise<void> {
    const t = await ledger.query<{ appropriated: string; paidOut: string }>("fundTotals");
    let held = 0n;
    for (const r of regions) held += BigInt(await ledger.query<string>("regionBalance", { region: r }));
    for (const id of Object.values(programmes))
      held += BigInt(await ledger.query<string>("poolBalance", { programmeId: id }));
    expect(BigInt(t.appropriated), "appropriated == held + paid out").to.equal(held + BigInt(t.paidOut));
  }

  function track(events: Emitted[]): void {
    for (const e of events) {
      const key = `${e.args.caseId}:${e.args.eventId}:${e.args.period}`;
      if (e.name === "PayoutExecuted") outstanding.set(key, (outstanding.get(key) ?? 0) + 1);
      if (e.name === "PayoutFailed") outstanding.set(key, (outstanding.get(key) ?? 0) - 1);
      if (e.name === "PayoutExecuted") expect(outstanding.get(key), `paid twice: ${key}`).to.equal(1);
    }
  }

  before(async function () {
    ({ ledger, programmes } = await funded());
    cases = [];
    for (const p of ["dibao", "tekun", "dibao", "temporary"] as const) {
      cases.push(await approvedCase(ledger, programmes, p, p === "temporary" ? { a: { amount: 250_000n } } : {}));
    }
  });

  const amount = fc.oneof(fc.bigInt({ min: 0n, max: 300_000n }), fc.constant(10n ** 12n));
  const op = fc.oneof(
    fc.record({ kind: fc.constant("appropriate" as const), who: fc.constantFrom(...actors), amount }),
    fc.record({
      kind: fc.constant("allocate" as const),
      who: fc.constantFrom(...actors),
      from: fc.constantFrom(...regions),
      to: fc.constantFrom(...regions),
      amount,
      up: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("pool" as const),
      who: fc.constantFrom(...actors),
      programme: fc.constantFrom(1, 2, 3),
      amount,
      defund: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("run" as const),
      programme: fc.constantFrom(1, 2, 3),
      picks: fc.array(fc.nat(4), { maxLength: 6 }),
    }),
    fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(3), fail: fc.boolean(), claw: amount }),
    fc.record({ kind: fc.constant("month" as const) }),
  );

  it("conserves money and never pays a period twice, whatever is tried", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        for (const o of ops) {
          const ref = digest("prop");
          let attempt: Promise<{ events: Emitted[] }> | undefined;
          if (o.kind === "appropriate")
            attempt = ledger.submit(o.who, "appropriate", { amount: o.amount, referenceDigest: ref });
          if (o.kind === "allocate") {
            attempt = ledger.submit(o.who, o.up ? "returnFunds" : "allocate", {
              fromRegion: o.from,
              toRegion: o.to,
              amount: o.amount,
              referenceDigest: ref,
            });
          }
          if (o.kind === "pool") {
            attempt = ledger.submit(o.who, o.defund ? "defundProgramme" : "fundProgramme", {
              programmeId: o.programme,
              amount: o.amount,
              referenceDigest: ref,
            });
          }
          if (o.kind === "run") {
            const ids = o.picks.map((i) => (i < cases.length ? cases[i].caseId : digest("unknown case")));
            attempt = ledger.submit("keeper", "executePayouts", {
              programmeId: o.programme,
              period: ledger.period(),
              caseIds: ids,
            });
          }
          if (o.kind === "settle") {
            const key = { caseId: cases[o.pick].caseId, period: ledger.period(), eventId: MONTHLY };
            attempt = o.fail
              ? ledger.submit("paymentAgent", "reportFailure", { key, reasonDigest: ref })
              : ledger
                  .submit("paymentAgent", "confirmSettlements", { bankRefDigest: ref, keys: [key] })
                  .then(() =>
                    ledger.submit("countyFinance", "recordClawback", { key, amount: o.claw, referenceDigest: ref }),
                  );
          }
          if (o.kind === "month") ledger.nextPeriod();
          if (attempt) {
            const result = await attempt.catch((err: Error) => {
              expect(err.message, "refusals are custom errors").to.match(/^RL:[A-Za-z]+/);
              return undefined;
            });
            if (result) track(result.events);
          }
          await conserved();
        }
      }),
      { numRuns: 12 },
    );
  });
});

/** For all assessments, the chaincode's approval gives lib/programmes.ts's amount (rules defined once). */
describe("chaincode: properties of the rules", function () {
  it("approves the gap rule's amount, or refuses a zero or out-of-range entitlement", async function () {
    const { ledger, programmes } = await funded();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.bigInt({ min: 0n, max: 100_000n }),
        async (householdSize, incomePerHead) => {
          const c = newCase("gap");
          await ledger.submit("caseworker", "submitCase", {
            caseId: c.caseId,
            programmeId: programmes.dibao,
            region: REGION.township,
            pseudonym: c.pseudonym,
            recordDigest: digest("r"),
          });
          await ledger.submit("caseworker", "reviewCase", {
            caseId: c.caseId,
            passed: true,
            reasonDigest: digest("ok"),
          });
          ledger.advance(PROGRAMMES.dibao.noticePeriod);
          const approval = {
            caseId: c.caseId,
            assessment: { householdSize, incomePerHead, amount: 0n },
            ruleVersion: PROGRAMMES.dibao.ruleVersion,
          };
          const expected = gapAmount(PROGRAMMES.dibao.amount, incomePerHead, householdSize);
          if (householdSize === 0 || householdSize > 99) {
            await ledger.expectRefused("approver", "approveCase", approval, "LedgerInvalidInput", {
              field: "householdSize",
            });
          } else if (expected === 0n) {
            await ledger.expectRefused("approver", "approveCase", approval, "LedgerZeroEntitlement", {
              caseId: c.caseId,
            });
          } else {
            const r = await ledger.submit<{ amount: string }>("approver", "approveCase", approval);
            expect(BigInt(r.amount)).to.equal(expected);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});

/** For all batches, `submitCases` stores every case or none: all when each would be accepted alone, in order. */
describe("chaincode: properties of batch submission", function () {
  it("submits a batch whole exactly when each of its cases, in turn, would be accepted", async function () {
    const { ledger, programmes } = await funded();
    const existing = newCase("existing");
    const base = { programmeId: programmes.dibao, region: REGION.township, recordDigest: digest("r") };
    await ledger.submit("caseworker", "submitCase", { ...base, ...existing });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            pick: fc.nat({ max: 5 }),
            flaw: fc.constantFrom("none", "none", "none", "existing", "zeroDigest", "outside", "unknownProgramme"),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (entries) => {
          const fresh = Array.from({ length: 6 }, () => newCase("batch"));
          const batch = entries.map(({ pick, flaw }) => ({
            ...base,
            ...(flaw === "existing" ? existing : fresh[pick]),
            ...(flaw === "zeroDigest" && { recordDigest: `0x${"0".repeat(64)}` }),
            ...(flaw === "outside" && { region: REGION.otherTownship }),
            ...(flaw === "unknownProgramme" && { programmeId: 999 }),
          }));
          // The model: each case alone, in order, against what the ones before it stored.
          const seen = new Set<string>();
          const accepted = entries.every(({ pick, flaw }) => {
            if (flaw !== "none" || seen.has(fresh[pick].caseId)) return false;
            seen.add(fresh[pick].caseId);
            return true;
          });
          const before = await ledger.query<number>("caseCount");
          if (accepted) {
            const { events } = await ledger.submit("caseworker", "submitCases", { cases: batch });
            expect(events.map((e) => (e.args as { caseId: string }).caseId)).to.deep.equal(batch.map((c) => c.caseId));
            expect(await ledger.query<number>("caseCount")).to.equal(before + batch.length);
          } else {
            await ledger.refusal("caseworker", "submitCases", { cases: batch });
            expect(await ledger.query<number>("caseCount")).to.equal(before);
            for (const c of fresh) expect(await ledger.query("caseRecord", { caseId: c.caseId })).to.equal(null);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("reviews a batch whole exactly when each review, in turn, would be accepted", async function () {
    const { ledger, programmes } = await funded();
    const base = { programmeId: programmes.dibao, region: REGION.township, recordDigest: digest("r") };
    const unknown = newCase("never submitted").caseId;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ pick: fc.nat({ max: 4 }), passed: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        async (entries) => {
          const fresh = Array.from({ length: 4 }, () => newCase("review batch"));
          await ledger.submit("caseworker", "submitCases", { cases: fresh.map((c) => ({ ...base, ...c })) });
          const ids = [...fresh.map((c) => c.caseId), unknown];
          const reviews = entries.map((e) => ({ caseId: ids[e.pick], passed: e.passed, reasonDigest: digest("ok") }));
          // The model: a case is reviewed once, from Submitted; the unknown one never.
          const accepted = entries.every((e, i) => e.pick < 4 && entries.findIndex((f) => f.pick === e.pick) === i);
          const status = async (caseId: string) =>
            (await ledger.query<{ status: number }>("caseRecord", { caseId })).status;
          if (accepted) {
            const r = await ledger.submit<{ noticeEnds: number[] }>("caseworker", "reviewCases", { reviews });
            expect(r.noticeEnds.map((n) => n > 0)).to.deep.equal(entries.map((e) => e.passed));
            for (const e of entries) {
              expect(await status(ids[e.pick])).to.equal(e.passed ? CaseStatus.InNotice : CaseStatus.Rejected);
            }
          } else {
            await ledger.refusal("caseworker", "reviewCases", { reviews });
            for (const c of fresh) expect(await status(c.caseId)).to.equal(CaseStatus.Submitted);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("decides a batch whole exactly when each decision, in turn, would be accepted", async function () {
    const { ledger, programmes } = await funded();
    const base = { programmeId: programmes.dibao, region: REGION.township, recordDigest: digest("r") };
    const unknown = newCase("never submitted").caseId;
    const approval = { assessment: { householdSize: 3, incomePerHead: "23700", amount: "0" } };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ pick: fc.nat({ max: 4 }), approve: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        async (entries) => {
          const fresh = Array.from({ length: 4 }, () => newCase("decision batch"));
          await ledger.submit("caseworker", "submitCases", { cases: fresh.map((c) => ({ ...base, ...c })) });
          const reviews = fresh.map((c) => ({ caseId: c.caseId, passed: true, reasonDigest: digest("ok") }));
          await ledger.submit("caseworker", "reviewCases", { reviews });
          ledger.advance(PROGRAMMES.dibao.noticePeriod);
          const ids = [...fresh.map((c) => c.caseId), unknown];
          const decisions = entries.map((e) =>
            e.approve
              ? { caseId: ids[e.pick], approve: true, ...approval, ruleVersion: PROGRAMMES.dibao.ruleVersion }
              : { caseId: ids[e.pick], approve: false, reasonDigest: digest("no") },
          );
          // The model: a case in notice is decided once (approved or rejected); the unknown one never.
          const accepted = entries.every((e, i) => e.pick < 4 && entries.findIndex((f) => f.pick === e.pick) === i);
          const status = async (caseId: string) =>
            (await ledger.query<{ status: number }>("caseRecord", { caseId })).status;
          if (accepted) {
            const r = await ledger.submit<{ outcomes: ({ amount: string } | null)[] }>("approver", "decideCases", {
              decisions,
            });
            expect(r.outcomes.map((o) => o !== null)).to.deep.equal(entries.map((e) => e.approve));
            for (const e of entries) {
              expect(await status(ids[e.pick])).to.equal(e.approve ? CaseStatus.Approved : CaseStatus.Rejected);
            }
          } else {
            await ledger.refusal("approver", "decideCases", { decisions });
            for (const c of fresh) expect(await status(c.caseId)).to.equal(CaseStatus.InNotice);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("refuses an empty batch of decisions as the EVM's multicall does", async function () {
    const { ledger } = await funded();
    await ledger.expectRefused("approver", "decideCases", { decisions: [] }, "LedgerEmptyMulticall");
  });
});
