import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { ProgrammeKind, Role } from "../../lib/roles";
import {
  DAY,
  PROGRAMMES,
  REGION,
  deployFunded,
  deployRegistryAndLedger,
  digest,
  type ProgrammeInput,
} from "../helpers/fixture";
import type { ReliefLedger } from "../../typechain-types";

const APPROVER_BIT = 1 << Role.Approver;
const UINT40_MAX = 2n ** 40n - 1n;

/** The programme as the contract returns it, in the fixture's shape. */
async function stored(ledger: ReliefLedger, id: bigint): Promise<ProgrammeInput> {
  const p = await ledger.programme(id);
  return {
    kind: Number(p.kind),
    region: p.region,
    amount: p.amount,
    deductible: p.deductible,
    ratioBps: Number(p.ratioBps),
    validityMonths: Number(p.validityMonths),
    exitPeriods: Number(p.exitPeriods),
    noticePeriod: Number(p.noticePeriod),
    disputeWindow: Number(p.disputeWindow),
    exclusionGroup: Number(p.exclusionGroup),
    ruleVersion: p.ruleVersion,
  };
}

/** Out-of-range values, one field at a time, and the field name the contract must report. */
const INVALID: Array<[string, Partial<ProgrammeInput>, string, ProgrammeKind?]> = [
  ["an invalid region code", { region: 110005n }, "region"],
  ["a twelve-digit region with township 000", { region: 110105000000n }, "region"],
  ["a zero rule version", { ruleVersion: ethers.ZeroHash }, "ruleVersion"],
  ["a zero amount", { amount: 0n }, "amount"],
  ["an amount above 2^40 − 1 fen", { amount: UINT40_MAX + 1n }, "amount"],
  ["zero validity months", { validityMonths: 0 }, "validityMonths"],
  ["121 validity months", { validityMonths: 121 }, "validityMonths"],
  ["25 exit periods", { exitPeriods: 25 }, "exitPeriods"],
  ["a notice of 90 days and a second", { noticePeriod: 90 * DAY + 1 }, "noticePeriod"],
  ["a medical ratio of zero", { ratioBps: 0 }, "ratioBps", ProgrammeKind.Medical],
  ["a medical ratio above 100%", { ratioBps: 10_001 }, "ratioBps", ProgrammeKind.Medical],
  ["a ratio on a non-medical programme", { ratioBps: 5000 }, "ratioBps", ProgrammeKind.MonthlyGap],
  ["a deductible on a non-medical programme", { deductible: 1n }, "deductible", ProgrammeKind.Temporary],
  // No finance bureau holds funds below the county, so a township pool could never be funded.
  ["a township region", { region: REGION.township }, "region", ProgrammeKind.Temporary],
];

/** The largest values each bounded field accepts. */
const EDGES: Array<[string, Partial<ProgrammeInput>]> = [
  ["an amount of 2^40 − 1 fen", { amount: UINT40_MAX }],
  ["120 validity months", { validityMonths: 120 }],
  ["24 exit periods", { exitPeriods: 24 }],
  ["no exit periods", { exitPeriods: 0 }],
  ["a 90-day notice", { noticePeriod: 90 * DAY }],
  ["no notice", { noticePeriod: 0 }],
];

const byKind = (kind: ProgrammeKind) => Object.values(PROGRAMMES).find((p) => p.kind === kind)!;

