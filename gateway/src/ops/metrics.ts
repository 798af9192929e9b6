/** Prometheus metrics of the gateway (`GET /metrics`), one registry per gateway so tests can run several. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route">;
  recordsSealed: Counter<"kind">;
  anchoredRecords: Counter;
  payouts: Counter<"outcome">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "relief_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "relief_http_requests_total",
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "relief_http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    recordsSealed: new Counter({
      name: "relief_records_sealed_total",
      help: "Sealed records stored, by kind",
      labelNames: ["kind"],
      registers: [registry],
    }),
    anchoredRecords: new Counter({
      name: "relief_records_anchored_total",
      help: "Records anchored on chain",
      registers: [registry],
    }),
    payouts: new Counter({
      name: "relief_payouts_total",
      help: "Entitlements a payout run paid or skipped",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}
