import type { BigNumberish, BytesLike, TypedDataDomain, TypedDataField } from "ethers";

/**
 * Receipts a beneficiary signs with EIP-712 for `ReceiptBook` (救助對象確認). The type below must match
 * `ReceiptBook._RECEIPT_TYPEHASH` and `IReceiptBook.Receipt` field for field.
 */

/** What the beneficiary says, in the order of `IReceiptBook.ReceiptOutcome`. */
export enum ReceiptOutcome {
  None = 0,
  Confirmed = 1, // 收到
  NotReceived = 2, // opens a dispute
}

/** How a receipt reached the chain, in the order of `IReceiptBook.ReceiptSource`. */
export enum ReceiptSource {
  None = 0,
  Signature = 1,
  Attestation = 2,
}

/** In the order of `IReceiptBook.DisputeStatus`. */
export enum DisputeStatus {
  None = 0,
  Open = 1,
  Resolved = 2,
}

/** In the order of `IReceiptBook.DisputeOutcome`. */
export enum DisputeOutcome {
  None = 0,
  PaymentProven = 1,
  Reissued = 2,
  Dismissed = 3,
  ResolvedByBeneficiary = 4,
}

/** The EIP-712 domain name and version of every `ReceiptBook`. */
export const RECEIPT_DOMAIN_NAME = "ReliefLedger Receipts";
export const RECEIPT_DOMAIN_VERSION = "1";

/** The signed message: `IReceiptBook.Receipt`. */
export interface Receipt {
  caseId: BytesLike;
  period: BigNumberish; // uint24
  eventId: BytesLike; // zero for a monthly payout
  outcome: ReceiptOutcome | number; // uint8: 1 Confirmed, 2 NotReceived
  noteDigest: BytesLike; // keyed digest of the beneficiary's note, or zero
  deadline: BigNumberish; // unix seconds
}

export const RECEIPT_TYPES: Record<string, TypedDataField[]> = {
  Receipt: [
    { name: "caseId", type: "bytes32" },
    { name: "period", type: "uint24" },
    { name: "eventId", type: "bytes32" },
    { name: "outcome", type: "uint8" },
    { name: "noteDigest", type: "bytes32" },
    { name: "deadline", type: "uint256" },
  ],
};

/** The domain of the `ReceiptBook` at `verifyingContract` on chain `chainId`. */
export function receiptDomain(chainId: BigNumberish, verifyingContract: string): TypedDataDomain {
  return { name: RECEIPT_DOMAIN_NAME, version: RECEIPT_DOMAIN_VERSION, chainId, verifyingContract };
}

/** Anything that signs typed data the ethers 6 way (a Wallet, a HardhatEthersSigner, a JsonRpcSigner). */
export interface TypedDataSigner {
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** The beneficiary's 65-byte signature of `receipt`, for `ReceiptBook.submitReceipt`. */
export function signReceipt(signer: TypedDataSigner, domain: TypedDataDomain, receipt: Receipt): Promise<string> {
  return signer.signTypedData(domain, RECEIPT_TYPES, { ...receipt });
}
