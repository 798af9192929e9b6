/**
 * What the command-line tools share: their options read with Node's `util.parseArgs` (strict: an unknown option,
 * an option without its value or one given twice is a usage error), and the `--rpc` URL check.
 */
import { parseArgs } from "node:util";

/** Bad command-line input: the tool prints it with its usage and exits 2. */
export class UsageError extends Error {}

export interface CliInput {
  /** Option values by name without the dashes (`rpc`, `deployment`, …). */
  options: Record<string, string>;
  positionals: string[];
}

/** Reads `--name value` / `--name=value` options of `names` and the positional arguments; "help" for -h/--help. */
export function readCli(argv: readonly string[], names: readonly string[]): CliInput | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(names.map((n) => [n, { type: "string" as const }])),
      },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    // Node's message, first sentence: "Unknown option '--x'", "Option '--rpc <value>' argument missing".
    throw new UsageError((error as Error).message.split(". ")[0]);
  }
  if (parsed.values.help) return "help";
  const options: Record<string, string> = {};
  // The option set is built at run time, so TypeScript cannot narrow the tokens' type on its own.
  const tokens = parsed.tokens as { kind: string; name?: string; value?: string }[];
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined || token.name === "help") continue;
    const name = `--${token.name}`;
    if (token.value === undefined || token.value === "") throw new UsageError(`${name} needs a value`);
    if (token.name in options) throw new UsageError(`${name} given twice`);
    options[token.name] = token.value;
  }
  return { options, positionals: parsed.positionals };
}

/** `--rpc`'s value if it is an http(s) URL. */
export function rpcUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(url.protocol);
  } catch {
    throw new UsageError(`--rpc is not an http(s) URL: ${value}`);
  }
  return value;
}
