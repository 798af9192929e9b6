import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { DAY, currentPeriod, deployReceiptScenario, digest, nextPeriod } from "../helpers/fixture";
import { DisputeOutcome, DisputeStatus, ReceiptOutcome, receiptDomain, signReceipt } from "../../lib/receipts";

/**
 * Random sequences of receipts, attestations, dispute resolutions, pauses and waits, by random actors, on four
 * paid payouts (two monthly, two medical bills) and two keys that name no payout. After every call the book must match a model of the receipt
 * rule; a rejected call must change nothing; and no payout may ever be confirmed twice or disputed twice.
 */

const KEYS = ["monthly", "monthly2", "bill", "bill2", "unpaidMonthly", "billWrongPeriod"] as const;
type KeyName = (typeof KEYS)[number];
const PAID: ReadonlySet<KeyName> = new Set(["monthly", "monthly2", "bill", "bill2"]);

type Action =
  | {
      kind: "sign";
      key: KeyName;
      signer: "beneficiary" | "otherBeneficiary" | "stranger";
      outcome: number;
      expired: boolean;
    }
  | {
      kind: "attest";
      key: KeyName;
      actor: "anchorer" | "countyAnchorer" | "otherAnchorer" | "approver" | "stranger";
      outcome: number;
      zeroEvidence: boolean;
    }
  | {
      kind: "resolve";
      key: KeyName | "anOpenDispute"; // the model's first open dispute, if there is one
      actor: "approver" | "townshipApprover" | "otherApprover" | "anchorer" | "stranger";
      outcome: number;
      zeroDigest: boolean;
    }
  | { kind: "wait"; seconds: number };

/** An action, and whether the registry is paused around it (pausing for one call keeps sequences going). */
interface Step {
  action: Action;
  paused: boolean;
}

/** One of `choices`, each `[weight, value]`: valid choices weigh more so that sequences get somewhere. */
function weighted<T>(...choices: [number, T][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

const key = weighted<KeyName>(
  [2, "monthly"],
  [2, "monthly2"],
  [2, "bill"],
  [2, "bill2"],
  [1, "unpaidMonthly"],
  [1, "billWrongPeriod"],
);
const receiptOutcome = weighted([1, 0], [3, 1], [5, 2], [1, 3]);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("sign" as const),
      key,
      signer: weighted([4, "beneficiary" as const], [1, "otherBeneficiary" as const], [1, "stranger" as const]),
      outcome: receiptOutcome,
      expired: weighted([1, true], [5, false]),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("attest" as const),
      key,
      actor: weighted(
        [3, "anchorer" as const],
        [2, "countyAnchorer" as const],
        [1, "otherAnchorer" as const],
        [1, "approver" as const],
        [1, "stranger" as const],
      ),
      outcome: receiptOutcome,
      zeroEvidence: weighted([1, true], [5, false]),
    }),
  },
  {
    weight: 7,
    arbitrary: fc.record({
      kind: fc.constant("resolve" as const),
      key: fc.oneof({ weight: 1, arbitrary: key }, { weight: 2, arbitrary: fc.constant("anOpenDispute" as const) }),
      actor: weighted(
        [3, "approver" as const],
        [2, "townshipApprover" as const],
        [1, "otherApprover" as const],
        [1, "anchorer" as const],
        [1, "stranger" as const],
      ),
      outcome: weighted([1, 0], [3, 1], [3, 2], [3, 3], [1, 4]),
      zeroDigest: weighted([1, true], [5, false]),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 0, max: 20 * DAY }) }),
  },
);
const step: fc.Arbitrary<Step> = fc.record({ action, paused: weighted([1, true], [9, false]) });

interface Model {
  paused: boolean;
  receipt: Record<KeyName, ReceiptOutcome>;
  dispute: Record<KeyName, { status: DisputeStatus; outcome: DisputeOutcome }>;
  confirmedEvents: Record<KeyName, number>;
  openedEvents: Record<KeyName, number>;
}

function emptyModel(): Model {
  const per = <T>(f: () => T) => Object.fromEntries(KEYS.map((k) => [k, f()])) as Record<KeyName, T>;
  return {
    paused: false,
    receipt: per(() => ReceiptOutcome.None),
    dispute: per(() => ({ status: DisputeStatus.None, outcome: DisputeOutcome.None })),
    confirmedEvents: per(() => 0),
    openedEvents: per(() => 0),
  };
}

