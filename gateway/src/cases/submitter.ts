/**
 * Puts stored cases on chain. A case is stored (`pending-chain`) before the chain is asked (service.ts); intake then
 * starts its submission here without waiting for it, and answers 202. The submission of one case runs once per
 * gateway at a time: whoever needs it (the intake that stored it, a client that sent `Prefer: wait`, a lifecycle
 * call on the case, the background round) joins the one in flight.
 *
 * Submissions are pipelined: up to {@link WINDOW} at once, and the ledger numbers one actor's transactions and sends
 * them one after another without waiting for each receipt (ledger/evm-rpc.ts `TxSender`), so a burst of intake goes
 * on chain in as many blocks as the chain makes, not one round trip each. Nothing here holds a request: an intake
 * that does not wait returns as soon as its transaction has committed.
 *
 * Cases whose submission did not get through (the chain was unreachable, the gateway stopped, an import stored
 * thousands at once) are resubmitted by the background submitter, every few seconds and whenever an import wakes it,
 * oldest id first, in `submitCases` batches of {@link SUBMIT_BATCH} cases of one submitter (one transaction, all or
 * none on chain; a refused batch is sent again case by case). After the chain was found unreachable, intake leaves
 * new cases to those rounds for {@link BACKOFF_MS}, and submissions queued before that moment are not tried (they
 * stay pending for the next round).
 *
 * A resubmission the chain answers with LedgerCaseExists was mined before without the gateway hearing of it: if the
 * chain holds this case's manifest digest and pseudonym, the chain's status is taken. Any other refusal marks the
 * case `rejected` (its records stay: their digests are anchored). An unreachable chain ends the round; the next round
 * tries again. Rounds of one gateway never overlap, and a case is never sent twice at once by one gateway.
 */
import type { GatewayContext } from "../context";
import { type CaseRecord, type CaseSubmission, LedgerError, LedgerUnavailableError, type TxResult } from "../ledger";
import type { CaseIndexRow, CaseIndexStatus, StoreData } from "../store";
import { INDEX_STATUS } from "./rules";

/**
 * Most submissions in flight at once per gateway (one actor's are sent one after another, receipts awaited apart).
 * A chain that mines a block every second or two (a consortium chain's block period, anvil in interval mining) puts
 * at most this many of them in a block, so the window bounds the rate at WINDOW a block: 32 would cap a 1-second
 * chain at 32 cases a second; 256 leave the node's own rate as the limit (~90 a second on anvil here).
 */
export const WINDOW = 256;
/**
 * Cases a background round puts in one `submitCases` transaction: ~126,600 gas each on the EVM ledger (165,300 as a
 * transaction of its own), so 64 take ~8.1 M gas, under the 16,777,216-gas cap of a transaction (EIP-7825) with
 * room to spare. A batch pays one transaction's base, signature and receipt for all its cases.
 */
export const SUBMIT_BATCH = 64;
/** Default pause between rounds. */
export const SUBMIT_INTERVAL_MS = 3_000;
/** After the chain was found unreachable, intake leaves new cases to the background rounds for this long. */
const BACKOFF_MS = 1_000;

/** What the chain made of a stored case's submission. */
export type SubmitOutcome =
  | { status: Exclude<CaseIndexStatus, "pending-chain" | "rejected">; txHash?: string }
  | { status: "rejected"; ledgerCode: string }
  | { status: "pending-chain"; reason: string };

/** What a submission needs of a stored case. */
export type StoredCase = Pick<CaseIndexRow, "caseId" | "programmeId" | "regionCode" | "pseudonym" | "submitter"> & {
  recordDigest: string;
};

/** Most outcomes recorded in one store transaction. */
const RECORD_BATCH = 256;
/**
 * How long an outcome nobody waits for may wait to be recorded with others (one commit for a batch, not one each);
 * an outcome a caller waits for (`Prefer: wait`, a lifecycle call) is recorded at once.
 */
const RECORD_DELAY_MS = 50;

