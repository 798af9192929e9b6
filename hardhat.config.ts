import "@nomicfoundation/hardhat-toolbox";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/types";
import path from "node:path";

/** The compiler version, pinned to the npm package `solc` so that compiling never downloads. */
const SOLC_VERSION = "0.8.28";

// Hardhat downloads compilers from binaries.soliditylang.org by default; this machine has no
// such network. Hand it the solc-js build that npm installed instead (Hardhat's documented hook).
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // OpenZeppelin Contracts 5 uses `mcopy`: the target chain must run Cancun or later.
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
      viaIR: true,
    },
  },
  paths: { sources: "./contracts", tests: "./test", cache: "./cache", artifacts: "./artifacts" },
  networks: {
    hardhat: {
      // A payout run over 1,000 entitlements needs more than the default 30M block.
      blockGasLimit: 60_000_000,
      // bench/gas.ts's harness (contracts/bench/SeededReliefLedger.sol, the ledger plus a seeding function, never
      // deployed to a real chain) is over EIP-170's 24,576 bytes; production contracts are held to it by
      // test/deployment.test.ts.
      allowUnlimitedContractSize: process.env.RELIEF_BENCH_HARNESS === "1",
    },
    localhost: { url: process.env.RPC_URL ?? "http://127.0.0.1:8545" },
  },
  mocha: { timeout: 600_000 },
  gasReporter: { enabled: false },
};

export default config;
