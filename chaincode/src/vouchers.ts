/**
 * `VoucherBook` (contracts/interfaces/IVoucherBook.sol): assistance vouchers (救助券). A programme of kind
 * `Voucher` pays each approved case one voucher of the approved amount; a presented provider redeems it, in part or
 * in full; the finance bureau pays providers for what they redeemed; unused value returns to the pool at expiry.
 * Money moves only through `budget.moveVoucherFunds` (pool ⇄ escrow ⇄ paid out). There is no transfer: a voucher
 * belongs to its case. The same checks in the same order and the same errors as the Solidity book.
 */
import type {
  PresentationRecord,
  RedemptionKey,
  RedemptionRecord,
  VoucherIssueOutcome,
  VoucherPresentation,
  VoucherRecord,
  VoucherRedemption,
  VoucherTerms,
  VoucherTotals,
} from "../../lib/ledger-model";
import { contains } from "../../lib/regions";
import { CaseStatus, ProgrammeKind, Role, SkipReason } from "../../lib/roles";
import {
  ALL_CATEGORIES,
  MAX_PRESENTATION_SECONDS,
  MAX_VOUCHER_VALIDITY,
  MIN_VOUCHER_VALIDITY,
  ProviderCategory,
  RedemptionStatus,
  VoucherFundsMove,
  VoucherKind,
  VoucherStatus,
} from "../../lib/vouchers";
import { authorize, authorizeRole, requireNotPaused, requireOwner } from "./access";
import { account, big, bytes32, bytes32List, object, uint, ZERO32, type Json } from "./codec";
import type { ReliefContext } from "./context";
import { loadCase } from "./case-state";
import { moveVoucherFunds, poolBalanceOf } from "./budget";
import { loadProgramme } from "./programmes";
import { refuse } from "./refusal";
import { institutionKey, INSTITUTION_BIGINTS, type InstitutionDoc } from "./registry-state";
import { pad } from "./store";
import {
  categoryKey,
  categoryOf,
  knownRedemption,
  knownVoucher,
  loadPresentation,
  loadRedemption,
  loadTerms,
  loadVoucher,
  parseCategory,
  parseRedemptionKey,
  parseRedemptionKeys,
  parseTerms,
  presentationKey,
  programmeVoucherKey,
  redemptionKey,
  saveVoucher,
  termsKey,
  voucherPaidKey,
  type VoucherDoc,
} from "./voucher-state";

/** Sums per programme, moved once per programme at the end of a transaction (in order of first appearance). */
class Moves extends Map<number, bigint> {
  add(programmeId: number, amount: bigint): void {
    this.set(programmeId, (this.get(programmeId) ?? 0n) + amount);
  }

  async apply(ctx: ReliefContext, move: VoucherFundsMove): Promise<void> {
    for (const [programmeId, amount] of this) {
      if (amount !== 0n) await moveVoucherFunds(ctx, programmeId, move, amount);
    }
  }
}

async function addPaid(ctx: ReliefContext, programmeId: number, delta: bigint): Promise<void> {
  const key = voucherPaidKey(ctx, programmeId);
  await ctx.store.putBig(key, (await ctx.store.getBig(key)) + delta);
}

// ---- Terms and providers -------------------------------------------------------------------------------------

export async function setVoucherTerms(ctx: ReliefContext, input: Json): Promise<void> {
  const programmeId = uint(input, "programmeId", 32);
  const terms = parseTerms(object(input, "terms"));
  const p = await loadProgramme(ctx, programmeId);
  if (p.kind !== ProgrammeKind.Voucher) refuse("VoucherNotVoucherProgramme", { programmeId });
  await authorize(ctx, [Role.Approver], p.region);
  if (terms.kind === VoucherKind.None) refuse("VoucherInvalidTerms", { field: "kind" });
  if (terms.categories === 0 || (terms.categories & ~ALL_CATEGORIES) !== 0)
    refuse("VoucherInvalidTerms", { field: "categories" });
  if (terms.validity < MIN_VOUCHER_VALIDITY || terms.validity > MAX_VOUCHER_VALIDITY)
    refuse("VoucherInvalidTerms", { field: "validity" });
  await ctx.store.put(termsKey(ctx, programmeId), terms);
  ctx.emit("VoucherTermsSet", { programmeId, ...terms });
}

