/**
 * The `Store` both drivers share: data methods from tables/, run on the driver's executor (or in a transaction of
 * their own when they are several statements), and `transaction(fn)` with a spoil-on-error `tx`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Driver } from "./driver";
import { StoreError } from "./errors";
import { MIGRATIONS, listAppliedMigrations, runMigrations } from "./migrations";
import type { Store, StoreData } from "./store";
import { type DataContext, MULTI_STATEMENT, createData } from "./tables";

/** The transaction the current async context runs in, if any. */
interface TxState {
  scope: object;
  active: boolean;
  failed: boolean;
  failure: unknown;
  shredded: boolean;
}

const current = new AsyncLocalStorage<TxState>();

type Method = (...args: unknown[]) => Promise<unknown>;

function methodsOf(data: StoreData): Record<string, Method> {
  return data as unknown as Record<string, Method>;
}

/** `data`'s methods, refusing calls once the transaction is over, and spoiling the transaction on the first error. */
function guard(data: StoreData, state: TxState): StoreData {
  const guarded: Record<string, Method> = {};
  for (const [name, method] of Object.entries(methodsOf(data))) {
    guarded[name] = async (...args) => {
      if (!state.active) throw new StoreError("INTERNAL", "this transaction is over: do not keep tx after fn returns");
      if (state.failed) throw state.failure;
      try {
        return await method(...args);
      } catch (error) {
        state.failed = true;
        state.failure = error;
        throw error;
      }
    };
  }
  return guarded as unknown as StoreData;
}

export interface StoreClock {
  /** The store's clock (default: the system clock). Tests move it. */
  now?: () => Date;
}

/** A store on `driver` with every migration applied; the driver is closed if migrating fails. */
export async function openMigratedStore(driver: Driver, options: StoreClock = {}): Promise<Store> {
  const store = makeStore(driver, options);
  try {
    await store.migrate();
  } catch (error) {
    await driver.close();
    throw error;
  }
  return store;
}

export function makeStore(driver: Driver, options: StoreClock = {}): Store {
  const clock = options.now ?? (() => new Date());
  const now = () => clock().getTime();

  function refuseNesting(): void {
    const state = current.getStore();
    if (state?.scope === driver.scope && state.active) {
      throw new StoreError("INTERNAL", "inside transaction(fn), use the tx argument, not the store");
    }
  }

  async function call(name: keyof StoreData, args: unknown[]): Promise<unknown> {
    refuseNesting();
    let shredded = false;
    const run = (db: DataContext["db"]) =>
      methodsOf(createData({ db, now, shredded: () => (shredded = true) }))[name](...args);
    const result = MULTI_STATEMENT.has(name) ? await driver.inTransaction(run) : await run(driver.executor);
    if (shredded) await driver.afterShred();
    return result;
  }

  const store: Record<string, unknown> = {
    dialect: driver.dialect,

    async transaction<T>(fn: (tx: StoreData) => Promise<T> | T): Promise<T> {
      refuseNesting();
      const state: TxState = { scope: driver.scope, active: true, failed: false, failure: undefined, shredded: false };
      const result = await driver.inTransaction(async (db) => {
        const tx = guard(createData({ db, now, shredded: () => (state.shredded = true) }), state);
        try {
          const value = await current.run(state, () => fn(tx));
          if (state.failed) throw state.failure;
          return value;
        } finally {
          state.active = false;
        }
      });
      if (state.shredded) await driver.afterShred();
      return result;
    },

    migrate: () => {
      refuseNesting();
      return runMigrations(driver, MIGRATIONS, now());
    },
    appliedMigrations: () => {
      refuseNesting();
      return listAppliedMigrations(driver);
    },
    close: async () => {
      refuseNesting();
      await driver.close();
    },
  };
  const probe = createData({ db: driver.executor, now, shredded: () => undefined });
  for (const name of Object.keys(probe) as (keyof StoreData)[]) {
    store[name] = (...args: unknown[]) => call(name, args);
  }
  return store as unknown as Store;
}
