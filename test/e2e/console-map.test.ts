/**
 * The campus map in a real headless Chromium against a real demo gateway: an admin creates a map, uploads a PNG,
 * places the main gate on it and saves; a lost card tapped at that gate makes the pin show an open alert live; the
 * pin opens the gate's page.
 */
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/demo.js';
import type { CampusMap } from '../../gateway/maps/store.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { solidPng } from '../helpers/png.js';
import { shoot, signIn, startBrowser } from './browser.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 1000 } } } });
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

async function newPage(width = 1366, height = 900, colorScheme: 'light' | 'dark' = 'light'): Promise<Page & { jsErrors: string[] }> {
  // bypassCSP: axe-core is injected as an inline script, which the console's CSP rightly refuses.
  const context = await browser.newContext({ viewport: { width, height }, locale: 'en-US', colorScheme, bypassCSP: true });
  const page = (await context.newPage()) as Page & { jsErrors: string[] };
  page.jsErrors = [];
  page.on('pageerror', (err) => page.jsErrors.push(err.message));
  return page;
}

describe('campus map in Chromium', () => {
  it('an admin uploads a plan and pins the main gate; a lost card there makes the pin alert; the pin opens the gate', async () => {
    const page = await newPage();
    await signIn(page, gw.base, 'admin');
    await page.click('[data-test=nav-map]');
    await page.waitForURL(/\/map$/);
    await page.fill('[data-test=map-name]', 'Main building');
    await page.click('[data-test=map-create]');
    await page.setInputFiles('[data-test=map-file]', { name: 'plan.png', mimeType: 'image/png', buffer: solidPng(400, 300) });
    const image = page.locator('[data-test=map-stage] img.map-image');
    await image.waitFor();
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(400);

    await page.click('[data-test=map-edit]');
    await page.selectOption('[data-test=map-device]', 'access-point|main-gate');
    const box = (await page.locator('[data-test=map-stage]').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.5);
    await page.click('[data-test=map-save]');
    const pin = page.locator('[data-test=map-pin][data-device=main-gate]');
    await pin.waitFor();
    expect(await pin.getAttribute('data-state')).toBe('ok');
    expect(await pin.textContent()).toContain('正门'); // its name in the console's language (zh by default), not its id

    // Stored in the gateway, where the click put it.
    const admin = await gw.login('admin');
    const maps = ((await (await gw.api('/api/v1/maps', { token: admin })).json()) as { items: CampusMap[] }).items;
    // Other tests here make maps of their own (in any order): this one is found by its name.
    const saved = maps.find((m) => m.name === 'Main building')!.pins[0]!;
    expect(saved).toMatchObject({ kind: 'access-point', deviceId: 'main-gate' });
    expect(saved.x).toBeGreaterThan(0.2);
    expect(saved.x).toBeLessThan(0.3);
    await shoot(page, 'map-01-placed');

    // A lost card at the main gate: the pin turns to an open alert without a reload.
    const mqtt = await gw.mqttClient();
    await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 1 }), { qos: 1 });
    await page.locator('[data-test=map-pin][data-device=main-gate][data-state=alert]').waitFor({ timeout: 15_000 });
    await shoot(page, 'map-02-alert');

    await pin.click();
    await page.waitForURL(/\/gates$/);
    expect(page.jsErrors).toEqual([]);
  });

  it('refuses a picture that is not PNG, JPEG or WebP with a message in zh, ko and en, and stores nothing', async () => {
    const said = {
      zh: '不支持此类文件，请选择 PNG、JPEG 或 WebP 图片。',
      ko: '이 형식의 파일은 쓸 수 없습니다. PNG, JPEG 또는 WebP 이미지를 고르세요.',
      en: 'This kind of file cannot be used; choose a PNG, JPEG or WebP picture.',
    } as const;
    // An SVG can carry script: the gateway tells it by its bytes and answers 415 whatever type the browser claims.
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    for (const lang of ['zh', 'ko', 'en'] as const) {
      const page = await newPage();
      await page.context().addInitScript((l) => localStorage.setItem('campus.lang', l), lang);
      await signIn(page, gw.base, 'admin');
      await page.click('[data-test=nav-map]');
      await page.waitForURL(/\/map$/);
      await page.fill('[data-test=map-name]', `Upload ${lang}`);
      await page.click('[data-test=map-create]');
      await page.locator('[data-test=map-title]', { hasText: `Upload ${lang}` }).waitFor();
      await page.setInputFiles('[data-test=map-file]', { name: 'plan.png', mimeType: 'image/png', buffer: svg });
      const toast = page.locator('.toast.error');
      await toast.waitFor();
      expect(await toast.innerText()).toContain(said[lang]);
      expect(await toast.innerText()).not.toContain('not a PNG');
      await shoot(page, `map-upload-refused-${lang}`);
      expect(page.jsErrors).toEqual([]);
      await page.context().close();
    }
    const admin = await gw.login('admin');
    const maps = ((await (await gw.api('/api/v1/maps', { token: admin })).json()) as { items: CampusMap[] }).items;
    for (const lang of ['zh', 'ko', 'en']) expect(maps.find((m) => m.name === `Upload ${lang}`)?.image).toBeNull();
  });

  it('greys an access point whose card reader is down, and only that one', async () => {
    // The lab door's reader is wired to a serial port that is not there: the gateway reports it down and keeps trying.
    const readers = [...(demoConfig.readers ?? []), { id: 'lab-1-in', accessPoint: 'lab-1', driver: { type: 'serial' as const, path: '/dev/campus-test-no-such-port' } }];
    const lab = await startTestGateway({ demo: true, config: { readers, http: { loginRateLimit: { windowS: 60, max: 1000 } } } });
    try {
      const admin = await lab.login('admin');
      const map = (await (await lab.api('/api/v1/maps', { method: 'POST', token: admin, json: { name: 'Labs' } })).json()) as CampusMap;
      await lab.api(`/api/v1/maps/${map.id}/image`, { method: 'PUT', token: admin, headers: { 'content-type': 'image/png' }, body: new Uint8Array(solidPng(400, 300)) });
      const pins = [
        { kind: 'access-point', deviceId: 'lab-1', x: 0.7, y: 0.5 },
        { kind: 'access-point', deviceId: 'main-gate', x: 0.2, y: 0.5 },
      ];
      expect((await lab.api(`/api/v1/maps/${map.id}/pins`, { method: 'PUT', token: admin, json: { pins } })).status).toBe(200);
      const page = await newPage();
      await signIn(page, lab.base, 'viewer');
      await page.click('[data-test=nav-map]');
      await page.locator('[data-test=map-pin][data-device=lab-1][data-state=offline]').waitFor({ timeout: 20_000 });
      expect(await page.locator('[data-test=map-pin][data-device=main-gate]').getAttribute('data-state')).toBe('ok');
      await shoot(page, 'map-03-reader-down');
      expect(page.jsErrors).toEqual([]);
      await page.context().close();
    } finally {
      await lab.close();
    }
  });

  it('fits a phone (390×844) in zh, ko and en and passes the color-contrast audit in both themes, labels near the edge included', async () => {
    const admin = await gw.login('admin');
    const created = await gw.api('/api/v1/maps', { method: 'POST', token: admin, json: { name: 'East wing' } });
    const map = (await created.json()) as CampusMap;
    await gw.api(`/api/v1/maps/${map.id}/image`, { method: 'PUT', token: admin, headers: { 'content-type': 'image/png' }, body: new Uint8Array(solidPng(800, 500)) });
    const pins = [
      { kind: 'camera', deviceId: 'cam-east-gate', x: 0.97, y: 0.1 },
      { kind: 'sensor', deviceId: 'sim-smoke-dorm-a', x: 0.9, y: 0.9 },
      { kind: 'access-point', deviceId: 'east-gate', x: 0.02, y: 0.5 },
    ];
    expect((await gw.api(`/api/v1/maps/${map.id}/pins`, { method: 'PUT', token: admin, json: { pins } })).status).toBe(200);
    const showMap = async (page: Page): Promise<void> => {
      await page.evaluate(() => {
        history.pushState(null, '', '/map');
        dispatchEvent(new PopStateEvent('popstate'));
      });
      // Tabs show only when there is more than one map, which depends on the tests that ran before.
      await page.locator('[data-test=map-title]').waitFor();
      const tab = page.getByRole('tab', { name: 'East wing' });
      if ((await tab.count()) > 0) await tab.click();
      await page.locator('[data-test=map-pin][data-device=cam-east-gate]').waitFor();
      await page.locator('[data-test=map-stage] img.map-image').evaluate((img: HTMLImageElement) => img.decode());
    };
    for (const lang of ['zh', 'ko', 'en'] as const) {
      const page = await newPage(390, 844);
      await page.context().addInitScript((l) => localStorage.setItem('campus.lang', l), lang);
      await signIn(page, gw.base, 'admin');
      await showMap(page);
      // Names in the screen's language, never raw ids.
      const labels = await page.locator('[data-test=map-pin] .pin-label').allTextContents();
      expect(labels).toEqual(expect.arrayContaining([{ zh: '东门摄像头', ko: '동문 카메라', en: 'East gate camera' }[lang]]));
      for (const id of ['cam-east-gate', 'sim-smoke-dorm-a', 'east-gate']) expect(labels).not.toContain(id);
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
      expect(scrollWidth, `the map in ${lang} is wider than the phone`).toBeLessThanOrEqual(clientWidth);
      await shoot(page, `phone-${lang}-map`);
      expect(page.jsErrors).toEqual([]);
      await page.context().close();
    }
    for (const scheme of ['light', 'dark'] as const) {
      const page = await newPage(1366, 900, scheme);
      await signIn(page, gw.base, 'admin');
      await showMap(page);
      await page.addScriptTag({ path: AXE });
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: { nodes: { target: string[]; failureSummary?: string }[] }[] }> } }).axe;
        const r = await axe.run(document, { runOnly: { type: 'rule', values: ['color-contrast'] } });
        return r.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${(n.failureSummary ?? '').split('\n').pop()}`));
      });
      expect(violations).toEqual([]);
      await shoot(page, `contrast-${scheme}-map`);
      await page.context().close();
    }
  });
});
