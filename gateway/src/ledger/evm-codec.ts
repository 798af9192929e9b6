/**
 * ABI-level decoding for the EVM adapter: logs into {@link LedgerEvent}s, revert data into {@link LedgerError}
 * codes and arguments, and the check that the domain event schema still matches the compiled contracts.
 */
import {
  AbiCoder,
  dataSlice,
  getAddress,
  type ErrorFragment,
  EventFragment,
  type Interface,
  type ParamType,
} from "ethers";
import { LedgerConfigError } from "./errors";
import { EVENT_FIELDS, type FieldKind, type LedgerContract, type LedgerEvent } from "./events";

/** A log as `eth_getLogs` returns it (quantities as hex strings) or as ethers' receipt logs carry it. */
export interface RawLog {
  address: string;
  topics: readonly string[];
  data: string;
  blockNumber: string | number;
  logIndex?: string | number;
  /** ethers' name for `logIndex`. */
  index?: number;
  transactionHash: string;
  removed?: boolean;
  blockTimestamp?: string;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toSafeNumber(value: unknown, where: string): number {
  const n = BigInt(value as bigint | number | string);
  if (n < -MAX_SAFE || n > MAX_SAFE) throw new RangeError(`${where}: ${n} does not fit a JavaScript number`);
  return Number(n);
}

/** Converts a decoded ABI value to the domain representation of `kind`. */
export function fromKind(value: unknown, kind: FieldKind, where: string): unknown {
  switch (kind) {
    case "bytes32":
      return String(value).toLowerCase();
    case "account":
      return getAddress(String(value));
    case "bigint":
      return BigInt(value as bigint);
    case "bool":
      if (typeof value !== "boolean") throw new TypeError(`${where}: expected a boolean`);
      return value;
    case "string":
      return String(value);
    default:
      // "number" and the enum kinds
      return toSafeNumber(value, where);
  }
}

const UINT = /^u?int(\d*)$/;

/** Whether an ABI parameter can be decoded as `kind`. */
function compatible(kind: FieldKind, param: ParamType): boolean {
  switch (kind) {
    case "bytes32":
      return param.type === "bytes32";
    case "account":
      return param.type === "address";
    case "bool":
    case "string":
      return param.type === kind;
    case "number":
    case "bigint":
      return UINT.test(param.type);
    default:
      return param.type === "uint8";
  }
}

/**
 * The plain value of an ABI-decoded value with no domain schema (custom error arguments): 8- to 48-bit integers
 * become numbers, wider ones bigints; addresses are checksummed, bytes lowercase; tuples become objects.
 */
export function plainValue(value: unknown, param: ParamType): unknown {
  if (param.isArray()) {
    const child = param.arrayChildren;
    return (value as unknown[]).map((v) => plainValue(v, child));
  }
  if (param.isTuple()) {
    const out: Record<string, unknown> = {};
    param.components.forEach((c, i) => (out[c.name || String(i)] = plainValue((value as unknown[])[i], c)));
    return out;
  }
  const m = UINT.exec(param.type);
  if (m) {
    const bits = Number(m[1] || 256);
    return bits <= 48 ? Number(value as bigint) : BigInt(value as bigint);
  }
  if (param.type === "address") return getAddress(String(value));
  if (param.type.startsWith("bytes")) return String(value).toLowerCase();
  return value;
}

/**
 * Throws a {@link LedgerConfigError} listing every difference between {@link EVENT_FIELDS} and the events the
 * contracts' ABIs declare: a missing or extra event, a field renamed, reordered or of another type.
 */
export function checkEventSchema(interfaces: Readonly<Record<LedgerContract, Interface>>): void {
  const problems: string[] = [];
  for (const contract of Object.keys(EVENT_FIELDS) as LedgerContract[]) {
    const schema = EVENT_FIELDS[contract] as Record<string, Record<string, FieldKind>>;
    const seen = new Set<string>();
    interfaces[contract].forEachEvent((event) => {
      seen.add(event.name);
      const fields = schema[event.name];
      if (!fields) return void problems.push(`${contract}.${event.name} is not in the event schema`);
      const names = Object.keys(fields);
      const abiNames = event.inputs.map((p) => p.name);
      if (names.join(",") !== abiNames.join(",")) {
        return void problems.push(
          `${contract}.${event.name}: fields (${abiNames}) in the ABI, (${names}) in the schema`,
        );
      }
      event.inputs.forEach((p) => {
        if (!compatible(fields[p.name], p)) {
          problems.push(`${contract}.${event.name}.${p.name}: ${p.type} cannot be read as ${fields[p.name]}`);
        }
      });
    });
    for (const name of Object.keys(schema)) {
      if (!seen.has(name)) problems.push(`${contract}.${name} is in the event schema but not in the ABI`);
    }
  }
  if (problems.length > 0) {
    throw new LedgerConfigError(
      `the contracts' events no longer match the ledger's event schema:\n  ${problems.join("\n  ")}`,
    );
  }
}

function quantity(value: string | number | undefined, what: string): number {
  if (value === undefined) throw new TypeError(`log without ${what}`);
  return typeof value === "number" ? value : toSafeNumber(value, what);
}

/** Decodes logs of the five contracts into domain events. */
export class EventDecoder {
  readonly #byAddress = new Map<string, { contract: LedgerContract; iface: Interface }>();
  /**
   * Events by contract and topic hash, computed once (ethers' `parseLog` hashes every signature per log), each with
   * an anonymous twin: decoding with it takes the topics after the first as they are, where ethers would hash the
   * event's signature again to check the first one (matched here already).
   */
  readonly #byTopic = new Map<string, { fragment: EventFragment; twin: EventFragment }>();

