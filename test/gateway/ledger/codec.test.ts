import { expect } from "chai";
import { AbiCoder, Interface, Transaction, Wallet, concat, id } from "ethers";
import { loadArtifact } from "../../../lib/deploy";
import { Role } from "../../../lib/roles";
import { LedgerConfigError, type LedgerContract } from "../../../gateway/src/ledger";
import { EVENT_CONTRACT, EVENT_FIELDS } from "../../../gateway/src/ledger/events";
import { RevertDecoder, checkEventSchema } from "../../../gateway/src/ledger/evm-codec";
import { TxSender, unavailableReason, withDeadline, type SenderNode } from "../../../gateway/src/ledger/evm-rpc";

const ARTIFACTS: Record<LedgerContract, string> = {
  registry: "InstitutionRegistry",
  ledger: "ReliefLedger",
  receipts: "ReceiptBook",
  anchors: "AnchorLog",
  vouchers: "VoucherBook",
};

type AbiItem = { type: string; name?: string; inputs?: Array<{ name: string; type: string; indexed?: boolean }> };

function abis(): Record<LedgerContract, AbiItem[]> {
  const out = {} as Record<LedgerContract, AbiItem[]>;
  for (const [c, name] of Object.entries(ARTIFACTS)) out[c as LedgerContract] = loadArtifact(name).abi as AbiItem[];
  return out;
}

function interfaces(items: Record<LedgerContract, AbiItem[]>): Record<LedgerContract, Interface> {
  const out = {} as Record<LedgerContract, Interface>;
  for (const c of Object.keys(items) as LedgerContract[]) out[c] = new Interface(items[c] as never);
  return out;
}

