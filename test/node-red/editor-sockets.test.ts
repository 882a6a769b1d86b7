/**
 * The editor websocket's relay, on a real HTTP server whose upgrades a ws server takes as Node-RED's comms does, given
 * the relayed socket, with real clients: what the editor sends reaches the comms server unchanged and its answers come
 * back; a client that never signs in, signs in twice (also 500 times in one TCP write), sends what the editor never
 * does, or whose token is refused at the next check (the session ended) is closed, and the comms server never reads
 * the frame that closed it. The running gateway's case (Node-RED itself, a logout) is in embedded.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { EditorSockets } from '../../gateway/node-red/editor-sockets.js';
import { pathOf } from '../../gateway/http/upgrade-gate.js';

/** The tokens the check accepts now; a test ends a session by taking its token out. */
let VALID: Set<string>;
let server: Server;
let wss: WebSocketServer;
let watcher: EditorSockets;
let registry: Registry;
let port: number;
/** What the comms server received, in order. */
let received: string[];
let closeCodes: number[];
/** The comms server's side of each connection, and the client's socket as the HTTP server handed it over. */
let comms: WebSocket[];
let clientSockets: Socket[];

beforeEach(async () => {
  VALID = new Set(['good-token', 'tab-token']);
  comms = [];
  clientSockets = [];
  received = [];
  closeCodes = [];
  server = createServer();
  // As Node-RED's ws 7 does: it answers every ping (ws 8 stops at 60 unsent answers by itself).
  wss = new WebSocketServer({ noServer: true, maxPendingAutoPongs: 0 } as ConstructorParameters<typeof WebSocketServer>[0]);
  wss.on('connection', (ws) => {
    comms.push(ws);
    ws.on('message', (data) => received.push(String(data)));
    ws.on('close', (code) => closeCodes.push(code));
    ws.send('hello from comms');
  });
  registry = new Registry();
  watcher = new EditorSockets({
    tokens: async (token) => (VALID.has(token) ? { username: 'admin' } : null),
    ended: new Counter({ name: 'closed_total', help: 'closed', labelNames: ['reason'], registers: [registry] }),
    recheckMs: 50,
    authWindowMs: 300,
  });
  server.on('upgrade', (req, socket: Socket, head) => {
    if (pathOf(req.url) !== '/flows/comms') return;
    clientSockets.push(socket);
    const relayed = watcher.relay(req, socket, head);
    if (!relayed) return void socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
    wss.handleUpgrade(req, relayed, Buffer.alloc(0), (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  watcher.close();
  for (const c of wss.clients) c.terminate();
  wss.close();
  await new Promise((resolve) => server.close(resolve));
});

async function open(headers: Record<string, string> = {}): Promise<{ ws: WebSocket; closed: Promise<string>; got: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/flows/comms`, { headers });
  const got: string[] = [];
  ws.on('message', (data) => got.push(String(data)));
  const closed = new Promise<string>((resolve) => ws.on('close', () => resolve('closed')));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, closed, got };
}

/** 'closed', or 'open' if it still is after `ms`. */
const within = (closed: Promise<unknown>, ms: number): Promise<string> =>
  Promise.race([closed.then(() => 'closed'), new Promise<string>((r) => setTimeout(() => r('open'), ms))]);

async function closedBy(reason: string): Promise<number> {
  const metric = await registry.getSingleMetricAsString('closed_total');
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(metric)?.[1] ?? 0);
}

/** A short client frame as a browser sends it (RFC 6455 5.2): FIN and text, masked, a 7-bit length. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  if (payload.length > 125) throw new Error('short frames only');
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
}

/** A client on a raw TCP socket, past the handshake: it writes frames by hand and reads only if told to. */
async function rawClient(): Promise<{ raw: Socket; gone: Promise<unknown> }> {
  const raw = connect(port, '127.0.0.1');
  const gone = new Promise((resolve) => raw.on('close', resolve));
  raw.on('error', () => {});
  raw.write(`GET /flows/comms HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  const answer = await new Promise<string>((resolve) => raw.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
  expect(answer).toMatch(/^HTTP\/1.1 101/);
  return { raw, gone };
}

describe('the editor websocket relay', () => {
  it('carries what the editor sends to the comms server unchanged, and its answers, pings and close back', async () => {
    const { ws, closed, got } = await open();
    ws.send(JSON.stringify({ auth: 'good-token' }));
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    ws.send(JSON.stringify({ topic: 'multiplayer/location', data: { workspace: 'tab' } }));
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping();
    await pong;
    expect(await within(closed, 400)).toBe('open');
    expect(received).toEqual(['{"auth":"good-token"}', '{"subscribe":"status/#"}', '{"topic":"multiplayer/location","data":{"workspace":"tab"}}']);
    expect(got).toEqual(['hello from comms']);
    ws.close(1000);
    await closed;
    await within(new Promise((r) => setTimeout(r, 50)), 100);
    expect(closeCodes).toEqual([1000]);
  });

  it('closes a socket that never signs in once the window has passed (anyone on the LAN could hold thousands)', async () => {
    const { closed } = await open();
    expect(await within(closed, 2000)).toBe('closed');
    expect(await closedBy('not_signed_in')).toBe(1);
  });

  it('closes a socket at the next check once its session ends, however it signed in', async () => {
    const byFrame = await open();
    byFrame.ws.send(JSON.stringify({ auth: 'tab-token' }));
    const byHeader = await open({ authorization: 'Bearer tab-token' });
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toEqual(['{"auth":"tab-token"}']);
    VALID.delete('tab-token'); // logout, expiry, a new role
    expect(await within(Promise.all([byFrame.closed, byHeader.closed]), 2000)).toBe('closed');
    expect(await closedBy('session_ended')).toBe(2);
  });

  it('checks a sign-in before Node-RED sees it: a refused token closes at once and never reaches it', async () => {
    // Node-RED kept each refused connection up to 30 s waiting for the client to answer its close: 14,500 of them,
    // with 60 KB tokens, ran a 256 MB heap out.
    const refused = await open();
    refused.ws.send(JSON.stringify({ auth: 'no-such-session' }));
    const refusedCode = new Promise((resolve) => refused.ws.once('close', resolve));
    const long = await open();
    long.ws.send(JSON.stringify({ auth: 'x'.repeat(60_000) }));
    expect(await within(Promise.all([refused.closed, long.closed]), 1000)).toBe('closed');
    expect(await closedBy('refused')).toBe(1);
    // Answered as Node-RED answers, which makes the editor ask for a login, and closed with a close frame.
    expect(refused.got.at(-1)).toBe('{"auth":"fail"}');
    expect(await refusedCode).toBe(1005);
    expect(await closedBy('not_editor')).toBe(1);
    expect(received).toEqual([]);
  });

  it('takes at most 16 sockets per token, per address', async () => {
    const tabs = await Promise.all(Array.from({ length: 16 }, () => open({ authorization: 'Bearer good-token' })));
    await expect(open({ authorization: 'Bearer good-token' })).rejects.toThrow(/503/);
    await expect(open()).rejects.toThrow(/503/); // the address is full too
    expect(await closedBy('too_many')).toBe(2);
    for (const t of tabs) t.ws.close();
  });

  it('closes a socket that signs in a second time, and the comms server never reads the second', async () => {
    const byFrame = await open();
    byFrame.ws.send(JSON.stringify({ auth: 'good-token' }));
    byFrame.ws.send(JSON.stringify({ auth: 'good-token' }));
    const afterHeader = await open({ authorization: 'Bearer good-token' });
    afterHeader.ws.send(JSON.stringify({ auth: 'good-token' }));
    expect(await within(Promise.all([byFrame.closed, afterHeader.closed]), 1000)).toBe('closed');
    expect(await closedBy('signed_in_twice')).toBe(2);
    expect(received).toEqual(['{"auth":"good-token"}']);
  });

  it('closes a socket sending 500 sign-ins in one TCP write before any reaches the comms server (Node-RED listed it 500 times)', async () => {
    const { raw, gone } = await rawClient();
    raw.write(Buffer.concat(Array.from({ length: 500 }, () => frame(JSON.stringify({ auth: 'good-token' })))));
    expect(await within(gone, 1000)).toBe('closed');
    // The first waits for its check; the rest, more than the editor ever sends before its answer, close the socket.
    expect(received).toEqual([]);
  });

  it('passes nothing after the frame that closed a socket, even in the same TCP write', async () => {
    const { raw, gone } = await rawClient();
    raw.write(Buffer.concat([frame('null'), frame(JSON.stringify({ auth: 'good-token' }))]));
    expect(await within(gone, 1000)).toBe('closed');
    expect(received).toEqual([]);
  });

  it('answers no pings of a client that does not read its answers', async () => {
    // A ping flood never read: ws answers each, and the answers piled up (3.5 GB in 30 s).
    const { raw } = await rawClient();
    raw.write(frame(JSON.stringify({ auth: 'good-token' })));
    raw.pause();
    const ping = Buffer.from([0x89, 0x80 | 125, 1, 2, 3, 4, ...Buffer.alloc(125)]);
    let queuedMost = 0;
    for (let i = 0; i < 400; i++) {
      raw.write(Buffer.concat(Array.from({ length: 500 }, () => ping))); // 26 MB in all, past the kernel's buffers
      await new Promise((r) => setTimeout(r, 1));
      queuedMost = Math.max(queuedMost, clientSockets[0]!.writableLength);
    }
    expect(queuedMost).toBeLessThan(64 * 1024);
    raw.destroy();
  });

  it('closes a signed-in tab that leaves 4 MiB unread (Node-RED sends the debug sidebar whether or not it is read)', async () => {
    const { raw } = await rawClient();
    raw.write(frame(JSON.stringify({ auth: 'good-token' })));
    raw.pause(); // and so it cannot see the close either, till it reads
    await new Promise((r) => setTimeout(r, 50));
    const c = comms[0]!;
    const commsClosed = new Promise((resolve) => c.once('close', resolve));
    for (let i = 0; i < 400 && c.readyState === WebSocket.OPEN; i++) c.send('x'.repeat(64 * 1024));
    expect(await within(commsClosed, 2000)).toBe('closed');
    expect(await closedBy('unread')).toBe(1);
    raw.destroy();
  });

  it('closes a message sent in many tiny fragments (each cost ~15 times its bytes), and one trickled a byte a read', async () => {
    const { raw, gone } = await rawClient();
    // Text, not FIN, then continuation frames of one byte each.
    const fragment = (first: boolean): Buffer => Buffer.from([first ? 0x01 : 0x00, 0x81, 0, 0, 0, 0, 0x20]);
    raw.write(Buffer.concat([fragment(true), ...Array.from({ length: 100 }, () => fragment(false))]));
    expect(await within(gone, 1000)).toBe('closed');
    expect(await closedBy('unreadable')).toBe(1);
    expect(received).toEqual([]);
  });

  it('refuses a ninth socket not signed in from one address, and takes it once one signs in', async () => {
    const waiting = await Promise.all(Array.from({ length: 8 }, () => open()));
    await expect(open()).rejects.toThrow(/503/);
    expect(await closedBy('too_many')).toBe(1);
    waiting[0]!.ws.send(JSON.stringify({ auth: 'good-token' }));
    await new Promise((r) => setTimeout(r, 50));
    const next = await open();
    next.ws.close();
    for (const w of waiting) w.ws.close();
  });

  it('closes a socket at once for what the editor never sends, and none of it reaches the comms server', async () => {
    const hostile: (string | Buffer)[] = [
      Buffer.from(JSON.stringify({ auth: 'good-token' })), // binary: Node-RED read it as a sign-in
      '{"auth":', // not JSON
      'null', // threw in Node-RED's handler
      '["x"]',
      JSON.stringify({ auth: { toString: 1 } }), // threw in Node-RED's token store
      JSON.stringify({ auth: 7 }),
      JSON.stringify({ subscribe: { x: 1 } }),
    ];
    const sockets = await Promise.all(hostile.map(() => open()));
    hostile.forEach((h, i) => sockets[i]!.ws.send(h));
    expect(await within(Promise.all(sockets.map((x) => x.closed)), 1000)).toBe('closed');
    expect(await closedBy('not_editor')).toBe(hostile.length);
    expect(received).toEqual([]);
  });

  it('closes a socket whose frames it cannot follow, and goes on', async () => {
    const { ws, closed } = await open();
    ws.send('x'.repeat(70 * 1024)); // larger than the editor ever sends
    expect(await within(closed, 2000)).toBe('closed');
    expect(await closedBy('unreadable')).toBe(1);
    expect(received).toEqual([]);
    const next = await open();
    next.ws.send(JSON.stringify({ auth: 'good-token' }));
    expect(await within(next.closed, 400)).toBe('open');
    next.ws.close();
  });

  it('reads the path as Node-RED does', () => {
    expect(pathOf('/flows/comms?x=1')).toBe('/flows/comms');
    expect(pathOf('/flows\\comms#a')).toBe('/flows/comms');
    expect(pathOf('/flows/comms/')).toBe('/flows/comms/');
  });
});
