/**
 * What security staff see in `npm start` (issue 19's acceptance), in headless Chromium: the demo's camera wall plays
 * the main gate live, and the alert raised by the lost card tapped at that gate plays its clip.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shoot, signIn, startBrowser } from '../e2e/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let browser: Browser;
let gw: TestGateway | undefined;
beforeAll(async () => {
  browser = await startBrowser();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});
afterAll(async () => {
  await browser?.close();
});

/** The media clock of the first video element `selector` finds, in s. */
const clock = (page: Page, selector: string): Promise<number> =>
  page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)?.currentTime ?? -1, selector);

/** Resolves once that video has played `by` seconds past where it is now. */
async function plays(page: Page, selector: string, by: number, timeout = 40_000): Promise<void> {
  await page.waitForSelector(selector, { state: 'attached', timeout });
  const from = Math.max(0, await clock(page, selector));
  await page.waitForFunction(([s, t]) => (document.querySelector<HTMLVideoElement>(s!)?.currentTime ?? 0) >= Number(t), [selector, String(from + by)], {
    timeout,
    polling: 100,
  });
}

describe('the demo school in the console', { timeout: 120_000 }, () => {
  it('plays the main gate live on the camera wall, and the lost card tapped there gets a clip that plays in its alert', async () => {
    gw = await startTestGateway({ demo: true, config: { cameras: { preRollS: 2, postRollS: 2, segmentS: 1, clipBufferBytes: 64 * 1024 * 1024 } } });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await signIn(page, gw.base, 'security');

    await page.goto(`${gw.base}/cameras`);
    const tile = '[data-test=camera-tile][data-id=cam-main-gate] [data-test=live-video]';
    await plays(page, tile, 1.5);
    await shoot(page, 'video-demo-wall');

    // 王芳's lost card at the main gate (as a reader driver puts a tap on the bus).
    gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-in', uid: '0BADCAFE', at: Date.now() });
    await page.goto(`${gw.base}/alerts`);
    const card = page.locator('[data-test=alert]', { has: page.locator('[data-test=show-clip]') }).first();
    // The clip is attached once the post-roll has passed: the alert re-renders with its button.
    await card.waitFor({ timeout: 40_000 });
    await card.locator('[data-test=show-clip]').first().click();
    const clip = '[data-test=alert-clip]';
    await plays(page, clip, 1);
    const duration = await page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)?.duration ?? 0, clip);
    // preRollS + postRollS, give or take a segment at each end.
    expect(duration).toBeGreaterThanOrEqual(2);
    expect(duration).toBeLessThanOrEqual(6);
    await shoot(page, 'video-demo-alert-clip');
    await page.close();
  });
});
