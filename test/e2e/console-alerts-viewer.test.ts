/**
 * The Alerts page for a viewer in a real headless Chromium against the demo school: the gateway sends a viewer's
 * alerts without pictures and clips, and the page says so once (in the screen's language), so a viewer does not take
 * the missing pictures for broken cameras. A guard, who gets the pictures, sees no such note.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { PASSWORD, shoot, signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;

async function alertsAs(username: string, lang: 'en' | 'zh'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: lang === 'en' ? 'en-GB' : 'zh-CN' });
  await context.addInitScript((l) => localStorage.setItem('campus.lang', l), lang);
  const page = await context.newPage();
  await signIn(page, gw.base, username);
  await page.click('[data-test=nav-alerts]');
  await page.locator('[data-test=alert]').first().waitFor({ timeout: 10_000 });
  return page;
}

/** The note's text as shown now, each occurrence (it must be there once). */
const notes = async (page: Page): Promise<string[]> => page.locator('[data-test=alerts-pictures-hidden]:visible').allTextContents();

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 1000 } } } });
  // A lost card used at the main gate: an alert with the gate camera's picture.
  const mqtt = await gw.mqttClient();
  await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 1 }), { qos: 1 });
  const token = await gw.login('security', PASSWORD);
  await waitFor(async () => {
    const { items } = (await (await gw.api('/api/v1/alerts?type=card_lost_used', { token })).json()) as { items: { snapshotIds: string[] }[] };
    return items[0]?.snapshotIds.length ? items : null;
  }, 10_000);
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('the Alerts page for a viewer', () => {
  it('says once that pictures and clips are hidden for the role; a guard sees the pictures and no note', async () => {
    const viewer = await alertsAs('viewer', 'en');
    await expect.poll(() => notes(viewer)).toEqual(['Pictures and clips are hidden for your role']);
    expect(await viewer.locator('[data-test=alert-snapshot]').count()).toBe(0);
    await shoot(viewer, 'alerts-viewer-en');

    const zh = await alertsAs('viewer', 'zh');
    await expect.poll(() => notes(zh)).toEqual(['您的角色不显示告警照片和录像']);

    const guard = await alertsAs('security', 'en');
    await guard.locator('[data-test=alert-snapshot]').first().waitFor({ state: 'attached', timeout: 10_000 });
    expect(await notes(guard)).toEqual([]);
  });
});
