/**
 * The access matrix of ReliefLedger: who may call each state-changing function.
 *
 * `WHO_MAY` below is the specification: for each function, the roles that may call it, the region the call
 * acts on, and whether the caller's region must contain that region (the default) or be exactly it (the fund
 * trail: a finance bureau moves only the money it holds itself), and whether only county-level or higher
 * approvers decide it. Every (actor, function) pair of the fixture is derived from it and checked on chain:
 * allowed pairs succeed, every other pair reverts with the registry's LedgerUnauthorizedRole or
 * LedgerUnauthorizedRegion (or, for decisions, LedgerApproverLevelTooLow).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionResponse } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Role } from "../../lib/roles";
import { Level, contains, levelOf } from "../../lib/regions";
import {
  INSTITUTIONS,
  PROGRAMMES,
  REGION,
  approvedCase,
  assessment,
  caseAt,
  currentPeriod,
  deployFunded,
  digest,
  type Actors,
} from "../helpers/fixture";

const REF = digest("matrix");

/** Every case and payout a function of the matrix needs, each in the state that function acts on. */
async function matrixFixture() {
  const fx = await deployFunded();
  const { ledger, actors, programmes } = fx;
  // Some money at every level of the trail, so that each finance bureau holds funds of its own.
  await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 3_000n, REF);
  await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 2_000n, REF);
  await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, 1_000n, REF);

  const approved = await approvedCase(fx, "dibao");
  const suspended = await approvedCase(fx, "dibao");
  await ledger.connect(actors.approver).suspendCase(suspended.caseId, digest("suspend"));
  const paid = await approvedCase(fx, "dibao");
  const settled = await approvedCase(fx, "dibao");
  const period = await currentPeriod(ledger);
  await ledger.executePayouts(programmes.dibao, period, [paid.caseId, settled.caseId]);
  // Only money that reached the family can be clawed back: the payment agent settles this one.
  const settledKey = { caseId: settled.caseId, period, eventId: ethers.ZeroHash };
  await ledger.connect(actors.paymentAgent).confirmSettlements(digest("bank"), [settledKey]);
  const medical = await approvedCase(fx, "medical");
  const household = await approvedCase(fx, "disaster");
  await ledger.connect(actors.approver).declareDisaster(digest("flood"), programmes.disaster, REGION.county, REF);

  const submitted = await caseAt(fx, "dibao", "submitted");
  const inNotice = await caseAt(fx, "dibao", "inNotice");
  const objected = await caseAt(fx, "dibao", "inNotice");
  await ledger.connect(actors.caseworker).raiseObjection(objected.caseId, digest("objection"));
  const ready = await caseAt(fx, "dibao", "inNotice");
  await time.increase(PROGRAMMES.dibao.noticePeriod);

  return {
    ...fx,
    cases: { approved, suspended, paid, settled, medical, household, submitted, inNotice, objected, ready },
    paidKey: { caseId: paid.caseId, period, eventId: ethers.ZeroHash },
    settledKey,
    period,
  };
}
type Matrix = Awaited<ReturnType<typeof matrixFixture>>;

interface Rule {
  /** Roles that may call. */
  roles: Role[];
  /** The region the call acts on (for this fixture's call). */
  region: bigint;
  /** The caller's region must be exactly `region` (a finance bureau moves only its own funds). */
  exact?: boolean;
  /** Only approvers at county level or above decide (not temporary assistance). */
  countyOrAbove?: boolean;
  /** The call, made by `who` on a fresh copy of the matrix fixture. */
  call: (m: Matrix, who: HardhatEthersSigner) => Promise<ContractTransactionResponse>;
  /** The event a successful call emits. */
  emits: string;
}

const { Approver, Caseworker, Finance, PaymentAgent, MedicalOffice } = Role;
const newRule = { ...PROGRAMMES.dibao, ruleVersion: digest("dibao-matrix") };

