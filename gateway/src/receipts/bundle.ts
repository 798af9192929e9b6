/**
 * Receipt bundles (`relief-receipt-bundle-v1`): the file a beneficiary (or an auditor) downloads to check a receipt
 * without trusting the gateway: the canonical receipt and its SM2 signature, the gateway's public key, and the
 * inclusion proof of the receipt's record (null until its batch is anchored).
 *
 * {@link verifyReceiptBundle} runs every check and says which failed:
 *
 * | check             | passes when                                                                          |
 * | ----------------- | ------------------------------------------------------------------------------------ |
 * | `format`          | the bundle and the receipt parse strictly, the receipt is in canonical form, the proof (if any) is on the receipt's chain |
 * | `signature`       | the SM2 signature verifies under the signer key                                      |
 * | `key-digest`      | the receipt's `gatewayKeyDigest` is `keyDigest(signer key)`                          |
 * | `proof-digest`    | the proof's `recordDigest` is `receiptDigest(canonical, signature)`                  |
 * | `proof-offline`   | the audit path leads to the proof's root (`verifyProof`)                             |
 * | `proof-on-chain`  | with a ledger: the chain's anchor has that root and accepts the path (`verifyProofOnChain`) |
 * | `signer-on-chain` | with a ledger and the gateway's account: the registry's `keyDigest` is the signer's  |
 *
 * Without a ledger the result is the offline verdict: the receipt is the gateway's and its digest is in a tree with
 * that root; only the chain can say that the root was anchored.
 */
import { getAddress } from "ethers";
import { z } from "zod";
import { PROOF_FORMAT, type AnchorChain, type RecordProof, verifyProof, verifyProofOnChain } from "../anchoring/proof";
import { Sm2PublicKey, keyDigest } from "../crypto";
import type { Ledger } from "../ledger/ledger";
import {
  type SignedReceipt,
  ReceiptError,
  bytes32Schema,
  chainIdSchema,
  checksummedAddressSchema,
  decodeBase64Strict,
  describeIssues,
  parseCanonicalReceipt,
  receiptDigest,
  verifyReceiptSignature,
} from "./receipt";

export const RECEIPT_BUNDLE_FORMAT = "relief-receipt-bundle-v1";

export interface ReceiptBundle {
  format: typeof RECEIPT_BUNDLE_FORMAT;
  receipt: {
    /** The canonical receipt JSON (RFC 8785), exactly the signed bytes as text. */
    canonical: string;
    /** SM2 signature of `canonical`'s UTF-8 bytes, DER, base64. */
    signature: string;
  };
  signer: {
    /** The gateway's SM2 public key, PEM "PUBLIC KEY" (SPKI). */
    publicKeyPem: string;
  };
  /** The inclusion proof of the receipt's record; null while it is not anchored yet. */
  proof: RecordProof | null;
}

/** What {@link verifyReceiptBundle} reads from a ledger (read-only calls). */
export type ReceiptLedger = Pick<Ledger, "anchorCount" | "anchorAt" | "verifyInclusion" | "institution">;

export type ReceiptCheckName =
  "format" | "signature" | "key-digest" | "proof-digest" | "proof-offline" | "proof-on-chain" | "signer-on-chain";

export interface ReceiptCheck {
  check: ReceiptCheckName;
  ok: boolean;
  detail: string;
}

export interface ReceiptVerification {
  /** Every check passed. */
  valid: boolean;
  checks: ReceiptCheck[];
}

export interface ReceiptVerificationOptions {
  /** Check the proof (and, with `gatewayAccount`, the signer) against this chain. */
  ledger?: ReceiptLedger;
  /** The gateway's institution account in `InstitutionRegistry`: its registered `keyDigest` must be the signer's. */
  gatewayAccount?: string;
  /**
   * The deployment the ledger reads (`chainId`, `contract` = AnchorLog, `receiptBook` = ReceiptBook): when given,
   * `proof-on-chain` also requires the proof and the receipt to name this chain and these contracts.
   */
  chain?: AnchorChain & { receiptBook?: string };
}

const MAX_PEM_CHARS = 1024;
const MAX_SIGNATURE_CHARS = 200;
const MAX_SIBLINGS = 64;

