/**
 * `npm run verify -- <file.json> [--rpc URL] [--deployment FILE] [--since old-checkpoint.json]`
 *
 * The auditor's offline verifier (docs/PROOFS.md). `<file.json>` is any document the gateway exports:
 *
 * - an audit bundle (`relief-audit-bundle-v1`): every record digest recomputed from its header and envelope, every
 *   inclusion proof, every anchor's place in the signed checkpoint, the checkpoint's signature, and with `--rpc` the
 *   anchors, proofs, checkpoint root and chain facts against the chain;
 * - a receipt bundle (`relief-receipt-bundle-v1`), checked as `npm run verify-receipt` checks it;
 * - a checkpoint (`relief-checkpoint-v1`) or a consistency document (`relief-consistency-v1`).
 *
 * `--since` names a checkpoint you kept: the file's checkpoint must extend it (its own consistency proof, or with
 * `--rpc` one computed from the chain). `--deployment` pins the chain id and contracts (as `npm start` writes
 * `.relief/deployment.json`); without it they are taken from the file. Nothing is read but the file, the checkpoint
 * and the chain: no gateway, no database.
 *
 * Exit status: 0 valid (no check failed; offline, the checks that need the chain are listed as not run), 1 not
 * valid, 2 usage error or nothing could be checked (unreadable file, unreachable node).
 */
import fs from "node:fs";
import path from "node:path";
import { ZeroAddress, getAddress } from "ethers";
import type { LedgerAddresses } from "../lib/deploy";
import { ChainView } from "../gateway/src/audit/chain-view";
import { type Checkpoint, CheckpointError, parseCheckpoint } from "../gateway/src/audit/checkpoints";
import {
  type PinnedDeployment,
  type Verification,
  type VerifierChain,
  type VerifyOptions,
  documentKind,
  parseDocumentText,
  verifyDocument,
} from "../gateway/src/audit/verifier";
import { EvmLedger } from "../gateway/src/ledger";
import { loadDeployment } from "../gateway/src/ledger/config";
import { UsageError, readCli, rpcUrl } from "./cli";

const USAGE = `usage: npm run verify -- <file.json> [--rpc URL] [--deployment FILE] [--since CHECKPOINT.json]

  <file.json>         an audit bundle, a receipt bundle, a checkpoint or a consistency document
  --rpc URL           also check against the chain through this JSON-RPC node (read-only)
  --deployment FILE   pin the chain id and contracts (e.g. .relief/deployment.json); default: the file's own
  --since FILE        a checkpoint you kept: the file's checkpoint must extend it

exit status: 0 valid, 1 not valid, 2 usage error or nothing could be checked`;

interface Args {
  file: string;
  rpc?: string;
  deployment?: string;
  since?: string;
}

