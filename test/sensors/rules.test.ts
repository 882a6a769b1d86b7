/**
 * Sensor threshold and silence rules as the domain runs them, without the rest of the gateway: a real SQLite file,
 * the real alert service, registry and payload families (native, Zigbee2MQTT, Tasmota), payloads handed to the
 * ingest as the broker would, and the rules' timer ticked by hand on a controllable clock.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sensorsConfig } from '../../config/sensors.js';
import { sensorPayloadFamilies } from '../../drivers/sensors/index.js';
import { alertMigrations, AlertService, type Alert } from '../../gateway/alerts/alerts.js';
import { EventBus } from '../../gateway/core/bus.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { topicMatches } from '../../gateway/core/mqtt-port.js';
import { SensorIngest } from '../../gateway/sensors/ingest.js';
import { sensorMigrations } from '../../gateway/sensors/module.js';
import { SensorRegistry } from '../../gateway/sensors/registry.js';
import { RuleEngine } from '../../gateway/sensors/rules.js';
import { SensorStore } from '../../gateway/sensors/storage.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';
import { sensorsSchool } from './fixtures.js';

const MIN = 60_000;

interface Domain {
  db: Database;
  rules: RuleEngine;
  /** A payload arriving on a topic, as the broker hands it to the sensors domain. */
  publish(topic: string, payload: object): void;
  alerts(type: string): Alert[];
}

