import fs from "node:fs";
import path from "node:path";
import os from "node:os";

/** Where benchmark results go: JSON under bench/results/, tables in docs/BENCHMARKS.md between markers. */
export const RESULTS_DIR = path.join(__dirname, "results");
const BENCHMARKS_MD = path.join(__dirname, "..", "docs", "BENCHMARKS.md");

export function machine() {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

export function writeJson(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 2) + "\n");
  return file;
}

/** A markdown table from rows of cells. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Replaces the section between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`. */
export function writeSection(name: string, markdown: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const current = fs.existsSync(BENCHMARKS_MD) ? fs.readFileSync(BENCHMARKS_MD, "utf8") : "# Benchmarks\n";
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = current.indexOf(start);
  const j = current.indexOf(end);
  const next =
    i >= 0 && j > i
      ? current.slice(0, i) + block + current.slice(j + end.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(BENCHMARKS_MD, next);
}

export const fmt = (n: number | bigint, digits = 0) =>
  Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
