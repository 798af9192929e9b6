/**
 * `npx ts-node --transpile-only bench/chain-growth.ts`: what a block and a case cost the embedded anvil as cases
 * accumulate, without the gateway's store (bench/scale-probe.ts `chainGrowthProbe`): RELIEF_GROWTH_TOTAL cases
 * (default 20,000) submitted through the EVM adapter, 256 in flight, a block a second (as bench/scale.ts's per-case
 * stages run), in windows of RELIEF_GROWTH_WINDOW (default 4,000). Per window: cases a second, anvil's and this
 * process's CPU a case, anvil's memory, and the time of one empty block after it, which is what anvil spends on a
 * block whatever it holds (it rebuilds the state root from its whole in-memory state, docs/SCALING.md).
 *
 * RELIEF_GROWTH_PRUNE (default 16) is anvil's `--prune-history`, RELIEF_GROWTH_TBK (default off) its
 * `--transaction-block-keeper`: on 2026-12-03, 12,000 cases, anvil's memory was 523 MiB with 16 states kept, 523 with
 * one, 473 with 16 blocks' transactions kept, and the empty block's cost the same in all three (docs/SCALING.md).
 *
 * Writes bench/results/chain-growth.json; docs/SCALING.md quotes it.
 */
import { chainGrowthProbe, type GrowthWindow } from "./scale-probe";
import { machine, writeJson } from "./report";

const TOTAL = Number(process.env.RELIEF_GROWTH_TOTAL ?? 20_000);
const WINDOW = Number(process.env.RELIEF_GROWTH_WINDOW ?? 4_000);

async function main(): Promise<void> {
  const windows: GrowthWindow[] = [];
  await chainGrowthProbe({
    anvil: {
      pruneHistory: Number(process.env.RELIEF_GROWTH_PRUNE ?? 16),
      blockTime: 1,
      transactionBlockKeeper: Number(process.env.RELIEF_GROWTH_TBK ?? 0),
    },
    total: TOTAL,
    window: WINDOW,
    concurrency: 256,
    blockGasLimit: 1_000_000_000,
    onWindow: (w) => {
      windows.push(w);
      console.log(
        `${w.cases} cases: ${w.perSecond.toFixed(0)}/s, anvil ${w.anvilCpuMs.toFixed(2)} ms CPU a case, ` +
          `${w.anvilRssMiB.toFixed(0)} MiB, empty block ${w.emptyBlockMs.toFixed(1)} ms`,
      );
    },
  });
  // Least squares through the origin: an empty block's ms per case on chain, anvil's MiB per case.
  const slope = (y: (w: GrowthWindow) => number) =>
    windows.reduce((s, w) => s + w.cases * y(w), 0) / windows.reduce((s, w) => s + w.cases * w.cases, 0);
  const emptyBlockMsPerCase = slope((w) => w.emptyBlockMs);
  const anvilMiBPerCase = slope((w) => w.anvilRssMiB);
  const file = writeJson("chain-growth", {
    machine: machine(),
    total: TOTAL,
    window: WINDOW,
    windows,
    fit: { emptyBlockMsPerCase, anvilMiBPerCase },
  });
  console.log(
    `an empty block: ${(emptyBlockMsPerCase * 1000).toFixed(1)} µs a case on chain; anvil: ` +
      `${(anvilMiBPerCase * 1024).toFixed(1)} KiB a case; wrote ${file}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
