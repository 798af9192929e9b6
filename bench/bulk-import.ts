/**
 * Bulk import: synthetic households sealed as their four records (identity, household, payment, application
 * manifest) with a wrapped data key per grant (24 a household, 6 a record on average, for the local consortium's
 * holders of 建外街道) and an outbox entry per record, stored in transactions of 500 households. Two pipelines over
 * the same store schema, side by side:
 *
 * - chosen: the production path, `sealApplication` (gateway/src/cases/sealing.ts: `sealRecord` with a real `Keyring`
 *   behind a `KekCache`; Node's OpenSSL SM4-CBC + HMAC-SM3, data keys wrapped under the holders' KEKs) and
 *   `storeSealedMany` for each transaction's records (multi-row INSERTs, as `importCases` stores them);
 * - baseline, "sm-crypto 0.5.8 alone for everything": the same envelope construction and byte layout (v1
 *   SM4-CBC-HMAC-SM3: keys derived with HMAC-SM3, SM4-CBC with PKCS#7, HMAC-SM3 tag; SM3 record digest) computed
 *   with sm-crypto's `sm4.encrypt(…, { mode: "cbc", iv })` and `sm3(…, { key })`, and every data key SM2-encrypted
 *   straight to each holder's public key with `sm2.doEncrypt` (no KEK layer; the raw C1C3C2 bytes are the wrapped
 *   key). Its envelopes parse and open with `openData` (checked on the first record), its digests match
 *   (`storeSealedMany` checks them), so it is stored by the same `storeSealedMany` into the same columns with the same
 *   kinds.
 *
 * Randomness (data keys, IVs) is Node's CSPRNG in both. Inputs are validated with `applicationSchema` beforehand,
 * outside the timed part.
 *
 * And the whole production CSV import, `importCases` (gateway/src/cases/service.ts), on a running gateway
 * ({@link importCsv}): what an import of a file costs end to end, the case index and audit entries included.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Wallet, hexlify } from "ethers";
import { Client } from "pg";
import { sm2 as sm2v1, sm3 as sm3v1, sm4 as sm4v1 } from "sm-crypto";
import type { InstitutionPrincipal } from "../gateway/src/auth";
import { type ApplicationInput, applicationSchema, splitByFieldClass } from "../gateway/src/cases/application";
import { CSV_COLUMNS } from "../gateway/src/cases/csv";
import {
  APPLICATION_MANIFEST_FORMAT,
  CASE_RECORD_SCHEMA_VERSION,
  type CaseHolders,
  type CaseRecordKind,
  HolderDirectory,
  KekCache,
  type SealedApplication,
  grantsFor,
  sealApplication,
  sealedList,
} from "../gateway/src/cases/sealing";
import { IMPORT_CHUNK, importCases } from "../gateway/src/cases/service";
import { GATEWAY_ACTORS, type GatewayContext } from "../gateway/src/context";
import {
  Sm2PrivateKey,
  Sm2PublicKey,
  openData,
  sm2CiphertextFromC1C3C2Hex,
  unwrapDataKey,
} from "../gateway/src/crypto";
import { Keyring } from "../gateway/src/keys";
import {
  type Grant,
  RECORD_DIGEST_PREFIX,
  type SealedRecord,
  encodeRecordHeader,
  newRecordId,
  storeSealedMany,
} from "../gateway/src/records";
import { LOCAL_INSTITUTIONS } from "../gateway/src/seed/local";
import { type Dialect, type JsonValue, type Store, openPostgresStore, openSqliteStore } from "../gateway/src/store";
import { BENCH_REGION, householdsCsv } from "./households";

/** Households per store transaction. */
export const HOUSEHOLDS_PER_TRANSACTION = 500;
const CASEWORKER = "township-caseworker";

export interface ImportRun {
  /** chosen: sealApplication + storeSealedMany; baseline: sm-crypto only; import-csv: the whole `importCases`. */
  pipeline: "chosen" | "baseline" | "import-csv";
  implementation: string;
  dialect: Dialect;
  households: number;
  records: number;
  wrappedKeys: number;
  transactions: number;
  /** Wall time of sealing and storing everything, s. */
  seconds: number;
  recordsPerSecond: number;
  householdsPerSecond: number;
  /** CPU time of this process (user + system) over the same span, s: on a busy machine, less than `seconds`. */
  cpuSeconds: number;
  /** Records per second of this process's CPU time: the rate with the machine's other load taken out (SQLite). */
  recordsPerCpuSecond: number;
  /** Where the time went: sealing (crypto, JSON) and storing (transactions), ms (not split for import-csv). */
  sealMs?: number;
  storeMs?: number;
  /** Validation of the inputs (`applicationSchema`), outside the timed part, ms (import-csv: inside, not split). */
  validateMs?: number;
  /** Envelope bytes per record, on average. */
  envelopeBytes?: number;
  /** Bytes of the database file(s) afterwards (SQLite only). */
  databaseBytes?: number;
}

