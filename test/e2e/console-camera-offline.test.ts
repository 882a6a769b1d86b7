/**
 * The camera wall for an offline camera, in a real headless Chromium set to UTC against a school in Asia/Shanghai:
 * a fake ONVIF camera gives the gateway one picture and then stops answering, another never answered. The first
 * tile says when its last picture was taken (the snapshot's `x-snapshot-taken-at`, in school time, HH:MM), the
 * second that there is no picture, in English and in Chinese; a camera online says neither.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOnvifDevice } from '../cameras/fake-onvif/device.js';
import { camera, fastCameras } from '../cameras/helpers.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { PASSWORD, shoot, signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;
let yard: FakeOnvifDevice;
let gate: FakeOnvifDevice;
/** When the gateway says the yard camera's last picture was taken. */
let takenAt: string;

async function state(token: string, id: string): Promise<string> {
  return ((await (await gw.api(`/api/v1/cameras/${id}`, { token })).json()) as { state: string }).state;
}

async function wall(lang: 'en' | 'zh'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: lang === 'en' ? 'en-GB' : 'zh-CN', timezoneId: 'UTC' });
  await context.addInitScript((l) => localStorage.setItem('campus.lang', l), lang);
  const page = await context.newPage();
  await signIn(page, gw.base, 'admin');
  await page.click('[data-test=nav-cameras]');
  await page.locator('[data-test=camera-tile]').first().waitFor();
  return page;
}

const tile = (page: Page, id: string) => page.locator(`[data-test=camera-tile][data-id="${id}"]`);
/** What a tile says of its last picture, now (no waiting: expect.poll asks again). */
const lastPicture = async (page: Page, id: string): Promise<string> => (await tile(page, id).locator('[data-test=tile-last-picture]').allTextContents()).join(' | ');

beforeAll(async () => {
  yard = new FakeOnvifDevice({ pullHoldMs: 200 });
  gate = new FakeOnvifDevice({ pullHoldMs: 200 });
  await yard.start();
  await gate.start();
  gw = await startTestGateway({
    demo: true, // for its users; its simulated cameras are replaced by the fake ones
    config: {
      school: { timezone: 'Asia/Shanghai' },
      nodeRed: { enabled: false },
      http: { loginRateLimit: { windowS: 60, max: 1000 } },
      // Port 9 (discard) refuses: a camera that never answered, so never gave a picture.
      cameras: { ...fastCameras, cameras: [camera('cam-yard', yard.port), camera('cam-gate', gate.port), camera('cam-dead', 9)] },
    },
  });
  const token = await gw.login('admin', PASSWORD);
  await waitFor(async () => (await state(token, 'cam-yard')) === 'online' && (await state(token, 'cam-gate')) === 'online', 15_000);
  expect((await gw.api('/api/v1/cameras/cam-yard/snapshot?fresh=1', { token })).status).toBe(200);
  await yard.stop();
  await waitFor(async () => (await state(token, 'cam-yard')) === 'offline' && (await state(token, 'cam-dead')) === 'offline', 15_000);
  // The picture the console is served for the camera now, and the time it carries.
  const res = await gw.api('/api/v1/cameras/cam-yard/snapshot', { token });
  expect(res.status).toBe(200);
  takenAt = res.headers.get('x-snapshot-taken-at') ?? '';
  expect(Date.parse(takenAt)).not.toBeNaN();
  browser = await startBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await yard?.stop();
  await gate?.stop();
});

describe('the camera wall for an offline camera', () => {
  it("says when the camera's last picture was taken, in school time, or that it has none, on the wall and the camera's page", async () => {
    const hhmm = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(Date.parse(takenAt));
    const page = await wall('en');
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await expect.poll(() => lastPicture(page, 'cam-yard'), { timeout: 10_000 }).toBe(`Last picture at ${hhmm}`);
    expect(await tile(page, 'cam-yard').locator('img.tile-img:not(.missing)').count(), 'the last picture is shown').toBe(1);
    await expect.poll(() => lastPicture(page, 'cam-dead'), { timeout: 10_000 }).toBe('No picture taken yet');
    // No picture: the black frame, not the browser's broken-image icon with the camera's name as alt text.
    expect(await tile(page, 'cam-dead').locator('img.tile-img.missing').isVisible()).toBe(false);
    expect(await lastPicture(page, 'cam-gate'), 'an online camera says nothing of it').toBe('');
    await shoot(page, 'camera-wall-offline-en');
    // The camera's own page, where a guard enlarges the picture, says it too.
    await tile(page, 'cam-yard').click();
    await expect.poll(async () => page.locator('[data-test=camera-last-picture]').textContent(), { timeout: 10_000 }).toBe(`Last picture at ${hhmm}`);

    const zh = await wall('zh');
    await expect.poll(() => lastPicture(zh, 'cam-yard'), { timeout: 10_000 }).toBe(`最后画面拍摄于 ${hhmm}`);
    await expect.poll(() => lastPicture(zh, 'cam-dead'), { timeout: 10_000 }).toBe('尚无抓拍画面');
    await shoot(zh, 'camera-wall-offline-zh');
    expect(errors).toEqual([]);
  });
});
