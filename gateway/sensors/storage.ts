/**
 * Time series in SQLite. Every batch of readings is one write op on the gateway's BatchWriter (one transaction):
 * the raw rows, the latest value per sensor and metric, and the 1-minute and hourly aggregates are written together,
 * so the aggregates always agree with the raw rows they were built from. Aggregates keep sum and count (not the
 * average) so that upserting a bucket twice — a late reading, a batch across a minute boundary — stays exact.
 */
import type { Statement } from 'better-sqlite3';
import type { MetricName } from '../../config/sensors.js';
import type { Database, Migration } from '../storage/db.js';
import type { Reading } from './contract.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const aggTable = (name: string): string => `
  CREATE TABLE ${name} (
    sensor_id TEXT NOT NULL, metric TEXT NOT NULL, bucket INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, metric, bucket)) WITHOUT ROWID;
  CREATE INDEX ${name}_bucket ON ${name} (bucket);`;

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
  sensorId: string;
  metric: string;
  bucket: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

function aggregate(readings: readonly Reading[], size: number): Map<string, Agg> {
  const out = new Map<string, Agg>();
  for (const r of readings) {
    const bucket = Math.floor(r.at / size) * size;
    const key = `${r.sensorId}\0${r.metric}\0${bucket}`;
    const a = out.get(key);
    if (!a) out.set(key, { sensorId: r.sensorId, metric: r.metric, bucket, min: r.value, max: r.value, sum: r.value, count: 1 });
    else {
      if (r.value < a.min) a.min = r.value;
      if (r.value > a.max) a.max = r.value;
      a.sum += r.value;
      a.count++;
    }
  }
  return out;
}

export class SensorStore {
  private readonly insertRaw: Statement;
  private readonly upsertLatest: Statement;
  private readonly upsertMinute: Statement;
  private readonly upsertHour: Statement;

  constructor(private readonly db: Database) {
    this.insertRaw = db.prepare('INSERT INTO sensor_readings (sensor_id, metric, value, at) VALUES (?, ?, ?, ?)');
    this.upsertLatest = db.prepare(
      `INSERT INTO sensor_latest (sensor_id, metric, value, unit, at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sensor_id, metric) DO UPDATE SET value = excluded.value, unit = excluded.unit, at = excluded.at
       WHERE excluded.at >= sensor_latest.at`,
    );
    const upsertAgg = (table: string): Statement =>
      db.prepare(
        `INSERT INTO ${table} (sensor_id, metric, bucket, min, max, sum, count) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sensor_id, metric, bucket) DO UPDATE SET
           min = min(${table}.min, excluded.min), max = max(${table}.max, excluded.max),
           sum = ${table}.sum + excluded.sum, count = ${table}.count + excluded.count`,
      );
    this.upsertMinute = upsertAgg('sensor_agg_1m');
    this.upsertHour = upsertAgg('sensor_agg_1h');
  }

  /** Writes one batch; call inside the writer's transaction. */
  writeBatch(readings: readonly Reading[]): void {
    const latest = new Map<string, Reading>();
    for (const r of readings) {
      this.insertRaw.run(r.sensorId, r.metric, r.value, r.at);
      const key = `${r.sensorId}\0${r.metric}`;
      const prev = latest.get(key);
      if (!prev || r.at >= prev.at) latest.set(key, r);
    }
    for (const r of latest.values()) this.upsertLatest.run(r.sensorId, r.metric, r.value, r.unit, r.at);
    for (const a of aggregate(readings, MINUTE).values()) this.upsertMinute.run(a.sensorId, a.metric, a.bucket, a.min, a.max, a.sum, a.count);
    for (const a of aggregate(readings, HOUR).values()) this.upsertHour.run(a.sensorId, a.metric, a.bucket, a.min, a.max, a.sum, a.count);
  }

  latest(): LatestRow[] {
    return this.db
      .prepare('SELECT sensor_id AS sensorId, metric, value, unit, at FROM sensor_latest ORDER BY sensor_id, metric')
      .all() as LatestRow[];
  }

  /** The newest reading time per sensor, to know on start how long each has been silent. */
  lastSeen(): Map<string, number> {
    const rows = this.db.prepare('SELECT sensor_id AS id, MAX(at) AS at FROM sensor_latest GROUP BY sensor_id').all() as { id: string; at: number }[];
    return new Map(rows.map((r) => [r.id, r.at]));
  }

  raw(sensorId: string, metric: string, from: number, to: number, limit: number): { t: number; value: number }[] {
    return this.db
      .prepare(
        `SELECT at AS t, value FROM sensor_readings WHERE sensor_id = ? AND metric = ? AND at >= ? AND at < ?
         ORDER BY at, rowid LIMIT ?`,
      )
      .all(sensorId, metric, from, to, limit) as { t: number; value: number }[];
  }

  /** Aggregates regrouped to `stepMs` (a multiple of the table's bucket size). */
  aggregated(table: '1m' | '1h', sensorId: string, metric: string, from: number, to: number, stepMs: number, limit: number): AggPoint[] {
    const name = table === '1m' ? 'sensor_agg_1m' : 'sensor_agg_1h';
    return this.db
      .prepare(
        `SELECT CAST(bucket / ? AS INTEGER) * ? AS t, MIN(min) AS min, MAX(max) AS max, SUM(sum) / SUM(count) AS avg, SUM(count) AS count
         FROM ${name} WHERE sensor_id = ? AND metric = ? AND bucket >= ? AND bucket < ?
         GROUP BY t ORDER BY t LIMIT ?`,
      )
      .all(stepMs, stepMs, sensorId, metric, from, to, limit) as AggPoint[];
  }

  /** Every sensor's hourly aggregates for the hour starting at `hourStart`. */
  hour(hourStart: number): AggRow[] {
    return this.db
      .prepare('SELECT sensor_id AS sensorId, metric, bucket, min, max, sum, count FROM sensor_agg_1h WHERE bucket = ? ORDER BY sensor_id, metric')
      .all(hourStart) as AggRow[];
  }

  forget(sensorId: string): void {
    this.db.prepare('DELETE FROM sensor_latest WHERE sensor_id = ?').run(sensorId);
  }
}
