/**
 * What every component of the gateway works with, built once by `server.ts` (or a test harness) and passed to each
 * router. Components hold no globals.
 */
import type { Deployment } from "../../lib/deploy";
import type { AnchoringWorker } from "./anchoring";
import type { GatewayConfig } from "./config";
import type { Keyring } from "./keys";
import type { GatewayLedger } from "./ledger";
import type { Logger } from "./log";
import type { Metrics } from "./ops/metrics";
import type { Store } from "./store";
import type { ChainKeys } from "./institutions/chain-keys";

/** Fixed actor and holder ids of the gateway itself. */
export const GATEWAY_ACTORS = {
  /** The registry owner (the chain's administrator key). */
  admin: "admin",
  /** The gateway's anchoring and receipt-attesting institution; its key digest is the receipt-signing key's. */
  anchorer: "gateway-anchorer",
  /** The key holder through which beneficiaries open their own records (class `beneficiary`). */
  beneficiaries: "beneficiaries",
} as const;

export interface GatewayContext {
  config: GatewayConfig;
  store: Store;
  ledger: GatewayLedger;
  /** The chain's JSON-RPC endpoint (to fund new accounts on a development chain). */
  rpcUrl: string;
  /** The file of the institutions' chain keys (mode 0600). */
  chainKeys: ChainKeys;
  deployment: Deployment;
  keyring: Keyring;
  log: Logger;
  metrics: Metrics;
  /** Set when the anchoring worker runs in this process. */
  anchoring?: AnchoringWorker;
  /** The clock of domain decisions (code expiry, sessions); tests move it. */
  now(): Date;
  /** Background work (payout runs) the gateway waits for before closing. */
  background: Set<Promise<unknown>>;
}

/** Runs `task` in the background, tracked so that `close()` can wait for it; errors are logged, never thrown. */
export function runInBackground(ctx: GatewayContext, name: string, task: () => Promise<unknown>): void {
  const p = task()
    .catch((error: unknown) => {
      const e = error as { name?: string; code?: string };
      ctx.log.error({ task: name, errName: e?.name, errCode: e?.code }, "background task failed");
    })
    .finally(() => ctx.background.delete(p));
  ctx.background.add(p);
}