/** The specification: who may call what. */
const WHO_MAY: Record<string, Rule> = {
  createProgramme: {
    roles: [Approver],
    region: REGION.county,
    call: (m, w) => m.ledger.connect(w).createProgramme(newRule),
    emits: "ProgrammeCreated",
  },
  updateProgrammeRule: {
    roles: [Approver],
    region: REGION.county,
    call: (m, w) => m.ledger.connect(w).updateProgrammeRule(m.programmes.dibao, newRule),
    emits: "ProgrammeRuleUpdated",
  },
  appropriate: {
    roles: [Finance],
    region: REGION.central,
    exact: true,
    call: (m, w) => m.ledger.connect(w).appropriate(1n, REF),
    emits: "FundsAppropriated",
  },
  allocate: {
    roles: [Finance],
    region: REGION.city,
    exact: true,
    call: (m, w) => m.ledger.connect(w).allocate(REGION.city, REGION.county, 1n, REF),
    emits: "FundsAllocated",
  },
  returnFunds: {
    roles: [Finance],
    region: REGION.county,
    exact: true,
    call: (m, w) => m.ledger.connect(w).returnFunds(REGION.county, REGION.city, 1n, REF),
    emits: "FundsReturned",
  },
  fundProgramme: {
    roles: [Finance],
    region: REGION.county,
    exact: true,
    call: (m, w) => m.ledger.connect(w).fundProgramme(m.programmes.dibao, 1n, REF),
    emits: "ProgrammeFunded",
  },
  defundProgramme: {
    roles: [Finance],
    region: REGION.county,
    exact: true,
    call: (m, w) => m.ledger.connect(w).defundProgramme(m.programmes.dibao, 1n, REF),
    emits: "ProgrammeDefunded",
  },
  recordClawback: {
    roles: [Finance],
    region: REGION.county,
    exact: true,
    call: (m, w) => m.ledger.connect(w).recordClawback(m.settledKey, 1n, REF),
    emits: "ClawbackRecorded",
  },
  submitCase: {
    roles: [Caseworker, Approver],
    region: REGION.township,
    call: (m, w) =>
      m.ledger
        .connect(w)
        .submitCase(digest("matrix:new"), m.programmes.dibao, REGION.township, digest("matrix:p"), digest("r")),
    emits: "CaseSubmitted",
  },
  submitCases: {
    roles: [Caseworker, Approver],
    region: REGION.township,
    call: (m, w) =>
      m.ledger.connect(w).submitCases([
        {
          caseId: digest("matrix:batch"),
          programmeId: m.programmes.dibao,
          region: REGION.township,
          pseudonym: digest("matrix:batch:p"),
          recordDigest: digest("r"),
        },
      ]),
    emits: "CaseSubmitted",
  },
  reviewCase: {
    roles: [Caseworker],
    region: REGION.township,
    call: (m, w) => m.ledger.connect(w).reviewCase(m.cases.submitted.caseId, true, digest("ok")),
    emits: "CaseReviewed",
  },
  reviewCases: {
    roles: [Caseworker],
    region: REGION.township,
    call: (m, w) =>
      m.ledger.connect(w).reviewCases([{ caseId: m.cases.submitted.caseId, passed: true, reasonDigest: digest("ok") }]),
    emits: "CaseReviewed",
  },
  raiseObjection: {
    roles: [Caseworker],
    region: REGION.township,
    call: (m, w) => m.ledger.connect(w).raiseObjection(m.cases.inNotice.caseId, digest("objection:new")),
    emits: "ObjectionRaised",
  },
  resolveObjection: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) =>
      m.ledger.connect(w).resolveObjection(m.cases.objected.caseId, digest("objection"), false, digest("dismissed")),
    emits: "ObjectionResolved",
  },
  approveCase: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) => m.ledger.connect(w).approveCase(m.cases.ready.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
    emits: "CaseApproved",
  },
  // The batch wrapper adds no permission of its own: each call in it is checked as if sent alone.
  multicall: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) =>
      m.ledger
        .connect(w)
        .multicall([
          m.ledger.interface.encodeFunctionData("approveCase", [
            m.cases.ready.caseId,
            assessment(),
            PROGRAMMES.dibao.ruleVersion,
          ]),
        ]),
    emits: "CaseApproved",
  },
  rejectCase: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) => m.ledger.connect(w).rejectCase(m.cases.submitted.caseId, digest("no")),
    emits: "CaseRejected",
  },
  suspendCase: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) => m.ledger.connect(w).suspendCase(m.cases.approved.caseId, digest("hold")),
    emits: "CaseSuspended",
  },
  resumeCase: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) => m.ledger.connect(w).resumeCase(m.cases.suspended.caseId, digest("go on")),
    emits: "CaseResumed",
  },
  recertifyCase: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) =>
      m.ledger
        .connect(w)
        .recertifyCase(m.cases.approved.caseId, assessment(), PROGRAMMES.dibao.ruleVersion, digest("record:2")),
    emits: "CaseRecertified",
  },
  exitCase: {
    roles: [Approver],
    region: REGION.township,
    countyOrAbove: true,
    call: (m, w) => m.ledger.connect(w).exitCase(m.cases.approved.caseId, digest("exit")),
    emits: "CaseExited",
  },
  setBeneficiaryKey: {
    roles: [Caseworker],
    region: REGION.township,
    call: (m, w) => m.ledger.connect(w).setBeneficiaryKey(m.cases.approved.caseId, m.actors.beneficiary.address),
    emits: "BeneficiaryKeySet",
  },
  certifyMedicalBill: {
    roles: [MedicalOffice],
    region: REGION.township,
    call: (m, w) =>
      m.ledger.connect(w).certifyMedicalBill(digest("bill"), m.cases.medical.caseId, 500_000n, digest("bill-doc")),
    emits: "MedicalBillCertified",
  },
  declareDisaster: {
    roles: [Approver],
    region: REGION.county,
    call: (m, w) => m.ledger.connect(w).declareDisaster(digest("storm"), m.programmes.disaster, REGION.county, REF),
    emits: "DisasterDeclared",
  },
  confirmSettlements: {
    roles: [PaymentAgent],
    region: REGION.township,
    call: (m, w) => m.ledger.connect(w).confirmSettlements(digest("bank"), [m.paidKey]),
    emits: "PayoutSettled",
  },
  reportFailure: {
    roles: [PaymentAgent],
    region: REGION.township,
    call: (m, w) => m.ledger.connect(w).reportFailure(m.paidKey, digest("account closed")),
    emits: "PayoutFailed",
  },
};

