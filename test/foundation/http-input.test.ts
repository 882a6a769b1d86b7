/**
 * Hostile HTTP input: dates no school day can have answer 400 (never a 500 and a stack in the log), and the bearer
 * token the console's EventSource carries in the URL never reaches the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { captureLog } from '../helpers/log-capture.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';

describe('hostile input on the HTTP API', () => {
  let gw: TestGateway;
  let admin: string;
  const log = captureLog();

  beforeAll(async () => {
    gw = await startTestGateway({ log: log.log });
    admin = await gw.login('admin');
  });
  afterAll(() => gw?.close());

  // Every date or time a route reads from a query, a path or a body, each with values no school will ever ask for:
  // years with five digits or none, a zero month, epoch values past any calendar, numbers in exponent form.
  const hostile: [string, string, unknown?][] = [
    ['GET', '/api/v1/attendance?date=0000-00-00'],
    ['GET', '/api/v1/attendance?date=99999-01-01'],
    ['GET', '/api/v1/attendance?date=0000-01-01'],
    ['GET', '/api/v1/attendance?date=9999-12-31'],
    ['GET', '/api/v1/attendance/classes/%E5%88%9D%E4%B8%80(1)%E7%8F%AD?date=0001-01-01'],
    ['GET', '/api/v1/attendance/grades/%E5%88%9D%E4%B8%80?date=3000-01-01'],
    ['GET', '/api/v1/attendance/people/S20250001?date=0000-01-01'],
    ['POST', '/api/v1/attendance/excuse', { externalId: 'S20250001', date: '0000-01-01', reason: 'sick' }],
    ['DELETE', '/api/v1/attendance/excuse/S20250001/9999-12-31'],
    ['GET', '/api/v1/wallet/sales?date=0000-01-01'],
    ['GET', '/api/v1/wallet/sales?date=99999-01-01'],
    ['GET', '/api/v1/wallet/reconciliation?date=9999-12-31'],
    ['GET', '/api/v1/sensors/demo-sensor-101/series?metric=temperature&from=99999-01-01'],
    ['GET', '/api/v1/sensors/demo-sensor-101/series?metric=temperature&from=0000000000&to=9999999999999'],
    ['GET', '/api/v1/sensors/demo-sensor-101/series?metric=temperature&from=9999999999999'],
    ['GET', '/api/v1/sensors/demo-sensor-101/series?metric=temperature&to=0000-01-01T00:00:00Z'],
    ['GET', '/api/v1/sensors/demo-sensor-101/series?metric=temperature&from=1e20'],
    ['GET', '/api/v1/sensors/zones/hourly?hour=9999999999999'],
    ['GET', '/api/v1/sensors/zones/hourly?hour=0000000000'],
    ['GET', '/api/v1/sensors/zones/hourly?hour=1e20'],
    ['GET', '/api/v1/cards/blocklist?since=1e20'],
    ['GET', '/api/v1/cards/blocklist?since=-1'],
  ];

  it.each(hostile)('%s %s answers 400 with a JSON error', async (method, path, body) => {
    const res = await gw.api(path, { method, token: admin, ...(body !== undefined && { json: body }) });
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('still answers sane dates', async () => {
    expect((await gw.api('/api/v1/attendance?date=2026-09-01', { token: admin })).status).toBe(200);
    expect((await gw.api('/api/v1/wallet/sales?date=2026-09-01', { token: admin })).status).toBe(200);
    const series = await gw.api('/api/v1/sensors/demo-sensor-101/series?metric=temperature&from=2026-09-01T00:00:00%2B08:00&to=1788278400000', { token: admin });
    expect(series.status).toBe(200);
    expect((await gw.api('/api/v1/cards/blocklist?since=0', { token: admin })).status).toBe(200);
  });

  it('reads no body before the sign-in: a request without a token gets 401 whatever it carries', async () => {
    // A 2 MB body of nested brackets took ~250 ms of the event loop to parse, before the 401: three such loops from a
    // phone on the LAN held tap decisions for over a second. Unsigned, it is refused unread.
    const nested = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    for (const body of ['{', nested]) {
      const res = await gw.api('/api/v1/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(401);
    }
    // The login's body is read after its rate limit, and a login is small.
    const big = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'x'.repeat(8192) } });
    expect(big.status).toBe(413);
    // Signed in, a body is read as before.
    const ok = await gw.api('/api/v1/alerts', { method: 'POST', token: admin, json: { message: 'smoke in the lab' } });
    expect(ok.status).toBeLessThan(300);
  });

  it('never writes a token from the URL into the log', async () => {
    const secret = await gw.login('security');
    // A real failure behind the request (the database refuses writes, as on a disk gone read-only): the gateway
    // logs the request that failed, with its URL.
    gw.ctx.db.pragma('query_only = ON');
    try {
      const res = await gw.api(`/api/v1/alerts?access_token=${secret}&kinds=alert.`, { method: 'POST', json: { message: 'smoke in the lab' } });
      expect(res.status).toBe(500);
    } finally {
      gw.ctx.db.pragma('query_only = OFF');
    }
    const text = log.text();
    expect(text).toContain('request failed');
    expect(text).toContain('access_token=[redacted]');
    expect(text).toContain('kinds=alert.');
    expect(text).not.toContain(secret);
  });

  it('never writes a token from the URL of a refused websocket upgrade into the log', async () => {
    const secret = await gw.login('security');
    const port = Number(new URL(gw.base).port);
    // The console's EventSource URL, asked for as a websocket (a proxy or a client that tries one first).
    expect(await rawUpgrade(port, `/api/v1/events/stream?access_token=${secret}&kinds=tap.`)).toBe('HTTP/1.1 404 Not Found');
    const text = log.text();
    expect(text).toContain('refused a websocket upgrade');
    expect(text).toContain('access_token=[redacted]');
    expect(text).not.toContain(secret);
  });
});

describe('hostile websocket upgrades', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    gw = await startTestGateway();
    port = Number(new URL(gw.base).port);
  });
  afterAll(() => gw?.close());

  it('answers an upgrade to a path nobody serves with 404 and closes it, where it stayed open for ever', async () => {
    expect(await rawUpgrade(port, '/no-such-socket')).toBe('HTTP/1.1 404 Not Found');
    expect(await rawUpgrade(port, '/mqtt')).toBe('HTTP/1.1 101 Switching Protocols');
  });

  it('refuses a target that is not origin-form (`GET http://host/mqtt`), which paths were read from differently', async () => {
    expect(await rawUpgrade(port, `http://127.0.0.1:${port}/mqtt`)).toBe('HTTP/1.1 400 Bad Request');
  });

  it('survives a client that resets the connection right after asking to upgrade', async () => {
    // Node's HTTP server takes its 'error' listener off an upgraded socket: the reset was an 'error' nobody heard,
    // and the process exited.
    await Promise.all(['/no-such-socket', '/mqtt'].map((target) => rawUpgrade(port, target, { reset: 50 }).catch(() => '')));
    await new Promise((r) => setTimeout(r, 100));
    expect((await gw.api('/healthz')).status).toBe(200);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_http_upgrades_refused_total\{reason="not_found"\} [1-9]/);
  });
});
