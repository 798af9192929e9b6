/**
 * Worker threads for the records check (./records.ts): each opens the store's SQLite file read-only and checks whole
 * anchors (./leaf-check.ts), so that recomputing digests and Merkle roots uses every core while the main thread reads
 * the chain and the events.
 *
 * The worker (./anchor-worker.ts) is bundled by esbuild in memory, once per process, and run as an `eval` worker:
 * no ts-node and no build step, about 0.1 s to start. Packages stay external and are loaded from this repository's
 * node_modules (`createRequire` at the worker's own path).
 *
 * A worker that fails (cannot open the file, crashes, exits) rejects its jobs and every later one with an
 * {@link AnchorWorkerError}: the check fails, it never passes an anchor it did not check. Idle workers do not keep the
 * process alive.
 */
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { CodedError } from "../../../../lib/errors";
import type { WorkerAnswer, WorkerJob } from "./anchor-worker";
import type { LeafJob, LeafVerdict } from "./leaf-check";

export type AnchorWorkerErrorCode = "WORKER_FAILED" | "CHECK_FAILED" | "CLOSED";

/** A worker of the pool failed (`WORKER_FAILED`), a job threw there (`CHECK_FAILED`), or the pool was closed. */
export class AnchorWorkerError extends CodedError<AnchorWorkerErrorCode> {}

/** The worker's source: ./anchor-worker.ts under ts-node, ./anchor-worker.js once compiled. */
function workerEntry(): string {
  const ts = path.join(__dirname, "anchor-worker.ts");
  return fs.existsSync(ts) ? ts : path.join(__dirname, "anchor-worker.js");
}

let script: Promise<string> | undefined;

/** The bundled worker, wrapped so that its `require` resolves from the worker's own path. */
function workerScript(): Promise<string> {
  script ??= (async () => {
    const entry = workerEntry();
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: "node",
      format: "cjs",
      target: "node20",
      packages: "external",
      logLevel: "silent",
    });
    const at = JSON.stringify(entry);
    return (
      `(function (require, __filename, __dirname) {\n${result.outputFiles[0].text}\n})` +
      `(require("node:module").createRequire(${at}), ${at}, ${JSON.stringify(path.dirname(entry))});`
    );
  })().catch((error: unknown) => {
    script = undefined; // retried by the next pool
    throw error;
  });
  return script;
}

/**
 * A worker's heap holds its modules (~30 MB), one page of rows and at most one anchor's leaves (100,000 digests,
 * ~10 MB): a cap well above that makes V8 collect before the heap grows, which keeps peak memory flat (the default
 * lets each worker's heap grow by ~50 MB more over a long sweep). A worker that hits it fails with an error.
 */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 96 };

interface Pending {
  resolve(verdict: LeafVerdict): void;
  reject(error: Error): void;
}

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  failure: AnchorWorkerError | undefined;

  constructor(readonly worker: Worker) {
    worker.unref();
    worker.on("message", (answer: WorkerAnswer) => {
      const job = this.pending.get(answer.id);
      if (job === undefined) return;
      this.#settled(answer.id);
      if (answer.ok) job.resolve(answer.verdict);
      else {
        job.reject(
          new AnchorWorkerError(
            "CHECK_FAILED",
            `an anchor check failed in a worker: ${answer.code ? `${answer.code}: ` : ""}${answer.message}`,
          ),
        );
      }
    });
    worker.on("error", (error) =>
      this.#fail(new AnchorWorkerError("WORKER_FAILED", `a sweep worker failed: ${error.message}`, { cause: error })),
    );
    worker.on("exit", (code) =>
      this.#fail(new AnchorWorkerError("WORKER_FAILED", `a sweep worker exited (code ${code})`)),
    );
  }

  send(job: WorkerJob, pending: Pending): void {
    if (this.failure) return pending.reject(this.failure);
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(job.id, pending);
    this.worker.postMessage(job);
  }

  #settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  #fail(error: AnchorWorkerError): void {
    this.failure ??= error;
    for (const [id, job] of this.pending) {
      this.#settled(id);
      job.reject(this.failure);
    }
  }
}

/** A pool of anchor-checking workers over one SQLite file. */
export class AnchorPool {
  readonly #workers: PoolWorker[];
  #nextId = 0;
  #closed = false;

  private constructor(workers: PoolWorker[]) {
    this.#workers = workers;
  }

  /** Starts `threads` workers on `file`. */
  static async open(file: string, threads: number): Promise<AnchorPool> {
    if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError("threads must be a positive integer");
    const code = await workerScript();
    const workers = Array.from(
      { length: threads },
      () => new PoolWorker(new Worker(code, { eval: true, workerData: { file }, resourceLimits: WORKER_LIMITS })),
    );
    return new AnchorPool(workers);
  }

  get size(): number {
    return this.#workers.length;
  }

  /** The verdict on one anchor, from the least busy worker. */
  check(job: LeafJob): Promise<LeafVerdict> {
    return new Promise<LeafVerdict>((resolve, reject) => {
      if (this.#closed) return reject(new AnchorWorkerError("CLOSED", "the sweep's worker pool is closed"));
      const failed = this.#workers.find((w) => w.failure !== undefined);
      if (failed) return reject(failed.failure);
      let best = this.#workers[0];
      for (const w of this.#workers) if (w.pending.size < best.pending.size) best = w;
      best.send({ ...job, id: this.#nextId++ }, { resolve, reject });
    });
  }

  /** Stops the workers (jobs still running are rejected). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
