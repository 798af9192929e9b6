/**
 * The gateway as its own process, for the fault suite: `startGateway` on the configuration of the environment (data
 * folder, SQLite file or DATABASE_URL, port) against the chain at RELIEF_RPC_URL, with the deployment file of the data
 * folder. It prints `READY <url>` once it listens, so the suite can SIGKILL it and start it again on the same folder.
 * Loading the gateway's modules through ts-node takes seconds, so the suite starts the next process ahead of time
 * (RELIEF_FAULTS_PREWARM=1): it loads, then waits for a line on stdin; a restart after a kill is then only the
 * gateway opening its database, keys and chain connection. RELIEF_FAULTS_PAGE_SIZE lowers a payout run's cases per
 * chain call, so that a run has many points to be killed at.
 *
 * Loaded by mocha like every file under test/: it only runs when it is the main module.
 */
import { loadGatewayConfig } from "../../gateway/src/config";
import { payoutRuntime } from "../../gateway/src/payouts/runs";
import { startGateway } from "../../gateway/src/server";

async function main(): Promise<void> {
  const rpcUrl = process.env.RELIEF_RPC_URL;
  if (!rpcUrl) throw new Error("RELIEF_RPC_URL is not set");
  const gateway = await startGateway({ config: loadGatewayConfig(), rpcUrl });
  const pageSize = Number(process.env.RELIEF_FAULTS_PAGE_SIZE ?? 0);
  if (pageSize > 0) payoutRuntime(gateway.ctx).pageSize = pageSize;
  process.stdout.write(`READY ${gateway.url}\n`);
  const stop = () => void gateway.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/** With RELIEF_FAULTS_PREWARM=1 the process loads its modules, then waits for a line on stdin before it opens. */
async function whenToldToStart(): Promise<void> {
  if (process.env.RELIEF_FAULTS_PREWARM !== "1") return;
  process.stdout.write("LOADED\n");
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
}

if (require.main === module) {
  whenToldToStart()
    .then(main)
    .catch((error: unknown) => {
      const e = error as { name?: string; code?: string; message?: string };
      process.stderr.write(`gateway failed to start: ${e?.name} ${e?.code ?? ""} ${e?.message ?? ""}\n`);
      process.exit(1);
    });
}
