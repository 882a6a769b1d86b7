import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { createConnection } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

const READER_SECRET = 'reader-secret-1';
const SENSOR_SECRET = 'sensor-secret-1';

/** Connects and resolves when the broker closes the connection (refused publish), or rejects on timeout. */
function closedWithin(client: mqtt.MqttClient, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('still connected')), ms);
    client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('embedded broker: credentials and ACLs (production mode)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      demo: false,
      users: [{ username: 'boss', password: 'a-strong-password', role: 'admin' }],
      config: {
        readers: [{ id: 'gate-in-1', accessPoint: 'main-gate', driver: { type: 'mqtt', secretHash: await hashSecret(READER_SECRET) } }],
        access: { accessPoints: [{ id: 'main-gate', name: 'Main gate', kind: 'gate', gateId: 'main-gate' }] },
        sensors: {
          sensors: [
            { id: 'room-101', zone: 'classroom-101', secretHash: await hashSecret(SENSOR_SECRET) },
            // Zigbee2MQTT names may hold "/": one device's name can be the start of another's.
            { id: 'zb-air', zone: 'classroom-101', source: { type: 'zigbee2mqtt', friendlyName: 'zb1' }, secretHash: await hashSecret(SENSOR_SECRET) },
            { id: 'zb-leak', zone: 'lab-2', source: { type: 'zigbee2mqtt', friendlyName: 'zb1/leak' } },
          ],
        },
        // These tests log in wrongly on purpose, all from 127.0.0.1: the address's login backoff (tested in
        // broker-limits.test.ts) would otherwise block the right logins of whichever test runs after them.
        mqtt: { loginBackoff: { maxFailures: 1000, baseDelayMs: 0 } },
      },
    });
  });
  afterAll(() => gw.close());

  it('lets a device in with its credentials and keeps others out', async () => {
    await expect(gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET })).resolves.toBeTruthy();
    await expect(gw.mqttClient({ username: 'gate-in-1', password: 'wrong' })).rejects.toThrow();
    await expect(gw.mqttClient({ username: 'nobody', password: READER_SECRET })).rejects.toThrow();
    await expect(gw.mqttClient({})).rejects.toThrow(); // anonymous only in demo mode
  });

  it('delivers a device publish inside its own subtree', async () => {
    const reader = await gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET });
    let received!: (p: Buffer) => void;
    const seen = new Promise<Buffer>((resolve) => (received = resolve));
    await gw.ctx.mqtt.subscribe('campus/readers/gate-in-1/tap', (_t, payload) => received(payload)); // active once resolved
    await reader.publishAsync('campus/readers/gate-in-1/tap', '0A1B2C3D', { qos: 1 });
    expect((await seen).toString()).toBe('0A1B2C3D');
  });

  it('refuses a publish outside the subtree or onto a gateway topic, and keeps serving everyone else', async () => {
    const sensor = await gw.mqttClient({ username: 'room-101', password: SENSOR_SECRET });
    const rogue = await gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET });
    const got: string[] = [];
    await gw.ctx.mqtt.subscribe('campus/#', (topic) => got.push(topic));

    const closed = closedWithin(rogue, 3000);
    rogue.publish('campus/readers/other-reader/tap', 'FFFFFFFF');
    await closed;

    const rogue2 = await gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET });
    const closed2 = closedWithin(rogue2, 3000);
    rogue2.publish('campus/readers/gate-in-1/decision', '{"granted":true}');
    await closed2;

    const rogue3 = await gw.mqttClient({ username: 'room-101', password: SENSOR_SECRET });
    const closed3 = closedWithin(rogue3, 3000);
    rogue3.publish('campus/alerts/critical', '{}');
    await closed3;

    await sensor.publishAsync('campus/sensors/room-101', '{"temperature":22.5}', { qos: 1 });
    expect(got).toContain('campus/sensors/room-101');
    expect(got).not.toContain('campus/readers/other-reader/tap');
    expect(got).not.toContain('campus/readers/gate-in-1/decision');
    expect(got).not.toContain('campus/alerts/critical');
    expect(sensor.connected).toBe(true);
  });

  it("keeps a Zigbee2MQTT device's login to its own name's topics, not those of a device named below it", async () => {
    // An attacker review: zb1's login was granted zigbee2mqtt/zb1/#, so it raised zb1/leak's critical water alarm.
    const got: string[] = [];
    await gw.ctx.mqtt.subscribe('zigbee2mqtt/#', (topic) => got.push(topic));
    const zb1 = await gw.mqttClient({ username: 'zb-air', password: SENSOR_SECRET });
    await zb1.publishAsync('zigbee2mqtt/zb1', '{"co2":700}', { qos: 1 });
    await zb1.publishAsync('zigbee2mqtt/zb1/availability', 'online', { qos: 1 });
    await zb1.subscribeAsync('zigbee2mqtt/zb1/set');
    const closed = closedWithin(zb1, 5000);
    zb1.publish('zigbee2mqtt/zb1/leak', '{"water_leak":true}', { qos: 1 });
    await closed;
    expect(got).toEqual(['zigbee2mqtt/zb1', 'zigbee2mqtt/zb1/availability']);
  });

  it('refuses subscriptions outside the subtree with a SUBACK failure, without disconnecting', async () => {
    const reader = await gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET });
    await expect(reader.subscribeAsync('campus/readers/gate-in-1/decision')).resolves.toEqual([
      expect.objectContaining({ qos: 0 }),
    ]);
    // mqtt.js rejects a SUBACK with failure code 0x80
    await expect(reader.subscribeAsync('campus/readers/+/decision')).rejects.toThrow(/Subscribe error/);
    await expect(reader.subscribeAsync('campus/#')).rejects.toThrow(/Subscribe error/);
    expect(reader.connected).toBe(true);
  });

  it('gives a device the messages the gateway publishes to it', async () => {
    const reader = await gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET });
    await reader.subscribeAsync('campus/readers/gate-in-1/decision');
    const msg = nextMessage(reader, 'campus/readers/gate-in-1/decision');
    await gw.ctx.mqtt.publish('campus/readers/gate-in-1/decision', { granted: true, reason: 'ok' });
    expect(JSON.parse((await msg).payload.toString())).toEqual({ granted: true, reason: 'ok' });
  });

  it('takes MQTT frames sent in the same write as the websocket upgrade', async () => {
    // The HTTP server hands Node's parser each read in slices (gateway/http/connection-limits.ts): what follows the
    // upgrade request in that read must reach the broker, in order.
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'ws-one-write', keepalive: 30, username: 'room-101', password: Buffer.from(SENSOR_SECRET) });
    const mask = Buffer.from([1, 2, 3, 4]);
    const frame = Buffer.concat([Buffer.from([0x82, 0x80 | connect.length]), mask, Buffer.from(connect.map((b, i) => b ^ mask[i % 4]!))]);
    const head = 'GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n';
    // Padded to end 20 bytes before the second slice does (256 + 512 bytes): the frame straddles the two.
    const request = Buffer.from(`${head}X-Pad: ${'a'.repeat(768 - 20 - head.length - 'X-Pad: \r\n\r\n'.length)}\r\n\r\n`);
    const answer = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const sock = createConnection(gw.httpPort, '127.0.0.1', () => sock.write(Buffer.concat([request, frame])));
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.on('error', () => {});
      setTimeout(() => {
        sock.destroy();
        resolve(Buffer.concat(chunks));
      }, 1000);
    });
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
    // After the handshake, the broker's frames (small and unmasked: a 2-byte header each) carry CONNACK, accepted.
    let payload = Buffer.alloc(0);
    for (let at = answer.indexOf('\r\n\r\n') + 4; at + 2 <= answer.length; at += 2 + (answer[at + 1]! & 0x7f)) {
      payload = Buffer.concat([payload, answer.subarray(at + 2, at + 2 + (answer[at + 1]! & 0x7f))]);
    }
    expect([...payload.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]);
  });

  it('serves MQTT over WebSocket at /mqtt with the same rules', async () => {
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${gw.httpPort}/mqtt`, {
      username: 'room-101',
      password: SENSOR_SECRET,
      reconnectPeriod: 0,
    });
    let received!: (p: string) => void;
    const seen = new Promise<string>((resolve) => (received = resolve));
    await gw.ctx.mqtt.subscribe('campus/sensors/room-101/ws', (_t, p) => received(p.toString())); // active once resolved
    await ws.publishAsync('campus/sensors/room-101/ws', 'hello', { qos: 1 });
    expect(await seen).toBe('hello');
    await ws.endAsync();
    await expect(
      mqtt.connectAsync(`ws://127.0.0.1:${gw.httpPort}/mqtt`, { username: 'room-101', password: 'nope', reconnectPeriod: 0 }),
    ).rejects.toThrow();
  });

  it('counts refusals in /metrics', async () => {
    // Its own refusals, not the other tests': one failed login, one publish outside the subtree.
    await expect(gw.mqttClient({ username: 'gate-in-1', password: 'wrong' })).rejects.toThrow();
    const rogue = await gw.mqttClient({ username: 'gate-in-1', password: READER_SECRET });
    const closed = closedWithin(rogue, 3000);
    rogue.publish('campus/readers/other-reader/tap', 'FFFFFFFF');
    await closed;
    const text = await (await gw.api('/metrics')).text();
    expect(text).toMatch(/campus_mqtt_refused_total\{reason="publish"\} [1-9]/);
    expect(text).toMatch(/campus_mqtt_refused_total\{reason="auth"\} [1-9]/);
  });
});