/** Entry points anyone may call: the conditions, not the caller, authorise them. Only the pause applies. */
const PERMISSIONLESS: Record<string, (m: Matrix, who: HardhatEthersSigner) => Promise<ContractTransactionResponse>> = {
  executePayouts: (m, w) => m.ledger.connect(w).executePayouts(m.programmes.dibao, m.period, [m.cases.approved.caseId]),
  payDisasterRelief: (m, w) => m.ledger.connect(w).payDisasterRelief(digest("flood"), [m.cases.household.caseId]),
  performUpkeep: (m, w) =>
    m.ledger
      .connect(w)
      .performUpkeep(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["uint32", "uint24", "bytes32[]"],
          [m.programmes.dibao, m.period, [m.cases.approved.caseId]],
        ),
      ),
};

/** Every signer of the fixture with its role and region (unregistered: role None). */
const ACTORS: Array<{ name: keyof Actors; role: Role; region: bigint }> = [
  ...INSTITUTIONS.map(([name, role, region]) => ({ name, role, region })),
  ...(["admin", "beneficiary", "stranger"] as const).map((name) => ({ name, role: Role.None, region: 0n })),
];

type Expected =
  | { allowed: true }
  | { allowed: false; error: "LedgerUnauthorizedRole"; mask: number }
  | { allowed: false; error: "LedgerUnauthorizedRegion"; region: bigint }
  | { allowed: false; error: "LedgerApproverLevelTooLow"; region: bigint };

/** What the specification says for one actor and one function. */
function expected(rule: Rule, actor: { role: Role; region: bigint }): Expected {
  if (!rule.roles.includes(actor.role)) {
    return { allowed: false, error: "LedgerUnauthorizedRole", mask: rule.roles.reduce((m, r) => m | (1 << r), 0) };
  }
  const inScope = rule.exact ? actor.region === rule.region : contains(actor.region, rule.region);
  if (!inScope) return { allowed: false, error: "LedgerUnauthorizedRegion", region: rule.region };
  if (rule.countyOrAbove && levelOf(actor.region) > Level.County) {
    return { allowed: false, error: "LedgerApproverLevelTooLow", region: actor.region };
  }
  return { allowed: true };
}

