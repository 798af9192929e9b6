/**
 * The audited decryption (審計解密): an auditor opens one class of a record's fields only with a stated reason, and
 * only after the access itself is on record twice, in one transaction:
 *
 * - an audit log entry `record.decrypted` (actor, record, the reason in the clear, the field class), and
 * - a sealed `decrypt-audit` record (who, which record and class, a keyed digest of the reason, when; no personal
 *   data), granted to the auditor and the approvers over the record's region and queued for anchoring, so that the
 *   access is anchored on chain by the anchoring worker and cannot later be denied or removed.
 *
 * Nothing is written when the request is refused (no key of that class for the auditor, a shredded record, outside
 * the auditor's region).
 */
import { Level, levelOf } from "../../../lib/regions";
import { Role } from "../../../lib/roles";
import type { InstitutionPrincipal } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type Grant, openRecord, sealRecord, storeSealed } from "../records";
import type { FieldClass, JsonValue, StoreData, StoredRecord } from "../store";

export const DECRYPT_AUDIT_KIND = "decrypt-audit";
/** The access label of a decrypt-audit record's wrapped keys (its payload holds no personal data). */
export const DECRYPT_AUDIT_CLASS: FieldClass = "household";

/**
 * The approvers (county level or above) whose region contains `region`, with a key holder: the institutions that
 * are granted the gateway's own records of a case (decrypt audits, receipts).
 */
export async function approverHolders(
  ctx: GatewayContext,
  region: number,
  data: StoreData = ctx.store,
): Promise<string[]> {
  const approvers = await data.listInstitutions({ role: Role.Approver, containingRegion: region, activeOnly: true });
  const ids: string[] = [];
  for (const a of approvers) {
    if (levelOf(BigInt(a.regionCode)) > Level.County) continue;
    if (await ctx.keyring.hasHolder(a.id, data)) ids.push(a.id);
  }
  return ids.sort();
}

export interface DecryptResult {
  recordId: string;
  kind: string;
  caseId: string;
  fieldClass: FieldClass;
  fields: JsonValue;
  auditRecordId: string;
}

/**
 * Decrypts `fieldClass` of `record` for `auditor` after logging and sealing the access. The caller has checked the
 * auditor's role and region.
 */
export async function auditedDecrypt(
  ctx: GatewayContext,
  auditor: InstitutionPrincipal,
  record: StoredRecord,
  fieldClass: FieldClass,
  reason: string,
): Promise<DecryptResult> {
  // Refuse before writing anything: the auditor must hold a key of that class for this record.
  if (!(await ctx.store.getRecordKey(record.id, auditor.id, fieldClass))) {
    if ((await ctx.store.listRecordKeys(record.id)).length === 0) {
      throw new ApiError("SHREDDED", "this record's personal data has been destroyed");
    }
    throw new ApiError("NO_ACCESS", `this institution holds no ${fieldClass} key for this record`);
  }
  const at = ctx.now().toISOString();
  const reasonDigest = ctx.keyring.digestSecret("decrypt-reason", reason);
  const auditRecord = await ctx.store.transaction(async (tx) => {
    const holders = [auditor.id, ...(await approverHolders(ctx, record.regionCode, tx))];
    const grants: Grant[] = [...new Set(holders)].map((holderId) => ({ holderId, fieldClass: DECRYPT_AUDIT_CLASS }));
    const sealed = await sealRecord(
      ctx.keyring,
      { kind: DECRYPT_AUDIT_KIND, caseId: record.caseId, regionCode: record.regionCode, schemaVersion: 1 },
      { auditor: auditor.id, recordId: record.id, fieldClass, reasonDigest, at },
      grants,
      tx,
    );
    const stored = await storeSealed(tx, sealed);
    await tx.appendAudit({
      actor: auditor.id,
      action: "record.decrypted",
      target: record.id,
      reason,
      details: { fieldClass, caseId: record.caseId, kind: record.kind, auditRecordId: stored.id },
    });
    return stored;
  });
  const fields = await openRecord(ctx.keyring, ctx.store, record, auditor.id, fieldClass);
  return {
    recordId: record.id,
    kind: record.kind,
    caseId: record.caseId,
    fieldClass,
    fields,
    auditRecordId: auditRecord.id,
  };
}
