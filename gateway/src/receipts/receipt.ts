/**
 * Beneficiary receipts (`relief-receipt-v1`): what the gateway signs when a beneficiary confirms a payment or reports
 * that it did not arrive. A receipt is
 *
 * - a {@link ReceiptBody} of ids, amounts and digests only (never personal data),
 * - serialised to its canonical bytes with the RFC 8785 JSON Canonicalization Scheme (the `canonicalize` package,
 *   the RFC's reference implementation): UTF-8, no whitespace, object keys sorted by UTF-16 code units,
 * - signed by the gateway's SM2 key over those bytes (SM3 with Z of the default user id `1234567812345678`, DER
 *   `SEQUENCE { r, s }`), the signature carried in base64,
 * - and anchored: the receipt's record digest {@link receiptDigest} is a leaf of an AnchorLog batch, so that an
 *   inclusion proof (`relief-proof-v1`) ties it to the chain.
 *
 * Everything checks offline with openssl (docs/RECEIPTS.md):
 *   `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678 -pubin -inkey gateway.pem
 *    -in receipt.json -sigfile receipt.sig`.
 *
 * Every field is validated strictly, in one representation each (lowercase hex, checksummed addresses, decimal
 * strings without leading zeros, ISO 8601 UTC to the second), so that one receipt has exactly one canonical form.
 */
import canonicalize from "canonicalize";
import { getAddress } from "ethers";
import { z } from "zod";
import { CodedError } from "../../../lib/errors";
import { Sm2PrivateKey, Sm2PublicKey, keyDigest, sm2Sign, sm2Verify, sm3 } from "../crypto";

export const RECEIPT_FORMAT = "relief-receipt-v1";

/** The domain-separation prefix of {@link receiptDigest}: the format name and a zero byte. */
const DIGEST_LABEL = Buffer.from(`${RECEIPT_FORMAT}\0`, "utf8");

/** The longest canonical receipt accepted (a real one is about 700 bytes). */
export const MAX_CANONICAL_RECEIPT_CHARS = 4096;

export type ReceiptErrorCode =
  /** Not a receipt of this format: a field is missing, extra, of the wrong type or not in its one representation. */
  | "MALFORMED"
  /** The signing key is not the key the body names (`gatewayKeyDigest`). */
  | "KEY_MISMATCH";

export class ReceiptError extends CodedError<ReceiptErrorCode> {}

/** What the gateway signs. No personal data: ids, amounts and digests. */
export interface ReceiptBody {
  format: typeof RECEIPT_FORMAT;
  /** Decimal chain id. */
  chainId: string;
  /** The ReceiptBook contract's address, checksummed (EIP-55). */
  receiptBook: string;
  /** The gateway's payout id (`caseId:period:eventId`). */
  payoutId: string;
  /** bytes32, lowercase hex. */
  caseId: string;
  /** The period (uint24: months since year 0, lib/periods.ts). */
  period: number;
  /** bytes32, lowercase hex; zero for a monthly payout. */
  eventId: string;
  /** uint32. */
  programmeId: number;
  /** The amount paid, integer fen, decimal (uint64). */
  amountFen: string;
  outcome: "confirmed" | "not-received";
  /** Keyed digest of the beneficiary's note (bytes32, lowercase hex), or null. */
  noteDigest: string | null;
  /** ISO 8601 UTC to the second: `2026-03-05T08:30:00Z`. */
  issuedAt: string;
  /** SM3 of the gateway signing key's SPKI DER, `0x` + 64 lowercase hex: its `keyDigest` on chain. */
  gatewayKeyDigest: string;
}

/** A receipt as the gateway stores and hands it out. */
export interface SignedReceipt {
  body: ReceiptBody;
  /** The canonical JSON (RFC 8785) of `body`; its UTF-8 bytes are what is signed. */
  canonical: string;
  /** The SM2 signature (DER), base64. */
  signature: string;
}

const UINT24_MAX = 0xffffff;
const UINT32_MAX = 0xffffffff;
const UINT64_MAX = 2n ** 64n - 1n;

/** bytes32 as `0x` + 64 lowercase hex digits (one representation per value). */
export const bytes32Schema = z.string().regex(/^0x[0-9a-f]{64}$/, "a bytes32 as 0x and 64 lowercase hex digits");

/** A positive decimal integer without leading zeros. */
export const chainIdSchema = z.string().regex(/^[1-9][0-9]{0,19}$/, "a positive decimal chain id");

/** An EVM address in its EIP-55 checksummed form. */
export const checksummedAddressSchema = z.string().refine((value) => {
  try {
    return getAddress(value) === value;
  } catch {
    return false;
  }
}, "a checksummed (EIP-55) address");

