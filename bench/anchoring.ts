/**
 * Gas per anchored record: real trees of 1, 1,000 and 100,000 random record digests built with
 * `lib/merkle.ts`, each root anchored in a fresh {AnchorLog} on the in-process Hardhat network.
 * An anchor stores the same two slots whatever the batch size, so the gas per record falls with the size.
 */
import { randomInt } from "node:crypto";
import { performance } from "node:perf_hooks";
import { ZeroHash, hexlify, id, randomBytes } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { buildTree, inclusionProof } from "../lib/merkle";
import { Role } from "../lib/roles";

export interface AnchorBenchRow {
  /** Records in the batch (leaves of the tree). */
  records: number;
  /** Gas of the anchor transaction, from its receipt. */
  gasUsed: bigint;
  gasPerRecord: number;
  /** Wall time of `buildTree` over the batch, in milliseconds. */
  treeBuildMs: number;
}

const SIZES = [1, 1_000, 100_000];
const REGION = 110_000n; // Beijing: the anchorer's region and the batches'

/**
 * Deploys a registry and an AnchorLog, anchors one batch of each size and returns a row per batch. Each batch
 * is checked by verifying the proof of one random record on chain; a failure throws.
 *
 * The log's very first anchor also turns its counters slot from zero to non-zero, which costs about 17,000
 * more gas once per deployment. A warm-up anchor is made first so that every row shows the steady-state cost.
 */
export async function benchAnchoring(hre: HardhatRuntimeEnvironment): Promise<AnchorBenchRow[]> {
  const { ethers } = hre;
  const [admin, anchorer] = await ethers.getSigners();
  const registry = await (await ethers.getContractFactory("InstitutionRegistry")).deploy(admin.address);
  const log = await (await ethers.getContractFactory("AnchorLog")).deploy(await registry.getAddress());
  await (await registry.registerInstitution(anchorer.address, Role.Anchorer, REGION, id("bench anchorer key"))).wait();
  await (await log.connect(anchorer).anchor(0, REGION, id("warm-up"), 1, ZeroHash)).wait();

  const rows: AnchorBenchRow[] = [];
  for (const records of SIZES) {
    const digests = Array.from({ length: records }, () => hexlify(randomBytes(32)));
    const started = performance.now();
    const tree = buildTree(digests);
    const treeBuildMs = performance.now() - started;

    const sequence = await log.anchorCount();
    const metadata = id(`bench batch of ${records}`);
    const receipt = await (await log.connect(anchorer).anchor(sequence, REGION, tree.root, records, metadata)).wait();
    if (!receipt) throw new Error(`no receipt for the anchor of ${records} records`);

    const index = randomInt(records);
    if (!(await log.verifyInclusion(sequence, index, digests[index], inclusionProof(tree, index)))) {
      throw new Error(`record ${index} of the ${records}-record batch did not verify on chain`);
    }
    rows.push({ records, gasUsed: receipt.gasUsed, gasPerRecord: Number(receipt.gasUsed) / records, treeBuildMs });
  }
  return rows;
}
