/**
 * The gateway's own tables: the institutions it acts for and their API keys, the index of cases it took in, payout
 * runs and the payouts they made, beneficiaries' one-time codes and sessions, and the receipts it signed. No
 * personal data: cases are indexed by id, region, programme and keyed pseudonym; codes, tokens and API key secrets
 * are keyed digests. Amounts are integer fen as decimal TEXT (totals can exceed 2^53); timestamps epoch
 * milliseconds.
 */
import type { Dialect } from "../store";
import { COLUMN_TYPES, type Migration } from "./types";

function tables(dialect: Dialect): string[] {
  const t = COLUMN_TYPES[dialect];
  // Keys that lists are ordered and paged by compare bytewise on both databases (PostgreSQL would otherwise use the
  // database's collation, which may ignore punctuation such as the `:` of payout ids).
  const key = dialect === "postgres" ? 'TEXT COLLATE "C"' : "TEXT";
  return [
    `CREATE TABLE institutions (
      id ${key} PRIMARY KEY,
      name TEXT NOT NULL,
      role ${t.int} NOT NULL,
      region_code ${t.bigint} NOT NULL,
      account TEXT NOT NULL UNIQUE,
      active ${t.int} NOT NULL CHECK (active IN (0, 1)),
      created_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX institutions_region_idx ON institutions (region_code)",

    `CREATE TABLE api_keys (
      key_id ${key} PRIMARY KEY,
      institution_id ${key} REFERENCES institutions (id),
      secret_digest TEXT NOT NULL,
      label TEXT,
      created_at ${t.bigint} NOT NULL,
      revoked_at ${t.bigint}
    )${t.tableSuffix}`,
    "CREATE INDEX api_keys_institution_idx ON api_keys (institution_id)",

    `CREATE TABLE cases (
      case_id ${key} PRIMARY KEY,
      programme_id ${t.bigint} NOT NULL,
      region_code ${t.bigint} NOT NULL,
      pseudonym TEXT NOT NULL,
      submitter TEXT NOT NULL,
      application_record_id TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending-chain', 'submitted', 'in-notice', 'approved', 'suspended', 'exiting', 'rejected')),
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX cases_region_idx ON cases (region_code, programme_id, status)",
    "CREATE INDEX cases_pseudonym_idx ON cases (pseudonym)",

    `CREATE TABLE payout_runs (
      run_id ${key} PRIMARY KEY,
      actor TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('monthly', 'disaster')),
      programme_id ${t.bigint} NOT NULL,
      period ${t.bigint} NOT NULL,
      event_id TEXT NOT NULL,
      region_code ${t.bigint} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
      listed ${t.int} NOT NULL,
      paid ${t.int} NOT NULL,
      skipped ${t.int} NOT NULL,
      total TEXT NOT NULL,
      result TEXT,
      error_code TEXT,
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX payout_runs_created_idx ON payout_runs (created_at, run_id)",

    `CREATE TABLE payouts (
      payout_id ${key} PRIMARY KEY,
      case_id TEXT NOT NULL,
      period ${t.bigint} NOT NULL,
      event_id TEXT NOT NULL,
      programme_id ${t.bigint} NOT NULL,
      region_code ${t.bigint} NOT NULL,
      amount TEXT NOT NULL,
      run_id TEXT,
      tx_hash TEXT NOT NULL,
      block_number ${t.bigint} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('paid', 'settled', 'failed')),
      bank_ref_digest TEXT,
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX payouts_case_idx ON payouts (case_id)",
    "CREATE INDEX payouts_programme_idx ON payouts (programme_id, period, status)",
    "CREATE INDEX payouts_run_idx ON payouts (run_id)",

    `CREATE TABLE beneficiary_codes (
      pseudonym TEXT PRIMARY KEY,
      code_digest TEXT NOT NULL,
      expires_at ${t.bigint} NOT NULL,
      failures ${t.int} NOT NULL,
      locked_until ${t.bigint},
      created_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,

    `CREATE TABLE beneficiary_sessions (
      token_digest TEXT PRIMARY KEY,
      pseudonym TEXT NOT NULL,
      expires_at ${t.bigint} NOT NULL,
      created_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,

    `CREATE TABLE receipts (
      payout_id ${key} PRIMARY KEY,
      case_id TEXT NOT NULL,
      outcome TEXT NOT NULL CHECK (outcome IN ('confirmed', 'not-received')),
      record_id TEXT NOT NULL REFERENCES records (id),
      receipt_json TEXT NOT NULL,
      signature TEXT NOT NULL,
      tx_hash TEXT,
      created_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX receipts_case_idx ON receipts (case_id)",
  ];
}

export const gateway: Migration = {
  version: 2,
  name: "gateway",
  up: (dialect) => tables(dialect),
};
