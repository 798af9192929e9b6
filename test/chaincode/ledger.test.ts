import { expect } from "chai";
import canonicalize from "canonicalize";
import {
  MONTHLY,
  type CaseRecord as CaseRecordModel,
  type PayoutOutcome,
  type PayoutRunSummary,
  type Wire,
} from "../../lib/ledger-model";
import { ruleFields } from "../../lib/programmes";
import { CaseStatus, PayoutStatus, SkipReason } from "../../lib/roles";
import {
  approvedCase,
  assessment,
  DAY,
  digest,
  funded,
  newCase,
  POOL_FUNDING,
  PROGRAMMES,
  REGION,
  type Ledger,
  type Programmes,
} from "./fixture";

const ZERO32 = `0x${"0".repeat(64)}`;

type CaseRecord = Wire<CaseRecordModel>;
/** A run's reply, each outcome's `amount` and `reason` readable whatever its status. */
type Run = Omit<Wire<PayoutRunSummary>, "outcomes"> & {
  outcomes: (Wire<PayoutOutcome> & { amount?: string; reason?: SkipReason })[];
};

describe("chaincode: the ledger's rules and refusals", function () {
  let ledger: Ledger;
  let programmes: Programmes;

  const record = (caseId: string) => ledger.query<CaseRecord>("caseRecord", { caseId });
  const pool = async (programmeId: number) => BigInt(await ledger.query<string>("poolBalance", { programmeId }));
  const run = (programmeId: number, caseIds: string[], period = ledger.period()) =>
    ledger.submit<Run>("keeper", "executePayouts", { programmeId, period, caseIds });
  const submitCase = (
    c: { caseId: string; pseudonym: string },
    programmeId: number,
    who: "caseworker" | "approver" = "caseworker",
    region = REGION.township,
  ) =>
    ledger.submit(who, "submitCase", {
      caseId: c.caseId,
      programmeId,
      region,
      pseudonym: c.pseudonym,
      recordDigest: digest(`r:${c.caseId}`),
    });
  const review = (caseId: string) =>
    ledger.submit<{ noticeEnds: number }>("caseworker", "reviewCase", {
      caseId,
      passed: true,
      reasonDigest: digest("ok"),
    });
  const decide = (who: "approver" | "approver2", fn: string, caseId: string) =>
    ledger.submit(who, fn, { caseId, reasonDigest: digest(fn) });

  /** appropriated == Σ region balances + Σ pools + paid out. */
  async function conserved() {
    const t = await ledger.query<{ appropriated: string; held: string; paidOut: string }>("fundTotals");
    let held = 0n;
    for (const r of Object.values(REGION)) held += BigInt(await ledger.query<string>("regionBalance", { region: r }));
    for (const id of Object.values(programmes)) held += await pool(id);
    expect(BigInt(t.held)).to.equal(held);
    expect(BigInt(t.appropriated)).to.equal(held + BigInt(t.paidOut));
  }

  before(async function () {
    ({ ledger, programmes } = await funded());
  });

  afterEach(async function () {
    await conserved();
  });

  describe("programmes", function () {
    it("stores the rule as given and counts programmes", async function () {
      expect(await ledger.query("programmeCount")).to.equal(5);
      const p = await ledger.query("programme", { programmeId: programmes.medical });
      expect(p).to.deep.equal(
        JSON.parse(
          JSON.stringify(ruleFields(PROGRAMMES.medical), (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
        ),
      );
      await ledger.expectRefused("auditor", "programme", { programmeId: 99 }, "LedgerUnknownProgramme", {
        programmeId: 99,
      });
    });

    it("refuses invalid rules naming the field", async function () {
      const cases: [Partial<typeof PROGRAMMES.dibao>, string][] = [
        [{ region: REGION.township }, "region"],
        [{ ruleVersion: ZERO32 }, "ruleVersion"],
        [{ amount: 0n }, "amount"],
        [{ validityMonths: 0 }, "validityMonths"],
        [{ exitPeriods: 25 }, "exitPeriods"],
        [{ noticePeriod: 91 * DAY }, "noticePeriod"],
        [{ ratioBps: 100 }, "ratioBps"],
        [{ deductible: 1n }, "deductible"],
      ];
      for (const [over, field] of cases) {
        await ledger.expectRefused(
          "approver",
          "createProgramme",
          { ...PROGRAMMES.dibao, ...over },
          "LedgerInvalidProgramme",
          { field },
        );
      }
      await ledger.expectRefused(
        "approver",
        "createProgramme",
        { ...PROGRAMMES.medical, ratioBps: 0 },
        "LedgerInvalidProgramme",
        { field: "ratioBps" },
      );
    });

    it("updates a rule to a new version only, keeping its identity", async function () {
      const id = programmes.tekun;
      const rule = PROGRAMMES.tekun;
      await ledger.expectRefused(
        "approver",
        "updateProgrammeRule",
        { programmeId: id, rule: { ...rule, exclusionGroup: 2 } },
        "LedgerProgrammeIdentityChanged",
        { programmeId: id },
      );
      await ledger.expectRefused(
        "approver",
        "updateProgrammeRule",
        { programmeId: id, rule },
        "LedgerInvalidProgramme",
        { field: "ruleVersion" },
      );
      const next = { ...rule, amount: 85_000n, ruleVersion: digest("tekun-2027") };
      const r = await ledger.submit("approver", "updateProgrammeRule", { programmeId: id, rule: next });
      expect(r.events).to.deep.equal([
        {
          name: "ProgrammeRuleUpdated",
          args: { programmeId: id, oldRuleVersion: rule.ruleVersion, newRuleVersion: next.ruleVersion },
        },
      ]);
      await ledger.submit("approver", "updateProgrammeRule", { programmeId: id, rule });
    });
  });

  describe("budget", function () {
    const ref = digest("ref");

    it("moves funds only between adjacent regions, by the bureau of the source region", async function () {
      await ledger.expectRefused(
        "centralFinance",
        "allocate",
        { fromRegion: 0n, toRegion: REGION.city, amount: 1n, referenceDigest: ref },
        "LedgerNotAdjacentRegion",
        {
          fromRegion: 0n,
          toRegion: REGION.city,
        },
      );
      await ledger.expectRefused(
        "cityFinance",
        "allocate",
        { fromRegion: REGION.county, toRegion: REGION.township, amount: 1n, referenceDigest: ref },
        "LedgerUnauthorizedRegion",
      );
      // Allocations stop at county level: townships hold no funds.
      await ledger.expectRefused(
        "countyFinance",
        "allocate",
        { fromRegion: REGION.county, toRegion: REGION.township, amount: 1n, referenceDigest: ref },
        "LedgerNotAdjacentRegion",
      );
      await ledger.expectRefused(
        "centralFinance",
        "allocate",
        { fromRegion: 0n, toRegion: REGION.province, amount: 0n, referenceDigest: ref },
        "LedgerZeroAmount",
      );
      await ledger.submit("centralFinance", "allocate", {
        fromRegion: 0n,
        toRegion: REGION.province,
        amount: 5n,
        referenceDigest: ref,
      });
      await ledger.expectRefused(
        "provinceFinance",
        "returnFunds",
        { fromRegion: REGION.province, toRegion: REGION.city, amount: 5n, referenceDigest: ref },
        "LedgerNotAdjacentRegion",
      );
      const r = await ledger.submit("provinceFinance", "returnFunds", {
        fromRegion: REGION.province,
        toRegion: 0n,
        amount: 5n,
        referenceDigest: ref,
      });
      expect(r.events).to.deep.equal([
        {
          name: "FundsReturned",
          args: { fromRegion: REGION.province.toString(), toRegion: "0", amount: "5", referenceDigest: ref },
        },
      ]);
    });

    it("refuses to overdraw a region or a pool", async function () {
      const held = BigInt(await ledger.query<string>("regionBalance", { region: REGION.county }));
      expect(held).to.equal(0n);
      await ledger.expectRefused(
        "countyFinance",
        "fundProgramme",
        { programmeId: programmes.dibao, amount: 1n, referenceDigest: ref },
        "LedgerInsufficientFunds",
        {
          available: 0n,
          requested: 1n,
        },
      );
      await ledger.expectRefused(
        "countyFinance",
        "defundProgramme",
        { programmeId: programmes.dibao, amount: POOL_FUNDING + 1n, referenceDigest: ref },
        "LedgerInsufficientFunds",
        {
          available: POOL_FUNDING,
          requested: POOL_FUNDING + 1n,
        },
      );
      await ledger.expectRefused(
        "provinceFinance",
        "appropriate",
        { amount: 1n, referenceDigest: ref },
        "LedgerUnauthorizedRegion",
      );
    });
  });

  describe("cases: review, notice, objections, approval", function () {
    it("submits a case with its indexes and refuses a second with the same id", async function () {
      const c = newCase();
      const r = await submitCase(c, programmes.dibao);
      expect(r.events).to.deep.equal([
        {
          name: "CaseSubmitted",
          args: {
            caseId: c.caseId,
            programmeId: programmes.dibao,
            region: REGION.township.toString(),
            pseudonym: c.pseudonym,
            recordDigest: digest(`r:${c.caseId}`),
            submitter: ledger.ids.caseworker.account,
          },
        },
      ]);
      expect((await record(c.caseId)).status).to.equal(CaseStatus.Submitted);
      expect(
        await ledger.query("casesByRegion", { region: REGION.township, programmeId: programmes.dibao }),
      ).to.include(c.caseId);
      expect(await ledger.query("caseRecord", { caseId: digest("nothing") })).to.equal(null);
      const count = await ledger.query<number>("caseCount");
      expect(await ledger.query("caseIdAt", { index: count - 1 })).to.equal(c.caseId);
      expect(await ledger.query("caseIdAt", { index: count })).to.equal(null);
      expect(await ledger.query("programmeCases", { programmeId: programmes.dibao })).to.not.include(c.caseId);
      await ledger.expectRefused(
        "caseworker",
        "submitCase",
        {
          caseId: c.caseId,
          programmeId: programmes.dibao,
          region: REGION.township,
          pseudonym: c.pseudonym,
          recordDigest: digest("x"),
        },
        "LedgerCaseExists",
        {
          caseId: c.caseId,
        },
      );
    });

    it("refuses cases outside the programme or the caseworker's region, and empty ids", async function () {
      const c = newCase();
      await ledger.expectRefused(
        "otherCaseworker",
        "submitCase",
        {
          caseId: c.caseId,
          programmeId: programmes.dibao,
          region: REGION.otherTownship,
          pseudonym: c.pseudonym,
          recordDigest: digest("x"),
        },
        "LedgerRegionOutsideProgramme",
        {
          region: REGION.otherTownship,
          programmeRegion: REGION.county,
        },
      );
      await ledger.expectRefused(
        "otherCaseworker",
        "submitCase",
        {
          caseId: c.caseId,
          programmeId: programmes.dibao,
          region: REGION.township,
          pseudonym: c.pseudonym,
          recordDigest: digest("x"),
        },
        "LedgerUnauthorizedRegion",
      );
      await ledger.expectRefused(
        "caseworker",
        "submitCase",
        {
          caseId: ZERO32,
          programmeId: programmes.dibao,
          region: REGION.township,
          pseudonym: c.pseudonym,
          recordDigest: digest("x"),
        },
        "LedgerInvalidInput",
        { field: "caseId" },
      );
      await ledger.expectRefused(
        "caseworker",
        "submitCase",
        {
          caseId: c.caseId,
          programmeId: 42,
          region: REGION.township,
          pseudonym: c.pseudonym,
          recordDigest: digest("x"),
        },
        "LedgerUnknownProgramme",
      );
    });

    it("approves only after the notice, with no open objection, under the current rule", async function () {
      const c = newCase();
      await submitCase(c, programmes.dibao);
      const approval = { caseId: c.caseId, assessment: assessment(), ruleVersion: PROGRAMMES.dibao.ruleVersion };
      await ledger.expectRefused("approver", "approveCase", approval, "LedgerInvalidCaseStatus", {
        caseId: c.caseId,
        status: CaseStatus.Submitted,
      });
      const { noticeEnds } = await review(c.caseId);
      expect(noticeEnds).to.equal(ledger.peer.now() + PROGRAMMES.dibao.noticePeriod);
      await ledger.expectRefused("approver", "approveCase", approval, "LedgerNoticeNotOver", {
        caseId: c.caseId,
        noticeEnds,
      });
      const objection = digest("neighbour says");
      await ledger.submit("caseworker", "raiseObjection", { caseId: c.caseId, objectionDigest: objection });
      await ledger.expectRefused(
        "caseworker",
        "raiseObjection",
        { caseId: c.caseId, objectionDigest: objection },
        "LedgerObjectionExists",
      );
      ledger.advance(PROGRAMMES.dibao.noticePeriod);
      await ledger.expectRefused("approver", "approveCase", approval, "LedgerOpenObjections", {
        caseId: c.caseId,
        openObjections: 1,
      });
      await ledger.expectRefused(
        "approver",
        "resolveObjection",
        { caseId: c.caseId, objectionDigest: digest("other"), upheld: false, reasonDigest: digest("r") },
        "LedgerUnknownObjection",
      );
      await ledger.submit("approver", "resolveObjection", {
        caseId: c.caseId,
        objectionDigest: objection,
        upheld: false,
        reasonDigest: digest("unfounded"),
      });
      await ledger.expectRefused(
        "approver",
        "approveCase",
        { ...approval, ruleVersion: digest("old") },
        "LedgerRuleVersionMismatch",
        {
          programmeId: programmes.dibao,
          expected: digest("old"),
          current: PROGRAMMES.dibao.ruleVersion,
        },
      );
      const r = await ledger.submit<{ amount: string; firstPeriod: number; lastPeriod: number }>(
        "approver",
        "approveCase",
        approval,
      );
      const period = ledger.period();
      expect(r).to.include({ amount: "150000", firstPeriod: period, lastPeriod: period + 11 });
      expect(r.events[0]).to.deep.equal({
        name: "CaseApproved",
        args: {
          caseId: c.caseId,
          amount: "150000",
          firstPeriod: period,
          lastPeriod: period + 11,
          ruleVersion: PROGRAMMES.dibao.ruleVersion,
          standard: "73700",
          householdSize: 3,
          incomePerHead: "23700",
        },
      });
    });

    it("rejects a case whose objection is upheld", async function () {
      const c = newCase();
      await submitCase(c, programmes.dibao);
      await review(c.caseId);
      await ledger.submit("caseworker", "raiseObjection", {
        caseId: c.caseId,
        objectionDigest: digest("hidden income"),
      });
      const r = await ledger.submit("approver", "resolveObjection", {
        caseId: c.caseId,
        objectionDigest: digest("hidden income"),
        upheld: true,
        reasonDigest: digest("upheld"),
      });
      expect(r.events.map((e) => e.name)).to.deep.equal(["ObjectionResolved", "CaseRejected"]);
      expect(await record(c.caseId)).to.include({ status: CaseStatus.Rejected, openObjections: 0 });
    });

    it("never lets the submitter approve its own case, nor a township approve a monthly programme", async function () {
      const c = newCase();
      await submitCase(c, programmes.dibao, "approver");
      await review(c.caseId);
      ledger.advance(PROGRAMMES.dibao.noticePeriod);
      const approval = { caseId: c.caseId, assessment: assessment(), ruleVersion: PROGRAMMES.dibao.ruleVersion };
      await ledger.expectRefused("approver", "approveCase", approval, "LedgerSelfApproval", {
        caseId: c.caseId,
        account: ledger.ids.approver.account,
      });
      await ledger.expectRefused("townshipApprover", "approveCase", approval, "LedgerApproverLevelTooLow", {
        account: ledger.ids.townshipApprover.account,
        region: REGION.township,
      });
      await ledger.submit("approver2", "approveCase", approval);
    });

    it("lets a township approve temporary assistance up to its ceiling only", async function () {
      const c = newCase();
      await submitCase(c, programmes.temporary);
      await review(c.caseId);
      const over = {
        caseId: c.caseId,
        assessment: assessment({ amount: 600_000n }),
        ruleVersion: PROGRAMMES.temporary.ruleVersion,
      };
      await ledger.expectRefused("townshipApprover", "approveCase", over, "LedgerAboveApprovalCeiling", {
        caseId: c.caseId,
        amount: 600_000n,
        ceiling: 500_000n,
      });
      const r = await ledger.submit<{ lastPeriod: number; firstPeriod: number }>("townshipApprover", "approveCase", {
        ...over,
        assessment: assessment({ amount: 300_000n }),
      });
      expect(r.lastPeriod).to.equal(r.firstPeriod);
    });

    it("refuses a zero entitlement and a second active case in the same exclusion group", async function () {
      const c = newCase();
      await submitCase(c, programmes.dibao);
      await review(c.caseId);
      ledger.advance(PROGRAMMES.dibao.noticePeriod);
      await ledger.expectRefused(
        "approver",
        "approveCase",
        {
          caseId: c.caseId,
          assessment: assessment({ incomePerHead: 80_000n }),
          ruleVersion: PROGRAMMES.dibao.ruleVersion,
        },
        "LedgerZeroEntitlement",
      );
      await ledger.expectRefused(
        "approver",
        "approveCase",
        { caseId: c.caseId, assessment: assessment({ householdSize: 0 }), ruleVersion: PROGRAMMES.dibao.ruleVersion },
        "LedgerInvalidInput",
        { field: "householdSize" },
      );
      const active = await approvedCase(ledger, programmes, "dibao");
      const tekun = newCase();
      await ledger.expectRefused(
        "caseworker",
        "submitCase",
        {
          caseId: tekun.caseId,
          programmeId: programmes.tekun,
          region: REGION.township,
          pseudonym: active.pseudonym,
          recordDigest: digest("t"),
        },
        "LedgerExclusiveCaseActive",
        {
          pseudonym: active.pseudonym,
          exclusionGroup: 1,
          activeCaseId: active.caseId,
        },
      );
    });
  });

  describe("monthly payouts", function () {
    it("pays an entitlement once per period, however often it is listed", async function () {
      const c = await approvedCase(ledger, programmes, "dibao");
      const before = await pool(programmes.dibao);
      const first = await run(programmes.dibao, [c.caseId, c.caseId]);
      expect(first).to.include({ paid: 1, skipped: 1, total: "150000" });
      expect(first.outcomes[1]).to.deep.equal({ caseId: c.caseId, status: "skipped", reason: SkipReason.AlreadyPaid });
      const again = await run(programmes.dibao, [c.caseId]);
      expect(again.outcomes[0].reason).to.equal(SkipReason.AlreadyPaid);
      expect(await pool(programmes.dibao)).to.equal(before - 150_000n);
      expect(
        await ledger.query("payoutStatus", { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY }),
      ).to.deep.equal({ status: PayoutStatus.Paid, amount: "150000" });
      expect(await ledger.query("casePayouts", { caseId: c.caseId })).to.deep.equal([
        { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY },
      ]);
      expect(first.events.map((e) => e.name)).to.deep.equal(["PayoutExecuted", "PayoutSkipped", "PayoutRunExecuted"]);
    });

    it("skips with the reason: unknown, wrong programme, not approved, not started, not due", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      const pending = newCase();
      await submitCase(pending, programmes.tekun);
      const r = await run(programmes.tekun, [
        digest("nobody"),
        (await approvedCase(ledger, programmes, "temporary", { a: { amount: 1000n } })).caseId,
        pending.caseId,
      ]);
      expect(r.outcomes.map((o) => o.reason)).to.deep.equal([
        SkipReason.UnknownCase,
        SkipReason.WrongProgramme,
        SkipReason.NotApproved,
      ]);
      const early = await run(programmes.tekun, [c.caseId], ledger.period() - 1);
      expect(early.outcomes[0].reason).to.equal(SkipReason.NotStarted);
      await ledger.expectRefused(
        "keeper",
        "executePayouts",
        { programmeId: programmes.tekun, period: ledger.period() + 1, caseIds: [c.caseId] },
        "LedgerPeriodNotDue",
        {
          period: ledger.period() + 1,
          currentPeriod: ledger.period(),
        },
      );
      await ledger.expectRefused(
        "keeper",
        "executePayouts",
        { programmeId: programmes.medical, period: ledger.period(), caseIds: [] },
        "LedgerWrongProgrammeKind",
        {
          programmeId: programmes.medical,
          kind: 3,
        },
      );
    });

    it("never overdraws the pool: what it cannot cover is skipped", async function () {
      const a = await approvedCase(ledger, programmes, "temporary", { a: { amount: 400_000n } });
      const b = await approvedCase(ledger, programmes, "temporary", { a: { amount: 400_000n } });
      const left = await pool(programmes.temporary);
      const ref = digest("drain");
      await ledger.submit("countyFinance", "defundProgramme", {
        programmeId: programmes.temporary,
        amount: left - 500_000n,
        referenceDigest: ref,
      });
      const r = await run(programmes.temporary, [a.caseId, b.caseId]);
      expect(r.outcomes.map((o) => o.status)).to.deep.equal(["paid", "skipped"]);
      expect(r.outcomes[1].reason).to.equal(SkipReason.InsufficientBudget);
      expect(await pool(programmes.temporary)).to.equal(100_000n);
      await ledger.submit("countyFinance", "fundProgramme", {
        programmeId: programmes.temporary,
        amount: left - 500_000n,
        referenceDigest: ref,
      });
    });

    it("holds payouts while suspended, resumes, and pays a gradual exit until its end", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      await decide("approver", "suspendCase", c.caseId);
      expect((await run(programmes.tekun, [c.caseId])).outcomes[0].reason).to.equal(SkipReason.Suspended);
      await decide("approver", "resumeCase", c.caseId);
      expect((await run(programmes.tekun, [c.caseId])).paid).to.equal(1);
      const exit = await ledger.submit<{ lastPeriod: number }>("approver", "exitCase", {
        caseId: c.caseId,
        reasonDigest: digest("income rose"),
      });
      expect(exit.lastPeriod).to.equal(ledger.period() + PROGRAMMES.tekun.exitPeriods);
      expect((await record(c.caseId)).status).to.equal(CaseStatus.Exiting);
      // A suspended exit resumes as an exit and cannot be exited again.
      await decide("approver", "suspendCase", c.caseId);
      await ledger.expectRefused(
        "approver",
        "exitCase",
        { caseId: c.caseId, reasonDigest: digest("x") },
        "LedgerInvalidCaseStatus",
        { caseId: c.caseId, status: CaseStatus.Suspended },
      );
      await decide("approver", "resumeCase", c.caseId);
      expect((await record(c.caseId)).status).to.equal(CaseStatus.Exiting);
      const key = (period: number) => ({ caseId: c.caseId, period, eventId: MONTHLY });
      await ledger.submit("paymentAgent", "confirmSettlements", {
        bankRefDigest: digest("bank"),
        keys: [key(ledger.period())],
      });
      for (let i = 1; i <= PROGRAMMES.tekun.exitPeriods; i++) {
        ledger.nextPeriod();
        expect((await run(programmes.tekun, [c.caseId])).paid, `exit month ${i}`).to.equal(1);
        await ledger.submit("paymentAgent", "confirmSettlements", {
          bankRefDigest: digest("bank"),
          keys: [key(ledger.period())],
        });
      }
      ledger.nextPeriod();
      expect((await run(programmes.tekun, [c.caseId])).outcomes[0].reason).to.equal(SkipReason.Expired);
    });

    it("refuses to advance past an unsettled payout about to leave the 32-period window", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      const first = ledger.period();
      expect((await run(programmes.tekun, [c.caseId])).paid).to.equal(1);
      // Eligibility lasts 12 months: re-certify before it lapses so the window, not eligibility, is what stops it.
      const recertify = () =>
        ledger.submit("approver", "recertifyCase", {
          caseId: c.caseId,
          assessment: assessment(),
          ruleVersion: PROGRAMMES.tekun.ruleVersion,
          recordDigest: digest("recert"),
        });
      ledger.nextPeriod(11);
      await recertify();
      ledger.nextPeriod(11);
      await recertify();
      ledger.nextPeriod(10);
      expect(ledger.period()).to.equal(first + 32);
      const r = await run(programmes.tekun, [c.caseId]);
      expect(r.outcomes[0].reason).to.equal(SkipReason.SettlementBacklog);
      await ledger.submit("paymentAgent", "confirmSettlements", {
        bankRefDigest: digest("bank"),
        keys: [{ caseId: c.caseId, period: first, eventId: MONTHLY }],
      });
      expect((await run(programmes.tekun, [c.caseId])).paid).to.equal(1);
      const old = await run(programmes.tekun, [c.caseId], first);
      expect(old.outcomes[0].reason).to.equal(SkipReason.OutsideWindow);
    });
  });

  describe("keepers and unsettled payouts", function () {
    it("checkUpkeep lists the cases due that the pool covers; unsettledPayouts lists what awaits the bank", async function () {
      const a = await approvedCase(ledger, programmes, "tekun");
      const b = await approvedCase(ledger, programmes, "tekun");
      ledger.nextPeriod();
      const check = await ledger.query<{ upkeepNeeded: boolean; caseIds: string[]; period: number }>("checkUpkeep", {
        programmeId: programmes.tekun,
        offset: 0,
        limit: 1000,
      });
      expect(check.upkeepNeeded).to.equal(true);
      expect(check.period).to.equal(ledger.period());
      expect(check.caseIds).to.include.members([a.caseId, b.caseId]);
      const all = await ledger.query<string[]>("programmeCases", { programmeId: programmes.tekun });
      const page = await ledger.query<{ caseIds: string[] }>("checkUpkeep", {
        programmeId: programmes.tekun,
        offset: 1,
        limit: 1,
      });
      expect(all.slice(1, 2)).to.include.members(page.caseIds);
      expect(
        (
          await ledger.query<{ upkeepNeeded: boolean }>("checkUpkeep", {
            programmeId: programmes.medical,
            offset: 0,
            limit: 10,
          })
        ).upkeepNeeded,
      ).to.equal(false);
      await run(programmes.tekun, check.caseIds);
      const after = await ledger.query<{ caseIds: string[] }>("checkUpkeep", {
        programmeId: programmes.tekun,
        offset: 0,
        limit: 1000,
      });
      expect(after.caseIds).to.not.include.members([a.caseId]);
      const count = await ledger.query<number>("caseCount");
      const unsettled = await ledger.query<{ caseId: string }[]>("unsettledPayouts", { fromCase: 0, count });
      expect(unsettled).to.deep.include({ caseId: a.caseId, period: ledger.period(), eventId: MONTHLY });
      expect(await ledger.query("isActive", { caseId: a.caseId })).to.equal(true);
      expect(await ledger.query("isActive", { caseId: digest("none") })).to.equal(false);
    });
  });

  describe("settlement, failures and clawbacks", function () {
    const bank = digest("bank-batch");

    it("settles all or nothing, within the agent's region", async function () {
      const a = await approvedCase(ledger, programmes, "tekun");
      const b = await approvedCase(ledger, programmes, "tekun");
      await run(programmes.tekun, [a.caseId]);
      const keyA = { caseId: a.caseId, period: ledger.period(), eventId: MONTHLY };
      const keyB = { caseId: b.caseId, period: ledger.period(), eventId: MONTHLY };
      await ledger.expectRefused(
        "paymentAgent",
        "confirmSettlements",
        { bankRefDigest: bank, keys: [keyA, keyB] },
        "LedgerNotAwaitingSettlement",
        keyB,
      );
      expect((await ledger.query<{ status: number }>("payoutStatus", keyA)).status).to.equal(PayoutStatus.Paid);
      await ledger.expectRefused(
        "otherPaymentAgent",
        "confirmSettlements",
        { bankRefDigest: bank, keys: [keyA] },
        "LedgerUnauthorizedRegion",
      );
      await ledger.expectRefused(
        "paymentAgent",
        "confirmSettlements",
        { bankRefDigest: bank, keys: [] },
        "LedgerInvalidInput",
        { field: "keys" },
      );
      const r = await ledger.submit("paymentAgent", "confirmSettlements", { bankRefDigest: bank, keys: [keyA] });
      expect(r.events).to.deep.equal([{ name: "PayoutSettled", args: { ...keyA, bankRefDigest: bank } }]);
      expect((await ledger.query<{ status: number }>("payoutStatus", keyA)).status).to.equal(PayoutStatus.Settled);
      await ledger.expectRefused(
        "paymentAgent",
        "confirmSettlements",
        { bankRefDigest: bank, keys: [keyA] },
        "LedgerNotAwaitingSettlement",
      );
    });

    it("returns a failed payout to the pool, and it can be paid again", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      await run(programmes.tekun, [c.caseId]);
      const key = { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY };
      const before = await pool(programmes.tekun);
      const f = await ledger.submit<{ amount: string }>("paymentAgent", "reportFailure", {
        key,
        reasonDigest: digest("account closed"),
      });
      expect(f.amount).to.equal("80000");
      expect(await pool(programmes.tekun)).to.equal(before + 80_000n);
      expect((await ledger.query<{ status: number }>("payoutStatus", key)).status).to.equal(PayoutStatus.None);
      expect((await run(programmes.tekun, [c.caseId])).paid).to.equal(1);
    });

    it("reports many failures in one transaction, all or none", async function () {
      const a = await approvedCase(ledger, programmes, "tekun");
      const b = await approvedCase(ledger, programmes, "tekun");
      await run(programmes.tekun, [a.caseId, b.caseId]);
      const keyOf = (caseId: string) => ({ caseId, period: ledger.period(), eventId: MONTHLY });
      const failure = (caseId: string) => ({ key: keyOf(caseId), reasonDigest: digest("account closed") });
      const before = await pool(programmes.tekun);
      await ledger.expectRefused(
        "paymentAgent",
        "reportFailures",
        { failures: [failure(a.caseId), failure(a.caseId)] },
        "LedgerNotAwaitingSettlement",
      );
      expect((await ledger.query<{ status: number }>("payoutStatus", keyOf(a.caseId))).status).to.equal(
        PayoutStatus.Paid,
      );
      const r = await ledger.submit<{ amounts: string[] }>("paymentAgent", "reportFailures", {
        failures: [failure(a.caseId), failure(b.caseId)],
      });
      expect(r.amounts).to.deep.equal(["80000", "80000"]);
      expect(await pool(programmes.tekun)).to.equal(before + 160_000n);
      await ledger.expectRefused("paymentAgent", "reportFailures", { failures: [] }, "LedgerEmptyMulticall");
    });

    it("claws back only settled money, at most what was paid", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      await run(programmes.tekun, [c.caseId]);
      const key = { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY };
      const ref = digest("overpaid");
      await ledger.expectRefused(
        "countyFinance",
        "recordClawback",
        { key, amount: 1n, referenceDigest: ref },
        "LedgerPayoutNotSettled",
        key,
      );
      await ledger.submit("paymentAgent", "confirmSettlements", { bankRefDigest: bank, keys: [key] });
      await ledger.expectRefused(
        "cityFinance",
        "recordClawback",
        { key, amount: 1n, referenceDigest: ref },
        "LedgerUnauthorizedRegion",
      );
      const paidBefore = BigInt(await ledger.query<string>("programmePaidOut", { programmeId: programmes.tekun }));
      await ledger.submit("countyFinance", "recordClawback", { key, amount: 30_000n, referenceDigest: ref });
      await ledger.expectRefused(
        "countyFinance",
        "recordClawback",
        { key, amount: 50_001n, referenceDigest: ref },
        "LedgerClawbackExceedsPayout",
        { ...key, available: 50_000n },
      );
      expect(await ledger.query("clawedBack", key)).to.equal("30000");
      expect(BigInt(await ledger.query<string>("programmePaidOut", { programmeId: programmes.tekun }))).to.equal(
        paidBefore - 30_000n,
      );
    });

    it("keeps the amount a payout was made at across a re-certification, which waits for settlement", async function () {
      const c = await approvedCase(ledger, programmes, "dibao");
      await run(programmes.dibao, [c.caseId]);
      const key = { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY };
      const recert = {
        caseId: c.caseId,
        assessment: assessment({ householdSize: 2 }),
        ruleVersion: PROGRAMMES.dibao.ruleVersion,
        recordDigest: digest("recert"),
      };
      await ledger.expectRefused("approver", "recertifyCase", recert, "LedgerUnsettledPayouts", { caseId: c.caseId });
      await ledger.expectRefused("caseworker", "recertifyCase", recert, "LedgerUnauthorizedRole");
      await ledger.submit("paymentAgent", "confirmSettlements", { bankRefDigest: bank, keys: [key] });
      const r = await ledger.submit<{ amount: string }>("approver", "recertifyCase", recert);
      expect(r.amount).to.equal("100000");
      expect(await ledger.query("payoutStatus", key)).to.deep.equal({ status: PayoutStatus.Settled, amount: "150000" });
      ledger.nextPeriod();
      expect((await run(programmes.dibao, [c.caseId])).total).to.equal("100000");
    });
  });

  describe("medical bills and disasters", function () {
    it("pays 70% above the deductible within the annual cap, once per bill", async function () {
      const c = await approvedCase(ledger, programmes, "medical");
      const bill = {
        billId: digest("bill-1"),
        caseId: c.caseId,
        billAmount: 1_100_000n,
        billDigest: digest("bill-doc"),
      };
      const r = await ledger.submit<{ amount: string; period: number }>("medicalOffice", "certifyMedicalBill", bill);
      expect(r).to.include({ amount: "700000", period: ledger.period() });
      expect(r.events.map((e) => e.name)).to.deep.equal(["MedicalBillCertified", "PayoutExecuted"]);
      await ledger.expectRefused("medicalOffice", "certifyMedicalBill", bill, "LedgerBillAlreadyCertified", {
        billId: bill.billId,
      });
      const big = await ledger.submit<{ amount: string }>("medicalOffice", "certifyMedicalBill", {
        ...bill,
        billId: digest("bill-2"),
        billAmount: 10_000_000n,
      });
      expect(big.amount).to.equal("2300000");
      await ledger.expectRefused(
        "medicalOffice",
        "certifyMedicalBill",
        { ...bill, billId: digest("bill-3") },
        "LedgerNothingPayable",
        { caseId: c.caseId },
      );
      // A failed bill payout frees its share of the cap and the bill.
      const key = { caseId: c.caseId, period: ledger.period(), eventId: digest("bill-1") };
      await ledger.submit("paymentAgent", "reportFailure", { key, reasonDigest: digest("bounced") });
      expect((await ledger.submit<{ amount: string }>("medicalOffice", "certifyMedicalBill", bill)).amount).to.equal(
        "700000",
      );
      expect(await ledger.query("casePayouts", { caseId: c.caseId })).to.deep.equal([
        { caseId: c.caseId, period: ledger.period(), eventId: digest("bill-1") },
        { caseId: c.caseId, period: ledger.period(), eventId: digest("bill-2") },
      ]);
      await ledger.expectRefused(
        "medicalOffice",
        "certifyMedicalBill",
        { ...bill, caseId: (await approvedCase(ledger, programmes, "tekun")).caseId },
        "LedgerWrongProgrammeKind",
      );
    });

    it("pays each registered household in the declared region once per disaster", async function () {
      const inside = await approvedCase(ledger, programmes, "disaster");
      const outside = await approvedCase(ledger, programmes, "disaster", {
        region: 110105002000n,
        caseworker: "countyCaseworker",
      });
      const declaration = {
        disasterId: digest("flood"),
        programmeId: programmes.disaster,
        region: REGION.township,
        declarationDigest: digest("decl"),
      };
      await ledger.expectRefused("caseworker", "declareDisaster", declaration, "LedgerUnauthorizedRole");
      await ledger.submit("approver", "declareDisaster", declaration);
      await ledger.expectRefused("approver", "declareDisaster", declaration, "LedgerDisasterExists");
      const r = await ledger.submit<Run>("keeper", "payDisasterRelief", {
        disasterId: declaration.disasterId,
        caseIds: [inside.caseId, outside.caseId, inside.caseId],
      });
      expect(r.outcomes.map((o) => o.reason ?? o.status)).to.deep.equal([
        "paid",
        SkipReason.OutsideRegion,
        SkipReason.AlreadyPaid,
      ]);
      expect(r.total).to.equal("200000");
      await ledger.expectRefused(
        "keeper",
        "payDisasterRelief",
        { disasterId: digest("none"), caseIds: [] },
        "LedgerUnknownDisaster",
      );
    });
  });

  describe("receipts and disputes", function () {
    it("records one confirmation; a non-receipt opens a dispute an approver resolves", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      await run(programmes.tekun, [c.caseId]);
      const key = { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY };
      await ledger.expectRefused(
        "anchorer",
        "attestReceipt",
        { key: { ...key, period: key.period - 1 }, outcome: 1, evidenceDigest: digest("e") },
        "LedgerPayoutNotFound",
      );
      await ledger.expectRefused(
        "caseworker",
        "attestReceipt",
        { key, outcome: 1, evidenceDigest: digest("e") },
        "LedgerUnauthorizedRole",
      );
      const opened = await ledger.submit("anchorer", "attestReceipt", {
        key,
        outcome: 2,
        evidenceDigest: digest("not received"),
      });
      const deadline = ledger.peer.now() + PROGRAMMES.tekun.disputeWindow;
      expect(opened.events).to.deep.equal([
        {
          name: "DisputeOpened",
          args: {
            caseId: c.caseId,
            eventId: MONTHLY,
            period: key.period,
            responseDeadline: deadline,
            noteDigest: digest("not received"),
          },
        },
      ]);
      await ledger.expectRefused(
        "anchorer",
        "attestReceipt",
        { key, outcome: 2, evidenceDigest: digest("again") },
        "LedgerReceiptExists",
        key,
      );
      expect(await ledger.query("openDisputeCount")).to.be.greaterThan(0);
      await ledger.expectRefused(
        "approver",
        "resolveDispute",
        { key, outcome: 4, resolutionDigest: digest("r") },
        "LedgerInvalidInput",
        { field: "outcome" },
      );
      await ledger.submit("approver", "resolveDispute", {
        key,
        outcome: 1,
        resolutionDigest: digest("bank statement"),
      });
      await ledger.expectRefused(
        "approver",
        "resolveDispute",
        { key, outcome: 1, resolutionDigest: digest("r") },
        "LedgerNoOpenDispute",
      );
      expect(await ledger.query("disputeOf", key)).to.deep.equal({
        status: 2,
        openedAt: deadline - PROGRAMMES.tekun.disputeWindow,
        responseDeadline: deadline,
        outcome: 1,
      });
      await ledger.submit("anchorer", "attestReceipt", { key, outcome: 1, evidenceDigest: digest("got it") });
      await ledger.expectRefused(
        "anchorer",
        "attestReceipt",
        { key, outcome: 1, evidenceDigest: digest("again") },
        "LedgerReceiptExists",
      );
      expect(await ledger.query("receiptOf", key)).to.deep.equal({
        outcome: 1,
        source: 2,
        timestamp: ledger.peer.now(),
      });
      expect(await ledger.query("unconfirmedPayouts", { caseId: c.caseId })).to.deep.equal([]);
    });

    it("a confirmation after a non-receipt closes the open dispute as resolved by the beneficiary", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      await run(programmes.tekun, [c.caseId]);
      const key = { caseId: c.caseId, period: ledger.period(), eventId: MONTHLY };
      await ledger.submit("anchorer", "attestReceipt", { key, outcome: 2, evidenceDigest: digest("missing") });
      const open = await ledger.query<unknown[]>("openDisputes");
      expect(open).to.deep.include(key);
      const r = await ledger.submit("anchorer", "attestReceipt", {
        key,
        outcome: 1,
        evidenceDigest: digest("arrived late"),
      });
      expect(r.events.map((e) => e.name)).to.deep.equal(["ReceiptConfirmed", "DisputeResolved"]);
      expect(r.events[1].args).to.include({ outcome: 4, resolutionDigest: digest("arrived late") });
      expect(await ledger.query<unknown[]>("openDisputes")).to.not.deep.include(key);
    });
  });

  describe("traces", function () {
    it("gives the history of a case's key, one entry per transaction that changed it", async function () {
      const c = await approvedCase(ledger, programmes, "tekun");
      const history = await ledger.query<{ txId: string; value: { status: number } }[]>("keyHistory", {
        objectType: "case",
        attributes: [c.caseId],
      });
      expect(history.map((h) => h.value.status)).to.deep.equal([
        CaseStatus.Approved,
        CaseStatus.InNotice,
        CaseStatus.Submitted,
      ]);
      expect(history.every((h) => /^[0-9a-f]{64}$/.test(h.txId))).to.equal(true);
      expect(new Set(history.map((h) => h.txId)).size).to.equal(3);
    });
  });

  describe("world state", function () {
    it("holds only canonical JSON (sorted keys, no whitespace) under every key", async function () {
      const keys = ledger.peer.committedKeys();
      expect(keys.length).to.be.greaterThan(100);
      for (const key of keys) {
        const text = (ledger.peer.committed(key) as Buffer).toString("utf8");
        expect(canonicalize(JSON.parse(text)), key).to.equal(text);
      }
    });
  });
});
