import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifSession } from '../../drivers/onvif/client.js';
import { parseProbeMatch } from '../../drivers/onvif/discovery.js';
import { checkReply, parseSoapBody, REPLY_SHAPE_LIMITS } from '../../drivers/onvif/soap-reply.js';
import { CameraError, type CameraEndpoint } from '../../gateway/cameras/port.js';
import { waitFor } from '../helpers/gateway.js';
import { FakeOnvifDevice, startSilentServer } from './fake-onvif/device.js';

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
    maxReplyBytes: 2 * 1024 * 1024,
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

  it('sends no password to a snapshot URI asking for Basic unless cameras.basicAuth allows it', async () => {
    const d = await device({ snapshotAuth: 'basic', auth: 'none' });
    const s = session(d.port);
    await s.connect();
    const err = await failure(s.snapshot());
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/Digest/);
    expect(d.stats.snapshots).toBe(0);
  });

  it('fetches a snapshot with Basic auth where allowed, and names wrong credentials', async () => {
    const d = await device({ snapshotAuth: 'basic', auth: 'none' });
    const good = session(d.port, { basicAuth: true });
    await good.connect();
    expect((await good.snapshot()).length).toBeGreaterThan(100);
    const bad = session(d.port, { password: 'wrong', basicAuth: true });
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

  it('names each request its SOAP 1.2 action as the ONVIF WSDLs define it (Content-Type action=…)', async () => {
    const d = await device({ pullHoldMs: 50 });
    const s = session(d.port);
    const { profiles } = await s.connect();
    await s.check();
    await s.subscribe();
    await s.pull();
    await s.renew();
    await s.gotoPreset('1').catch(() => {}); // the fake may have no PTZ: the request is what counts here
    const ns = {
      device: 'http://www.onvif.org/ver10/device/wsdl',
      media: 'http://www.onvif.org/ver10/media/wsdl',
      events: 'http://www.onvif.org/ver10/events/wsdl',
      ptz: 'http://www.onvif.org/ver20/ptz/wsdl',
    };
    const expected: Record<string, string> = {
      GetSystemDateAndTime: `${ns.device}/GetSystemDateAndTime`,
      GetCapabilities: `${ns.device}/GetCapabilities`,
      GetDeviceInformation: `${ns.device}/GetDeviceInformation`,
      GetProfiles: `${ns.media}/GetProfiles`,
      GetStreamUri: `${ns.media}/GetStreamUri`,
      GetSnapshotUri: `${ns.media}/GetSnapshotUri`,
      CreatePullPointSubscription: `${ns.events}/CreatePullPointSubscription`,
      PullMessages: `${ns.events}/PullMessages`,
      Renew: 'http://docs.oasis-open.org/wsn/b-2/Renew',
    };
    expect(profiles.length).toBeGreaterThan(0);
    for (const [op, action] of Object.entries(expected)) expect(d.stats.headerActions.get(op), op).toBe(action);
    const preset = d.stats.headerActions.get('GotoPreset');
    if (preset !== undefined) expect(preset).toBe(`${ns.ptz}/GotoPreset`);
  });

  it('keeps one connection for pull after pull, and still ends a held pull with close()', async () => {
    const d = await device({ pullHoldMs: 20 });
    const s = session(d.port);
    await s.connect();
    await s.subscribe();
    const before = d.stats.connections;
    for (let i = 0; i < 10; i++) await s.pull();
    expect(d.stats.connections - before).toBeLessThanOrEqual(1);
    d.mode = 'hang';
    const held = s.pull();
    s.close();
    expect((await failure(held)).code).toBe('closed');
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

describe('hostile camera replies', () => {
  it('refuses a 50 MB reply as too_large once it passes maxReplyBytes, and hangs up instead of reading it all', async () => {
    const d = await device();
    d.mode = 'huge';
    const err = await failure(session(d.port, { requestTimeoutMs: 10_000 }).connect());
    expect(err.code).toBe('too_large');
    expect(err.message).toMatch(/limit is 2097152 \(cameras\.maxReplyBytes\)/);
    await waitFor(() => d.stats.hugeRepliesCut === 1);
    expect(d.stats.hugeBytesSent).toBeLessThan(25 * 1024 * 1024); // the cap plus socket buffers, not 50 MB
  });

  it('refuses a 50 MB snapshot as too_large at snapshotMaxBytes', async () => {
    const d = await device({ snapshotAuth: 'none' });
    d.snapshotPadding = 50 * 1024 * 1024;
    const s = session(d.port, { snapshotTimeoutMs: 10_000 });
    await s.connect();
    const err = await failure(s.snapshot());
    expect(err.code).toBe('too_large');
    expect(err.message).toMatch(/more than 1000000 bytes \(cameras\.snapshotMaxBytes\)/);
  });

  it('refuses a 400 KB reply full of namespace declarations before parsing it, and says why', async () => {
    // The library's own parse of this reply runs a regex that rescans the rest of the reply from every
    // declaration: about 10 s with the event loop blocked (docs/cameras.md); refused here in about a millisecond.
    const d = await device();
    d.mode = 'xmlns-bomb';
    const err = await failure(session(d.port).connect());
    expect(err.code).toBe('malformed');
    expect(err.message).toMatch(/GetSystemDateAndTime: 127\.0\.0\.1:\d+ sent a reply we refuse to parse: an attribute without a value/);
    d.mode = 'normal';
    expect((await session(d.port).connect()).device.model).toBe('FV-100');
  });
});

describe('reading SOAP replies (checkReply, parseSoapBody)', () => {
  const envelope = (attrs: string, body: string): string =>
    `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"${attrs}><s:Body>${body}</s:Body></s:Envelope>`;
  const parse = (xml: string): Promise<{ err: Error | null; body: unknown }> =>
    new Promise((resolve) => {
      const checked = checkReply(xml);
      if (!checked.ok) throw new Error(checked.problem);
      parseSoapBody(checked.xml, (err, body) => resolve({ err, body }));
    });

  it('drops namespace declarations (either quote) and keeps the other attributes and the text', async () => {
    const decls = Array.from({ length: 40 }, (_, i) => ` xmlns:n${i}="urn:n${i}"`).join('');
    const xml = envelope(decls, `<tds:Info xmlns:tds='urn:d' token="t1"><tt:Model xmlns="urn:x">FV-100</tt:Model><!-- a < b --><![CDATA[<x>]]></tds:Info>`);
    const checked = checkReply(xml);
    expect(checked.ok).toBe(true);
    expect(checked.ok && checked.xml).not.toMatch(/xmlns/);
    const { err, body } = await parse(xml);
    expect(err).toBeNull();
    expect(body).toEqual([{ info: [{ $: { token: 't1' }, model: ['FV-100'], _: '<x>' }] }]);
  });

  it('turns a SOAP fault into the error the library would give', async () => {
    const xml = envelope('', '<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">Sender not Authorized</s:Text></s:Reason></s:Fault>');
    expect((await parse(xml)).err?.message).toBe('ONVIF SOAP Fault: Sender not Authorized');
    expect((await parse('<html><body>hi</body></html>')).err?.message).toBe('Wrong ONVIF SOAP response');
  });

  it('refuses DTDs, deep nesting, crowded elements and replies with too many nodes', () => {
    const refused = (xml: string): string => {
      const r = checkReply(xml);
      return r.ok ? 'accepted' : r.problem;
    };
    expect(refused('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')).toMatch(/DTD/);
    expect(refused(`${'<a>'.repeat(REPLY_SHAPE_LIMITS.maxDepth + 1)}`)).toMatch(/nested more than 100/);
    expect(refused(`<a ${Array.from({ length: 257 }, (_, i) => `b${i}="1"`).join(' ')}/>`)).toMatch(/more than 256 attributes/);
    expect(refused(`<r>${'<x/>'.repeat(REPLY_SHAPE_LIMITS.maxNodes)}</r>`)).toMatch(/more than 20000 elements/);
    expect(refused('<a b="1>')).toMatch(/unterminated attribute/);
    expect(refused(`<r>${'<x/>'.repeat(1000)}</r>`)).toBe('accepted');
  });
});

describe('discovery replies from anyone on the LAN (parseProbeMatch)', () => {
  const match = (inner: string): string =>
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><d:ProbeMatches><d:ProbeMatch>' +
    `${inner}</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`;

  it('reads a ProbeMatch whatever the prefixes, skipping an empty element before the real one', () => {
    const xml = match(
      '<wsa:EndpointReference><Address/><wsa:Address>urn:uuid:cam-1</wsa:Address></wsa:EndpointReference>' +
        '<d:XAddrs>http://10.0.0.7/onvif/device_service</d:XAddrs><d:Scopes>onvif://www.onvif.org/name/Gate_cam</d:Scopes>',
    );
    expect(parseProbeMatch(xml, '10.0.0.7', null)).toMatchObject({ urn: 'urn:uuid:cam-1', host: '10.0.0.7', port: 80, name: 'Gate cam' });
  });

  it('answers a 64 KB datagram of start tags that never end with a reason (one pass over it)', () => {
    // Before: one regex with a lazy body per element, 1.6 s of blocked event loop for each such datagram.
    expect(parseProbeMatch(match('<a:Address>'.repeat(5_800)), '10.0.0.9', null)).toBe('no EndpointReference address');
    expect(parseProbeMatch(match('<a:Address '.repeat(5_800)), '10.0.0.9', null)).toBe('no EndpointReference address');
  });
});
