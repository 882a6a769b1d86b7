/**
 * The watch on the Node-RED editor's websocket, on a real HTTP server whose upgrades a ws server takes as Node-RED's
 * comms does, with real ws clients: a hostile client that never signs in, one sending frames too large to follow, one
 * whose token is refused at the next check (the session ended), and the editor that signs in and stays.
 * The running gateway's case (Node-RED itself, a logout) is in embedded.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { EditorSockets } from '../../gateway/node-red/editor-sockets.js';
import { pathOf } from '../../gateway/http/upgrade-gate.js';

const VALID = new Set(['good-token']);
let server: Server;
let wss: WebSocketServer;
let watcher: EditorSockets;
let registry: Registry;
let url: string;
/** What the comms server received, in order: the watcher must not change a byte of it. */
let received: string[];

beforeEach(async () => {
  received = [];
  server = createServer();
  wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
  server.on('upgrade', (req, socket, head) => {
    if (pathOf(req.url) === '/flows/comms') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  registry = new Registry();
  watcher = new EditorSockets({
    path: '/flows/comms',
    tokens: async (token) => (VALID.has(token) ? { username: 'admin' } : null),
    ended: new Counter({ name: 'closed_total', help: 'closed', labelNames: ['reason'], registers: [registry] }),
    recheckMs: 50,
    authWindowMs: 300,
  });
  watcher.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/flows/comms`;
});

afterEach(async () => {
  watcher.close(server);
  for (const c of wss.clients) c.terminate();
  wss.close();
  await new Promise((resolve) => server.close(resolve));
});

async function open(headers: Record<string, string> = {}): Promise<{ ws: WebSocket; closed: Promise<string> }> {
  const ws = new WebSocket(url, { headers });
  const closed = new Promise<string>((resolve) => ws.on('close', () => resolve('closed')));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, closed };
}

/** 'closed', or 'open' if it still is after `ms`. */
const within = (closed: Promise<string>, ms: number): Promise<string> => Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('open'), ms))]);

async function closedBy(reason: string): Promise<number> {
  const metric = await registry.getSingleMetricAsString('closed_total');
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(metric)?.[1] ?? 0);
}

describe('the editor websocket watch', () => {
  it('keeps a signed-in editor open, and its frames reach the comms server unchanged', async () => {
    const { ws, closed } = await open();
    ws.send(JSON.stringify({ auth: 'good-token' }));
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    expect(await within(closed, 600)).toBe('open');
    expect(received).toEqual(['{"auth":"good-token"}', '{"subscribe":"status/#"}']);
    ws.close();
  });

  it('closes a socket that never signs in once the window has passed (anyone on the LAN could hold thousands)', async () => {
    const { closed } = await open();
    expect(await within(closed, 2000)).toBe('closed');
    expect(await closedBy('not_signed_in')).toBe(1);
  });

  it('closes a socket at the next check once its token is refused, however it signed in', async () => {
    const byFrame = await open();
    byFrame.ws.send(JSON.stringify({ auth: 'ended-session' }));
    const byHeader = await open({ authorization: 'Bearer ended-session' });
    const notAString = await open();
    notAString.ws.send(JSON.stringify({ auth: { token: 'good-token' } }));
    expect(await within(Promise.all([byFrame.closed, byHeader.closed, notAString.closed]).then(() => 'closed'), 2000)).toBe('closed');
    expect(await closedBy('session_ended')).toBe(3);
  });

  it('closes a socket that signs in a second time at once (Node-RED would list the connection once per sign-in)', async () => {
    const byFrame = await open();
    byFrame.ws.send(JSON.stringify({ auth: 'good-token' }));
    byFrame.ws.send(JSON.stringify({ auth: 'good-token' }));
    const afterHeader = await open({ authorization: 'Bearer good-token' });
    afterHeader.ws.send(JSON.stringify({ auth: 'good-token' }));
    expect(await within(Promise.all([byFrame.closed, afterHeader.closed]).then(() => 'closed'), 1000)).toBe('closed');
    expect(await closedBy('signed_in_twice')).toBe(2);
  });

  it("closes a socket at once for frames the editor never sends: binary, not JSON, JSON that is not an object", async () => {
    const sockets = await Promise.all([open(), open(), open(), open()]);
    sockets[0]!.ws.send(Buffer.from(JSON.stringify({ auth: 'good-token' }))); // Node-RED would read it as a sign-in
    sockets[1]!.ws.send('{"auth":');
    sockets[2]!.ws.send('null'); // throws in Node-RED's handler
    sockets[3]!.ws.send('["x"]');
    expect(await within(Promise.all(sockets.map((x) => x.closed)).then(() => 'closed'), 1000)).toBe('closed');
    expect(await closedBy('not_editor')).toBe(4);
  });

  it('reads the path as Node-RED does', () => {
    expect(pathOf('/flows/comms?x=1')).toBe('/flows/comms');
    expect(pathOf('/flows\\comms#a')).toBe('/flows/comms');
    expect(pathOf('/flows/comms/')).toBe('/flows/comms/');
  });
});
