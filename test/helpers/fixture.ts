import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { InstitutionRegistry, ReliefLedger } from "../../typechain-types";
import { ProgrammeKind, Role } from "../../lib/roles";
import { programmeRule, type ProgrammeRule } from "../../lib/programmes";

/** Regions used across the tests: Beijing, its Chaoyang district, a township in it, and a neighbour. */
export const REGION = {
  central: 0n,
  province: 110000n,
  city: 110100n,
  county: 110105n, // 朝陽區
  township: 110105001000n, // a street office in Chaoyang
  otherCounty: 110106n, // 豐臺區
  otherTownship: 110106001000n,
} as const;

export const DAY = 24 * 3600;
export const digest = (label: string) => ethers.id(label);

export type Actors = Awaited<ReturnType<typeof namedSigners>>;

async function namedSigners() {
  const s = await ethers.getSigners();
  return {
    admin: s[0],
    centralFinance: s[1],
    provinceFinance: s[2],
    cityFinance: s[3],
    countyFinance: s[4],
    approver: s[5], // county approver, Chaoyang
    approver2: s[6], // a second county approver, Chaoyang
    townshipApprover: s[7],
    caseworker: s[8], // township caseworker
    countyCaseworker: s[9],
    paymentAgent: s[10],
    medicalOffice: s[11],
    auditor: s[12],
    anchorer: s[13],
    keeper: s[14],
    otherCaseworker: s[15], // Fengtai: outside Chaoyang
    otherApprover: s[16],
    otherPaymentAgent: s[17],
    beneficiary: s[18],
    stranger: s[19],
  };
}

/** Every institution: [actor name, role, region]. */
export const INSTITUTIONS: ReadonlyArray<[keyof Actors, Role, bigint]> = [
  ["centralFinance", Role.Finance, REGION.central],
  ["provinceFinance", Role.Finance, REGION.province],
  ["cityFinance", Role.Finance, REGION.city],
  ["countyFinance", Role.Finance, REGION.county],
  ["approver", Role.Approver, REGION.county],
  ["approver2", Role.Approver, REGION.county],
  ["townshipApprover", Role.Approver, REGION.township],
  ["caseworker", Role.Caseworker, REGION.township],
  ["countyCaseworker", Role.Caseworker, REGION.county],
  ["paymentAgent", Role.PaymentAgent, REGION.county],
  ["medicalOffice", Role.MedicalOffice, REGION.county],
  ["auditor", Role.Auditor, REGION.central],
  ["anchorer", Role.Anchorer, REGION.central],
  ["keeper", Role.Keeper, REGION.central],
  ["otherCaseworker", Role.Caseworker, REGION.otherTownship],
  ["otherApprover", Role.Approver, REGION.otherCounty],
  ["otherPaymentAgent", Role.PaymentAgent, REGION.otherCounty],
];

/** A programme's rule as `createProgramme` takes it (defined once, in lib/programmes.ts). */
export type ProgrammeInput = ProgrammeRule;

/** Programmes with the figures of PRODUCT.md, all in Chaoyang. Amounts in fen. */
export const PROGRAMMES: Record<string, ProgrammeInput> = {
  // 低保 urban: standard 737 yuan per person per month; excludes 特困 (same group).
  dibao: programme(ProgrammeKind.MonthlyGap, 73_700n, { exclusionGroup: 1, ruleVersion: digest("dibao-2022") }),
  // 特困 dispersed: 9,600 yuan a year = 800 yuan a month.
  tekun: programme(ProgrammeKind.MonthlyFixed, 80_000n, { exclusionGroup: 1, ruleVersion: digest("tekun-2023") }),
  // 臨時救助: townships approve up to 5,000 yuan.
  temporary: programme(ProgrammeKind.Temporary, 500_000n, { noticePeriod: 0, ruleVersion: digest("temp-2024") }),
  // 醫療救助: 70% above a 1,000-yuan deductible, capped at 30,000 yuan a year.
  medical: programme(ProgrammeKind.Medical, 3_000_000n, {
    ratioBps: 7000,
    deductible: 100_000n,
    noticePeriod: 0,
    ruleVersion: digest("medical-2024"),
  }),
  // 災害救助: 2,000 yuan per registered household.
  disaster: programme(ProgrammeKind.Disaster, 200_000n, { noticePeriod: 0, ruleVersion: digest("disaster-2024") }),
};

