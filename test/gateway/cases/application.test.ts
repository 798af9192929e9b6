import { expect } from "chai";
import fc from "fast-check";
import type { z } from "zod";
import {
  APPLICATION_ISSUE,
  DISABILITY_GRADES,
  DOCUMENT_KINDS,
  RELATIONS,
  applicationSchema,
  hasMinor,
  incomePerHead,
  splitByFieldClass,
  type ApplicationInput,
} from "../../../gateway/src/cases/application";
import { residentIdCheckChar, syntheticResidentId } from "../../../lib/resident-id";

const TODAY = new Date("2024-06-15T12:00:00+08:00");
const SURNAMES = [..."王李张刘陈杨黄赵吴周徐孫馬朱胡郭何高林羅鄭梁"];
const GIVEN = [..."伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英𠮷"];
const ADDRESS_CHARS = [..."北京市朝阳区海淀路街道村组号楼单元室一二三四五六七八九十"];

const chinese = (pool: string[], min: number, max: number) =>
  fc.array(fc.constantFrom(...pool), { minLength: min, maxLength: max }).map((a) => a.join(""));
const nameArb = fc.tuple(fc.constantFrom(...SURNAMES), chinese(GIVEN, 1, 3)).map(([s, g]) => s + g);
const addressArb = chinese(ADDRESS_CHARS, 6, 40);
const phoneArb = fc.oneof(
  fc.tuple(fc.integer({ min: 3, max: 9 }), fc.stringMatching(/^\d{9}$/)).map(([a, b]) => `1${a}${b}`),
  fc.stringMatching(/^0\d{2,3}-?\d{7,8}$/),
);
const accountArb = fc.stringMatching(/^\d{12,30}$/);
const digestArb = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `0x${h}`);
const regionArb = fc.constantFrom("110105", "310115", "440305", "510108", "650102", "110105001000", "440305003012");
const birthDateArb = fc
  .date({ min: new Date("1930-01-01T00:00:00Z"), max: new Date("2024-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10).replaceAll("-", ""));

/** A valid application with 1..6 members, the first `self`, all resident IDs distinct. */
const applicationArb: fc.Arbitrary<ApplicationInput> = fc
  .record({
    programmeId: fc.integer({ min: 1, max: 1_000 }),
    region: regionArb,
    size: fc.integer({ min: 1, max: 6 }),
    sequences: fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { minLength: 6, maxLength: 6 }),
    births: fc.array(birthDateArb, { minLength: 6, maxLength: 6 }),
    names: fc.array(nameArb, { minLength: 6, maxLength: 6 }),
    relations: fc.array(fc.constantFrom(...RELATIONS.filter((r) => r !== "self")), { minLength: 6, maxLength: 6 }),
    disabilities: fc.array(fc.option(fc.constantFrom(...DISABILITY_GRADES), { nil: undefined }), {
      minLength: 6,
      maxLength: 6,
    }),
    health: fc.array(fc.option(chinese(ADDRESS_CHARS, 0, 20), { nil: undefined }), { minLength: 6, maxLength: 6 }),
    phone: fc.option(phoneArb, { nil: undefined }),
    address: addressArb,
    monthlyIncome: fc.integer({ min: 0, max: 100_000_000 }),
    bankName: fc.constantFrom("中国工商银行", "中国农业银行", "农村信用合作社"),
    accountNumber: accountArb,
    documents: fc.array(fc.record({ kind: fc.constantFrom(...DOCUMENT_KINDS), digest: digestArb }), { maxLength: 4 }),
    requestedAmount: fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: undefined }),
  })
  .map((g) => {
    const members = Array.from({ length: g.size }, (_, i) => ({
      name: g.names[i],
      residentId: syntheticResidentId({
        region: g.region.slice(0, 6),
        birthDate: g.births[i],
        sequence: g.sequences[i],
      }),
      relation: i === 0 ? ("self" as const) : g.relations[i],
      ...(g.disabilities[i] !== undefined && { disability: g.disabilities[i] }),
      ...(g.health[i] !== undefined && { health: g.health[i] }),
    }));
    return {
      programmeId: g.programmeId,
      region: g.region,
      applicant: {
        name: members[0].name,
        residentId: members[0].residentId,
        ...(g.phone !== undefined && { phone: g.phone }),
        address: g.address,
      },
      household: { members, monthlyIncome: g.monthlyIncome },
      payment: { bankName: g.bankName, accountName: members[0].name, accountNumber: g.accountNumber },
      documents: g.documents,
      ...(g.requestedAmount !== undefined && { requestedAmount: g.requestedAmount }),
    };
  });

