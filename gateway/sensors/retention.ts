/** Sensor readings and aggregates past their retention, pruned in chunks off the ingest path (storage/chunked-prune.ts). */
import type { Clock } from '../core/clock.js';
import type { Database } from '../storage/db.js';
import { ChunkedPruner } from '../storage/chunked-prune.js';
import { DAY } from './storage.js';

export interface RetentionOptions {
  rawDays: number;
  minuteDays: number;
  hourlyDays: number;
  pruneChunkRows: number;
  pruneEveryS: number;
}

export type PruneResult = Record<'raw' | 'minute' | 'hourly', number>;

export class RetentionPruner extends ChunkedPruner<'raw' | 'minute' | 'hourly'> {
  constructor(
    db: Database,
    clock: Clock,
    opts: RetentionOptions,
    onPruned: (table: 'raw' | 'minute' | 'hourly', rows: number) => void = () => {},
    onError: (err: unknown) => void = () => {},
  ) {
    const seriesIds = db.prepare<[], number>('SELECT id FROM sensor_series ORDER BY id').pluck();
    const sensorKeys = db.prepare<[], number>('SELECT id FROM sensor_keys ORDER BY id').pluck();
    const bySeries = { column: 'series', values: () => seriesIds.all() };
    const bySensor = { column: 'sensor', values: () => sensorKeys.all() };
    super(
      db,
      clock,
      [
        // Raw rows and minute aggregates have no index on time alone (migration 33): one sensor or series at a time,
        // down their (sensor, at) index and (series, bucket) key. The aggregate tables are WITHOUT ROWID: the row-value
        // IN goes over their primary key.
        {
          label: 'raw', table: 'sensor_readings', key: 'rowid', column: 'at', partitionBy: bySensor,
          cutoff: (now) => now - opts.rawDays * DAY,
        },
        {
          label: 'minute', table: 'sensor_agg_1m', key: 'series, bucket', column: 'bucket', partitionBy: bySeries,
          cutoff: (now) => now - opts.minuteDays * DAY,
        },
        { label: 'hourly', table: 'sensor_agg_1h', key: 'series, bucket', column: 'bucket', cutoff: (now) => now - opts.hourlyDays * DAY },
      ],
      { chunkRows: opts.pruneChunkRows, everyS: opts.pruneEveryS },
      onPruned,
      onError,
    );
  }
}
