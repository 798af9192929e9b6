/**
 * The audit log as an auditor reads it: the store's append-only entries, minus those whose target is a case, a
 * payout or a record outside the auditor's region (resolved through the case index and the records). Entries whose
 * target names no case or record (institutions, programmes, payout runs) are not regional and are kept.
 */
import { contains } from "../../../lib/regions";
import type { GatewayContext } from "../context";
import type { AuditEntry } from "../store";

const CASE_ID = /^0x[0-9a-f]{64}$/;
const PAYOUT_ID = /^(0x[0-9a-f]{64}):\d{1,8}:0x[0-9a-f]{64}$/;
const RECORD_ID = /^rec_[0-9A-Z]{26}$/;
/** Store pages read per request at most, so a filter that drops nearly everything still answers quickly. */
const MAX_PAGES = 10;

export interface AuditLogQuery {
  since?: Date;
  action?: string;
  target?: string;
  afterId?: number;
  limit: number;
}

export interface AuditLogPage {
  entries: AuditEntry[];
  /** The id to pass as `after` for the next page, or null when there is none. */
  next: number | null;
}

/** Resolves targets to regions, caching per request; `undefined` for a target that is not regional. */
function regionResolver(ctx: GatewayContext) {
  const cache = new Map<string, number | null | undefined>();
  const caseRegion = async (caseId: string) => (await ctx.store.getCase(caseId))?.regionCode ?? null;
  return async (target: string | null): Promise<number | null | undefined> => {
    if (target === null) return undefined;
    if (cache.has(target)) return cache.get(target);
    let region: number | null | undefined;
    const payout = PAYOUT_ID.exec(target);
    if (CASE_ID.test(target)) region = await caseRegion(target);
    else if (payout) region = await caseRegion(payout[1]);
    else if (RECORD_ID.test(target)) region = (await ctx.store.getRecord(target))?.regionCode ?? null;
    cache.set(target, region);
    return region;
  };
}

/**
 * A page of the audit log visible to an institution of `callerRegion`. A case-shaped or record-shaped target the
 * gateway cannot place in a region is shown only to central institutions.
 */
export async function readAuditLog(
  ctx: GatewayContext,
  callerRegion: bigint,
  query: AuditLogQuery,
): Promise<AuditLogPage> {
  const regionOf = regionResolver(ctx);
  const entries: AuditEntry[] = [];
  let cursor = query.afterId;
  for (let page = 0; page < MAX_PAGES; page++) {
    const batch = await ctx.store.listAudit({
      since: query.since,
      action: query.action,
      target: query.target,
      afterId: cursor,
      limit: query.limit,
    });
    for (const entry of batch) {
      cursor = entry.id;
      const region = await regionOf(entry.target);
      const visible =
        region === undefined || (region === null ? callerRegion === 0n : contains(callerRegion, BigInt(region)));
      if (visible) entries.push(entry);
      if (entries.length === query.limit) return { entries, next: entry.id };
    }
    if (batch.length < query.limit) return { entries, next: null };
  }
  return { entries, next: cursor ?? null };
}
