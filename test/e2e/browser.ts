/**
 * What the console's browser tests share: the console built as `npm run build` builds it, Debian's headless
 * Chromium, signing in through the login page, and screenshots in test-results/console/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../../bench/_console-pages.js';
import { copyConsoleStatic } from '../../gateway/console/copy-static.js';
import { packageInfo } from '../../gateway/core/version.js';

const ROOT = packageInfo().root;
const SHOTS = join(ROOT, 'test-results', 'console');
export { PASSWORD, signIn } from '../../bench/_console-pages.js';

/** Rebuilds the console UI (so a test never runs against stale modules) and starts Chromium. */
export async function startBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  // The console reads the gateway's API types as declarations (gateway/api-types.tsconfig.json), built first.
  execFileSync(process.execPath, [tsc, '-b', join(ROOT, 'gateway/api-types.tsconfig.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'console/tsconfig.json')], { stdio: 'inherit' });
  copyConsoleStatic(ROOT);
  mkdirSync(SHOTS, { recursive: true });
  return launchChromium();
}

export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The media clock of the first <video> `selector` finds, in s; -1 when there is none. */
export const videoClock = (page: Page, selector: string): Promise<number> =>
  page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)?.currentTime ?? -1, selector);

/**
 * Resolves with the clock once the first <video> `selector` finds has played `by` seconds past where it is now. A
 * timeout says what that video was doing (paused, ready state, what it had buffered, a media error, whether the page
 * had put another element in its place), so a failure seen once in CI can be read rather than only rerun.
 */
export async function videoPlays(page: Page, selector: string, by: number, timeout = 30_000): Promise<number> {
  await page.waitForSelector(selector, { state: 'attached', timeout });
  const from = Math.max(0, await videoClock(page, selector));
  await page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)?.setAttribute('data-watched', ''), selector);
  try {
    await page.waitForFunction(([s, t]) => (document.querySelector<HTMLVideoElement>(s!)?.currentTime ?? 0) >= Number(t), [selector, String(from + by)], {
      timeout,
      polling: 100,
    });
  } catch (err) {
    const state = await page
      .evaluate((s) => {
        const v = document.querySelector<HTMLVideoElement>(s);
        if (!v) return { found: false };
        const buffered = Array.from({ length: v.buffered.length }, (_, i) => `${v.buffered.start(i).toFixed(2)}-${v.buffered.end(i).toFixed(2)}`);
        return {
          sameElement: v.hasAttribute('data-watched'),
          connected: v.isConnected,
          currentTime: v.currentTime,
          paused: v.paused,
          ended: v.ended,
          readyState: v.readyState,
          networkState: v.networkState,
          error: v.error ? `${v.error.code} ${v.error.message}` : null,
          buffered,
          url: location.pathname,
        };
      }, selector)
      .catch((e: unknown) => ({ unreadable: String(e) }));
    throw new Error(`${selector} did not play ${by} s past ${from.toFixed(2)} s within ${timeout} ms: ${JSON.stringify(state)}`, { cause: err });
  }
  return videoClock(page, selector);
}
