/**
 * The fund trail, for finance bureaus (財政局): central appropriates, each bureau allocates to the bureau directly
 * below it or returns funds to the one directly above, and the bureau of a programme's region funds (or defunds) the
 * programme's pool. A bureau only ever moves funds of exactly its own region; the chain enforces every rule again
 * (adjacency, balances) and refuses with a custom error that the API reports as 409 LEDGER_REJECTED.
 *
 * A movement's reference (a budget document number such as 財社〔2024〕12號) goes on chain as a keyed digest
 * (`digestSecret("reference", text)`) and stays off chain in the audit log's `reason`.
 */
import { Level, contains, levelOf } from "../../../lib/regions";
import { ProgrammeKind } from "../../../lib/roles";
import { type InstitutionPrincipal, assertInRegion } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { FundTotals, TxResult } from "../ledger";

export interface Movement extends TxResult {
  referenceDigest: string;
}

export interface PoolView {
  programmeId: number;
  kind: ProgrammeKind;
  region: bigint;
  balance: bigint;
  paidOut: bigint;
}

export interface Balances {
  region: bigint;
  balance: bigint;
  /** Regions below `region` that the gateway knows (institutions' and programmes' regions, down to counties). */
  below: { region: bigint; balance: bigint }[];
  /** Pools of the programmes whose region is inside `region`. */
  pools: PoolView[];
  /** The whole ledger's totals, for central bureaus only. */
  totals?: FundTotals;
}

function referenceDigest(ctx: GatewayContext, reference: string): string {
  return ctx.keyring.digestSecret("reference", reference);
}

async function audit(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  action: string,
  target: string,
  reference: string,
  details: Record<string, string | number>,
): Promise<void> {
  await ctx.store.appendAudit({ actor: p.id, action, target, reason: reference, details });
}

/** Central appropriation (預算撥入): new money enters the ledger at region 0. */
export async function appropriate(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  amount: bigint,
  reference: string,
): Promise<Movement> {
  if (p.region !== 0n) throw new ApiError("OUTSIDE_REGION", "only the central finance bureau appropriates funds");
  const digest = referenceDigest(ctx, reference);
  const tx = await ctx.ledger.appropriate(p.id, amount, digest);
  await audit(ctx, p, "budget.appropriated", "0", reference, {
    amount: String(amount),
    txHash: tx.txHash,
    referenceDigest: digest,
  });
  return { ...tx, referenceDigest: digest };
}

/** Allocation (下撥) from the bureau's region to a region directly below it. */
export async function allocate(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  toRegion: bigint,
  amount: bigint,
  reference: string,
): Promise<Movement> {
  // Funds only move inside the bureau's own subtree; adjacency (a direct child, county at most) is the chain's check.
  if (toRegion === p.region)
    throw new ApiError("VALIDATION_FAILED", "toRegion: is your own region", { field: "toRegion" });
  assertInRegion(p, toRegion, "toRegion");
  return moveBetweenRegions(ctx, p, "allocate", toRegion, amount, reference);
}

/** Return of funds (上繳) from the bureau's region to the region directly above it. */
export async function returnFunds(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  toRegion: bigint,
  amount: bigint,
  reference: string,
): Promise<Movement> {
  if (toRegion === p.region || !contains(toRegion, p.region)) {
    throw new ApiError("VALIDATION_FAILED", "toRegion: must be the region directly above yours", { field: "toRegion" });
  }
  return moveBetweenRegions(ctx, p, "returnFunds", toRegion, amount, reference);
}

/** Moves funds from the bureau's region to `toRegion` on chain (checked already) and audits it. */
async function moveBetweenRegions(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  move: "allocate" | "returnFunds",
  toRegion: bigint,
  amount: bigint,
  reference: string,
): Promise<Movement> {
  const digest = referenceDigest(ctx, reference);
  const tx = await ctx.ledger[move](p.id, { fromRegion: p.region, toRegion, amount, referenceDigest: digest });
  await audit(ctx, p, move === "allocate" ? "budget.allocated" : "budget.returned", String(toRegion), reference, {
    fromRegion: String(p.region),
    toRegion: String(toRegion),
    amount: String(amount),
    txHash: tx.txHash,
    referenceDigest: digest,
  });
  return { ...tx, referenceDigest: digest };
}

/** The programme's rule, after checking that the bureau is the one of the programme's region. */
async function ownProgramme(ctx: GatewayContext, p: InstitutionPrincipal, programmeId: number) {
  const rule = await ctx.ledger.programme(programmeId);
  if (rule.region !== p.region) {
    throw new ApiError("OUTSIDE_REGION", "only the finance bureau of the programme's region moves funds of its pool");
  }
  return rule;
}

/** Moves funds from the bureau's region into the programme's pool (`direction: "fund"`) or back. */
export async function movePool(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  direction: "fund" | "defund",
  programmeId: number,
  amount: bigint,
  reference: string,
): Promise<Movement> {
  await ownProgramme(ctx, p, programmeId);
  const digest = referenceDigest(ctx, reference);
  const transfer = { programmeId, amount, referenceDigest: digest };
  const tx =
    direction === "fund"
      ? await ctx.ledger.fundProgramme(p.id, transfer)
      : await ctx.ledger.defundProgramme(p.id, transfer);
  await audit(
    ctx,
    p,
    direction === "fund" ? "budget.programme-funded" : "budget.programme-defunded",
    String(programmeId),
    reference,
    {
      programmeId,
      region: String(p.region),
      amount: String(amount),
      txHash: tx.txHash,
      referenceDigest: digest,
    },
  );
  return { ...tx, referenceDigest: digest };
}

/**
 * Balances of `region` (inside the caller's region): its own, those of the regions below it that the gateway knows
 * (institutions' and programmes' regions, down to counties: no funds are held below a county), the pools of the
 * programmes inside it, and the ledger's totals when the caller is central.
 */
export async function balances(ctx: GatewayContext, p: InstitutionPrincipal, region: bigint): Promise<Balances> {
  assertInRegion(p, region, "the region");
  const count = await ctx.ledger.programmeCount();
  const rules = await Promise.all(Array.from({ length: count }, (_, i) => ctx.ledger.programme(i + 1)));
  const programmes = rules
    .map((rule, i) => ({ programmeId: i + 1, rule }))
    .filter((x) => contains(region, x.rule.region));

  const known = new Set<bigint>();
  for (const inst of await ctx.store.listInstitutions()) known.add(BigInt(inst.regionCode));
  for (const x of programmes) known.add(x.rule.region);
  const below = [...known]
    .filter((r) => r !== region && contains(region, r) && levelOf(r) <= Level.County)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  const [balance, belowBalances, pools, totals] = await Promise.all([
    ctx.ledger.regionBalance(region),
    Promise.all(below.map(async (r) => ({ region: r, balance: await ctx.ledger.regionBalance(r) }))),
    Promise.all(
      programmes.map(async ({ programmeId, rule }) => ({
        programmeId,
        kind: rule.kind,
        region: rule.region,
        balance: await ctx.ledger.poolBalance(programmeId),
        paidOut: await ctx.ledger.programmePaidOut(programmeId),
      })),
    ),
    p.region === 0n ? ctx.ledger.fundTotals() : Promise.resolve(undefined),
  ]);
  return { region, balance, below: belowBalances, pools, ...(totals ? { totals } : {}) };
}
