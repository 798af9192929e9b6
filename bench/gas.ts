/**
 * `npm run bench`: gas of every lifecycle step, amortized gas per automatic payout against an ERC-20
 * baseline measured in the same run, gas per anchored record, and a payout run over 100,000 due
 * entitlements. Runs on Hardhat's in-process EVM (cancun, EIP-7825 cap of 16,777,216 gas per tx).
 */
import hre from "hardhat";
import { Wallet, type ContractTransactionResponse } from "ethers";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import {
  PROGRAMMES,
  REGION,
  approvedCase,
  assessment,
  currentPeriod,
  deployFunded,
  digest,
  newCase,
} from "../test/helpers/fixture";
import { deployWithReceipts } from "../test/helpers/fixture";
import { signReceipt, receiptDomain, ReceiptOutcome } from "../lib/receipts";
import { benchAnchoring } from "./anchoring";
import { fmt, machine, table, writeJson, writeSection } from "./report";
import type { SeededReliefLedger } from "../typechain-types";

const { ethers } = hre;
const TX_CAP = 16_777_216n;

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt.gasUsed;
}

/** Gas of each step in the life of a case and its money. */
async function lifecycle() {
  const fx = await deployWithReceipts();
  const { ledger, registry, receipts, actors } = fx;
  const rows: Array<{ step: string; gas: bigint }> = [];
  const add = async (step: string, tx: Promise<ContractTransactionResponse>) =>
    rows.push({ step, gas: await gasOf(tx) });

  await add(
    "registerInstitution",
    registry.registerInstitution(Wallet.createRandom().address, 1, REGION.township, digest("k")),
  );
  await add(
    "createProgramme",
    ledger.connect(actors.approver).createProgramme({ ...PROGRAMMES.dibao, ruleVersion: digest("v2") }),
  );
  await add("appropriate", ledger.connect(actors.centralFinance).appropriate(10n ** 9n, digest("ref")));
  await add(
    "allocate",
    ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 10n ** 8n, digest("ref")),
  );
  await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 10n ** 8n, digest("ref"));
  await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, 10n ** 8n, digest("ref"));
  await add(
    "fundProgramme",
    ledger.connect(actors.countyFinance).fundProgramme(fx.programmes.dibao, 1_000n, digest("ref")),
  );

  const c = newCase("bench");
  const dibao = fx.programmes.dibao;
  await add(
    "submitCase",
    ledger.connect(actors.caseworker).submitCase(c.caseId, dibao, REGION.township, c.pseudonym, digest("record")),
  );
  await add("reviewCase", ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("ok")));
  // The batch entry points, a case's share: what the gateway's submitter (64 a transaction) and
  // POST /v1/cases/reviews (up to 200) send.
  const many = Array.from({ length: 192 }, (_, i) => {
    const m = newCase(`bench-batch-${i}`);
    return { ...m, programmeId: dibao, region: REGION.township, recordDigest: digest(`record:${i}`) };
  });
  const submitted: bigint[] = [];
  for (let i = 0; i < many.length; i += 64) {
    submitted.push(await gasOf(ledger.connect(actors.caseworker).submitCases(many.slice(i, i + 64))));
  }
  rows.push({ step: "submitCases (64 cases), a case", gas: submitted[1] / 64n });
  const reviews = many.map((m) => ({ caseId: m.caseId, passed: true, reasonDigest: digest("ok") }));
  rows.push({
    step: "reviewCases (192 cases), a case",
    gas: (await gasOf(ledger.connect(actors.caseworker).reviewCases(reviews))) / 192n,
  });
  await add("raiseObjection", ledger.connect(actors.caseworker).raiseObjection(c.caseId, digest("objection")));
  await add(
    "resolveObjection",
    ledger.connect(actors.approver).resolveObjection(c.caseId, digest("objection"), false, digest("dismissed")),
  );
  await time.increase(PROGRAMMES.dibao.noticePeriod);
  await add(
    "approveCase",
    ledger.connect(actors.approver).approveCase(c.caseId, assessment(), PROGRAMMES.dibao.ruleVersion),
  );
  // Decisions on a list, a case's share: what POST /v1/cases/decisions (up to 100) sends, one multicall.
  const approvals = many
    .slice(0, 100)
    .map((m) =>
      ledger.interface.encodeFunctionData("approveCase", [m.caseId, assessment(), PROGRAMMES.dibao.ruleVersion]),
    );
  rows.push({
    step: "multicall of approveCase (100 cases), a case",
    gas: (await gasOf(ledger.connect(actors.approver).multicall(approvals))) / 100n,
  });
  const rejections = many
    .slice(100, 192)
    .map((m) => ledger.interface.encodeFunctionData("rejectCase", [m.caseId, digest("no")]));
  rows.push({
    step: "multicall of rejectCase (92 cases), a case",
    gas: (await gasOf(ledger.connect(actors.approver).multicall(rejections))) / 92n,
  });
  await add(
    "setBeneficiaryKey",
    ledger.connect(actors.caseworker).setBeneficiaryKey(c.caseId, actors.beneficiary.address),
  );
  const period = await currentPeriod(ledger);
  await add("executePayouts (1 case)", ledger.executePayouts(dibao, period, [c.caseId]));
  const key = { caseId: c.caseId, period, eventId: ethers.ZeroHash };
  await add(
    "confirmSettlements (1 payout)",
    ledger.connect(actors.paymentAgent).confirmSettlements(digest("bank"), [key]),
  );
  await add("recordClawback", ledger.connect(actors.countyFinance).recordClawback(key, 1_000n, digest("overpaid")));
  const domain = receiptDomain((await ethers.provider.getNetwork()).chainId, await receipts.getAddress());
  const receipt = { ...key, outcome: ReceiptOutcome.NotReceived, noteDigest: digest("note"), deadline: 2n ** 40n };
  const signature = await signReceipt(actors.beneficiary, domain, receipt);
  await add("submitReceipt (EIP-712, dispute)", receipts.submitReceipt(receipt, signature));
  await add("resolveDispute", receipts.connect(actors.approver).resolveDispute(key, 1, digest("proven")));
  await add("suspendCase", ledger.connect(actors.approver).suspendCase(c.caseId, digest("why")));
  await add("resumeCase", ledger.connect(actors.approver).resumeCase(c.caseId, digest("why")));
  await add(
    "recertifyCase",
    ledger.connect(actors.approver).recertifyCase(c.caseId, assessment(), PROGRAMMES.dibao.ruleVersion, digest("r2")),
  );
  await add("exitCase", ledger.connect(actors.approver).exitCase(c.caseId, digest("income rose")));

  const other = await approvedCase(fx, "dibao");
  await ledger.executePayouts(dibao, period, [other.caseId]);
  const otherKey = { caseId: other.caseId, period, eventId: ethers.ZeroHash };
  await add("reportFailure", ledger.connect(actors.paymentAgent).reportFailure(otherKey, digest("closed account")));
  // A bank's failed lines, a payout's share: what a settlement report sends (FAILURE_BATCH, 100, a multicall).
  const batchIds = many.slice(0, 100).map((m) => m.caseId);
  await ledger.executePayouts(dibao, period, batchIds);
  const failures = batchIds.map((caseId) =>
    ledger.interface.encodeFunctionData("reportFailure", [
      { caseId, period, eventId: ethers.ZeroHash },
      digest("closed account"),
    ]),
  );
  rows.push({
    step: "multicall of reportFailure (100 payouts), a payout",
    gas: (await gasOf(ledger.connect(actors.paymentAgent).multicall(failures))) / 100n,
  });
  await ledger.executePayouts(dibao, period, [other.caseId]);
  await add(
    "attestReceipt (gateway, confirmed)",
    receipts.connect(actors.anchorer).attestReceipt(otherKey, ReceiptOutcome.Confirmed, digest("sm2-receipt")),
  );

  const med = await approvedCase(fx, "medical");
  await add(
    "certifyMedicalBill (pays at once)",
    ledger.connect(actors.medicalOffice).certifyMedicalBill(digest("bill"), med.caseId, 500_000n, digest("bill-doc")),
  );
  const home = await approvedCase(fx, "disaster");
  await add(
    "declareDisaster",
    ledger
      .connect(actors.approver)
      .declareDisaster(digest("flood"), fx.programmes.disaster, REGION.county, digest("decl")),
  );
  await add("payDisasterRelief (1 household)", ledger.payDisasterRelief(digest("flood"), [home.caseId]));
  return rows;
}

