/**
 * Issue 17, points 1 and 2, tried as an attacker on the school LAN would: a client id belongs to the login that holds
 * it (no kicking another device off, no resuming its persistent session and reading its queue), and a tap's PIN is
 * taken out before the broker routes the message, so no queue, retained message or in-process subscriber keeps it.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

const GATE_SECRET = 'gate-secret-1';
const OTHER_SECRET = 'gate-secret-2';
const SERVICE_SECRET = 'service-secret-1';

interface Received {
  topic: string;
  payload: string;
}

/**
 * Connects with the message listener already attached: a resumed session's queued messages may arrive in the same
 * read as the CONNACK, before `connectAsync` would have handed the client back.
 */
async function connectCollecting(gw: TestGateway, opts: IClientOptions, open: MqttClient[]): Promise<{ client: MqttClient; got: Received[] }> {
  const got: Received[] = [];
  const client = mqtt.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  open.push(client);
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return { client, got };
}

const refusedNotAuthorized = { code: 5 };

describe('client ids belong to the login that holds them (production mode)', () => {
  let gw: TestGateway;
  const open: MqttClient[] = [];
  const connect = async (o: IClientOptions): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
    open.push(c);
    return c;
  };
  const gateIn = { username: 'gate-in-1', password: GATE_SECRET };
  const gateOut = { username: 'gate-out-1', password: OTHER_SECRET };
  const service = { username: 'integration', password: SERVICE_SECRET };

  beforeAll(async () => {
    gw = await startTestGateway({
      demo: false,
      users: [{ username: 'boss', password: 'a-strong-password', role: 'admin' }],
      config: {
        readers: [
          { id: 'gate-in-1', accessPoint: 'main-gate', direction: 'in', driver: { type: 'mqtt', secretHash: await hashSecret(GATE_SECRET) } },
          { id: 'gate-out-1', accessPoint: 'main-gate', direction: 'out', driver: { type: 'mqtt', secretHash: await hashSecret(OTHER_SECRET) } },
        ],
        access: { accessPoints: [{ id: 'main-gate', name: 'Main gate', kind: 'gate', gateId: 'main-gate' }] },
        mqtt: { services: [{ username: 'integration', secretHash: await hashSecret(SERVICE_SECRET) }] },
      },
    });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  });
  afterAll(() => gw.close());

  it('refuses a second login taking a connected client id, and leaves the holder connected and served', async () => {
    // Firmware keeps its own client id: it need not be the username.
    const holder = await connect({ ...gateIn, clientId: 'esp32-a1b2c3' });
    let kicked = false;
    holder.on('close', () => (kicked = true));
    await holder.subscribeAsync('campus/readers/gate-in-1/decision', { qos: 1 });

    await expect(connect({ ...gateOut, clientId: 'esp32-a1b2c3' })).rejects.toMatchObject(refusedNotAuthorized);
    await expect(connect({ ...service, clientId: 'esp32-a1b2c3' })).rejects.toMatchObject(refusedNotAuthorized);

    const msg = nextMessage(holder, 'campus/readers/gate-in-1/decision');
    await gw.ctx.mqtt.publish('campus/readers/gate-in-1/decision', { granted: true, reason: 'ok' }, { qos: 1 });
    expect(JSON.parse((await msg).payload.toString())).toEqual({ granted: true, reason: 'ok' });
    expect(kicked).toBe(false);
    expect(holder.connected).toBe(true);

    // The same login may take its own id over (a device reconnecting before the broker saw it go).
    const again = await connect({ ...gateIn, clientId: 'esp32-a1b2c3' });
    expect(again.connected).toBe(true);
    await waitFor(() => kicked);
  });

  it('frees an id once no connection and no stored session holds it, over TCP and WebSocket', async () => {
    // The broker notices a disconnect a moment after the client has gone: synchronise on the id becoming free.
    const takeOnceFree = (o: IClientOptions, url = `mqtt://127.0.0.1:${gw.mqttPort}`): Promise<MqttClient> =>
      waitFor(() => mqtt.connectAsync(url, { reconnectPeriod: 0, ...o }).then((c) => (open.push(c), c), () => undefined));

    const first = await connect({ ...gateIn, clientId: 'borrowed-id' });
    await first.endAsync();
    expect((await takeOnceFree({ ...gateOut, clientId: 'borrowed-id' })).connected).toBe(true);

    const ws = `ws://127.0.0.1:${gw.httpPort}/mqtt`;
    const overWs = await mqtt.connectAsync(ws, { ...gateIn, clientId: 'ws-borrowed', reconnectPeriod: 0 });
    await expect(connect({ ...gateOut, clientId: 'ws-borrowed' })).rejects.toMatchObject(refusedNotAuthorized);
    await overWs.endAsync();
    expect((await takeOnceFree({ ...gateOut, clientId: 'ws-borrowed' }, ws)).connected).toBe(true);

    // A persistent session that subscribed to nothing stores nothing to protect.
    const empty = await connect({ ...gateIn, clientId: 'empty-session', clean: false });
    await empty.endAsync();
    expect((await takeOnceFree({ ...gateOut, clientId: 'empty-session', clean: false })).connected).toBe(true);
  });

  it("keeps a device's own id reserved to it, even from a trusted service and while the device is away", async () => {
    await expect(connect({ ...gateOut, clientId: 'gate-in-1' })).rejects.toMatchObject(refusedNotAuthorized);
    await expect(connect({ ...service, clientId: 'gate-in-1' })).rejects.toMatchObject(refusedNotAuthorized);
    // A service's username is its reserved id as well.
    await expect(connect({ ...gateIn, clientId: 'integration' })).rejects.toMatchObject(refusedNotAuthorized);
    const own = await connect({ ...gateIn, clientId: 'gate-in-1' });
    expect(own.connected).toBe(true);
  });

  it('resumes a persistent session only for the login that made it', async () => {
    const session = { clientId: 'pos-firmware-7', clean: false };
    const a = await connect({ ...gateIn, ...session });
    await a.subscribeAsync('campus/readers/gate-in-1/decision', { qos: 1 });
    await a.endAsync();
    // Once the broker has seen it go, the session is all that holds the id.
    await waitFor(async () => /^campus_mqtt_clients 0$/m.test(await (await gw.api('/metrics')).text()));
    // Queued for the session while it is away.
    await gw.ctx.mqtt.publish('campus/readers/gate-in-1/decision', { granted: false, reason: 'queued-for-a' }, { qos: 1 });

    // Another device, and a trusted service, try to resume it and read the queue.
    await expect(connect({ ...gateOut, ...session })).rejects.toMatchObject(refusedNotAuthorized);
    await expect(connect({ ...service, ...session })).rejects.toMatchObject(refusedNotAuthorized);
    // Nor may another login wipe it with a clean start.
    await expect(connect({ ...gateOut, clientId: 'pos-firmware-7', clean: true })).rejects.toMatchObject(refusedNotAuthorized);

    const back = await connectCollecting(gw, { ...gateIn, ...session }, open);
    await waitFor(() => back.got.length > 0);
    expect(back.got.map((m) => JSON.parse(m.payload) as { reason: string })).toEqual([{ granted: false, reason: 'queued-for-a' }]);
  });

  it('counts the refusals in /metrics by their own reason', async () => {
    // Its own refusal, counted against what the file's other tests left (alone or first, they left none).
    const taken = async (): Promise<number> =>
      Number(/campus_mqtt_refused_total\{reason="client_id_taken"\} (\d+)/.exec(await (await gw.api('/metrics')).text())?.[1] ?? 0);
    const before = await taken();
    await connect({ ...gateIn, clientId: 'counted-id' });
    await expect(connect({ ...gateOut, clientId: 'counted-id' })).rejects.toMatchObject(refusedNotAuthorized);
    expect(await taken()).toBe(before + 1);
  });
});

