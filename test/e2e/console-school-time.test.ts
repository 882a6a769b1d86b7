/**
 * School time everywhere (issue 25, point 1): a guard-room PC whose clock is set to UTC shows every time in the
 * school's zone. The gateway's clock is fixed at 08:05:30 in Asia/Shanghai (00:05:30 UTC), taps arrive over
 * MQTT, and each page that shows one of those taps must read 08:05 and never the browser's 00:05.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { PASSWORD, shoot, signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;
let clock: ManualClock;

/** The next 08:05:30 in Asia/Shanghai (UTC+8, no daylight saving) that is still ahead, so sessions stay valid in the browser. */
function nextSchoolMorning(): number {
  const now = new Date();
  let at = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 0, 5, 30);
  if (at < now.getTime()) at += 86_400_000;
  return at;
}

async function go(page: Page, path: string): Promise<void> {
  await page.evaluate((p) => {
    history.pushState(null, '', p);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startTestGateway({
    demo: true,
    clock: (clock = new ManualClock(nextSchoolMorning())),
    config: { school: { timezone: 'Asia/Shanghai' }, http: { loginRateLimit: { windowS: 60, max: 1000 } } },
  });
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('school time in a browser set to UTC', () => {
  it('the gateway tells the console its school time zone at sign-in and in /auth/me', async () => {
    const token = await gw.login('viewer', PASSWORD);
    const me = (await (await gw.api('/api/v1/auth/me', { token })).json()) as { school: { timezone: string } };
    expect(me.school.timezone).toBe('Asia/Shanghai');
  });

  it('a tap made at 08:05 school time reads 08:05 on every page that shows it', async () => {
    const mqtt = await gw.mqttClient();
    await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0A1B2C3D', seq: 1 }), { qos: 1 });
    await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 2 }), { qos: 1 });
    await mqtt.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', seq: 3, amount: 1250 }), { qos: 1 });
    const token = await gw.login('admin', PASSWORD);
    await waitFor(async () => ((await (await gw.api('/api/v1/wallet/sales', { token })).json()) as { count: number }).count > 0, 10_000);
    await waitFor(async () => ((await (await gw.api('/api/v1/alerts?type=card_lost_used', { token })).json()) as { items: unknown[] }).items.length > 0, 10_000);

    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe('UTC');
    await signIn(page, gw.base, 'admin');
    // The header says whose clock the times are in, because this browser's differs.
    expect(await page.textContent('[data-test=school-tz]')).toContain('Asia/Shanghai');

    const checks: [string, string, string][] = [
      ['/alerts', '[data-test=alert]', '08:05:30'],
      ['/gates', '[data-test=access-point] [data-test=tap]', '08:05:30'],
      ['/attendance?person=S20250001', '[data-test=att-person-day] .stats', '08:05:30'],
      ['/canteen?person=S20250001', '[data-test=wallet-account] table', '08:05:30'],
      ['/canteen', '[data-test=sales] .stats', '08:00'],
    ];
    for (const [path, ready, expected] of checks) {
      await go(page, path);
      await page.locator(ready).first().waitFor({ timeout: 10_000 });
      const text = (await page.textContent('#page')) ?? '';
      expect(text, `${path} shows the tap in school time`).toContain(expected);
      expect(text, `${path} shows no time in the browser's UTC`).not.toMatch(/\b00:05/);
      await shoot(page, `school-time${path.replace(/[/?=]/g, '-')}`);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a room whose sensor went quiet says since when, in school time, instead of an empty card', async () => {
    const mqtt = await gw.mqttClient();
    await mqtt.publishAsync('campus/sensors/demo-sensor-101', JSON.stringify({ temperature: 21.5 }), { qos: 1 });
    const token = await gw.login('viewer', PASSWORD);
    await waitFor(async () => {
      const list = (await (await gw.api('/api/v1/sensors', { token })).json()) as { items?: { id: string; lastSeenAt: string | null }[] } | { id: string; lastSeenAt: string | null }[];
      const items = Array.isArray(list) ? list : (list.items ?? []);
      return items.find((x) => x.id === 'demo-sensor-101')?.lastSeenAt ?? null;
    }, 10_000);
    clock.advance(30 * 60_000); // half an hour of silence: long past the sensor's offline threshold
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    await context.addInitScript(() => localStorage.setItem('campus.lang', 'en'));
    const page = await context.newPage();
    await signIn(page, gw.base, 'viewer');
    await go(page, '/environment');
    const silent = page.locator('[data-test=room][data-zone=classroom-101] [data-test=room-silent]');
    await silent.waitFor({ timeout: 10_000 });
    expect(await silent.textContent()).toMatch(/^No reading since .*08:05:30: sensor offline$/);
    await shoot(page, 'school-time-environment-silent');
    await context.close();
  });
});
