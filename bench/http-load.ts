/**
 * The HTTP load generator of bench/intake.ts, run as a child process so that it does not share the gateway's event
 * loop: `POST /v1/cases` with distinct synthetic households (bench/households.ts), over keep-alive connections to
 * 127.0.0.1 only.
 *
 * - open loop: request i is sent at start + i / rate whatever the responses (no coordinated omission); its latency
 *   is measured from that scheduled time to the end of its response (and, separately, from when it actually left);
 * - closed loop: `concurrency` clients, each sending its next request when the previous one is answered, for a fixed
 *   time.
 *
 * Both are bounded: a fixed number of requests (open loop) or a fixed time and at most `maxRequests` (closed loop),
 * and every request times out after `timeoutMs` (default 60 s). Latency percentiles count every request, a failed or
 * timed-out one at the time it failed (so an overloaded run's p99 is not flattered by leaving out what timed out);
 * `completedLatency` counts the 2xx responses only. The parent sends `{ kind: "open" | "closed", … }` over IPC and gets
 * a {@link LoadResult} back.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { HouseholdGenerator } from "./households";

export interface LoadTarget {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Authorization header value. */
  authorization: string;
  /** Seed of the households; each phase uses its own. */
  seed: number;
  /** Resident-ID partition of the households (bench/households.ts): each phase uses its own. */
  partition: number;
  /** Prefix of the Idempotency-Key of each request (`<prefix>-<n>`). */
  idempotencyPrefix: string;
  timeoutMs?: number;
}

export interface OpenLoopRequest extends LoadTarget {
  kind: "open";
  rate: number;
  seconds: number;
}

export interface ClosedLoopRequest extends LoadTarget {
  kind: "closed";
  concurrency: number;
  seconds: number;
  maxRequests: number;
}

export type LoadRequest = OpenLoopRequest | ClosedLoopRequest;

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  kind: "open" | "closed";
  /** Requests sent. */
  requests: number;
  /** Requests answered 2xx. */
  completed: number;
  /** Requests answered otherwise, failed or timed out. */
  errors: number;
  /** Responses by status ("201", "202", …; "network" for failures, "timeout"). */
  byStatus: Record<string, number>;
  /** Error codes of non-2xx responses (`error.code` of the body). */
  errorCodes: Record<string, number>;
  /** From the first scheduled send to the last response, s. */
  seconds: number;
  /** Completed (2xx) responses per second of `seconds`. */
  throughput: number;
  /** Every request (failures at the time they failed). Open loop: from the scheduled send time; closed loop: from the
   * send. ms. */
  latency: Latency;
  /** The same over the 2xx responses only, ms. */
  completedLatency: Latency;
  /** Every request, from its actual send, ms (equal to `latency` in the closed loop). */
  serviceTime: Latency;
  /** Open loop: the largest delay of a send behind its schedule, ms. */
  maxSendLagMs?: number;
  offeredRate?: number;
  concurrency?: number;
}

interface Outcome {
  scheduled: number;
  sent: number;
  done: number;
  status: string;
  errorCode?: string;
}

/** Nearest-rank percentiles of `values` (ms). */
export function latencyOf(values: number[]): Latency {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

function post(agent: http.Agent, target: LoadTarget, body: string, key: string): Promise<Omit<Outcome, "scheduled">> {
  const url = new URL("/v1/cases", target.url);
  if (url.hostname !== "127.0.0.1") throw new Error("the load generator only talks to 127.0.0.1");
  const sent = performance.now();
  return new Promise((resolve) => {
    const finish = (status: string, errorCode?: string) =>
      resolve({ sent, done: performance.now(), status, errorCode });
    const req = http.request(
      {
        host: "127.0.0.1",
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        timeout: target.timeoutMs ?? 60_000,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          authorization: target.authorization,
          "idempotency-key": key,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = String(res.statusCode);
          if ((res.statusCode ?? 0) >= 300) {
            let code = "unknown";
            try {
              code =
                (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error?: { code?: string } }).error?.code ??
                code;
            } catch {
              // not JSON
            }
            finish(status, code);
          } else finish(status);
        });
        res.on("error", () => finish("network"));
      },
    );
    req.on("timeout", () => {
      req.destroy();
      finish("timeout");
    });
    req.on("error", () => finish("network"));
    req.end(body);
  });
}

