/**
 * The programme rules intake remembers (gateway/src/cases/rules.ts): fresh rules need no chain call, a stale one is
 * refreshed, and a chain that hangs or is down never holds intake past RULE_REFRESH_WAIT_MS once a rule was read.
 * The ledger here is a hand-driven stand-in for `programme` only: the real chain's hang is exercised in
 * test/faults/chain-outage.test.ts.
 */
import { expect } from "chai";
import { LedgerError, LedgerUnavailableError, type ProgrammeRule } from "../../../gateway/src/ledger";
import type { GatewayContext } from "../../../gateway/src/context";
import { RULE_REFRESH_WAIT_MS, RULE_TTL_MS, programmeRule } from "../../../gateway/src/cases/rules";

const rule = (version: string) =>
  ({ ruleVersion: version, region: 110105n, exclusionGroup: 1 }) as unknown as ProgrammeRule;

/** A ledger whose `programme` answers are released by the test, one per call. */
function ledgerByHand() {
  const calls: { resolve: (r: ProgrammeRule) => void; reject: (e: unknown) => void }[] = [];
  const ctx = {
    ledger: {
      programme: () => new Promise<ProgrammeRule>((resolve, reject) => calls.push({ resolve, reject })),
    },
  } as unknown as GatewayContext;
  return { ctx, calls };
}

/** Runs `fn` with the clock moved forward by `ms`. */
async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const now = Date.now;
  Date.now = () => now() + ms;
  try {
    return await fn();
  } finally {
    Date.now = now;
  }
}

/** A ledger by hand whose rule of programme 1 (v1) has been read once. */
async function rememberingV1() {
  const hand = ledgerByHand();
  const first = programmeRule(hand.ctx, 1);
  hand.calls[0].resolve(rule("v1"));
  expect(await first).to.deep.equal(rule("v1"));
  return hand;
}

const unavailable = () => new LedgerUnavailableError("unreachable", "connection refused", { operation: "programme" });

describe("intake's programme rules: remembered, refreshed, and never held by a hung chain", function () {
  it("a rule read once is used without a chain call until RULE_TTL_MS has passed", async function () {
    const { ctx, calls } = await rememberingV1();
    expect(await programmeRule(ctx, 1)).to.deep.equal(rule("v1"));
    expect(calls).to.have.length(1);
  });

  it("past RULE_TTL_MS the chain's newer rule is used when it answers in time", async function () {
    const { ctx, calls } = await rememberingV1();
    const refreshed = await later(RULE_TTL_MS + 1, async () => {
      const answer = programmeRule(ctx, 1);
      calls[1].resolve(rule("v2"));
      return answer;
    });
    expect(refreshed).to.deep.equal(rule("v2"));
  });

  it("a hung chain: the remembered rule after RULE_REFRESH_WAIT_MS, one read shared by every caller, and its answer kept when it comes", async function () {
    const { ctx, calls } = await rememberingV1();
    await later(RULE_TTL_MS + 1, async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => programmeRule(ctx, 1)));
      expect(answers.every((a) => a?.ruleVersion === "v1")).to.equal(true);
      expect(calls, "one chain read for 20 callers").to.have.length(2);
      const waited = new Promise((r) => setTimeout(() => r("waited"), RULE_REFRESH_WAIT_MS / 2));
      expect(await Promise.race([programmeRule(ctx, 1), waited]), "a caller after the read is late").to.deep.equal(
        rule("v1"),
      );
      calls[1].resolve(rule("v2")); // the node answers at last
      await new Promise((r) => setImmediate(r));
      expect(await programmeRule(ctx, 1)).to.deep.equal(rule("v2"));
      expect(calls, "the late answer is remembered").to.have.length(2);
    });
  });

  it("a chain that is down: the remembered rule at once; never read and down: LedgerUnavailableError", async function () {
    const { ctx, calls } = await rememberingV1();
    const stale = await later(RULE_TTL_MS + 1, async () => {
      const answer = programmeRule(ctx, 1);
      calls[1].reject(unavailable());
      return answer;
    });
    expect(stale).to.deep.equal(rule("v1"));

    const never = programmeRule(ctx, 2);
    calls[2].reject(unavailable());
    await never.then(
      () => expect.fail("resolved"),
      (error: unknown) => expect(error).to.be.instanceOf(LedgerUnavailableError),
    );
  });

  it("an unknown programme is undefined; any other ledger error reaches the caller", async function () {
    const { ctx, calls } = ledgerByHand();
    const unknown = programmeRule(ctx, 9);
    calls[0].reject(new LedgerError("LedgerUnknownProgramme", { operation: "programme" }));
    expect(await unknown).to.equal(undefined);
    const refused = programmeRule(ctx, 8);
    calls[1].reject(new LedgerError("LedgerInvalidInput", { operation: "programme" }));
    await refused.then(
      () => expect.fail("resolved"),
      (error: unknown) => expect((error as LedgerError).code).to.equal("LedgerInvalidInput"),
    );
  });
});
