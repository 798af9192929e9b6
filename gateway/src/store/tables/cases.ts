import type { Row, SqlValue } from "../driver";
import { StoreError } from "../errors";
import { CASE_INDEX_STATUSES, type CaseIndexRow, type CaseIndexStatus, type NewCaseIndex } from "../gateway-types";
import { toDate, toInt, toText } from "../rows";
import type { CasesData } from "../store";
import { checkHex32, checkInt, checkLimit, checkOneOf, checkText } from "../validate";
import { checkEach, checkObject, inStatements, valuesList } from "./batch";
import type { DataContext } from "./context";
import { withinRegionCondition } from "./regions";
import { Where } from "./where";

const COLUMNS =
  "case_id, programme_id, region_code, pseudonym, submitter, application_record_id, status, created_at, updated_at";

export function toCase(row: Row): CaseIndexRow {
  return {
    caseId: toText(row.case_id),
    programmeId: toInt(row.programme_id),
    regionCode: toInt(row.region_code),
    pseudonym: toText(row.pseudonym),
    submitter: toText(row.submitter),
    applicationRecordId: toText(row.application_record_id),
    status: toText(row.status) as CaseIndexStatus,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** A case index entry's columns in COLUMNS order, checked, created and updated `now`. */
function checkCase(entry: NewCaseIndex, now: number): SqlValue[] {
  return [
    checkHex32(entry.caseId, "caseId"),
    checkInt(entry.programmeId, "programmeId"),
    checkInt(entry.regionCode, "regionCode"),
    checkHex32(entry.pseudonym, "pseudonym"),
    checkText(entry.submitter, "submitter", 64),
    checkText(entry.applicationRecordId, "applicationRecordId"),
    checkOneOf(entry.status, CASE_INDEX_STATUSES, "status"),
    now,
    now,
  ];
}

const ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";

export function casesData(ctx: DataContext): CasesData {
  return {
    async putCase(entry) {
      const rows = await ctx.db.all(`INSERT INTO cases (${COLUMNS}) VALUES ${ROW} RETURNING ${COLUMNS}`, [
        ...checkCase(entry, ctx.now()),
      ]);
      return toCase(rows[0]);
    },

    async putCases(entries) {
      const now = ctx.now();
      const rows = checkEach(entries, "entries", (entry: NewCaseIndex) => {
        checkObject(entry);
        return checkCase(entry, now);
      });
      return inStatements(ctx.db.dialect, rows, async (count, params) => {
        const inserted = await ctx.db.all(
          `INSERT INTO cases (${COLUMNS}) VALUES ${valuesList(ROW, count)} RETURNING ${COLUMNS}`,
          params,
        );
        // RETURNING's order is not promised: put the rows back in the order given.
        const byId = new Map(inserted.map((row) => [toText(row.case_id), toCase(row)]));
        return Array.from({ length: count }, (_, i) => byId.get(params[i * 9] as string) as CaseIndexRow);
      });
    },

    async getCase(caseId) {
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM cases WHERE case_id = ?`, [checkHex32(caseId, "caseId")]);
      return rows.length === 0 ? undefined : toCase(rows[0]);
    },

    async listCases(query = {}) {
      const where = new Where();
      if (query.withinRegion !== undefined) {
        where.condition(withinRegionCondition("region_code", checkInt(query.withinRegion, "withinRegion")));
      }
      if (query.programmeId !== undefined) where.add("programme_id = ?", checkInt(query.programmeId, "programmeId"));
      if (query.status !== undefined) where.add("status = ?", checkOneOf(query.status, CASE_INDEX_STATUSES, "status"));
      if (query.pseudonym !== undefined) where.add("pseudonym = ?", checkHex32(query.pseudonym, "pseudonym"));
      if (query.afterCaseId !== undefined) where.add("case_id > ?", checkText(query.afterCaseId, "afterCaseId"));
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM cases ${where.sql}ORDER BY case_id LIMIT ?`, [
        ...where.params,
        checkLimit(query.limit),
      ]);
      return rows.map(toCase);
    },

    async listCasesOfPseudonyms(pseudonyms) {
      const rows = checkEach(pseudonyms, "pseudonyms", (p: string): SqlValue[] => [checkHex32(p, "pseudonym")]);
      const found = await inStatements(ctx.db.dialect, rows, (count, params) =>
        ctx.db.all(`SELECT ${COLUMNS} FROM cases WHERE pseudonym IN (${valuesList("?", count)})`, params),
      );
      // Bytewise, as the database orders case ids (COLLATE "C" on PostgreSQL).
      return found.map(toCase).sort((a, b) => (a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0));
    },

    async setCaseStatus(caseId, status) {
      const rows = await ctx.db.all(
        `UPDATE cases SET status = ?, updated_at = ? WHERE case_id = ? RETURNING ${COLUMNS}`,
        [checkOneOf(status, CASE_INDEX_STATUSES, "status"), ctx.now(), checkHex32(caseId, "caseId")],
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no such case");
      return toCase(rows[0]);
    },
  };
}