describe('embedded broker in demo mode', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true });
  });
  afterAll(() => gw.close());

  it('lets anonymous clients publish device topics but never gateway topics', async () => {
    const anon = await gw.mqttClient();
    const got: string[] = [];
    await gw.ctx.mqtt.subscribe('campus/sensors/#', (t) => got.push(t));
    await anon.publishAsync('campus/sensors/demo-sensor-101', '{"co2":700}', { qos: 1 });
    expect(got).toContain('campus/sensors/demo-sensor-101');
    const closed = closedWithin(anon, 3000);
    anon.publish('campus/events/alert.raised', '{}');
    await closed;
  });

  // Counted per message in a plain number and added to the counter when /metrics is scraped (broker.ts): each
  // scrape must show every message since the last one on top of the earlier total, never a reset or a double count.
  it('counts client messages in /metrics across scrapes', async () => {
    const count = async (): Promise<number> => {
      const text = await (await gw.api('/metrics')).text();
      return Number(/^campus_mqtt_messages_total\{direction="in"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const client = await gw.mqttClient();
    const before = await count();
    for (let i = 0; i < 3; i++) await client.publishAsync('campus/sensors/demo-sensor-101', '{"co2":701}', { qos: 1 });
    const after = await count();
    expect(after).toBeGreaterThanOrEqual(before + 3);
    await client.publishAsync('campus/sensors/demo-sensor-101', '{"co2":702}', { qos: 1 });
    expect(await count()).toBeGreaterThanOrEqual(after + 1);
    await client.endAsync();
  });

  // The bus mirror is left out while nobody subscribes (compose.ts, broker.ts `hasSubscriber`): whoever subscribes later,
  // by any filter, in-process, or through a restored persistent session, must still get every event after that.
  it('mirrors events to whoever subscribes, however and whenever they do', async () => {
    let seq = 9000;
    // One reader connection throughout, so no connect or disconnect but the watchers' own touches the broker.
    const reader = await gw.mqttClient();
    const tap = async (): Promise<void> => {
      await reader.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0A1B2C3D', seq: ++seq }), { qos: 1 });
      await waitFor(() => gw.ctx.db.prepare('SELECT 1 AS x FROM taps WHERE seq = ?').get(seq));
    };
    const decided = (client: mqtt.MqttClient, want: number, ms = 3000): Promise<void> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no campus/events/tap.decided for seq ${want}`)), ms);
        client.on('message', (topic, payload) => {
          if (topic === 'campus/events/tap.decided' && (JSON.parse(payload.toString()) as { seq?: number }).seq === want) {
            clearTimeout(t);
            resolve();
          }
        });
      });

    const wildcard = await gw.mqttClient();
    await tap(); // with nobody listening

    await wildcard.subscribeAsync('campus/+/tap.decided');
    let got = decided(wildcard, seq + 1);
    await tap();
    await got;

    const inProcess: number[] = [];
    const off = await gw.ctx.mqtt.subscribe('campus/events/#', (topic, payload) => {
      if (topic.endsWith('/tap.decided')) inProcess.push((JSON.parse(payload.toString()) as { seq: number }).seq);
    });
    await wildcard.unsubscribeAsync('campus/+/tap.decided');
    await tap();
    await waitFor(() => inProcess.includes(seq));
    await off();

    // A persistent session subscribes, goes away while a tap passes, and comes back without subscribing again.
    const session = { clientId: 'events-watcher', clean: false };
    const watcher = await gw.mqttClient(session);
    await watcher.subscribeAsync('campus/events/tap.decided', { qos: 0 });
    await watcher.endAsync();
    await tap();
    const back = await gw.mqttClient(session);
    got = decided(back, seq + 1);
    await tap();
    await got;
  });
});
