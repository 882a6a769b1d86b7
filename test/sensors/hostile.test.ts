/**
 * What a sensor with its own broker login (its secret leaked, or a faulty device) can make of the gateway's alerts,
 * stored readings and rooms summary: a real gateway outside demo mode, the sensor logged in over MQTT on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { alerts, metricValue, waitForLatest } from './fixtures.js';

const SECRET = 'sensor-secret-1';
const PASSWORD = 'a-strong-password';

describe('a hostile or faulty sensor with its own login', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    const hash = await hashSecret(SECRET);
    gw = await startTestGateway({
      demo: false,
      users: [{ username: 'desk', password: PASSWORD, role: 'security' }],
      config: {
        sensors: {
          sensors: [
            { id: 'room-101', zone: 'classroom-101', secretHash: hash },
            { id: 'room-101-door', zone: 'classroom-101', secretHash: hash },
            { id: 'smoke-dorm', zone: 'dorm-a', kind: 'smoke', intervalS: 300, secretHash: hash },
            { id: 'leak-lab', zone: 'lab-1', intervalS: 300, source: { type: 'zigbee2mqtt', friendlyName: 'lab/leak' }, secretHash: hash },
          ],
        },
      },
    });
    token = await gw.login('desk', PASSWORD);
  });
  afterAll(async () => gw.close());

  it('keeps one smoke alert open while a detector flaps between true and false, instead of raising one per flap', async () => {
    // An attacker review: each true after a false raised a new critical alert (each one also sent to the city, and
    // photographed by the zone's cameras): 20 flaps, 20 alerts, at up to 25 a second within the publish rate.
    const smoke = await gw.mqttClient({ username: 'smoke-dorm', password: SECRET });
    for (let i = 0; i < 20; i++) {
      await smoke.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: true }), { qos: 1 });
      await smoke.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: false }), { qos: 1 });
    }
    await smoke.publishAsync('campus/sensors/smoke-dorm', JSON.stringify({ smoke: true, battery: 77 }), { qos: 1 });
    await waitForLatest(gw, token, 'smoke-dorm', 'battery', 77);
    const raised = await alerts(gw, token, 'smoke_detected');
    expect(raised.map((a) => [a.status, a.source])).toEqual([['open', 'sensor:smoke-dorm']]);
  });

  it('does the same for a Zigbee leak sensor', async () => {
    const leak = await gw.mqttClient({ username: 'leak-lab', password: SECRET });
    for (let i = 0; i < 20; i++) {
      await leak.publishAsync('zigbee2mqtt/lab/leak', JSON.stringify({ water_leak: true }), { qos: 1 });
      await leak.publishAsync('zigbee2mqtt/lab/leak', JSON.stringify({ water_leak: false }), { qos: 1 });
    }
    await leak.publishAsync('zigbee2mqtt/lab/leak', JSON.stringify({ water_leak: false, battery: 66 }), { qos: 1 });
    await waitForLatest(gw, token, 'leak-lab', 'battery', 66);
    // The last word was "dry", but only just: the alert stays open until the sensor has said so for clearForS.
    expect((await alerts(gw, token, 'water_leak')).map((a) => a.status)).toEqual(['open']);
  });

  it('keeps the good readings of a payload whose bad value is nested thousands deep, and counts the bad one', async () => {
    // An attacker review: the rejected value was written into the log line as JSON, and JSON.stringify of an array
    // 6,000 levels deep (12 KB, under maxPayloadBytes) throws "Maximum call stack size exceeded". The throw took the
    // message's good readings with it, the rejection was never counted, and the broker logged "mqtt handler failed".
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    const room = await gw.mqttClient({ username: 'room-101', password: SECRET });
    const counted = (reason: string): Promise<number> => metricValue(gw, 'campus_sensor_rejected_total', { sensor: 'room-101', reason });
    const [wrongType, badTime] = [await counted('wrong_type'), await counted('bad_timestamp')];
    await room.publishAsync('campus/sensors/room-101', `{"co2":${deep},"temperature":21.5}`, { qos: 1 });
    await room.publishAsync('campus/sensors/room-101', `{"co2":900,"at":${deep}}`, { qos: 1 });
    await waitForLatest(gw, token, 'room-101', 'temperature', 21.5);
    await waitFor(async () => (await counted('wrong_type')) === wrongType + 1 && (await counted('bad_timestamp')) === badTime + 1);
  });

  it("cannot hide a roommate's readings from the rooms summary by stamping its own a few minutes ahead", async () => {
    // An attacker review: a stamp up to maxClockSkewS (300 s) ahead was stored as it came, so the room took that
    // reading as its newest for five minutes, whatever the room's other sensor said meanwhile: one message every five
    // minutes showed classroom 101 at 600 ppm, "good", while its other sensor reported 1850.
    const honest = await gw.mqttClient({ username: 'room-101', password: SECRET });
    const hostile = await gw.mqttClient({ username: 'room-101-door', password: SECRET });
    const ahead = new Date(Date.now() + 280_000).toISOString();
    await hostile.publishAsync('campus/sensors/room-101-door', JSON.stringify({ co2: 600, at: ahead }), { qos: 1 });
    await waitForLatest(gw, token, 'room-101-door', 'co2', 600);
    await honest.publishAsync('campus/sensors/room-101', JSON.stringify({ co2: 1850 }), { qos: 1 });
    await waitForLatest(gw, token, 'room-101', 'co2', 1850);
    const res = await gw.api('/api/v1/rooms', { token });
    const { items } = (await res.json()) as { items: { zone: string; comfort: string; latest: { co2?: { value: number; sensorId: string } } }[] };
    const room = items.find((r) => r.zone === 'classroom-101');
    expect([room?.latest.co2, room?.comfort]).toEqual([expect.objectContaining({ value: 1850, sensorId: 'room-101' }), 'poor']);
  });
});
