import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('HTTP API: login, roles, validation, errors', () => {
  let gw: TestGateway;
  let tokens: Record<'admin' | 'security' | 'viewer', string>;
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 8 } } } });
    tokens = { admin: await gw.login('admin'), security: await gw.login('security'), viewer: await gw.login('viewer') };
  });
  afterAll(() => gw.close());

  it('answers /healthz with versions and components', async () => {
    const res = await gw.api('/healthz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', components: { db: { ok: true }, broker: { ok: true } } });
    expect(body.schemaVersion).toBeGreaterThanOrEqual(3);
    expect(typeof body.version).toBe('string');
  });

  it('logs in with the demo credentials and refuses a wrong password', async () => {
    const ok = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'campus-demo' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ role: 'admin', token: expect.any(String) });
    const bad = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'guess' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: { code: 'unauthorized', message: 'wrong username or password' } });
  });

  it('needs a valid bearer token', async () => {
    expect((await gw.api('/api/v1/alerts')).status).toBe(401);
    expect((await gw.api('/api/v1/alerts', { token: 'not-a-token' })).status).toBe(401);
    expect((await gw.api('/api/v1/alerts', { token: tokens.viewer })).status).toBe(200);
  });

  it('applies the role matrix: viewers read, security and admin act', async () => {
    const raise = (token: string) =>
      gw.api('/api/v1/alerts', { method: 'POST', token, json: { message: 'stranger at the east fence', severity: 'warning' } });
    expect((await raise(tokens.viewer)).status).toBe(403);
    const created = await raise(tokens.security);
    expect(created.status).toBe(201);
    const alert = (await created.json()) as { id: string; status: string; source: string };
    expect(alert).toMatchObject({ status: 'open', source: 'user:security' });

    const ack = (token: string) => gw.api(`/api/v1/alerts/${alert.id}/ack`, { method: 'POST', token, json: { note: 'on my way' } });
    const forbidden = await ack(tokens.viewer);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const acked = await ack(tokens.security);
    expect(acked.status).toBe(200);
    expect(await acked.json()).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'security', ackNote: 'on my way' });
    expect((await ack(tokens.admin)).status).toBe(409);

    const resolved = await gw.api(`/api/v1/alerts/${alert.id}/resolve`, { method: 'POST', token: tokens.admin, json: {} });
    expect(await resolved.json()).toMatchObject({ status: 'resolved', resolvedBy: 'admin' });
  });

  it('validates bodies and queries, naming the field path', async () => {
    const res = await gw.api('/api/v1/alerts', { method: 'POST', token: tokens.admin, json: { severity: 'apocalyptic' } });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('bad_request');
    expect(error.message).toContain('body.severity');
    expect(error.message).toContain('body.message');

    const q = await gw.api('/api/v1/alerts?status=sleeping&limit=0', { token: tokens.admin });
    expect(q.status).toBe(400);
    const msg = ((await q.json()) as { error: { message: string } }).error.message;
    expect(msg).toContain('query.status[0]');
    expect(msg).toContain('query.limit');
  });

  it('answers malformed JSON and unknown routes with a JSON error, never a stack trace', async () => {
    const res = await gw.api('/api/v1/alerts', {
      method: 'POST',
      token: tokens.admin,
      headers: { 'content-type': 'application/json' },
      body: '{"message": ',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'bad_request', message: 'body: malformed JSON' } });
    expect(text).not.toMatch(/at .*\.js/);
    const missing = await gw.api('/api/v1/no-such-thing', { token: tokens.admin });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: 'no such route' } });
  });

  it('filters and paginates alerts', async () => {
    for (let i = 0; i < 5; i++) {
      await gw.api('/api/v1/alerts', { method: 'POST', token: tokens.admin, json: { message: `report ${i}`, severity: 'info' } });
    }
    const page1 = (await (await gw.api('/api/v1/alerts?severity=info&limit=3', { token: tokens.viewer })).json()) as {
      items: { message: string }[];
      nextBefore: string | null;
    };
    expect(page1.items.map((a) => a.message)).toEqual(['report 4', 'report 3', 'report 2']);
    const page2 = (await (
      await gw.api(`/api/v1/alerts?severity=info&limit=3&before=${page1.nextBefore}`, { token: tokens.viewer })
    ).json()) as { items: { message: string }[]; nextBefore: string | null };
    expect(page2.items.map((a) => a.message)).toEqual(['report 1', 'report 0']);
    expect(page2.nextBefore).toBeNull();
  });

  it('streams alerts live over Server-Sent Events with the same auth', async () => {
    expect((await gw.api('/api/v1/events/stream')).status).toBe(401);
    const ac = new AbortController();
    const res = await fetch(`${gw.base}/api/v1/events/stream?kinds=alert.&access_token=${tokens.viewer}`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    await gw.api('/api/v1/alerts', { method: 'POST', token: tokens.security, json: { message: 'smoke seen in dorm A', severity: 'critical' } });
    let text = '';
    while (!text.includes('smoke seen in dorm A')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('event: alert.raised');
    ac.abort();
  });

  it('ends a live stream once its session has ended', async () => {
    const token = await gw.login('viewer');
    const res = await fetch(`${gw.base}/api/v1/events/stream?access_token=${token}`);
    const reader = res.body!.getReader();
    await reader.read(); // ": connected"
    expect((await gw.api('/api/v1/auth/logout', { method: 'POST', token })).status).toBe(204);
    const started = Date.now();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('event: session.ended');
    // Ended by the stream's session recheck (every 5 s, gateway/http/sse.ts), not left open: bounded by that
    // interval with generous slack for a loaded 2-core box, not a claim about speed.
    expect(Date.now() - started).toBeLessThan(5_000 + 10_000);
  }, 30_000);

  it('rate-limits login attempts', async () => {
    // Its own gateway: the limit it reaches would refuse every later login of the tests sharing `gw`.
    const own = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 8 } } } });
    try {
      let last = 0;
      for (let i = 0; i < 12; i++) {
        last = (await own.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: `guess-${i}` } })).status;
      }
      expect(last).toBe(429);
    } finally {
      await own.close();
    }
  });
});

