/**
 * What one client on the LAN may hold of the HTTP server (gateway/http/connection-limits.ts), each case something an
 * attacker review did with no login: a head never finished (2,000 header lines kept as strings for 60 s ran the heap
 * out), requests pipelined without reading the answers (the heap again), every connection slot held from a few
 * addresses (nobody else got in), a body dripped after its answer (a slot held for 300 s); and what a school needs
 * beside it: readers behind one NAT address on MQTT over WebSocket.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A TCP connection (from `from`, a loopback address) that sends the start of a request head and never ends it;
 * resolves when it is open.
 */
function unfinished(port: number, lines = 0, from = '127.0.0.3'): Promise<Socket> {
  return sending(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${'aa:0\r\n'.repeat(lines)}`, from);
}

/** A TCP connection from `from` that sends `text` once open; what it receives is kept in `received(s)`. */
function sending(port: number, text: string, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      s.write(text);
      resolve(s);
    });
    const got: Buffer[] = [];
    received.set(s, got);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.once('error', reject);
  });
}
const received = new WeakMap<Socket, Buffer[]>();
const textOf = (s: Socket): string => Buffer.concat(received.get(s) ?? []).toString('latin1');

const closedWithin = (s: Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

describe('HTTP connections a client holds', () => {
  let gw: TestGateway;
  let port: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({ config: { http: { connections: { perAddress: 8, max: 12, headersTimeoutS: 2 } } } });
    port = Number(new URL(gw.base).port);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await gw?.close();
  });
  // Each test holds connections of its own: the runs shuffle them, and one test's held slots filled the next one's.
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((r) => setTimeout(r, 300));
  });

  it('closes a connection whose request head is not complete within headersTimeoutS (it stayed 60 s)', async () => {
    const s = await unfinished(port, 1990);
    sockets.push(s);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    expect(await closedWithin(s, 6000)).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect((await gw.api('/healthz')).status).toBe(200);
  });

  it('closes connections from one address past perAddress as they open, and the gateway still answers others', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => unfinished(port)));
    sockets.push(...held);
    const extra = await unfinished(port);
    sockets.push(extra);
    expect(await closedWithin(extra, 2000)).toBe(true);
    expect(await Promise.all(held.map((s) => closedWithin(s, 100)))).toEqual(held.map(() => false));
    // From another address there is room until the cap in all.
    const other = await unfinished(port, 0, '127.0.0.4');
    sockets.push(other);
    expect(await closedWithin(other, 300)).toBe(false);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_http_connections_refused_total\{reason="too_many_from_address"\} [1-9]/);
  });

  // All fifty were answered, whatever the client read (a 1,024-connection flood ran the heap out in 10 s); a first
  // check that looked for request lines let the last two through.
  for (const [what, request] of [
    ['GET', 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an extra line feed between requests', 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\n'],
    ['a method nobody lists', 'PURGE /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
  ] as const) {
    it(`closes a connection that pipelines requests without reading the answers, past eight in flight (${what})`, async () => {
      const refused = async (): Promise<number> =>
        Number(/campus_http_connections_refused_total\{reason="pipelined"\} (\d+)/.exec(await (await gw.api('/metrics')).text())?.[1] ?? 0);
      const before = await refused();
      const s = await sending(port, request.repeat(50), '127.0.0.9');
      sockets.push(s);
      expect(await closedWithin(s, 3000)).toBe(true);
      expect(textOf(s).split('HTTP/1.1 ').length - 1).toBeLessThanOrEqual(8);
      // Node's parser stops at the limit: the requests after it were each parsed (and each refused) before.
      expect((await refused()) - before).toBe(1);
      expect((await gw.api('/healthz')).status).toBe(200);
    });
  }

  it('holds the rest of a read while Node waits for the client to take large answers, then answers it all', async () => {
    // Six large answers (the API's description, ~100 KB each) pipelined with a seventh request, and a client that
    // does not read: Node pauses the connection, and the next slice fed to its parser took the process down.
    const s = await sending(port, `${'GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(6)}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, '127.0.0.16');
    sockets.push(s);
    s.pause();
    await new Promise((r) => setTimeout(r, 500));
    expect((await gw.api('/healthz')).status).toBe(200);
    s.resume();
    await new Promise((r) => setTimeout(r, 1000));
    expect(textOf(s).split('HTTP/1.1 200').length - 1).toBe(7);
  });

  it('keeps a keep-alive connection open after an error answer to a request without a body', async () => {
    const s = await sending(port, 'GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '127.0.0.15');
    sockets.push(s);
    expect(await closedWithin(s, 1000)).toBe(false);
    expect(textOf(s)).toMatch(/^HTTP\/1\.1 401[\s\S]*HTTP\/1\.1 200/);
  });

  it('closes a connection once its answer is out when the body was never read (refused before reading it)', async () => {
    const s = await sending(port, 'POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"a":', '127.0.0.10');
    sockets.push(s);
    // Node read the rest of the body for as long as the client dripped it (300 s), holding the slot.
    expect(await closedWithin(s, 3000)).toBe(true);
    expect(textOf(s)).toMatch(/^HTTP\/1\.1 401/);
  });

  it('lets a newcomer in at the cap in all, in place of the oldest connection of the address holding the most', async () => {
    const hog = await Promise.all(Array.from({ length: 8 }, () => unfinished(port, 0, '127.0.0.11')));
    const more = await Promise.all(Array.from({ length: 4 }, () => unfinished(port, 0, '127.0.0.12')));
    sockets.push(...hog, ...more);
    await new Promise((r) => setTimeout(r, 200));
    // Every slot held (12, with the test's own keep-alive connection maybe among them): a console from elsewhere was refused.
    const newcomer = await unfinished(port, 0, '127.0.0.13');
    sockets.push(newcomer);
    expect(await closedWithin(newcomer, 500)).toBe(false);
    expect(await closedWithin(hog[0]!, 500)).toBe(true);
    expect(await (await gw.api('/metrics')).text()).toMatch(/campus_http_connections_refused_total\{reason="evicted"\} [1-9]/);
  });

  it('counts a websocket out once upgraded: readers behind one address on MQTT over WebSocket', async () => {
    const upgrade = 'GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n';
    const readers = await Promise.all(Array.from({ length: 10 }, () => sending(port, upgrade, '127.0.0.14')));
    sockets.push(...readers);
    await new Promise((r) => setTimeout(r, 300));
    // More than perAddress (8) from one address: all upgraded, none refused.
    for (const r of readers) expect(textOf(r)).toMatch(/^HTTP\/1\.1 101/);
    expect(await Promise.all(readers.map((r) => closedWithin(r, 100)))).toEqual(readers.map(() => false));
  });
});
