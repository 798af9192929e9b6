import { ContractFactory, type BaseContract, type ContractRunner, type Signer } from "ethers";
import fs from "node:fs";
import path from "node:path";

/**
 * Deploys the ledger contracts from Hardhat's compiled artifacts with plain ethers, so that the same
 * code deploys to Hardhat's in-process network, to anvil and to a consortium chain.
 */
const ARTIFACTS = path.join(__dirname, "..", "artifacts", "contracts");

const SOURCES: Record<string, string> = {
  InstitutionRegistry: "access/InstitutionRegistry.sol",
  ReliefLedger: "ReliefLedger.sol",
  ReceiptBook: "receipts/ReceiptBook.sol",
  AnchorLog: "anchoring/AnchorLog.sol",
  VoucherBook: "vouchers/VoucherBook.sol",
};

export interface Artifact {
  contractName: string;
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
}

export function loadArtifact(name: keyof typeof SOURCES | string): Artifact {
  const source = SOURCES[name];
  if (!source) throw new Error(`unknown contract ${name}`);
  const file = path.join(ARTIFACTS, source, `${name}.json`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npx hardhat compile" first`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Artifact;
}

export interface LedgerAddresses {
  registry: string;
  ledger: string;
  receipts: string;
  anchors: string;
  /** The voucher book (issue 9); a deployment file from before it lacks this and is refused (redeploy). */
  vouchers: string;
}

export interface Deployment {
  chainId: bigint;
  addresses: LedgerAddresses;
  deployedAtBlock: number;
}

async function deploy(name: string, signer: Signer, args: unknown[]): Promise<BaseContract> {
  const a = loadArtifact(name);
  const contract = await new ContractFactory(a.abi as never, a.bytecode, signer).deploy(...args);
  await contract.waitForDeployment();
  return contract;
}

/**
 * Deploys registry, ledger, receipt book, anchor log and voucher book, and links the voucher book to the ledger
 * (the registry's owner does that, once); `admin` owns the registry and must then be `signer` or sign the link
 * itself: pass `adminSigner`.
 */
export async function deployLedger(signer: Signer, admin?: string, adminSigner?: Signer): Promise<Deployment> {
  const provider = signer.provider;
  if (!provider) throw new Error("signer has no provider");
  const owner = adminSigner ?? signer;
  if (admin !== undefined && admin.toLowerCase() !== (await owner.getAddress()).toLowerCase()) {
    throw new Error(`the registry's owner ${admin} links the voucher book: pass its signer as adminSigner`);
  }
  const deployedAtBlock = await provider.getBlockNumber();
  const registry = await deploy("InstitutionRegistry", signer, [admin ?? (await signer.getAddress())]);
  const registryAddress = await registry.getAddress();
  const ledger = await deploy("ReliefLedger", signer, [registryAddress]);
  const ledgerAddress = await ledger.getAddress();
  const receipts = await deploy("ReceiptBook", signer, [registryAddress, ledgerAddress]);
  const anchors = await deploy("AnchorLog", signer, [registryAddress]);
  const vouchers = await deploy("VoucherBook", signer, [registryAddress, ledgerAddress]);
  const vouchersAddress = await vouchers.getAddress();
  const link = await (ledger.connect(owner) as BaseContract).getFunction("linkVoucherBook")(vouchersAddress);
  await link.wait();
  return {
    chainId: (await provider.getNetwork()).chainId,
    deployedAtBlock,
    addresses: {
      registry: registryAddress,
      ledger: ledgerAddress,
      receipts: await receipts.getAddress(),
      anchors: await anchors.getAddress(),
      vouchers: vouchersAddress,
    },
  };
}

/** A contract object for a deployed address. */
export function attach(name: string, address: string, runner: ContractRunner) {
  const a = loadArtifact(name);
  return new ContractFactory(a.abi as never, a.bytecode).attach(address).connect(runner);
}
