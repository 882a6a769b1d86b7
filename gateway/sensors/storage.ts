/**
 * Time series in SQLite. Every batch of readings is one write op on the gateway's BatchWriter (one transaction):
 * the raw rows, the latest value per sensor and metric, and the 1-minute and hourly aggregates are written together,
 * so the aggregates always agree with the raw rows they were built from. Aggregates keep sum and count (not the
 * average) so that upserting a bucket twice — a late reading, a batch across a minute boundary — stays exact.
 *
 * Latest values and aggregates are keyed by a series: an integer standing for one sensor's one metric (table
 * sensor_series). A B-tree of integers is smaller and takes an insert cheaper than one of two strings (docs/sensors.md).
 * Raw readings are one row per message, keyed by an integer per sensor (sensor_keys), with a column per metric.
 */
import type { Statement } from 'better-sqlite3';
import type { MetricName } from '../../config/sensors.js';
import type { Database, Migration } from '../storage/db.js';
import type { Reading } from './contract.js';
import { metricNames } from './metrics.js';
import { RawRows, SENSOR_KEY } from './raw-rows.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const aggTable = (name: string): string => `
  CREATE TABLE ${name} (
    sensor_id TEXT NOT NULL, metric TEXT NOT NULL, bucket INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, metric, bucket)) WITHOUT ROWID;
  CREATE INDEX ${name}_bucket ON ${name} (bucket);`;

const SERIES_KEY = 'series INTEGER NOT NULL';
const seriesOf = (table: string): string => `JOIN sensor_series s ON s.sensor_id = ${table}.sensor_id AND s.metric = ${table}.metric`;

/** Rebuilds one aggregate table keyed by series, rows and all. */
const rekeyAgg = (name: string): string => `
  CREATE TABLE ${name}_v2 (${SERIES_KEY}, bucket INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (series, bucket)) WITHOUT ROWID;
  INSERT INTO ${name}_v2 SELECT s.id, bucket, min, max, sum, count FROM ${name} ${seriesOf(name)};
  DROP TABLE ${name};
  ALTER TABLE ${name}_v2 RENAME TO ${name};
  CREATE INDEX ${name}_bucket ON ${name} (bucket);`;

/** The metric columns of raw rows as migration 34 made them; fixed, whatever the catalog holds later. */
const RAW_COLUMNS_34 = [
  'temperature', 'humidity', 'co2', 'pm25', 'pm10', 'voc', 'noise', 'illuminance', 'pressure', 'battery', 'smoke', 'leak',
] as const;

export const storageMigrations: Migration[] = [
  {
    version: 31,
    name: 'sensor readings and aggregates',
    up: `
      CREATE TABLE sensor_latest (
        sensor_id TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (sensor_id, metric)) WITHOUT ROWID;
      CREATE TABLE sensor_readings (sensor_id TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX sensor_readings_series ON sensor_readings (sensor_id, metric, at);
      CREATE INDEX sensor_readings_at ON sensor_readings (at);
      ${aggTable('sensor_agg_1m')}
      ${aggTable('sensor_agg_1h')}`,
  },
  {
    // One pass over every stored row, in the migration's transaction: on a Pi with a term of readings this takes
    // minutes, once, and needs free disk for the rewritten tables once more (docs/operations.md).
    version: 32,
    name: 'sensor rows keyed by series',
    up: `
      CREATE TABLE sensor_series (id INTEGER PRIMARY KEY, sensor_id TEXT NOT NULL, metric TEXT NOT NULL, UNIQUE (sensor_id, metric));
      INSERT INTO sensor_series (sensor_id, metric)
        SELECT sensor_id, metric FROM sensor_latest
        UNION SELECT sensor_id, metric FROM sensor_agg_1h
        UNION SELECT sensor_id, metric FROM sensor_agg_1m
        UNION SELECT DISTINCT sensor_id, metric FROM sensor_readings
        ORDER BY 1, 2;
      CREATE TABLE sensor_readings_v2 (${SERIES_KEY}, value REAL NOT NULL, at INTEGER NOT NULL);
      INSERT INTO sensor_readings_v2 (rowid, series, value, at)
        SELECT sensor_readings.rowid, s.id, value, at FROM sensor_readings ${seriesOf('sensor_readings')} ORDER BY sensor_readings.rowid;
      DROP TABLE sensor_readings;
      ALTER TABLE sensor_readings_v2 RENAME TO sensor_readings;
      CREATE INDEX sensor_readings_series ON sensor_readings (series, at);
      CREATE INDEX sensor_readings_at ON sensor_readings (at);
      CREATE TABLE sensor_latest_v2 (${SERIES_KEY} PRIMARY KEY, value REAL NOT NULL, unit TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO sensor_latest_v2 SELECT s.id, value, unit, at FROM sensor_latest ${seriesOf('sensor_latest')};
      DROP TABLE sensor_latest;
      ALTER TABLE sensor_latest_v2 RENAME TO sensor_latest;
      ${rekeyAgg('sensor_agg_1m')}
      ${rekeyAgg('sensor_agg_1h')}`,
  },
  {
    // Only retention read raw rows and minute aggregates by time alone, and it now goes down their (series, at) and
    // (series, bucket) keys one series at a time (retention.ts). The two indexes were a quarter of both tables on disk
    // (a day of 300 sensors × 4 metrics: 30 of 109 MB raw, 28 of 106 MB minute aggregates; docs/sensors.md) and a
    // third B-tree insert per raw reading. The hourly table keeps its index: the city's hourly summary reads by hour.
    // Dropping an index frees its pages for reuse; the file does not shrink until a VACUUM.
    version: 33,
    name: 'sensor rows without time-only indexes',
    up: `
      DROP INDEX IF EXISTS sensor_readings_at;
      DROP INDEX IF EXISTS sensor_agg_1m_bucket;`,
  },
  {
    // One raw row per message instead of one per value: a message's values share its sensor and time, and each row
    // costs a B-tree insert into the table and another into its index. Three values a message were six inserts; now
    // two (`npm run bench -- ingest`, docs/sensors.md). Rows are keyed by a sensor key (sensor_keys), not by series,
    // and carry one column per metric, NULL where the message had no value. Rows from before are copied one to one
    // (each holds one value): merging them by sensor and time could fold two messages of the same millisecond into one.
    // The column list is this migration's own: a metric added to the catalog later needs a migration adding its column
    // (test/sensors/series-migration.test.ts checks that every metric has one).
    version: 34,
    name: 'sensor raw readings one row per message',
    up: `
      CREATE TABLE sensor_keys (id INTEGER PRIMARY KEY, sensor_id TEXT NOT NULL UNIQUE);
      INSERT INTO sensor_keys (sensor_id) SELECT DISTINCT sensor_id FROM sensor_series ORDER BY sensor_id;
      CREATE TABLE sensor_readings_v3 (sensor INTEGER NOT NULL, at INTEGER NOT NULL, ${RAW_COLUMNS_34.map((m) => `${m} REAL`).join(', ')});
      INSERT INTO sensor_readings_v3 (sensor, at, ${RAW_COLUMNS_34.join(', ')})
        SELECT k.id, r.at, ${RAW_COLUMNS_34.map((m) => `CASE s.metric WHEN '${m}' THEN r.value END`).join(', ')}
        FROM sensor_readings r JOIN sensor_series s ON s.id = r.series JOIN sensor_keys k ON k.sensor_id = s.sensor_id
        ORDER BY r.rowid;
      DROP TABLE sensor_readings;
      ALTER TABLE sensor_readings_v3 RENAME TO sensor_readings;
      CREATE INDEX sensor_readings_sensor ON sensor_readings (sensor, at);`,
  },
];

export interface LatestRow {
  sensorId: string;
  metric: MetricName;
  value: number;
  unit: string;
  at: number;
}

export interface AggPoint {
  t: number;
  min: number;
  max: number;
  avg: number;
  count: number;
}

export interface AggRow {
  sensorId: string;
  metric: MetricName;
  bucket: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

interface Agg {
  series: number;
  bucket: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** Bucket indexes stay below this (a minute's until the year 2160), so one number keys a series' bucket exactly. */
const BUCKETS_PER_SERIES = 1e8;

function aggregate(readings: readonly Reading[], series: readonly number[], size: number): Map<number, Agg> {
  const out = new Map<number, Agg>();
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    const index = Math.floor(r.at / size);
    const key = series[i]! * BUCKETS_PER_SERIES + index;
    const a = out.get(key);
    if (!a) out.set(key, { series: series[i]!, bucket: index * size, min: r.value, max: r.value, sum: r.value, count: 1 });
    else {
      if (r.value < a.min) a.min = r.value;
      if (r.value > a.max) a.max = r.value;
      a.sum += r.value;
      a.count++;
    }
  }
  return out;
}

const SERIES_ID = 'SELECT id FROM sensor_series WHERE sensor_id = ? AND metric = ?';

export class SensorStore {
  private readonly rawRows: RawRows;
  private readonly upsertLatest: Statement;
  private readonly upsertMinute: Statement;
  private readonly upsertHour: Statement;
  private readonly insertSeries: Statement;
  private readonly selectSeries: Statement;
  private readonly insertKey: Statement;
  private readonly selectKey: Statement;
  /** sensor id → metric → series id; only ids known to be committed (see created). */
  private readonly seriesIds = new Map<string, Map<string, number>>();
  /** sensor id → its raw rows' key; likewise only committed ones. */
  private readonly sensorKeys = new Map<string, number>();

  constructor(private readonly db: Database) {
    this.rawRows = new RawRows(db);
    this.upsertLatest = db.prepare(
      `INSERT INTO sensor_latest (series, value, unit, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (series) DO UPDATE SET value = excluded.value, unit = excluded.unit, at = excluded.at
       WHERE excluded.at >= sensor_latest.at`,
    );
    const upsertAgg = (table: string): Statement =>
      db.prepare(
        `INSERT INTO ${table} (series, bucket, min, max, sum, count) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (series, bucket) DO UPDATE SET
           min = min(${table}.min, excluded.min), max = max(${table}.max, excluded.max),
           sum = ${table}.sum + excluded.sum, count = ${table}.count + excluded.count`,
      );
    this.upsertMinute = upsertAgg('sensor_agg_1m');
    this.upsertHour = upsertAgg('sensor_agg_1h');
    this.insertSeries = db.prepare('INSERT INTO sensor_series (sensor_id, metric) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.selectSeries = db.prepare(SERIES_ID).pluck();
    this.insertKey = db.prepare('INSERT INTO sensor_keys (sensor_id) VALUES (?) ON CONFLICT DO NOTHING');
    this.selectKey = db.prepare(SENSOR_KEY).pluck();
    for (const row of db.prepare('SELECT id, sensor_id AS sensorId, metric FROM sensor_series').all() as { id: number; sensorId: string; metric: string }[]) {
      this.remember(row.sensorId, row.metric, row.id);
    }
    for (const row of db.prepare('SELECT id, sensor_id AS sensorId FROM sensor_keys').all() as { id: number; sensorId: string }[]) {
      this.sensorKeys.set(row.sensorId, row.id);
    }
  }

  /**
   * Creates every catalog metric's series for these sensors, in one transaction, and remembers them. SensorsModule
   * calls it at start and when a sensor is added, so a first reading does not commit on its own: with
   * `storage.synchronous: full` that would be an fsync on the event loop per new series (a school of 300 sensors
   * reporting 4 metrics: 1,200 of them in its first minute).
   */
  prepareSeries(sensorIds: readonly string[]): void {
    const missing = sensorIds.flatMap((id) => metricNames.filter((m) => this.seriesIds.get(id)?.has(m) !== true).map((m) => [id, m] as const));
    const keyless = sensorIds.filter((id) => !this.sensorKeys.has(id));
    if (missing.length === 0 && keyless.length === 0) return;
    this.db.transaction(() => {
      for (const [id, m] of missing) this.insertSeries.run(id, m);
      for (const id of keyless) this.insertKey.run(id);
    })();
    if (this.db.inTransaction) return; // part of a caller's transaction: not committed yet (see created)
    for (const [id, m] of missing) this.remember(id, m, this.selectSeries.get(id, m) as number);
    for (const id of keyless) this.sensorKeys.set(id, this.selectKey.get(id) as number);
  }

  /**
   * Creates the series (and sensor key) of readings not seen before, outside any transaction, so writeBatch finds every
   * id known and committed. SensorsModule calls it before it queues a message's readings: after prepareSeries, only a check.
   */
  ensureSeries(sensorId: string, readings: readonly Reading[]): void {
    const known = this.seriesIds.get(sensorId);
    for (const r of readings) if (known?.has(r.metric) !== true) this.seriesId(sensorId, r.metric);
    if (!this.sensorKeys.has(sensorId)) this.sensorKey(sensorId);
  }

  /** The series a sensor's metric is stored under, created on its first reading (see created). */
  seriesId(sensorId: string, metric: string): number {
    const known = this.seriesIds.get(sensorId)?.get(metric);
    return known ?? this.created(this.insertSeries, this.selectSeries, [sensorId, metric], (id) => this.remember(sensorId, metric, id));
  }

  /** The key of a sensor's raw rows, created on its first reading (see created). */
  sensorKey(sensorId: string): number {
    const known = this.sensorKeys.get(sensorId);
    return known ?? this.created(this.insertKey, this.selectKey, [sensorId], (id) => this.sensorKeys.set(sensorId, id));
  }

  /**
   * Inserts a row (if missing) and reads its id back. An id created inside a transaction is not remembered:
   * rolled back, it would be handed to the next new series or sensor.
   */
  private created(insert: Statement, select: Statement, args: string[], remember: (id: number) => void): number {
    insert.run(...args);
    const id = select.get(...args) as number;
    if (!this.db.inTransaction) remember(id);
    return id;
  }

  /** Writes one batch; call inside the writer's transaction. */
  writeBatch(readings: readonly Reading[]): void {
    const series = readings.map((r) => this.seriesId(r.sensorId, r.metric));
    this.rawRows.write(readings, (id) => this.sensorKey(id));
    const latest = new Map<number, number>(); // series → index of its newest reading in the batch
    for (let i = 0; i < readings.length; i++) {
      const prev = latest.get(series[i]!);
      if (prev === undefined || readings[i]!.at >= readings[prev]!.at) latest.set(series[i]!, i);
    }
    for (const [id, i] of latest) this.upsertLatest.run(id, readings[i]!.value, readings[i]!.unit, readings[i]!.at);
    for (const a of aggregate(readings, series, MINUTE).values()) this.upsertMinute.run(a.series, a.bucket, a.min, a.max, a.sum, a.count);
    for (const a of aggregate(readings, series, HOUR).values()) this.upsertHour.run(a.series, a.bucket, a.min, a.max, a.sum, a.count);
  }

  latest(): LatestRow[] {
    return this.db
      .prepare(
        `SELECT s.sensor_id AS sensorId, s.metric, l.value, l.unit, l.at FROM sensor_latest l JOIN sensor_series s ON s.id = l.series
         ORDER BY s.sensor_id, s.metric`,
      )
      .all() as LatestRow[];
  }

  /** The newest reading time per sensor, to know on start how long each has been silent. */
  lastSeen(): Map<string, number> {
    const rows = this.db
      .prepare('SELECT s.sensor_id AS id, MAX(l.at) AS at FROM sensor_latest l JOIN sensor_series s ON s.id = l.series GROUP BY s.sensor_id')
      .all() as { id: string; at: number }[];
    return new Map(rows.map((r) => [r.id, r.at]));
  }

  raw(sensorId: string, metric: string, from: number, to: number, limit: number): { t: number; value: number }[] {
    return this.rawRows.series(sensorId, metric, from, to, limit);
  }

  /** Aggregates regrouped to `stepMs` (a multiple of the table's bucket size). */
  aggregated(table: '1m' | '1h', sensorId: string, metric: string, from: number, to: number, stepMs: number, limit: number): AggPoint[] {
    const name = table === '1m' ? 'sensor_agg_1m' : 'sensor_agg_1h';
    return this.db
      .prepare(
        `SELECT CAST(bucket / ? AS INTEGER) * ? AS t, MIN(min) AS min, MAX(max) AS max, SUM(sum) / SUM(count) AS avg, SUM(count) AS count
         FROM ${name} WHERE series = (${SERIES_ID}) AND bucket >= ? AND bucket < ?
         GROUP BY t ORDER BY t LIMIT ?`,
      )
      .all(stepMs, stepMs, sensorId, metric, from, to, limit) as AggPoint[];
  }

  /** Every sensor's hourly aggregates for the hour starting at `hourStart`. */
  hour(hourStart: number): AggRow[] {
    return this.db
      .prepare(
        `SELECT s.sensor_id AS sensorId, s.metric, bucket, min, max, sum, count FROM sensor_agg_1h h JOIN sensor_series s ON s.id = h.series
         WHERE bucket = ? ORDER BY s.sensor_id, s.metric`,
      )
      .all(hourStart) as AggRow[];
  }

  /** A removed sensor's latest values go; its series stays, so its stored rows keep their name until retention. */
  forget(sensorId: string): void {
    this.db.prepare('DELETE FROM sensor_latest WHERE series IN (SELECT id FROM sensor_series WHERE sensor_id = ?)').run(sensorId);
  }

  private remember(sensorId: string, metric: string, id: number): void {
    let metrics = this.seriesIds.get(sensorId);
    if (!metrics) this.seriesIds.set(sensorId, (metrics = new Map()));
    metrics.set(metric, id);
  }
}
