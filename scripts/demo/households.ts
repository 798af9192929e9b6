/**
 * The demo's households: synthetic, and marked so wherever a person would read them. They come from the benchmarks'
 * generator (bench/households.ts: valid GB 11643 resident IDs with their check characters, 1–5 members, incomes per
 * head around 城市低保's standard), seeded afresh on every run so that a second demo on the same gateway enrols other
 * people. Each address starts with {@link SYNTHETIC_MARK}, and the CSV's household references with `SYN`.
 */
import { randomInt } from "node:crypto";
import type { ApplicationInput } from "../../gateway/src/cases/application";
import { CSV_COLUMNS } from "../../gateway/src/cases/csv";
import { gapAmount } from "../../lib/programmes";
import { HouseholdGenerator, householdsCsv } from "../../bench/households";

export const SYNTHETIC_MARK = "【合成示例數據 SYNTHETIC DEMO DATA】";

export interface DemoHousehold {
  /** The CSV's household reference, or the individual application's idempotency key. */
  ref: string;
  input: ApplicationInput;
  via: "csv" | "post";
  /** Income per head below the standard: the gap rule gives a positive amount. */
  eligible: boolean;
  /** The monthly amount the gap rule gives (fen). */
  amount: bigint;
  caseId?: string;
}

/** `n` fresh households (a random seed and ID partition a run), eligibility judged against `standard` (fen). */
export function demoHouseholds(n: number, standard: bigint, runTag: string): DemoHousehold[] {
  const generator = new HouseholdGenerator(randomInt(2 ** 31), randomInt(10));
  return generator.take(n).map((input, i) => {
    input.applicant.address = `${SYNTHETIC_MARK}${input.applicant.address}`.slice(0, 200);
    const size = input.household.members.length;
    const perHead = BigInt(Math.floor(input.household.monthlyIncome / size));
    const amount = gapAmount(standard, perHead, size);
    return { ref: `SYN${runTag}${String(i + 1).padStart(5, "0")}`, input, via: "post", eligible: amount > 0n, amount };
  });
}

/** The households as `POST /v1/cases/import` takes them, with their own references. */
export function demoCsv(households: DemoHousehold[]): string {
  const csv = householdsCsv(
    households.map((h) => h.input),
    CSV_COLUMNS,
  );
  // householdsCsv numbers households H000001…; the demo's references are its own.
  const lines = csv.split("\r\n");
  const refs = new Map(households.map((h, i) => [`H${String(i + 1).padStart(6, "0")}`, h.ref]));
  return lines
    .map((line, i) => {
      if (i === 0 || line === "") return line;
      const comma = line.indexOf(",");
      return (refs.get(line.slice(0, comma)) ?? line.slice(0, comma)) + line.slice(comma);
    })
    .join("\r\n");
}
