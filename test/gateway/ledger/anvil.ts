/**
 * A real anvil node for the ledger adapter's tests: started from `lib/anvil.ts` on a free port with a temporary
 * state file, the contracts deployed with `lib/deploy.ts`, and institutions registered through the adapter with
 * anvil's well-known development accounts (public keys of a public mnemonic: local chains only).
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, NonceManager, id, toQuantity } from "ethers";
import { startAnvil, type AnvilNode } from "../../../lib/anvil";
import { deployLedger, type Deployment } from "../../../lib/deploy";
import { programmeRule } from "../../../lib/programmes";
import { ProgrammeKind, Role } from "../../../lib/roles";
import { EvmLedger, type EvmLedgerOptions } from "../../../gateway/src/ledger";

export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const DAY = 24 * 3600;
export const digest = (label: string) => id(label);

export const REGION = {
  central: 0n,
  province: 110000n,
  city: 110100n,
  county: 110105n, // 朝陽區
  township: 110105001000n,
} as const;

/** Development account `i` of anvil's default mnemonic. */
export function devWallet(i: number): HDNodeWallet {
  return HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
}

/** The test's institutions: actor id, development account, role, region. `admin` owns the registry. */
export const INSTITUTIONS: ReadonlyArray<[string, number, Role, bigint]> = [
  ["centralFinance", 1, Role.Finance, REGION.central],
  ["provinceFinance", 2, Role.Finance, REGION.province],
  ["cityFinance", 3, Role.Finance, REGION.city],
  ["countyFinance", 4, Role.Finance, REGION.county],
  ["approver", 5, Role.Approver, REGION.county],
  ["caseworker", 6, Role.Caseworker, REGION.township],
  ["paymentAgent", 7, Role.PaymentAgent, REGION.county],
  ["medicalOffice", 8, Role.MedicalOffice, REGION.county],
  ["anchorer", 9, Role.Anchorer, REGION.central],
  ["keeper", 10, Role.Keeper, REGION.central],
];

export function actorKeys(): Record<string, HDNodeWallet> {
  const keys: Record<string, HDNodeWallet> = { admin: devWallet(0) };
  for (const [actor, index] of INSTITUTIONS) keys[actor] = devWallet(index);
  return keys;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A running anvil with its state file; `restart` brings it back from that file on the same port. */
export class Chain {
  node: AnvilNode;
  readonly url: string;

  private constructor(
    node: AnvilNode,
    readonly port: number,
    readonly dir: string,
    readonly stateFile: string,
  ) {
    this.node = node;
    this.url = node.url;
  }

  static async start(): Promise<Chain> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-ledger-"));
    const stateFile = path.join(dir, "state.json");
    const port = await freePort();
    return new Chain(await startAnvil({ port, stateFile }), port, dir, stateFile);
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }

  async restart(): Promise<void> {
    await this.node.stop();
    this.node = await startAnvil({ port: this.port, stateFile: this.stateFile });
  }

  async dispose(): Promise<void> {
    await this.node.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A raw JSON-RPC request (anvil's test methods). */
  async rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  }

  /** Moves the chain's clock forward and mines a block. */
  async increaseTime(seconds: number): Promise<void> {
    await this.rpc("evm_increaseTime", [seconds]);
    await this.rpc("evm_mine");
  }

  async setBalance(address: string, wei: bigint): Promise<void> {
    await this.rpc("anvil_setBalance", [address, toQuantity(wei)]);
  }
}

/** Deploys the contracts with development account 0 (the registry's administrator). */
export async function deploy(chain: Chain): Promise<Deployment> {
  const provider = new JsonRpcProvider(chain.url, undefined, { cacheTimeout: -1 });
  try {
    return await deployLedger(new NonceManager(devWallet(0).connect(provider)));
  } finally {
    provider.destroy();
  }
}

/** An adapter for a deployment, holding every test institution's key. */
export function ledgerFor(chain: Chain, deployment: Deployment, over: Partial<EvmLedgerOptions> = {}): EvmLedger {
  return new EvmLedger({
    rpcUrl: chain.url,
    chainId: deployment.chainId,
    addresses: deployment.addresses,
    actors: actorKeys(),
    pollIntervalMs: 20,
    ...over,
  });
}

/** anvil, the contracts, and every institution registered through the adapter. */
export async function deployedLedger(over: Partial<EvmLedgerOptions> = {}) {
  const chain = await Chain.start();
  const deployment = await deploy(chain);
  const ledger = ledgerFor(chain, deployment, over);
  await ledger.connect();
  for (const [actor, index, role, region] of INSTITUTIONS) {
    // anvil funds accounts 0–9 only.
    if (index >= 10) await chain.setBalance(ledger.accountOf(actor), 10n ** 21n);
    await ledger.registerInstitution("admin", {
      account: ledger.accountOf(actor),
      role,
      region,
      keyDigest: digest(`sm2-key:${actor}`),
    });
  }
  return { chain, deployment, ledger };
}

/** 低保 in Chaoyang with PRODUCT.md's figures: 737 yuan a head, a 7-day notice. */
export const DIBAO = programmeRule(ProgrammeKind.MonthlyGap, REGION.county, digest("dibao-2022"), {
  amount: 73_700n,
  exclusionGroup: 1,
});

/** Moves `amount` from a fresh central appropriation down to the pool of `programmeId`. */
export async function fundPool(ledger: EvmLedger, programmeId: number, amount: bigint) {
  const ref = digest("budget-2026");
  const results = [await ledger.appropriate("centralFinance", amount, ref)];
  results.push(
    await ledger.allocate("centralFinance", {
      fromRegion: REGION.central,
      toRegion: REGION.province,
      amount,
      referenceDigest: ref,
    }),
  );
  results.push(
    await ledger.allocate("provinceFinance", {
      fromRegion: REGION.province,
      toRegion: REGION.city,
      amount,
      referenceDigest: ref,
    }),
  );
  results.push(
    await ledger.allocate("cityFinance", {
      fromRegion: REGION.city,
      toRegion: REGION.county,
      amount,
      referenceDigest: ref,
    }),
  );
  results.push(await ledger.fundProgramme("countyFinance", { programmeId, amount, referenceDigest: ref }));
  return results;
}
