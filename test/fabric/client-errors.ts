/**
 * fabric-gateway's client errors built as its `Contract` raises them (a gRPC status and message, what each peer
 * answered, the transaction id), for tests of how the adapter classifies a failure without causing it on a network.
 */
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import type { CommitStatusError, EndorseError, GatewayError } from "@hyperledger/fabric-gateway";
import type { SubmitError } from "@hyperledger/fabric-gateway/dist/submiterror";

export const TX_ID = "a".repeat(64);

/** The raw grpc-js error under a fabric-gateway error (and what a bare gRPC call rejects with). */
export function grpcError(code: number, message: string): ServiceError {
  return Object.assign(new Error(message), { code, details: message, metadata: new Metadata() });
}

/**
 * An error of fabric-gateway's class `Kind` with gRPC status `code` and `message` (by default "<code> <NAME>", as
 * grpc-js words it), one detail per peer message, and `transactionId` (a `GatewayError` has none).
 */
export function clientError(
  Kind: typeof GatewayError | typeof EndorseError | typeof SubmitError | typeof CommitStatusError,
  code: number,
  message = `${code} ${status[code]}`,
  peerMessages: readonly string[] = [],
  transactionId = TX_ID,
): Error {
  const details = peerMessages.map((m) => ({ address: "peer0.org1:7051", mspId: "Org1MSP", message: m }));
  return new Kind({ code, details, cause: grpcError(code, message), transactionId, message });
}
