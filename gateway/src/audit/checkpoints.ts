/**
 * The anchor log as a transparency log (RFC 6962 / RFC 9162): its leaves are the AnchorLog's anchors in sequence
 * order, its tree is the same RFC 6962 layout as the record trees (`lib/merkle.ts`: keccak256, 0x00 leaf prefix,
 * 0x01 node prefix), and a checkpoint (`relief-checkpoint-v1`) is a signed tree head: the log's size and root at a
 * block. Whoever kept an old checkpoint can check that a later one extends it (a consistency proof): any anchor of the
 * old log changed, dropped, reordered or replaced (a rewritten chain, another deployment passed off as this one) makes
 * the proof fail.
 *
 * Leaf i is `anchorLeaf(anchorAt(i))`, the keccak256 of these 94 bytes (integers big-endian):
 *
 *   "relief-anchor-leaf-v1" (21 bytes, ASCII) ‖ 0x00 ‖ u64(sequence) ‖ root (32) ‖ u64(firstRecordIndex)
 *   ‖ u64(recordCount) ‖ u64(region) ‖ u64(blockNumber)
 *
 * and that 32-byte value enters the tree as a record digest does: leaf hash keccak256(0x00 ‖ value). The label keeps
 * an anchor leaf from ever equalling a record digest (an SM3 value of other input). The anchor's timestamp and its
 * batch's metadata digest are not in the leaf (the chain reports the timestamp but a leaf fixes the block, which
 * fixes the time).
 *
 * A checkpoint's signature is the gateway's SM2 signature (user id 1234567812345678, DER, base64) over the UTF-8 RFC
 * 8785 canonical JSON of the checkpoint without its `signature` field (`signer` included). docs/PROOFS.md has the
 * whole format.
 *
 * Cost: {@link readCheckpoint} reads `anchorCount` and every `anchorAt` from the chain, one call per anchor (a
 * thousand anchors take a thousand calls). Anchors never change, so a reader for one ledger object caches those read
 * before and reads only the new ones, rechecking the last cached one each time (a replaced chain empties the cache);
 * a verifier reads them all.
 */
import canonicalize from "canonicalize";
import { getAddress, keccak256 } from "ethers";
import { z } from "zod";
import { CodedError } from "../../../lib/errors";
import { EMPTY_ROOT, MerkleError, buildTree, consistencyProof, inclusionProof, prefixRoot } from "../../../lib/merkle";
import { verifyConsistency, verifyInclusion } from "../../../lib/merkle";
import { Sm2PublicKey, type Sm2PrivateKey, sm2Sign, sm2Verify } from "../crypto";
import type { AnchorRecord } from "../ledger";
import {
  bytes32Schema,
  chainIdSchema,
  checksummedAddressSchema,
  decodeBase64Strict,
  describeIssues,
} from "../receipts/receipt";

export const CHECKPOINT_FORMAT = "relief-checkpoint-v1";
export const CONSISTENCY_FORMAT = "relief-consistency-v1";
/** The domain-separation label of an anchor leaf, followed by a zero byte. */
export const ANCHOR_LEAF_LABEL = "relief-anchor-leaf-v1";
const ANCHOR_LEAF_PREFIX = Buffer.from(`${ANCHOR_LEAF_LABEL}\0`, "ascii");

export interface CheckpointSigner {
  /** The gateway's SM2 public key, PEM "PUBLIC KEY" (SPKI). */
  publicKeyPem: string;
  /** The gateway's institution account in `InstitutionRegistry`, whose `keyDigest` is this key's. */
  account: string;
}

/** A signed (or not yet signed) head of the anchor log. */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** Decimal chain id. */
  chainId: string;
  /** The AnchorLog contract (checksummed). */
  anchorLog: string;
  /** Anchors in the log: leaves 0 … size − 1 are anchors 0 … size − 1. */
  size: number;
  /** The log's tree head over the first `size` anchor leaves ({@link EMPTY_ROOT} when size is 0). */
  root: string;
  /** A block at which the chain held these anchors, read after the anchor count: every one was mined by then. */
  blockNumber: number;
  signer?: CheckpointSigner;
  /** SM2 signature (DER, base64) of {@link checkpointSigningBytes}. */
  signature?: string;
}

/** A consistency proof between two checkpoints of one log (`relief-consistency-v1`). */
export interface ConsistencyDocument {
  format: typeof CONSISTENCY_FORMAT;
  from: Checkpoint;
  to: Checkpoint;
  /** RFC 9162 consistency proof from `from.size` to `to.size` (`lib/merkle.ts` `consistencyProof`). */
  proof: string[];
}

/** The fields of an anchor that make its leaf. */
export interface AnchorLeafFields {
  sequence: number;
  root: string;
  firstRecordIndex: number;
  recordCount: number;
  region: bigint | number | string;
  blockNumber: number;
}

