/**
 * Beneficiaries' one-time codes (一次性驗證碼) and sign-in.
 *
 * An institution in the case's region issues a code, printed on the payment notice: 8 random digits, stored only
 * as `digestSecret("otp", code)` under the beneficiary's pseudonym with an expiry. The beneficiary signs in with
 * resident ID and code; a right, unexpired code is consumed and opens a session (auth/sessions.ts).
 *
 * Every wrong answer is the same 401 CODE_INVALID — wrong code, expired code, or nobody with that ID has a code — so
 * sign-in says nothing about who is a beneficiary. After `maxFailures` wrong codes the pseudonym's code locks for
 * `lockMs` (423 LOCKED, even for the right code). Per client address, a fixed-window limiter caps attempts
 * (429 RATE_LIMITED with Retry-After) so that codes cannot be guessed across many IDs either.
 */
import { randomInt, timingSafeEqual } from "node:crypto";
import type { GatewayContext } from "../context";
import { openSession } from "../auth";
import { ApiError } from "../http/errors";
import type { CaseIndexRow } from "../store";

export const CODE_DIGITS = 8;

/** Sign-in attempts per client address per window. */
export const SIGN_IN_LIMIT = { attempts: 20, windowMs: 60_000 } as const;

export interface IssuedCode {
  code: string;
  expiresAt: Date;
}

/** Issues (or replaces) the one-time code of the case's beneficiary. Returns the code: show it once. */
export async function issueNoticeCode(ctx: GatewayContext, actor: string, kase: CaseIndexRow): Promise<IssuedCode> {
  const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, "0");
  const expiresAt = new Date(ctx.now().getTime() + ctx.config.beneficiary.codeTtlMs);
  await ctx.store.transaction(async (tx) => {
    await tx.putBeneficiaryCode({
      pseudonym: kase.pseudonym,
      codeDigest: ctx.keyring.digestSecret("otp", code),
      expiresAt,
    });
    await tx.appendAudit({
      actor,
      action: "beneficiary.code-issued",
      target: kase.caseId,
      details: { expiresAt: expiresAt.toISOString() },
    });
  });
  return { code, expiresAt };
}

const invalid = () => new ApiError("CODE_INVALID", "the resident ID and code do not match a valid code");

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

const beneficiaryActor = (pseudonym: string) => `beneficiary:${pseudonym.slice(0, 18)}`;

/** Checks a code and opens a session, or throws CODE_INVALID / LOCKED. */
export async function signIn(
  ctx: GatewayContext,
  residentId: string,
  code: string,
): Promise<{ token: string; expiresAt: Date }> {
  const pseudonym = ctx.keyring.pseudonym(residentId);
  const row = await ctx.store.getBeneficiaryCode(pseudonym);
  if (!row) throw invalid();
  const now = ctx.now();
  if (row.lockedUntil && row.lockedUntil.getTime() > now.getTime()) {
    const retryAfter = Math.ceil((row.lockedUntil.getTime() - now.getTime()) / 1000);
    throw new ApiError("LOCKED", "too many wrong codes: sign-in is locked for a while", { retryAfter });
  }
  if (row.expiresAt.getTime() <= now.getTime()) throw invalid();
  const digest = ctx.keyring.digestSecret("otp", code);
  if (!sameDigest(digest, row.codeDigest)) {
    const locks = row.failures + 1 >= ctx.config.beneficiary.maxFailures;
    const lockUntil = locks ? new Date(now.getTime() + ctx.config.beneficiary.lockMs) : null;
    await ctx.store.transaction(async (tx) => {
      const updated = await tx.recordCodeFailure(pseudonym, lockUntil);
      await tx.appendAudit({
        actor: beneficiaryActor(pseudonym),
        action: locks ? "beneficiary.code-locked" : "beneficiary.sign-in-failed",
        details: { failures: updated.failures },
      });
    });
    throw invalid();
  }
  if (!(await ctx.store.consumeBeneficiaryCode(pseudonym, digest))) throw invalid();
  const session = await openSession(ctx, pseudonym);
  await ctx.store.appendAudit({
    actor: beneficiaryActor(pseudonym),
    action: "beneficiary.signed-in",
    details: { expiresAt: session.expiresAt.toISOString() },
  });
  return session;
}

/**
 * A fixed-window counter per key (client address), in memory: each process limits its own clients. `take` throws
 * RATE_LIMITED with the seconds left in the window once `attempts` are used up.
 */
export class AttemptLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly attempts: number,
    readonly windowMs: number,
    readonly clock: () => Date,
    /** Windows kept at most; expired ones are dropped first. */
    readonly maxKeys = 10_000,
  ) {}

  take(key: string): void {
    const now = this.clock().getTime();
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.windowMs || now < w.start) {
      if (!w && this.#windows.size >= this.maxKeys) this.#prune(now);
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
    }
    w.count += 1;
    if (w.count > this.attempts) {
      const retryAfter = Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
      throw new ApiError("RATE_LIMITED", "too many sign-in attempts from this address; retry later", { retryAfter });
    }
  }

  #prune(now: number): void {
    for (const [key, w] of this.#windows) if (now - w.start >= this.windowMs) this.#windows.delete(key);
    // Still full (a flood of addresses): forget the oldest windows rather than grow without bound.
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.maxKeys) break;
      this.#windows.delete(key);
    }
  }
}