/** A fresh store with the local consortium's institutions and key holders (no chain: sealing needs none). */
export interface ImportTarget {
  dialect: Dialect;
  store: Store;
  keyring: Keyring;
  holders: CaseHolders;
  /** SQLite: the database file. */
  file?: string;
  close(): Promise<void>;
}

export async function openImportTarget(dialect: Dialect, databaseUrl?: string): Promise<ImportTarget> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-bench-import-"));
  let store: Store;
  let file: string | undefined;
  let drop = async () => undefined as void;
  if (dialect === "postgres") {
    if (!databaseUrl) throw new Error("DATABASE_URL is not set");
    const schema = `relief_bench_${randomBytes(6).toString("hex")}`;
    store = await openPostgresStore({ databaseUrl, schema, poolSize: 4 });
    drop = async () => {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    };
  } else {
    file = path.join(dir, "relief.sqlite");
    store = await openSqliteStore({ path: file });
  }
  const keyring = await Keyring.open({ dir: path.join(dir, "keys"), store });
  for (const inst of LOCAL_INSTITUTIONS) {
    await keyring.createHolder(inst.id);
    await store.putInstitution({
      id: inst.id,
      name: inst.name,
      role: inst.role,
      regionCode: Number(inst.region),
      account: Wallet.createRandom().address,
    });
  }
  await keyring.createHolder(GATEWAY_ACTORS.beneficiaries);
  const holders = await new HolderDirectory(store).holders(CASEWORKER, Number(BENCH_REGION));
  return {
    dialect,
    store,
    keyring,
    holders,
    file,
    async close() {
      await store.close();
      await drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const newCaseId = () => hexlify(randomBytes(32));

function validate(households: ApplicationInput[]): { inputs: ApplicationInput[]; ms: number } {
  const started = performance.now();
  const inputs = households.map((h) => applicationSchema.parse(h));
  return { inputs, ms: performance.now() - started };
}

function fileBytes(file: string | undefined): number | undefined {
  if (!file) return undefined;
  return [file, `${file}-wal`].reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

async function runPipeline(
  target: ImportTarget,
  households: ApplicationInput[],
  seal: (caseId: string, input: ApplicationInput) => Promise<SealedApplication> | SealedApplication,
): Promise<Omit<ImportRun, "pipeline" | "implementation" | "validateMs">> {
  let sealMs = 0;
  let storeMs = 0;
  let records = 0;
  let wrappedKeys = 0;
  let envelopeBytes = 0;
  let transactions = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < households.length; i += HOUSEHOLDS_PER_TRANSACTION) {
    const batch = households.slice(i, i + HOUSEHOLDS_PER_TRANSACTION);
    const t0 = performance.now();
    const sealed: SealedRecord[] = [];
    for (const input of batch) sealed.push(...sealedList(await seal(newCaseId(), input)));
    const t1 = performance.now();
    await target.store.transaction((tx) => storeSealedMany(tx, sealed));
    const t2 = performance.now();
    sealMs += t1 - t0;
    storeMs += t2 - t1;
    transactions += 1;
    records += sealed.length;
    for (const s of sealed) {
      wrappedKeys += s.keys.length;
      envelopeBytes += s.record.envelope.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    dialect: target.dialect,
    households: households.length,
    records,
    wrappedKeys,
    transactions,
    seconds,
    recordsPerSecond: records / seconds,
    householdsPerSecond: households.length / seconds,
    cpuSeconds,
    recordsPerCpuSecond: records / cpuSeconds,
    sealMs,
    storeMs,
    envelopeBytes: envelopeBytes / records,
    databaseBytes: fileBytes(target.file),
  };
}

/** The production path: `sealApplication` (KEK-wrapped data keys, OpenSSL) + `storeSealedMany`. */
export async function importChosen(target: ImportTarget, households: ApplicationInput[]): Promise<ImportRun> {
  const { inputs, ms } = validate(households);
  const keks = new KekCache(target.keyring);
  try {
    const run = await runPipeline(target, inputs, (caseId, input) =>
      sealApplication(keks, caseId, input, target.holders),
    );
    return {
      pipeline: "chosen",
      implementation: "sealApplication + storeSealedMany (OpenSSL SM4-CBC + HMAC-SM3, KEK-wrapped data keys)",
      validateMs: ms,
      ...run,
    };
  } finally {
    await keks.wipe();
  }
}

/**
 * The whole production CSV import, `importCases` (gateway/src/cases/service.ts) on a running gateway: CSV parsing and
 * validation, region, programme and exclusive-enrolment checks, sealing, storing with the case index entries and
 * audit entries in transactions of `IMPORT_CHUNK` households. The CSV text is made beforehand (not timed). The
 * import wakes the case submitter at the end (one background round puts up to 500 cases on chain): not timed here.
 */
export async function importCsv(
  ctx: GatewayContext,
  caseworker: string,
  households: ApplicationInput[],
): Promise<ImportRun> {
  const row = await ctx.store.getInstitution(caseworker);
  if (!row) throw new Error(`no institution ${caseworker}`);
  const principal: InstitutionPrincipal = {
    kind: "institution",
    keyId: "bench",
    id: row.id,
    role: row.role,
    region: BigInt(row.regionCode),
    account: row.account,
  };
  const csv = householdsCsv(households, CSV_COLUMNS);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const outcome = await importCases(ctx, principal, csv);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (!("imported" in outcome))
    throw new Error(`the import refused the file: ${JSON.stringify(outcome.rows.slice(0, 3))}`);
  const records = outcome.imported * 4;
  const cpuSeconds = (used.user + used.system) / 1e6;
  const grants = grantsFor(await new HolderDirectory(ctx.store).holders(caseworker, Number(BENCH_REGION)));
  const keysPerHousehold = Object.values(grants).reduce((n, g) => n + g.length, 0);
  return {
    pipeline: "import-csv",
    implementation: "importCases (CSV parse + checks + sealApplication + storeSealedMany + putCases + appendAudits)",
    dialect: ctx.store.dialect,
    households: outcome.imported,
    records,
    wrappedKeys: outcome.imported * keysPerHousehold,
    transactions: Math.ceil(outcome.imported / IMPORT_CHUNK),
    seconds,
    recordsPerSecond: records / seconds,
    householdsPerSecond: outcome.imported / seconds,
    cpuSeconds,
    recordsPerCpuSecond: records / cpuSeconds,
  };
}

// ---- The sm-crypto-only baseline -----------------------------------------------------------------------------

const CBC_HMAC_KEY_LABEL = Array.from(Buffer.from("relief-ledger/envelope/v1/SM4-CBC-HMAC-SM3\x01", "latin1"));
const ENVELOPE_HEADER = [0x01, 0x01]; // version 1, SM4-CBC-HMAC-SM3

const hexBytes = (hex: string) => Buffer.from(hex, "hex");

function u64(n: number): number[] {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(n));
  return Array.from(out);
}

/** sealData's v1 SM4-CBC-HMAC-SM3 envelope, computed with sm-crypto 0.5.8 only (layout in gateway/src/crypto/sm4.ts). */
function sealDataSmCrypto(dataKey: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const okm = hexBytes(sm3v1(CBC_HMAC_KEY_LABEL, { key: Array.from(dataKey) }));
  const encKey = Array.from(okm.subarray(0, 16));
  const macKey = Array.from(okm.subarray(16));
  const iv = Array.from(randomBytes(16));
  const ciphertext = sm4v1.encrypt(Array.from(plaintext), encKey, { mode: "cbc", iv, output: "array" });
  const aadBytes = Array.from(aad);
  const tag = sm3v1([...u64(aadBytes.length), ...aadBytes, ...ENVELOPE_HEADER, ...iv, ...ciphertext], { key: macKey });
  return Buffer.concat([Buffer.from(ENVELOPE_HEADER), Buffer.from(iv), Buffer.from(ciphertext), hexBytes(tag)]);
}

/** The holders' SM2 public keys as sm-crypto takes them (04 ‖ x ‖ y hex). */
async function holderPublicKeys(target: ImportTarget): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const holder of await target.store.listHolderKeys({ status: "active" })) {
    keys.set(holder.holderId, Sm2PublicKey.fromPem(holder.publicKeyPem).hex);
  }
  return keys;
}

