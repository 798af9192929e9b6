/**
 * Vouchers (救助券, issue 9): the gateway's index of issued vouchers, the beneficiaries' one-time presentation codes
 * (keyed digests only) and the providers' redemptions. A code is used by at most one redemption: the redemption row's
 * unique `code_digest` and the code's conditional `open → used` update, in one transaction, both say so.
 */
import type { Dialect } from "../store";
import { COLUMN_TYPES, type Migration } from "./types";

function tables(dialect: Dialect): string[] {
  const t = COLUMN_TYPES[dialect];
  const key = dialect === "postgres" ? 'TEXT COLLATE "C"' : "TEXT";
  return [
    `CREATE TABLE vouchers (
      voucher_id ${key} PRIMARY KEY,
      programme_id ${t.bigint} NOT NULL,
      region_code ${t.bigint} NOT NULL,
      face_value TEXT NOT NULL,
      expires_at ${t.bigint} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'exhausted', 'expired')),
      tx_hash TEXT NOT NULL,
      block_number ${t.bigint} NOT NULL,
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX vouchers_programme_idx ON vouchers (programme_id, status)",
    "CREATE INDEX vouchers_expiry_idx ON vouchers (status, expires_at)",

    `CREATE TABLE voucher_codes (
      code_digest TEXT PRIMARY KEY,
      voucher_id TEXT NOT NULL,
      pseudonym TEXT NOT NULL,
      max_amount TEXT NOT NULL,
      expires_at ${t.bigint} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('open', 'used', 'replaced')),
      redemption_id TEXT,
      created_at ${t.bigint} NOT NULL,
      used_at ${t.bigint},
      CHECK ((status = 'used') = (redemption_id IS NOT NULL))
    )${t.tableSuffix}`,
    "CREATE INDEX voucher_codes_voucher_idx ON voucher_codes (voucher_id, status)",

    `CREATE TABLE voucher_redemptions (
      redemption_id ${key} PRIMARY KEY,
      code_digest TEXT NOT NULL UNIQUE,
      voucher_id TEXT NOT NULL,
      programme_id ${t.bigint} NOT NULL,
      region_code ${t.bigint} NOT NULL,
      provider_id TEXT NOT NULL,
      amount TEXT NOT NULL,
      invoice_digest TEXT NOT NULL,
      presentation_digest TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'redeemed', 'paid', 'settled')),
      redemption_index ${t.int},
      remaining TEXT,
      tx_hash TEXT,
      block_number ${t.bigint},
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL,
      CHECK (status = 'pending' OR redemption_index IS NOT NULL)
    )${t.tableSuffix}`,
    "CREATE UNIQUE INDEX voucher_redemptions_key_idx ON voucher_redemptions (voucher_id, redemption_index)",
    "CREATE INDEX voucher_redemptions_provider_idx ON voucher_redemptions (provider_id, status)",
    "CREATE INDEX voucher_redemptions_programme_idx ON voucher_redemptions (programme_id, status)",
  ];
}

export const vouchers: Migration = {
  version: 3,
  name: "vouchers",
  up: (dialect) => tables(dialect),
};
