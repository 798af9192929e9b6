import { expect } from "chai";
import fc from "fast-check";
import { DAY, digest, type Emitted } from "./fixture";
import {
  approvedVoucherCase,
  CAP,
  expectConserved,
  voucherWorld,
  type ProviderName,
  type VoucherWorld,
} from "./voucher-fixture";

/**
 * For all sequences of voucher operations — issuing runs (any cases, repeated), presentations and redemptions by any
 * provider for any amount, payments, settlements and failures by any actor, expiries, time passing, pool funding —
 * refused or not: after every transaction, per programme issued = redeemed + expired + outstanding, escrow =
 * outstanding + redeemed not paid, appropriated = Σ balances + Σ pools + escrow + paid out; the totals equal what
 * the events say; and every redemption consumed a presentation to that provider (none redeemed twice).
 */
describe("chaincode: properties of vouchers", function () {
  let w: VoucherWorld;
  let cases: string[];
  /** Redemption keys seen, for payments. */
  const keys: { voucherId: string; index: number }[] = [];
  /** The open presentation of each voucher, by provider account, as the events tell it. */
  const open = new Map<string, string>();
  const fromEvents = new Map<number, { issued: bigint; redeemed: bigint; expired: bigint; paid: bigint }>();

  /** A provider that may redeem each case's voucher. */
  const fits = new Map<string, ProviderName>();
  const providerNames: ProviderName[] = ["school", "hospital", "careAgency", "otherSchool"];

  function track(events: Emitted[]): void {
    const totals = (programmeId: number) => {
      if (!fromEvents.has(programmeId))
        fromEvents.set(programmeId, { issued: 0n, redeemed: 0n, expired: 0n, paid: 0n });
      return fromEvents.get(programmeId)!;
    };
    for (const { name, args } of events) {
      const amount = BigInt((args.amount ?? args.faceValue ?? "0") as string);
      if (name === "VoucherIssued") totals(args.programmeId as number).issued += amount;
      if (name === "VoucherExpired") totals(args.programmeId as number).expired += amount;
      if (name === "VoucherPresented") open.set(args.voucherId as string, args.provider as string);
      if (name === "VoucherRedeemed") {
        expect(open.get(args.voucherId as string), "redeemed on a presentation to this provider").to.equal(
          args.provider,
        );
        open.delete(args.voucherId as string);
        totals(args.programmeId as number).redeemed += amount;
        keys.push({ voucherId: args.voucherId as string, index: args.index as number });
      }
      if (name === "VoucherFundsMoved" && (args.move === 2 || args.move === 3)) {
        totals(args.programmeId as number).paid += args.move === 2 ? amount : -amount;
      }
    }
  }

  async function totalsMatchEvents(): Promise<void> {
    for (const [programmeId, t] of fromEvents) {
      const chain = await w.ledger.query<Record<string, string>>("voucherTotals", { programmeId });
      expect(chain, `programme ${programmeId}`).to.deep.equal({
        issued: t.issued.toString(),
        redeemed: t.redeemed.toString(),
        expired: t.expired.toString(),
        paid: t.paid.toString(),
      });
    }
  }

  before(async function () {
    w = await voucherWorld();
    cases = [];
    for (const [programme, amount] of [
      ["education", 120_000n],
      ["education", CAP],
      ["care", 50_000n],
      ["care", 80_000n],
      ["short", 30_000n],
      ["unset", 10_000n],
    ] as const) {
      cases.push(await approvedVoucherCase(w, w.vouchers[programme], amount));
      fits.set(cases[cases.length - 1], programme === "care" ? "careAgency" : "school");
    }
    // Vouchers to present and redeem from the first run on (the unset programme's case is skipped).
    track((await w.ledger.submit("keeper", "issueVouchers", { caseIds: cases })).events);
    for (const id of cases.slice(0, 5)) w.issued.add(id);
  });

  const amount = fc.oneof(fc.bigInt({ min: 0n, max: 130_000n }), fc.constant(10n ** 12n));
  // Mostly amounts a voucher can take, sometimes any.
  const small = fc.oneof(
    { arbitrary: fc.bigInt({ min: 1n, max: 40_000n }), weight: 4 },
    { arbitrary: amount, weight: 1 },
  );
  // Mostly one of the newest cases; indices beyond the cases made so far name an unknown case.
  const pick = fc.oneof({ arbitrary: fc.nat(4), weight: 5 }, { arbitrary: fc.nat(12), weight: 1 });
  const provider = fc.constantFrom(...providerNames);
  const op = fc.oneof(
    {
      // `all`: every case so far (as the gateway's keeper does), else the picks.
      arbitrary: fc.record({
        kind: fc.constant("issue" as const),
        all: fc.boolean(),
        picks: fc.array(pick, { maxLength: 4 }),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant("approve" as const),
        programme: fc.constantFrom("education" as const, "care" as const, "short" as const),
        amount: fc.bigInt({ min: 1n, max: CAP }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant("present" as const),
        pick,
        // `fit`: to a provider that may redeem the voucher (the usual case), else to any provider.
        fit: fc.boolean(),
        provider,
        maxAmount: small,
        seconds: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 3600 }), weight: 4 }, fc.constant(2 * DAY)),
      }),
      weight: 3,
    },
    {
      // Presented first (to a fitting provider, or any), then redeemed as the presented provider, or any.
      arbitrary: fc.record({
        kind: fc.constant("redeem" as const),
        pick,
        provider,
        present: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)),
        fit: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)),
        presented: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)),
        maxAmount: small,
        amount: small,
      }),
      weight: 5,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant("pay" as const),
        picks: fc.array(fc.nat(12), { minLength: 1, maxLength: 2 }),
        who: fc.constantFrom(
          "countyFinance" as const,
          "countyFinance" as const,
          "cityFinance" as const,
          "paymentAgent" as const,
        ),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(12), fail: fc.boolean() }), weight: 2 },
    {
      arbitrary: fc.record({ kind: fc.constant("expire" as const), picks: fc.array(pick, { maxLength: 4 }) }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant("time" as const), days: fc.integer({ min: 0, max: 12 }) }), weight: 1 },
    {
      arbitrary: fc.record({ kind: fc.constant("pool" as const), amount, defund: fc.boolean(), programme: fc.nat(3) }),
      weight: 1,
    },
  );

  it("conserves every fen and redeems each presentation at most once, whatever is tried", async function () {
    // The newest cases first: vouchers are used soon after they are issued.
    const caseAt = (i: number) => (i < cases.length ? cases[cases.length - 1 - i] : digest("no such case"));
    // Mostly a redemption seen so far; now and then an unknown one.
    const keyAt = (i: number) => keys[i % (keys.length + 1)] ?? { voucherId: digest("no such voucher"), index: 0 };
    const presentation = (voucherId: string, provider: ProviderName, maxAmount: bigint, seconds: number) =>
      w.ledger.submit("anchorer", "presentVoucher", {
        voucherId,
        provider: w.providers[provider].account,
        maxAmount,
        expiresAt: w.ledger.peer.now() + seconds,
        presentationDigest: digest("prop"),
      });
    /** Tracks an accepted transaction's events; a refusal must be a custom error and changes nothing. */
    const attempt = async (tx: Promise<{ events: Emitted[] }>) => {
      const result = await tx.catch((err: Error) => {
        expect(err.message, "refusals are custom errors").to.match(/^RL:[A-Za-z]+/);
        return undefined;
      });
      if (result) {
        track(result.events);
        for (const e of result.events) if (e.name === "VoucherIssued") w.issued.add(e.args.voucherId as string);
      }
    };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 15 }), async (ops) => {
        const { ledger } = w;
        for (const o of ops) {
          const ref = digest("prop");
          let tx: Promise<{ events: Emitted[] }> | undefined;
          if (o.kind === "issue")
            tx = ledger.submit("keeper", "issueVouchers", { caseIds: o.all ? cases : o.picks.map(caseAt) });
          if (o.kind === "present") {
            const voucherId = caseAt(o.pick);
            tx = presentation(voucherId, (o.fit && fits.get(voucherId)) || o.provider, o.maxAmount, o.seconds);
          }
          if (o.kind === "redeem") {
            const voucherId = caseAt(o.pick);
            if (o.present) {
              await attempt(presentation(voucherId, (o.fit && fits.get(voucherId)) || o.provider, o.maxAmount, 600));
              await expectConserved(w);
            }
            const presentedTo = providerNames.find((n) => w.providers[n].account === open.get(voucherId));
            const who = o.presented && presentedTo ? presentedTo : o.provider;
            tx = ledger.submit(w.providers[who], "redeemVoucher", {
              voucherId,
              amount: o.amount,
              invoiceDigest: ref,
            });
          }
          if (o.kind === "pay") tx = ledger.submit(o.who, "payRedemptions", { keys: o.picks.map(keyAt) });
          if (o.kind === "settle") {
            tx = o.fail
              ? ledger.submit("paymentAgent", "reportRedemptionFailure", { key: keyAt(o.pick), reasonDigest: ref })
              : ledger.submit("paymentAgent", "confirmRedemptionSettlements", {
                  bankRefDigest: ref,
                  keys: [keyAt(o.pick)],
                });
          }
          if (o.kind === "expire") tx = ledger.submit("keeper", "expireVouchers", { voucherIds: o.picks.map(caseAt) });
          if (o.kind === "time") ledger.advance(o.days * DAY);
          if (o.kind === "approve") {
            cases.push(await approvedVoucherCase(w, w.vouchers[o.programme], o.amount));
            fits.set(cases[cases.length - 1], o.programme === "care" ? "careAgency" : "school");
          }
          if (o.kind === "pool") {
            const programmeId = Object.values(w.vouchers)[o.programme];
            tx = ledger.submit("countyFinance", o.defund ? "defundProgramme" : "fundProgramme", {
              programmeId,
              amount: o.amount,
              referenceDigest: ref,
            });
          }
          if (tx) await attempt(tx);
          await expectConserved(w);
          await totalsMatchEvents();
        }
      }),
      { numRuns: 15 },
    );
  });
});