describe('alerts core', () => {
  it('folds repeats within the cooldown and opens a new alert after it', async () => {
    const clock = new ManualClock(Date.UTC(2026, 8, 1, 1, 0, 0));
    const gw = await startTestGateway({ demo: true, clock, config: { alerts: { dedupCooldownS: 60 } } });
    try {
      const raise = () =>
        gw.ctx.alerts.raise({ type: 'card_lost_used', severity: 'warning', source: 'reader:demo-gate-in', message: 'lost card used' });
      const first = raise();
      clock.advance(30_000);
      const second = raise();
      expect(second.id).toBe(first.id);
      expect(second.count).toBe(2);
      clock.advance(61_000);
      const third = raise();
      expect(third.id).not.toBe(first.id);
      expect(third.count).toBe(1);
      // A resolved alert is never reopened by a repeat.
      gw.ctx.alerts.resolve(third.id, 'security');
      expect(raise().id).not.toBe(third.id);
    } finally {
      await gw.close();
    }
  });

  it('publishes alert changes on campus/alerts/<severity>', async () => {
    const gw = await startTestGateway({ demo: true });
    try {
      const client = await gw.mqttClient();
      await client.subscribeAsync('campus/alerts/#');
      const got = new Promise<{ topic: string; body: { change: string; alert: { message: string } } }>((resolve) =>
        client.on('message', (topic, p) => resolve({ topic, body: JSON.parse(p.toString()) })),
      );
      gw.ctx.alerts.raise({ type: 'test', severity: 'critical', source: 'test', message: 'hello' });
      const msg = await got;
      expect(msg.topic).toBe('campus/alerts/critical');
      expect(msg.body).toMatchObject({ change: 'raised', alert: { message: 'hello' } });
    } finally {
      await gw.close();
    }
  });
});
