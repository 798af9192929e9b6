/**
 * Fabric's protocol messages, loaded from the very copy of `@hyperledger/fabric-protos` that fabric-shim uses
 * (it decodes what we build), and the signed proposal a client sends to a peer.
 */
import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { signLowS, type PeerIdentity } from "./identities";

// fabric-shim logs every failed transaction at error level; the tests assert on the failures instead.
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= "CRITICAL";

const shimRequire = createRequire(require.resolve("fabric-shim"));
const protosRequire = createRequire(shimRequire.resolve("@hyperledger/fabric-protos"));

export const protos = shimRequire("@hyperledger/fabric-protos") as typeof import("@hyperledger/fabric-protos");

interface TimestampMessage {
  setSeconds(s: number): void;
  setNanos(n: number): void;
  getSeconds(): number;
}
const { Timestamp } = protosRequire("google-protobuf/google/protobuf/timestamp_pb") as {
  Timestamp: new () => TimestampMessage;
};

export function timestamp(seconds: number): TimestampMessage {
  const t = new Timestamp();
  t.setSeconds(seconds);
  t.setNanos(0);
  return t;
}

/** fabric-shim's own stub and contract dispatch. */
export const { ChaincodeStub } = shimRequire("fabric-shim") as { ChaincodeStub: new (...args: unknown[]) => unknown };
export const ChaincodeFromContract = shimRequire("./lib/contract-spi/chaincodefromcontract") as new (
  contracts: unknown[],
  serializers: unknown,
  metadata?: unknown,
  title?: string,
  version?: string,
) => { Init(stub: unknown): Promise<ShimResponse>; Invoke(stub: unknown): Promise<ShimResponse> };
export const { JSONSerializer } = shimRequire("fabric-contract-api") as { JSONSerializer: unknown };
export const { StateQueryIterator, HistoryQueryIterator } = shimRequire("./lib/iterators") as {
  StateQueryIterator: new (...args: unknown[]) => unknown;
  HistoryQueryIterator: new (...args: unknown[]) => unknown;
};

export interface ShimResponse {
  status: number;
  message?: string;
  payload?: Uint8Array;
}

export interface Proposal {
  txId: string;
  signed: InstanceType<typeof protos.peer.SignedProposal>;
  input: InstanceType<typeof protos.peer.ChaincodeInput>;
  creator: Uint8Array;
}

/** A signed proposal as a Fabric client builds it: txId = sha256(nonce ‖ creator). */
export function buildProposal(
  id: PeerIdentity,
  channel: string,
  chaincode: string,
  fn: string,
  args: readonly string[],
  seconds: number,
): Proposal {
  const { common, msp, peer } = protos;
  const creator = new msp.SerializedIdentity();
  creator.setMspid(id.mspId);
  creator.setIdBytes(Buffer.from(id.certificate, "utf8"));
  const creatorBytes = creator.serializeBinary();
  const nonce = randomBytes(24);
  const txId = createHash("sha256").update(nonce).update(creatorBytes).digest("hex");

  const ccId = new peer.ChaincodeID();
  ccId.setName(chaincode);
  const extension = new peer.ChaincodeHeaderExtension();
  extension.setChaincodeId(ccId);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
  channelHeader.setTimestamp(timestamp(seconds) as never);
  channelHeader.setChannelId(channel);
  channelHeader.setTxId(txId);
  channelHeader.setEpoch(0);
  channelHeader.setExtension$(extension.serializeBinary());
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(creatorBytes);
  signatureHeader.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());

  const input = new peer.ChaincodeInput();
  input.setArgsList([fn, ...args].map((a) => Buffer.from(a, "utf8")));
  const spec = new peer.ChaincodeSpec();
  spec.setType(peer.ChaincodeSpec.Type.NODE);
  spec.setChaincodeId(ccId);
  spec.setInput(input);
  const invocation = new peer.ChaincodeInvocationSpec();
  invocation.setChaincodeSpec(spec);
  const payload = new peer.ChaincodeProposalPayload();
  payload.setInput(invocation.serializeBinary());

  const proposal = new peer.Proposal();
  proposal.setHeader(header.serializeBinary());
  proposal.setPayload(payload.serializeBinary());
  const proposalBytes = proposal.serializeBinary();
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(proposalBytes);
  signed.setSignature(signLowS(proposalBytes, id.privateKey));
  return { txId, signed, input, creator: creatorBytes };
}
