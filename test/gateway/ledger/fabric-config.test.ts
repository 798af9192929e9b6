import { expect } from "chai";
import { getAddress } from "ethers";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fabricAccount } from "../../../lib/fabric-identity";
import { LedgerConfigError } from "../../../gateway/src/ledger";
import { ledgerKind, loadFabricConfig, openFabricLedger } from "../../../gateway/src/ledger/fabric-config";
import { InMemoryPeer, type PeerIdentity } from "../../chaincode/peer";

describe("Fabric ledger configuration", function () {
  let dir: string;
  let approver: PeerIdentity;
  let keeper: PeerIdentity;
  let env: Record<string, string>;

  before(async function () {
    const peer = await InMemoryPeer.start();
    approver = await peer.identity("approver", { role: "approver", region: "110105" });
    keeper = await peer.identity("keeper", { role: "keeper", region: "0" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-fabric-config-"));
    const write = (name: string, text: string, mode = 0o600) => {
      fs.writeFileSync(path.join(dir, name), text, { mode });
      return name;
    };
    env = {
      RELIEF_LEDGER: "fabric",
      RELIEF_FABRIC_PEER_ENDPOINT: "peer0.civil-affairs.example:7051",
      RELIEF_FABRIC_TLS_CA: write("tls-ca.pem", approver.certificate, 0o644),
      RELIEF_FABRIC_PEER_HOST_ALIAS: "peer0",
      RELIEF_FABRIC_MSP_ID: "Org1MSP",
      RELIEF_FABRIC_CERT_APPROVER: write("approver.pem", approver.certificate, 0o644),
      RELIEF_FABRIC_KEY_APPROVER: write("approver.key", approver.privateKeyPem),
      RELIEF_FABRIC_CERT_KEEPER: write("keeper.pem", keeper.certificate, 0o644),
      RELIEF_FABRIC_KEY_KEEPER: write("keeper.key", keeper.privateKeyPem),
      RELIEF_FABRIC_COMMIT_TIMEOUT_MS: "30000",
    };
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("RELIEF_LEDGER chooses the ledger: evm by default, fabric, nothing else", function () {
    expect(ledgerKind({})).to.equal("evm");
    expect(ledgerKind({ RELIEF_LEDGER: "Fabric" })).to.equal("fabric");
    expect(() => ledgerKind({ RELIEF_LEDGER: "besu" })).to.throw(LedgerConfigError);
  });

  it("reads the connection, the per-actor identities and the deadlines, with defaults", function () {
    const config = loadFabricConfig(env, dir);

    expect(config.connection).to.include({
      peerEndpoint: "peer0.civil-affairs.example:7051",
      peerHostAlias: "peer0",
      mspId: "Org1MSP",
      channel: "relief",
      chaincode: "relief",
      contract: "relief",
      commitStatusTimeoutMs: 30_000,
      evaluateTimeoutMs: 5_000,
    });
    expect(Object.keys(config.identities).sort()).to.deep.equal(["approver", "keeper"]);
    expect(config.identities.approver.certificate.toString()).to.equal(approver.certificate);
    expect(config.retries).to.equal(3);
  });

  it("opens one FabricLedger whose actors are the configured identities", async function () {
    const ledger = openFabricLedger(loadFabricConfig(env, dir));
    try {
      expect(ledger.actors().sort()).to.deep.equal(["approver", "keeper"]);
      expect(ledger.accountOf("keeper")).to.equal(getAddress(fabricAccount("Org1MSP", keeper.certificate)));
    } finally {
      await ledger.close();
    }
  });

  it("reads hyphenated actors (the gateway's own) from the identities file, paths relative to it", function () {
    fs.mkdirSync(path.join(dir, "ids"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, "ids", "identities.json"),
      JSON.stringify({ "gateway-anchorer": { certificate: "../keeper.pem", privateKey: "../keeper.key" } }),
    );
    const config = loadFabricConfig({ ...env, RELIEF_FABRIC_IDENTITIES: "ids/identities.json" }, dir);

    expect(Object.keys(config.identities).sort()).to.deep.equal(["approver", "gateway-anchorer", "keeper"]);
    expect(config.identities["gateway-anchorer"].certificate.toString()).to.equal(keeper.certificate);
    fs.writeFileSync(path.join(dir, "ids", "identities.json"), JSON.stringify({ x: { certificate: "a" } }));
    expect(() => loadFabricConfig({ ...env, RELIEF_FABRIC_IDENTITIES: "ids/identities.json" }, dir)).to.throw(
      LedgerConfigError,
      /needs "certificate" and "privateKey"/,
    );
  });

  const broken: [string, (e: Record<string, string | undefined>) => void, RegExp][] = [
    ["no peer endpoint", (e) => delete e.RELIEF_FABRIC_PEER_ENDPOINT, /RELIEF_FABRIC_PEER_ENDPOINT is required/],
    ["an endpoint that is a URL", (e) => (e.RELIEF_FABRIC_PEER_ENDPOINT = "grpcs://peer0:7051"), /host:port/],
    ["no TLS CA", (e) => delete e.RELIEF_FABRIC_TLS_CA, /RELIEF_FABRIC_TLS_CA is required/],
    ["no MSP ID", (e) => delete e.RELIEF_FABRIC_MSP_ID, /RELIEF_FABRIC_MSP_ID/],
    ["a certificate without its key", (e) => delete e.RELIEF_FABRIC_KEY_KEEPER, /RELIEF_FABRIC_KEY_KEEPER is not/],
    ["a key without its certificate", (e) => delete e.RELIEF_FABRIC_CERT_KEEPER, /RELIEF_FABRIC_CERT_KEEPER is not/],
    ["a missing file", (e) => (e.RELIEF_FABRIC_CERT_KEEPER = "nope.pem"), /cannot read/],
    ["a zero deadline", (e) => (e.RELIEF_FABRIC_EVALUATE_TIMEOUT_MS = "0"), /positive integer/],
  ];
  for (const [label, change, message] of broken) {
    it(`refuses ${label}`, function () {
      const e: Record<string, string | undefined> = { ...env };
      change(e);
      expect(() => loadFabricConfig(e, dir)).to.throw(LedgerConfigError, message);
    });
  }

  it("refuses a key file that group or others may read", function () {
    fs.chmodSync(path.join(dir, "keeper.key"), 0o640);
    try {
      expect(() => loadFabricConfig(env, dir)).to.throw(LedgerConfigError, /chmod 600/);
    } finally {
      fs.chmodSync(path.join(dir, "keeper.key"), 0o600);
    }
  });

  it("opening a ledger with no identity is a configuration error", function () {
    const e = { ...env };
    for (const k of Object.keys(e)) if (/^RELIEF_FABRIC_(CERT|KEY)_/.test(k)) delete e[k as keyof typeof e];
    expect(() => openFabricLedger(loadFabricConfig(e, dir))).to.throw(LedgerConfigError, /no Fabric identity/);
  });
});
