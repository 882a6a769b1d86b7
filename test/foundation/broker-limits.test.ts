/**
 * Issue 17, points 3 and 4: what one hostile client on the school LAN can no longer do to the embedded broker.
 * Real gateway, real Aedes, raw TCP sockets on 127.0.0.1 for what a client library would never send.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { captureLog } from '../helpers/log-capture.js';
import { RawMqtt, remainingLength } from '../helpers/raw-mqtt.js';

const SECRET = 'device-secret-1';
const SERVICE_SECRET = 'service-secret-1';

async function deviceConfig(mqttExtra: Record<string, unknown> = {}): Promise<Parameters<typeof startTestGateway>[0]> {
  const hash = await hashSecret(SECRET);
  return {
    demo: false,
    users: [{ username: 'boss', password: 'a-strong-password', role: 'admin' }],
    config: {
      readers: [{ id: 'pos-1', accessPoint: 'canteen', driver: { type: 'mqtt', secretHash: hash } }],
      access: { accessPoints: [{ id: 'canteen', name: 'Canteen', kind: 'canteen' }] },
      sensors: {
        sensors: [
          { id: 'room-101', zone: 'classroom-101', secretHash: hash },
          { id: 'room-102', zone: 'classroom-102', secretHash: hash },
          { id: 'room-103', zone: 'classroom-103', secretHash: hash },
        ],
      },
      mqtt: { services: [{ username: 'dash', secretHash: await hashSecret(SERVICE_SECRET) }], ...mqttExtra },
    },
  };
}

async function refusedCount(gw: TestGateway, reason: string): Promise<number> {
  const text = await (await gw.api('/metrics')).text();
  const m = new RegExp(`campus_mqtt_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

describe('broker packet limits and per-client quotas (defaults)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(await deviceConfig());
  });
  afterAll(() => gw.close());

  it('closes a connection whose CONNECT declares 250 MB before buffering what follows, and keeps serving others', async () => {
    const raw = await RawMqtt.open(gw.mqttPort);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const rssBefore = process.memoryUsage().rss;
    await raw.write(Buffer.concat([Buffer.from([0x10]), remainingLength(250 * 1024 * 1024)]));
    let sent = 0;
    // 30 MB, each write waiting for the socket to take it, so nothing piles up on the sending side.
    while (sent < 30 * 1024 * 1024 && !raw.closed) {
      await raw.write(chunk);
      sent += chunk.length;
    }
    expect(await raw.closedWithin(10_000)).toBe(true);
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(grownMb).toBeLessThan(20);
    expect(await refusedCount(gw, 'packet_too_large')).toBeGreaterThanOrEqual(1);

    const other = await RawMqtt.login(gw.mqttPort, { username: 'room-102', password: SECRET });
    expect(other.returnCode).toBe(0);
    other.raw.send({ cmd: 'publish', topic: 'campus/sensors/room-102', payload: Buffer.from('{"co2":600}'), qos: 1, messageId: 7, retain: false, dup: false });
    expect(await other.raw.next('puback')).toMatchObject({ messageId: 7 });
    other.raw.end();
  });

  it('closes a connection that sends a PUBLISH over mqtt.maxPacketBytes; a full offline batch still fits', async () => {
    const sensor = await gw.mqttClient({ username: 'room-101', password: SECRET });
    const closed = new Promise<void>((resolve) => sensor.once('close', () => resolve()));
    sensor.publish('campus/sensors/room-101/big', Buffer.alloc(70 * 1024, 0x20), { qos: 1 });
    await closed;

    // A terminal's offline sales may be 64 KiB of JSON (the reader driver's own cap): its topic has a larger limit.
    const terminal = await gw.mqttClient({ username: 'pos-1', password: SECRET });
    const batch = JSON.stringify({ batch: 'pos1-0001', transactions: [], pad: 'x'.repeat(64 * 1024 - 48) });
    expect(batch.length).toBe(64 * 1024);
    await terminal.publishAsync('campus/readers/pos-1/offline', batch, { qos: 1 });
    expect(terminal.connected).toBe(true);
    // ...but only that topic: the same size elsewhere in its own subtree is refused.
    const closed2 = new Promise<void>((resolve) => terminal.once('close', () => resolve()));
    terminal.publish('campus/readers/pos-1/tap', batch, { qos: 1 });
    await closed2;
  });

  it('applies the same packet limit to MQTT over WebSocket', async () => {
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${gw.httpPort}/mqtt`, { username: 'room-103', password: SECRET, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.publish('campus/sensors/room-103/big', Buffer.alloc(70 * 1024, 0x20), { qos: 1 });
    await closed;
    await ws.endAsync(true);
  });

  it('keeps at most the quota of retained messages per device, acknowledging the rest without disconnecting', async () => {
    const device = await gw.mqttClient({ username: 'room-101', password: SECRET });
    let closes = 0;
    device.on('close', () => closes++);
    const refusedBefore = await refusedCount(gw, 'retained_quota');
    // Stored first, so it is inside the quota: a subscriber that sees it has seen every retained message before it.
    await device.publishAsync('campus/sensors/room-101/zz-marker', 'marker', { qos: 1, retain: true });
    const acks = [];
    // 150: within the device's publish burst (200), so each one reaches the quota.
    for (let i = 0; i < 150; i++) acks.push(device.publishAsync(`campus/sensors/room-101/r/${i}`, `{"i":${i}}`, { qos: 1, retain: true }));
    await Promise.all(acks); // every PUBACK arrived
    expect(device.connected).toBe(true);
    expect(closes).toBe(0);

    // One SUBSCRIBE: Aedes streams the retained messages of its filters in the filters' order, so once the marker is
    // in, every retained message under r/ has been delivered.
    const fresh = await gw.mqttClient({ username: 'dash', password: SERVICE_SECRET });
    const retained: string[] = [];
    let marker = false;
    fresh.on('message', (topic, _payload, packet) => {
      if (!packet.retain) return;
      if (topic.endsWith('/zz-marker')) marker = true;
      else if (!marker) retained.push(topic);
    });
    await fresh.subscribeAsync(['campus/sensors/room-101/r/#', 'campus/sensors/room-101/zz-marker'], { qos: 0 });
    await waitFor(() => marker, 10_000);
    expect(retained.length).toBe(99); // 100 with the marker
    expect((await refusedCount(gw, 'retained_quota')) - refusedBefore).toBe(51); // other tests may refuse some too

    // At the quota, the device still replaces what it keeps (a Tasmota LWT going Online → Offline), and clearing frees room.
    await device.publishAsync('campus/sensors/room-101/r/0', 'replaced', { qos: 1, retain: true });
    await device.publishAsync('campus/sensors/room-101/r/1', '', { qos: 1, retain: true });
    await device.publishAsync('campus/sensors/room-101/r/149', 'late', { qos: 1, retain: true });
    const check = await gw.mqttClient({ username: 'dash', password: SERVICE_SECRET });
    const seen = new Map<string, string>();
    check.on('message', (topic, payload, packet) => packet.retain && seen.set(topic, payload.toString()));
    await check.subscribeAsync(['campus/sensors/room-101/r/0', 'campus/sensors/room-101/r/1', 'campus/sensors/room-101/r/149', 'campus/sensors/room-101/zz-marker']);
    await waitFor(() => seen.has('campus/sensors/room-101/zz-marker'), 10_000);
    expect(seen.get('campus/sensors/room-101/r/0')).toBe('replaced');
    expect(seen.has('campus/sensors/room-101/r/1')).toBe(false);
    expect(seen.get('campus/sensors/room-101/r/149')).toBe('late');
    expect(device.connected).toBe(true);
  });

  it('caps retained bytes per device', async () => {
    const device = await gw.mqttClient({ username: 'room-102', password: SECRET });
    await device.publishAsync('campus/sensors/room-102/zz-marker', 'marker', { qos: 1, retain: true });
    for (let i = 0; i < 6; i++) await device.publishAsync(`campus/sensors/room-102/big/${i}`, Buffer.alloc(60 * 1024, 0x30), { qos: 1, retain: true });
    expect(device.connected).toBe(true);
    const fresh = await gw.mqttClient({ username: 'dash', password: SERVICE_SECRET });
    let kept = 0;
    let marker = false;
    fresh.on('message', (topic, _p, packet) => {
      if (!packet.retain) return;
      if (topic.endsWith('/zz-marker')) marker = true;
      else if (!marker) kept++;
    });
    await fresh.subscribeAsync(['campus/sensors/room-102/big/#', 'campus/sensors/room-102/zz-marker']);
    await waitFor(() => marker, 10_000);
    expect(kept).toBe(4); // 4 × 60 KiB fit in 256 KiB, a 5th does not
  });

  it('caps subscriptions per client with SUBACK failures, keeps the client connected and the gateway answering', async () => {
    const { raw, returnCode } = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: SECRET });
    expect(returnCode).toBe(0);
    let granted = 0;
    let failed = 0;
    for (let p = 0; p < 50; p++) {
      const subscriptions = Array.from({ length: 1000 }, (_, i) => ({ topic: `campus/sensors/room-101/s/${p * 1000 + i}`, qos: 0 as const }));
      raw.send({ cmd: 'subscribe', messageId: p + 1, subscriptions });
      const suback = (await raw.next('suback', 30_000)) as Packet & { granted: number[] };
      for (const g of suback.granted) if (g === 0x80) failed++;
      else granted++;
    }
    expect(granted).toBe(32);
    expect(failed).toBe(50_000 - 32);
    expect(raw.closed).toBe(false);
    // Still a working client: a ping is answered, and the gateway answers HTTP.
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
    expect((await gw.api('/healthz')).status).toBe(200);
    expect(await refusedCount(gw, 'subscription_quota')).toBeGreaterThanOrEqual(50_000 - 32);
    // Unsubscribing frees room again.
    raw.send({ cmd: 'unsubscribe', messageId: 900, unsubscriptions: ['campus/sensors/room-101/s/0'] });
    await raw.next('unsuback');
    raw.send({ cmd: 'subscribe', messageId: 901, subscriptions: [{ topic: 'campus/sensors/room-101/again', qos: 0 }, { topic: 'campus/sensors/room-101/again2', qos: 0 }] });
    expect(((await raw.next('suback')) as Packet & { granted: number[] }).granted).toEqual([0, 0x80]);
    raw.end();

    // A service has a larger cap.
    const service = await RawMqtt.login(gw.mqttPort, { username: 'dash', password: SERVICE_SECRET });
    let serviceGranted = 0;
    for (let p = 0; p < 2; p++) {
      const subscriptions = Array.from({ length: 1000 }, (_, i) => ({ topic: `dash/s/${p * 1000 + i}`, qos: 0 as const }));
      service.raw.send({ cmd: 'subscribe', messageId: p + 1, subscriptions });
      const suback = (await service.raw.next('suback', 30_000)) as Packet & { granted: number[] };
      serviceGranted += suback.granted.filter((g) => g !== 0x80).length;
    }
    expect(serviceGranted).toBe(1000);
    service.raw.end();
  });
});

describe('broker refusals in the log', () => {
  const log = captureLog();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...(await deviceConfig()), log: log.log });
  });
  afterAll(() => gw.close());
  const lines = (msg: string): number => log.text().split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;

  it('counts every refused subscription and publish but logs them at most once a minute per address', async () => {
    // A device login (a sensor's secret taken from a classroom plug) asking for filters its ACL refuses, over and over.
    const { raw } = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: SECRET });
    for (let p = 0; p < 3; p++) {
      raw.send({ cmd: 'subscribe', messageId: p + 1, subscriptions: Array.from({ length: 1000 }, (_, i) => ({ topic: `x/${p}/${i}`, qos: 0 as const })) });
      expect(((await raw.next('suback', 30_000)) as Packet & { granted: number[] }).granted.every((g) => g === 0x80)).toBe(true);
    }
    expect(raw.closed).toBe(false);
    raw.end();
    // Refused publishes close the connection; the device logs in again and repeats.
    for (let k = 0; k < 5; k++) {
      const c = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: SECRET });
      c.raw.send({ cmd: 'publish', topic: `campus/sensors/room-102/${k}`, payload: Buffer.from('{}'), qos: 1, messageId: 1, retain: false, dup: false });
      expect(await c.raw.closedWithin(5000)).toBe(true);
    }
    expect(await refusedCount(gw, 'subscribe')).toBe(3000);
    expect(await refusedCount(gw, 'publish')).toBe(5);
    expect(lines('mqtt subscribe refused')).toBe(1);
    expect(lines('mqtt publish refused')).toBe(1);
  });

  it("logs an in-process handler's fault once a minute, not once per message that trips it", async () => {
    // A sensor payload that threw in its family's handler logged an error line with a stack for every message.
    let calls = 0;
    const off = await gw.ctx.mqtt.subscribe('test/faulty/#', () => {
      calls++;
      throw new Error('handler bug');
    });
    const c = await gw.mqttClient({ username: 'dash', password: SERVICE_SECRET });
    for (let i = 0; i < 50; i++) await c.publishAsync(`test/faulty/${i}`, '{}', { qos: 1 });
    await waitFor(() => calls === 50);
    expect(lines('mqtt handler failed')).toBe(1);
    expect((await gw.api('/healthz')).status).toBe(200);
    await off();
  });
});

describe('a device publishing faster than mqtt.publishRatePerDevice', () => {
  const log = captureLog();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...(await deviceConfig({ publishRatePerDevice: { messagesPerS: 10, burst: 50 } })), log: log.log });
  });
  afterAll(() => gw.close());

  it('has the rest acknowledged and dropped, stays connected, gains nothing by reconnecting and slows no other device', async () => {
    // A service on every topic (QoS 0: delivered in the order the broker routes them).
    const watcher = await gw.mqttClient({ username: 'dash', password: SERVICE_SECRET });
    const seen = new Map<string, number>();
    watcher.on('message', (topic) => seen.set(topic, (seen.get(topic) ?? 0) + 1));
    await watcher.subscribeAsync('#', { qos: 0 });
    const count = (topic: string): number => seen.get(topic) ?? 0;
    /** The neighbour's marker, published after the rest: once it is in, so is everything routed before it. */
    let markers = 0;
    const settled = async (neighbour: mqtt.MqttClient): Promise<void> => {
      await neighbour.publishAsync('campus/sensors/room-102/marker', '{}', { qos: 1 });
      markers++;
      await waitFor(() => count('campus/sensors/room-102/marker') === markers);
    };

    // A service archiving every topic in a persistent session at QoS 1: Aedes queues such messages for it by topic.
    const archiverLogin = { username: 'dash', password: SERVICE_SECRET, clientId: 'archiver', clean: false };
    const archiver = await gw.mqttClient(archiverLogin);
    await archiver.subscribeAsync('#', { qos: 1 });

    // A sensor's secret taken from a classroom plug: 500 readings at once, with a neighbour reporting among them.
    const flooder = await gw.mqttClient({ username: 'room-101', password: SECRET });
    const neighbour = await gw.mqttClient({ username: 'room-102', password: SECRET });
    let closes = 0;
    flooder.on('close', () => closes++);
    const started = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      acks.push(flooder.publishAsync('campus/sensors/room-101/flood', `{"co2":${600 + (i % 100)}}`, { qos: 1 }));
      if (i % 20 === 0) acks.push(neighbour.publishAsync('campus/sensors/room-102/steady', '{"co2":610}', { qos: 1 }));
    }
    await Promise.all(acks); // every PUBACK came back: the flooder would otherwise send them all again
    const floodS = (performance.now() - started) / 1000;
    await settled(neighbour);
    const passed = count('campus/sensors/room-101/flood');
    expect(passed).toBeGreaterThanOrEqual(50);
    expect(passed).toBeLessThanOrEqual(50 + Math.ceil(10 * floodS) + 1);
    expect(count('campus/sensors/room-102/steady')).toBe(25);
    expect([...seen.keys()].filter((t) => !t.startsWith('campus/'))).toEqual([]);
    expect(flooder.connected).toBe(true);
    expect(closes).toBe(0);
    expect(await refusedCount(gw, 'publish_rate')).toBe(500 - passed);
    expect(log.text().split('\n').filter((l) => l.includes('"reason":"publish_rate"')).length).toBe(1);
    // Nor was any of it kept for the archiver: back from a restart, it gets what it missed, and that is nothing dropped.
    await archiver.endAsync();
    const archiverBack = await gw.mqttClient(archiverLogin);
    const replayed: string[] = [];
    archiverBack.on('message', (topic) => replayed.push(topic));
    await settled(neighbour);
    await waitFor(() => replayed.includes('campus/sensors/room-102/marker'));
    expect(replayed.filter((t) => !t.startsWith('campus/'))).toEqual([]);
    await archiverBack.endAsync();

    // A new connection of the same device starts from the same, spent budget.
    await flooder.endAsync();
    const again = await gw.mqttClient({ username: 'room-101', password: SECRET });
    await Promise.all(Array.from({ length: 40 }, () => again.publishAsync('campus/sensors/room-101/again', '{"co2":600}', { qos: 1 })));
    const sinceFloodS = (performance.now() - started) / 1000 - floodS;
    await settled(neighbour);
    expect(count('campus/sensors/room-101/again')).toBeLessThanOrEqual(Math.ceil(10 * sinceFloodS) + 1);
    expect(count('campus/sensors/room-101/again')).toBeLessThan(40);

    // The budget refills at 10 a second: after 1.5 s quiet, 10 readings all get through.
    await sleep(1500);
    await Promise.all(Array.from({ length: 10 }, () => again.publishAsync('campus/sensors/room-101/later', '{"co2":600}', { qos: 1 })));
    await settled(neighbour);
    expect(count('campus/sensors/room-101/later')).toBe(10);
    await again.endAsync();
  });
});

