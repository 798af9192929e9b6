/**
 * The Fabric ledger's configuration (`RELIEF_LEDGER=fabric`), read from the environment and validated at start-up.
 * Certificates and keys come from files, never from the repository; key files must be mode 0600.
 *
 * | variable                              | default   | meaning                                               |
 * | ------------------------------------- | --------- | ----------------------------------------------------- |
 * | `RELIEF_FABRIC_PEER_ENDPOINT`         | required  | the peer's Gateway endpoint, `host:port`              |
 * | `RELIEF_FABRIC_TLS_CA`                | required  | PEM file of the peer's TLS CA                         |
 * | `RELIEF_FABRIC_PEER_HOST_ALIAS`       | none      | host name in the peer's TLS certificate               |
 * | `RELIEF_FABRIC_MSP_ID`                | required  | the gateway's organisation, e.g. `CivilAffairsMSP`    |
 * | `RELIEF_FABRIC_CHANNEL`               | `relief`  | channel name                                          |
 * | `RELIEF_FABRIC_CHAINCODE`             | `relief`  | chaincode name as committed                           |
 * | `RELIEF_FABRIC_CONTRACT`              | `relief`  | contract name inside the chaincode (empty: default)   |
 * | `RELIEF_FABRIC_IDENTITIES`            | none      | JSON file `{ "<actor>": { "certificate", "privateKey" } }` |
 * | `RELIEF_FABRIC_CERT_<ACTOR>`          | none      | PEM certificate file of one actor's identity          |
 * | `RELIEF_FABRIC_KEY_<ACTOR>`           | none      | PEM private key file of that identity (mode 0600)     |
 * | `RELIEF_FABRIC_EVALUATE_TIMEOUT_MS`   | 5000      | deadline of a query                                   |
 * | `RELIEF_FABRIC_ENDORSE_TIMEOUT_MS`    | 15000     | deadline of an endorsement                            |
 * | `RELIEF_FABRIC_SUBMIT_TIMEOUT_MS`     | 5000      | deadline of handing a transaction to the orderer      |
 * | `RELIEF_FABRIC_COMMIT_TIMEOUT_MS`     | 60000     | how long a write waits for its commit status          |
 * | `RELIEF_FABRIC_EVENTS_IDLE_MS`        | 1000      | a quiet event stream for this long ends a read        |
 * | `RELIEF_FABRIC_RETRIES`               | 3         | re-endorsements after a read conflict                 |
 * | `RELIEF_PAYOUT_CHUNK`                 | 200       | cases per payout transaction                          |
 * | `RELIEF_SETTLEMENT_CHUNK`             | 200       | payouts per settlement transaction                    |
 *
 * Every `RELIEF_FABRIC_CERT_<ACTOR>` needs its `RELIEF_FABRIC_KEY_<ACTOR>`; the actor id is the suffix in lower case.
 * Actor ids with a hyphen (the gateway's own `gateway-anchorer`) go in the identities file, whose paths resolve
 * against the file's folder; the environment overrides the file.
 */
import fs from "node:fs";
import path from "node:path";
import { LedgerConfigError } from "./errors";
import { FABRIC_DEFAULTS, FabricLedger } from "./fabric";
import {
  FABRIC_GRPC_DEFAULTS,
  FabricConnection,
  type FabricGrpcOptions,
  type FabricIdentityFiles,
} from "./fabric-grpc";
import type { FabricTransport } from "./fabric-transport";
import type { Deployment } from "../../../lib/deploy";
import type { ActorId } from "./ledger";

type Env = Readonly<Record<string, string | undefined>>;

export interface FabricLedgerConfig {
  connection: FabricGrpcOptions;
  identities: Record<ActorId, FabricIdentityFiles>;
  retries: number;
  payoutChunkSize: number;
  settlementChunkSize: number;
}

const CERT_PREFIX = "RELIEF_FABRIC_CERT_";
const KEY_PREFIX = "RELIEF_FABRIC_KEY_";

