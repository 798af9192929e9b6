import { expect } from "chai";
import fc from "fast-check";
import { DISABILITY_GRADES, RELATIONS, type ApplicationInput } from "../../../gateway/src/cases/application";
import { CSV_COLUMNS, parseHouseholdsCsv, type CsvRowError } from "../../../gateway/src/cases/csv";
import { residentIdCheckChar, syntheticResidentId } from "../../../lib/resident-id";

const HEADER = CSV_COLUMNS.join(",");
type Cells = Partial<Record<(typeof CSV_COLUMNS)[number], string>>;

/** One CSV cell, quoted when it must be. */
function quote(value: string): string {
  return /[",\r\n]/.test(value) || value.trim() !== value ? `"${value.replaceAll('"', '""')}"` : value;
}
const line = (cells: Cells) => CSV_COLUMNS.map((c) => quote(cells[c] ?? "")).join(",");
const csvOf = (rows: Cells[], header = HEADER) => [header, ...rows.map(line)].join("\n") + "\n";

const id = (birthDate: string, sequence: number, region = "110105") =>
  syntheticResidentId({ region, birthDate, sequence });
const SELF_ID = id("19800312", 11);

/** The rows of a valid household of three: self, spouse, child. */
function family(ref: string, seq = 0): Cells[] {
  const self = id("19800312", 100 + seq * 3);
  return [
    {
      household_ref: ref,
      programme_id: "1",
      region: "110105",
      relation: "self",
      name: "张伟",
      resident_id: self,
      phone: "13800138000",
      address: "北京市朝阳区某街道1号",
      monthly_income_fen: "120000",
      bank_name: "中国工商银行",
      account_name: "张伟",
      account_number: "6222020000000000001",
      disability: "none",
      requested_amount_fen: "",
    },
    { household_ref: ref, relation: "spouse", name: "李娜", resident_id: id("19820501", 101 + seq * 3) },
    {
      household_ref: ref,
      relation: "child",
      name: "张小明",
      resident_id: id("20100701", 102 + seq * 3),
      disability: "grade2",
    },
  ];
}

function only(text: string, options?: { maxRows?: number }) {
  return parseHouseholdsCsv(text, options);
}

/** The errors with `code`, and that every error of the result carries none of `secrets`. */
function errorsWith(result: ReturnType<typeof parseHouseholdsCsv>, code: string): CsvRowError[] {
  return result.errors.filter((e) => e.code === code);
}

function expectError(
  result: ReturnType<typeof parseHouseholdsCsv>,
  expected: Partial<CsvRowError> & { code: string },
): CsvRowError {
  const match = result.errors.find((e) =>
    Object.entries(expected).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v),
  );
  expect(match, `${JSON.stringify(expected)} among ${JSON.stringify(result.errors)}`).to.not.equal(undefined);
  return match as CsvRowError;
}

/** The values of the personal columns of `rows`. */
function personal(rows: Cells[]): string[] {
  const out = new Set<string>();
  for (const r of rows) {
    for (const c of ["name", "resident_id", "phone", "address", "account_name", "account_number"] as const) {
      const v = r[c];
      if (v !== undefined && v.trim().length >= 2) out.add(v.trim());
    }
  }
  return [...out];
}

function expectNoValues(errors: CsvRowError[], secrets: string[]) {
  const text = JSON.stringify(errors);
  for (const s of secrets) expect(text, "a value leaked into the errors").to.not.include(s);
}

