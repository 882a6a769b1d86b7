/**
 * The canteen page's live list of recent payments (issue 25, point 6), in Chromium against the demo school: a
 * payment made at a till after the page opened appears at the top with the person, the till's name and the amount,
 * without a reload; a refused one says why; a viewer sees the row without the amount (the gateway strips it).
 */
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;
let mqtt: MqttClient;
let seq = 5000;

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startTestGateway({ demo: true });
  mqtt = await gw.mqttClient();
});

afterAll(async () => {
  await mqtt?.endAsync();
  await browser?.close();
  await gw?.close();
});

async function canteenAs(user: string): Promise<Page & { scriptErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = (await context.newPage()) as Page & { scriptErrors: string[] };
  page.scriptErrors = [];
  page.on('pageerror', (err) => page.scriptErrors.push(err.message));
  await signIn(page, gw.base, user);
  await page.evaluate(() => {
    history.pushState(null, '', '/canteen');
    dispatchEvent(new PopStateEvent('popstate'));
  });
  // Loaded: either the rows so far or the "none yet" line.
  await page.locator('[data-test=recent-payments] table, [data-test=payments-none]').first().waitFor();
  // A mark that a reload would wipe: the row must come over the stream, not from loading the page again.
  await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
  return page;
}

const pay = (amount: number): Promise<unknown> =>
  mqtt.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', seq: ++seq, amount }), { qos: 1 });

const rows = (page: Page) => page.locator('[data-test=payments] [data-test=payment]');

describe('recent canteen payments, live', () => {
  it('shows a payment at the top as it happens, with name, till and amount, and a refusal with its reason', async () => {
    const page = await canteenAs('security');
    const before = await rows(page).count();
    await pay(650);
    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(before + 1);
    const top = rows(page).first();
    expect(await top.locator('[data-test=payment-amount]').textContent()).toBe('¥6.50');
    expect(await top.locator('[data-test=payment-person]').textContent()).toContain('李明');
    expect(await top.textContent()).toContain('食堂1号机'); // the till by its name, not demo-canteen-1
    expect(await top.locator('[data-test=payment-result]').textContent()).toContain('已付款');
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);

    // Over the demo wallet's ¥50.00: refused, and the list says why in words.
    await pay(999_999);
    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(before + 2);
    const refused = rows(page).first();
    expect(await refused.locator('[data-test=payment-result]').textContent()).toContain('被拒绝');
    const why = await refused.locator('[data-test=payment-result]').textContent();
    expect(why).toMatch(/超过单笔限额|余额不足|超过每日限额|需要输入密码/);
    expect(why).not.toMatch(/[a-z_]{6,}/);
    expect(await rows(page).nth(1).locator('[data-test=payment-amount]').textContent()).toBe('¥6.50');

    // A fresh page reads the same list from the taps API, newest first.
    const again = await canteenAs('security');
    expect(await rows(again).count()).toBe(before + 2);
    expect(await rows(again).nth(1).locator('[data-test=payment-amount]').textContent()).toBe('¥6.50');
    expect([...page.scriptErrors, ...again.scriptErrors]).toEqual([]);
    await page.context().close();
    await again.context().close();
  });

  it('shows a viewer the payment without its amount', async () => {
    // A stored payment of its own for the page to load: run alone (-t), no other test has paid before it.
    const admin = await gw.login('admin');
    await pay(310);
    await waitFor(async () =>
      ((await (await gw.api('/api/v1/taps?accessPoint=canteen&limit=5', { token: admin })).json()) as { items: { amount?: number }[] }).items.some((t) => t.amount === 310));
    const page = await canteenAs('viewer');
    const before = await rows(page).count();
    expect(before).toBeGreaterThan(0);
    // The stored rows too: no amount anywhere in the list; and no till totals to difference one out of.
    expect(await page.locator('[data-test=payments]').textContent()).not.toContain('¥');
    expect(await page.locator('[data-test=sales]').count()).toBe(0);
    await pay(720);
    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(before + 1);
    const top = rows(page).first();
    expect(await top.locator('[data-test=payment-person]').textContent()).toContain('李明');
    expect(await top.locator('[data-test=payment-result]').textContent()).toContain('已付款');
    expect(await top.locator('[data-test=payment-amount]').textContent()).toBe('—');
    expect(page.scriptErrors).toEqual([]);
    await page.context().close();
  });
});
