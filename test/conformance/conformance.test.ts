import { expect } from "chai";
import type { FabricTransport } from "../../gateway/src/ledger/fabric-transport";
import { evmChain, fabricChain, type ConformanceChain } from "./chains";
import { EXPECTED } from "./expected";
import { runStory, type Transcript } from "./scenario";

/** The outcome codes of a transcript, as the table writes them. */
function codes(t: Transcript): [string, string][] {
  return t.steps.map(({ step, outcome }) => [step, "ok" in outcome ? "ok" : outcome.error]);
}

/**
 * One story, two ledgers: the EVM contracts on anvil and the chaincode on the in-memory peer, both through the
 * gateway's `Ledger` interface (EvmLedger, FabricLedger). The chaincode runs twice: behind the test transport, and
 * behind the production gRPC transport (fabric-gateway to a Gateway service in front of the same kind of peer).
 * Each must give the table's outcome at every step, and all must agree on every value read and every event.
 */
describe("Conformance: EVM contracts and Fabric chaincode", function () {
  this.timeout(120_000);
  const transcripts: Partial<Record<ConformanceChain["name"], Transcript>> = {};

  before(async function () {
    for (const open of [evmChain, () => fabricChain(), () => fabricChain({ grpc: true })]) {
      const chain = await open();
      try {
        transcripts[chain.name] = await runStory(chain);
      } finally {
        await chain.close();
      }
    }
  });

  for (const name of ["evm", "fabric", "fabric-grpc"] as const) {
    it(`${name}: every step has the table's outcome`, function () {
      expect(codes(transcripts[name]!)).to.deep.equal(EXPECTED.map(([step, outcome]) => [step, outcome]));
    });
  }

  for (const name of ["fabric", "fabric-grpc"] as const) {
    it(`${name} returns the EVM's values and refuses with the same arguments, step by step`, function () {
      const evm = transcripts.evm!.steps;
      const fabric = transcripts[name]!.steps;
      expect(fabric.map((s) => s.step)).to.deep.equal(evm.map((s) => s.step));
      for (let i = 0; i < evm.length; i++) {
        expect(fabric[i].outcome, `step "${evm[i].step}"`).to.deep.equal(evm[i].outcome);
      }
    });

    it(`${name} emits the EVM's event stream`, function () {
      const evm = transcripts.evm!.events;
      const fabric = transcripts[name]!.events;
      expect(evm.length).to.be.greaterThan(50);
      for (let i = 0; i < Math.max(evm.length, fabric.length); i++) {
        expect(fabric[i], `event ${i}`).to.deep.equal(evm[i]);
      }
    });
  }

  it("a rule that one ledger has and the other lacks fails the suite at the step it changes", async function () {
    // The chaincode as it is, behind a transport that adds one rule: no medical bill above 4,000 yuan.
    const capped = (t: FabricTransport): FabricTransport =>
      Object.assign(Object.create(t) as FabricTransport, {
        submit: async (fn: string, arg: string) => {
          if (fn === "certifyMedicalBill" && BigInt(JSON.parse(arg).billAmount) > 400_000n) {
            throw Object.assign(new Error("RL:LedgerBillAboveCap"), { name: "PeerTransactionError" });
          }
          return t.submit(fn, arg);
        },
      });
    const chain = await fabricChain({ wrap: capped });
    let transcript: Transcript;
    try {
      transcript = await runStory(chain);
    } finally {
      await chain.close();
    }

    const got = codes(transcript);
    const first = got.findIndex(([step, outcome], i) => step !== EXPECTED[i][0] || outcome !== EXPECTED[i][1]);
    expect(got[first]).to.deep.equal(["certify erin's bill", "LedgerBillAboveCap"]);
    expect(transcript.events).to.not.deep.equal(transcripts.evm!.events);
  });
});
