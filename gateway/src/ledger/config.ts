/**
 * The EVM ledger's configuration, read from the environment and validated at start-up. Every key has a default
 * except the institutions' chain keys, which come from files or the environment and never from the repository.
 *
 * | variable                         | default                              | meaning                                  |
 * | -------------------------------- | ------------------------------------ | ---------------------------------------- |
 * | `RELIEF_RPC_URL`                 | `http://127.0.0.1:$RELIEF_CHAIN_PORT` | JSON-RPC endpoint (port default 8545)    |
 * | `RELIEF_DEPLOYMENT_FILE`         | `$RELIEF_DATA_DIR/deployment.json`   | as `npm start` writes it (`.relief/`)    |
 * | `RELIEF_CHAIN_ID`                | the deployment file's                | must agree with the deployment file      |
 * | `RELIEF_CHAIN_KEYS_FILE`         | none                                 | JSON `{ "actor": "0x<private key>" }`    |
 * | `RELIEF_CHAIN_KEY_<ACTOR>`       | none                                 | one actor's key (`<ACTOR>` upper case)   |
 * | `RELIEF_CHAIN_KEY_FILE_<ACTOR>`  | none                                 | a file holding one actor's key           |
 * | `RELIEF_RPC_TIMEOUT_MS`          | 10000                                | deadline of each JSON-RPC request        |
 * | `RELIEF_TX_TIMEOUT_MS`           | 60000                                | how long a write waits to be mined       |
 * | `RELIEF_POLL_INTERVAL_MS`        | 250                                  | longest pause between receipt polls      |
 * | `RELIEF_PAYOUT_CHUNK`            | 1000                                 | cases per payout transaction             |
 * | `RELIEF_SETTLEMENT_CHUNK`        | 500                                  | payouts per settlement transaction       |
 * | `RELIEF_TX_GAS_CAP`              | 16777216                             | gas one transaction may use              |
 * | `RELIEF_LOG_BLOCK_SPAN`          | 5000                                 | blocks per `eth_getLogs`                 |
 *
 * With `RELIEF_LEDGER=fabric` the gateway runs on the Fabric chaincode instead: its variables (`RELIEF_FABRIC_*`) are
 * read by `loadFabricConfig` in fabric-config.ts (docs/FABRIC.md).
 *
 * Actor ids from the environment are the variable's suffix in lower case (`RELIEF_CHAIN_KEY_COUNTY_FINANCE` is
 * the actor `county_finance`); the keys file may use any id. Environment keys override the file. Key files
 * must not be readable by group or others.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress } from "ethers";
import type { Deployment, LedgerAddresses } from "../../../lib/deploy";
import { LedgerConfigError } from "./errors";
import { EVM_DEFAULTS, type EvmLedgerOptions } from "./evm";
import type { ActorId } from "./ledger";

export interface LedgerConfig {
  rpcUrl: string;
  chainId: bigint;
  deploymentFile: string;
  deployment: Deployment;
  /** Private keys (0x-prefixed hex) by actor id. */
  actorKeys: Record<ActorId, string>;
  rpcTimeoutMs: number;
  receiptTimeoutMs: number;
  pollIntervalMs: number;
  payoutChunkSize: number;
  settlementChunkSize: number;
  txGasCap: bigint;
  logBlockSpan: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const KEY_PREFIX = "RELIEF_CHAIN_KEY_";
const KEY_FILE_PREFIX = "RELIEF_CHAIN_KEY_FILE_";
const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;
const ACTOR_FROM_ENV = /^[A-Z0-9][A-Z0-9_]*$/;