function summarise(kind: LoadResult["kind"], outcomes: Outcome[], extra: Partial<LoadResult>): LoadResult {
  const byStatus: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  let completed = 0;
  for (const o of outcomes) {
    byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    if (/^2\d\d$/.test(o.status)) completed += 1;
    else if (o.errorCode) errorCodes[o.errorCode] = (errorCodes[o.errorCode] ?? 0) + 1;
  }
  const first = Math.min(...outcomes.map((o) => o.scheduled));
  const last = Math.max(...outcomes.map((o) => o.done));
  const seconds = (last - first) / 1000;
  const ok = outcomes.filter((o) => /^2\d\d$/.test(o.status));
  return {
    kind,
    requests: outcomes.length,
    completed,
    errors: outcomes.length - completed,
    byStatus,
    errorCodes,
    seconds,
    throughput: completed / seconds,
    latency: latencyOf(outcomes.map((o) => o.done - o.scheduled)),
    completedLatency: latencyOf(ok.map((o) => o.done - o.scheduled)),
    serviceTime: latencyOf(outcomes.map((o) => o.done - o.sent)),
    ...extra,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fixed-rate sends for `seconds`: `rate × seconds` requests, each on schedule whatever the responses. */
export async function openLoop(r: OpenLoopRequest): Promise<LoadResult> {
  const total = Math.round(r.rate * r.seconds);
  const generator = new HouseholdGenerator(r.seed, r.partition);
  const bodies = Array.from({ length: total }, () => JSON.stringify(generator.next()));
  // No cap on connections: a request is never held back in the client waiting for an earlier one.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const interval = 1000 / r.rate;
  const pending: Promise<Outcome>[] = [];
  let maxSendLagMs = 0;
  const start = performance.now() + 20;
  try {
    for (let i = 0; i < total;) {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        const scheduled = start + i * interval;
        maxSendLagMs = Math.max(maxSendLagMs, now - scheduled);
        pending.push(post(agent, r, bodies[i], `${r.idempotencyPrefix}-${i}`).then((o) => ({ ...o, scheduled })));
        i++;
      }
      if (i < total) await sleep(Math.max(0, start + i * interval - performance.now()));
    }
    const outcomes = await Promise.all(pending);
    return summarise("open", outcomes, { offeredRate: r.rate, maxSendLagMs });
  } finally {
    agent.destroy();
  }
}

/** `concurrency` clients back to back for `seconds` (at most `maxRequests` in all). */
export async function closedLoop(r: ClosedLoopRequest): Promise<LoadResult> {
  const generator = new HouseholdGenerator(r.seed, r.partition);
  const agent = new http.Agent({ keepAlive: true, maxSockets: r.concurrency });
  const outcomes: Outcome[] = [];
  let n = 0;
  const deadline = performance.now() + r.seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline && n < r.maxRequests) {
      const i = n++;
      const o = await post(agent, r, JSON.stringify(generator.next()), `${r.idempotencyPrefix}-${i}`);
      outcomes.push({ ...o, scheduled: o.sent });
    }
  };
  try {
    await Promise.all(Array.from({ length: r.concurrency }, client));
    return summarise("closed", outcomes, { concurrency: r.concurrency });
  } finally {
    agent.destroy();
  }
}

if (require.main === module && process.send) {
  process.on("message", (message: LoadRequest) => {
    const run = message.kind === "open" ? openLoop(message) : closedLoop(message);
    run.then(
      (result) => process.send!({ ok: true, result }),
      (error: unknown) => process.send!({ ok: false, error: String((error as Error)?.stack ?? error) }),
    );
  });
}
