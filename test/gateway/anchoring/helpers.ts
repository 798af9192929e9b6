/**
 * Helpers of the anchoring tests: store harnesses per backend, a ledger wrapper that injects outages and crashes, and
 * checks that every record is anchored exactly once with a proof that verifies offline and on chain.
 */
import { expect } from "chai";
import { type Ledger, LedgerUnavailableError } from "../../../gateway/src/ledger";
import type { Store } from "../../../gateway/src/store";
import { type AnchorChain, proofOf, verifyProof, verifyProofOnChain } from "../../../gateway/src/anchoring";
import { type StoreHarness, postgresHarness, sqliteHarness } from "../store/harness";

export interface Backend {
  name: string;
  harness: () => StoreHarness;
}

/** SQLite always; PostgreSQL when `DATABASE_URL` is set. */
export function backends(): { available: Backend[]; skipped: string[] } {
  const available: Backend[] = [{ name: "SQLite", harness: () => sqliteHarness() }];
  const skipped: string[] = [];
  const url = process.env.DATABASE_URL;
  if (url) available.push({ name: "PostgreSQL", harness: () => postgresHarness(url) });
  else skipped.push("PostgreSQL");
  return { available, skipped };
}

/** Faults the wrapper injects. `beforeSend` / `afterSend` fire once. */
export interface Faults {
  /** Every wrapped call fails with LedgerUnavailableError. */
  down: boolean;
  /** The next `anchor` throws before sending (the process died before the transaction left). */
  beforeSend: boolean;
  /** The next `anchor` sends, is mined, then throws (the process died before storing the outcome). */
  afterSend: boolean;
  /** `anchor` calls that reached the chain. */
  sends: number;
}

const WRAPPED = new Set(["anchor", "anchorCount", "anchorAt", "events", "verifyInclusion", "totalRecords"]);

export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = "SimulatedCrash";
  }
}

/** `inner` with injectable outages and crash points on the anchoring calls. */
export function faultyLedger(inner: Ledger): { ledger: Ledger; faults: Faults } {
  const faults: Faults = { down: false, beforeSend: false, afterSend: false, sends: 0 };
  const ledger = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (!WRAPPED.has(String(prop))) return fn.bind(target);
      return async (...args: unknown[]) => {
        if (faults.down) {
          throw new LedgerUnavailableError("unreachable", "simulated outage", { operation: String(prop) });
        }
        if (prop !== "anchor") return fn.apply(target, args);
        if (faults.beforeSend) {
          faults.beforeSend = false;
          throw new SimulatedCrash("before send");
        }
        faults.sends += 1;
        const result = await fn.apply(target, args);
        if (faults.afterSend) {
          faults.afterSend = false;
          throw new SimulatedCrash("after send");
        }
        return result;
      };
    },
  });
  return { ledger, faults };
}

/**
 * Every record is anchored exactly once: confirmed in an anchor the chain has with the same root, each anchor of the
 * chain from `fromSequence` on is one of the store's (so no entry went on chain twice), and each record's proof
 * verifies offline and on chain (`check` of them on chain, all offline).
 */
export async function expectAnchoredOnce(
  store: Store,
  ledger: Ledger,
  chain: AnchorChain,
  recordIds: readonly string[],
  fromSequence: number,
  onChainChecks = recordIds.length,
): Promise<void> {
  const count = await ledger.anchorCount();
  const seen = new Set<string>();
  for (let seq = fromSequence; seq < count; seq++) {
    const row = await store.getAnchor(seq);
    expect(row, `chain anchor ${seq} is in the store`).to.not.equal(undefined);
    expect(row!.status).to.equal("confirmed");
    const onChain = await ledger.anchorAt(seq);
    expect(onChain.root).to.equal(row!.root);
    expect(onChain.recordCount).to.equal(row!.recordCount);
    for (const leaf of await store.listAnchorLeaves(seq)) {
      expect(seen.has(leaf.recordId), `record ${leaf.recordId} anchored twice`).to.equal(false);
      seen.add(leaf.recordId);
    }
  }
  expect([...seen].sort()).to.deep.equal([...recordIds].sort());
  for (let i = 0; i < recordIds.length; i++) {
    const proof = await proofOf(store, recordIds[i], chain);
    expect(verifyProof(proof), `offline proof of ${recordIds[i]}`).to.equal(true);
    if (i < onChainChecks) expect(await verifyProofOnChain(ledger, proof), "on-chain proof").to.equal(true);
  }
}
