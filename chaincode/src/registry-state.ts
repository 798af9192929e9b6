/** The registry's records in world state. */
import { Role } from "../../lib/roles";
import type { Store } from "./store";

export interface KeyRecord {
  validFrom: number;
  digest: string;
}

export interface InstitutionDoc {
  role: Role;
  active: boolean;
  region: bigint;
  keyDigest: string;
  keyHistory: KeyRecord[];
}

export const INSTITUTION_BIGINTS = ["region"] as const;

export function institutionKey(store: Store, account: string): string {
  return store.key("institution", account);
}

export function memberKey(store: Store, role: Role, account: string): string {
  return store.key("member", role, account);
}
