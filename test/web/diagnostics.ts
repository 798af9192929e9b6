/**
 * What a browser journey prints when a wait times out, so a failure in CI says why: the page's state (the focused
 * element, the text of the part waited on, which dialogs are open), the API requests the page made with their
 * statuses, the payout runs in the gateway's database, and the gateway's last log lines.
 */
import type { Page } from "playwright-core";
import type { WebGateway } from "./gateway";

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The API requests a page made (method, path, status), in order; record them from the page's start. */
export function recordApiCalls(page: Page): string[] {
  const calls: string[] = [];
  page.on("response", (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith("/v1/")) calls.push(`${r.request().method()} ${url.pathname} → ${r.status()}`);
  });
  page.on("requestfailed", (r) => calls.push(`${r.method()} ${new URL(r.url()).pathname} → ${r.failure()?.errorText}`));
  return calls;
}

export interface Explain {
  t: WebGateway;
  page: Page;
  /** The part of the page whose text to show. */
  selector: string;
  calls: string[];
  logLines?: number;
}

/** The facts above, as text (each part guarded: a diagnostic must never hide the original failure). */
export async function explain({ t, page, selector, calls, logLines = 25 }: Explain): Promise<string> {
  const out: string[] = [];
  const part = async (title: string, read: () => Promise<unknown>) => {
    try {
      const value = await read();
      out.push(`  ${title}: ${typeof value === "string" ? value : JSON.stringify(value, null, 2)}`);
    } catch (e) {
      out.push(`  ${title}: (unreadable: ${(e as Error).message})`);
    }
  };
  await part("page", () =>
    page.evaluate((s) => {
      const el = document.activeElement;
      return {
        focused: el ? `${el.tagName.toLowerCase()}#${el.id}.${el.className}` : null,
        text: document.querySelector(s)?.innerText ?? null,
        openDialogs: [...document.querySelectorAll("dialog[open]")].map((d: { id: string }) => d.id),
      };
    }, selector),
  );
  await part("API calls of the page", async () => calls.join("\n    ") || "(none)");
  await part("payout runs in the database", async () =>
    (await t.gateway.ctx.store.listPayoutRuns({ limit: 10 })).map((r) => ({
      runId: r.runId,
      status: r.status,
      listed: r.listed,
      paid: r.paid,
      skipped: r.skipped,
      errorCode: r.errorCode,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    })),
  );
  await part(`last ${logLines} gateway log lines`, async () => "\n" + t.logs.slice(-logLines).join("").trimEnd());
  return out.join("\n");
}

/** Runs `wait`; if it fails (a timeout), prints {@link explain} and fails with the same error. */
export async function explainFailure<T>(what: string, facts: Explain, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    console.log(`    ✗ ${what} failed: ${(error as Error).message.split("\n")[0]}\n${await explain(facts)}`);
    throw error;
  }
}
