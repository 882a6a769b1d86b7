import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, waitFor } from '../helpers/gateway.js';
import { sensorsSchool, waitForLatest } from './fixtures.js';
import { sensorMigrations } from '../../gateway/sensors/module.js';
import { SensorStore } from '../../gateway/sensors/storage.js';
import { metricName, type MetricName } from '../../config/sensors.js';
import type { Reading } from '../../gateway/sensors/contract.js';
import { migrate, openDatabase, type Database } from '../../gateway/storage/db.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-09-01T08:00:00Z');

// The database a test below opens, closed and removed after it.
let dir: string | undefined;
let db: Database | undefined;
afterEach(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = dir = undefined;
});

describe('sensor rows keyed by series (migration 32)', () => {
  it('carries a gateway’s stored readings, latest values and aggregates over, and keeps adding to them exactly', () => {
    dir = mkdtempSync(join(tmpdir(), 'series-migration-'));
    // The database as a gateway before this migration left it.
    db = openDatabase(join(dir, 'gateway.db'), sensorMigrations.filter((m) => m.version < 32));
    const raw = db.prepare('INSERT INTO sensor_readings (sensor_id, metric, value, at) VALUES (?, ?, ?, ?)');
    raw.run('s-101', 'co2', 600, T0);
    raw.run('s-101', 'co2', 800, T0 + 30_000);
    raw.run('s-101', 'temperature', 21.5, T0);
    raw.run('s-202', 'co2', 450, T0 + 10_000);
    db.exec(`
      INSERT INTO sensor_latest VALUES ('s-101', 'co2', 800, 'ppm', ${T0 + 30_000}), ('s-101', 'temperature', 21.5, '°C', ${T0}),
        ('s-202', 'co2', 450, 'ppm', ${T0 + 10_000});
      INSERT INTO sensor_agg_1m VALUES ('s-101', 'co2', ${T0}, 600, 800, 1400, 2), ('s-101', 'temperature', ${T0}, 21.5, 21.5, 21.5, 1),
        ('s-202', 'co2', ${T0}, 450, 450, 450, 1);
      INSERT INTO sensor_agg_1h VALUES ('s-101', 'co2', ${T0}, 600, 800, 1400, 2), ('s-101', 'temperature', ${T0}, 21.5, 21.5, 21.5, 1),
        ('s-202', 'co2', ${T0}, 450, 450, 450, 1),
        -- an hour whose raw rows retention has already pruned: its aggregate must survive on its own
        ('s-303', 'humidity', ${T0 - 48 * HOUR}, 40, 60, 100, 2);`);

    expect(migrate(db, sensorMigrations)).toBeGreaterThanOrEqual(32);
    const store = new SensorStore(db);
    expect(store.latest()).toEqual([
      { sensorId: 's-101', metric: 'co2', value: 800, unit: 'ppm', at: T0 + 30_000 },
      { sensorId: 's-101', metric: 'temperature', value: 21.5, unit: '°C', at: T0 },
      { sensorId: 's-202', metric: 'co2', value: 450, unit: 'ppm', at: T0 + 10_000 },
    ]);
    expect(store.raw('s-101', 'co2', T0, T0 + HOUR, 10)).toEqual([
      { t: T0, value: 600 },
      { t: T0 + 30_000, value: 800 },
    ]);
    // Migration 34 copied every value into a raw row of its own sensor, whatever its metric.
    expect(store.raw('s-101', 'temperature', T0, T0 + HOUR, 10)).toEqual([{ t: T0, value: 21.5 }]);
    expect(store.raw('s-202', 'co2', T0, T0 + HOUR, 10)).toEqual([{ t: T0 + 10_000, value: 450 }]);
    expect(store.hour(T0 - 48 * HOUR)).toEqual([{ sensorId: 's-303', metric: 'humidity', bucket: T0 - 48 * HOUR, min: 40, max: 60, sum: 100, count: 2 }]);

    // A reading after the upgrade lands in the same series and bucket as those before it.
    const later = { sensorId: 's-101', metric: 'co2' as const, value: 1000, unit: 'ppm', at: T0 + 45_000 };
    store.ensureSeries('s-101', [later]);
    db.transaction(() => store.writeBatch([later]))();
    expect(store.raw('s-101', 'co2', T0, T0 + HOUR, 10)).toHaveLength(3);
    expect(store.aggregated('1m', 's-101', 'co2', T0, T0 + HOUR, 60_000, 10)).toEqual([{ t: T0, min: 600, max: 1000, avg: 800, count: 3 }]);
    expect(store.latest()[0]).toEqual({ sensorId: 's-101', metric: 'co2', value: 1000, unit: 'ppm', at: T0 + 45_000 });
  });

  it('never remembers a series id from a transaction that was rolled back', () => {
    dir = mkdtempSync(join(tmpdir(), 'series-migration-'));
    db = openDatabase(join(dir, 'gateway.db'), sensorMigrations);
    const store = new SensorStore(db);
    const reading = { sensorId: 's-101', metric: 'co2' as const, value: 700, unit: 'ppm', at: T0 };
    // The first reading of a series, written in a batch that fails after the series row was created.
    expect(() =>
      db!.transaction(() => {
        store.writeBatch([reading]);
        throw new Error('disk full');
      })(),
    ).toThrow('disk full');
    // Another series takes the id SQLite gives out next; the first one's readings must not land under it.
    store.seriesId('s-202', 'humidity');
    db.transaction(() => store.writeBatch([reading, { ...reading, sensorId: 's-202', metric: 'humidity', value: 55, unit: '%' }]))();
    expect(store.raw('s-101', 'co2', T0, T0 + HOUR, 10)).toEqual([{ t: T0, value: 700 }]);
    expect(store.raw('s-202', 'humidity', T0, T0 + HOUR, 10)).toEqual([{ t: T0, value: 55 }]);
  });
});

