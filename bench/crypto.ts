/**
 * Throughput of the national cryptography, side by side: sm-crypto 0.5.8 (the reference JavaScript library)
 * against what gateway/src/crypto uses (sm-crypto-v2 for SM2, Node's OpenSSL for SM3), and the two candidate SM4
 * envelope constructions (SM4-GCM on sm-crypto-v2 against SM4-CBC + HMAC-SM3 on OpenSSL). The ratio is candidate
 * ops/s over baseline ops/s.
 *
 * Alone: `npx ts-node --transpile-only bench/crypto.ts` prints the table and writes bench/results/crypto.json
 * (`RELIEF_BENCH_QUICK=1` for a shorter run). Or import {@link benchCrypto}. Single-threaded: one core.
 */
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { sm2 as sm2v1, sm3 as sm3v1 } from "sm-crypto";
import {
  DEFAULT_ENVELOPE_ALGORITHM,
  type EnvelopeAlgorithm,
  Sm2PrivateKey,
  Sm2PublicKey,
  generateDataKey,
  openData,
  sealData,
  sm2CiphertextToC1C3C2Hex,
  sm2Decrypt,
  sm2Encrypt,
  sm2Sign,
  sm2Verify,
  sm3,
} from "../gateway/src/crypto";
import { fmt, machine, table, writeJson } from "./report";

/** One measurement: an implementation of an operation. */
export interface Measured {
  implementation: string;
  opsPerSec: number;
  /** Payload megabytes (10^6) per second, for the operations on 1 KiB / 1 MiB inputs. */
  mbPerSec?: number;
}

/** One operation, baseline against candidate. */
export interface CryptoBenchRow {
  operation: string;
  baseline: Measured;
  candidate: Measured;
  /** candidate.opsPerSec / baseline.opsPerSec */
  ratio: number;
}

const KIB = 1024;
const MIB = 1024 * 1024;
const USER_ID = "1234567812345678";

/** Calls `fn` repeatedly for about `budgetMs` (at least `minOps` times) after one warm-up call; returns ops/s. */
function opsPerSecond(fn: () => unknown, budgetMs: number, minOps = 3): number {
  fn();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs || ops < minOps) {
    fn();
    ops++;
    elapsed = performance.now() - start;
  }
  return (ops * 1000) / elapsed;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs every comparison and returns the rows. `budgetMs` is the time spent on each implementation of each
 * operation (default 1 s, 0.2 s with RELIEF_BENCH_QUICK=1).
 */