describe('broker connection limits', () => {
  it('closes connections that do not finish CONNECT within mqtt.connectTimeoutMs', async () => {
    // The timeout runs until the login is through (scrypt included), so it is not set so short that a busy CI box
    // misses it for a real login at the end.
    const gw = await startTestGateway(await deviceConfig({ connectTimeoutMs: 2000 }));
    try {
      const silent = await RawMqtt.open(gw.mqttPort);
      const partial = await RawMqtt.open(gw.mqttPort);
      await partial.write(Buffer.from([0x10, 0x20, 0x00])); // a CONNECT that never finishes
      // Bounded by the configured 2 s with a wide margin; the point is that it happens at all (Aedes waits 30 s).
      expect(await silent.closedWithin(15_000)).toBe(true);
      expect(await partial.closedWithin(15_000)).toBe(true);
      // The same over WebSocket: the upgrade goes through, the MQTT login never comes.
      const ws = new WebSocket(`ws://127.0.0.1:${gw.httpPort}/mqtt`, 'mqtt');
      const wsClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
      await wsClosed;
      expect(await refusedCount(gw, 'connect_timeout')).toBeGreaterThanOrEqual(3);
      const ok = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: SECRET });
      expect(ok.returnCode).toBe(0);
      ok.raw.end();
    } finally {
      await gw.close();
    }
  });

  it('caps connections that have not logged in, per address and in all', async () => {
    const gw = await startTestGateway(await deviceConfig({ maxPendingPerAddress: 3 }));
    const open: RawMqtt[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await RawMqtt.open(gw.mqttPort));
      const fourth = await RawMqtt.open(gw.mqttPort);
      expect(await fourth.closedWithin(5000)).toBe(true);
      expect(open.some((c) => c.closed)).toBe(false);
      expect(await refusedCount(gw, 'too_many_pending')).toBeGreaterThanOrEqual(1);
      // Once one of them logs in, there is room for another.
      open[0]!.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'late-login', username: 'room-101', password: Buffer.from(SECRET) });
      expect(await open[0]!.next('connack')).toMatchObject({ returnCode: 0 });
      const next = await RawMqtt.login(gw.mqttPort, { username: 'room-102', password: SECRET });
      expect(next.returnCode).toBe(0);
      open.push(next.raw);
    } finally {
      for (const c of open) c.end();
      await gw.close();
    }

    const gw2 = await startTestGateway(await deviceConfig({ maxPendingConnections: 2 }));
    try {
      for (let i = 0; i < 2; i++) open.push(await RawMqtt.open(gw2.mqttPort));
      const third = await RawMqtt.open(gw2.mqttPort);
      expect(await third.closedWithin(5000)).toBe(true);
    } finally {
      for (const c of open) c.end();
      await gw2.close();
    }
  });

  it('backs off failed logins per address, then refuses even the right password until the block passes', async () => {
    const gw = await startTestGateway(await deviceConfig({ loginBackoff: { maxFailures: 3, baseDelayMs: 50, maxDelayMs: 200, blockS: 1 } }));
    try {
      for (let i = 0; i < 3; i++) {
        const { raw, returnCode } = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: `guess-${i}` });
        expect(returnCode).toBe(4);
        raw.end();
      }
      const right = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: SECRET });
      expect(right.returnCode).toBe(5);
      right.raw.end();
      expect(await refusedCount(gw, 'login_backoff')).toBeGreaterThanOrEqual(1);
      // After the block (1 s here) the right password works again.
      await waitFor(async () => {
        const { raw, returnCode } = await RawMqtt.login(gw.mqttPort, { username: 'room-101', password: SECRET });
        raw.end();
        return returnCode === 0;
      }, 15_000, 250);
    } finally {
      await gw.close();
    }
  });
});

