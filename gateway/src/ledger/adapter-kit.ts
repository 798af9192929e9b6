/** What both chain adapters (evm.ts, fabric.ts) do alike: their settings from options, and batch methods' chunks. */
import type { Bytes32, PayoutRunResult } from "./ledger";

/** `defaults` overridden by the options that are set (an option given as `undefined` keeps its default). */
export function withDefaults<S extends object>(defaults: S, options: object): S {
  const set = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...defaults, ...set } as S;
}

/** `items` in chunks of `size` (the last may be shorter), one transaction each. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`chunk size ${size} is not a positive integer`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A run's result before its first chunk is committed (and of a run with no case listed). */
export function emptyRun(programmeId: number, eventId: Bytes32, period: number): PayoutRunResult {
  return { programmeId, eventId, period, outcomes: [], paid: 0, skipped: 0, total: 0n, transactions: [] };
}
