/**
 * Synthetic households for the intake benchmarks: valid `ApplicationInput`s for 城市低保 (programme 1, standard 73,700
 * fen a head a month) in 建外街道 (110105001000), with GB 11643 resident ID numbers from `syntheticResidentId`, 1–5
 * members and incomes around the standard. Deterministic for a seed; every resident ID a generator hands out is
 * distinct from every other it handed out, and from those of generators of other partitions (the three-digit
 * sequence of the ID is `partition × 100 + 0..99`), so no two applications share a person.
 *
 * Nothing here is real personal data: names are drawn from common characters, numbers are made up.
 */
import type { ApplicationInput, HouseholdMember } from "../gateway/src/cases/application";
import { syntheticResidentId } from "../lib/resident-id";

/** 城市低保's standard in 朝陽區, fen per head per month (gateway/src/seed/local.ts). */
export const URBAN_DIBAO_STANDARD_FEN = 73_700;
export const BENCH_PROGRAMME_ID = 1;
export const BENCH_REGION = "110105001000";
const COUNTY = "110105";

const SURNAMES = "王李張劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅鄭梁謝宋唐";
const GIVEN = [
  "偉",
  "芳",
  "娜",
  "秀英",
  "敏",
  "靜",
  "麗",
  "強",
  "磊",
  "軍",
  "洋",
  "勇",
  "艷",
  "傑",
  "娟",
  "濤",
  "明",
  "超",
  "秀蘭",
  "霞",
  "平",
  "剛",
  "桂英",
  "建華",
  "志強",
  "海燕",
  "欣怡",
  "子涵",
  "浩然",
  "雨桐",
];
const BANKS = [
  "中國工商銀行北京朝陽支行",
  "中國農業銀行北京朝陽支行",
  "中國建設銀行北京建外支行",
  "北京農商銀行朝陽支行",
];
const COMPOUNDS = ["建外SOHO", "永安里", "光華里", "大北窯", "建國里", "秀水"];
const HEALTH = ["高血壓", "糖尿病", "慢性腎病", "術後康復"];

/** mulberry32: a small, fast, seedable PRNG (not for secrets: these are made-up households). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates households; `seed` makes the sequence reproducible (resident IDs, names, incomes). */
export class HouseholdGenerator {
  readonly #random: () => number;
  readonly #used = new Set<string>();
  #count = 0;

  readonly #partition: number;

  /** `partition` (0–9) keeps the resident IDs of this generator apart from other partitions' generators. */
  constructor(seed = 20_260_101, partition = 0) {
    if (!Number.isInteger(partition) || partition < 0 || partition > 9) throw new RangeError("partition is 0 to 9");
    this.#random = prng(seed);
    this.#partition = partition;
  }

  /** Households generated so far. */
  get count(): number {
    return this.#count;
  }

  #int(min: number, max: number): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  #pick<T>(items: readonly T[] | string): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  /** A made-up document digest: 0x and 64 hex digits. */
  #digest(): string {
    let hex = "0x";
    for (let i = 0; i < 8; i++)
      hex += Math.floor(this.#random() * 2 ** 32)
        .toString(16)
        .padStart(8, "0");
    return hex;
  }

  #name(surname?: string): string {
    return (surname ?? this.#pick<string>(SURNAMES)) + this.#pick(GIVEN);
  }

