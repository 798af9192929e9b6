/**
 * Refusals as the convention names them: an Error whose message is `RL:<CustomErrorName>` and, when the
 * Solidity error has arguments, a space and their JSON (sorted keys, bigints as decimal strings). The gateway's
 * Fabric adapter turns it into a `LedgerError` with the same code as the EVM adapter would.
 */
import { marshal } from "./marshal";

export class Refusal extends Error {
  constructor(
    readonly errorName: string,
    readonly args?: Record<string, unknown>,
  ) {
    super(args === undefined ? `RL:${errorName}` : `RL:${errorName} ${marshal(args)}`);
    this.name = "Refusal";
  }
}

/** Throws the Solidity custom error `name` with its arguments by name. */
export function refuse(name: string, args?: Record<string, unknown>): never {
  throw new Refusal(name, args);
}

/** A value that cannot be encoded for the chain (the EVM adapter's `InvalidArgument`); nothing is written. */
export function invalidArgument(argument: string, value: unknown): never {
  return refuse("InvalidArgument", { argument, value: typeof value === "string" ? value : String(value) });
}
