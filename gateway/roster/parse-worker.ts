/**
 * The worker thread that reads a roster file (see parse-thread.ts, which starts it): parses with the caps and
 * posts the header, then the rows in batches, then the outcome. Nothing here touches the database.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { parseRoster, type ParsedRow } from './parse.js';
import type { ParseWorkerData, WorkerMessage } from './parse-thread.js';

/** Rows per message: each batch is copied into the main thread in one go, so it stays a small piece of work there. */
const BATCH = 500;

// Lowest priority for this thread only (Linux keeps nice per thread), as the WAL checkpointer does: on a 2-core box
// reading a file must never take the CPU from the event loop deciding taps. Not permitted everywhere; then it runs
// at normal priority.
try {
  setPriority(19);
} catch {
  // refused (a sandbox): normal priority
}

const port = parentPort!;
const { bytes, limits } = workerData as ParseWorkerData;
const post = (m: WorkerMessage): void => port.postMessage(m);
let batch: ParsedRow[] = [];
const outcome = parseRoster(
  bytes,
  limits,
  (header) => post({ type: 'header', header }),
  (row) => {
    batch.push(row);
    if (batch.length >= BATCH) {
      post({ type: 'rows', rows: batch });
      batch = [];
    }
  },
);
if (batch.length > 0 && outcome.errors.length === 0) post({ type: 'rows', rows: batch });
post({ type: 'done', outcome });
