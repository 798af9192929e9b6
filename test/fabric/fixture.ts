/**
 * The Fabric side of the tests' setup: the in-memory peer with the conformance story's identities, transports to it
 * (direct, or the production gRPC transport through a Gateway service in front of it), and a FabricLedger over it
 * with the story's institutions registered. `wrap` puts a transport in front of an actor's (to record calls or inject
 * network faults).
 */
import { ADMIN_ROLE_ATTRIBUTE, roleAttribute } from "../../lib/fabric-identity";
import { FabricLedger, type FabricLedgerOptions } from "../../gateway/src/ledger/fabric";
import { FabricConnection, type FabricGrpcOptions } from "../../gateway/src/ledger/fabric-grpc";
import type { FabricChaincodeEvent, FabricCommitted, FabricTransport } from "../../gateway/src/ledger/fabric-transport";
import { InMemoryPeer, type PeerIdentity } from "../chaincode/peer";
import { INSTITUTIONS, PROVIDERS, T0, registerInstitutions } from "../conformance/institutions";
import { FabricGatewayServer } from "./gateway-server";
import { PeerTransport } from "./peer-transport";

export interface FabricFixture {
  peer: InMemoryPeer;
  ledger: FabricLedger;
  identities: Record<string, PeerIdentity>;
}

/** The in-memory peer at the story's start, with certificates for `admin` and every institution of the story. */
export async function storyPeer(): Promise<{ peer: InMemoryPeer; identities: PeerIdentity[] }> {
  const peer = await InMemoryPeer.start({ now: T0 });
  const identities = [await peer.identity("admin", { role: ADMIN_ROLE_ATTRIBUTE, region: "0" })];
  for (const [actor, role, region] of [...INSTITUTIONS, ...PROVIDERS]) {
    identities.push(await peer.identity(actor, { role: roleAttribute(role), region: region.toString() }));
  }
  return { peer, identities };
}

/** The gRPC options of a plaintext connection to `endpoint` for the `relief` chaincode. */
export function grpcOptions(endpoint: string, mspId = "Org1MSP"): FabricGrpcOptions {
  return {
    peerEndpoint: endpoint,
    insecure: true,
    mspId,
    channel: "relief",
    chaincode: "relief",
    contract: "relief",
    eventsIdleMs: 200,
  };
}

/** Each identity's transport straight to the peer's chaincode, by actor. */
export function peerTransports(
  peer: InMemoryPeer,
  identities: readonly PeerIdentity[],
): Record<string, FabricTransport> {
  return Object.fromEntries(identities.map((id) => [id.name, new PeerTransport(peer, id)]));
}

/** A Gateway service in front of `peer`, one gRPC connection to it, and each identity's production transport. */
export async function gatewayTransports(
  peer: InMemoryPeer,
  identities: readonly PeerIdentity[],
  options: (endpoint: string) => FabricGrpcOptions = (endpoint) => grpcOptions(endpoint, peer.mspId),
): Promise<{ server: FabricGatewayServer; connection: FabricConnection; transports: Record<string, FabricTransport> }> {
  const server = await FabricGatewayServer.start(peer, identities);
  const connection = new FabricConnection(options(server.endpoint));
  const transports: Record<string, FabricTransport> = {};
  for (const id of identities) {
    transports[id.name] = connection.transport({ certificate: id.certificate, privateKey: id.privateKeyPem });
  }
  return { server, connection, transports };
}

/** A FabricLedger straight over the peer, with the story's institutions registered. */
export async function fabricFixture(
  options: {
    wrap?: (actor: string, transport: FabricTransport) => FabricTransport;
    ledger?: Partial<FabricLedgerOptions>;
  } = {},
): Promise<FabricFixture> {
  const { peer, identities } = await storyPeer();
  const actors = peerTransports(peer, identities);
  if (options.wrap) for (const [actor, t] of Object.entries(actors)) actors[actor] = options.wrap(actor, t);
  const ledger = new FabricLedger({ actors, retryBackoffMs: 1, ...options.ledger });
  await registerInstitutions(ledger);
  return { peer, ledger, identities: Object.fromEntries(identities.map((id) => [id.name, id])) };
}

/** What `promise` rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure, the call succeeded");
}

/** A transport that records every call and throws queued faults before reaching the real one. */
export class FaultyTransport implements FabricTransport {
  readonly calls: { method: "submit" | "evaluate"; fn: string; arg: string }[] = [];
  readonly #faults: { method: "submit" | "evaluate"; error: () => Error }[] = [];

  constructor(private readonly inner: FabricTransport) {}

  get account(): string {
    return this.inner.account;
  }

  /** The next `method` call fails with `error()` without reaching the peer. */
  fail(method: "submit" | "evaluate", error: () => Error, times = 1): void {
    for (let i = 0; i < times; i++) this.#faults.push({ method, error });
  }

  #fault(method: "submit" | "evaluate"): void {
    const i = this.#faults.findIndex((f) => f.method === method);
    if (i >= 0) throw this.#faults.splice(i, 1)[0].error();
  }

  async submit(fn: string, arg: string): Promise<FabricCommitted> {
    this.calls.push({ method: "submit", fn, arg });
    this.#fault("submit");
    return this.inner.submit(fn, arg);
  }

  async evaluate(fn: string, arg: string): Promise<Uint8Array> {
    this.calls.push({ method: "evaluate", fn, arg });
    this.#fault("evaluate");
    return this.inner.evaluate(fn, arg);
  }

  events(fromBlock: number, toBlock: number): Promise<FabricChaincodeEvent[]> {
    return this.inner.events(fromBlock, toBlock);
  }

  blockHeight(): Promise<number> {
    return this.inner.blockHeight();
  }

  txTimestamp(txId: string): Promise<number> {
    return this.inner.txTimestamp!(txId);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