export async function benchCrypto(budgetMs = process.env.RELIEF_BENCH_QUICK ? 200 : 1000): Promise<CryptoBenchRow[]> {
  const rows: CryptoBenchRow[] = [];
  const compare = async (
    operation: string,
    baseline: [string, () => unknown],
    candidate: [string, () => unknown],
    bytes?: number,
  ) => {
    const run = ([implementation, fn]: [string, () => unknown]): Measured => {
      const opsPerSec = opsPerSecond(fn, budgetMs);
      return bytes ? { implementation, opsPerSec, mbPerSec: (opsPerSec * bytes) / 1e6 } : { implementation, opsPerSec };
    };
    const b = run(baseline);
    await tick();
    const c = run(candidate);
    await tick();
    rows.push({ operation, baseline: b, candidate: c, ratio: c.opsPerSec / b.opsPerSec });
  };

  // SM2: a 32-byte message to sign (a digest), a 16-byte data key to encrypt (what key wrapping encrypts).
  const key = Sm2PrivateKey.generate();
  const d = key.toHex();
  const pub = key.publicKey.hex;
  const hot = Sm2PublicKey.fromHex(pub).precompute(); // the same key, with precomputed multiples
  const message = randomBytes(32);
  const messageArray = Array.from(message);
  const dataKey = randomBytes(16);
  const v1Options = { hash: true, der: true, userId: USER_ID };
  const v1Signature = sm2v1.doSignature(messageArray, d, { ...v1Options, publicKey: pub });
  const signature = sm2Sign(key, message);
  const v1Ciphertext = sm2v1.doEncrypt(Array.from(dataKey), pub, 1);
  const ciphertext = sm2Encrypt(key.publicKey, dataKey);
  if (sm2CiphertextToC1C3C2Hex(ciphertext).length !== v1Ciphertext.length)
    throw new Error("SM2 ciphertext sizes differ");

  const V1 = "sm-crypto 0.5.8";
  const V2 = "sm-crypto-v2 (sm2.ts)";
  await compare(
    "SM2 sign",
    [V1, () => sm2v1.doSignature(messageArray, d, { ...v1Options, publicKey: pub })],
    [V2, () => sm2Sign(key, message)],
  );
  await compare(
    "SM2 verify",
    [V1, () => sm2v1.doVerifySignature(messageArray, v1Signature, pub, v1Options)],
    [V2, () => sm2Verify(key.publicKey, message, signature)],
  );
  await compare(
    "SM2 verify, precomputed public key",
    [V1, () => sm2v1.doVerifySignature(messageArray, v1Signature, pub, v1Options)],
    [`${V2} + precompute()`, () => sm2Verify(hot, message, signature)],
  );
  await compare(
    "SM2 encrypt 16 B (key wrap)",
    [V1, () => sm2v1.doEncrypt(Array.from(dataKey), pub, 1)],
    [`${V2} + ASN.1`, () => sm2Encrypt(key.publicKey, dataKey)],
  );
  await compare(
    "SM2 encrypt 16 B, precomputed public key",
    [V1, () => sm2v1.doEncrypt(Array.from(dataKey), pub, 1)],
    [`${V2} + ASN.1 + precompute()`, () => sm2Encrypt(hot, dataKey)],
  );
  await compare(
    "SM2 decrypt 16 B (key unwrap)",
    [V1, () => sm2v1.doDecrypt(v1Ciphertext, d, 1, { output: "array" })],
    [`${V2} + ASN.1`, () => sm2Decrypt(key, ciphertext)],
  );

  // SM4 envelopes: both candidate constructions, each through sealData / openData with a record id as AAD.
  const GCM: EnvelopeAlgorithm = "SM4-GCM";
  const CBC: EnvelopeAlgorithm = "SM4-CBC-HMAC-SM3";
  const aad = "case-0000000001/household";
  for (const size of [KIB, MIB]) {
    const label = size === KIB ? "1 KiB" : "1 MiB";
    const plaintext = randomBytes(size);
    const k = generateDataKey();
    const sealedGcm = sealData(k, plaintext, aad, { algorithm: GCM });
    const sealedCbc = sealData(k, plaintext, aad, { algorithm: CBC });
    await compare(
      `SM4 envelope seal ${label}`,
      [`${GCM} (sm-crypto-v2)`, () => sealData(k, plaintext, aad, { algorithm: GCM })],
      [`${CBC} (OpenSSL)`, () => sealData(k, plaintext, aad, { algorithm: CBC })],
      size,
    );
    await compare(
      `SM4 envelope open ${label}`,
      [`${GCM} (sm-crypto-v2)`, () => openData(k, sealedGcm, aad)],
      [`${CBC} (OpenSSL)`, () => openData(k, sealedCbc, aad)],
      size,
    );
  }

  // SM3.
  for (const size of [KIB, MIB]) {
    const data = randomBytes(size);
    const array = Array.from(data);
    await compare(
      `SM3 ${size === KIB ? "1 KiB" : "1 MiB"}`,
      [V1, () => sm3v1(array)],
      ["Node OpenSSL (sm3.ts)", () => sm3(data)],
      size,
    );
  }
  return rows;
}

/** Which envelope construction the measurements favour on the hot path (1 KiB seal + open). */
export function fasterEnvelope(rows: CryptoBenchRow[]): EnvelopeAlgorithm {
  const small = rows.filter((r) => r.operation.startsWith("SM4 envelope") && r.operation.endsWith("1 KiB"));
  const ratio = small.reduce((product, r) => product * r.ratio, 1);
  return ratio >= 1 ? "SM4-CBC-HMAC-SM3" : "SM4-GCM";
}

function render(rows: CryptoBenchRow[]): string {
  const cell = (m: Measured) => `${fmt(m.opsPerSec)}${m.mbPerSec === undefined ? "" : ` (${fmt(m.mbPerSec, 1)} MB/s)`}`;
  return table(
    ["operation", "baseline", "ops/s", "candidate", "ops/s", "ratio"],
    rows.map((r) => [
      r.operation,
      r.baseline.implementation,
      cell(r.baseline),
      r.candidate.implementation,
      cell(r.candidate),
      `${fmt(r.ratio, 1)}×`,
    ]),
  );
}

if (require.main === module) {
  benchCrypto()
    .then((rows) => {
      const faster = fasterEnvelope(rows);
      console.log(render(rows));
      console.log(`\nFaster envelope on 1 KiB: ${faster}; DEFAULT_ENVELOPE_ALGORITHM = ${DEFAULT_ENVELOPE_ALGORITHM}.`);
      if (faster !== DEFAULT_ENVELOPE_ALGORITHM) console.warn("WARNING: the default is not the faster construction.");
      const file = writeJson("crypto", {
        machine: machine(),
        defaultEnvelope: DEFAULT_ENVELOPE_ALGORITHM,
        fasterEnvelope: faster,
        rows,
      });
      console.log(`Written ${file}`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
