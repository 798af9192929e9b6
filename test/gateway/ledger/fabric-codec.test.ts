import { expect } from "chai";
import fc from "fast-check";
import { getAddress } from "ethers";
import { EVENT_FIELDS, type FieldKind } from "../../../gateway/src/ledger";
import { CHAINCODE_EVENT, decodeChaincodeEvents, encodeArg } from "../../../gateway/src/ledger/fabric-codec";
import { marshal } from "../../../chaincode/src/marshal";

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}`);

/** A value of each field kind as the chaincode writes it (accounts lowercase, bigints as bigints). */
const valueOf: Record<FieldKind, fc.Arbitrary<unknown>> = {
  bytes32: hex(32),
  account: hex(20),
  number: fc.integer({ min: 0, max: 2 ** 40 }),
  bigint: fc.bigInt({ min: 0n, max: 2n ** 128n }),
  bool: fc.boolean(),
  string: fc.string(),
  role: fc.integer({ min: 0, max: 8 }),
  programmeKind: fc.integer({ min: 0, max: 4 }),
  caseStatus: fc.integer({ min: 0, max: 6 }),
  skipReason: fc.integer({ min: 0, max: 11 }),
  receiptSource: fc.integer({ min: 0, max: 2 }),
  disputeOutcome: fc.integer({ min: 0, max: 3 }),
  voucherKind: fc.integer({ min: 0, max: 3 }),
  providerCategory: fc.integer({ min: 0, max: 4 }),
  voucherFundsMove: fc.integer({ min: 0, max: 3 }),
};

const SCHEMA: Record<string, Record<string, FieldKind>> = Object.assign({}, ...Object.values(EVENT_FIELDS));

const event = fc.constantFrom(...Object.keys(SCHEMA)).chain((name) =>
  fc.record(Object.fromEntries(Object.entries(SCHEMA[name]).map(([f, kind]) => [f, valueOf[kind]]))).map((args) => ({
    name,
    args,
  })),
);

describe("Fabric adapter: wire format", function () {
  it("for all arguments, the adapter's JSON is byte for byte the chaincode's canonical form", function () {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.bigInt(), fc.constant(null));
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.oneof(leaf, fc.array(leaf), fc.dictionary(fc.string(), leaf))),
        (arg) => {
          expect(encodeArg(arg)).to.equal(marshal(arg));
        },
      ),
    );
  });

  it("for all events the chaincode emits, the adapter decodes the values the EVM adapter would give", function () {
    fc.assert(
      fc.property(fc.array(fc.array(event, { minLength: 1, maxLength: 4 }), { maxLength: 4 }), (transactions) => {
        const raw = transactions.map((list, i) => ({
          blockNumber: 10 + Math.floor(i / 2),
          txId: `tx${i}`,
          eventName: CHAINCODE_EVENT,
          payload: Buffer.from(marshal(list)),
        }));

        const decoded = decodeChaincodeEvents(raw);

        const flat = transactions.flatMap((list, i) => list.map((e) => ({ ...e, tx: i })));
        expect(decoded).to.have.length(flat.length);
        decoded.forEach((d, k) => {
          const want = flat[k];
          expect(d.name).to.equal(want.name);
          expect(d.txHash).to.equal(`tx${want.tx}`);
          expect(d.blockNumber).to.equal(10 + Math.floor(want.tx / 2));
          for (const [f, kind] of Object.entries(SCHEMA[want.name])) {
            const v = want.args[f];
            const expected = kind === "account" ? getAddress(String(v)) : v;
            expect((d.args as Record<string, unknown>)[f], `${want.name}.${f}`).to.deep.equal(expected);
          }
        });
        // Positions as on EVM: log indexes count the events of each block.
        for (let k = 1; k < decoded.length; k++) {
          const [a, b] = [decoded[k - 1], decoded[k]];
          expect(b.blockNumber === a.blockNumber ? b.logIndex === a.logIndex + 1 : b.logIndex === 0).to.equal(true);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("an event with a missing field or an unknown name fails loudly instead of decoding wrong", function () {
    const bad = (list: unknown) => () =>
      decodeChaincodeEvents([
        { blockNumber: 1, txId: "t", eventName: CHAINCODE_EVENT, payload: Buffer.from(JSON.stringify(list)) },
      ]);
    expect(bad([{ name: "FundsAppropriated", args: { amount: "1" } }])).to.throw(/referenceDigest missing/);
    expect(bad([{ name: "Minted", args: {} }])).to.throw(/unknown event Minted/);
    expect(bad({ name: "FundsAppropriated" })).to.throw(/not a JSON array/);
    expect(
      decodeChaincodeEvents([{ blockNumber: 1, txId: "t", eventName: "other", payload: Buffer.from("x") }]),
    ).to.deep.equal([]);
  });
});