/** The receipt scenario plus a second month of 低保 and a second medical bill, paid next month. */
async function propertyFixture() {
  const fx = await deployReceiptScenario();
  const { ledger, actors } = fx;
  await nextPeriod(ledger);
  const period = BigInt(await currentPeriod(ledger));
  await ledger.executePayouts(fx.dibao.programmeId, period, [fx.dibao.caseId]);
  const bill2 = digest("bill:property-2");
  await ledger.connect(actors.medicalOffice).certifyMedicalBill(bill2, fx.billKey.caseId, 500_000n, digest("bill"));
  const keys: Record<KeyName, { caseId: string; period: bigint; eventId: string }> = {
    monthly: fx.monthlyKey,
    monthly2: { ...fx.monthlyKey, period },
    bill: fx.billKey,
    bill2: { ...fx.billKey, period, eventId: bill2 },
    unpaidMonthly: { ...fx.monthlyKey, period: period + 1n },
    billWrongPeriod: { ...fx.billKey, period: fx.billKey.period + 1n },
  };
  return { ...fx, keys };
}

type PropertyFx = Awaited<ReturnType<typeof propertyFixture>>;

/** Whether the receipt rule lets `outcome` be recorded for `k`, and the model after it. */
function applyReceipt(m: Model, k: KeyName, outcome: number): boolean {
  if (outcome !== ReceiptOutcome.Confirmed && outcome !== ReceiptOutcome.NotReceived) return false;
  if (!PAID.has(k)) return false;
  const prior = m.receipt[k];
  if (prior === ReceiptOutcome.Confirmed || (prior === ReceiptOutcome.NotReceived && outcome === prior)) return false;
  m.receipt[k] = outcome;
  if (outcome === ReceiptOutcome.NotReceived) {
    m.dispute[k] = { status: DisputeStatus.Open, outcome: DisputeOutcome.None };
  } else if (m.dispute[k].status === DisputeStatus.Open) {
    m.dispute[k] = { status: DisputeStatus.Resolved, outcome: DisputeOutcome.ResolvedByBeneficiary };
  }
  return true;
}

