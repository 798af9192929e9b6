/**
 * Where the time goes, for bench/intake.ts: per-request counts and wall time of the gateway's store and ledger calls
 * (by wrapping the methods of a running gateway's `ctx.store` and `ctx.ledger` for a sequential, instrumented phase
 * that is not part of the measured figures), and the cost of each step of sealing one record (micro-benchmarks of
 * the production primitives).
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { generateDataKey, sealData, sm3, wrapWithKek } from "../gateway/src/crypto";
import type { GatewayContext } from "../gateway/src/context";
import { newRecordId, recordKeyContext } from "../gateway/src/records";

export interface CallProfile {
  call: string;
  callsPerRequest: number;
  /** Wall time inside the call (its awaits included), ms per request. */
  msPerRequest: number;
}

const LEDGER_CALLS = ["submitCase", "programme", "caseRecord", "currentPeriod", "anchor", "anchorCount"];

/**
 * Wraps every data method of `ctx.store` (and `transaction`) and the ledger's calls on the intake path, counting
 * calls and their wall time. `report(requests)` gives the figures per request; `restore()` removes the wrappers.
 */
export function instrument(ctx: GatewayContext): {
  reset(): void;
  report(requests: number): CallProfile[];
  restore(): void;
} {
  const counts = new Map<string, { calls: number; ms: number }>();
  const undo: Array<() => void> = [];
  const wrap = (target: object, prefix: string, names: string[]) => {
    const t = target as Record<string, unknown>;
    for (const name of names) {
      const original = t[name];
      if (typeof original !== "function") continue;
      const own = Object.prototype.hasOwnProperty.call(t, name);
      t[name] = async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await (original as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          const entry = counts.get(prefix + name) ?? { calls: 0, ms: 0 };
          entry.calls += 1;
          entry.ms += performance.now() - started;
          counts.set(prefix + name, entry);
        }
      };
      undo.push(() => {
        if (own) t[name] = original;
        else delete t[name];
      });
    }
  };
  const store = ctx.store as unknown as Record<string, unknown>;
  wrap(
    ctx.store,
    "store.",
    Object.keys(store).filter((k) => typeof store[k] === "function" && !["close", "migrate"].includes(k)),
  );
  wrap(ctx.ledger, "ledger.", LEDGER_CALLS);
  return {
    reset: () => counts.clear(),
    report: (requests) =>
      [...counts.entries()]
        .map(([call, { calls, ms }]) => ({ call, callsPerRequest: calls / requests, msPerRequest: ms / requests }))
        .sort((a, b) => b.msPerRequest - a.msPerRequest),
    restore: () => undo.splice(0).forEach((f) => f()),
  };
}

export interface SealingStep {
  step: string;
  /** Times per record in the intake (4 records a household, 24 wrapped keys); 0: already inside another step. */
  perRecord: number;
  microseconds: number;
}

function microseconds(fn: () => unknown, budgetMs: number): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < budgetMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return ((performance.now() - started) * 1000) / n;
}

/**
 * The production primitives a sealed record costs, one core: its envelope (a ~330-byte JSON payload, the average of
 * the intake's four kinds), 6 data-key wraps under KEKs, its digest, its id and its data key.
 */
export function sealingProfile(budgetMs = 300): SealingStep[] {
  const dataKey = generateDataKey();
  const kek = generateDataKey();
  const payload = randomBytes(330);
  const aad = randomBytes(120);
  const context = recordKeyContext(newRecordId(), "household");
  const digestInput = randomBytes(570);
  return [
    {
      step: "sealData (SM4-CBC + HMAC-SM3, ~330 B)",
      perRecord: 1,
      microseconds: microseconds(() => sealData(dataKey, payload, aad), budgetMs),
    },
    {
      step: "wrapWithKek (a 16-byte data key)",
      perRecord: 6,
      microseconds: microseconds(() => wrapWithKek(kek, dataKey, context), budgetMs),
    },
    { step: "SM3 digest (~570 B)", perRecord: 2, microseconds: microseconds(() => sm3(digestInput), budgetMs) },
    { step: "newRecordId", perRecord: 1, microseconds: microseconds(() => newRecordId(), budgetMs) },
    {
      step: "randomBytes(16) (inside each seal and wrap: 7 a record)",
      perRecord: 0,
      microseconds: microseconds(() => randomBytes(16), budgetMs),
    },
  ];
}
