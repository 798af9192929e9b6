/**
 * A {@link FabricTransport} over the in-memory peer (test/chaincode/peer/): the real chaincode, dispatched by
 * fabric-shim, behind the same interface the production gRPC transport implements, so `FabricLedger` runs end to
 * end in tests. A chaincode refusal comes back as the peer's `PeerTransactionError`, whose message the adapter
 * classifies like a live peer's; an invalidated commit as fabric-gateway's `CommitError`, as the gRPC transport
 * reports it.
 */
import { CommitError } from "@hyperledger/fabric-gateway";
import type { FabricChaincodeEvent, FabricCommitted, FabricTransport } from "../../gateway/src/ledger/fabric-transport";
import { PeerTransactionError, type InMemoryPeer, type PeerIdentity } from "../chaincode/peer";

/** Validation codes (peer/transaction.proto) of the peer's invalidated commits. */
const VALIDATION_CODES = { MVCC_READ_CONFLICT: 11, PHANTOM_READ_CONFLICT: 12 } as const;

export class PeerTransport implements FabricTransport {
  readonly account: string;

  constructor(
    private readonly peer: InMemoryPeer,
    readonly identity: PeerIdentity,
  ) {
    this.account = identity.account;
  }

  async submit(fn: string, arg: string): Promise<FabricCommitted> {
    try {
      const r = await this.peer.submit(this.identity, fn, [arg]);
      return { result: r.payload, txId: r.txId, blockNumber: r.blockNumber };
    } catch (err) {
      if (err instanceof PeerTransactionError && err.code !== "ENDORSEMENT_FAILURE") {
        throw new CommitError({ code: VALIDATION_CODES[err.code], transactionId: err.txId, message: err.message });
      }
      throw err;
    }
  }

  async evaluate(fn: string, arg: string): Promise<Uint8Array> {
    return this.peer.evaluate(this.identity, fn, [arg]);
  }

  async events(fromBlock: number, toBlock: number): Promise<FabricChaincodeEvent[]> {
    return this.peer.chaincodeEvents(fromBlock, toBlock).map((e) => ({
      blockNumber: e.blockNumber,
      txId: e.txId,
      eventName: e.eventName,
      payload: e.payload,
    }));
  }

  async blockHeight(): Promise<number> {
    return this.peer.blockHeight();
  }

  async txTimestamp(txId: string): Promise<number> {
    for (let n = this.peer.blockHeight() - 1; n >= 0; n--) {
      const block = this.peer.block(n);
      if (block?.transactions.some((t) => t.txId === txId)) return block.timestamp;
    }
    throw new Error(`no transaction ${txId}`);
  }

  async close(): Promise<void> {}
}
