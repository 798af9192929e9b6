import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ADMIN_ROLE_ATTRIBUTE, roleAttribute } from "../../../lib/fabric-identity";
import { Role } from "../../../lib/roles";
import { LedgerUnavailableError } from "../../../gateway/src/ledger";
import { loadFabricConfig, openFabricLedger } from "../../../gateway/src/ledger/fabric-config";
import { InMemoryPeer, type PeerIdentity } from "../../chaincode/peer";
import { FabricGatewayServer } from "../../fabric/gateway-server";
import { tlsMaterial, type TlsMaterial } from "../../fabric/tls";
import { DIBAO, REGION, digest } from "./anvil";

const HOST = "peer0.relief.test";

/**
 * The gateway's Fabric configuration end to end: `RELIEF_FABRIC_*` variables and files → `openFabricLedger` → TLS
 * to a Gateway service whose certificate names another host (hence `RELIEF_FABRIC_PEER_HOST_ALIAS`) → the chaincode.
 */
describe("Fabric ledger from the environment, over TLS", function () {
  this.timeout(60_000);
  let dir: string;
  let peer: InMemoryPeer;
  let server: FabricGatewayServer;
  let tls: TlsMaterial;
  let env: Record<string, string>;

  before(async function () {
    peer = await InMemoryPeer.start();
    const ids: Record<string, PeerIdentity> = {
      admin: await peer.identity("admin", { role: ADMIN_ROLE_ATTRIBUTE, region: "0" }),
      approver: await peer.identity("approver", {
        role: roleAttribute(Role.Approver),
        region: REGION.county.toString(),
      }),
    };
    tls = await tlsMaterial(HOST);
    server = await FabricGatewayServer.start(peer, Object.values(ids), tls);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-fabric-tls-"));
    env = {
      RELIEF_LEDGER: "fabric",
      RELIEF_FABRIC_PEER_ENDPOINT: server.endpoint,
      RELIEF_FABRIC_TLS_CA: "tls-ca.pem",
      RELIEF_FABRIC_PEER_HOST_ALIAS: HOST,
      RELIEF_FABRIC_MSP_ID: peer.mspId,
      RELIEF_FABRIC_EVENTS_IDLE_MS: "200",
    };
    fs.writeFileSync(path.join(dir, "tls-ca.pem"), tls.caPem);
    for (const [actor, id] of Object.entries(ids)) {
      fs.writeFileSync(path.join(dir, `${actor}.pem`), id.certificate);
      fs.writeFileSync(path.join(dir, `${actor}.key`), id.privateKeyPem, { mode: 0o600 });
      env[`RELIEF_FABRIC_CERT_${actor.toUpperCase()}`] = `${actor}.pem`;
      env[`RELIEF_FABRIC_KEY_${actor.toUpperCase()}`] = `${actor}.key`;
    }
  });

  after(async function () {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("connects with the configured TLS CA and host alias, and writes and reads through the chaincode", async function () {
    const ledger = openFabricLedger(loadFabricConfig(env, dir));
    try {
      await ledger.connect();
      await ledger.registerInstitution("admin", {
        account: ledger.accountOf("approver"),
        role: Role.Approver,
        region: REGION.county,
        keyDigest: digest("approver-key"),
      });
      const { programmeId } = await ledger.createProgramme("approver", DIBAO);

      expect(await ledger.programme(programmeId)).to.deep.equal(DIBAO);
      expect((await ledger.institution(ledger.accountOf("approver"))).role).to.equal(Role.Approver);
      expect((await ledger.events(0)).map((e) => e.name)).to.include.members([
        "InstitutionRegistered",
        "ProgrammeCreated",
      ]);
    } finally {
      await ledger.close();
    }
  });

  it("a peer certificate from another TLS CA is refused: the chain is unavailable, nothing is sent", async function () {
    const other = await tlsMaterial(HOST);
    fs.writeFileSync(path.join(dir, "other-ca.pem"), other.caPem);
    const ledger = openFabricLedger(loadFabricConfig({ ...env, RELIEF_FABRIC_TLS_CA: "other-ca.pem" }, dir));
    const before = server.calls.Evaluate;
    try {
      const err = await ledger.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(LedgerUnavailableError);
      expect(server.calls.Evaluate).to.equal(before);
    } finally {
      await ledger.close();
    }
  });

  it("without the host alias the certificate does not match the endpoint: unavailable", async function () {
    const { RELIEF_FABRIC_PEER_HOST_ALIAS: _alias, ...noAlias } = env;
    // By name (TLS sends no server name for an IP address).
    const byName = { ...noAlias, RELIEF_FABRIC_PEER_ENDPOINT: `localhost:${server.port}` };
    const ledger = openFabricLedger(loadFabricConfig(byName, dir));
    try {
      const err = await ledger.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(LedgerUnavailableError);
    } finally {
      await ledger.close();
    }
  });
});
