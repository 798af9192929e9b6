import { expect } from "chai";
import net from "node:net";
import { EvmLedger, LedgerUnavailableError, type AnchorSubmission } from "../../../gateway/src/ledger";
import { Chain, REGION, deployedLedger, digest, freePort, ledgerFor } from "./anvil";
import type { Deployment } from "../../../lib/deploy";
import { toApiError } from "../../../gateway/src/http/errors";
import { eventually } from "../cases/helpers";

const RPC_TIMEOUT_MS = 1_500;

/** The LedgerUnavailableError a promise rejects with, and how long it took. */
async function unavailable(promise: Promise<unknown>): Promise<{ err: LedgerUnavailableError; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (err) {
    if (err instanceof LedgerUnavailableError) return { err, ms: Date.now() - started };
    throw err;
  }
  throw new Error("expected a LedgerUnavailableError, the call succeeded");
}

const batch = (sequence: number): AnchorSubmission => ({
  expectedSequence: sequence,
  region: REGION.county,
  root: digest(`outage:root:${sequence}`),
  recordCount: 10,
  metadataDigest: digest(`outage:batch:${sequence}`),
});

describe("EvmLedger when the chain is unavailable", function () {
  this.timeout(60_000);
  let chain: Chain;
  let deployment: Deployment;
  let ledger: EvmLedger;

  before(async function () {
    ({ chain, deployment, ledger } = await deployedLedger({ rpcTimeoutMs: RPC_TIMEOUT_MS, receiptTimeoutMs: 2_000 }));
  });

  after(async function () {
    await ledger?.close();
    await chain?.dispose();
  });

  it("anvil stopped: reads and writes fail with LedgerUnavailableError at once; restarted: state kept, calls succeed", async function () {
    const first = await ledger.anchor("anchorer", batch(0));
    await chain.stop(); // SIGTERM: anvil writes its state file

    const read = await unavailable(ledger.anchorCount());
    const write = await unavailable(ledger.anchor("anchorer", batch(1)));

    expect(read.err.reason).to.equal("unreachable");
    expect(toApiError(write.err).message).to.equal("the chain is unreachable; nothing was changed on it; retry later");
    expect(read.err.operation).to.equal("anchorCount");
    expect(read.ms).to.be.lessThan(RPC_TIMEOUT_MS);
    expect(write.err).to.include({ reason: "unreachable", operation: "anchor", actor: "anchorer" });
    expect(write.ms).to.be.lessThan(RPC_TIMEOUT_MS);

    await chain.restart();

    expect(await ledger.anchorCount()).to.equal(1);
    expect((await ledger.anchorAt(0)).root).to.equal(batch(0).root);
    const second = await ledger.anchor("anchorer", batch(1));
    expect(second).to.include({ sequence: 1, firstRecordIndex: 10 });
    const anchored = (await ledger.events(0)).filter((e) => e.name === "RecordsAnchored");
    expect(anchored.map((e) => e.txHash)).to.deep.equal([first.txHash, second.txHash]);
  });

  it("a node that accepts connections but never answers: LedgerUnavailableError(timeout) within the deadline", async function () {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
    const mute = new EvmLedger({
      rpcUrl: `http://127.0.0.1:${port}`,
      chainId: ledger.chainId,
      addresses: ledger.addresses,
      rpcTimeoutMs: 500,
    });
    try {
      const { err, ms } = await unavailable(mute.anchorCount());

      expect(err.reason).to.equal("timeout");
      expect(ms).to.be.within(450, 1_500);
    } finally {
      await mute.close();
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a transaction not mined in time: LedgerUnavailableError(timeout) with its hash; the anchor lands once when mined", async function () {
    const next = await ledger.anchorCount();
    await chain.rpc("evm_setAutomine", [false]);
    let err: LedgerUnavailableError;
    try {
      ({ err } = await unavailable(ledger.anchor("anchorer", batch(next))));
    } finally {
      await chain.rpc("evm_setAutomine", [true]);
    }
    expect(err.reason).to.equal("timeout");
    expect(err.txHash).to.match(/^0x[0-9a-f]{64}$/);
    // The API does not tell the caller that nothing changed: the transaction may still be mined.
    const api = toApiError(err);
    expect(api).to.include({ code: "CHAIN_UNAVAILABLE", status: 503, retryAfter: 5 });
    expect(api.message).to.include(err.txHash!).and.include("may still take effect");
    // A chunked call that stopped after some of its transactions were mined says so, naming the last of them.
    const partly = new LedgerUnavailableError("timeout", "no answer", {
      operation: "payoutRun",
      completed: [{ txHash: err.txHash!, blockNumber: 1 }],
    });
    expect(toApiError(partly).message)
      .to.include("after 1 transaction(s) of this call were mined")
      .and.include(err.txHash!);

    await chain.rpc("evm_mine");
    const receipt = await chain.rpc<{ status: string }>("eth_getTransactionReceipt", [err.txHash]);
    expect(receipt.status).to.equal("0x1");
    // The worker's retry with the same expected sequence is refused: the batch is not anchored twice.
    const retry = ledger.anchor("anchorer", batch(next));
    await retry.then(
      () => expect.fail("the retry anchored the batch twice"),
      (e: { code?: string }) => expect(e.code).to.equal("LedgerAnchorOutOfSequence"),
    );
    // The actor's next write gets the next nonce.
    expect(await ledger.anchor("anchorer", batch(next + 1))).to.include({ sequence: next + 1 });
  });

  it("a node that stalls while a write waits for its block: unanswered polls are not a failure; the write is confirmed once the node answers", async function () {
    const next = await ledger.anchorCount();
    // Polls time out after 300 ms; the receipt may take 20 s (the stall below is 2 s).
    const patient = ledgerFor(chain, deployment, { rpcTimeoutMs: 300, receiptTimeoutMs: 20_000 });
    await patient.connect();
    const node = chain.node.process;
    await chain.rpc("evm_setAutomine", [false]);
    try {
      const write = patient.anchor("anchorer", batch(next));
      await eventually(
        async () => Number(await chain.rpc<string>("eth_getBlockTransactionCountByNumber", ["pending"])) > 0,
        5_000,
        "the write in anvil's pool",
      );
      node.kill("SIGSTOP");
      try {
        await new Promise((r) => setTimeout(r, 2_000)); // several polls go unanswered
      } finally {
        node.kill("SIGCONT");
      }
      await chain.rpc("evm_mine");
      expect(await write).to.include({ sequence: next });
    } finally {
      await chain.rpc("evm_setAutomine", [true]);
      await patient.close();
    }
    expect(await ledger.anchorCount()).to.equal(next + 1);
  });
});