const clone = <T>(v: T): T => structuredClone(v);

function sample(): ApplicationInput {
  const self = syntheticResidentId({ region: "110105", birthDate: "19800312", sequence: 11 });
  const child = syntheticResidentId({ region: "110105", birthDate: "20100701", sequence: 22 });
  return {
    programmeId: 1,
    region: "110105",
    applicant: { name: "张伟", residentId: self, phone: "13800138000", address: "北京市朝阳区某街道1号" },
    household: {
      members: [
        { name: "张伟", residentId: self, relation: "self", disability: "none" },
        { name: "张小明", residentId: child, relation: "child", health: "哮喘" },
      ],
      monthlyIncome: 120_001,
    },
    payment: { bankName: "中国工商银行", accountName: "张伟", accountNumber: "6222020000000000001" },
    documents: [{ kind: "id-card", digest: `0x${"ab".repeat(32)}` }],
    requestedAmount: 300_000,
  };
}

function issuesOf(input: unknown): z.core.$ZodIssue[] {
  const result = applicationSchema.safeParse(input);
  return result.success ? [] : result.error.issues;
}

function expectRejectedAt(input: unknown, path: Array<string | number>, code?: string) {
  const issues = issuesOf(input);
  expect(issues, "rejected").to.not.be.empty;
  const at = issues.filter((i) => JSON.stringify(i.path) === JSON.stringify(path));
  expect(at, `an issue at ${JSON.stringify(path)} among ${JSON.stringify(issues.map((i) => i.path))}`).to.not.be.empty;
  if (code !== undefined) {
    expect(at.map((i) => (i as { params?: { code?: string } }).params?.code)).to.include(code);
  }
}

/** The personal strings of an input: names, resident IDs, phone, address, account number (of any type). */
function personalStrings(input: unknown): string[] {
  const out: unknown[] = [];
  const a = input as {
    applicant?: Record<string, unknown>;
    household?: { members?: Array<Record<string, unknown>> };
    payment?: Record<string, unknown>;
  };
  if (a.applicant) out.push(a.applicant.name, a.applicant.residentId, a.applicant.phone, a.applicant.address);
  for (const m of Array.isArray(a.household?.members) ? a.household.members : []) {
    if (m && typeof m === "object") out.push(m.name, m.residentId, m.health);
  }
  if (a.payment) out.push(a.payment.accountName, a.payment.accountNumber);
  return out
    .filter((v) => typeof v === "string" || typeof v === "number")
    .map(String)
    .filter((s) => s.length >= 2);
}

