/**
 * Node-RED embedded in a running demo gateway: the secured editor and admin API at /flows, the default flows
 * doing their job on real MQTT traffic, a flow deployed through the admin API with a token, and flow errors
 * that leave the gateway running. Node-RED runs once per process, so this file has one gateway with it.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { defaultFlows } from '../../gateway/node-red/files.js';
import { nextMessage, startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { captureLog } from '../helpers/log-capture.js';

const API_TOKEN = 'deploy-from-ci-0123456789abcdef';
const READ_TOKEN = 'read-only-token-0123456789abcdef';
const defaults = defaultFlows() as { id: string; type: string; z?: string }[];
const campusTypes = ['campus tap', 'campus alert', 'campus alert in', 'campus sensor', 'campus snapshot', 'campus gate', 'campus attendance', 'campus event', 'campus publish', 'campus threshold'];

let gw: TestGateway;
let client: MqttClient;
/** The gateway's clock: real time, moved forward by a test that needs sessions to expire (and put back after). */
const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };

/** Node-RED's own login (what the editor does): an editor token, or the HTTP status when refused. */
async function editorLogin(username: string, password = 'campus-demo'): Promise<{ status: number; token?: string }> {
  const res = await gw.api('/flows/auth/token', {
    method: 'POST',
    json: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password },
  });
  if (res.status !== 200) return { status: res.status };
  return { status: 200, token: ((await res.json()) as { access_token: string }).access_token };
}

const getFlows = async (token?: string): Promise<Response> => gw.api('/flows/flows', token ? { token } : {});
const deploy = (token: string, flows: object[]): Promise<Response> =>
  gw.api('/flows/flows', { method: 'POST', token, json: flows, headers: { 'Node-RED-Deployment-Type': 'full' } });

/** An editor token Node-RED minted itself and stored in .sessions.json (what an older gateway left behind). */
const LEGACY_TOKEN = 'legacy-editor-token-0123456789';
const dataDir = tempDir();
/** The gateway's log from its start, for the warnings a school would see. */
const started = captureLog();

beforeAll(async () => {
  mkdirSync(join(dataDir, 'node-red'), { recursive: true });
  const legacy = { user: 'admin', client: 'node-red-editor', scope: '*', accessToken: LEGACY_TOKEN, expires: Date.now() + 7 * 86_400_000 };
  writeFileSync(join(dataDir, 'node-red', '.sessions.json'), JSON.stringify({ [LEGACY_TOKEN]: legacy }));
  gw = await startTestGateway({
    dataDir,
    clock,
    log: started.log,
    config: {
      // Room for this file's logins from 127.0.0.1 within a minute; one test spends the count of another address.
      http: { loginRateLimit: { windowS: 60, max: 40 } },
      nodeRed: {
        enabled: true,
        adminTokens: [
          { name: 'ci', secretHash: await hashSecret(API_TOKEN) },
          { name: 'dashboard', secretHash: await hashSecret(READ_TOKEN), permissions: 'read' },
        ],
      },
    },
  });
  client = await gw.mqttClient();
});

