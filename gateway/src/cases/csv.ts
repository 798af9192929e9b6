/**
 * Bulk import of households from CSV: UTF-8 (an optional BOM is dropped), comma separated, a header row, one row per
 * household member, rows of one household grouped by `household_ref` wherever they are in the file.
 *
 * Household-level columns are read from the household's `self` row; another row may leave them empty, and if it does
 * not, its value must agree with the `self` row. Each assembled household is validated by `applicationSchema`; a
 * household with any error is reported in `errors` and left out of `households`, and the others still parse.
 *
 * Row numbers count CSV records: the header is row 0, the first data row is row 1. Blank rows (every cell empty) are
 * counted but ignored. Cells are trimmed of surrounding whitespace (including the ideographic space U+3000).
 *
 * Errors never carry a cell's value: the field is a column name (or a path such as `household.members`, or
 * `column 3` for a header cell that is not a known column, since a file without a header would put a person's data
 * there), the message a fixed text. A `householdRef` is attached only once it has been checked to be a well-formed
 * reference (references are not personal data). A row whose own `household_ref` is missing or malformed cannot be
 * attributed to a household; it is reported without one, and the household it was meant for may then be imported
 * without that member: callers should refuse the whole import when `errors` is not empty, or show those rows.
 *
 * The file-level problems (malformed CSV, bad encoding, header errors, too many rows) stop the import: no household
 * is returned then.
 */
import { parse } from "csv-parse/sync";
import type { core } from "zod";
import {
  APPLICATION_ISSUE,
  MAX_MEMBERS,
  applicationSchema,
  householdMemberSchema,
  type ApplicationInput,
} from "./application";

export const CSV_COLUMNS = [
  "household_ref",
  "programme_id",
  "region",
  "relation",
  "name",
  "resident_id",
  "phone",
  "address",
  "monthly_income_fen",
  "bank_name",
  "account_name",
  "account_number",
  "disability",
  "requested_amount_fen",
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Columns of the household as a whole, read from its `self` row. */
export const HOUSEHOLD_COLUMNS: readonly CsvColumn[] = [
  "programme_id",
  "region",
  "phone",
  "address",
  "monthly_income_fen",
  "bank_name",
  "account_name",
  "account_number",
  "requested_amount_fen",
];
const REQUIRED_HOUSEHOLD_COLUMNS: readonly CsvColumn[] = [
  "programme_id",
  "region",
  "address",
  "monthly_income_fen",
  "bank_name",
  "account_name",
  "account_number",
];
const REQUIRED_MEMBER_COLUMNS: readonly CsvColumn[] = ["relation", "name", "resident_id"];
const NUMBER_COLUMNS: ReadonlySet<CsvColumn> = new Set(["programme_id", "monthly_income_fen", "requested_amount_fen"]);
const HOUSEHOLD_REF = /^[A-Za-z0-9_-]{1,64}$/;
const DIGITS = /^\d+$/;
export const DEFAULT_MAX_ROWS = 100_000;

export interface CsvRowError {
  /** 1-based data row number; the header is row 0. */
  row: number;
  householdRef?: string;
  /** A CSV column name, a path of the application such as `household.members`, `row` or `csv`. */
  field: string;
  /** Stable code, see `CSV_ERROR`. */
  code: string;
  /** Fixed text; never the value. */
  message: string;
}

export interface CsvImportParse {
  households: Array<{ householdRef: string; rows: number[]; application: ApplicationInput }>;
  errors: CsvRowError[];
}

/** The codes of `CsvRowError`. */
export const CSV_ERROR = {
  MALFORMED_CSV: "MALFORMED_CSV",
  INVALID_ENCODING: "INVALID_ENCODING",
  TOO_MANY_ROWS: "TOO_MANY_ROWS",
  UNKNOWN_COLUMN: "UNKNOWN_COLUMN",
  MISSING_COLUMN: "MISSING_COLUMN",
  DUPLICATE_COLUMN: "DUPLICATE_COLUMN",
  REQUIRED: "REQUIRED",
  INVALID_HOUSEHOLD_REF: "INVALID_HOUSEHOLD_REF",
  INVALID_NUMBER: "INVALID_NUMBER",
  OUT_OF_RANGE: "OUT_OF_RANGE",
  TOO_LONG: "TOO_LONG",
  INVALID_CHARACTERS: "INVALID_CHARACTERS",
  INVALID_RESIDENT_ID: "INVALID_RESIDENT_ID",
  INVALID_REGION: "INVALID_REGION",
  INVALID_PHONE: "INVALID_PHONE",
  INVALID_ACCOUNT_NUMBER: "INVALID_ACCOUNT_NUMBER",
  INVALID_RELATION: "INVALID_RELATION",
  INVALID_DISABILITY: "INVALID_DISABILITY",
  INCONSISTENT_VALUE: "INCONSISTENT_VALUE",
  NO_SELF_ROW: "NO_SELF_ROW",
  MULTIPLE_SELF_ROWS: "MULTIPLE_SELF_ROWS",
  DUPLICATE_MEMBER: "DUPLICATE_MEMBER",
  TOO_MANY_MEMBERS: "TOO_MANY_MEMBERS",
  INVALID_VALUE: "INVALID_VALUE",
} as const;

/** Messages of csv-parse's own error codes (its messages quote the file's content, so they are not passed on). */
const CSV_PARSE_MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: "a quoted field is not closed before the end of the file",
  CSV_INVALID_CLOSING_QUOTE: "a closing quote is followed by something other than a comma or the end of the row",
  INVALID_OPENING_QUOTE: "a quote appears inside an unquoted field",
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: "a closing quote is followed by something other than a comma",
  CSV_MAX_RECORD_SIZE: "a row is too large",
};