/** Reads and validates the ledger configuration. Relative paths resolve against `cwd`. */
export function loadLedgerConfig(env: Env = process.env, cwd: string = process.cwd()): LedgerConfig {
  const dataDir = path.resolve(cwd, env.RELIEF_DATA_DIR ?? ".relief");
  const deploymentFile = path.resolve(cwd, env.RELIEF_DEPLOYMENT_FILE ?? path.join(dataDir, "deployment.json"));
  const deployment = loadDeployment(deploymentFile);
  const chainId = env.RELIEF_CHAIN_ID === undefined ? deployment.chainId : integer(env, "RELIEF_CHAIN_ID", 1n);
  if (chainId !== deployment.chainId) {
    throw new LedgerConfigError(
      `RELIEF_CHAIN_ID is ${chainId} but ${deploymentFile} is on chain ${deployment.chainId}`,
    );
  }
  const port = env.RELIEF_CHAIN_PORT ?? "8545";
  const rpcUrl = env.RELIEF_RPC_URL ?? `http://127.0.0.1:${port}`;
  try {
    const url = new URL(rpcUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(url.protocol);
  } catch (cause) {
    throw new LedgerConfigError(`RELIEF_RPC_URL is not an http(s) URL: ${rpcUrl}`, { cause });
  }
  return {
    rpcUrl,
    chainId,
    deploymentFile,
    deployment,
    actorKeys: loadActorKeys(env, cwd),
    ...loadEvmTuning(env),
  };
}

/** The EVM adapter's deadlines, polling and batch sizes from the environment (each with its default). */
export type EvmTuning = Pick<
  LedgerConfig,
  | "rpcTimeoutMs"
  | "receiptTimeoutMs"
  | "pollIntervalMs"
  | "payoutChunkSize"
  | "settlementChunkSize"
  | "txGasCap"
  | "logBlockSpan"
>;

export function loadEvmTuning(env: Env = process.env): EvmTuning {
  return {
    rpcTimeoutMs: Number(integer(env, "RELIEF_RPC_TIMEOUT_MS", BigInt(EVM_DEFAULTS.rpcTimeoutMs))),
    receiptTimeoutMs: Number(integer(env, "RELIEF_TX_TIMEOUT_MS", BigInt(EVM_DEFAULTS.receiptTimeoutMs))),
    pollIntervalMs: Number(integer(env, "RELIEF_POLL_INTERVAL_MS", BigInt(EVM_DEFAULTS.pollIntervalMs))),
    payoutChunkSize: Number(integer(env, "RELIEF_PAYOUT_CHUNK", BigInt(EVM_DEFAULTS.payoutChunkSize))),
    settlementChunkSize: Number(integer(env, "RELIEF_SETTLEMENT_CHUNK", BigInt(EVM_DEFAULTS.settlementChunkSize))),
    txGasCap: integer(env, "RELIEF_TX_GAS_CAP", EVM_DEFAULTS.txGasCap),
    logBlockSpan: Number(integer(env, "RELIEF_LOG_BLOCK_SPAN", BigInt(EVM_DEFAULTS.logBlockSpan))),
  };
}

/** The options of an `EvmLedger` for a configuration. */
export function evmLedgerOptions(config: LedgerConfig): EvmLedgerOptions {
  return {
    rpcUrl: config.rpcUrl,
    chainId: config.chainId,
    addresses: config.deployment.addresses,
    actors: config.actorKeys,
    rpcTimeoutMs: config.rpcTimeoutMs,
    receiptTimeoutMs: config.receiptTimeoutMs,
    pollIntervalMs: config.pollIntervalMs,
    payoutChunkSize: config.payoutChunkSize,
    settlementChunkSize: config.settlementChunkSize,
    txGasCap: config.txGasCap,
    logBlockSpan: config.logBlockSpan,
  };
}

/** Reads a deployment record as `scripts/start.ts` writes it (the chain id may be a string). */
export function loadDeployment(file: string): Deployment {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new LedgerConfigError(`cannot read the deployment file ${file}: run "npm start" to deploy`, { cause });
  }
  const d = raw as { chainId?: unknown; deployedAtBlock?: unknown; addresses?: Record<string, unknown> };
  const fail = (what: string): never => {
    throw new LedgerConfigError(`${file}: ${what}`);
  };
  if (typeof d !== "object" || d === null) fail("not a JSON object");
  const chainId = typeof d.chainId === "string" || typeof d.chainId === "number" ? BigInt(d.chainId) : fail("chainId");
  if (chainId <= 0n) fail("chainId must be positive");
  const deployedAtBlock = Number(d.deployedAtBlock ?? 0);
  if (!Number.isSafeInteger(deployedAtBlock) || deployedAtBlock < 0) fail("deployedAtBlock");
  const addresses = {} as LedgerAddresses;
  // A deployment from before the voucher book (issue 9) is refused: the gateway's voucher routes and the event
  // stream need it, and a silent half-ledger would hide the missing contract until a beneficiary's voucher fails.
  if (typeof d.addresses === "object" && d.addresses !== null && d.addresses.vouchers === undefined) {
    fail(`addresses.vouchers is missing: the deployment predates the voucher book; redeploy ("npm start")`);
  }
  for (const name of ["registry", "ledger", "receipts", "anchors", "vouchers"] as const) {
    const value = d.addresses?.[name];
    try {
      addresses[name] = getAddress(String(value));
    } catch {
      fail(`addresses.${name} is not an address`);
    }
  }
  return { chainId, deployedAtBlock, addresses };
}

