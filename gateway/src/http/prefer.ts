/**
 * `Prefer` (RFC 7240) for endpoints that answer before slow work is done: `Prefer: wait=<seconds>` asks the gateway
 * to wait up to that long for it. Preferences are hints: a malformed or unknown one is ignored, never refused. An
 * honoured wait is confirmed with `Preference-Applied: wait=<seconds>` (the seconds actually allowed, capped).
 */
import type { Request, Response } from "express";
import { z } from "zod";

export const PREFER_HEADER = "Prefer";
export const PREFERENCE_APPLIED_HEADER = "Preference-Applied";

/** The `Prefer` header of an endpoint that honours `wait`, for its OpenAPI `request.headers`. */
export function preferWaitHeader(maxSeconds: number, description: string) {
  return z.object({
    [PREFER_HEADER]: z
      .string()
      .optional()
      .openapi({ description: `\`wait=<seconds>\` (RFC 7240), at most ${maxSeconds} honoured; ${description}` }),
  });
}

/**
 * The `wait` preference of the request in seconds, capped at `maxSeconds`; undefined if there is none (or it is not
 * a whole number of seconds, or is 0). The first `wait` of the first header that has one counts.
 */
export function preferredWait(req: Request, maxSeconds: number): number | undefined {
  const header = req.headers["prefer"];
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  for (const value of values) {
    for (const preference of value.split(",")) {
      const [token] = preference.split(";");
      const match = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*$/i.exec(token);
      if (match) {
        const seconds = Math.min(Number(match[1]), maxSeconds);
        return seconds > 0 ? seconds : undefined;
      }
    }
  }
  return undefined;
}

/** Marks a response as shaped by `Prefer`, and confirms an honoured `wait`. */
export function applyWait(res: Response, seconds: number | undefined): void {
  res.vary(PREFER_HEADER);
  if (seconds !== undefined) res.setHeader(PREFERENCE_APPLIED_HEADER, `wait=${seconds}`);
}
