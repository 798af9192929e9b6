import type { Row, SqlValue } from "../driver";
import { invariant } from "../errors";
import { toDate, toInt, toJson, toText, toTextOrNull } from "../rows";
import { AUDIT_RETENTION_MIN_DAYS, type AuditData } from "../store";
import type { AuditEntry, NewAuditEntry } from "../types";
import { checkDate, checkInt, checkJson, checkLimit, checkOptionalText, checkText } from "../validate";
import { checkEach, checkObject, inStatements, valuesList } from "./batch";
import type { DataContext } from "./context";
import { Where } from "./where";

const COLUMNS = "id, at, actor, action, target, reason, details";
const DAY_MS = 86_400_000;
/** Largest `details` JSON, in bytes. */
export const MAX_AUDIT_DETAILS_BYTES = 16_384;

function toAuditEntry(row: Row): AuditEntry {
  return {
    id: toInt(row.id),
    at: toDate(row.at),
    actor: toText(row.actor),
    action: toText(row.action),
    target: toTextOrNull(row.target),
    reason: toTextOrNull(row.reason),
    details: toJson(row.details),
  };
}

/** An entry's columns after `at`, checked. */
function checkEntry(entry: NewAuditEntry): SqlValue[] {
  return [
    checkText(entry.actor, "actor"),
    checkText(entry.action, "action"),
    checkOptionalText(entry.target, "target", 500),
    checkOptionalText(entry.reason, "reason", 2_000),
    checkJson(entry.details, "details", MAX_AUDIT_DETAILS_BYTES),
  ];
}

const INSERT = "INSERT INTO audit_log (at, actor, action, target, reason, details) VALUES";

export function auditData(ctx: DataContext): AuditData {
  return {
    async appendAudit(entry) {
      const rows = await ctx.db.all(`${INSERT} (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`, [
        ctx.now(),
        ...checkEntry(entry),
      ]);
      return toAuditEntry(rows[0]);
    },

    async appendAudits(entries) {
      const at = ctx.now();
      const rows = checkEach(entries, "entries", (entry: NewAuditEntry) => {
        checkObject(entry);
        return [at, ...checkEntry(entry)];
      });
      // Ids follow the VALUES order (one identity/rowid per row, in order), so the entries come back by id.
      return inStatements(ctx.db.dialect, rows, async (count, params) => {
        const appended = await ctx.db.all(
          `${INSERT} ${valuesList("(?, ?, ?, ?, ?, ?)", count)} RETURNING ${COLUMNS}`,
          params,
        );
        return appended.map(toAuditEntry).sort((a, b) => a.id - b.id);
      });
    },

    async listAudit(query = {}) {
      const where = new Where();
      if (query.since !== undefined) where.add("at >= ?", checkDate(query.since, "since"));
      if (query.until !== undefined) where.add("at < ?", checkDate(query.until, "until"));
      if (query.actor !== undefined) where.add("actor = ?", checkText(query.actor, "actor"));
      if (query.action !== undefined) where.add("action = ?", checkText(query.action, "action"));
      if (query.target !== undefined) where.add("target = ?", checkText(query.target, "target", 500));
      if (query.afterId !== undefined) where.add("id > ?", checkInt(query.afterId, "afterId"));
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM audit_log ${where.sql}ORDER BY id LIMIT ?`, [
        ...where.params,
        checkLimit(query.limit),
      ]);
      return rows.map(toAuditEntry);
    },

    async purgeAudit(olderThanDays) {
      invariant(
        typeof olderThanDays === "number" &&
          Number.isFinite(olderThanDays) &&
          olderThanDays >= AUDIT_RETENTION_MIN_DAYS,
        "INVALID_ARGUMENT",
        `audit entries are kept at least ${AUDIT_RETENTION_MIN_DAYS} days: olderThanDays must be ${AUDIT_RETENTION_MIN_DAYS} or more`,
      );
      const cutoff = ctx.now() - Math.ceil(olderThanDays * DAY_MS);
      return ctx.db.run("DELETE FROM audit_log WHERE at < ?", [cutoff]);
    },
  };
}
