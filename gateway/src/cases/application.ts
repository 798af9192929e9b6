/**
 * An application (申請) as the caseworker API receives it: the zod schema that validates it, its type, and the field
 * classification behind tiered access (which holders may decrypt which class of field).
 *
 * Every object is strict (unknown fields are rejected). Every message is a fixed text that names the rule, never the
 * input value: names, resident ID numbers, phones, addresses and accounts are personal data, and validation errors
 * end up in logs and API responses. Zod does not copy the input into issues unless asked to (`reportInput`), and
 * this module never asks.
 *
 * Custom cross-field issues carry a stable `params.code` (see `APPLICATION_ISSUE`), so that callers such as the CSV
 * import can map them without parsing messages.
 */
import { z } from "zod";
import { isValidRegion, Level, levelOf } from "../../../lib/regions";
import { ageOn, birthDateOf, isValidResidentId, normaliseResidentId } from "../../../lib/resident-id";

export const RELATIONS = [
  "self",
  "spouse",
  "child",
  "parent",
  "grandparent",
  "grandchild",
  "sibling",
  "other",
] as const;
export const DISABILITY_GRADES = ["none", "grade1", "grade2", "grade3", "grade4"] as const;
export const DOCUMENT_KINDS = [
  "id-card",
  "household-register",
  "income-proof",
  "medical-record",
  "disability-certificate",
  "other",
] as const;

export const MAX_MEMBERS = 20;
export const MAX_DOCUMENTS = 20;
/** Upper bound of a household's total monthly income, in fen (1,000,000 yuan). */
export const MAX_MONTHLY_INCOME_FEN = 100_000_000;
/** Upper bound of a temporary-assistance request, in fen (100,000 yuan). */
export const MAX_REQUESTED_AMOUNT_FEN = 10_000_000;

/** Stable codes of the cross-field issues (in `issue.params.code`). */
export const APPLICATION_ISSUE = {
  NO_SELF_MEMBER: "NO_SELF_MEMBER",
  MULTIPLE_SELF_MEMBERS: "MULTIPLE_SELF_MEMBERS",
  SELF_NOT_APPLICANT: "SELF_NOT_APPLICANT",
  DUPLICATE_MEMBER: "DUPLICATE_MEMBER",
} as const;

const MOBILE_OR_LANDLINE = /^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/;
const ACCOUNT_NUMBER = /^\d{12,30}$/;
const DIGEST = /^0x[0-9a-f]{64}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Length in Unicode code points, so that a rare character outside the BMP (common in names) counts as one. */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** A string of `min`..`max` code points that is not only whitespace; `singleLine` also rejects control characters. */
function text(label: string, min: number, max: number, singleLine = false) {
  return z
    .string({ error: `${label} must be a string` })
    .refine((s) => codePoints(s) >= min && (min === 0 || s.trim().length > 0), {
      error: `${label} is required`,
      params: { code: "REQUIRED" },
      abort: true,
    })
    .refine((s) => codePoints(s) <= max, {
      error: `${label} must be at most ${max} characters`,
      params: { code: "TOO_LONG" },
      abort: true,
    })
    .refine((s) => !singleLine || !CONTROL.test(s), {
      error: `${label} must not contain control characters`,
      params: { code: "INVALID_CHARACTERS" },
    });
}

function integer(label: string, min: number, max: number) {
  const range = `${label} must be an integer from ${min} to ${max}`;
  return z
    .number({ error: `${label} must be a number` })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range });
}

/** A GB 11643-1999 number (checked, including its birth date), with a lowercase check `x` normalised to `X`. */
export const residentIdSchema = z
  .string({ error: "must be a valid GB 11643 resident ID number" })
  .refine((s) => isValidResidentId(s), {
    error: "must be a valid GB 11643 resident ID number",
    params: { code: "INVALID_RESIDENT_ID" },
  })
  .transform(normaliseResidentId);

