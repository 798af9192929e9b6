import type { Row } from "../driver";
import { StoreError, invariant } from "../errors";
import {
  type BeneficiaryCodeRow,
  type BeneficiarySessionRow,
  RECEIPT_ROW_OUTCOMES,
  type ReceiptRow,
  type ReceiptRowOutcome,
} from "../gateway-types";
import { toDate, toDateOrNull, toInt, toText, toTextOrNull } from "../rows";
import type { BeneficiaryData } from "../store";
import { checkDate, checkHex32, checkOneOf, checkText } from "../validate";
import type { DataContext } from "./context";

const CODE_COLUMNS = "pseudonym, code_digest, expires_at, failures, locked_until, created_at";
const SESSION_COLUMNS = "token_digest, pseudonym, expires_at, created_at";
const RECEIPT_COLUMNS = "payout_id, case_id, outcome, record_id, receipt_json, signature, tx_hash, created_at";
/** Largest receipt JSON, in bytes. */
export const MAX_RECEIPT_BYTES = 16_384;
/** Longest signature text (a base64 DER SM2 signature is under 100 characters). */
const MAX_SIGNATURE = 512;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function toCode(row: Row): BeneficiaryCodeRow {
  return {
    pseudonym: toText(row.pseudonym),
    codeDigest: toText(row.code_digest),
    expiresAt: toDate(row.expires_at),
    failures: toInt(row.failures),
    lockedUntil: toDateOrNull(row.locked_until),
    createdAt: toDate(row.created_at),
  };
}

function toSession(row: Row): BeneficiarySessionRow {
  return {
    tokenDigest: toText(row.token_digest),
    pseudonym: toText(row.pseudonym),
    expiresAt: toDate(row.expires_at),
    createdAt: toDate(row.created_at),
  };
}

function toReceipt(row: Row): ReceiptRow {
  return {
    payoutId: toText(row.payout_id),
    caseId: toText(row.case_id),
    outcome: toText(row.outcome) as ReceiptRowOutcome,
    recordId: toText(row.record_id),
    receiptJson: toText(row.receipt_json),
    signature: toText(row.signature),
    txHash: toTextOrNull(row.tx_hash),
    createdAt: toDate(row.created_at),
  };
}

/** JSON text of at most MAX_RECEIPT_BYTES bytes. */
function checkReceiptJson(value: unknown): string {
  invariant(
    typeof value === "string" && value.length > 0 && Buffer.byteLength(value) <= MAX_RECEIPT_BYTES,
    "INVALID_ARGUMENT",
    `receiptJson must be JSON text of at most ${MAX_RECEIPT_BYTES} bytes`,
  );
  try {
    JSON.parse(value);
  } catch (error) {
    throw new StoreError("INVALID_ARGUMENT", "receiptJson must be JSON text", { cause: error });
  }
  return value;
}

function checkSignature(value: unknown): string {
  invariant(
    typeof value === "string" && value.length <= MAX_SIGNATURE && BASE64.test(value),
    "INVALID_ARGUMENT",
    `signature must be base64 of at most ${MAX_SIGNATURE} characters`,
  );
  return value;
}

