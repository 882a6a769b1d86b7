import { describe, expect, it } from 'vitest';
import type { CameraView } from '../../gateway/cameras/module.js';
import type { Alert } from '../../gateway/alerts/alerts.js';
import type { CamerasConfig } from '../../config/cameras.js';
import type { GatewayConfigInput } from '../../config/schema.js';
import { waitFor, type TestGateway } from '../helpers/gateway.js';
import { startSilentServer, type FakeOnvifDevice } from './fake-onvif/device.js';
import { accessPointsConfig, camera, cameraFixtures, USERS } from './helpers.js';

const { cleanup, device, gateway, playground } = cameraFixtures();

async function login(gw: TestGateway, username = 'admin'): Promise<string> {
  return gw.login(username, USERS.find((u) => u.username === username)!.password);
}

async function cameraView(gw: TestGateway, token: string, id: string): Promise<CameraView> {
  const res = await gw.api(`/api/v1/cameras/${id}`, { token });
  expect(res.status).toBe(200);
  return (await res.json()) as CameraView;
}

async function alerts(gw: TestGateway, token: string, type: string): Promise<Alert[]> {
  const res = await gw.api(`/api/v1/alerts?type=${type}`, { token });
  return ((await res.json()) as { items: Alert[] }).items;
}

/** Online with a live PullPoint subscription on the device. */
async function ready(gw: TestGateway, token: string, id: string, d: FakeOnvifDevice): Promise<void> {
  await waitFor(async () => (await cameraView(gw, token, id)).state === 'online', 5_000);
  await waitFor(() => d.activeSubscriptions() > 0, 5_000);
}

/** One fake camera as `id` in a gateway of its own (`cameras` and `config` laid over it), ready, and an admin's token. */
async function oneCamera(
  id: string,
  opts: { device?: Parameters<typeof device>[0]; camera?: Record<string, unknown>; cameras?: Partial<CamerasConfig>; config?: GatewayConfigInput } = {},
): Promise<{ d: FakeOnvifDevice; gw: TestGateway; token: string }> {
  const d = await device(opts.device);
  const gw = await gateway({ cameras: [camera(id, d.port, opts.camera)], ...opts.cameras }, opts.config);
  const token = await login(gw);
  await ready(gw, token, id, d);
  return { d, gw, token };
}