async function institutionOf(ctx: ReliefContext, acct: string): Promise<InstitutionDoc | undefined> {
  return ctx.store.get<InstitutionDoc>(institutionKey(ctx.store, acct), INSTITUTION_BIGINTS);
}

export async function setProviderCategory(ctx: ReliefContext, input: Json): Promise<void> {
  const provider = account(input, "account");
  const category = parseCategory(input, "category");
  await requireOwner(ctx);
  if ((await institutionOf(ctx, provider))?.role !== Role.Provider) refuse("VoucherNotProvider", { account: provider });
  if (category === ProviderCategory.None) refuse("LedgerInvalidInput", { field: "category" });
  await ctx.store.put(categoryKey(ctx, provider), category);
  ctx.emit("ProviderCategorySet", { provider, category });
}

// ---- Issue ---------------------------------------------------------------------------------------------------

/**
 * `VoucherBook._issuable`: why `caseId` gets no voucher now, apart from the pool; `undefined` if it may be issued
 * one. (An approved case's notice is over: there is no NoticeOpen here.)
 */
async function issueSkip(ctx: ReliefContext, caseId: string): Promise<SkipReason | undefined> {
  const doc = await loadCase(ctx, caseId);
  if (doc === undefined || doc.status === CaseStatus.None) return SkipReason.UnknownCase;
  // Terms exist only for programmes of kind Voucher (setVoucherTerms checks; a kind never changes).
  if ((await loadTerms(ctx, doc.programmeId)).kind === VoucherKind.None) return SkipReason.WrongProgramme;
  if (doc.status === CaseStatus.Suspended) return SkipReason.Suspended;
  if (doc.status !== CaseStatus.Approved && doc.status !== CaseStatus.Exiting) return SkipReason.NotApproved;
  if (ctx.period < doc.firstPeriod) return SkipReason.NotStarted;
  if (ctx.period > doc.lastPeriod) return SkipReason.Expired;
  if ((await loadVoucher(ctx, caseId)) !== undefined) return SkipReason.AlreadyPaid;
  return undefined;
}

/** One chunk of an issuing run (the adapter chunks): an outcome per listed case, in order. */
export async function issueVouchers(
  ctx: ReliefContext,
  input: Json,
): Promise<{ outcomes: VoucherIssueOutcome[]; issued: number; total: bigint }> {
  const caseIds = bytes32List(input, "caseIds");
  await requireNotPaused(ctx);
  const moves = new Moves();
  const outcomes: VoucherIssueOutcome[] = [];
  for (const caseId of caseIds) {
    let reason = await issueSkip(ctx, caseId);
    const doc = await loadCase(ctx, caseId);
    if (reason === undefined && doc !== undefined) {
      const pool = await poolBalanceOf(ctx, doc.programmeId);
      if (doc.amount > pool - (moves.get(doc.programmeId) ?? 0n)) reason = SkipReason.InsufficientBudget;
    }
    if (reason !== undefined || doc === undefined) {
      const why = reason ?? SkipReason.UnknownCase;
      ctx.emit("VoucherSkipped", { caseId, reason: why });
      outcomes.push({ caseId, status: "skipped", reason: why });
      continue;
    }
    const terms = await loadTerms(ctx, doc.programmeId);
    const region = (await loadProgramme(ctx, doc.programmeId)).region;
    const v: VoucherDoc = {
      status: VoucherStatus.Active,
      kind: terms.kind,
      categories: terms.categories,
      programmeId: doc.programmeId,
      region,
      faceValue: doc.amount,
      remaining: doc.amount,
      issuedAt: ctx.now,
      expiresAt: ctx.now + terms.validity,
      redemptionCount: 0,
      redeemed: 0n,
    };
    await saveVoucher(ctx, caseId, v);
    // Query index: a programme's vouchers (its totals).
    await ctx.store.put(programmeVoucherKey(ctx, doc.programmeId, caseId), {});
    moves.add(doc.programmeId, v.faceValue);
    ctx.emit("VoucherIssued", {
      voucherId: caseId,
      programmeId: v.programmeId,
      kind: v.kind,
      faceValue: v.faceValue,
      expiresAt: v.expiresAt,
    });
    outcomes.push({ caseId, status: "issued", faceValue: v.faceValue, expiresAt: v.expiresAt });
  }
  await moves.apply(ctx, VoucherFundsMove.Issue);
  let total = 0n;
  for (const amount of moves.values()) total += amount;
  return { outcomes, issued: outcomes.filter((o) => o.status === "issued").length, total };
}

