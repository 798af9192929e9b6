/**
 * The gateway's configuration, from the environment, validated at start-up. Every key has a default; secrets are
 * never configured here (they are generated into the key directory, mode 0600, or read from files).
 *
 * | variable                       | default               | meaning                                              |
 * | ------------------------------ | --------------------- | ---------------------------------------------------- |
 * | `RELIEF_GATEWAY_HOST`          | `127.0.0.1`           | address the API listens on                           |
 * | `RELIEF_GATEWAY_PORT`          | `8080`                | port of the API and pages                            |
 * | `RELIEF_DATA_DIR`              | `.relief`             | chain state, deployment, keys (`keys/`, mode 0700)   |
 * | `DATABASE_URL`                 | none                  | PostgreSQL; without it SQLite at `RELIEF_SQLITE_PATH` |
 * | `RELIEF_SQLITE_PATH`           | `data/relief.sqlite`  | the embedded database                                |
 * | `RELIEF_BODY_LIMIT`            | `1mb`                 | largest JSON body (CSV uploads: `RELIEF_CSV_LIMIT`)   |
 * | `RELIEF_CSV_LIMIT`             | `20mb`                | largest CSV upload                                   |
 * | `RELIEF_ANCHOR_BATCH`          | `1000`                | records per anchor                                   |
 * | `RELIEF_ANCHOR_INTERVAL_MS`    | `5000`                | pause between anchoring rounds                       |
 * | `RELIEF_ANCHOR_LEASE_MS`       | `120000`              | how long a claimed outbox entry waits for its claimer |
 * | `RELIEF_CODE_TTL_HOURS`        | `72`                  | life of a beneficiary's one-time code                |
 * | `RELIEF_CODE_MAX_FAILURES`     | `5`                   | failed sign-ins before the code locks                |
 * | `RELIEF_CODE_LOCK_MINUTES`     | `15`                  | how long a locked code stays locked                  |
 * | `RELIEF_SESSION_MINUTES`       | `30`                  | life of a beneficiary session                        |
 * | `RELIEF_LOG_LEVEL`             | `info`                | pino level                                           |
 * | `RELIEF_VOUCHER_KEEPER_MS`     | `60000`               | pause between voucher keeper rounds (0: no keeper)   |
 * | `RELIEF_SUBMIT_LANES`          | `8`                   | submitCases batches in flight (1–16)                 |
 */
import path from "node:path";
import { z } from "zod";

export interface GatewayConfig {
  host: string;
  port: number;
  dataDir: string;
  keysDir: string;
  databaseUrl?: string;
  sqlitePath: string;
  bodyLimit: string;
  csvLimit: string;
  anchoring: { batchSize: number; intervalMs: number; leaseMs: number };
  beneficiary: { codeTtlMs: number; maxFailures: number; lockMs: number; sessionTtlMs: number };
  logLevel: string;
  /** The voucher keeper (vouchers/keeper.ts): ms between rounds, 0 for none. */
  vouchers: { keeperMs: number };
  /**
   * The case submitter (cases/submitter.ts): `submitCases` batches a round keeps in flight. Each waits for its block,
   * so the rate is at most lanes × 64 cases a block period: the default 8 (512 cases) suits a block a second (a round
   * of 1,000 cases takes about two block periods); raise it for a chain with a longer block period, up to 16 (a round).
   */
  submitter: { lanes: number };
}

const env = z.object({
  RELIEF_GATEWAY_HOST: z.string().min(1).default("127.0.0.1"),
  RELIEF_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  RELIEF_DATA_DIR: z.string().min(1).default(".relief"),
  DATABASE_URL: z.string().optional(),
  RELIEF_SQLITE_PATH: z.string().min(1).default(path.join("data", "relief.sqlite")),
  RELIEF_BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/)
    .default("1mb"),
  RELIEF_CSV_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/)
    .default("20mb"),
  RELIEF_ANCHOR_BATCH: z.coerce.number().int().min(1).max(100_000).default(1000),
  RELIEF_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(10).default(5000),
  // A claim that a crashed gateway never turned into an anchor is claimable again after this long.
  RELIEF_ANCHOR_LEASE_MS: z.coerce.number().int().min(1000).default(120_000),
  RELIEF_CODE_TTL_HOURS: z.coerce.number().positive().default(72),
  RELIEF_CODE_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  RELIEF_CODE_LOCK_MINUTES: z.coerce.number().positive().default(15),
  RELIEF_SESSION_MINUTES: z.coerce.number().positive().default(30),
  RELIEF_VOUCHER_KEEPER_MS: z.coerce.number().int().min(0).default(60_000),
  RELIEF_SUBMIT_LANES: z.coerce.number().int().min(1).max(16).default(8),
  RELIEF_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export class GatewayConfigError extends Error {}

export function loadGatewayConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
  cwd = process.cwd(),
): GatewayConfig {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GatewayConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.RELIEF_DATA_DIR);
  return {
    host: e.RELIEF_GATEWAY_HOST,
    port: e.RELIEF_GATEWAY_PORT,
    dataDir,
    keysDir: path.join(dataDir, "keys"),
    databaseUrl: e.DATABASE_URL || undefined,
    sqlitePath: path.resolve(cwd, e.RELIEF_SQLITE_PATH),
    bodyLimit: e.RELIEF_BODY_LIMIT,
    csvLimit: e.RELIEF_CSV_LIMIT,
    anchoring: {
      batchSize: e.RELIEF_ANCHOR_BATCH,
      intervalMs: e.RELIEF_ANCHOR_INTERVAL_MS,
      leaseMs: e.RELIEF_ANCHOR_LEASE_MS,
    },
    beneficiary: {
      codeTtlMs: e.RELIEF_CODE_TTL_HOURS * 3_600_000,
      maxFailures: e.RELIEF_CODE_MAX_FAILURES,
      lockMs: e.RELIEF_CODE_LOCK_MINUTES * 60_000,
      sessionTtlMs: e.RELIEF_SESSION_MINUTES * 60_000,
    },
    logLevel: e.RELIEF_LOG_LEVEL,
    vouchers: { keeperMs: e.RELIEF_VOUCHER_KEEPER_MS },
    submitter: { lanes: e.RELIEF_SUBMIT_LANES },
  };
}
