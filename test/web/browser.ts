/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core: headless, sandbox off (CI runs as root), no GPU,
 * no QUIC, no first-run, no background networking, updates or sync, in a fresh user-data-dir. Playwright never
 * downloads a browser: playwright-core has none to download, and the executable is given.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";

export const CHROMIUM = process.env.RELIEF_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = path.resolve(__dirname, "../../test-artifacts/web");

export const hasChromium = (): boolean => fs.existsSync(CHROMIUM);

export interface Browser {
  context: BrowserContext;
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** `extraArgs`: more command-line switches, e.g. a fake camera (test/web/camera.ts). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "relief-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
    acceptDownloads: true,
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    async newPage(viewport = { width: 1280, height: 900 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A screenshot under test-artifacts/web/: of one part of the page (a CSS selector), or of the whole page. */
export async function screenshot(page: Page, name: string, selector?: string): Promise<void> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
}