describe('raw readings, one row per message (migration 34)', () => {
  const reading = (sensorId: string, metric: MetricName, value: number, at: number): Reading => ({ sensorId, metric, value, unit: '', at });
  const rows = (): number => (db!.prepare('SELECT COUNT(*) AS n FROM sensor_readings').get() as { n: number }).n;

  it('has a column for every metric of the catalog', () => {
    dir = mkdtempSync(join(tmpdir(), 'raw-rows-'));
    db = openDatabase(join(dir, 'gateway.db'), sensorMigrations);
    const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').all('sensor_readings') as { name: string }[]).map((c) => c.name);
    // A metric added to config/sensors.ts needs a migration adding its column to sensor_readings.
    expect(columns).toEqual(expect.arrayContaining([...metricName.options]));
    const store = new SensorStore(db);
    const all = metricName.options.map((m, i) => reading('s-101', m, i, T0));
    db.transaction(() => store.writeBatch(all))();
    expect(rows()).toBe(1);
    for (const [i, m] of metricName.options.entries()) expect(store.raw('s-101', m, T0, T0 + 1, 10)).toEqual([{ t: T0, value: i }]);
  });

  it('stores every set of metrics a device sends, also past the sets that get a statement of their own', () => {
    dir = mkdtempSync(join(tmpdir(), 'raw-rows-'));
    db = openDatabase(join(dir, 'gateway.db'), sensorMigrations);
    const store = new SensorStore(db);
    const metrics = metricName.options;
    // 60 messages, each with another pair of metrics (a device cycling through its probes, or a hostile one).
    const sent: Reading[] = [];
    for (let n = 0; n < 60; n++) {
      const a = metrics[n % metrics.length]!;
      const b = metrics[(n + 1 + Math.floor(n / metrics.length)) % metrics.length]!;
      for (const m of a === b ? [a] : [a, b]) sent.push(reading('s-101', m, n, T0 + n));
    }
    db.transaction(() => store.writeBatch(sent))();
    expect(rows()).toBe(60);
    for (const m of metrics) {
      const expected = sent.filter((r) => r.metric === m).map((r) => ({ t: r.at, value: r.value }));
      expect(store.raw('s-101', m, T0, T0 + HOUR, 100)).toEqual(expected);
    }
  });

  it('keeps every value when messages share a sensor and a millisecond, and each sensor its own rows', () => {
    dir = mkdtempSync(join(tmpdir(), 'raw-rows-'));
    db = openDatabase(join(dir, 'gateway.db'), sensorMigrations);
    const store = new SensorStore(db);
    db.transaction(() =>
      store.writeBatch([
        reading('s-101', 'co2', 600, T0),
        reading('s-101', 'temperature', 21, T0),
        // a second message in the same millisecond: its co2 starts a row of its own
        reading('s-101', 'co2', 610, T0),
        reading('s-202', 'co2', 450, T0),
        reading('s-101', 'co2', 620, T0 + 1),
      ]),
    )();
    expect(rows()).toBe(4);
    expect(store.raw('s-101', 'co2', T0, T0 + HOUR, 10).map((p) => p.value)).toEqual([600, 610, 620]);
    expect(store.raw('s-101', 'temperature', T0, T0 + HOUR, 10).map((p) => p.value)).toEqual([21]);
    expect(store.raw('s-202', 'co2', T0, T0 + HOUR, 10).map((p) => p.value)).toEqual([450]);
    expect(store.raw('s-202', 'temperature', T0, T0 + HOUR, 10)).toEqual([]);
    // A name that is not a catalog metric never reaches the SQL as a column.
    expect(store.raw('s-101', 'co2 FROM sensor_keys --', T0, T0 + HOUR, 10)).toEqual([]);
  });
});

