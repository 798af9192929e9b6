import type { Executor } from "../driver";

/** What every table module works with: the executor of the call or transaction, the store's clock, and hooks. */
export interface DataContext {
  db: Executor;
  /** The store's clock, in epoch milliseconds. */
  now(): number;
  /** Tells the store that wrapped keys were deleted, so it scrubs the database after the commit. */
  shredded(): void;
}