export type CheckpointErrorCode =
  /** Not a well-formed checkpoint or consistency document. */
  | "MALFORMED"
  /** Two checkpoints of different chains or logs, or an old one larger than the new one. */
  | "INCOMPARABLE"
  /** The chain's anchors do not give a checkpoint's root. */
  | "INCONSISTENT";

export class CheckpointError extends CodedError<CheckpointErrorCode> {}

/** What the checkpoint functions read from a chain (EvmLedger and ChainView both fit). */
export interface AnchorReader {
  anchorCount(): Promise<number>;
  anchorAt(sequence: number): Promise<AnchorRecord>;
  blockNumber(): Promise<number>;
}

/** Where the log lives. */
export interface LogDeployment {
  chainId: bigint | number | string;
  addresses: { anchors: string };
}

const U64_MAX = (1n << 64n) - 1n;

function u64(value: bigint | number | string, what: string): Buffer {
  const n = BigInt(value);
  if (n < 0n || n > U64_MAX) throw new CheckpointError("MALFORMED", `${what} does not fit 64 bits`);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(n);
  return out;
}

/** The log leaf of an anchor: keccak256 of the 94-byte encoding in the file comment. */
export function anchorLeaf(a: AnchorLeafFields): string {
  const root = Buffer.from(bytes32(a.root, "anchor root").slice(2), "hex");
  return keccak256(
    Buffer.concat([
      ANCHOR_LEAF_PREFIX,
      u64(a.sequence, "sequence"),
      root,
      u64(a.firstRecordIndex, "firstRecordIndex"),
      u64(a.recordCount, "recordCount"),
      u64(a.region, "region"),
      u64(a.blockNumber, "blockNumber"),
    ]),
  );
}

function bytes32(value: string, what: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new CheckpointError("MALFORMED", `${what} is not a 32-byte hex string`);
  }
  return value.toLowerCase();
}

/** The log root of the first `size` leaves ({@link EMPTY_ROOT} for none). */
export function logRoot(leaves: readonly string[], size = leaves.length): string {
  if (size === 0) return EMPTY_ROOT;
  return prefixRoot(buildTree(leaves.slice(0, size)), size);
}

// ---- reading the log from a chain --------------------------------------------------------------------------

const leafCache = new WeakMap<object, { key: string; anchors: AnchorRecord[] }>();

/**
 * Anchors 0 … size − 1 as the chain reports them. With `cache` (the gateway's own reads), anchors read before through
 * the same reader are reused, after rechecking the last of them against the chain.
 */
export async function readAnchors(
  reader: Pick<AnchorReader, "anchorAt">,
  size: number,
  options: { cache?: boolean; key?: string } = {},
): Promise<AnchorRecord[]> {
  let cached: AnchorRecord[] = [];
  const key = options.key ?? "";
  if (options.cache) {
    const hit = leafCache.get(reader);
    if (hit && hit.key === key && hit.anchors.length > 0) {
      const last = hit.anchors.length - 1;
      const again = await reader.anchorAt(last);
      if (sameAnchor(again, hit.anchors[last])) cached = hit.anchors;
    }
  }
  const anchors = cached.slice(0, size);
  for (let i = anchors.length; i < size; i++) anchors.push(await reader.anchorAt(i));
  if (options.cache && anchors.length >= cached.length) leafCache.set(reader, { key, anchors: [...anchors] });
  return anchors;
}

function sameAnchor(a: AnchorRecord, b: AnchorRecord): boolean {
  return (
    a.root === b.root &&
    a.firstRecordIndex === b.firstRecordIndex &&
    a.recordCount === b.recordCount &&
    a.region === b.region &&
    a.blockNumber === b.blockNumber
  );
}

/** The log leaves of a list of anchors read from the chain (anchor i at index i). */
export function anchorLeaves(anchors: readonly AnchorRecord[]): string[] {
  return anchors.map((a, sequence) => anchorLeaf({ ...a, sequence }));
}

/**
 * The log's checkpoint now, unsigned, computed from the chain alone: `anchorCount`, then the block number (so every
 * counted anchor was mined by it), then every anchor (see the cost note in the file comment).
 */
export async function readCheckpoint(
  reader: AnchorReader,
  deployment: LogDeployment,
  options: { cache?: boolean } = {},
): Promise<Checkpoint> {
  const size = await reader.anchorCount();
  const blockNumber = await reader.blockNumber();
  const anchors = await readAnchors(reader, size, { cache: options.cache, key: logKey(deployment) });
  return {
    format: CHECKPOINT_FORMAT,
    chainId: BigInt(deployment.chainId).toString(),
    anchorLog: getAddress(deployment.addresses.anchors),
    size,
    root: logRoot(anchorLeaves(anchors)),
    blockNumber,
  };
}