describe('a series that cannot be created', () => {
  it('counts the readings as lost and keeps storing the series that exist', async () => {
    const gw = await startTestGateway({ config: sensorsSchool() });
    try {
      const token = await gw.login('viewer');
      const admin = await gw.login('admin');
      const c = await gw.mqttClient();
      await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 700 }));
      await waitForLatest(gw, token, 's-101', 'co2', 700);
      // The database refuses new series from now on, as a full disk would; a sensor added now is registered anyway.
      gw.ctx.db.exec("CREATE TRIGGER no_new_series BEFORE INSERT ON sensor_series BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END");
      const added = await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: { id: 's-201', zone: 'classroom-201', intervalS: 60 } });
      expect(added.status).toBe(201);
      const failures = async (): Promise<number> => {
        const line = (await (await gw.api('/metrics')).text()).split('\n').find((l) => l.startsWith('campus_sensor_write_failures_total '));
        return line ? Number(line.split(' ')[1]) : 0;
      };
      await c.publishAsync('campus/sensors/s-201', JSON.stringify({ humidity: 40, temperature: 21 }));
      await waitFor(async () => (await failures()) === 2);
      await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 720 }));
      await waitForLatest(gw, token, 's-101', 'co2', 720);
      expect(await failures()).toBe(2);
    } finally {
      await gw.close();
    }
  });
});

describe('series made ahead of the readings', () => {
  it('has every catalog metric of every sensor before its first reading, also for a sensor added through the API', async () => {
    const gw = await startTestGateway({ config: sensorsSchool() });
    try {
      const db = gw.ctx.db;
      const series = (): number => db.prepare('SELECT COUNT(*) FROM sensor_series').pluck().get() as number;
      const metrics = metricName.options.length;
      expect(series()).toBe(5 * metrics);
      const token = await gw.login('viewer');
      const c = await gw.mqttClient();
      await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 700, pm25: 12 }));
      await waitForLatest(gw, token, 's-101', 'pm25', 12);
      expect(series()).toBe(5 * metrics);
      const admin = await gw.login('admin');
      const res = await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: { id: 's-201', zone: 'classroom-201', intervalS: 60 } });
      expect(res.status).toBe(201);
      expect(db.prepare("SELECT COUNT(*) FROM sensor_series WHERE sensor_id = 's-201'").pluck().get()).toBe(metrics);
    } finally {
      await gw.close();
    }
  });
});
