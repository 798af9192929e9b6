import { expect } from "chai";
import { roleAttribute } from "../../lib/fabric-identity";
import { programmeRule } from "../../lib/programmes";
import { periodStart } from "../../lib/periods";
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
import { TRANSACTIONS } from "../../chaincode/src/contract";
import { DAY, digest, newCase, REGION } from "./fixture";
import { PeerTransactionError } from "./peer";
import {
  approvedVoucherCase,
  CAP,
  expectConserved,
  issue,
  issuedVoucher,
  present,
  redeem,
  registerProvider,
  TERMS,
  voucherOf,
  voucherWorld,
  type Redemption,
  type VoucherWorld,
} from "./voucher-fixture";

const ZERO32 = `0x${"0".repeat(64)}`;
const ZERO_ACCOUNT = `0x${"0".repeat(40)}`;

describe("chaincode: vouchers (救助券)", function () {
  let w: VoucherWorld;

  const pool = async (programmeId: number) => BigInt(await w.ledger.query<string>("poolBalance", { programmeId }));
  const escrow = async () => BigInt(await w.ledger.query<string>("voucherEscrow"));
  const redemptionOf = (voucherId: string, index: number) =>
    w.ledger.query<Redemption | null>("redemption", { voucherId, index });
  const refused = (who: Parameters<typeof w.ledger.refusal>[0], fn: string, args: unknown) =>
    w.ledger.refusal(who, fn, args);

  before(async function () {
    w = await voucherWorld();
  });

  afterEach(async function () {
    await expectConserved(w);
  });

  describe("programmes, terms and providers", function () {
    it("approves a voucher case for its assessed amount up to the programme's cap, at county level", async function () {
      const { ledger } = w;
      const programmeId = w.vouchers.education;
      const { ruleVersion, validityMonths } = await ledger.query<{ ruleVersion: string; validityMonths: number }>(
        "programme",
        { programmeId },
      );
      const approval = (caseId: string, amount: bigint) => ({
        caseId,
        assessment: { householdSize: 1, incomePerHead: 0n, amount },
        ruleVersion,
      });
      const c = newCase("approval");
      await ledger.submit("caseworker", "submitCase", {
        caseId: c.caseId,
        programmeId,
        region: REGION.township,
        pseudonym: c.pseudonym,
        recordDigest: digest("r"),
      });
      await ledger.submit("caseworker", "reviewCase", { caseId: c.caseId, passed: true, reasonDigest: digest("ok") });
      await ledger.expectRefused(
        "approver",
        "approveCase",
        approval(c.caseId, CAP + 1n),
        "LedgerAboveApprovalCeiling",
        {
          caseId: c.caseId,
          amount: CAP + 1n,
          ceiling: CAP,
        },
      );
      await ledger.expectRefused("approver", "approveCase", approval(c.caseId, 0n), "LedgerZeroEntitlement", {
        caseId: c.caseId,
      });
      await ledger.expectRefused(
        "townshipApprover",
        "approveCase",
        approval(c.caseId, 1n),
        "LedgerApproverLevelTooLow",
      );
      const r = await ledger.submit<{ amount: string; firstPeriod: number; lastPeriod: number }>(
        "approver",
        "approveCase",
        approval(c.caseId, CAP),
      );
      expect(r.amount).to.equal(CAP.toString());
      expect(r.firstPeriod).to.equal(ledger.period());
      expect(r.lastPeriod).to.equal(r.firstPeriod + validityMonths - 1);
    });

    it("sets terms by an approver of the programme's region, refusing other kinds and invalid terms", async function () {
      const { ledger } = w;
      const programmeId = w.vouchers.education;
      const set = (terms: object, id = programmeId) => ({ programmeId: id, terms });
      await ledger.expectRefused(
        "approver",
        "setVoucherTerms",
        set(TERMS.education, w.programmes.dibao),
        "VoucherNotVoucherProgramme",
        {
          programmeId: w.programmes.dibao,
        },
      );
      await ledger.expectRefused("otherApprover", "setVoucherTerms", set(TERMS.education), "LedgerUnauthorizedRegion");
      await ledger.expectRefused("caseworker", "setVoucherTerms", set(TERMS.education), "LedgerUnauthorizedRole");
      await ledger.expectRefused("approver", "setVoucherTerms", set(TERMS.education, 99), "LedgerUnknownProgramme");
      const invalid: [object, string][] = [
        [{ ...TERMS.education, kind: VoucherKind.None }, "kind"],
        [{ ...TERMS.education, categories: 0 }, "categories"],
        [{ ...TERMS.education, categories: ALL_CATEGORIES | 1 }, "categories"],
        [{ ...TERMS.education, categories: 1 << 5 }, "categories"],
        [{ ...TERMS.education, validity: MIN_VOUCHER_VALIDITY - 1 }, "validity"],
        [{ ...TERMS.education, validity: MAX_VOUCHER_VALIDITY + 1 }, "validity"],
      ];
      for (const [terms, field] of invalid) {
        await ledger.expectRefused("approver", "setVoucherTerms", set(terms), "VoucherInvalidTerms", { field });
      }
      expect((await refused("approver", "setVoucherTerms", set({ ...TERMS.education, kind: 4 }))).name).to.equal(
        "InvalidArgument",
      );
      // Updatable: the same terms again, with their event.
      const r = await ledger.submit("approver2", "setVoucherTerms", set(TERMS.education));
      expect(r.events).to.deep.equal([{ name: "VoucherTermsSet", args: { programmeId, ...TERMS.education } }]);
      expect(await ledger.query("voucherTerms", { programmeId })).to.deep.equal(TERMS.education);
      expect(await ledger.query("voucherTerms", { programmeId: w.vouchers.unset })).to.deep.equal({
        kind: VoucherKind.None,
        categories: 0,
        validity: 0,
      });
    });

    it("registers providers (Role.Provider) whose category only the administrator sets", async function () {
      const { ledger } = w;
      const school = w.providers.school.account;
      expect(await ledger.query("institution", { account: school })).to.include({ role: Role.Provider, active: true });
      expect(await ledger.query("providerCategory", { account: school })).to.equal(ProviderCategory.School);
      expect(await ledger.query("roleMembers", { role: Role.Provider })).to.have.length(4);
      const bad = await ledger.peer.identity("bad", { role: roleAttribute(Role.Provider), region: "110105" });
      expect(
        (
          await refused("admin", "registerInstitution", {
            account: bad.account,
            role: Role.Provider + 1,
            region: REGION.county,
            keyDigest: digest("k"),
          })
        ).name,
      ).to.equal("InvalidArgument");
      await ledger.expectRefused(
        "approver",
        "setProviderCategory",
        { account: school, category: ProviderCategory.Hospital },
        "OwnableUnauthorizedAccount",
      );
      const caseworker = ledger.ids.caseworker.account;
      await ledger.expectRefused(
        "admin",
        "setProviderCategory",
        { account: caseworker, category: ProviderCategory.School },
        "VoucherNotProvider",
        { account: caseworker },
      );
      await ledger.expectRefused(
        "admin",
        "setProviderCategory",
        { account: bad.account, category: ProviderCategory.School },
        "VoucherNotProvider",
      );
      await ledger.expectRefused(
        "admin",
        "setProviderCategory",
        { account: school, category: ProviderCategory.None },
        "LedgerInvalidInput",
        { field: "category" },
      );
      const pharmacy = await registerProvider(ledger, "pharmacy", REGION.county);
      expect(await ledger.query("providerCategory", { account: pharmacy.account })).to.equal(ProviderCategory.None);
      const r = await ledger.submit("admin", "setProviderCategory", {
        account: pharmacy.account,
        category: ProviderCategory.Pharmacy,
      });
      expect(r.events).to.deep.equal([
        { name: "ProviderCategorySet", args: { provider: pharmacy.account, category: ProviderCategory.Pharmacy } },
      ]);
    });
  });

  describe("issue", function () {
    it("issues an approved case its voucher, moving the face value from the pool into escrow", async function () {
      const programmeId = w.vouchers.education;
      const caseId = await approvedVoucherCase(w, programmeId, 120_000n);
      const [poolBefore, escrowBefore] = [await pool(programmeId), await escrow()];
      const now = w.ledger.peer.now();
      const r = await issue(w, [caseId]);
      expect(r).to.deep.include({
        outcomes: [{ caseId, status: "issued", faceValue: "120000", expiresAt: now + TERMS.education.validity }],
        issued: 1,
        total: "120000",
      });
      expect(r.events).to.deep.equal([
        {
          name: "VoucherIssued",
          args: {
            voucherId: caseId,
            programmeId,
            kind: VoucherKind.Education,
            faceValue: "120000",
            expiresAt: now + TERMS.education.validity,
          },
        },
        { name: "VoucherFundsMoved", args: { programmeId, move: VoucherFundsMove.Issue, amount: "120000" } },
      ]);
      expect(await pool(programmeId)).to.equal(poolBefore - 120_000n);
      expect(await escrow()).to.equal(escrowBefore + 120_000n);
      expect(await voucherOf(w, caseId)).to.deep.equal({
        status: VoucherStatus.Active,
        kind: VoucherKind.Education,
        categories: TERMS.education.categories,
        programmeId,
        region: REGION.county.toString(),
        faceValue: "120000",
        remaining: "120000",
        issuedAt: now,
        expiresAt: now + TERMS.education.validity,
        redemptionCount: 0,
      });
      expect(await voucherOf(w, digest("no voucher"))).to.equal(null);
    });

    it("skips with the reason: unknown, wrong programme, not approved, suspended, already issued", async function () {
      const { ledger } = w;
      const unknown = digest("unknown case");
      const unset = await approvedVoucherCase(w, w.vouchers.unset, 1_000n);
      const cash = newCase("cash");
      await ledger.submit("caseworker", "submitCase", {
        caseId: cash.caseId,
        programmeId: w.programmes.dibao,
        region: REGION.township,
        pseudonym: cash.pseudonym,
        recordDigest: digest("r"),
      });
      const pending = newCase("pending");
      await ledger.submit("caseworker", "submitCase", {
        caseId: pending.caseId,
        programmeId: w.vouchers.education,
        region: REGION.township,
        pseudonym: pending.pseudonym,
        recordDigest: digest("r"),
      });
      const suspended = await approvedVoucherCase(w, w.vouchers.education, 1_000n);
      await ledger.submit("approver", "suspendCase", { caseId: suspended, reasonDigest: digest("s") });
      const ok = await approvedVoucherCase(w, w.vouchers.education, 2_000n);
      const r = await issue(w, [unknown, unset, cash.caseId, pending.caseId, suspended, ok, ok]);
      expect(r.outcomes.map((o) => o.reason ?? o.status)).to.deep.equal([
        SkipReason.UnknownCase,
        SkipReason.WrongProgramme,
        SkipReason.WrongProgramme,
        SkipReason.NotApproved,
        SkipReason.Suspended,
        "issued",
        SkipReason.AlreadyPaid,
      ]);
      expect(r.events.filter((e) => e.name === "VoucherSkipped")[0]).to.deep.equal({
        name: "VoucherSkipped",
        args: { caseId: unknown, reason: SkipReason.UnknownCase },
      });
      expect(r).to.include({ issued: 1, total: "2000" });
      expect((await issue(w, [ok])).outcomes[0].reason).to.equal(SkipReason.AlreadyPaid);
      expect((await ledger.query<{ status: number }>("caseRecord", { caseId: suspended })).status).to.equal(
        CaseStatus.Suspended,
      );
    });

    it("skips a case outside its eligibility (not started, expired) and one the pool no longer covers", async function () {
      const { ledger } = w;
      const short = await approvedVoucherCase(w, w.vouchers.short, 1_000n);
      // Before the approval's period: the clock set back a month for one run.
      const now = ledger.peer.now();
      ledger.peer.setTime(periodStart(ledger.period() - 1) + DAY);
      expect((await issue(w, [short])).outcomes[0].reason).to.equal(SkipReason.NotStarted);
      ledger.peer.setTime(now);
      // A programme whose pool covers one of two cases: the second is skipped within the same run.
      const id = (
        await ledger.submit<{ programmeId: number }>(
          "approver",
          "createProgramme",
          programmeRule(ProgrammeKind.Voucher, REGION.county, digest("small-voucher"), {
            amount: CAP,
            noticePeriod: 0,
          }),
        )
      ).programmeId;
      await ledger.submit("approver", "setVoucherTerms", { programmeId: id, terms: TERMS.education });
      await ledger.submit("countyFinance", "fundProgramme", {
        programmeId: id,
        amount: 150_000n,
        referenceDigest: digest("small"),
      });
      const a = await approvedVoucherCase(w, id, 100_000n);
      const b = await approvedVoucherCase(w, id, 100_000n);
      const r = await issue(w, [a, b]);
      expect(r.outcomes.map((o) => o.reason ?? o.status)).to.deep.equal(["issued", SkipReason.InsufficientBudget]);
      expect(await pool(id)).to.equal(50_000n);
      await ledger.submit("countyFinance", "defundProgramme", {
        programmeId: id,
        amount: 50_000n,
        referenceDigest: ZERO32,
      });
      // The short programme's one-month eligibility is over next month.
      ledger.nextPeriod();
      expect((await issue(w, [short])).outcomes[0].reason).to.equal(SkipReason.Expired);
      // Pause applies to the permissionless run.
      await ledger.submit("admin", "pause");
      await ledger.expectRefused("keeper", "issueVouchers", { caseIds: [short] }, "LedgerPausedError");
      await ledger.submit("admin", "unpause");
    });
  });

  describe("presentation and redemption", function () {
    it("redeems in part, then in full, each redemption needing its own presentation", async function () {
      const { ledger } = w;
      const { school } = w.providers;
      const v = await issuedVoucher(w, w.vouchers.education, 100_000n);
      const expiresAt = ledger.peer.now() + 600;
      const presentation = {
        voucherId: v,
        provider: school.account,
        maxAmount: 60_000n,
        expiresAt,
        presentationDigest: digest("p1"),
      };
      const p = await ledger.submit("anchorer", "presentVoucher", presentation);
      expect(p.events).to.deep.equal([{ name: "VoucherPresented", args: { ...presentation, maxAmount: "60000" } }]);
      expect(await ledger.query("presentation", { voucherId: v })).to.deep.equal({
        provider: school.account,
        maxAmount: "60000",
        expiresAt,
        presentationDigest: digest("p1"),
      });
      const r1 = await redeem(w, school, v, 40_000n);
      expect(r1).to.include({ index: 0, remaining: "60000" });
      expect(r1.events).to.deep.equal([
        {
          name: "VoucherRedeemed",
          args: {
            voucherId: v,
            index: 0,
            provider: school.account,
            programmeId: w.vouchers.education,
            amount: "40000",
            remaining: "60000",
            invoiceDigest: digest(`invoice:${v}:40000`),
          },
        },
      ]);
      expect(await redemptionOf(v, 0)).to.deep.equal({
        status: RedemptionStatus.Redeemed,
        provider: school.account,
        amount: "40000",
        redeemedAt: ledger.peer.now(),
        invoiceDigest: digest(`invoice:${v}:40000`),
      });
      // The presentation is spent: a second redemption on it is refused (no double redemption).
      expect(await ledger.query("presentation", { voucherId: v })).to.deep.include({ provider: ZERO_ACCOUNT });
      await ledger.expectRefused(
        school,
        "redeemVoucher",
        { voucherId: v, amount: 1n, invoiceDigest: ZERO32 },
        "VoucherNoPresentation",
        {
          voucherId: v,
          provider: school.account,
        },
      );
      await present(w, v, school, 60_000n);
      expect(await redeem(w, school, v, 60_000n)).to.include({ index: 1, remaining: "0" });
      expect(await voucherOf(w, v)).to.include({ status: VoucherStatus.Exhausted, remaining: "0", redemptionCount: 2 });
      await ledger.expectRefused(
        "anchorer",
        "presentVoucher",
        {
          ...presentation,
          maxAmount: 1n,
          expiresAt: ledger.peer.now() + 60,
        },
        "VoucherNotActive",
        { voucherId: v, status: VoucherStatus.Exhausted },
      );
      expect(await redemptionOf(v, 2)).to.equal(null);
    });

    it("refuses a provider of another category, outside the region, or not the presented one", async function () {
      const { ledger } = w;
      const { school, hospital, otherSchool, careAgency } = w.providers;
      const v = await issuedVoucher(w, w.vouchers.education, 50_000n);
      const attempt = (provider: typeof school, amount = 1_000n) =>
        refused(provider, "redeemVoucher", { voucherId: v, amount, invoiceDigest: digest("i") });
      await present(w, v, hospital, 10_000n);
      expect(await attempt(hospital)).to.deep.equal({
        name: "VoucherWrongCategory",
        args: { voucherId: v, provider: hospital.account, category: ProviderCategory.Hospital },
      });
      await present(w, v, otherSchool, 10_000n);
      expect(await attempt(otherSchool)).to.deep.equal({
        name: "VoucherOutsideRegion",
        args: { voucherId: v, provider: otherSchool.account, providerRegion: REGION.otherTownship.toString() },
      });
      // Presented to the care agency (a newer presentation replaces the open one): the school may not redeem it.
      const care = await issuedVoucher(w, w.vouchers.care, 50_000n);
      await present(w, care, careAgency, 10_000n);
      await present(w, v, hospital, 10_000n);
      expect((await attempt(school)).name).to.equal("VoucherNoPresentation");
      // A presentation past its deadline redeems nothing.
      await present(w, v, school, 10_000n, 60);
      ledger.advance(60);
      expect((await attempt(school)).name).to.equal("VoucherNoPresentation");
      await present(w, v, school, 10_000n);
      expect(await attempt(school, 10_001n)).to.deep.equal({
        name: "VoucherAbovePresented",
        args: { voucherId: v, amount: "10001", maxAmount: "10000" },
      });
      expect(await attempt(school, 0n)).to.deep.equal({
        name: "VoucherAbovePresented",
        args: { voucherId: v, amount: "0", maxAmount: "10000" },
      });
      // The care voucher's categories allow a hospital too.
      await present(w, care, hospital, 10_000n);
      expect(await redeem(w, hospital, care, 10_000n)).to.include({ remaining: "40000" });
    });

    it("refuses presentations above the remaining value, to non-providers, and out of time bounds", async function () {
      const { ledger } = w;
      const { school } = w.providers;
      const v = await issuedVoucher(w, w.vouchers.education, 50_000n);
      const base = {
        voucherId: v,
        provider: school.account,
        maxAmount: 10_000n,
        expiresAt: ledger.peer.now() + 600,
        presentationDigest: digest("p"),
      };
      await ledger.expectRefused(
        "anchorer",
        "presentVoucher",
        { ...base, maxAmount: 50_001n },
        "VoucherAboveRemaining",
        {
          voucherId: v,
          amount: 50_001n,
          remaining: 50_000n,
        },
      );
      await ledger.expectRefused("anchorer", "presentVoucher", { ...base, maxAmount: 0n }, "LedgerInvalidInput", {
        field: "maxAmount",
      });
      for (const expiresAt of [ledger.peer.now(), ledger.peer.now() + MAX_PRESENTATION_SECONDS + 1]) {
        await ledger.expectRefused("anchorer", "presentVoucher", { ...base, expiresAt }, "LedgerInvalidInput", {
          field: "expiresAt",
        });
      }
      const caseworker = ledger.ids.caseworker.account;
      await ledger.expectRefused(
        "anchorer",
        "presentVoucher",
        { ...base, provider: caseworker },
        "VoucherNotProvider",
        {
          account: caseworker,
        },
      );
      await ledger.expectRefused(
        "anchorer",
        "presentVoucher",
        { ...base, voucherId: digest("none") },
        "VoucherUnknown",
        {
          voucherId: digest("none"),
        },
      );
      await ledger.submit("anchorer", "presentVoucher", {
        ...base,
        expiresAt: ledger.peer.now() + MAX_PRESENTATION_SECONDS,
      });
    });

    it("lets only the anchorer in scope present and only an active provider redeem", async function () {
      const { ledger } = w;
      const { school } = w.providers;
      const v = await issuedVoucher(w, w.vouchers.education, 50_000n);
      const presentation = {
        voucherId: v,
        provider: school.account,
        maxAmount: 1_000n,
        expiresAt: ledger.peer.now() + 600,
        presentationDigest: digest("p"),
      };
      await ledger.expectRefused("caseworker", "presentVoucher", presentation, "LedgerUnauthorizedRole");
      const farAnchorer = await ledger.peer.identity("farAnchorer", {
        role: roleAttribute(Role.Anchorer),
        region: REGION.otherCounty.toString(),
      });
      await ledger.submit("admin", "registerInstitution", {
        account: farAnchorer.account,
        role: Role.Anchorer,
        region: REGION.otherCounty,
        keyDigest: digest("far"),
      });
      await ledger.expectRefused(farAnchorer, "presentVoucher", presentation, "LedgerUnauthorizedRegion", {
        account: farAnchorer.account,
        region: REGION.county,
      });
      await ledger.submit("anchorer", "presentVoucher", presentation);
      await ledger.expectRefused(
        "caseworker",
        "redeemVoucher",
        { voucherId: v, amount: 1n, invoiceDigest: ZERO32 },
        "LedgerUnauthorizedRole",
        {
          account: ledger.ids.caseworker.account,
          roles: 1 << Role.Provider,
        },
      );
      await ledger.submit("admin", "setInstitutionActive", { account: school.account, active: false });
      await ledger.expectRefused(
        school,
        "redeemVoucher",
        { voucherId: v, amount: 1n, invoiceDigest: ZERO32 },
        "LedgerUnauthorizedRole",
      );
      await ledger.expectRefused("anchorer", "presentVoucher", presentation, "VoucherNotProvider");
      await ledger.submit("admin", "setInstitutionActive", { account: school.account, active: true });
      await ledger.expectRefused(
        school,
        "redeemVoucher",
        { voucherId: digest("none"), amount: 1n, invoiceDigest: ZERO32 },
        "VoucherUnknown",
      );
      expect(await redeem(w, school, v, 1_000n)).to.include({ index: 0 });
    });
  });

  describe("paying providers", function () {
    it("pays redemptions (escrow → paid out), settles them, and makes a failed one payable again", async function () {
      const { ledger } = w;
      const { school } = w.providers;
      const programmeId = w.vouchers.education;
      const v = await issuedVoucher(w, programmeId, 80_000n);
      await present(w, v, school, 30_000n);
      await redeem(w, school, v, 30_000n);
      await present(w, v, school, 20_000n);
      await redeem(w, school, v, 20_000n);
      const keys = [
        { voucherId: v, index: 0 },
        { voucherId: v, index: 1 },
      ];
      await ledger.expectRefused("paymentAgent", "payRedemptions", { keys }, "LedgerUnauthorizedRole");
      await ledger.expectRefused("countyFinance", "payRedemptions", { keys: [] }, "LedgerInvalidInput", {
        field: "keys",
      });
      await ledger.expectRefused(
        "countyFinance",
        "payRedemptions",
        { keys: [...keys, { voucherId: v, index: 2 }] },
        "VoucherUnknownRedemption",
        {
          voucherId: v,
          index: 2,
        },
      );
      // All or nothing: a key listed twice refuses the whole batch.
      await ledger.expectRefused(
        "countyFinance",
        "payRedemptions",
        { keys: [keys[0], keys[0]] },
        "VoucherRedemptionNotInStatus",
        {
          ...keys[0],
          status: RedemptionStatus.Paid,
        },
      );
      expect((await redemptionOf(v, 0))?.status).to.equal(RedemptionStatus.Redeemed);
      await ledger.expectRefused(
        "paymentAgent",
        "confirmRedemptionSettlements",
        { bankRefDigest: digest("b"), keys },
        "VoucherRedemptionNotInStatus",
      );

      const [paidBefore, escrowBefore] = [
        BigInt(await ledger.query<string>("programmePaidOut", { programmeId })),
        await escrow(),
      ];
      const paid = await ledger.submit<{ total: string }>("countyFinance", "payRedemptions", { keys });
      expect(paid.total).to.equal("50000");
      expect(paid.events).to.deep.equal([
        { name: "RedemptionPaid", args: { ...keys[0], provider: school.account, amount: "30000" } },
        { name: "RedemptionPaid", args: { ...keys[1], provider: school.account, amount: "20000" } },
        { name: "VoucherFundsMoved", args: { programmeId, move: VoucherFundsMove.Pay, amount: "50000" } },
      ]);
      expect(BigInt(await ledger.query<string>("programmePaidOut", { programmeId }))).to.equal(paidBefore + 50_000n);
      expect(await escrow()).to.equal(escrowBefore - 50_000n);

      await ledger.expectRefused(
        "otherPaymentAgent",
        "reportRedemptionFailure",
        { key: keys[1], reasonDigest: digest("f") },
        "LedgerUnauthorizedRegion",
      );
      await ledger.expectRefused(
        "paymentAgent",
        "confirmRedemptionSettlements",
        { bankRefDigest: ZERO32, keys },
        "LedgerInvalidInput",
        {
          field: "bankRefDigest",
        },
      );
      const settled = await ledger.submit("paymentAgent", "confirmRedemptionSettlements", {
        bankRefDigest: digest("bank-1"),
        keys: [keys[0]],
      });
      expect(settled.events).to.deep.equal([
        { name: "RedemptionSettled", args: { ...keys[0], bankRefDigest: digest("bank-1") } },
      ]);
      expect((await redemptionOf(v, 0))?.status).to.equal(RedemptionStatus.Settled);
      await ledger.expectRefused(
        "paymentAgent",
        "reportRedemptionFailure",
        { key: keys[0], reasonDigest: digest("f") },
        "VoucherRedemptionNotInStatus",
        {
          ...keys[0],
          status: RedemptionStatus.Settled,
        },
      );

      const failed = await ledger.submit<{ amount: string }>("paymentAgent", "reportRedemptionFailure", {
        key: keys[1],
        reasonDigest: digest("account closed"),
      });
      expect(failed.events).to.deep.equal([
        { name: "RedemptionFailed", args: { ...keys[1], amount: "20000", reasonDigest: digest("account closed") } },
        { name: "VoucherFundsMoved", args: { programmeId, move: VoucherFundsMove.Fail, amount: "20000" } },
      ]);
      expect((await redemptionOf(v, 1))?.status).to.equal(RedemptionStatus.Redeemed);
      expect(await ledger.query("voucherTotals", { programmeId })).to.include({
        paid: (paidBefore + 30_000n).toString(),
      });
      // Owed again: the next payment pays it.
      expect(
        (await ledger.submit<{ total: string }>("countyFinance", "payRedemptions", { keys: [keys[1]] })).total,
      ).to.equal("20000");
    });
  });

  describe("expiry", function () {
    it("refuses an expired voucher and returns its unused value to the pool", async function () {
      const { ledger } = w;
      const { careAgency } = w.providers;
      const programmeId = w.vouchers.care;
      const v = await issuedVoucher(w, programmeId, 40_000n);
      const fresh = await issuedVoucher(w, programmeId, 1_000n);
      await present(w, v, careAgency, 15_000n);
      await redeem(w, careAgency, v, 15_000n);
      await present(w, v, careAgency, 5_000n);
      const { expiresAt } = (await voucherOf(w, v))!;
      ledger.peer.setTime(expiresAt);
      await ledger.expectRefused(
        careAgency,
        "redeemVoucher",
        { voucherId: v, amount: 1n, invoiceDigest: ZERO32 },
        "VoucherIsExpired",
        {
          voucherId: v,
          expiresAt,
        },
      );
      await ledger.expectRefused(
        "anchorer",
        "presentVoucher",
        {
          voucherId: v,
          provider: careAgency.account,
          maxAmount: 1n,
          expiresAt: expiresAt + 60,
          presentationDigest: ZERO32,
        },
        "VoucherIsExpired",
      );
      const later = await issuedVoucher(w, programmeId, 2_000n);
      const before = await pool(programmeId);
      const r = await ledger.submit<{ expired: number; returned: string }>("stranger", "expireVouchers", {
        voucherIds: [v, fresh, later, v, digest("none")],
      });
      expect(r).to.include({ expired: 2, returned: "26000" });
      expect(r.events).to.deep.equal([
        { name: "VoucherExpired", args: { voucherId: v, programmeId, amount: "25000" } },
        { name: "VoucherExpired", args: { voucherId: fresh, programmeId, amount: "1000" } },
        { name: "VoucherFundsMoved", args: { programmeId, move: VoucherFundsMove.Expire, amount: "26000" } },
      ]);
      expect(await pool(programmeId)).to.equal(before + 26_000n);
      expect(await voucherOf(w, v)).to.include({ status: VoucherStatus.Expired, remaining: "0", faceValue: "40000" });
      expect(await voucherOf(w, later)).to.include({ status: VoucherStatus.Active });
      const again = await ledger.submit<{ expired: number; returned: string }>("keeper", "expireVouchers", {
        voucherIds: [v],
      });
      expect(again).to.include({ expired: 0, returned: "0" });
      expect(again.events).to.deep.equal([]);
      // What was redeemed before expiry is still owed to the provider.
      expect((await redemptionOf(v, 0))?.status).to.equal(RedemptionStatus.Redeemed);
      expect(await ledger.query("voucherTotals", { programmeId })).to.deep.include({ expired: "26000" });
    });
  });

  describe("no cash, no transfer", function () {
    it("never pays a voucher programme in cash", async function () {
      const { ledger } = w;
      const programmeId = w.vouchers.education;
      const caseId = await approvedVoucherCase(w, programmeId, 1_000n);
      await ledger.expectRefused(
        "keeper",
        "executePayouts",
        { programmeId, period: ledger.period(), caseIds: [caseId] },
        "LedgerWrongProgrammeKind",
        {
          programmeId,
          kind: ProgrammeKind.Voucher,
        },
      );
      const upkeep = await ledger.query<{ upkeepNeeded: boolean }>("checkUpkeep", {
        programmeId,
        offset: 0,
        limit: 10,
      });
      expect(upkeep.upkeepNeeded).to.equal(false);
    });

    it("has no transaction that moves a voucher to anyone", async function () {
      const names = Object.keys(TRANSACTIONS);
      expect(names.filter((n) => /transfer|send|assign|give/i.test(n))).to.deep.equal(["transferOwnership"]);
      const v = await issuedVoucher(w, w.vouchers.education, 1_000n);
      for (const fn of ["transferVoucher", "safeTransferFrom", "transferFrom"]) {
        let error: unknown;
        await w.ledger.peer
          .submit(w.ledger.ids.anchorer, fn, [JSON.stringify({ voucherId: v, to: w.providers.school.account })])
          .catch((err: unknown) => (error = err));
        expect(error, fn).to.be.instanceOf(PeerTransactionError);
        expect((error as Error).message, fn).to.match(/does not exist/);
      }
      expect(await voucherOf(w, v)).to.include({ status: VoucherStatus.Active, remaining: "1000" });
      expect(await w.ledger.query("voucherBook")).to.equal("relief");
    });
  });
});
