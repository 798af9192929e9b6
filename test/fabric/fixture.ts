/**
 * A FabricLedger over the in-memory peer with the conformance story's institutions registered, for the adapter's
 * own tests. `wrap` puts a transport in front of an actor's (to record calls or inject network faults).
 */
import { ADMIN_ROLE_ATTRIBUTE, roleAttribute } from "../../lib/fabric-identity";
import { FabricLedger, type FabricLedgerOptions } from "../../gateway/src/ledger/fabric";
import type { FabricChaincodeEvent, FabricCommitted, FabricTransport } from "../../gateway/src/ledger/fabric-transport";
import { digest } from "../gateway/ledger/anvil";
import { InMemoryPeer, type PeerIdentity } from "../chaincode/peer";
import { INSTITUTIONS, T0 } from "../conformance/chains";
import { PeerTransport } from "./peer-transport";

export interface FabricFixture {
  peer: InMemoryPeer;
  ledger: FabricLedger;
  identities: Record<string, PeerIdentity>;
}

export async function fabricFixture(
  options: {
    wrap?: (actor: string, transport: FabricTransport) => FabricTransport;
    ledger?: Partial<FabricLedgerOptions>;
  } = {},
): Promise<FabricFixture> {
  const peer = await InMemoryPeer.start({ now: T0 });
  const identities: Record<string, PeerIdentity> = {
    admin: await peer.identity("admin", { role: ADMIN_ROLE_ATTRIBUTE, region: "0" }),
  };
  for (const [actor, role, region] of INSTITUTIONS) {
    identities[actor] = await peer.identity(actor, { role: roleAttribute(role), region: region.toString() });
  }
  const actors: Record<string, FabricTransport> = {};
  for (const [actor, id] of Object.entries(identities)) {
    const transport = new PeerTransport(peer, id);
    actors[actor] = options.wrap ? options.wrap(actor, transport) : transport;
  }
  const ledger = new FabricLedger({ actors, retryBackoffMs: 1, ...options.ledger });
  for (const [actor, role, region] of INSTITUTIONS) {
    await ledger.registerInstitution("admin", {
      account: ledger.accountOf(actor),
      role,
      region,
      keyDigest: digest(`sm2-key:${actor}`),
    });
  }
  return { peer, ledger, identities };
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
