/**
 * Structured logs (pino). The rule is: log ids, codes, counts and timings, never values a person entered. As a
 * second line of defence, fields that could carry personal data are redacted wherever they appear.
 */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

/** Keys that must never reach a log line, at any depth pino can address. */
const REDACT = [
  "name",
  "residentId",
  "phone",
  "address",
  "accountNumber",
  "accountName",
  "bankName",
  "members",
  "applicant",
  "household",
  "payment",
  "code",
  "token",
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "body",
  "*.name",
  "*.residentId",
  "*.phone",
  "*.address",
  "*.accountNumber",
  "*.accountName",
  "*.applicant",
  "*.household",
  "*.payment",
  "*.token",
  "*.body",
];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.RELIEF_LOG_LEVEL ?? "info",
      base: { service: "relief-gateway" },
      redact: { paths: REDACT, censor: "[redacted]" },
      // Error objects: name and code only; messages of lower layers can quote inputs.
      serializers: {
        err: (e: { name?: string; code?: unknown }) => ({ name: e?.name, code: e?.code }),
      },
    },
    options.destination,
  );
}
