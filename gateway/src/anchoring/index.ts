/**
 * The anchoring pipeline: the worker that anchors outbox entries on chain and reconciles with it, and the records'
 * inclusion proofs.
 */
export * from "./worker";
export * from "./proof";
