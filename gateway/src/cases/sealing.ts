/**
 * Sealing an application into its four records, and who may open which.
 *
 * An application becomes four records, each sealed under its own data key (so the classes are separated
 * cryptographically, not only by label):
 *
 * | kind          | payload                                        | granted to (field class)                          |
 * | ------------- | ---------------------------------------------- | ------------------------------------------------- |
 * | `identity`    | names, resident IDs, phone, address            | submitting caseworker, approvers, auditors (identity); beneficiaries holder (beneficiary) |
 * | `household`   | relations, disability, health, income, documents | submitting caseworker, approvers, auditors (household); beneficiaries holder (beneficiary) |
 * | `payment`     | bank, account name and number                  | finance bureaus, payment agents, auditors (payment); beneficiaries holder (beneficiary) |
 * | `application` | the public manifest: programme, region, member count, document digests, the three records' ids and digests | every holder above (household; beneficiaries holder: beneficiary) |
 *
 * Officials are the active institutions of each role whose region contains the case's region. The caseworker does
 * not get the payment record: paying is finance's and the bank's business. Auditors hold keys but open records only
 * through the audited decrypt of the audit component. The manifest's digest is the case's `recordDigest` on chain.
 *
 * Sealing reuses each holder's KEK (one SM2 unwrap per holder and process, in the keyring; one store read per holder
 * and batch here), so a bulk import costs SM4 and SM3 work only.
 */
import { contains } from "../../../lib/regions";
import { Role } from "../../../lib/roles";
import { GATEWAY_ACTORS } from "../context";
import type { Keyring } from "../keys";
import { type Grant, type SealedRecord, sealRecord } from "../records";
import type { FieldClass, InstitutionRow, JsonValue, StoreData } from "../store";
import { type ApplicationInput, splitByFieldClass } from "./application";

/** Version of the plaintext schema of the records sealed here. */
export const CASE_RECORD_SCHEMA_VERSION = 1;
/** The `format` of an application manifest's payload. */
export const APPLICATION_MANIFEST_FORMAT = "relief-application-v1";

export type CaseRecordKind = "identity" | "household" | "payment" | "application";

/** The key holders of one case region. */
export interface CaseHolders {
  caseworker: string;
  approvers: string[];
  finance: string[];
  paymentAgents: string[];
  auditors: string[];
  beneficiaries: string;
}

/** The institutions of every role concerned, active, with an active key holder; per region, cached for a batch. */
export class HolderDirectory {
  readonly #data: StoreData;
  #institutions?: InstitutionRow[];
  #activeHolders?: Set<string>;
  readonly #byRegion = new Map<number, Omit<CaseHolders, "caseworker">>();

  constructor(data: StoreData) {
    this.#data = data;
  }

  async holders(caseworker: string, region: number): Promise<CaseHolders> {
    let officials = this.#byRegion.get(region);
    if (officials === undefined) {
      this.#institutions ??= await this.#data.listInstitutions({ activeOnly: true });
      this.#activeHolders ??= new Set((await this.#data.listHolderKeys({ status: "active" })).map((h) => h.holderId));
      const active = this.#activeHolders;
      const of = (role: Role) =>
        this.#institutions!.filter(
          (i) => i.role === role && active.has(i.id) && contains(BigInt(i.regionCode), BigInt(region)),
        ).map((i) => i.id);
      officials = {
        approvers: of(Role.Approver),
        finance: of(Role.Finance),
        paymentAgents: of(Role.PaymentAgent),
        auditors: of(Role.Auditor),
        beneficiaries: GATEWAY_ACTORS.beneficiaries,
      };
      this.#byRegion.set(region, officials);
    }
    return { caseworker, ...officials };
  }
}

function grant(holders: string[], fieldClass: FieldClass): Grant[] {
  return holders.map((holderId) => ({ holderId, fieldClass }));
}

/** The grants of each record kind (see the table in the file comment). */
export function grantsFor(h: CaseHolders): Record<CaseRecordKind, Grant[]> {
  const beneficiary = grant([h.beneficiaries], "beneficiary");
  const officials = [h.caseworker, ...h.approvers, ...h.finance, ...h.paymentAgents, ...h.auditors];
  return {
    identity: [...grant([h.caseworker, ...h.approvers, ...h.auditors], "identity"), ...beneficiary],
    household: [...grant([h.caseworker, ...h.approvers, ...h.auditors], "household"), ...beneficiary],
    payment: [...grant([...h.finance, ...h.paymentAgents, ...h.auditors], "payment"), ...beneficiary],
    application: [...grant(officials, "household"), ...beneficiary],
  };
}