describe('anonymous clients (demo mode) and client ids', () => {
  let gw: TestGateway;
  const open: MqttClient[] = [];
  const connect = async (o: IClientOptions): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    gw = await startTestGateway({
      demo: true,
      config: { sensors: { sensors: [{ id: 'demo-sensor-101', zone: 'classroom-101', kind: 'environment', secretHash: await hashSecret(GATE_SECRET) }] } },
    });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  });
  afterAll(() => gw.close());

  it("never gives a configured device's id to an anonymous client, connected or not", async () => {
    await expect(connect({ clientId: 'demo-sensor-101' })).rejects.toMatchObject(refusedNotAuthorized);
    const device = await connect({ username: 'demo-sensor-101', password: GATE_SECRET, clientId: 'demo-sensor-101' });
    let kicked = false;
    device.on('close', () => (kicked = true));
    await expect(connect({ clientId: 'demo-sensor-101' })).rejects.toMatchObject(refusedNotAuthorized);
    // Nor an id a logged-in device holds.
    const firmware = await connect({ username: 'demo-sensor-101', password: GATE_SECRET, clientId: 'tasmota-4F2A' });
    await expect(connect({ clientId: 'tasmota-4F2A' })).rejects.toMatchObject(refusedNotAuthorized);
    const seen = new Promise<string>((resolve) => {
      void gw.ctx.mqtt.subscribe('campus/sensors/demo-sensor-101', (_t, p) => resolve(p.toString()));
    });
    await device.publishAsync('campus/sensors/demo-sensor-101', '{"co2":650}', { qos: 1 });
    expect(await seen).toBe('{"co2":650}');
    expect(kicked).toBe(false);
    expect(firmware.connected).toBe(true);
  });
});

