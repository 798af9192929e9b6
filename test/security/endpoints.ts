/**
 * The gateway's endpoints, found two ways: from the Express router stack (what the app serves) and from the OpenAPI
 * document (what it says it serves). The security suites iterate over them, so a new endpoint is fuzzed and put in
 * the access matrix without anyone listing it; they also assert that both ways agree.
 */
import type { Express } from "express";

export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface Endpoint {
  method: Method;
  /** The OpenAPI path, `/v1/cases/{caseId}`. */
  path: string;
  /** Its path parameters, in order. */
  params: string[];
  operation: OpenApiOperation;
}

export interface OpenApiOperation {
  summary?: string;
  parameters?: { name: string; in: "path" | "query" | "header"; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses?: Record<string, unknown>;
}

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Partial<Record<Method, OpenApiOperation>>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** Routes served outside the API proper: the document itself and its browser view. */
export const NOT_DOCUMENTED = ["get /openapi.json", "get /docs"] as const;

export function documentedEndpoints(doc: OpenApiDocument): Endpoint[] {
  const out: Endpoint[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ["get", "post", "put", "patch", "delete"] as const) {
      const operation = item[method];
      if (!operation) continue;
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      out.push({ method, path, params, operation });
    }
  }
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}

export const key = (e: { method: string; path: string }) => `${e.method} ${e.path}`;

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/**
 * Every `method route-path` the router stack serves, with `:param` written `{param}` and the mount prefix dropped
 * (Express 5 keeps no mount path on a layer): `post /cases/{caseId}/review`.
 */
export function servedRoutes(app: Express): string[] {
  const out = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          for (const [m, on] of Object.entries(layer.route.methods)) {
            if (on && m !== "_all") out.add(`${m} ${p.replace(/:(\w+)/g, "{$1}")}`);
          }
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return [...out].sort();
}

/** A documented endpoint as the router names it (no `/v1` mount prefix). */
export const routerKey = (e: Endpoint) => `${e.method} ${e.path.replace(/^\/v1(?=\/)/, "")}`;

/** The URL of an endpoint with its parameters filled in (each already percent-encoded, or deliberately raw). */
export function urlOf(e: Endpoint, values: Record<string, string>, query = ""): string {
  const path = e.path.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? "x");
  return query ? `${path}?${query}` : path;
}
