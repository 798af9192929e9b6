/**
 * Puts stored cases on chain. A case is stored before the chain is asked (service.ts), so a case whose submission
 * did not get through (the chain was unreachable, or an import stored thousands at once) waits as `pending-chain`;
 * the case submitter resubmits those in the background, every few seconds and whenever an import wakes it.
 *
 * A resubmission the chain answers with LedgerCaseExists was mined before without the gateway hearing of it: if the
 * chain holds this case's manifest digest and pseudonym, the chain's status is taken. Any other refusal marks the
 * case `rejected` (its records stay: their digests are anchored). An unreachable chain ends the round; the next round
 * tries again. Rounds of one gateway never overlap, so no case is sent twice at once.
 */
import type { GatewayContext } from "../context";
import { type CaseRecord, LedgerError, LedgerUnavailableError, type TxResult } from "../ledger";
import type { CaseIndexRow, CaseIndexStatus } from "../store";
import { INDEX_STATUS } from "./rules";

/** Cases submitted at once (the ledger sends them one after another per actor and waits for them together). */
const CONCURRENCY = 16;
/** Default pause between rounds. */
export const SUBMIT_INTERVAL_MS = 3_000;

/** What the chain made of a stored case's submission. */
export type SubmitOutcome =
  | { status: Exclude<CaseIndexStatus, "pending-chain" | "rejected">; txHash?: string }
  | { status: "rejected"; ledgerCode: string }
  | { status: "pending-chain"; reason: string };

/**
 * Submits a stored `pending-chain` case and records the outcome in the index and the audit log: `submitted` (audit
 * `case.submitted`); already on chain with this manifest (an earlier attempt was mined without our hearing of it:
 * the chain's status is taken); refused (`rejected`, audit `case.refused-on-chain`); or the chain is unreachable
 * (left `pending-chain`). Other errors are thrown, the case left pending.
 */
export async function submitToChain(
  ctx: GatewayContext,
  c: Pick<CaseIndexRow, "caseId" | "programmeId" | "regionCode" | "pseudonym" | "submitter"> & { recordDigest: string },
): Promise<SubmitOutcome> {
  const submission = {
    caseId: c.caseId,
    programmeId: c.programmeId,
    region: BigInt(c.regionCode),
    pseudonym: c.pseudonym,
    recordDigest: c.recordDigest,
  };
  let mined: TxResult | undefined;
  let existing: CaseRecord | null = null;
  try {
    mined = await ctx.ledger.submitCase(c.submitter, submission);
  } catch (error) {
    if (error instanceof LedgerUnavailableError) {
      ctx.log.warn({ caseId: c.caseId, reason: error.reason }, "case kept for the chain: unreachable");
      return { status: "pending-chain", reason: error.reason };
    }
    if (!(error instanceof LedgerError)) throw error;
    if (error.code === "InsufficientFundsForGas") {
      ctx.log.error({ caseId: c.caseId, actor: c.submitter }, "case kept for the chain: the actor cannot pay gas");
      return { status: "pending-chain", reason: error.code };
    }
    if (error.code === "LedgerCaseExists") {
      try {
        existing = await ctx.ledger.caseRecord(c.caseId);
      } catch (readError) {
        if (readError instanceof LedgerUnavailableError) return { status: "pending-chain", reason: readError.reason };
        throw readError;
      }
    }
    const ours = existing !== null && existing.recordDigest === c.recordDigest && existing.pseudonym === c.pseudonym;
    if (!ours) {
      await ctx.store.transaction(async (tx) => {
        await tx.setCaseStatus(c.caseId, "rejected");
        await tx.appendAudit({
          actor: c.submitter,
          action: "case.refused-on-chain",
          target: c.caseId,
          details: { ledgerCode: error.code },
        });
      });
      return { status: "rejected", ledgerCode: error.code };
    }
  }
  const status: Exclude<CaseIndexStatus, "pending-chain"> = existing
    ? ((INDEX_STATUS[existing.status] ?? "submitted") as Exclude<CaseIndexStatus, "pending-chain">)
    : "submitted";
  await ctx.store.transaction(async (tx) => {
    await tx.setCaseStatus(c.caseId, status);
    await tx.appendAudit({
      actor: c.submitter,
      action: "case.submitted",
      target: c.caseId,
      details: mined ? { txHash: mined.txHash, blockNumber: mined.blockNumber } : { alreadyOnChain: true },
    });
  });
  return status === "rejected" ? { status, ledgerCode: "LedgerCaseExists" } : { status, txHash: mined?.txHash };
}

