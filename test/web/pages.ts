/**
 * Checks shared by the browser journeys: every form control has a label (an axe-like rule, by DOM queries), the
 * focused element shows a focus ring, keyboard-only moves (Tab until an element has focus), and small reads of the
 * page's state. The functions given to `page.evaluate` run in the browser.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";

// The browser's globals, for the functions that run in the page: this project's TypeScript has no DOM library.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const sessionStorage: any;
declare function getComputedStyle(element: any): any;
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

/** The focused element's outline: a visible focus ring is not "none" and wider than 1 px. */
export async function expectVisibleFocus(page: Page): Promise<void> {
  const ring: { style: string; width: string } = await page.evaluate(() => {
    const css = getComputedStyle(document.activeElement);
    return { style: css.outlineStyle, width: css.outlineWidth };
  });
  expect(ring.style).to.not.equal("none");
  expect(parseFloat(ring.width)).to.be.greaterThan(1);
}

export const activeId = (page: Page): Promise<string | undefined> => page.evaluate(() => document.activeElement?.id);
export const documentLang = (page: Page): Promise<string> => page.evaluate(() => document.documentElement.lang);
export const scrollWidth = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth);
export const sessionValue = (page: Page, key: string): Promise<string | null> =>
  page.evaluate((k) => sessionStorage.getItem(k), key);
