/** The one implementation of the data methods, over either dialect's executor. */
import type { StoreData } from "../store";
import { anchorsData } from "./anchors";
import { auditData } from "./audit";
import { beneficiaryData } from "./beneficiary";
import { casesData } from "./cases";
import type { DataContext } from "./context";
import { holderKeysData } from "./holder-keys";
import { idempotencyData } from "./idempotency";
import { institutionsData } from "./institutions";
import { outboxData } from "./outbox";
import { payoutsData } from "./payouts";
import { recordKeysData } from "./record-keys";
import { recordsData } from "./records";
import { scanData } from "./scan";
import { vouchersData } from "./vouchers";

export type { DataContext } from "./context";

export function createData(ctx: DataContext): StoreData {
  return {
    ...recordsData(ctx),
    ...recordKeysData(ctx),
    ...outboxData(ctx),
    ...anchorsData(ctx),
    ...auditData(ctx),
    ...idempotencyData(ctx),
    ...holderKeysData(ctx),
    ...institutionsData(ctx),
    ...casesData(ctx),
    ...payoutsData(ctx),
    ...beneficiaryData(ctx),
    ...scanData(ctx),
    ...vouchersData(ctx),
  };
}

/**
 * Methods that run several statements which must succeed or fail together: called on the store (not in a
 * transaction), they get a transaction of their own. The others are one statement, or read-then-write sequences
 * whose race is handled where they are written (getOrReserve).
 */
export const MULTI_STATEMENT: ReadonlySet<keyof StoreData> = new Set<keyof StoreData>([
  "insertRecords",
  "putRecordKeys",
  "enqueueAnchors",
  "appendAudits",
  "putCases",
  "rescheduleOutbox",
  "beginAnchor",
  "confirmAnchor",
  "abandonAnchor",
  "putPayouts",
  "putVouchers",
  "putVoucherCode",
  "undoRedemption",
]);
