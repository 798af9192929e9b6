import type { Row, SqlValue } from "../driver";
import { toBuffer, toDate, toText } from "../rows";
import type { RecordKeysData } from "../store";
import { FIELD_CLASSES, type FieldClass, type NewRecordKey, type RecordKey } from "../types";
import { checkBytes, checkOneOf, checkText } from "../validate";
import { checkEach, checkObject, inStatements, valuesList } from "./batch";
import type { DataContext } from "./context";

const COLUMNS = "record_id, holder_id, field_class, wrapped_key, created_at";

function toRecordKey(row: Row): RecordKey {
  return {
    recordId: toText(row.record_id),
    holderId: toText(row.holder_id),
    fieldClass: toText(row.field_class) as FieldClass,
    wrappedKey: toBuffer(row.wrapped_key),
    createdAt: toDate(row.created_at),
  };
}

export function recordKeysData(ctx: DataContext): RecordKeysData {
  return {
    async putRecordKeys(keys) {
      const createdAt = ctx.now();
      const rows = checkEach(keys, "keys", (key: NewRecordKey): SqlValue[] => {
        checkObject(key);
        return [
          checkText(key.recordId, "record id"),
          checkText(key.holderId, "holderId"),
          checkOneOf(key.fieldClass, FIELD_CLASSES, "fieldClass"),
          Buffer.from(checkBytes(key.wrappedKey, "wrappedKey")),
          createdAt,
        ];
      });
      // Several statements when there are many keys: MULTI_STATEMENT (or the caller's transaction) makes them one.
      await inStatements(ctx.db.dialect, rows, async (count, params) => {
        await ctx.db.run(`INSERT INTO record_keys (${COLUMNS}) VALUES ${valuesList("(?, ?, ?, ?, ?)", count)}`, params);
        return [];
      });
    },

    async getRecordKey(recordId, holderId, fieldClass) {
      const rows = await ctx.db.all(
        `SELECT ${COLUMNS} FROM record_keys WHERE record_id = ? AND holder_id = ? AND field_class = ?`,
        [
          checkText(recordId, "record id"),
          checkText(holderId, "holderId"),
          checkOneOf(fieldClass, FIELD_CLASSES, "fieldClass"),
        ],
      );
      return rows.length === 0 ? undefined : toRecordKey(rows[0]);
    },

    async listRecordKeys(recordId, holderId) {
      const rows =
        holderId === undefined
          ? await ctx.db.all(`SELECT ${COLUMNS} FROM record_keys WHERE record_id = ? ORDER BY holder_id, field_class`, [
              checkText(recordId, "record id"),
            ])
          : await ctx.db.all(
              `SELECT ${COLUMNS} FROM record_keys WHERE record_id = ? AND holder_id = ? ORDER BY field_class`,
              [checkText(recordId, "record id"), checkText(holderId, "holderId")],
            );
      return rows.map(toRecordKey);
    },

    async shredKeys(caseId) {
      const deleted = await ctx.db.run(
        "DELETE FROM record_keys WHERE record_id IN (SELECT id FROM records WHERE case_id = ?)",
        [checkText(caseId, "caseId")],
      );
      if (deleted > 0) ctx.shredded();
      return deleted;
    },
  };
}
