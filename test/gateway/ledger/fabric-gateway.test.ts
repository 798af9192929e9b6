import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { ADMIN_ROLE_ATTRIBUTE, roleAttribute } from "../../../lib/fabric-identity";
import { Role } from "../../../lib/roles";
import { loadGatewayConfig } from "../../../gateway/src/config";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import { FabricLedger } from "../../../gateway/src/ledger";
import { createLogger } from "../../../gateway/src/log";
import { type Gateway, openGateway } from "../../../gateway/src/server";
import { InMemoryPeer } from "../../chaincode/peer";
import { FabricGatewayServer } from "../../fabric/gateway-server";
import { tlsMaterial } from "../../fabric/tls";

const HOST = "peer0.relief.test";

/**
 * `RELIEF_LEDGER=fabric`: the gateway opens on the chaincode (through the production gRPC transport, over TLS, to the
 * test Gateway service in front of the in-memory peer) and its first-start bootstrap registers its own anchorer there.
 */
describe("The gateway on Fabric (RELIEF_LEDGER=fabric)", function () {
  this.timeout(60_000);
  const saved = { ...process.env };
  let dir: string;
  let server: FabricGatewayServer;
  let gateway: Gateway | undefined;

  before(async function () {
    const peer = await InMemoryPeer.start();
    const admin = await peer.identity("admin", { role: ADMIN_ROLE_ATTRIBUTE, region: "0" });
    const anchorer = await peer.identity(GATEWAY_ACTORS.anchorer, { role: roleAttribute(Role.Anchorer), region: "0" });
    const tls = await tlsMaterial(HOST);
    server = await FabricGatewayServer.start(peer, [admin, anchorer], tls);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-fabric-gateway-"));
    const file = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
      return path.join(dir, name);
    };
    fs.writeFileSync(
      path.join(dir, "identities.json"),
      JSON.stringify({
        [GATEWAY_ACTORS.anchorer]: {
          certificate: file("anchorer.pem", anchorer.certificate),
          privateKey: file("anchorer.key", anchorer.privateKeyPem),
        },
      }),
    );
    Object.assign(process.env, {
      RELIEF_LEDGER: "fabric",
      RELIEF_FABRIC_PEER_ENDPOINT: server.endpoint,
      RELIEF_FABRIC_TLS_CA: file("tls-ca.pem", tls.caPem),
      RELIEF_FABRIC_PEER_HOST_ALIAS: HOST,
      RELIEF_FABRIC_MSP_ID: peer.mspId,
      RELIEF_FABRIC_CERT_ADMIN: file("admin.pem", admin.certificate),
      RELIEF_FABRIC_KEY_ADMIN: file("admin.key", admin.privateKeyPem),
      RELIEF_FABRIC_IDENTITIES: path.join(dir, "identities.json"),
      RELIEF_FABRIC_EVENTS_IDLE_MS: "200",
    });
  });

  after(async function () {
    await gateway?.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("opens on the chaincode, and the bootstrap registers the gateway's anchorer on it", async function () {
    const config = loadGatewayConfig(
      { RELIEF_DATA_DIR: path.join(dir, "data"), RELIEF_SQLITE_PATH: path.join(dir, "relief.sqlite") },
      dir,
    );
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    gateway = await openGateway({
      config,
      rpcUrl: "http://127.0.0.1:1",
      anchoring: false,
      log: createLogger({ level: "silent", destination: sink }),
    });
    const ledger = gateway.ctx.ledger;

    expect(ledger).to.be.instanceOf(FabricLedger);
    expect(gateway.bootstrap.adminKeyFile).to.be.a("string");
    const anchorer = await ledger.institution(ledger.accountOf(GATEWAY_ACTORS.anchorer));
    expect(anchorer).to.include({ role: Role.Anchorer, active: true, region: 0n });
    const row = await gateway.ctx.store.getInstitution(GATEWAY_ACTORS.anchorer);
    expect(row?.account).to.equal(ledger.accountOf(GATEWAY_ACTORS.anchorer));
    expect((await ledger.events(0)).map((e) => e.name)).to.deep.equal([
      "OwnershipTransferred",
      "InstitutionRegistered",
    ]);
  });
});
