/**
 * The HTTPS batch transport against a local city server on loopback: 500s and a stalled request are retried
 * with the same Idempotency-Key until delivered in order; a 4xx batch is parked, counted and not retried;
 * commands are polled and executed once. Also a real https:// server with its own CA.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { signCommand } from '../../cloud-sync/signing.js';
import { contractSchema } from './city.js';
import { cityKey } from './keys.js';
import { makePki } from './mosquitto.js';

interface Envelope {
  id: string;
  type: string;
  stream: string;
  data: Record<string, unknown>;
}

interface Post {
  key: string | undefined;
  status: number;
  envelopes: Envelope[];
}

/** A city endpoint whose next answers the test scripts. */
class CityServer {
  readonly posts: Post[] = [];
  readonly delivered: Envelope[] = [];
  /** Answers for the next POSTs: a status, 'stall' (accept and never answer) or 'drip' (a 200 whose body never ends). */
  script: (number | 'stall' | 'drip')[] = [];
  commands: unknown[] = [];
  polls = 0;
  server!: Server;
  base = '';

  handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/city/commands') {
        this.polls++;
        res.writeHead(url.searchParams.get('schoolId') === 'demo-school' ? 200 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.commands));
        return;
      }
      if (req.method !== 'POST' || url.pathname !== '/city/envelopes') {
        res.writeHead(404).end();
        return;
      }
      const envelopes = JSON.parse(Buffer.concat(chunks).toString()) as Envelope[];
      const next = this.script.shift() ?? (envelopes.some((e) => e.data.type === 'poison') ? 400 : 200);
      const key = req.headers['idempotency-key'] as string | undefined;
      if (next === 'stall') {
        this.posts.push({ key, status: 0, envelopes });
        return; // never answers
      }
      if (next === 'drip') {
        // A byte every 200 ms: never idle for the transport's timeout, never done.
        this.posts.push({ key, status: 0, envelopes });
        res.writeHead(200, { 'content-type': 'application/json' });
        const drip = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(drip));
        return;
      }
      this.posts.push({ key, status: next, envelopes });
      if (next >= 200 && next < 300) this.delivered.push(...envelopes);
      res.writeHead(next, { 'content-type': 'application/json' }).end(next >= 400 ? '{"error":"scripted"}' : '{"ok":true}');
    });
  };

  async listen(tls?: { key: Buffer; cert: Buffer }): Promise<void> {
    this.server = tls ? createHttpsServer(tls, this.handler) : createHttpServer(this.handler);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.base = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}/city/`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const key = cityKey('city-test');
// Pages of 7 outbox rows against batches of up to 50: every test here also sends batches that span pages.
const fast = { backoff: { initialMs: 100, maxMs: 400 }, heartbeatIntervalS: 3600, pageSize: 7, http: { timeoutMs: 700, commandPollS: 0.3, batchMaxMessages: 50 } };

function raise(gw: TestGateway, n: number, tag: string, type = 'test_event'): string[] {
  return Array.from({ length: n }, (_, i) => gw.ctx.alerts.raise({ type, severity: 'info', source: 'gateway', message: tag, dedupKey: `${tag}-${i}` }).id);
}

describe('cloud sync over HTTPS batch POST', () => {
  const city = new CityServer();
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    await city.listen();
    gw = await startTestGateway({ config: { cloud: { upstreamUrl: city.base, ...fast, commandKeys: [{ kid: key.kid, publicKey: key.publicRaw }] } } });
    token = await gw.login('viewer');
  });
  afterAll(async () => {
    await gw?.close();
    await city.close();
  });

  const status = async () =>
    (await (await gw.api('/api/v1/sync', { token })).json()) as {
      transport: string;
      connected: boolean;
      lastError: { message: string } | null;
      rejected: number;
      backlogTotal: number;
    };

  it('retries 500s and a stalled request with the same Idempotency-Key and delivers everything in order', async () => {
    await waitFor(() => city.delivered.some((e) => e.type === 'heartbeat'));
    // Only what this test causes: the other tests share this city and gateway and may have run first. Whatever they
    // left in the outbox (a command's result) goes first, so the scripted failures meet this test's batches.
    await waitFor(async () => (await status()).backlogTotal === 0);
    const [postsFrom, deliveredFrom] = [city.posts.length, city.delivered.length];
    city.script = [500, 503, 'stall', 502];
    const ids = raise(gw, 120, 'retry');
    await waitFor(() => ids.every((id) => city.delivered.some((e) => e.data.alertId === id)), 20_000);
    // Its own alerts only (another test's or the gateway's own may interleave), each once and in order.
    const mine = new Set(ids);
    const got = city.delivered.slice(deliveredFrom).filter((e) => e.type === 'alert.raised' && mine.has(e.data.alertId as string)).map((e) => e.data.alertId);
    expect(got).toEqual(ids);
    const envIds = city.delivered.map((e) => e.id);
    expect(new Set(envIds).size).toBe(envIds.length);
    // The failed attempts carried the key the successful resend of the same rows carried.
    const failed = city.posts.slice(postsFrom).filter((p) => p.status !== 200);
    expect(failed).toHaveLength(4);
    // The key names the rows: a resend of the same rows carries the failed attempt's key, other rows another key.
    const rows = (p: Post) => p.envelopes.map((e) => e.id).join(',');
    const first = failed[0]!;
    const success = city.posts.slice(postsFrom).find((p) => p.status === 200 && rows(p) === rows(first))!;
    expect(success, 'the first failed batch resent as it was').toBeDefined();
    expect(success.key).toBe(first.key);
    expect(success.key).toMatch(/^[0-9a-f]{32}$/);
    for (const a of city.posts.slice(postsFrom)) for (const b of city.posts.slice(postsFrom)) expect(a.key === b.key).toBe(rows(a) === rows(b));
    const s = await status();
    expect(s.transport).toBe('https');
    expect(s.lastError!.message).toMatch(/HTTP 50\d|no answer within/);
    const validate = contractSchema();
    for (const e of city.delivered) expect(validate.safeParse(e).success).toBe(true);
  });

  it('gives up on an answer that trickles in without end and sends the batch again', async () => {
    await waitFor(async () => (await status()).backlogTotal === 0);
    const before = city.posts.length;
    city.script = ['drip'];
    const ids = raise(gw, 3, 'drip');
    await waitFor(() => ids.every((id) => city.delivered.some((e) => e.data.alertId === id)), 10_000, 50);
    const posts = city.posts.slice(before);
    expect(posts[0]!.status).toBe(0);
    // The batch goes again, first in the next request; an envelope that joined the outbox meanwhile (a heartbeat,
    // a picture's update on a loaded machine) may ride with it, and only the same rows carry the same key.
    const first = posts[0]!.envelopes.map((e) => e.id);
    const again = posts[1]!.envelopes.map((e) => e.id);
    expect(again.slice(0, first.length)).toEqual(first);
    if (again.length === first.length) expect(posts[1]!.key).toBe(posts[0]!.key);
    else expect(posts[1]!.key).not.toBe(posts[0]!.key);
    expect((await status()).lastError!.message).toMatch(/no complete answer within/);
  });

  it('fills a batch up to http.batchMaxMessages across outbox pages', async () => {
    await waitFor(async () => (await status()).backlogTotal === 0);
    const postsFrom = city.posts.length;
    const ids = new Set(raise(gw, 120, 'pages'));
    await waitFor(() => [...ids].every((id) => city.delivered.some((e) => e.data.alertId === id)), 20_000);
    const sizes = city.posts.slice(postsFrom).filter((p) => p.envelopes.some((e) => ids.has(e.data.alertId as string))).map((p) => p.envelopes.length);
    // 120 rows read 7 at a time still go as batches of 50: the city gets three requests, not eighteen.
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(120);
    expect(Math.max(...sizes)).toBe(50);
    expect(sizes.length).toBeLessThanOrEqual(4);
  });

  it('parks a batch the city refuses with a 4xx, counts it, never retries it, and carries on', async () => {
    const [poison] = raise(gw, 1, 'poison', 'poison');
    await waitFor(async () => (await status()).rejected >= 1);
    const s = await status();
    expect(s.lastError!.message).toContain('HTTP 400');
    const later = raise(gw, 3, 'after-poison');
    await waitFor(() => later.every((id) => city.delivered.some((e) => e.data.alertId === id)));
    expect(city.posts.filter((p) => p.envelopes.some((e) => e.data.alertId === poison))).toHaveLength(1);
    const parked = gw.ctx.db.prepare('SELECT COUNT(*) AS n FROM cloud_parked').get() as { n: number };
    expect(parked.n).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    expect(metrics).toMatch(/campus_sync_rejected_total [1-9]/);
  });

  it('polls signed commands and executes each id once even though the city serves it on every poll', async () => {
    city.commands = [signCommand({ id: 'poll-ping-1', schoolId: 'demo-school', type: 'ping', issuedAt: new Date().toISOString() }, key.privateKey, key.kid)];
    const polls = city.polls;
    await waitFor(() => city.delivered.some((e) => e.type === 'command.result' && e.data.commandId === 'poll-ping-1'));
    await waitFor(() => city.polls >= polls + 4);
    const results = () => city.delivered.filter((e) => e.type === 'command.result' && e.data.commandId === 'poll-ping-1').map((e) => e.data);
    // The copies served again after it ran are answered as duplicates, and never run.
    await waitFor(() => results().length >= 2);
    expect(results().filter((d) => d.status === 'ok')).toHaveLength(1);
    expect(results().filter((d) => d.status !== 'ok').every((d) => d.status === 'rejected' && d.reason === 'duplicate')).toBe(true);
    city.commands = [];
  });
});

describe('cloud sync over HTTPS on a disk that refuses to park', () => {
  it('a batch the city refuses whose parking the database refuses does not end the process; the rows after it go, and it is parked once the disk takes writes', async () => {
    // A 4xx moves the batch into cloud_parked, a write made in the transport's answer: refused (a full disk), it
    // rejected a promise nobody handled, and Node ended the process, every gate with it.
    const city = new CityServer();
    await city.listen();
    const gw = await startTestGateway({ config: { cloud: { upstreamUrl: city.base, ...fast, http: { ...fast.http, batchMaxMessages: 1 } } } });
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const token = await gw.login('viewer');
      const status = async () => (await (await gw.api('/api/v1/sync', { token })).json()) as { lastError: { message: string } | null; rejected: number };
      gw.ctx.db.exec("CREATE TRIGGER refuse_park BEFORE INSERT ON cloud_parked BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
      const [poison] = raise(gw, 1, 'poison', 'poison');
      await waitFor(() => city.posts.some((p) => p.envelopes.some((e) => e.data.alertId === poison)));
      await new Promise((r) => setTimeout(r, 200));
      expect(rejections).toEqual([]);
      expect((await status()).lastError!.message).toContain('parking the refused messages failed: database or disk is full');
      // The rows after it still reach the city.
      const later = raise(gw, 2, 'after-poison');
      await waitFor(() => later.every((id) => city.delivered.some((e) => e.data.alertId === id)));
      // Still in the outbox; parked when it goes again (the next failed batch or start) and the disk takes the write.
      gw.ctx.db.exec('DROP TRIGGER refuse_park');
      city.script.push(500);
      raise(gw, 1, 'after-disk');
      await waitFor(async () => (await status()).rejected >= 1, 10_000);
      expect(city.posts.filter((p) => p.envelopes.some((e) => e.data.alertId === poison)).length).toBeGreaterThanOrEqual(2);
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await gw.close();
      await city.close();
    }
  });
});

describe('cloud sync over HTTPS with batches cut by size', () => {
  it('sends one batch at a time, so a failed batch still reaches the city before the ones after it', async () => {
    const city = new CityServer();
    await city.listen();
    // ~5 alerts fill 4,000 bytes: with 50 messages of room, a batch is cut by its size long before its count.
    const gw = await startTestGateway({ config: { cloud: { upstreamUrl: city.base, ...fast, http: { ...fast.http, batchMaxBytes: 4000 } } } });
    try {
      await waitFor(() => city.delivered.some((e) => e.type === 'heartbeat'));
      const [postsFrom, deliveredFrom] = [city.posts.length, city.delivered.length];
      city.script = [500];
      const ids = raise(gw, 60, 'bytes');
      await waitFor(() => ids.every((id) => city.delivered.some((e) => e.data.alertId === id)), 20_000);
      const mine = new Set(ids);
      const got = city.delivered.slice(deliveredFrom).filter((e) => e.type === 'alert.raised' && mine.has(e.data.alertId as string)).map((e) => e.data.alertId);
      expect(got).toEqual(ids);
      const posts = city.posts.slice(postsFrom);
      expect(posts[0]!.status).toBe(500);
      expect(posts.length).toBeGreaterThan(5);
    } finally {
      await gw.close();
      await city.close();
    }
  });
});

describe('cloud sync to an https:// city with its own CA', () => {
  it('verifies the server with cloud.tls.caFile and delivers', async () => {
    const pki = makePki(tempDir('campus-pki-'));
    const city = new CityServer();
    await city.listen({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) });
    const gw = await startTestGateway({ config: { cloud: { upstreamUrl: city.base, tls: { caFile: pki.ca }, ...fast } } });
    try {
      const ids = raise(gw, 2, 'tls');
      await waitFor(() => ids.every((id) => city.delivered.some((e) => e.data.alertId === id)));
    } finally {
      await gw.close();
      await city.close();
    }
  });
});