export function beneficiaryData(ctx: DataContext): BeneficiaryData {
  return {
    async putBeneficiaryCode(code) {
      const now = ctx.now();
      // A replaced code starts with no failures, but a lock that still runs stays: issuing a new code must not be a
      // way around it.
      const rows = await ctx.db.all(
        `INSERT INTO beneficiary_codes (${CODE_COLUMNS}) VALUES (?, ?, ?, 0, NULL, ?) ` +
          "ON CONFLICT (pseudonym) DO UPDATE SET code_digest = excluded.code_digest, " +
          "expires_at = excluded.expires_at, failures = 0, created_at = excluded.created_at, " +
          "locked_until = CASE WHEN beneficiary_codes.locked_until > ? THEN beneficiary_codes.locked_until END " +
          `RETURNING ${CODE_COLUMNS}`,
        [
          checkHex32(code.pseudonym, "pseudonym"),
          checkHex32(code.codeDigest, "codeDigest"),
          checkDate(code.expiresAt, "expiresAt"),
          now,
          now,
        ],
      );
      return toCode(rows[0]);
    },

    async getBeneficiaryCode(pseudonym) {
      const rows = await ctx.db.all(`SELECT ${CODE_COLUMNS} FROM beneficiary_codes WHERE pseudonym = ?`, [
        checkHex32(pseudonym, "pseudonym"),
      ]);
      return rows.length === 0 ? undefined : toCode(rows[0]);
    },

    async recordCodeFailure(pseudonym, lockUntil) {
      const params = [checkHex32(pseudonym, "pseudonym")];
      const rows =
        lockUntil === null
          ? await ctx.db.all(
              `UPDATE beneficiary_codes SET failures = failures + 1 WHERE pseudonym = ? RETURNING ${CODE_COLUMNS}`,
              params,
            )
          : await ctx.db.all(
              "UPDATE beneficiary_codes SET failures = failures + 1, locked_until = ? WHERE pseudonym = ? " +
                `RETURNING ${CODE_COLUMNS}`,
              [checkDate(lockUntil, "lockUntil"), ...params],
            );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no code for this pseudonym");
      return toCode(rows[0]);
    },

    async consumeBeneficiaryCode(pseudonym, codeDigest) {
      const deleted = await ctx.db.run("DELETE FROM beneficiary_codes WHERE pseudonym = ? AND code_digest = ?", [
        checkHex32(pseudonym, "pseudonym"),
        checkHex32(codeDigest, "codeDigest"),
      ]);
      return deleted === 1;
    },

    async putBeneficiarySession(session) {
      const rows = await ctx.db.all(
        `INSERT INTO beneficiary_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?) RETURNING ${SESSION_COLUMNS}`,
        [
          checkHex32(session.tokenDigest, "tokenDigest"),
          checkHex32(session.pseudonym, "pseudonym"),
          checkDate(session.expiresAt, "expiresAt"),
          ctx.now(),
        ],
      );
      return toSession(rows[0]);
    },

    async getBeneficiarySession(tokenDigest) {
      const rows = await ctx.db.all(`SELECT ${SESSION_COLUMNS} FROM beneficiary_sessions WHERE token_digest = ?`, [
        checkHex32(tokenDigest, "tokenDigest"),
      ]);
      return rows.length === 0 ? undefined : toSession(rows[0]);
    },

    async deleteBeneficiarySession(tokenDigest) {
      const deleted = await ctx.db.run("DELETE FROM beneficiary_sessions WHERE token_digest = ?", [
        checkHex32(tokenDigest, "tokenDigest"),
      ]);
      return deleted === 1;
    },

    async putReceipt(receipt) {
      const rows = await ctx.db.all(
        `INSERT INTO receipts (${RECEIPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${RECEIPT_COLUMNS}`,
        [
          checkText(receipt.payoutId, "payoutId"),
          checkHex32(receipt.caseId, "caseId"),
          checkOneOf(receipt.outcome, RECEIPT_ROW_OUTCOMES, "outcome"),
          checkText(receipt.recordId, "record id"),
          checkReceiptJson(receipt.receiptJson),
          checkSignature(receipt.signature),
          receipt.txHash === null || receipt.txHash === undefined ? null : checkHex32(receipt.txHash, "txHash"),
          ctx.now(),
        ],
      );
      return toReceipt(rows[0]);
    },

    async getReceipt(payoutId) {
      const rows = await ctx.db.all(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE payout_id = ?`, [
        checkText(payoutId, "payoutId"),
      ]);
      return rows.length === 0 ? undefined : toReceipt(rows[0]);
    },

    async listReceipts(filter) {
      const rows = await ctx.db.all(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE case_id = ? ORDER BY payout_id`, [
        checkHex32(filter?.caseId, "caseId"),
      ]);
      return rows.map(toReceipt);
    },

    async setReceiptTransaction(payoutId, txHash) {
      const rows = await ctx.db.all(
        `UPDATE receipts SET tx_hash = ? WHERE payout_id = ? RETURNING ${RECEIPT_COLUMNS}`,
        [checkHex32(txHash, "txHash"), checkText(payoutId, "payoutId")],
      );
      if (rows.length === 0) throw new StoreError("NOT_FOUND", "no receipt for this payout");
      return toReceipt(rows[0]);
    },
  };
}
