import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from './db.js';

/**
 * WAL checkpoints on a worker thread, off the tap path.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages: on the gateway that is
 * every ~150 taps at a busy gate, and it copies ~4 MB into the database file and fsyncs it while the event
 * loop waits (5–9 ms measured with `npm run bench -- taps`), stalling every tap that arrives meanwhile. A
 * PASSIVE checkpoint from a second connection never blocks the writer, so the main connection turns the
 * automatic one off and this worker checkpoints on a timer instead.
 *
 * A timer pass with nothing committed since the last one that copied everything is skipped without a report: an
 * idle gateway's worker wakes, reads one pragma and sleeps; its main thread is not woken at all.
 *
 * The WAL stays bounded whatever happens: when it grows past `maxWalFrames` (the worker cannot keep up) or
 * the worker dies, the main connection checkpoints on commit again, as SQLite does by default.
 */
export interface CheckpointerOptions {
  file: string;
  synchronous: 'full' | 'normal';
  intervalMs: number;
  /** The WAL file is truncated back to this size when SQLite restarts it. */
  walSizeLimitBytes: number;
  /** Past this many WAL pages the main connection helps with its own automatic checkpoint. */
  maxWalFrames: number;
  onCheckpoint?: (report: CheckpointReport) => void;
  onError?: (err: Error) => void;
}

/** What the worker reports after each checkpoint. */
export interface CheckpointReport {
  /** Answers a checkpointNow() call; 0 for the timer's. */
  id: number;
  /** Pages copied into the database file by this checkpoint. */
  copied: number;
  /** Pages in the WAL afterwards (0 once SQLite has restarted it). */
  walFrames: number;
  durationMs: number;
}

export interface CheckpointStats {
  checkpoints: number;
  framesCopied: number;
  walFrames: number;
  /** True while the worker runs; false before start, after stop, and once it has failed. */
  running: boolean;
  /** True while the main connection checkpoints on commit too (the WAL was past maxWalFrames). */
  assisting: boolean;
}

/** SQLite's default wal_autocheckpoint. */
const AUTOCHECKPOINT_PAGES = 1000;

// An eval'd CommonJS worker: it runs the same from tsc's output and under vitest's TypeScript, which a worker
// file beside this one would not. better-sqlite3 is loaded by the absolute path the main thread resolved.
//
// SQLite starts the WAL over (and journal_size_limit truncates it) only when a write transaction begins with
// every frame already copied. Under steady load a commit lands while a pass copies, so short passes follow the
// long one until a pass finds nothing new; the next commit then restarts the log.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// Lowest priority for this thread only (Linux sets nice per thread): on a 2-core box a checkpoint must never
// take the CPU from the event loop deciding taps. Not permitted everywhere; then it runs at normal priority.
try { require('node:os').setPriority(19); } catch {}
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = ' + workerData.synchronous);
let done = 0; // frames of the current log already copied
let idleAt = -1; // data_version when a timer pass last found every frame copied
const tick = (id) => {
  // data_version changes when another connection commits: unchanged since a pass that left nothing to copy, the
  // timer's pass has nothing to do and stays silent, so an idle gateway's main thread is not woken 5 times a second.
  const version = db.pragma('data_version', { simple: true });
  if (id === 0 && version === idleAt) return false;
  const started = performance.now();
  let copied = 0;
  let log = -1;
  for (let pass = 0; pass < 20; pass++) {
    const prevLog = log;
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    if (row.log < 0) break; // not in WAL mode
    if (row.checkpointed < done) done = 0; // the log was restarted since
    copied += row.checkpointed - done;
    done = row.checkpointed;
    log = row.log;
    if (log === prevLog && done >= log) break;
  }
  idleAt = done >= log ? version : -1;
  parentPort.postMessage({ id, copied, walFrames: Math.max(log, 0), durationMs: performance.now() - started });
  return true;
};
// Idle, the passes space out (doubling up to IDLE_MAX_MS): an idle gateway's checkpoint thread woke 5 times a
// second to find nothing new. The first commit after a quiet spell waits at most that long for its pass.
const IDLE_MAX_MS = Math.max(workerData.intervalMs, 2000);
let wait = workerData.intervalMs;
let timer;
const loop = () => {
  wait = tick(0) ? workerData.intervalMs : Math.min(wait * 2, IDLE_MAX_MS);
  timer = setTimeout(loop, wait);
};
timer = setTimeout(loop, wait);
parentPort.on('message', (m) => {
  if (m.type === 'now') tick(m.id);
  if (m.type === 'stop') { clearTimeout(timer); db.close(); parentPort.close(); }
});
`;

export class Checkpointer {
  readonly stats: CheckpointStats = { checkpoints: 0, framesCopied: 0, walFrames: 0, running: false, assisting: false };
  private worker: Worker | undefined;
  private readonly waiters = new Map<number, () => void>();
  private nextId = 1;

  constructor(
    private readonly db: Database,
    private readonly opts: CheckpointerOptions,
  ) {}

  start(): void {
    if (this.opts.file === ':memory:') return; // no second connection can share it
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: this.opts.file,
        synchronous: this.opts.synchronous.toUpperCase(),
        intervalMs: this.opts.intervalMs,
      },
    });
    this.worker = worker;
    this.db.pragma(`journal_size_limit = ${this.opts.walSizeLimitBytes}`);
    this.autocheckpoint(false);
    this.stats.running = true;
    worker.on('message', (r: CheckpointReport) => this.onReport(r));
    worker.on('error', (err) => this.fallBack(err));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fallBack(new Error(`checkpoint worker exited with code ${code}`));
    });
    // The timer lives in the worker; the worker itself must not keep the process alive.
    worker.unref();
  }

  /** Asks for a checkpoint now and resolves once it has run. */
  checkpointNow(): Promise<void> {
    if (!this.worker) {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      return Promise.resolve();
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.worker!.postMessage({ type: 'now', id });
    });
  }

  /** Stops the worker, before the main connection closes (which checkpoints what is left itself). */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.stats.running = false;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Referenced again: otherwise, with nothing else left, the process would end before the worker's exit arrives.
    worker.ref();
    worker.postMessage({ type: 'stop' });
    await exited;
    this.releaseWaiters();
  }

  private onReport(r: CheckpointReport): void {
    this.stats.checkpoints++;
    this.stats.framesCopied += r.copied;
    this.stats.walFrames = r.walFrames;
    if (r.walFrames > this.opts.maxWalFrames && !this.stats.assisting) this.autocheckpoint(true);
    else if (r.walFrames <= this.opts.maxWalFrames / 2 && this.stats.assisting) this.autocheckpoint(false);
    this.opts.onCheckpoint?.(r);
    this.waiters.get(r.id)?.();
    this.waiters.delete(r.id);
  }

  private autocheckpoint(on: boolean): void {
    this.db.pragma(`wal_autocheckpoint = ${on ? AUTOCHECKPOINT_PAGES : 0}`);
    this.stats.assisting = on && this.worker !== undefined;
  }

  private fallBack(err: Error): void {
    if (!this.worker) return;
    this.worker = undefined;
    this.stats.running = false;
    this.releaseWaiters();
    try {
      this.autocheckpoint(true);
    } catch {
      // the database is already closed: nothing left to checkpoint
    }
    this.opts.onError?.(err);
  }

  private releaseWaiters(): void {
    for (const w of this.waiters.values()) w();
    this.waiters.clear();
  }
}
