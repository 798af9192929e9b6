/**
 * A worker thread of the records check's anchor pool (./anchor-pool.ts): opens the store's SQLite file read-only and
 * answers each job (one anchor) with its {@link LeafVerdict} (./leaf-check.ts), or with the error that stopped it.
 * Loaded as one esbuild bundle (no ts-node in the worker).
 */
import { parentPort, workerData } from "node:worker_threads";
import { merkleHashReady } from "../../../../lib/merkle";
import { openLeafReader } from "../../store/sqlite-leaves";
import { type LeafJob, anchorLeavesVerdict } from "./leaf-check";

export interface WorkerJob extends LeafJob {
  id: number;
}

export type WorkerAnswer =
  | { id: number; ok: true; verdict: ReturnType<typeof anchorLeavesVerdict> }
  | { id: number; ok: false; message: string; code?: string };

const port = parentPort;
if (port === null) throw new Error("anchor-worker runs as a worker thread");
// A file that cannot be opened ends the worker with that error: the pool rejects every job with it.
const reader = openLeafReader((workerData as { file: string }).file);
const ready = merkleHashReady();

port.on("message", (job: WorkerJob) => {
  void ready.then(() => {
    let answer: WorkerAnswer;
    try {
      answer = { id: job.id, ok: true, verdict: anchorLeavesVerdict(reader, job) };
    } catch (error) {
      const e = error as { message?: string; code?: unknown };
      answer = {
        id: job.id,
        ok: false,
        message: String(e?.message ?? error),
        code: typeof e?.code === "string" ? e.code : undefined,
      };
    }
    port.postMessage(answer);
  });
});
