import { expect } from "chai";
import { buildTree, inclusionProof, verifyInclusion } from "../../../lib/merkle";
import { CaseStatus, PayoutStatus, Role, SkipReason } from "../../../lib/roles";
import { ReceiptOutcome, ReceiptSource } from "../../../lib/receipts";
import {
  EvmLedger,
  LedgerConfigError,
  LedgerError,
  MONTHLY,
  type LedgerEvent,
  type TxResult,
} from "../../../gateway/src/ledger";
import { Chain, DIBAO, REGION, deployedLedger, digest, fundPool } from "./anvil";

/** The LedgerError a promise rejects with. */
async function ledgerError(promise: Promise<unknown>): Promise<LedgerError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LedgerError) return err;
    throw err;
  }
  throw new Error("expected a LedgerError, the call succeeded");
}

describe("EvmLedger on anvil", function () {
  this.timeout(60_000);
  let chain: Chain;
  let ledger: EvmLedger;

  before(async function () {
    ({ chain, ledger } = await deployedLedger());
  });

  after(async function () {
    await ledger?.close();
    await chain?.dispose();
  });

  describe("a case from budget to anchored receipt", function () {
    const caseId = digest("flow:case");
    const pseudonym = digest("flow:pseudonym");
    const recordDigest = digest("flow:record");
    const bankRef = digest("flow:bank-ref");
    const evidence = digest("flow:sm2-receipt");
    const metadata = digest("flow:batch");
    const batch = [recordDigest, digest("flow:other-record-1"), digest("flow:other-record-2")];
    let fromBlock: number;
    let programmeId: number;
    let period: number;
    /** Every write of the flow, with the events it must have emitted. */
    const writes: Array<{ tx: TxResult; events: string[] }> = [];

    before(async function () {
      fromBlock = (await ledger.blockNumber()) + 1;
    });

    it("budget: appropriation allocated down to a funded pool, totals consistent", async function () {
      const created = await ledger.createProgramme("approver", DIBAO);
      programmeId = created.programmeId;
      writes.push({ tx: created, events: ["ProgrammeCreated"] });
      const moves = await fundPool(ledger, programmeId, 10_000_000n);
      const names = ["FundsAppropriated", "FundsAllocated", "FundsAllocated", "FundsAllocated", "ProgrammeFunded"];
      moves.forEach((tx, i) => writes.push({ tx, events: [names[i]] }));

      expect(programmeId).to.equal(1);
      expect(await ledger.programme(programmeId)).to.deep.equal(DIBAO);
      expect(await ledger.poolBalance(programmeId)).to.equal(10_000_000n);
      expect(await ledger.regionBalance(REGION.county)).to.equal(0n);
      expect(await ledger.fundTotals()).to.deep.equal({ appropriated: 10_000_000n, held: 10_000_000n, paidOut: 0n });
    });

    it("case lifecycle: submitted, reviewed, notice elapsed, approved", async function () {
      const submitted = await ledger.submitCase("caseworker", {
        caseId,
        programmeId,
        region: REGION.township,
        pseudonym,
        recordDigest,
      });
      writes.push({ tx: submitted, events: ["CaseSubmitted"] });
      const reviewed = await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
      writes.push({ tx: reviewed, events: ["CaseReviewed"] });
      expect((await ledger.caseRecord(caseId))!.status).to.equal(CaseStatus.InNotice);

      await chain.increaseTime(DIBAO.noticePeriod);
      const approved = await ledger.approveCase("approver", {
        caseId,
        assessment: { householdSize: 3, incomePerHead: 23_700n, amount: 0n },
        ruleVersion: DIBAO.ruleVersion,
      });
      writes.push({ tx: approved, events: ["CaseApproved"] });
      period = approved.firstPeriod;

      expect(approved.amount).to.equal(150_000n); // (737 − 237) yuan × 3
      expect(approved.lastPeriod).to.equal(period + 11);
      expect(reviewed.noticeEnds).to.be.a("number");
      const record = (await ledger.caseRecord(caseId))!;
      expect(record).to.include({ status: CaseStatus.Approved, programmeId, firstPeriod: period, openObjections: 0 });
      expect(record.region).to.equal(REGION.township);
      expect(record.submitter).to.equal(ledger.accountOf("caseworker"));
      expect(record.recordDigest).to.equal(recordDigest);
      expect(await ledger.caseRecord(digest("no such case"))).to.equal(null);
    });

    it("payout runs: the first pays the case once, the second skips it as AlreadyPaid", async function () {
      const first = await ledger.executePayouts("keeper", { programmeId, period, caseIds: [caseId] });
      const second = await ledger.executePayouts("keeper", { programmeId, period, caseIds: [caseId] });
      writes.push({ tx: first.transactions[0], events: ["PayoutExecuted", "PayoutRunExecuted"] });
      writes.push({ tx: second.transactions[0], events: ["PayoutSkipped", "PayoutRunExecuted"] });

      expect(first.outcomes).to.deep.equal([{ caseId, status: "paid", amount: 150_000n }]);
      expect(first).to.include({ programmeId, period, eventId: MONTHLY, paid: 1, skipped: 0, total: 150_000n });
      expect(second.outcomes).to.deep.equal([{ caseId, status: "skipped", reason: SkipReason.AlreadyPaid }]);
      expect(second).to.include({ paid: 0, skipped: 1, total: 0n });
      expect(await ledger.poolBalance(programmeId)).to.equal(10_000_000n - 150_000n);
      expect(await ledger.programmePaidOut(programmeId)).to.equal(150_000n);
      expect(await ledger.casePayouts(caseId)).to.deep.equal([{ caseId, period, eventId: MONTHLY }]);
    });

    it("settlement, then the beneficiary's receipt attested", async function () {
      const key = { caseId, period, eventId: MONTHLY };
      expect(await ledger.payoutStatus(key)).to.deep.equal({ status: PayoutStatus.Paid, amount: 150_000n });

      const settled = await ledger.confirmSettlements("paymentAgent", { bankRefDigest: bankRef, keys: [key] });
      writes.push({ tx: settled.transactions[0], events: ["PayoutSettled"] });
      const attested = await ledger.attestReceipt("anchorer", {
        key,
        outcome: ReceiptOutcome.Confirmed,
        evidenceDigest: evidence,
      });
      writes.push({ tx: attested, events: ["ReceiptConfirmed"] });

      expect(settled.transactions).to.have.length(1);
      expect(await ledger.payoutStatus(key)).to.deep.equal({ status: PayoutStatus.Settled, amount: 150_000n });
      const receipt = await ledger.receiptOf(key);
      expect(receipt).to.include({ outcome: ReceiptOutcome.Confirmed, source: ReceiptSource.Attestation });
      expect(receipt.timestamp).to.be.greaterThan(0);
    });

    it("anchor: a lib/merkle.ts root is anchored and the chain verifies the record's proof", async function () {
      const tree = buildTree(batch);
      expect(await ledger.anchorCount()).to.equal(0);

      const anchored = await ledger.anchor("anchorer", {
        expectedSequence: 0,
        region: REGION.county,
        root: tree.root,
        recordCount: batch.length,
        metadataDigest: metadata,
      });
      writes.push({ tx: anchored, events: ["RecordsAnchored"] });

      expect(anchored).to.include({ sequence: 0, firstRecordIndex: 0 });
      expect(await ledger.anchorCount()).to.equal(1);
      expect(await ledger.totalRecords()).to.equal(3);
      const stored = await ledger.anchorAt(0);
      expect(stored).to.include({
        root: tree.root,
        firstRecordIndex: 0,
        recordCount: 3,
        blockNumber: anchored.blockNumber,
      });
      expect(stored.region).to.equal(REGION.county);
      const proof = inclusionProof(tree, 0);
      expect(verifyInclusion(tree.root, 3, 0, recordDigest, proof)).to.equal(true);
      expect(await ledger.verifyInclusion(0, 0, recordDigest, proof)).to.equal(true);
      expect(await ledger.verifyInclusion(0, 0, digest("forged"), proof)).to.equal(false);
    });

    it("events: every event of the flow decoded, in chain order, from its transaction", async function () {
      const events = await ledger.events(fromBlock, undefined, { timestamps: true });

      const expected = writes.flatMap((w) => w.events.map((name) => ({ name, txHash: w.tx.txHash })));
      expect(events.map((e) => ({ name: e.name, txHash: e.txHash }))).to.deep.equal(expected);
      for (const w of writes) {
        for (const e of events.filter((e) => e.txHash === w.tx.txHash))
          expect(e.blockNumber).to.equal(w.tx.blockNumber);
      }
      const order = events.map((e) => [e.blockNumber, e.logIndex]);
      const sorted = [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(order).to.deep.equal(sorted);
      // Nothing the four contracts logged in these blocks is missing.
      const raw = await chain.rpc<unknown[]>("eth_getLogs", [
        { fromBlock: `0x${fromBlock.toString(16)}`, toBlock: "latest" },
      ]);
      expect(events).to.have.length(raw.length);
      const times = events.map((e) => e.timestamp!);
      expect(times.every((t, i) => Number.isInteger(t) && (i === 0 || t >= times[i - 1]))).to.equal(true);

      const byName = <N extends LedgerEvent["name"]>(name: N) =>
        events.filter((e): e is Extract<LedgerEvent, { name: N }> => e.name === name);
      expect(byName("CaseSubmitted")[0].args).to.deep.equal({
        caseId,
        programmeId,
        region: REGION.township,
        pseudonym,
        recordDigest,
        submitter: ledger.accountOf("caseworker"),
      });
      expect(byName("FundsAllocated").map((e) => [e.args.fromRegion, e.args.toRegion])).to.deep.equal([
        [REGION.central, REGION.province],
        [REGION.province, REGION.city],
        [REGION.city, REGION.county],
      ]);
      expect(byName("PayoutExecuted")[0].args).to.deep.equal({
        caseId,
        programmeId,
        eventId: MONTHLY,
        period,
        amount: 150_000n,
      });
      expect(byName("PayoutSkipped")[0].args.reason).to.equal(SkipReason.AlreadyPaid);
      expect(byName("PayoutRunExecuted")[1].args).to.deep.equal({
        programmeId,
        eventId: MONTHLY,
        period,
        paid: 0,
        skipped: 1,
        total: 0n,
      });
      expect(byName("ReceiptConfirmed")[0].args).to.deep.equal({
        caseId,
        eventId: MONTHLY,
        period,
        source: ReceiptSource.Attestation,
        noteDigest: evidence,
      });
      expect(byName("RecordsAnchored")[0].args).to.deep.equal({
        sequence: 0,
        region: REGION.county,
        root: buildTree(batch).root,
        recordCount: 3,
        firstRecordIndex: 0,
        metadataDigest: metadata,
      });
      expect(byName("RecordsAnchored")[0].contract).to.equal("anchors");
    });

    it("events: the registrations from block 0, in a range cut into many small requests", async function () {
      const small = deployedLedgerLogSpan(chain, ledger);
      const all = await small.events(0, fromBlock - 1);
      const registered = all.filter((e) => e.name === "InstitutionRegistered");

      expect(registered.map((e) => e.args)).to.deep.include({
        account: ledger.accountOf("anchorer"),
        role: Role.Anchorer,
        region: REGION.central,
        keyDigest: digest("sm2-key:anchorer"),
      });
      expect(registered).to.have.length(10);
      await small.close();
    });
  });

  describe("reverts decoded into LedgerError", function () {
    let programmeId: number;
    let approvedCase: string;

    before(async function () {
      programmeId = await ledger.programmeCount();
      approvedCase = digest("flow:case");
    });

    it("reviewCase on an approved case: LedgerInvalidCaseStatus(caseId, status)", async function () {
      const err = await ledgerError(
        ledger.reviewCase("caseworker", { caseId: approvedCase, passed: true, reasonDigest: digest("again") }),
      );

      expect(err.code).to.equal("LedgerInvalidCaseStatus");
      expect(err.args).to.deep.equal({ caseId: approvedCase, status: CaseStatus.Approved });
      expect(err.values).to.deep.equal([approvedCase, CaseStatus.Approved]);
      expect(err).to.include({ operation: "reviewCase", actor: "caseworker", txHash: undefined });
    });

    it("a caseworker appropriating: the registry's LedgerUnauthorizedRole(account, roles)", async function () {
      const err = await ledgerError(ledger.appropriate("caseworker", 1n, digest("x")));

      expect(err.code).to.equal("LedgerUnauthorizedRole");
      expect(err.args).to.deep.equal({ account: ledger.accountOf("caseworker"), roles: 1 << Role.Finance });
    });

    it("a county finance bureau allocating central money: LedgerUnauthorizedRegion(account, region)", async function () {
      const move = { fromRegion: REGION.central, toRegion: REGION.province, amount: 1n, referenceDigest: digest("x") };
      const err = await ledgerError(ledger.allocate("countyFinance", move));

      expect(err.code).to.equal("LedgerUnauthorizedRegion");
      expect(err.args).to.deep.equal({ account: ledger.accountOf("countyFinance"), region: REGION.central });
    });

    it("funding a pool beyond the region's balance: LedgerInsufficientFunds(available, requested)", async function () {
      const err = await ledgerError(
        ledger.fundProgramme("countyFinance", { programmeId, amount: 5n, referenceDigest: digest("x") }),
      );

      expect(err.code).to.equal("LedgerInsufficientFunds");
      expect(err.args).to.deep.equal({ available: 0n, requested: 5n });
    });

    it("an approver approving a case it submitted: LedgerSelfApproval(caseId, account)", async function () {
      const caseId = digest("self-approval");
      await ledger.submitCase("approver", {
        caseId,
        programmeId,
        region: REGION.township,
        pseudonym: digest("self-approval:pseudonym"),
        recordDigest: digest("self-approval:record"),
      });
      await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
      await chain.increaseTime(DIBAO.noticePeriod);

      const approval = ledger.approveCase("approver", {
        caseId,
        assessment: { householdSize: 1, incomePerHead: 0n, amount: 0n },
        ruleVersion: DIBAO.ruleVersion,
      });
      const self = await ledgerError(approval);

      expect(self.code).to.equal("LedgerSelfApproval");
      expect(self.args).to.deep.equal({ caseId, account: ledger.accountOf("approver") });
    });

    it("re-anchoring sequence 0: LedgerAnchorOutOfSequence(expected, next) with uint64s as bigints", async function () {
      const again = {
        expectedSequence: 0,
        region: REGION.county,
        root: digest("r"),
        recordCount: 1,
        metadataDigest: digest("m"),
      };
      const err = await ledgerError(ledger.anchor("anchorer", again));

      expect(err.code).to.equal("LedgerAnchorOutOfSequence");
      expect(err.args).to.deep.equal({ expected: 0n, next: 1n });
      expect(err.message).to.equal("anchor: LedgerAnchorOutOfSequence(expected=0, next=1)");
    });

    it("a view that reverts: anchorAt of a missing anchor is LedgerUnknownAnchor(sequence, anchorCount)", async function () {
      const err = await ledgerError(ledger.anchorAt(99));

      expect(err.code).to.equal("LedgerUnknownAnchor");
      expect(err.args).to.deep.equal({ sequence: 99n, anchorCount: 1n });
      expect(err.operation).to.equal("anchorAt");
    });

    it("a transaction mined and reverted (a lost race): LedgerError with its hash and block, never success", async function () {
      const count = await ledger.anchorCount();
      const anchor = (label: string) =>
        ledger.anchor("anchorer", {
          expectedSequence: count,
          region: REGION.county,
          root: digest(label),
          recordCount: 1,
          metadataDigest: digest("race"),
        });
      await chain.rpc("evm_setAutomine", [false]);
      try {
        const both = [anchor("race-a"), anchor("race-b")];
        // Both estimates ran against the same state; wait until both transactions are in the pool, then mine them.
        for (let i = 0; i < 100; i++) {
          const pending = await chain.rpc<{ transactions: string[] }>("eth_getBlockByNumber", ["pending", false]);
          if (pending.transactions.length === 2) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await chain.rpc("evm_mine");
        const [a, b] = await Promise.allSettled(both);

        const won = [a, b].filter((r) => r.status === "fulfilled");
        const lost = [a, b].filter((r): r is PromiseRejectedResult => r.status === "rejected");
        expect(won).to.have.length(1);
        expect(lost).to.have.length(1);
        const err = lost[0].reason as LedgerError;
        expect(err).to.be.instanceOf(LedgerError);
        expect(err.code).to.equal("LedgerAnchorOutOfSequence");
        expect(err.args).to.deep.equal({ expected: BigInt(count), next: BigInt(count + 1) });
        expect(err.txHash).to.match(/^0x[0-9a-f]{64}$/);
        const receipt = await chain.rpc<{ status: string; blockNumber: string }>("eth_getTransactionReceipt", [
          err.txHash,
        ]);
        expect(receipt.status).to.equal("0x0");
        expect(err.blockNumber).to.equal(Number(receipt.blockNumber));
        expect(await ledger.anchorCount()).to.equal(count + 1);
      } finally {
        await chain.rpc("evm_setAutomine", [true]);
      }
    });

    it("an actor without a key: LedgerConfigError before anything is sent", async function () {
      expect(() => ledger.accountOf("nobody")).to.throw(LedgerConfigError, /no chain key for actor "nobody"/);
      let caught: unknown;
      await ledger.pause("nobody").catch((err) => (caught = err));
      expect(caught).to.be.instanceOf(LedgerConfigError);
    });
  });

  describe("nonces", function () {
    let programmeId: number;

    before(async function () {
      programmeId = await ledger.programmeCount();
    });

    const submission = (label: string) => ({
      caseId: digest(`nonce:${label}`),
      programmeId,
      region: REGION.township,
      pseudonym: digest(`nonce:pseudonym:${label}`),
      recordDigest: digest(`nonce:record:${label}`),
    });

    it("two quick consecutive writes of one actor: both mined, consecutive nonces, no 'nonce too low'", async function () {
      const first = await ledger.submitCase("caseworker", submission("1"));
      const second = await ledger.submitCase("caseworker", submission("2"));
      const [a, b] = await Promise.all([
        ledger.submitCase("caseworker", submission("3")),
        ledger.submitCase("caseworker", submission("4")),
      ]);

      const nonces = await Promise.all(
        [first, second, a, b].map(async (tx) => {
          const t = await chain.rpc<{ nonce: string }>("eth_getTransactionByHash", [tx.txHash]);
          return Number(t.nonce);
        }),
      );
      expect(nonces[1]).to.equal(nonces[0] + 1);
      expect([...nonces.slice(2)].sort((x, y) => x - y)).to.deep.equal([nonces[0] + 2, nonces[0] + 3]);
      for (const label of ["1", "2", "3", "4"]) {
        expect((await ledger.caseRecord(submission(label).caseId))!.status).to.equal(CaseStatus.Submitted);
      }
    });

    it("a write refused at estimation takes no nonce: the next write of the actor is mined at once", async function () {
      await ledgerError(ledger.submitCase("caseworker", submission("1"))); // LedgerCaseExists
      const started = Date.now();
      const next = await ledger.submitCase("caseworker", submission("5"));

      expect(next.blockNumber).to.be.a("number");
      expect(Date.now() - started).to.be.lessThan(2_000);
    });

    it("twenty writes of one actor in parallel: all mined with distinct nonces", async function () {
      const labels = Array.from({ length: 20 }, (_, i) => `parallel-${i}`);
      const results = await Promise.all(labels.map((l) => ledger.submitCase("caseworker", submission(l))));

      expect(new Set(results.map((r) => r.txHash)).size).to.equal(20);
      expect(await ledger.caseCount()).to.be.at.least(20);
    });
  });

  it("registration reads: the institution as registered, unknown accounts as role None", async function () {
    expect(await ledger.institution(ledger.accountOf("approver"))).to.deep.equal({
      role: Role.Approver,
      active: true,
      region: REGION.county,
      keyDigest: digest("sm2-key:approver"),
    });
    expect((await ledger.institution("0x000000000000000000000000000000000000dEaD")).role).to.equal(Role.None);
    expect(await ledger.isPaused()).to.equal(false);
    expect(await ledger.currentPeriod()).to.be.greaterThan(24_000);
  });
});

/** A second adapter on the same deployment that reads logs two blocks at a time. */
function deployedLedgerLogSpan(chain: Chain, ledger: EvmLedger) {
  return new EvmLedger({ rpcUrl: chain.url, chainId: ledger.chainId, addresses: ledger.addresses, logBlockSpan: 2 });
}
