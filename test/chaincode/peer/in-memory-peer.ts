/**
 * A one-peer Fabric network in memory, for tests: the chaincode is dispatched by fabric-shim's own
 * `ChaincodeFromContract` through its real `ChaincodeStub` (with its real iterators and `ClientIdentity`), over a
 * {@link Simulation} that plays the peer's side of the chaincode stream.
 *
 * What it does as a peer does: validates the creator against its MSP's CA and the proposal's low-S signature;
 * simulates each transaction against the committed state (no read-your-own-writes); discards the writes of a
 * transaction the chaincode fails (which never reaches a block); commits each submitted transaction in its own
 * block after MVCC validation of its read set and ranges (a transaction whose reads went stale meanwhile is in the
 * block but invalid, with no writes and no events, as `MVCC_READ_CONFLICT` or `PHANTOM_READ_CONFLICT`); keeps the
 * transaction's one chaincode event and the history of every key.
 *
 * What it does not do: endorsement policies over several organisations' peers, ordering, gossip, private data,
 * rich (CouchDB) queries, state-based endorsement, chaincode-to-chaincode calls. Block 0 stands for the channel's
 * genesis block; the first transaction lands in block 1.
 */
import { createPublicKey, verify } from "node:crypto";
import { X509Certificate } from "node:crypto";
import { ReliefContract } from "../../../chaincode/src/contract";
import { isLowS, Msps, type PeerIdentity } from "./identities";
import {
  buildProposal,
  ChaincodeFromContract,
  ChaincodeStub,
  JSONSerializer,
  protos,
  type ShimResponse,
} from "./protos";
import { Simulation } from "./simulation";
import { WorldState, type KeyModification } from "./world-state";

export type { PeerIdentity } from "./identities";
export type { KeyModification } from "./world-state";

export const DEFAULT_MSP = "Org1MSP";
export const CHANNEL = "relief";
export const CHAINCODE = "relief";

export interface ChaincodeEvent {
  blockNumber: number;
  txId: string;
  /** The transaction's timestamp (seconds). */
  timestamp: number;
  chaincodeName: string;
  eventName: string;
  payload: Buffer;
}

export type ValidationCode = "VALID" | "MVCC_READ_CONFLICT" | "PHANTOM_READ_CONFLICT";

/** A transaction the peer did not accept: the chaincode's error (endorsement failed) or an invalid commit. */
export class PeerTransactionError extends Error {
  constructor(
    message: string,
    readonly txId: string,
    /** `ENDORSEMENT_FAILURE` (chaincode error or bad proposal) or the commit's validation code. */
    readonly code: "ENDORSEMENT_FAILURE" | Exclude<ValidationCode, "VALID">,
    readonly status?: number,
    readonly blockNumber?: number,
  ) {
    super(message);
    this.name = "PeerTransactionError";
  }
}

export interface SubmitResult {
  payload: Buffer;
  txId: string;
  blockNumber: number;
  events: ChaincodeEvent[];
}

export interface Block {
  number: number;
  timestamp: number;
  transactions: { txId: string; validation: ValidationCode; events: ChaincodeEvent[] }[];
}

export interface PeerOptions {
  mspId?: string;
  /** The first transactions' timestamp (seconds); default: now. */
  now?: number;
  /** Contract classes to run instead of the relief chaincode (for tests of the peer itself). */
  contracts?: unknown[];
}

export class InMemoryPeer {
  private readonly state = new WorldState();
  private readonly blocks: Block[] = [{ number: 0, timestamp: 0, transactions: [] }];
  private readonly msps = new Msps();
  private time: number;

  private constructor(
    private readonly chaincode: InstanceType<typeof ChaincodeFromContract>,
    readonly mspId: string,
    now: number,
  ) {
    this.time = now;
  }

  static async start(options: PeerOptions = {}): Promise<InMemoryPeer> {
    const serializers = { transaction: "jsonSerializer", serializers: { jsonSerializer: JSONSerializer } };
    const contracts = [...(options.contracts ?? [ReliefContract])];
    const chaincode = new ChaincodeFromContract(contracts, serializers, {}, CHAINCODE, "0.1.0");
    const peer = new InMemoryPeer(
      chaincode,
      options.mspId ?? DEFAULT_MSP,
      options.now ?? Math.floor(Date.now() / 1000),
    );
    return peer;
  }

  /** A real X.509 certificate issued by `mspId`'s CA with Fabric's attribute extension, and its key. */
  identity(
    name: string,
    attrs: { role: string; region: string } | Record<string, string>,
    mspId = this.mspId,
  ): Promise<PeerIdentity> {
    return this.msps.issue(name, attrs, mspId);
  }

