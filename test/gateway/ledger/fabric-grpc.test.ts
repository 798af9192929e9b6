import { expect } from "chai";
import { getAddress } from "ethers";
import { status } from "@grpc/grpc-js";
import { fabricAccount } from "../../../lib/fabric-identity";
import { LedgerConfigError, LedgerError, LedgerUnavailableError } from "../../../gateway/src/ledger";
import { FabricLedger } from "../../../gateway/src/ledger/fabric";
import { FabricConnection, type FabricGrpcOptions } from "../../../gateway/src/ledger/fabric-grpc";
import { InMemoryPeer, type PeerIdentity } from "../../chaincode/peer";
import { INSTITUTIONS, registerInstitutions } from "../../conformance/institutions";
import { gatewayTransports, grpcOptions, rejection, storyPeer } from "../../fabric/fixture";
import type { FabricGatewayServer } from "../../fabric/gateway-server";
import { DIBAO, REGION, digest, freePort } from "./anvil";

/**
 * The production transport (fabric-gateway 1.11 over one grpc-js client) against a real gRPC server speaking the
 * Gateway service in front of the in-memory peer: deadlines, commit status, the real fabric-gateway errors for
 * refusals and faults, retries, and chaincode events with checkpointed resumption.
 */
describe("FabricGrpcTransport: fabric-gateway over gRPC", function () {
  this.timeout(60_000);
  let peer: InMemoryPeer;
  let server: FabricGatewayServer;
  let connection: FabricConnection;
  let ledger: FabricLedger;
  let identities: PeerIdentity[];
  let counter = 0;
  const options = (endpoint: string): FabricGrpcOptions => ({
    ...grpcOptions(endpoint),
    evaluateTimeoutMs: 500,
    endorseTimeoutMs: 2_000,
    submitTimeoutMs: 500,
    commitStatusTimeoutMs: 500,
  });

  before(async function () {
    ({ peer, identities } = await storyPeer());
    const grpc = await gatewayTransports(peer, identities, options);
    ({ server, connection } = grpc);
    ledger = new FabricLedger({ actors: grpc.transports, retryBackoffMs: 1, retries: 2 });
    await registerInstitutions(ledger);
    await ledger.createProgramme("approver", DIBAO);
  });

  after(async function () {
    await ledger?.close();
    await server?.stop();
  });

  const submission = () => {
    counter += 1;
    return {
      caseId: digest(`grpc:case:${counter}`),
      programmeId: 1,
      region: REGION.township,
      pseudonym: digest(`grpc:p:${counter}`),
      recordDigest: digest(`grpc:r:${counter}`),
    };
  };

  it("a write is endorsed, submitted and its commit status read; the reply and block come back", async function () {
    const before = { ...server.calls };
    const height = peer.blockHeight();

    const tx = await ledger.submitCase("caseworker", submission());

    expect(server.calls.Endorse - before.Endorse).to.equal(1);
    expect(server.calls.Submit - before.Submit).to.equal(1);
    expect(server.calls.CommitStatus - before.CommitStatus).to.equal(1);
    expect(tx.blockNumber).to.equal(height);
    expect(tx.txHash).to.match(/^[0-9a-f]{64}$/);
    expect(await ledger.blockNumber()).to.equal(height); // qscc GetChainInfo
  });

  it("the account of a transport is lib/fabric-identity's account of its certificate", function () {
    const approver = identities.find((i) => i.name === "approver")!;
    expect(ledger.accountOf("approver")).to.equal(getAddress(fabricAccount("Org1MSP", approver.certificate)));
  });

  it("a refusal at endorsement arrives as fabric-gateway's EndorseError with details and becomes a LedgerError", async function () {
    const s = submission();
    await ledger.submitCase("caseworker", s);

    const err = (await rejection(ledger.submitCase("caseworker", s))) as LedgerError;

    expect(err).to.be.instanceOf(LedgerError);
    expect(err.code).to.equal("LedgerCaseExists");
    expect(err.args).to.deep.equal({ caseId: s.caseId });
    expect((err.cause as Error).name).to.equal("EndorseError");
  });

  it("a refusal on evaluate is a LedgerError too", async function () {
    const err = (await rejection(ledger.anchorAt(9))) as LedgerError;
    expect(err.code).to.equal("LedgerUnknownAnchor");
    expect((err.cause as Error).name).to.equal("GatewayError");
  });

  it("a query the peer never answers ends at its deadline: unavailable (timeout)", async function () {
    server.inject("Evaluate", { silent: true });

    const err = await rejection(ledger.caseCount());

    expect(err).to.be.instanceOf(LedgerUnavailableError);
    expect(err).to.include({ reason: "timeout", operation: "caseCount" });
  });

  it("an endorsement that fails UNAVAILABLE is retried and the write committed once", async function () {
    const count = await ledger.caseCount();
    server.inject("Endorse", { code: status.UNAVAILABLE, message: "peer restarting" });
    const before = server.calls.Endorse;

    await ledger.submitCase("caseworker", submission());

    expect(server.calls.Endorse - before).to.equal(2);
    expect(await ledger.caseCount()).to.equal(count + 1);
  });

  it("a submit that fails UNAVAILABLE is not re-sent: unavailable, with the transaction id", async function () {
    server.inject("Submit", { code: status.UNAVAILABLE, message: "orderer unreachable" });
    const before = server.calls.Endorse;

    const err = await rejection(ledger.submitCase("caseworker", submission()));

    expect(err).to.be.instanceOf(LedgerUnavailableError);
    expect(err).to.include({ reason: "unreachable" });
    expect((err as LedgerUnavailableError).txHash).to.match(/^[0-9a-f]{64}$/);
    expect(server.calls.Endorse - before).to.equal(1);
  });

  it("a commit status past its deadline is a timeout; the transaction may have committed (reconcile)", async function () {
    const count = await ledger.caseCount();
    server.inject("CommitStatus", { silent: true });

    const err = await rejection(ledger.submitCase("caseworker", submission()));

    expect(err).to.be.instanceOf(LedgerUnavailableError);
    expect(err).to.include({ reason: "timeout" });
    expect(await ledger.caseCount()).to.equal(count + 1);
  });

  it("an MVCC conflict in the commit status is endorsed again; an endorsement policy failure is refused", async function () {
    const count = await ledger.caseCount();
    server.invalidateNext(11);
    const before = server.calls.Endorse;

    await ledger.submitCase("caseworker", submission());

    expect(server.calls.Endorse - before).to.equal(2);
    expect(await ledger.caseCount()).to.equal(count + 1);

    server.invalidateNext(10);
    const err = (await rejection(ledger.submitCase("caseworker", submission()))) as LedgerError;
    expect(err).to.be.instanceOf(LedgerError);
    expect(err.code).to.equal("TransactionReverted");
    expect(err.args).to.deep.equal({ validationCode: 10 });
  });

  it("events come from the chaincode event stream, with timestamps from qscc", async function () {
    const events = await ledger.events(1, undefined, { timestamps: true });

    expect(events.length).to.be.greaterThan(INSTITUTIONS.length);
    // The first write also makes the administrator the registry's owner (as the EVM deployment does).
    expect(events[0]).to.include({ name: "OwnershipTransferred", blockNumber: 1, logIndex: 0 });
    expect(events[1]).to.include({ name: "InstitutionRegistered", blockNumber: 1, logIndex: 1 });
    for (const e of events) expect(e.timestamp).to.equal(peer.block(e.blockNumber)!.timestamp);
    const last = await ledger.blockNumber();
    expect(await ledger.events(last + 1)).to.deep.equal([]);
    expect((await ledger.events(2, 3)).map((e) => e.blockNumber)).to.deep.equal([2, 3]);
  });

  it("an event stream lost mid-way resumes from its checkpoint: no event missing, none twice", async function () {
    const whole = await ledger.events(1);
    server.dropEventStreamAfter = 3;
    const before = server.calls.ChaincodeEvents;

    const resumed = await ledger.events(1);

    expect(server.calls.ChaincodeEvents - before).to.equal(2);
    expect(resumed).to.deep.equal(whole);
  });

  it("an identity the network does not know is refused: a configuration error", async function () {
    const outsider = await InMemoryPeer.start({ mspId: "Org1MSP" }).then((p) =>
      p.identity("outsider", { role: "caseworker", region: REGION.township.toString() }),
    );
    const stranger = new FabricLedger({
      actors: {
        outsider: connection.transport({ certificate: outsider.certificate, privateKey: outsider.privateKeyPem }),
      },
    });

    expect(await rejection(stranger.caseCount())).to.be.instanceOf(LedgerConfigError);
  });

  it("a peer that cannot be reached is unavailable (unreachable)", async function () {
    const port = await freePort();
    const closed = new FabricConnection(options(`127.0.0.1:${port}`));
    const admin = identities[0];
    const offline = new FabricLedger({
      actors: { admin: closed.transport({ certificate: admin.certificate, privateKey: admin.privateKeyPem }) },
    });
    try {
      const err = await rejection(offline.caseCount());
      expect(err).to.be.instanceOf(LedgerUnavailableError);
      expect((err as LedgerUnavailableError).reason).to.be.oneOf(["unreachable", "timeout"]);
    } finally {
      await offline.close();
    }
  });

  it("a connection needs a TLS CA unless explicitly insecure; a key must be a PEM private key", function () {
    const { insecure: _insecure, ...secure } = options(server.endpoint);
    expect(() => new FabricConnection(secure)).to.throw(LedgerConfigError, /TLS CA/);
    expect(() => connection.transport({ certificate: identities[0].certificate, privateKey: "not a key" })).to.throw(
      LedgerConfigError,
    );
  });
});
