import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import {
  EVM_DEFAULTS,
  LedgerConfigError,
  evmLedgerOptions,
  loadEvmTuning,
  loadLedgerConfig,
} from "../../../gateway/src/ledger";

const ADDRESSES = {
  registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  ledger: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
  receipts: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
  anchors: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
  vouchers: "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
};

describe("ledger configuration", function () {
  let dir: string;
  const keyA = Wallet.createRandom().privateKey;
  const keyB = Wallet.createRandom().privateKey;

  /** Writes a file under the temporary directory with `mode`; returns its path. */
  function write(name: string, content: string, mode = 0o600): string {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    return file;
  }

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-ledger-config-"));
    // As scripts/start.ts writes it: the chain id as a string.
    write(".relief/deployment.json", JSON.stringify({ chainId: "31337", addresses: ADDRESSES, deployedAtBlock: 0 }));
  });

  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("defaults: npm start's deployment file, the local RPC URL, the documented limits, no keys", function () {
    const config = loadLedgerConfig({}, dir);

    expect(config.deploymentFile).to.equal(path.join(dir, ".relief", "deployment.json"));
    expect(config.chainId).to.equal(31337n);
    expect(config.rpcUrl).to.equal("http://127.0.0.1:8545");
    expect(config.deployment.addresses.ledger).to.equal("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    expect(config.actorKeys).to.deep.equal({});
    expect(config).to.include({
      rpcTimeoutMs: EVM_DEFAULTS.rpcTimeoutMs,
      receiptTimeoutMs: EVM_DEFAULTS.receiptTimeoutMs,
      payoutChunkSize: 1_000,
      settlementChunkSize: 500,
    });
    expect(config.txGasCap).to.equal(16_777_216n);
  });

  it("deadlines and batch sizes from the environment, the same for the gateway as for the tools", function () {
    const env = { RELIEF_RPC_TIMEOUT_MS: "1500", RELIEF_TX_TIMEOUT_MS: "9000", RELIEF_PAYOUT_CHUNK: "250" };

    expect(loadEvmTuning(env)).to.include({ rpcTimeoutMs: 1_500, receiptTimeoutMs: 9_000, payoutChunkSize: 250 });
    expect(loadLedgerConfig(env, dir)).to.include(loadEvmTuning(env));
    expect(() => loadEvmTuning({ RELIEF_RPC_TIMEOUT_MS: "soon" })).to.throw(LedgerConfigError, /RELIEF_RPC_TIMEOUT_MS/);
  });

  it("keys: a JSON keys file, per-actor variables and key files; the environment wins", function () {
    const keysFile = write("secrets/keys.json", JSON.stringify({ anchorer: keyA, "county-finance": keyA }));
    const bFile = write("secrets/approver.key", `${keyB.slice(2)}\n`);

    const config = loadLedgerConfig(
      {
        RELIEF_CHAIN_KEYS_FILE: keysFile,
        RELIEF_CHAIN_KEY_ANCHORER: keyB,
        RELIEF_CHAIN_KEY_FILE_APPROVER: bFile,
        RELIEF_RPC_URL: "https://besu.example.org:8545",
        RELIEF_PAYOUT_CHUNK: "250",
      },
      dir,
    );

    expect(config.actorKeys).to.deep.equal({ anchorer: keyB, "county-finance": keyA, approver: keyB });
    expect(config.rpcUrl).to.equal("https://besu.example.org:8545");
    const options = evmLedgerOptions(config);
    expect(options).to.include({ rpcUrl: config.rpcUrl, payoutChunkSize: 250 });
    expect(options.chainId).to.equal(31337n);
    expect(options.addresses).to.equal(config.deployment.addresses);
  });

  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ["a missing deployment file", { RELIEF_DEPLOYMENT_FILE: "nowhere.json" }, /cannot read the deployment file/],
    ["a chain id that disagrees with the deployment", { RELIEF_CHAIN_ID: "1" }, /RELIEF_CHAIN_ID is 1 but/],
    ["a key that is not 32 bytes of hex", { RELIEF_CHAIN_KEY_ANCHORER: "0x1234" }, /RELIEF_CHAIN_KEY_ANCHORER is not/],
    ["a timeout that is not a positive integer", { RELIEF_RPC_TIMEOUT_MS: "soon" }, /RELIEF_RPC_TIMEOUT_MS must be/],
    ["an RPC URL that is not http(s)", { RELIEF_RPC_URL: "ws://127.0.0.1:8545" }, /not an http\(s\) URL/],
  ];
  for (const [circumstance, env, message] of refusals) {
    it(`refused at start-up: ${circumstance}`, function () {
      expect(() => loadLedgerConfig(env, dir)).to.throw(LedgerConfigError, message);
    });
  }

  it("refused at start-up: a keys file that group or others can read", function () {
    const keysFile = write("keys.json", JSON.stringify({ anchorer: keyA }), 0o644);

    expect(() => loadLedgerConfig({ RELIEF_CHAIN_KEYS_FILE: keysFile }, dir)).to.throw(LedgerConfigError, /chmod 600/);
  });

  it("refused at start-up: a deployment file with a malformed address", function () {
    const file = write("bad.json", JSON.stringify({ chainId: 1, addresses: { ...ADDRESSES, anchors: "0x12" } }));

    expect(() => loadLedgerConfig({ RELIEF_DEPLOYMENT_FILE: file }, dir)).to.throw(
      LedgerConfigError,
      /addresses.anchors/,
    );
  });

  it("refused at start-up: a deployment file from before the voucher book, with a message that says to redeploy", function () {
    const { vouchers: _, ...old } = ADDRESSES;
    const file = write("old.json", JSON.stringify({ chainId: 1, addresses: old }));

    expect(() => loadLedgerConfig({ RELIEF_DEPLOYMENT_FILE: file }, dir)).to.throw(
      LedgerConfigError,
      /addresses.vouchers is missing.*redeploy/,
    );
  });
});
