/**
 * The campus palette in the editor of a running demo gateway: the access point, camera and zone lists the editor
 * fills its drop-downs from (admin endpoints below /flows, behind the editor's login), and the nodes' words and
 * help in Chinese, Korean and English from locales/. Node-RED runs once per process: this file has its own gateway.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const dataDir = tempDir();

beforeAll(async () => {
  gw = await startTestGateway({ dataDir, config: { nodeRed: { enabled: true } } });
});

afterAll(async () => {
  await gw?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Node-RED's own login, as the editor does it. */
async function editorToken(username: string): Promise<string> {
  const res = await gw.api('/flows/auth/token', {
    method: 'POST',
    json: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password: 'campus-demo' },
  });
  expect(res.status, username).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

interface Place {
  id: string;
  name: string;
  gateId?: string | null;
}

const list = async (path: string, token?: string): Promise<Response> =>
  gw.api(`/flows/campus/${path}`, { ...(token ? { token } : {}), headers: { accept: 'application/json' } });

describe('access point, camera and zone lists for the editor', () => {
  it("answers an editor session with the demo's access points, cameras and zones", async () => {
    const token = await editorToken('admin');
    const accessPoints = (await (await list('access-points', token)).json()) as Place[];
    expect(accessPoints.map((a) => a.id)).toEqual(gw.ctx.config.access.accessPoints.map((a) => a.id));
    // Names as Node-RED gets them everywhere: Chinese first.
    expect(accessPoints).toContainEqual(expect.objectContaining({ id: 'main-gate', name: '正门', gateId: 'main-gate' }));
    expect(accessPoints).toContainEqual(expect.objectContaining({ id: 'canteen', name: '食堂', gateId: null }));

    const cameras = (await (await list('cameras', token)).json()) as Place[];
    // All of the config's (a test may have added one through the API: tests run in any order).
    expect(cameras.map((c) => c.id)).toEqual(expect.arrayContaining(gw.ctx.config.cameras.cameras.map((c) => c.id)));
    expect(cameras).toContainEqual({ id: 'cam-main-gate', name: '正门摄像头' });

    const zones = (await (await list('zones', token)).json()) as Place[];
    expect(zones).toContainEqual({ id: 'playground', name: '操场' });
    // Every zone a sensor is in can be chosen in a campus sensor node.
    const ids = zones.map((z) => z.id);
    for (const s of gw.ctx.config.sensors.sensors) expect(ids, s.id).toContain(s.zone);
  });

  it('lists a camera and a sensor zone added through the API, not only those of the config file', async () => {
    const admin = await gw.login('admin');
    const camera = { id: 'cam-api-hall', name: { zh: '大厅摄像头', en: 'Hall camera' }, host: '127.0.0.1', port: 9, zones: ['hall'] };
    expect((await gw.api('/api/v1/cameras', { method: 'POST', token: admin, json: camera })).status).toBe(201);
    const sensor = { id: 'api-sensor-attic', zone: 'attic', source: { type: 'native' } };
    expect((await gw.api('/api/v1/sensors', { method: 'POST', token: admin, json: sensor })).status).toBe(201);
    const token = await editorToken('admin');
    expect(await (await list('cameras', token)).json()).toContainEqual({ id: 'cam-api-hall', name: '大厅摄像头' });
    const zones = (await (await list('zones', token)).json()) as Place[];
    // Zones not named in the config are listed by their id.
    expect(zones).toContainEqual({ id: 'hall', name: 'hall' });
    expect(zones).toContainEqual({ id: 'attic', name: 'attic' });
  });

  it('lets security (read-only in the editor) read the lists too', async () => {
    const token = await editorToken('security');
    expect((await list('zones', token)).status).toBe(200);
  });

  it('refuses the lists without a login, with a made-up token and to a viewer', async () => {
    for (const path of ['access-points', 'cameras', 'zones']) {
      expect([401, 403], path).toContain((await list(path)).status);
      expect([401, 403], path).toContain((await list(path, 'not-a-token')).status);
    }
    const viewer = await gw.login('viewer');
    expect([401, 403]).toContain((await list('access-points', viewer)).status);
  });
});

describe('the palette speaks Chinese, Korean and English', () => {
  const catalog = async (token: string, lng: string): Promise<Record<string, Record<string, unknown>>> => {
    const res = await gw.api(`/flows/nodes/messages?lng=${lng}`, { token, headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, Record<string, unknown>>;
  };

  it("serves each node's words from locales/ in the editor's language", async () => {
    const token = await editorToken('admin');
    const label = (c: Record<string, Record<string, unknown>>): unknown =>
      (c['node-red-contrib-campus/campus-tap']?.['campus-tap'] as { label: { accessPoint: string } } | undefined)?.label.accessPoint;
    expect(label(await catalog(token, 'zh-CN'))).toBe('门禁点');
    expect(label(await catalog(token, 'ko'))).toBe('출입 지점');
    expect(label(await catalog(token, 'en-US'))).toBe('Access point');
    // The drop-downs' shared editor code, which the templates of the nodes with a place field load.
    const shared = await gw.api('/flows/resources/node-red-contrib-campus/campus-editor.js');
    expect(shared.status).toBe(200);
    expect(await shared.text()).toContain('campus/access-points');
  });

  it('gives the help of each node in the language asked for, and no node keeps hard-coded help', async () => {
    const token = await editorToken('admin');
    const editorHtml = async (lng: string): Promise<string> => {
      const res = await gw.api('/flows/nodes', { token, headers: { accept: 'text/html', 'accept-language': lng } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const types = ['campus tap', 'campus alert', 'campus alert in', 'campus sensor', 'campus snapshot', 'campus gate', 'campus attendance', 'campus event', 'campus publish', 'campus threshold'];
    for (const [lng, word] of [['zh-CN', '刷卡事件'], ['ko', '카드 태그'], ['en-US', 'Every card tap']] as const) {
      const html = await editorHtml(lng);
      expect(html, lng).toContain(word);
      // One help per node, from the catalog of that language (a help left in a node's .html would make two).
      for (const t of types) expect(html.split(`data-help-name="${t}"`).length - 1, `${lng} ${t}`).toBe(1);
    }
  });
});