/** Amortized gas per automatic payout in batches, beside one ERC-20 transfer per beneficiary. */
async function payoutBatches(sizes: number[]) {
  const fx = await deployFunded();
  const { ledger, actors } = fx;
  const dibao = fx.programmes.dibao;
  const needed = sizes.reduce((a, b) => a + b, 0);
  await ledger.connect(actors.centralFinance).appropriate(10n ** 12n, digest("bench"));
  await ledger.connect(actors.centralFinance).allocate(REGION.central, REGION.province, 10n ** 12n, digest("bench"));
  await ledger.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, 10n ** 12n, digest("bench"));
  await ledger.connect(actors.cityFinance).allocate(REGION.city, REGION.county, 10n ** 12n, digest("bench"));
  await ledger.connect(actors.countyFinance).fundProgramme(dibao, 10n ** 12n, digest("bench"));
  const ids: string[] = [];
  for (let i = 0; i < needed; i++) {
    const c = newCase("batch");
    ids.push(c.caseId);
    await ledger.connect(actors.caseworker).submitCase(c.caseId, dibao, REGION.township, c.pseudonym, digest(c.caseId));
    await ledger.connect(actors.caseworker).reviewCase(c.caseId, true, digest("ok"));
  }
  await time.increase(PROGRAMMES.dibao.noticePeriod);
  for (const id of ids)
    await ledger.connect(actors.approver).approveCase(id, assessment(), PROGRAMMES.dibao.ruleVersion);
  const period = await currentPeriod(ledger);

  const token = await (await ethers.getContractFactory("BaselineToken")).deploy(10n ** 30n);
  const disperse = await (await ethers.getContractFactory("BaselineDisperse")).deploy();
  await token.transfer(await disperse.getAddress(), 10n ** 29n);

  const rows = [];
  let offset = 0;
  for (const n of sizes) {
    const batch = ids.slice(offset, offset + n);
    offset += n;
    const payoutGas = await gasOf(ledger.executePayouts(dibao, period, batch));
    const paid = (await ledger.caseRecord(batch[n - 1])).paidThrough;
    if (Number(paid) !== period) throw new Error("batch did not pay");
    const fresh = Array.from({ length: n }, () => Wallet.createRandom().address);
    let singleTotal = 0n;
    const singles = Math.min(n, 100);
    for (let i = 0; i < singles; i++) singleTotal += await gasOf(token.transfer(fresh[i], 1_000n));
    // 1,000 ERC-20 transfers to fresh holders (~27,000 gas each) exceed the 16,777,216-gas transaction cap:
    // the baseline loop goes in chunks of 400, the payout batch fits in one transaction.
    const loopRecipients = fresh.map(() => Wallet.createRandom().address);
    let loopGas = 0n;
    for (let i = 0; i < n; i += 400) {
      loopGas += await gasOf(disperse.disperse(await token.getAddress(), loopRecipients.slice(i, i + 400), 1_000n));
    }
    rows.push({
      batch: n,
      payoutTxGas: payoutGas,
      gasPerPayout: Number(payoutGas) / n,
      erc20TransferTxGas: Number(singleTotal) / singles,
      erc20LoopGasPerTransfer: Number(loopGas) / n,
      fitsTxCap: payoutGas <= TX_CAP,
    });
  }
  return rows;
}

