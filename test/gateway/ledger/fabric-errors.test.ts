import { expect } from "chai";
import fc from "fast-check";
import { status } from "@grpc/grpc-js";
import { CommitError, CommitStatusError, EndorseError, GatewayError } from "@hyperledger/fabric-gateway";
// fabric-gateway exports SubmitError as a type only; the class is the one its Contract.submit throws.
import { SubmitError } from "@hyperledger/fabric-gateway/dist/submiterror";
import { LedgerConfigError, LedgerError, LedgerUnavailableError } from "../../../gateway/src/ledger";
import { classifyFabricError, ledgerErrorOf, parseRefusal } from "../../../gateway/src/ledger/fabric-errors";
import { marshal } from "../../../chaincode/src/marshal";
import { Refusal } from "../../../chaincode/src/refusal";
import { TX_ID as txId, clientError, grpcError as cause } from "../../fabric/client-errors";

function translate(err: unknown, phase: "submit" | "evaluate" = "submit"): Error {
  return ledgerErrorOf(classifyFabricError(err, phase), { operation: "approveCase", actor: "approver" }, err);
}

describe("Fabric adapter: error classification", function () {
  it("for all custom error names and arguments, the chaincode's refusal message gives back both", function () {
    const name = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,30}$/);
    const args = fc.dictionary(
      fc.stringMatching(/^[a-z][A-Za-z]{0,10}$/),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.bigInt({ min: 0n, max: 2n ** 64n })),
    );
    fc.assert(
      fc.property(name, args, fc.constantFrom("", "chaincode response 500, "), (code, a, prefix) => {
        const refusal = new Refusal(code, Object.keys(a).length ? a : undefined);
        const parsed = parseRefusal(`${prefix}${refusal.message}`);
        expect(parsed?.code).to.equal(code);
        expect(parsed?.args).to.deep.equal(Object.keys(a).length ? JSON.parse(marshal(a)) : {});
      }),
    );
  });

  it("an EndorseError whose details carry RL:<Error> is a LedgerError with that code and its arguments", function () {
    const msg = 'chaincode response 500, RL:LedgerUnauthorizedRole {"account":"0xabc","roles":4}';
    const err = clientError(
      EndorseError,
      status.ABORTED,
      "10 ABORTED: failed to endorse transaction, see attached details for more info",
      [msg],
    );

    const translated = translate(err);

    expect(translated).to.be.instanceOf(LedgerError);
    expect(translated).to.include({ code: "LedgerUnauthorizedRole", operation: "approveCase", actor: "approver" });
    expect((translated as LedgerError).args).to.deep.equal({ account: "0xabc", roles: 4 });
  });

  it("a refusal on evaluate (a GatewayError with UNKNOWN) is a LedgerError too", function () {
    const msg = "evaluate call to endorser returned error: chaincode response 500, RL:LedgerUnknownAnchor";
    const err = clientError(GatewayError, status.UNKNOWN, msg, [msg]);

    expect(translate(err, "evaluate")).to.include({ name: "LedgerError", code: "LedgerUnknownAnchor" });
  });

  it("a chaincode failure without RL: (a dispatch error) is a LedgerError 'Error' with the message", function () {
    const msg = "chaincode response 500, You've asked to invoke a function that does not exist: nope";
    const err = clientError(EndorseError, status.ABORTED, "10 ABORTED", [msg]);

    const translated = translate(err) as LedgerError;

    expect(translated.code).to.equal("Error");
    expect(String(translated.args.message)).to.contain("does not exist");
  });

  const unavailable: [string, () => Error, string, string | undefined][] = [
    [
      "EndorseError UNAVAILABLE",
      () => clientError(EndorseError, status.UNAVAILABLE, "14 UNAVAILABLE: No connection established"),
      "unreachable",
      txId,
    ],
    ["SubmitError DEADLINE_EXCEEDED", () => clientError(SubmitError, status.DEADLINE_EXCEEDED), "timeout", txId],
    [
      "CommitStatusError DEADLINE_EXCEEDED",
      () => clientError(CommitStatusError, status.DEADLINE_EXCEEDED),
      "timeout",
      txId,
    ],
    [
      "GatewayError RESOURCE_EXHAUSTED",
      () => clientError(GatewayError, status.RESOURCE_EXHAUSTED),
      "unreachable",
      undefined,
    ],
  ];
  for (const [label, make, reason, hash] of unavailable) {
    it(`${label} is a LedgerUnavailableError (${reason}) carrying the transaction id`, function () {
      const translated = translate(make());
      expect(translated).to.be.instanceOf(LedgerUnavailableError);
      expect(translated).to.include({ reason, operation: "approveCase", txHash: hash });
    });
  }

  it("the phase of a failure comes from fabric-gateway's error class: only an endorsement sent nothing", function () {
    const [endorse, submit, commitStatus] = [EndorseError, SubmitError, CommitStatusError].map((Kind) =>
      classifyFabricError(clientError(Kind, status.UNAVAILABLE), "submit"),
    );
    expect([endorse, submit, commitStatus].map((f) => f.kind === "unavailable" && f.phase)).to.deep.equal([
      "endorse",
      "submit",
      "commitStatus",
    ]);
  });

  it("a CommitError with an MVCC or phantom conflict is a retryable conflict; other codes are refusals", function () {
    const mvcc = new CommitError({ code: 11, transactionId: txId, message: "MVCC_READ_CONFLICT" });
    const phantom = new CommitError({ code: 12, transactionId: txId, message: "PHANTOM_READ_CONFLICT" });
    const policy = new CommitError({ code: 10, transactionId: txId, message: "ENDORSEMENT_POLICY_FAILURE" });

    expect(classifyFabricError(mvcc, "submit").kind).to.equal("conflict");
    expect(classifyFabricError(phantom, "submit").kind).to.equal("conflict");
    const refused = translate(policy) as LedgerError;
    expect(refused).to.be.instanceOf(LedgerError);
    expect(refused).to.include({ code: "TransactionReverted", txHash: txId });
    expect(refused.args).to.deep.equal({ validationCode: 10 });
  });

  it("a refused identity, an unknown channel or chaincode is a LedgerConfigError", function () {
    for (const code of [status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.NOT_FOUND, status.UNIMPLEMENTED]) {
      const err = clientError(GatewayError, code, `${code} denied`);
      expect(translate(err), `gRPC status ${code}`).to.be.instanceOf(LedgerConfigError);
    }
  });

  it("a bare gRPC status error (no fabric-gateway class) is classified by its code", function () {
    expect(translate(cause(status.UNAVAILABLE, "14 UNAVAILABLE"), "evaluate")).to.include({
      name: "LedgerUnavailableError",
      reason: "unreachable",
    });
    expect(translate(cause(status.DEADLINE_EXCEEDED, "4 DEADLINE_EXCEEDED"), "evaluate")).to.include({
      reason: "timeout",
    });
  });
});