// ---- Presentation and redemption -----------------------------------------------------------------------------

function requireRedeemable(voucherId: string, v: VoucherDoc, now: number): void {
  if (v.status !== VoucherStatus.Active) refuse("VoucherNotActive", { voucherId, status: v.status });
  if (now >= v.expiresAt) refuse("VoucherIsExpired", { voucherId, expiresAt: v.expiresAt });
}

export async function presentVoucher(ctx: ReliefContext, input: Json): Promise<void> {
  const p: VoucherPresentation = {
    voucherId: bytes32(input, "voucherId"),
    provider: account(input, "provider"),
    maxAmount: big(input, "maxAmount", 64),
    expiresAt: uint(input, "expiresAt", 40),
    presentationDigest: bytes32(input, "presentationDigest"),
  };
  const v = await knownVoucher(ctx, p.voucherId);
  await authorize(ctx, [Role.Anchorer], v.region);
  requireRedeemable(p.voucherId, v, ctx.now);
  const inst = await institutionOf(ctx, p.provider);
  if (inst?.role !== Role.Provider || !inst.active) refuse("VoucherNotProvider", { account: p.provider });
  if (p.maxAmount === 0n) refuse("LedgerInvalidInput", { field: "maxAmount" });
  if (p.maxAmount > v.remaining)
    refuse("VoucherAboveRemaining", { voucherId: p.voucherId, amount: p.maxAmount, remaining: v.remaining });
  if (p.expiresAt <= ctx.now || p.expiresAt > ctx.now + MAX_PRESENTATION_SECONDS)
    refuse("LedgerInvalidInput", { field: "expiresAt" });
  const record: PresentationRecord = {
    provider: p.provider,
    maxAmount: p.maxAmount,
    expiresAt: p.expiresAt,
    presentationDigest: p.presentationDigest,
  };
  await ctx.store.put(presentationKey(ctx, p.voucherId), record);
  ctx.emit("VoucherPresented", { ...p });
}