function parseArgs(argv: readonly string[]): Args | "help" {
  const cli = readCli(argv, ["rpc", "deployment", "since"]);
  if (cli === "help") return cli;
  const { options, positionals } = cli;
  if (positionals.length !== 1) throw new UsageError("give exactly one file to verify");
  const args: Args = { file: positionals[0], deployment: options.deployment, since: options.since };
  if (options.rpc !== undefined) args.rpc = rpcUrl(options.rpc);
  return args;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function readSince(file: string): Checkpoint {
  const parsed = parseDocumentText(read(file));
  if ("error" in parsed) throw new UsageError(`--since ${file}: ${parsed.error}`);
  try {
    return parseCheckpoint(parsed.value, "--since");
  } catch (error) {
    if (error instanceof CheckpointError) throw new UsageError(`--since ${file}: ${error.message}`);
    throw error;
  }
}

/** The chain and contracts to read: the pinned deployment's, or those the document names. */
function chainOf(value: unknown, pinned?: PinnedDeployment): { chainId: string; addresses: LedgerAddresses } | null {
  if (pinned) {
    return { chainId: BigInt(pinned.chainId).toString(), addresses: { vouchers: ZeroAddress, ...pinned.addresses } };
  }
  const v = value as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const address = (a: unknown) => {
    try {
      return getAddress(String(a));
    } catch {
      return ZeroAddress;
    }
  };
  const none = {
    registry: ZeroAddress,
    ledger: ZeroAddress,
    receipts: ZeroAddress,
    anchors: ZeroAddress,
    vouchers: ZeroAddress,
  };
  try {
    switch (documentKind(value)) {
      case "audit-bundle":
        return {
          chainId: BigInt(v.chain.chainId).toString(),
          addresses: {
            registry: address(v.chain.registry),
            ledger: address(v.chain.ledger),
            receipts: address(v.chain.receiptBook),
            anchors: address(v.chain.anchorLog),
            vouchers: ZeroAddress, // an audit bundle does not name the voucher book
          },
        };
      case "receipt-bundle": {
        const receipt = JSON.parse(v.receipt.canonical);
        return {
          chainId: BigInt(receipt.chainId).toString(),
          addresses: { ...none, receipts: address(receipt.receiptBook), anchors: address(v.proof?.contract) },
        };
      }
      case "checkpoint":
        return { chainId: BigInt(v.chainId).toString(), addresses: { ...none, anchors: address(v.anchorLog) } };
      case "consistency":
        return { chainId: BigInt(v.to.chainId).toString(), addresses: { ...none, anchors: address(v.to.anchorLog) } };
      default:
        return null;
    }
  } catch {
    return null;
  }
}

function print(file: string, result: Verification, rpc?: string): void {
  console.log(`${result.kind} ${file}${rpc === undefined ? " (offline)" : ` (chain via ${rpc})`}`);
  const width = Math.max(...result.checks.map((c) => c.check.length));
  for (const c of result.checks) {
    const mark = c.ok === true ? "ok  " : c.ok === false ? "FAIL" : "--  ";
    console.log(`  ${mark}  ${c.check.padEnd(width)}  ${c.detail}`);
  }
  const skipped = result.checks.filter((c) => c.ok === null).map((c) => c.check);
  if (!result.valid) console.log("NOT VALID");
  else if (rpc === undefined) {
    console.log(`VALID offline; not checked without the chain: ${skipped.join(", ") || "nothing"} (give --rpc)`);
  } else if (skipped.length > 0) console.log(`VALID; not checked: ${skipped.join(", ")}`);
  else console.log("VALID");
}

async function main(argv: readonly string[]): Promise<number> {
  let args: Args | "help";
  let text: string;
  let since: Checkpoint | undefined;
  let pinned: PinnedDeployment | undefined;
  try {
    args = parseArgs(argv);
    if (args === "help") {
      console.log(USAGE);
      return 0;
    }
    text = read(args.file);
    if (args.since !== undefined) since = readSince(args.since);
    if (args.deployment !== undefined) {
      try {
        pinned = loadDeployment(path.resolve(args.deployment));
      } catch (error) {
        throw new UsageError(`--deployment ${args.deployment}: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`verify: ${error.message}\n\n${USAGE}`);
    return 2;
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined; // fails the format check
  }
  if (since !== undefined && documentKind(value) === "receipt-bundle") {
    console.error("verify: --since applies to audit bundles, checkpoints and consistency documents");
    return 2;
  }

  const options: VerifyOptions = { expected: pinned, since };
  let ledger: EvmLedger | undefined;
  let view: ChainView | undefined;
  if (args.rpc !== undefined) {
    const target = chainOf(value, pinned);
    if (target !== null) {
      try {
        view = new ChainView(args.rpc, target.chainId, target.addresses);
        await view.nodeChainId();
        const chain: VerifierChain = { view };
        options.chain = chain;
        if (Object.values(target.addresses).every((a) => a !== ZeroAddress)) {
          const evm = new EvmLedger({ rpcUrl: args.rpc, chainId: BigInt(target.chainId), addresses: target.addresses });
          try {
            await evm.connect();
            ledger = evm;
            chain.events = evm.events.bind(evm);
          } catch {
            // Not these contracts on this chain: the checks say so; the transactions go unchecked.
            await evm.close();
          }
        }
      } catch (error) {
        console.error(`verify: cannot use the chain at ${args.rpc}: ${(error as Error).message}`);
        await ledger?.close();
        await view?.close();
        return 2;
      }
    }
  }
  try {
    const result = await verifyDocument(text, options);
    print(args.file, result, options.chain ? args.rpc : undefined);
    return result.valid ? 0 : 1;
  } finally {
    await ledger?.close();
    await view?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
