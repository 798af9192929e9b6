import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { periodAt } from "../../lib/periods";
import { RedemptionStatus, VoucherStatus } from "../../lib/vouchers";
import { DAY, REGION, digest } from "../helpers/fixture";
import { SMALL_POOL, VOUCHER_POOL, approvedVoucherCase, deployVouchers } from "./fixture";

/**
 * Random sequences of issue / present / redeem / pay / settle / fail / expire and time travel, against a model of
 * the rules in IVoucherBook. Every call succeeds exactly when the model says it should (so the same presentation
 * never redeems twice, a wrong provider never redeems, a redemption is never paid twice), and after every call:
 *  (a) per programme: issued == redeemed + expired + outstanding (Σ remaining of Active vouchers);
 *  (b) voucher escrow == Σ outstanding + Σ redeemed-not-paid;
 *  (c) appropriated == Σ region balances + Σ pools + voucher escrow + paid out (and fundTotals' held);
 *  (d) voucherTotals, every voucher and every redemption equal the model's; each programme's pool + escrow share
 *      + paid out equals what was put into its pool, and programmePaidOut equals the paid redemptions.
 * Block times are set explicitly, so expiry boundaries are exact. PROPERTY_SEED and PROPERTY_RUNS override.
 */

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_202);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);

/** [programme, face value]: the small programme's pool (5,000 yuan) cannot cover all three of its cases. */
const CASES: Array<["education" | "small", bigint]> = [
  ["education", 300_000n],
  ["education", 150_000n],
  ["education", 99_999n],
  ["education", 1n],
  ["small", 300_000n],
  ["small", 200_000n],
  ["small", 100_000n],
];
const PROVIDERS = ["school", "pharmacy", "hospital", "outsideSchool", "inactiveSchool"] as const;
type ProviderName = (typeof PROVIDERS)[number];
/** Who may redeem an education voucher of Chaoyang: schools and pharmacies inside it, active. */
const REDEEMS: Record<ProviderName, boolean> = {
  school: true,
  pharmacy: true,
  hospital: false,
  outsideSchool: false,
  inactiveSchool: false,
};

async function deployWithCases() {
  const fx = await deployVouchers();
  const caseIds: string[] = [];
  const periods: Array<[number, number]> = [];
  for (const [programme, amount] of CASES) {
    const id = await approvedVoucherCase(fx, fx.voucherProgrammes[programme], amount, { label: "property" });
    const record = await fx.ledger.caseRecord(id);
    caseIds.push(id);
    periods.push([Number(record.firstPeriod), Number(record.lastPeriod)]);
  }
  return { ...fx, caseIds, periods };
}
type World = Awaited<ReturnType<typeof deployWithCases>>;

interface ModelRedemption {
  provider: ProviderName;
  amount: bigint;
  status: RedemptionStatus;
}
interface ModelVoucher {
  status: VoucherStatus;
  face: bigint;
  remaining: bigint;
  expiresAt: number;
  presentation?: { provider: ProviderName; max: bigint; expiresAt: number };
  redemptions: ModelRedemption[];
}
interface Model {
  now: number;
  vouchers: Array<ModelVoucher | undefined>;
  pools: Record<"education" | "small", bigint>;
}

type Step =
  | { kind: "issue"; cases: number[] }
  | { kind: "present"; slot: number; aim: boolean; provider: ProviderName; permille: number; seconds: number }
  | { kind: "redeem"; slot: number; aim: boolean; provider: ProviderName; permille: number }
  | { kind: "pay"; aim: boolean; picks: number[] }
  | { kind: "settle"; aim: boolean; picks: number[] }
  | { kind: "fail"; aim: boolean; pick: number }
  | { kind: "expire"; cases: number[] }
  | { kind: "travel"; seconds: number }
  | { kind: "use"; slot: number; provider: ProviderName; permille: number };

