/** The registry's records in world state. */
import type { Institution } from "../../lib/ledger-model";
import type { Role } from "../../lib/roles";
import type { Store } from "./store";

export interface KeyRecord {
  validFrom: number;
  digest: string;
}

/** The `Institution` the ledgers answer with, and every key digest it has had. */
export interface InstitutionDoc extends Institution {
  keyHistory: KeyRecord[];
}

export const INSTITUTION_BIGINTS = ["region"] as const;

export function institutionKey(store: Store, account: string): string {
  return store.key("institution", account);
}

export function memberKey(store: Store, role: Role, account: string): string {
  return store.key("member", role, account);
}
