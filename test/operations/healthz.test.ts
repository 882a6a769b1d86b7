/**
 * /healthz over real HTTP: a component that is off (Node-RED disabled in the config, or for want of a credential
 * secret; cloud sync disabled) shows as `disabled` with the reason, and does not make the gateway unhealthy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { en } from '../../console/src/i18n/en.js';
import { ko } from '../../console/src/i18n/ko.js';
import { zh } from '../../console/src/i18n/zh.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Health {
  status: string;
  components: Record<string, { ok: boolean; status: string; detail?: string; code?: string; params?: Record<string, string | number> }>;
}

const running: TestGateway[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.close();
});

async function healthz(gw: TestGateway): Promise<{ code: number; body: Health }> {
  const res = await gw.api('/healthz');
  return { code: res.status, body: (await res.json()) as Health };
}

describe('/healthz and disabled components', () => {
  it('shows Node-RED and cloud sync turned off in the config as disabled, with the reason, and stays 200', async () => {
    const gw = await startTestGateway({ config: { nodeRed: { enabled: false }, cloud: { enabled: false } } });
    running.push(gw);
    const { code, body } = await healthz(gw);
    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.components.nodeRed).toEqual({ ok: true, status: 'disabled', detail: 'disabled: nodeRed.enabled is false in the config', code: 'nodered_disabled_config' });
    expect(body.components['cloud-sync']).toEqual({ ok: true, status: 'disabled', detail: 'disabled: cloud.enabled is false in the config', code: 'sync_disabled' });
    // The working ones say ok.
    expect(body.components.db).toEqual({ ok: true, status: 'ok' });
    expect(body.components.broker).toEqual({ ok: true, status: 'ok' });
  });

  it('shows Node-RED off for want of a credential secret as disabled, with how to fix it', async () => {
    const gw = await startTestGateway({
      demo: false,
      users: [{ username: 'it-admin', password: 'a-long-password', role: 'admin' }],
      config: { nodeRed: { enabled: true } },
    });
    running.push(gw);
    const { code, body } = await healthz(gw);
    expect(code).toBe(200);
    expect(body.components.nodeRed).toMatchObject({ ok: true, status: 'disabled' });
    expect(body.components.nodeRed!.detail).toMatch(/^disabled: no credential secret; set nodeRed\.credentialSecret or CAMPUS_FLOW_SECRET/);
    expect(body.components.nodeRed!.code).toBe('nodered_no_secret');
    expect((await gw.api('/flows/flows')).status).toBe(404);
  });

  it('a component that is not working is degraded and turns /healthz into 503', async () => {
    const gw = await startTestGateway();
    running.push(gw);
    // The database refuses writes as a full disk makes it; a row then waits in memory (docs/operations.md, Disk).
    gw.ctx.db.pragma('query_only = 1');
    gw.ctx.deferred!.keep((db) => void db.prepare("INSERT INTO meta (key, value) VALUES ('healthz-test', 'x')").run());
    const { code, body } = await healthz(gw);
    gw.ctx.db.pragma('query_only = 0');
    expect(code).toBe(503);
    expect(body.status).toBe('degraded');
    expect(body.components.storage).toMatchObject({ ok: false, status: 'degraded', code: 'disk_rows_waiting', params: { waiting: 1 } });
    expectTranslatable(body);
  });

  it("gives every detail in the demo's /healthz a code the console translates in 简体中文, 한국어 and English", async () => {
    const gw = await startTestGateway();
    running.push(gw);
    const { body } = await healthz(gw);
    // The demo has components of every kind with something to say: cameras, video, readers, sensors, clock, disk, sync.
    const coded = Object.keys(body.components).filter((name) => body.components[name]!.code !== undefined);
    expect(coded).toEqual(expect.arrayContaining(['cameras', 'video', 'readers', 'sensors', 'clock', 'storage', 'nodeRed', 'cloud-sync']));
    expectTranslatable(body);
  });
});

const dictionaries = { zh, ko, en } as Record<string, Record<string, string>>;

/**
 * A detail without a code would show in English on every console screen: each detail has a code, each code a
 * text in every dictionary, and every {placeholder} of that text a value in `params`.
 */
function expectTranslatable(body: Health): void {
  for (const [name, c] of Object.entries(body.components)) {
    if (c.detail === undefined) continue;
    expect(c.code, `${name}: "${c.detail}" has no code`).toBeTypeOf('string');
    for (const [lang, dict] of Object.entries(dictionaries)) {
      const text = dict[`health.${c.code}`];
      expect(text, `${lang} has no text for health.${c.code}`).toBeTypeOf('string');
      for (const m of text!.matchAll(/\{(\w+)(?::[^{}]+)?\}/g)) expect(c.params ?? {}, `${lang} health.${c.code} needs {${m[1]}}`).toHaveProperty(m[1]!);
    }
  }
}
