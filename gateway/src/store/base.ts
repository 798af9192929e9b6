/**
 * The `Store` both drivers share: data methods from tables/, run on the driver's executor (or in a transaction of
 * their own when they are several statements), and `transaction(fn)` with a spoil-on-error `tx`.
 *
 * The data methods are built once per executor (the driver's, and each transaction connection's), not once per call:
 * what a call needs of its own (whether it deleted wrapped keys) travels in an AsyncLocalStorage scope.
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

/** What one call or transaction records while it runs: whether it deleted wrapped keys. */
interface ShredFlag {
  shredded: boolean;
}

const shredScope = new AsyncLocalStorage<ShredFlag>();

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

  /** The data methods on `db`, built on first use (SQLite: two executors in all; PostgreSQL: one per connection). */
  const built = new WeakMap<DataContext["db"], Record<string, Method>>();
  const shredded = () => {
    const flag = shredScope.getStore();
    if (flag) flag.shredded = true;
  };
  function dataOn(db: DataContext["db"]): Record<string, Method> {
    let data = built.get(db);
    if (data === undefined) {
      data = methodsOf(createData({ db, now, shredded }));
      built.set(db, data);
    }
    return data;
  }

  async function call(name: keyof StoreData, args: unknown[]): Promise<unknown> {
    refuseNesting();
    const flag: ShredFlag = { shredded: false };
    const run = (db: DataContext["db"]) => dataOn(db)[name](...args);
    const result = await shredScope.run(flag, () =>
      MULTI_STATEMENT.has(name) ? driver.inTransaction(run) : run(driver.executor),
    );
    if (flag.shredded) await driver.afterShred();
    return result;
  }

  const store: Record<string, unknown> = {
    dialect: driver.dialect,

    async transaction<T>(fn: (tx: StoreData) => Promise<T> | T): Promise<T> {
      refuseNesting();
      const state: TxState = { scope: driver.scope, active: true, failed: false, failure: undefined, shredded: false };
      const result = await shredScope.run(state, () =>
        driver.inTransaction(async (db) => {
          const tx = guard(dataOn(db) as unknown as StoreData, state);
          try {
            const value = await current.run(state, () => fn(tx));
            if (state.failed) throw state.failure;
            return value;
          } finally {
            state.active = false;
          }
        }),
      );
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
  for (const name of Object.keys(dataOn(driver.executor)) as (keyof StoreData)[]) {
    store[name] = (...args: unknown[]) => call(name, args);
  }
  return store as unknown as Store;
}
