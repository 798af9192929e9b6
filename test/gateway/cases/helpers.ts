/**
 * Test data for the cases API: synthetic households (valid GB 11643 numbers, names and addresses that are unique per
 * household, so that a test can scan stored bytes, logs and the audit log for them), and their CSV form.
 */
import { syntheticResidentId } from "../../../lib/resident-id";
import type { TestGateway } from "../api/harness";

let serial = 0;

export interface HouseholdOptions {
  programmeId?: number;
  region?: string;
  members?: number;
  /** Total monthly income, fen. */
  monthlyIncome?: number;
  requestedAmount?: number;
}

/** A fresh application (JSON body of POST /v1/cases) and the personal strings in it. */
export function application(options: HouseholdOptions = {}) {
  const n = ++serial;
  const tag = `${process.pid % 1000}${String(n).padStart(4, "0")}`;
  const size = options.members ?? 3;
  const members = Array.from({ length: size }, (_, i) => ({
    name: `測試戶${tag}成員${i}`,
    residentId: syntheticResidentId({
      region: "110105",
      birthDate: i === 0 ? "19800101" : i === 1 ? "19820202" : `20${String(10 + (i % 10)).padStart(2, "0")}0303`,
      sequence: (n * 7 + i) % 1000,
    }),
    relation: i === 0 ? "self" : i === 1 ? "spouse" : "child",
    ...(i === 0 && { disability: "grade2" }),
  }));
  // Birth year + sequence collide across households only after 1,000 of them: vary the applicant's birth day too.
  members[0].residentId = syntheticResidentId({
    region: "110105",
    birthDate: `19${String(50 + (n % 40)).padStart(2, "0")}${String(1 + (Math.floor(n / 40) % 12)).padStart(2, "0")}${String(1 + (Math.floor(n / 480) % 28)).padStart(2, "0")}`,
    sequence: n % 1000,
  });
  const body = {
    programmeId: options.programmeId ?? 1,
    region: options.region ?? "110105001000",
    applicant: {
      name: members[0].name,
      residentId: members[0].residentId,
      phone: `139${String(10_000_000 + n).slice(-8)}`,
      address: `北京市朝陽區建外街道測試路${tag}號`,
    },
    household: { members, monthlyIncome: options.monthlyIncome ?? 60_000 },
    payment: {
      bankName: "測試銀行朝陽支行",
      accountName: members[0].name,
      accountNumber: `62220${String(1_000_000_000_000 + n * 7919)}`,
    },
    documents: [{ kind: "income-proof", digest: "0x" + "ab".repeat(32) }],
    ...(options.requestedAmount !== undefined && { requestedAmount: options.requestedAmount }),
  };
  const personal = [
    ...members.map((m) => m.name),
    ...members.map((m) => m.residentId),
    body.applicant.phone,
    body.applicant.address,
    body.payment.accountNumber,
  ];
  return { body, personal };
}

export type Application = ReturnType<typeof application>["body"];

const HEADER =
  "household_ref,programme_id,region,relation,name,resident_id,phone,address,monthly_income_fen,bank_name,account_name,account_number,disability,requested_amount_fen";

const cell = (v: unknown) => (v === undefined ? "" : String(v));

/** The CSV of these applications (one row per member, household columns on the `self` row). */
export function csvOf(apps: Application[]): string {
  const lines = [HEADER];
  apps.forEach((a, h) => {
    a.household.members.forEach((m) => {
      const self = m.relation === "self";
      lines.push(
        [
          `HH-${h + 1}`,
          self ? a.programmeId : "",
          self ? a.region : "",
          m.relation,
          m.name,
          m.residentId,
          self ? a.applicant.phone : "",
          self ? a.applicant.address : "",
          self ? a.household.monthlyIncome : "",
          self ? a.payment.bankName : "",
          self ? a.payment.accountName : "",
          self ? a.payment.accountNumber : "",
          "disability" in m ? m.disability : "",
          self ? cell(a.requestedAmount) : "",
        ]
          .map(cell)
          .join(","),
      );
    });
  });
  return lines.join("\n") + "\n";
}

/** How many records and cases the store holds (all of them). */
export async function counts(t: TestGateway): Promise<{ records: number; cases: number; outbox: number }> {
  const store = t.gateway.ctx.store;
  const records = await store.listRecords({ limit: 1000 });
  const cases = await store.listCases({ limit: 1000 });
  const outbox = (await Promise.all(records.map((r) => store.getAnchoringStatus(r.id)))).filter(Boolean).length;
  return { records: records.length, cases: cases.length, outbox };
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
