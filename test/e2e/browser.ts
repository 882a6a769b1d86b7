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
