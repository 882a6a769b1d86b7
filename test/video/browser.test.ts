/**
 * The console's live view in headless Chromium: Media Source Extensions playing the gateway's fMP4 of a real RTSP
 * stream, and going on by itself after the camera's RTSP server went away and came back.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shoot, startBrowser, videoPlays } from '../e2e/browser.js';
import { waitFor } from '../helpers/gateway.js';
import { videoFixtures, view } from './helpers.js';

const { rtsp, setup, cleanup } = videoFixtures();

let browser: Browser;
beforeAll(async () => {
  browser = await startBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function signIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('[data-test=login-submit]');
  await page.waitForSelector('[data-test=nav-alerts]');
}

const LIVE = '[data-test=live-video]';

describe('live view in the console', { timeout: 120_000 }, () => {
  it('plays the camera live on its page and resumes without a reload after the RTSP server restarts', async () => {
    const server = await rtsp();
    const { gw } = await setup(server);
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    cleanup(() => page.close());
    await signIn(page, gw.base, 'guard', 'guard-password-1');
    await page.goto(`${gw.base}/cameras/cam-gate`);
    await page.waitForSelector('[data-test=live-video]');

    await videoPlays(page, LIVE, 1);
    const video = page.locator('[data-test=live-video]');
    const first = await video.screenshot();
    await videoPlays(page, LIVE, 1.5);
    const second = await video.screenshot();
    // The drawn clock and the moving ball: frames differ.
    expect(first.equals(second)).toBe(false);
    await shoot(page, 'video-live-camera');
    expect(server.total).toBe(1);

    // The camera reboots: the page keeps its video element and plays on once the stream is back.
    await server.stop();
    await server.start();
    await server.until((s) => s.total >= 2);
    await videoPlays(page, LIVE, 2, 60_000);
    expect(await page.locator('[data-test=live-video]').count()).toBe(1);
  });

  it('says that a camera sends H.265, and a browser that cannot play it keeps the snapshot with a note', async () => {
    const server = await rtsp({ codec: 'h265' });
    const { gw, token } = await setup(server);
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    cleanup(() => page.close());
    await signIn(page, gw.base, 'guard', 'guard-password-1');
    await page.goto(`${gw.base}/cameras/cam-gate`);
    const canPlay = await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"'));
    if (canPlay) {
      // A browser with H.265 in MSE plays it like any other stream.
      await videoPlays(page, LIVE, 1);
    } else {
      // Headless Chromium, as most browsers: no video element, the note, and the snapshot panel stays.
      await page.waitForFunction(() => (document.querySelector('[data-test=live-note]')?.textContent ?? '') !== '', undefined, { timeout: 30_000, polling: 200 });
      // The codec note (in the school's language), not the "no video" one.
      expect(await page.locator('[data-test=live-note]').textContent()).toContain('H.265');
      expect(await page.locator('[data-test=live-video]').count()).toBe(0);
      expect(await page.locator('[data-test=camera-snapshot]').count()).toBe(1);
    }
    // The facts name the codec, also once the pull stopped for want of viewers (as it does after that fallback).
    await waitFor(async () => (await view(gw, token, 'cam-gate')).video.state === 'idle', 20_000, 200);
    await page.reload();
    await page.waitForFunction(() => (document.querySelector('[data-test=video-state]')?.textContent ?? '').includes('H.265'), undefined, { timeout: 20_000, polling: 200 });
    if (!canPlay) {
      // On the wall too: the tile says why it shows a still picture (it said only "online").
      await page.goto(`${gw.base}/cameras`);
      const gone = page.locator('[data-test=camera-tile][data-id=cam-gate] [data-test=tile-video-gone]').first();
      await gone.waitFor({ timeout: 30_000 });
      expect(await gone.textContent()).toContain('H.265');
    }
  });
});
