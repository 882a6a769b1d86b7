import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleModule, isReservedPath } from '../../gateway/console/console.js';

/** The console module on a bare express app, with the same "not found" tail the gateway has. */
async function serve(dir: string): Promise<{ base: string; metrics: Registry; close: () => Promise<void> }> {
  const metrics = new Registry();
  const app = express();
  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  app.use('/api/v1', express.Router().get('/alerts', (_req, res) => res.json({ items: [] })));
  const server = createServer(app);
  await createConsoleModule({ log: pino({ level: 'silent' }), metrics }, { dir }).mount!(app, server, { loginLimiter: (_req, _res, next) => next(), claimUpgrade: () => {} });
  app.use((_req, res) => res.status(404).json({ error: { code: 'not_found', message: 'no such route' } }));
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, metrics, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const html = { headers: { accept: 'text/html' } };
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function builtDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'console-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>shell</title><div id="app"></div>');
  mkdirSync(join(dir, 'pages'));
  writeFileSync(join(dir, 'pages', 'alerts.js'), 'export const x = 1;');
  return dir;
}

describe('console serving', () => {
  it('answers the app shell for page paths, with a CSP that allows only its own files', async () => {
    const s = await serve(builtDir());
    cleanups.push(s.close);
    for (const path of ['/', '/alerts', '/cameras/cam-main-gate', '/attendance?date=2026-09-01']) {
      const res = await fetch(`${s.base}${path}`, html);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<div id="app">');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    const js = await fetch(`${s.base}/pages/alerts.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('never swallows the API, Node-RED, MQTT or the probes', async () => {
    const s = await serve(builtDir());
    cleanups.push(s.close);
    expect((await fetch(`${s.base}/api/v1/alerts`, html)).headers.get('content-type')).toMatch(/json/);
    for (const path of ['/api/v1/nope', '/api', '/flows', '/flows/editor', '/flows-api/x', '/mqtt', '/metrics']) {
      const res = await fetch(`${s.base}${path}`, html);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/json/);
    }
    expect(await (await fetch(`${s.base}/healthz`, html)).json()).toEqual({ status: 'ok' });
  });

  it('keeps a missing asset a 404 instead of answering HTML for it', async () => {
    const s = await serve(builtDir());
    cleanups.push(s.close);
    const res = await fetch(`${s.base}/pages/missing.js`, html);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/json/);
  });

  it('says to run npm run build when the console is not built, and counts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-empty-'));
    dirs.push(dir);
    const s = await serve(dir);
    cleanups.push(s.close);
    const res = await fetch(`${s.base}/`, html);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
    expect((await fetch(`${s.base}/api/v1/alerts`)).status).toBe(200);
    expect(await s.metrics.getSingleMetricAsString('campus_console_not_built_total')).toMatch(/ 1$/m);
  });

  it('knows which prefixes are reserved, by whole path segment', () => {
    expect(isReservedPath('/api/v1/alerts')).toBe(true);
    expect(isReservedPath('/flows')).toBe(true);
    expect(isReservedPath('/flows-api/settings')).toBe(true);
    expect(isReservedPath('/healthz')).toBe(true);
    expect(isReservedPath('/apiary')).toBe(false);
    expect(isReservedPath('/alerts')).toBe(false);
  });
});
