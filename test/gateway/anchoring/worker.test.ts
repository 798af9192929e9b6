import { expect } from "chai";
import fc from "fast-check";
import fs from "node:fs";
import path from "node:path";
import {
  AnchoringWorker,
  type AnchorChain,
  PROOF_FORMAT,
  ProofError,
  proofOf,
  verifyProof,
  verifyProofOnChain,
} from "../../../gateway/src/anchoring";
import { type EvmLedger, type Ledger, LedgerError } from "../../../gateway/src/ledger";
import type { Store } from "../../../gateway/src/store";
import { Chain, deployedLedger } from "../ledger/anvil";
import { type StoreHarness, TestClock, enqueueRecords, sleep, sqliteHarness } from "../store/harness";
import { SimulatedCrash, backends, expectAnchoredOnce, faultyLedger } from "./helpers";

const CHAOYANG = 110105;
const HAIDIAN = 110108;
const BACKOFF = { initialMs: 1_000, maxMs: 8_000 };

describe("anchoring: AnchoringWorker and proofs against anvil", function () {
  this.timeout(120_000);
  let chain: Chain;
  let ledger: EvmLedger;
  let anchors: AnchorChain;

  before(async function () {
    const deployed = await deployedLedger({ rpcTimeoutMs: 1_500, receiptTimeoutMs: 3_000 });
    ({ chain, ledger } = deployed);
    anchors = { chainId: deployed.deployment.chainId, contract: deployed.deployment.addresses.anchors };
  });

  after(async function () {
    await ledger?.close();
    await chain?.dispose();
  });

  const { available, skipped } = backends();
  for (const name of skipped) {
    describe(`on ${name}`, function () {
      it.skip(`DATABASE_URL is not set: the anchoring suite did not run on ${name}`, function () {});
    });
  }

  for (const backend of available) {
    describe(`on ${backend.name}`, function () {
      let harness: StoreHarness;
      let clock: TestClock;
      let store: Store;

      beforeEach(async function () {
        harness = backend.harness();
        clock = new TestClock();
        store = await harness.open({ now: clock.now });
      });

      afterEach(async function () {
        await harness.destroy();
      });

      function worker(over: { ledger?: Ledger; batchSize?: number } = {}): AnchoringWorker {
        return new AnchoringWorker({
          store,
          ledger: over.ledger ?? ledger,
          actor: "anchorer",
          batchSize: over.batchSize,
          intervalMs: 50,
          backoff: BACKOFF,
          clock: clock.now,
        });
      }

      it("runOnce: 25 queued records of one region → one anchor of 25 leaves in queue order; every proof verifies offline and on chain", async function () {
        const ids = await enqueueRecords(store, CHAOYANG, 25);
        const before = await ledger.anchorCount();

        const round = await worker().runOnce();

        expect(round.unavailable).to.equal(undefined);
        expect(round.anchors).to.have.length(1);
        expect(round.anchors[0]).to.include({ sequence: before, regionCode: CHAOYANG, recordCount: 25 });
        expect(await ledger.anchorCount()).to.equal(before + 1);
        expect((await store.listAnchorLeaves(before)).map((e) => e.recordId)).to.deep.equal(ids);
        await expectAnchoredOnce(store, ledger, anchors, ids, before);
        const proof = await proofOf(store, ids[7], anchors);
        expect(proof).to.include({
          format: PROOF_FORMAT,
          recordId: ids[7],
          leafIndex: 7,
          treeSize: 25,
          anchorSequence: before,
          txHash: round.anchors[0].txHash,
          blockNumber: round.anchors[0].blockNumber,
          chainId: String(anchors.chainId),
        });
        expect(proof.contract.toLowerCase()).to.equal(anchors.contract.toLowerCase());
      });

      it("runOnce: records of two regions, interleaved → two anchors, one per region; an empty queue anchors nothing", async function () {
        const a1 = await enqueueRecords(store, CHAOYANG, 3);
        const b = await enqueueRecords(store, HAIDIAN, 4);
        const a2 = await enqueueRecords(store, CHAOYANG, 2);
        const before = await ledger.anchorCount();

        const round = await worker().runOnce();

        expect(round.anchors.map((a) => [a.regionCode, a.recordCount])).to.deep.equal([
          [CHAOYANG, 5],
          [HAIDIAN, 4],
        ]);
        expect(round.anchoredRecords).to.equal(9);
        expect((await ledger.anchorAt(before)).region).to.equal(BigInt(CHAOYANG));
        expect((await ledger.anchorAt(before + 1)).region).to.equal(BigInt(HAIDIAN));
        await expectAnchoredOnce(store, ledger, anchors, [...a1, ...a2, ...b], before);
        expect((await worker().runOnce()).anchors).to.deep.equal([]);
        expect(await ledger.anchorCount()).to.equal(before + 2);
      });

      it("runOnce with batchSize 10: 25 records → anchors of 10, 10 and 5", async function () {
        const ids = await enqueueRecords(store, CHAOYANG, 25);
        const before = await ledger.anchorCount();

        const round = await worker({ batchSize: 10 }).runOnce();

        expect(round.anchors.map((a) => a.recordCount)).to.deep.equal([10, 10, 5]);
        await expectAnchoredOnce(store, ledger, anchors, ids, before, 3);
      });

      it("runOnce with batchSize 12,000 and 12,001 records → one anchor of 12,000 (claimed past the store's 10,000 per claim), then one of 1", async function () {
        // On PostgreSQL, 12,001 enqueue transactions and beginAnchor's one UPDATE per leaf take about 100 s.
        if (backend.name !== "SQLite") {
          // 12,001 single-row inserts and leaf updates take ~108 s on PostgreSQL (7–9 s on SQLite); the
          // claim-past-10,000 logic under test is the same SQL on both.
          console.warn("      (skipped on PostgreSQL: too slow until the store writes rows in bulk)");
          this.skip();
        }
        const ids = await enqueueRecords(store, HAIDIAN, 12_001);
        const before = await ledger.anchorCount();

        const round = await worker({ batchSize: 12_000 }).runOnce();

        expect(round.anchors.map((a) => a.recordCount)).to.deep.equal([12_000, 1]);
        expect((await store.listAnchorLeaves(before)).map((e) => e.recordId)).to.deep.equal(ids.slice(0, 12_000));
        for (const id of [ids[0], ids[9_999], ids[10_000], ids[11_999], ids[12_000]]) {
          const proof = await proofOf(store, id, anchors);
          expect(verifyProof(proof)).to.equal(true);
          expect(await verifyProofOnChain(ledger, proof)).to.equal(true);
        }
      });

      it("runOnce while anvil is stopped: fails softly, entries stay pending with backoff; restarted → due at once, anchored exactly once", async function () {
        const ids = await enqueueRecords(store, CHAOYANG, 6);
        const before = await ledger.anchorCount();
        const w = worker();
        await chain.stop();
        try {
          const round = await w.runOnce();
          expect(round.unavailable?.name).to.equal("LedgerUnavailableError");
          expect(round.anchors).to.deep.equal([]);
          expect(w.failures).to.equal(1);
          expect(round.retryAt!.getTime()).to.be.at.least(clock.now().getTime() + BACKOFF.initialMs - 50);
          for (const id of ids) {
            const entry = (await store.getAnchoringStatus(id))!;
            expect(entry).to.include({ status: "pending", anchorSequence: null });
            expect(entry.nextAttemptAt.getTime()).to.be.greaterThan(clock.now().getTime() + BACKOFF.initialMs / 2);
          }
          expect(await store.listAnchors()).to.deep.equal([]);
        } finally {
          await chain.restart();
        }
        // The chain answers again: the deferred entries are due at once, not after their backoff.
        const round = await w.runOnce();

        expect(round.anchors).to.have.length(1);
        expect(w.failures).to.equal(0);
        expect(await ledger.anchorCount()).to.equal(before + 1);
        await expectAnchoredOnce(store, ledger, anchors, ids, before);
      });

      it("crash after the transaction was mined, before confirm: reconcile confirms from the chain without re-sending", async function () {
        const ids = await enqueueRecords(store, CHAOYANG, 5);
        const before = await ledger.anchorCount();
        const { ledger: faulty, faults } = faultyLedger(ledger);
        faults.afterSend = true;

        let crash: unknown;
        await worker({ ledger: faulty })
          .runOnce()
          .catch((e: unknown) => (crash = e));

        expect(crash).to.be.instanceOf(SimulatedCrash);
        expect(await ledger.anchorCount()).to.equal(before + 1);
        expect((await store.getAnchor(before))!.status).to.equal("submitted");
        const restarted = worker({ ledger: faulty });
        const outcome = await restarted.reconcile();

        expect(outcome).to.deep.include({ confirmed: [before], resent: [], abandoned: [], lost: [] });
        expect(faults.sends).to.equal(1);
        expect(await ledger.anchorCount()).to.equal(before + 1);
        const events = await ledger.events((await ledger.anchorAt(before)).blockNumber);
        const anchored = events.find((e) => e.name === "RecordsAnchored")!;
        expect((await store.getAnchor(before))!.txHash).to.equal(anchored.txHash);
        expect((await restarted.runOnce()).anchors).to.deep.equal([]);
        await expectAnchoredOnce(store, ledger, anchors, ids, before);
      });

      it("crash after beginAnchor, before sending: reconcile re-sends it once; a second reconcile does nothing", async function () {
        const ids = await enqueueRecords(store, HAIDIAN, 4);
        const before = await ledger.anchorCount();
        const { ledger: faulty, faults } = faultyLedger(ledger);
        faults.beforeSend = true;

        await worker({ ledger: faulty })
          .runOnce()
          .then(
            () => expect.fail("expected the simulated crash"),
            (e: unknown) => expect(e).to.be.instanceOf(SimulatedCrash),
          );
        expect(await ledger.anchorCount()).to.equal(before);
        const restarted = worker({ ledger: faulty });

        expect(await restarted.reconcile()).to.deep.include({ confirmed: [], resent: [before], abandoned: [] });
        expect(await restarted.reconcile()).to.deep.include({ confirmed: [], resent: [], abandoned: [], lost: [] });

        expect(faults.sends).to.equal(1);
        expect(await ledger.anchorCount()).to.equal(before + 1);
        await expectAnchoredOnce(store, ledger, anchors, ids, before);
      });

      it("chain lost an anchor (anvil restored from a state saved before it): reconcile re-queues, runOnce re-anchors once", async function () {
        const saved = path.join(chain.dir, "before-anchor.json");
        await chain.restart(); // a graceful stop writes the state file
        fs.copyFileSync(chain.stateFile, saved);
        const before = await ledger.anchorCount();
        const ids = await enqueueRecords(store, CHAOYANG, 7);
        const w = worker();
        expect((await w.runOnce()).anchors).to.have.length(1);
        const later = await enqueueRecords(store, CHAOYANG, 2);
        await chain.stop();
        fs.copyFileSync(saved, chain.stateFile);
        await chain.restart();
        expect(await ledger.anchorCount()).to.equal(before);

        const outcome = await worker().reconcile();

        expect(outcome).to.deep.include({ lost: [before], requeued: 7 });
        expect(await store.getAnchor(before)).to.equal(undefined);
        expect((await store.listAudit({ action: "anchor.lost" })).map((a) => a.target)).to.deep.equal([
          `anchor:${before}`,
        ]);
        // EvmLedger counts nonces from where it was until a receipt times out (a node restored from an older state
        // drops the transaction into its future queue): that round fails softly and the next one re-sends the anchor.
        const w2 = worker();
        let round = await w2.runOnce();
        if (round.unavailable !== undefined) {
          expect(round.unavailable.reason).to.equal("timeout");
          expect((await store.getAnchor(before))!.status).to.equal("submitted");
          round = await w2.runOnce();
        }
        expect(round.unavailable).to.equal(undefined);
        expect(round.anchors.map((a) => a.recordCount)).to.deep.equal([9]);
        expect(await ledger.anchorCount()).to.equal(before + 1);
        await expectAnchoredOnce(store, ledger, anchors, [...ids, ...later], before, 3);
      });

      it("runOnce as an actor that is not an Anchorer: the ledger refuses, the anchor is abandoned and its entries wait with backoff", async function () {
        const ids = await enqueueRecords(store, CHAOYANG, 2);
        const before = await ledger.anchorCount();
        const w = new AnchoringWorker({ store, ledger, actor: "caseworker", backoff: BACKOFF, clock: clock.now });

        const error = await w.runOnce().then(
          () => expect.fail("expected the ledger to refuse"),
          (e: unknown) => e as LedgerError,
        );

        expect(error).to.be.instanceOf(LedgerError);
        expect(error.code).to.equal("LedgerUnauthorizedRole");
        expect(await ledger.anchorCount()).to.equal(before);
        expect(await store.listAnchors()).to.deep.equal([]);
        for (const id of ids) {
          const entry = (await store.getAnchoringStatus(id))!;
          expect(entry).to.include({ status: "pending", anchorSequence: null });
          expect(entry.nextAttemptAt.getTime()).to.be.greaterThan(clock.now().getTime());
        }
        clock.offsetMs += BACKOFF.initialMs;
        expect((await worker().runOnce()).anchoredRecords).to.equal(2);
        await expectAnchoredOnce(store, ledger, anchors, ids, before);
      });

      it("start/stop: the loop anchors what is queued; stop waits for the round and the loop stays stopped", async function () {
        const errors: unknown[] = [];
        const w = new AnchoringWorker({
          store,
          ledger,
          actor: "anchorer",
          intervalMs: 30,
          backoff: BACKOFF,
          clock: clock.now,
          onError: (e) => errors.push(e),
        });
        const before = await ledger.anchorCount();
        w.start();
        const ids = await enqueueRecords(store, CHAOYANG, 3);
        const deadline = Date.now() + 10_000;
        while ((await store.getAnchoringStatus(ids[2]))!.status !== "anchored" && Date.now() < deadline) {
          await sleep(30);
        }
        await w.stop();
        const count = await ledger.anchorCount();
        await enqueueRecords(store, CHAOYANG, 1);
        await sleep(100);

        expect(errors).to.deep.equal([]);
        expect(await ledger.anchorCount()).to.equal(count);
        await expectAnchoredOnce(store, ledger, anchors, ids, before);
      });

      it("proofOf: a queued record not yet anchored is NOT_ANCHORED, an unknown one NOT_QUEUED; a tampered proof fails", async function () {
        const [id] = await enqueueRecords(store, CHAOYANG, 1);
        const code = (p: Promise<unknown>) =>
          p.then(
            () => "resolved",
            (e: ProofError) => e.code,
          );
        expect(await code(proofOf(store, id, anchors))).to.equal("NOT_ANCHORED");
        expect(await code(proofOf(store, "no-such-record", anchors))).to.equal("NOT_QUEUED");
        const more = await enqueueRecords(store, CHAOYANG, 2);
        await worker().runOnce();
        const proof = await proofOf(store, more[1], anchors);

        expect(verifyProof(proof)).to.equal(true);
        expect(verifyProof({ ...proof, leafIndex: 0 })).to.equal(false);
        expect(verifyProof({ ...proof, recordDigest: (await proofOf(store, id, anchors)).recordDigest })).to.equal(
          false,
        );
        expect(verifyProof({ ...proof, siblings: [] })).to.equal(false);
        expect(verifyProof({ ...proof, root: "0x1234" })).to.equal(false);
        expect(await verifyProofOnChain(ledger, { ...proof, anchorSequence: proof.anchorSequence + 99 })).to.equal(
          false,
        );
        expect(await verifyProofOnChain(ledger, proof)).to.equal(true);
      });
    });
  }

  describe("property (SQLite)", function () {
    type Op =
      | { kind: "enqueue"; region: number; count: number }
      | { kind: "run" }
      | { kind: "crashBeforeSend" }
      | { kind: "crashAfterSend" }
      | { kind: "outage" };

    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant("enqueue" as const),
        region: fc.constantFrom(CHAOYANG, HAIDIAN),
        count: fc.integer({ min: 1, max: 5 }),
      }),
      fc.constant({ kind: "run" as const }),
      fc.constant({ kind: "crashBeforeSend" as const }),
      fc.constant({ kind: "crashAfterSend" as const }),
      fc.constant({ kind: "outage" as const }),
    );

    it("random interleavings of enqueue, runOnce, crashes and outages: every record ends anchored exactly once with a valid proof", async function () {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
          const harness = sqliteHarness();
          try {
            const clock = new TestClock();
            const store = await harness.open({ now: clock.now });
            const { ledger: faulty, faults } = faultyLedger(ledger);
            const make = () =>
              new AnchoringWorker({
                store,
                ledger: faulty,
                actor: "anchorer",
                batchSize: 4,
                intervalMs: 50,
                backoff: BACKOFF,
                clock: clock.now,
              });
            let w = make();
            const before = await ledger.anchorCount();
            const ids: string[] = [];
            for (const o of ops) {
              if (o.kind === "enqueue") ids.push(...(await enqueueRecords(store, o.region, o.count)));
              else if (o.kind === "run") await w.runOnce();
              else if (o.kind === "outage") {
                faults.down = true;
                const round = await w.runOnce();
                faults.down = false;
                expect(round.anchors).to.deep.equal([]);
                clock.offsetMs += BACKOFF.maxMs;
              } else {
                if (o.kind === "crashBeforeSend") faults.beforeSend = true;
                else faults.afterSend = true;
                await w.runOnce().catch((e: unknown) => {
                  if (!(e instanceof SimulatedCrash)) throw e;
                });
                faults.beforeSend = false;
                faults.afterSend = false;
                w = make(); // the process restarts
                await w.reconcile();
              }
            }
            w = make();
            await w.reconcile();
            clock.offsetMs += BACKOFF.maxMs;
            const round = await w.runOnce();
            expect(round.unavailable).to.equal(undefined);
            await expectAnchoredOnce(store, ledger, anchors, ids, before, 2);
          } finally {
            await harness.destroy();
          }
        }),
        { numRuns: 20 },
      );
    });
  });
});
