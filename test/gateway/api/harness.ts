/**
 * The API tests' gateway: a real anvil node with the contracts deployed, a real database (SQLite in a temporary
 * folder, or a fresh PostgreSQL schema), the real gateway app driven through supertest, and the local consortium of
 * `gateway/src/seed/local.ts` registered through the gateway itself. Log lines are captured so tests can scan them for
 * personal data.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import request from "supertest";
import { loadGatewayConfig } from "../../../gateway/src/config";
import { createLogger } from "../../../gateway/src/log";
import { type Gateway, openGateway } from "../../../gateway/src/server";
import { type LocalInstitutionId, type LocalSeed, seedLocalConsortium } from "../../../gateway/src/seed/local";
import { type Store, openPostgresStore } from "../../../gateway/src/store";
import { Chain, deploy, devWallet } from "../ledger/anvil";
import type { Deployment } from "../../../lib/deploy";
import { randomBytes } from "node:crypto";
import { Client } from "pg";

export interface TestGateway {
  chain: Chain;
  deployment: Deployment;
  gateway: Gateway;
  seed: LocalSeed;
  /** The administrator's API key. */
  adminKey: string;
  /** Every log line the gateway wrote, as text. */
  logs: string[];
  dir: string;
  /** supertest on the app, anonymous. */
  http: ReturnType<typeof request>;
  /** Authorization header value of a seeded institution (or "admin"). */
  auth(who: LocalInstitutionId | "admin"): string;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  backend?: "sqlite" | "postgres";
  /** Run the anchoring worker (default false: tests call `gateway.ctx.anchoring` or anchor explicitly). */
  anchoring?: boolean;
  anchorIntervalMs?: number;
  now?: () => Date;
  env?: Record<string, string>;
  /** PostgreSQL to use instead of DATABASE_URL (the fault suite's proxy in front of it). */
  databaseUrl?: string;
  /** The PostgreSQL schema to create (default: a fresh random name). */
  schema?: string;
}

/** `backend: "postgres"` needs DATABASE_URL; callers skip otherwise. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const chain = await Chain.start();
  const deployment = await deploy(chain);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-gateway-"));
  const config = loadGatewayConfig(
    {
      RELIEF_DATA_DIR: path.join(dir, "data"),
      RELIEF_SQLITE_PATH: path.join(dir, "relief.sqlite"),
      RELIEF_LOG_LEVEL: "info",
      RELIEF_ANCHOR_INTERVAL_MS: String(options.anchorIntervalMs ?? 200),
      ...options.env,
    },
    dir,
  );
  fs.mkdirSync(config.keysDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(config.keysDir, "chain-keys.json"), JSON.stringify({ admin: devWallet(0).privateKey }), {
    mode: 0o600,
  });

  let store: Store | undefined;
  let dropSchema: (() => Promise<void>) | undefined;
  if (options.backend === "postgres") {
    const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    if (!databaseUrl) throw new Error("DATABASE_URL is not set");
    const schema = options.schema ?? `relief_api_${randomBytes(6).toString("hex")}`;
    store = await openPostgresStore({ databaseUrl, schema, poolSize: 8, now: options.now });
    dropSchema = async () => {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    };
  }

  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString("utf8"));
      cb();
    },
  });
  const gateway = await openGateway({
    config,
    rpcUrl: chain.url,
    deployment,
    store,
    now: options.now,
    anchoring: options.anchoring ?? false,
    log: createLogger({ level: "info", destination }),
  });
  const seed = await seedLocalConsortium(gateway.ctx);
  const adminKey = fs.readFileSync(gateway.bootstrap.adminKeyFile!, "utf8").trim();
  const http = request(gateway.app);
  return {
    chain,
    deployment,
    gateway,
    seed,
    adminKey,
    logs,
    dir,
    http,
    auth: (who) => `Bearer ${who === "admin" ? adminKey : seed.apiKeys[who]}`,
    async close() {
      await gateway.close();
      await dropSchema?.();
      await chain.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