describe('cameras in the gateway', () => {
  it('turns motion outside the zone schedule into an intrusion alert with a snapshot, visible in /api/v1/alerts', async () => {
    const d = await device();
    // 08:00 on a Tuesday in Shanghai: before the playground's 09:00–17:00.
    const { gw, clock } = await playground(d.port);
    const token = await login(gw, 'guard');
    await ready(gw, token, 'cam-yard', d);
    const events: { kind: string; intrusionZones: string[] }[] = [];
    gw.ctx.bus.on('camera.event', (e) => events.push(e));

    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    const [alert] = await waitFor(async () => {
      const list = await alerts(gw, token, 'intrusion');
      return list.length === 1 && list[0]!.snapshotIds.length === 1 ? list : null;
    }, 5_000);
    expect(alert).toMatchObject({ type: 'intrusion', severity: 'critical', zone: 'playground', source: 'camera:cam-yard', status: 'open' });
    const img = await gw.api(`/api/v1/snapshots/${alert!.snapshotIds[0]}`, { token });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await img.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect((await cameraView(gw, token, 'cam-yard')).lastEvent).toMatchObject({ kind: 'motion', active: true });
    // The event says the gateway raised an intrusion for it, so a night-motion flow does not raise a second alert.
    expect(events.find((e) => e.kind === 'motion')?.intrusionZones).toEqual(['playground']);

    // Inside the hours, motion is only an event: a later tamper shows the motion was processed and raised nothing.
    clock.advance(2 * 3_600_000);
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    d.emit('tns1:RuleEngine/TamperDetector/Tamper', { IsTamper: 'true' });
    await waitFor(async () => (await alerts(gw, token, 'camera_tamper')).length === 1, 5_000);
    const after = await alerts(gw, token, 'intrusion');
    expect(after).toHaveLength(1);
    expect(after[0]!.count).toBe(1);
  });

  it('raises the intrusion although the database refuses the event for the timeline', async () => {
    // The event was written to the timeline's table before the alert was raised: refused (a full disk), the throw
    // skipped the intrusion alert, and the desk heard nothing of someone in the playground at night.
    const d = await device();
    const { gw } = await playground(d.port); // 08:00 in Shanghai, before the playground's hours
    const token = await login(gw, 'guard');
    await ready(gw, token, 'cam-yard', d);
    gw.ctx.db.exec("CREATE TRIGGER refuse_events BEFORE INSERT ON camera_events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    const alert = await waitFor(async () => (await alerts(gw, token, 'intrusion'))[0], 5_000);
    expect(alert).toMatchObject({ type: 'intrusion', severity: 'critical', zone: 'playground', status: 'open' });
  });

  it('raises camera_offline when the camera stops, resolves it when it is back, and events flow again', async () => {
    const { d, gw, token } = await oneCamera('cam-gate');
    const firstSubs = d.stats.subscriptionsCreated;

    const stoppedAt = Date.now();
    await d.stop();
    const cfg = gw.config.cameras;
    // Offline after the configured failed polls, not some other, longer limit: bounded by the configured values with
    // generous slack (twice, plus 5 s) for a loaded 2-core box; a check of the configuration, not of speed.
    const bound = 2 * cfg.offlineAfterFailures * (cfg.pollIntervalMs + cfg.requestTimeoutMs) + 5_000;
    const [offline] = await waitFor(async () => {
      const list = await alerts(gw, token, 'camera_offline');
      return list.length ? list : null;
    }, bound);
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(bound);
    expect(offline).toMatchObject({ status: 'open', dedupKey: 'camera_offline:cam-gate', severity: 'warning' });
    expect(offline!.message).toMatch(/refused/);
    expect((await cameraView(gw, token, 'cam-gate')).state).toBe('offline');

    await d.start();
    await waitFor(async () => (await alerts(gw, token, 'camera_offline'))[0]?.status === 'resolved', 5_000);
    await ready(gw, token, 'cam-gate', d);
    expect(d.stats.subscriptionsCreated).toBeGreaterThan(firstSubs);
    d.emit('tns1:RuleEngine/LineDetector/Crossed', { ObjectId: '7' });
    await waitFor(async () => (await cameraView(gw, token, 'cam-gate')).lastEvent?.kind === 'line_crossing', 5_000);
    expect(d.stats.unsubscribes).toBe(0);
  });

  it('subscribes again after a reboot drops the subscription, without going offline', async () => {
    const { d, gw, token } = await oneCamera('cam-hall');
    const subs = d.stats.subscriptionsCreated;
    d.reboot();
    await waitFor(() => d.stats.subscriptionsCreated > subs && d.activeSubscriptions() > 0, 5_000);
    d.emitInvalid();
    d.emit('tns1:VideoSource/MotionAlarm', { State: 'true' });
    await waitFor(async () => (await cameraView(gw, token, 'cam-hall')).lastEvent?.kind === 'motion', 5_000);
    expect(await alerts(gw, token, 'camera_offline')).toHaveLength(0);
    expect(await (await gw.api('/metrics')).text()).toMatch(/campus_camera_notifications_invalid_total\{camera="cam-hall"\} 1/);
  });

  it('backs off from a camera whose subscription works but whose every pull fails, and says so once', async () => {
    const { d, gw, token } = await oneCamera('cam-hall', { cameras: { eventRetryMinMs: 200, eventRetryMaxMs: 10_000 } });
    d.mode = 'pull-fault';
    const subs = d.stats.subscriptionsCreated;
    await new Promise((r) => setTimeout(r, 4000));
    // The backoff started again at each subscription: ~20 in 4 s at 200 ms, with a warning and an info line each.
    const again = d.stats.subscriptionsCreated - subs;
    expect(again).toBeGreaterThan(0);
    expect(again).toBeLessThanOrEqual(6);
    // Its events flow again once the pulls work: the next subscription (at most the backoff's 10 s away) takes them.
    d.mode = 'normal';
    const before = d.stats.subscriptionsCreated;
    await waitFor(() => d.stats.subscriptionsCreated > before && d.activeSubscriptions() > 0, 15_000);
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    await waitFor(async () => (await cameraView(gw, token, 'cam-hall')).lastEvent?.kind === 'motion', 5_000);
  }, 30_000);

  it('sends no health poll of its own while the camera answers its pulls, and still finds it offline once it hangs', async () => {
    // Pulls come back every 300 ms (the fake's hold), well within each 1 s poll interval.
    const { d, gw, token } = await oneCamera('cam-yard', { cameras: { pollIntervalMs: 1_000 } });
    const asked = (action: string): number => d.stats.actions.get(action) ?? 0;
    await waitFor(() => asked('PullMessages') >= 2, 5_000);
    const before = { clock: asked('GetSystemDateAndTime'), info: asked('GetDeviceInformation'), pulls: asked('PullMessages') };
    await new Promise((r) => setTimeout(r, 3_000));
    // Three polls' worth of time: the pulls proved the camera up (authenticated) and carried its clock.
    expect(asked('GetSystemDateAndTime')).toBe(before.clock);
    expect(asked('GetDeviceInformation')).toBe(before.info);
    expect(asked('PullMessages')).toBeGreaterThanOrEqual(before.pulls + 5);
    const view = await cameraView(gw, token, 'cam-yard');
    expect(view.state).toBe('online');
    expect(Math.abs(view.clockOffsetMs ?? Number.NaN)).toBeLessThan(2_000);

    // It takes requests and never answers: the held pull goes quiet, so the polls ask it directly and fail.
    d.mode = 'hang';
    await waitFor(async () => (await alerts(gw, token, 'camera_offline')).length === 1, 15_000);
    expect((await cameraView(gw, token, 'cam-yard')).lastError?.code).toBe('timeout');
  });

  it('renews the subscription before it terminates', async () => {
    const { d } = await oneCamera('cam-lab', { device: { terminationS: 1 }, cameras: { renewBeforeMs: 700 } });
    await waitFor(() => d.stats.renewals >= 2, 5_000);
    expect(d.stats.subscriptionsCreated).toBe(1);
  });

  it('keeps good cameras working beside one that hangs, one that sends garbage and one with a wrong password', async () => {
    const good = await device();
    const garbage = await device();
    garbage.mode = 'malformed';
    const locked = await device({ auth: 'digest' });
    const silent = await startSilentServer();
    cleanup(() => silent.close());
    const gw = await gateway({
      cameras: [
        camera('cam-good', good.port),
        camera('cam-garbage', garbage.port),
        camera('cam-locked', locked.port, { password: 'wrong' }),
        camera('cam-silent', silent.port),
      ],
    });
    const token = await login(gw);
    await ready(gw, token, 'cam-good', good);
    const offline = await waitFor(async () => {
      const list = await alerts(gw, token, 'camera_offline');
      return list.length === 3 ? list : null;
    }, 8_000);
    expect(offline.map((a) => a.source).sort()).toEqual(['camera:cam-garbage', 'camera:cam-locked', 'camera:cam-silent']);
    expect((await cameraView(gw, token, 'cam-garbage')).lastError?.code).toBe('malformed');
    expect((await cameraView(gw, token, 'cam-locked')).lastError).toMatchObject({ code: 'unauthorized' });
    expect((await cameraView(gw, token, 'cam-silent')).lastError?.code).toBe('timeout');

    good.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    await waitFor(async () => (await cameraView(gw, token, 'cam-good')).lastEvent?.kind === 'motion', 5_000);
    const health = await gw.api('/healthz');
    expect(health.status).toBe(200);
    expect(((await health.json()) as { components: Record<string, { detail: string }> }).components.cameras!.detail).toBe('1/4 cameras online');
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_camera_up\{camera="cam-good"\} 1/);
    expect(metrics).toMatch(/campus_camera_up\{camera="cam-silent"\} 0/);
    expect(metrics).toMatch(/campus_camera_polls_total\{camera="cam-locked",result="unauthorized"\} \d+/);
  });

  it('recalls the preset named after the access point and attaches a snapshot to an alert there', async () => {
    const { d, gw, token } = await oneCamera('cam-main', { camera: { accessPoints: ['main-gate'], presets: { 'main-gate': 'preset_7' } }, config: accessPointsConfig('main-gate') });
    const raised = gw.ctx.alerts.raise({
      type: 'card_lost_used',
      severity: 'warning',
      source: 'reader:gate-in',
      message: 'A card reported lost was used',
      accessPoint: 'main-gate',
    });
    const withEvidence = await waitFor(async () => {
      const res = await gw.api(`/api/v1/alerts/${raised.id}`, { token });
      const a = (await res.json()) as Alert;
      return a.snapshotIds.length ? a : null;
    }, 5_000);
    expect(d.stats.presets).toEqual(['preset_7']);
    expect(d.stats.snapshots).toBe(1);
    const snap = await gw.api(`/api/v1/snapshots/${withEvidence.snapshotIds[0]}`, { token });
    expect(snap.headers.get('x-camera-id')).toBe('cam-main');

    // Alerts elsewhere take no picture from this camera. Checked after a barrier: an alert at the gate raised after
    // the lab's gets its picture, so the lab's had its turn and took none.
    const elsewhere = gw.ctx.alerts.raise({ type: 'repeated_denials', severity: 'warning', source: 'reader:lab', message: 'x', accessPoint: 'lab-1' });
    const barrier = gw.ctx.alerts.raise({
      type: 'repeated_denials', severity: 'warning', source: 'reader:gate-in', message: 'y', accessPoint: 'main-gate', dedupKey: 'barrier:main-gate',
    });
    await waitFor(async () => ((await (await gw.api(`/api/v1/alerts/${barrier.id}`, { token })).json()) as Alert).snapshotIds.length === 1, 5_000);
    expect(d.stats.snapshots).toBe(2);
    expect(((await (await gw.api(`/api/v1/alerts/${elsewhere.id}`, { token })).json()) as Alert).snapshotIds).toEqual([]);
  });

  it('a camera sending hostile replies goes offline with the reason; /healthz and the other cameras keep working', async () => {
    const good = await device();
    const bad = await device();
    const gw = await gateway({ cameras: [camera('cam-good', good.port), camera('cam-bad', bad.port)] });
    const token = await login(gw);
    await ready(gw, token, 'cam-good', good);
    await ready(gw, token, 'cam-bad', bad);

    // 400 KB full of namespace declarations: the library's own parse blocks the event loop ~10 s per reply, so
    // two failed polls (offlineAfterFailures) took half a minute; refused before parsing, it is two polls' time.
    bad.mode = 'xmlns-bomb';
    const health: number[] = [];
    const view = await waitFor(async () => {
      health.push((await gw.api('/healthz')).status);
      const v = await cameraView(gw, token, 'cam-bad');
      return v.state === 'offline' ? v : null;
    }, 10_000);
    expect(view.lastError).toMatchObject({ code: 'malformed' });
    expect(view.lastError!.message).toMatch(/refuse to parse/);
    const [offline] = await alerts(gw, token, 'camera_offline');
    expect(offline!.message).toMatch(/refuse to parse/);

    // 50 MB replies: refused at maxReplyBytes, the connection dropped.
    bad.mode = 'huge';
    await waitFor(async () => (await cameraView(gw, token, 'cam-bad')).lastError?.code === 'too_large', 10_000);
    // The camera sees its connection cut when its next write finds it closed: after the gateway has reported too_large.
    await waitFor(() => bad.stats.hugeRepliesCut > 0, 10_000);
    health.push((await gw.api('/healthz')).status);
    expect(health.every((status) => status === 200)).toBe(true);

    // The other camera never noticed.
    expect((await cameraView(gw, token, 'cam-good')).state).toBe('online');
    good.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    await waitFor(async () => (await cameraView(gw, token, 'cam-good')).lastEvent?.kind === 'motion', 5_000);
  });

  it('takes at most the 20 notifications it asked for from a pull, counts the rest, and keeps the camera working', async () => {
    const { d, gw, token } = await oneCamera('cam-flood');
    let handled = 0;
    gw.ctx.bus.on('camera.event', () => handled++);
    // This fake answers a pull with everything queued, whatever MessageLimit said: 500 tamper notifications at once
    // (within the reply limits; each used to be handled, in one go: a row, an alert update and a city envelope each).
    for (let i = 0; i < 500; i++) d.emit('tns1:RuleEngine/TamperDetector/Tamper', { IsTamper: i % 2 === 0 ? 'true' : 'false' });
    const metric = async (): Promise<number> => {
      const m = /campus_camera_notifications_over_limit_total\{camera="cam-flood"\} (\d+)/.exec(await (await gw.api('/metrics')).text());
      return m ? Number(m[1]) : 0;
    };
    await waitFor(async () => (await metric()) === 480, 10_000);
    expect(handled).toBe(20);
    expect((await alerts(gw, token, 'camera_tamper'))[0]!.count).toBeLessThanOrEqual(20);
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    await waitFor(async () => (await cameraView(gw, token, 'cam-flood')).lastEvent?.kind === 'motion', 5_000);
  });

  it('follows a repeated alert to where it happened last, with that place’s picture', async () => {
    const gate = await device();
    const canteen = await device();
    const gw = await gateway(
      { cameras: [camera('cam-gate', gate.port, { accessPoints: ['main-gate'] }), camera('cam-canteen', canteen.port, { accessPoints: ['canteen'] })] },
      accessPointsConfig('main-gate', 'canteen'),
    );
    const token = await login(gw);
    await ready(gw, token, 'cam-gate', gate);
    await ready(gw, token, 'cam-canteen', canteen);
    const lostCard = (accessPoint: string, readerId: string) => gw.ctx.alerts.raise({
      type: 'card_lost_used', severity: 'warning', source: `reader:${readerId}`, message: `Lost card 0BADCAFE used at ${accessPoint}`,
      accessPoint, data: { uid: '0BADCAFE', readerId }, dedupKey: 'card_lost_used:0BADCAFE',
    });
    const first = lostCard('main-gate', 'gate-in');
    await waitFor(async () => ((await (await gw.api(`/api/v1/alerts/${first.id}`, { token })).json()) as Alert).snapshotIds.length === 1, 5_000);
    const again = lostCard('canteen', 'pos-1');
    expect(again).toMatchObject({ id: first.id, count: 2, accessPoint: 'canteen', source: 'reader:pos-1', message: 'Lost card 0BADCAFE used at canteen', data: { readerId: 'pos-1' } });
    const withBoth = await waitFor(async () => {
      const a = (await (await gw.api(`/api/v1/alerts/${first.id}`, { token })).json()) as Alert;
      return a.snapshotIds.length === 2 ? a : null;
    }, 5_000);
    const cams = await Promise.all(withBoth.snapshotIds.map(async (id) => (await gw.api(`/api/v1/snapshots/${id}`, { token })).headers.get('x-camera-id')));
    expect(cams).toEqual(['cam-gate', 'cam-canteen']);
    // A third use in the canteen is new evidence too (the security desk's triage: each recurrence its own picture).
    lostCard('canteen', 'pos-1');
    const withThree = await waitFor(async () => {
      const a = (await (await gw.api(`/api/v1/alerts/${first.id}`, { token })).json()) as Alert;
      return a.snapshotIds.length === 3 ? a : null;
    }, 5_000);
    const third = (await gw.api(`/api/v1/snapshots/${withThree.snapshotIds[2]}`, { token })).headers.get('x-camera-id');
    expect(third).toBe('cam-canteen');
  });
});
