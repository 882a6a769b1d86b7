import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifSession } from '../../drivers/onvif/client.js';
import { CameraError, type CameraEndpoint } from '../../gateway/cameras/port.js';
import { FakeOnvifDevice, startSilentServer } from './fake-onvif/device.js';
import { waitFor } from '../helpers/gateway.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function device(opts: ConstructorParameters<typeof FakeOnvifDevice>[0] = {}): Promise<FakeOnvifDevice> {
  const d = new FakeOnvifDevice(opts);
  await d.start();
  cleanups.push(() => d.stop());
  return d;
}

function session(port: number, over: Partial<CameraEndpoint> = {}): OnvifSession {
  const s = new OnvifSession({
    id: 'cam-test',
    host: '127.0.0.1',
    port,
    devicePath: '/onvif/device_service',
    username: 'admin',
    password: 'secret',
    auth: 'auto',
    requestTimeoutMs: 1_000,
    pullTimeoutMs: 3_000,
    snapshotTimeoutMs: 1_000,
    snapshotMaxBytes: 1_000_000,
    ...over,
  });
  cleanups.push(() => s.close());
  return s;
}

async function failure(p: Promise<unknown>): Promise<CameraError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CameraError);
    return err as CameraError;
  }
  throw new Error('expected the call to fail');
}

