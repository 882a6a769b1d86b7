/**
 * A hostile camera on the RTSP port (a compromised camera, or a device that took its address), against a real ffmpeg
 * pulling through the gateway's relay, which holds the credentials: a redirect must not send ffmpeg to another host,
 * and no challenge, in any answer, may get the password in clear. The hostile "camera" is a real TCP server speaking
 * RTSP; the honest one is GStreamer's RTSP server asking for HTTP Digest.
 */
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LivePull } from '../../gateway/cameras/live/pull.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/gateway.js';
import { RtspTestServer } from './rtsp-server.js';

const PASSWORD = 'S3cretCamPass!';

/** A TCP server that answers every RTSP request it reads with `answer(cseq)` and keeps what it was sent. */
async function rtspAnswering(answer: (cseq: string) => string): Promise<{ server: Server; port: number; received: () => string; connections: () => number }> {
  let text = '';
  let connections = 0;
  const server = createServer((s: Socket) => {
    connections++;
    let pending = '';
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        s.write(answer(/^cseq:\s*(\d+)/im.exec(head)?.[1] ?? '0'));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as { port: number }).port, received: () => text, connections: () => connections };
}

describe('a hostile camera on the RTSP port', () => {
  const servers: Server[] = [];
  let pull: LivePull | undefined;
  afterEach(() => {
    pull?.stop();
    for (const s of servers.splice(0)) s.close();
  });

  const pullFrom = (port: number, log = captureLog().log): LivePull =>
    new LivePull({
      ffmpegPath: 'ffmpeg',
      url: `rtsp://admin:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/stream1`,
      stallMs: 5000,
      maxBoxBytes: 1 << 20,
      retry: { initialMs: 60_000, maxMs: 60_000 },
      segments: null,
      log,
    });

  it('never answers a Basic challenge with the password, and says to turn Digest on', async () => {
    const camera = await rtspAnswering((cseq) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="IPCamera"\r\n\r\n`);
    servers.push(camera.server);
    pull = pullFrom(camera.port);
    pull.start();
    await waitFor(() => pull!.lastError !== null, 15_000, 50);
    expect(camera.received()).toContain('OPTIONS rtsp:');
    expect(camera.received()).not.toMatch(/authorization:\s*basic/i);
    expect(camera.received()).not.toContain(Buffer.from(`admin:${PASSWORD}`).toString('base64'));
    expect(pull.lastError).toMatch(/Basic authentication/);
  });

  // ffmpeg followed each of these to the other host, and answered its Basic challenge with admin:S3cretCamPass!.
  for (const [what, status] of [
    ['a plain 302', 'RTSP/1.0 302 Moved Temporarily\r\nCSeq: {cseq}\r\nLocation: {to}\r\n\r\n'],
    ['a status line with two spaces and bare line feeds', 'RTSP/1.0  302 Moved\nCSeq: {cseq}\nLocation: {to}\n\n'],
    ['a status of 0302', 'RTSP/1.0 0302 Moved\r\nCSeq: {cseq}\r\nLocation: {to}\r\n\r\n'],
    // ffmpeg drops the CR, skips a 2-byte "interleaved frame" (the CRLF) and reads the 302; the relay read a message.
    ['behind a CR and a fake interleaved frame', '\r$\x00\x00\x02\r\nRTSP/1.0 302 Found\r\nCSeq: {cseq}\r\nLocation: {to}\r\n\r\n'],
  ] as const) {
    it(`cannot redirect ffmpeg to another host (${what}): the session is closed and the console says why`, async () => {
      const victim = await rtspAnswering((cseq) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n`);
      const camera = await rtspAnswering((cseq) => status.replace('{cseq}', cseq).replace('{to}', `rtsp://127.0.0.1:${victim.port}/stolen`));
      servers.push(victim.server, camera.server);
      pull = pullFrom(camera.port);
      pull.start();
      await waitFor(() => pull!.lastError !== null, 15_000, 50);
      await new Promise((r) => setTimeout(r, 500));
      expect(victim.connections()).toBe(0);
      expect(pull.lastError).toMatch(/redirect \(302\)|interleaved data inside/);
    });
  }

  it('never sends the password for a Basic challenge in a 200, with bare line feeds, or a CR inside the name', async () => {
    for (const answer of [
      (cseq: string) => `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="x"\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n`,
      (cseq: string) => `RTSP/1.0 401 Unauthorized\nCSeq: ${cseq}\nWWW-Authenticate: Basic realm="x"\n\n`,
      (cseq: string) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authentica\rte: Basic realm="x"\r\n\r\n`,
    ]) {
      const camera = await rtspAnswering(answer);
      servers.push(camera.server);
      pull = pullFrom(camera.port);
      pull.start();
      await waitFor(() => pull!.lastError !== null, 15_000, 50);
      pull.stop();
      expect(camera.received()).toContain('OPTIONS rtsp:');
      expect(camera.received()).not.toMatch(/authorization:\s*basic/i);
    }
  });

  it('answers Digest when a camera offers Digest and Basic both', async () => {
    const camera = await rtspAnswering(
      (cseq) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Basic realm="IPCamera"\r\nWWW-Authenticate: Digest realm="IPCamera", nonce="4f8a2c"\r\n\r\n`,
    );
    servers.push(camera.server);
    pull = pullFrom(camera.port);
    pull.start();
    await waitFor(() => /authorization:\s*digest/i.test(camera.received()) || null, 15_000, 50);
    expect(camera.received()).not.toMatch(/authorization:\s*basic/i);
  });

  it('plays a real camera asking for Digest, answered by the relay: ffmpeg never has the password', async () => {
    const rtsp = await new RtspTestServer({ digest: { user: 'admin', password: PASSWORD } }).start();
    try {
      let fragments = 0;
      const url = rtsp.url().replace('rtsp://', `rtsp://admin:${encodeURIComponent(PASSWORD)}@`);
      pull = new LivePull({
        ffmpegPath: 'ffmpeg', url, stallMs: 5000, maxBoxBytes: 16 << 20, retry: { initialMs: 60_000, maxMs: 60_000 }, segments: null, log: captureLog().log,
      });
      pull.addSink({ init: () => {}, fragment: () => void fragments++ });
      pull.start();
      await waitFor(() => fragments > 3, 20_000, 50);
      expect(pull.state).toBe('running');
      // Before, the password was on ffmpeg's command line, which every local user can read in /proc.
      const argv = readFileSync(`/proc/${pull.pid}/cmdline`, 'utf8');
      expect(argv).toContain('rtsp://127.0.0.1:');
      expect(argv).not.toContain(PASSWORD);
      expect(argv).not.toContain(encodeURIComponent(PASSWORD));
      pull.stop();
      // Another local process reading the relay's address off ffmpeg's command line gets nothing through it: the
      // run's token is used up, and without one the camera is never dialled (before, the relay signed in for it).
      const target = /rtsp:\/\/127\.0\.0\.1:\d+\/[0-9a-f]+\/profile_1/.exec(argv)![0];
      const sessionsBefore = rtsp.total;
      for (const uri of [target, target.replace(/\/[0-9a-f]+\/profile_1$/, '/profile_1')]) {
        const port = Number(/:(\d+)\//.exec(uri)![1]);
        const answer = await new Promise<string>((resolve) => {
          let got = '';
          const c = createConnection(port, '127.0.0.1', () => c.write(`DESCRIBE ${uri} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`));
          c.on('data', (d: Buffer) => (got += d.toString('latin1')));
          c.on('error', () => {});
          c.on('close', () => resolve(got));
          setTimeout(() => c.destroy(), 2000);
        });
        expect(answer).toBe('');
      }
      expect(rtsp.total).toBe(sessionsBefore);
      // The wrong password: the camera's refusal is what the console says.
      const wrong = new LivePull({
        ffmpegPath: 'ffmpeg', url: rtsp.url().replace('rtsp://', 'rtsp://admin:wrong@'), stallMs: 5000, maxBoxBytes: 16 << 20,
        retry: { initialMs: 60_000, maxMs: 60_000 }, segments: null, log: captureLog().log,
      });
      pull = wrong;
      wrong.start();
      await waitFor(() => wrong.lastError !== null, 15_000, 50);
      expect(wrong.lastError).toMatch(/refused the credentials/);
    } finally {
      pull?.stop();
      await rtsp.stop();
    }
    pull = pullFrom(1);
    pull.start();
    await waitFor(() => pull!.lastError !== null, 15_000, 50);
    expect(pull.lastError).toContain('127.0.0.1:1');
  });
});
