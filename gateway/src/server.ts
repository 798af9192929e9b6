/**
 * Opens the gateway: store, keys, chain, anchoring worker, and the HTTP server. `openGateway` gives tests the app
 * without listening; `startGateway` listens.
 */
import type { Server } from "node:http";
import path from "node:path";
import type { Deployment } from "../../lib/deploy";
import { AnchoringWorker } from "./anchoring";
import { createApp } from "./app";
import { type BootstrapResult, bootstrap } from "./bootstrap";
import type { GatewayConfig } from "./config";
import { GATEWAY_ACTORS, type GatewayContext } from "./context";
import { ChainKeys } from "./institutions/chain-keys";
import { Keyring } from "./keys";
import {
  EvmLedger,
  fabricDeployment,
  ledgerKind,
  loadActorKeys,
  loadEvmTuning,
  loadDeployment,
  loadFabricConfig,
  openFabricLedger,
  type GatewayLedger,
} from "./ledger";
import { type Logger, createLogger } from "./log";
import { createMetrics } from "./ops/metrics";
import { resumePayoutRuns } from "./payouts/resume";
import { startCaseSubmitter } from "./cases/submitter";
import { startVoucherKeeper } from "./vouchers/keeper";
import { type Store, openStore } from "./store";

export interface GatewayOptions {
  config: GatewayConfig;
  rpcUrl: string;
  /** Default: `<data dir>/deployment.json`, as `npm start` writes it. */
  deployment?: Deployment;
  log?: Logger;
  now?: () => Date;
  /** A store opened by the caller (tests: a PostgreSQL schema of their own); it is closed with the gateway. */
  store?: Store;
  /** Run the anchoring worker in this process (default true). */
  anchoring?: boolean;
}

export interface Gateway {
  ctx: GatewayContext;
  app: ReturnType<typeof createApp>;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

export async function openGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const now = options.now ?? (() => new Date());
  // RELIEF_LEDGER=fabric: the chaincode on a Fabric channel (docs/FABRIC.md) instead of the EVM contracts.
  const onFabric = ledgerKind(process.env) === "fabric";
  const deployment =
    options.deployment ??
    (onFabric
      ? fabricDeployment()
      : loadDeployment(
          path.resolve(process.env.RELIEF_DEPLOYMENT_FILE ?? path.join(config.dataDir, "deployment.json")),
        ));
  const store =
    // The configuration decides (it read DATABASE_URL already); the store must not consult the environment again.
    options.store ?? (await openStore({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath, now }, {}));
  const closers: (() => Promise<void>)[] = [() => store.close()];
  try {
    const keyring = await Keyring.open({ dir: config.keysDir, store });
    const chainKeys = ChainKeys.open(path.join(config.keysDir, "chain-keys.json"));
    const ledger: GatewayLedger = onFabric
      ? openFabricLedger(loadFabricConfig(process.env, process.cwd()))
      : new EvmLedger({
          // RELIEF_RPC_TIMEOUT_MS, RELIEF_TX_TIMEOUT_MS and the batch sizes apply to the gateway as documented.
          ...loadEvmTuning(process.env),
          rpcUrl: options.rpcUrl,
          chainId: deployment.chainId,
          addresses: deployment.addresses,
          // Keys from the environment (RELIEF_CHAIN_KEY_<ACTOR>, RELIEF_CHAIN_KEYS_FILE) override the key file's.
          actors: { ...Object.fromEntries(chainKeys.entries()), ...loadActorKeys(process.env, process.cwd()) },
        });
    closers.unshift(() => ledger.close());
    await ledger.connect();
    const ctx: GatewayContext = {
      config,
      store,
      ledger,
      rpcUrl: options.rpcUrl,
      chainKeys,
      deployment,
      keyring,
      log,
      metrics: createMetrics(),
      now,
      background: new Set(),
    };
    const boot = await bootstrap(ctx);
    if (options.anchoring !== false) {
      const worker = new AnchoringWorker({
        store,
        ledger,
        actor: GATEWAY_ACTORS.anchorer,
        batchSize: config.anchoring.batchSize,
        intervalMs: config.anchoring.intervalMs,
        leaseMs: config.anchoring.leaseMs,
        onError: (e) => {
          const err = e as { name?: string; code?: string };
          log.warn({ errName: err?.name, errCode: err?.code }, "anchoring round failed");
        },
      });
      ctx.anchoring = worker;
      worker.start();
      closers.unshift(() => worker.stop());
    }
    await resumePayoutRuns(ctx);
    const caseSubmitter = startCaseSubmitter(ctx);
    closers.unshift(() => caseSubmitter.stop());
    if (config.vouchers.keeperMs > 0) {
      const keeper = startVoucherKeeper(ctx, config.vouchers.keeperMs);
      closers.unshift(() => keeper.stop());
    }
    const app = createApp(ctx);
    return {
      ctx,
      app,
      bootstrap: boot,
      async close() {
        await Promise.allSettled([...ctx.background]);
        for (const c of closers) await c();
      },
    };
  } catch (error) {
    for (const c of closers) await c().catch(() => undefined);
    throw error;
  }
}

export async function startGateway(options: GatewayOptions): Promise<Gateway & { server: Server; url: string }> {
  const gateway = await openGateway(options);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = gateway.app.listen(options.config.port, options.config.host, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.config.port;
  return {
    ...gateway,
    server,
    url: `http://${options.config.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
    },
  };
}
