/**
 * `AnchorLog`: Merkle tree heads of batches of record digests, numbered without gaps (the tree layout and the
 * inclusion check are `lib/merkle.ts`'s, the same as `MerkleLog.sol`).
 *
 * A chaincode cannot know the block its transaction will land in (it runs before ordering): an anchor stores
 * the transaction id instead, and `anchorAt` answers `blockNumber: 0` with `txId`; the adapter takes the block
 * from the `RecordsAnchored` event's block.
 */
import type { AnchorRecord, AnchorSubmission } from "../../lib/ledger-model";
import { verifyInclusion as verifyProof } from "../../lib/merkle";
import { isValidRegion } from "../../lib/regions";
import { Role } from "../../lib/roles";
import { authorize } from "./access";
import { big, bytes32, bytes32List, uint, ZERO32, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { refuse } from "./refusal";
import { pad } from "./store";

const LOG_KEY = "anchorLog";

/** An `AnchorRecord` with the transaction id in place of the block. */
interface AnchorDoc extends Omit<AnchorRecord, "blockNumber"> {
  txId: string;
}

interface Log {
  count: number;
  totalRecords: number;
}

const anchorKey = (ctx: ReliefContext, sequence: number) => ctx.store.key("anchor", pad(sequence, 20));
const log = async (ctx: ReliefContext): Promise<Log> =>
  (await ctx.store.get<Log>(LOG_KEY)) ?? { count: 0, totalRecords: 0 };

export async function anchor(ctx: ReliefContext, input: Json): Promise<{ sequence: number; firstRecordIndex: number }> {
  const submission: AnchorSubmission = {
    expectedSequence: uint(input, "expectedSequence", 53),
    region: big(input, "region", 64),
    root: bytes32(input, "root"),
    recordCount: uint(input, "recordCount", 53),
    metadataDigest: bytes32(input, "metadataDigest"),
  };
  const { expectedSequence, region, root, recordCount, metadataDigest } = submission;
  await authorize(ctx, [Role.Anchorer], region);
  if (!isValidRegion(region)) refuse("LedgerAnchorInvalidRegion", { region });
  if (root === ZERO32) refuse("LedgerAnchorZeroRoot");
  if (recordCount === 0) refuse("LedgerAnchorZeroRecordCount");
  const l = await log(ctx);
  const sequence = l.count;
  if (expectedSequence !== sequence)
    refuse("LedgerAnchorOutOfSequence", { expected: expectedSequence, next: sequence });
  const first = l.totalRecords;
  const doc: AnchorDoc = {
    root,
    firstRecordIndex: first,
    recordCount,
    region,
    anchoredAt: ctx.now,
    txId: ctx.stub.getTxID(),
  };
  await ctx.store.put(anchorKey(ctx, sequence), doc);
  await ctx.store.put(LOG_KEY, { count: sequence + 1, totalRecords: first + recordCount });
  ctx.emit("RecordsAnchored", { sequence, region, root, recordCount, firstRecordIndex: first, metadataDigest });
  return { sequence, firstRecordIndex: first };
}

async function stored(ctx: ReliefContext, sequence: number): Promise<AnchorDoc> {
  const { count } = await log(ctx);
  if (sequence >= count) refuse("LedgerUnknownAnchor", { sequence, anchorCount: count });
  return (await ctx.store.get<AnchorDoc>(anchorKey(ctx, sequence), ["region"])) as AnchorDoc;
}

export async function anchorCount(ctx: ReliefContext): Promise<number> {
  return (await log(ctx)).count;
}

export async function totalRecords(ctx: ReliefContext): Promise<number> {
  return (await log(ctx)).totalRecords;
}

export async function anchorAt(ctx: ReliefContext, input: Json): Promise<AnchorRecord & { txId: string }> {
  const a = await stored(ctx, uint(input, "sequence", 53));
  return { ...a, blockNumber: 0 };
}

export async function verifyInclusion(ctx: ReliefContext, input: Json): Promise<boolean> {
  const sequence = uint(input, "sequence", 53);
  const index = uint(input, "index", 53);
  const recordDigest = bytes32(input, "recordDigest");
  const proof = bytes32List(input, "proof");
  const a = await stored(ctx, sequence);
  return verifyProof(a.root, a.recordCount, index, recordDigest, proof);
}