function logKey(deployment: LogDeployment): string {
  return `${BigInt(deployment.chainId)}:${getAddress(deployment.addresses.anchors)}`;
}

/** The audit path of anchor `sequence`'s leaf in the log of the first `size` anchors. */
export function anchorInclusionProof(leaves: readonly string[], size: number, sequence: number): string[] {
  return inclusionProof(buildTree(leaves.slice(0, size)), sequence);
}

/** Whether `proof` puts the anchor's leaf at its sequence in the checkpoint's log. Malformed input gives false. */
export function verifyAnchorInCheckpoint(checkpoint: Checkpoint, anchor: AnchorLeafFields, proof: string[]): boolean {
  try {
    return verifyInclusion(checkpoint.root, checkpoint.size, anchor.sequence, anchorLeaf(anchor), proof);
  } catch (error) {
    if (error instanceof MerkleError || error instanceof CheckpointError) return false;
    throw error;
  }
}

/**
 * The consistency proof from `old` to `current`, computed from the chain's anchors. INCOMPARABLE if the two name
 * different chains or logs or `old` is the larger; INCONSISTENT if the chain's first anchors do not give either root
 * (the old checkpoint is not of this log's history, or the chain changed).
 */
export async function consistencyBetween(
  reader: Pick<AnchorReader, "anchorAt">,
  old: Checkpoint,
  current: Checkpoint,
  options: { cache?: boolean } = {},
): Promise<string[]> {
  comparable(old, current);
  const anchors = await readAnchors(reader, current.size, {
    cache: options.cache,
    key: `${current.chainId}:${current.anchorLog}`,
  });
  const leaves = anchorLeaves(anchors);
  if (logRoot(leaves, current.size) !== current.root) {
    throw new CheckpointError("INCONSISTENT", `the chain's first ${current.size} anchors do not give the new root`);
  }
  if (logRoot(leaves, old.size) !== old.root) {
    throw new CheckpointError(
      "INCONSISTENT",
      `the chain's first ${old.size} anchors do not give the earlier checkpoint's root: it is not of this log's history`,
    );
  }
  if (current.size === 0) return [];
  return consistencyProof(buildTree(leaves), old.size, current.size);
}

function comparable(old: Checkpoint, current: Checkpoint): void {
  if (old.chainId !== current.chainId || old.anchorLog !== current.anchorLog) {
    throw new CheckpointError(
      "INCOMPARABLE",
      `the checkpoints are of different logs (chain ${old.chainId} ${old.anchorLog}, chain ${current.chainId} ${current.anchorLog})`,
    );
  }
  if (old.size > current.size) {
    throw new CheckpointError(
      "INCOMPARABLE",
      `the earlier checkpoint has ${old.size} anchors, the later ${current.size}`,
    );
  }
}

/**
 * Whether `current` extends `old`: the same chain and log, `old.size ≤ current.size`, and `proof` is a valid RFC 9162
 * consistency proof between their roots. Signatures are not checked here ({@link verifyCheckpointSignature}).
 */
export function verifyCheckpointConsistency(
  old: Checkpoint,
  current: Checkpoint,
  proof: readonly string[],
): { ok: boolean; detail: string } {
  try {
    comparable(old, current);
  } catch (error) {
    if (error instanceof CheckpointError) return { ok: false, detail: error.message };
    throw error;
  }
  let ok: boolean;
  try {
    ok = verifyConsistency(old.size, current.size, old.root, current.root, proof);
  } catch (error) {
    if (!(error instanceof MerkleError)) throw error;
    return { ok: false, detail: `malformed consistency proof: ${error.message}` };
  }
  return ok
    ? { ok, detail: `the log of ${current.size} anchors (root ${current.root}) extends the log of ${old.size}` }
    : {
        ok,
        detail: `the log of ${current.size} anchors does NOT extend the earlier log of ${old.size} (root ${old.root}): history was rewritten or the proof is wrong`,
      };
}

// ---- signing ------------------------------------------------------------------------------------------------

/** The signed bytes: UTF-8 RFC 8785 JSON of the checkpoint without `signature`. */
export function checkpointSigningBytes(checkpoint: Checkpoint): Buffer {
  const { signature: _signature, ...unsigned } = checkpoint;
  void _signature;
  const text = canonicalize(unsigned);
  if (text === undefined) throw new CheckpointError("MALFORMED", "the checkpoint has no JSON form");
  return Buffer.from(text, "utf8");
}

