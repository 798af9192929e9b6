import type { Row } from "../driver";
import { StoreError, invariant } from "../errors";
import { toDate, toInt, toJson, toText } from "../rows";
import type { IdempotencyData } from "../store";
import type { Reservation } from "../types";
import { checkDate, checkInt, checkJson, checkText } from "../validate";
import type { DataContext } from "./context";

const COLUMNS = "idempotency_key, request_hash, state, response_status, response_body, created_at, completed_at";
/** Largest stored response body, in bytes. */
export const MAX_RESPONSE_BYTES = 1_048_576;
/** A reservation can vanish between our INSERT and SELECT (released by its owner); try again this many times. */
const ATTEMPTS = 3;

function toReservation(row: Row): Reservation {
  if (toText(row.state) === "pending") return { outcome: "in-progress", since: toDate(row.created_at) };
  return {
    outcome: "completed",
    status: toInt(row.response_status),
    body: toJson(row.response_body),
    completedAt: toDate(row.completed_at),
  };
}

export function idempotencyData(ctx: DataContext): IdempotencyData {
  async function find(key: string): Promise<Row | undefined> {
    const rows = await ctx.db.all(`SELECT ${COLUMNS} FROM idempotency WHERE idempotency_key = ?`, [key]);
    return rows[0];
  }

  return {
    async getOrReserve(rawKey, rawHash) {
      const key = checkText(rawKey, "idempotency key");
      const hash = checkText(rawHash, "request hash");
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        // The unique key decides: of concurrent reservers, one inserts; on PostgreSQL the others wait for its
        // transaction and then see its row.
        const inserted = await ctx.db.all(
          "INSERT INTO idempotency (idempotency_key, request_hash, state, created_at) VALUES (?, ?, 'pending', ?) " +
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
          [key, hash, ctx.now()],
        );
        if (inserted.length === 1) return { outcome: "reserved" };
        const row = await find(key);
        if (row === undefined) continue;
        if (toText(row.request_hash) !== hash) {
          throw new StoreError("CONFLICT", "this idempotency key was used for another request");
        }
        return toReservation(row);
      }
      throw new StoreError("UNAVAILABLE", "this idempotency key keeps being reserved and released; retry");
    },

    async completeIdempotency(rawKey, rawHash, response) {
      const key = checkText(rawKey, "idempotency key");
      const hash = checkText(rawHash, "request hash");
      const status = checkInt(response.status, "response status", 100);
      invariant(status <= 599, "INVALID_ARGUMENT", "response status must be from 100 to 599");
      const body = checkJson(response.body, "response body", MAX_RESPONSE_BYTES);
      const changed = await ctx.db.run(
        "UPDATE idempotency SET state = 'completed', response_status = ?, response_body = ?, completed_at = ? " +
          "WHERE idempotency_key = ? AND request_hash = ? AND state = 'pending'",
        [status, body, ctx.now(), key, hash],
      );
      if (changed === 1) return;
      const row = await find(key);
      if (row === undefined) throw new StoreError("NOT_FOUND", "this idempotency key is not reserved");
      if (toText(row.request_hash) !== hash) {
        throw new StoreError("CONFLICT", "this idempotency key was used for another request");
      }
      throw new StoreError("CONFLICT", "this idempotency key is completed already");
    },

    async releaseIdempotency(rawKey, rawHash) {
      const changed = await ctx.db.run(
        "DELETE FROM idempotency WHERE idempotency_key = ? AND request_hash = ? AND state = 'pending'",
        [checkText(rawKey, "idempotency key"), checkText(rawHash, "request hash")],
      );
      return changed === 1;
    },

    async takeOverIdempotency(rawKey, rawHash, since) {
      const was = checkDate(since, "since");
      // The new time differs from the old one (even within its millisecond): a second take-over of `since` fails.
      const changed = await ctx.db.run(
        "UPDATE idempotency SET created_at = ? " +
          "WHERE idempotency_key = ? AND request_hash = ? AND state = 'pending' AND created_at = ?",
        [Math.max(ctx.now(), was + 1), checkText(rawKey, "idempotency key"), checkText(rawHash, "request hash"), was],
      );
      return changed === 1;
    },

    async purgeIdempotency(before) {
      return ctx.db.run("DELETE FROM idempotency WHERE created_at < ?", [checkDate(before, "before")]);
    },
  };
}
