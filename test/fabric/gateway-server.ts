/**
 * A real gRPC server speaking Fabric's Gateway service (`gateway.Gateway` from @hyperledger/fabric-protos:
 * Evaluate, Endorse, Submit, CommitStatus, ChaincodeEvents), in front of the in-memory peer running the real
 * chaincode. The production transport (fabric-grpc.ts, `@hyperledger/fabric-gateway` over `@grpc/grpc-js`) talks to
 * it exactly as to a peer: signed proposals, prepared transaction envelopes, signed commit-status and event requests.
 *
 * What it checks as a peer would: every signed message's signature against the creator's certificate, and that
 * the creator is an identity the in-memory peer issued. What it simplifies: endorsement simulates the transaction
 * (evaluate) and the commit happens at Submit (the in-memory peer endorses and commits in one step); the ordering
 * service is this process. Faults can be injected per method (a gRPC status, or no answer at all) to test the
 * transport's deadlines and the adapter's error mapping on real fabric-gateway errors.
 *
 * Also answers the query system chaincode's `GetChainInfo` and `GetTransactionByID` (qscc), which the transport
 * uses for the block height and transaction timestamps.
 */
import { createPublicKey, verify, X509Certificate } from "node:crypto";
import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import { common, gateway as gw, google, msp, orderer, peer as pb } from "@hyperledger/fabric-protos";
import { PeerTransactionError, type InMemoryPeer, type PeerIdentity } from "../chaincode/peer";

// google-protobuf ships no types: the two well-known messages used here, typed by what is called on them.
const protobufRequire = createRequire(require.resolve("@hyperledger/fabric-protos"));
const { Any } = protobufRequire("google-protobuf/google/protobuf/any_pb") as {
  Any: new () => { setTypeUrl(url: string): void; setValue(value: Uint8Array): void };
};
const { Timestamp } = protobufRequire("google-protobuf/google/protobuf/timestamp_pb") as {
  Timestamp: new () => { setSeconds(seconds: number): void };
};

export type GatewayMethod = "Evaluate" | "Endorse" | "Submit" | "CommitStatus" | "ChaincodeEvents";

/** A fault for the next call of a method: a gRPC status error, or silence (the client's deadline must end it). */
export type Fault = { code: grpc.status; message?: string; details?: string[] } | { silent: true };

interface Pending {
  identity: PeerIdentity;
  fn: string;
  args: string[];
}

interface Status {
  code: number;
  blockNumber: number;
}

const VALIDATION: Record<string, number> = {
  MVCC_READ_CONFLICT: 11,
  PHANTOM_READ_CONFLICT: 12,
  ENDORSEMENT_FAILURE: 10,
};

function serviceError(code: grpc.status, message: string, details: string[] = []): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (details.length > 0) {
    const status = new google.rpc.Status();
    status.setCode(code);
    status.setMessage(message);
    status.setDetailsList(
      details.map((m) => {
        const detail = new gw.ErrorDetail();
        detail.setAddress("peer0.test:7051");
        detail.setMspId("Org1MSP");
        detail.setMessage(m);
        const any = new Any();
        any.setTypeUrl("type.googleapis.com/gateway.ErrorDetail");
        any.setValue(detail.serializeBinary());
        return any as never;
      }),
    );
    metadata.set("grpc-status-details-bin", Buffer.from(status.serializeBinary()));
  }
  return Object.assign(new Error(message), { code, details: message, metadata }) as grpc.ServiceError;
}

export class FabricGatewayServer {
  readonly #server = new grpc.Server();
  readonly #peer: InMemoryPeer;
  readonly #identities = new Map<string, PeerIdentity>();
  readonly #pending = new Map<string, Pending>();
  readonly #statuses = new Map<string, Status>();
  /** The in-memory peer's transaction ids, by the client's (the peer signs its own proposals). */
  readonly #clientTxIds = new Map<string, string>();
  readonly #faults = new Map<GatewayMethod, Fault[]>();
  readonly #invalidate: number[] = [];
  readonly #streams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  /** Calls received, by method (faulted ones included). */
  readonly calls: Record<GatewayMethod, number> = {
    Evaluate: 0,
    Endorse: 0,
    Submit: 0,
    CommitStatus: 0,
    ChaincodeEvents: 0,
  };
  /** After this many event responses, a ChaincodeEvents stream fails with UNAVAILABLE (once). */
  dropEventStreamAfter: number | undefined;
  port = 0;