/** The checkpoint signed by `signingKey`, naming `account` as the institution whose registered key it is. */
export function signCheckpoint(checkpoint: Checkpoint, signingKey: Sm2PrivateKey, account: string): Checkpoint {
  const { signature: _old, signer: _oldSigner, ...unsigned } = checkpoint;
  void _old;
  void _oldSigner;
  const withSigner: Checkpoint = {
    ...unsigned,
    signer: { publicKeyPem: signingKey.publicKey.toPem(), account: getAddress(account) },
  };
  const signature = sm2Sign(signingKey, checkpointSigningBytes(withSigner)).toString("base64");
  return parseCheckpoint({ ...withSigner, signature });
}

/** Whether the checkpoint carries a signature that verifies under its signer key. Never throws. */
export function verifyCheckpointSignature(checkpoint: Checkpoint): boolean {
  if (checkpoint.signature === undefined || checkpoint.signer === undefined) return false;
  try {
    const key = Sm2PublicKey.fromPem(checkpoint.signer.publicKeyPem);
    const signature = decodeBase64Strict(checkpoint.signature);
    return sm2Verify(key, checkpointSigningBytes(checkpoint), signature);
  } catch {
    return false;
  }
}

// ---- parsing ------------------------------------------------------------------------------------------------

const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const MAX_PEM_CHARS = 1024;
const MAX_SIGNATURE_CHARS = 200;

export const checkpointSchema = z
  .object({
    format: z.literal(CHECKPOINT_FORMAT),
    chainId: chainIdSchema,
    anchorLog: checksummedAddressSchema,
    size: countSchema,
    root: bytes32Schema,
    blockNumber: countSchema,
    signer: z
      .object({
        publicKeyPem: z
          .string()
          .max(MAX_PEM_CHARS)
          .refine((pem) => {
            try {
              return Sm2PublicKey.fromPem(pem).toPem() === pem;
            } catch {
              return false;
            }
          }, "an SM2 public key, PEM SPKI, as the gateway writes it"),
        account: checksummedAddressSchema,
      })
      .strict()
      .optional(),
    signature: z
      .string()
      .min(4)
      .max(MAX_SIGNATURE_CHARS)
      .refine((s) => {
        try {
          decodeBase64Strict(s);
          return true;
        } catch {
          return false;
        }
      }, "canonical padded base64")
      .optional(),
  })
  .strict()
  .refine((c) => (c.signer === undefined) === (c.signature === undefined), "signer and signature go together")
  .refine((c) => c.size > 0 || c.root === EMPTY_ROOT, "the empty log's root is keccak256 of no bytes");

/** `value` as a checkpoint, strictly (every field, no others). Throws `CheckpointError("MALFORMED")`. */
export function parseCheckpoint(value: unknown, what = "checkpoint"): Checkpoint {
  const result = checkpointSchema.safeParse(value);
  if (!result.success) {
    throw new CheckpointError("MALFORMED", `not a ${CHECKPOINT_FORMAT} (${what}): ${describeIssues(result.error)}`);
  }
  return result.data as Checkpoint;
}

const MAX_PROOF = 128;

export const consistencySchema = z
  .object({
    format: z.literal(CONSISTENCY_FORMAT),
    from: z.unknown(),
    to: z.unknown(),
    proof: z.array(bytes32Schema).max(MAX_PROOF),
  })
  .strict();

/** `value` as a consistency document, strictly. Throws `CheckpointError("MALFORMED")`. */
export function parseConsistency(value: unknown): ConsistencyDocument {
  const result = consistencySchema.safeParse(value);
  if (!result.success) {
    throw new CheckpointError("MALFORMED", `not a ${CONSISTENCY_FORMAT}: ${describeIssues(result.error)}`);
  }
  return {
    format: CONSISTENCY_FORMAT,
    from: parseCheckpoint(result.data.from, "from"),
    to: parseCheckpoint(result.data.to, "to"),
    proof: result.data.proof,
  };
}

/** The canonical (RFC 8785) JSON text of a checkpoint, bundle or consistency document: what the API serves. */
export function canonicalText(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new CheckpointError("MALFORMED", "the value has no JSON form");
  return text;
}

/** A base64url (no padding) encoding of a checkpoint's canonical JSON, for `?since=`. */
export function encodeSince(checkpoint: Checkpoint): string {
  return Buffer.from(canonicalText(checkpoint), "utf8").toString("base64url");
}

/** The checkpoint a `?since=` value carries. Throws `CheckpointError("MALFORMED")`. */
export function decodeSince(text: string): Checkpoint {
  if (typeof text !== "string" || text.length === 0 || text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new CheckpointError("MALFORMED", "since is not base64url");
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch (cause) {
    throw new CheckpointError("MALFORMED", "since is not the base64url of checkpoint JSON", { cause });
  }
  return parseCheckpoint(value, "since");
}
