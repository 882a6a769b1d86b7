import type { Database, Statement } from './db.js';

/** One write: runs inside the batch's transaction. */
export type WriteOp = (db: Database) => void;

export interface BatchWriterStats {
  batches: number;
  ops: number;
  failedOps: number;
  pending: number;
}

export interface BatchWriterOptions {
  maxSize: number;
  /** How long the first queued op may wait for company before the batch commits. */
  maxDelayMs: number;
  onBatch?: (size: number, durationMs: number) => void;
  onError?: (err: unknown) => void;
}

interface Pending {
  op: WriteOp;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The single writer for hot-path rows (taps, readings, camera events): many small writes become one
 * transaction per batch. `write()` resolves only after the batch that holds it has committed, so a
 * caller that awaits it before acknowledging a device or a user never acknowledges what a crash would lose.
 *
 * In a batch of several, each op runs under a savepoint: one bad row rejects its own promise and the rest of the
 * batch commits.
 */
export class BatchWriter {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  readonly stats: BatchWriterStats = { batches: 0, ops: 0, failedOps: 0, pending: 0 };

  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly rollback: Statement;
  /** Made once: better-sqlite3 builds four wrappers per db.transaction() call (~20 us, on every tap). */
  private readonly commitOne: (p: Pending, outcomes: unknown[]) => void;
  private readonly commitMany: (batch: Pending[], outcomes: unknown[]) => void;

  constructor(
    db: Database,
    private readonly opts: BatchWriterOptions,
  ) {
    this.savepoint = db.prepare('SAVEPOINT op');
    this.release = db.prepare('RELEASE op');
    this.rollback = db.prepare('ROLLBACK TO op');
    // Alone in its batch (the usual case at a gate), an op needs no savepoint: its failure rolls back the
    // transaction, which holds nothing else. Rethrown so better-sqlite3 rolls back; told apart from a failed
    // commit by `outcomes`.
    this.commitOne = db.transaction((p: Pending, outcomes: unknown[]) => {
      try {
        p.op(db);
      } catch (err) {
        outcomes[0] = err ?? new Error('write failed');
        throw err;
      }
    });
    this.commitMany = db.transaction((batch: Pending[], outcomes: unknown[]) => {
      batch.forEach((p, i) => {
        this.savepoint.run();
        try {
          p.op(db);
          this.release.run();
        } catch (err) {
          this.rollback.run();
          this.release.run();
          outcomes[i] = err ?? new Error('write failed');
        }
      });
    });
  }

  write(op: WriteOp): Promise<void> {
    if (this.closed) return Promise.reject(new Error('batch writer is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.stats.pending = this.queue.length;
      if (this.queue.length >= this.opts.maxSize) this.flush();
      else if (!this.timer && !this.immediate) this.schedule();
    });
  }

  /**
   * With no delay, the batch commits at the end of this event-loop turn: everything that arrived in the same
   * turn (one socket read can carry many messages) shares a transaction, and no timer adds latency.
   */
  private schedule(): void {
    if (this.opts.maxDelayMs === 0) this.immediate = setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), this.opts.maxDelayMs);
  }

  /** Commits everything queued now, synchronously. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxSize);
      this.stats.pending = this.queue.length;
      const started = performance.now();
      const outcomes: (unknown | undefined)[] = new Array(batch.length);
      try {
        if (batch.length === 1) this.commitOne(batch[0]!, outcomes);
        else this.commitMany(batch, outcomes);
      } catch (err) {
        // A lone op that failed was rolled back and is rejected below like any failed op. Anything else means
        // the commit itself failed (disk full, I/O error): nothing in this batch is durable.
        if (batch.length > 1 || outcomes[0] === undefined) {
          this.opts.onError?.(err);
          for (const p of batch) p.reject(err);
          this.stats.failedOps += batch.length;
          continue;
        }
      }
      this.stats.batches++;
      batch.forEach((p, i) => {
        const err = outcomes[i];
        if (err === undefined) {
          this.stats.ops++;
          p.resolve();
        } else {
          this.stats.failedOps++;
          p.reject(err);
        }
      });
      this.opts.onBatch?.(batch.length, performance.now() - started);
    }
  }

  /** Flushes what is queued and refuses further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
