/**
 * Checks shared by the browser journeys: every form control has a label (an axe-like rule, by DOM queries), the
 * focused element shows a focus ring, keyboard-only moves (Tab or Shift+Tab until an element has focus, arrows in a
 * select), a pasted picture, and small reads of the page's state. The functions given to `page.evaluate` run in the browser.
 */
import { expect } from "chai";
import fs from "node:fs";
import type { Page } from "playwright-core";

// The browser's globals, for the functions that run in the page: this project's TypeScript has no DOM library.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const sessionStorage: any;
declare function getComputedStyle(element: any): any;
declare function atob(data: string): string;
declare function requestAnimationFrame(callback: () => void): number;
declare const innerHeight: number;
declare const innerWidth: number;
declare const DataTransfer: any;
declare const File: any;
declare const ClipboardEvent: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The visible form controls that have no accessible name (label, aria-label or aria-labelledby). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll("input, select, textarea, button")) {
      if (el.type === "hidden" || el.closest("[hidden]")) continue;
      const labelled =
        el.labels?.length ||
        el.getAttribute("aria-label")?.trim() ||
        el.getAttribute("aria-labelledby") ||
        (el.tagName === "BUTTON" && el.textContent?.trim());
      if (!labelled) out.push(String(el.outerHTML).slice(0, 120));
    }
    return out;
  });
}

export async function expectAllLabelled(page: Page): Promise<void> {
  expect(await unlabelledControls(page)).to.deep.equal([]);
}

export async function focused(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((s) => Boolean(document.activeElement?.matches(s)), selector);
}

/** Presses Tab (at most `limit` times) until `selector` has focus; fails if it never does. */
export async function tabTo(page: Page, selector: string, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await focused(page, selector)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

/**
 * The focused element shows it: an element (not the page itself) whose outline is not "none" and wider than 1 px,
 * with a box on screen (the browser scrolled it into view).
 */
export async function expectVisibleFocus(page: Page): Promise<void> {
  const ring: { tag: string; style: string; width: string; onScreen: boolean } = await page.evaluate(() => {
    const el = document.activeElement;
    const css = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const onScreen =
      box.width > 0 &&
      box.height > 0 &&
      box.bottom > 0 &&
      box.right > 0 &&
      box.top < innerHeight &&
      box.left < innerWidth;
    return { tag: String(el.outerHTML).slice(0, 80), style: css.outlineStyle, width: css.outlineWidth, onScreen };
  });
  expect(ring.style, ring.tag).to.not.equal("none");
  expect(parseFloat(ring.width), ring.tag).to.be.greaterThan(1);
  expect(ring.onScreen, `${ring.tag} is off screen`).to.equal(true);
}

/**
 * Keyboard only: presses Tab (Shift+Tab with `back`) until `selector` has focus, checking at every stop that the
 * focus is visible; fails if it never gets there.
 */
export async function keyTo(page: Page, selector: string, { back = false, limit = 80 } = {}): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await focused(page, selector)) return expectVisibleFocus(page);
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    await expectVisibleFocus(page);
  }
  throw new Error(`${back ? "Shift+Tab" : "Tab"} never reached ${selector}`);
}

/** Keyboard only: picks the option `value` of the focused select with the arrow keys (how a select is operated). */
export async function chooseOption(page: Page, value: string, limit = 30): Promise<void> {
  await page.keyboard.press("Home");
  for (let i = 0; i < limit; i++) {
    if ((await page.evaluate(() => document.activeElement.value)) === value) return;
    await page.keyboard.press("ArrowDown");
  }
  throw new Error(`no option ${value}`);
}

/**
 * Clicks `selectors` in order within one task of the page, then waits for its next frame: what a quick user on a busy
 * machine does between two frames, so events the browser fires at the next frame (a dialog's `close`) come after all
 * the clicks, and have come when this returns.
 */
export async function clickWithinOneFrame(page: Page, selectors: string[]): Promise<void> {
  await page.evaluate(
    (all) =>
      new Promise<void>((resolve) => {
        for (const s of all) document.querySelector(s).click();
        requestAnimationFrame(() => resolve());
      }),
    selectors,
  );
}

/** Pastes an image file into `selector`, as Ctrl+V does with a picture on the clipboard. */
export async function pasteImage(page: Page, selector: string, file: string, type: string): Promise<void> {
  const base64 = fs.readFileSync(file).toString("base64");
  await page.locator(selector).evaluate(
    (el, { base64, type }) => {
      const bytes = Uint8Array.from(atob(base64), (c: string) => c.charCodeAt(0));
      const clipboardData = new DataTransfer();
      clipboardData.items.add(new File([bytes], "pasted", { type }));
      el.dispatchEvent(new ClipboardEvent("paste", { clipboardData, bubbles: true, cancelable: true }));
    },
    { base64, type },
  );
}

export const activeId = (page: Page): Promise<string | undefined> => page.evaluate(() => document.activeElement?.id);
export const documentLang = (page: Page): Promise<string> => page.evaluate(() => document.documentElement.lang);
export const scrollWidth = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth);
export const sessionValue = (page: Page, key: string): Promise<string | null> =>
  page.evaluate((k) => sessionStorage.getItem(k), key);

/** Waits until the video element `selector` is playing frames (a camera stream is on). */
export async function videoPlaying(page: Page, selector: string): Promise<void> {
  await page.waitForFunction((s) => {
    const video = document.querySelector(s);
    return video !== null && video.readyState >= 2 && !video.paused;
  }, selector);
}
