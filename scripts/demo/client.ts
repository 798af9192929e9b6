/**
 * The demo's HTTP client: JSON (or CSV) calls to the gateway's API with an institution's or a beneficiary's bearer
 * token, as any client would make them, and a small pool that keeps a few calls in flight at once.
 */

export class ApiCallError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const code = (body as { error?: { code?: string; message?: string } })?.error;
    super(`${method} ${path}: ${status} ${code?.code ?? ""} ${code?.message ?? ""}`.trim());
  }

  get code(): string | undefined {
    return (this.body as { error?: { code?: string } })?.error?.code;
  }
}

export interface CallOptions {
  body?: unknown;
  csv?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  /** One call; a non-2xx answer throws {@link ApiCallError}. A 429 is retried after the time the gateway asks. */
  async call<T = Record<string, unknown>>(
    token: string | undefined,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<ApiResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...options.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (options.csv !== undefined) {
        headers["content-type"] = "text/csv";
        payload = options.csv;
      } else if (options.body !== undefined) {
        headers["content-type"] = "application/json";
        payload = JSON.stringify(options.body);
      }
      const res = await fetch(`${this.baseUrl}/v1${path}`, { method, headers, body: payload });
      const text = await res.text();
      const type = res.headers.get("content-type") ?? "";
      const body = (type.includes("json") && text ? JSON.parse(text) : text) as T;
      if (res.status === 429 && attempt < 5) {
        await sleep(Math.min(Number(res.headers.get("retry-after") ?? 10), 65) * 1000);
        continue;
      }
      if (res.status < 200 || res.status > 299) throw new ApiCallError(method, path, res.status, body);
      return { status: res.status, headers: res.headers, body };
    }
  }

  async json<T = Record<string, unknown>>(
    token: string | undefined,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<T> {
    return (await this.call<T>(token, method, path, options)).body;
  }

  /** Every page of a listing that pages with `after` / `next`. */
  async all<T>(token: string, path: string, field: string, after: (item: T) => string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (;;) {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.json<Record<string, unknown>>(
        token,
        "GET",
        `${path}${sep}limit=1000${cursor ? `&after=${encodeURIComponent(cursor)}` : ""}`,
      );
      const batch = page[field] as T[];
      items.push(...batch);
      if (batch.length < 1000 || !page.next) return items;
      cursor = (page.next as string) ?? after(batch[batch.length - 1]);
    }
  }

  /** Polls `probe` every `everyMs` until it returns a value (not undefined), at most `limitMs`. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 300_000, everyMs = 500): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
      await sleep(everyMs);
    }
  }
}

/** `fn` over `items` with at most `concurrency` calls in flight; results in the items' order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** JSON-RPC to the chain node (only the development chain's clock controls and its chain id). */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}
