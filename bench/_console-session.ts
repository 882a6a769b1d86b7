/**
 * Issue 23 point 4, memory in real use: one person at the console in Chromium while the demo's simulated devices
 * run. The person signs in, opens every page of the console, then leaves the alerts page and the camera wall open
 * (two tabs, each signed in with its live event stream; the wall with its snapshots and live tiles) for `sessionS`; then the
 * browser closes and the gateway idles for `afterS`. The gateway's RSS is read from /proc every second throughout,
 * and its own split (V8 heap used and reserved, external memory) from /metrics at the end of each phase, so a rise can be placed in
 * the JS heap or in native memory.
 *
 * Before a figure counts the run confirms what it measured: every page showed its content, both tabs' live streams
 * were connected at the end of the session (the console's live indicator), and the gateway saw two event streams.
 */
import type { Page } from 'playwright-core';
import { metricSum, sleep, type GatewayChild } from './_children.js';
import { CONSOLE_PAGES, goTo, launchChromium, signIn } from './_console-pages.js';
import { readProc } from './_proc.js';
import { ascending } from './_latency.js';

export interface MemorySplit {
  heapUsedMb: number;
  externalMb: number;
  /** V8 heap reserved (used + free pages): what the heap holds of RSS. */
  heapTotalMb: number;
}

export interface ConsoleSession {
  pagesShown: number;
  pagesFailed: string[];
  /** Event streams the gateway had open near the end of the session (2 expected: alerts tab + camera wall tab). */
  streamsOpen: number;
  liveAtEnd: boolean;
  startRssMb: number;
  sessionPeakRssMb: number;
  /** Median RSS over the last minute of the session (or its last half if shorter). */
  sessionPlateauMb: number;
  /** Median RSS over the last minute of the idle period after the browser closed. */
  afterPlateauMb: number;
  splitBefore: MemorySplit;
  splitEndOfSession: MemorySplit;
  splitAfter: MemorySplit;
  /** RSS every 30 s (MB), for the report: where it climbed and whether it came down. */
  trace: string;
}

const mb = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;

function median(xs: number[]): number {
  const s = ascending(xs);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

async function split(gw: GatewayChild): Promise<MemorySplit> {
  const text = await (await fetch(`${gw.base}/metrics`)).text();
  return {
      heapUsedMb: mb(metricSum(text, 'nodejs_heap_size_used_bytes')),
      externalMb: mb(metricSum(text, 'nodejs_external_memory_bytes')),
      heapTotalMb: mb(metricSum(text, 'nodejs_heap_size_total_bytes')),
  };
}

/** RSS samples (MB) once a second for `seconds`; then the gateway's own memory split. */
async function watch(gw: GatewayChild, seconds: number, rss: number[], during?: () => Promise<void>): Promise<MemorySplit> {
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    rss.push(mb(readProc(gw.pid).rssBytes));
    if (during && i % 30 === 29) await during();
    await sleep(1000);
  }
  return split(gw);
}

async function showEveryPage(page: Page): Promise<{ shown: number; failed: string[] }> {
  let shown = 0;
  const failed: string[] = [];
  for (const [name, path, ready] of CONSOLE_PAGES) {
    await goTo(page, path);
    try {
      await page.waitForSelector(ready, { state: 'attached', timeout: 30_000 });
      shown++;
    } catch {
      failed.push(name);
    }
  }
  return { shown, failed };
}

export async function consoleSession(gw: GatewayChild, sessionS: number, afterS: number): Promise<ConsoleSession> {
  const rss: number[] = [];
  const startRssMb = mb(readProc(gw.pid).rssBytes);
  const splitBefore = await split(gw);
  const browser = await launchChromium();
  let sessionRss: number[] = [];
  let pages: { shown: number; failed: string[] };
  let streamsOpen = 0;
  let liveAtEnd = false;
  let splitEndOfSession: MemorySplit;
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
    const alerts = await context.newPage();
    await signIn(alerts, gw.base, 'admin');
    pages = await showEveryPage(alerts);
    await goTo(alerts, '/alerts');
    // The camera wall in a second tab, as a desk with two screens has it (a tab signs in by itself: the console
    // keeps its session in sessionStorage).
    const wall = await context.newPage();
    await signIn(wall, gw.base, 'admin');
    await goTo(wall, '/cameras');
    await wall.waitForSelector('[data-test=camera-tile]', { state: 'attached', timeout: 30_000 });
    // A person glances at the wall and the alerts now and then; the tabs stay open and live throughout.
    splitEndOfSession = await watch(gw, sessionS, rss, async () => {
      await alerts.bringToFront();
      await wall.bringToFront();
    });
    sessionRss = [...rss];
    streamsOpen = metricSum(await (await fetch(`${gw.base}/metrics`)).text(), 'campus_http_streams_open');
    liveAtEnd = (await alerts.$('[data-test=live].live')) !== null && (await wall.$('[data-test=live].live')) !== null;
  } finally {
    await browser.close();
  }
  const afterRss: number[] = [];
  const splitAfter = await watch(gw, afterS, afterRss);
  const lastMinute = (xs: number[]): number[] => xs.slice(-Math.min(60, Math.max(1, Math.floor(xs.length / 2))));
  const all = [...sessionRss, ...afterRss];
  return {
    pagesShown: pages.shown,
    pagesFailed: pages.failed,
    streamsOpen,
    liveAtEnd,
    startRssMb,
    sessionPeakRssMb: Math.max(startRssMb, ...sessionRss),
    sessionPlateauMb: median(lastMinute(sessionRss)),
    afterPlateauMb: median(lastMinute(afterRss)),
    splitBefore,
    splitEndOfSession,
    splitAfter,
    trace: all.filter((_, i) => i % 30 === 0).join(' '),
  };
}
