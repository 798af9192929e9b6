import { expect } from "chai";
import { programmeRule } from "../../../lib/programmes";
import { CaseStatus, PayoutStatus, ProgrammeKind, Role, SkipReason } from "../../../lib/roles";
import { DisputeOutcome, DisputeStatus, ReceiptOutcome } from "../../../lib/receipts";
import { LedgerError, MONTHLY, type EvmLedger, type PayoutKey } from "../../../gateway/src/ledger";
import { Chain, DIBAO, REGION, deployedLedger, digest, fundPool } from "./anvil";

const MEDICAL = programmeRule(ProgrammeKind.Medical, REGION.county, digest("medical-2024"), {
  amount: 3_000_000n,
  deductible: 100_000n,
  ratioBps: 7_000,
  noticePeriod: 0,
});
const DISASTER = programmeRule(ProgrammeKind.Disaster, REGION.county, digest("disaster-2024"), {
  amount: 200_000n,
  noticePeriod: 0,
});
const POOL = 10_000_000n;

async function rejection(promise: Promise<unknown>): Promise<LedgerError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LedgerError) return err;
    throw err;
  }
  throw new Error("expected a LedgerError, the call succeeded");
}

/**
 * Every write of the interface that the full-flow suite does not use, once, against the real contracts: the
 * arguments reach the contract in the right order and the results and events come back decoded.
 */