const uintSchema = (max: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(max)
    .refine((n) => !Object.is(n, -0), "-0 is not an integer here");

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const receiptBodySchema = z
  .object({
    format: z.literal(RECEIPT_FORMAT),
    chainId: chainIdSchema,
    receiptBook: checksummedAddressSchema,
    payoutId: z
      .string()
      .regex(/^[0-9A-Za-z][0-9A-Za-z:._-]{0,199}$/, "an id of letters, digits and : . _ - (at most 200)"),
    caseId: bytes32Schema,
    period: uintSchema(UINT24_MAX),
    eventId: bytes32Schema,
    programmeId: uintSchema(UINT32_MAX),
    amountFen: z
      .string()
      .regex(/^[1-9][0-9]{0,19}$/, "a positive decimal amount of fen")
      .refine((s) => /^\d{1,20}$/.test(s) && BigInt(s) <= UINT64_MAX, "an amount of fen fits a uint64"),
    outcome: z.enum(["confirmed", "not-received"]),
    noteDigest: bytes32Schema.nullable(),
    issuedAt: z.string().refine((s) => {
      if (!ISO_SECONDS.test(s)) return false;
      const t = Date.parse(s);
      return Number.isFinite(t) && new Date(t).toISOString() === s.replace("Z", ".000Z");
    }, "an ISO 8601 UTC time to the second (YYYY-MM-DDThh:mm:ssZ)"),
    gatewayKeyDigest: bytes32Schema,
  })
  .strict();

/** The issues of a zod failure in one line, paths included, no values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/** `value` as a receipt body, checked field by field. Throws `ReceiptError("MALFORMED")`. */
export function parseReceiptBody(value: unknown): ReceiptBody {
  const result = receiptBodySchema.safeParse(value);
  if (!result.success)
    throw new ReceiptError("MALFORMED", `not a ${RECEIPT_FORMAT} body: ${describeIssues(result.error)}`);
  return result.data;
}

/** The canonical JSON (RFC 8785) of a validated body. */
function canonicalJson(body: ReceiptBody): string {
  const text = canonicalize(body);
  if (text === undefined) throw new ReceiptError("MALFORMED", "the body has no JSON form");
  return text;
}

/** The canonical bytes of a receipt body: RFC 8785 JSON, UTF-8. Validates the body first. */
export function receiptBytes(body: ReceiptBody): Buffer {
  return Buffer.from(canonicalJson(parseReceiptBody(body)), "utf8");
}

/**
 * The body that `canonical` is, checking that it is exactly the canonical form (no whitespace, sorted keys, no
 * duplicate keys, no escapes JCS would not write). Throws `ReceiptError("MALFORMED")`.
 */
export function parseCanonicalReceipt(canonical: string): ReceiptBody {
  if (typeof canonical !== "string" || canonical.length > MAX_CANONICAL_RECEIPT_CHARS) {
    throw new ReceiptError("MALFORMED", `a canonical receipt is a string of at most ${MAX_CANONICAL_RECEIPT_CHARS}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(canonical);
  } catch (cause) {
    throw new ReceiptError("MALFORMED", "the receipt is not JSON", { cause });
  }
  const body = parseReceiptBody(raw);
  if (canonicalJson(body) !== canonical) {
    throw new ReceiptError("MALFORMED", "the receipt JSON is not in its RFC 8785 canonical form");
  }
  return body;
}

/**
 * Base64 (RFC 4648 section 4, padded) decoded strictly: Node's decoder ignores bad characters and stray bits, so
 * the text must be exactly the encoding of what it decodes to. Throws `ReceiptError("MALFORMED")`.
 */
export function decodeBase64Strict(text: string, what = "the signature"): Buffer {
  if (typeof text !== "string" || text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new ReceiptError("MALFORMED", `${what} is not padded base64`);
  }
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) throw new ReceiptError("MALFORMED", `${what} is not canonical base64`);
  return bytes;
}

/**
 * Signs a receipt: validates the body, checks that it names this key (`gatewayKeyDigest`), and signs its
 * canonical bytes with SM2 (user id 1234567812345678). Throws `ReceiptError`.
 */
export function signReceipt(signingKey: Sm2PrivateKey, body: ReceiptBody): SignedReceipt {
  const valid = parseReceiptBody(body);
  const digest = keyDigest(signingKey.publicKey);
  if (valid.gatewayKeyDigest !== digest) {
    throw new ReceiptError(
      "KEY_MISMATCH",
      `the body names key ${valid.gatewayKeyDigest}, the signing key is ${digest}`,
    );
  }
  const canonical = canonicalJson(valid);
  const signature = sm2Sign(signingKey, Buffer.from(canonical, "utf8")).toString("base64");
  return { body: valid, canonical, signature };
}

/**
 * Whether `signatureB64` (base64 DER) is the SM2 signature of `canonical`'s UTF-8 bytes by the key in
 * `publicKeyPem`. A key that does not parse or a signature that is not strict base64 of a DER signature gives
 * `false`. It checks the signature only, not that `canonical` is a valid receipt ({@link parseCanonicalReceipt}).
 */
export function verifyReceiptSignature(publicKeyPem: string, canonical: string, signatureB64: string): boolean {
  let key: Sm2PublicKey;
  let signature: Buffer;
  try {
    key = Sm2PublicKey.fromPem(publicKeyPem);
    signature = decodeBase64Strict(signatureB64);
  } catch {
    return false;
  }
  if (typeof canonical !== "string") return false;
  return sm2Verify(key, Buffer.from(canonical, "utf8"), signature);
}

/**
 * The receipt record's digest, the leaf the gateway anchors: `0x` + hex of
 * SM3("relief-receipt-v1" ‖ 0x00 ‖ canonical UTF-8 bytes ‖ 0x00 ‖ DER signature bytes).
 * By hand: `{ printf 'relief-receipt-v1\000'; cat receipt.json; printf '\000'; cat receipt.sig; } | openssl dgst -sm3`.
 * Throws `ReceiptError("MALFORMED")` if the signature is not strict base64.
 */
export function receiptDigest(canonical: string, signatureB64: string): string {
  const signature = decodeBase64Strict(signatureB64);
  const input = Buffer.concat([DIGEST_LABEL, Buffer.from(canonical, "utf8"), Buffer.from([0]), signature]);
  return "0x" + sm3(input).toString("hex");
}
