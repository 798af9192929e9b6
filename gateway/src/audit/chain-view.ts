/**
 * Read-only views of the ledger contracts at a given block, for audit bundles and the offline verifier: a bundle's
 * chain facts are a snapshot at its checkpoint's block, and a verifier run next month must compare them with the
 * chain's state at that block, not with today's. `EvmLedger` reads the latest state only; this reads through plain
 * `eth_call` with a block tag (a node keeps old state if it is an archive node; anvil and Hardhat keep all of it).
 *
 * It holds no keys and sends nothing. Connection failures become `LedgerUnavailableError("unreachable")`; a node
 * without the state of an old block answers with an error that {@link isMissingState} recognises, so that the
 * verifier can fall back to the latest state and say so.
 */
import { Contract, FetchRequest, JsonRpcProvider, Network, getAddress } from "ethers";
import { loadArtifact, type LedgerAddresses } from "../../../lib/deploy";
import type { AnchorRecord, CaseRecord, PayoutKey, PayoutState, ReceiptRecord } from "../ledger";
import { LedgerUnavailableError } from "../ledger";
import {
  decodeAnchor,
  decodeCaseRecord,
  decodePayoutKeys,
  decodePayoutState,
  decodeReceipt,
  hex,
  num,
  payoutKeyTuple,
} from "../ledger/evm-views";

/** `latest`, or a block number. */
export type BlockTag = number | "latest";

type ViewContract = "ledger" | "receipts" | "anchors" | "registry";

export class ChainView {
  readonly provider: JsonRpcProvider;
  readonly chainId: bigint;
  readonly addresses: Readonly<LedgerAddresses>;
  readonly #contracts: Record<ViewContract, Contract>;

  constructor(rpcUrl: string, chainId: bigint | number | string, addresses: LedgerAddresses, timeoutMs = 10_000) {
    this.chainId = BigInt(chainId);
    this.addresses = Object.freeze({ ...addresses });
    const request = new FetchRequest(rpcUrl);
    request.timeout = timeoutMs;
    const network = Network.from(this.chainId);
    this.provider = new JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1 });
    const at = (name: string, address: string) =>
      new Contract(getAddress(address), loadArtifact(name).abi as never, this.provider);
    this.#contracts = {
      ledger: at("ReliefLedger", addresses.ledger),
      receipts: at("ReceiptBook", addresses.receipts),
      anchors: at("AnchorLog", addresses.anchors),
      registry: at("InstitutionRegistry", addresses.registry),
    };
  }

  async #call(contract: ViewContract, fn: string, args: unknown[], at: BlockTag) {
    try {
      return await this.#contracts[contract].getFunction(fn).staticCall(...args, { blockTag: at });
    } catch (error) {
      throw unavailable(fn, error);
    }
  }

  /** The chain id the node reports. */
  async nodeChainId(): Promise<bigint> {
    try {
      return BigInt(await this.provider.send("eth_chainId", []));
    } catch (error) {
      throw unavailable("chainId", error);
    }
  }

  async blockNumber(): Promise<number> {
    try {
      return Number(BigInt(await this.provider.send("eth_blockNumber", [])));
    } catch (error) {
      throw unavailable("blockNumber", error);
    }
  }

  /** The key digest the registry holds for an institution account (zero if none is registered). */
  async institutionKeyDigest(account: string, at: BlockTag = "latest"): Promise<string> {
    const i = await this.#call("registry", "institution", [getAddress(account)], at);
    return hex(i.keyDigest);
  }

  /** Whether contract code exists at `address` (at `at`). */
  async hasCode(address: string, at: BlockTag = "latest"): Promise<boolean> {
    try {
      const code = await this.provider.getCode(address, at);
      return code !== "0x";
    } catch (error) {
      throw unavailable("getCode", error);
    }
  }

  async anchorCount(at: BlockTag = "latest"): Promise<number> {
    return num(await this.#call("anchors", "anchorCount", [], at));
  }

  async anchorAt(sequence: number, at: BlockTag = "latest"): Promise<AnchorRecord> {
    return decodeAnchor(await this.#call("anchors", "anchorAt", [sequence], at));
  }

  /** `AnchorLog.verifyInclusion` (latest state: anchors never change). */
  async verifyInclusion(sequence: number, index: number, recordDigest: string, proof: readonly string[]) {
    return Boolean(
      await this.#call("anchors", "verifyInclusion", [sequence, index, recordDigest, [...proof]], "latest"),
    );
  }

  async caseRecord(caseId: string, at: BlockTag = "latest"): Promise<CaseRecord | null> {
    return decodeCaseRecord(await this.#call("ledger", "caseRecord", [caseId], at));
  }

  async casePayouts(caseId: string, at: BlockTag = "latest"): Promise<PayoutKey[]> {
    return decodePayoutKeys(await this.#call("ledger", "casePayouts", [caseId], at));
  }

  async payoutStatus(key: PayoutKey, at: BlockTag = "latest"): Promise<PayoutState> {
    return decodePayoutState(await this.#call("ledger", "payoutStatus", [payoutKeyTuple(key)], at));
  }

  async receiptOf(key: PayoutKey, at: BlockTag = "latest"): Promise<ReceiptRecord> {
    return decodeReceipt(await this.#call("receipts", "receiptOf", [payoutKeyTuple(key)], at));
  }

  async close(): Promise<void> {
    this.provider.destroy();
  }
}

function message(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string };
  return e?.shortMessage ?? e?.message ?? String(error);
}

function unavailable(operation: string, error: unknown): Error {
  if (error instanceof LedgerUnavailableError) return error;
  // A revert (a view that refused its arguments) is the caller's to interpret, not an outage.
  const code = (error as { code?: string })?.code;
  if (code === "CALL_EXCEPTION" || code === "BAD_DATA") return error as Error;
  return new LedgerUnavailableError("unreachable", message(error), { operation, cause: error });
}

/** Whether `error` says that the node does not hold the state of the block asked for (not an archive node). */
export function isMissingState(error: unknown): boolean {
  const text = `${message(error)} ${(error as { cause?: unknown })?.cause ? message((error as { cause: unknown }).cause) : ""}`;
  return /missing trie node|header not found|state.*not available|pruned|historical state|unknown block/i.test(text);
}
