/**
 * fast-check arbitraries from the OpenAPI document's JSON Schemas (as zod-to-openapi writes them): mostly valid
 * values, so that fuzzed requests get past validation and reach the domain code, and their malformed neighbours.
 */
import fc from "fast-check";
import type { JsonSchema, OpenApiDocument } from "./endpoints";

/** Strings that have broken parsers elsewhere: traversal, NULs, unicode edge cases, injection, huge. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
  "\u0000",
  "a\u0000b",
  "\u202e\u0644\u200b\ufeff",
  "😀".repeat(20),
  "\ud800",
  "' OR '1'='1",
  "'; DROP TABLE records; --",
  "<script>alert(1)</script>",
  "${7*7}{{7*7}}",
  "__proto__",
  "constructor",
  "0x",
  "0x" + "g".repeat(64),
  "0x" + "0".repeat(64),
  "0x" + "f".repeat(64),
  "-1",
  "1e309",
  "NaN",
  "9".repeat(400),
  "x".repeat(5_000),
];

/** Numbers past every boundary a field may have. */
export const HOSTILE_NUMBERS: readonly number[] = [
  0,
  -1,
  -0,
  0.5,
  1.5,
  -1e-9,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  Number.EPSILON,
];

export const hostileString = fc.constantFrom(...HOSTILE_STRINGS);
export const hostileNumber = fc.constantFrom(...HOSTILE_NUMBERS);

/** Any JSON value, hostile leaves included. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileString,
  hostileNumber,
  fc.constant(null),
  fc.array(hostileString, { maxLength: 3 }),
);

export class SchemaArbitraries {
  private readonly cache = new Map<JsonSchema, fc.Arbitrary<unknown>>();

  /** `strings` are extra values offered for every free-text string (known ids, the fixture's personal values). */
  constructor(
    private readonly doc: OpenApiDocument,
    private readonly strings: readonly string[],
  ) {}

  /** Values the schema accepts, mostly (a regex or refinement it cannot see may still refuse them). */
  valid(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
    if (!schema) return anyJson;
    const cached = this.cache.get(schema);
    if (cached) return cached;
    const arb = this.build(schema, depth);
    this.cache.set(schema, arb);
    return arb;
  }

  /** A valid value with one defect: a field dropped, added, or of the wrong type, or a hostile leaf. */
  malformed(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
    const s = this.resolve(schema ?? {});
    if (s.type !== "object" || !s.properties) return fc.oneof(anyJson, this.valid(schema).map(wrongType));
    const props = Object.keys(s.properties as object);
    return fc
      .tuple(
        this.valid(schema) as fc.Arbitrary<Record<string, unknown>>,
        fc.constantFrom("drop", "extra", "retype", "hostile", "nest"),
        fc.constantFrom(...(props.length > 0 ? props : ["x"])),
        anyJson,
      )
      .map(([value, how, prop, junk]) => {
        const v = { ...(value ?? {}) };
        if (how === "drop") delete v[prop];
        else if (how === "extra") v[`extra_${prop}`] = junk;
        else if (how === "retype") v[prop] = wrongType(v[prop]);
        else if (how === "hostile") v[prop] = junk;
        else v[prop] = { [prop]: v[prop] };
        return v;
      });
  }

  private resolve(schema: JsonSchema): JsonSchema {
    const ref = schema.$ref as string | undefined;
    if (!ref) return schema;
    const name = ref.replace("#/components/schemas/", "");
    return this.resolve(this.doc.components?.schemas?.[name] ?? {});
  }

  private build(raw: JsonSchema, depth: number): fc.Arbitrary<unknown> {
    const s = this.resolve(raw);
    if (depth > 6) return fc.constant(null);
    if ("const" in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    const variants = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
    if (variants?.length) return fc.oneof(...variants.map((v) => this.valid(v, depth + 1)));
    if (Array.isArray(s.allOf)) return this.valid((s.allOf as JsonSchema[])[0], depth + 1);
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
    if (types.length > 1) return fc.oneof(...types.map((type) => this.valid({ ...s, type }, depth + 1)));
    switch (types[0]) {
      case "string":
        return this.string(s);
      case "integer":
        return this.number(s, true);
      case "number":
        return this.number(s, false);
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "array": {
        const items = this.valid(s.items as JsonSchema | undefined, depth + 1);
        const minLength = Number(s.minItems ?? 0);
        return fc.array(items, { minLength, maxLength: Math.max(minLength, Math.min(Number(s.maxItems ?? 3), 3)) });
      }
      case "object":
      default: {
        const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
        if (Object.keys(properties).length === 0) return fc.oneof(fc.constant({}), fc.dictionary(fc.string(), anyJson));
        const required = new Set((s.required ?? []) as string[]);
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [name, p] of Object.entries(properties)) record[name] = this.valid(p, depth + 1);
        return fc.record(record, { requiredKeys: Object.keys(properties).filter((k) => required.has(k)) });
      }
    }
  }

  private string(s: JsonSchema): fc.Arbitrary<string> {
    const min = Number(s.minLength ?? 0);
    const max = Math.min(Number(s.maxLength ?? 40), 200);
    const offered = (keep: (v: string) => boolean) => {
      const known = this.strings.filter(keep);
      return known.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...known) }] : [];
    };
    if (typeof s.pattern === "string") {
      const re = new RegExp(s.pattern);
      return fc.oneof({ weight: 4, arbitrary: fc.stringMatching(re) }, ...offered((v) => re.test(v)));
    }
    if (s.format === "date-time") return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    return fc.oneof(
      { weight: 3, arbitrary: fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max, 24)) }) },
      ...offered((v) => v.length >= min && v.length <= max),
      { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: min, maxLength: Math.max(min, 8) }) },
    );
  }

  private number(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
    const lo = Number(s.minimum ?? (typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + 1 : -1e6));
    const hi = Number(s.maximum ?? (typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum - 1 : 1e9));
    const min = Math.max(lo, Number.MIN_SAFE_INTEGER);
    const max = Math.min(hi, Number.MAX_SAFE_INTEGER);
    if (integer) return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  }
}

/** A value of another JSON type than `v`'s. */
export function wrongType(v: unknown): unknown {
  if (typeof v === "string") return v.length;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "true" : 1;
  if (Array.isArray(v)) return { 0: v[0] };
  if (v && typeof v === "object") return [v];
  return "null";
}
