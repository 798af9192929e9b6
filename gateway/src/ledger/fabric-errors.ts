/**
 * Classifies what a Fabric transport threw into the ledger's three kinds of failure (errors.ts):
 * - the chaincode refused (`RL:<CustomErrorName> {args}` anywhere in the message or the gateway's error details)
 *   → {@link LedgerError} with that code, as the Solidity contracts would name it;
 * - the peer or orderer could not be reached or ran past a deadline (gRPC UNAVAILABLE, DEADLINE_EXCEEDED, …)
 *   → {@link LedgerUnavailableError};
 * - an MVCC or phantom read conflict at validation: the transaction changed nothing and may be endorsed again;
 * - any other invalid validation code → `LedgerError("TransactionReverted")` with the code in `args`;
 * - a refused identity, unknown channel or chaincode → {@link LedgerConfigError}.
 *
 * fabric-gateway's errors are recognised by shape (`code`, `details`, `transactionId`, and the class name), not by
 * `instanceof`: a second copy of the package in node_modules must not change the outcome.
 */
import { LedgerConfigError, LedgerError, LedgerUnavailableError } from "./errors";

/** gRPC status codes (grpc/status.proto). */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Fabric transaction validation codes (peer/transaction.proto) the adapter treats specially. */
export const TX_VALIDATION = {
  VALID: 0,
  ENDORSEMENT_POLICY_FAILURE: 10,
  MVCC_READ_CONFLICT: 11,
  PHANTOM_READ_CONFLICT: 12,
} as const;

/** Where in a transaction's life it failed: only a failure before ordering is known to have sent nothing. */
export type FabricPhase = "evaluate" | "endorse" | "submit" | "commitStatus" | "commit" | "events";

export type FabricFailure =
  | { kind: "refused"; code: string; args: Record<string, unknown>; message: string }
  | { kind: "unavailable"; reason: "unreachable" | "timeout"; phase: FabricPhase; txId?: string; detail: string }
  | { kind: "conflict"; validationCode: number; txId?: string }
  | { kind: "invalid"; validationCode: number; txId?: string }
  | { kind: "config"; detail: string }
  | { kind: "unknown"; detail: string };

const REFUSAL = /RL:([A-Za-z_][A-Za-z0-9_]*)(?: (\{.*\}))?/s;

interface GatewayErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  /** fabric-gateway's endpoint errors; a bare gRPC ServiceError has a string here. */
  details?: { message?: string; address?: string; mspId?: string }[] | string;
  transactionId?: string;
}

/** The chaincode's refusal in a message, if there is one. */
export function parseRefusal(text: string): { code: string; args: Record<string, unknown> } | undefined {
  const m = REFUSAL.exec(text);
  if (!m) return undefined;
  let args: Record<string, unknown> = {};
  const json = m[2] ?? "";
  // The JSON runs to the end of the chaincode's message; a peer may append text after it.
  for (let end = json.lastIndexOf("}"); end > 0; end = json.lastIndexOf("}", end - 1)) {
    try {
      const parsed: unknown = JSON.parse(json.slice(0, end + 1));
      if (typeof parsed === "object" && parsed !== null) args = parsed as Record<string, unknown>;
      break;
    } catch {
      continue;
    }
  }
  return { code: m[1], args };
}

function phaseOf(err: GatewayErrorLike, fallback: FabricPhase): FabricPhase {
  switch (err.name) {
    case "EndorseError":
      return "endorse";
    case "SubmitError":
      return "submit";
    case "CommitStatusError":
      return "commitStatus";
    case "CommitError":
      return "commit";
    default:
      return fallback;
  }
}

/** What a transport's failure means. `phase` is where the caller was when no error class says otherwise. */
export function classifyFabricError(err: unknown, phase: FabricPhase): FabricFailure {
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as GatewayErrorLike;
  const details = Array.isArray(e.details) ? e.details.map((d) => d.message ?? "") : [e.details ?? ""];
  const texts = [e.message ?? "", ...details];
  for (const text of texts) {
    const refusal = parseRefusal(text);
    if (refusal) return { kind: "refused", ...refusal, message: text };
  }
  const where = phaseOf(e, phase);
  const detail = e.message ?? String(err);
  if (e.name === "CommitError" && typeof e.code === "number") {
    const conflict = e.code === TX_VALIDATION.MVCC_READ_CONFLICT || e.code === TX_VALIDATION.PHANTOM_READ_CONFLICT;
    return { kind: conflict ? "conflict" : "invalid", validationCode: e.code, txId: e.transactionId };
  }
  if (typeof e.code === "number") {
    switch (e.code) {
      case GRPC.UNAVAILABLE:
      case GRPC.CANCELLED:
      case GRPC.RESOURCE_EXHAUSTED:
        return { kind: "unavailable", reason: "unreachable", phase: where, txId: e.transactionId, detail };
      case GRPC.DEADLINE_EXCEEDED:
        return { kind: "unavailable", reason: "timeout", phase: where, txId: e.transactionId, detail };
      case GRPC.PERMISSION_DENIED:
      case GRPC.UNAUTHENTICATED:
      case GRPC.NOT_FOUND:
      case GRPC.UNIMPLEMENTED:
        return { kind: "config", detail };
      default:
        break;
    }
  }
  // A chaincode error without the RL: prefix (a contract-api dispatch failure, a thrown TypeError).
  const chaincode = texts.find((t) => /chaincode response|transaction returned with failure/i.test(t));
  if (chaincode !== undefined || e.name === "PeerTransactionError") {
    return { kind: "refused", code: "Error", args: { message: chaincode ?? detail }, message: chaincode ?? detail };
  }
  if (e.name === "EndorseError" || e.name === "GatewayError") {
    return { kind: "refused", code: "Error", args: { message: texts.filter(Boolean).join("; ") }, message: detail };
  }
  return { kind: "unknown", detail };
}

export interface FailureContext {
  operation: string;
  actor?: string;
}

/** The ledger's error for a classified failure. */
export function ledgerErrorOf(failure: FabricFailure, ctx: FailureContext, cause: unknown): Error {
  switch (failure.kind) {
    case "refused":
      return new LedgerError(failure.code, { ...ctx, args: failure.args, values: Object.values(failure.args), cause });
    case "unavailable":
      return new LedgerUnavailableError(failure.reason, `${failure.phase}: ${failure.detail}`, {
        ...ctx,
        txHash: failure.txId,
        cause,
      });
    case "conflict":
    case "invalid":
      return new LedgerError("TransactionReverted", {
        ...ctx,
        txHash: failure.txId,
        args: { validationCode: failure.validationCode },
        cause,
      });
    case "config":
      return new LedgerConfigError(`${ctx.operation}: ${failure.detail}`, { cause });
    case "unknown":
      return cause instanceof Error ? cause : new Error(failure.detail);
  }
}