const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `relief-proof-v1`, strictly: lowercase hex, checksummed contract, no extra fields. */
export const recordProofSchema = z
  .object({
    format: z.literal(PROOF_FORMAT),
    recordId: z.string().regex(/^[\x21-\x7e]{1,200}$/, "a record id of printable ASCII (at most 200)"),
    recordDigest: bytes32Schema,
    leafIndex: countSchema,
    treeSize: countSchema.min(1),
    root: bytes32Schema,
    siblings: z.array(bytes32Schema).max(MAX_SIBLINGS),
    anchorSequence: countSchema,
    txHash: bytes32Schema,
    blockNumber: countSchema,
    chainId: chainIdSchema,
    contract: checksummedAddressSchema,
  })
  .strict();

const bundleSchema = z
  .object({
    format: z.literal(RECEIPT_BUNDLE_FORMAT),
    receipt: z
      .object({
        canonical: z.string().min(2),
        signature: z.string().min(4).max(MAX_SIGNATURE_CHARS),
      })
      .strict(),
    signer: z.object({ publicKeyPem: z.string().max(MAX_PEM_CHARS) }).strict(),
    proof: recordProofSchema.nullable(),
  })
  .strict();

/**
 * `value` as a receipt bundle, strictly: every field of the bundle and of its proof, the signature as canonical
 * base64, the signer key as an SM2 PEM public key. The receipt inside is checked too (canonical form, every field),
 * and the proof must be on the receipt's chain: a bundle this returns can be verified. Throws `ReceiptError("MALFORMED")`.
 */
export function parseReceiptBundle(value: unknown): ReceiptBundle {
  const result = bundleSchema.safeParse(value);
  if (!result.success) {
    throw new ReceiptError("MALFORMED", `not a ${RECEIPT_BUNDLE_FORMAT}: ${describeIssues(result.error)}`);
  }
  const bundle = result.data;
  decodeBase64Strict(bundle.receipt.signature);
  try {
    Sm2PublicKey.fromPem(bundle.signer.publicKeyPem);
  } catch (cause) {
    throw new ReceiptError("MALFORMED", "signer.publicKeyPem is not an SM2 public key (PEM SPKI)", { cause });
  }
  const { chainId } = parseCanonicalReceipt(bundle.receipt.canonical);
  if (bundle.proof !== null && bundle.proof.chainId !== chainId) {
    throw new ReceiptError(
      "MALFORMED",
      `the receipt is on chain ${chainId}, its proof on chain ${bundle.proof.chainId}`,
    );
  }
  return bundle;
}