const slot = fc.integer({ min: 0, max: CASES.length - 1 });
/** Aimed three times in four (see {aimed}). */
const aim = fc.integer({ min: 0, max: 3 }).map((n) => n > 0);
/** Mostly the providers that may redeem, so that redemptions happen; the others to be refused. */
const provider = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<ProviderName>("school", "pharmacy") },
  { weight: 1, arbitrary: fc.constantFrom(...PROVIDERS) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("issue" as const), cases: fc.array(slot, { maxLength: 5 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("present" as const),
      slot,
      aim: aim,
      provider,
      permille: fc.integer({ min: 0, max: 1100 }), // of the remaining value: 0 and above it are refused
      seconds: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 600, max: DAY - 3 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 600 }) },
        { weight: 1, arbitrary: fc.integer({ min: DAY - 2, max: DAY + 2 }) }, // the bound is a day
      ),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("redeem" as const),
      slot,
      aim: aim,
      provider,
      permille: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 1100 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("pay" as const),
      aim,
      picks: fc.array(fc.nat(12), { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      aim,
      picks: fc.array(fc.nat(12), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fail" as const), aim, pick: fc.nat(12) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("expire" as const), cases: fc.array(slot, { maxLength: 4 }) }),
  },
  {
    // What the gateway does at a provider's desk: present, then redeem at once.
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("use" as const),
      slot,
      provider,
      permille: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("travel" as const),
      seconds: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 900 }) },
        { weight: 1, arbitrary: fc.integer({ min: DAY, max: 40 * DAY }) },
      ),
    }),
  },
);

/** Every redemption in the model (in `status`, for aimed steps), in a stable order, for `picks` to name. */
function allRedemptions(model: Model, status?: RedemptionStatus) {
  const out: Array<{ slot: number; index: number; r: ModelRedemption }> = [];
  model.vouchers.forEach((v, s) =>
    v?.redemptions.forEach((r, index) => {
      if (status === undefined || r.status === status) out.push({ slot: s, index, r });
    }),
  );
  return out;
}

/** Successful calls per step kind over all runs, so that the property cannot pass vacuously. */
const succeeded: Record<string, number> = {};

/** Runs `send` in a block at model time + 1; whether it succeeded. `model.now` follows the latest block. */
async function attempt(
  model: Model,
  kind: Step["kind"],
  send: () => Promise<ContractTransactionResponse>,
): Promise<boolean> {
  await time.setNextBlockTimestamp(model.now + 1);
  let ok = true;
  try {
    await (await send()).wait();
  } catch (e) {
    // Only contract refusals count; anything else is a test bug.
    expect(String(e)).to.match(/revert/i);
    ok = false;
  }
  model.now = (await ethers.provider.getBlock("latest"))!.timestamp;
  if (ok) succeeded[kind] = (succeeded[kind] ?? 0) + 1;
  return ok;
}

/**
 * Random slots and providers rarely meet: an aimed present names a live voucher, an aimed redeem the voucher and
 * provider of an open presentation before its deadline (which may still be refused: a wrong category, outside the
 * region).
 */
function aimed(model: Model, s: Step): Step {
  if (s.kind === "present" && s.aim) {
    const live = model.vouchers.flatMap((v, i) => (v?.status === VoucherStatus.Active ? [i] : []));
    if (live.length > 0) return { ...s, slot: live[s.slot % live.length] };
  }
  if (s.kind === "redeem" && s.aim) {
    const t = model.now + 1;
    const open = model.vouchers.flatMap((v, i) => (v?.presentation && t < v.presentation.expiresAt ? [i] : []));
    if (open.length > 0) {
      const slot = open[s.slot % open.length];
      return { ...s, slot, provider: model.vouchers[slot]!.presentation!.provider };
    }
  }
  return s;
}