/** A county (six-digit GB/T 2260 code) or a township or village (12-digit statistical code). */
export const applicationRegionSchema = z.string({ error: "region must be a string" }).refine(
  (s) => {
    if (!/^(?:\d{6}|\d{12})$/.test(s)) return false;
    const code = BigInt(s);
    return isValidRegion(code) && levelOf(code) >= Level.County;
  },
  {
    error: "region must be a six-digit GB/T 2260 county code or a 12-digit township or village statistical code",
    params: { code: "INVALID_REGION" },
  },
);

export const phoneSchema = z
  .string({ error: "phone must be a string" })
  .regex(MOBILE_OR_LANDLINE, { error: "phone must be a mainland mobile number or a landline number with area code" });

export const applicantSchema = z
  .object({
    name: text("name", 1, 50, true),
    residentId: residentIdSchema,
    phone: phoneSchema.optional(),
    address: text("address", 1, 200),
  })
  .strict();

export const householdMemberSchema = z
  .object({
    name: text("name", 1, 50, true),
    residentId: residentIdSchema,
    relation: z.enum(RELATIONS, { error: `relation must be one of ${RELATIONS.join(", ")}` }),
    disability: z
      .enum(DISABILITY_GRADES, { error: `disability must be one of ${DISABILITY_GRADES.join(", ")}` })
      .optional(),
    health: text("health", 0, 200).optional(),
  })
  .strict();

export const householdSchema = z
  .object({
    members: z
      .array(householdMemberSchema, { error: "members must be a list" })
      .min(1, { error: "a household has at least one member" })
      .max(MAX_MEMBERS, { error: `a household has at most ${MAX_MEMBERS} members` }),
    monthlyIncome: integer("monthlyIncome (fen)", 0, MAX_MONTHLY_INCOME_FEN),
  })
  .strict();

export const paymentSchema = z
  .object({
    bankName: text("bankName", 1, 60, true),
    accountName: text("accountName", 1, 50, true),
    accountNumber: z
      .string({ error: "accountNumber must be a string" })
      .regex(ACCOUNT_NUMBER, { error: "accountNumber must be 12 to 30 digits" }),
  })
  .strict();

export const documentSchema = z
  .object({
    kind: z.enum(DOCUMENT_KINDS, { error: `kind must be one of ${DOCUMENT_KINDS.join(", ")}` }),
    digest: z
      .string({ error: "digest must be a string" })
      .regex(DIGEST, { error: "digest must be 0x and 64 lowercase hexadecimal digits" }),
  })
  .strict();

export const applicationSchema = z
  .object({
    programmeId: z
      .number({ error: "programmeId must be a number" })
      .int({ error: "programmeId must be a positive integer" })
      .min(1, { error: "programmeId must be a positive integer" }),
    region: applicationRegionSchema,
    applicant: applicantSchema,
    household: householdSchema,
    payment: paymentSchema,
    documents: z
      .array(documentSchema, { error: "documents must be a list" })
      .max(MAX_DOCUMENTS, { error: `at most ${MAX_DOCUMENTS} documents` }),
    requestedAmount: integer("requestedAmount (fen)", 1, MAX_REQUESTED_AMOUNT_FEN).optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    // Zod runs this refinement even when some fields failed (with their raw values): look only at what is sound.
    const members: unknown = value.household?.members;
    if (!Array.isArray(members)) return;
    const selves: number[] = [];
    const seen = new Map<string, number>();
    members.forEach((m: { relation?: unknown; residentId?: unknown } | undefined, i) => {
      if (m?.relation === "self") selves.push(i);
      if (typeof m?.residentId !== "string" || !isValidResidentId(m.residentId)) return;
      const id = normaliseResidentId(m.residentId);
      if (seen.has(id)) {
        ctx.addIssue({
          code: "custom",
          path: ["household", "members", i, "residentId"],
          message: `residentId is the same as that of member ${seen.get(id)}`,
          params: { code: APPLICATION_ISSUE.DUPLICATE_MEMBER },
        });
      } else seen.set(id, i);
    });
    if (selves.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["household", "members"],
        message: 'exactly one member must have relation "self"; there is none',
        params: { code: APPLICATION_ISSUE.NO_SELF_MEMBER },
      });
      return;
    }
    for (const i of selves.slice(1)) {
      ctx.addIssue({
        code: "custom",
        path: ["household", "members", i, "relation"],
        message: `exactly one member must have relation "self"; member ${selves[0]} already has it`,
        params: { code: APPLICATION_ISSUE.MULTIPLE_SELF_MEMBERS },
      });
    }
    const self = members[selves[0]] as { residentId?: unknown };
    const applicantId: unknown = value.applicant?.residentId;
    if (
      typeof applicantId === "string" &&
      isValidResidentId(applicantId) &&
      typeof self.residentId === "string" &&
      isValidResidentId(self.residentId) &&
      normaliseResidentId(applicantId) !== normaliseResidentId(self.residentId)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["household", "members", selves[0], "residentId"],
        message: 'the residentId of the member with relation "self" must equal applicant.residentId',
        params: { code: APPLICATION_ISSUE.SELF_NOT_APPLICANT },
      });
    }
  });

