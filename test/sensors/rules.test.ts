import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { alerts, sensorsSchool, waitForLatest } from './fixtures.js';

const MIN = 60_000;

describe('sensor threshold rules on a controllable clock', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  async function start(clock: ManualClock): Promise<{ gw: TestGateway; token: string }> {
    gw = await startTestGateway({ clock, config: sensorsSchool() });
    return { gw, token: await gw.login('security') };
  }

  it('CO2 above 1500 ppm for 5 minutes in a classroom raises co2_high; it resolves only under the 1400 ppm band', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    const co2 = async (v: number): Promise<void> => {
      await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: v }));
      await waitForLatest(gw, token, 's-101', 'co2', v);
    };

    await co2(1800);
    clock.advance(4 * MIN);
    await co2(1800);
    expect(await alerts(gw, token, 'co2_high')).toEqual([]); // not long enough yet

    clock.advance(MIN + 1000);
    await co2(1800);
    const [raised] = await waitFor(() => alerts(gw, token, 'co2_high').then((a) => (a.length ? a : null)));
    expect(raised).toMatchObject({ severity: 'warning', status: 'open', zone: 'classroom-101', source: 'sensor:s-101' });
    expect(raised!.data).toMatchObject({ sensorId: 's-101', metric: 'co2', value: 1800, above: 1500, clearAt: 1400 });

    clock.advance(MIN);
    await co2(1450); // under the threshold but inside the hysteresis band: still stuffy
    await co2(1520);
    expect((await alerts(gw, token, 'co2_high')).map((a) => a.status)).toEqual(['open']);

    clock.advance(MIN);
    await co2(1350);
    await waitFor(async () => (await alerts(gw, token, 'co2_high'))[0]?.status === 'resolved');
    expect(await alerts(gw, token, 'co2_high')).toHaveLength(1);
  });

  it('a dip under the threshold restarts the duration', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    for (const [advance, v] of [[0, 1700], [3 * MIN, 1490], [MIN, 1700], [4 * MIN, 1700]] as const) {
      clock.advance(advance);
      await c.publishAsync('campus/sensors/s-102', JSON.stringify({ co2: v }));
      await waitForLatest(gw, token, 's-102', 'co2', v);
    }
    expect(await alerts(gw, token, 'co2_high')).toEqual([]);
  });

  it('the duration runs out between readings too (checked on a timer)', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 1600 }));
    await waitForLatest(gw, token, 's-101', 'co2', 1600);
    clock.advance(2.5 * MIN);
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 1610 }));
    await waitForLatest(gw, token, 's-101', 'co2', 1610);
    expect(await alerts(gw, token, 'co2_high')).toEqual([]);
    clock.advance(2.5 * MIN + 1000); // no reading comes: the timer notices the 5 minutes are over
    const [a] = await waitFor(() => alerts(gw, token, 'co2_high').then((l) => (l.length ? l : null)));
    expect(a).toMatchObject({ status: 'open', zone: 'classroom-101' });
  });

  it('a breach whose sensor fell silent does not escalate on stale data', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 1600 }));
    await waitForLatest(gw, token, 's-101', 'co2', 1600);
    clock.advance(6 * MIN);
    await waitFor(async () => (await alerts(gw, token, 'sensor_offline')).some((a) => a.source === 'sensor:s-101'));
    expect(await alerts(gw, token, 'co2_high')).toEqual([]);
  });

  it('CO2 rules apply only to the zones they name', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    await c.publishAsync('zigbee2mqtt/lab/air sensor', JSON.stringify({ co2: 2500 }));
    await waitForLatest(gw, token, 'z-lab', 'co2', 2500);
    clock.advance(10 * MIN);
    await c.publishAsync('zigbee2mqtt/lab/air sensor', JSON.stringify({ co2: 2600 }));
    await waitForLatest(gw, token, 'z-lab', 'co2', 2600);
    expect(await alerts(gw, token, 'co2_high')).toEqual([]);
  });

  it('{"smoke":true} raises a critical alert at once, and it resolves on the next false', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: true }));
    const [a] = await waitFor(() => alerts(gw, token, 'smoke_detected').then((l) => (l.length ? l : null)));
    expect(a).toMatchObject({ severity: 'critical', status: 'open', zone: 'dorm-a', source: 'sensor:smoke-dorm' });
    await c.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: true }));
    await c.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: false }));
    await waitFor(async () => (await alerts(gw, token, 'smoke_detected'))[0]?.status === 'resolved');
    expect(await alerts(gw, token, 'smoke_detected')).toHaveLength(1);
  });

  it('a Zigbee water-leak sensor raises water_leak at once', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    await c.publishAsync('zigbee2mqtt/lab/air sensor', JSON.stringify({ water_leak: true, battery: 90 }));
    const [a] = await waitFor(() => alerts(gw, token, 'water_leak').then((l) => (l.length ? l : null)));
    expect(a).toMatchObject({ severity: 'critical', zone: 'lab-1' });
  });

  it('a sensor silent for 3 intervals raises sensor_offline, which resolves when it reports again', async () => {
    const clock = new ManualClock();
    const { gw, token } = await start(clock);
    const c = await gw.mqttClient();
    for (const id of ['s-101', 's-102', 'smoke-dorm']) await c.publishAsync(`campus/sensors/${id}`, JSON.stringify({ battery: 80 }));
    await c.publishAsync('zigbee2mqtt/lab/air sensor', JSON.stringify({ battery: 80 }));
    await c.publishAsync('tele/canteen_air/SENSOR', JSON.stringify({ X: { Temperature: 20 } }));
    await waitForLatest(gw, token, 's-101', 'battery', 80);
    await waitForLatest(gw, token, 'smoke-dorm', 'battery', 80);

    clock.advance(2 * MIN);
    await c.publishAsync('campus/sensors/s-102', JSON.stringify({ battery: 79 }));
    await waitForLatest(gw, token, 's-102', 'battery', 79);
    clock.advance(MIN + 1000); // s-101 is now 3 min 1 s silent (interval 60 s), s-102 only 1 min
    const offline = await waitFor(() =>
      alerts(gw, token, 'sensor_offline').then((l) => (l.some((a) => a.source === 'sensor:s-101') ? l : null)),
    );
    expect(offline.find((a) => a.source === 'sensor:s-101')).toMatchObject({ severity: 'warning', zone: 'classroom-101', status: 'open' });
    expect(offline.some((a) => a.source === 'sensor:s-102' || a.source === 'sensor:smoke-dorm')).toBe(false);

    const list = (await (await gw.api('/api/v1/sensors', { token })).json()) as { items: { id: string; status: string }[] };
    expect(list.items.find((s) => s.id === 's-101')?.status).toBe('offline');

    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ battery: 78 }));
    await waitFor(async () => (await alerts(gw, token, 'sensor_offline')).find((a) => a.source === 'sensor:s-101')?.status === 'resolved');
  });

  it('an alert still open when the gateway restarts is resolved when the condition clears after the restart', async () => {
    const clock = new ManualClock();
    const first = await start(clock);
    const dataDir = first.gw.dataDir;
    const c = await first.gw.mqttClient();
    await c.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: true }));
    await waitFor(() => alerts(first.gw, first.token, 'smoke_detected').then((l) => (l.length ? l : null)));
    await first.gw.stop();
    gw = undefined;

    gw = await startTestGateway({ clock, dataDir, config: sensorsSchool() });
    const token = await gw.login('security');
    const c2 = await gw.mqttClient();
    await c2.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: true }));
    await waitForLatest(gw, token, 'smoke-dorm', 'smoke', true);
    await c2.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: false }));
    await waitFor(async () => (await alerts(gw!, token, 'smoke_detected'))[0]?.status === 'resolved');
    expect(await alerts(gw, token, 'smoke_detected')).toHaveLength(1);
  });
});
