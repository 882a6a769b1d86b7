/**
 * The console's live view in headless Chromium: Media Source Extensions playing the gateway's fMP4 of a real RTSP
 * stream, and going on by itself after the camera's RTSP server went away and came back.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shoot, startBrowser } from '../e2e/browser.js';
import { videoFixtures } from './helpers.js';

const { rtsp, setup, cleanup } = videoFixtures();

let browser: Browser;
beforeAll(async () => {
  browser = await startBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const currentTime = (page: Page): Promise<number> => page.evaluate(() => document.querySelector<HTMLVideoElement>('[data-test=live-video]')?.currentTime ?? 0);

/** Resolves once the live video's clock has moved `by` seconds past where it is now. */
async function advances(page: Page, by: number, timeout = 30_000): Promise<number> {
  const from = await currentTime(page);
  await page.waitForFunction(
    ([t0, d]) => (document.querySelector<HTMLVideoElement>('[data-test=live-video]')?.currentTime ?? 0) >= t0! + d!,
    [from, by],
    { timeout, polling: 100 },
  );
  return currentTime(page);
}

describe('live view in the console', { timeout: 120_000 }, () => {
  it('plays the camera live on its page and resumes without a reload after the RTSP server restarts', async () => {
    const server = await rtsp();
    const { gw } = await setup(server);
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    cleanup(() => page.close());
    await page.goto(`${gw.base}/`);
    await page.waitForURL(/\/login/);
    await page.fill('input[name=username]', 'guard');
    await page.fill('input[name=password]', 'guard-password-1');
    await page.click('[data-test=login-submit]');
    await page.waitForSelector('[data-test=nav-alerts]');
    await page.goto(`${gw.base}/cameras/cam-gate`);
    await page.waitForSelector('[data-test=live-video]');

    await advances(page, 1);
    const video = page.locator('[data-test=live-video]');
    const first = await video.screenshot();
    await advances(page, 1.5);
    const second = await video.screenshot();
    // The drawn clock and the moving ball: frames differ.
    expect(first.equals(second)).toBe(false);
    await shoot(page, 'video-live-camera');
    expect(server.total).toBe(1);

    // The camera reboots: the page keeps its video element and plays on once the stream is back.
    await server.stop();
    await server.start();
    await server.until((s) => s.total >= 2);
    await advances(page, 2, 60_000);
    expect(await page.locator('[data-test=live-video]').count()).toBe(1);
  });
});