/** A write of an outcome to the index and the audit log, waiting for its transaction. */
interface Write {
  write: (tx: StoreData) => Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface SubmitterState {
  /** The submission in flight of each case. */
  inFlight: Map<string, Promise<SubmitOutcome>>;
  /** Submissions holding a slot of the window, and those waiting for one. */
  running: number;
  queue: (() => void)[];
  /** When a submission last found the chain unreachable (epoch ms; 0: not since it last answered). */
  unavailableAt: number;
  /** Outcomes waiting to be recorded, the recording under way or its timer, and how many callers wait. */
  writes: Write[];
  recording: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
  waiting: number;
}

const states = new WeakMap<GatewayContext, SubmitterState>();

function stateOf(ctx: GatewayContext): SubmitterState {
  let s = states.get(ctx);
  if (s === undefined) {
    s = {
      inFlight: new Map(),
      running: 0,
      queue: [],
      unavailableAt: 0,
      writes: [],
      recording: undefined,
      timer: undefined,
      waiting: 0,
    };
    states.set(ctx, s);
  }
  return s;
}

async function acquire(s: SubmitterState): Promise<void> {
  if (s.running < WINDOW) {
    s.running += 1;
    return;
  }
  await new Promise<void>((resolve) => s.queue.push(resolve));
}

/** Hands the slot to the next waiter, if any. */
function release(s: SubmitterState): void {
  const next = s.queue.shift();
  if (next) next();
  else s.running -= 1;
}

/**
 * Records an outcome (`write` inside a store transaction); resolves once it has committed. Outcomes are gathered
 * for up to {@link RECORD_DELAY_MS} (none when a caller waits for one), and those that arrive while a recording
 * waits for the store or runs join it or the next: pipelined submissions are recorded a batch a commit, not one
 * each. If a batch fails, its writes are retried one transaction each.
 */
function record(ctx: GatewayContext, write: (tx: StoreData) => Promise<void>): Promise<void> {
  const s = stateOf(ctx);
  return new Promise<void>((resolve, reject) => {
    s.writes.push({ write, resolve, reject });
    scheduleRecording(ctx, s, s.waiting > 0);
  });
}

function scheduleRecording(ctx: GatewayContext, s: SubmitterState, now: boolean): void {
  if (s.recording || s.writes.length === 0) return;
  if (!now) {
    s.timer ??= setTimeout(() => {
      s.timer = undefined;
      scheduleRecording(ctx, s, true);
    }, RECORD_DELAY_MS);
    return;
  }
  clearTimeout(s.timer);
  s.timer = undefined;
  s.recording = recordAll(ctx, s).finally(() => {
    s.recording = undefined;
    scheduleRecording(ctx, s, s.waiting > 0);
  });
}

async function recordAll(ctx: GatewayContext, s: SubmitterState): Promise<void> {
  while (s.writes.length > 0) {
    let batch: Write[] = [];
    try {
      await ctx.store.transaction(async (tx) => {
        // Taken when the store is ours: what arrived while waiting for it joins.
        batch = s.writes.splice(0, RECORD_BATCH);
        for (const w of batch) await w.write(tx);
      });
      for (const w of batch) w.resolve();
    } catch (error) {
      if (batch.length <= 1) {
        for (const w of batch) w.reject(error);
        if (batch.length === 0) for (const w of s.writes.splice(0)) w.reject(error);
        continue;
      }
      for (const w of batch) {
        try {
          await ctx.store.transaction((tx) => w.write(tx));
          w.resolve();
        } catch (each) {
          w.reject(each);
        }
      }
    }
  }
}

const errorFields = (error: unknown) => {
  const e = error as { name?: string; code?: string };
  return { errName: e?.name, errCode: e?.code };
};

/**
 * The submission of case `caseId`: the one in flight, or `submit` started now in a slot of the window. A submission
 * queued for a slot when the chain was then found unreachable is not tried (`pending-chain`).
 */
function claim(ctx: GatewayContext, caseId: string, submit: () => Promise<SubmitOutcome>): Promise<SubmitOutcome> {
  const s = stateOf(ctx);
  const existing = s.inFlight.get(caseId);
  if (existing) return existing;
  const queuedAt = Date.now();
  const run = (async (): Promise<SubmitOutcome> => {
    await acquire(s);
    try {
      if (s.unavailableAt > queuedAt) return { status: "pending-chain", reason: "unreachable" };
      return await submit();
    } finally {
      release(s);
    }
  })();
  return track(ctx, caseId, run);
}

/** Makes `run` the submission in flight of `caseId` until it settles (the gateway's close waits for it). */
function track(ctx: GatewayContext, caseId: string, run: Promise<SubmitOutcome>): Promise<SubmitOutcome> {
  const s = stateOf(ctx);
  s.inFlight.set(caseId, run);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  ctx.background.add(settled);
  void settled.then(() => {
    if (s.inFlight.get(caseId) === run) s.inFlight.delete(caseId);
    ctx.background.delete(settled);
  });
  return run;
}

/**
 * Submits `cases` (one submitter's, none in flight, all `pending-chain`) in one `submitCases` transaction, each
 * case's outcome the submission in flight of that case. All or none on chain: if the chain refuses the batch (one
 * case it will not take, or one already there after a crash), each case is submitted alone, so that the refusal
 * and the already-there are found case by case as {@link submitToChain} finds them.
 */
function claimBatch(ctx: GatewayContext, cases: StoredCase[]): Promise<SubmitOutcome>[] {
  const s = stateOf(ctx);
  const all = (async (): Promise<SubmitOutcome[]> => {
    const submitter = cases[0].submitter;
    let mined: TxResult;
    try {
      mined = await ctx.ledger.submitCases(submitter, cases.map(submissionOf));
      s.unavailableAt = 0;
    } catch (error) {
      const kept = keptForTheChain(ctx, error, { cases: cases.length, actor: submitter });
      if (kept) return cases.map(() => kept);
      if (!(error instanceof LedgerError)) throw error;
      ctx.log.info({ cases: cases.length, ledgerCode: error.code }, "batch refused: its cases are sent one by one");
      const outcomes: SubmitOutcome[] = [];
      for (const c of cases) outcomes.push(await submitToChain(ctx, c));
      return outcomes;
    }
    await Promise.all(
      cases.map((c) =>
        record(ctx, async (tx) => {
          await tx.setCaseStatus(c.caseId, "submitted");
          await tx.appendAudit({
            actor: c.submitter,
            action: "case.submitted",
            target: c.caseId,
            details: { txHash: mined.txHash, blockNumber: mined.blockNumber, batch: cases.length },
          });
        }),
      ),
    );
    return cases.map(() => ({ status: "submitted", txHash: mined.txHash }));
  })();
  return cases.map((c, i) =>
    track(
      ctx,
      c.caseId,
      all.then((outcomes) => outcomes[i]),
    ),
  );
}

/**
 * The outcome of a submission the chain could not take now, for a reason that is not the case's (`pending-chain`,
 * logged): the chain is unreachable (intake then backs off), or the submitter's account cannot pay gas. Undefined
 * for any other error.
 */
function keptForTheChain(
  ctx: GatewayContext,
  error: unknown,
  what: { caseId?: string; cases?: number; actor: string },
): SubmitOutcome | undefined {
  if (error instanceof LedgerUnavailableError) {
    stateOf(ctx).unavailableAt = Date.now();
    ctx.log.warn({ ...what, reason: error.reason }, "kept for the chain: unreachable");
    return { status: "pending-chain", reason: error.reason };
  }
  if (error instanceof LedgerError && error.code === "InsufficientFundsForGas") {
    ctx.log.error(what, "kept for the chain: the actor cannot pay gas");
    return { status: "pending-chain", reason: error.code };
  }
  return undefined;
}

const submissionOf = (c: StoredCase): CaseSubmission => ({
  caseId: c.caseId,
  programmeId: c.programmeId,
  region: BigInt(c.regionCode),
  pseudonym: c.pseudonym,
  recordDigest: c.recordDigest,
});

/**
 * Submits a stored `pending-chain` case and records the outcome in the index and the audit log: `submitted` (audit
 * `case.submitted`); already on chain with this manifest (an earlier attempt was mined without our hearing of it:
 * the chain's status is taken); refused (`rejected`, audit `case.refused-on-chain`); or the chain is unreachable
 * (left `pending-chain`). Other errors are thrown, the case left pending. Callers go through {@link claim} (one
 * submission per case at a time); tests may call it directly.
 */
export async function submitToChain(ctx: GatewayContext, c: StoredCase): Promise<SubmitOutcome> {
  const s = stateOf(ctx);
  const submission = submissionOf(c);
  let mined: TxResult | undefined;
  let existing: CaseRecord | null = null;
  try {
    mined = await ctx.ledger.submitCase(c.submitter, submission);
    s.unavailableAt = 0;
  } catch (error) {
    const kept = keptForTheChain(ctx, error, { caseId: c.caseId, actor: c.submitter });
    if (kept) return kept;
    if (!(error instanceof LedgerError)) throw error;
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
      await record(ctx, async (tx) => {
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
  await record(ctx, async (tx) => {
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

/**
 * What the chain made of the submission of a case that is no longer `pending-chain`, from the audit log: refused
 * (`case.refused-on-chain`), or submitted (`case.submitted`, with its transaction if the gateway sent it).
 */
export async function recordedOutcome(ctx: GatewayContext, row: CaseIndexRow): Promise<SubmitOutcome> {
  if (row.status === "rejected") {
    const [refused] = await ctx.store.listAudit({ target: row.caseId, action: "case.refused-on-chain", limit: 1 });
    if (refused) {
      const code = (refused.details as { ledgerCode?: unknown } | null)?.ledgerCode;
      return { status: "rejected", ledgerCode: typeof code === "string" ? code : "TransactionReverted" };
    }
  }
  const [submitted] = await ctx.store.listAudit({ target: row.caseId, action: "case.submitted", limit: 1 });
  const txHash = (submitted?.details as { txHash?: unknown } | null | undefined)?.txHash;
  return { status: "submitted", ...(typeof txHash === "string" && { txHash }) };
}

/** Submits the case as stored now: the chain's outcome, or (no longer pending) the recorded one. */
async function submitStored(ctx: GatewayContext, caseId: string): Promise<SubmitOutcome> {
  const stored = await readStored(ctx, caseId);
  return "recorded" in stored ? stored.recorded : submitToChain(ctx, stored.pending);
}

/** A case as stored now: still pending (with its manifest's digest), or no longer (its recorded outcome). */
async function readStored(
  ctx: GatewayContext,
  caseId: string,
): Promise<{ pending: StoredCase } | { recorded: Promise<SubmitOutcome> }> {
  const row = await ctx.store.getCase(caseId);
  if (!row) throw new Error(`case ${caseId} is not in the index`);
  if (row.status !== "pending-chain") return { recorded: recordedOutcome(ctx, row) };
  const manifest = await ctx.store.getRecord(row.applicationRecordId);
  if (!manifest) throw new Error(`case ${caseId}: its application record is missing`);
  return { pending: { ...row, recordDigest: manifest.digest } };
}

/**
 * Starts the submission of a case intake has just stored (`pending-chain`, committed), without waiting for it. If
 * the chain was found unreachable moments ago, the case is left to the background rounds.
 */
export function submitInBackground(ctx: GatewayContext, c: StoredCase): void {
  if (Date.now() - stateOf(ctx).unavailableAt < BACKOFF_MS) return;
  claim(ctx, c.caseId, () => submitToChain(ctx, c)).catch((error: unknown) => {
    ctx.log.error({ caseId: c.caseId, ...errorFields(error) }, "case kept for the chain: submission failed");
  });
}

/**
 * The outcome of case `caseId`'s submission within `ms`: it joins the submission in flight, or submits the case
 * now if it is still `pending-chain` (or reads the recorded outcome if it is not). Undefined if there is no outcome
 * within `ms` (the submission goes on). Throws what the submission throws (not a ledger refusal: that is an outcome).
 */
export async function awaitSubmission(
  ctx: GatewayContext,
  caseId: string,
  ms: number,
): Promise<SubmitOutcome | undefined> {
  const s = stateOf(ctx);
  s.waiting += 1;
  // Someone waits: what is gathered is recorded now (this case's outcome may be among it).
  if (s.timer) scheduleRecording(ctx, s, true);
  const run = claim(ctx, caseId, () => submitStored(ctx, caseId));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([run, expired]);
  } finally {
    clearTimeout(timer);
    s.waiting -= 1;
  }
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
  /** Whether the round listed as many cases as it could take: more may be waiting. */
  full: boolean;
}

/** The round running or queued per gateway: rounds run one after another. */
const rounds = new WeakMap<GatewayContext, Promise<unknown>>();

/**
 * Cases a round lists: several windows, since a round ends with its last submissions' block, the window draining
 * meanwhile (the store lists at most 1,000 at a time).
 */
const ROUND_CASES = 1_000;

/** Submits up to `limit` `pending-chain` cases, oldest id first. Waits for a round already running. */
export function submitPendingCases(ctx: GatewayContext, limit = ROUND_CASES): Promise<SubmitRound> {
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

/**
 * One round: the pending cases listed now, in batches of up to {@link SUBMIT_BATCH} of one submitter each
 * (`submitCases`), `config.submitter.lanes` batches in flight. A case already in flight (intake's own submission) is
 * joined, not sent again; a case no longer pending when its batch is formed is left out.
 */
async function round(ctx: GatewayContext, limit: number): Promise<SubmitRound> {
  const s = stateOf(ctx);
  const pending = await ctx.store.listCases({ status: "pending-chain", limit });
  const result: SubmitRound = {
    submitted: 0,
    rejected: 0,
    pending: pending.length,
    unavailable: false,
    full: pending.length >= limit,
  };
  const count = (outcome: SubmitOutcome) => {
    if (outcome.status === "pending-chain") result.unavailable = true;
    else {
      result.pending -= 1;
      if (outcome.status === "rejected") result.rejected += 1;
      else result.submitted += 1;
    }
  };
  const settle = async (caseId: string, run: Promise<SubmitOutcome>) => {
    try {
      count(await run);
    } catch (error) {
      ctx.log.error({ caseId, ...errorFields(error) }, "case submission failed");
    }
  };
  let next = 0;
  /** The next batch: pending cases of the first one's submitter, in listing order (others wait for their own). */
  const nextBatch = async (): Promise<{ fresh: StoredCase[]; joined: [string, Promise<SubmitOutcome>][] }> => {
    // Taken at once (lanes run side by side), then read.
    const first = next;
    while (next < pending.length && next - first < SUBMIT_BATCH && pending[next].submitter === pending[first].submitter)
      next += 1;
    const fresh: StoredCase[] = [];
    const joined: [string, Promise<SubmitOutcome>][] = [];
    for (const { caseId } of pending.slice(first, next)) {
      let read: Awaited<ReturnType<typeof readStored>> | undefined;
      if (!s.inFlight.has(caseId)) {
        try {
          read = await readStored(ctx, caseId);
        } catch (error) {
          ctx.log.error({ caseId, ...errorFields(error) }, "case submission failed");
          continue;
        }
      }
      // In flight already, or claimed by another path while the case was read: joined.
      const flying = s.inFlight.get(caseId);
      if (flying) joined.push([caseId, flying]);
      else if (read && "recorded" in read) joined.push([caseId, read.recorded]);
      else if (read) fresh.push(read.pending);
    }
    return { fresh, joined };
  };
  const lane = async () => {
    while (next < pending.length && !result.unavailable) {
      const { fresh, joined } = await nextBatch();
      const runs =
        fresh.length === 1
          ? [claim(ctx, fresh[0].caseId, () => submitToChain(ctx, fresh[0]))]
          : fresh.length > 1
            ? claimBatch(ctx, fresh)
            : [];
      await Promise.all([
        ...runs.map((run, i) => settle(fresh[i].caseId, run)),
        ...joined.map(([caseId, run]) => settle(caseId, run)),
      ]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.config.submitter.lanes, pending.length) }, lane));
  if (result.submitted + result.rejected > 0) {
    ctx.log.info(
      { submitted: result.submitted, rejected: result.rejected, pending: result.pending },
      "cases submitted",
    );
  }
  return result;
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
        // More waiting (left over, or beyond what the round could list) and the chain answers: go on at once.
        again ||= (r.pending > 0 || r.full) && !r.unavailable && r.submitted + r.rejected > 0;
      })
      .catch((error: unknown) => {
        ctx.log.warn(errorFields(error), "case submitter round failed");
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
    ctx.log.warn(errorFields(error), "case submission round failed");
  });
  ctx.background.add(p);
  void p.finally(() => ctx.background.delete(p));
}
