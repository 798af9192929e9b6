/**
 * The production {@link FabricTransport}: `@hyperledger/fabric-gateway` over one `@grpc/grpc-js` client to a
 * peer's Gateway service, one signing identity per institution.
 *
 * - Every call has a deadline: evaluate, endorse, submit and commit status each their own (gRPC deadlines, so a
 *   silent peer fails with DEADLINE_EXCEEDED and the adapter reports the chain unavailable).
 * - A submitted transaction's commit status is awaited and checked: a validation code other than VALID is a
 *   `CommitError` (an MVCC conflict is retried by the adapter, anything else refused).
 * - Events come from `getChaincodeEvents` with a checkpointer: a read that loses its stream resumes after the last
 *   event it had, without gaps or duplicates. A read ends at the first event beyond the last block asked for, or
 *   when the stream has been quiet for `eventsIdleMs` (the peer sends past events at once; only blocks without
 *   chaincode events leave it quiet).
 * - The block height and transaction timestamps come from the peer's query system chaincode (qscc).
 */
import crypto from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  CommitError,
  checkpointers,
  connect,
  hash,
  signers,
  type ChaincodeEvent,
  type Contract,
  type Gateway,
  type Network,
} from "@hyperledger/fabric-gateway";
import { common, peer } from "@hyperledger/fabric-protos";
import { fabricAccount } from "../../../lib/fabric-identity";
import { LedgerConfigError } from "./errors";
import { GRPC } from "./fabric-errors";
import type { FabricChaincodeEvent, FabricCommitted, FabricTransport } from "./fabric-transport";

export interface FabricIdentityFiles {
  /** The identity's X.509 certificate, PEM. */
  certificate: string | Buffer;
  /** Its private key, PEM (PKCS#8 or SEC1). */
  privateKey: string | Buffer;
  /** Default: the connection's MSP ID. */
  mspId?: string;
}

export interface FabricGrpcOptions {
  /** The peer's Gateway endpoint, `host:port`. */
  peerEndpoint: string;
  /** The TLS CA certificate (PEM) the peer's certificate chains to; absent only with `insecure`. */
  tlsCaCertificate?: string | Buffer;
  /** Plaintext gRPC: test servers only. */
  insecure?: boolean;
  /** The host name in the peer's TLS certificate when it differs from the endpoint's. */
  peerHostAlias?: string;
  mspId: string;
  channel: string;
  chaincode: string;
  /** The chaincode's contract name (`relief`); empty for the default contract. */
  contract?: string;
  evaluateTimeoutMs?: number;
  endorseTimeoutMs?: number;
  submitTimeoutMs?: number;
  commitStatusTimeoutMs?: number;
  /** The longest wait for one chaincode event read. */
  eventsTimeoutMs?: number;
  /** A quiet stream for this long ends an event read. */
  eventsIdleMs?: number;
}

export const FABRIC_GRPC_DEFAULTS = {
  evaluateTimeoutMs: 5_000,
  endorseTimeoutMs: 15_000,
  submitTimeoutMs: 5_000,
  commitStatusTimeoutMs: 60_000,
  eventsTimeoutMs: 60_000,
  eventsIdleMs: 1_000,
} as const;

/** The pause that ends a read once the last block asked for has been seen. */
const SAME_BLOCK_IDLE_MS = 20;

/** How many times an event read reconnects from its checkpoint after losing the stream. */
const EVENT_RESUMES = 3;

type Timeouts = { [K in keyof typeof FABRIC_GRPC_DEFAULTS]: number };

const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });

/** One gRPC connection to a peer, shared by the transports of every identity it opens. */
export class FabricConnection {
  readonly #client: grpc.Client;
  readonly #options: FabricGrpcOptions & Timeouts;
  readonly #open = new Set<FabricGrpcTransport>();
  #closed = false;

  constructor(options: FabricGrpcOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#options = { ...FABRIC_GRPC_DEFAULTS, ...given } as FabricGrpcOptions & Timeouts;
    let credentials: grpc.ChannelCredentials;
    if (options.tlsCaCertificate !== undefined) {
      credentials = grpc.credentials.createSsl(Buffer.from(options.tlsCaCertificate));
    } else if (options.insecure) {
      credentials = grpc.credentials.createInsecure();
    } else {
      throw new LedgerConfigError("the Fabric peer connection needs a TLS CA certificate");
    }
    const channelOptions: grpc.ChannelOptions = options.peerHostAlias
      ? { "grpc.ssl_target_name_override": options.peerHostAlias }
      : {};
    this.#client = new grpc.Client(options.peerEndpoint, credentials, channelOptions);
  }

