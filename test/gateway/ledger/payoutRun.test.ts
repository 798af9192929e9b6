import { expect } from "chai";
import { programmeRule } from "../../../lib/programmes";
import { ProgrammeKind, SkipReason } from "../../../lib/roles";
import type { EvmLedger, PayoutOutcome } from "../../../gateway/src/ledger";
import { Chain, REGION, deployedLedger, digest, fundPool, ledgerFor } from "./anvil";

/** 特困 with no notice, so that cases are approved right after review. */
const TEKUN = programmeRule(ProgrammeKind.MonthlyFixed, REGION.county, digest("tekun-2023"), {
  amount: 80_000n,
  noticePeriod: 0,
});
const REAL_CASES = 250;
const LISTED = 2_500;
const GAS_CAP = 16_777_216;

/** Submits, reviews and approves `n` cases, `parallel` at a time. */
async function approvedCases(ledger: EvmLedger, programmeId: number, n: number, parallel = 25): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => digest(`run:case:${i}`));
  for (let i = 0; i < n; i += parallel) {
    await Promise.all(
      ids.slice(i, i + parallel).map(async (caseId) => {
        const submission = { caseId, programmeId, region: REGION.township, pseudonym: caseId, recordDigest: caseId };
        await ledger.submitCase("caseworker", submission);
        await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
        await ledger.approveCase("approver", {
          caseId,
          assessment: { householdSize: 1, incomePerHead: 0n, amount: 0n },
          ruleVersion: TEKUN.ruleVersion,
        });
      }),
    );
  }
  return ids;
}

describe("EvmLedger payout runs in chunks", function () {
  this.timeout(120_000);
  let chain: Chain;
  let ledger: EvmLedger;
  let programmeId: number;
  let period: number;
  let real: string[];

  before(async function () {
    ({ chain, ledger } = await deployedLedger());
    programmeId = (await ledger.createProgramme("approver", TEKUN)).programmeId;
    await fundPool(ledger, programmeId, 80_000n * BigInt(REAL_CASES));
    real = await approvedCases(ledger, programmeId, REAL_CASES);
    period = await ledger.currentPeriod();
  });

  after(async function () {
    await ledger?.close();
    await chain?.dispose();
  });

  it(`a run over ${LISTED} listed cases: 1,000 per transaction, every outcome reported in order`, async function () {
    // Every tenth listed case is real; the rest are unknown ids. The first real case is listed again in the
    // last chunk, where it has already been paid.
    const listed = Array.from({ length: LISTED }, (_, i) => (i % 10 === 0 ? real[i / 10] : digest(`run:unknown:${i}`)));
    listed[LISTED - 1] = real[0];

    const run = await ledger.executePayouts("keeper", { programmeId, period, caseIds: listed });

    expect(run.transactions.map((t) => t.cases)).to.deep.equal([1_000, 1_000, 500]);
    expect(run.outcomes).to.have.length(LISTED);
    expect(run.outcomes.map((o) => o.caseId)).to.deep.equal(listed);
    const expected = (caseId: string, i: number): PayoutOutcome => {
      if (i === LISTED - 1) return { caseId, status: "skipped", reason: SkipReason.AlreadyPaid };
      if (i % 10 === 0) return { caseId, status: "paid", amount: 80_000n };
      return { caseId, status: "skipped", reason: SkipReason.UnknownCase };
    };
    expect(run.outcomes).to.deep.equal(listed.map(expected));
    expect(run).to.include({ paid: REAL_CASES, skipped: LISTED - REAL_CASES, total: 80_000n * BigInt(REAL_CASES) });
    expect(run.transactions.map((t) => t.paid)).to.deep.equal([100, 100, 50]);
    expect(await ledger.poolBalance(programmeId)).to.equal(0n);
    for (const t of run.transactions) {
      const receipt = await chain.rpc<{ gasUsed: string; status: string }>("eth_getTransactionReceipt", [t.txHash]);
      expect(receipt.status).to.equal("0x1");
      expect(Number(receipt.gasUsed)).to.be.at.most(GAS_CAP);
    }
  });

  it("a chunk whose gas estimate exceeds the cap is split until each transaction fits", async function () {
    const cap = 3_000_000n;
    const small = ledgerFor(
      chain,
      { chainId: ledger.chainId, addresses: ledger.addresses, deployedAtBlock: 0 },
      { txGasCap: cap },
    );
    try {
      const listed = [...real.slice(0, 200), ...Array.from({ length: 800 }, (_, i) => digest(`run:more:${i}`))];

      const run = await small.executePayouts("keeper", { programmeId, period, caseIds: listed });

      expect(run.transactions.length).to.be.greaterThan(1);
      expect(run.transactions.reduce((n, t) => n + t.cases, 0)).to.equal(listed.length);
      expect(run.outcomes.map((o) => o.caseId)).to.deep.equal(listed);
      expect(
        run.outcomes.slice(0, 200).every((o) => o.status === "skipped" && o.reason === SkipReason.AlreadyPaid),
      ).to.equal(true);
      expect(
        run.outcomes.slice(200).every((o) => o.status === "skipped" && o.reason === SkipReason.UnknownCase),
      ).to.equal(true);
      for (const t of run.transactions) {
        const receipt = await chain.rpc<{ gasUsed: string }>("eth_getTransactionReceipt", [t.txHash]);
        expect(BigInt(receipt.gasUsed)).to.be.at.most(cap);
      }
    } finally {
      await small.close();
    }
  });

  it("settling every payout of the run in chunks of 100: all settled, one transaction per chunk", async function () {
    const keys = real.map((caseId) => ({ caseId, period, eventId: `0x${"0".repeat(64)}` }));

    const settled = await ledger.confirmSettlements("paymentAgent", {
      bankRefDigest: digest("bank-batch"),
      keys,
      chunkSize: 100,
    });

    expect(settled.transactions).to.have.length(3);
    const statuses = await Promise.all(keys.slice(0, 5).map((k) => ledger.payoutStatus(k)));
    expect(statuses.map((s) => s.status)).to.deep.equal([2, 2, 2, 2, 2]);
  });
});
