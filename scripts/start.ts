/**
 * `npm start`: a local chain (anvil, state kept in .relief/) with the Relief Ledger contracts deployed.
 * Re-running it reuses the chain and the deployment. Stop with Ctrl-C (the chain state is saved).
 */
import fs from "node:fs";
import path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { startAnvil } from "../lib/anvil";
import { deployLedger, type Deployment } from "../lib/deploy";

const DATA_DIR = path.resolve(process.env.RELIEF_DATA_DIR ?? ".relief");
const PORT = Number(process.env.RELIEF_CHAIN_PORT ?? 8545);
// anvil's first well-known development account: public, for a local chain only, never for a real one.
const DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

async function main() {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const node = await startAnvil({ port: PORT, stateFile: path.join(DATA_DIR, "chain-state.json") });
  const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
  const deployer = new NonceManager(new Wallet(process.env.RELIEF_DEPLOYER_KEY ?? DEV_DEPLOYER_KEY, provider));

  const file = path.join(DATA_DIR, "deployment.json");
  let deployment: Deployment | undefined;
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as Deployment;
    if ((await provider.getCode(saved.addresses.ledger)) !== "0x") deployment = saved;
  }
  const reused = Boolean(deployment);
  if (!deployment) {
    deployment = await deployLedger(deployer);
    fs.writeFileSync(
      file,
      JSON.stringify(deployment, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2),
    );
  }

  console.log(`Relief Ledger — local chain at ${node.url} (chain id ${deployment.chainId})`);
  console.log(reused ? "Contracts (reused from the saved chain state):" : "Contracts deployed:");
  for (const [name, address] of Object.entries(deployment.addresses)) console.log(`  ${name.padEnd(9)} ${address}`);
  console.log(`Deployment saved to ${path.relative(process.cwd(), file)}; chain state in ${DATA_DIR}.`);
  console.log("Press Ctrl-C to stop.");

  const stop = async () => {
    provider.destroy();
    await node.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (process.env.RELIEF_EXIT_AFTER_START === "1") await stop();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