describe('a terminal uploading offline batches as fast as it can', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(await deviceConfig()); // the default rate: 200 at once, then 50 a second
  });
  afterAll(() => gw.close());

  it('pays for each batch by its size, so one login cannot keep the gateway recording sales', async () => {
    // An attacker review (2026-12-07): a batch of 500 sales is one message to the publish rate and ~100 ms of the
    // gateway's one thread (500 lookups and inserts in one synchronous transaction). A terminal's leaked secret sent
    // 200 batches at once within the burst, then 50 a second: the event loop that decides every gate never came up.
    const pos = await gw.mqttClient({ username: 'pos-1', password: SECRET });
    let answered = 0;
    pos.on('message', () => answered++);
    await pos.subscribeAsync('campus/readers/pos-1/offline/result', { qos: 0 });
    const batch = (n: number): string =>
      JSON.stringify({
        batch: `flood-${n}`,
        transactions: Array.from({ length: 500 }, (_, i) => ({ uid: (0x10000000 + n * 500 + i).toString(16), seq: n * 500 + i, amount: 100, at: Date.now() })),
      });
    const bytes = Buffer.byteLength(batch(0));
    expect(bytes).toBeGreaterThan(30_000);
    const started = performance.now();
    await Promise.all(Array.from({ length: 40 }, (_, n) => pos.publishAsync('campus/readers/pos-1/offline', batch(n), { qos: 1 })));
    const floodS = (performance.now() - started) / 1000;
    // Every batch was either recorded and answered, or dropped and counted.
    await waitFor(async () => answered + (await refusedCount(gw, 'publish_rate')) === 40, 30_000);
    const cost = Math.ceil(bytes / 1024);
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(answered).toBeLessThanOrEqual(Math.floor(200 / cost) + Math.ceil((50 * floodS) / cost) + 1);
    expect(pos.connected).toBe(true);
    // A small batch later, once the budget has refilled, is recorded as ever.
    await sleep((cost / 50) * 1000 + 100);
    const small = JSON.stringify({ batch: 'later', transactions: [{ uid: '0A1B2C3D', seq: 999_999, amount: 100, at: Date.now() }] });
    const before = answered;
    await pos.publishAsync('campus/readers/pos-1/offline', small, { qos: 1 });
    await waitFor(() => answered === before + 1);
    await pos.endAsync();
  });
});
