/**
 * `npm start`: the whole product on embedded defaults. A local chain (anvil, state kept in .relief/) with the Relief
 * Ledger contracts deployed once, the gateway (API, anchoring worker) on SQLite under data/, and on the very first
 * start a local consortium of demo institutions with their API keys written to .relief/api-keys.env (mode 0600).
 * Re-running reuses the chain, the deployment, the database and the keys. Stop with Ctrl-C (the chain state is saved).
 *
 * With RELIEF_RPC_URL set, no chain is started: the gateway connects to that node, with the deployment file and the
 * chain keys (.relief/keys/chain-keys.json, or RELIEF_CHAIN_KEY_ADMIN) you provide, and seeds nothing.
 *
 * `startProduct` and `printProduct` are importable (scripts/demo.ts starts the product in-process when none runs).
 */
import fs from "node:fs";
import path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { startAnvil, type AnvilNode } from "../lib/anvil";
import { deployLedger, type Deployment } from "../lib/deploy";
import { type GatewayConfig, loadGatewayConfig } from "../gateway/src/config";
import { ChainKeys } from "../gateway/src/institutions/chain-keys";
import { type LocalSeed, seedLocalConsortium } from "../gateway/src/seed/local";
import { startGateway } from "../gateway/src/server";

// anvil's first well-known development account: public, for a local chain only, never for a real one.
const DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/** A path as the user would type it: relative inside the working folder, absolute outside it. */
const shown = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
};

const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);

async function embeddedChain(
  config: GatewayConfig,
  port: number,
): Promise<{ node: AnvilNode; deployment: Deployment; fresh: boolean }> {
  const node = await startAnvil({ port, stateFile: path.join(config.dataDir, "chain-state.json") });
  const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
  try {
    const deployerKey = process.env.RELIEF_DEPLOYER_KEY ?? DEV_DEPLOYER_KEY;
    const file = path.join(config.dataDir, "deployment.json");
    if (fs.existsSync(file)) {
      const saved = JSON.parse(fs.readFileSync(file, "utf8")) as Deployment;
      saved.chainId = BigInt(saved.chainId);
      if ((await provider.getCode(saved.addresses.ledger)) !== "0x") {
        if (!saved.addresses.vouchers) {
          // Deployed before the voucher book (issue 9): that ReliefLedger has no voucher funding and deployed code
          // cannot change, so the operator decides whether to start over (a fresh chain leaves the old data behind).
          throw new Error(
            `${shown(file)} predates the voucher book (no addresses.vouchers): move ${shown(config.dataDir)} aside ` +
              `to start on a fresh local chain`,
          );
        }
        return { node, deployment: saved, fresh: false };
      }
    }
    const deployment = await deployLedger(new NonceManager(new Wallet(deployerKey, provider)));
    fs.writeFileSync(file, json(deployment));
    const keys = ChainKeys.open(path.join(config.keysDir, "chain-keys.json"));
    keys.set("admin", deployerKey);
    return { node, deployment, fresh: true };
  } finally {
    provider.destroy();
  }
}

function writeKeysEnv(file: string, keys: Record<string, string>, adminKey: string): void {
  const lines = ["# Relief Ledger local API keys (secret: mode 0600). Load with: source " + file];
  lines.push(`export RELIEF_ADMIN_KEY=${adminKey}`);
  for (const [id, token] of Object.entries(keys))
    lines.push(`export RELIEF_KEY_${id.toUpperCase().replace(/-/g, "_")}=${token}`);
  fs.writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** The running product: the gateway, the embedded chain (unless RELIEF_RPC_URL), and what the first start did. */
export interface Product {
  config: GatewayConfig;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  chain?: { node: AnvilNode; deployment: Deployment; fresh: boolean };
  rpcUrl: string;
  /** `<data dir>/api-keys.env`: the local institutions' API keys (written on the first start). */
  keysEnv: string;
  /** Set on the first start on an empty data directory: the administrator's key file and (dev chain) the seed. */
  firstStart?: { adminKeyFile: string; seed?: LocalSeed };
  stop(): Promise<void>;
}

/** Starts the chain (unless RELIEF_RPC_URL), the gateway, and on the first start seeds the local consortium. */
export async function startProduct(config: GatewayConfig = loadGatewayConfig()): Promise<Product> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const external = process.env.RELIEF_RPC_URL;
  const chain = external ? undefined : await embeddedChain(config, Number(process.env.RELIEF_CHAIN_PORT ?? 8545));
  const rpcUrl = external ?? chain!.node.url;
  let gateway: Product["gateway"];
  try {
    gateway = await startGateway({ config, rpcUrl, deployment: chain?.deployment });
  } catch (error) {
    await chain?.node.stop();
    throw error;
  }
  const keysEnv = path.join(config.dataDir, "api-keys.env");
  let firstStart: Product["firstStart"];
  if (gateway.bootstrap.adminKeyFile) {
    firstStart = { adminKeyFile: gateway.bootstrap.adminKeyFile };
    if (chain && process.env.RELIEF_SEED !== "0") {
      const adminKey = fs.readFileSync(gateway.bootstrap.adminKeyFile, "utf8").trim();
      firstStart.seed = await seedLocalConsortium(gateway.ctx);
      writeKeysEnv(keysEnv, firstStart.seed.apiKeys, adminKey);
    }
  }
  return {
    config,
    gateway,
    chain,
    rpcUrl,
    keysEnv,
    firstStart,
    async stop() {
      await gateway.close();
      await chain?.node.stop();
    },
  };
}

/** What `npm start` prints: where everything is, and on the first start how to sign in. */
export async function printProduct(product: Product): Promise<void> {
  const { config, gateway, chain, rpcUrl, keysEnv, firstStart } = product;
  const { ctx } = gateway;
  console.log(`Relief Ledger (救助資金鏈)`);
  console.log(`  chain     ${rpcUrl} (chain id ${ctx.deployment.chainId})${chain ? ", embedded anvil" : ""}`);
  for (const [name, address] of Object.entries(ctx.deployment.addresses)) console.log(`  ${name.padEnd(9)} ${address}`);
  console.log(`  database  ${config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : shown(config.sqlitePath)}`);
  console.log(`  API       ${gateway.url}/v1   docs ${gateway.url}/docs   OpenAPI ${gateway.url}/openapi.json`);

  if (firstStart) {
    console.log("");
    console.log("First start. The administrator signs in with the API key in");
    console.log(`  ${shown(firstStart.adminKeyFile)}   (mode 0600; the key itself is never printed or logged)`);
    console.log(`  curl -H "Authorization: Bearer $(cat ${shown(firstStart.adminKeyFile)})" ${gateway.url}/v1/me`);
    if (firstStart.seed) {
      console.log("");
      console.log("Local demo consortium registered on the development chain (朝陽區 110105, 建外街道 110105001000):");
      for (const inst of await ctx.store.listInstitutions()) console.log(`  ${inst.id.padEnd(20)} ${inst.name}`);
      console.log("Programmes:");
      for (const p of firstStart.seed.programmes) console.log(`  ${String(p.programmeId).padStart(2)} ${p.name}`);
    }
  }
  if (fs.existsSync(keysEnv)) console.log(`\nAPI keys of the local institutions: source ${shown(keysEnv)}`);
}

async function main() {
  const product = await startProduct();
  await printProduct(product);
  console.log("Press Ctrl-C to stop.");
  const stop = async () => {
    await product.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (process.env.RELIEF_EXIT_AFTER_START === "1") await stop();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
