/**
 * The console as a person drives it in Chromium, shared by the browser tests (test/e2e/) and the console-session
 * benchmark (bench/_console-session.ts): Debian's headless Chromium with the same flags, signing in through the login
 * page, every page of the console with what shows it has loaded, and in-app navigation. Lives under bench/ because
 * the benchmarks run from the build (dist/), which the tests' folder is not part of.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The demo users' password. */
export const PASSWORD = 'campus-demo';

/** Headless Chromium as every test and benchmark runs it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs in through the login page and waits for the live alert list. */
export async function signIn(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('[data-test=login-submit]');
  await page.waitForSelector('[data-test=nav-alerts]', { state: 'attached' }); // folded behind the menu on a phone
  await page.waitForSelector('[data-test=live].live');
}

/** Every page of the console with what shows it has loaded: [name, path, selector]. */
export const CONSOLE_PAGES: [string, string, string][] = [
  ['alerts', '/alerts', '[data-test=alert], [data-test=alert-list] .empty'],
  ['cameras', '/cameras', '[data-test=camera-tile]'],
  ['camera', '/cameras/cam-main-gate', '[data-test=stream-uri], [data-test=camera-events] table, [data-test=camera-events] .empty'],
  ['gates', '/gates', '[data-test=access-point]'],
  ['timeline', '/timeline', '[data-test=timeline-item], [data-test=timeline-status]'],
  ['attendance', '/attendance', '[data-test=att-classes]'],
  ['attendance-person', '/attendance?person=S20250001', '[data-test=att-person-day] .stats'],
  ['canteen', '/canteen', '[data-test=sales] .stats'],
  ['canteen-person', '/canteen?person=S20250001', '[data-test=wallet-account] table'],
  ['environment', '/environment', '[data-test=room]'],
  ['environment-room', '/environment?room=classroom-101', '[data-test=room-chart] [data-test=chart], [data-test=room-chart] .empty'],
  ['map', '/map', '[data-test=map-create], [data-test=map-stage]'],
  ['notifications', '/notifications', '[data-test=notify-log]'],
  ['system', '/system', '[data-test=version]'],
];

/** Navigates inside the console (its router, no reload: the live stream stays open, as when a person clicks). */
export async function goTo(page: Page, path: string): Promise<void> {
  await page.evaluate((p) => {
    history.pushState(null, '', p);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}