/** Everything the book shows about the scenario's payouts, as a comparable string. */
async function snapshot(fx: PropertyFx): Promise<string> {
  const { receipts, keys } = fx;
  const asKey = (k: { caseId: string; period: bigint; eventId: string }) => [k.caseId, k.period, k.eventId];
  const out: unknown[] = [];
  for (const k of KEYS) {
    const r = await receipts.receiptOf(keys[k]);
    const d = await receipts.disputeOf(keys[k]);
    out.push([r.outcome, r.source, r.timestamp], [d.status, d.openedAt, d.responseDeadline, d.outcome]);
  }
  const n = await receipts.openDisputeCount();
  for (let i = 0n; i < n; i++) out.push(asKey(await receipts.openDisputeAt(i)));
  for (const caseId of [fx.monthlyKey.caseId, fx.billKey.caseId]) {
    out.push((await receipts.unconfirmedPayouts(caseId)).map(asKey));
  }
  return JSON.stringify(out, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

async function perform(
  fx: PropertyFx,
  m: Model,
  a: Action,
): Promise<{ tx?: Promise<ContractTransactionResponse>; expected: boolean }> {
  const { receipts, actors, keys } = fx;
  switch (a.kind) {
    case "sign": {
      const k = keys[a.key];
      const ownKey = k.caseId === fx.monthlyKey.caseId ? actors.beneficiary : fx.medicalBeneficiary;
      const otherKey = k.caseId === fx.monthlyKey.caseId ? fx.medicalBeneficiary : actors.beneficiary;
      const signer: Signer =
        a.signer === "beneficiary" ? ownKey : a.signer === "otherBeneficiary" ? otherKey : actors.stranger;
      const now = await time.latest();
      const receipt = {
        ...k,
        outcome: a.outcome,
        noteDigest: digest("note"),
        deadline: a.expired ? now - 1 : now + 400 * DAY,
      };
      const { chainId } = await ethers.provider.getNetwork();
      const signature = await signReceipt(signer, receiptDomain(chainId, await receipts.getAddress()), receipt);
      const ok = !m.paused && !a.expired && a.signer === "beneficiary";
      return {
        tx: receipts.connect(actors.keeper).submitReceipt(receipt, signature),
        expected: ok && applyReceipt(m, a.key, a.outcome),
      };
    }
    case "attest": {
      const actor =
        a.actor === "countyAnchorer"
          ? fx.countyAnchorer
          : a.actor === "otherAnchorer"
            ? fx.otherAnchorer
            : actors[a.actor];
      const evidence = a.zeroEvidence ? ethers.ZeroHash : digest("sm2-receipt");
      const ok = !m.paused && (a.actor === "anchorer" || a.actor === "countyAnchorer") && !a.zeroEvidence;
      return {
        tx: receipts.connect(actor).attestReceipt(keys[a.key], a.outcome, evidence),
        expected: ok && applyReceipt(m, a.key, a.outcome),
      };
    }
    case "resolve": {
      const k =
        a.key !== "anOpenDispute" ? a.key : (KEYS.find((n) => m.dispute[n].status === DisputeStatus.Open) ?? "monthly");
      const resolution = a.zeroDigest ? ethers.ZeroHash : digest("resolution");
      const ok =
        !m.paused &&
        m.dispute[k].status === DisputeStatus.Open &&
        (a.actor === "approver" || a.actor === "townshipApprover") &&
        a.outcome >= DisputeOutcome.PaymentProven &&
        a.outcome <= DisputeOutcome.Dismissed &&
        !a.zeroDigest;
      if (ok) m.dispute[k] = { status: DisputeStatus.Resolved, outcome: a.outcome };
      return { tx: receipts.connect(actors[a.actor]).resolveDispute(keys[k], a.outcome, resolution), expected: ok };
    }
    case "wait":
      await time.increase(a.seconds + 1);
      return { expected: true };
  }
}

describe("ReceiptBook (property)", function () {
  it("ReceiptBook under random receipt, attestation and resolution sequences follows the receipt rule, rejected calls change nothing, and no payout is confirmed or disputed twice", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 16 }), async (steps) => {
        const fx = await loadFixture(propertyFixture);
        const { keys } = fx;
        const m = emptyModel();
        for (const { action: a, paused } of steps) {
          if (paused) await fx.registry.connect(fx.actors.admin).pause();
          m.paused = paused;
          const before = await snapshot(fx);
          const { tx, expected } = await perform(fx, m, a);
          let accepted = true;
          if (tx) {
            try {
              const mined = await (await tx).wait();
              for (const log of mined!.logs) {
                const parsed = fx.receipts.interface.parseLog(log);
                if (parsed?.name !== "ReceiptConfirmed" && parsed?.name !== "DisputeOpened") continue;
                const k = KEYS.find(
                  (n) =>
                    keys[n].caseId === parsed.args.caseId &&
                    keys[n].eventId === parsed.args.eventId &&
                    keys[n].period === parsed.args.period,
                )!;
                if (parsed.name === "ReceiptConfirmed") m.confirmedEvents[k] += 1;
                else m.openedEvents[k] += 1;
              }
            } catch (e) {
              expect(String(e)).to.match(/revert/i);
              accepted = false;
            }
          }
          const what = JSON.stringify({ ...a, paused });
          expect(accepted, `${what} accepted`).to.equal(expected);
          if (!accepted) expect(await snapshot(fx), `${what} changed state`).to.equal(before);
          if (paused) await fx.registry.connect(fx.actors.admin).unpause();

          for (const k of KEYS) {
            expect(m.confirmedEvents[k], `${k} confirmed twice`).to.be.at.most(1);
            expect(m.openedEvents[k], `${k} disputed twice`).to.be.at.most(1);
            const r = await fx.receipts.receiptOf(keys[k]);
            const d = await fx.receipts.disputeOf(keys[k]);
            expect([Number(r.outcome), Number(d.status), Number(d.outcome)], k).to.deep.equal([
              m.receipt[k],
              m.dispute[k].status,
              m.dispute[k].outcome,
            ]);
          }
          const open = KEYS.filter((k) => m.dispute[k].status === DisputeStatus.Open).length;
          expect(await fx.receipts.openDisputeCount()).to.equal(BigInt(open));
        }
      }),
      { numRuns: 40 },
    );
  });
});