/** Which ledger the gateway runs on: `RELIEF_LEDGER` (`evm`, the default, or `fabric`). */
export function ledgerKind(env: Env = process.env): "evm" | "fabric" {
  const kind = (env.RELIEF_LEDGER ?? "evm").trim().toLowerCase();
  if (kind !== "evm" && kind !== "fabric")
    throw new LedgerConfigError(`RELIEF_LEDGER must be evm or fabric, not "${kind}"`);
  return kind;
}

const NO_ADDRESS = `0x${"0".repeat(40)}`;

/**
 * What the gateway records as its deployment on Fabric: no EVM chain id or contract addresses (chain id 0, zero
 * addresses), events from block 0. The audit documents that name an EVM deployment are not Fabric-aware yet.
 */
export function fabricDeployment(): Deployment {
  return {
    chainId: 0n,
    deployedAtBlock: 0,
    addresses: {
      registry: NO_ADDRESS,
      ledger: NO_ADDRESS,
      receipts: NO_ADDRESS,
      anchors: NO_ADDRESS,
      vouchers: NO_ADDRESS,
    },
  };
}

/** Reads and validates the Fabric configuration. Relative paths resolve against `cwd`. */
export function loadFabricConfig(env: Env = process.env, cwd: string = process.cwd()): FabricLedgerConfig {
  const required = (name: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new LedgerConfigError(`${name} is required with RELIEF_LEDGER=fabric`);
    return v;
  };
  const endpoint = required("RELIEF_FABRIC_PEER_ENDPOINT");
  if (!/^[^\s:/]+:[0-9]{1,5}$/.test(endpoint)) {
    throw new LedgerConfigError(`RELIEF_FABRIC_PEER_ENDPOINT must be host:port, not "${endpoint}"`);
  }
  const tlsCaFile = path.resolve(cwd, required("RELIEF_FABRIC_TLS_CA"));
  const identities: Record<ActorId, FabricIdentityFiles> = env.RELIEF_FABRIC_IDENTITIES
    ? identitiesFile(path.resolve(cwd, env.RELIEF_FABRIC_IDENTITIES))
    : {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(CERT_PREFIX) || !value) continue;
    const suffix = name.slice(CERT_PREFIX.length);
    if (!/^[A-Z0-9][A-Z0-9_]*$/.test(suffix)) throw new LedgerConfigError(`${name}: the actor name must be [A-Z0-9_]`);
    const keyFile = env[KEY_PREFIX + suffix];
    if (!keyFile) throw new LedgerConfigError(`${name} is set but ${KEY_PREFIX}${suffix} is not`);
    identities[suffix.toLowerCase()] = {
      certificate: readFile(path.resolve(cwd, value), name),
      privateKey: readSecret(path.resolve(cwd, keyFile), KEY_PREFIX + suffix),
    };
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith(KEY_PREFIX) && env[CERT_PREFIX + name.slice(KEY_PREFIX.length)] === undefined) {
      throw new LedgerConfigError(`${name} is set but ${CERT_PREFIX}${name.slice(KEY_PREFIX.length)} is not`);
    }
  }
  return {
    connection: {
      peerEndpoint: endpoint,
      tlsCaCertificate: readFile(tlsCaFile, "RELIEF_FABRIC_TLS_CA"),
      peerHostAlias: env.RELIEF_FABRIC_PEER_HOST_ALIAS?.trim() || undefined,
      mspId: required("RELIEF_FABRIC_MSP_ID"),
      channel: env.RELIEF_FABRIC_CHANNEL?.trim() || "relief",
      chaincode: env.RELIEF_FABRIC_CHAINCODE?.trim() || "relief",
      contract: env.RELIEF_FABRIC_CONTRACT === undefined ? "relief" : env.RELIEF_FABRIC_CONTRACT.trim(),
      evaluateTimeoutMs: positive(env, "RELIEF_FABRIC_EVALUATE_TIMEOUT_MS", FABRIC_GRPC_DEFAULTS.evaluateTimeoutMs),
      endorseTimeoutMs: positive(env, "RELIEF_FABRIC_ENDORSE_TIMEOUT_MS", FABRIC_GRPC_DEFAULTS.endorseTimeoutMs),
      submitTimeoutMs: positive(env, "RELIEF_FABRIC_SUBMIT_TIMEOUT_MS", FABRIC_GRPC_DEFAULTS.submitTimeoutMs),
      commitStatusTimeoutMs: positive(
        env,
        "RELIEF_FABRIC_COMMIT_TIMEOUT_MS",
        FABRIC_GRPC_DEFAULTS.commitStatusTimeoutMs,
      ),
      eventsIdleMs: positive(env, "RELIEF_FABRIC_EVENTS_IDLE_MS", FABRIC_GRPC_DEFAULTS.eventsIdleMs),
    },
    identities,
    retries: positive(env, "RELIEF_FABRIC_RETRIES", FABRIC_DEFAULTS.retries),
    payoutChunkSize: positive(env, "RELIEF_PAYOUT_CHUNK", FABRIC_DEFAULTS.payoutChunkSize),
    settlementChunkSize: positive(env, "RELIEF_SETTLEMENT_CHUNK", FABRIC_DEFAULTS.settlementChunkSize),
  };
}

