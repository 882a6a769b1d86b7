import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { sensorsSchool, waitForLatest } from './fixtures.js';

const DAY = 86_400_000;
const at = (hms: string): string => `2026-09-01T${hms}Z`;

interface AggPoint {
  t: string;
  min: number;
  max: number;
  avg: number;
  count: number;
}
interface Series {
  step: string;
  points: (AggPoint & { value?: number })[];
}

describe('sensor time series storage', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  async function series(token: string, id: string, q: string): Promise<Series> {
    const res = await gw!.api(`/api/v1/sensors/${id}/series?${q}`, { token });
    expect(res.status).toBe(200);
    return (await res.json()) as Series;
  }

  it('keeps 1-minute and hourly aggregates exact across minute and hour boundaries, also for late readings', async () => {
    const clock = new ManualClock(Date.parse(at('08:05:00')));
    gw = await startTestGateway({ clock, config: sensorsSchool() });
    const token = await gw.login('viewer');
    const c = await gw.mqttClient();
    const readings: [string, number][] = [
      ['07:59:30', 600],
      ['07:59:50', 800],
      ['08:00:10', 1000],
      ['08:00:40', 1200],
      ['08:01:05', 700],
    ];
    // All at once (they share write batches) …
    await Promise.all(readings.map(([t, v]) => c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: v, at: at(t) }))));
    await waitFor(async () => (await series(token, 's-101', `metric=co2&from=${at('07:00:00')}&to=${at('09:00:00')}&step=raw`)).points.length === 5);
    // … then a late one for 07:59, arriving in a batch of its own after the 08:00 bucket exists.
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 400, at: at('07:59:59.500') }));
    await waitFor(async () => (await series(token, 's-101', `metric=co2&from=${at('07:00:00')}&to=${at('09:00:00')}&step=raw`)).points.length === 6);

    const minutes = await series(token, 's-101', `metric=co2&from=${at('07:59:00')}&to=${at('08:02:00')}&step=1m`);
    expect(minutes.points).toEqual([
      { t: at('07:59:00.000'), min: 400, max: 800, avg: 600, count: 3 },
      { t: at('08:00:00.000'), min: 1000, max: 1200, avg: 1100, count: 2 },
      { t: at('08:01:00.000'), min: 700, max: 700, avg: 700, count: 1 },
    ]);
    const hours = await series(token, 's-101', `metric=co2&from=${at('07:00:00')}&to=${at('09:00:00')}&step=1h`);
    expect(hours.points).toEqual([
      { t: at('07:00:00.000'), min: 400, max: 800, avg: 600, count: 3 },
      { t: at('08:00:00.000'), min: 700, max: 1200, avg: 966.667, count: 3 },
    ]);
    // 5-minute steps are regrouped from the minute table.
    const fives = await series(token, 's-101', `metric=co2&from=${at('07:55:00')}&to=${at('08:05:00')}&step=5m`);
    expect(fives.points.map((p) => [p.t, p.count, p.min, p.max])).toEqual([
      [at('07:55:00.000'), 3, 400, 800],
      [at('08:00:00.000'), 3, 700, 1200],
    ]);
    // The latest value is the newest by timestamp, not the last to arrive.
    const latest = await waitForLatest(gw, token, 's-101', 'co2', 700);
    expect(latest.at).toBe(at('08:01:05.000'));

    // Without a step the range decides: 2 h or less raw, longer spans aggregated.
    expect((await series(token, 's-101', `metric=co2&from=${at('07:00:00')}&to=${at('08:30:00')}`)).step).toBe('raw');
    expect((await series(token, 's-101', `metric=co2&from=${at('00:00:00')}&to=${at('09:00:00')}`)).step).toBe('1m');
    expect((await series(token, 's-101', `metric=co2&from=2026-08-25T00:00:00Z&to=${at('09:00:00')}`)).step).toBe('1h');

    // The city's hourly zone summary for 08:00.
    const res = await gw.api(`/api/v1/sensors/zones/hourly?hour=${at('08:30:00')}`, { token });
    const summary = (await res.json()) as { items: { zone: string; hour: string; sensors: number; metrics: Record<string, AggPoint> }[] };
    expect(summary.items).toEqual([
      { zone: 'classroom-101', hour: at('08:00:00.000'), sensors: 1, metrics: { co2: { min: 700, max: 1200, avg: 966.67, count: 3, unit: 'ppm' } } },
    ]);
  });

  it('rejects bad series queries with the field named', async () => {
    gw = await startTestGateway({ config: sensorsSchool() });
    const token = await gw.login('viewer');
    const bad = await gw.api('/api/v1/sensors/s-101/series?metric=ozone', { token });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('query.metric');
    expect((await gw.api('/api/v1/sensors/nope/series?metric=co2', { token })).status).toBe(404);
    const tooMany = await gw.api(`/api/v1/sensors/s-101/series?metric=co2&from=2020-01-01T00:00:00Z&step=1m`, { token });
    expect(tooMany.status).toBe(400);
  });

  it('prunes raw readings after N days, minute aggregates after M days and hourly ones after their years', async () => {
    const clock = new ManualClock(Date.parse(at('10:00:00')));
    gw = await startTestGateway({
      clock,
      config: sensorsSchool({ retention: { rawDays: 1, minuteDays: 2, hourlyDays: 3, pruneEveryS: 0.05, pruneChunkRows: 2 } }),
      // Retention deletes by the wall clock only once something confirms it (storage/retention-clock.ts): here the host.
      hostNtp: async () => true,
    });
    let token = await gw.login('viewer');
    const c = await gw.mqttClient();
    for (let i = 0; i < 5; i++) await c.publishAsync('campus/sensors/s-102', JSON.stringify({ co2: 500 + i }));
    // Raw rows are pruned one sensor at a time (retention.ts): another sensor's rows, two values each, go too.
    for (let i = 0; i < 3; i++) await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 600 + i, temperature: 20 + i }));
    const whole = `metric=co2&from=${at('09:00:00')}&to=${at('11:00:00')}`;
    const tempOf101 = `metric=temperature&from=${at('09:00:00')}&to=${at('11:00:00')}&step=raw`;
    await waitFor(async () => (await series(token, 's-102', `${whole}&step=raw`)).points.length === 5);
    await waitFor(async () => (await series(token, 's-101', tempOf101)).points.length === 3);

    clock.advance(DAY + 60_000);
    token = await gw.login('viewer'); // sessions expire after 12 h of the same clock
    // A fresh reading must survive the pruning of the old ones.
    await c.publishAsync('campus/sensors/s-102', JSON.stringify({ co2: 999 }));
    await waitFor(async () => (await series(token, 's-102', `${whole}&step=raw`)).points.length === 0);
    await waitFor(async () => (await series(token, 's-101', tempOf101)).points.length === 0);
    expect((await series(token, 's-101', `${whole}&step=raw`)).points).toEqual([]);
    expect((await series(token, 's-102', `${whole}&step=1m`)).points.map((p) => p.count)).toEqual([5]);
    expect((await series(token, 's-102', `${whole}&step=1h`)).points.map((p) => p.count)).toEqual([5]);
    const fresh = `metric=co2&from=2026-09-02T09:00:00Z&to=2026-09-02T11:00:00Z`;
    expect((await series(token, 's-102', `${fresh}&step=raw`)).points.map((p) => p.value)).toEqual([999]);

    clock.advance(DAY);
    token = await gw.login('viewer');
    await waitFor(async () => (await series(token, 's-102', `${whole}&step=1m`)).points.length === 0);
    await waitFor(async () => (await series(token, 's-101', `${whole}&step=1m`)).points.length === 0);
    expect((await series(token, 's-101', `${whole}&step=1h`)).points.map((p) => p.count)).toEqual([3]);
    expect((await series(token, 's-102', `${whole}&step=1h`)).points.map((p) => p.count)).toEqual([5]);

    clock.advance(DAY);
    token = await gw.login('viewer');
    await waitFor(async () => (await series(token, 's-102', `${whole}&step=1h`)).points.length === 0);
    const pruned = await (await gw.api('/metrics')).text();
    // A raw row per message: s-102's 5 old ones and, by now, its fresh one too; s-101's 3.
    expect(pruned).toMatch(/campus_sensor_pruned_rows_total\{table="raw"\} 9/);
  });
});
