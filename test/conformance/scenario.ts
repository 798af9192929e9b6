/**
 * The conformance story, written once against the `Ledger` interface: budget down the hierarchy, programme pools,
 * the case lifecycle, monthly payout runs, a medical bill, disaster relief, settlement and failure, clawback,
 * receipts and disputes, anchors and inclusion proofs, assistance vouchers (vouchers.ts), and refusals for the wrong
 * role, region or state.
 *
 * Each step's outcome goes into a transcript, normalised so that two ledgers can be compared: transaction hashes and
 * block numbers dropped, accounts replaced by the actor they belong to, bigints as decimal strings, a refusal as its
 * error code with its arguments. Reads of the final state (balances, cases, payouts, receipts, anchors) are steps
 * too, so a rule that moves money differently shows up even when every call succeeds.
 */
import { buildTree, inclusionProof, merkleRoot } from "../../lib/merkle";
import { periodAt } from "../../lib/periods";
import { programmeRule } from "../../lib/programmes";
import { DisputeOutcome, ReceiptOutcome } from "../../lib/receipts";
import { ProgrammeKind } from "../../lib/roles";
import { LedgerError, MONTHLY, type Bytes32, type LedgerEvent, type PayoutKey } from "../../gateway/src/ledger";
import { DAY, DIBAO, REGION, digest } from "../gateway/ledger/anvil";
import type { ConformanceChain } from "./chains";
import { ELSEWHERE } from "./institutions";
import { voucherChapter } from "./vouchers";

export type Outcome = { ok: unknown } | { error: string; args: Record<string, string> };

export interface Transcript {
  steps: { step: string; outcome: Outcome }[];
  events: unknown[];
}

const MEDICAL = programmeRule(ProgrammeKind.Medical, REGION.county, digest("medical-2027"), {
  amount: 3_000_000n,
  deductible: 100_000n,
  ratioBps: 7_000,
  noticePeriod: 0,
});
const DISASTER = programmeRule(ProgrammeKind.Disaster, REGION.county, digest("disaster-2027"), {
  amount: 200_000n,
  noticePeriod: 0,
});
const BUDGET = 50_000_000n;
const BENEFICIARY = "0x00000000000000000000000000000000000b0b0b";

/** A value with accounts named, bigints as strings, and chain positions dropped. */
export function normalise(value: unknown, actorOf: (account: string) => string | undefined): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") {
    if (/^0x[0-9a-fA-F]{40}$/.test(value)) return actorOf(value) ?? value.toLowerCase();
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, actorOf));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "txHash" || k === "blockNumber") continue;
      out[k] = normalise(v, actorOf);
    }
    return out;
  }
  return value;
}

/** The normalised event stream: names, contracts and arguments in chain order. */
export function normaliseEvents(events: readonly LedgerEvent[], chain: ConformanceChain): unknown[] {
  const actorOf = (a: string) => chain.actorOf(a);
  return (
    events
      // The registry's first owner: the EVM deployment's event (before the story), the chaincode's first write.
      .filter((e) => !(e.name === "OwnershipTransferred" && /^0x0{40}$/.test(e.args.previousOwner)))
      .map((e) => ({ name: e.name, contract: e.contract, args: normalise(e.args, actorOf) }))
  );
}

