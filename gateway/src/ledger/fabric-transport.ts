/**
 * What the Fabric adapter needs from a Fabric network, and nothing more: one {@link FabricTransport} per actor
 * identity. `FabricLedger` (fabric.ts) maps the `Ledger` interface onto it; the production transport
 * (fabric-grpc.ts) speaks to a peer's Gateway service with `@hyperledger/fabric-gateway`, and the tests use one
 * over the in-memory peer with the real chaincode.
 *
 * A transport reports failures as they come (fabric-gateway's EndorseError / SubmitError / CommitStatusError /
 * CommitError, gRPC status errors, or an Error carrying the chaincode's message); `fabric-errors.ts` classifies them.
 */

/** A transaction committed in a block and valid. */
export interface FabricCommitted {
  /** The chaincode's reply. */
  result: Uint8Array;
  txId: string;
  blockNumber: number;
}

/** One committed chaincode event (Fabric keeps one per transaction). */
export interface FabricChaincodeEvent {
  blockNumber: number;
  txId: string;
  eventName: string;
  payload: Uint8Array;
}

export interface FabricTransport {
  /** The chain account of this identity (`lib/fabric-identity.ts`: MSP ID and certificate key). */
  readonly account: string;
  /** Endorses, submits and waits for the commit of `fn(arg)`; rejects unless the transaction is valid. */
  submit(fn: string, arg: string): Promise<FabricCommitted>;
  /** Evaluates `fn(arg)` on a peer without ordering it. */
  evaluate(fn: string, arg: string): Promise<Uint8Array>;
  /** The committed chaincode events of blocks `fromBlock..toBlock`, in chain order. */
  events(fromBlock: number, toBlock: number): Promise<FabricChaincodeEvent[]>;
  /** The channel's block height (the latest block number plus one). */
  blockHeight(): Promise<number>;
  /** The timestamp (seconds) of a committed transaction, for events asked with timestamps. */
  txTimestamp?(txId: string): Promise<number>;
  close(): Promise<void>;
}
