/**
 * The gateway's ledger: a chain-neutral {@link Ledger} interface, its domain events and errors, and the EVM
 * adapter. `new EvmLedger(evmLedgerOptions(loadLedgerConfig()))` connects to the chain that `npm start` runs.
 */
export * from "./ledger";
export * from "./events";
export * from "./errors";
export { EVM_DEFAULTS, EvmLedger, type EvmLedgerOptions } from "./evm";
export { evmLedgerOptions, loadActorKeys, loadDeployment, loadLedgerConfig, type LedgerConfig } from "./config";
