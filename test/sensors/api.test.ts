import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { latest, sensorsSchool, waitForLatest } from './fixtures.js';

interface SensorView {
  id: string;
  zone: string;
  origin: string;
  status: string;
  source: { type: string };
  latest: Record<string, { value: number | boolean; unit: string }>;
}
interface Room {
  zone: string;
  sensors: string[];
  comfort: string;
  factors: Record<string, string>;
  latest: Record<string, { value: number | boolean }>;
}

describe('sensors REST API', () => {
  let gw: TestGateway;
  let admin: string;
  let viewer: string;

  // A fresh school per test: one test's readings (the dorm's smoke sensor, say) are not another's rooms.
  beforeEach(async () => {
    gw = await startTestGateway({ config: sensorsSchool() });
    admin = await gw.login('admin');
    viewer = await gw.login('viewer');
  });
  afterEach(async () => gw.close());

  it('counts in /healthz only the sensors it has heard from as reporting', async () => {
    // A school IT review: "2/2 sensors reporting" right after start, before any sensor had published.
    const sensorsHealth = async () => ((await (await gw.api('/healthz')).json()) as { components: { sensors: { detail: string } } }).components.sensors.detail;
    expect(await sensorsHealth()).toBe('0/5 sensors reporting');
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 700 }));
    await waitForLatest(gw, viewer, 's-101', 'co2', 700);
    expect(await sensorsHealth()).toBe('1/5 sensors reporting');
  });

  it('admins add a Zigbee2MQTT sensor through the API; its messages are then accepted and it survives a restart', async () => {
    const body = { id: 'z-gym', zone: 'gym', model: 'Aqara TVOC', intervalS: 120, source: { type: 'zigbee2mqtt', friendlyName: 'gym air' } };
    expect((await gw.api('/api/v1/sensors', { method: 'POST', token: viewer, json: body })).status).toBe(403);
    const created = await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: body });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'z-gym', origin: 'api', status: 'unknown' });
    expect((await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: body })).status).toBe(409);

    const c = await gw.mqttClient();
    await c.publishAsync('zigbee2mqtt/gym air', JSON.stringify({ temperature: 19.5, voc: 120 }));
    await waitForLatest(gw, viewer, 'z-gym', 'voc', 120);

    const moved = await gw.api('/api/v1/sensors/z-gym', { method: 'PUT', token: admin, json: { ...body, zone: 'gym-2' } });
    expect(moved.status).toBe(200);
    expect((await latest(gw, viewer, 'gym-2')).map((i) => i.metric).sort()).toEqual(['temperature', 'voc']);

    const dup = { id: 'z-dup', zone: 'gym', source: { type: 'zigbee2mqtt', friendlyName: 'gym air' } };
    const conflict = await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: dup });
    expect(conflict.status).toBe(409);
    const bad = await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: { id: 'a/b', zone: 'x' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('body.id');
    const fromConfig = await gw.api('/api/v1/sensors/s-101', { method: 'PUT', token: admin, json: { zone: 'elsewhere' } });
    expect(fromConfig.status).toBe(409);

    const restarted = await startTestGateway({ dataDir: gw.dataDir, config: sensorsSchool() });
    try {
      const t = await restarted.login('viewer');
      const s = (await (await restarted.api('/api/v1/sensors/z-gym', { token: t })).json()) as SensorView;
      expect(s).toMatchObject({ zone: 'gym-2', origin: 'api', source: { type: 'zigbee2mqtt' } });
      expect(s.latest.voc).toMatchObject({ value: 120, unit: 'ppb' });
    } finally {
      await restarted.close();
    }
  });

  it('admins remove API sensors; config sensors stay', async () => {
    await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: { id: 'tmp-1', zone: 'store' } });
    expect((await gw.api('/api/v1/sensors/tmp-1', { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await gw.api('/api/v1/sensors/tmp-1', { token: viewer })).status).toBe(404);
    expect((await gw.api('/api/v1/sensors/s-102', { method: 'DELETE', token: admin })).status).toBe(409);
  });

  it('lists the registry with each sensor state and latest values', async () => {
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: false, battery: 91 }));
    await waitForLatest(gw, viewer, 'smoke-dorm', 'battery', 91);
    const { items } = (await (await gw.api('/api/v1/sensors', { token: viewer })).json()) as { items: SensorView[] };
    const smoke = items.find((s) => s.id === 'smoke-dorm')!;
    expect(smoke).toMatchObject({ zone: 'dorm-a', origin: 'config', status: 'online' });
    expect(smoke.latest).toMatchObject({ smoke: { value: false, unit: 'bool' }, battery: { value: 91, unit: '%' } });
    expect(items.find((s) => s.id === 't-canteen')).toMatchObject({ status: 'unknown', source: { type: 'tasmota' } });
  });

  it('summarises rooms with a comfort status from temperature, humidity and CO2', async () => {
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ temperature: 22.5, humidity: 45, co2: 800 }));
    await c.publishAsync('campus/sensors/s-102', JSON.stringify({ temperature: 22.5, humidity: 45, co2: 1700 }));
    await c.publishAsync('tele/canteen_air/SENSOR', JSON.stringify({ SHT3X: { Temperature: 27, Humidity: 50 } }));
    await waitForLatest(gw, viewer, 's-102', 'co2', 1700);
    await waitForLatest(gw, viewer, 't-canteen', 'temperature', 27);
    await waitForLatest(gw, viewer, 's-101', 'co2', 800);
    const { items } = (await (await gw.api('/api/v1/rooms', { token: viewer })).json()) as { items: Room[] };
    const room = (z: string): Room => items.find((r) => r.zone === z)!;
    expect(room('classroom-101')).toMatchObject({ comfort: 'good', sensors: ['s-101'], factors: { temperature: 'good', humidity: 'good', co2: 'good' } });
    expect(room('classroom-102')).toMatchObject({ comfort: 'poor', factors: { co2: 'poor' } });
    expect(room('canteen')).toMatchObject({ comfort: 'fair', factors: { temperature: 'fair', humidity: 'good' } });
    expect(room('dorm-a')).toMatchObject({ comfort: 'unknown' });
  });

  it('announces stored readings as sensor.reading events on the broker', async () => {
    const c = await gw.mqttClient();
    const got = new Promise<{ sensorId: string; zone: string; readings: { metric: string; value: unknown; unit: string }[] }>((resolve) => {
      c.on('message', (topic, payload) => {
        const e = JSON.parse(payload.toString()) as { sensorId: string; zone: string; readings: { metric: string; value: unknown; unit: string }[] };
        if (topic === 'campus/events/sensor.reading' && e.sensorId === 's-101') resolve(e);
      });
    });
    await c.subscribeAsync('campus/events/sensor.reading');
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ co2: 733, smoke: false }));
    const e = await got;
    expect(e).toMatchObject({ zone: 'classroom-101' });
    expect(e.readings).toEqual(expect.arrayContaining([{ metric: 'co2', value: 733, unit: 'ppm' }, { metric: 'smoke', value: false, unit: 'bool' }]));
  });

  it('requires a session', async () => {
    expect((await gw.api('/api/v1/sensors')).status).toBe(401);
    expect((await gw.api('/api/v1/rooms')).status).toBe(401);
  });
});