/** The bundle of a signed receipt, its signer's public key and the proof of its record (or null). */
export function receiptBundle(
  receipt: Pick<SignedReceipt, "canonical" | "signature">,
  signer: Sm2PublicKey | string,
  proof: RecordProof | null,
): ReceiptBundle {
  const publicKeyPem = typeof signer === "string" ? signer : signer.toPem();
  return parseReceiptBundle({
    format: RECEIPT_BUNDLE_FORMAT,
    receipt: { canonical: receipt.canonical, signature: receipt.signature },
    signer: { publicKeyPem },
    proof,
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs every check of a bundle (see the module comment) and never throws: a malformed bundle fails `format` and
 * nothing else runs; a ledger that cannot be read fails its check with the error as detail. `bundle` may be
 * anything, e.g. a parsed JSON file.
 */
export async function verifyReceiptBundle(
  bundle: unknown,
  options: ReceiptVerificationOptions = {},
): Promise<ReceiptVerification> {
  const checks: ReceiptCheck[] = [];
  const add = (check: ReceiptCheckName, ok: boolean, detail: string) => checks.push({ check, ok, detail });
  const done = (): ReceiptVerification => ({ valid: checks.every((c) => c.ok), checks });

  let parsed: ReceiptBundle;
  let chainId: string;
  let receiptBook: string;
  let gatewayKeyDigest: string;
  try {
    parsed = parseReceiptBundle(bundle);
    ({ chainId, receiptBook, gatewayKeyDigest } = parseCanonicalReceipt(parsed.receipt.canonical));
  } catch (error) {
    add("format", false, message(error));
    return done();
  }
  const { receipt, signer, proof } = parsed;
  add("format", true, `${RECEIPT_BUNDLE_FORMAT} with a canonical receipt${proof === null ? ", no proof yet" : ""}`);

  const signatureOk = verifyReceiptSignature(signer.publicKeyPem, receipt.canonical, receipt.signature);
  add("signature", signatureOk, signatureOk ? "SM2 signature verifies under the signer key" : "SM2 signature invalid");

  const signerDigest = keyDigest(signer.publicKeyPem);
  add(
    "key-digest",
    gatewayKeyDigest === signerDigest,
    gatewayKeyDigest === signerDigest
      ? `gatewayKeyDigest ${signerDigest} is the signer key's`
      : `the receipt names key ${gatewayKeyDigest}, the signer key is ${signerDigest}`,
  );

  const digest = receiptDigest(receipt.canonical, receipt.signature);
  if (proof === null) {
    add("proof-digest", false, `not yet anchored (receipt digest ${digest})`);
    add("proof-offline", false, "not yet anchored");
  } else {
    add(
      "proof-digest",
      proof.recordDigest === digest,
      proof.recordDigest === digest
        ? `the proof's record digest is the receipt digest ${digest}`
        : `the proof is of record digest ${proof.recordDigest}, the receipt digest is ${digest}`,
    );
    const offline = verifyProof(proof);
    add(
      "proof-offline",
      offline,
      offline
        ? `leaf ${proof.leafIndex} of ${proof.treeSize} leads to root ${proof.root}`
        : `the audit path does not lead to root ${proof.root}`,
    );
  }

  const { ledger, gatewayAccount, chain } = options;
  if (ledger !== undefined) {
    if (proof === null) add("proof-on-chain", false, "not yet anchored");
    else add("proof-on-chain", ...(await onChain(ledger, proof, chain, chainId, receiptBook)));
    if (gatewayAccount !== undefined)
      add("signer-on-chain", ...(await signerOnChain(ledger, gatewayAccount, signerDigest)));
  }
  return done();
}

async function onChain(
  ledger: ReceiptLedger,
  proof: RecordProof,
  chain: ReceiptVerificationOptions["chain"],
  receiptChainId: string,
  receiptBook: string,
): Promise<[boolean, string]> {
  if (chain !== undefined) {
    let expected: { chainId: string; contract: string; receiptBook?: string };
    try {
      expected = {
        chainId: BigInt(chain.chainId).toString(),
        contract: getAddress(chain.contract),
        receiptBook: chain.receiptBook === undefined ? undefined : getAddress(chain.receiptBook),
      };
    } catch (error) {
      return [false, `the expected chain is not valid: ${message(error)}`];
    }
    if (receiptChainId !== expected.chainId) {
      return [false, `the receipt is on chain ${receiptChainId}, the ledger on chain ${expected.chainId}`];
    }
    if (proof.contract !== expected.contract) {
      return [false, `the proof names AnchorLog ${proof.contract}, the deployment's is ${expected.contract}`];
    }
    if (expected.receiptBook !== undefined && receiptBook !== expected.receiptBook) {
      return [false, `the receipt names ReceiptBook ${receiptBook}, the deployment's is ${expected.receiptBook}`];
    }
  }
  try {
    // verifyProofOnChain reads only anchorCount, anchorAt and verifyInclusion of the ledger.
    const ok = await verifyProofOnChain(ledger as Ledger, proof);
    return [
      ok,
      ok
        ? `anchor ${proof.anchorSequence} (block ${proof.blockNumber}) has root ${proof.root} and accepts the path`
        : `the chain's anchor ${proof.anchorSequence} does not match the proof (root, size, block or path)`,
    ];
  } catch (error) {
    return [false, `cannot read the chain: ${message(error)}`];
  }
}

async function signerOnChain(ledger: ReceiptLedger, account: string, signerDigest: string): Promise<[boolean, string]> {
  try {
    const institution = await ledger.institution(account);
    const registered = institution.keyDigest.toLowerCase();
    if (registered !== signerDigest) {
      return [false, `institution ${account} has keyDigest ${registered}, the signer key is ${signerDigest}`];
    }
    return [true, `institution ${account} has the signer's keyDigest${institution.active ? "" : " (now inactive)"}`];
  } catch (error) {
    return [false, `cannot read institution ${account}: ${message(error)}`];
  }
}
