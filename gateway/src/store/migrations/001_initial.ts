/**
 * The initial schema: sealed records, their wrapped keys, the anchoring outbox and anchors, the audit log,
 * idempotency keys and the holders' keys. Timestamps are epoch milliseconds; digests, roots and transaction hashes
 * `0x`-hex text.
 */
import type { Dialect } from "../store";
import { COLUMN_TYPES, type Migration } from "./types";

/** 180 days in milliseconds: the audit log's minimum retention, enforced by the database too. */
const AUDIT_RETENTION_MS = 180 * 86_400_000;

function tables(dialect: Dialect): string[] {
  const t = COLUMN_TYPES[dialect];
  return [
    `CREATE TABLE records (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      case_id TEXT NOT NULL,
      region_code ${t.bigint} NOT NULL,
      schema_version ${t.int} NOT NULL,
      envelope ${t.bytes} NOT NULL,
      digest TEXT NOT NULL,
      created_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX records_case_idx ON records (case_id)",
    "CREATE INDEX records_region_kind_idx ON records (region_code, kind, created_at)",

    `CREATE TABLE record_keys (
      record_id TEXT NOT NULL REFERENCES records (id),
      holder_id TEXT NOT NULL,
      field_class TEXT NOT NULL CHECK (field_class IN ('household', 'payment', 'identity', 'beneficiary')),
      wrapped_key ${t.bytes} NOT NULL,
      created_at ${t.bigint} NOT NULL,
      PRIMARY KEY (record_id, holder_id, field_class)
    )${t.tableSuffix}`,
    "CREATE INDEX record_keys_holder_idx ON record_keys (holder_id)",

    `CREATE TABLE anchors (
      sequence ${t.bigint} PRIMARY KEY,
      root TEXT NOT NULL,
      record_count ${t.int} NOT NULL CHECK (record_count > 0),
      region_code ${t.bigint} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('submitted', 'confirmed')),
      tx_hash TEXT,
      block_number ${t.bigint},
      created_at ${t.bigint} NOT NULL,
      updated_at ${t.bigint} NOT NULL
    )${t.tableSuffix}`,
    "CREATE INDEX anchors_status_idx ON anchors (status, sequence)",

    `CREATE TABLE outbox (
      queue_position ${t.serial},
      record_id TEXT NOT NULL UNIQUE REFERENCES records (id),
      digest TEXT NOT NULL,
      region_code ${t.bigint} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'anchored')),
      attempts ${t.int} NOT NULL,
      next_attempt_at ${t.bigint} NOT NULL,
      enqueued_at ${t.bigint} NOT NULL,
      anchor_sequence ${t.bigint} REFERENCES anchors (sequence),
      leaf_index ${t.int},
      tx_hash TEXT,
      block_number ${t.bigint},
      anchored_at ${t.bigint},
      CHECK ((anchor_sequence IS NULL) = (leaf_index IS NULL)),
      CHECK (status = 'pending' OR (anchor_sequence IS NOT NULL AND tx_hash IS NOT NULL))
    )${t.tableSuffix}`,
    "CREATE INDEX outbox_claimable_idx ON outbox (queue_position) WHERE status = 'pending' AND anchor_sequence IS NULL",
    "CREATE UNIQUE INDEX outbox_leaf_idx ON outbox (anchor_sequence, leaf_index)",

    `CREATE TABLE audit_log (
      id ${t.serial},
      at ${t.bigint} NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT,
      reason TEXT,
      details TEXT
    )${t.tableSuffix}`,
    "CREATE INDEX audit_log_at_idx ON audit_log (at)",
    "CREATE INDEX audit_log_actor_idx ON audit_log (actor, id)",
    "CREATE INDEX audit_log_action_idx ON audit_log (action, id)",

    `CREATE TABLE idempotency (
      idempotency_key TEXT PRIMARY KEY,
      request_hash TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'completed')),
      response_status ${t.int},
      response_body TEXT,
      created_at ${t.bigint} NOT NULL,
      completed_at ${t.bigint}
    )${t.tableSuffix}`,
    "CREATE INDEX idempotency_created_idx ON idempotency (created_at)",

    `CREATE TABLE institution_keys (
      holder_id TEXT PRIMARY KEY,
      public_key_pem TEXT NOT NULL,
      wrapped_kek ${t.bytes} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
      created_at ${t.bigint} NOT NULL,
      rotated_at ${t.bigint}
    )${t.tableSuffix}`,
  ];
}

/** The database itself refuses to change audit entries, or to delete one younger than 180 days by its own clock. */
function auditGuards(dialect: Dialect): string[] {
  if (dialect === "sqlite") {
    return [
      `CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`,
      `CREATE TRIGGER audit_log_retention BEFORE DELETE ON audit_log
       WHEN OLD.at > CAST(strftime('%s', 'now') AS INTEGER) * 1000 - ${AUDIT_RETENTION_MS}
       BEGIN SELECT RAISE(ABORT, 'audit_log entries are kept at least 180 days'); END`,
    ];
  }
  return [
    `CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' THEN
         IF OLD.at <= floor(extract(epoch FROM clock_timestamp()) * 1000) - ${AUDIT_RETENTION_MS} THEN
           RETURN OLD;
         END IF;
       END IF;
       RAISE EXCEPTION 'audit_log is append-only and entries are kept at least 180 days';
     END $$`,
    `CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
     FOR EACH ROW EXECUTE FUNCTION audit_log_guard()`,
    `CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard()`,
  ];
}

export const initial: Migration = {
  version: 1,
  name: "initial",
  up: (dialect) => [...tables(dialect), ...auditGuards(dialect)],
};