describe("ledger event schema and EVM codec", function () {
  it("event schema: matches every event of the five compiled contracts, field for field", function () {
    expect(() => checkEventSchema(interfaces(abis()))).not.to.throw();
    expect(EVENT_CONTRACT.RecordsAnchored).to.equal("anchors");
    expect(Object.keys(EVENT_FIELDS.ledger)).to.include("PayoutSkipped");
  });

  it("event schema: a renamed field, a changed type and a missing event are each reported", function () {
    const drifted = abis();
    drifted.ledger = drifted.ledger
      .filter((item) => !(item.type === "event" && item.name === "CaseResumed"))
      .map((item) => {
        if (item.type !== "event" || !item.inputs) return item;
        if (item.name === "PayoutSkipped") {
          return { ...item, inputs: item.inputs.map((p) => (p.name === "reason" ? { ...p, name: "why" } : p)) };
        }
        if (item.name === "CaseSubmitted") {
          return { ...item, inputs: item.inputs.map((p) => (p.name === "pseudonym" ? { ...p, type: "uint256" } : p)) };
        }
        return item;
      });

    let message = "";
    try {
      checkEventSchema(interfaces(drifted));
    } catch (err) {
      expect(err).to.be.instanceOf(LedgerConfigError);
      message = (err as Error).message;
    }

    expect(message).to.include("ledger.PayoutSkipped: fields (caseId,eventId,period,why)");
    expect(message).to.include("ledger.CaseSubmitted.pseudonym: uint256 cannot be read as bytes32");
    expect(message).to.include("ledger.CaseResumed is in the event schema but not in the ABI");
  });

  describe("RevertDecoder", function () {
    const decoder = new RevertDecoder(Object.values(interfaces(abis())));
    const coder = AbiCoder.defaultAbiCoder();

    it("a registry error: name and arguments, uint16 as a number", function () {
      const account = Wallet.createRandom().address;
      const registry = interfaces(abis()).registry;
      const data = registry.encodeErrorResult("LedgerUnauthorizedRole", [account, 1 << Role.Finance]);

      expect(decoder.decode(data)).to.deep.equal({
        code: "LedgerUnauthorizedRole",
        args: { account, roles: 8 },
        values: [account, 8],
      });
    });

    it("Error(string) and Panic(uint256): the built-in reverts", function () {
      const error = concat(["0x08c379a0", coder.encode(["string"], ["no"])]);
      const panic = concat(["0x4e487b71", coder.encode(["uint256"], [0x11])]);

      expect(decoder.decode(error)).to.deep.equal({ code: "Error", args: { message: "no" }, values: ["no"] });
      expect(decoder.decode(panic)).to.deep.equal({ code: "Panic", args: { code: 17 }, values: [17] });
    });

    it("no data, or a selector no contract declares: UnknownRevert with the data", function () {
      const unknown = id("NotOurs(uint256)").slice(0, 10);

      expect(decoder.decode("0x").code).to.equal("UnknownRevert");
      expect(decoder.decode(undefined).args).to.deep.equal({ data: "0x" });
      expect(decoder.decode(unknown)).to.deep.equal({ code: "UnknownRevert", args: { data: unknown }, values: [] });
    });
  });

  describe("unavailableReason", function () {
    it("connection failures are unreachable, deadlines timeouts, reverts and others null", function () {
      const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });

      expect(unavailableReason(refused)).to.equal("unreachable");
      expect(unavailableReason({ code: "UNKNOWN_ERROR", error: { code: "ECONNRESET" } })).to.equal("unreachable");
      expect(unavailableReason({ code: "SERVER_ERROR" })).to.equal("unreachable");
      expect(unavailableReason({ code: "TIMEOUT" })).to.equal("timeout");
      expect(unavailableReason({ code: "CALL_EXCEPTION", data: "0x" })).to.equal(null);
      expect(unavailableReason(new Error("nonce too low"))).to.equal(null);
    });

    it("withDeadline: rejects with the given error once the time is up", async function () {
      const never = new Promise(() => undefined);
      const started = Date.now();

      const err = await withDeadline(never, 50, () => new Error("late")).catch((e: Error) => e);

      expect((err as Error).message).to.equal("late");
      expect(Date.now() - started).to.be.within(40, 500);
    });
  });

  describe("TxSender", function () {
    const tx = { to: Wallet.createRandom().address, data: "0x", chainId: 31337n, gasLimit: 21_000n, gasPrice: 1n };

    /** A node whose pending nonce is `nonce` and whose broadcasts fail as `failures` says, in order. */
    function fakeNode(nonce: number, failures: Array<Error | null> = []) {
      const seen: number[] = [];
      let asked = 0;
      const node: SenderNode = {
        pendingNonce: async () => {
          asked += 1;
          return nonce;
        },
        broadcast: async (signed) => {
          const failure = failures.shift();
          if (failure) throw failure;
          const parsed = Transaction.from(signed);
          seen.push(parsed.nonce);
          return parsed.hash!;
        },
      };
      return { node, seen, asked: () => asked };
    }

    it("numbers quick sends itself: one nonce query, consecutive nonces in call order", async function () {
      const sender = new TxSender(Wallet.createRandom());
      const { node, seen, asked } = fakeNode(7);

      await Promise.all([sender.send(tx, node), sender.send(tx, node), sender.send(tx, node)]);

      expect(seen).to.deep.equal([7, 8, 9]);
      expect(asked()).to.equal(1);
    });

    it("'nonce too low' from the node: renumbers from the node once and sends", async function () {
      const sender = new TxSender(Wallet.createRandom());
      const tooLow = Object.assign(new Error("nonce too low"), { code: "NONCE_EXPIRED" });
      const { node, seen, asked } = fakeNode(3, [tooLow]);

      await sender.send(tx, node);

      expect(seen).to.deep.equal([3]);
      expect(asked()).to.equal(2);
    });

    it("any other failure to send: rejected, and the next send asks the node for the nonce again", async function () {
      const sender = new TxSender(Wallet.createRandom());
      const down = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      const { node, seen, asked } = fakeNode(5, [null, down]);

      await sender.send(tx, node);
      const failed = await sender.send(tx, node).catch((e: Error) => e);
      await sender.send(tx, node);

      expect(failed).to.equal(down);
      expect(seen).to.deep.equal([5, 5]);
      expect(asked()).to.equal(2);
    });
  });
});