  /** A distinct resident ID of someone born in [fromYear, toYear]. */
  #residentId(fromYear: number, toYear: number): string {
    for (;;) {
      const year = this.#int(fromYear, toYear);
      const month = this.#int(1, 12);
      const day = this.#int(1, 28);
      const birthDate = `${year}${String(month).padStart(2, "0")}${String(day).padStart(2, "0")}`;
      const sequence = this.#partition * 100 + this.#int(0, 99);
      const id = syntheticResidentId({ region: COUNTY, birthDate, sequence });
      if (!this.#used.has(id)) {
        this.#used.add(id);
        return id;
      }
    }
  }

  /** Members: 1 (30%), 2 (25%), 3 (25%), 4 (12%) or 5 (8%). */
  #size(): number {
    const r = this.#random();
    return r < 0.3 ? 1 : r < 0.55 ? 2 : r < 0.8 ? 3 : r < 0.92 ? 4 : 5;
  }

  /**
   * Monthly household income: per head, 10% none, 60% below the standard (eligible), 30% above it (up to about
   * twice: applications the approver will turn down). Integer fen.
   */
  #income(size: number): number {
    const r = this.#random();
    const perHead =
      r < 0.1
        ? 0
        : r < 0.7
          ? this.#int(5_000, URBAN_DIBAO_STANDARD_FEN - 1)
          : this.#int(URBAN_DIBAO_STANDARD_FEN, 2 * URBAN_DIBAO_STANDARD_FEN);
    return perHead * size + this.#int(0, size - 1);
  }

  /** The next household's application. */
  next(): ApplicationInput {
    this.#count += 1;
    const size = this.#size();
    const surname = this.#pick<string>(SURNAMES);
    const selfId = this.#residentId(1950, 1995);
    const applicantName = this.#name(surname);
    const members: HouseholdMember[] = [{ name: applicantName, residentId: selfId, relation: "self" }];
    const relations: HouseholdMember["relation"][] = ["spouse", "child", "child", "parent"];
    for (let i = 1; i < size; i++) {
      const relation = relations[i - 1];
      const born: [number, number] =
        relation === "child" ? [2008, 2022] : relation === "parent" ? [1935, 1955] : [1950, 1995];
      const member: HouseholdMember = {
        name: this.#name(relation === "child" ? surname : undefined),
        residentId: this.#residentId(...born),
        relation,
      };
      if (this.#random() < 0.1) member.disability = this.#pick(["grade1", "grade2", "grade3", "grade4"] as const);
      if (this.#random() < 0.15) member.health = this.#pick(HEALTH);
      members.push(member);
    }
    const documents: ApplicationInput["documents"] = [
      { kind: "id-card", digest: this.#digest() },
      { kind: "household-register", digest: this.#digest() },
    ];
    if (this.#random() < 0.6) documents.push({ kind: "income-proof", digest: this.#digest() });
    return {
      programmeId: BENCH_PROGRAMME_ID,
      region: BENCH_REGION,
      applicant: {
        name: applicantName,
        residentId: selfId,
        phone: `1${this.#int(3, 9)}${String(this.#int(0, 999_999_999)).padStart(9, "0")}`,
        address: `北京市朝陽區建外街道${this.#pick(COMPOUNDS)}${this.#int(1, 30)}號樓${this.#int(1, 6)}單元${this.#int(101, 2808)}室`,
      },
      household: { members, monthlyIncome: this.#income(size) },
      payment: {
        bankName: this.#pick(BANKS),
        accountName: applicantName,
        accountNumber: `6222${String(this.#int(0, 999_999_999)).padStart(9, "0")}${String(this.#int(0, 999_999)).padStart(6, "0")}`,
      },
      documents,
    };
  }

  /** The next `n` households. */
  take(n: number): ApplicationInput[] {
    return Array.from({ length: n }, () => this.next());
  }
}

/** The CSV cell of `value`: quoted when it holds a comma, a quote or a line break. */
function cell(value: string | number | undefined): string {
  const text = value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Households as the CSV that `POST /v1/cases/import` takes (gateway/src/cases/csv.ts: one row per member, household
 * columns on the `self` row). The format has no document or health columns: those are left out.
 */
export function householdsCsv(households: ApplicationInput[], columns: readonly string[]): string {
  const lines = [columns.join(",")];
  households.forEach((h, i) => {
    for (const m of h.household.members) {
      const self = m.relation === "self";
      const values: Record<string, string | number | undefined> = {
        household_ref: `H${String(i + 1).padStart(6, "0")}`,
        relation: m.relation,
        name: m.name,
        resident_id: m.residentId,
        disability: m.disability,
        ...(self && {
          programme_id: h.programmeId,
          region: h.region,
          phone: h.applicant.phone,
          address: h.applicant.address,
          monthly_income_fen: h.household.monthlyIncome,
          bank_name: h.payment.bankName,
          account_name: h.payment.accountName,
          account_number: h.payment.accountNumber,
          requested_amount_fen: h.requestedAmount,
        }),
      };
      lines.push(columns.map((c) => cell(values[c])).join(","));
    }
  });
  return lines.join("\r\n") + "\r\n";
}
