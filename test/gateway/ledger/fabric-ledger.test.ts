import { expect } from "chai";
import fc from "fast-check";
import { getAddress } from "ethers";
import { status } from "@grpc/grpc-js";
import { CommitError, EndorseError } from "@hyperledger/fabric-gateway";
import { SubmitError } from "@hyperledger/fabric-gateway/dist/submiterror";
import { fabricAccount } from "../../../lib/fabric-identity";
import { periodAt } from "../../../lib/periods";
import { PayoutStatus, SkipReason } from "../../../lib/roles";
import {
  LedgerConfigError,
  LedgerError,
  LedgerUnavailableError,
  MONTHLY,
  type Bytes32,
} from "../../../gateway/src/ledger";
import { FabricLedger } from "../../../gateway/src/ledger/fabric";
import { DIBAO, REGION, digest } from "./anvil";
import { T0 } from "../../conformance/institutions";
import { FaultyTransport, fabricFixture, rejection, type FabricFixture } from "../../fabric/fixture";
import { clientError } from "../../fabric/client-errors";
import { PeerTransport } from "../../fabric/peer-transport";

const unavailable =
  (Kind: typeof EndorseError | typeof SubmitError, code = status.UNAVAILABLE) =>
  () =>
    clientError(Kind, code, undefined, [], "f".repeat(64));

/**
 * The Fabric adapter's own logic over the real chaincode on the in-memory peer: how Ledger methods become
 * transactions, how replies and events come back, how batch methods are chunked, and which failures are retried.
 */
