/**
 * `Budget`: the fund trail. Each function moves money between exactly two places and emits one event, so
 * `appropriated == Σ region balances + Σ pools + voucher escrow + paidOut` after every transaction.
 */
import type { Clawback, FundTotals, FundTransfer, PoolTransfer } from "../../lib/ledger-model";
import { CENTRAL, isChild, isValidRegion, levelOf } from "../../lib/regions";
import { Role } from "../../lib/roles";
import { authorize } from "./access";
import { big, bytes32, object, uint, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { parsePayoutKey, payoutStatusOf, type PayoutKey } from "./payout-keys";
import { loadProgramme, programmeCount } from "./programmes";
import { refuse } from "./refusal";
import { pad } from "./store";
import { caseKey } from "./case-state";
import { PayoutStatus } from "../../lib/roles";
import { VoucherFundsMove } from "../../lib/vouchers";

const U256 = 256;
/**
 * Only appropriations write the total: net paid out is the sum of the programmes' own totals, so payout runs of
 * different programmes touch no common key (no MVCC conflict between them on a peer).
 */
const APPROPRIATED_KEY = "appropriated";

const balanceKey = (ctx: ReliefContext, region: bigint) => ctx.store.key("balance", pad(region, 12));
const poolKey = (ctx: ReliefContext, programmeId: number) => ctx.store.key("pool", pad(programmeId, 10));
const paidKey = (ctx: ReliefContext, programmeId: number) => ctx.store.key("programmePaid", pad(programmeId, 10));
/** Per programme, like `programmePaid`: voucher moves of different programmes touch no common key. */
const escrowKey = (ctx: ReliefContext, programmeId: number) => ctx.store.key("voucherEscrow", pad(programmeId, 10));
const clawbackKey = (ctx: ReliefContext, k: PayoutKey) =>
  ctx.store.key("clawback", k.caseId, pad(k.period, 8), k.eventId);

export const poolBalanceOf = (ctx: ReliefContext, programmeId: number) => ctx.store.getBig(poolKey(ctx, programmeId));

/** A finance bureau moves only the funds it holds itself: its region must be exactly `region`. */
async function requireExactRegion(ctx: ReliefContext, region: bigint): Promise<void> {
  const caller = await authorize(ctx, [Role.Finance], region);
  if (caller.region !== region) refuse("LedgerUnauthorizedRegion", { account: caller.account, region });
}

async function move(ctx: ReliefContext, from: bigint, to: bigint, amount: bigint): Promise<void> {
  if (amount === 0n) refuse("LedgerZeroAmount");
  const available = await ctx.store.getBig(balanceKey(ctx, from));
  if (available < amount) refuse("LedgerInsufficientFunds", { available, requested: amount });
  await ctx.store.putBig(balanceKey(ctx, from), available - amount);
  await ctx.store.putBig(balanceKey(ctx, to), (await ctx.store.getBig(balanceKey(ctx, to))) + amount);
}

export async function appropriate(ctx: ReliefContext, input: Json): Promise<void> {
  const amount = big(input, "amount", U256);
  const referenceDigest = bytes32(input, "referenceDigest");
  await requireExactRegion(ctx, CENTRAL);
  if (amount === 0n) refuse("LedgerZeroAmount");
  await ctx.store.putBig(APPROPRIATED_KEY, (await ctx.store.getBig(APPROPRIATED_KEY)) + amount);
  await ctx.store.putBig(balanceKey(ctx, CENTRAL), (await ctx.store.getBig(balanceKey(ctx, CENTRAL))) + amount);
  ctx.emit("FundsAppropriated", { amount, referenceDigest });
}

function transfer(input: Json): FundTransfer {
  return {
    fromRegion: big(input, "fromRegion", 64),
    toRegion: big(input, "toRegion", 64),
    amount: big(input, "amount", U256),
    referenceDigest: bytes32(input, "referenceDigest"),
  };
}

export async function allocate(ctx: ReliefContext, input: Json): Promise<void> {
  const t = transfer(input);
  await requireExactRegion(ctx, t.fromRegion);
  if (!isValidRegion(t.toRegion) || !isChild(t.fromRegion, t.toRegion) || levelOf(t.toRegion) > 3) {
    refuse("LedgerNotAdjacentRegion", { fromRegion: t.fromRegion, toRegion: t.toRegion });
  }
  await move(ctx, t.fromRegion, t.toRegion, t.amount);
  ctx.emit("FundsAllocated", { ...t });
}

export async function returnFunds(ctx: ReliefContext, input: Json): Promise<void> {
  const t = transfer(input);
  await requireExactRegion(ctx, t.fromRegion);
  if (!isValidRegion(t.toRegion) || !isChild(t.toRegion, t.fromRegion)) {
    refuse("LedgerNotAdjacentRegion", { fromRegion: t.fromRegion, toRegion: t.toRegion });
  }
  await move(ctx, t.fromRegion, t.toRegion, t.amount);
  ctx.emit("FundsReturned", { ...t });
}

function poolTransfer(input: Json): PoolTransfer {
  return {
    programmeId: uint(input, "programmeId", 32),
    amount: big(input, "amount", U256),
    referenceDigest: bytes32(input, "referenceDigest"),
  };
}

export async function fundProgramme(ctx: ReliefContext, input: Json): Promise<void> {
  const { programmeId, amount, referenceDigest } = poolTransfer(input);
  const region = (await loadProgramme(ctx, programmeId)).region;
  await requireExactRegion(ctx, region);
  if (amount === 0n) refuse("LedgerZeroAmount");
  const available = await ctx.store.getBig(balanceKey(ctx, region));
  if (available < amount) refuse("LedgerInsufficientFunds", { available, requested: amount });
  await ctx.store.putBig(balanceKey(ctx, region), available - amount);
  await ctx.store.putBig(poolKey(ctx, programmeId), (await poolBalanceOf(ctx, programmeId)) + amount);
  ctx.emit("ProgrammeFunded", { programmeId, region, amount, referenceDigest });
}

export async function defundProgramme(ctx: ReliefContext, input: Json): Promise<void> {
  const { programmeId, amount, referenceDigest } = poolTransfer(input);
  const region = (await loadProgramme(ctx, programmeId)).region;
  await requireExactRegion(ctx, region);
  if (amount === 0n) refuse("LedgerZeroAmount");
  const available = await poolBalanceOf(ctx, programmeId);
  if (available < amount) refuse("LedgerInsufficientFunds", { available, requested: amount });
  await ctx.store.putBig(poolKey(ctx, programmeId), available - amount);
  await ctx.store.putBig(balanceKey(ctx, region), (await ctx.store.getBig(balanceKey(ctx, region))) + amount);
  ctx.emit("ProgrammeDefunded", { programmeId, region, amount, referenceDigest });
}

export async function recordClawback(ctx: ReliefContext, input: Json): Promise<void> {
  const clawback: Clawback = {
    key: parsePayoutKey(object(input, "key")),
    amount: big(input, "amount", U256),
    referenceDigest: bytes32(input, "referenceDigest"),
  };
  const { key, amount, referenceDigest } = clawback;
  const notSettled = { caseId: key.caseId, period: key.period, eventId: key.eventId };
  const c = await ctx.store.get<{ programmeId: number }>(caseKey(ctx, key.caseId));
  const programmeId = c?.programmeId ?? 0;
  if (programmeId === 0) refuse("LedgerPayoutNotSettled", notSettled);
  const status = await payoutStatusOf(ctx, key);
  await requireExactRegion(ctx, (await loadProgramme(ctx, programmeId)).region);
  if (status.status !== PayoutStatus.Settled) refuse("LedgerPayoutNotSettled", notSettled);
  if (amount === 0n) refuse("LedgerZeroAmount");
  const clawed = await ctx.store.getBig(clawbackKey(ctx, key));
  const left = status.amount - clawed;
  if (amount > left) refuse("LedgerClawbackExceedsPayout", { ...notSettled, available: left });
  await ctx.store.putBig(clawbackKey(ctx, key), clawed + amount);
  await addPaid(ctx, programmeId, -amount);
  await ctx.store.putBig(poolKey(ctx, programmeId), (await poolBalanceOf(ctx, programmeId)) + amount);
  ctx.emit("ClawbackRecorded", {
    caseId: key.caseId,
    programmeId,
    eventId: key.eventId,
    period: key.period,
    amount,
    referenceDigest,
  });
}

async function addPaid(ctx: ReliefContext, programmeId: number, delta: bigint): Promise<void> {
  await ctx.store.putBig(paidKey(ctx, programmeId), (await ctx.store.getBig(paidKey(ctx, programmeId))) + delta);
}

/** Debits a programme pool for payouts already checked against it. */
export async function recordPayouts(ctx: ReliefContext, programmeId: number, total: bigint): Promise<void> {
  await ctx.store.putBig(poolKey(ctx, programmeId), (await poolBalanceOf(ctx, programmeId)) - total);
  await addPaid(ctx, programmeId, total);
}

/** Credits a programme pool with a payout the bank could not make. */
export async function recordFailedPayout(ctx: ReliefContext, programmeId: number, amount: bigint): Promise<void> {
  await addPaid(ctx, programmeId, -amount);
  await ctx.store.putBig(poolKey(ctx, programmeId), (await poolBalanceOf(ctx, programmeId)) + amount);
}

// ---- IVoucherFunding: the voucher book's side of the trail (one chaincode: no book to link) ----------------------

/** A place voucher money moves between: its balance and how to change it. */
interface Place {
  balance(): Promise<bigint>;
  add(delta: bigint): Promise<void>;
}

function voucherPlaces(ctx: ReliefContext, programmeId: number): Record<"pool" | "escrow" | "paid", Place> {
  const at = (key: string): Place => ({
    balance: () => ctx.store.getBig(key),
    add: async (delta) => ctx.store.putBig(key, (await ctx.store.getBig(key)) + delta),
  });
  return {
    pool: at(poolKey(ctx, programmeId)),
    escrow: at(escrowKey(ctx, programmeId)),
    paid: at(paidKey(ctx, programmeId)),
  };
}

/**
 * `IVoucherFunding.moveVoucherFunds`, internal here: Issue pool → escrow, Expire escrow → pool, Pay escrow → paid
 * out, Fail paid out → escrow. Refuses `LedgerInsufficientFunds` if the source holds less. Emits
 * `VoucherFundsMoved`.
 */
export async function moveVoucherFunds(
  ctx: ReliefContext,
  programmeId: number,
  move: VoucherFundsMove,
  amount: bigint,
): Promise<void> {
  const places = voucherPlaces(ctx, programmeId);
  const [from, to] = {
    [VoucherFundsMove.Issue]: [places.pool, places.escrow],
    [VoucherFundsMove.Expire]: [places.escrow, places.pool],
    [VoucherFundsMove.Pay]: [places.escrow, places.paid],
    [VoucherFundsMove.Fail]: [places.paid, places.escrow],
  }[move];
  const available = await from.balance();
  if (available < amount) refuse("LedgerInsufficientFunds", { available, requested: amount });
  await from.add(-amount);
  await to.add(amount);
  ctx.emit("VoucherFundsMoved", { programmeId, move, amount });
}

/** `IVoucherFunding.voucherEscrow`: outstanding voucher value plus redemptions not yet paid, every programme. */
export async function voucherEscrow(ctx: ReliefContext): Promise<bigint> {
  let escrow = 0n;
  for (let id = 1; id <= (await programmeCount(ctx)); id++) escrow += await ctx.store.getBig(escrowKey(ctx, id));
  return escrow;
}

export async function clawedBack(ctx: ReliefContext, input: Json): Promise<bigint> {
  return ctx.store.getBig(clawbackKey(ctx, parsePayoutKey(input)));
}

export async function regionBalance(ctx: ReliefContext, input: Json): Promise<bigint> {
  return ctx.store.getBig(balanceKey(ctx, big(input, "region", 64)));
}

export async function poolBalance(ctx: ReliefContext, input: Json): Promise<bigint> {
  return poolBalanceOf(ctx, uint(input, "programmeId", 32));
}

export async function programmePaidOut(ctx: ReliefContext, input: Json): Promise<bigint> {
  return ctx.store.getBig(paidKey(ctx, uint(input, "programmeId", 32)));
}

export async function fundTotals(ctx: ReliefContext): Promise<FundTotals> {
  const appropriated = await ctx.store.getBig(APPROPRIATED_KEY);
  let paidOut = 0n;
  for (let id = 1; id <= (await programmeCount(ctx)); id++) paidOut += await ctx.store.getBig(paidKey(ctx, id));
  return { appropriated, held: appropriated - paidOut, paidOut };
}