function programme(kind: ProgrammeKind, amount: bigint, over: Partial<ProgrammeInput>): ProgrammeInput {
  return programmeRule(kind, REGION.county, digest("rule"), { amount, ...over });
}

export const POOL_FUNDING = 100_000_000n; // 1,000,000 yuan per programme pool

/** Registry + ledger with every institution registered; no programmes. */
export async function deployRegistryAndLedger() {
  const actors = await namedSigners();
  const registry = (await (
    await ethers.getContractFactory("InstitutionRegistry")
  ).deploy(actors.admin.address)) as unknown as InstitutionRegistry;
  const ledger = (await (
    await ethers.getContractFactory("ReliefLedger")
  ).deploy(await registry.getAddress())) as unknown as ReliefLedger;
  for (const [name, role, region] of INSTITUTIONS) {
    await registry.registerInstitution(actors[name].address, role, region, digest(`sm2-key:${name}`));
  }
  return { registry, ledger, actors };
}

/** The full setup: programmes created, money appropriated and allocated down to funded pools. */
export async function deployFunded() {
  const base = await deployRegistryAndLedger();
  const { ledger, actors } = base;
  const ids: Record<keyof typeof PROGRAMMES, bigint> = {} as never;
  for (const [name, p] of Object.entries(PROGRAMMES)) {
    await ledger.connect(actors.approver).createProgramme(p);
    ids[name] = BigInt(await ledger.programmeCount());
  }
  const total = POOL_FUNDING * BigInt(Object.keys(PROGRAMMES).length);
  const ref = digest("budget-2026");
  await ledger.connect(actors.centralFinance).appropriate(total * 2n, ref);
  await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, total, ref);
  await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, total, ref);
  await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, total, ref);
  for (const id of Object.values(ids)) {
    await ledger.connect(actors.countyFinance).fundProgramme(id, POOL_FUNDING, ref);
  }
  return { ...base, programmes: ids };
}

export type Funded = Awaited<ReturnType<typeof deployFunded>>;

let caseCounter = 0;
/** A fresh case id and pseudonym. */
export function newCase(label = "case") {
  caseCounter += 1;
  return { caseId: digest(`${label}:${caseCounter}`), pseudonym: digest(`pseudonym:${label}:${caseCounter}`) };
}

export interface Assessment {
  householdSize: number;
  incomePerHead: bigint;
  amount: bigint;
}

export const assessment = (over: Partial<Assessment> = {}): Assessment => ({
  householdSize: 3,
  incomePerHead: 23_700n, // 237 yuan: the gap is 500 yuan a head, 1,500 yuan for three
  amount: 0n,
  ...over,
});

/** Submits, reviews, waits out the notice and approves a case; returns its ids. */
export async function approvedCase(
  fx: Funded,
  programme: keyof typeof PROGRAMMES,
  opts: { a?: Partial<Assessment>; region?: bigint; pseudonym?: string; approver?: HardhatEthersSigner } = {},
) {
  const { ledger, actors } = fx;
  const c = newCase(programme);
  const pseudonym = opts.pseudonym ?? c.pseudonym;
  const id = fx.programmes[programme];
  await ledger
    .connect(actors.caseworker)
    .submitCase(c.caseId, id, opts.region ?? REGION.township, pseudonym, digest(`record:${c.caseId}`));
  await ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("reviewed"));
  const p = PROGRAMMES[programme];
  if (p.noticePeriod > 0) await time.increase(p.noticePeriod);
  await ledger.connect(opts.approver ?? actors.approver).approveCase(c.caseId, assessment(opts.a), p.ruleVersion);
  return { caseId: c.caseId, pseudonym, programmeId: id };
}

/** The ledger's current period. */
export async function currentPeriod(ledger: ReliefLedger): Promise<number> {
  return Number(await ledger.currentPeriod());
}

/** Moves the chain into the next calendar month (CST), `n` times. */
export async function nextPeriod(ledger: ReliefLedger, n = 1) {
  for (let i = 0; i < n; i++) {
    const p = await currentPeriod(ledger);
    while ((await currentPeriod(ledger)) === p) await time.increase(10 * DAY);
  }
}

