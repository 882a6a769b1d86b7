/**
 * The worker thread that reads a roster file (see parse-thread.ts, which starts it): parses with the caps and
 * posts the header, then the rows in batches, then the outcome. Nothing here touches the database.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseRoster, type ParsedRow } from './parse.js';
import type { ParseWorkerData, WorkerMessage } from './parse-thread.js';

/** Rows per message: each batch is copied into the main thread in one go, so it stays a small piece of work there. */
const BATCH = 500;

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
