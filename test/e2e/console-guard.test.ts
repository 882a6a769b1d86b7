/**
 * The console as a guard uses it, in a real headless Chromium against a real demo gateway: the lockdown banner on
 * every page, the gateway's own texts (alert messages, API errors) in Chinese and Korean, and the alert list kept
 * on screen while the gateway is down. The browser reaches the gateway through a small TCP relay, so that the
 * gateway can really stop and start again (on another port) behind one address.
 */
import { rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { PASSWORD, shoot, signIn, startBrowser } from './browser.js';


/**
 * What stands between the browser and the gateway: a TCP relay on a fixed port. `cut` drops every connection
 * (the event stream too) and refuses new ones, as a stopped gateway would; `to` puts a (restarted) gateway behind it.
 */
class Line {
  private upstream: number | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((client) => {
    if (this.upstream === null) {
      client.destroy();
      return;
    }
    const up = connect(this.upstream, '127.0.0.1');
    const end = (): void => {
      client.destroy();
      up.destroy();
      this.sockets.delete(client);
      this.sockets.delete(up);
    };
    for (const s of [client, up]) {
      this.sockets.add(s);
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(up);
    up.pipe(client);
  });

  async open(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  to(port: number): void {
    this.upstream = port;
  }

  cut(): void {
    this.upstream = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let gw: TestGateway;
let browser: Browser;
const dataDir = tempDir('campus-console-guard-');
const line = new Line();
let base: string;

const startGateway = (): Promise<TestGateway> =>
  startTestGateway({ demo: true, dataDir, config: { http: { loginRateLimit: { windowS: 60, max: 1000 } } } });

/** A page whose uncaught script errors are collected (failed requests are expected here: the gateway goes down). */
async function newPage(): Promise<Page & { scriptErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
  const page = (await context.newPage()) as Page & { scriptErrors: string[] };
  page.scriptErrors = [];
  page.on('pageerror', (err) => page.scriptErrors.push(err.message));
  return page;
}

/** Another page of the console, through its navigation (no reload). */
async function go(page: Page, nav: string, title: string): Promise<void> {
  await page.click(`[data-test=${nav}]`);
  await expect.poll(() => page.textContent('#page h1')).toBe(title);
}

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startGateway();
  base = await line.open();
  line.to(gw.httpPort);
});

afterAll(async () => {
  await browser?.close();
  await line.close();
  await gw?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('security console for a guard', () => {
  it('shows the lockdown banner on every page, live, from the moment a lockdown starts until it ends', async () => {
    const page = await newPage();
    await signIn(page, base, 'security');
    const banner = page.locator('[data-test=lockdown-banner]');
    expect(await banner.isVisible()).toBe(false);

    // Started elsewhere (another guard, the city): the guard on the Alerts page sees it without reloading.
    const admin = await gw.login('admin', PASSWORD);
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: admin, json: { reason: 'fire drill' } })).status).toBe(200);
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    expect(await banner.textContent()).toContain('封校中：只有安保人员的卡可以通行');
    expect(await banner.textContent()).toContain('fire drill');

    for (const [nav, title] of [
      ['nav-cameras', '摄像头'],
      ['nav-attendance', '考勤'],
      ['nav-canteen', '食堂'],
      ['nav-environment', '环境'],
      ['nav-system', '系统'],
      ['nav-gates', '门禁与封校'],
      ['nav-alerts', '告警'],
    ] as const) {
      await go(page, nav, title);
      expect(await banner.isVisible(), `the banner on ${title}`).toBe(true);
      if (nav === 'nav-cameras') await shoot(page, '40-lockdown-banner-cameras');
    }

    // Opened during the lockdown, on any page: the banner is there from the start.
    const viewer = await newPage();
    await signIn(viewer, base, 'viewer');
    await go(viewer, 'nav-environment', '环境');
    await viewer.locator('[data-test=lockdown-banner]').waitFor({ state: 'visible', timeout: 5000 });

    // Ended: gone from every open page, live.
    expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin })).status).toBe(200);
    await banner.waitFor({ state: 'hidden', timeout: 5000 });
    await viewer.locator('[data-test=lockdown-banner]').waitFor({ state: 'hidden', timeout: 5000 });
    expect(page.scriptErrors).toEqual([]);
    await viewer.context().close();
    await page.context().close();
  });

  it('shows the gateway’s alert messages in Chinese and Korean, from the alert’s type and data', async () => {
    const page = await newPage();
    await signIn(page, base, 'security');
    const mqtt = await gw.mqttClient();
    const messageOf = (text: string) => page.locator('[data-test=alert]').filter({ hasText: text }).first().locator('.alert-message');

    // A lost card at the main gate. The gateway wrote "Lost card 0BADCAFE of 王芳 (S20250002) used at 正门".
    await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 7001 }), { qos: 1 });
    await expect.poll(() => messageOf('0BADCAFE').textContent(), { timeout: 5000 }).toBe('王芳（S20250002）的挂失卡 0BADCAFE 在 正门 被使用');
    // Five unknown cards in a row at the exit: "5 refused taps within 60 s at 正门".
    for (let i = 0; i < 5; i++) await mqtt.publishAsync('campus/readers/demo-gate-out/tap', JSON.stringify({ uid: `0FFFFF0${i}`, seq: 7100 + i }), { qos: 1 });
    await expect.poll(() => messageOf('多次拒绝通行').textContent(), { timeout: 5000 }).toBe('正门 在 60 秒内拒绝了 5 次刷卡（最近一次原因：未知卡）');
    // Smoke in classroom 101: "smoke true in classroom-101 (sensor demo-sensor-101)", shown with the zone's and sensor's names.
    await mqtt.publishAsync('campus/sensors/demo-sensor-101', JSON.stringify({ smoke: true }), { qos: 1 });
    await expect.poll(() => messageOf('101教室传感器').textContent(), { timeout: 5000 }).toBe('101教室 烟雾：报警（传感器 101教室传感器）');
    // A report typed by a guard is shown as written.
    const token = await gw.login('security', PASSWORD);
    await gw.api('/api/v1/alerts', { method: 'POST', token, json: { message: 'Ladder against the north fence', severity: 'info' } });
    await expect.poll(() => messageOf('Ladder').textContent(), { timeout: 5000 }).toBe('Ladder against the north fence');

    await page.selectOption('[data-test=lang]', 'ko');
    await expect.poll(() => messageOf('0BADCAFE').textContent()).toBe('王芳(S20250002)의 분실 신고된 카드 0BADCAFE가 정문에서 사용됨');
    expect(await messageOf('101 교실 센서').textContent()).toBe('101 교실 연기: 경보 (센서 101 교실 센서)');
    expect(await messageOf('Ladder').textContent()).toBe('Ladder against the north fence');
    expect(page.scriptErrors).toEqual([]);
    await page.context().close();
  });

  it('shows errors from the API in the console’s language, from their code', async () => {
    const page = await newPage();
    await signIn(page, base, 'security');

    // A camera that is not there: the gateway answers 404 "camera no-such-camera not found".
    await page.selectOption('[data-test=lang]', 'ko');
    await page.evaluate(() => {
      history.pushState(null, '', '/cameras/no-such-camera');
      dispatchEvent(new PopStateEvent('popstate'));
    });
    const error = page.locator('[data-state=error]').first();
    await error.waitFor({ timeout: 5000 });
    expect(await error.textContent()).toContain('대상을 찾을 수 없습니다');
    expect(await error.textContent()).not.toContain('not found');

    // The lockdown's alert cannot be resolved by hand while the lockdown lasts (409): the guard is told why, in
    // Chinese, instead of "the lockdown is still on: end it (DELETE /api/v1/lockdown, …)".
    await page.selectOption('[data-test=lang]', 'zh');
    const admin = await gw.login('admin', PASSWORD);
    await gw.api('/api/v1/lockdown', { method: 'POST', token: admin, json: { reason: 'drill' } });
    await go(page, 'nav-alerts', '告警');
    const lockdownCard = page.locator('[data-test=alert]').filter({ hasText: 'drill' }).first();
    await lockdownCard.waitFor({ timeout: 5000 });
    expect(await lockdownCard.locator('.alert-message').textContent()).toBe('admin 启动了封校：drill');
    await lockdownCard.locator('[data-test=resolve]').click();
    await page.click('dialog [data-test=confirm]');
    const toast = page.locator('.toast.error');
    await toast.waitFor({ timeout: 5000 });
    expect(await toast.textContent()).toContain('封校仍在进行');
    expect(await toast.textContent()).not.toMatch(/[a-z]{3,} [a-z]{3,}/);
    await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin });
    expect(page.scriptErrors).toEqual([]);
    await page.context().close();
  });

  it('keeps the last alerts on screen, marked as not current, while the gateway is down, and refreshes when it is back', async () => {
    const page = await newPage();
    await signIn(page, base, 'security');
    const token = await gw.login('security', PASSWORD);
    await gw.api('/api/v1/alerts', { method: 'POST', token, json: { message: 'stranger at the east fence', severity: 'warning' } });
    const kept = page.locator('[data-test=alert]').filter({ hasText: 'stranger at the east fence' });
    await kept.waitFor({ timeout: 5000 });
    // The camera wall too, and one camera's page, seen once while the gateway answered.
    await go(page, 'nav-cameras', '摄像头');
    await page.locator('[data-test=camera-tile]').first().waitFor();
    const cameraName = (await page.locator('[data-test=camera-tile] strong').first().textContent()) ?? '';
    await page.locator('[data-test=camera-tile]').first().click();
    await expect.poll(() => page.textContent('#page h1')).toBe(cameraName);
    await page.locator('[data-test=camera-snapshot]:not(.missing)').waitFor({ timeout: 10_000 });
    await go(page, 'nav-alerts', '告警');
    await kept.waitFor();

    // The gateway stops: every connection drops, nothing answers.
    line.cut();
    await gw.close();
    await page.locator('[data-test=live].reconnecting').waitFor({ timeout: 10_000 });

    // The list stays, under a notice saying since when; also after a re-render (another language) while down.
    await page.selectOption('[data-test=lang]', 'en');
    await expect.poll(() => page.textContent('#page h1')).toBe('Alerts');
    await page.waitForTimeout(1000); // the list's load has failed by now
    expect(await kept.count(), 'the alert is still listed').toBe(1);
    const notice = page.locator('[data-test=stale]');
    await notice.waitFor({ state: 'visible', timeout: 5000 });
    expect(await notice.textContent()).toMatch(/^Connection to the gateway lost: showing data from \d{2}:\d{2}\./);
    await page.selectOption('[data-test=lang]', 'zh');
    await expect.poll(() => notice.textContent()).toMatch(/^与网关的连接已断开，显示的是 \d{2}:\d{2} 的数据/);
    expect(await kept.count()).toBe(1);
    expect(await page.locator('[data-test=alert-list] .state.error, [data-test=alert-list] .empty').count()).toBe(0);
    await shoot(page, '41-alerts-gateway-down');

    // Another page and back: the camera wall and the alerts as they were, each marked.
    await go(page, 'nav-cameras', '摄像头');
    await page.locator('[data-test=stale]').waitFor({ state: 'visible', timeout: 5000 });
    expect(await page.locator('[data-test=camera-tile]').count()).toBeGreaterThan(0);
    await shoot(page, '42-cameras-gateway-down');
    // The camera's page: its name, details and last picture, under the notice.
    await page.locator('[data-test=camera-tile]').first().click();
    await expect.poll(() => page.textContent('#page h1')).toBe(cameraName);
    await page.locator('[data-test=stale]').waitFor({ state: 'visible', timeout: 5000 });
    expect(await page.locator('[data-test=camera-snapshot]:not(.missing)').count(), 'the last picture is still shown').toBe(1);
    await shoot(page, '43-camera-gateway-down');

    // Back: the camera's page reads everything again by itself.
    gw = await startGateway();
    line.to(gw.httpPort);
    await page.locator('[data-test=stale]').waitFor({ state: 'hidden', timeout: 30_000 });
    await gw.close();
    line.cut();

    await go(page, 'nav-alerts', '告警');
    await page.locator('[data-test=stale]').waitFor({ state: 'visible', timeout: 5000 });
    expect(await kept.count()).toBe(1);

    // The gateway comes back (same data, another port behind the same address) with an alert the console missed.
    gw = await startGateway();
    await gw.api('/api/v1/alerts', { method: 'POST', token, json: { message: 'report made while the console was cut off', severity: 'info' } });
    line.to(gw.httpPort);
    await page.locator('[data-test=alert]').filter({ hasText: 'report made while the console was cut off' }).waitFor({ timeout: 20_000 });
    await page.locator('[data-test=stale]').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.locator('[data-test=live].live').waitFor({ timeout: 10_000 });
    expect(await kept.count()).toBe(1);
    expect(page.scriptErrors).toEqual([]);
    await page.context().close();
  });
});