  /** Endorses and commits one transaction in its own block. */
  async submit(id: PeerIdentity, fn: string, args: string[]): Promise<SubmitResult> {
    const seconds = this.time;
    const { txId, simulation, response, event } = await this.simulate(id, fn, args, seconds);
    // MVCC validation happens at commit against the state as it is then (another transaction may have committed
    // while this one was simulated).
    const validation = simulation.validate();
    const number = this.blocks.length;
    const events: ChaincodeEvent[] = [];
    if (validation === "VALID") {
      this.state.apply(simulation.writes, { blockNumber: number, txNumber: 0 }, txId, seconds);
      if (event) {
        events.push({ blockNumber: number, txId, timestamp: seconds, chaincodeName: CHAINCODE, ...event });
      }
    }
    this.blocks.push({ number, timestamp: seconds, transactions: [{ txId, validation, events }] });
    if (validation !== "VALID") {
      throw new PeerTransactionError(
        `transaction ${txId} invalidated: ${validation}`,
        txId,
        validation,
        undefined,
        number,
      );
    }
    return { payload: Buffer.from(response.payload ?? []), txId, blockNumber: number, events };
  }

  /** Evaluates only: the chaincode's reply, nothing committed. */
  async evaluate(id: PeerIdentity, fn: string, args: string[]): Promise<Buffer> {
    const { response } = await this.simulate(id, fn, args, this.time);
    return Buffer.from(response.payload ?? []);
  }

  /** Committed chaincode events of blocks `fromBlock..toBlock` (default: the latest), in order. */
  chaincodeEvents(fromBlock: number, toBlock = this.blocks.length - 1): ChaincodeEvent[] {
    return this.blocks
      .slice(Math.max(0, fromBlock), Math.max(0, toBlock + 1))
      .flatMap((b) => b.transactions.flatMap((t) => t.events));
  }

  /** The number of blocks (the latest block is `blockHeight() - 1`). */
  blockHeight(): number {
    return this.blocks.length;
  }

  block(number: number): Block | undefined {
    return this.blocks[number];
  }

  /** The timestamp (seconds) of the next transactions. */
  setTime(seconds: number): void {
    this.time = seconds;
  }

  now(): number {
    return this.time;
  }

  /** The committed modifications of a world-state key, newest first. */
  historyOf(key: string): KeyModification[] {
    return this.state.historyOf(key);
  }

  /** Every committed key, in UTF-8 order (composite keys first, as their U+0000 prefix sorts first). */
  committedKeys(): string[] {
    return this.state.range("", "").map((r) => r.key);
  }

  /** A committed value (for tests of the peer; the chaincode is the way to read the ledger). */
  committed(key: string): Buffer | undefined {
    return this.state.get(key)?.value;
  }

  private async simulate(id: PeerIdentity, fn: string, args: string[], seconds: number) {
    const proposal = buildProposal(id, CHANNEL, CHAINCODE, fn, args, seconds);
    await this.checkCreator(
      id,
      proposal.signed.getProposalBytes_asU8(),
      proposal.signed.getSignature_asU8(),
      proposal.txId,
    );
    const simulation = new Simulation(this.state, proposal.txId);
    const stub = new ChaincodeStub(simulation, CHANNEL, proposal.txId, proposal.input, proposal.signed) as {
      chaincodeEvent?: InstanceType<typeof protos.peer.ChaincodeEvent>;
    };
    const response: ShimResponse = await this.chaincode.Invoke(stub);
    if (response.status >= 400) {
      throw new PeerTransactionError(response.message ?? "", proposal.txId, "ENDORSEMENT_FAILURE", response.status);
    }
    const ev = stub.chaincodeEvent;
    const event = ev ? { eventName: ev.getEventName(), payload: Buffer.from(ev.getPayload_asU8()) } : undefined;
    return { txId: proposal.txId, simulation, response, event };
  }

  /** The peer's checks of a proposal: a creator its MSP issued, and a valid low-S signature by that creator. */
  private async checkCreator(id: PeerIdentity, bytes: Uint8Array, signature: Uint8Array, txId: string): Promise<void> {
    const refuse = (why: string) => new PeerTransactionError(why, txId, "ENDORSEMENT_FAILURE");
    if (!(await this.msps.validates(id.mspId, id.certificate)))
      throw refuse(`access denied: creator not valid for MSP ${id.mspId}`);
    const key = createPublicKey(new X509Certificate(id.certificate).publicKey.export({ type: "spki", format: "pem" }));
    if (!isLowS(signature) || !verify("sha256", bytes, key, signature))
      throw refuse("access denied: invalid proposal signature");
  }
}
