/**
 * Deletes rows past their retention, a small chunk per transaction with a turn of the event loop in between: a term of
 * taps or a week of sensor readings is millions of rows, and one big DELETE would hold the write lock (and so every
 * tap and ingest batch) for seconds. Each table is a target; a pass runs them in order and is never doubled.
 */
import type { Clock } from '../core/clock.js';
import type { Database } from './db.js';

export interface PruneTarget<L extends string = string> {
  label: L;
  table: string;
  /** The primary key, for the row-value IN (WITHOUT ROWID tables have no rowid). */
  key: string;
  /** The column the cutoff applies to, oldest first. */
  column: string;
  /** Extra condition, e.g. `status = 'resolved'`. */
  where?: string;
  /**
   * Pruned one value of this column at a time, for a table whose only index on `column` leads with it (e.g.
   * `(series, at)`): each chunk is then a range of that index, where `column < ?` alone would scan the table.
   */
  partitionBy?: { column: string; values(): readonly (number | string)[] };
  /** Rows with `column` below this go; undefined skips the target this pass. */
  cutoff(now: number): number | string | undefined;
}

const yieldToWriters = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ChunkedPruner<L extends string = string> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Record<L, number>> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly targets: readonly PruneTarget<L>[],
    private readonly opts: { chunkRows: number; everyS: number },
    private readonly onPruned: (label: L, rows: number) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      this.prune().catch(this.onError);
    }, this.opts.everyS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** One pass over every target; a pass already under way is joined, not doubled. */
  prune(): Promise<Record<L, number>> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<Record<L, number>> {
    const now = this.clock.now();
    const out = {} as Record<L, number>;
    for (const t of this.targets) {
      const cutoff = t.cutoff(now);
      out[t.label] = cutoff === undefined ? 0 : await this.chunked(t, cutoff);
    }
    return out;
  }

  private async chunked(t: PruneTarget<L>, before: number | string): Promise<number> {
    const extra = t.where ? ` AND (${t.where})` : '';
    const partition = t.partitionBy ? `${t.partitionBy.column} = ? AND ` : '';
    const del = this.db.prepare(
      `DELETE FROM ${t.table} WHERE (${t.key}) IN (SELECT ${t.key} FROM ${t.table} WHERE ${partition}${t.column} < ?${extra} ORDER BY ${t.column} LIMIT ?)`,
    );
    const args: unknown[][] = t.partitionBy ? t.partitionBy.values().map((v) => [v, before]) : [[before]];
    let total = 0;
    let first = true;
    for (const a of args) {
      // A turn of the event loop between any two statements, not only after a full chunk: a partition's chunk is
      // often small, and a school's 1,200 sensor series pruned in one turn would hold the loop for seconds (a day of
      // raw readings took 7 s here).
      while (!this.stopped) {
        if (!first) await yieldToWriters();
        first = false;
        if (this.stopped) break;
        const n = del.run(...a, this.opts.chunkRows).changes;
        total += n;
        if (n > 0) this.onPruned(t.label, n);
        if (n < this.opts.chunkRows) break;
      }
    }
    return total;
  }
}
