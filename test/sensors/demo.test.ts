import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { demoConfig } from '../../config/demo.js';
import { simulatedPayload } from '../../drivers/sensors/simulated.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForLatest } from './fixtures.js';

const sensor = { id: 'sim-sensor-102', zone: 'classroom-102', kind: 'environment', intervalS: 30 };
const tz = 'Asia/Shanghai';
// Tuesday 2026-09-01 in Shanghai (UTC+8)
const local = (hh: number, mm = 0): number => Date.UTC(2026, 8, 1, hh - 8, mm);

describe('demo sensors', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true });
  });
  afterAll(async () => gw.close());

  it('demo-sensor-101 takes readings from anonymous clients, as a real sensor would', async () => {
    const token = await gw.login('viewer');
    const anon = await gw.mqttClient();
    await anon.publishAsync('campus/sensors/demo-sensor-101', JSON.stringify({ temperature: 24.1, co2: 950 }));
    const item = await waitForLatest(gw, token, 'demo-sensor-101', 'co2', 950);
    expect(item.zone).toBe('classroom-101');
  });

  it('simulated sensors report through the broker from the start', async () => {
    const token = await gw.login('viewer');
    const res = await gw.api('/api/v1/sensors/latest?zone=classroom-103', { token });
    const deadline = Date.now() + 5000;
    let items = ((await res.json()) as { items: { metric: string }[] }).items;
    while (items.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      items = ((await (await gw.api('/api/v1/sensors/latest?zone=classroom-103', { token })).json()) as { items: { metric: string }[] }).items;
    }
    expect(items.map((i) => i.metric).sort()).toEqual(['co2', 'humidity', 'illuminance', 'noise', 'pm25', 'temperature']);
  });
});

describe('simulated sensor values', () => {
  const opts = { timezone: tz, startedAt: local(0), stuffy: false, lessonCycleS: 600 };

  it('follow a school day: fresh air at night, CO2 building during lessons, every value plausible', () => {
    const night = simulatedPayload(sensor, local(3), opts);
    const lesson = simulatedPayload(sensor, local(9, 40), opts);
    expect(night.co2).toBeLessThan(500);
    expect(lesson.co2).toBeGreaterThan(900);
    expect(lesson.co2).toBeLessThan(1500); // ordinary classrooms stay under the threshold
    expect(lesson.noise as number).toBeGreaterThan(night.noise as number);
    const weekend = simulatedPayload(sensor, Date.UTC(2026, 8, 5, 9 - 8, 40), opts);
    expect(weekend.co2).toBeLessThan(500);
  });

  it('the stuffy classroom passes 1500 ppm within two minutes of the demo start and airs out in the break', () => {
    const startedAt = local(10);
    const stuffy = { ...opts, startedAt, stuffy: true };
    expect(simulatedPayload(sensor, startedAt, stuffy).co2).toBeLessThan(1000);
    expect(simulatedPayload(sensor, startedAt + 120_000, stuffy).co2).toBeGreaterThan(1500);
    // above the threshold for longer than the demo's 2-minute duration …
    for (let s = 120; s <= 350; s += 10) expect(simulatedPayload(sensor, startedAt + s * 1000, stuffy).co2).toBeGreaterThan(1500);
    // … and under the 1400 ppm hysteresis band soon after the break starts
    expect(simulatedPayload(sensor, startedAt + 400_000, stuffy).co2).toBeLessThan(1400);
  });

  it('the demo school uses a 2-minute CO2 duration and names the stuffy room; the defaults keep 5 minutes', () => {
    const demo = validateConfig(demoConfig, 'demo').sensors;
    expect(demo.simulation.stuffyRoomSensor).toBe('sim-sensor-103');
    expect(demo.thresholds.find((t) => t.type === 'co2_high')).toMatchObject({ forS: 120, above: 1500, clearAt: 1400 });
    const defaults = validateConfig({}, 'defaults').sensors;
    expect(defaults.thresholds.find((t) => t.type === 'co2_high')).toMatchObject({ forS: 300, zones: ['classroom-*'] });
    expect(defaults.thresholds.find((t) => t.type === 'smoke_detected')).toMatchObject({ zones: ['*'], severity: 'critical' });
  });
});