describe("gateway/src/cases/csv", function () {
  describe("well-formed files", function () {
    it("parses a multi-member household into an application, members in file order", function () {
      const rows = family("HH-001");
      const result = only(csvOf(rows));
      expect(result.errors).to.deep.equal([]);
      expect(result.households).to.have.length(1);
      const [h] = result.households;
      expect(h.householdRef).to.equal("HH-001");
      expect(h.rows).to.deep.equal([1, 2, 3]);
      expect(h.application).to.deep.equal({
        programmeId: 1,
        region: "110105",
        applicant: {
          name: "张伟",
          residentId: rows[0].resident_id,
          phone: "13800138000",
          address: "北京市朝阳区某街道1号",
        },
        household: {
          members: [
            { name: "张伟", residentId: rows[0].resident_id, relation: "self", disability: "none" },
            { name: "李娜", residentId: rows[1].resident_id, relation: "spouse" },
            { name: "张小明", residentId: rows[2].resident_id, relation: "child", disability: "grade2" },
          ],
          monthlyIncome: 120_000,
        },
        payment: { bankName: "中国工商银行", accountName: "张伟", accountNumber: "6222020000000000001" },
        documents: [],
      });
    });

    it("groups rows that are not adjacent, with the self row anywhere", function () {
      const a = family("A", 0);
      const b = family("B", 1);
      const rows = [a[1], b[0], a[0], b[2], a[2], b[1]];
      const result = only(csvOf(rows));
      expect(result.errors).to.deep.equal([]);
      expect(result.households.map((h) => [h.householdRef, h.rows])).to.deep.equal([
        ["A", [1, 3, 5]],
        ["B", [2, 4, 6]],
      ]);
      const first = result.households[0].application;
      expect(first.household.members.map((m) => m.relation)).to.deep.equal(["spouse", "self", "child"]);
      expect(first.applicant.residentId).to.equal(a[0].resident_id);
    });

    it("drops a UTF-8 BOM, accepts CRLF line ends, column order of the header, blank rows and whitespace around cells", function () {
      const rows = family("HH-1");
      const columns = [...CSV_COLUMNS].reverse();
      const body = rows.map((r) => columns.map((c) => ` ${r[c] ?? ""}\u3000`).join(","));
      const text = "\uFEFF" + [columns.join(","), body[0], "", ",,,,,,,,,,,,,", body[1], body[2]].join("\r\n") + "\r\n";
      const result = only(text);
      expect(result.errors).to.deep.equal([]);
      expect(result.households[0].rows).to.deep.equal([1, 4, 5]);
      expect(result.households[0].application).to.deep.equal(only(csvOf(rows)).households[0].application);
    });

    it("reads quoted fields with commas, quotes, new lines and Chinese text", function () {
      const rows = family("Q");
      rows[0].address = '广东省深圳市南山区"科技园",粤海街道\n第3栋, 201室';
      rows[0].bank_name = "中国农业银行,深圳分行";
      const text = csvOf(rows);
      expect(text).to.include('"广东省深圳市南山区""科技园"",粤海街道\n第3栋, 201室"');
      const result = only(text);
      expect(result.errors).to.deep.equal([]);
      expect(result.households[0].application.applicant.address).to.equal(rows[0].address);
      expect(result.households[0].application.payment.bankName).to.equal("中国农业银行,深圳分行");
      expect(result.households[0].rows).to.deep.equal([1, 2, 3]);
    });

    it("accepts household-level values repeated on other rows when they agree (numbers compared as numbers)", function () {
      const rows = family("R");
      Object.assign(rows[1], {
        programme_id: "01",
        region: "110105",
        monthly_income_fen: "120000",
        bank_name: "中国工商银行",
      });
      const result = only(csvOf(rows));
      expect(result.errors).to.deep.equal([]);
      expect(result.households[0].application.programmeId).to.equal(1);
    });

    it("reads optional columns: requested amount, a lowercase check x, upper-case relation", function () {
      const rows = family("O");
      rows[0].requested_amount_fen = "500000";
      rows[0].phone = "";
      rows[0].resident_id = "11010519491231002x";
      rows[0].relation = "SELF";
      const result = only(csvOf(rows));
      expect(result.errors).to.deep.equal([]);
      const app = result.households[0].application;
      expect(app.requestedAmount).to.equal(500_000);
      expect(app.applicant).to.not.have.property("phone");
      expect(app.applicant.residentId).to.equal("11010519491231002X");
      expect(app.household.members[0].relation).to.equal("self");
    });

    it("returns nothing for a header alone", function () {
      expect(only(HEADER + "\n")).to.deep.equal({ households: [], errors: [] });
    });
  });

  describe("errors", function () {
    it("MALFORMED_CSV: an unclosed quote stops the import", function () {
      const rows = family("M");
      const text = csvOf(rows) + 'M2,1,110105,self,"王五\n';
      const result = only(text);
      expect(result.households).to.deep.equal([]);
      expectError(result, { code: "MALFORMED_CSV", row: 4, field: "csv" });
    });

    it("MALFORMED_CSV: a stray quote inside a field stops the import, and the message quotes nothing", function () {
      const result = only(csvOf(family("M")) + `M2,1,110105,self,王"五,${SELF_ID},,,,,,,,\n`);
      expect(result.households).to.deep.equal([]);
      const e = expectError(result, { code: "MALFORMED_CSV", field: "csv" });
      expect(e.message).to.not.include("王");
    });

    it("MALFORMED_CSV: a row with the wrong number of fields fails its household only", function () {
      const rows = [...family("A", 0), ...family("B", 1)];
      const text = csvOf(rows) + `A,1,110105\n`;
      const result = only(text);
      expectError(result, { code: "MALFORMED_CSV", row: 7, householdRef: "A", field: "row" });
      expect(result.households.map((h) => h.householdRef)).to.deep.equal(["B"]);
    });

    it("INVALID_ENCODING: text decoded from GBK as UTF-8", function () {
      const result = only(csvOf(family("E")).replace("张伟", "\ufffd\ufffd"));
      expect(result).to.deep.equal({
        households: [],
        errors: [{ row: 0, field: "csv", code: "INVALID_ENCODING", message: result.errors[0].message }],
      });
    });

    it("TOO_MANY_ROWS: more data rows than maxRows refuses the file, blank rows not counted", function () {
      const rows = [...family("A", 0), ...family("B", 1)];
      expect(only(csvOf(rows), { maxRows: 6 }).errors).to.deep.equal([]);
      const result = only(csvOf(rows).replace("\n", "\n\n"), { maxRows: 5 });
      expect(result.households).to.deep.equal([]);
      expect(result.errors).to.have.length(1);
      expectError(result, { code: "TOO_MANY_ROWS", row: 7 });
      expect(() => only(csvOf(rows), { maxRows: 0 })).to.throw(RangeError);
    });

    it("UNKNOWN_COLUMN, MISSING_COLUMN, DUPLICATE_COLUMN: header errors at row 0 stop the import", function () {
      const header = HEADER.replace("disability", "disabilty") + ",name";
      const rows = family("H").map((r) => ({ ...r }));
      const text = [header, ...rows.map((r) => line(r) + ",x")].join("\n");
      const result = only(text);
      expect(result.households).to.deep.equal([]);
      expectError(result, { code: "UNKNOWN_COLUMN", row: 0, field: `column ${CSV_COLUMNS.indexOf("disability") + 1}` });
      expectError(result, { code: "MISSING_COLUMN", row: 0, field: "disability" });
      expectError(result, { code: "DUPLICATE_COLUMN", row: 0, field: "name" });
      expect(result.errors.every((e) => e.row === 0)).to.equal(true);
    });

    it("a file without a header: every column unknown or missing, and no data in the errors", function () {
      const rows = family("N");
      const text = rows.map(line).join("\n");
      const result = only(text);
      expect(result.households).to.deep.equal([]);
      expect(errorsWith(result, "MISSING_COLUMN")).to.have.length(CSV_COLUMNS.length);
      expect(errorsWith(result, "UNKNOWN_COLUMN")).to.have.length(CSV_COLUMNS.length);
      expectNoValues(result.errors, personal(rows));
    });

    it("an empty file: every column missing", function () {
      expect(errorsWith(only(""), "MISSING_COLUMN")).to.have.length(CSV_COLUMNS.length);
    });

    type Case = [string, (rows: Cells[]) => void, Partial<CsvRowError> & { code: string }];
    const cases: Case[] = [
      ["REQUIRED name", (r) => (r[1].name = ""), { code: "REQUIRED", row: 2, field: "name" }],
      ["REQUIRED resident_id", (r) => (r[2].resident_id = " "), { code: "REQUIRED", row: 3, field: "resident_id" }],
      ["REQUIRED relation", (r) => (r[1].relation = ""), { code: "REQUIRED", row: 2, field: "relation" }],
      ["REQUIRED programme_id", (r) => (r[0].programme_id = ""), { code: "REQUIRED", row: 1, field: "programme_id" }],
      ["REQUIRED region", (r) => (r[0].region = ""), { code: "REQUIRED", row: 1, field: "region" }],
      ["REQUIRED address", (r) => (r[0].address = ""), { code: "REQUIRED", row: 1, field: "address" }],
      [
        "REQUIRED monthly_income_fen",
        (r) => (r[0].monthly_income_fen = ""),
        { code: "REQUIRED", row: 1, field: "monthly_income_fen" },
      ],
      ["REQUIRED bank_name", (r) => (r[0].bank_name = ""), { code: "REQUIRED", row: 1, field: "bank_name" }],
      ["REQUIRED account_name", (r) => (r[0].account_name = ""), { code: "REQUIRED", row: 1, field: "account_name" }],
      [
        "REQUIRED account_number",
        (r) => (r[0].account_number = ""),
        { code: "REQUIRED", row: 1, field: "account_number" },
      ],
      [
        "INVALID_NUMBER monthly_income_fen (decimal)",
        (r) => (r[0].monthly_income_fen = "1200.50"),
        { code: "INVALID_NUMBER", row: 1, field: "monthly_income_fen" },
      ],
      [
        "INVALID_NUMBER monthly_income_fen (negative)",
        (r) => (r[0].monthly_income_fen = "-1"),
        { code: "INVALID_NUMBER", row: 1, field: "monthly_income_fen" },
      ],
      [
        "INVALID_NUMBER programme_id (thousands separator)",
        (r) => (r[0].programme_id = "1,000"),
        { code: "INVALID_NUMBER", row: 1, field: "programme_id" },
      ],
      [
        "INVALID_NUMBER requested_amount_fen (scientific)",
        (r) => (r[0].requested_amount_fen = "1E+5"),
        { code: "INVALID_NUMBER", row: 1, field: "requested_amount_fen" },
      ],
      [
        "OUT_OF_RANGE monthly_income_fen",
        (r) => (r[0].monthly_income_fen = "100000001"),
        { code: "OUT_OF_RANGE", row: 1, field: "monthly_income_fen" },
      ],
      [
        "OUT_OF_RANGE monthly_income_fen beyond 2^53",
        (r) => (r[0].monthly_income_fen = "99999999999999999999"),
        { code: "OUT_OF_RANGE", row: 1, field: "monthly_income_fen" },
      ],
      [
        "OUT_OF_RANGE programme_id 0",
        (r) => (r[0].programme_id = "0"),
        { code: "OUT_OF_RANGE", row: 1, field: "programme_id" },
      ],
      [
        "OUT_OF_RANGE requested_amount_fen",
        (r) => (r[0].requested_amount_fen = "10000001"),
        { code: "OUT_OF_RANGE", row: 1, field: "requested_amount_fen" },
      ],
      ["TOO_LONG name", (r) => (r[2].name = "张".repeat(51)), { code: "TOO_LONG", row: 3, field: "name" }],
      ["TOO_LONG address", (r) => (r[0].address = "路".repeat(201)), { code: "TOO_LONG", row: 1, field: "address" }],
      ["INVALID_CHARACTERS name", (r) => (r[1].name = "李\n娜"), { code: "INVALID_CHARACTERS", row: 2, field: "name" }],
      [
        "INVALID_RESIDENT_ID (check character)",
        (r) => (r[1].resident_id = r[1].resident_id!.slice(0, 17) + (r[1].resident_id![17] === "0" ? "1" : "0")),
        { code: "INVALID_RESIDENT_ID", row: 2, field: "resident_id" },
      ],
      [
        "INVALID_RESIDENT_ID (spreadsheet scientific notation)",
        (r) => (r[0].resident_id = "1.10105E+17"),
        { code: "INVALID_RESIDENT_ID", row: 1, field: "resident_id" },
      ],
      [
        "INVALID_RESIDENT_ID (born in the future)",
        (r) => (r[2].resident_id = "11010520991231001" + residentIdCheckChar("11010520991231001")),
        { code: "INVALID_RESIDENT_ID", row: 3, field: "resident_id" },
      ],
      [
        "INVALID_REGION (province)",
        (r) => (r[0].region = "110000"),
        { code: "INVALID_REGION", row: 1, field: "region" },
      ],
      [
        "INVALID_REGION (7 digits)",
        (r) => (r[0].region = "1101051"),
        { code: "INVALID_REGION", row: 1, field: "region" },
      ],
      ["INVALID_PHONE", (r) => (r[0].phone = "12800138000"), { code: "INVALID_PHONE", row: 1, field: "phone" }],
      [
        "INVALID_ACCOUNT_NUMBER",
        (r) => (r[0].account_number = "6222-0200-0000-0001"),
        { code: "INVALID_ACCOUNT_NUMBER", row: 1, field: "account_number" },
      ],
      ["INVALID_RELATION", (r) => (r[1].relation = "wife"), { code: "INVALID_RELATION", row: 2, field: "relation" }],
      [
        "INVALID_DISABILITY",
        (r) => (r[2].disability = "severe"),
        { code: "INVALID_DISABILITY", row: 3, field: "disability" },
      ],
      [
        "INCONSISTENT_VALUE monthly_income_fen",
        (r) => (r[2].monthly_income_fen = "130000"),
        { code: "INCONSISTENT_VALUE", row: 3, field: "monthly_income_fen" },
      ],
      [
        "INCONSISTENT_VALUE account_number",
        (r) => (r[1].account_number = "6222020000000000002"),
        { code: "INCONSISTENT_VALUE", row: 2, field: "account_number" },
      ],
      [
        "INCONSISTENT_VALUE phone given only on another row",
        (r) => {
          r[0].phone = "";
          r[1].phone = "13900139000";
        },
        { code: "INCONSISTENT_VALUE", row: 2, field: "phone" },
      ],
      ["NO_SELF_ROW", (r) => (r[0].relation = "other"), { code: "NO_SELF_ROW", row: 1, field: "household.members" }],
      [
        "MULTIPLE_SELF_ROWS",
        (r) => (r[2].relation = "self"),
        { code: "MULTIPLE_SELF_ROWS", row: 3, field: "relation" },
      ],
      [
        "DUPLICATE_MEMBER",
        (r) => (r[2].resident_id = r[0].resident_id),
        { code: "DUPLICATE_MEMBER", row: 3, field: "resident_id" },
      ],
      [
        "DUPLICATE_MEMBER up to the case of x",
        (r) => {
          r[0].resident_id = "11010519491231002X";
          r[1].resident_id = "11010519491231002x";
        },
        { code: "DUPLICATE_MEMBER", row: 2, field: "resident_id" },
      ],
      [
        "TOO_MANY_MEMBERS",
        (r) => {
          for (let k = 0; k < 18; k++) {
            r.push({
              household_ref: r[0].household_ref,
              relation: "other",
              name: "王五",
              resident_id: id("19900101", 500 + k),
            });
          }
        },
        { code: "TOO_MANY_MEMBERS", row: 21, field: "household.members" },
      ],
    ];

    for (const [title, mutate, expected] of cases) {
      it(`${title}: the household is refused, the others parse, and no value is in the errors`, function () {
        const bad = family("BAD", 0);
        const good = family("GOOD", 1);
        mutate(bad);
        const rows = [...bad, ...good];
        const result = only(csvOf(rows));
        expectError(result, { householdRef: "BAD", ...expected });
        expect(result.households.map((h) => h.householdRef)).to.deep.equal(["GOOD"]);
        expect(result.errors.every((e) => e.householdRef === "BAD")).to.equal(true);
        expectNoValues(result.errors, personal(rows));
      });
    }

    it("REQUIRED and INVALID_HOUSEHOLD_REF: rows without a usable reference are reported without one", function () {
      const rows = [...family("A", 0)];
      rows.push({ ...family("X", 2)[1], household_ref: "" });
      rows.push({ ...family("X", 2)[2], household_ref: "张伟家" });
      rows.push({ ...family("X", 2)[2], household_ref: "a".repeat(65) });
      const result = only(csvOf(rows));
      expect(result.errors).to.deep.equal([
        { row: 4, field: "household_ref", code: "REQUIRED", message: "household_ref is required" },
        { row: 5, field: "household_ref", code: "INVALID_HOUSEHOLD_REF", message: result.errors[1].message },
        { row: 6, field: "household_ref", code: "INVALID_HOUSEHOLD_REF", message: result.errors[1].message },
      ]);
      expect(result.households.map((h) => h.householdRef)).to.deep.equal(["A"]);
      expectNoValues(result.errors, [...personal(rows), "张伟家"]);
    });

    it("reports every error of a household, one per cell, sorted by row", function () {
      const rows = family("MANY");
      rows[0].phone = "123";
      rows[0].monthly_income_fen = "x";
      rows[1].resident_id = "bad";
      rows[2].relation = "pet";
      rows[2].name = "";
      const result = only(csvOf(rows));
      expect(result.errors.map((e) => `${e.row} ${e.field} ${e.code}`)).to.have.members([
        "1 phone INVALID_PHONE",
        "1 monthly_income_fen INVALID_NUMBER",
        "2 resident_id INVALID_RESIDENT_ID",
        "3 relation INVALID_RELATION",
        "3 name REQUIRED",
      ]);
      const rowsInOrder = result.errors.map((e) => e.row);
      expect(rowsInOrder).to.deep.equal([...rowsInOrder].sort((a, b) => a - b));
    });

    it("a household without a self row still reports its member rows' errors", function () {
      const rows = family("NS");
      rows[0].relation = "parent";
      rows[1].resident_id = "110105198205010000";
      const result = only(csvOf(rows));
      expectError(result, { code: "NO_SELF_ROW", row: 1 });
      expectError(result, { code: "INVALID_RESIDENT_ID", row: 2, field: "resident_id" });
    });

    it("property: random corruptions never put a value into the errors", function () {
      const corruptions: Array<(r: Cells[], k: number) => void> = [
        (r, k) => (r[k].resident_id = `${r[k].resident_id}9`),
        (r, k) => (r[k].resident_id = r[k].resident_id!.slice(0, 17) + "Y"),
        (r, k) => (r[k].name = `${r[k].name}\u0001`),
        (r, k) => (r[k].name = "王".repeat(51 + k)),
        (r, k) => (r[k].relation = r[k].name),
        (r, k) => (r[k].disability = r[k].resident_id),
        (r, k) => (r[k].phone = `${r[0].phone}0`),
        (r, k) => (r[k].account_number = `${r[0].account_number}李`),
        (r, k) => (r[k].monthly_income_fen = r[0].account_number + ".5"),
        (r, k) => (r[k].programme_id = r[0].resident_id),
        (r, k) => (r[k].region = r[0].resident_id),
        (r, k) => (r[k].address = r[0].address!.repeat(30)),
        (r, k) => (r[k].requested_amount_fen = r[0].phone),
        (r, k) => (r[k].resident_id = r[(k + 1) % r.length].resident_id),
        (r, k) => (r[k].relation = "self"),
        (r, k) => (r[k].account_name = k === 0 ? "" : r[0].name + "x"),
      ];
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: corruptions.length - 1 }), fc.integer({ min: 0, max: 2 })), {
            minLength: 1,
            maxLength: 5,
          }),
          (picks) => {
            const rows = family("P");
            const before = personal(rows);
            for (const [c, k] of picks) corruptions[c](rows, k);
            const result = only(csvOf(rows));
            expectNoValues(result.errors, [...before, ...personal(rows)]);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe("scale", function () {
    it("parses 100,000 rows (25,000 households of four, interleaved in pairs)", function () {
      this.timeout(120_000);
      const lines = [HEADER];
      const households = 25_000;
      for (let h = 0; h < households; h += 2) {
        for (let m = 0; m < 4; m++) {
          for (const hh of [h, h + 1]) {
            const ref = `H${hh}`;
            const sid = id(`19${50 + (hh % 50)}0101`, m, String(110101 + (hh % 99)));
            lines.push(
              m === 0
                ? `${ref},1,110105,self,张伟${hh},${sid},13800138000,"北京市,朝阳区${hh}号",${hh},中国工商银行,张伟,6222020000${String(hh).padStart(9, "0")},,`
                : `${ref},,,child,张${m},${sid},,,,,,,grade${m},`,
            );
          }
        }
      }
      expect(lines.length - 1).to.equal(100_000);
      const text = lines.join("\n");
      const started = Date.now();
      const result = only(text);
      const elapsed = Date.now() - started;
      expect(result.errors).to.deep.equal([]);
      expect(result.households).to.have.length(households);
      expect(result.households[1].rows).to.deep.equal([2, 4, 6, 8]);
      expect(result.households[households - 1].application.household.members).to.have.length(4);
      console.log(`      (100,000 rows parsed in ${elapsed} ms)`);

      const over = only(text + "\nH0,,,other,王五," + id("19900101", 999) + ",,,,,,,,");
      expect(over.households).to.deep.equal([]);
      expectError(over, { code: "TOO_MANY_ROWS", row: 100_001 });
    });

    it("a single household of 100,000 rows is refused as TOO_MANY_MEMBERS without quadratic work", function () {
      this.timeout(120_000);
      const lines = [HEADER, `BIG,1,110105,self,张伟,${SELF_ID},,地址,0,银行,张伟,622202000000000001,,`];
      for (let k = 1; k < 100_000; k++)
        lines.push(`BIG,,,other,王五,${id("19900101", k % 1000, String(110000 + Math.floor(k / 1000)))},,,,,,,,`);
      const result = only(lines.join("\n"));
      expect(result.households).to.deep.equal([]);
      expectError(result, { code: "TOO_MANY_MEMBERS", row: 21 });
    });
  });

  describe("round trip", function () {
    const SURNAMES = [..."王李张刘陈杨黄赵吴周徐孫馬"];
    const GIVEN = [..."伟芳娜秀英敏静丽强磊𠮷"];
    const ADDRESS = [..."省市区县乡镇村组号楼室一二三四五,\"\n '-（）"];
    const chinese = (pool: string[], min: number, max: number) =>
      fc.array(fc.constantFrom(...pool), { minLength: min, maxLength: max }).map((a) => a.join(""));
    const name = fc.tuple(fc.constantFrom(...SURNAMES), chinese(GIVEN, 1, 3)).map(([s, g]) => s + g);
    const birth = fc
      .date({ min: new Date("1930-01-01T00:00:00Z"), max: new Date("2024-01-01T00:00:00Z"), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10).replaceAll("-", ""));

    const household = fc
      .record({
        programmeId: fc.integer({ min: 1, max: 99 }),
        region: fc.constantFrom("110105", "310115", "440305003012"),
        size: fc.integer({ min: 1, max: 5 }),
        selfAt: fc.nat(),
        names: fc.array(name, { minLength: 5, maxLength: 5 }),
        births: fc.array(birth, { minLength: 5, maxLength: 5 }),
        relations: fc.array(fc.constantFrom(...RELATIONS.filter((r) => r !== "self")), { minLength: 5, maxLength: 5 }),
        disabilities: fc.array(fc.option(fc.constantFrom(...DISABILITY_GRADES), { nil: undefined }), {
          minLength: 5,
          maxLength: 5,
        }),
        phone: fc.option(fc.stringMatching(/^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/), { nil: undefined }),
        address: chinese(ADDRESS, 0, 30).map((a) => `北${a}号`),
        monthlyIncome: fc.integer({ min: 0, max: 100_000_000 }),
        bankName: fc.constantFrom("中国工商银行", "中国农业银行,分行", '"信用社"'),
        accountNumber: fc.stringMatching(/^\d{12,30}$/),
        requestedAmount: fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: undefined }),
        repeat: fc.boolean(),
      })
      .map((g) => ({ ...g, selfAt: g.selfAt % g.size }));

    it("households written to CSV by a generator parse back to the same applications", function () {
      fc.assert(
        fc.property(
          fc.array(household, { minLength: 1, maxLength: 8 }),
          fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
          fc.boolean(),
          fc.boolean(),
          (generated, keys, bom, crlf) => {
            let sequence = 0;
            const expected = new Map<string, ApplicationInput>();
            const rowsOf = new Map<string, Cells[]>();
            generated.forEach((g, h) => {
              const ref = `hh_${h}-${g.programmeId}`;
              const members = Array.from({ length: g.size }, (_, i) => ({
                name: g.names[i],
                residentId: syntheticResidentId({
                  region: g.region.slice(0, 6),
                  birthDate: g.births[i],
                  sequence: sequence++,
                }),
                relation: i === g.selfAt ? ("self" as const) : g.relations[i],
                ...(g.disabilities[i] !== undefined && { disability: g.disabilities[i] }),
              }));
              const self = members[g.selfAt];
              const app: ApplicationInput = {
                programmeId: g.programmeId,
                region: g.region,
                applicant: {
                  name: self.name,
                  residentId: self.residentId,
                  ...(g.phone !== undefined && { phone: g.phone }),
                  address: g.address,
                },
                household: { members, monthlyIncome: g.monthlyIncome },
                payment: { bankName: g.bankName, accountName: self.name, accountNumber: g.accountNumber },
                documents: [],
                ...(g.requestedAmount !== undefined && { requestedAmount: g.requestedAmount }),
              };
              expected.set(ref, app);
              const householdCells: Cells = {
                programme_id: String(app.programmeId),
                region: app.region,
                phone: app.applicant.phone ?? "",
                address: app.applicant.address,
                monthly_income_fen: String(app.household.monthlyIncome),
                bank_name: app.payment.bankName,
                account_name: app.payment.accountName,
                account_number: app.payment.accountNumber,
                requested_amount_fen: app.requestedAmount === undefined ? "" : String(app.requestedAmount),
              };
              rowsOf.set(
                ref,
                members.map((m) => ({
                  household_ref: ref,
                  relation: m.relation,
                  name: m.name,
                  resident_id: m.residentId,
                  disability: m.disability ?? "",
                  ...((m.relation === "self" || g.repeat) && householdCells),
                })),
              );
            });

            // Interleave the households' rows at random, keeping each household's own order.
            const slots = [...rowsOf.entries()].flatMap(([ref, rows]) => rows.map(() => ref));
            const order = slots
              .map((ref, i) => ({ ref, key: keys[i % keys.length] * 64 + i }))
              .sort((a, b) => a.key - b.key);
            const next = new Map<string, number>();
            const expectedRows = new Map<string, number[]>();
            const written: Cells[] = order.map(({ ref }, position) => {
              const k = next.get(ref) ?? 0;
              next.set(ref, k + 1);
              expectedRows.set(ref, [...(expectedRows.get(ref) ?? []), position + 1]);
              return rowsOf.get(ref)![k];
            });
            const eol = crlf ? "\r\n" : "\n";
            const text = (bom ? "\uFEFF" : "") + [HEADER, ...written.map(line)].join(eol) + eol;

            const result = only(text);
            expect(result.errors).to.deep.equal([]);
            expect(result.households).to.have.length(expected.size);
            for (const h of result.households) {
              expect(h.application).to.deep.equal(expected.get(h.householdRef));
              expect(h.rows).to.deep.equal(expectedRows.get(h.householdRef));
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