export async function redeemVoucher(ctx: ReliefContext, input: Json): Promise<{ index: number; remaining: bigint }> {
  const r: VoucherRedemption = {
    voucherId: bytes32(input, "voucherId"),
    amount: big(input, "amount", 64),
    invoiceDigest: bytes32(input, "invoiceDigest"),
  };
  const { voucherId, amount, invoiceDigest } = r;
  const provider = await authorizeRole(ctx, [Role.Provider]);
  const v = await knownVoucher(ctx, voucherId);
  requireRedeemable(voucherId, v, ctx.now);
  const category = await categoryOf(ctx, provider.account);
  if (category === ProviderCategory.None || (v.categories & (1 << category)) === 0)
    refuse("VoucherWrongCategory", { voucherId, provider: provider.account, category });
  if (!contains(v.region, provider.region))
    refuse("VoucherOutsideRegion", { voucherId, provider: provider.account, providerRegion: provider.region });
  const p = await loadPresentation(ctx, voucherId);
  if (p.provider !== provider.account || ctx.now >= p.expiresAt)
    refuse("VoucherNoPresentation", { voucherId, provider: provider.account });
  if (amount === 0n || amount > p.maxAmount)
    refuse("VoucherAbovePresented", { voucherId, amount, maxAmount: p.maxAmount });
  if (amount > v.remaining) refuse("VoucherAboveRemaining", { voucherId, amount, remaining: v.remaining });

  const index = v.redemptionCount;
  v.remaining -= amount;
  v.redeemed += amount;
  v.redemptionCount += 1;
  if (v.remaining === 0n) v.status = VoucherStatus.Exhausted;
  await saveVoucher(ctx, voucherId, v);
  // The presentation is spent: the same presentation never redeems twice.
  await ctx.store.del(presentationKey(ctx, voucherId));
  const record: RedemptionRecord = {
    status: RedemptionStatus.Redeemed,
    provider: provider.account,
    amount,
    redeemedAt: ctx.now,
    invoiceDigest,
  };
  await ctx.store.put(redemptionKey(ctx, { voucherId, index }), record);
  ctx.emit("VoucherRedeemed", {
    voucherId,
    index,
    provider: provider.account,
    programmeId: v.programmeId,
    amount,
    remaining: v.remaining,
    invoiceDigest,
  });
  return { index, remaining: v.remaining };
}

// ---- Paying providers ----------------------------------------------------------------------------------------

/**
 * A redemption in `expected` status (checked before the caller, as `Settlement` checks the case first), its
 * voucher's region authorised for one of `roles`.
 */
async function redemptionIn(
  ctx: ReliefContext,
  k: RedemptionKey,
  roles: readonly Role[],
  expected: RedemptionStatus,
): Promise<{ voucher: VoucherDoc; redemption: RedemptionRecord }> {
  const found = await knownRedemption(ctx, k);
  if (found.redemption.status !== expected)
    refuse("VoucherRedemptionNotInStatus", { ...k, status: found.redemption.status });
  await authorize(ctx, roles, found.voucher.region);
  return found;
}

async function saveRedemption(ctx: ReliefContext, k: RedemptionKey, r: RedemptionRecord): Promise<void> {
  await ctx.store.put(redemptionKey(ctx, k), r);
}

export async function payRedemptions(ctx: ReliefContext, input: Json): Promise<{ total: bigint }> {
  const keys = parseRedemptionKeys(input, "keys");
  if (keys.length === 0) refuse("LedgerInvalidInput", { field: "keys" });
  const moves = new Moves();
  let total = 0n;
  for (const k of keys) {
    const { voucher, redemption } = await redemptionIn(ctx, k, [Role.Finance], RedemptionStatus.Redeemed);
    redemption.status = RedemptionStatus.Paid;
    await saveRedemption(ctx, k, redemption);
    await addPaid(ctx, voucher.programmeId, redemption.amount);
    moves.add(voucher.programmeId, redemption.amount);
    total += redemption.amount;
    ctx.emit("RedemptionPaid", { ...k, provider: redemption.provider, amount: redemption.amount });
  }
  await moves.apply(ctx, VoucherFundsMove.Pay);
  return { total };
}

export async function confirmRedemptionSettlements(ctx: ReliefContext, input: Json): Promise<void> {
  const bankRefDigest = bytes32(input, "bankRefDigest");
  const keys = parseRedemptionKeys(input, "keys");
  if (bankRefDigest === ZERO32) refuse("LedgerInvalidInput", { field: "bankRefDigest" });
  if (keys.length === 0) refuse("LedgerInvalidInput", { field: "keys" });
  for (const k of keys) {
    const { redemption } = await redemptionIn(ctx, k, [Role.PaymentAgent], RedemptionStatus.Paid);
    redemption.status = RedemptionStatus.Settled;
    await saveRedemption(ctx, k, redemption);
    ctx.emit("RedemptionSettled", { ...k, bankRefDigest });
  }
}