/** A {@link FabricLedger} over one gRPC connection, with a transport per configured identity. */
export function openFabricLedger(config: FabricLedgerConfig): FabricLedger {
  if (Object.keys(config.identities).length === 0) {
    throw new LedgerConfigError(
      "no Fabric identity: set RELIEF_FABRIC_IDENTITIES or RELIEF_FABRIC_CERT_<ACTOR> and RELIEF_FABRIC_KEY_<ACTOR>",
    );
  }
  const connection = new FabricConnection(config.connection);
  const actors: Record<ActorId, FabricTransport> = {};
  try {
    for (const [actor, files] of Object.entries(config.identities)) actors[actor] = connection.transport(files);
  } catch (err) {
    connection.close();
    throw err;
  }
  return new FabricLedger({
    actors,
    retries: config.retries,
    payoutChunkSize: config.payoutChunkSize,
    settlementChunkSize: config.settlementChunkSize,
  });
}

/** The identities file: actor id → PEM file paths, relative to the file. */
function identitiesFile(file: string): Record<ActorId, FabricIdentityFiles> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(file, "RELIEF_FABRIC_IDENTITIES").toString("utf8"));
  } catch (cause) {
    if (cause instanceof LedgerConfigError) throw cause;
    throw new LedgerConfigError(`RELIEF_FABRIC_IDENTITIES ${file} is not JSON`, { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new LedgerConfigError(`RELIEF_FABRIC_IDENTITIES ${file} is not a JSON object of identities`);
  }
  const dir = path.dirname(file);
  const out: Record<ActorId, FabricIdentityFiles> = {};
  for (const [actor, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const e = entry as { certificate?: unknown; privateKey?: unknown };
    if (typeof e?.certificate !== "string" || typeof e?.privateKey !== "string") {
      throw new LedgerConfigError(`${file}: actor "${actor}" needs "certificate" and "privateKey" file paths`);
    }
    out[actor] = {
      certificate: readFile(path.resolve(dir, e.certificate), `${file}: ${actor}.certificate`),
      privateKey: readSecret(path.resolve(dir, e.privateKey), `${file}: ${actor}.privateKey`),
    };
  }
  return out;
}

function readFile(file: string, variable: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (cause) {
    throw new LedgerConfigError(`${variable}: cannot read ${file}`, { cause });
  }
}

/** A key file's bytes; refuses one that group or others may read (POSIX). */
function readSecret(file: string, variable: string): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (cause) {
    throw new LedgerConfigError(`${variable}: cannot read ${file}`, { cause });
  }
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    throw new LedgerConfigError(`${variable}: key file ${file} is readable by group or others: chmod 600 it`);
  }
  return readFile(file, variable);
}

function positive(env: Env, name: string, fallback: number): number {
  const value = env[name]?.trim();
  if (value === undefined || value === "") return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new LedgerConfigError(`${name} must be a positive integer, not "${value}"`);
  }
  return Number(value);
}