export async function runStory(chain: ConformanceChain): Promise<Transcript> {
  const L = chain.ledger;
  const steps: Transcript["steps"] = [];
  const actorOf = (a: string) => chain.actorOf(a);
  const names = new Set<string>();

  async function step(name: string, call: () => Promise<unknown>): Promise<unknown> {
    if (names.has(name)) throw new Error(`step "${name}" twice`);
    names.add(name);
    try {
      const value = await call();
      steps.push({ step: name, outcome: { ok: normalise(value, actorOf) } });
      return value;
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err;
      const args = Object.fromEntries(Object.entries(err.args).map(([k, v]) => [k, String(normalise(v, actorOf))]));
      steps.push({ step: name, outcome: { error: err.code, args } });
      return undefined;
    }
  }
  const ref = digest("budget-2027");
  const id = (label: string) => digest(`conformance:${label}`);

  // ---- Budget down the hierarchy ---------------------------------------------------------------------------
  await step("appropriate", () => L.appropriate("centralFinance", BUDGET, ref));
  await step("appropriate by a county", () => L.appropriate("countyFinance", BUDGET, ref));
  await step("appropriate zero", () => L.appropriate("centralFinance", 0n, ref));
  await step("allocate to province", () =>
    L.allocate("centralFinance", {
      fromRegion: REGION.central,
      toRegion: REGION.province,
      amount: BUDGET,
      referenceDigest: ref,
    }),
  );
  await step("allocate skipping a level", () =>
    L.allocate("provinceFinance", {
      fromRegion: REGION.province,
      toRegion: REGION.county,
      amount: 1n,
      referenceDigest: ref,
    }),
  );
  await step("allocate to city", () =>
    L.allocate("provinceFinance", {
      fromRegion: REGION.province,
      toRegion: REGION.city,
      amount: BUDGET,
      referenceDigest: ref,
    }),
  );
  await step("allocate more than held", () =>
    L.allocate("cityFinance", {
      fromRegion: REGION.city,
      toRegion: REGION.county,
      amount: BUDGET + 1n,
      referenceDigest: ref,
    }),
  );
  await step("allocate from another region's balance", () =>
    L.allocate("countyFinance", { fromRegion: REGION.city, toRegion: REGION.county, amount: 1n, referenceDigest: ref }),
  );
  await step("allocate to county", () =>
    L.allocate("cityFinance", {
      fromRegion: REGION.city,
      toRegion: REGION.county,
      amount: BUDGET,
      referenceDigest: ref,
    }),
  );
  await step("return funds to city", () =>
    L.returnFunds("countyFinance", {
      fromRegion: REGION.county,
      toRegion: REGION.city,
      amount: 1_000n,
      referenceDigest: ref,
    }),
  );

  // ---- Programmes and pools --------------------------------------------------------------------------------
  await step("create programme by a caseworker", () => L.createProgramme("caseworker", DIBAO));
  const dibao = ((await step("create dibao", () => L.createProgramme("approver", DIBAO))) as { programmeId: number })
    .programmeId;
  const medical = (
    (await step("create medical", () => L.createProgramme("approver", MEDICAL))) as { programmeId: number }
  ).programmeId;
  const disaster = (
    (await step("create disaster", () => L.createProgramme("approver", DISASTER))) as {
      programmeId: number;
    }
  ).programmeId;
  await step("create programme with a zero rule version", () =>
    L.createProgramme("approver", { ...DIBAO, ruleVersion: `0x${"0".repeat(64)}` }),
  );
  for (const [label, programmeId] of [
    ["dibao", dibao],
    ["medical", medical],
    ["disaster", disaster],
  ] as const) {
    await step(`fund ${label}`, () =>
      L.fundProgramme("countyFinance", { programmeId, amount: 10_000_000n, referenceDigest: ref }),
    );
  }
  await step("fund an unknown programme", () =>
    L.fundProgramme("countyFinance", { programmeId: 99, amount: 1n, referenceDigest: ref }),
  );
  await step("defund dibao", () =>
    L.defundProgramme("countyFinance", { programmeId: dibao, amount: 500n, referenceDigest: ref }),
  );
  await step("update dibao rule", () =>
    L.updateProgrammeRule("approver", dibao, { ...DIBAO, amount: 75_000n, ruleVersion: digest("dibao-2027") }),
  );
  await step("change dibao's kind", () =>
    L.updateProgrammeRule("approver", dibao, { ...DIBAO, kind: ProgrammeKind.MonthlyFixed, ruleVersion: digest("x") }),
  );
  const rule = (await step("read dibao", () => L.programme(dibao))) as { ruleVersion: Bytes32 };

  // ---- Cases -----------------------------------------------------------------------------------------------
  const submit = (label: string, programmeId: number, actor = "caseworker", region: bigint = REGION.township) =>
    step(`submit ${label}`, () =>
      L.submitCase(actor, {
        caseId: id(label),
        programmeId,
        region,
        pseudonym: id(`pseudonym:${label}`),
        recordDigest: id(`record:${label}`),
      }),
    );
  const assessment = { householdSize: 3, incomePerHead: 25_000n, amount: 0n };
  const approve = (label: string, actor = "approver", ruleVersion = rule.ruleVersion) =>
    step(`approve ${label}${actor === "approver" ? "" : ` by ${actor}`}`, () =>
      L.approveCase(actor, { caseId: id(label), assessment, ruleVersion }),
    );
  const decision = (label: string, reason: string) => ({ caseId: id(label), reasonDigest: id(`reason:${reason}`) });

  await submit("alice", dibao);
  await step("submit a duplicate case id", () =>
    L.submitCase("caseworker", {
      caseId: id("alice"),
      programmeId: dibao,
      region: REGION.township,
      pseudonym: id("p"),
      recordDigest: id("r"),
    }),
  );
  await submit("outside my region", dibao, "strangerCaseworker");
  await submit("in another county", dibao, "strangerCaseworker", ELSEWHERE);
  await submit("for an unknown programme", 99);
  await submit("bob", dibao);
  await submit("carol", dibao);
  await submit("dave", dibao);
  await submit("erin", medical);
  await submit("frank", disaster);
  await submit("grace", disaster);
  await submit("heidi", dibao);
  const submission = (label: string) => ({
    caseId: id(label),
    programmeId: dibao,
    region: REGION.township,
    pseudonym: id(`pseudonym:${label}`),
    recordDigest: id(`record:${label}`),
  });
  await step("submit a batch of two", () =>
    L.submitCases("caseworker", [submission("batch one"), submission("batch two")]),
  );
  await step("submit a batch whose second case exists", () =>
    L.submitCases("caseworker", [submission("batch three"), submission("alice")]),
  );
  await step("submit an empty batch", () => L.submitCases("caseworker", []));
  await step("read the case a refused batch held", () => L.caseRecord(id("batch three")));
  await step("read a case a batch opened", () => L.caseRecord(id("batch two")));
  const review = (label: string, passed = true) => ({ caseId: id(label), passed, reasonDigest: id(`review:${label}`) });
  await step("review a batch", () => L.reviewCases("caseworker", [review("batch one"), review("batch two", false)]));
  await step("review a batch with a case already reviewed", () =>
    L.reviewCases("caseworker", [review("heidi"), review("batch one")]),
  );
  await step("review an empty batch", () => L.reviewCases("caseworker", []));
  await step("read a case a batch passed", () => L.caseRecord(id("batch one")));
  await step("read a case a refused review batch held", () => L.caseRecord(id("heidi")));

  await step("approve alice before review", () =>
    L.approveCase("approver", { caseId: id("alice"), assessment, ruleVersion: rule.ruleVersion }),
  );
  for (const label of ["alice", "carol", "dave"]) {
    await step(`review ${label}`, () =>
      L.reviewCase("caseworker", { caseId: id(label), passed: true, reasonDigest: id("ok") }),
    );
  }
  await step("review bob failed", () =>
    L.reviewCase("caseworker", { caseId: id("bob"), passed: false, reasonDigest: id("no") }),
  );
  await step("review alice twice", () =>
    L.reviewCase("caseworker", { caseId: id("alice"), passed: true, reasonDigest: id("ok") }),
  );
  await step("approve alice during the notice", () =>
    L.approveCase("approver", { caseId: id("alice"), assessment, ruleVersion: rule.ruleVersion }),
  );
  await step("raise objection on alice", () => L.raiseObjection("caseworker", id("alice"), id("objection:alice")));
  await step("raise the same objection", () => L.raiseObjection("caseworker", id("alice"), id("objection:alice")));
  await step("raise objection on carol", () => L.raiseObjection("caseworker", id("carol"), id("objection:carol")));
  await step("resolve an unknown objection", () =>
    L.resolveObjection("approver", {
      caseId: id("alice"),
      objectionDigest: id("nope"),
      upheld: false,
      reasonDigest: id("r"),
    }),
  );
  await step("resolve alice's objection (dismissed)", () =>
    L.resolveObjection("approver", {
      caseId: id("alice"),
      objectionDigest: id("objection:alice"),
      upheld: false,
      reasonDigest: id("dismissed"),
    }),
  );
  await step("resolve carol's objection (upheld)", () =>
    L.resolveObjection("approver", {
      caseId: id("carol"),
      objectionDigest: id("objection:carol"),
      upheld: true,
      reasonDigest: id("upheld"),
    }),
  );
  chain.advance(DIBAO.noticePeriod + DAY);
  await approve("alice", "caseworker");
  await step("approve alice under an old rule", () =>
    L.approveCase("approver", { caseId: id("alice"), assessment, ruleVersion: digest("dibao-2022") }),
  );
  await step("approve alice with its objection dismissed", () =>
    L.approveCase("approver", { caseId: id("alice"), assessment, ruleVersion: rule.ruleVersion }),
  );
  await approve("dave");
  await approve("carol");
  await step("approve alice again", () =>
    L.approveCase("approver", { caseId: id("alice"), assessment, ruleVersion: rule.ruleVersion }),
  );
  await step("submit a case to reject in a batch", () => L.submitCases("caseworker", [submission("batch four")]));
  const approval = (label: string) => ({
    approve: true as const,
    caseId: id(label),
    assessment,
    ruleVersion: rule.ruleVersion,
  });
  const rejection = (label: string) => ({
    approve: false as const,
    caseId: id(label),
    reasonDigest: id(`no:${label}`),
  });
  await step("decide a batch with a case already decided", () =>
    L.decideCases("approver", [approval("batch one"), rejection("alice")]),
  );
  await step("decide an empty batch", () => L.decideCases("approver", []));
  await step("decide a batch", () => L.decideCases("approver", [approval("batch one"), rejection("batch four")]));
  await step("read a case a batch approved", () => L.caseRecord(id("batch one")));
  await step("read a case a batch rejected", () => L.caseRecord(id("batch four")));
  for (const label of ["erin", "frank", "grace"]) {
    await step(`review ${label}`, () =>
      L.reviewCase("caseworker", { caseId: id(label), passed: true, reasonDigest: id("ok") }),
    );
  }
  const medicalRule = (await L.programme(medical)).ruleVersion;
  const disasterRule = (await L.programme(disaster)).ruleVersion;
  await step("approve erin", () =>
    L.approveCase("approver", { caseId: id("erin"), assessment, ruleVersion: medicalRule }),
  );
  for (const label of ["frank", "grace"]) {
    await step(`approve ${label}`, () =>
      L.approveCase("approver", { caseId: id(label), assessment, ruleVersion: disasterRule }),
    );
  }
  await step("reject bob after his failed review", () => L.rejectCase("approver", decision("bob", "reject")));
  await step("reject heidi by a caseworker", () => L.rejectCase("caseworker", decision("heidi", "reject")));
  await step("reject heidi", () => L.rejectCase("approver", decision("heidi", "reject")));
  await step("reject heidi again", () => L.rejectCase("approver", decision("heidi", "reject")));
  await step("suspend dave by a caseworker", () => L.suspendCase("caseworker", decision("dave", "suspend")));
  await step("suspend dave", () => L.suspendCase("approver", decision("dave", "suspend")));
  await step("resume alice, who is not suspended", () => L.resumeCase("approver", decision("alice", "resume")));
  await step("set alice's beneficiary key", () => L.setBeneficiaryKey("caseworker", id("alice"), BENEFICIARY));

  // ---- Monthly payouts -------------------------------------------------------------------------------------
  const period = periodAt(chain.now());
  const run = (label: string, caseIds: Bytes32[], p = period, actor = "keeper") =>
    step(label, () => L.executePayouts(actor, { programmeId: dibao, period: p, caseIds }));
  await run("payout run", [id("alice"), id("dave"), id("nobody"), id("bob"), id("carol"), id("erin")]);
  await run("payout run again (pay twice refused)", [id("alice")]);
  await run("payout run for next month", [id("alice")], period + 1);
  await run("payout run by a caseworker", [id("alice")], period, "caseworker");
  await step("resume dave", () => L.resumeCase("approver", decision("dave", "resume")));
  await run("payout run for dave", [id("dave")]);

  // ---- Medical bill and disaster relief ----------------------------------------------------------------------
  const bill = { billId: id("bill"), caseId: id("erin"), billAmount: 500_000n, billDigest: id("bill-record") };
  // Undefined when refused: the story goes on (a ledger with a different rule must still be comparable).
  const certified = (await step("certify erin's bill", () => L.certifyMedicalBill("medicalOffice", bill))) as
    { period: number } | undefined;
  await step("certify the same bill", () => L.certifyMedicalBill("medicalOffice", bill));
  await step("certify a bill by a caseworker", () =>
    L.certifyMedicalBill("caseworker", { ...bill, billId: id("bill-2") }),
  );
  const flood = id("flood");
  const declaration = {
    disasterId: flood,
    programmeId: disaster,
    region: REGION.county,
    declarationDigest: id("flood-decl"),
  };
  await step("declare flood", () => L.declareDisaster("approver", declaration));
  await step("declare flood again", () => L.declareDisaster("approver", declaration));
  await step("relief run", () =>
    L.payDisasterRelief("keeper", { disasterId: flood, caseIds: [id("frank"), id("alice"), id("grace")] }),
  );
  await step("relief run again", () => L.payDisasterRelief("keeper", { disasterId: flood, caseIds: [id("frank")] }));
  await step("relief for an unknown disaster", () =>
    L.payDisasterRelief("keeper", { disasterId: id("drought"), caseIds: [id("frank")] }),
  );

  // ---- Settlement, failure, clawback -------------------------------------------------------------------------
  const monthly = (label: string): PayoutKey => ({ caseId: id(label), period, eventId: MONTHLY });
  const medicalKey: PayoutKey = { caseId: id("erin"), period: certified?.period ?? period, eventId: id("bill") };
  const reliefKey = (label: string): PayoutKey => ({ caseId: id(label), period, eventId: flood });
  const bank = id("bank-file-1");
  await step("settle", () =>
    L.confirmSettlements("paymentAgent", {
      bankRefDigest: bank,
      keys: [monthly("alice"), medicalKey, reliefKey("frank"), reliefKey("grace")],
    }),
  );
  await step("settle alice again", () =>
    L.confirmSettlements("paymentAgent", { bankRefDigest: bank, keys: [monthly("alice")] }),
  );
  await step("settle a batch with an unpaid payout (all or nothing)", () =>
    L.confirmSettlements("paymentAgent", {
      bankRefDigest: bank,
      keys: [monthly("dave"), monthly("carol")],
      chunkSize: 5,
    }),
  );
  await step("settle an unpaid payout", () =>
    L.confirmSettlements("paymentAgent", { bankRefDigest: bank, keys: [monthly("bob")] }),
  );
  await step("settle by the keeper", () =>
    L.confirmSettlements("keeper", { bankRefDigest: bank, keys: [monthly("dave")] }),
  );
  await step("report dave's payout failed", () =>
    L.reportFailure("paymentAgent", monthly("dave"), id("account-closed")),
  );
  await step("report a settled payout failed", () => L.reportFailure("paymentAgent", monthly("alice"), id("x")));
  await step("report failures in a batch with a settled payout", () =>
    L.reportFailures("paymentAgent", [
      { key: monthly("dave"), reasonDigest: id("x") },
      { key: monthly("alice"), reasonDigest: id("x") },
    ]),
  );
  await step("report an empty batch of failures", () => L.reportFailures("paymentAgent", []));
  await step("claw back from alice", () =>
    L.recordClawback("countyFinance", { key: monthly("alice"), amount: 10_000n, referenceDigest: id("overpaid") }),
  );
  await step("claw back more than paid", () =>
    L.recordClawback("countyFinance", { key: monthly("alice"), amount: 10n ** 9n, referenceDigest: id("overpaid") }),
  );
  await step("claw back an unsettled payout", () =>
    L.recordClawback("countyFinance", { key: monthly("dave"), amount: 1n, referenceDigest: id("overpaid") }),
  );

  // ---- Receipts and disputes -----------------------------------------------------------------------------------
  await step("confirm alice's receipt", () =>
    L.attestReceipt("anchorer", {
      key: monthly("alice"),
      outcome: ReceiptOutcome.Confirmed,
      evidenceDigest: id("sig:alice"),
    }),
  );
  await step("confirm alice's receipt twice", () =>
    L.attestReceipt("anchorer", {
      key: monthly("alice"),
      outcome: ReceiptOutcome.Confirmed,
      evidenceDigest: id("sig:alice"),
    }),
  );
  await step("attest a receipt by a caseworker", () =>
    L.attestReceipt("caseworker", {
      key: monthly("carol"),
      outcome: ReceiptOutcome.Confirmed,
      evidenceDigest: id("s"),
    }),
  );
  await step("attest a receipt for no payout", () =>
    L.attestReceipt("anchorer", { key: monthly("bob"), outcome: ReceiptOutcome.Confirmed, evidenceDigest: id("s") }),
  );
  await step("frank did not receive", () =>
    L.attestReceipt("anchorer", {
      key: reliefKey("frank"),
      outcome: ReceiptOutcome.NotReceived,
      evidenceDigest: id("nr"),
    }),
  );
  await step("resolve frank's dispute", () =>
    L.resolveDispute("approver", {
      key: reliefKey("frank"),
      outcome: DisputeOutcome.PaymentProven,
      resolutionDigest: id("proof"),
    }),
  );
  await step("resolve frank's dispute again", () =>
    L.resolveDispute("approver", {
      key: reliefKey("frank"),
      outcome: DisputeOutcome.Dismissed,
      resolutionDigest: id("proof"),
    }),
  );
  await step("grace did not receive", () =>
    L.attestReceipt("anchorer", {
      key: reliefKey("grace"),
      outcome: ReceiptOutcome.NotReceived,
      evidenceDigest: id("nr2"),
    }),
  );

  // ---- Recertify, exit -----------------------------------------------------------------------------------------
  await step("recertify alice", () =>
    L.recertifyCase("approver", {
      caseId: id("alice"),
      assessment: { householdSize: 4, incomePerHead: 30_000n, amount: 0n },
      ruleVersion: rule.ruleVersion,
      recordDigest: id("record:alice:2028"),
    }),
  );
  await step("recertify a rejected case", () =>
    L.recertifyCase("approver", {
      caseId: id("bob"),
      assessment,
      ruleVersion: rule.ruleVersion,
      recordDigest: id("record:bob:2028"),
    }),
  );
  await step("exit alice", () => L.exitCase("approver", decision("alice", "exit")));
  await step("exit alice again", () => L.exitCase("approver", decision("alice", "exit")));

  // ---- Anchors ---------------------------------------------------------------------------------------------------
  const records = Array.from({ length: 5 }, (_, i) => id(`sealed-record:${i}`));
  const tree = buildTree(records);
  const batch = { region: REGION.county, root: merkleRoot(records), recordCount: 5, metadataDigest: id("meta") };
  await step("anchor by a caseworker", () => L.anchor("caseworker", { expectedSequence: 0, ...batch }));
  await step("anchor out of sequence", () => L.anchor("anchorer", { expectedSequence: 1, ...batch }));
  await step("anchor a zero root", () =>
    L.anchor("anchorer", { expectedSequence: 0, ...batch, root: `0x${"0".repeat(64)}` }),
  );
  await step("anchor", () => L.anchor("anchorer", { expectedSequence: 0, ...batch }));
  await step("anchor again", () => L.anchor("anchorer", { expectedSequence: 0, ...batch }));
  const second = [id("sealed-record:5"), id("sealed-record:6")];
  await step("anchor a second batch", () =>
    L.anchor("anchorer", {
      expectedSequence: 1,
      region: REGION.county,
      root: merkleRoot(second),
      recordCount: 2,
      metadataDigest: id("m2"),
    }),
  );
  await step("anchor 0", () => L.anchorAt(0));
  await step("anchor 7", () => L.anchorAt(7));
  await step("inclusion of record 3", () => L.verifyInclusion(0, 3, records[3], inclusionProof(tree, 3)));
  await step("inclusion of record 3 at index 2", () => L.verifyInclusion(0, 2, records[3], inclusionProof(tree, 3)));
  await step("inclusion of a foreign record", () => L.verifyInclusion(0, 3, id("forged"), inclusionProof(tree, 3)));

  // ---- Registry: deactivation, key rotation, pause --------------------------------------------------------------
  await step("rotate the caseworker's key", () =>
    L.rotateInstitutionKey("admin", L.accountOf("caseworker"), digest("sm2-key:caseworker:2")),
  );
  await step("deactivate the caseworker", () => L.setInstitutionActive("admin", L.accountOf("caseworker"), false));
  await submit("by an inactive caseworker", dibao);
  await step("reactivate the caseworker", () => L.setInstitutionActive("admin", L.accountOf("caseworker"), true));
  await step("register by a non-administrator", () =>
    L.registerInstitution("approver", { account: BENEFICIARY, role: 1, region: REGION.township, keyDigest: id("k") }),
  );
  await step("pause", () => L.pause("admin"));
  await submit("while paused", dibao);
  await step("unpause", () => L.unpause("admin"));
  await submit("after unpause", dibao);

  // ---- Vouchers (vouchers.ts): moves the clock past the vouchers' validity ---------------------------------------
  await voucherChapter(chain, step, id, { programmeId: dibao, caseId: id("alice") });

  // ---- The final state -------------------------------------------------------------------------------------------
  await step("fund totals", () => L.fundTotals());
  for (const [label, region] of Object.entries(REGION))
    await step(`balance of ${label}`, () => L.regionBalance(region));
  for (const [label, programmeId] of [
    ["dibao", dibao],
    ["medical", medical],
    ["disaster", disaster],
  ] as const) {
    await step(`pool of ${label}`, () => L.poolBalance(programmeId));
    await step(`paid out by ${label}`, () => L.programmePaidOut(programmeId));
  }
  await step("programme count", () => L.programmeCount());
  await step("case count", () => L.caseCount());
  await step("paused", () => L.isPaused());
  await step("clawed back from alice", () => L.clawedBack(monthly("alice")));
  for (const label of ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "nobody", "after unpause"]) {
    await step(`case ${label}`, () => L.caseRecord(id(label)));
    await step(`payouts of ${label}`, () => L.casePayouts(id(label)));
  }
  for (const [label, key] of [
    ["alice", monthly("alice")],
    ["dave", monthly("dave")],
    ["erin", medicalKey],
    ["frank", reliefKey("frank")],
    ["grace", reliefKey("grace")],
  ] as const) {
    await step(`payout status of ${label}`, () => L.payoutStatus(key));
    await step(`receipt of ${label}`, () => L.receiptOf(key));
    await step(`dispute of ${label}`, () => L.disputeOf(key));
  }
  for (const actor of ["caseworker", "approver"])
    await step(`institution ${actor}`, () => L.institution(L.accountOf(actor)));
  await step("unknown institution", () => L.institution(BENEFICIARY));
  await step("anchor count", () => L.anchorCount());
  await step("total records", () => L.totalRecords());

  const events = normaliseEvents(await L.events(chain.fromBlock), chain);
  return { steps, events };
}
