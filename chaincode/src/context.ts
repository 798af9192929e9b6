/**
 * The transaction context: the per-transaction store, the events the transaction emits (one `relief` chaincode
 * event at the end, a JSON list in emission order) and the transaction's time, the peer's `getTxTimestamp()`.
 */
import { Context } from "fabric-contract-api";
import { periodAt } from "../../lib/periods";
import { marshalBytes } from "./marshal";
import { Store } from "./store";

export const EVENT_NAME = "relief";

export interface EmittedEvent {
  name: string;
  args: Record<string, unknown>;
}

export class ReliefContext extends Context {
  private _store?: Store;
  readonly events: EmittedEvent[] = [];

  get store(): Store {
    this._store ??= new Store(this.stub);
    return this._store;
  }

  /** Seconds since the epoch, from the proposal's timestamp (the same on every endorser). */
  get now(): number {
    return this.stub.getTxTimestamp().seconds.toNumber();
  }

  get period(): number {
    return periodAt(this.now);
  }

  emit(name: string, args: Record<string, unknown>): void {
    this.events.push({ name, args });
  }

  /** Sets the transaction's one chaincode event, if anything was emitted. */
  flushEvents(): void {
    if (this.events.length > 0) this.stub.setEvent(EVENT_NAME, marshalBytes(this.events));
  }
}
