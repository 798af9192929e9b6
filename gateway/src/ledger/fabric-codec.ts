/**
 * The Fabric adapter's wire format (docs/FABRIC.md, "Transactions"): one JSON argument per transaction with
 * bigints as decimal strings and keys sorted, JSON replies decoded back to the `Ledger` types, and the one chaincode
 * event per transaction (`relief`, a JSON array of `{ name, args }`) decoded into {@link LedgerEvent}s shaped
 * exactly as the EVM adapter's: ids lowercase, accounts checksummed, amounts and regions bigints.
 */
import { getAddress } from "ethers";
import canonicalize from "canonicalize";
import { EVENT_CONTRACT, EVENT_FIELDS, type FieldKind, type LedgerEvent, type LedgerEventName } from "./events";
import type { FabricChaincodeEvent } from "./fabric-transport";

/** The event name the chaincode sets on every transaction's event. */
export const CHAINCODE_EVENT = "relief";

/** The transaction argument: JSON with bigints as decimal strings and keys sorted. */
export function encodeArg(value: object): string {
  const plain = JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  return canonicalize(plain) ?? "{}";
}

/** A reply's JSON (`null` for an empty reply). */
export function decodeReply(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes).toString("utf8");
  if (text.trim() === "") return null;
  return JSON.parse(text);
}

/** Reads a reply's fields with checks: a chaincode that answers in the wrong shape fails loudly. */
export class Fields {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly where: string,
  ) {
    if (typeof o !== "object" || o === null) throw new Error(`${where}: the chaincode's reply is not an object`);
  }

  static of(value: unknown, where: string): Fields {
    return new Fields(value as Record<string, unknown>, where);
  }

  #get(name: string): unknown {
    const v = this.o[name];
    if (v === undefined) throw new Error(`${this.where}: the chaincode's reply has no "${name}"`);
    return v;
  }

  num(name: string): number {
    return toNumber(this.#get(name), `${this.where}.${name}`);
  }

  big(name: string): bigint {
    return toBigint(this.#get(name), `${this.where}.${name}`);
  }

  bool(name: string): boolean {
    const v = this.#get(name);
    if (typeof v !== "boolean") throw new Error(`${this.where}.${name}: not a boolean`);
    return v;
  }

  hex(name: string): string {
    return String(this.#get(name)).toLowerCase();
  }

  account(name: string): string {
    return toAccount(this.#get(name), `${this.where}.${name}`);
  }

  has(name: string): boolean {
    return this.o[name] !== undefined && this.o[name] !== null;
  }

  raw(name: string): unknown {
    return this.#get(name);
  }
}

export function toNumber(v: unknown, where: string): number {
  const n = typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw new Error(`${where}: not an integer`);
  return n;
}

export function toBigint(v: unknown, where: string): bigint {
  if (typeof v === "string" && /^-?[0-9]+$/.test(v)) return BigInt(v);
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  throw new Error(`${where}: not a decimal integer`);
}

/** An account as the EVM adapter returns it (checksummed), so the gateway compares accounts the same way. */
export function toAccount(v: unknown, where: string): string {
  try {
    return getAddress(String(v));
  } catch (cause) {
    throw new Error(`${where}: not an account`, { cause });
  }
}

function field(kind: FieldKind, v: unknown, where: string): unknown {
  switch (kind) {
    case "bytes32":
      return String(v).toLowerCase();
    case "account":
      return toAccount(v, where);
    case "bigint":
      return toBigint(v, where);
    case "bool":
      if (typeof v !== "boolean") throw new Error(`${where}: not a boolean`);
      return v;
    case "string":
      return String(v);
    default:
      return toNumber(v, where);
  }
}

const SCHEMA: Record<string, Record<string, FieldKind>> = Object.assign({}, ...Object.values(EVENT_FIELDS));

/**
 * The ledger events of one chaincode event, positioned like EVM logs: `logIndex` counts the events of the block
 * (`firstIndex` is how many earlier transactions of the block emitted). Fields are read in the schema's order.
 */
export function decodeChaincodeEvent(event: FabricChaincodeEvent, firstIndex: number): LedgerEvent[] {
  if (event.eventName !== CHAINCODE_EVENT) return [];
  const list = decodeReply(event.payload);
  if (!Array.isArray(list)) throw new Error(`chaincode event of ${event.txId}: not a JSON array`);
  return list.map((item: { name?: unknown; args?: Record<string, unknown> }, i) => {
    const name = String(item.name) as LedgerEventName;
    const fields = SCHEMA[name];
    if (!fields) throw new Error(`chaincode event of ${event.txId}: unknown event ${name}`);
    const args: Record<string, unknown> = {};
    for (const [f, kind] of Object.entries(fields)) {
      const where = `${name}.${f}`;
      if (item.args?.[f] === undefined) throw new Error(`chaincode event of ${event.txId}: ${where} missing`);
      args[f] = field(kind, item.args[f], where);
    }
    return {
      name,
      contract: EVENT_CONTRACT[name],
      args,
      blockNumber: event.blockNumber,
      logIndex: firstIndex + i,
      txHash: event.txId,
    } as LedgerEvent;
  });
}

/** Decodes a run of chaincode events in chain order, numbering events within each block. */
export function decodeChaincodeEvents(events: readonly FabricChaincodeEvent[]): LedgerEvent[] {
  const out: LedgerEvent[] = [];
  let block = -1;
  let index = 0;
  for (const e of events) {
    if (e.blockNumber !== block) {
      block = e.blockNumber;
      index = 0;
    }
    const decoded = decodeChaincodeEvent(e, index);
    index += decoded.length;
    out.push(...decoded);
  }
  return out;
}
