/**
 * Rows that could not be committed because the storage failed (disk full, I/O error, read-only filesystem), kept in
 * memory in order and written when the storage works again. Only for what may be answered before it is durable: a
 * gate's decision (the gate must open for a pupil even when the SD card is full); never money, which is refused
 * instead. Bounded: past `maxRows` a row is dropped and counted, so a long outage cannot take the memory too.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BatchWriter, WriteOp } from './batch-writer.js';

const STORAGE_FAILURES = new Set(['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** True for an error that says the database cannot store anything now, as opposed to a bad row. */
export function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // Extended codes: SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED, …
  return STORAGE_FAILURES.has(code) || [...STORAGE_FAILURES].some((c) => code.startsWith(`${c}_`));
}

export class DeferredWrites {
  private queue: WriteOp[] = [];
  private timer: NodeJS.Timeout | undefined;
  private retrying: Promise<number> | undefined;
  private readonly kept: Counter;
  private readonly dropped: Counter;
  private readonly written: Counter;

  constructor(
    private readonly writer: BatchWriter,
    private readonly opts: { maxRows: number; retryEveryMs: number },
    metrics: Registry,
  ) {
    const self = this;
    new Gauge({
      name: 'campus_storage_deferred_rows',
      help: 'Rows waiting in memory because the database could not store them',
      registers: [metrics],
      collect() {
        this.set(self.queue.length);
      },
    });
    this.kept = new Counter({ name: 'campus_storage_deferred_rows_total', help: 'Rows kept in memory after a storage failure', registers: [metrics] });
    this.dropped = new Counter({
      name: 'campus_storage_dropped_rows_total',
      help: 'Rows lost because the storage failed and the memory queue was full',
      registers: [metrics],
    });
    this.written = new Counter({ name: 'campus_storage_deferred_written_total', help: 'Deferred rows written once the storage worked again', registers: [metrics] });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Keeps the write for later; false (and counted) when the queue is full and it is lost. */
  keep(op: WriteOp): boolean {
    if (this.queue.length >= this.opts.maxRows) {
      this.dropped.inc();
      return false;
    }
    this.queue.push(op);
    this.kept.inc();
    return true;
  }

  start(): void {
    this.timer = setInterval(() => void this.retry().catch(() => {}), this.opts.retryEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.retrying?.catch(() => {});
    await this.retry().catch(() => {}); // a last try before the database closes
  }

  /** Writes what waits, in order, until one fails again; resolves with how many were written. */
  retry(): Promise<number> {
    this.retrying ??= this.drain().finally(() => {
      this.retrying = undefined;
    });
    return this.retrying;
  }

  private async drain(): Promise<number> {
    let n = 0;
    while (this.queue.length > 0) {
      const op = this.queue[0]!;
      try {
        await this.writer.write(op);
      } catch (err) {
        if (isStorageFailure(err)) return n; // still failing: next time
        // The row itself is bad now (it cannot be fixed by waiting): drop it and count it.
        this.queue.shift();
        this.dropped.inc();
        continue;
      }
      this.queue.shift();
      this.written.inc();
      n++;
    }
    return n;
  }
}
