/**
 * The two ledgers the conformance suite runs on, set up alike: the same institutions (roles and regions), registered
 * by the registry's administrator through the `Ledger` interface, and one clock that both chains follow exactly
 * (every write gets the clock's time as its block or transaction timestamp, then the clock ticks), so notice ends,
 * periods, receipt times and dispute deadlines agree to the second.
 *
 * - EVM: anvil (lib/anvil.ts) with the contracts deployed by lib/deploy.ts; a write's time is set with
 *   `evm_setNextBlockTimestamp`.
 * - Fabric: the in-memory peer (test/chaincode/peer/) running the real chaincode, its identities real X.509
 *   certificates with `role`/`region` attributes; a write's time is set with `setTime`.
 */
import { Wallet } from "ethers";
import { EvmLedger, type Ledger } from "../../gateway/src/ledger";
import { FabricLedger } from "../../gateway/src/ledger/fabric";
import type { FabricTransport } from "../../gateway/src/ledger/fabric-transport";
import { Chain, deploy, devWallet } from "../gateway/ledger/anvil";
import { gatewayTransports, peerTransports, storyPeer } from "../fabric/fixture";
import { INSTITUTIONS, PROVIDERS, T0, registerInstitutions } from "./institutions";

/** Seconds the clock ticks after each write (room for a chunked write's further blocks on anvil). */
const TICK = 10;

export interface ConformanceChain {
  readonly name: "evm" | "fabric" | "fabric-grpc";
  /** The ledger, every write stamped with the clock's time. */
  readonly ledger: Ledger;
  /** The clock: the time the next write gets. */
  now(): number;
  advance(seconds: number): void;
  /** The actor an account belongs to, for normalising accounts. */
  actorOf(account: string): string | undefined;
  /** The first block of the story (events before it are the deployment's). */
  readonly fromBlock: number;
  close(): Promise<void>;
}

const WRITES = new Set([
  "registerInstitution",
  "setInstitutionActive",
  "rotateInstitutionKey",
  "pause",
  "unpause",
  "createProgramme",
  "updateProgrammeRule",
  "appropriate",
  "allocate",
  "returnFunds",
  "fundProgramme",
  "defundProgramme",
  "recordClawback",
  "submitCase",
  "submitCases",
  "reviewCase",
  "reviewCases",
  "raiseObjection",
  "resolveObjection",
  "approveCase",
  "rejectCase",
  "decideCases",
  "suspendCase",
  "resumeCase",
  "recertifyCase",
  "exitCase",
  "setBeneficiaryKey",
  "executePayouts",
  "certifyMedicalBill",
  "declareDisaster",
  "payDisasterRelief",
  "confirmSettlements",
  "reportFailure",
  "reportFailures",
  "attestReceipt",
  "resolveDispute",
  "anchor",
  "setVoucherTerms",
  "setProviderCategory",
  "issueVouchers",
  "presentVoucher",
  "redeemVoucher",
  "payRedemptions",
  "confirmRedemptionSettlements",
  "reportRedemptionFailure",
  "expireVouchers",
]);

/** `ledger` with every write preceded by `stamp(time)` and followed by a tick of the clock. */
function clocked(ledger: Ledger, clock: { t: number }, stamp: (t: number) => Promise<void>): Ledger {
  return new Proxy(ledger, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !WRITES.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        await stamp(clock.t);
        try {
          return await value.apply(target, args);
        } finally {
          clock.t += TICK;
        }
      };
    },
  });
}

function accountIndex(ledger: Ledger): Map<string, string> {
  return new Map(ledger.actors().map((a) => [ledger.accountOf(a).toLowerCase(), a]));
}

export async function evmChain(): Promise<ConformanceChain> {
  const chain = await Chain.start();
  const deployment = await deploy(chain);
  const actors: Record<string, Wallet> = { admin: new Wallet(devWallet(0).privateKey) };
  [...INSTITUTIONS, ...PROVIDERS].forEach(([actor], i) => (actors[actor] = new Wallet(devWallet(i + 1).privateKey)));
  const raw = new EvmLedger({
    rpcUrl: chain.url,
    chainId: deployment.chainId,
    addresses: deployment.addresses,
    actors,
    pollIntervalMs: 20,
    // Small chunks, so that runs and settlements span several transactions on both ledgers.
    payoutChunkSize: 2,
    settlementChunkSize: 2,
  });
  await raw.connect();
  for (const wallet of Object.values(actors)) await chain.setBalance(wallet.address, 10n ** 21n);
  const fromBlock = (await raw.blockNumber()) + 1;
  const clock = { t: T0 };
  const ledger = clocked(raw, clock, (t) => chain.rpc("evm_setNextBlockTimestamp", [t]).then(() => undefined));
  await registerInstitutions(ledger);
  const accounts = accountIndex(raw);
  return {
    name: "evm",
    ledger,
    fromBlock,
    now: () => clock.t,
    advance: (s) => void (clock.t += s),
    actorOf: (a) => accounts.get(a.toLowerCase()),
    async close() {
      await raw.close();
      await chain.dispose();
    },
  };
}

/**
 * The chaincode on the in-memory peer, reached either directly (`PeerTransport`) or, with `grpc`, through the
 * production transport: fabric-gateway over a real gRPC connection to a Gateway service in front of the peer.
 */
export async function fabricChain(
  options: { grpc?: boolean; wrap?: (transport: FabricTransport) => FabricTransport } = {},
): Promise<ConformanceChain> {
  const { peer, identities } = await storyPeer();
  const grpc = options.grpc ? await gatewayTransports(peer, identities) : undefined;
  const transports = grpc?.transports ?? peerTransports(peer, identities);
  if (options.wrap) for (const [actor, t] of Object.entries(transports)) transports[actor] = options.wrap(t);
  const raw = new FabricLedger({
    actors: transports,
    payoutChunkSize: 2,
    settlementChunkSize: 2,
    retryBackoffMs: 1,
  });
  const clock = { t: T0 };
  const ledger = clocked(raw, clock, async (t) => peer.setTime(t));
  const fromBlock = peer.blockHeight();
  await registerInstitutions(ledger);
  const accounts = accountIndex(raw);
  return {
    name: options.grpc ? "fabric-grpc" : "fabric",
    ledger,
    fromBlock,
    now: () => clock.t,
    advance: (s) => {
      clock.t += s;
      // Queries evaluate at the peer's time: keep it with the clock.
      peer.setTime(clock.t);
    },
    actorOf: (a) => accounts.get(a.toLowerCase()),
    async close() {
      await raw.close();
      grpc?.connection.close();
      await grpc?.server.stop();
    },
  };
}