export type ApplicationInput = z.infer<typeof applicationSchema>;
export type HouseholdMember = ApplicationInput["household"]["members"][number];
export type Relation = (typeof RELATIONS)[number];
export type DisabilityGrade = (typeof DISABILITY_GRADES)[number];
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** Household income per head per month, in fen, rounded down. */
export function incomePerHead(input: ApplicationInput): bigint {
  return BigInt(input.household.monthlyIncome) / BigInt(input.household.members.length);
}

/**
 * Whether some member is under 18 on `today` (China Standard Time), by the birth date in their resident ID (a member
 * born after `today` counts as a minor).
 */
export function hasMinor(input: ApplicationInput, today: Date): boolean {
  return input.household.members.some((m) => ageOn(birthDateOf(m.residentId), today) < 18);
}

/** The fields of an application split by class, each class encrypted for its own holders. */
export interface ApplicationByFieldClass {
  /** Who the people are: applicant and members' names and resident ID numbers, the applicant's phone and address. */
  identity: {
    applicant: { name: string; residentId: string; phone?: string; address: string };
    members: Array<{ name: string; residentId: string }>;
  };
  /** The household's circumstances: members' relations, disability and health (by member index), income, documents. */
  household: {
    members: Array<{ relation: Relation; disability?: DisabilityGrade; health?: string }>;
    monthlyIncome: number;
    documents: Array<{ kind: DocumentKind; digest: string }>;
  };
  /** Where the money goes. */
  payment: { bankName: string; accountName: string; accountNumber: string };
  /** Nothing personal: what may be shown to anyone entitled to see that a case exists. */
  public: {
    programmeId: number;
    region: string;
    memberCount: number;
    documentDigests: string[];
    requestedAmount?: number;
  };
}

/**
 * Splits a validated application into its field classes. Every field of the input lands in exactly one class
 * (document digests are also listed in `public`: they are keyed digests of files, not personal data). Optional
 * fields that are absent stay absent.
 */
export function splitByFieldClass(input: ApplicationInput): ApplicationByFieldClass {
  const { applicant, household, payment, documents } = input;
  return {
    identity: {
      applicant: {
        name: applicant.name,
        residentId: applicant.residentId,
        ...(applicant.phone !== undefined && { phone: applicant.phone }),
        address: applicant.address,
      },
      members: household.members.map((m) => ({ name: m.name, residentId: m.residentId })),
    },
    household: {
      members: household.members.map((m) => ({
        relation: m.relation,
        ...(m.disability !== undefined && { disability: m.disability }),
        ...(m.health !== undefined && { health: m.health }),
      })),
      monthlyIncome: household.monthlyIncome,
      documents: documents.map((d) => ({ kind: d.kind, digest: d.digest })),
    },
    payment: { bankName: payment.bankName, accountName: payment.accountName, accountNumber: payment.accountNumber },
    public: {
      programmeId: input.programmeId,
      region: input.region,
      memberCount: household.members.length,
      documentDigests: documents.map((d) => d.digest),
      ...(input.requestedAmount !== undefined && { requestedAmount: input.requestedAmount }),
    },
  };
}