  constructor(
    addresses: Readonly<Record<LedgerContract, string>>,
    interfaces: Readonly<Record<LedgerContract, Interface>>,
  ) {
    for (const contract of Object.keys(addresses) as LedgerContract[]) {
      const iface = interfaces[contract];
      this.#byAddress.set(addresses[contract].toLowerCase(), { contract, iface });
      iface.forEachEvent((fragment) => {
        const twin = EventFragment.from({
          type: "event",
          name: fragment.name,
          inputs: fragment.inputs,
          anonymous: true,
        });
        this.#byTopic.set(`${contract}:${fragment.topicHash}`, { fragment, twin });
      });
    }
  }

  /** Whether the log comes from one of the five contracts. */
  owns(log: RawLog): boolean {
    return this.#byAddress.has(log.address.toLowerCase());
  }

  /** The domain event of a log of one of the five contracts. Throws on a log it cannot decode. */
  decode(log: RawLog): LedgerEvent {
    const source = this.#byAddress.get(log.address.toLowerCase());
    if (!source) throw new Error(`log of ${log.address}, which is not a ledger contract`);
    const known = this.#byTopic.get(`${source.contract}:${String(log.topics[0]).toLowerCase()}`);
    if (!known) throw new Error(`log ${log.topics[0]} of the ${source.contract} contract matches no event of its ABI`);
    const fragment = known.fragment;
    const decoded = source.iface.decodeEventLog(known.twin, log.data, log.topics.slice(1));
    const fields = (EVENT_FIELDS[source.contract] as Record<string, Record<string, FieldKind>>)[fragment.name];
    const args: Record<string, unknown> = {};
    fragment.inputs.forEach((p, i) => {
      args[p.name] = fromKind(decoded[i], fields[p.name], `${fragment.name}.${p.name}`);
    });
    const event = {
      name: fragment.name,
      contract: source.contract,
      blockNumber: quantity(log.blockNumber, "blockNumber"),
      logIndex: quantity(log.logIndex ?? log.index, "logIndex"),
      txHash: log.transactionHash.toLowerCase(),
      args,
    } as LedgerEvent;
    if (log.blockTimestamp !== undefined) event.timestamp = toSafeNumber(log.blockTimestamp, "blockTimestamp");
    return event;
  }
}

/** A decoded revert. */
export interface DecodedRevert {
  code: string;
  args: Record<string, unknown>;
  values: unknown[];
}

const ERROR_SELECTOR = "0x08c379a0"; // Error(string)
const PANIC_SELECTOR = "0x4e487b71"; // Panic(uint256)

/** Decodes revert data with the custom errors of every contract (the registry's errors bubble up). */
export class RevertDecoder {
  readonly #errors = new Map<string, { iface: Interface; fragment: ErrorFragment }>();

  constructor(interfaces: readonly Interface[]) {
    for (const iface of interfaces) {
      iface.forEachError((fragment) => {
        if (!this.#errors.has(fragment.selector)) this.#errors.set(fragment.selector, { iface, fragment });
      });
    }
  }

  /** The custom error (or `Error`, `Panic`, `UnknownRevert`) that `data` encodes. */
  decode(data: string | null | undefined): DecodedRevert {
    if (!data || data.length < 10) return { code: "UnknownRevert", args: { data: data ?? "0x" }, values: [] };
    const selector = dataSlice(data, 0, 4).toLowerCase();
    const coder = AbiCoder.defaultAbiCoder();
    try {
      if (selector === ERROR_SELECTOR) {
        const [message] = coder.decode(["string"], dataSlice(data, 4));
        return { code: "Error", args: { message }, values: [message] };
      }
      if (selector === PANIC_SELECTOR) {
        const [code] = coder.decode(["uint256"], dataSlice(data, 4));
        return { code: "Panic", args: { code: Number(code) }, values: [Number(code)] };
      }
      const known = this.#errors.get(selector);
      if (known) {
        const { iface, fragment } = known;
        const decoded = iface.decodeErrorResult(fragment, data);
        const values = fragment.inputs.map((p, i) => plainValue(decoded[i], p));
        const args: Record<string, unknown> = {};
        fragment.inputs.forEach((p, i) => (args[p.name || String(i)] = values[i]));
        return { code: fragment.name, args, values };
      }
    } catch {
      // malformed arguments: fall through
    }
    return { code: "UnknownRevert", args: { data }, values: [] };
  }
}
