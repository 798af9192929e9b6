/**
 * The case index by status in case-id order: the case submitter lists the `pending-chain` cases every round, and
 * without this index each listing walked the whole table in case-id order to find them (110 ms a listing at 100,000
 * cases, 0.3 ms with it; docs/BENCHMARKS.md, scale run).
 */
import type { Migration } from "./types";

export const caseStatus: Migration = {
  version: 4,
  name: "case-status",
  up: () => ["CREATE INDEX cases_status_idx ON cases (status, case_id)"],
};
