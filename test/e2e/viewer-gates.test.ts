/**
 * The Gates page for a viewer in a real headless Chromium: the stored taps and the live `tap.decided` events come
 * without card UIDs, amounts and balances (gateway/http/visibility.ts), and the page still draws every tap, a
 * stranger's card included, without a script error.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startTestGateway({ demo: true });
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('Gates page for a viewer', () => {
  it('shows live taps of known and unknown cards without their UIDs, and no script error', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-US' });
    const page: Page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    await signIn(page, gw.base, 'viewer');
    await page.click('[data-test=nav-gates]');
    const mainGate = page.locator('[data-test=access-point]').first();
    await mainGate.waitFor();
    const before = await page.locator('[data-test=tap]').count();

    const terminal = await gw.mqttClient();
    await terminal.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: 'F00DF00D', seq: 501 }), { qos: 1 });
    await terminal.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0A1B2C3D', seq: 502 }), { qos: 1 });
    await expect.poll(() => page.locator('[data-test=tap]').count(), { timeout: 10_000 }).toBe(before + 2);

    const text = (await page.textContent('[data-test=access-points]')) ?? '';
    expect(text).toContain('李明');
    expect(text).not.toContain('F00DF00D');
    expect(text).not.toContain('0A1B2C3D');
    expect(errors).toEqual([]);
    await context.close();
  });
});
