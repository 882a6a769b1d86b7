/**
 * Campus maps through the API of a real gateway: an admin creates a map, uploads its picture and pins devices; other
 * roles read it; hostile uploads (a page or an SVG named .png, a file over the cap) are refused and store nothing.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampusMap } from '../../gateway/maps/store.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { solidPng } from '../helpers/png.js';

let gw: TestGateway;
let admin: string;
let security: string;
let viewer: string;
const CAP = 64 * 1024;

beforeAll(async () => {
  gw = await startTestGateway({ config: { maps: { maxImageBytes: CAP } } });
  [admin, security, viewer] = await Promise.all([gw.login('admin'), gw.login('security'), gw.login('viewer')]);
});
afterAll(async () => {
  await gw?.close();
});

const mapsDir = (): string => join(gw.dataDir, 'maps');
const files = (): string[] => readdirSync(mapsDir());

async function newMap(name = 'Ground floor'): Promise<CampusMap> {
  const res = await gw.api('/api/v1/maps', { method: 'POST', token: admin, json: { name, zone: 'gate-main' } });
  expect(res.status).toBe(201);
  return (await res.json()) as CampusMap;
}
const upload = (id: number, body: Buffer, contentType = 'image/png', token = admin): Promise<Response> =>
  gw.api(`/api/v1/maps/${id}/image`, { method: 'PUT', token, headers: { 'content-type': contentType }, body: new Uint8Array(body) });

describe('campus maps', () => {
  it('an admin uploads a PNG and places pins; every role reads the map and its picture', async () => {
    const map = await newMap();
    const png = solidPng(40, 30);
    const up = await upload(map.id, png, 'application/octet-stream');
    expect(up.status).toBe(200);
    expect(((await up.json()) as CampusMap).image).toMatchObject({ type: 'image/png', bytes: png.length });
    // Private like every file the gateway keeps.
    expect(statSync(mapsDir()).mode & 0o777).toBe(0o700);
    for (const f of files()) expect(statSync(join(mapsDir(), f)).mode & 0o777).toBe(0o600);

    const pins = [
      { kind: 'access-point', deviceId: 'main-gate', x: 0.25, y: 0.5 },
      { kind: 'camera', deviceId: 'cam-main-gate', x: 0.3, y: 0.45 },
      { kind: 'sensor', deviceId: 'demo-sensor-101', x: 0.8, y: 0.2 },
    ];
    const put = await gw.api(`/api/v1/maps/${map.id}/pins`, { method: 'PUT', token: admin, json: { pins } });
    expect(put.status).toBe(200);

    for (const token of [security, viewer]) {
      const list = (await (await gw.api('/api/v1/maps', { token })).json()) as { items: CampusMap[] };
      const got = list.items.find((m) => m.id === map.id)!;
      expect(got.pins).toEqual(expect.arrayContaining(pins));
      const img = await gw.api(`/api/v1/maps/${map.id}/image`, { token });
      expect(img.status).toBe(200);
      expect(img.headers.get('content-type')).toBe('image/png');
      expect(img.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await img.arrayBuffer()).equals(png)).toBe(true);
    }
    // Not without a sign-in: the plan shows where the cameras are.
    expect((await gw.api(`/api/v1/maps/${map.id}/image`)).status).toBe(401);
  });

  it('only an admin changes maps', async () => {
    const map = await newMap();
    expect((await gw.api('/api/v1/maps', { method: 'POST', token: security, json: { name: 'x' } })).status).toBe(403);
    expect((await upload(map.id, solidPng(4, 4), 'image/png', security)).status).toBe(403);
    expect((await gw.api(`/api/v1/maps/${map.id}/pins`, { method: 'PUT', token: viewer, json: { pins: [] } })).status).toBe(403);
    expect((await gw.api(`/api/v1/maps/${map.id}`, { method: 'DELETE', token: security })).status).toBe(403);
  });

  it('refuses pins off the picture, of unknown devices or kinds', async () => {
    const map = await newMap();
    const put = (pins: unknown[]): Promise<Response> => gw.api(`/api/v1/maps/${map.id}/pins`, { method: 'PUT', token: admin, json: { pins } });
    const off = await put([{ kind: 'access-point', deviceId: 'main-gate', x: 1.5, y: 0.5 }]);
    expect(off.status).toBe(400);
    expect(((await off.json()) as { error: { message: string } }).error.message).toContain('body.pins[0].x');
    const ghost = await put([{ kind: 'camera', deviceId: 'cam-nowhere', x: 0.5, y: 0.5 }]);
    expect(ghost.status).toBe(400);
    expect(((await ghost.json()) as { error: { message: string } }).error.message).toContain('no such device: camera cam-nowhere');
    // An access point's id is not a camera's.
    expect((await put([{ kind: 'camera', deviceId: 'main-gate', x: 0.5, y: 0.5 }])).status).toBe(400);
    expect((await put([{ kind: 'door', deviceId: 'main-gate', x: 0.5, y: 0.5 }])).status).toBe(400);
    const after = (await (await gw.api(`/api/v1/maps/${map.id}`, { token: admin })).json()) as CampusMap;
    expect(after.pins).toEqual([]);
  });

  it('refuses an HTML page or an SVG named .png, whatever the content-type says, and stores nothing', async () => {
    const map = await newMap();
    const before = files();
    const html = Buffer.from('<!doctype html><script>fetch("/api/v1/people")</script>');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    for (const [body, type] of [[html, 'image/png'], [svg, 'image/svg+xml'], [svg, 'image/png']] as const) {
      const res = await upload(map.id, body, type);
      expect(res.status).toBe(415);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    }
    expect(files()).toEqual(before);
    expect((await gw.api(`/api/v1/maps/${map.id}/image`, { token: admin })).status).toBe(404);
  });

  it('serves a JPEG or WebP by the type its bytes show, not the one the upload claimed', async () => {
    const map = await newMap();
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64)]);
    expect((await upload(map.id, jpeg, 'image/png')).status).toBe(200);
    expect((await gw.api(`/api/v1/maps/${map.id}/image`, { token: viewer })).headers.get('content-type')).toBe('image/jpeg');
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 '), Buffer.alloc(32)]);
    expect((await upload(map.id, webp, 'text/html')).status).toBe(200);
    expect((await gw.api(`/api/v1/maps/${map.id}/image`, { token: viewer })).headers.get('content-type')).toBe('image/webp');
  });

  it('answers 413 for a picture over maps.maxImageBytes and keeps the old one', async () => {
    const map = await newMap();
    const small = solidPng(8, 8);
    expect((await upload(map.id, small)).status).toBe(200);
    const before = files();
    const big = Buffer.concat([solidPng(8, 8), Buffer.alloc(CAP)]);
    const res = await upload(map.id, big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(files()).toEqual(before);
    const img = await gw.api(`/api/v1/maps/${map.id}/image`, { token: admin });
    expect(Buffer.from(await img.arrayBuffer()).equals(small)).toBe(true);
  });

  it('deleting a map removes its pins and its picture', async () => {
    const map = await newMap();
    expect((await upload(map.id, solidPng(8, 8))).status).toBe(200);
    const withIt = files();
    expect((await gw.api(`/api/v1/maps/${map.id}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect(files().length).toBe(withIt.length - 1);
    expect((await gw.api(`/api/v1/maps/${map.id}`, { token: admin })).status).toBe(404);
  });
});