describe("gateway/src/cases/application", function () {
  describe("valid applications", function () {
    it("accepts the sample and returns it unchanged", function () {
      const input = sample();
      expect(applicationSchema.parse(input)).to.deep.equal(input);
    });

    it("accepts every generated application unchanged", function () {
      fc.assert(
        fc.property(applicationArb, (input) => {
          const result = applicationSchema.safeParse(input);
          expect(result.success, JSON.stringify(result.error?.issues)).to.equal(true);
          expect(result.data).to.deep.equal(input);
        }),
        { numRuns: 300 },
      );
    });

    it("normalises a lowercase check x, in the applicant and the members alike", function () {
      const input = sample();
      const id = "11010519491231002X";
      input.applicant.residentId = id.toLowerCase();
      input.household.members[0].residentId = id;
      const parsed = applicationSchema.parse(input);
      expect(parsed.applicant.residentId).to.equal(id);
      expect(parsed.household.members[0].residentId).to.equal(id);
    });

    it("accepts optional fields left out, a landline phone, 12-digit regions and 20 members", function () {
      const input = sample();
      delete input.applicant.phone;
      delete input.requestedAmount;
      input.documents = [];
      expect(applicationSchema.safeParse(input).success).to.equal(true);
      for (const phone of ["010-12345678", "0755-1234567", "075512345678", "19912345678"]) {
        expect(
          applicationSchema.safeParse({ ...input, applicant: { ...input.applicant, phone } }).success,
          phone,
        ).to.equal(true);
      }
      for (const region of ["110105001000", "110105001001"]) {
        expect(applicationSchema.safeParse({ ...input, region }).success, region).to.equal(true);
      }
      const many = clone(input);
      for (let i = many.household.members.length; i < 20; i++) {
        many.household.members.push({
          name: "王五",
          residentId: syntheticResidentId({ region: "110105", birthDate: "19900101", sequence: 100 + i }),
          relation: "other",
        });
      }
      expect(applicationSchema.safeParse(many).success).to.equal(true);
    });

    it("counts a rare name character outside the BMP as one character", function () {
      const input = sample();
      input.applicant.name = "𠮷".repeat(50);
      input.household.members[0].name = input.applicant.name;
      expect(applicationSchema.safeParse(input).success).to.equal(true);
      input.applicant.name = "𠮷".repeat(51);
      expectRejectedAt(input, ["applicant", "name"]);
    });
  });

  describe("each rule", function () {
    type Input = ReturnType<typeof sample>;
    const cases: Array<[string, (i: Input) => void, Array<string | number>, string?]> = [
      ["programmeId 0", (i) => (i.programmeId = 0), ["programmeId"]],
      ["programmeId fractional", (i) => (i.programmeId = 1.5), ["programmeId"]],
      ["programmeId a string", (i) => ((i as { programmeId: unknown }).programmeId = "1"), ["programmeId"]],
      ["region of 5 digits", (i) => (i.region = "11010"), ["region"], "INVALID_REGION"],
      ["region a province", (i) => (i.region = "110000"), ["region"], "INVALID_REGION"],
      ["region a city", (i) => (i.region = "110100"), ["region"], "INVALID_REGION"],
      ["region 12 digits of a county", (i) => (i.region = "110105000000"), ["region"], "INVALID_REGION"],
      ["region with letters", (i) => (i.region = "11010a"), ["region"], "INVALID_REGION"],
      ["region a number", (i) => ((i as { region: unknown }).region = 110105), ["region"]],
      ["applicant name empty", (i) => (i.applicant.name = ""), ["applicant", "name"], "REQUIRED"],
      ["applicant name blank", (i) => (i.applicant.name = "   "), ["applicant", "name"], "REQUIRED"],
      ["applicant name 51 chars", (i) => (i.applicant.name = "张".repeat(51)), ["applicant", "name"], "TOO_LONG"],
      ["applicant name control char", (i) => (i.applicant.name = "张\n伟"), ["applicant", "name"]],
      [
        "applicant residentId bad check",
        (i) => (i.applicant.residentId = "110105194912310021"),
        ["applicant", "residentId"],
        "INVALID_RESIDENT_ID",
      ],
      ["applicant phone", (i) => (i.applicant.phone = "12800138000"), ["applicant", "phone"]],
      ["applicant phone too short", (i) => (i.applicant.phone = "1380013800"), ["applicant", "phone"]],
      ["applicant landline no area code", (i) => (i.applicant.phone = "12345678"), ["applicant", "phone"]],
      ["applicant address empty", (i) => (i.applicant.address = ""), ["applicant", "address"], "REQUIRED"],
      ["applicant address 201 chars", (i) => (i.applicant.address = "路".repeat(201)), ["applicant", "address"]],
      ["no members", (i) => (i.household.members = []), ["household", "members"]],
      [
        "21 members",
        (i) => {
          for (let k = 0; k < 19; k++) {
            i.household.members.push({
              name: "王五",
              residentId: syntheticResidentId({ region: "110105", birthDate: "19900101", sequence: k }),
              relation: "other",
            });
          }
        },
        ["household", "members"],
      ],
      ["member name empty", (i) => (i.household.members[1].name = ""), ["household", "members", 1, "name"]],
      [
        "member residentId invalid",
        (i) => (i.household.members[1].residentId = "11010520100701002"),
        ["household", "members", 1, "residentId"],
        "INVALID_RESIDENT_ID",
      ],
      [
        "member born in the future",
        (i) => (i.household.members[1].residentId = "11010520991231001" + residentIdCheckChar("11010520991231001")),
        ["household", "members", 1, "residentId"],
      ],
      [
        "member relation unknown",
        (i) => ((i.household.members[1] as { relation: string }).relation = "cousin"),
        ["household", "members", 1, "relation"],
      ],
      [
        "member disability unknown",
        (i) => ((i.household.members[1] as { disability: string }).disability = "grade5"),
        ["household", "members", 1, "disability"],
      ],
      [
        "member health 201 chars",
        (i) => (i.household.members[1].health = "病".repeat(201)),
        ["household", "members", 1, "health"],
      ],
      [
        "no self member",
        (i) => (i.household.members[0].relation = "spouse"),
        ["household", "members"],
        APPLICATION_ISSUE.NO_SELF_MEMBER,
      ],
      [
        "two self members",
        (i) => (i.household.members[1].relation = "self"),
        ["household", "members", 1, "relation"],
        APPLICATION_ISSUE.MULTIPLE_SELF_MEMBERS,
      ],
      [
        "self is not the applicant",
        (i) =>
          (i.applicant.residentId = syntheticResidentId({ region: "110105", birthDate: "19800312", sequence: 12 })),
        ["household", "members", 0, "residentId"],
        APPLICATION_ISSUE.SELF_NOT_APPLICANT,
      ],
      [
        "two members share a residentId",
        (i) => (i.household.members[1].residentId = i.household.members[0].residentId),
        ["household", "members", 1, "residentId"],
        APPLICATION_ISSUE.DUPLICATE_MEMBER,
      ],
      [
        "two members share a residentId up to the case of x",
        (i) => {
          i.applicant.residentId = "11010519491231002X";
          i.household.members[0].residentId = "11010519491231002X";
          i.household.members[1].residentId = "11010519491231002x";
        },
        ["household", "members", 1, "residentId"],
        APPLICATION_ISSUE.DUPLICATE_MEMBER,
      ],
      ["monthlyIncome negative", (i) => (i.household.monthlyIncome = -1), ["household", "monthlyIncome"]],
      ["monthlyIncome fractional", (i) => (i.household.monthlyIncome = 1.5), ["household", "monthlyIncome"]],
      ["monthlyIncome too large", (i) => (i.household.monthlyIncome = 100_000_001), ["household", "monthlyIncome"]],
      ["bankName empty", (i) => (i.payment.bankName = ""), ["payment", "bankName"]],
      ["bankName 61 chars", (i) => (i.payment.bankName = "银".repeat(61)), ["payment", "bankName"]],
      ["accountName empty", (i) => (i.payment.accountName = ""), ["payment", "accountName"]],
      ["accountName 51 chars", (i) => (i.payment.accountName = "张".repeat(51)), ["payment", "accountName"]],
      ["accountNumber 11 digits", (i) => (i.payment.accountNumber = "62220200000"), ["payment", "accountNumber"]],
      ["accountNumber 31 digits", (i) => (i.payment.accountNumber = "6".repeat(31)), ["payment", "accountNumber"]],
      [
        "accountNumber with a space",
        (i) => (i.payment.accountNumber = "6222 0200 0000 0001"),
        ["payment", "accountNumber"],
      ],
      [
        "21 documents",
        (i) => (i.documents = Array.from({ length: 21 }, () => ({ kind: "other", digest: `0x${"0".repeat(64)}` }))),
        ["documents"],
      ],
      ["document kind unknown", (i) => ((i.documents[0] as { kind: string }).kind = "photo"), ["documents", 0, "kind"]],
      [
        "document digest uppercase",
        (i) => (i.documents[0].digest = `0x${"AB".repeat(32)}`),
        ["documents", 0, "digest"],
      ],
      ["document digest short", (i) => (i.documents[0].digest = `0x${"ab".repeat(31)}`), ["documents", 0, "digest"]],
      ["document digest without 0x", (i) => (i.documents[0].digest = "ab".repeat(32)), ["documents", 0, "digest"]],
      ["requestedAmount 0", (i) => (i.requestedAmount = 0), ["requestedAmount"]],
      ["requestedAmount too large", (i) => (i.requestedAmount = 10_000_001), ["requestedAmount"]],
      ["requestedAmount fractional", (i) => (i.requestedAmount = 100.5), ["requestedAmount"]],
      ["applicant missing", (i) => delete (i as { applicant?: unknown }).applicant, ["applicant"]],
      ["payment missing", (i) => delete (i as { payment?: unknown }).payment, ["payment"]],
      ["documents missing", (i) => delete (i as { documents?: unknown }).documents, ["documents"]],
      ["unknown top-level field", (i) => Object.assign(i, { note: "x" }), []],
      ["unknown applicant field", (i) => Object.assign(i.applicant, { gender: "m" }), ["applicant"]],
      ["unknown member field", (i) => Object.assign(i.household.members[1], { age: 9 }), ["household", "members", 1]],
      ["unknown household field", (i) => Object.assign(i.household, { size: 2 }), ["household"]],
      ["unknown payment field", (i) => Object.assign(i.payment, { swift: "ICBKCNBJ" }), ["payment"]],
      ["unknown document field", (i) => Object.assign(i.documents[0], { name: "a.pdf" }), ["documents", 0]],
    ];

    for (const [title, mutate, path, code] of cases) {
      it(`rejects ${title} at ${JSON.stringify(path)}`, function () {
        const input = sample();
        mutate(input);
        expectRejectedAt(input, path, code);
      });
    }

    it("names unknown fields in an unrecognized_keys issue", function () {
      const issues = issuesOf({ ...sample(), note: "x" });
      expect(issues).to.have.length(1);
      expect(issues[0]).to.include({ code: "unrecognized_keys" });
      expect((issues[0] as { keys: string[] }).keys).to.deep.equal(["note"]);
    });

    it("rejects non-objects", function () {
      for (const bad of [null, undefined, 1, "x", []]) expect(issuesOf(bad), String(bad)).to.not.be.empty;
    });
  });

  describe("error messages carry no personal data", function () {
    it("the sample's resident IDs, names, phone and account number never appear in issues", function () {
      const input = sample();
      input.household.members[1].relation = "self";
      input.household.members[1].residentId = input.household.members[0].residentId;
      input.payment.accountNumber = "62220200000a";
      input.applicant.phone = "12800138000";
      const issues = JSON.stringify(issuesOf(input));
      for (const s of personalStrings(input)) expect(issues).to.not.include(s);
    });

    /** Mutations that make an application invalid, several of them carrying personal values into wrong places. */
    const mutations: Array<(i: ApplicationInput, v: ApplicationInput, r: number) => void> = [
      (i, v) =>
        (i.applicant.residentId =
          v.applicant.residentId.slice(0, 17) + (v.applicant.residentId[17] === "0" ? "1" : "0")),
      (i, v, r) => (i.household.members[r % i.household.members.length].residentId = v.applicant.residentId.slice(1)),
      (i, v) => (i.applicant.name = v.applicant.name.repeat(60)),
      (i, v) => (i.applicant.phone = `2${v.applicant.phone ?? "3800138000"}`),
      (i, v) => (i.applicant.address = v.applicant.address.repeat(40)),
      (i, v) => (i.payment.accountNumber = `${v.payment.accountNumber}x`),
      (i, v) => (i.payment.accountNumber = v.payment.accountNumber.slice(0, 11)),
      (i, v) => (i.payment.accountName = `${v.payment.accountName}\u0000`),
      (i, v) => ((i.applicant as { residentId: unknown }).residentId = Number(v.applicant.residentId.slice(0, 17))),
      (i, v) => ((i.household as { monthlyIncome: unknown }).monthlyIncome = v.applicant.residentId),
      (i, v) => ((i as { programmeId: unknown }).programmeId = v.applicant.name),
      (i, v) => ((i as { region: unknown }).region = v.applicant.address),
      (i, v, r) =>
        ((i.household.members[r % i.household.members.length] as { relation: unknown }).relation = v.applicant.name),
      (i, v, r) =>
        ((i.household.members[r % i.household.members.length] as { disability: unknown }).disability =
          v.payment.accountNumber),
      (i, v) => i.household.members.push(clone(v.household.members[0])),
      (i) => (i.household.members[0].relation = "child"),
      (i, v) => Object.assign(i, { extra: v.applicant.residentId }),
      (i, v) => Object.assign(i.applicant, { idNumber: v.applicant.residentId }),
      (i, v) => (i.documents = [{ kind: "other", digest: v.applicant.residentId }]),
      (i, v) => ((i as { requestedAmount: unknown }).requestedAmount = v.payment.accountNumber),
      (i, v) => (i.household.members[0].name = v.applicant.address.repeat(20)),
    ];

    it("for random invalid inputs, no personal string of the input appears in JSON.stringify(issues)", function () {
      fc.assert(
        fc.property(
          applicationArb,
          fc.uniqueArray(fc.integer({ min: 0, max: mutations.length - 1 }), { minLength: 1, maxLength: 4 }),
          fc.nat(),
          (valid, picks, r) => {
            const input = clone(valid);
            for (const p of picks) mutations[p](input, valid, r);
            const issues = issuesOf(input);
            expect(issues).to.not.be.empty;
            const text = JSON.stringify(issues);
            for (const s of personalStrings(input)) expect(text, "a personal value leaked").to.not.include(s);
            for (const s of personalStrings(valid)) expect(text, "a personal value leaked").to.not.include(s);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe("derived facts", function () {
    it("incomePerHead is the floor of income over members, in bigint fen", function () {
      expect(incomePerHead(sample())).to.equal(60_000n);
      fc.assert(
        fc.property(applicationArb, (input) => {
          const n = BigInt(input.household.members.length);
          const per = incomePerHead(input);
          const total = BigInt(input.household.monthlyIncome);
          expect(per * n <= total && total < (per + 1n) * n).to.equal(true);
        }),
      );
    });

    it("hasMinor looks at every member's birth date, with the 18th birthday as the boundary", function () {
      const input = sample(); // child born 2010-07-01
      expect(hasMinor(input, TODAY)).to.equal(true);
      expect(hasMinor(input, new Date("2028-06-30T12:00:00+08:00"))).to.equal(true);
      expect(hasMinor(input, new Date("2028-07-01T00:00:00+08:00"))).to.equal(false);
      input.household.members.pop();
      expect(hasMinor(input, TODAY)).to.equal(false);
    });
  });

  describe("splitByFieldClass", function () {
    it("splits the sample as documented", function () {
      const split = splitByFieldClass(applicationSchema.parse(sample()));
      const s = sample();
      expect(split.identity).to.deep.equal({
        applicant: s.applicant,
        members: s.household.members.map((m) => ({ name: m.name, residentId: m.residentId })),
      });
      expect(split.household).to.deep.equal({
        members: [
          { relation: "self", disability: "none" },
          { relation: "child", health: "哮喘" },
        ],
        monthlyIncome: 120_001,
        documents: s.documents,
      });
      expect(split.payment).to.deep.equal(s.payment);
      expect(split.public).to.deep.equal({
        programmeId: 1,
        region: "110105",
        memberCount: 2,
        documentDigests: [s.documents[0].digest],
        requestedAmount: 300_000,
      });
    });

    it("loses nothing (the classes rebuild the input) and puts nothing personal in public", function () {
      fc.assert(
        fc.property(applicationArb, (input) => {
          const { identity, household, payment, public: pub } = splitByFieldClass(input);
          const rebuilt = {
            programmeId: pub.programmeId,
            region: pub.region,
            applicant: identity.applicant,
            household: {
              members: identity.members.map((m, k) => ({ ...m, ...household.members[k] })),
              monthlyIncome: household.monthlyIncome,
            },
            payment,
            documents: household.documents,
            ...(pub.requestedAmount !== undefined && { requestedAmount: pub.requestedAmount }),
          };
          expect(rebuilt).to.deep.equal(input);
          expect(pub.memberCount).to.equal(input.household.members.length);
          expect(Object.keys(pub).sort()).to.deep.equal(
            [
              "programmeId",
              "region",
              "memberCount",
              "documentDigests",
              ...(pub.requestedAmount !== undefined ? ["requestedAmount"] : []),
            ].sort(),
          );
          const text = JSON.stringify(pub);
          for (const s of personalStrings(input)) expect(text).to.not.include(s);
        }),
        { numRuns: 200 },
      );
    });

    it("returns copies: changing a class does not change the input", function () {
      const input = applicationSchema.parse(sample());
      const before = clone(input);
      const split = splitByFieldClass(input);
      split.identity.applicant.name = "x";
      split.household.members[0].relation = "other";
      split.payment.accountNumber = "0";
      split.household.documents[0].digest = "0x";
      expect(input).to.deep.equal(before);
    });
  });
});
