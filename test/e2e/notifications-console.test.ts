/**
 * The guardians' delivery log in a real headless Chromium against a real demo gateway: 李明's arrival message after a
 * tap, his guardian's number masked, consent withdrawn from the page, and no such page for a viewer.
 */
import type { MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { settled, tap } from '../notify/helpers.js';
import { shoot, signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;
let client: MqttClient;

describe('console: guardians and their messages', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true });
    client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision');
    browser = await startBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('shows the arrival message, masked, and withdraws consent with its history', async () => {
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await settled(gw, await gw.login('admin'), '?person=S20250001');
    const page = await browser.newPage();
    await signIn(page, gw.base, 'admin');
    await page.click('[data-test=nav-notifications]');
    await page.fill('[data-test=notify-person]', 'S20250001');
    await page.keyboard.press('Enter');
    // The tap's message is `arrival` before the school's cut-off and `late` after it; after the cut-off plus its grace
    // the log may also hold the morning's `absent` row, so count only the message this tap caused.
    const row = page.locator('[data-test=notify-table] tbody tr', { hasText: /到校|迟到/ });
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    const text = await row.first().innerText();
    expect(text).toContain('138****8000');
    expect(text).not.toContain('13800138000');
    expect(text).toContain('demo-sink');
    await page.click('[data-test=notify-consent-toggle]');
    // The consent history is already there (the demo's own grant): wait for the withdrawal's row, by admin.
    await page.locator('[data-test=notify-guardians]', { hasText: 'admin' }).waitFor();
    await shoot(page, 'notifications');
    const g = (await (await gw.api('/api/v1/people/S20250001/guardians', { token: await gw.login('admin') })).json()) as { guardians: { consent: boolean }[] };
    expect(g.guardians[0]!.consent).toBe(false);
    await page.close();
  });

  it('has no delivery log for a viewer', async () => {
    const page = await browser.newPage();
    await signIn(page, gw.base, 'viewer');
    expect(await page.locator('[data-test=nav-notifications]').count()).toBe(0);
    await page.close();
  });
});
