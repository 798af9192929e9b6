import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Ledger, VoucherLedger } from "../../gateway/src/ledger/ledger";
import { CONTRACT_NAME, ReliefContract, TRANSACTIONS } from "../../chaincode/src/contract";

/** The `Ledger` methods that are chain calls (the rest are the adapter's own). */
type ChainMethod = Exclude<
  keyof Ledger,
  "accountOf" | "actors" | "blockNumber" | "events" | "close" | "writesInFlight"
>;

// A `Record` over every chain method: adding a method to `Ledger` without listing it here fails to compile.
const LEDGER_METHODS: Record<Exclude<ChainMethod, keyof VoucherLedger>, true> & Record<keyof VoucherLedger, true> = {
  registerInstitution: true,
  setInstitutionActive: true,
  rotateInstitutionKey: true,
  pause: true,
  unpause: true,
  institution: true,
  isPaused: true,
  createProgramme: true,
  updateProgrammeRule: true,
  programme: true,
  programmeCount: true,
  appropriate: true,
  allocate: true,
  returnFunds: true,
  fundProgramme: true,
  defundProgramme: true,
  recordClawback: true,
  regionBalance: true,
  poolBalance: true,
  programmePaidOut: true,
  fundTotals: true,
  clawedBack: true,
  submitCase: true,
  submitCases: true,
  reviewCase: true,
  reviewCases: true,
  raiseObjection: true,
  resolveObjection: true,
  approveCase: true,
  rejectCase: true,
  decideCases: true,
  suspendCase: true,
  resumeCase: true,
  recertifyCase: true,
  exitCase: true,
  setBeneficiaryKey: true,
  caseRecord: true,
  caseCount: true,
  executePayouts: true,
  certifyMedicalBill: true,
  declareDisaster: true,
  payDisasterRelief: true,
  confirmSettlements: true,
  reportFailure: true,
  reportFailures: true,
  payoutStatus: true,
  casePayouts: true,
  currentPeriod: true,
  attestReceipt: true,
  resolveDispute: true,
  receiptOf: true,
  disputeOf: true,
  anchor: true,
  anchorCount: true,
  totalRecords: true,
  anchorAt: true,
  verifyInclusion: true,
  setVoucherTerms: true,
  setProviderCategory: true,
  issueVouchers: true,
  presentVoucher: true,
  redeemVoucher: true,
  payRedemptions: true,
  confirmRedemptionSettlements: true,
  reportRedemptionFailure: true,
  expireVouchers: true,
  voucherTerms: true,
  providerCategory: true,
  voucher: true,
  presentation: true,
  redemption: true,
  voucherTotals: true,
  voucherEscrow: true,
};

describe("chaincode: the contract and its package", function () {
  it("has one transaction per Ledger method, named as the method, each taking one JSON string", function () {
    const proto = ReliefContract.prototype as unknown as Record<string, unknown>;
    for (const name of Object.keys(LEDGER_METHODS)) {
      expect(TRANSACTIONS, name).to.have.property(name);
      expect(proto[name], name).to.be.a("function");
      expect((proto[name] as (...a: unknown[]) => unknown).length, name).to.equal(2);
    }
    expect(new ReliefContract().getName()).to.equal(CONTRACT_NAME).and.to.equal("relief");
  });

  it("declares its entry point, start command and pinned dependencies", function () {
    const root = path.join(__dirname, "..", "..");
    const pkg = JSON.parse(readFileSync(path.join(root, "chaincode", "package.json"), "utf8"));
    const tsconfig = JSON.parse(readFileSync(path.join(root, "chaincode", "tsconfig.json"), "utf8"));
    // tsc writes chaincode/src/index.ts to <outDir>/chaincode/src/index.js with rootDir "..".
    expect(tsconfig.compilerOptions).to.include({ rootDir: "..", outDir: "dist" });
    expect(pkg.main).to.equal("dist/chaincode/src/index.js");
    expect(pkg.scripts.start).to.equal("fabric-chaincode-node start");
    expect(pkg.dependencies).to.include({
      "fabric-contract-api": "2.5.8",
      "fabric-shim": "2.5.8",
      "class-transformer": "0.4.0",
    });
    expect(pkg.overrides).to.deep.equal({ "class-transformer": "0.4.0" });
    const rootPkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    for (const dep of Object.keys(pkg.dependencies)) {
      const installed = JSON.parse(readFileSync(path.join(root, "node_modules", dep, "package.json"), "utf8")).version;
      expect(pkg.dependencies[dep], `${dep} as installed for the tests`).to.equal(installed);
    }
    expect(rootPkg.overrides).to.include({ "class-transformer": "0.4.0" });
  });

  it("declares every package its code imports at run time, lib/ included", function () {
    const root = path.join(__dirname, "..", "..");
    const declared = Object.keys(
      JSON.parse(readFileSync(path.join(root, "chaincode", "package.json"), "utf8")).dependencies,
    );
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const m of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)) {
        const [, typeOnly, spec] = m;
        if (typeOnly) continue;
        if (spec.startsWith(".")) {
          const target = path.resolve(path.dirname(file), `${spec}.ts`);
          visit(existsSync(target) ? target : path.resolve(path.dirname(file), spec, "index.ts"));
        } else if (!spec.startsWith("node:")) {
          packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
        }
      }
    };
    visit(path.join(root, "chaincode", "src", "index.ts"));
    expect([...seen].some((f) => f.endsWith(path.join("lib", "merkle.ts")))).to.equal(true);
    for (const p of packages) expect(declared, `chaincode/package.json lacks ${p}`).to.include(p);
  });
});
