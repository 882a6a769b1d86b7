import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { latest, metricValue, sensorsSchool, waitForLatest } from './fixtures.js';

describe('sensor ingest over MQTT', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ config: sensorsSchool() });
    token = await gw.login('viewer');
  });
  afterAll(async () => gw.close());

  it('stores native JSON from campus/sensors/<id> with units', async () => {
    // The file's tests share a gateway and run in any order: the counters are checked by how much they grew.
    const counts = async (): Promise<[number, number]> => [
      await metricValue(gw, 'campus_sensor_messages_total', { family: 'native' }),
      Number((await (await gw.api('/metrics')).text()).match(/^campus_sensor_readings_total (\d+)$/m)?.[1] ?? 0),
    ];
    const [messages, readings] = await counts();
    const c = await gw.mqttClient();
    await c.publishAsync('campus/sensors/s-101', JSON.stringify({ temperature: 23.4, humidity: 41, co2: 812 }));
    await waitForLatest(gw, token, 's-101', 'co2', 812);
    const items = await latest(gw, token, 'classroom-101');
    expect(items.map((i) => [i.metric, i.value, i.unit]).sort()).toEqual([
      ['co2', 812, 'ppm'],
      ['humidity', 41, '%'],
      ['temperature', 23.4, '°C'],
    ]);
    expect(items.every((i) => i.sensorId === 's-101' && i.zone === 'classroom-101')).toBe(true);
    // Counted as they came (summed between scrapes), and a second scrape does not count them again.
    expect(await counts()).toEqual([messages + 1, readings + 3]);
    expect(await counts()).toEqual([messages + 1, readings + 3]);
  });

  it('honours a device timestamp in native payloads', async () => {
    const c = await gw.mqttClient();
    const at = new Date(Date.now() - 60_000).toISOString();
    await c.publishAsync('campus/sensors/s-102', JSON.stringify({ noise: 48.5, at }));
    const item = await waitForLatest(gw, token, 's-102', 'noise', 48.5);
    expect(item.at).toBe(at);
  });

  it('maps a Zigbee2MQTT device by friendly name, ignoring device chatter', async () => {
    const c = await gw.mqttClient();
    await c.publishAsync(
      'zigbee2mqtt/lab/air sensor',
      JSON.stringify({ temperature: 22.9, humidity: 48.1, co2: 640, battery: 87, linkquality: 120, voltage: 2900, water_leak: false, illuminance: 30000, illuminance_lux: 310 }),
    );
    await waitForLatest(gw, token, 'z-lab', 'co2', 640);
    const items = await latest(gw, token, 'lab-1');
    expect(Object.fromEntries(items.map((i) => [i.metric, i.value]))).toEqual({
      temperature: 22.9,
      humidity: 48.1,
      co2: 640,
      battery: 87,
      leak: false,
      illuminance: 310,
    });
    // The bridge's own topics are not sensor messages and are not counted as unknown devices.
    await c.publishAsync('zigbee2mqtt/bridge/state', JSON.stringify({ state: 'online' }));
    await c.publishAsync('zigbee2mqtt/lab/air sensor/availability', 'online');
    await c.publishAsync('zigbee2mqtt/hallway-motion', JSON.stringify({ occupancy: true }));
    await waitFor(async () => (await metricValue(gw, 'campus_sensor_unknown_device_messages_total', { family: 'zigbee2mqtt' })) === 1);
  });

  it('reads Tasmota tele/<device>/SENSOR, converting °F and mmHg', async () => {
    const c = await gw.mqttClient();
    await c.publishAsync(
      'tele/canteen_air/SENSOR',
      JSON.stringify({
        Time: '2026-09-01T12:00:00',
        BME280: { Temperature: 73.4, Humidity: 55.2, DewPoint: 56.1, Pressure: 760 },
        SCD30: { CarbonDioxide: 930, eCO2: 999, Temperature: 80 },
        SDS0X1: { 'PM2.5': 7.1, PM10: 12.4 },
        TempUnit: 'F',
        PressureUnit: 'mmHg',
      }),
    );
    await waitForLatest(gw, token, 't-canteen', 'co2', 930);
    const items = await latest(gw, token, 'canteen');
    expect(Object.fromEntries(items.map((i) => [i.metric, i.value]))).toEqual({
      temperature: 23,
      humidity: 55.2,
      pressure: 1013.2,
      co2: 930,
      pm25: 7.1,
      pm10: 12.4,
    });
  });

  it("keeps a payload's readings when a field is named like an object's member (constructor, __proto__, toString)", async () => {
    // An attacker review: each of these threw in the metric check, lost the message's good readings and logged an
    // error with its stack, once per message, at a sensor's full publish rate.
    const c = await gw.mqttClient();
    await c.publishAsync('tele/canteen_air/SENSOR', '{"BME280":{"Temperature":23.4,"constructor":1,"toString":2,"__proto__":3},"PressureUnit":"constructor"}');
    await c.publishAsync('zigbee2mqtt/lab/air sensor', '{"co2":611,"__proto__":5,"toString":5,"hasOwnProperty":1}');
    await waitForLatest(gw, token, 't-canteen', 'temperature', 23.4);
    await waitForLatest(gw, token, 'z-lab', 'co2', 611);
    // A value, or a time, with no callable toString (round 2 of the review): refused by reason, the rest kept.
    await c.publishAsync('campus/sensors/s-101', '{"temperature":29.5,"co2":{"toString":1}}');
    await c.publishAsync('zigbee2mqtt/lab/air sensor', '{"co2":612,"battery":{"toString":1,"valueOf":1}}');
    await waitForLatest(gw, token, 's-101', 'temperature', 29.5);
    await waitForLatest(gw, token, 'z-lab', 'co2', 612);
    const rejected = await metricValue(gw, 'campus_sensor_rejected_total', { sensor: 's-101', reason: 'bad_timestamp' });
    await c.publishAsync('campus/sensors/s-101', '{"co2":800,"at":{"toString":1}}');
    await waitFor(async () => (await metricValue(gw, 'campus_sensor_rejected_total', { sensor: 's-101', reason: 'bad_timestamp' })) === rejected + 1);
  });

  it('rejects and counts bad payloads per sensor and reason while good ones keep flowing', async () => {
    const c = await gw.mqttClient();
    const bad: [string, string | Buffer][] = [
      ['wrong_type', JSON.stringify({ co2: 'high' })],
      ['wrong_type', JSON.stringify({ smoke: 'yes' })],
      ['invalid_json', '{"co2": NaN}'],
      ['invalid_json', '{co2: 800'],
      ['not_an_object', JSON.stringify('hello')],
      ['not_an_object', JSON.stringify([800])],
      ['no_metrics', JSON.stringify({ rssi: -60 })],
      // Past sensors.maxPayloadBytes (16 KiB) but within the broker's packet limit (64 KiB), which would close the connection.
      ['too_large', Buffer.alloc(32 * 1024, 0x20)],
      ['out_of_range', JSON.stringify({ humidity: 140 })],
      ['out_of_range', JSON.stringify({ co2: -5 })],
      ['wrong_type', '{"co2": 1e999}'],
      ['bad_timestamp', JSON.stringify({ co2: 700, at: 'yesterday' })],
      ['bad_timestamp', JSON.stringify({ co2: 700, at: new Date(Date.now() + 3_600_000).toISOString() })],
    ];
    for (let i = 0; i < bad.length; i++) {
      await c.publishAsync('campus/sensors/s-102', bad[i]![1]);
      await c.publishAsync('campus/sensors/s-102', JSON.stringify({ temperature: 20 + i }));
    }
    // A payload with one broken value keeps its good values.
    await c.publishAsync('campus/sensors/s-102', JSON.stringify({ humidity: 'wet', co2: 901 }));
    await waitForLatest(gw, token, 's-102', 'co2', 901);
    await waitForLatest(gw, token, 's-102', 'temperature', 20 + bad.length - 1);

    const expected = new Map<string, number>();
    for (const [reason] of bad) expected.set(reason, (expected.get(reason) ?? 0) + 1);
    expected.set('wrong_type', expected.get('wrong_type')! + 1);
    for (const [reason, n] of expected) {
      expect(await metricValue(gw, 'campus_sensor_rejected_total', { sensor: 's-102', reason }), reason).toBe(n);
    }
    // Every good reading in between was stored.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const res = await gw.api(`/api/v1/sensors/s-102/series?metric=temperature&from=${from}&step=raw`, { token });
    const series = (await res.json()) as { points: { value: number }[] };
    expect(series.points.map((p) => p.value)).toEqual(bad.map((_, i) => 20 + i));
    expect((await gw.api('/healthz')).status).toBe(200);
  });

  it('counts messages from unknown native sensors', async () => {
    const c = await gw.mqttClient();
    const before = await metricValue(gw, 'campus_sensor_unknown_device_messages_total', { family: 'native' });
    await c.publishAsync('campus/sensors/not-registered', JSON.stringify({ co2: 700 }));
    await waitFor(async () => (await metricValue(gw, 'campus_sensor_unknown_device_messages_total', { family: 'native' })) === before + 1);
    expect((await latest(gw, token)).some((i) => i.sensorId === 'not-registered')).toBe(false);
  });
});
