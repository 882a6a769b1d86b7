/**
 * What one client on the LAN may hold of the HTTP server before its request head is complete: a connection that
 * never finishes its head ran the gateway's heap out (2,000 header lines each kept as a string, for 60 s); now the
 * head has `http.connections.headersTimeoutS`, and connections are capped per address and in all.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A TCP connection (from `from`, a loopback address) that sends the start of a request head and never ends it;
 * resolves when it is open.
 */
function unfinished(port: number, lines = 0, from = '127.0.0.3'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n${'aa:0\r\n'.repeat(lines)}`);
      resolve(s);
    });
    s.on('error', () => {});
    s.once('error', reject);
  });
}

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
});