describe('a tap PIN goes to the decision only', () => {
  let gw: TestGateway;
  let admin: string;
  const open: MqttClient[] = [];
  const watcher = { username: 'integration', password: SERVICE_SECRET, clientId: 'tap-archiver', clean: false };

  beforeAll(async () => {
    gw = await startTestGateway({
      config: {
        access: { wallet: { pinAboveDailyFen: 1000, pinMaxAttempts: 5, pinLockMinutes: 30 } },
        mqtt: { services: [{ username: 'integration', secretHash: await hashSecret(SERVICE_SECRET) }] },
      },
    });
    admin = await gw.login();
    expect((await gw.api('/api/v1/wallet/S20250001/pin', { method: 'PUT', token: admin, json: { pin: '4321' } })).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.endAsync(true).catch(() => {})));
    await gw.close();
  });

  it("keeps the PIN out of a terminal's will", async () => {
    const inProcess: string[] = [];
    const off = await gw.ctx.mqtt.subscribe('campus/readers/demo-gate-out/tap', (_t, p) => inProcess.push(p.toString()));
    const listener = await connectCollecting(gw, { clientId: 'will-listener' }, open);
    await listener.client.subscribeAsync('campus/readers/demo-gate-out/tap', { qos: 1 });
    const dying = await connectCollecting(
      gw,
      { clientId: 'dying-terminal', will: { topic: 'campus/readers/demo-gate-out/tap', payload: Buffer.from('{"uid":"0A1B2C3D","pin":"4321"}'), qos: 1, retain: false } },
      open,
    );
    dying.client.stream.destroy(); // gone without a DISCONNECT: the broker publishes the will
    await waitFor(() => listener.got.length > 0 && inProcess.length > 0);
    await off();
    for (const p of [...listener.got.map((m) => m.payload), ...inProcess]) expect(JSON.parse(p)).toEqual({ uid: '0A1B2C3D' });
  });

  it('keeps the PIN out of an offline queue, a retained message and in-process subscribers, and still pays with it', async () => {
    // An integration keeps a persistent QoS 1 session on the taps, and is away while the canteen takes a payment.
    const away = await connectCollecting(gw, watcher, open);
    await away.client.subscribeAsync('campus/readers/+/tap', { qos: 1 });
    await away.client.endAsync();
    // Node-RED flows and other in-process code subscribe through the same port.
    const inProcess: string[] = [];
    await gw.ctx.mqtt.subscribe('campus/readers/+/tap', (_t, p) => inProcess.push(p.toString()));

    const pos = await gw.mqttClient();
    await pos.subscribeAsync('campus/readers/demo-canteen-1/decision', { qos: 1 });
    const answer = nextMessage(pos, 'campus/readers/demo-canteen-1/decision');
    await pos.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', amount: 1500, seq: 41, pin: '4321' }), { qos: 1 });
    // Above the day amount: paid only because the decision had the PIN.
    expect(JSON.parse((await answer).payload.toString())).toMatchObject({ granted: true, reason: 'ok' });
    // A terminal that retains its last tap (a misconfigured one) must not keep the PIN in the broker either.
    const answer2 = nextMessage(pos, 'campus/readers/demo-canteen-1/decision');
    await pos.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', amount: 100, seq: 42, pin: '4321' }), { qos: 1, retain: true });
    expect(JSON.parse((await answer2).payload.toString())).toMatchObject({ granted: true, reason: 'ok' });

    const back = await connectCollecting(gw, watcher, open);
    await waitFor(() => back.got.length >= 2);
    const late = await connectCollecting(gw, { clientId: 'late-subscriber' }, open);
    await late.client.subscribeAsync('campus/readers/+/tap', { qos: 1 });
    await waitFor(() => late.got.length >= 1);

    const routes = {
      'offline queue': back.got.map((m) => m.payload),
      'retained message': late.got.map((m) => m.payload),
      'in-process subscriber': inProcess,
    };
    expect(routes['offline queue'].some((p) => p.includes('"seq":41'))).toBe(true);
    expect(routes['offline queue'].some((p) => p.includes('"seq":42'))).toBe(true);
    expect(routes['retained message'].some((p) => p.includes('"seq":42'))).toBe(true);
    expect(inProcess.filter((p) => p.includes('"seq":4')).length).toBe(2);
    // Soft: a leak on one route does not hide one on another.
    for (const [route, payloads] of Object.entries(routes)) {
      for (const p of payloads) {
        expect.soft(p, route).not.toContain('pin');
        expect.soft(p, route).not.toContain('4321');
        expect.soft(JSON.parse(p), route).toMatchObject({ uid: '0A1B2C3D' });
      }
    }
  });
});