describe('sensor threshold rules on a controllable clock', () => {
  const dirs: string[] = [];
  const open: Database[] = [];
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** The sensors domain of the test school on a database file in `dir` (a new one unless given: a restart). */
  function start(clock: ManualClock, dir = tempDir('campus-sensor-rules-')): Domain & { dir: string } {
    if (!dirs.includes(dir)) dirs.push(dir);
    const cfg = sensorsConfig.parse(sensorsSchool().sensors);
    const db = openDatabase(join(dir, 'gateway.db'), [...metaMigrations, ...alertMigrations, ...sensorMigrations]);
    open.push(db);
    const log = pino({ level: 'silent' });
    const alertService = new AlertService(db, new EventBus(), clock, 300_000);
    const registry = new SensorRegistry(db, clock, cfg.sensors);
    const rules = new RuleEngine(alertService, clock, registry, { thresholds: cfg.thresholds, offlineAfterIntervals: cfg.offlineAfterIntervals });
    rules.init(new SensorStore(db).lastSeen());
    const ingest = new SensorIngest(
      registry,
      clock,
      { maxPayloadBytes: cfg.maxPayloadBytes, maxClockSkewS: cfg.maxClockSkewS, rawDays: cfg.retention.rawDays, rejectLogEveryS: cfg.rejectLogEveryS },
      (sensor, readings, now) => rules.onReadings(sensor, readings, now),
      log,
      new Registry(),
    );
    return {
      dir,
      db,
      rules,
      publish(topic, payload) {
        const family = sensorPayloadFamilies.find((f) => topicMatches(f.filter, topic));
        if (!family) throw new Error(`no sensor family for ${topic}`);
        ingest.handle(family, topic, Buffer.from(JSON.stringify(payload)));
      },
      alerts: (type) => alertService.list({ type, limit: 100 }).items,
    };
  }

  it('CO2 above 1500 ppm for 5 minutes in a classroom raises co2_high; it resolves only under the 1400 ppm band', () => {
    const clock = new ManualClock();
    const d = start(clock);
    const co2 = (v: number): void => d.publish('campus/sensors/s-101', { co2: v });

    co2(1800);
    clock.advance(4 * MIN);
    co2(1800);
    expect(d.alerts('co2_high')).toEqual([]); // not long enough yet

    clock.advance(MIN + 1000);
    co2(1800);
    const [raised] = d.alerts('co2_high');
    expect(raised).toMatchObject({ severity: 'warning', status: 'open', zone: 'classroom-101', source: 'sensor:s-101' });
    expect(raised!.data).toMatchObject({ sensorId: 's-101', metric: 'co2', value: 1800, above: 1500, clearAt: 1400 });

    clock.advance(MIN);
    co2(1450); // under the threshold but inside the hysteresis band: still stuffy
    co2(1520);
    expect(d.alerts('co2_high').map((a) => a.status)).toEqual(['open']);

    clock.advance(MIN);
    co2(1350);
    expect(d.alerts('co2_high').map((a) => a.status)).toEqual(['open']); // clear, but not yet for clearForS (60 s)
    clock.advance(MIN);
    co2(1340);
    expect(d.alerts('co2_high').map((a) => a.status)).toEqual(['resolved']);
  });

  it('a dip under the threshold restarts the duration', () => {
    const clock = new ManualClock();
    const d = start(clock);
    for (const [advance, v] of [[0, 1700], [3 * MIN, 1490], [MIN, 1700], [4 * MIN, 1700]] as const) {
      clock.advance(advance);
      d.publish('campus/sensors/s-102', { co2: v });
    }
    expect(d.alerts('co2_high')).toEqual([]);
  });

  it('the duration runs out between readings too (checked on a timer)', () => {
    const clock = new ManualClock();
    const d = start(clock);
    d.publish('campus/sensors/s-101', { co2: 1600 });
    clock.advance(2.5 * MIN);
    d.publish('campus/sensors/s-101', { co2: 1610 });
    d.rules.tick();
    expect(d.alerts('co2_high')).toEqual([]);
    clock.advance(2.5 * MIN + 1000); // no reading comes: the timer notices the 5 minutes are over
    d.rules.tick();
    expect(d.alerts('co2_high')).toEqual([expect.objectContaining({ status: 'open', zone: 'classroom-101' })]);
  });

  it('a breach whose sensor fell silent does not escalate on stale data', () => {
    const clock = new ManualClock();
    const d = start(clock);
    d.publish('campus/sensors/s-101', { co2: 1600 });
    clock.advance(6 * MIN);
    d.rules.tick();
    expect(d.alerts('sensor_offline').some((a) => a.source === 'sensor:s-101')).toBe(true);
    expect(d.alerts('co2_high')).toEqual([]);
  });

  it('CO2 rules apply only to the zones they name', () => {
    const clock = new ManualClock();
    const d = start(clock);
    d.publish('zigbee2mqtt/lab/air sensor', { co2: 2500 });
    clock.advance(10 * MIN);
    d.publish('zigbee2mqtt/lab/air sensor', { co2: 2600 });
    d.rules.tick();
    expect(d.alerts('co2_high')).toEqual([]);
  });

  it('{"smoke":true} raises a critical alert at once; it resolves once false has lasted clearForS, on the timer', () => {
    const clock = new ManualClock();
    const d = start(clock);
    d.publish('campus/sensors/smoke-dorm', { smoke: true });
    expect(d.alerts('smoke_detected')).toEqual([
      expect.objectContaining({ severity: 'critical', status: 'open', zone: 'dorm-a', source: 'sensor:smoke-dorm' }),
    ]);
    d.publish('campus/sensors/smoke-dorm', { smoke: true });
    d.publish('campus/sensors/smoke-dorm', { smoke: false });
    clock.advance(59_000);
    d.rules.tick();
    expect(d.alerts('smoke_detected').map((a) => a.status)).toEqual(['open']);
    // The detector reports every 300 s: no reading comes, the timer resolves it.
    clock.advance(1000);
    d.rules.tick();
    expect(d.alerts('smoke_detected')).toEqual([expect.objectContaining({ status: 'resolved', resolveNote: 'smoke back to false' })]);
  });

  it('a detector flapping between true and false keeps one alert open; a true inside the hold starts it again', () => {
    const clock = new ManualClock();
    const d = start(clock);
    for (let i = 0; i < 50; i++) {
      d.publish('campus/sensors/smoke-dorm', { smoke: true });
      clock.advance(20);
      d.publish('campus/sensors/smoke-dorm', { smoke: false });
      clock.advance(20);
    }
    clock.advance(50_000);
    d.publish('campus/sensors/smoke-dorm', { smoke: true }); // 50 s after the last false: the hold starts again
    d.publish('campus/sensors/smoke-dorm', { smoke: false });
    clock.advance(50_000);
    d.rules.tick();
    expect(d.alerts('smoke_detected').map((a) => [a.status, a.count])).toEqual([['open', 1]]);
    clock.advance(10_000);
    d.rules.tick();
    expect(d.alerts('smoke_detected').map((a) => a.status)).toEqual(['resolved']);
  });

  it('a Zigbee water-leak sensor raises water_leak at once', () => {
    const clock = new ManualClock();
    const d = start(clock);
    d.publish('zigbee2mqtt/lab/air sensor', { water_leak: true, battery: 90 });
    expect(d.alerts('water_leak')).toEqual([expect.objectContaining({ severity: 'critical', zone: 'lab-1' })]);
  });

  it('a sensor silent for 3 intervals raises sensor_offline, which resolves when it reports again', () => {
    const clock = new ManualClock();
    const d = start(clock);
    for (const id of ['s-101', 's-102', 'smoke-dorm']) d.publish(`campus/sensors/${id}`, { battery: 80 });
    d.publish('zigbee2mqtt/lab/air sensor', { battery: 80 });
    d.publish('tele/canteen_air/SENSOR', { X: { Temperature: 20 } });

    clock.advance(2 * MIN);
    d.publish('campus/sensors/s-102', { battery: 79 });
    clock.advance(MIN + 1000); // s-101 is now 3 min 1 s silent (interval 60 s), s-102 only 1 min
    d.rules.tick();
    const offline = d.alerts('sensor_offline');
    expect(offline.find((a) => a.source === 'sensor:s-101')).toMatchObject({ severity: 'warning', zone: 'classroom-101', status: 'open' });
    expect(offline.some((a) => a.source === 'sensor:s-102' || a.source === 'sensor:smoke-dorm')).toBe(false);
    expect(d.rules.isOffline('s-101')).toBe(true);

    d.publish('campus/sensors/s-101', { battery: 78 });
    expect(d.alerts('sensor_offline').find((a) => a.source === 'sensor:s-101')?.status).toBe('resolved');
  });

  it('an alert still open when the gateway restarts is resolved when the condition clears after the restart', () => {
    const clock = new ManualClock();
    const first = start(clock);
    first.publish('campus/sensors/smoke-dorm', { smoke: true });
    expect(first.alerts('smoke_detected')).toHaveLength(1);
    first.db.close();
    open.splice(open.indexOf(first.db), 1);

    const d = start(clock, first.dir);
    d.publish('campus/sensors/smoke-dorm', { smoke: true });
    d.publish('campus/sensors/smoke-dorm', { smoke: false });
    clock.advance(MIN);
    d.publish('campus/sensors/smoke-dorm', { smoke: false });
    expect(d.alerts('smoke_detected').map((a) => a.status)).toEqual(['resolved']);
  });
});
