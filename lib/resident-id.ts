/**
 * GB 11643-1999 citizen identity numbers (公民身份號碼): 18 characters, a six-digit GB/T 2260 address code,
 * an eight-digit birth date `YYYYMMDD`, a three-digit sequence (odd for men, even for women) and a check character
 * computed with ISO 7064 MOD 11-2 (`0`–`9` or `X`).
 *
 * A resident ID number is personal data. This module never logs it, and neither its thrown errors nor any other
 * output it produces (other than the normalised number itself) carry the value or any part of it.
 *
 * Dates ("today", "in the future") are calendar dates in China Standard Time (UTC+8), whatever the host's zone.
 */

/** ISO 7064 MOD 11-2 weights of the first 17 digits: 2^(17-i) mod 11. */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
/** Check character for each value of the weighted sum mod 11. */
const CHECK_CHARS = "10X98765432";

const FIRST17 = /^\d{17}$/;
const SHAPE = /^\d{17}[\dXx]$/;
/** The earliest accepted birth date. */
const EARLIEST = 19000101;
const CST_OFFSET_MS = 8 * 60 * 60 * 1000;

/** A calendar date. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** The calendar date of `instant` in China Standard Time. */
export function chinaDateOf(instant: Date): CalendarDate {
  const shifted = new Date(instant.getTime() + CST_OFFSET_MS);
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

const asNumber = (d: CalendarDate) => d.year * 10_000 + d.month * 100 + d.day;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Parses eight digits `YYYYMMDD` as a real calendar date, or undefined. */
function parseYmd(ymd: string): CalendarDate | undefined {
  if (!/^\d{8}$/.test(ymd)) return undefined;
  const year = Number(ymd.slice(0, 4));
  const month = Number(ymd.slice(4, 6));
  const day = Number(ymd.slice(6, 8));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** The last day asked for, as a day count and as `YYYYMMDD`: most calls ask about the same day. */
let cachedDay = { index: Number.NaN, ymd: 0 };

/** `today` in China Standard Time as the number `YYYYMMDD`. */
function todayAsNumber(today: Date): number {
  const index = Math.floor((today.getTime() + CST_OFFSET_MS) / 86_400_000);
  if (index !== cachedDay.index) cachedDay = { index, ymd: asNumber(chinaDateOf(today)) };
  return cachedDay.ymd;
}

/** Whether `ymd` is a real date from 1900-01-01 up to and including `today` (China Standard Time). */
function isAcceptableBirthDate(ymd: string, today: Date): boolean {
  const date = parseYmd(ymd);
  if (date === undefined) return false;
  const n = asNumber(date);
  return n >= EARLIEST && n <= todayAsNumber(today);
}

function checkCharOf(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i];
  return CHECK_CHARS[sum % 11];
}

/** The check character (`0`–`9` or `X`) of the first 17 digits. Throws `RangeError` unless given 17 ASCII digits. */
export function residentIdCheckChar(first17: string): string {
  if (typeof first17 !== "string" || !FIRST17.test(first17)) {
    throw new RangeError("residentIdCheckChar needs exactly 17 digits");
  }
  return checkCharOf(first17);
}

/** The number with a lowercase check character `x` turned into `X`; anything else is returned unchanged. */
export function normaliseResidentId(id: string): string {
  return id.length === 18 && id[17] === "x" ? id.slice(0, 17) + "X" : id;
}

/**
 * Whether `id` is a well-formed GB 11643-1999 number: 17 digits and the right check character (a lowercase `x` is
 * accepted, see `normaliseResidentId`), whose birth date is a real calendar date from 1900-01-01 up to `today`.
 * The address code is not checked against the list of divisions (codes of abolished divisions stay valid on IDs).
 */
export function isValidResidentId(id: string, today: Date = new Date()): boolean {
  if (typeof id !== "string" || !SHAPE.test(id)) return false;
  const check = id[17] === "x" ? "X" : id[17];
  if (checkCharOf(id) !== check) return false;
  return isAcceptableBirthDate(id.slice(6, 14), today);
}

/** The birth date encoded in a valid number. Throws `RangeError` (without the value) if `id` is not valid. */
export function birthDateOf(id: string, today: Date = new Date()): CalendarDate {
  if (!isValidResidentId(id, today)) throw new RangeError("not a valid GB 11643 resident ID number");
  return parseYmd(id.slice(6, 14)) as CalendarDate;
}

/** Age in whole years on `today` (China Standard Time) of a person born on `birth`. */
export function ageOn(birth: CalendarDate, today: Date = new Date()): number {
  const t = chinaDateOf(today);
  let age = t.year - birth.year;
  if (t.month < birth.month || (t.month === birth.month && t.day < birth.day)) age -= 1;
  return age;
}

/**
 * A synthetic, valid resident ID number for demo and test data: `region` (six digits), `birthDate` (`YYYYMMDD`, a real
 * date from 1900-01-01 up to today) and `sequence` (0–999; odd is male, even female), plus the check character.
 * Throws `RangeError` if an option is out of range.
 */
export function syntheticResidentId(options: { region: string; birthDate: string; sequence: number }): string {
  const { region, birthDate, sequence } = options;
  if (typeof region !== "string" || !/^\d{6}$/.test(region)) throw new RangeError("region must be six digits");
  if (typeof birthDate !== "string" || !isAcceptableBirthDate(birthDate, new Date())) {
    throw new RangeError("birthDate must be a real YYYYMMDD date from 1900-01-01 up to today");
  }
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > 999) {
    throw new RangeError("sequence must be an integer from 0 to 999");
  }
  const first17 = region + birthDate + String(sequence).padStart(3, "0");
  return first17 + residentIdCheckChar(first17);
}
