import type { Row } from "../driver";
import { StoreError } from "../errors";
import { toBuffer, toDate, toDateOrNull, toText } from "../rows";
import type { HolderKeysData } from "../store";
import type { HolderKey, HolderKeyStatus } from "../types";
import { checkBytes, checkOneOf, checkText } from "../validate";
import type { DataContext } from "./context";

const COLUMNS = "holder_id, public_key_pem, wrapped_kek, status, created_at, rotated_at";
const STATUSES: readonly HolderKeyStatus[] = ["active", "suspended", "revoked"];
const MAX_PEM = 4_096;

function toHolderKey(row: Row): HolderKey {
  return {
    holderId: toText(row.holder_id),
    publicKeyPem: toText(row.public_key_pem),
    wrappedKek: toBuffer(row.wrapped_kek),
    status: toText(row.status) as HolderKeyStatus,
    createdAt: toDate(row.created_at),
    rotatedAt: toDateOrNull(row.rotated_at),
  };
}

export function holderKeysData(ctx: DataContext): HolderKeysData {
  function one(rows: Row[]): HolderKey {
    if (rows.length === 0) throw new StoreError("NOT_FOUND", "no such key holder");
    return toHolderKey(rows[0]);
  }

  return {
    async putHolderKey(key) {
      const rows = await ctx.db.all(
        `INSERT INTO institution_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL) RETURNING ${COLUMNS}`,
        [
          checkText(key.holderId, "holderId"),
          checkText(key.publicKeyPem, "publicKeyPem", MAX_PEM),
          Buffer.from(checkBytes(key.wrappedKek, "wrappedKek")),
          checkOneOf(key.status ?? "active", STATUSES, "status"),
          ctx.now(),
        ],
      );
      return toHolderKey(rows[0]);
    },

    async rotateHolderKey(holderId, key) {
      return one(
        await ctx.db.all(
          `UPDATE institution_keys SET public_key_pem = ?, wrapped_kek = ?, rotated_at = ? WHERE holder_id = ? RETURNING ${COLUMNS}`,
          [
            checkText(key.publicKeyPem, "publicKeyPem", MAX_PEM),
            Buffer.from(checkBytes(key.wrappedKek, "wrappedKek")),
            ctx.now(),
            checkText(holderId, "holderId"),
          ],
        ),
      );
    },

    async setHolderKeyStatus(holderId, status) {
      return one(
        await ctx.db.all(`UPDATE institution_keys SET status = ? WHERE holder_id = ? RETURNING ${COLUMNS}`, [
          checkOneOf(status, STATUSES, "status"),
          checkText(holderId, "holderId"),
        ]),
      );
    },

    async getHolderKey(holderId) {
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM institution_keys WHERE holder_id = ?`, [
        checkText(holderId, "holderId"),
      ]);
      return rows.length === 0 ? undefined : toHolderKey(rows[0]);
    },

    async listHolderKeys(filter = {}) {
      const rows =
        filter.status === undefined
          ? await ctx.db.all(`SELECT ${COLUMNS} FROM institution_keys ORDER BY holder_id`)
          : await ctx.db.all(`SELECT ${COLUMNS} FROM institution_keys WHERE status = ? ORDER BY holder_id`, [
              checkOneOf(filter.status, STATUSES, "status"),
            ]);
      return rows.map(toHolderKey);
    },
  };
}
