/**
 * Start-up: payout runs that a stopped gateway left unfinished (`pending`, `running`), and runs that failed because
 * the chain or the database was unavailable, are queued again. Re-running is safe: the chain skips every entitlement
 * already paid (`AlreadyPaid`), and the run reconciles payouts that were paid but not recorded (see `runs.ts`).
 *
 * The runs execute in the background (the gateway's `close()` waits for them); this returns once they are queued,
 * with their ids. One gateway process per database is assumed: two processes resuming the same run would both
 * execute it (harmless for the money — the chain pays once — but the run's counters would be written by both).
 */
import type { GatewayContext } from "../context";
import { resumeRuns } from "./runs";

export async function resumePayoutRuns(ctx: GatewayContext): Promise<string[]> {
  return resumeRuns(ctx);
}