afterAll(async () => {
  await gw?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('start-up log', () => {
  it('warns of nothing Node-RED says about what the gateway set up on purpose (projects off, no flow credentials yet)', () => {
    const warnings = started.text().trim().split('\n').map((l) => JSON.parse(l) as { level: number; component?: string; msg: string })
      .filter((l) => l.level >= 40 && l.component === 'node-red').map((l) => l.msg);
    expect(warnings.filter((m) => /Projects disabled|Encrypted credentials not found/.test(m))).toEqual([]);
  });
});

describe('editor and admin API', () => {
  it('serves the editor at /flows with the campus palette and the default flows deployed (admin)', async () => {
    const page = await gw.api('/flows/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Campus Gateway');
    const { token } = await editorLogin('admin');
    expect(token).toBeTruthy();
    const nodes = (await (await gw.api('/flows/nodes', { token, headers: { accept: 'application/json' } })).json()) as {
      module: string;
      types: string[];
      enabled: boolean;
    }[];
    const palette = nodes.filter((n) => n.module === 'node-red-contrib-campus');
    expect(palette.flatMap((n) => n.types).sort()).toEqual([...campusTypes].sort());
    expect(palette.every((n) => n.enabled)).toBe(true);
    const res = await getFlows(token);
    expect(res.status).toBe(200);
    const flows = (await res.json()) as { id: string }[];
    // The defaults, whatever else the deploy test below added beside them (tests run in any order).
    expect(flows.map((f) => f.id)).toEqual(expect.arrayContaining(defaults.map((f) => f.id)));
  });

  it('offers each default flow under Import > Examples, so a school that deleted one can take it back', async () => {
    const { token } = await editorLogin('admin');
    const lib = (path: string) => gw.api(`/flows/library/examples/flows/${path}`, { token: token!, headers: { accept: 'application/json' } });
    // What the editor's Import > Examples lists under the palette: one entry per file of examples/.
    const names = ((await (await lib('node-red-contrib-campus')).json()) as { fn: string }[]).map((e) => e.fn).sort();
    expect(names).toEqual(['after-hours-motion', 'co2-ventilation', 'late-three-days']);
    const tabs = defaults.filter((n) => n.type === 'tab');
    expect(tabs).toHaveLength(3);
    const restored: { id: string }[] = [];
    for (const name of names) {
      const res = await lib(`node-red-contrib-campus/${name}`);
      expect(res.status, name).toBe(200);
      const flow = (await res.json()) as { id: string; type: string; z?: string }[];
      // One whole tab: the tab and its nodes, nothing of another tab.
      const tab = flow.filter((n) => n.type === 'tab');
      expect(tab, name).toHaveLength(1);
      expect(flow.every((n) => n.type === 'tab' || n.z === tab[0]!.id), name).toBe(true);
      restored.push(...flow);
    }
    // Together they are the default flows, node for node.
    expect(restored).toEqual(defaults);
  });

  it('refuses the admin API without login, and refuses viewers altogether', async () => {
    expect((await getFlows()).status).toBe(401);
    expect((await gw.api('/flows/nodes', { headers: { accept: 'application/json' } })).status).toBe(401);
    // Refused as such (Node-RED's 403 for a refused grant), not by a 500 that would also "not be 200".
    expect((await editorLogin('viewer')).status).toBe(403);
    expect((await editorLogin('admin', 'wrong-password')).status).toBe(403);
    // A gateway session of a viewer is no way in either.
    const viewerSession = await gw.login('viewer');
    expect((await getFlows(viewerSession)).status).toBe(401);
    expect((await getFlows('not-a-token')).status).toBe(401);
  });

  it("keeps the admin's editor login open while someone else guesses its password", async () => {
    // Node-RED alone refuses a username for 10 minutes after 6 attempts from anywhere: a student's phone could keep
    // the school's admin out of the editor with six wrong passwords every ten minutes.
    for (let i = 0; i < 8; i++) expect((await editorLogin('admin', `guess-${i}`)).status).toBe(403);
    const { status, token } = await editorLogin('admin');
    expect(status).toBe(200);
    expect((await getFlows(token)).status).toBe(200);
    // A read-only user asking for more than reading is refused, as Node-RED refuses it; reading alone is not.
    const asSecurity = async (scope: string): Promise<number> =>
      (
        await gw.api('/flows/auth/token', {
          method: 'POST',
          json: { client_id: 'node-red-admin', grant_type: 'password', scope, username: 'security', password: 'campus-demo' },
        })
      ).status;
    const loginsOk = async (): Promise<number> =>
      Number(/campus_flow_auth_total\{outcome="login_ok"\} (\d+)/.exec(await (await gw.api('/metrics')).text())?.[1] ?? 0);
    const okBefore = await loginsOk();
    expect(await asSecurity('*')).toBe(403);
    expect(await asSecurity('flows.write flows.read')).toBe(403);
    expect(await loginsOk()).toBe(okBefore); // refused before a session was opened, and counted so
    expect(await asSecurity('flows.read read')).toBe(200);
  });

  it('reads no body sent to the admin API before its token is checked, and keeps the editor login small', async () => {
    // Node-RED parses up to 5 MB before its own token check: nested brackets held the event loop ~1 s for a 401.
    const post = (body: string, token?: string) =>
      gw.api('/flows/flows', { method: 'POST', ...(token ? { token } : {}), headers: { 'content-type': 'application/json' }, body });
    expect((await post('{')).status).toBe(401);
    expect((await post('{', 'not-a-token')).status).toBe(401);
    expect((await post('['.repeat(100_000) + ']'.repeat(100_000))).status).toBe(401);
    // With a token Node-RED takes, the body is read as before (and found malformed).
    expect((await post('{', (await editorLogin('admin')).token)).status).toBe(400);
    const bigLogin = await gw.api('/flows/auth/token', { method: 'POST', json: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username: 'admin', password: 'x'.repeat(8192) } });
    expect(bigLogin.status).toBe(413);
  });

  it('lets security read flows but not deploy them', async () => {
    const { token } = await editorLogin('security');
    expect(token).toBeTruthy();
    expect((await getFlows(token)).status).toBe(200);
    const before = (await (await getFlows(token)).json()) as unknown[];
    const res = await deploy(token!, []);
    expect([401, 403]).toContain(res.status);
    const stillThere = (await (await getFlows(token)).json()) as unknown[];
    expect(stillThere.length).toBe(before.length);
    expect(stillThere.length).toBeGreaterThan(0);
  });

  it('accepts a gateway admin session token and config API tokens; a read token cannot deploy', async () => {
    expect((await getFlows(await gw.login('admin'))).status).toBe(200);
    expect((await getFlows(API_TOKEN)).status).toBe(200);
    expect((await getFlows(READ_TOKEN)).status).toBe(200);
    expect([401, 403]).toContain((await deploy(READ_TOKEN, [])).status);
  });
});

describe('editor tokens die with the gateway session they came from', () => {
  // Users of their own per test (and Node-RED counts failed logins per username), so the order of tests does not matter.
  const password = 'editor-password-1';
  async function adminWithEditorToken(username: string): Promise<string> {
    await gw.ctx.users.add(username, password, 'admin');
    const { status, token } = await editorLogin(username, password);
    expect(status).toBe(200);
    expect((await getFlows(token)).status).toBe(200);
    return token!;
  }

  it('a role change revokes the editor token at once (401)', async () => {
    const token = await adminWithEditorToken('ed-role');
    await gw.ctx.users.add('ed-role', password, 'security'); // still allowed to read flows, but with a new login
    expect((await getFlows(token)).status).toBe(401);
    expect((await editorLogin('ed-role', password)).status).toBe(200);
  });

  it('a password change revokes the editor token at once (401)', async () => {
    const token = await adminWithEditorToken('ed-pass');
    await gw.ctx.users.add('ed-pass', 'a-new-password-2', 'admin');
    expect((await getFlows(token)).status).toBe(401);
    expect((await deploy(token, [])).status).toBe(401);
  });

  it('removing the user revokes the editor token at once (401)', async () => {
    const token = await adminWithEditorToken('ed-gone');
    expect(gw.ctx.users.remove('ed-gone')).toBe(true);
    expect((await getFlows(token)).status).toBe(401);
    expect((await editorLogin('ed-gone', password)).status).not.toBe(200);
  });

  it('an editor session expires no later than a gateway session opened with it', async () => {
    const token = await adminWithEditorToken('ed-ttl');
    const gatewayToken = await gw.login('ed-ttl', password);
    try {
      clock.skewMs = gw.config.http.sessionTtlH * 3_600_000 + 60_000;
      expect((await gw.api('/api/v1/auth/me', { token: gatewayToken })).status).toBe(401);
      expect((await getFlows(token)).status).toBe(401);
    } finally {
      clock.skewMs = 0;
    }
  });

  it('editor tokens Node-RED minted itself before are void after an upgrade', async () => {
    expect((await getFlows(LEGACY_TOKEN)).status).toBe(401);
  });

  /** The editor's websocket, signed in as the editor does it (an auth frame) or with a bearer header; resolves once Node-RED accepted it. */
  async function editorSocket(token: string, how: 'frame' | 'header'): Promise<{ ws: WebSocket; closed: Promise<number>; received: string[] }> {
    const ws = new WebSocket(`${gw.base.replace('http', 'ws')}/flows/comms`, how === 'header' ? { headers: { authorization: `Bearer ${token}` } } : {});
    const received: string[] = [];
    ws.on('message', (data) => received.push(String(data)));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    if (how === 'frame') {
      ws.send(JSON.stringify({ auth: token }));
      await waitFor(() => received.includes('{"auth":"ok"}'));
    }
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    return { ws, closed, received };
  }

  it("closes an open editor websocket once its session ends, however it signed in, and keeps another user's open", async () => {
    const ended = await adminWithEditorToken('ed-socket');
    const kept = await adminWithEditorToken('ed-socket-kept');
    const byFrame = await editorSocket(ended, 'frame');
    const byHeader = await editorSocket(ended, 'header');
    const other = await editorSocket(kept, 'frame');
    gw.ctx.users.logout(ended); // the console's logout, or the session's expiry: Node-RED is not told
    // Within the recheck (5 s): before, both stayed open and kept receiving status and debug messages.
    const outcome = await Promise.race([
      Promise.all([byFrame.closed, byHeader.closed]).then(() => 'both closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000)),
    ]);
    expect(outcome).toBe('both closed');
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    // The editor's reconnect with the same token is refused by Node-RED, which is what shows the editor its login.
    const again = new WebSocket(`${gw.base.replace('http', 'ws')}/flows/comms`);
    const answer = await new Promise<string>((resolve) => {
      again.once('open', () => again.send(JSON.stringify({ auth: ended })));
      again.once('message', (data) => resolve(String(data)));
    });
    expect(answer).toBe('{"auth":"fail"}');
    other.ws.close();
    again.close();
  });

  it('closes an editor websocket at once for hostile frames, and the gateway keeps running', async () => {
    const url = `${gw.base.replace('http', 'ws')}/flows/comms`;
    const send = async (frame: string | Buffer): Promise<{ answer: string | null; code: number }> => {
      const ws = new WebSocket(url);
      let answer: string | null = null;
      ws.on('message', (data) => (answer ??= String(data)));
      const code = await new Promise<number>((resolve, reject) => {
        ws.once('open', () => ws.send(frame));
        ws.once('error', reject);
        ws.once('close', resolve);
      });
      return { answer, code };
    };
    // Each took the process down: `null` threw in Node-RED's handler, `{"auth": 1}` in the gateway's token check,
    // `{"auth": {"toString": 1}}` in Node-RED's token store. Now none of them reaches Node-RED.
    for (const frame of ['null', JSON.stringify({ auth: 1 }), JSON.stringify({ auth: { toString: 1 } })]) {
      expect(await send(frame)).toEqual({ answer: null, code: 1006 });
    }
    const token = await adminWithEditorToken('ed-twice');
    expect((await send(Buffer.from(JSON.stringify({ auth: token })))).code).toBe(1006);
    const twice = await editorSocket(token, 'header');
    twice.ws.send(JSON.stringify({ auth: token }));
    expect(await twice.closed).toBe(1006);
    expect((await gw.api('/healthz')).status).toBe(200);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_flow_editor_sockets_closed_total\{reason="not_editor"\} [4-9]/);
    expect(metrics).toMatch(/campus_flow_editor_sockets_closed_total\{reason="signed_in_twice"\} [1-9]/);
  });

  it('refuses the editor websocket at targets Node-RED read differently or threw on', async () => {
    const port = Number(new URL(gw.base).port);
    expect(await rawUpgrade(port, `http://127.0.0.1:${port}/flows/comms`)).toBe('HTTP/1.1 400 Bad Request');
    // A target Node-RED's url.parse throws on, in its upgrade listener: the process exited.
    expect(await rawUpgrade(port, '//%zz@x/flows/comms')).toBe('HTTP/1.1 404 Not Found');
    expect((await gw.api('/healthz')).status).toBe(200);
    expect(await rawUpgrade(port, '/flows/comms')).toBe('HTTP/1.1 101 Switching Protocols');
  });

  it('logging out of the editor ends its session', async () => {
    const token = await adminWithEditorToken('ed-out');
    const res = await gw.api('/flows/auth/revoke', { method: 'POST', token, json: { token } });
    expect(res.status).toBe(200);
    expect((await getFlows(token)).status).toBe(401);
  });

  it('logging out of the editor while the database refuses writes does not end the process', async () => {
    // The session is deleted once Node-RED has answered, in the response's 'finish' listener: the refused delete (a
    // full disk) was thrown out of an event listener, an uncaught exception, and Node ended the process, every gate
    // with it.
    const crashes: unknown[] = [];
    const onCrash = (err: unknown): void => void crashes.push(err);
    process.on('uncaughtException', onCrash);
    gw.ctx.db.exec("CREATE TRIGGER refuse_logout BEFORE DELETE ON sessions BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    try {
      const token = await adminWithEditorToken('ed-full');
      const res = await gw.api('/flows/auth/revoke', { method: 'POST', token, json: { token } });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      expect(crashes).toEqual([]);
      expect((await gw.api('/healthz')).status).toBe(200);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER refuse_logout');
      process.off('uncaughtException', onCrash);
    }
  });
});

describe('default flows', () => {
  it('CO2 over the threshold in a classroom turns its fan on, and off again once it is back down, across a redeploy', async () => {
    await client.subscribeAsync('campus/actuators/+/fan');
    const on = nextMessage(client, 'campus/actuators/classroom-101/fan', 10_000);
    await client.publishAsync('campus/sensors/demo-sensor-101', JSON.stringify({ co2: 1850 }));
    expect(JSON.parse((await on).payload.toString())).toMatchObject({ state: 'on', zone: 'classroom-101', co2: 1850 });
    // A full deploy restarts every node: the zones that are on must outlive it, or a running fan never gets its off;
    // and so must the hold (lib/levels.js), or a gateway restarted at every reading switched the fan at each.
    const current = (await (await getFlows(API_TOKEN)).json()) as object[];
    expect((await deploy(API_TOKEN, current)).status).toBeLessThan(300);
    const commands: string[] = [];
    const onCommand = (topic: string, payload: Buffer): void => void (topic.endsWith('/classroom-101/fan') && commands.push(payload.toString()));
    client.on('message', onCommand);
    const readingsOf = async (ms: number, until: () => boolean = () => false): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end && !until()) {
        await client.publishAsync('campus/sensors/demo-sensor-101', JSON.stringify({ co2: 700 }));
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    let skewed = false;
    try {
      // Within the default minute's hold of the on: the restarted flow keeps the fan on.
      await readingsOf(3000);
      expect(commands).toEqual([]);
      // The hold over (the gateway's clock a minute on), the next reading turns it off.
      clock.skewMs += 61_000;
      skewed = true;
      await readingsOf(10_000, () => commands.length > 0);
      expect(commands.map((c) => JSON.parse(c) as object)).toEqual([expect.objectContaining({ state: 'off', zone: 'classroom-101', co2: 700, threshold: 1000 })]);
    } finally {
      if (skewed) clock.skewMs -= 61_000;
      client.off('message', onCommand);
    }
  });

  it('motion after hours raises a critical alert in the camera zone, with the covering cameras pictures attached', async () => {
    // 23:30 in Asia/Shanghai: after hours.
    const at = new Date(Date.UTC(2026, 8, 9, 15, 30)).toISOString();
    const motion = {
      cameraId: 'cam-canteen',
      kind: 'motion',
      active: true,
      topic: 'RuleEngine/CellMotionDetector/Motion',
      operation: 'Changed',
      at,
      zones: ['canteen'],
      accessPoints: [],
      data: { IsMotion: 'true' },
    };
    const alert = await waitFor(
      async () => {
        gw.ctx.bus.emit('camera.event', motion as never);
        await new Promise((r) => setTimeout(r, 500));
        const row = gw.ctx.db
          // This camera's: at night (school time) the demo's simulated cameras raise their own.
          .prepare("SELECT severity, snapshot_ids, message, zone FROM alerts WHERE dedup_key = 'after_hours_motion:cam-canteen' AND snapshot_ids != '[]'")
          .get() as { severity: string; snapshot_ids: string; message: string; zone: string | null } | undefined;
        return row;
      },
      20_000,
    );
    expect(alert.severity).toBe('critical');
    expect(alert.message).toContain('cam-canteen');
    expect(alert.zone).toBe('canteen'); // what the city sees of where
    const [snapshotId] = JSON.parse(alert.snapshot_ids) as string[];
    const img = await gw.api(`/api/v1/snapshots/${snapshotId}`, { token: await gw.login('admin') });
    expect(img.status).toBe(200);
  });

  it('night motion the gateway already raised as an intrusion raises no second, after-hours alert', async () => {
    const night = new Date(Date.UTC(2026, 8, 9, 15, 45)).toISOString(); // 23:45 in Asia/Shanghai
    const event = (cameraId: string, intrusionZones: string[]) => ({
      cameraId, kind: 'motion', active: true, topic: 'RuleEngine/CellMotionDetector/Motion', operation: 'Changed',
      at: night, zones: ['playground'], accessPoints: [], data: { IsMotion: 'true' }, intrusionZones,
    });
    const raised = (cameraId: string) =>
      (gw.ctx.db.prepare('SELECT COUNT(*) AS n FROM alerts WHERE dedup_key = ?').get(`after_hours_motion:${cameraId}`) as { n: number }).n;
    // The covered movement first, then one no rule covers: once the second has its alert, the first was handled.
    await waitFor(async () => {
      gw.ctx.bus.emit('camera.event', event('cam-night-covered', ['playground']) as never);
      gw.ctx.bus.emit('camera.event', event('cam-night-uncovered', []) as never);
      await new Promise((r) => setTimeout(r, 300));
      return raised('cam-night-uncovered') > 0;
    }, 20_000);
    expect(raised('cam-night-covered')).toBe(0);
  });

  it('motion during school hours raises nothing', async () => {
    // Counted for this camera only: at night (school time) the demo's simulated cameras raise their own.
    const raised = () => gw.ctx.db.prepare("SELECT COALESCE(SUM(count), 0) AS n FROM alerts WHERE dedup_key = 'after_hours_motion:cam-canteen'").get();
    const before = raised();
    gw.ctx.bus.emit('camera.event', {
      cameraId: 'cam-canteen', kind: 'motion', active: true, topic: 'x/Motion', operation: 'Changed',
      at: new Date(Date.UTC(2026, 8, 9, 4, 0)).toISOString(), zones: ['canteen'], accessPoints: [], data: {},
    } as never);
    // Barrier: after-hours motion at another camera, sent after it, raises its alert; the flow handles the events
    // in order, so by then the school-hours one has been through and raised nothing.
    gw.ctx.bus.emit('camera.event', {
      cameraId: 'cam-barrier', kind: 'motion', active: true, topic: 'x/Motion', operation: 'Changed',
      at: new Date(Date.UTC(2026, 8, 9, 15, 30)).toISOString(), zones: ['canteen'], accessPoints: [], data: {},
    } as never);
    await waitFor(() => gw.ctx.db.prepare("SELECT 1 AS x FROM alerts WHERE dedup_key = 'after_hours_motion:cam-barrier'").get(), 10_000);
    expect(raised()).toEqual(before);
  });
});

describe('flows deployed from git through the admin API', () => {
  const tab = 'ffff000000000001';
  const flows = [
    { id: tab, type: 'tab', label: 'deployed by CI' },
    { id: 'ffff000000000002', type: 'campus tap', z: tab, accessPoint: 'main-gate', result: 'granted', direction: 'any', role: 'any', wires: [['ffff000000000003']] },
    { id: 'ffff000000000003', type: 'campus publish', z: tab, topic: 'school-it/granted', retain: false, wires: [] },
    { id: 'ffff000000000010', type: 'http in', z: tab, url: '/hello', method: 'get', upload: false, swaggerDoc: '', wires: [['ffff000000000011']] },
    { id: 'ffff000000000011', type: 'function', z: tab, func: "msg.payload = 'hi ' + global.get('campus').id; return msg;", outputs: 1, wires: [['ffff000000000012']] },
    { id: 'ffff000000000012', type: 'http response', z: tab, statusCode: '', headers: {}, wires: [] },
    // Errors of every kind a function node can make: thrown, thrown later in a timer, rejected.
    { id: 'ffff000000000020', type: 'http in', z: tab, url: '/boom', method: 'get', upload: false, swaggerDoc: '', wires: [['ffff000000000021']] },
    {
      id: 'ffff000000000021', type: 'function', z: tab, outputs: 1, wires: [[]],
      func: "setTimeout(() => { throw new Error('late boom'); }, 0);\nPromise.reject(new Error('unhandled boom'));\nthrow new Error('boom');",
    },
    { id: 'ffff000000000022', type: 'catch', z: tab, scope: ['ffff000000000021'], uncaught: false, wires: [['ffff000000000023']] },
    { id: 'ffff000000000023', type: 'function', z: tab, func: "msg.statusCode = 500; msg.payload = 'caught: ' + msg.error.message; return msg;", outputs: 1, wires: [['ffff000000000012']] },
    { id: 'ffff000000000030', type: 'inject', z: tab, once: true, onceDelay: 0.1, repeat: '', topic: '', payload: '', payloadType: 'date', props: [{ p: 'payload' }], wires: [['ffff000000000031']] },
    { id: 'ffff000000000031', type: 'function', z: tab, func: 'await new Promise((r) => setTimeout(r, 10)); throw new Error("async boom");', outputs: 1, wires: [[]] },
    // A websocket echo under /flows-api/: flows' websocket nodes are handed their upgrades by the gateway.
    { id: 'ffff000000000040', type: 'websocket-listener', path: '/ws/echo', wholemsg: 'false' },
    { id: 'ffff000000000041', type: 'websocket in', z: tab, server: 'ffff000000000040', client: '', wires: [['ffff000000000042']] },
    { id: 'ffff000000000042', type: 'websocket out', z: tab, server: 'ffff000000000040', client: '', wires: [] },
  ];

  // Deployed beside the default flows, not instead of them: the default-flow tests share this one Node-RED (once per
  // process) and run in any order.
  const deployCiFlows = async (): Promise<Response> => {
    const res = await deploy(API_TOKEN, [...defaults, ...flows]);
    // The admin API answers once the flows are saved; they start a moment later (the http-in route appears then).
    await waitFor(async () => (await gw.api('/flows-api/hello')).status === 200);
    return res;
  };

  it('deploys with an API token; the flow reacts to a real MQTT tap and serves under /flows-api', async () => {
    const res = await deployCiFlows();
    expect(res.status).toBeLessThan(300);
    const deployed = (await (await getFlows(API_TOKEN)).json()) as { id: string }[];
    expect(deployed.map((f) => f.id).sort()).toEqual([...defaults, ...flows].map((f) => f.id).sort());

    await client.subscribeAsync('school-it/granted');
    const granted = nextMessage(client, 'school-it/granted', 10_000);
    await client.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0A1B2C3D' }));
    const decision = JSON.parse((await granted).payload.toString()) as { uid: string; granted: boolean; accessPointId: string };
    expect(decision).toMatchObject({ uid: '0A1B2C3D', granted: true, accessPointId: 'main-gate' });

    const hello = await gw.api('/flows-api/hello');
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe('hi demo-school');

    const echo = new WebSocket(`${gw.base.replace('http', 'ws')}/flows-api/ws/echo`);
    await new Promise((resolve, reject) => {
      echo.once('open', resolve);
      echo.once('error', reject);
    });
    const back = new Promise<string>((resolve) => echo.once('message', (data) => resolve(String(data))));
    echo.send('marco');
    expect(await back).toBe('marco');
    echo.close();
  });

  it('an error thrown inside a flow does not take the gateway down', async () => {
    await deployCiFlows();
    const boom = await gw.api('/flows-api/boom');
    expect(boom.status).toBe(500);
    expect(await boom.text()).toMatch(/^caught: .*boom/);
    // The timer's and the async function's errors are counted as they land: the unhandled rejection and the async
    // throw ('boom' was handled by the catch node).
    const flowErrors = async (): Promise<number> =>
      Number(/^campus_flow_node_errors_total (\d+)/m.exec(await (await gw.api('/metrics')).text())?.[1] ?? 0);
    await waitFor(async () => (await flowErrors()) >= 2);
    const health = await gw.api('/healthz');
    expect(health.status).toBe(200);
    expect((await (await gw.api('/flows-api/hello')).text())).toBe('hi demo-school');
  });
});

describe('files and process rules', () => {
  it('keeps flows and a generated credential secret (demo) in <dataDir>/node-red', () => {
    const dir = join(gw.dataDir, 'node-red');
    expect(statSync(join(dir, 'flows.json')).isFile()).toBe(true);
    const secret = statSync(join(dir, '.credential-secret'));
    expect(secret.mode & 0o777).toBe(0o600);
  });

  it('a second gateway in the same process runs without Node-RED and says why', async () => {
    const second = await startTestGateway({ config: { nodeRed: { enabled: true } } });
    try {
      const h = (await (await second.api('/healthz')).json()) as { status: string; components: Record<string, { ok: boolean; detail?: string }> };
      expect(h.status).toBe('ok');
      expect(h.components.nodeRed!.detail).toMatch(/once per process/);
      expect((await second.api('/flows/flows')).status).toBe(404);
    } finally {
      await second.close();
    }
  });

  it('outside demo mode, no credential secret means no Node-RED, and the health report says how to fix it', async () => {
    const prod = await startTestGateway({
      demo: false,
      users: [{ username: 'it-admin', password: 'a-long-password', role: 'admin' }],
      config: { nodeRed: { enabled: true } },
    });
    try {
      const h = (await (await prod.api('/healthz')).json()) as { components: Record<string, { ok: boolean; detail?: string }> };
      expect(h.components.nodeRed!.detail).toMatch(/CAMPUS_FLOW_SECRET/);
    } finally {
      await prod.close();
    }
  });
});

describe('editor logins per client address', () => {
  /** A JSON POST from another loopback address: another device on the school LAN, with a login count of its own. */
  const postFrom = (localAddress: string, path: string, json: object): Promise<number> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(json);
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = request({ host: '127.0.0.1', port: gw.httpPort, localAddress, path, method: 'POST', headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
  const editorFrom = (localAddress: string, password: string): Promise<number> =>
    postFrom(localAddress, '/flows/auth/token', { client_id: 'node-red-editor', grant_type: 'password', scope: '', username: 'admin', password });

  // From addresses no other test uses: the tests run in any order (CI shuffles them), and this one spends a count.
  it('refuses one address past http.loginRateLimit with 429, counted with the console login, and not the admin at another', async () => {
    let status = 0;
    for (let i = 0; i < 41 && status !== 429; i++) status = await editorFrom('127.0.0.3', `guess-${i}`);
    expect(status).toBe(429);
    expect(await editorFrom('127.0.0.3', 'campus-demo')).toBe(429); // not even checked
    // The console's login counts the same attempts: a second form is no second budget.
    expect(await postFrom('127.0.0.3', '/api/v1/auth/login', { username: 'admin', password: 'campus-demo' })).toBe(429);
    expect(await editorFrom('127.0.0.2', 'campus-demo')).toBe(200);
    expect(await editorFrom('127.0.0.2', 'wrong')).toBe(403);
  });
});
