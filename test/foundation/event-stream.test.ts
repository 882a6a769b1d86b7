/**
 * The live event stream under a hostile LAN: browsers that stop reading, and more streams than a school's desks need.
 */
import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { login, startBin, type BinGateway } from '../helpers/bin.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { SseReader } from '../helpers/sse.js';

/** Sum of a Prometheus metric's samples whose labels contain `labels` (e.g. `reason="slow_client"`). */
function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const metricsOf = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text();

/**
 * A browser tab that asked for the stream and then stopped reading (a frozen tablet, a hostile script): the request
 * goes out on a raw socket, which is then paused, so everything the gateway sends piles up on the gateway's side.
 */
function stalledClient(port: number, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`GET /api/v1/events/stream?access_token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      // The response head is read, so the stream is known to be open; then nothing more is read.
      s.once('data', (chunk: Buffer) => {
        s.pause();
        if (!chunk.toString().startsWith('HTTP/1.1 200')) reject(new Error(`stream refused: ${chunk.toString().split('\r\n')[0]}`));
        else resolve(s);
      });
    });
    s.on('error', reject);
  });
}

describe('event stream: clients that never read (the built gateway, 256 MB heap)', () => {
  let gw: BinGateway | undefined;
  afterEach(async () => {
    if (gw && gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill('SIGKILL');
      await gw.exited;
    }
  });

  it('disconnects and counts 20 stalled clients while 20,000 taps flow, and stays up', async () => {
    gw = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: tempDir(), NODE_OPTIONS: '--max-old-space-size=256' });
    // 20 streams from the three demo users: within the default 8 per user and 64 in all.
    const tokens = [await login(gw.base, 'admin'), await login(gw.base, 'security'), await login(gw.base, 'viewer')];
    const stalled: Socket[] = [];
    for (let i = 0; i < 20; i++) stalled.push(await stalledClient(gw.httpPort, tokens[i % 3]!));

    const terminal = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    const before = metric(await metricsOf(gw.base), 'campus_taps_total');
    // Unknown cards, each once: every one is decided (and streamed), none is debounced.
    for (let i = 0; i < 20_000; i++) {
      const uid = (0xa0000000 + i).toString(16).toUpperCase();
      terminal.publish(`campus/readers/demo-gate-in/tap`, `{"uid":"${uid}","seq":${i + 1}}`);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await terminal.endAsync();
    const after = await waitFor(
      async () => {
        // A crash (the heap cap) shows as itself, with the gateway's last words, not as a refused fetch.
        const text = await metricsOf(gw!.base).catch((err: unknown) => {
          throw new Error(`gateway gone (${String(err)}):\n${gw!.output().slice(-3000)}`);
        });
        return metric(text, 'campus_taps_total') - before >= 20_000 ? text : null;
      },
      180_000,
      500,
    );

    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
    // Each stalled client was cut off once its unsent bytes passed the cap, and counted.
    expect(metric(after, 'campus_http_streams_dropped_total', 'reason="slow_client"')).toBe(20);
    expect(metric(after, 'campus_http_streams_open')).toBe(0);
    // The heap holds at most a cap's worth per client, not 20 copies of the flood (the code before the cap died of
    // it under the 256 MB cap). A reading, garbage included (about 100 MB here), so only well below the cap is asserted.
    expect(metric(after, 'nodejs_heap_size_used_bytes')).toBeLessThan(200 * 1024 * 1024);

    // And the stalled clients see their connection end once they read again.
    await Promise.all(
      stalled.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.on('close', () => resolve());
            s.resume();
          }),
      ),
    );
  }, 300_000);
});

// A gateway per test: the freeing test used to close a stream the cap test had opened.
describe('event stream: caps per user and in total', () => {
  let gw: TestGateway;
  let aborts: AbortController[] = [];
  beforeEach(async () => {
    aborts = [];
    gw = await startTestGateway({ config: { http: { eventStreams: { perUser: 2, total: 3 } } } });
  });
  afterEach(async () => {
    for (const ac of aborts) ac.abort();
    await gw?.close();
  });

  const open = async (token: string): Promise<Response> => {
    const ac = new AbortController();
    aborts.push(ac);
    return fetch(`${gw.base}/api/v1/events/stream?access_token=${token}`, { signal: ac.signal });
  };

  it('refuses a user\'s stream over the per-user cap with 429, and any stream over the total with 503, and counts both', async () => {
    const admin = await gw.login('admin');
    const viewer = await gw.login('viewer');
    const security = await gw.login('security');
    expect((await open(admin)).status).toBe(200);
    // A second login of the same user is the same user.
    expect((await open(await gw.login('admin'))).status).toBe(200);
    const third = await open(admin);
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { code: 'too_many_streams' } });

    expect((await open(viewer)).status).toBe(200);
    const overall = await open(security);
    expect(overall.status).toBe(503);
    expect(await overall.json()).toMatchObject({ error: { code: 'too_many_streams' } });

    const text = await metricsOf(gw.base);
    expect(metric(text, 'campus_http_streams_refused_total', 'reason="per_user"')).toBe(1);
    expect(metric(text, 'campus_http_streams_refused_total', 'reason="total"')).toBe(1);
    expect(metric(text, 'campus_http_streams_open')).toBe(3);
  });

  it('frees a place when a stream closes', async () => {
    const security = await gw.login('security');
    // Every place taken: two admin streams and a viewer's.
    const admin = await gw.login('admin');
    for (const token of [admin, admin, await gw.login('viewer')]) expect((await open(token)).status).toBe(200);
    expect((await open(security)).status).toBe(503);
    aborts.shift()!.abort();
    await waitFor(async () => metric(await metricsOf(gw.base), 'campus_http_streams_open') === 2);
    const res = await open(security);
    expect(res.status).toBe(200);
    // One frame for every client: the security stream reads what the others read.
    const reader = new SseReader(res);
    await gw.api('/api/v1/alerts', { method: 'POST', token: security, json: { message: 'gate left open', severity: 'info' } });
    const e = await reader.next((x) => x.event === 'alert.raised');
    expect(JSON.parse(e!.data)).toMatchObject({ message: 'gate left open' });
  });
});

// Frames go out every 25 ms, one chunk shared by the streams that queued the same frames (gateway/http/sse.ts).
describe('event stream: consoles opened during a rush', () => {
  let gw: TestGateway;
  const aborts: AbortController[] = [];
  beforeEach(async () => {
    gw = await startTestGateway();
  });
  afterEach(async () => {
    for (const ac of aborts.splice(0)) ac.abort();
    await gw?.close();
  });

  it('gives each stream every event after it opened, once and in order, and none from before', async () => {
    const token = await gw.login('admin');
    // An event every millisecond or so while five consoles open one after another: each opens with a batch of
    // another stream's frames waiting, which it must not be handed.
    let n = 0;
    const emit = (): void => {
      gw.ctx.bus.emit('sensor.reading', { sensorId: `probe-${n++}`, zone: 'test', at: new Date().toISOString(), readings: [] });
    };
    const ticker = setInterval(() => {
      for (let i = 0; i < 3; i++) emit();
    }, 1);
    const opened: { from: number; reader: SseReader }[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const from = n;
        const ac = new AbortController();
        aborts.push(ac);
        const res = await fetch(`${gw.base}/api/v1/events/stream?kinds=sensor.&access_token=${token}`, { signal: ac.signal });
        expect(res.status).toBe(200);
        opened.push({ from, reader: new SseReader(res) });
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      clearInterval(ticker);
    }
    const last = n - 1;
    for (const { from, reader } of opened) {
      const seen: number[] = [];
      while (seen.at(-1) !== last) {
        const e = await reader.next((x) => x.event === 'sensor.reading' && x.data.includes('"probe-'));
        expect(e, 'the stream ended early').not.toBeNull();
        seen.push(Number(/"probe-(\d+)"/.exec(e!.data)![1]));
      }
      expect(seen[0]).toBeGreaterThanOrEqual(from);
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen[0]! + i));
    }
  });
});