async function apply(w: World, model: Model, step: Step): Promise<void> {
  if (step.kind === "use") {
    const { slot, provider, permille } = step;
    await apply(w, model, { kind: "present", slot, aim: true, provider, permille: 1000, seconds: 600 });
    await check(w, model);
    const aimedPresent = aimed(model, { kind: "present", slot, aim: true, provider, permille, seconds: 600 });
    const presented = aimedPresent.kind === "present" ? aimedPresent.slot : slot;
    await apply(w, model, { kind: "redeem", slot: presented, aim: false, provider, permille });
    return;
  }
  const s = aimed(model, step);
  const { book, actors, providers, caseIds, periods } = w;
  const t = model.now + 1;
  switch (s.kind) {
    case "issue": {
      const pending = { ...model.pools };
      const issued: number[] = [];
      for (const c of s.cases) {
        const [programme, face] = CASES[c];
        const period = periodAt(t);
        const ok =
          model.vouchers[c] === undefined &&
          !issued.includes(c) &&
          period >= periods[c][0] &&
          period <= periods[c][1] &&
          face <= pending[programme];
        if (ok) {
          pending[programme] -= face;
          issued.push(c);
        }
      }
      expect(await attempt(model, s.kind, () => book.issueVouchers(s.cases.map((c) => caseIds[c])))).to.equal(true);
      model.pools = pending;
      for (const c of issued) {
        const terms = await book.voucherTerms(w.voucherProgrammes[CASES[c][0]]);
        const face = CASES[c][1];
        model.vouchers[c] = {
          status: VoucherStatus.Active,
          face,
          remaining: face,
          expiresAt: t + Number(terms.validity),
          redemptions: [],
        };
      }
      return;
    }
    case "present": {
      const v = model.vouchers[s.slot];
      const max = v ? (v.remaining * BigInt(s.permille)) / 1000n : 0n;
      const expiresAt = t + s.seconds;
      const providerOk = s.provider !== "inactiveSchool"; // any registered active provider may be named
      const ok =
        v !== undefined &&
        v.status === VoucherStatus.Active &&
        t < v.expiresAt &&
        providerOk &&
        max > 0n &&
        max <= v.remaining &&
        expiresAt > t &&
        expiresAt <= t + DAY;
      const sent = await attempt(model, s.kind, () =>
        book
          .connect(actors.anchorer)
          .presentVoucher(caseIds[s.slot], providers[s.provider].address, max, expiresAt, digest(`p:${t}`)),
      );
      expect(sent).to.equal(ok, `present ${JSON.stringify(s)}`);
      if (ok) v!.presentation = { provider: s.provider, max, expiresAt };
      return;
    }
    case "redeem": {
      const v = model.vouchers[s.slot];
      const p = v?.presentation;
      const amount = p ? (p.max * BigInt(s.permille)) / 1000n : 1n;
      const ok =
        v !== undefined &&
        REDEEMS[s.provider] &&
        v.status === VoucherStatus.Active &&
        t < v.expiresAt &&
        p !== undefined &&
        p.provider === s.provider &&
        t < p.expiresAt &&
        amount > 0n &&
        amount <= p.max;
      const sent = await attempt(model, s.kind, () =>
        book.connect(providers[s.provider]).redeemVoucher(caseIds[s.slot], amount, digest(`i:${t}`)),
      );
      expect(sent).to.equal(ok, `redeem ${JSON.stringify(s)}`);
      if (ok) {
        v!.remaining -= amount;
        if (v!.remaining === 0n) v!.status = VoucherStatus.Exhausted;
        v!.presentation = undefined;
        v!.redemptions.push({ provider: s.provider, amount, status: RedemptionStatus.Redeemed });
      }
      return;
    }
    case "pay":
    case "settle": {
      const from = s.kind === "pay" ? RedemptionStatus.Redeemed : RedemptionStatus.Paid;
      const all = allRedemptions(model, s.aim ? from : undefined);
      if (all.length === 0) return;
      const chosen = s.picks.map((i) => all[i % all.length]);
      const distinct = new Set(chosen).size === chosen.length;
      const ok = distinct && chosen.every((x) => x.r.status === from);
      const keys = chosen.map((x) => ({ voucherId: caseIds[x.slot], index: x.index }));
      const sent = await attempt(model, s.kind, () =>
        s.kind === "pay"
          ? book.connect(actors.countyFinance).payRedemptions(keys)
          : book.connect(actors.paymentAgent).confirmRedemptionSettlements(digest(`bank:${t}`), keys),
      );
      expect(sent).to.equal(ok, `${s.kind} ${JSON.stringify(keys)}`);
      if (ok) for (const x of chosen) x.r.status = s.kind === "pay" ? RedemptionStatus.Paid : RedemptionStatus.Settled;
      return;
    }
    case "fail": {
      const all = allRedemptions(model, s.aim ? RedemptionStatus.Paid : undefined);
      if (all.length === 0) return;
      const x = all[s.pick % all.length];
      const ok = x.r.status === RedemptionStatus.Paid;
      const sent = await attempt(model, s.kind, () =>
        book
          .connect(actors.paymentAgent)
          .reportRedemptionFailure({ voucherId: caseIds[x.slot], index: x.index }, digest(`fail:${t}`)),
      );
      expect(sent).to.equal(ok, `fail ${x.slot}/${x.index}`);
      if (ok) x.r.status = RedemptionStatus.Redeemed;
      return;
    }
    case "expire": {
      expect(await attempt(model, s.kind, () => book.expireVouchers(s.cases.map((c) => caseIds[c])))).to.equal(true);
      for (const c of s.cases) {
        const v = model.vouchers[c];
        if (v === undefined || v.status !== VoucherStatus.Active || t < v.expiresAt) continue;
        model.pools[CASES[c][0]] += v.remaining;
        v.remaining = 0n;
        v.status = VoucherStatus.Expired;
      }
      return;
    }
    case "travel":
      model.now += s.seconds;
      await time.setNextBlockTimestamp(model.now);
      await ethers.provider.send("evm_mine", []);
  }
}

