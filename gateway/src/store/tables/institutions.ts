import { getAddress } from "ethers";
import { Role } from "../../../../lib/roles";
import type { Row } from "../driver";
import { StoreError, invariant } from "../errors";
import type { ApiKeyRow, InstitutionRow } from "../gateway-types";
import { toDate, toDateOrNull, toInt, toText, toTextOrNull } from "../rows";
import type { InstitutionsData } from "../store";
import { checkHex32, checkInt, checkOptionalText, checkText } from "../validate";
import type { DataContext } from "./context";
import { containingRegionCondition } from "./regions";
import { Where } from "./where";

const COLUMNS = "id, name, role, region_code, account, active, created_at";
const KEY_COLUMNS = "key_id, institution_id, secret_digest, label, created_at, revoked_at";
const INSTITUTION_ID = /^[a-z0-9_-]{1,64}$/;

function toInstitution(row: Row): InstitutionRow {
  return {
    id: toText(row.id),
    name: toText(row.name),
    role: toInt(row.role),
    regionCode: toInt(row.region_code),
    account: toText(row.account),
    active: toInt(row.active) === 1,
    createdAt: toDate(row.created_at),
  };
}

function toApiKey(row: Row): ApiKeyRow {
  return {
    keyId: toText(row.key_id),
    institutionId: toTextOrNull(row.institution_id),
    secretDigest: toText(row.secret_digest),
    label: toTextOrNull(row.label),
    createdAt: toDate(row.created_at),
    revokedAt: toDateOrNull(row.revoked_at),
  };
}

/** An institution id: lowercase letters, digits, `-` and `_`, 1–64 characters. */
function checkInstitutionId(value: unknown, name: string): string {
  invariant(
    typeof value === "string" && INSTITUTION_ID.test(value),
    "INVALID_ARGUMENT",
    `${name} must be 1 to 64 lowercase letters, digits, - or _`,
  );
  return value;
}

/** A 0x address, in its checksummed form (so that one account has one spelling and the unique key holds). */
function checkAccount(value: unknown, name: string): string {
  invariant(typeof value === "string", "INVALID_ARGUMENT", `${name} must be a 0x address`);
  try {
    return getAddress(value);
  } catch (error) {
    throw new StoreError("INVALID_ARGUMENT", `${name} must be a 0x address with a valid checksum`, { cause: error });
  }
}

function checkRole(value: unknown): number {
  const role = checkInt(value, "role", 1);
  invariant(role <= Role.Provider, "INVALID_ARGUMENT", `role must be from 1 to ${Role.Provider}`);
  return role;
}

export function institutionsData(ctx: DataContext): InstitutionsData {
  function oneInstitution(rows: Row[]): InstitutionRow {
    if (rows.length === 0) throw new StoreError("NOT_FOUND", "no such institution");
    return toInstitution(rows[0]);
  }

  return {
    async putInstitution(institution) {
      const rows = await ctx.db.all(
        `INSERT INTO institutions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, 1, ?) RETURNING ${COLUMNS}`,
        [
          checkInstitutionId(institution.id, "institution id"),
          checkText(institution.name, "name"),
          checkRole(institution.role),
          checkInt(institution.regionCode, "regionCode"),
          checkAccount(institution.account, "account"),
          ctx.now(),
        ],
      );
      return toInstitution(rows[0]);
    },

    async getInstitution(id) {
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM institutions WHERE id = ?`, [
        checkText(id, "institution id"),
      ]);
      return rows.length === 0 ? undefined : toInstitution(rows[0]);
    },

    async getInstitutionByAccount(account) {
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM institutions WHERE account = ?`, [
        checkAccount(account, "account"),
      ]);
      return rows.length === 0 ? undefined : toInstitution(rows[0]);
    },

    async listInstitutions(filter = {}) {
      const where = new Where();
      if (filter.role !== undefined) where.add("role = ?", checkInt(filter.role, "role"));
      if (filter.containingRegion !== undefined) {
        where.condition(
          containingRegionCondition("region_code", checkInt(filter.containingRegion, "containingRegion")),
        );
      }
      if (filter.activeOnly !== undefined) {
        invariant(typeof filter.activeOnly === "boolean", "INVALID_ARGUMENT", "activeOnly must be a boolean");
        if (filter.activeOnly) where.condition({ sql: "active = 1", params: [] });
      }
      const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM institutions ${where.sql}ORDER BY id`, where.params);
      return rows.map(toInstitution);
    },

    async setInstitutionActive(id, active) {
      invariant(typeof active === "boolean", "INVALID_ARGUMENT", "active must be a boolean");
      return oneInstitution(
        await ctx.db.all(`UPDATE institutions SET active = ? WHERE id = ? RETURNING ${COLUMNS}`, [
          active ? 1 : 0,
          checkText(id, "institution id"),
        ]),
      );
    },

    async putApiKey(key) {
      const institutionId = key.institutionId === null ? null : checkInstitutionId(key.institutionId, "institutionId");
      const rows = await ctx.db.all(
        `INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL) RETURNING ${KEY_COLUMNS}`,
        [
          checkText(key.keyId, "keyId", 64),
          institutionId,
          checkHex32(key.secretDigest, "secretDigest"),
          checkOptionalText(key.label, "label", 200),
          ctx.now(),
        ],
      );
      return toApiKey(rows[0]);
    },

    async getApiKey(keyId) {
      const rows = await ctx.db.all(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_id = ?`, [
        checkText(keyId, "keyId", 64),
      ]);
      return rows.length === 0 ? undefined : toApiKey(rows[0]);
    },

    async listApiKeys(filter = {}) {
      let rows: Row[];
      if (filter.institutionId === undefined) {
        rows = await ctx.db.all(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY key_id`);
      } else if (filter.institutionId === null) {
        rows = await ctx.db.all(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE institution_id IS NULL ORDER BY key_id`);
      } else {
        rows = await ctx.db.all(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE institution_id = ? ORDER BY key_id`, [
          checkText(filter.institutionId, "institutionId"),
        ]);
      }
      return rows.map(toApiKey);
    },

    async revokeApiKey(keyId) {
      const rows = await ctx.db.all(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ? RETURNING ${KEY_COLUMNS}`,
        [ctx.now(), checkText(keyId, "keyId", 64)],
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no such API key");
      return toApiKey(rows[0]);
    },
  };
}
