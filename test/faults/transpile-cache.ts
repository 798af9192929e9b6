/**
 * A `require` hook for the fault suite's gateway processes: TypeScript files are transpiled (like ts-node's
 * transpile-only mode, with the repository's compiler options) and the JavaScript is kept in a cache folder keyed by
 * the file's path and contents, so every process after the first loads the gateway in about the time plain
 * JavaScript takes. cluster.ts transpiles this file itself and preloads it (`node -r`) with RELIEF_FAULTS_TS_CACHE
 * RELIEF_FAULTS_TS_OPTIONS and RELIEF_FAULTS_TYPESCRIPT set. Loaded by mocha like every file under test/, it does nothing without them.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

type Compile = (js: string, filename: string) => void;

const dir = process.env.RELIEF_FAULTS_TS_CACHE;
const options = process.env.RELIEF_FAULTS_TS_OPTIONS;
/** The compiler's path: this file runs from the cache folder, outside the repository's node_modules. */
const typescript = process.env.RELIEF_FAULTS_TYPESCRIPT ?? "typescript";

if (dir && options) {
  let ts: typeof import("typescript") | undefined;
  const compilerOptions = JSON.parse(options) as Record<string, unknown>;
  const extensions = require.extensions;
  extensions[".ts"] = (module, filename) => {
    const source = fs.readFileSync(filename, "utf8");
    const key = createHash("sha256").update(filename).update("\0").update(source).digest("hex");
    const cached = path.join(dir, `${key}.js`);
    let js: string;
    try {
      js = fs.readFileSync(cached, "utf8");
    } catch {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ts ??= require(typescript) as typeof import("typescript");
      // transpileModule reads option values as tsconfig.json spells them ("commonjs", "es2022").
      js = ts.transpileModule(source, { fileName: filename, compilerOptions: compilerOptions as never }).outputText;
      const partial = `${cached}.${process.pid}`;
      fs.writeFileSync(partial, js);
      fs.renameSync(partial, cached); // atomic: processes loading at once never read half a file
    }
    (module as unknown as { _compile: Compile })._compile(js, filename);
  };
}