describe("EvmLedger operations", function () {
  this.timeout(60_000);
  let chain: Chain;
  let ledger: EvmLedger;
  let fromBlock: number;
  let dibao: number;
  let counter = 0;

  before(async function () {
    ({ chain, ledger } = await deployedLedger());
    fromBlock = await ledger.blockNumber();
    dibao = (await ledger.createProgramme("approver", DIBAO)).programmeId;
    await fundPool(ledger, dibao, POOL);
  });

  after(async function () {
    await ledger?.close();
    await chain?.dispose();
  });

  /** A case of `programmeId` brought to review (notice running) or approval. */
  async function newCase(programmeId: number, stage: "submitted" | "inNotice" | "approved", notice = 0) {
    counter += 1;
    const caseId = digest(`ops:case:${counter}`);
    await ledger.submitCase("caseworker", {
      caseId,
      programmeId,
      region: REGION.township,
      pseudonym: digest(`ops:pseudonym:${counter}`),
      recordDigest: digest(`ops:record:${counter}`),
    });
    if (stage === "submitted") return caseId;
    await ledger.reviewCase("caseworker", { caseId, passed: true, reasonDigest: digest("reviewed") });
    if (stage === "inNotice") return caseId;
    if (notice > 0) await chain.increaseTime(notice);
    const rule = await ledger.programme(programmeId);
    await ledger.approveCase("approver", {
      caseId,
      assessment: { householdSize: 2, incomePerHead: 13_700n, amount: 0n },
      ruleVersion: rule.ruleVersion,
    });
    return caseId;
  }

  it("programme rule update: the new version is read back", async function () {
    const updated = { ...DIBAO, amount: 75_000n, ruleVersion: digest("dibao-2026") };

    await ledger.updateProgrammeRule("approver", dibao, updated);

    expect(await ledger.programme(dibao)).to.deep.equal(updated);
  });

  it("funds returned up a level and a pool defunded: balances follow", async function () {
    const ref = digest("ops:return");
    await ledger.defundProgramme("countyFinance", { programmeId: dibao, amount: 1_000n, referenceDigest: ref });
    await ledger.returnFunds("countyFinance", {
      fromRegion: REGION.county,
      toRegion: REGION.city,
      amount: 400n,
      referenceDigest: ref,
    });

    expect(await ledger.poolBalance(dibao)).to.equal(POOL - 1_000n);
    expect(await ledger.regionBalance(REGION.county)).to.equal(600n);
    expect(await ledger.regionBalance(REGION.city)).to.equal(400n);
  });

  it("objection upheld during the notice: the case is rejected; a submitted case rejected directly", async function () {
    const objected = await newCase(dibao, "inNotice");
    await ledger.raiseObjection("caseworker", objected, digest("ops:objection"));
    expect((await ledger.caseRecord(objected))!.openObjections).to.equal(1);
    await ledger.resolveObjection("approver", {
      caseId: objected,
      objectionDigest: digest("ops:objection"),
      upheld: true,
      reasonDigest: digest("ops:upheld"),
    });
    const rejected = await newCase(dibao, "submitted");
    await ledger.rejectCase("approver", { caseId: rejected, reasonDigest: digest("ops:rejected") });

    expect((await ledger.caseRecord(objected))!.status).to.equal(CaseStatus.Rejected);
    expect((await ledger.caseRecord(rejected))!.status).to.equal(CaseStatus.Rejected);
  });

  it("suspend, resume, re-certify, beneficiary key, exit: each reflected in the case record", async function () {
    const caseId = await newCase(dibao, "approved", DIBAO.noticePeriod);
    const reason = { caseId, reasonDigest: digest("ops:reason") };

    await ledger.suspendCase("approver", reason);
    expect((await ledger.caseRecord(caseId))!.status).to.equal(CaseStatus.Suspended);
    await ledger.resumeCase("approver", reason);
    const rule = await ledger.programme(dibao);
    const recertified = await ledger.recertifyCase("approver", {
      caseId,
      assessment: { householdSize: 4, incomePerHead: 25_000n, amount: 0n },
      ruleVersion: rule.ruleVersion,
      recordDigest: digest("ops:recertified-record"),
    });
    const beneficiary = "0x00000000000000000000000000000000000b0b0b";
    const malformed = await rejection(ledger.setBeneficiaryKey("caseworker", caseId, "0x1234"));
    await ledger.setBeneficiaryKey("caseworker", caseId, beneficiary);
    const exited = await ledger.exitCase("approver", reason);

    expect(recertified.amount).to.equal((75_000n - 25_000n) * 4n);
    const record = (await ledger.caseRecord(caseId))!;
    expect(record).to.include({ status: CaseStatus.Exiting, lastPeriod: exited.lastPeriod });
    expect(record.amount).to.equal(recertified.amount);
    expect(record.recordDigest).to.equal(digest("ops:recertified-record"));
    expect(record.beneficiaryKey.toLowerCase()).to.equal(beneficiary);
    expect(malformed.code).to.equal("InvalidArgument");
    expect(malformed.args).to.include({ value: "0x1234" });
  });

  it("medical bill certified and paid at once; the bank's failure returns the money to the pool", async function () {
    const medical = (await ledger.createProgramme("approver", MEDICAL)).programmeId;
    await fundPool(ledger, medical, POOL);
    const caseId = await newCase(medical, "approved");
    const billId = digest("ops:bill");

    const certified = await ledger.certifyMedicalBill("medicalOffice", {
      billId,
      caseId,
      billAmount: 500_000n,
      billDigest: digest("ops:bill-record"),
    });
    const key: PayoutKey = { caseId, period: certified.period, eventId: billId };
    expect(certified.amount).to.equal(280_000n); // 70% of 5,000 − 1,000 yuan
    expect(await ledger.payoutStatus(key)).to.deep.equal({ status: PayoutStatus.Paid, amount: 280_000n });

    const failed = await ledger.reportFailure("paymentAgent", key, digest("ops:account-closed"));

    expect(failed.amount).to.equal(280_000n);
    expect((await ledger.payoutStatus(key)).status).to.equal(PayoutStatus.None);
    expect(await ledger.poolBalance(medical)).to.equal(POOL);
  });

  it("disaster relief: declared, paid per household, disputed, settled and clawed back", async function () {
    const disaster = (await ledger.createProgramme("approver", DISASTER)).programmeId;
    await fundPool(ledger, disaster, POOL);
    const [a, b] = [await newCase(disaster, "approved"), await newCase(disaster, "approved")];
    const disasterId = digest("ops:flood");
    await ledger.declareDisaster("approver", {
      disasterId,
      programmeId: disaster,
      region: REGION.county,
      declarationDigest: digest("ops:flood-declaration"),
    });
    const stranger = digest("ops:not-a-case");

    const run = await ledger.payDisasterRelief("keeper", { disasterId, caseIds: [a, stranger, b] });

    expect(run).to.include({ programmeId: disaster, eventId: disasterId, paid: 2, skipped: 1, total: 400_000n });
    expect(run.outcomes).to.deep.equal([
      { caseId: a, status: "paid", amount: 200_000n },
      { caseId: stranger, status: "skipped", reason: SkipReason.UnknownCase },
      { caseId: b, status: "paid", amount: 200_000n },
    ]);
    const keyA = { caseId: a, period: run.period, eventId: disasterId };
    const keyB = { caseId: b, period: run.period, eventId: disasterId };

    await ledger.attestReceipt("anchorer", {
      key: keyB,
      outcome: ReceiptOutcome.NotReceived,
      evidenceDigest: digest("ops:not-received"),
    });
    const opened = await ledger.disputeOf(keyB);
    expect(opened.status).to.equal(DisputeStatus.Open);
    expect(opened.responseDeadline).to.equal(opened.openedAt + DISASTER.disputeWindow);
    await ledger.resolveDispute("approver", {
      key: keyB,
      outcome: DisputeOutcome.Dismissed,
      resolutionDigest: digest("ops:bank-statement"),
    });
    expect(await ledger.disputeOf(keyB)).to.include({
      status: DisputeStatus.Resolved,
      outcome: DisputeOutcome.Dismissed,
    });

    await ledger.confirmSettlements("paymentAgent", { bankRefDigest: digest("ops:bank"), keys: [keyA] });
    await ledger.recordClawback("countyFinance", { key: keyA, amount: 50_000n, referenceDigest: digest("ops:fraud") });
    expect(await ledger.clawedBack(keyA)).to.equal(50_000n);
    expect(await ledger.programmePaidOut(disaster)).to.equal(350_000n);

    // Settling a batch whose second chunk holds a settled payout: the first chunk stays, the error says so.
    const err = await rejection(
      ledger.confirmSettlements("paymentAgent", {
        bankRefDigest: digest("ops:bank-2"),
        keys: [keyB, keyA],
        chunkSize: 1,
      }),
    );
    expect(err.code).to.equal("LedgerNotAwaitingSettlement");
    expect(err.args).to.deep.equal({ caseId: a, period: run.period, eventId: disasterId });
    expect(err.completed).to.have.length(1);
    expect((await ledger.payoutStatus(keyB)).status).to.equal(PayoutStatus.Settled);
  });

  it("registry administration: deactivation, key rotation and the pause, each enforced by the contracts", async function () {
    const caseworker = ledger.accountOf("caseworker");
    const submission = {
      caseId: digest("ops:admin-case"),
      programmeId: dibao,
      region: REGION.township,
      pseudonym: digest("ops:admin-pseudonym"),
      recordDigest: digest("ops:admin-record"),
    };

    await ledger.setInstitutionActive("admin", caseworker, false);
    const inactive = await rejection(ledger.submitCase("caseworker", submission));
    await ledger.setInstitutionActive("admin", caseworker, true);
    await ledger.rotateInstitutionKey("admin", caseworker, digest("ops:new-sm2-key"));
    await ledger.pause("admin");
    const paused = await rejection(ledger.submitCase("caseworker", submission));
    expect(await ledger.isPaused()).to.equal(true);
    await ledger.unpause("admin");
    await ledger.submitCase("caseworker", submission);

    expect(inactive.code).to.equal("LedgerUnauthorizedRole");
    expect(inactive.args).to.deep.equal({ account: caseworker, roles: (1 << Role.Caseworker) | (1 << Role.Approver) });
    expect(paused.code).to.equal("LedgerPausedError");
    expect(await ledger.institution(caseworker)).to.include({ active: true, keyDigest: digest("ops:new-sm2-key") });
  });

  it("the event stream: every kind of event these operations emitted is decoded", async function () {
    const names = new Set((await ledger.events(fromBlock)).map((e) => e.name));

    for (const name of [
      "ProgrammeRuleUpdated",
      "FundsReturned",
      "ProgrammeDefunded",
      "ObjectionRaised",
      "ObjectionResolved",
      "CaseRejected",
      "CaseSuspended",
      "CaseResumed",
      "CaseRecertified",
      "BeneficiaryKeySet",
      "CaseExited",
      "MedicalBillCertified",
      "PayoutFailed",
      "DisasterDeclared",
      "DisputeOpened",
      "DisputeResolved",
      "ClawbackRecorded",
      "InstitutionActiveSet",
      "InstitutionKeyRotated",
      "LedgerPaused",
      "LedgerUnpaused",
    ]) {
      expect(names, name).to.include(name);
    }
    expect(MONTHLY).to.equal(`0x${"0".repeat(64)}`);
  });
});
