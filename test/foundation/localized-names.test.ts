/**
 * Names in three languages (issue 25, point 2) on the gateway's side: the config accepts a string or {zh, ko, en}
 * and nothing empty, the gateway's own texts get one string (the guardian's language, or the stable zh-first
 * choice for alerts, the city and Node-RED), and a camera added through the API keeps its names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localizedName } from '../../config/common.js';
import { gatewayConfigSchema } from '../../config/schema.js';
import { demoConfig } from '../../config/demo.js';
import { nameIn, stableName } from '../../gateway/core/localized-name.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('localizedName in config', () => {
  it('takes a string or any of zh, ko, en, and refuses an empty object, an empty name or another language', () => {
    expect(localizedName.parse('正门')).toBe('正门');
    expect(localizedName.parse({ ko: '정문' })).toEqual({ ko: '정문' });
    expect(localizedName.safeParse({}).success).toBe(false);
    expect(localizedName.safeParse('').success).toBe(false);
    expect(localizedName.safeParse({ zh: '' }).success).toBe(false);
    expect(localizedName.safeParse({ ja: '正門' }).success).toBe(false);
    expect(localizedName.safeParse('x'.repeat(101)).success).toBe(false);
  });

  it('is what access points, zones, cameras, sensors and readers take, and the demo names its places in three languages', () => {
    const c = gatewayConfigSchema.parse(demoConfig);
    expect(c.access.accessPoints.find((a) => a.id === 'main-gate')?.name).toEqual({ zh: '正门', ko: '정문', en: 'Main gate' });
    expect(c.zones.find((z) => z.id === 'classroom-101')?.name).toMatchObject({ ko: '101 교실' });
    expect(c.cameras.cameras.every((cam) => typeof cam.name === 'object')).toBe(true);
    expect(c.sensors.sensors.every((s) => s.name !== undefined)).toBe(true);
    expect(c.readers.every((r) => r.name !== undefined)).toBe(true);
    const dup = gatewayConfigSchema.safeParse({ ...demoConfig, zones: [{ id: 'a', name: 'A' }, { id: 'a', name: 'B' }] });
    expect(dup.success).toBe(false);
  });
});

describe('one string for the gateway’s own texts', () => {
  const gate = { zh: '正门', ko: '정문', en: 'Main gate' };
  it('picks the asked-for language, then en, zh, ko, then the id', () => {
    expect(nameIn(gate, 'ko', 'main-gate')).toBe('정문');
    expect(nameIn({ zh: '正门' }, 'ko', 'main-gate')).toBe('正门');
    expect(nameIn({ ko: '정문', en: 'Main gate' }, 'zh', 'main-gate')).toBe('Main gate');
    expect(nameIn('正门', 'en', 'main-gate')).toBe('正门');
    expect(nameIn(undefined, 'en', 'main-gate')).toBe('main-gate');
  });
  it('gives alerts, the city and Node-RED the Chinese name first, the same every time', () => {
    expect(stableName(gate, 'main-gate')).toBe('正门');
    expect(stableName({ ko: '정문', en: 'Main gate' }, 'main-gate')).toBe('Main gate');
  });
});

describe('a camera added through the API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('keeps a name per language, and a plain name as it was', async () => {
    const admin = await gw.login('admin');
    const name = { zh: '北门摄像头', ko: '북문 카메라', en: 'North gate camera' };
    const created = await gw.api('/api/v1/cameras', { method: 'POST', token: admin, json: { id: 'cam-north', name, host: '127.0.0.1', port: 1 } });
    expect(created.status).toBe(201);
    expect(((await (await gw.api('/api/v1/cameras/cam-north', { token: admin })).json()) as { name: unknown }).name).toEqual(name);
    await gw.api('/api/v1/cameras/cam-north', { method: 'PUT', token: admin, json: { name: '北门' } });
    expect(((await (await gw.api('/api/v1/cameras/cam-north', { token: admin })).json()) as { name: unknown }).name).toBe('北门');
    const bad = await gw.api('/api/v1/cameras', { method: 'POST', token: admin, json: { id: 'cam-bad', name: {}, host: '127.0.0.1', port: 1 } });
    expect(bad.status).toBe(400);
  });
});
