/**
 * Hostile or broken viewers of live video: one that stops reading is cut off while the others play on; more
 * viewers than allowed are refused; nothing of it reaches the camera (still one RTSP session).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway.js';
import { readUntil, topBoxes, videoFixtures, view } from './helpers.js';
import { RtspTestServer } from './rtsp-server.js';

const { cleanup, setup } = videoFixtures();

const moofs = (b: Buffer): number => topBoxes(b).filter(([t]) => t === 'moof').length;

/**
 * A viewer that asks for the stream and never reads: a tiny receive buffer (set before connecting, so the TCP
 * window stays small) fills at once and the gateway's writes back up.
 */
function stalledViewer(port: number, token: string) {
  const script = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", ${port}))
s.sendall(b"GET /api/v1/cameras/cam-gate/live HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer ${token}\\r\\n\\r\\n")
print("sent", flush=True)
sys.stdin.read()
`;
  const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  return child;
}

describe('live view limits', { timeout: 120_000 }, () => {
  it('cuts off a viewer that stops reading; the others keep playing from the same upstream', async () => {
    // Noise at 3 Mbit/s: a stalled viewer falls behind within seconds.
    const server = await new RtspTestServer({ pattern: 'snow', bitrate: 3000 }).start();
    cleanup(() => server.stop());
    const { gw, token } = await setup(server, { liveViewerBufferBytes: 65_536 });
    const good = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    await readUntil(good, (b) => moofs(b) >= 1, true);
    const slow = stalledViewer(gw.httpPort, token);
    cleanup(() => void slow.kill('SIGKILL'));
    await waitFor(async () => (await view(gw, token, 'cam-gate')).video.viewers === 2, 20_000, 100);

    // The good viewer keeps reading; the stalled one is dropped.
    const reader = good.body!.getReader();
    let got = 0;
    const keepReading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        got += value.length;
      }
    })();
    await waitFor(async () => (await view(gw, token, 'cam-gate')).video.viewers === 1, 60_000, 200);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_video_viewers_dropped_total\{reason="slow"\} 1/);
    const before = got;
    await waitFor(() => got > before + 50_000, 20_000, 50);
    expect(server.total).toBe(1);
    await reader.cancel();
    await keepReading;
  });

  it('refuses viewers over liveMaxViewers with 503 and serves the ones it took', async () => {
    const server = await new RtspTestServer().start();
    cleanup(() => server.stop());
    const { gw, token } = await setup(server, { liveMaxViewers: 2 });
    const a = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    const b = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    const c = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    expect([a.status, b.status, c.status]).toEqual([200, 200, 503]);
    expect(((await c.json()) as { error: { code: string } }).error.code).toBe('too_many_viewers');
    await readUntil(a, (x) => moofs(x) >= 1);
    await readUntil(b, (x) => moofs(x) >= 1);
    expect(server.total).toBe(1);
  });
});