export function loadActorKeys(env: Env, cwd: string): Record<ActorId, string> {
  const keys: Record<ActorId, string> = {};
  if (env.RELIEF_CHAIN_KEYS_FILE) {
    const file = path.resolve(cwd, env.RELIEF_CHAIN_KEYS_FILE);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readSecret(file));
    } catch (cause) {
      if (cause instanceof LedgerConfigError) throw cause;
      throw new LedgerConfigError(`RELIEF_CHAIN_KEYS_FILE ${file} is not a JSON object of keys`, { cause });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new LedgerConfigError(`RELIEF_CHAIN_KEYS_FILE ${file} is not a JSON object of keys`);
    }
    for (const [actor, value] of Object.entries(parsed)) {
      keys[actor] = privateKey(value, `${file}: actor "${actor}"`);
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith(KEY_FILE_PREFIX)) {
      const actor = actorFromEnv(name, KEY_FILE_PREFIX);
      keys[actor] = privateKey(readSecret(path.resolve(cwd, value)).trim(), name);
    } else if (name.startsWith(KEY_PREFIX)) {
      keys[actorFromEnv(name, KEY_PREFIX)] = privateKey(value.trim(), name);
    }
  }
  return keys;
}

function actorFromEnv(name: string, prefix: string): ActorId {
  const suffix = name.slice(prefix.length);
  if (!ACTOR_FROM_ENV.test(suffix)) throw new LedgerConfigError(`${name}: the actor name must be [A-Z0-9_]`);
  return suffix.toLowerCase();
}

function privateKey(value: unknown, where: string): string {
  if (typeof value !== "string" || !PRIVATE_KEY.test(value)) {
    throw new LedgerConfigError(`${where} is not a 32-byte hex private key`);
  }
  return value.startsWith("0x") ? value.toLowerCase() : `0x${value.toLowerCase()}`;
}

/** A secret file's text; refuses a file that group or others may read (POSIX). */
function readSecret(file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (cause) {
    throw new LedgerConfigError(`cannot read the key file ${file}`, { cause });
  }
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    throw new LedgerConfigError(`key file ${file} is readable by group or others: chmod 600 it`);
  }
  return fs.readFileSync(file, "utf8");
}

function integer(env: Env, name: string, fallback: bigint): bigint {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if (!/^[0-9]+$/.test(value.trim()) || BigInt(value.trim()) < 1n) {
    throw new LedgerConfigError(`${name} must be a positive integer, not "${value}"`);
  }
  return BigInt(value.trim());
}
