/**
 * The gateway's ledger: a chain-neutral {@link Ledger} interface, its domain events and errors, and the EVM
 * adapters. `new EvmLedger(evmLedgerOptions(loadLedgerConfig()))` connects to the chain that `npm start` runs;
 * `openFabricLedger(loadFabricConfig())` to a Fabric peer (`RELIEF_LEDGER=fabric`, docs/FABRIC.md).
 */
export * from "./ledger";
export * from "./events";
export * from "./errors";
export { EVM_DEFAULTS, EvmLedger, type EvmLedgerOptions } from "./evm";
export {
  evmLedgerOptions,
  loadActorKeys,
  loadEvmTuning,
  loadDeployment,
  loadLedgerConfig,
  type EvmTuning,
  type LedgerConfig,
} from "./config";
export { FABRIC_DEFAULTS, FabricLedger, type FabricLedgerOptions } from "./fabric";
export type { FabricTransport } from "./fabric-transport";
export {
  fabricDeployment,
  ledgerKind,
  loadFabricConfig,
  openFabricLedger,
  type FabricLedgerConfig,
} from "./fabric-config";

/** The ledgers the gateway runs on (`RELIEF_LEDGER`). */
export type GatewayLedger = import("./evm").EvmLedger | import("./fabric").FabricLedger;
