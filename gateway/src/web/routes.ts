/**
 * The web pages (網頁) for beneficiaries, auditors, finance bureaus and voucher providers, under /web/. They are
 * static: HTML, one stylesheet and one bundled script per page, and they talk only to the public API (/v1/…) with the
 * credential the user typed (kept in sessionStorage, never in a URL). Every answer carries a strict
 * Content-Security-Policy: only this origin's scripts, styles and API; no inline script, no frames, no forms posted
 * elsewhere.
 */
import fs from "node:fs";
import path from "node:path";
import { type RequestHandler, Router } from "express";
import { PAGES, type Page, WEB_DIR, pageScript } from "./assets";

export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/**
 * Only the auditor's page (to scan a receipt's QR code) and the provider's (to scan a voucher's) may ask for the
 * camera; no page for anything else.
 */
const CAMERA_PAGES = new Set(["/auditor", "/provider"]);
export const permissionsPolicy = (subpath: string): string =>
  `camera=${CAMERA_PAGES.has(subpath) ? "(self)" : "()"}, microphone=(), geolocation=()`;

const secure: RequestHandler = (req, res, next) => {
  res.setHeader("Content-Security-Policy", WEB_CSP);
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Permissions-Policy", permissionsPolicy(req.path));
  next();
};

const isPage = (name: string): name is Page => (PAGES as readonly string[]).includes(name);

function readAsset(file: string): string {
  return fs.readFileSync(path.join(WEB_DIR, file), "utf8");
}

/** The asset at `subpath` (below /web), or undefined. A fixed list: nothing else under gateway/web/ is served. */
async function assetAt(subpath: string): Promise<{ type: string; body: string } | undefined> {
  if (subpath === "/") return { type: "html", body: readAsset("index.html") };
  if (subpath === "/style.css") return { type: "css", body: readAsset("style.css") };
  const page = /^\/([a-z]+)$/.exec(subpath)?.[1];
  if (page !== undefined && isPage(page)) return { type: "html", body: readAsset(`${page}.html`) };
  const script = /^\/js\/([a-z]+)\.js$/.exec(subpath)?.[1];
  if (script !== undefined && isPage(script)) return { type: "text/javascript", body: await pageScript(script) };
  return undefined;
}

/**
 * Static files, served like express.static (middleware, not API routes: they are not in the OpenAPI document):
 * GET and HEAD only, anything else under /web falls through to the API's 404.
 */
export function webRoutes(): Router {
  const r = Router();
  r.use("/web", secure, async (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    const [pathname] = req.originalUrl.split("?");
    if (pathname === "/web") return res.redirect(301, "/web/");
    const asset = await assetAt(req.path);
    if (!asset) return next();
    res.type(asset.type).send(asset.body);
  });
  return r;
}