  constructor(peer: InMemoryPeer, identities: readonly PeerIdentity[]) {
    this.#peer = peer;
    for (const id of identities) this.#identities.set(id.certificate.trim(), id);
    this.#server.addService(gw.GatewayService as unknown as grpc.ServiceDefinition, {
      evaluate: (
        call: grpc.ServerUnaryCall<gw.EvaluateRequest, gw.EvaluateResponse>,
        done: grpc.sendUnaryData<gw.EvaluateResponse>,
      ) => this.#unary("Evaluate", done, () => this.#evaluate(call.request)),
      endorse: (
        call: grpc.ServerUnaryCall<gw.EndorseRequest, gw.EndorseResponse>,
        done: grpc.sendUnaryData<gw.EndorseResponse>,
      ) => this.#unary("Endorse", done, () => this.#endorse(call.request)),
      submit: (
        call: grpc.ServerUnaryCall<gw.SubmitRequest, gw.SubmitResponse>,
        done: grpc.sendUnaryData<gw.SubmitResponse>,
      ) => this.#unary("Submit", done, () => this.#submit(call.request)),
      commitStatus: (
        call: grpc.ServerUnaryCall<gw.SignedCommitStatusRequest, gw.CommitStatusResponse>,
        done: grpc.sendUnaryData<gw.CommitStatusResponse>,
      ) => this.#unary("CommitStatus", done, () => this.#commitStatus(call.request)),
      chaincodeEvents: (call: grpc.ServerWritableStream<gw.SignedChaincodeEventsRequest, gw.ChaincodeEventsResponse>) =>
        this.#chaincodeEvents(call),
    });
  }

  /** Listens on a free port of 127.0.0.1: plaintext, or TLS with `tls` (a server certificate and its key, PEM). */
  static async start(
    peer: InMemoryPeer,
    identities: readonly PeerIdentity[],
    tls?: { certPem: string; keyPem: string },
  ): Promise<FabricGatewayServer> {
    const server = new FabricGatewayServer(peer, identities);
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(null, [
          { cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) },
        ])
      : grpc.ServerCredentials.createInsecure();
    server.port = await new Promise<number>((resolve, reject) =>
      server.#server.bindAsync("127.0.0.1:0", credentials, (err, port) => (err ? reject(err) : resolve(port))),
    );
    return server;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next call of `method` fails with `fault` (queued: one fault per call). */
  inject(method: GatewayMethod, fault: Fault): void {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), fault]);
  }

  /** The next submitted transaction is invalidated with validation `code` (as a concurrent write would). */
  invalidateNext(code: number): void {
    this.#invalidate.push(code);
  }

  async stop(): Promise<void> {
    for (const s of this.#streams) s.end();
    this.#server.forceShutdown();
  }

  // ---- Calls -----------------------------------------------------------------------------------------------

  async #unary<T>(method: GatewayMethod, done: grpc.sendUnaryData<T>, run: () => Promise<T>): Promise<void> {
    this.calls[method] += 1;
    const fault = this.#faults.get(method)?.shift();
    if (fault && "silent" in fault) return; // never answered: the client's deadline ends the call
    if (fault) return done(serviceError(fault.code, fault.message ?? "injected fault", fault.details));
    try {
      done(null, await run());
    } catch (err) {
      done(err as grpc.ServiceError);
    }
  }

  /** The creator, function and arguments of a signed proposal, after checking its signature. */
  #proposal(signed: pb.SignedProposal | undefined) {
    if (!signed) throw serviceError(grpc.status.INVALID_ARGUMENT, "no proposal");
    const bytes = signed.getProposalBytes_asU8();
    const proposal = pb.Proposal.deserializeBinary(bytes);
    const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
    const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    const identity = this.#creator(signatureHeader.getCreator_asU8(), bytes, signed.getSignature_asU8());
    const payload = pb.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
    const spec = pb.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8()).getChaincodeSpec();
    const args = (spec?.getInput()?.getArgsList_asU8() ?? []).map((a) => Buffer.from(a).toString("utf8"));
    return {
      identity,
      txId: channelHeader.getTxId(),
      channel: channelHeader.getChannelId(),
      chaincode: spec?.getChaincodeId()?.getName() ?? "",
      fn: args[0] ?? "",
      args: args.slice(1),
      header,
      signatureHeader,
      payload,
    };
  }

  /** The identity that signed `bytes`; refuses a certificate the peer did not issue or a bad signature. */
  #creator(creatorBytes: Uint8Array, bytes: Uint8Array, signature: Uint8Array): PeerIdentity {
    const creator = msp.SerializedIdentity.deserializeBinary(creatorBytes);
    const pem = Buffer.from(creator.getIdBytes_asU8()).toString("utf8").trim();
    const identity = this.#identities.get(pem);
    if (!identity || identity.mspId !== creator.getMspid()) {
      throw serviceError(grpc.status.PERMISSION_DENIED, "creator is not a member of the channel");
    }
    const key = createPublicKey(new X509Certificate(pem).publicKey.export({ type: "spki", format: "pem" }));
    if (!verify("sha256", bytes, key, signature)) {
      throw serviceError(grpc.status.PERMISSION_DENIED, "signature does not verify");
    }
    return identity;
  }

  async #evaluate(request: gw.EvaluateRequest): Promise<gw.EvaluateResponse> {
    const p = this.#proposal(request.getProposedTransaction());
    const payload = p.chaincode === "qscc" ? this.#qscc(p.fn, p.args) : await this.#simulate(p, "evaluate");
    const response = new pb.Response();
    response.setStatus(200);
    response.setPayload(payload);
    const reply = new gw.EvaluateResponse();
    reply.setResult(response);
    return reply;
  }

  async #simulate(p: { identity: PeerIdentity; fn: string; args: string[] }, what: string): Promise<Uint8Array> {
    try {
      return await this.#peer.evaluate(p.identity, p.fn, p.args);
    } catch (err) {
      if (!(err instanceof PeerTransactionError)) throw err;
      const message = `chaincode response ${err.status ?? 500}, ${err.message}`;
      const code = what === "evaluate" ? grpc.status.UNKNOWN : grpc.status.ABORTED;
      throw serviceError(code, `${what} call to endorser returned error: ${message}`, [message]);
    }
  }

  async #endorse(request: gw.EndorseRequest): Promise<gw.EndorseResponse> {
    const p = this.#proposal(request.getProposedTransaction());
    const result = await this.#simulate(p, "endorse");
    this.#pending.set(p.txId, { identity: p.identity, fn: p.fn, args: p.args });

    const chaincodeResponse = new pb.Response();
    chaincodeResponse.setStatus(200);
    chaincodeResponse.setPayload(result);
    const action = new pb.ChaincodeAction();
    action.setResponse(chaincodeResponse);
    const responsePayload = new pb.ProposalResponsePayload();
    responsePayload.setExtension$(action.serializeBinary());
    const endorsed = new pb.ChaincodeEndorsedAction();
    endorsed.setProposalResponsePayload(responsePayload.serializeBinary());
    const actionPayload = new pb.ChaincodeActionPayload();
    actionPayload.setChaincodeProposalPayload(p.payload.serializeBinary());
    actionPayload.setAction(endorsed);
    const txAction = new pb.TransactionAction();
    txAction.setHeader(p.signatureHeader.serializeBinary());
    txAction.setPayload(actionPayload.serializeBinary());
    const transaction = new pb.Transaction();
    transaction.setActionsList([txAction]);
    const payload = new common.Payload();
    payload.setHeader(p.header);
    payload.setData(transaction.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    const reply = new gw.EndorseResponse();
    reply.setPreparedTransaction(envelope);
    return reply;
  }

  async #submit(request: gw.SubmitRequest): Promise<gw.SubmitResponse> {
    const txId = request.getTransactionId();
    const pending = this.#pending.get(txId);
    const envelope = request.getPreparedTransaction();
    if (!pending || !envelope) throw serviceError(grpc.status.NOT_FOUND, `no endorsed transaction ${txId}`);
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const creator = common.SignatureHeader.deserializeBinary(
      payload.getHeader()!.getSignatureHeader_asU8(),
    ).getCreator_asU8();
    this.#creator(creator, envelope.getPayload_asU8(), envelope.getSignature_asU8());
    this.#pending.delete(txId);
    const invalid = this.#invalidate.shift();
    if (invalid !== undefined) {
      // Invalidated at validation (as by a concurrent write): in a block, but with no effect.
      this.#statuses.set(txId, { code: invalid, blockNumber: this.#peer.blockHeight() });
      return new gw.SubmitResponse();
    }
    try {
      const committed = await this.#peer.submit(pending.identity, pending.fn, pending.args);
      this.#clientTxIds.set(committed.txId, txId);
      this.#statuses.set(txId, { code: 0, blockNumber: committed.blockNumber });
    } catch (err) {
      if (!(err instanceof PeerTransactionError)) throw err;
      this.#statuses.set(txId, { code: VALIDATION[err.code] ?? 10, blockNumber: err.blockNumber ?? 0 });
    }
    return new gw.SubmitResponse();
  }

  async #commitStatus(request: gw.SignedCommitStatusRequest): Promise<gw.CommitStatusResponse> {
    const inner = gw.CommitStatusRequest.deserializeBinary(request.getRequest_asU8());
    this.#creator(inner.getIdentity_asU8(), request.getRequest_asU8(), request.getSignature_asU8());
    const status = this.#statuses.get(inner.getTransactionId());
    if (!status) throw serviceError(grpc.status.NOT_FOUND, `unknown transaction ${inner.getTransactionId()}`);
    const reply = new gw.CommitStatusResponse();
    reply.setResult(status.code as pb.TxValidationCodeMap[keyof pb.TxValidationCodeMap]);
    reply.setBlockNumber(status.blockNumber);
    return reply;
  }

  #chaincodeEvents(call: grpc.ServerWritableStream<gw.SignedChaincodeEventsRequest, gw.ChaincodeEventsResponse>): void {
    this.calls.ChaincodeEvents += 1;
    const fault = this.#faults.get("ChaincodeEvents")?.shift();
    if (fault && !("silent" in fault)) {
      call.emit("error", serviceError(fault.code, fault.message ?? "injected fault", fault.details));
      return;
    }
    try {
      const inner = gw.ChaincodeEventsRequest.deserializeBinary(call.request.getRequest_asU8());
      this.#creator(inner.getIdentity_asU8(), call.request.getRequest_asU8(), call.request.getSignature_asU8());
      const start = startBlock(inner.getStartPosition(), this.#peer.blockHeight());
      const after = inner.getAfterTransactionId();
      let skipping = after !== "";
      let sent = 0;
      for (let n = start; n < this.#peer.blockHeight(); n++) {
        const events = this.#peer.chaincodeEvents(n, n).filter((e) => e.chaincodeName === inner.getChaincodeId());
        const out: pb.ChaincodeEvent[] = [];
        for (const e of events) {
          const txId = this.#clientTxIds.get(e.txId) ?? e.txId;
          if (skipping) {
            if (txId === after) skipping = false;
            continue;
          }
          const event = new pb.ChaincodeEvent();
          event.setChaincodeId(e.chaincodeName);
          event.setTxId(txId);
          event.setEventName(e.eventName);
          event.setPayload(e.payload);
          out.push(event);
        }
        skipping = false;
        if (out.length === 0) continue;
        if (this.dropEventStreamAfter !== undefined && sent >= this.dropEventStreamAfter) {
          this.dropEventStreamAfter = undefined;
          call.emit("error", serviceError(grpc.status.UNAVAILABLE, "connection reset"));
          return;
        }
        const response = new gw.ChaincodeEventsResponse();
        response.setBlockNumber(n);
        response.setEventsList(out);
        call.write(response);
        sent += 1;
      }
      // A peer keeps the stream open for blocks still to come; the client closes it.
      this.#streams.add(call as grpc.ServerWritableStream<unknown, unknown>);
      call.on("cancelled", () => this.#streams.delete(call as grpc.ServerWritableStream<unknown, unknown>));
    } catch (err) {
      call.emit("error", err as grpc.ServiceError);
    }
  }

  // ---- qscc ------------------------------------------------------------------------------------------------

  #qscc(fn: string, args: string[]): Uint8Array {
    if (fn === "GetChainInfo") {
      const info = new common.BlockchainInfo();
      info.setHeight(this.#peer.blockHeight());
      return info.serializeBinary();
    }
    if (fn === "GetTransactionByID") {
      const clientTxId = args[1];
      for (let n = this.#peer.blockHeight() - 1; n >= 0; n--) {
        const block = this.#peer.block(n)!;
        if (!block.transactions.some((t) => (this.#clientTxIds.get(t.txId) ?? t.txId) === clientTxId)) continue;
        const time = new Timestamp();
        time.setSeconds(block.timestamp);
        const channelHeader = new common.ChannelHeader();
        channelHeader.setTxId(clientTxId);
        channelHeader.setTimestamp(time as never);
        const header = new common.Header();
        header.setChannelHeader(channelHeader.serializeBinary());
        const payload = new common.Payload();
        payload.setHeader(header);
        const envelope = new common.Envelope();
        envelope.setPayload(payload.serializeBinary());
        const processed = new pb.ProcessedTransaction();
        processed.setTransactionenvelope(envelope);
        processed.setValidationcode(0);
        return processed.serializeBinary();
      }
      throw serviceError(
        grpc.status.UNKNOWN,
        `evaluate call to endorser returned error: no such transaction ID [${clientTxId}]`,
      );
    }
    throw serviceError(grpc.status.UNKNOWN, `qscc has no function ${fn}`);
  }
}

function startBlock(position: orderer.SeekPosition | undefined, height: number): number {
  if (position?.hasSpecified()) return position.getSpecified()!.getNumber();
  if (position?.hasOldest()) return 0;
  return height;
}
