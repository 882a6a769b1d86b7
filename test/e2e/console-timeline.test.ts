/**
 * The timeline page in a real headless Chromium against a demo gateway: 520 taps made over MQTT page back to the first
 * with the "older" button and by scrolling, none shown twice; a new tap appears live at the top; a gate filter narrows
 * it; a viewer is told pictures are hidden and never sees a card number.
 */
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { shoot, signIn, startBrowser } from './browser.js';

const TAPS = 520;

let gw: TestGateway;
let browser: Browser;
let terminal: MqttClient;

async function newPage(): Promise<Page & { jsErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-GB' });
  const page = (await context.newPage()) as Page & { jsErrors: string[] };
  page.jsErrors = [];
  page.on('pageerror', (err) => page.jsErrors.push(err.message));
  await page.addInitScript(() => localStorage.setItem('campus.lang', 'en'));
  return page;
}

const tap = async (readerId: string, uid: string, seq: number): Promise<string> => {
  const answer = nextMessage(terminal, `campus/readers/${readerId}/decision`);
  await terminal.publishAsync(`campus/readers/${readerId}/tap`, JSON.stringify({ uid, seq }), { qos: 1 });
  return (JSON.parse((await answer).payload.toString()) as { tapId: string }).tapId;
};

describe('the timeline page', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 1000 } } } });
    terminal = await gw.mqttClient();
    await terminal.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    for (let i = 0; i < TAPS; i++) await tap(i % 3 ? 'demo-gate-in' : 'demo-canteen-1', i % 2 ? '0A1B2C3D' : 'FEEDF00D', i + 1);
    browser = await startBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await terminal?.endAsync();
    await gw?.close();
  });

  it('shows a new tap live at the top and pages back past 500 events, each once', async () => {
    const page = await newPage();
    await signIn(page, gw.base, 'security');
    await page.click('[data-test=nav-timeline]');
    await page.waitForSelector('[data-test=timeline-item]');

    const liveTap = await tap('demo-gate-in', '0A1B2C3D', 9001);
    // The newest tap at the top of the taps: the demo's simulated cameras (motion, out-of-hours intrusions) may put an
    // event of their own above it at any moment, also before it shows.
    const first = page.locator('[data-test=timeline-item][data-kind=tap]').first();
    await expect.poll(() => first.getAttribute('data-id')).toBe(liveTap);
    const live = page.locator(`[data-test=timeline-item][data-id="${liveTap}"]`);
    expect(await live.getAttribute('data-kind')).toBe('tap');
    expect(await live.textContent()).toContain('李明');

    // Page back: the button, then scrolling to it, until the history ends.
    await page.click('[data-test=timeline-older]');
    for (let i = 0; i < 40 && (await page.locator('[data-test=timeline-older]').isVisible()); i++) {
      await page.locator('[data-test=timeline-older]').scrollIntoViewIfNeeded();
      await page.waitForFunction((n) => document.querySelectorAll('[data-test=timeline-item]').length > n || !!document.querySelector('[data-test=timeline-older][hidden]'),
        await page.locator('[data-test=timeline-item]').count());
    }
    await page.waitForSelector('[data-test=timeline-older]', { state: 'hidden' });
    const taps = await page.locator('[data-test=timeline-item][data-kind=tap]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(taps.length).toBe(TAPS + 1);
    expect(new Set(taps).size).toBe(taps.length);
    // Newest first: the times read down the page never go forward.
    const times = await page.locator('[data-test=timeline-item] time').evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute('datetime') ?? '')));
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeLessThanOrEqual(times[i - 1]!);
    await shoot(page, 'timeline-en-desk');
    expect(page.jsErrors).toEqual([]);
  });

  it('narrows to one gate from its menu and keeps the filter in the address', async () => {
    const page = await newPage();
    await signIn(page, gw.base, 'security');
    await page.goto(`${gw.base}/timeline`);
    await page.waitForSelector('[data-test=timeline-gate] option[value=canteen]', { state: 'attached' });
    await page.selectOption('[data-test=timeline-gate]', 'canteen');
    await page.waitForURL(/accessPoint=canteen/);
    await page.waitForSelector('[data-test=timeline-item][data-kind=tap]');
    const places = await page.locator('[data-test=timeline-item][data-kind=tap]').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    expect(places.length).toBeGreaterThan(0);
    expect(places.every((p) => p.includes('Canteen') && !p.includes('Main gate'))).toBe(true);
    expect(page.jsErrors).toEqual([]);
  });

  it('tells a viewer that pictures are hidden and shows no card number, also in an alert that arrives live', async () => {
    const page = await newPage();
    await signIn(page, gw.base, 'viewer');
    await page.goto(`${gw.base}/timeline`);
    await page.waitForSelector('[data-test=timeline-item]');
    // The lost card's first use: its alert reaches the open page through the stream.
    await tap('demo-gate-in', '0BADCAFE', 9002);
    await page.waitForSelector('[data-test=timeline-item][data-kind=alert]');
    expect(await page.locator('[data-test=timeline-pictures-hidden]').isVisible()).toBe(true);
    expect(await page.locator('[data-test=timeline-thumb]').count()).toBe(0);
    expect(await page.locator('[data-test=timeline]').textContent()).not.toContain('0BADCAFE');
    expect(page.jsErrors).toEqual([]);
  });
});