export async function reportRedemptionFailure(ctx: ReliefContext, input: Json): Promise<{ amount: bigint }> {
  const k = parseRedemptionKey(object(input, "key"));
  const reasonDigest = bytes32(input, "reasonDigest");
  const { voucher, redemption } = await redemptionIn(ctx, k, [Role.PaymentAgent], RedemptionStatus.Paid);
  // Owed again: the next payment run pays it.
  redemption.status = RedemptionStatus.Redeemed;
  await saveRedemption(ctx, k, redemption);
  await addPaid(ctx, voucher.programmeId, -redemption.amount);
  ctx.emit("RedemptionFailed", { ...k, amount: redemption.amount, reasonDigest });
  await moveVoucherFunds(ctx, voucher.programmeId, VoucherFundsMove.Fail, redemption.amount);
  return { amount: redemption.amount };
}

// ---- Expiry --------------------------------------------------------------------------------------------------

export async function expireVouchers(ctx: ReliefContext, input: Json): Promise<{ expired: number; returned: bigint }> {
  const voucherIds = bytes32List(input, "voucherIds");
  await requireNotPaused(ctx);
  const moves = new Moves();
  let expired = 0;
  let returned = 0n;
  for (const voucherId of voucherIds) {
    const v = await loadVoucher(ctx, voucherId);
    if (v === undefined || v.status !== VoucherStatus.Active || ctx.now < v.expiresAt) continue;
    const amount = v.remaining;
    v.status = VoucherStatus.Expired;
    v.remaining = 0n;
    await saveVoucher(ctx, voucherId, v);
    moves.add(v.programmeId, amount);
    expired += 1;
    returned += amount;
    ctx.emit("VoucherExpired", { voucherId, programmeId: v.programmeId, amount });
  }
  await moves.apply(ctx, VoucherFundsMove.Expire);
  return { expired, returned };
}

// ---- Views ---------------------------------------------------------------------------------------------------

export async function voucherTerms(ctx: ReliefContext, input: Json): Promise<VoucherTerms> {
  return loadTerms(ctx, uint(input, "programmeId", 32));
}

export async function providerCategory(ctx: ReliefContext, input: Json): Promise<ProviderCategory> {
  return categoryOf(ctx, account(input, "account"));
}

/** The voucher as `VoucherRecord`, or `null` if there is none. */
export async function voucher(ctx: ReliefContext, input: Json): Promise<VoucherRecord | null> {
  const v = await loadVoucher(ctx, bytes32(input, "voucherId"));
  if (v === undefined) return null;
  const { redeemed: _redeemed, ...record } = v;
  return record;
}

/** The open presentation (the zero account as provider when there is none). */
export async function presentation(ctx: ReliefContext, input: Json): Promise<PresentationRecord> {
  return loadPresentation(ctx, bytes32(input, "voucherId"));
}

export async function redemption(ctx: ReliefContext, input: Json): Promise<RedemptionRecord | null> {
  return (await loadRedemption(ctx, parseRedemptionKey(input))) ?? null;
}

/**
 * Per programme: issued, redeemed and expired are summed over its vouchers (a range scan: a redemption then writes
 * no key shared with other vouchers, so providers redeeming at once never conflict); paid is kept per programme.
 */
export async function voucherTotals(ctx: ReliefContext, input: Json): Promise<VoucherTotals> {
  const programmeId = uint(input, "programmeId", 32);
  const totals: VoucherTotals = { issued: 0n, redeemed: 0n, expired: 0n, paid: 0n };
  for await (const kv of ctx.store.scan("voucher~programme", pad(programmeId, 10))) {
    const v = await loadVoucher(ctx, kv.attributes[1]);
    if (v === undefined) continue;
    totals.issued += v.faceValue;
    totals.redeemed += v.redeemed;
    if (v.status === VoucherStatus.Expired) totals.expired += v.faceValue - v.redeemed;
  }
  totals.paid = await ctx.store.getBig(voucherPaidKey(ctx, programmeId));
  return totals;
}