describe("ReliefLedger access matrix", function () {
  it("covers every state-changing function of the ledger's ABI", async function () {
    const { ledger } = await loadFixture(matrixFixture);
    const mutating: string[] = [];
    ledger.interface.forEachFunction((f) => {
      if (f.stateMutability !== "view" && f.stateMutability !== "pure") mutating.push(f.name);
    });
    // Guarded not by a role but by the registry's owner and the linked VoucherBook (test/vouchers checks them).
    const voucherFunding = ["linkVoucherBook", "moveVoucherFunds"];
    expect([...Object.keys(WHO_MAY), ...Object.keys(PERMISSIONLESS), ...voucherFunding].sort()).to.deep.equal(
      mutating.sort(),
    );
  });

  it("every function has at least one allowed actor in the fixture, and no one outside Chaoyang's chain is allowed", function () {
    for (const [fn, rule] of Object.entries(WHO_MAY)) {
      const allowed = ACTORS.filter((a) => expected(rule, a).allowed).map((a) => a.name);
      expect(allowed, fn).to.not.be.empty;
      expect(allowed, fn).to.not.include.members(["otherCaseworker", "otherApprover", "otherPaymentAgent"]);
      expect(allowed, fn).to.not.include.members(["admin", "stranger", "beneficiary", "auditor", "anchorer", "keeper"]);
    }
  });

  for (const [fn, rule] of Object.entries(WHO_MAY)) {
    describe(fn, function () {
      for (const actor of ACTORS) {
        const exp = expected(rule, actor);
        const outcome = exp.allowed
          ? `succeeds with ${rule.emits}`
          : `reverts with ${exp.error}` + ("region" in exp ? `(${exp.region})` : "");
        it(`${actor.name} (${Role[actor.role]}, ${actor.region}): ${outcome}`, async function () {
          const m = await loadFixture(matrixFixture);
          const who = m.actors[actor.name];
          const tx = rule.call(m, who);
          if (exp.allowed) {
            await expect(tx).to.emit(m.ledger, rule.emits);
          } else if (exp.error === "LedgerUnauthorizedRole") {
            await expect(tx).to.be.revertedWithCustomError(m.registry, exp.error).withArgs(who.address, exp.mask);
          } else if (exp.error === "LedgerUnauthorizedRegion") {
            await expect(tx).to.be.revertedWithCustomError(m.registry, exp.error).withArgs(who.address, exp.region);
          } else {
            await expect(tx).to.be.revertedWithCustomError(m.ledger, exp.error).withArgs(who.address, exp.region);
          }
        });
      }
    });
  }

  describe("while the registry is paused", function () {
    for (const [fn, rule] of Object.entries(WHO_MAY)) {
      it(`${fn} reverts with LedgerPausedError even for an allowed actor, and works again after unpause`, async function () {
        const m = await loadFixture(matrixFixture);
        const actor = ACTORS.find((a) => expected(rule, a).allowed)!;
        await m.registry.pause();
        await expect(rule.call(m, m.actors[actor.name])).to.be.revertedWithCustomError(m.registry, "LedgerPausedError");
        await m.registry.unpause();
        await expect(rule.call(m, m.actors[actor.name])).to.emit(m.ledger, rule.emits);
      });
    }

    for (const [fn, call] of Object.entries(PERMISSIONLESS)) {
      it(`${fn} (permissionless) reverts with LedgerPausedError, and runs for a stranger after unpause`, async function () {
        const m = await loadFixture(matrixFixture);
        await m.registry.pause();
        await expect(call(m, m.actors.stranger)).to.be.revertedWithCustomError(m.registry, "LedgerPausedError");
        await m.registry.unpause();
        await expect(call(m, m.actors.stranger)).to.emit(m.ledger, "PayoutRunExecuted");
      });
    }
  });
});