/** One payout run over `count` due entitlements, in transactions of `chunk` cases each. */
async function payoutRun(count: number, chunk: number) {
  const fx = await deployFunded();
  const { registry, actors } = fx;
  const seeded = (await (
    await ethers.getContractFactory("SeededReliefLedger")
  ).deploy(await registry.getAddress())) as unknown as SeededReliefLedger;
  await seeded.connect(actors.approver).createProgramme(PROGRAMMES.dibao);
  const amount = 50_000n;
  const total = amount * BigInt(count);
  await seeded.connect(actors.centralFinance).appropriate(total, digest("run"));
  await seeded.connect(actors.centralFinance).allocate(REGION.central, REGION.province, total, digest("run"));
  await seeded.connect(actors.provinceFinance).allocate(REGION.province, REGION.city, total, digest("run"));
  await seeded.connect(actors.cityFinance).allocate(REGION.city, REGION.county, total, digest("run"));
  await seeded.connect(actors.countyFinance).fundProgramme(1, total, digest("run"));
  const period = Number(await seeded.currentPeriod());
  const ids = Array.from({ length: count }, (_, i) => digest(`seeded:${i}`));
  for (let i = 0; i < count; i += 300) {
    await seeded.seedApprovedCases(1, ids.slice(i, i + 300), amount, period, period + 11, REGION.township);
  }
  const started = process.hrtime.bigint();
  let gas = 0n;
  let maxTx = 0n;
  for (let i = 0; i < count; i += chunk) {
    const g = await gasOf(seeded.executePayouts(1, period, ids.slice(i, i + chunk)));
    gas += g;
    if (g > maxTx) maxTx = g;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [, , paidOut] = await seeded.fundTotals();
  if (paidOut !== total) throw new Error(`run paid ${paidOut}, expected ${total}`);
  return {
    entitlements: count,
    transactions: Math.ceil(count / chunk),
    casesPerTransaction: chunk,
    totalGas: gas,
    gasPerPayout: Number(gas) / count,
    largestTxGas: maxTx,
    wallSeconds: seconds,
    payoutsPerSecond: count / seconds,
  };
}

async function main() {
  const quick = process.env.RELIEF_BENCH_QUICK === "1";
  console.log("lifecycle steps…");
  const steps = await lifecycle();
  console.log("payout batches and ERC-20 baseline…");
  const batches = await payoutBatches([1, 100, 1000]);
  console.log("anchoring…");
  const anchoring = await benchAnchoring(hre);
  const runSize = quick ? 10_000 : 100_000;
  console.log(`payout run over ${fmt(runSize)} entitlements…`);
  const run = await payoutRun(runSize, 1500);

  const result = { machine: machine(), network: "hardhat in-process (cancun)", steps, batches, anchoring, run };
  const file = writeJson("gas", result);
  console.log(`wrote ${file}`);

  const b100 = batches.find((b) => b.batch === 100)!;
  const a100k = anchoring.find((a) => a.records === 100_000);
  const md = [
    `Measured ${result.machine.date.slice(0, 10)} on ${result.machine.cpus} cores (${result.machine.cpuModel}), Node ${result.machine.node}, Hardhat in-process EVM (cancun). Raw data: \`bench/results/gas.json\`.`,
    "",
    "### Gas per lifecycle step",
    "",
    table(
      ["step", "gas"],
      steps.map((s) => [s.step, fmt(s.gas)]),
    ),
    "",
    "### Automatic payouts vs. one ERC-20 transfer per beneficiary (same run)",
    "",
    table(
      [
        "batch",
        "payout tx gas",
        "gas per payout",
        "ERC-20 transfer tx to a fresh holder",
        "ERC-20 transfer in a batch loop",
        "payout / ERC-20 tx",
        "payout / ERC-20 in loop",
      ],
      batches.map((b) => [
        fmt(b.batch),
        fmt(b.payoutTxGas),
        fmt(b.gasPerPayout),
        fmt(b.erc20TransferTxGas),
        fmt(b.erc20LoopGasPerTransfer),
        fmt(b.gasPerPayout / b.erc20TransferTxGas, 2),
        fmt(b.gasPerPayout / b.erc20LoopGasPerTransfer, 2),
      ]),
    ),
    "",
    `Target: at most 10,000 gas per payout in batches of 100 or more — measured ${fmt(b100.gasPerPayout)} at 100 (${b100.gasPerPayout <= 10_000 ? "met" : "missed"}).`,
    "",
    "### Anchoring: gas per record",
    "",
    table(
      ["records in the batch", "anchor tx gas", "gas per record", "tree build (ms)"],
      anchoring.map((a) => [fmt(a.records), fmt(a.gasUsed), fmt(a.gasPerRecord, 3), fmt(a.treeBuildMs)]),
    ),
    "",
    `Target: under 1 gas per record at 100,000 — measured ${a100k ? fmt(a100k.gasPerRecord, 3) : "n/a"}.`,
    "",
    `### One payout run over ${fmt(run.entitlements)} due entitlements`,
    "",
    table(
      ["entitlements", "transactions", "total gas", "gas per payout", "largest tx gas", "wall time (s)", "payouts/s"],
      [
        [
          fmt(run.entitlements),
          fmt(run.transactions),
          fmt(run.totalGas),
          fmt(run.gasPerPayout),
          fmt(run.largestTxGas),
          fmt(run.wallSeconds, 1),
          fmt(run.payoutsPerSecond),
        ],
      ],
    ),
    "",
    "The run's entitlements are written by `contracts/bench/SeededReliefLedger.sol` (the same storage `approveCase` writes) so that setting up 100,000 approved cases does not take 300,000 transactions; the measured `executePayouts` is the production code. Transactions stay under the 16,777,216-gas cap.",
  ].join("\n");
  writeSection("gas", md);
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
