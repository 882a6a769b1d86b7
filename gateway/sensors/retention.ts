/**
 * Deletes readings and aggregates past their retention, a small chunk per transaction with a turn of the event loop
 * in between: a week of raw rows from a large school is millions of rows, and one big DELETE would hold the
 * write lock (and so every ingest batch) for seconds.
 */
import type { Clock } from '../core/clock.js';
import type { Database } from '../storage/db.js';
import { DAY } from './storage.js';

export interface RetentionOptions {
  rawDays: number;
  minuteDays: number;
  hourlyDays: number;
  pruneChunkRows: number;
  pruneEveryS: number;
}

export interface PruneResult {
  raw: number;
  minute: number;
  hourly: number;
}

const yieldToIngest = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class RetentionPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneResult> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly opts: RetentionOptions,
    private readonly onPruned: (table: 'raw' | 'minute' | 'hourly', rows: number) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      this.prune().catch(this.onError);
    }, this.opts.pruneEveryS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** One pass over the three tables; a pass already under way is joined, not doubled. */
  prune(): Promise<PruneResult> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<PruneResult> {
    const now = this.clock.now();
    return {
      raw: await this.chunked('sensor_readings', 'at', 'rowid', now - this.opts.rawDays * DAY, 'raw'),
      minute: await this.chunked('sensor_agg_1m', 'bucket', 'sensor_id, metric, bucket', now - this.opts.minuteDays * DAY, 'minute'),
      hourly: await this.chunked('sensor_agg_1h', 'bucket', 'sensor_id, metric, bucket', now - this.opts.hourlyDays * DAY, 'hourly'),
    };
  }

  private async chunked(table: string, col: string, key: string, before: number, label: 'raw' | 'minute' | 'hourly'): Promise<number> {
    // Row-value IN over the primary key: the aggregate tables are WITHOUT ROWID.
    const del = this.db.prepare(
      `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${col} < ? ORDER BY ${col} LIMIT ?)`,
    );
    let total = 0;
    while (!this.stopped) {
      const n = del.run(before, this.opts.pruneChunkRows).changes;
      total += n;
      if (n > 0) this.onPruned(label, n);
      if (n < this.opts.pruneChunkRows) break;
      await yieldToIngest();
    }
    return total;
  }
}
