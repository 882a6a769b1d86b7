/**
 * Raw sensor readings, one row per message (migration 34): the sensor's key, the time, and a column per catalog
 * metric, NULL where the message had no value.
 *
 * A row is inserted with the columns it holds, not with a NULL bound for every other metric: a sensor model sends the
 * same metrics in every message, so a few statements serve a school, and binding 5 values instead of 14 saves
 * ~0.4 µs a message (a microbenchmark: 1.9–2.1 against 2.3–2.7 µs per row with its index). A device that sends ever
 * new sets of metrics cannot make the gateway prepare 4,096 statements: past MAX_SHAPES sets, rows go through the
 * statement with every column.
 */
import type { Statement } from 'better-sqlite3';
import type { Database } from '../storage/db.js';
import type { Reading } from './contract.js';
import { metricNames } from './metrics.js';

/** Sets of metrics with a statement of their own; a school's sensor models need a handful. */
const MAX_SHAPES = 32;
const ALL = (1 << metricNames.length) - 1;
const BIT = new Map<string, number>(metricNames.map((m, i) => [m, i]));
/** A sensor's key for its raw rows. */
export const SENSOR_KEY = 'SELECT id FROM sensor_keys WHERE sensor_id = ?';

/**
 * How many values the raw rows in `sensor_readings` hold, as an SQL expression to SUM: a row holds one per non-NULL
 * metric column. For counting stored readings (benchmarks, tests).
 */
export const RAW_VALUE_COUNT = metricNames.map((m) => `(${m} IS NOT NULL)`).join(' + ');

export class RawRows {
  /** Bits of the metrics a row holds → its insert statement. */
  private readonly inserts = new Map<number, Statement>();
  /** metric → its raw-series query, made on first use. */
  private readonly queries = new Map<string, Statement>();
  private readonly values: number[] = new Array<number>(metricNames.length).fill(0);

  constructor(private readonly db: Database) {}

  /**
   * Inserts the readings; consecutive ones of one sensor at one time (a message's values) share a row. Call inside
   * the writer's transaction. `keyOf` gives a sensor's key (SensorStore.sensorKey).
   */
  write(readings: readonly Reading[], keyOf: (sensorId: string) => number): void {
    let rowOf: Reading | undefined; // the first reading of the row being filled
    let bits = 0;
    for (const r of readings) {
      const i = BIT.get(r.metric)!;
      if (rowOf && (r.sensorId !== rowOf.sensorId || r.at !== rowOf.at || (bits & (1 << i)) !== 0)) {
        this.insert(keyOf(rowOf.sensorId), rowOf.at, bits);
        bits = 0;
      }
      if (bits === 0) rowOf = r;
      bits |= 1 << i;
      this.values[i] = r.value;
    }
    if (rowOf && bits !== 0) this.insert(keyOf(rowOf.sensorId), rowOf.at, bits);
  }

  /** One metric of a sensor between two times, oldest first; nothing for a name outside the catalog. */
  series(sensorId: string, metric: string, from: number, to: number, limit: number): { t: number; value: number }[] {
    if (!BIT.has(metric)) return []; // a column name below: only catalog metrics
    let query = this.queries.get(metric);
    if (!query) {
      query = this.db.prepare(
        `SELECT at AS t, ${metric} AS value FROM sensor_readings WHERE sensor = (${SENSOR_KEY}) AND at >= ? AND at < ? AND ${metric} IS NOT NULL
         ORDER BY at, rowid LIMIT ?`,
      );
      this.queries.set(metric, query);
    }
    return query.all(sensorId, from, to, limit) as { t: number; value: number }[];
  }

  private insert(key: number, at: number, bits: number): void {
    const shape = this.inserts.has(bits) || this.inserts.size < MAX_SHAPES ? bits : ALL;
    const args: (number | null)[] = [key, at];
    for (let i = 0; i < metricNames.length; i++) {
      if ((bits & (1 << i)) !== 0) args.push(this.values[i]!);
      else if ((shape & (1 << i)) !== 0) args.push(null);
    }
    this.statement(shape).run(args);
  }

  private statement(bits: number): Statement {
    let s = this.inserts.get(bits);
    if (!s) {
      const columns = metricNames.filter((_, i) => (bits & (1 << i)) !== 0);
      const params = new Array(2 + columns.length).fill('?').join(', ');
      s = this.db.prepare(`INSERT INTO sensor_readings (sensor, at, ${columns.join(', ')}) VALUES (${params})`);
      this.inserts.set(bits, s);
    }
    return s;
  }
}