export interface SubmitRound {
  /** Cases put on chain (or found there). */
  submitted: number;
  /** Cases the chain refused, now `rejected`. */
  rejected: number;
  /** Cases still pending after the round (not tried, or the chain was unreachable). */
  pending: number;
  /** Whether the chain was unreachable during the round. */
  unavailable: boolean;
}

/** The round running or queued per gateway: rounds run one after another. */
const rounds = new WeakMap<GatewayContext, Promise<unknown>>();

/** Submits up to `limit` `pending-chain` cases, oldest id first. Waits for a round already running. */
export function submitPendingCases(ctx: GatewayContext, limit = 500): Promise<SubmitRound> {
  const previous = rounds.get(ctx) ?? Promise.resolve();
  const run = previous.then(
    () => round(ctx, limit),
    () => round(ctx, limit),
  );
  const tail = run.catch(() => undefined);
  rounds.set(ctx, tail);
  void tail.then(() => {
    if (rounds.get(ctx) === tail) rounds.delete(ctx);
  });
  return run;
}

async function round(ctx: GatewayContext, limit: number): Promise<SubmitRound> {
  const pending = await ctx.store.listCases({ status: "pending-chain", limit });
  const result: SubmitRound = { submitted: 0, rejected: 0, pending: pending.length, unavailable: false };
  for (let i = 0; i < pending.length && !result.unavailable; i += CONCURRENCY) {
    const outcomes = await Promise.allSettled(pending.slice(i, i + CONCURRENCY).map((c) => resubmit(ctx, c)));
    for (const o of outcomes) {
      if (o.status === "rejected") {
        const e = o.reason as { name?: string; code?: string };
        ctx.log.error({ errName: e?.name, errCode: e?.code }, "case submission failed");
        continue;
      }
      if (o.value.status === "pending-chain") result.unavailable = true;
      else {
        result.pending -= 1;
        if (o.value.status === "rejected") result.rejected += 1;
        else result.submitted += 1;
      }
    }
  }
  if (result.submitted + result.rejected > 0) {
    ctx.log.info(
      { submitted: result.submitted, rejected: result.rejected, pending: result.pending },
      "cases submitted",
    );
  }
  return result;
}

async function resubmit(ctx: GatewayContext, c: CaseIndexRow): Promise<SubmitOutcome> {
  const manifest = await ctx.store.getRecord(c.applicationRecordId);
  if (!manifest) throw new Error(`case ${c.caseId}: its application record is missing`);
  return submitToChain(ctx, { ...c, recordDigest: manifest.digest });
}

export interface CaseSubmitter {
  /** Runs a round now (or right after the one running). */
  kick(): void;
  /** Stops the timer and waits for the round running. */
  stop(): Promise<void>;
}

const submitters = new WeakMap<GatewayContext, CaseSubmitter>();

/** Starts the background submitter of `ctx` (one per gateway). */
export function startCaseSubmitter(ctx: GatewayContext, options: { intervalMs?: number } = {}): CaseSubmitter {
  const intervalMs = options.intervalMs ?? SUBMIT_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = submitPendingCases(ctx)
      .then((r) => {
        // More waiting and the chain answers: go on at once.
        again ||= r.pending > 0 && !r.unavailable && r.submitted + r.rejected > 0;
      })
      .catch((error: unknown) => {
        const e = error as { name?: string; code?: string };
        ctx.log.warn({ errName: e?.name, errCode: e?.code }, "case submitter round failed");
      })
      .finally(() => {
        running = undefined;
        const now = again;
        again = false;
        schedule(now ? 0 : intervalMs);
      });
  };

  const submitter: CaseSubmitter = {
    kick() {
      if (stopped) return;
      if (running) again = true;
      else schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      submitters.delete(ctx);
      await running;
    },
  };
  submitters.set(ctx, submitter);
  schedule(intervalMs);
  return submitter;
}

/** Wakes the gateway's submitter, or (none running) submits once in the background. */
export function kickCaseSubmitter(ctx: GatewayContext): void {
  const submitter = submitters.get(ctx);
  if (submitter) return submitter.kick();
  const p = submitPendingCases(ctx).catch((error: unknown) => {
    const e = error as { name?: string; code?: string };
    ctx.log.warn({ errName: e?.name, errCode: e?.code }, "case submission round failed");
  });
  ctx.background.add(p);
  void p.finally(() => ctx.background.delete(p));
}