describe('ONVIF client against a fake camera', () => {
  it('reads device information, profiles, RTSP URIs and the snapshot URI', async () => {
    const d = await device();
    const conn = await session(d.port).connect();
    expect(conn.device).toEqual({ manufacturer: 'Fakevision', model: 'FV-100', firmwareVersion: '2.4.1', serialNumber: 'FV0001' });
    expect(conn.profiles).toEqual([
      { token: 'profile_1', name: 'mainStream', rtspUri: 'rtsp://127.0.0.1:554/profile_1' },
      { token: 'profile_2', name: 'subStream', rtspUri: 'rtsp://127.0.0.1:554/profile_2' },
    ]);
    expect(conn.snapshotUri).toBe(`${d.url}/snapshot.jpg`);
    expect(conn.ptz).toBe(true);
    expect(Math.abs(conn.clockOffsetMs)).toBeLessThan(2_000);
    expect(d.stats.authFailures).toBe(0);
  });

  it('fetches a JPEG snapshot from a Digest-protected URI', async () => {
    const d = await device({ snapshotAuth: 'digest' });
    const s = session(d.port);
    await s.connect();
    const jpeg = await s.snapshot();
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(d.stats.snapshots).toBe(1);
  });

  it('fetches a snapshot with Basic auth, and names wrong credentials', async () => {
    const d = await device({ snapshotAuth: 'basic', auth: 'none' });
    const good = session(d.port);
    await good.connect();
    expect((await good.snapshot()).length).toBeGreaterThan(100);
    const bad = session(d.port, { password: 'wrong' });
    await bad.connect();
    const err = await failure(bad.snapshot());
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/username and password/);
  });

  it('talks to a camera that accepts only HTTP Digest, in auto and in digest mode', async () => {
    const d = await device({ auth: 'digest' });
    const auto = await session(d.port).connect();
    expect(auto.device.model).toBe('FV-100');
    const digestOnly = await session(d.port, { auth: 'digest' }).connect();
    expect(digestOnly.profiles).toHaveLength(2);
    const err = await failure(session(d.port, { password: 'nope' }).connect());
    expect(err.code).toBe('unauthorized');
  });

  it('applies the clock offset of a camera two hours off to WS-Security', async () => {
    const twoHours = 2 * 3_600_000;
    const d = await device({ clockOffsetMs: twoHours });
    const s = session(d.port);
    const conn = await s.connect();
    expect(Math.abs(conn.clockOffsetMs - twoHours)).toBeLessThan(2_000);
    expect(d.stats.authFailures).toBe(0);
    await s.check();
    expect(d.stats.authFailures).toBe(0);

    // The fake really enforces the window: a token created on our clock is refused.
    const nonce = randomBytes(16);
    const created = new Date().toISOString();
    const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from('secret')])).digest('base64');
    const res = await fetch(`${d.url}/onvif/device_service`, {
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml' },
      body:
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><Security><UsernameToken>' +
        `<Username>admin</Username><Password>${digest}</Password><Nonce>${nonce.toString('base64')}</Nonce><Created>${created}</Created>` +
        '</UsernameToken></Security></s:Header><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/NotAuthorized/);
  });

  it('names wrong credentials on WS-Security', async () => {
    const d = await device();
    const err = await failure(session(d.port, { password: 'wrong' }).connect());
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/credentials/);
  });

  it('reports malformed XML as such', async () => {
    const d = await device();
    d.mode = 'malformed';
    const err = await failure(session(d.port).connect());
    expect(err.code).toBe('malformed');
  });

  it('gives up on a socket that never answers within the request timeout', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const requestTimeoutMs = 300;
    const started = Date.now();
    const err = await failure(session(silent.port, { requestTimeoutMs }).connect());
    expect(err.code).toBe('timeout');
    // The request timeout ended it rather than the wait going on until the test's own 30 s timeout: bounded by the
    // configured value with generous slack for a loaded 2-core box, not a claim about speed.
    expect(Date.now() - started).toBeLessThan(requestTimeoutMs + 4_000);
  });

  it('says when the port is an RTSP server', async () => {
    const rtsp = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('RTSP/1.0 400 Bad Request\r\nCSeq: 0\r\n\r\n'));
    });
    await new Promise<void>((r) => rtsp.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => rtsp.close(() => r())));
    const err = await failure(session((rtsp.address() as AddressInfo).port).connect());
    expect(err.code).toBe('not_onvif');
    expect(err.message).toMatch(/RTSP/);
  });

  it('says when nothing listens', async () => {
    const d = await device();
    const port = d.port;
    await d.stop();
    const err = await failure(session(port).connect());
    expect(err.code).toBe('refused');
  });

  it('subscribes, pulls motion, renews, and notices a lost subscription after a reboot', async () => {
    const d = await device({ pullHoldMs: 100 });
    const s = session(d.port);
    await s.connect();
    const sub = await s.subscribe();
    expect(sub.terminationTime).toBeGreaterThan(Date.now());
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    const pulled = await s.pull();
    expect(pulled.notifications).toEqual([
      expect.objectContaining({
        topic: 'RuleEngine/CellMotionDetector/Motion',
        operation: 'Changed',
        source: { VideoSourceConfigurationToken: 'vsc_1' },
        data: { IsMotion: 'true' },
      }),
    ]);
    const renewed = await s.renew();
    expect(renewed.terminationTime).toBeGreaterThan(Date.now());
    expect(d.stats.renewals).toBe(1);

    d.reboot();
    const err = await failure(s.pull());
    expect(err.code).toBe('subscription_lost');
    await s.subscribe();
    expect(d.stats.subscriptionsCreated).toBe(2);
    expect(d.stats.unsubscribes).toBe(0);
  });

  it('a pull that times out after the camera came back does not end the newer subscription', async () => {
    // A rebooting camera drops off without closing its sockets: the monitor's held pull waits out its timeout
    // while the camera comes back and the next event loop subscribes again. That late failure is about the
    // old subscription; the motion queued on the new one must still be pulled, without subscribing a third time.
    const d = await device({ pullHoldMs: 100 });
    const s = session(d.port, { pullTimeoutMs: 600 });
    await s.connect();
    await s.subscribe();
    d.mode = 'hang';
    const stale = failure(s.pull());
    await new Promise((r) => setTimeout(r, 100));
    d.mode = 'normal';
    await s.subscribe();
    expect((await stale).code).toBe('timeout');
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    const pulled = await s.pull();
    expect(pulled.notifications.map((n) => n.data)).toEqual([{ IsMotion: 'true' }]);
    expect(d.stats.subscriptionsCreated).toBe(2);
  });

  it('close() ends a held pull at once', async () => {
    const pullHoldMs = 10_000;
    const d = await device({ pullHoldMs });
    const s = session(d.port, { pullTimeoutMs: 20_000 });
    await s.connect();
    await s.subscribe();
    const pullsBefore = d.count('PullMessages');
    const pending = failure(s.pull());
    // The device is holding the pull (it has it), rather than a guessed 100 ms after sending it.
    await waitFor(() => d.count('PullMessages') > pullsBefore, 5_000);
    const started = Date.now();
    s.close();
    expect((await pending).code).toBe('closed');
    // Ended by close(), not by the device's 10 s hold running out: bounded by that configured hold with slack.
    expect(Date.now() - started).toBeLessThan(pullHoldMs / 2);
  });
});
