/**
 * A gateway stopping (SIGTERM from systemd, an upgrade) while someone changes something through the API: the change
 * being made is finished, stored and answered before the database closes; a request that comes after the stop began
 * is refused with a clear 503, never half done.
 */
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../gateway/core/errors.js';
import { HttpDrain } from '../../gateway/http/drain.js';
import { startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** A raw HTTP request, so a connection cut by the server shows as an error rather than a retry. */
function send(base: string, path: string, method: string, token: string, body?: object): Promise<{ status: number; connection: string | undefined; body: string }> {
  const data = body ? JSON.stringify(body) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      agent: false,
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('stopping the gateway while the API is in use', () => {
  it('finishes a password change already being made, stores it and answers it', async () => {
    const dataDir = tempDir();
    gw = await startTestGateway({ demo: true, dataDir });
    const token = await gw.login('viewer');
    const { base } = gw;
    // Two scrypt passes (the current password checked, the new one hashed) keep it in the handler while stop() begins.
    const changing = send(base, '/api/v1/auth/password', 'POST', token, { currentPassword: 'campus-demo', newPassword: 'viewer-new-2026' });
    await new Promise((r) => setTimeout(r, 15));
    const stopping = gw.stop();
    const changed = await changing;
    await stopping;
    gw = undefined;
    expect(changed.status, changed.body).toBe(204);

    // The new password is what the restarted gateway knows: the change reached the database before it closed.
    gw = await startTestGateway({ demo: true, dataDir });
    await expect(gw.login('viewer', 'campus-demo')).rejects.toThrow(/401/);
    expect(await gw.login('viewer', 'viewer-new-2026')).toEqual(expect.any(String));
  });

  it('stops with an MQTT-over-WebSocket client connected: the broker closes it after the modules stop', async () => {
    gw = await startTestGateway({ demo: true });
    // A reader, a dashboard or a flow on /mqtt: its connection is an upgraded HTTP one, which server.close() waits for;
    // the drain awaited that before anything else stopped, so the stop never got past it (the force exit at 15 s
    // then lost the taps, readings and clips the modules' stops finish).
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${gw.httpPort}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5000 });
    try {
      const outcome = await Promise.race([gw.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still stopping after 5 s'), 5000))]);
      expect(outcome).toBe('stopped');
      gw = undefined;
    } finally {
      client.end(true);
    }
  });

  it('does not wait for a request whose body is still coming: nothing is being changed by it yet', async () => {
    gw = await startTestGateway({ demo: true });
    // Anyone on the LAN, no account: a login whose body drips (or never comes). It counted as a change being made, and
    // every stop waited the whole drain bound (5 s) for it, the modules' stops squeezed into what was left of 15 s.
    const socket = connect(gw.httpPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => {});
    socket.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"username":');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await gw.stop();
    gw = undefined;
    expect(Date.now() - t0).toBeLessThan(2000);
    socket.destroy();
  });

  it('tells a console whose change was in flight to close its connection, and then closes it', async () => {
    gw = await startTestGateway({ demo: true });
    const token = await gw.login('viewer');
    // A console's keep-alive connection, raw, so what the gateway says about the connection is seen as sent.
    const socket = connect(gw.httpPort, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (c: string) => (received += c));
    const ended = once(socket, 'close');
    const body = JSON.stringify({ currentPassword: 'campus-demo', newPassword: 'viewer-new-2026' });
    socket.write(
      `POST /api/v1/auth/password HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await new Promise((r) => setTimeout(r, 15));
    const stopping = gw.stop();
    await ended; // the gateway closed it: a keep-alive connection would stay open until the stop cut it
    await stopping;
    gw = undefined;
    expect(received).toMatch(/^HTTP\/1\.1 204 /);
    expect(received.toLowerCase()).toContain('connection: close');
  });
});

describe('HttpDrain', () => {
  it('answers a request arriving during the drain on a connection that was busy with 503 and closes that connection', async () => {
    const drain = new HttpDrain();
    const app = express();
    app.use(drain.middleware);
    // A read whose headers are out before the drain begins: its connection stays keep-alive, so the client may send again.
    app.get('/slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('…');
      setTimeout(() => res.end('done'), 80);
    });
    app.get('/fast', (_req, res) => res.send('served'));
    // A change in flight on another connection keeps the drain open meanwhile.
    app.post('/change', (_req, res) => void setTimeout(() => res.send('changed'), 250));
    app.use(((err: GatewayError, _req, res, _next) => res.status(err.status).json({ error: { code: err.code, message: err.message } })) as ErrorRequestHandler);
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (c: string) => (received += c));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    const change = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/change`, { method: 'POST' });
    await new Promise((r) => setTimeout(r, 20));
    const drained = drain.drain(server, 5000);
    await new Promise((r) => setTimeout(r, 100)); // /slow has ended
    socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'close');
    expect(await (await change).text()).toBe('changed');
    await drained;
    expect(received).toContain('done');
    expect(received).not.toContain('served');
    const second = received.slice(received.lastIndexOf('HTTP/1.1 '));
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second.toLowerCase()).toContain('connection: close');
    expect(second).toContain('"code":"unavailable"');
  });
});