  /** A transport acting as `identity`. */
  transport(identity: FabricIdentityFiles): FabricGrpcTransport {
    if (this.#closed) throw new LedgerConfigError("the Fabric connection is closed");
    const mspId = identity.mspId ?? this.#options.mspId;
    let key: crypto.KeyObject;
    try {
      key = crypto.createPrivateKey(identity.privateKey);
    } catch (cause) {
      throw new LedgerConfigError("a Fabric identity's private key is not a PEM private key", { cause });
    }
    const credentials = Buffer.from(identity.certificate);
    const o = this.#options;
    const gateway = connect({
      client: this.#client,
      identity: { mspId, credentials },
      signer: signers.newPrivateKeySigner(key),
      hash: hash.sha256,
      evaluateOptions: deadline(o.evaluateTimeoutMs),
      endorseOptions: deadline(o.endorseTimeoutMs),
      submitOptions: deadline(o.submitTimeoutMs),
      commitStatusOptions: deadline(o.commitStatusTimeoutMs),
      chaincodeEventsOptions: deadline(o.eventsTimeoutMs),
    });
    const t = new FabricGrpcTransport(gateway, fabricAccount(mspId, credentials), o, (closed) => {
      this.#open.delete(closed);
      if (this.#open.size === 0) this.close();
    });
    this.#open.add(t);
    return t;
  }

  /** Closes the gRPC client (each transport's close also closes it once the last one is closed). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }
}

export class FabricGrpcTransport implements FabricTransport {
  readonly #gateway: Gateway;
  readonly #network: Network;
  readonly #contract: Contract;
  readonly #qscc: Contract;
  readonly #options: FabricGrpcOptions & Timeouts;
  readonly #onClose: (t: FabricGrpcTransport) => void;

  constructor(
    gateway: Gateway,
    readonly account: string,
    options: FabricGrpcOptions & Timeouts,
    onClose: (t: FabricGrpcTransport) => void,
  ) {
    this.#gateway = gateway;
    this.#options = options;
    this.#onClose = onClose;
    this.#network = gateway.getNetwork(options.channel);
    this.#contract = options.contract
      ? this.#network.getContract(options.chaincode, options.contract)
      : this.#network.getContract(options.chaincode);
    this.#qscc = this.#network.getContract("qscc");
  }

  async submit(fn: string, arg: string): Promise<FabricCommitted> {
    const submitted = await this.#contract.submitAsync(fn, { arguments: [arg] });
    const status = await submitted.getStatus();
    if (!status.successful) {
      throw new CommitError({
        code: status.code,
        transactionId: status.transactionId,
        message: `transaction ${status.transactionId} failed to commit with status code ${status.code}`,
      });
    }
    return { result: submitted.getResult(), txId: status.transactionId, blockNumber: Number(status.blockNumber) };
  }

  async evaluate(fn: string, arg: string): Promise<Uint8Array> {
    return this.#contract.evaluateTransaction(fn, arg);
  }

  async blockHeight(): Promise<number> {
    const bytes = await this.#qscc.evaluateTransaction("GetChainInfo", this.#options.channel);
    return common.BlockchainInfo.deserializeBinary(bytes).getHeight();
  }

  async txTimestamp(txId: string): Promise<number> {
    const bytes = await this.#qscc.evaluateTransaction("GetTransactionByID", this.#options.channel, txId);
    const envelope = peer.ProcessedTransaction.deserializeBinary(bytes).getTransactionenvelope();
    if (!envelope) throw new Error(`transaction ${txId}: no envelope`);
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const header = common.ChannelHeader.deserializeBinary(
      payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
    );
    return header.getTimestamp()?.getSeconds() ?? 0;
  }

  async events(fromBlock: number, toBlock: number): Promise<FabricChaincodeEvent[]> {
    const out: FabricChaincodeEvent[] = [];
    const checkpoint = checkpointers.inMemory();
    for (let resumes = 0; ; resumes++) {
      const stream = await this.#network.getChaincodeEvents(
        this.#options.chaincode,
        checkpoint.getBlockNumber() === undefined ? { startBlock: BigInt(fromBlock) } : { checkpoint },
      );
      const iterator = stream[Symbol.asyncIterator]();
      try {
        for (;;) {
          // A block's events arrive in one response: once the last block asked for has been seen, a short pause
          // means nothing more is coming.
          const reached = out.length > 0 && out[out.length - 1].blockNumber >= toBlock;
          const idle = reached ? Math.min(SAME_BLOCK_IDLE_MS, this.#options.eventsIdleMs) : this.#options.eventsIdleMs;
          const next = await nextOrIdle(iterator, idle);
          if (next === "idle" || next.done) return out;
          const e: ChaincodeEvent = next.value;
          if (Number(e.blockNumber) > toBlock) return out;
          out.push({
            blockNumber: Number(e.blockNumber),
            txId: e.transactionId,
            eventName: e.eventName,
            payload: e.payload,
          });
          await checkpoint.checkpointChaincodeEvent(e);
        }
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        // A lost or expired stream resumes after its checkpoint; anything else is the caller's.
        const resumable = code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED;
        if (!resumable || resumes >= EVENT_RESUMES) throw err;
      } finally {
        stream.close();
      }
    }
  }

  async close(): Promise<void> {
    this.#gateway.close();
    this.#onClose(this);
  }
}

/** The iterator's next value, or "idle" if none comes within `idleMs`. */
async function nextOrIdle<T>(iterator: AsyncIterator<T>, idleMs: number): Promise<IteratorResult<T> | "idle"> {
  let timer: NodeJS.Timeout | undefined;
  const next = iterator.next();
  // Left pending when the read goes idle: the stream is closed next, which settles it.
  next.catch(() => undefined);
  const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), idleMs)));
  try {
    return await Promise.race([next, idle]);
  } finally {
    clearTimeout(timer);
  }
}
