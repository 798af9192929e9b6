/**
 * JSON-RPC plumbing for the EVM adapter: deadlines, telling an unreachable node from a revert, and one
 * transaction sender per institution key that numbers its transactions itself.
 */
import http from "node:http";
import https from "node:https";
import {
  type BaseWallet,
  type JsonRpcApiProviderOptions,
  type JsonRpcPayload,
  type JsonRpcResult,
  JsonRpcProvider,
  type Network,
  type TransactionRequest,
} from "ethers";
import type { UnavailableReason } from "./errors";

/** Node.js and undici codes of a connection that failed or broke. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  data?: unknown;
  error?: unknown;
  info?: { error?: unknown };
  cause?: unknown;
}

/** `err` and the errors it wraps (ethers nests the node's error in `error`, `info.error` or `cause`). */
function* chain(err: unknown): Generator<ErrorLike> {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current && typeof current === "object"; depth++) {
    const e = current as ErrorLike;
    yield e;
    current = e.error ?? e.info?.error ?? e.cause;
  }
}

/** Why `err` means the node is unavailable, or `null` if it does not. */
export function unavailableReason(err: unknown): UnavailableReason | null {
  for (const e of chain(err)) {
    if (typeof e.code === "string") {
      if (CONNECTION_CODES.has(e.code)) return "unreachable";
      // ethers: FetchRequest timeout; an HTTP status or body that is not JSON-RPC (a proxy's 502).
      if (e.code === "TIMEOUT") return "timeout";
      if (e.code === "SERVER_ERROR") return "unreachable";
    }
    if (typeof e.message === "string" && /socket hang up|ECONNREFUSED|ECONNRESET|fetch failed/.test(e.message)) {
      return "unreachable";
    }
  }
  return null;
}

const HEX_DATA = /^0x([0-9a-fA-F]{2})*$/;

/** Whether `err` is an EVM revert (of a call, a gas estimate or a replayed transaction). */
export function isRevert(err: unknown): boolean {
  for (const e of chain(err)) {
    if (e.code === "CALL_EXCEPTION") return true;
    // JSON-RPC error 3 is "execution reverted" (EIP-1474); geth, anvil and Besu use it.
    if (e.code === 3 || (typeof e.message === "string" && /execution reverted|revert/i.test(e.message))) return true;
  }
  return false;
}

/** The revert data carried by a revert error, if any. */
export function revertData(err: unknown): string | undefined {
  for (const e of chain(err)) {
    if (typeof e.data === "string" && HEX_DATA.test(e.data) && e.data.length >= 10) return e.data;
  }
  return undefined;
}

/** An ethers error code anywhere in the chain. */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  for (const e of chain(err)) if (typeof e.code === "string" && codes.includes(e.code)) return true;
  return false;
}

/** Rejects with `onTimeout()` if `promise` has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An error with an ethers-style or Node-style `code`, as {@link unavailableReason} reads it. */
function coded(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

/**
 * A JsonRpcProvider whose transport is Node's http(s) over a keep-alive agent. ethers' own transport (FetchRequest)
 * encodes every body to UTF-8 in JavaScript and builds a request object a call, which costs a busy gateway more CPU
 * than the node's answer. Failures keep the shapes {@link unavailableReason} reads: the socket's code (ECONNREFUSED,
 * …), TIMEOUT when the node has not answered within `timeoutMs`, SERVER_ERROR for an HTTP status other than 2xx or a
 * body that is not JSON. Everything above the transport (JSON-RPC errors, formatting) is ethers'.
 */
export class NodeJsonRpcProvider extends JsonRpcProvider {
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #authorization: string | undefined;

  constructor(url: string, network: Network, options: JsonRpcApiProviderOptions, timeoutMs: number) {
    super(url, network, options);
    this.#url = new URL(url);
    if (this.#url.protocol !== "http:" && this.#url.protocol !== "https:") {
      throw new TypeError(`the RPC URL must be http or https, not ${this.#url.protocol}`);
    }
    this.#agent = new (this.#url.protocol === "https:" ? https : http).Agent({ keepAlive: true });
    this.#timeoutMs = timeoutMs;
    if (this.#url.username !== "" || this.#url.password !== "") {
      const credentials = `${decodeURIComponent(this.#url.username)}:${decodeURIComponent(this.#url.password)}`;
      this.#authorization = `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;
      this.#url.username = "";
      this.#url.password = "";
    }
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const body = Buffer.from(JSON.stringify(payload), "utf8");
    const text = await new Promise<string>((resolve, reject) => {
      const request = (this.#url.protocol === "https:" ? https : http).request(
        this.#url,
        {
          method: "POST",
          agent: this.#agent,
          headers: {
            "content-type": "application/json",
            "content-length": body.length,
            ...(this.#authorization !== undefined && { authorization: this.#authorization }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(coded(`the node answered HTTP ${status}`, "SERVER_ERROR", { status }));
            } else resolve(Buffer.concat(chunks).toString("utf8"));
          });
        },
      );
      request.setTimeout(this.#timeoutMs, () =>
        request.destroy(coded(`no answer within ${this.#timeoutMs} ms`, "TIMEOUT")),
      );
      request.on("error", reject);
      request.end(body);
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw coded("the node's answer is not JSON", "SERVER_ERROR");
    }
    return (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcResult[];
  }

  override destroy(): void {
    this.#agent.destroy();
    super.destroy();
  }
}

/** What a sender needs from the node; the adapter wraps each call in its deadline and error translation. */
export interface SenderNode {
  pendingNonce(address: string): Promise<number>;
  /** Sends a signed transaction; resolves to its hash. */
  broadcast(signed: string): Promise<string>;
}

/**
 * Sends one institution's transactions. Signing and sending are serialised, and the sender keeps the next nonce
 * itself: two writes in quick succession get consecutive nonces without asking the node (whose answer may lag,
 * the "nonce too low" trap), and a write whose gas estimate reverts never takes a nonce (ethers' `NonceManager`
 * would have counted it, leaving a gap that stalls every later transaction). After any failure to send, or when
 * the caller gives up waiting for a receipt, the nonce is read from the node again.
 */
export class TxSender {
  readonly address: string;
  readonly #wallet: BaseWallet;
  #nextNonce: number | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(wallet: BaseWallet) {
    this.#wallet = wallet;
    this.address = wallet.address;
  }

  /** Signs `tx` with the next nonce and sends it, after every earlier send of this sender. Resolves to the hash. */
  send(tx: TransactionRequest, node: SenderNode): Promise<string> {
    return this.#exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        const nonce = this.#nextNonce ?? (await node.pendingNonce(this.address));
        const signed = await this.#wallet.signTransaction({ ...tx, nonce });
        try {
          const hash = await node.broadcast(signed);
          this.#nextNonce = nonce + 1;
          return hash;
        } catch (err) {
          this.#nextNonce = null;
          // Someone else used this key, or the node forgot a transaction: renumber once from the node's count.
          if (attempt === 0 && hasCode(err, "NONCE_EXPIRED", "REPLACEMENT_UNDERPRICED")) continue;
          throw err;
        }
      }
    });
  }

  /** Forget the local nonce: the next send asks the node. */
  resetNonce(): void {
    this.#nextNonce = null;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
