/**
 * The clock guard against fake ONVIF cameras whose clocks run ahead (real HTTP, real SOAP) and a city upstream whose
 * HTTP Date header is off (a real loopback server): `clock_unsynchronized` is raised and resolved, and shows in
 * /healthz and /metrics. A clock that jumps back keeps tap ids in order.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UpstreamClock } from '../../cloud-sync/upstream-clock.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { DEMO_STUDENT } from '../../gateway/people/demo.js';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import type { MqttPort } from '../../gateway/core/mqtt-port.js';
import { alertMigrations } from '../../gateway/alerts/alerts.js';
import { userMigrations } from '../../gateway/auth/users.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { ClockGuard, median } from '../../gateway/time/clock-guard.js';
import { moduleContext } from '../helpers/module-context.js';
import { camera, cameraFixtures, USERS } from '../cameras/helpers.js';
import { nextMessage, startTestGateway, tempDir, waitFor } from '../helpers/gateway.js';

const fx = cameraFixtures();
const noBroker: MqttPort = { publish: () => Promise.reject(new Error('no broker')), subscribe: () => Promise.reject(new Error('no broker')) };

describe('clock guard', () => {
  it('takes the median of the cameras', () => {
    expect(median([])).toBeNull();
    expect(median([5, -100, 7])).toBe(5);
    expect(median([1, 3])).toBe(2);
  });

  it('tells retention the clock is confirmed only by the host NTP or the city, never by a camera', async () => {
    const dataDir = tempDir();
    const cfg = validateConfig({ dataDir, log: { level: 'silent' }, clock: { maxOffsetS: 30 } }, 'test');
    const db = openDatabase(join(dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations, ...alertMigrations]);
    const ctx = moduleContext({ config: cfg, db, mqtt: noBroker, writer: { maxSize: 10, maxDelayMs: 1 } });
    let host: boolean | null = null;
    let cameras: number[] = [];
    let upstream: number | null = null;
    let verified = true;
    const guard = new ClockGuard(ctx, { hostSynchronized: async () => host, cameraOffsetsMs: () => cameras, upstreamOffsetMs: () => upstream, upstreamVerified: () => verified });
    const confirmed = async (): Promise<boolean> => {
      await guard.check();
      return guard.confirmed();
    };
    try {
      expect(guard.confirmed()).toBe(false); // before the first check
      expect(await confirmed()).toBe(false);
      // Anything at a camera's address answers for it (an attacker review): agreeing cameras confirm nothing.
      cameras = [1_000];
      expect(await confirmed()).toBe(false);
      host = true;
      expect(await confirmed()).toBe(true);
      upstream = 300_000; // the city, over verified HTTPS, says otherwise
      expect(await confirmed()).toBe(false);
      // A school network with no way out: no NTP, but the city's answers agree.
      host = false;
      upstream = 500;
      expect(await confirmed()).toBe(true);
      // Not over plain HTTP: anyone on the path writes that Date header.
      verified = false;
      expect(await confirmed()).toBe(false);
    } finally {
      ctx.writer.close();
      db.close();
    }
  });

  it("raises clock_unsynchronized when the cameras' clocks disagree with the gateway's, and resolves it when they agree", async () => {
    const a = await fx.device({ clockOffsetMs: 120_000 });
    const b = await fx.device({ clockOffsetMs: 125_000 });
    const gw = await fx.gateway({ cameras: [camera('cam-a', a.port), camera('cam-b', b.port)] }, { clock: { checkEveryS: 1, hostNtp: false } });
    const open = () => gw.ctx.alerts.list({ status: ['open'], type: 'clock_unsynchronized', limit: 5 }).items;

    const [alert] = await waitFor(() => (open().length ? open() : null), 15_000, 100);
    expect(alert).toMatchObject({ severity: 'warning', type: 'clock_unsynchronized' });
    expect(alert!.message).toMatch(/12[0-9](\.\d)? s ahead of the gateway's/);
    const token = await gw.login(USERS[0]!.username, USERS[0]!.password);
    const health = (await (await gw.api('/healthz', { token })).json()) as { components: Record<string, { ok: boolean; detail: string }> };
    expect(health.components.clock!.detail).toMatch(/^warning: /);
    expect(await (await gw.api('/metrics')).text()).toMatch(/campus_clock_offset_seconds\{source="cameras"\} 12\d/);

    a.opts.clockOffsetMs = 1_000;
    b.opts.clockOffsetMs = -500;
    await waitFor(() => gw.ctx.alerts.get(alert!.id).status === 'resolved', 15_000, 100);
    expect(open()).toEqual([]);
  });

  it('tries a resolve of clock_unsynchronized the database refused again at the next check, until it takes it', async () => {
    let synchronized = false;
    const gw = await startTestGateway({ hostNtp: async () => synchronized, config: { clock: { checkEveryS: 1, hostNtp: true } } });
    fx.cleanup(() => gw.close());
    const open = () => gw.ctx.alerts.list({ status: ['open'], type: 'clock_unsynchronized', limit: 5 }).items;
    const clockHealth = async () => ((await (await gw.api('/healthz')).json()) as { components: Record<string, { detail: string }> }).components.clock!.detail;
    const [alert] = await waitFor(() => (open().length ? open() : null), 10_000, 50);

    gw.ctx.db.exec("CREATE TRIGGER refuse_alert_update BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    synchronized = true;
    await waitFor(async () => !(await clockHealth()).startsWith('warning'), 10_000, 50);
    await new Promise((r) => setTimeout(r, 1_500)); // a check more
    expect(gw.ctx.alerts.get(alert!.id).status).toBe('open');
    expect(await (await gw.api('/metrics')).text()).toMatch(/campus_alerts_unrecorded_total\{type="clock_unsynchronized"\} [1-9]/);
    gw.ctx.db.exec('DROP TRIGGER refuse_alert_update');
    // Before, only a change from not ok to ok resolved it: it stayed open in the console while /healthz said ok.
    await waitFor(() => gw.ctx.alerts.get(alert!.id).status === 'resolved', 5_000, 100);
    expect(open()).toEqual([]);
  });

  it('resolves a clock_unsynchronized left open by the run before once its checks find the clock agreeing', async () => {
    let synchronized = false;
    const dataDir = tempDir();
    const opts = { dataDir, hostNtp: async () => synchronized, config: { clock: { checkEveryS: 1, hostNtp: true } } };
    const first = await startTestGateway(opts);
    const [alert] = await waitFor(() => {
      const items = first.ctx.alerts.list({ status: ['open'], type: 'clock_unsynchronized', limit: 5 }).items;
      return items.length ? items : null;
    }, 10_000, 50);
    await first.close();
    // The gateway stops with the alert open, and starts again with its host's clock synchronized.
    synchronized = true;
    const gw = await startTestGateway(opts);
    fx.cleanup(() => gw.close());
    // Before, a new guard started as ok and only a change from not ok to ok resolved: it stayed open for good.
    await waitFor(() => gw.ctx.alerts.get(alert!.id).status === 'resolved', 5_000, 100);
  });

  it("reads the city's clock from the Date header at the request's midpoint, ignores garbage and one odd answer", () => {
    let mono = 0;
    const city = new UpstreamClock(() => mono);
    const t = Date.UTC(2026, 8, 1, 2, 0, 0);
    expect(city.offsetMs()).toBeNull();
    city.record('not a date', t, t);
    city.record(undefined, t, t);
    expect(city.offsetMs()).toBeNull();
    // Sent at t, answered at t + 2 s, the city said t + 61 s (truncated to the second): 60.5 s ahead at the midpoint.
    city.record(new Date(t + 61_000).toUTCString(), t, t + 2_000);
    expect(city.offsetMs()).toBe(60_500);
    city.record(new Date(t + 61_000).toUTCString(), t, t + 2_000);
    city.record(new Date(t - 3_600_000).toUTCString(), t, t); // one stale proxy answer
    expect(city.offsetMs()).toBe(60_500);
    // Readings older than ten minutes no longer count.
    mono += 11 * 60_000;
    expect(city.offsetMs()).toBeNull();
  });

  it("raises clock_unsynchronized when the city upstream's Date header is 5 minutes ahead, and resolves it when it agrees", async () => {
    const clock = new ManualClock(Date.UTC(2026, 8, 1, 2, 0, 0));
    let skewMs = 5 * 60_000;
    let answers = 0;
    const city = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        answers++;
        res.setHeader('date', new Date(clock.now() + skewMs).toUTCString());
        res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'GET' ? '[]' : '{"ok":true}');
      });
    });
    await new Promise<void>((r) => city.listen(0, '127.0.0.1', () => r()));
    fx.cleanup(() => new Promise<void>((r) => (city.closeAllConnections(), city.close(() => r()))));
    const port = (city.address() as AddressInfo).port;
    const gw = await startTestGateway({
      clock,
      config: { cloud: { upstreamUrl: `http://127.0.0.1:${port}/city/`, http: { commandPollS: 0.2 } }, clock: { checkEveryS: 1, hostNtp: false } },
    });
    fx.cleanup(() => gw.close());
    const open = () => gw.ctx.alerts.list({ status: ['open'], type: 'clock_unsynchronized', limit: 5 }).items;

    const [alert] = await waitFor(() => (open().length ? open() : null), 15_000, 100);
    expect(answers).toBeGreaterThan(0);
    expect(alert!.message).toContain("the city upstream's clock is 300.5 s ahead of the gateway's (HTTP Date header)");
    const health = (await (await gw.api('/healthz')).json()) as { components: Record<string, { ok: boolean; detail: string }> };
    expect(health.components.clock).toMatchObject({ ok: true });
    expect(health.components.clock!.detail).toMatch(/^warning: .*upstream 300\.5 s/);
    // The console shows the same warning in its language, with the offset as a number.
    expect(health.components.clock).toMatchObject({ code: 'clock_warning', params: { upstream: 300.5 } });
    expect(await (await gw.api('/metrics')).text()).toContain('campus_clock_offset_seconds{source="upstream"} 300.5');

    skewMs = 0;
    await waitFor(() => gw.ctx.alerts.get(alert!.id).status === 'resolved', 15_000, 100);
    expect(open()).toEqual([]);
    expect(await (await gw.api('/metrics')).text()).toContain('campus_clock_offset_seconds{source="upstream"} 0.5');
  });

  it('a clock that jumps back never reorders taps or reuses an id', async () => {
    const clock = new ManualClock(Date.UTC(2026, 8, 1, 2, 0, 0));
    const gw = await startTestGateway({ clock });
    fx.cleanup(() => gw.close());
    const client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    const ids: string[] = [];
    for (const [reader, back] of [['demo-gate-in', 0], ['demo-gate-out', 3_600_000], ['demo-gate-in', 60_000]] as const) {
      clock.advance(-back);
      const answer = nextMessage(client, `campus/readers/${reader}/decision`);
      gw.ctx.bus.emit('tap.received', { readerId: reader, uid: DEMO_STUDENT.uid, at: clock.now() });
      ids.push((JSON.parse((await answer).payload.toString()) as { tapId: string }).tapId);
    }
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);
    const stored = (gw.ctx.db.prepare('SELECT id FROM taps ORDER BY id').all() as { id: string }[]).map((r) => r.id);
    expect(stored.slice(-3)).toEqual(ids);
  });
});
