import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet, ethers } from "ethers";
import { attach, deployLedger, loadArtifact } from "../lib/deploy";
import { startAnvil } from "../lib/anvil";
import { Role } from "../lib/roles";

const EIP170_LIMIT = 24_576;
// anvil's first well-known development account (public; local chains only).
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

describe("deployment", () => {
  for (const name of ["InstitutionRegistry", "ReliefLedger", "ReceiptBook", "AnchorLog", "VoucherBook"]) {
    it(`${name}: runtime code fits the EIP-170 limit of ${EIP170_LIMIT} bytes`, () => {
      const size = (loadArtifact(name).deployedBytecode.length - 2) / 2;
      expect(size).to.be.greaterThan(0).and.at.most(EIP170_LIMIT);
    });
  }

  it("deployLedger on anvil: contracts are wired and survive a restart from the state file", async function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-anvil-"));
    const stateFile = path.join(dir, "state.json");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    let node = await startAnvil({ port, stateFile });
    try {
      const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
      const signer = new NonceManager(new Wallet(DEV_KEY, provider));
      const { addresses } = await deployLedger(signer);
      const registry = attach("InstitutionRegistry", addresses.registry, signer);
      const ledger = attach("ReliefLedger", addresses.ledger, signer);
      const receipts = attach("ReceiptBook", addresses.receipts, signer);
      expect(await ledger.getFunction("registry")()).to.equal(addresses.registry);
      expect(await receipts.getFunction("registry")()).to.equal(addresses.registry);
      // The voucher book is linked: the ledger trusts it, and it reads that ledger.
      const vouchers = attach("VoucherBook", addresses.vouchers, signer);
      expect(await ledger.getFunction("voucherBook")()).to.equal(addresses.vouchers);
      expect(await vouchers.getFunction("ledger")()).to.equal(addresses.ledger);
      const caseworker = Wallet.createRandom().address;
      await (
        await registry.getFunction("registerInstitution")(caseworker, Role.Caseworker, 110105001000n, ethers.id("k"))
      ).wait();
      provider.destroy();

      await node.stop();
      node = await startAnvil({ port, stateFile });
      const again = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
      const restored = attach("InstitutionRegistry", addresses.registry, again);
      const inst = await restored.getFunction("institution")(caseworker);
      expect(inst.role).to.equal(BigInt(Role.Caseworker));
      expect(inst.region).to.equal(110105001000n);
      again.destroy();
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
