/**
 * The web pages' scripts: each page's ES module (gateway/web/src/<page>.js) bundled with its imports (the `qrcode`
 * package included) by esbuild, in memory, on first request, so `npm start` needs no build step and nothing is fetched
 * from the internet. Bundles are built once per process.
 */
import path from "node:path";
import { build } from "esbuild";

export const WEB_DIR = path.resolve(__dirname, "../../web");
export const PAGES = ["beneficiary", "auditor", "finance", "provider"] as const;
export type Page = (typeof PAGES)[number];

let bundles: Promise<Map<Page, string>> | undefined;

async function bundleAll(): Promise<Map<Page, string>> {
  const result = await build({
    entryPoints: PAGES.map((page) => path.join(WEB_DIR, "src", `${page}.js`)),
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "none",
    outdir: "/bundles",
    logLevel: "silent",
  });
  const out = new Map<Page, string>();
  for (const file of result.outputFiles) out.set(path.basename(file.path, ".js") as Page, file.text);
  return out;
}

/** The bundled script of `page`. */
export async function pageScript(page: Page): Promise<string> {
  bundles ??= bundleAll().catch((error: unknown) => {
    bundles = undefined; // a failed build is retried on the next request
    throw error;
  });
  const script = (await bundles).get(page);
  if (script === undefined) throw new Error(`no bundle for ${page}`);
  return script;
}