class BaselineSealer {
  /** Set on the first record: its data key, to check that its envelope opens with the production `openData`. */
  check?: { record: SealedRecord; dataKey: Buffer; aad: Buffer };

  constructor(
    readonly publicKeys: Map<string, string>,
    readonly holders: CaseHolders,
  ) {}

  record(kind: CaseRecordKind, caseId: string, regionCode: number, payload: JsonValue, grants: Grant[]): SealedRecord {
    const header = { id: newRecordId(), kind, caseId, regionCode, schemaVersion: CASE_RECORD_SCHEMA_VERSION };
    const headerBytes = encodeRecordHeader(header);
    const aad = Buffer.concat([RECORD_DIGEST_PREFIX, headerBytes]);
    const dataKey = randomBytes(16);
    const envelope = sealDataSmCrypto(dataKey, Buffer.from(JSON.stringify(payload), "utf8"), aad);
    const digest = "0x" + sm3v1(Array.from(Buffer.concat([aad, envelope])));
    const keyArray = Array.from(dataKey);
    const keys = grants.map((g) => ({
      recordId: header.id,
      holderId: g.holderId,
      fieldClass: g.fieldClass,
      wrappedKey: hexBytes(sm2v1.doEncrypt(keyArray, this.publicKeys.get(g.holderId)!, 1)),
    }));
    const sealed = { record: { ...header, envelope, digest }, keys };
    if (!this.check) this.check = { record: sealed, dataKey: Buffer.from(dataKey), aad };
    dataKey.fill(0);
    return sealed;
  }