/** Where an application field comes from in the CSV. */
const APPLICANT_COLUMN: Record<string, CsvColumn> = {
  name: "name",
  residentId: "resident_id",
  phone: "phone",
  address: "address",
};
const MEMBER_COLUMN: Record<string, CsvColumn> = {
  name: "name",
  residentId: "resident_id",
  relation: "relation",
  disability: "disability",
};
const PAYMENT_COLUMN: Record<string, CsvColumn> = {
  bankName: "bank_name",
  accountName: "account_name",
  accountNumber: "account_number",
};
/** The error code of a failed rule of a column, when the schema's issue does not carry one. */
const COLUMN_CODE: Partial<Record<CsvColumn, string>> = {
  programme_id: CSV_ERROR.OUT_OF_RANGE,
  monthly_income_fen: CSV_ERROR.OUT_OF_RANGE,
  requested_amount_fen: CSV_ERROR.OUT_OF_RANGE,
  phone: CSV_ERROR.INVALID_PHONE,
  account_number: CSV_ERROR.INVALID_ACCOUNT_NUMBER,
  relation: CSV_ERROR.INVALID_RELATION,
  disability: CSV_ERROR.INVALID_DISABILITY,
  resident_id: CSV_ERROR.INVALID_RESIDENT_ID,
  region: CSV_ERROR.INVALID_REGION,
};
const ISSUE_CODE: Record<string, string> = {
  [APPLICATION_ISSUE.DUPLICATE_MEMBER]: CSV_ERROR.DUPLICATE_MEMBER,
  [APPLICATION_ISSUE.MULTIPLE_SELF_MEMBERS]: CSV_ERROR.MULTIPLE_SELF_ROWS,
  [APPLICATION_ISSUE.NO_SELF_MEMBER]: CSV_ERROR.NO_SELF_ROW,
  [APPLICATION_ISSUE.SELF_NOT_APPLICANT]: CSV_ERROR.INVALID_RESIDENT_ID,
};

interface Row {
  row: number;
  cells: string[];
}

/** Collects a household's errors, at most one per (row, field). */
class Errors {
  readonly list: CsvRowError[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly householdRef?: string) {}