/** `deployFunded()` plus a ReceiptBook (救助對象確認) reading its ledger. */
export async function deployWithReceipts() {
  const funded = await deployFunded();
  const receipts = (await (
    await ethers.getContractFactory("ReceiptBook")
  ).deploy(
    await funded.registry.getAddress(),
    await funded.ledger.getAddress(),
  )) as unknown as import("../../typechain-types").ReceiptBook;
  return { ...funded, receipts };
}

export type WithReceipts = Awaited<ReturnType<typeof deployWithReceipts>>;

/**
 * `deployWithReceipts()` with two paid payouts to answer: a 低保 monthly payout (`monthlyKey`) whose case has
 * `actors.beneficiary` as its beneficiary key, and a certified medical bill (`billKey`, 5,000 yuan, paying
 * 2,800) whose case has the `medicalBeneficiary` wallet as its key. Adds two anchorers: one in Chaoyang
 * (`countyAnchorer`) and one in Fengtai (`otherAnchorer`); `actors.anchorer` is central.
 */
export async function deployReceiptScenario() {
  const fx = await deployWithReceipts();
  const { ledger, registry, actors } = fx;

  const dibao = await approvedCase(fx, "dibao");
  const monthlyPeriod = BigInt(await currentPeriod(ledger));
  await ledger.connect(actors.keeper).executePayouts(dibao.programmeId, monthlyPeriod, [dibao.caseId]);
  await ledger.connect(actors.caseworker).setBeneficiaryKey(dibao.caseId, actors.beneficiary.address);

  const medical = await approvedCase(fx, "medical");
  const billId = digest("bill:receipt-scenario");
  const certified = await (
    await ledger.connect(actors.medicalOffice).certifyMedicalBill(billId, medical.caseId, 500_000n, digest("bill"))
  ).wait();
  const executed = certified!.logs
    .map((log) => ledger.interface.parseLog(log))
    .find((parsed) => parsed?.name === "PayoutExecuted")!;
  const billPeriod = executed.args.period as bigint;
  const medicalBeneficiary = new ethers.Wallet(digest("key:medical-beneficiary"), ethers.provider);
  await ledger.connect(actors.caseworker).setBeneficiaryKey(medical.caseId, medicalBeneficiary.address);

  const countyAnchorer = new ethers.Wallet(digest("key:anchorer-county"), ethers.provider);
  const otherAnchorer = new ethers.Wallet(digest("key:anchorer-other-county"), ethers.provider);
  for (const [wallet, region] of [
    [countyAnchorer, REGION.county],
    [otherAnchorer, REGION.otherCounty],
  ] as const) {
    await registry.registerInstitution(wallet.address, Role.Anchorer, region, digest(`sm2-key:${wallet.address}`));
    await actors.admin.sendTransaction({ to: wallet.address, value: ethers.parseEther("10") });
  }

  return {
    ...fx,
    dibao,
    medical,
    billId,
    monthlyKey: { caseId: dibao.caseId, period: monthlyPeriod, eventId: ethers.ZeroHash },
    billKey: { caseId: medical.caseId, period: billPeriod, eventId: billId },
    medicalBeneficiary,
    countyAnchorer,
    otherAnchorer,
  };
}

export type ReceiptScenario = Awaited<ReturnType<typeof deployReceiptScenario>>;

/** A payout key as `IPayouts.PayoutKey`: a monthly payout when `eventId` is left out. */
export const payoutKey = (caseId: string, period: number | bigint, eventId: string = ethers.ZeroHash) => ({
  caseId,
  period,
  eventId,
});

/** Moves the chain to `offsetSeconds` after the start (CST) of a period that has not begun yet. */
export async function goToPeriod(period: number, offsetSeconds = DAY) {
  const { periodStart } = await import("../../lib/periods");
  await time.increaseTo(periodStart(period) + offsetSeconds);
}

export type CaseStage = "submitted" | "inNotice" | "approved";

/**
 * A case brought to `stage`, submitted and reviewed by `submitter` (a caseworker; default the township one)
 * in `region` (default the township), approved by `approver` (default the county approver).
 */