describe("Programmes", function () {
  describe("createProgramme", function () {
    for (const [name, p] of Object.entries(PROGRAMMES)) {
      it(`creates a ${ProgrammeKind[p.kind]} programme (${name}), emits ProgrammeCreated and stores the rule`, async function () {
        const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
        await expect(ledger.connect(actors.approver).createProgramme(p))
          .to.emit(ledger, "ProgrammeCreated")
          .withArgs(1, p.kind, p.region, p.ruleVersion);
        expect(await ledger.programmeCount()).to.equal(1n);
        expect(await stored(ledger, 1n)).to.deep.equal(p);
      });
    }

    it("numbers programmes from 1 in creation order", async function () {
      const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
      expect(await ledger.programmeCount()).to.equal(0n);
      const list = Object.values(PROGRAMMES);
      for (let i = 0; i < list.length; i++) {
        await expect(ledger.connect(actors.approver2).createProgramme(list[i]))
          .to.emit(ledger, "ProgrammeCreated")
          .withArgs(i + 1, list[i].kind, list[i].region, list[i].ruleVersion);
      }
      expect(await ledger.programmeCount()).to.equal(BigInt(list.length));
      for (let i = 0; i < list.length; i++) expect(await stored(ledger, BigInt(i + 1))).to.deep.equal(list[i]);
    });

    for (const [label, over, field, kind] of INVALID) {
      it(`reverts with LedgerInvalidProgramme("${field}") for ${label}`, async function () {
        const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
        const p = { ...byKind(kind ?? ProgrammeKind.MonthlyGap), ...over };
        await expect(ledger.connect(actors.approver).createProgramme(p))
          .to.be.revertedWithCustomError(ledger, "LedgerInvalidProgramme")
          .withArgs(field);
      });
    }

    for (const [label, over] of EDGES) {
      it(`accepts ${label}`, async function () {
        const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
        const p = { ...PROGRAMMES.dibao, ...over };
        await expect(ledger.connect(actors.approver).createProgramme(p)).to.emit(ledger, "ProgrammeCreated");
        expect(await stored(ledger, 1n)).to.deep.equal(p);
      });
    }

    it("accepts a medical ratio of exactly 100% with a deductible", async function () {
      const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
      const p = { ...PROGRAMMES.medical, ratioBps: 10_000, deductible: 5n };
      await expect(ledger.connect(actors.approver).createProgramme(p)).to.emit(ledger, "ProgrammeCreated");
    });

    it("lets an approver create a programme for its own region or a county inside it", async function () {
      const { ledger, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(ledger.connect(actors.approver).createProgramme(PROGRAMMES.temporary))
        .to.emit(ledger, "ProgrammeCreated")
        .withArgs(1, ProgrammeKind.Temporary, REGION.county, PROGRAMMES.temporary.ruleVersion);
    });

    it("reverts with LedgerUnauthorizedRegion for an approver whose region does not contain the programme's", async function () {
      const { ledger, registry, actors } = await loadFixture(deployRegistryAndLedger);
      for (const who of [actors.townshipApprover, actors.otherApprover]) {
        await expect(ledger.connect(who).createProgramme(PROGRAMMES.dibao))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.county);
      }
      await expect(ledger.connect(actors.approver).createProgramme({ ...PROGRAMMES.dibao, region: REGION.city }))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
        .withArgs(actors.approver.address, REGION.city);
    });

    it("reverts with LedgerUnauthorizedRole for every non-approver", async function () {
      const { ledger, registry, actors } = await loadFixture(deployRegistryAndLedger);
      for (const who of [actors.caseworker, actors.centralFinance, actors.auditor, actors.admin, actors.stranger]) {
        await expect(ledger.connect(who).createProgramme(PROGRAMMES.dibao))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, APPROVER_BIT);
      }
    });
  });

  describe("updateProgrammeRule", function () {
    it('reverts with LedgerInvalidProgramme("ruleVersion") when the new rule keeps the old version', async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const changed = { ...PROGRAMMES.dibao, amount: PROGRAMMES.dibao.amount + 100n };
      await expect(ledger.connect(actors.approver).updateProgrammeRule(programmes.dibao, changed))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidProgramme")
        .withArgs("ruleVersion");
    });

    for (const [name, p] of Object.entries(PROGRAMMES)) {
      it(`updates the ${ProgrammeKind[p.kind]} rule (${name}) with ProgrammeRuleUpdated(old, new)`, async function () {
        const { ledger, actors, programmes } = await loadFixture(deployFunded);
        const id = programmes[name];
        const next: ProgrammeInput = {
          ...p,
          amount: p.amount + 1_000n,
          validityMonths: 6,
          exitPeriods: 3,
          noticePeriod: 5 * DAY,
          disputeWindow: 30 * DAY,
          ruleVersion: digest(`${name}-v2`),
          ...(p.kind === ProgrammeKind.Medical ? { ratioBps: 8000, deductible: 50_000n } : {}),
        };
        await expect(ledger.connect(actors.approver2).updateProgrammeRule(id, next))
          .to.emit(ledger, "ProgrammeRuleUpdated")
          .withArgs(id, p.ruleVersion, next.ruleVersion);
        expect(await stored(ledger, id)).to.deep.equal(next);
        expect(await ledger.programmeCount()).to.equal(5n);
      });
    }

    it("reverts with LedgerProgrammeIdentityChanged when the kind, the region or the exclusion group would change", async function () {
      const { ledger, actors, programmes } = await loadFixture(deployFunded);
      const id = programmes.dibao;
      const changes: Array<Partial<ProgrammeInput>> = [
        { kind: ProgrammeKind.MonthlyFixed },
        { region: REGION.township },
        { region: REGION.city },
        // A new group would let a pseudonym already holding a place in group 1 take a second case.
        { exclusionGroup: 2 },
        { exclusionGroup: 0 },
      ];
      for (const over of changes) {
        await expect(ledger.connect(actors.approver).updateProgrammeRule(id, { ...PROGRAMMES.dibao, ...over }))
          .to.be.revertedWithCustomError(ledger, "LedgerProgrammeIdentityChanged")
          .withArgs(id);
      }
    });

    for (const [label, over, field, kind] of INVALID.filter(([, o]) => o.region === undefined)) {
      it(`reverts with LedgerInvalidProgramme("${field}") for ${label}`, async function () {
        const { ledger, actors, programmes } = await loadFixture(deployFunded);
        const base = byKind(kind ?? ProgrammeKind.MonthlyGap);
        const name = Object.keys(PROGRAMMES).find((n) => PROGRAMMES[n] === base)!;
        await expect(ledger.connect(actors.approver).updateProgrammeRule(programmes[name], { ...base, ...over }))
          .to.be.revertedWithCustomError(ledger, "LedgerInvalidProgramme")
          .withArgs(field);
      });
    }

    it("reverts with LedgerUnknownProgramme for id 0 and for an id past the last", async function () {
      const { ledger, actors } = await loadFixture(deployFunded);
      for (const id of [0, 6, 2 ** 32 - 1]) {
        await expect(ledger.connect(actors.approver).updateProgrammeRule(id, PROGRAMMES.dibao))
          .to.be.revertedWithCustomError(ledger, "LedgerUnknownProgramme")
          .withArgs(id);
        await expect(ledger.programme(id)).to.be.revertedWithCustomError(ledger, "LedgerUnknownProgramme").withArgs(id);
      }
    });

    it("reverts with the registry's errors for approvers out of scope and for non-approvers", async function () {
      const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
      const next = { ...PROGRAMMES.dibao, ruleVersion: digest("dibao-v2") };
      for (const who of [actors.townshipApprover, actors.otherApprover]) {
        await expect(ledger.connect(who).updateProgrammeRule(programmes.dibao, next))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
          .withArgs(who.address, REGION.county);
      }
      for (const who of [actors.countyCaseworker, actors.countyFinance, actors.stranger]) {
        await expect(ledger.connect(who).updateProgrammeRule(programmes.dibao, next))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, APPROVER_BIT);
      }
    });

    it("reverts with LedgerPausedError while the registry is paused", async function () {
      const { ledger, registry, actors, programmes } = await loadFixture(deployFunded);
      await registry.pause();
      await expect(
        ledger.connect(actors.approver).updateProgrammeRule(programmes.dibao, PROGRAMMES.dibao),
      ).to.be.revertedWithCustomError(registry, "LedgerPausedError");
      await expect(ledger.connect(actors.approver).createProgramme(PROGRAMMES.dibao)).to.be.revertedWithCustomError(
        registry,
        "LedgerPausedError",
      );
    });
  });
});
