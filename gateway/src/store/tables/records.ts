import { parseEnvelope } from "../../crypto";
import type { Row, SqlValue } from "../driver";
import { StoreError } from "../errors";
import { toBuffer, toDate, toInt, toText } from "../rows";
import type { RecordsData } from "../store";
import type { NewRecord, StoredRecord } from "../types";
import { checkBytes, checkHex32, checkInt, checkLimit, checkText } from "../validate";
import { checkEach, checkObject, inStatements, valuesList } from "./batch";
import type { DataContext } from "./context";

const COLUMNS = "id, kind, case_id, region_code, schema_version, envelope, digest, created_at";

function toRecord(row: Row): StoredRecord {
  return {
    id: toText(row.id),
    kind: toText(row.kind),
    caseId: toText(row.case_id),
    regionCode: toInt(row.region_code),
    schemaVersion: toInt(row.schema_version),
    envelope: toBuffer(row.envelope),
    digest: toText(row.digest),
    createdAt: toDate(row.created_at),
  };
}

/** A record's columns in COLUMNS order, checked; `created_at` is left for the caller. */
function checkRecord(record: NewRecord): SqlValue[] {
  const id = checkText(record.id, "record id");
  const kind = checkText(record.kind, "record kind", 64);
  const caseId = checkText(record.caseId, "caseId");
  const regionCode = checkInt(record.regionCode, "regionCode");
  const schemaVersion = checkInt(record.schemaVersion, "schemaVersion", 1);
  const envelope = Buffer.from(checkBytes(record.envelope, "envelope"));
  const digest = checkHex32(record.digest, "digest");
  try {
    parseEnvelope(envelope); // only sealed data is stored: refuse anything that is not an SM4 envelope
  } catch (error) {
    throw new StoreError("INVALID_ARGUMENT", "envelope is not a sealed SM4 envelope", { cause: error });
  }
  return [id, kind, caseId, regionCode, schemaVersion, envelope, digest];
}

/** The stored record of checked columns (as {@link checkRecord} returns them) and their creation time. */
function storedOf(values: SqlValue[], createdAt: number): StoredRecord {
  const [id, kind, caseId, regionCode, schemaVersion, envelope, digest] = values as [
    string,
    string,
    string,
    number,
    number,
    Buffer,
    string,
  ];
  return { id, kind, caseId, regionCode, schemaVersion, envelope, digest, createdAt: new Date(createdAt) };
}

export function recordsData(ctx: DataContext): RecordsData {
  return {
    async insertRecord(record) {
      const values = checkRecord(record);
      const createdAt = ctx.now();
      await ctx.db.run(`INSERT INTO records (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [...values, createdAt]);
      return storedOf(values, createdAt);
    },

    async insertRecords(records) {
      const rows = checkEach(records, "records", (record: NewRecord) => {
        checkObject(record);
        return checkRecord(record);
      });
      const createdAt = ctx.now();
      await inStatements(
        ctx.db.dialect,
        rows.map((values) => [...values, createdAt]),
        async (count, params) => {
          await ctx.db.run(
            `INSERT INTO records (${COLUMNS}) VALUES ${valuesList("(?, ?, ?, ?, ?, ?, ?, ?)", count)}`,
            params,
          );
          return [];
        },
      );
      return rows.map((values) => storedOf(values, createdAt));
    },

    async getRecord(id) {
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM records WHERE id = ?`, [checkText(id, "record id")]);
      return rows.length === 0 ? undefined : toRecord(rows[0]);
    },

    async listRecords(filter) {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (filter.caseId !== undefined) {
        where.push("case_id = ?");
        params.push(checkText(filter.caseId, "caseId"));
      }
      if (filter.regionCode !== undefined) {
        where.push("region_code = ?");
        params.push(checkInt(filter.regionCode, "regionCode"));
      }
      if (filter.kind !== undefined) {
        where.push("kind = ?");
        params.push(checkText(filter.kind, "record kind", 64));
      }
      params.push(checkLimit(filter.limit));
      const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")} `;
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM records ${clause}ORDER BY created_at, id LIMIT ?`, params);
      return rows.map(toRecord);
    },
  };
}