export async function caseAt(
  fx: Funded,
  programme: keyof typeof PROGRAMMES,
  stage: CaseStage,
  opts: {
    a?: Partial<Assessment>;
    region?: bigint;
    pseudonym?: string;
    submitter?: HardhatEthersSigner;
    approver?: HardhatEthersSigner;
  } = {},
) {
  const { ledger, actors } = fx;
  const c = newCase(programme);
  const pseudonym = opts.pseudonym ?? c.pseudonym;
  const programmeId = fx.programmes[programme];
  const submitter = opts.submitter ?? actors.caseworker;
  await ledger
    .connect(submitter)
    .submitCase(c.caseId, programmeId, opts.region ?? REGION.township, pseudonym, digest(`record:${c.caseId}`));
  if (stage !== "submitted") {
    await ledger.connect(submitter).reviewCase(c.caseId, true, digest("reviewed"));
    const p = PROGRAMMES[programme];
    if (stage === "approved") {
      if (p.noticePeriod > 0) await time.increase(p.noticePeriod);
      await ledger.connect(opts.approver ?? actors.approver).approveCase(c.caseId, assessment(opts.a), p.ruleVersion);
    }
  }
  return { caseId: c.caseId, pseudonym, programmeId };
}

/**
 * Several cases of one programme approved together: all submitted and reviewed, one wait for the notice,
 * then all approved, so that they share their first period. One entry per assessment.
 */
export async function approvedCases(
  fx: Funded,
  programme: keyof typeof PROGRAMMES,
  assessments: Partial<Assessment>[],
  opts: { region?: bigint; submitter?: HardhatEthersSigner; approver?: HardhatEthersSigner } = {},
) {
  const { ledger, actors } = fx;
  const programmeId = fx.programmes[programme];
  const p = PROGRAMMES[programme];
  const submitter = opts.submitter ?? actors.caseworker;
  const cases = assessments.map(() => ({ ...newCase(programme), programmeId }));
  for (const c of cases) {
    await ledger
      .connect(submitter)
      .submitCase(c.caseId, programmeId, opts.region ?? REGION.township, c.pseudonym, digest(`record:${c.caseId}`));
    await ledger.connect(submitter).reviewCase(c.caseId, true, digest("reviewed"));
  }
  if (p.noticePeriod > 0) await time.increase(p.noticePeriod);
  for (const [i, c] of cases.entries()) {
    await ledger
      .connect(opts.approver ?? actors.approver)
      .approveCase(c.caseId, assessment(assessments[i]), p.ruleVersion);
  }
  return cases;
}

/** Allocates fresh central money down to Chaoyang and into the pool of `programmeId`. */
export async function topUpPool(fx: Funded, programmeId: bigint, amount: bigint) {
  const { ledger, actors } = fx;
  const ref = digest("top-up");
  await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, amount, ref);
  await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, amount, ref);
  await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, amount, ref);
  await ledger.connect(actors.countyFinance).fundProgramme(programmeId, amount, ref);
}

/** A fixed monthly programme whose eligibility (60 months) outlasts the 32-period window, with one case. */
export async function longProgrammeCase(fx: Funded) {
  const { ledger, actors } = fx;
  const input = { ...PROGRAMMES.tekun, validityMonths: 60, exclusionGroup: 0, ruleVersion: digest("tekun-long") };
  await ledger.connect(actors.approver).createProgramme(input);
  const programmeId = BigInt(await ledger.programmeCount());
  await topUpPool(fx, programmeId, POOL_FUNDING);
  const c = newCase("long");
  await ledger
    .connect(actors.caseworker)
    .submitCase(c.caseId, programmeId, REGION.township, c.pseudonym, digest("record:long"));
  await ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("reviewed"));
  await time.increase(input.noticePeriod);
  await ledger.connect(actors.approver).approveCase(c.caseId, assessment(), input.ruleVersion);
  return { caseId: c.caseId, programmeId, p0: Number((await ledger.caseRecord(c.caseId)).firstPeriod) };
}

/** Whether the chain accepts a transaction. */
export const accepted = (tx: Promise<unknown>): Promise<boolean> =>
  tx.then(
    () => true,
    () => false,
  );

/** Whether the chain accepts `send` for every item, one after another (stopping at the first refusal). */
export async function inTurn<T>(items: readonly T[], send: (item: T) => Promise<unknown>): Promise<boolean> {
  for (const item of items) if (!(await accepted(send(item)))) return false;
  return true;
}