/**
 * The keyring's `kek`, with each holder's KEK read once for a batch (the keyring checks the holder's status then;
 * a holder suspended mid-batch still gets the batch's records). Hands out copies, since sealing wipes what it gets.
 * Call `wipe()` when the batch is done.
 */
export class KekCache implements Pick<Keyring, "kek"> {
  readonly #keyring: Pick<Keyring, "kek">;
  readonly #keks = new Map<string, Promise<Buffer>>();

  constructor(keyring: Pick<Keyring, "kek">) {
    this.#keyring = keyring;
  }

  async kek(holderId: string): Promise<Buffer> {
    let kek = this.#keks.get(holderId);
    if (kek === undefined) {
      kek = this.#keyring.kek(holderId);
      this.#keks.set(holderId, kek);
      kek.catch(() => this.#keks.delete(holderId));
    }
    return Buffer.from(await kek);
  }

  async wipe(): Promise<void> {
    const keks = await Promise.allSettled(this.#keks.values());
    for (const k of keks) if (k.status === "fulfilled") k.value.fill(0);
    this.#keks.clear();
  }
}

/** An application's four sealed records; `application` is the manifest whose digest goes on chain. */
export interface SealedApplication {
  identity: SealedRecord;
  household: SealedRecord;
  payment: SealedRecord;
  application: SealedRecord;
}

export function sealedList(s: SealedApplication): SealedRecord[] {
  return [s.identity, s.household, s.payment, s.application];
}

/** Seals `input` as the four records of case `caseId` (nothing is stored). */
export async function sealApplication(
  keyring: Pick<Keyring, "kek">,
  caseId: string,
  input: ApplicationInput,
  holders: CaseHolders,
): Promise<SealedApplication> {
  const split = splitByFieldClass(input);
  const grants = grantsFor(holders);
  const regionCode = Number(input.region);
  const header = (kind: CaseRecordKind) => ({
    kind,
    caseId,
    regionCode,
    schemaVersion: CASE_RECORD_SCHEMA_VERSION,
  });
  const [identity, household, payment] = await Promise.all([
    sealRecord(keyring, header("identity"), split.identity as unknown as JsonValue, grants.identity),
    sealRecord(keyring, header("household"), split.household as unknown as JsonValue, grants.household),
    sealRecord(keyring, header("payment"), split.payment as unknown as JsonValue, grants.payment),
  ]);
  const ref = (s: SealedRecord) => ({ id: s.record.id, digest: s.record.digest });
  const manifest = {
    format: APPLICATION_MANIFEST_FORMAT,
    schemaVersion: CASE_RECORD_SCHEMA_VERSION,
    ...split.public,
    records: { identity: ref(identity), household: ref(household), payment: ref(payment) },
  };
  const application = await sealRecord(keyring, header("application"), manifest, grants.application);
  return { identity, household, payment, application };
}

/**
 * Seals a re-certified household: a new `identity` record (the applicant as before, the new members), a new
 * `household` record, and a new manifest naming them and the unchanged payment record (`supersedes`: the previous
 * manifest), granted like the originals. The new manifest's digest becomes the case's `recordDigest` on chain.
 */
export async function sealRecertification(
  keyring: Pick<Keyring, "kek">,
  caseId: string,
  regionCode: number,
  payloads: { identity: JsonValue; household: JsonValue; manifest: Record<string, JsonValue> },
  payment: { id: string; digest: string },
  supersedes: string,
  holders: CaseHolders,
): Promise<{ identity: SealedRecord; household: SealedRecord; application: SealedRecord }> {
  const grants = grantsFor(holders);
  const header = (kind: CaseRecordKind) => ({ kind, caseId, regionCode, schemaVersion: CASE_RECORD_SCHEMA_VERSION });
  const [identity, household] = await Promise.all([
    sealRecord(keyring, header("identity"), payloads.identity, grants.identity),
    sealRecord(keyring, header("household"), payloads.household, grants.household),
  ]);
  const ref = (s: SealedRecord) => ({ id: s.record.id, digest: s.record.digest });
  const manifest = {
    ...payloads.manifest,
    format: APPLICATION_MANIFEST_FORMAT,
    schemaVersion: CASE_RECORD_SCHEMA_VERSION,
    records: { identity: ref(identity), household: ref(household), payment },
    supersedes,
  };
  const application = await sealRecord(keyring, header("application"), manifest, grants.application);
  return { identity, household, application };
}