  /** The same four records as `sealApplication`, with the same grants and manifest. */
  application(caseId: string, input: ApplicationInput): SealedApplication {
    const split = splitByFieldClass(input);
    const grants = grantsFor(this.holders);
    const region = Number(input.region);
    const identity = this.record("identity", caseId, region, split.identity as unknown as JsonValue, grants.identity);
    const household = this.record(
      "household",
      caseId,
      region,
      split.household as unknown as JsonValue,
      grants.household,
    );
    const payment = this.record("payment", caseId, region, split.payment as unknown as JsonValue, grants.payment);
    const ref = (s: SealedRecord) => ({ id: s.record.id, digest: s.record.digest });
    const manifest = {
      format: APPLICATION_MANIFEST_FORMAT,
      schemaVersion: CASE_RECORD_SCHEMA_VERSION,
      ...split.public,
      records: { identity: ref(identity), household: ref(household), payment: ref(payment) },
    };
    const application = this.record("application", caseId, region, manifest, grants.application);
    return { identity, household, payment, application };
  }
}

/** The sm-crypto-only pipeline (see the file comment), stored by the same `storeSealedMany`. */
export async function importBaseline(target: ImportTarget, households: ApplicationInput[]): Promise<ImportRun> {
  const { inputs, ms } = validate(households);
  const sealer = new BaselineSealer(await holderPublicKeys(target), target.holders);
  const run = await runPipeline(target, inputs, (caseId, input) => sealer.application(caseId, input));
  await checkBaseline(target, sealer);
  return {
    pipeline: "baseline",
    implementation: "sm-crypto 0.5.8 only (sm4 CBC, sm3 HMAC, sm2.doEncrypt per holder) + storeSealedMany",
    validateMs: ms,
    ...run,
  };
}

/**
 * The baseline did the same work: its first envelope opens with the production `openData`, and its first wrapped key
 * is an SM2 ciphertext of that data key to the holder (decrypted with the holder's private key file of this run's
 * temporary keyring).
 */
async function checkBaseline(target: ImportTarget, sealer: BaselineSealer): Promise<void> {
  const check = sealer.check;
  if (!check) return;
  const { record, dataKey, aad } = check;
  const stored = await target.store.getRecord(record.record.id);
  if (!stored) throw new Error("baseline record was not stored");
  openData(dataKey, stored.envelope, aad);
  const key = record.keys[0];
  const pem = fs.readFileSync(path.join(target.keyring.dir, "holders", `${key.holderId}.pem`), "utf8");
  const unwrapped = unwrapDataKey(
    sm2CiphertextFromC1C3C2Hex(Buffer.from(key.wrappedKey).toString("hex")),
    Sm2PrivateKey.fromPem(pem),
  );
  if (!unwrapped.equals(dataKey)) throw new Error("baseline wrapped key does not decrypt to the data key");
  dataKey.fill(0);
}
