import { describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import type { CameraView, DiscoveredCamera } from '../../gateway/cameras/module.js';
import { waitFor, type TestGateway } from '../helpers/gateway.js';
import { FakeDiscovery } from './fake-onvif/discovery.js';
import { camera, cameraFixtures, USERS } from './helpers.js';

const { cleanup, device, gateway } = cameraFixtures();

const tokenFor = (gw: TestGateway, username: string): Promise<string> =>
  gw.login(username, USERS.find((u) => u.username === username)!.password);

describe('cameras API', () => {
  it('lets an admin add, change and remove a camera; the password is stored encrypted and never returned', async () => {
    const d = await device();
    const gw = await gateway({ cameras: [camera('cam-file', d.port)], secretKey: 'a passphrase for camera secrets' });
    const admin = await tokenFor(gw, 'admin');
    const viewer = await tokenFor(gw, 'teacher');

    const body = { id: 'cam-new', name: 'New camera', host: '127.0.0.1', port: d.port, username: 'admin', password: 'secret', zones: ['hall'] };
    expect((await gw.api('/api/v1/cameras', { method: 'POST', token: viewer, json: body })).status).toBe(403);
    const created = await gw.api('/api/v1/cameras', { method: 'POST', token: admin, json: body });
    expect(created.status).toBe(201);
    const text = await created.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toMatchObject({ id: 'cam-new', hasPassword: true, origin: 'api', zones: ['hall'] });
    expect((await gw.api('/api/v1/cameras', { method: 'POST', token: admin, json: body })).status).toBe(409);

    const db = new BetterSqlite3(join(gw.dataDir, 'gateway.db'), { readonly: true });
    const row = db.prepare('SELECT password_enc FROM cameras WHERE id = ?').get('cam-new') as { password_enc: string };
    db.close();
    expect(row.password_enc).toMatch(/^v1:/);
    expect(row.password_enc).not.toContain('secret');

    // Monitored with the decrypted password: it goes online against the WS-Security camera.
    await waitFor(async () => {
      const v = (await (await gw.api('/api/v1/cameras/cam-new', { token: viewer })).json()) as CameraView;
      return v.state === 'online' && v.device?.model === 'FV-100';
    }, 5_000);

    const list = await gw.api('/api/v1/cameras', { token: viewer });
    const listText = await list.text();
    expect(listText).not.toMatch(/"password|secret"/);
    expect((JSON.parse(listText) as { items: CameraView[] }).items.map((c) => c.id)).toEqual(['cam-file', 'cam-new']);

    const changed = await gw.api('/api/v1/cameras/cam-new', { method: 'PUT', token: admin, json: { password: 'wrong', name: 'Hall' } });
    expect(changed.status).toBe(200);
    await waitFor(async () => {
      const v = (await (await gw.api('/api/v1/cameras/cam-new', { token: admin })).json()) as CameraView;
      return v.name === 'Hall' && v.state === 'offline' && v.lastError?.code === 'unauthorized';
    }, 5_000);

    expect((await gw.api('/api/v1/cameras/cam-file', { method: 'PUT', token: admin, json: { name: 'x' } })).status).toBe(409);
    expect((await gw.api('/api/v1/cameras/cam-file', { method: 'DELETE', token: admin })).status).toBe(409);
    expect((await gw.api('/api/v1/cameras/cam-new', { method: 'PUT', token: admin, json: { port: 'x' } })).status).toBe(400);
    expect((await gw.api('/api/v1/cameras/cam-new', { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await gw.api('/api/v1/cameras/cam-new', { token: admin })).status).toBe(404);
  });

  it("takes a manual alert at a zone only while a camera or the config covers it, as cameras come and go through the API", async () => {
    const d = await device();
    const gw = await gateway({ cameras: [camera('cam-file', d.port)] });
    const admin = await tokenFor(gw, 'admin');
    const guard = await tokenFor(gw, 'guard');
    const raise = async (): Promise<number> =>
      (await gw.api('/api/v1/alerts', { method: 'POST', token: guard, json: { message: 'smoke', type: 'smoke', zone: 'new-wing' } })).status;

    expect(await raise()).toBe(400);
    const body = { id: 'cam-wing', name: 'Wing', host: '127.0.0.1', port: (await device()).port, zones: ['new-wing'] };
    expect((await gw.api('/api/v1/cameras', { method: 'POST', token: admin, json: body })).status).toBe(201);
    expect(await raise()).toBe(201);
    expect((await gw.api('/api/v1/cameras/cam-wing', { method: 'DELETE', token: admin })).status).toBe(204);
    expect(await raise()).toBe(400);
  });

  it('refuses to store a camera password without a secret key', async () => {
    const gw = await gateway({ cameras: [] });
    const admin = await tokenFor(gw, 'admin');
    const res = await gw.api('/api/v1/cameras', {
      method: 'POST',
      token: admin,
      json: { id: 'cam-x', name: 'X', host: '127.0.0.1', port: 1, password: 'p' },
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/secretKey|CAMPUS_CAMERA_KEY/);
  });

  it('serves the latest snapshot, a fresh one on request, and only valid snapshot ids to staff', async () => {
    const d = await device();
    const gw = await gateway({ cameras: [camera('cam-door', d.port, { presets: { entrance: 'p1' } })], retention: { maxCount: 2 } });
    const guard = await tokenFor(gw, 'guard');
    const viewer = await tokenFor(gw, 'teacher');
    await waitFor(async () => ((await (await gw.api('/api/v1/cameras/cam-door', { token: guard })).json()) as CameraView).state === 'online');

    expect((await gw.api('/api/v1/cameras/cam-door/snapshot', { token: viewer })).status).toBe(403);
    const first = await gw.api('/api/v1/cameras/cam-door/snapshot', { token: guard });
    expect(first.status).toBe(200);
    const firstId = first.headers.get('x-snapshot-id')!;
    const again = await gw.api('/api/v1/cameras/cam-door/snapshot', { token: guard });
    expect(again.headers.get('x-snapshot-id')).toBe(firstId);
    await again.arrayBuffer();
    const fresh = await gw.api('/api/v1/cameras/cam-door/snapshot?fresh=1', { token: guard });
    const freshId = fresh.headers.get('x-snapshot-id')!;
    expect(freshId).not.toBe(firstId);
    expect(Buffer.from(await fresh.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(d.stats.snapshots).toBe(2);
    await (await gw.api('/api/v1/cameras/cam-door/snapshot?fresh=1', { token: guard })).arrayBuffer();
    // Retention keeps two: the first is gone.
    expect((await gw.api(`/api/v1/snapshots/${firstId}`, { token: guard })).status).toBe(404);
    expect((await gw.api(`/api/v1/snapshots/${freshId}`, { token: guard })).status).toBe(200);

    const view = (await (await gw.api('/api/v1/cameras', { token: viewer })).json()) as { items: CameraView[] };
    expect(view.items[0]!.latestSnapshotId).not.toBe(freshId);
    expect(view.items[0]!.latestSnapshotId).toMatch(/^[0-9A-Z]{26}$/);

    for (const bad of ['..%2F..%2Fgateway.db', 'not-a-ulid', '01ARZ3NDEKTSV4RRFFQ69G5FA/']) {
      expect((await gw.api(`/api/v1/snapshots/${bad}`, { token: guard })).status).toBeGreaterThanOrEqual(400);
    }
    expect((await gw.api('/api/v1/snapshots/01ARZ3NDEKTSV4RRFFQ69G5FAV', { token: guard })).status).toBe(404);
    expect((await gw.api('/api/v1/snapshots/..%2F..%2Fgateway.db', { token: guard })).status).toBe(400);

    const ptz = await gw.api('/api/v1/cameras/cam-door/ptz/entrance', { method: 'POST', token: guard });
    expect(ptz.status).toBe(200);
    expect(d.stats.presets).toEqual(['p1']);
    expect((await gw.api('/api/v1/cameras/cam-door/ptz/nowhere', { method: 'POST', token: guard })).status).toBe(404);
    expect((await gw.api('/api/v1/cameras/cam-door/ptz/entrance', { method: 'POST', token: viewer })).status).toBe(403);
  });

  it('discovers cameras over WS-Discovery, says which are registered, and ignores garbage replies', async () => {
    const d = await device();
    const other = await device({ manufacturer: 'Other' });
    const disco = new FakeDiscovery(
      [
        {
          urn: 'urn:uuid:11111111-2222-3333-4444-555555555555',
          xaddr: `${d.url}/onvif/device_service`,
          scopes: ['onvif://www.onvif.org/type/video_encoder', 'onvif://www.onvif.org/mfr/Fakevision', 'onvif://www.onvif.org/hardware/FV-100', 'onvif://www.onvif.org/name/Gate%20Cam'],
        },
        {
          urn: 'urn:uuid:66666666-2222-3333-4444-555555555555',
          xaddr: `${other.url}/onvif/device_service`,
          scopes: ['onvif://www.onvif.org/hardware/X-9', 'onvif://www.onvif.org/name/Spare'],
        },
      ],
      ['<not xml', '<Envelope><Body><Hello/></Body></Envelope>'],
    );
    await disco.start();
    cleanup(() => disco.stop());
    const gw = await gateway({ cameras: [camera('cam-gate', d.port)], discovery: { address: '127.0.0.1', port: disco.port, timeoutMs: 500 } });
    const admin = await tokenFor(gw, 'admin');
    const guard = await tokenFor(gw, 'guard');
    expect((await gw.api('/api/v1/cameras/discover', { method: 'POST', token: guard })).status).toBe(403);
    const res = await gw.api('/api/v1/cameras/discover', { method: 'POST', token: admin });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: DiscoveredCamera[] };
    expect(items).toHaveLength(2);
    const gate = items.find((i) => i.port === d.port)!;
    expect(gate).toMatchObject({ host: '127.0.0.1', manufacturer: 'Fakevision', model: 'FV-100', name: 'Gate Cam', registered: true, cameraId: 'cam-gate' });
    expect(items.find((i) => i.port === other.port)).toMatchObject({ model: 'X-9', manufacturer: null, registered: false, cameraId: null });
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_camera_discovery_invalid_total 2/);
  });
});
