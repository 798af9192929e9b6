/** Every migration, in order. Add one: a new `NNN_name.ts` exporting a `Migration`, appended here. */
import { initial } from "./001_initial";
import { gateway } from "./002_gateway";
import { vouchers } from "./003_vouchers";
import { caseStatus } from "./004_case_status";
import type { Migration } from "./types";

export type { Migration } from "./types";
export { runMigrations, listAppliedMigrations } from "./runner";

export const MIGRATIONS: readonly Migration[] = [initial, gateway, vouchers, caseStatus];
