import { ethers } from "hardhat";
import { setBalance } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { VoucherBook } from "../../typechain-types";
import { ProgrammeKind, Role } from "../../lib/roles";
import { programmeRule } from "../../lib/programmes";
import { ProviderCategory, VoucherKind, categoryMask } from "../../lib/vouchers";
import { DAY, REGION, assessment, deployFunded, digest, newCase, type Funded } from "../helpers/fixture";

/** A voucher programme's cap per case (fen): 3,000 yuan of school fees and materials. */
export const CAP = 300_000n;
export const VOUCHER_POOL = 1_000_000n; // 10,000 yuan
export const SMALL_POOL = 500_000n; // the second programme: one 3,000-yuan voucher and a bit
export const VALIDITY = 90 * DAY;

export const EDUCATION_TERMS = {
  kind: VoucherKind.Education,
  categories: categoryMask([ProviderCategory.School, ProviderCategory.Pharmacy]),
  validity: VALIDITY,
};

export const voucherRule = (label: string, over: Partial<Parameters<typeof programmeRule>[3]> = {}) =>
  programmeRule(ProgrammeKind.Voucher, REGION.county, digest(`voucher-rule:${label}`), {
    amount: CAP,
    noticePeriod: 0,
    ...over,
  });

/** An account registered as a provider (the fixture's 20 signers are taken), funded for gas. */
async function provider(fx: Funded, label: string, region: bigint) {
  const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
  await setBalance(wallet.address, 10n ** 20n);
  await fx.registry.registerInstitution(wallet.address, Role.Provider, region, digest(`sm2-key:${label}`));
  return wallet;
}

/**
 * `deployFunded()` plus a linked VoucherBook, two voucher programmes in Chaoyang (one with terms and a large pool,
 * one with a small pool), the money for them, and providers: a school and a pharmacy inside the county, a hospital
 * inside it (wrong category for education), a school in Fengtai (outside), an inactive school and an
 * uncategorised provider.
 */
export async function deployVouchers() {
  const fx = await deployFunded();
  const { ledger, registry, actors } = fx;
  const book = (await (
    await ethers.getContractFactory("VoucherBook")
  ).deploy(await registry.getAddress(), await ledger.getAddress())) as unknown as VoucherBook;
  await ledger.connect(actors.admin).linkVoucherBook(await book.getAddress());

  await ledger.connect(actors.approver).createProgramme(voucherRule("education"));
  const education = await ledger.programmeCount();
  await ledger.connect(actors.approver).createProgramme(voucherRule("small", { validityMonths: 1 }));
  const small = await ledger.programmeCount();
  const ref = digest("voucher-budget");
  const total = VOUCHER_POOL + SMALL_POOL;
  await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, total, ref);
  await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, total, ref);
  await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, total, ref);
  await ledger.connect(actors.countyFinance).fundProgramme(education, VOUCHER_POOL, ref);
  await ledger.connect(actors.countyFinance).fundProgramme(small, SMALL_POOL, ref);
  await book.connect(actors.approver).setVoucherTerms(education, EDUCATION_TERMS);
  await book.connect(actors.approver).setVoucherTerms(small, EDUCATION_TERMS);

  const providers = {
    school: await provider(fx, "school", REGION.township),
    pharmacy: await provider(fx, "pharmacy", REGION.county),
    hospital: await provider(fx, "hospital", REGION.county),
    outsideSchool: await provider(fx, "outside-school", REGION.otherTownship),
    inactiveSchool: await provider(fx, "inactive-school", REGION.township),
    uncategorised: await provider(fx, "uncategorised", REGION.township),
  };
  const categories: Array<[keyof typeof providers, ProviderCategory]> = [
    ["school", ProviderCategory.School],
    ["pharmacy", ProviderCategory.Pharmacy],
    ["hospital", ProviderCategory.Hospital],
    ["outsideSchool", ProviderCategory.School],
    ["inactiveSchool", ProviderCategory.School],
  ];
  for (const [name, category] of categories) {
    await book.connect(actors.admin).setProviderCategory(providers[name].address, category);
  }
  await registry.setActive(providers.inactiveSchool.address, false);
  return { ...fx, book, providers, voucherProgrammes: { education, small } };
}

export type VoucherFixture = Awaited<ReturnType<typeof deployVouchers>>;

/** Submits, reviews and approves a case of a voucher programme for `amount`; returns its id (the voucher id). */
export async function approvedVoucherCase(
  fx: Funded,
  programmeId: bigint,
  amount: bigint,
  opts: { approver?: HardhatEthersSigner; label?: string } = {},
) {
  const { ledger, actors } = fx;
  const c = newCase(opts.label ?? "voucher");
  await ledger
    .connect(actors.caseworker)
    .submitCase(c.caseId, programmeId, REGION.township, c.pseudonym, digest(`record:${c.caseId}`));
  await ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("reviewed"));
  const rule = await ledger.programme(programmeId);
  await ledger
    .connect(opts.approver ?? actors.approver)
    .approveCase(c.caseId, assessment({ amount }), rule.ruleVersion);
  return c.caseId;
}

/** The latest block's timestamp. */
export async function now() {
  return (await ethers.provider.getBlock("latest"))!.timestamp;
}

/** Records a presentation of `voucherId` to `provider` for `maxAmount`, valid for `seconds` (by the anchorer). */
export async function present(
  fx: VoucherFixture,
  voucherId: string,
  provider: string,
  maxAmount: bigint,
  seconds = 600,
) {
  const expiresAt = (await now()) + seconds;
  await fx.book
    .connect(fx.actors.anchorer)
    .presentVoucher(voucherId, provider, maxAmount, expiresAt, digest(`presentation:${voucherId}:${expiresAt}`));
  return expiresAt;
}
