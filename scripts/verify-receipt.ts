/**
 * `npm run verify-receipt -- bundle.json [--rpc URL] [--deployment .relief/deployment.json] [--gateway-account 0x…]`
 *
 * Verifies a downloaded receipt bundle (`relief-receipt-bundle-v1`, docs/RECEIPTS.md) and prints every check.
 * Offline by default: signature, key digest, proof digest and the audit path. With `--rpc` (and the deployment,
 * default `.relief/deployment.json`) it also checks the anchor on chain, read-only; with `--gateway-account` also
 * that the registry holds the signer key's digest for that institution.
 *
 * Exit status: 0 valid, 1 not valid, 2 usage error or nothing could be checked (unreadable file, unreachable node).
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress } from "ethers";
import { EvmLedger } from "../gateway/src/ledger";
import { loadDeployment } from "../gateway/src/ledger/config";
import { type ReceiptVerificationOptions, verifyReceiptBundle } from "../gateway/src/receipts/bundle";
import { UsageError, readCli, rpcUrl } from "./cli";

const USAGE = `usage: npm run verify-receipt -- <bundle.json> [--rpc URL] [--deployment FILE] [--gateway-account 0x…]

  <bundle.json>             a relief-receipt-bundle-v1 file
  --rpc URL                 check the proof (and the signer) on chain through this JSON-RPC node
  --deployment FILE         the deployment the node runs (default .relief/deployment.json; needs --rpc)
  --gateway-account 0x…     the gateway's institution account: its registered keyDigest must be the signer's

exit status: 0 valid, 1 not valid, 2 usage error or nothing could be checked`;

interface Args {
  bundleFile: string;
  rpc?: string;
  deployment?: string;
  gatewayAccount?: string;
}

function parseArgs(argv: readonly string[]): Args | "help" {
  const cli = readCli(argv, ["rpc", "deployment", "gateway-account"]);
  if (cli === "help") return cli;
  const { options, positionals } = cli;
  if (positionals.length !== 1) throw new UsageError("give exactly one bundle file");
  const args: Args = { bundleFile: positionals[0] };
  if (options.rpc !== undefined) args.rpc = rpcUrl(options.rpc);
  if (options.deployment !== undefined) args.deployment = options.deployment;
  if (args.deployment !== undefined && args.rpc === undefined) throw new UsageError("--deployment needs --rpc");
  if (options["gateway-account"] !== undefined) {
    if (args.rpc === undefined) throw new UsageError("--gateway-account needs --rpc");
    try {
      args.gatewayAccount = getAddress(options["gateway-account"]);
    } catch {
      throw new UsageError(`--gateway-account is not an address: ${options["gateway-account"]}`);
    }
  }
  return args;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: Args | "help";
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`verify-receipt: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }

  let text: string;
  try {
    text = fs.readFileSync(args.bundleFile, "utf8");
  } catch (error) {
    console.error(`verify-receipt: cannot read ${args.bundleFile}: ${(error as Error).message}`);
    return 2;
  }
  let bundle: unknown;
  try {
    bundle = JSON.parse(text);
  } catch {
    bundle = undefined; // fails the format check below
  }

  const options: ReceiptVerificationOptions = {};
  let ledger: EvmLedger | undefined;
  if (args.rpc !== undefined) {
    const file = path.resolve(args.deployment ?? path.join(".relief", "deployment.json"));
    try {
      const deployment = loadDeployment(file);
      ledger = new EvmLedger({ rpcUrl: args.rpc, chainId: deployment.chainId, addresses: deployment.addresses });
      await ledger.connect();
      options.ledger = ledger;
      options.gatewayAccount = args.gatewayAccount;
      options.chain = {
        chainId: deployment.chainId,
        contract: deployment.addresses.anchors,
        receiptBook: deployment.addresses.receipts,
      };
    } catch (error) {
      console.error(`verify-receipt: cannot use the chain: ${(error as Error).message}`);
      await ledger?.close();
      return 2;
    }
  }

  try {
    const result = await verifyReceiptBundle(bundle, options);
    console.log(
      `receipt bundle ${args.bundleFile}${args.rpc === undefined ? " (offline)" : ` (chain via ${args.rpc})`}`,
    );
    const width = Math.max(...result.checks.map((c) => c.check.length));
    for (const c of result.checks) console.log(`  ${c.ok ? "ok  " : "FAIL"}  ${c.check.padEnd(width)}  ${c.detail}`);
    if (args.rpc === undefined && result.valid) {
      console.log("VALID offline; check the anchor on chain with --rpc to be sure its root was anchored");
    } else {
      console.log(result.valid ? "VALID" : "NOT VALID");
    }
    return result.valid ? 0 : 1;
  } finally {
    await ledger?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
