/**
 * Runs parse.ts on a worker thread: decoding and scanning a 20 MB file takes the CPU for a second or more on a
 * small box and its strings take tens of MB, none of which may land on the event loop that decides taps or in
 * its heap. The worker has its own heap, capped, so a file that still manages to blow it up kills the worker and
 * the import, never the gateway.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ParsedHeader, ParsedRow, ParseLimits, ParseOutcome } from './parse.js';

export interface ParseWorkerData {
  bytes: Uint8Array;
  limits: ParseLimits;
}

export type WorkerMessage =
  | { type: 'header'; header: ParsedHeader }
  | { type: 'rows'; rows: ParsedRow[] }
  | { type: 'done'; outcome: ParseOutcome };

export interface ParsedRoster {
  outcome: ParseOutcome;
  /** Every data row, in file order; empty when the outcome has errors. */
  rows: ParsedRow[];
}

/** The worker's own heap: several times what a 20 MB file needs (its text, twice, while line ends are normalised). */
const WORKER_HEAP_MB = 128;

/**
 * The compiled worker script. Built, it sits beside this module; under vitest this module is the TypeScript source
 * and a worker thread cannot load TypeScript, so the build's copy in dist/ runs (the tests run after `npm run build`).
 */
function workerScript(): URL {
  const url = import.meta.url.endsWith('.ts')
    ? new URL('../../dist/gateway/roster/parse-worker.js', import.meta.url)
    : new URL('./parse-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\``);
  return url;
}

export function parseInWorker(bytes: Uint8Array, limits: ParseLimits): Promise<ParsedRoster> {
  const data: ParseWorkerData = { bytes, limits };
  const worker = new Worker(workerScript(), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
  const rows: ParsedRow[] = [];
  return new Promise((resolve) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      resolve({ outcome: { encoding: null, fields: [], ignoredColumns: [], extra: [], rows: 0, errors: [`the file could not be read: ${why}`] }, rows: [] });
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'rows') rows.push(...m.rows);
      else if (m.type === 'done' && !settled) {
        settled = true;
        resolve({ outcome: m.outcome, rows: m.outcome.errors.length > 0 ? [] : rows });
      }
    });
    worker.on('error', (err: Error & { code?: string }) =>
      fail(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `reading it needed more than ${WORKER_HEAP_MB} MB` : err.message),
    );
    worker.on('exit', (code) => fail(`the reader stopped (exit code ${code})`));
  });
}