describe("FabricLedger: mapping, chunking, retries", function () {
  this.timeout(60_000);
  let fx: FabricFixture;
  let faulty: Record<string, FaultyTransport>;
  let dibao: number;
  let cases: Bytes32[];
  const period = periodAt(T0 + 8 * 24 * 3600);

  before(async function () {
    faulty = {};
    fx = await fabricFixture({
      wrap: (actor, t) => (faulty[actor] = new FaultyTransport(t)),
      ledger: { payoutChunkSize: 2, settlementChunkSize: 2, retries: 2 },
    });
    const L = fx.ledger;
    const ref = digest("budget");
    await L.appropriate("centralFinance", 10_000_000n, ref);
    await L.allocate("centralFinance", {
      fromRegion: REGION.central,
      toRegion: REGION.province,
      amount: 10_000_000n,
      referenceDigest: ref,
    });
    await L.allocate("provinceFinance", {
      fromRegion: REGION.province,
      toRegion: REGION.city,
      amount: 10_000_000n,
      referenceDigest: ref,
    });
    await L.allocate("cityFinance", {
      fromRegion: REGION.city,
      toRegion: REGION.county,
      amount: 10_000_000n,
      referenceDigest: ref,
    });
    dibao = (await L.createProgramme("approver", DIBAO)).programmeId;
    await L.fundProgramme("countyFinance", { programmeId: dibao, amount: 9_000_000n, referenceDigest: ref });
    cases = [];
    for (let i = 0; i < 3; i++) {
      const caseId = digest(`fabric-ledger:case:${i}`);
      cases.push(caseId);
      await L.submitCase("caseworker", {
        caseId,
        programmeId: dibao,
        region: REGION.township,
        pseudonym: digest(`p${i}`),
        recordDigest: digest(`r${i}`),
      });
      await L.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("ok") });
    }
    fx.peer.setTime(T0 + 8 * 24 * 3600);
    for (const caseId of cases) {
      await L.approveCase("approver", {
        caseId,
        assessment: { householdSize: 2, incomePerHead: 13_700n, amount: 0n },
        ruleVersion: DIBAO.ruleVersion,
      });
    }
  });

  it("a write is one transaction named as the method, with one JSON argument: sorted keys, bigints as strings", async function () {
    const before = faulty.countyFinance.calls.length;
    await fx.ledger.returnFunds("countyFinance", {
      toRegion: REGION.city,
      fromRegion: REGION.county,
      referenceDigest: digest("ret"),
      amount: 1_000n,
    });
    await fx.ledger.raiseObjection("caseworker", cases[0], digest("objection")).catch(() => undefined);

    expect(faulty.countyFinance.calls.slice(before)).to.deep.equal([
      {
        method: "submit",
        fn: "returnFunds",
        arg: `{"amount":"1000","fromRegion":"110105","referenceDigest":"${digest("ret")}","toRegion":"110100"}`,
      },
    ]);
    expect(faulty.caseworker.calls.at(-1)).to.deep.equal({
      method: "submit",
      fn: "raiseObjection",
      arg: `{"caseId":"${cases[0]}","objectionDigest":"${digest("objection")}"}`,
    });
  });

  it("queries are evaluated, not submitted; replies decode to bigints, numbers and checksummed accounts", async function () {
    const calls = faulty.admin.calls.length;
    const record = (await fx.ledger.caseRecord(cases[0]))!;
    const balance = await fx.ledger.regionBalance(REGION.city);

    expect(faulty.admin.calls.slice(calls).map((c) => [c.method, c.fn, c.arg])).to.deep.equal([
      ["evaluate", "caseRecord", `{"caseId":"${cases[0]}"}`],
      ["evaluate", "regionBalance", `{"region":"110100"}`],
    ]);
    expect(balance).to.equal(1_000n);
    expect(record.region).to.equal(REGION.township);
    expect(record.amount).to.be.a("bigint");
    expect(record.submitter).to.equal(getAddress(fabricAccount(fx.peer.mspId, fx.identities.caseworker.certificate)));
    expect(await fx.ledger.caseRecord(digest("no such case"))).to.equal(null);
  });

  it("accountOf is lib/fabric-identity's account of the actor's certificate; an unknown actor is a config error", function () {
    expect(fx.ledger.accountOf("approver")).to.equal(
      getAddress(fabricAccount(fx.peer.mspId, fx.identities.approver.certificate)),
    );
    expect(() => fx.ledger.accountOf("nobody")).to.throw(LedgerConfigError);
  });

  it("a payout run goes in chunks, one transaction each, outcomes merged in the order listed", async function () {
    const stranger = digest("not a case");
    const listed = [cases[0], stranger, cases[1], cases[2], cases[0]];
    const before = faulty.keeper.calls.length;

    const run = await fx.ledger.executePayouts("keeper", { programmeId: dibao, period, caseIds: listed });

    const sent = faulty.keeper.calls.slice(before).map((c) => JSON.parse(c.arg).caseIds);
    expect(sent).to.deep.equal([listed.slice(0, 2), listed.slice(2, 4), listed.slice(4)]);
    expect(run.outcomes.map((o) => [o.caseId, o.status])).to.deep.equal([
      [cases[0], "paid"],
      [stranger, "skipped"],
      [cases[1], "paid"],
      [cases[2], "paid"],
      [cases[0], "skipped"],
    ]);
    expect(run.outcomes[4]).to.include({ reason: SkipReason.AlreadyPaid });
    expect(run).to.include({ programmeId: dibao, eventId: MONTHLY, period, paid: 3, skipped: 2 });
    expect(run.transactions.map((t) => [t.cases, t.paid, t.skipped])).to.deep.equal([
      [2, 1, 1],
      [2, 2, 0],
      [1, 0, 1],
    ]);
    expect(run.total).to.equal(run.transactions.reduce((s, t) => s + t.total, 0n));
    expect(new Set(run.transactions.map((t) => t.blockNumber)).size).to.equal(3);
  });

  it("for all lists and chunk sizes, a run sends ceil(n/k) transactions and reports every case once, in order", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 9 }),
        fc.integer({ min: 1, max: 4 }),
        async (labels, chunkSize) => {
          const caseIds = labels.map((l) => digest(`unknown:${l}`));
          const run = await fx.ledger.executePayouts("keeper", { programmeId: dibao, period, caseIds, chunkSize });
          expect(run.transactions.length).to.equal(Math.ceil(caseIds.length / chunkSize));
          expect(run.outcomes.map((o) => o.caseId)).to.deep.equal(caseIds);
          expect(run.skipped).to.equal(caseIds.length);
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a settlement batch that fails in its second chunk reports the first as completed; the second changed nothing", async function () {
    const key = (caseId: Bytes32) => ({ caseId, period, eventId: MONTHLY });
    const err = (await rejection(
      fx.ledger.confirmSettlements("paymentAgent", {
        bankRefDigest: digest("bank"),
        keys: [key(cases[0]), key(cases[1]), key(cases[2]), { caseId: cases[0], period: period - 1, eventId: MONTHLY }],
      }),
    )) as LedgerError;

    expect(err).to.be.instanceOf(LedgerError);
    expect(err.code).to.equal("LedgerNotAwaitingSettlement");
    expect(err.completed).to.have.length(1);
    expect((await fx.ledger.payoutStatus(key(cases[1]))).status).to.equal(PayoutStatus.Settled);
    expect((await fx.ledger.payoutStatus(key(cases[2]))).status).to.equal(PayoutStatus.Paid);
  });

  it("an MVCC conflict at commit is endorsed again and committed once", async function () {
    const count = await fx.ledger.caseCount();
    const before = faulty.caseworker.calls.length;
    faulty.caseworker.fail(
      "submit",
      () => new CommitError({ code: 11, transactionId: "1".repeat(64), message: "MVCC" }),
    );

    await fx.ledger.submitCase("caseworker", {
      caseId: digest("retried"),
      programmeId: dibao,
      region: REGION.township,
      pseudonym: digest("retried-p"),
      recordDigest: digest("retried-r"),
    });

    expect(faulty.caseworker.calls.length - before).to.equal(2);
    expect(await fx.ledger.caseCount()).to.equal(count + 1);
  });

  it("writes that race on the same keys: the peer invalidates the later (MVCC), the adapter endorses it again", async function () {
    const before = await fx.ledger.fundTotals();
    const calls = faulty.centralFinance.calls.length;

    await Promise.all(
      [1n, 2n, 3n].map((amount) => fx.ledger.appropriate("centralFinance", amount, digest(`race:${amount}`))),
    );

    expect((await fx.ledger.fundTotals()).appropriated).to.equal(before.appropriated + 6n);
    // At least one of the three simulated against a state another had already changed.
    expect(faulty.centralFinance.calls.length - calls).to.be.greaterThan(3);
  });

  it("an endorsement that reached no peer is retried; once retries run out the chain is unavailable", async function () {
    faulty.approver.fail("submit", unavailable(EndorseError), 2);
    await fx.ledger.suspendCase("approver", { caseId: cases[2], reasonDigest: digest("s") });

    faulty.approver.fail("submit", unavailable(EndorseError), 3);
    const before = faulty.approver.calls.length;
    const err = await rejection(fx.ledger.resumeCase("approver", { caseId: cases[2], reasonDigest: digest("r") }));

    expect(err).to.be.instanceOf(LedgerUnavailableError);
    expect(err).to.include({ reason: "unreachable", operation: "resumeCase" });
    expect(faulty.approver.calls.length - before).to.equal(3); // the first try and two retries
  });

  it("a failure after the transaction went to the orderer is not re-sent: unavailable, with its transaction id", async function () {
    faulty.approver.fail("submit", unavailable(SubmitError, status.DEADLINE_EXCEEDED));
    const before = faulty.approver.calls.length;

    const err = await rejection(fx.ledger.resumeCase("approver", { caseId: cases[2], reasonDigest: digest("r") }));

    expect(err).to.be.instanceOf(LedgerUnavailableError);
    expect(err).to.include({ reason: "timeout", txHash: "f".repeat(64) });
    expect(faulty.approver.calls.length - before).to.equal(1);
  });

  it("a refusal is never retried", async function () {
    const before = faulty.approver.calls.length;
    const err = (await rejection(
      fx.ledger.rejectCase("approver", { caseId: digest("none"), reasonDigest: digest("x") }),
    )) as LedgerError;

    expect(err.code).to.equal("LedgerUnknownCase");
    expect(faulty.approver.calls.length - before).to.equal(1);
  });

  it("events: block numbers from the peer, indexes within each block, timestamps on request", async function () {
    const height = fx.peer.blockHeight();
    const events = await fx.ledger.events(1, undefined, { timestamps: true });

    expect(await fx.ledger.blockNumber()).to.equal(height - 1);
    expect(events.at(-1)!.blockNumber).to.be.at.most(height - 1);
    for (let i = 1; i < events.length; i++) {
      const [a, b] = [events[i - 1], events[i]];
      expect(
        b.blockNumber > a.blockNumber || (b.blockNumber === a.blockNumber && b.logIndex === a.logIndex + 1),
      ).to.equal(true);
      expect(b.timestamp).to.equal(fx.peer.block(b.blockNumber)!.timestamp);
    }
    const run = events.find((e) => e.name === "PayoutRunExecuted")!;
    expect(run.contract).to.equal("ledger");
    expect(events.filter((e) => e.txHash === run.txHash).map((e) => e.logIndex)).to.deep.equal([0, 1, 2]);
  });

  it("an anchor's block number, which the chaincode cannot know, comes from the event stream", async function () {
    const anchored = await fx.ledger.anchor("anchorer", {
      expectedSequence: 0,
      region: REGION.county,
      root: digest("root"),
      recordCount: 3,
      metadataDigest: digest("meta"),
    });
    fx.peer.setTime(T0 + 9 * 24 * 3600);
    await fx.ledger.appropriate("centralFinance", 1n, digest("later block"));
    // A fresh adapter, which did not see the anchor committed.
    const reader = new FabricLedger({ actors: { admin: new PeerTransport(fx.peer, fx.identities.admin) } });

    expect((await reader.anchorAt(0)).blockNumber).to.equal(anchored.blockNumber);
    expect((await fx.ledger.anchorAt(0)).blockNumber).to.equal(anchored.blockNumber);
    const unknown = (await rejection(reader.anchorAt(1))) as LedgerError;
    expect(unknown.code).to.equal("LedgerUnknownAnchor");
  });

  after(async function () {
    await fx?.ledger.close();
  });
});
