/** Starts a real gateway in-process on ephemeral loopback ports with a temp data dir. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { pino, type Logger } from 'pino';
import { demoConfig } from '../../config/demo.js';
import { deepMerge, validateConfig } from '../../config/load.js';
import type { GatewayConfig, GatewayConfigInput } from '../../config/schema.js';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../gateway/compose.js';
import type { Clock } from '../../gateway/core/clock.js';
import { UserStore } from '../../gateway/auth/users.js';
import { tempDir } from './temp.js';

export interface TestGateway extends RunningGateway {
  dataDir: string;
  config: GatewayConfig;
  base: string;
  /** Token for a user (demo users: admin, security, viewer with the demo password). */
  login(username?: string, password?: string): Promise<string>;
  api(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  mqttClient(opts?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export { tempDir };

export interface TestGatewayOptions {
  demo?: boolean;
  /** Laid over the demo school when demo is true, else over the defaults. */
  config?: GatewayConfigInput;
  dataDir?: string;
  clock?: Clock;
  /** Users to create before start (needed outside demo mode). */
  users?: { username: string; password: string; role: 'admin' | 'security' | 'viewer' }[];
  /**
   * Keep the simulated readers simulating. Off by default: they tap random demo cards on their own, which
   * would now and then spend a test's card (anti-passback, a wallet debit) under it. Off, they keep their
   * ids and access points and take taps from the bus like MQTT readers.
   */
  simulatedReaders?: boolean;
  /**
   * Keep the demo's simulated door controller (config/demo.ts). Off by default: it swipes demo cards on its own and
   * polls over UDP, which tests of other things do not expect.
   */
  simulatedControllers?: boolean;
  /** The gateway's logger (default: silent, or $TEST_LOG); a test that reads the log passes one writing to its own stream. */
  log?: Logger;
  /** The free space of the data directory's filesystem as the disk guard reads it (statfs by default). */
  diskSpace?: GatewayOptions['diskSpace'];
  /** The host's NTP status as timedatectl would say it (none here: no systemd). */
  hostNtp?: GatewayOptions['hostNtp'];
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const demo = opts.demo ?? true;
  const dataDir = opts.dataDir ?? tempDir();
  // Node-RED is once per process and slow to start: tests opt in with `config: { nodeRed: { enabled: true } }`.
  // Pre-roll video likewise: the demo's cameras would each run an ffmpeg encoder; the video tests turn it on. And no
  // disk reserve: 32 MiB written for each of the suite's hundreds of gateways (test/e2e/disk-full-start.test.ts has one).
  const raw = deepMerge(deepMerge(deepMerge(demo ? demoConfig : {}, { nodeRed: { enabled: false }, cameras: { clipBufferBytes: 0 }, storage: { reserveMiB: 0 } }), opts.config ?? {}), {
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
  });
  const config = validateConfig(raw, 'test');
  if (!opts.simulatedReaders) {
    for (const r of config.readers) if (r.driver.type === 'simulated') r.driver = { type: 'mqtt', numberFormat: 'hex' };
  }
  if (!opts.simulatedControllers) config.controllers.devices = config.controllers.devices.filter((d) => !d.simulated);
  if (opts.users?.length) {
    const { openDatabase } = await import('../../gateway/storage/db.js');
    const { metaMigrations } = await import('../../gateway/storage/meta.js');
    const { userMigrations } = await import('../../gateway/auth/users.js');
    const { systemClock } = await import('../../gateway/core/clock.js');
    const db = openDatabase(join(dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations]);
    for (const u of opts.users) await new UserStore(db, systemClock, 0).add(u.username, u.password, u.role);
    db.close();
  }
  const gw = await startGateway({
    config,
    demo,
    log: opts.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' }),
    clock: opts.clock,
    ...(opts.diskSpace ? { diskSpace: opts.diskSpace } : {}),
    ...(opts.hostNtp ? { hostNtp: opts.hostNtp } : {}),
  });
  const base = `http://127.0.0.1:${gw.httpPort}`;
  const clients: MqttClient[] = [];
  const api: TestGateway['api'] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(`${base}${path}`, { ...init, headers, body });
  };
  return {
    ...gw,
    dataDir,
    config,
    base,
    api,
    async login(username = 'admin', password = 'campus-demo') {
      const res = await api('/api/v1/auth/login', { method: 'POST', json: { username, password } });
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async mqttClient(o = {}) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await gw.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the first message on `topic` (subscribes first), or rejects after `ms`. */
export function nextMessage(client: MqttClient, topic: string, ms = 5000): Promise<{ topic: string; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${ms} ms`));
    }, ms);
    const onMessage = (t: string, payload: Buffer): void => {
      if (!matches(topic, t)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ topic: t, payload });
    };
    client.on('message', onMessage);
  });
}

function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 5000, stepMs = 25): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