async function check(w: World, model: Model) {
  const { ledger, book, caseIds } = w;
  let escrowExpected = 0n;
  for (const programme of ["education", "small"] as const) {
    const id = w.voucherProgrammes[programme];
    let issued = 0n;
    let redeemed = 0n;
    let expired = 0n;
    let paid = 0n;
    let outstanding = 0n;
    let owed = 0n;
    for (let c = 0; c < CASES.length; c++) {
      if (CASES[c][0] !== programme) continue;
      const v = model.vouchers[c];
      const chain = await book.voucher(caseIds[c]);
      if (v === undefined) {
        expect(chain.status).to.equal(BigInt(VoucherStatus.None));
        continue;
      }
      expect([chain.status, chain.remaining, chain.faceValue, chain.expiresAt]).to.deep.equal([
        BigInt(v.status),
        v.remaining,
        v.face,
        BigInt(v.expiresAt),
      ]);
      expect(chain.redemptionCount).to.equal(BigInt(v.redemptions.length));
      issued += v.face;
      const used = v.redemptions.reduce((a, r) => a + r.amount, 0n);
      redeemed += used;
      if (v.status === VoucherStatus.Expired) expired += v.face - used;
      if (v.status === VoucherStatus.Active) outstanding += v.remaining;
      for (let i = 0; i < v.redemptions.length; i++) {
        const r = v.redemptions[i];
        const onChain = await book.redemption({ voucherId: caseIds[c], index: i });
        expect([onChain.status, onChain.amount, onChain.provider]).to.deep.equal([
          BigInt(r.status),
          r.amount,
          w.providers[r.provider].address,
        ]);
        if (r.status === RedemptionStatus.Redeemed) owed += r.amount;
        else paid += r.amount;
      }
    }
    const [tIssued, tRedeemed, tExpired, tPaid] = await book.voucherTotals(id);
    expect([tIssued, tRedeemed, tExpired, tPaid]).to.deep.equal([issued, redeemed, expired, paid]);
    expect(tIssued).to.equal(tRedeemed + tExpired + outstanding, "issued == redeemed + expired + outstanding");
    const pool = await ledger.poolBalance(id);
    expect(pool).to.equal(model.pools[programme]);
    const funded = programme === "education" ? VOUCHER_POOL : SMALL_POOL;
    expect(pool + outstanding + owed + paid).to.equal(funded, "pool + escrow share + paid out == funded");
    expect(await ledger.programmePaidOut(id)).to.equal(paid);
    escrowExpected += outstanding + owed;
  }
  const escrow = await ledger.voucherEscrow();
  expect(escrow).to.equal(escrowExpected, "escrow == outstanding + redeemed-not-paid");
  const [appropriated, held, paidOut] = await ledger.fundTotals();
  let sum = 0n;
  for (const region of Object.values(REGION)) sum += await ledger.regionBalance(region);
  const count = Number(await ledger.programmeCount());
  for (let id = 1; id <= count; id++) sum += await ledger.poolBalance(id);
  expect(sum + escrow).to.equal(held);
  expect(appropriated).to.equal(sum + escrow + paidOut, "appropriated == Σ balances + Σ pools + escrow + paid out");
}

describe("VoucherBook (property)", function () {
  it("random voucher lives keep the model, the conservation laws and the fund trail", async function () {
    this.timeout(300_000);
    // Each life starts by issuing some vouchers, so that most steps act on live ones.
    const firstIssue = fc
      .subarray([...CASES.keys()], { minLength: 2 })
      .map((cases): Step => ({ kind: "issue", cases }));
    await fc.assert(
      fc.asyncProperty(firstIssue, fc.array(step, { minLength: 20, maxLength: 40 }), async (first, rest) => {
        const steps = [first, ...rest];
        const w = await loadFixture(deployWithCases);
        const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
        const model: Model = {
          now: latest,
          vouchers: CASES.map(() => undefined),
          pools: { education: VOUCHER_POOL, small: SMALL_POOL },
        };
        for (const s of steps) {
          await apply(w, model, s);
          await check(w, model);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`      successful calls: ${JSON.stringify(succeeded)}`);
    for (const kind of ["issue", "present", "redeem", "pay", "settle", "fail", "expire"]) {
      expect(succeeded[kind] ?? 0, `successful ${kind} calls`).to.be.greaterThan(0);
    }
  });
});