  add(row: number, field: string, code: string, message: string): void {
    const key = `${row}\u0000${field}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({
      row,
      ...(this.householdRef !== undefined && { householdRef: this.householdRef }),
      field,
      code,
      message,
    });
  }
}

const isBlank = (cells: string[]) => cells.every((c) => c.trim() === "");

/**
 * Parses a CSV file of households. See the module comment for the format and the error model. `maxRows` (default
 * 100,000) bounds the number of non-blank data rows; a longer file is refused as a whole (`TOO_MANY_ROWS`).
 */
export function parseHouseholdsCsv(text: string, options?: { maxRows?: number }): CsvImportParse {
  const maxRows = options?.maxRows ?? DEFAULT_MAX_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError("maxRows must be a positive integer");
  const fail = (row: number, field: string, code: string, message: string): CsvImportParse => ({
    households: [],
    errors: [{ row, field, code, message }],
  });

  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.includes("\ufffd")) {
    return fail(0, "csv", CSV_ERROR.INVALID_ENCODING, "the file is not valid UTF-8 (save it as CSV UTF-8, not GBK)");
  }

  // Parse, counting non-blank data rows and stopping at the first one beyond the limit.
  const tooMany = new Error("too many rows");
  let dataRows = 0;
  let overflowRow = 0;
  let records: string[][];
  try {
    records = parse(text, {
      relax_column_count: true,
      on_record: (record: string[], context: { records: number }) => {
        if (context.records > 1 && !isBlank(record) && ++dataRows > maxRows) {
          overflowRow = context.records - 1;
          throw tooMany;
        }
        return record;
      },
    }) as string[][];
  } catch (error) {
    if (error === tooMany) {
      return fail(overflowRow, "csv", CSV_ERROR.TOO_MANY_ROWS, `the file has more than ${maxRows} data rows`);
    }
    const { code, records: row } = error as { code?: unknown; records?: unknown };
    const message = (typeof code === "string" && CSV_PARSE_MESSAGES[code]) || "the file is not well-formed CSV";
    return fail(typeof row === "number" ? row : 0, "csv", CSV_ERROR.MALFORMED_CSV, message);
  }

  // Header.
  const header = (records[0] ?? []).map((c) => c.trim());
  const index = new Map<CsvColumn, number>();
  const headerErrors = new Errors();
  const known: ReadonlySet<string> = new Set(CSV_COLUMNS);
  header.forEach((name, i) => {
    if (!known.has(name)) {
      headerErrors.add(
        0,
        `column ${i + 1}`,
        CSV_ERROR.UNKNOWN_COLUMN,
        `column ${i + 1} of the header is not a known column`,
      );
    } else if (index.has(name as CsvColumn)) {
      headerErrors.add(0, name, CSV_ERROR.DUPLICATE_COLUMN, "the column appears more than once in the header");
    } else index.set(name as CsvColumn, i);
  });
  for (const column of CSV_COLUMNS) {
    if (!index.has(column)) headerErrors.add(0, column, CSV_ERROR.MISSING_COLUMN, "the header lacks this column");
  }
  if (headerErrors.list.length > 0) return { households: [], errors: headerErrors.list };

  // Rows, grouped by household.
  const errors: CsvRowError[] = [];
  const refIndex = index.get("household_ref") as number;
  const groups = new Map<string, { rows: Row[]; malformed: number[] }>();
  for (let row = 1; row < records.length; row++) {
    const cells = records[row];
    if (isBlank(cells)) continue;
    const ref = (cells[refIndex] ?? "").trim();
    const wellFormedRef = HOUSEHOLD_REF.test(ref);
    let group = wellFormedRef ? groups.get(ref) : undefined;
    if (wellFormedRef && group === undefined) groups.set(ref, (group = { rows: [], malformed: [] }));
    if (cells.length !== header.length) {
      errors.push({
        row,
        ...(wellFormedRef && { householdRef: ref }),
        field: "row",
        code: CSV_ERROR.MALFORMED_CSV,
        message: `the row has ${cells.length} fields but the header has ${header.length}`,
      });
      group?.malformed.push(row);
    } else if (ref === "") {
      errors.push({ row, field: "household_ref", code: CSV_ERROR.REQUIRED, message: "household_ref is required" });
    } else if (!wellFormedRef) {
      errors.push({
        row,
        field: "household_ref",
        code: CSV_ERROR.INVALID_HOUSEHOLD_REF,
        message: "household_ref must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
      });
    } else group?.rows.push({ row, cells: cells.map((c) => c.trim()) });
  }

  const households: CsvImportParse["households"] = [];
  for (const [ref, group] of groups) {
    const { application, errors: householdErrors } = assembleHousehold(ref, group.rows, index);
    if (application !== undefined && householdErrors.length === 0 && group.malformed.length === 0) {
      households.push({ householdRef: ref, rows: group.rows.map((r) => r.row), application });
    } else errors.push(...householdErrors);
  }
  errors.sort((a, b) => a.row - b.row);
  return { households, errors };
}

function assembleHousehold(
  ref: string,
  rows: Row[],
  index: ReadonlyMap<CsvColumn, number>,
): { application?: ApplicationInput; errors: CsvRowError[] } {
  const errors = new Errors(ref);
  const cell = (r: Row, column: CsvColumn) => r.cells[index.get(column) as number];
  const enumCell = (r: Row, column: CsvColumn) => cell(r, column).toLowerCase();
  const number = (r: Row, column: CsvColumn): number | undefined => {
    const value = cell(r, column);
    if (value === "") return undefined;
    if (!DIGITS.test(value)) {
      errors.add(r.row, column, CSV_ERROR.INVALID_NUMBER, `${column} must be a whole number of digits only`);
      return undefined;
    }
    return Number(value);
  };
  const member = (r: Row) => {
    const disability = enumCell(r, "disability");
    return {
      name: cell(r, "name"),
      residentId: cell(r, "resident_id"),
      relation: enumCell(r, "relation"),
      ...(disability !== "" && { disability }),
    };
  };
  const same = (a: string, b: string, column: CsvColumn) =>
    a === b || (NUMBER_COLUMNS.has(column) && DIGITS.test(a) && DIGITS.test(b) && BigInt(a) === BigInt(b));

  for (const r of rows) {
    for (const column of REQUIRED_MEMBER_COLUMNS) {
      if (cell(r, column) === "") errors.add(r.row, column, CSV_ERROR.REQUIRED, `${column} is required`);
    }
  }
  if (rows.length === 0) return { errors: errors.list };
  const self = rows.find((r) => enumCell(r, "relation") === "self");
  if (self === undefined) {
    errors.add(
      rows[0].row,
      "household.members",
      CSV_ERROR.NO_SELF_ROW,
      'the household has no row with relation "self"',
    );
    // Still report what is wrong with each member row.
    for (const r of rows) {
      const parsed = householdMemberSchema.safeParse(member(r));
      for (const issue of parsed.error?.issues ?? []) {
        const column = MEMBER_COLUMN[String(issue.path[0])];
        if (column !== undefined) errors.add(r.row, column, codeOf(issue, column), issue.message);
      }
    }
    return { errors: errors.list };
  }

  for (const column of REQUIRED_HOUSEHOLD_COLUMNS) {
    if (cell(self, column) === "") errors.add(self.row, column, CSV_ERROR.REQUIRED, `${column} is required`);
  }
  for (const r of rows) {
    if (r === self) continue;
    for (const column of HOUSEHOLD_COLUMNS) {
      const value = cell(r, column);
      if (value !== "" && !same(value, cell(self, column), column)) {
        errors.add(
          r.row,
          column,
          CSV_ERROR.INCONSISTENT_VALUE,
          `${column} differs from the household's "self" row (leave it empty on other rows)`,
        );
      }
    }
  }

  const phone = cell(self, "phone");
  const requestedAmount = number(self, "requested_amount_fen");
  const candidate = {
    programmeId: number(self, "programme_id"),
    region: cell(self, "region"),
    applicant: {
      name: cell(self, "name"),
      residentId: cell(self, "resident_id"),
      ...(phone !== "" && { phone }),
      address: cell(self, "address"),
    },
    household: { members: rows.map(member), monthlyIncome: number(self, "monthly_income_fen") },
    payment: {
      bankName: cell(self, "bank_name"),
      accountName: cell(self, "account_name"),
      accountNumber: cell(self, "account_number"),
    },
    documents: [],
    ...(requestedAmount !== undefined && { requestedAmount }),
  };

  const parsed = applicationSchema.safeParse(candidate);
  if (parsed.success && errors.list.length === 0) return { application: parsed.data, errors: [] };
  for (const issue of parsed.error?.issues ?? []) {
    const [top, second, memberIndex, memberField] = issue.path;
    let row = self.row;
    let field: string;
    if (top === "applicant") field = APPLICANT_COLUMN[String(second)] ?? "applicant";
    else if (top === "payment") field = PAYMENT_COLUMN[String(second)] ?? "payment";
    else if (top === "household" && second === "monthlyIncome") field = "monthly_income_fen";
    else if (top === "household" && second === "members" && typeof memberIndex === "number") {
      row = rows[memberIndex]?.row ?? rows[0].row;
      field = MEMBER_COLUMN[String(memberField)] ?? "household.members";
    } else if (top === "household" && second === "members") {
      // The list as a whole: too many members is pinned on the first row beyond the limit.
      row = issue.code === "too_big" ? rows[MAX_MEMBERS].row : rows[0].row;
      field = "household.members";
    } else if (top === "programmeId") field = "programme_id";
    else if (top === "region") field = "region";
    else if (top === "requestedAmount") field = "requested_amount_fen";
    else field = issue.path.map(String).join(".") || "row";
    errors.add(row, field, codeOf(issue, field), issue.message);
  }
  return { errors: errors.list };
}

/** The stable code of a schema issue on `field`. */
function codeOf(issue: core.$ZodIssue, field: string): string {
  const fromSchema = (issue as { params?: { code?: unknown } }).params?.code;
  if (typeof fromSchema === "string") return ISSUE_CODE[fromSchema] ?? fromSchema;
  if (field === "household.members" && issue.code === "too_big") return CSV_ERROR.TOO_MANY_MEMBERS;
  return COLUMN_CODE[field as CsvColumn] ?? CSV_ERROR.INVALID_VALUE;
}
