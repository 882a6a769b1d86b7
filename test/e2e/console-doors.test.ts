/**
 * Remote open from the console in a real headless Chromium, against a demo gateway driving two protocol-level fake
 * UHPPOTE controllers on loopback: a guard opens the main gate with a reason, the fake controller gets the open-door
 * request and logs it (reason 44), the gateway's log names who and why; a controller that does not answer is shown as
 * such in the user's language, and its gate turns offline on the campus map while it does not answer; a viewer sees no
 * button and the API refuses a viewer.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON } from '../../drivers/controllers/uhppote/responses.js';
import { controllers, settled, startFakes } from '../controllers/helpers.js';
import type { FakeUhppote } from '../controllers/fake-uhppote.js';
import type { CampusMap } from '../../gateway/maps/store.js';
import { solidPng } from '../helpers/png.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { shoot, signIn, startBrowser } from './browser.js';

let a: FakeUhppote;
let b: FakeUhppote;
let gw: TestGateway;
let browser: Browser;
const lines: string[] = [];

interface LogLine {
  msg: string;
  accessPoint?: string;
  by?: string;
  reason?: string;
  opened?: string[];
}
const logged = (): LogLine[] => lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg === 'door opened remotely');

async function newPage(locale: string): Promise<Page & { jsErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale });
  const page = (await context.newPage()) as Page & { jsErrors: string[] };
  page.jsErrors = [];
  page.on('pageerror', (err) => page.jsErrors.push(err.message));
  return page;
}

/** Fills the confirmation's reason and confirms. */
async function confirmWith(page: Page, reason: string): Promise<void> {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await dialog.locator('textarea[name=note]').fill(reason);
  await dialog.locator('[data-test=confirm]').click();
}

describe('remote open from the console', () => {
  beforeAll(async () => {
    [a, b] = await startFakes();
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    gw = await startTestGateway({
      demo: true,
      log: pino({ level: 'info' }, stream),
      config: {
        http: { loginRateLimit: { windowS: 60, max: 1000 } },
        controllers: {
          listen: '127.0.0.1:0',
          timeoutMs: 150,
          retries: 1,
          pollIntervalMs: 200,
          devices: [
            { id: 'ctl-a', serial: a.serial, address: a.address, doors: { '1': { accessPoint: 'main-gate', direction: 'in' } } },
            { id: 'ctl-b', serial: b.serial, address: b.address, doors: { '1': { accessPoint: 'east-gate', direction: 'in' } } },
          ],
        },
      },
    });
    await settled(gw, await gw.login('admin'));
    browser = await startBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  it('opens the main gate for a guard after a confirmation with a reason, and the controller logs the remote open', async () => {
    const page = await newPage('en-GB');
    await signIn(page, gw.base, 'security');
    await page.evaluate(() => localStorage.setItem('campus.lang', 'en'));
    await page.reload();
    await page.click('[data-test=nav-gates]');
    const gate = page.locator('[data-test=access-point][data-id=main-gate]');
    await gate.locator('[data-test=door-open]').waitFor();
    // Only access points a controller door serves offer it: not the canteen.
    expect(await page.locator('[data-test=access-point][data-id=canteen] [data-test=door-open]').count()).toBe(0);

    // Cancelled: nothing is sent.
    await gate.locator('[data-test=door-open]').click();
    expect(await page.locator('dialog[open]').innerText()).not.toContain('lockdown');
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    // During a lockdown the confirmation says so first (the walkthrough opened the lab door in one unwarned).
    const token = await gw.login('admin');
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await page.locator('[data-test=lockdown-banner]').waitFor();
    await gate.locator('[data-test=door-open]').click();
    expect(await page.locator('dialog[open]').innerText()).toContain('A lockdown is on: opening lets people through here.');
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token })).status).toBe(200);
    await page.locator('[data-test=lockdown-banner]').waitFor({ state: 'hidden' });
    expect(a.requests.get('open-door') ?? 0).toBe(0);

    const before = a.lastIndex;
    await gate.locator('[data-test=door-open]').click();
    // The reason is required: confirming without one keeps the dialog open and sends nothing.
    await page.locator('dialog[open] [data-test=confirm]').click();
    expect(await page.locator('dialog[open]').count()).toBe(1);
    // Spaces alone are no reason either: the dialog stays, and says so (it used to close and do nothing).
    await page.locator('dialog[open] textarea[name=note]').fill('   ');
    await page.locator('dialog[open] [data-test=confirm]').click();
    expect(await page.locator('dialog[open]').count()).toBe(1);
    expect(await page.locator('dialog[open] textarea[name=note]').evaluate((el) => (el as HTMLTextAreaElement).validationMessage)).toContain('spaces alone');
    expect(a.requests.get('open-door') ?? 0).toBe(0);
    await confirmWith(page, 'parcel delivery at the gate');
    const result = gate.locator('[data-test=door-open-result][data-result=opened]');
    await result.waitFor();
    expect(await result.innerText()).toContain('opened');
    await shoot(page, 'doors-remote-open');

    // The fake controller got exactly one open-door request, for door 1, and logged it as a remote open.
    expect(a.requests.get('open-door')).toBe(1);
    expect(a.events[a.events.length - 1]).toMatchObject({ index: before + 1, door: 1, reason: REASON.remoteOpen });
    expect(b.requests.get('open-door') ?? 0).toBe(0);
    // Who and why, in the gateway's log.
    await waitFor(() => logged().length === 1 || null);
    expect(logged()[0]).toMatchObject({ accessPoint: 'main-gate', by: 'security', reason: 'parcel delivery at the gate', opened: ['ctl-a-door1'] });
    // And on the timeline, where the other guards look (it was only in the log).
    await page.click('[data-test=nav-timeline]');
    const opened = page.locator('[data-test=timeline-item][data-kind=door]');
    await opened.first().waitFor();
    expect(await opened.first().innerText()).toMatch(/Main gate[\s\S]*opened remotely by security[\s\S]*parcel delivery at the gate/);
    expect(page.jsErrors).toEqual([]);
    await page.context().close();
  });

  it('says so, in Korean, when the controller does not answer', async () => {
    b.unreachable = true;
    const page = await newPage('ko-KR');
    await signIn(page, gw.base, 'admin');
    await page.evaluate(() => localStorage.setItem('campus.lang', 'ko'));
    await page.reload();
    await page.click('[data-test=nav-gates]');
    const gate = page.locator('[data-test=access-point][data-id=east-gate]');
    await gate.locator('[data-test=door-open]').click();
    await confirmWith(page, '학부모 면담');
    const result = gate.locator('[data-test=door-open-result][data-result=offline]');
    await result.waitFor({ timeout: 10_000 });
    expect(await result.innerText()).toContain('응답하지 않아');
    expect(b.requests.get('open-door') ?? 0).toBe(0);
    expect(logged().filter((l) => l.accessPoint === 'east-gate')).toMatchObject([{ by: 'admin', reason: '학부모 면담', opened: [] }]);
    expect(page.jsErrors).toEqual([]);
    await page.context().close();
    b.unreachable = false;
  });

  it('shows the gate offline on the campus map while its door controller does not answer, and back when it does, without a reload', async () => {
    const admin = await gw.login('admin');
    const map = (await (await gw.api('/api/v1/maps', { method: 'POST', token: admin, json: { name: 'Gates' } })).json()) as CampusMap;
    await gw.api(`/api/v1/maps/${map.id}/image`, { method: 'PUT', token: admin, headers: { 'content-type': 'image/png' }, body: new Uint8Array(solidPng(400, 300)) });
    const pins = [
      { kind: 'access-point', deviceId: 'east-gate', x: 0.7, y: 0.5 },
      { kind: 'access-point', deviceId: 'main-gate', x: 0.2, y: 0.5 },
    ];
    expect((await gw.api(`/api/v1/maps/${map.id}/pins`, { method: 'PUT', token: admin, json: { pins } })).status).toBe(200);

    const page = await newPage('en-GB');
    await signIn(page, gw.base, 'viewer');
    await page.click('[data-test=nav-map]');
    const pin = (id: string, state: string) => page.locator(`[data-test=map-pin][data-device=${id}][data-state=${state}]`);
    // Controller b serves the east gate (another test here may have left it just coming back: it is online again soon).
    await pin('east-gate', 'ok').waitFor({ timeout: 20_000 });
    b.unreachable = true;
    try {
      await pin('east-gate', 'offline').waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-test=map-pin][data-device=main-gate]').getAttribute('data-state')).toBe('ok');
      await shoot(page, 'doors-map-offline');
    } finally {
      b.unreachable = false;
    }
    await pin('east-gate', 'ok').waitFor({ timeout: 15_000 });
    expect(page.jsErrors).toEqual([]);
    await page.context().close();
  });

  it('lists the door controllers on the System page for IT, with their card sync, and one that stops answering as offline', async () => {
    const admin = await gw.login('admin');
    const [ctlA] = await settled(gw, admin);
    const page = await newPage('zh-CN');
    await signIn(page, gw.base, 'admin');
    await page.click('[data-test=nav-system]');
    const row = (id: string) => page.locator('[data-test=device-table] tr', { has: page.locator('[data-test=device-name]', { hasText: id }) });
    await row('ctl-a').waitFor({ timeout: 10_000 });
    const cells = await row('ctl-a').locator('td').allInnerTexts();
    expect(cells[0]).toBe('门禁控制器');
    expect(cells[2]).toBe('正门');
    expect(cells[3]).toContain('在线');
    expect(await row('ctl-a').locator('[data-test=controller-sync]').innerText()).toBe(`卡表已同步 ${ctlA!.sync.planned}/${ctlA!.sync.planned}`);
    b.unreachable = true;
    try {
      // The table follows by itself (IT watching a controller after pulling its cable).
      await expect.poll(() => row('ctl-b').locator('td').nth(3).innerText(), { timeout: 30_000 }).toContain('离线');
      await shoot(page, 'doors-system-controllers');
    } finally {
      b.unreachable = false;
    }
    expect(page.jsErrors).toEqual([]);
    await page.context().close();
  });

  it('says on each gate whether its door controller took the lockdown, and which did not answer and still opens for every card', async () => {
    const admin = await gw.login('admin');
    await settled(gw, admin);
    const page = await newPage('zh-CN');
    await signIn(page, gw.base, 'security');
    await page.click('[data-test=nav-gates]');
    const line = (ap: string) => page.locator(`[data-test=access-point][data-id=${ap}] [data-test=ap-lockdown]`);
    await page.locator('[data-test=access-point][data-id=main-gate]').waitFor();
    expect(await line('main-gate').isVisible()).toBe(false);
    // ctl-b (the east gate) stops answering before the lockdown starts: its list stays every card's.
    b.unreachable = true;
    try {
      await waitFor(async () => (await controllers(gw, admin)).find((c) => c.id === 'ctl-b')?.state === 'offline', 15_000, 100);
      expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: admin, json: { reason: 'drill' } })).status).toBe(200);
      await expect.poll(() => line('main-gate').getAttribute('data-state'), { timeout: 15_000 }).toBe('applied');
      expect(await line('main-gate').innerText()).toBe('门禁控制器已封锁：仅安保人员可刷卡');
      await expect.poll(() => line('east-gate').getAttribute('data-state'), { timeout: 15_000 }).toBe('not_applied');
      expect(await line('east-gate').innerText()).toBe('门禁控制器无应答：未封锁，其门仍对所有卡开放');
      // Who passes during it is marked: here security staff T0001 at the main gate's own reader; a student is refused.
      const found = (await (await gw.api('/api/v1/people?externalId=T0001', { token: admin })).json()) as { items: { id: number }[] };
      const guard = (await (await gw.api(`/api/v1/people/${found.items[0]!.id}`, { token: admin })).json()) as { cards: { uid: string }[] };
      gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-in', uid: guard.cards[0]!.uid, at: Date.now() });
      gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-in', uid: '0A1B2C3D', at: Date.now() });
      const taps = page.locator('[data-test=access-point][data-id=main-gate] [data-test=tap]');
      await expect.poll(() => taps.filter({ hasText: '封校期间' }).count(), { timeout: 10_000 }).toBe(1);
      expect(await taps.filter({ hasText: '封校期间' }).innerText()).toContain('通过');
      await expect.poll(() => taps.filter({ hasText: '拒绝' }).count(), { timeout: 10_000 }).toBe(1);
      await shoot(page, 'doors-lockdown-per-gate');
      // Answering again, it is reconciled under the lockdown and says so without a reload.
      b.unreachable = false;
      await expect.poll(() => line('east-gate').getAttribute('data-state'), { timeout: 30_000 }).toBe('applied');
    } finally {
      b.unreachable = false;
      await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin });
    }
    await expect.poll(() => line('main-gate').isVisible(), { timeout: 10_000 }).toBe(false);
    expect(page.jsErrors).toEqual([]);
    await page.context().close();
  });

  it('offers a viewer no button, and the API refuses a viewer', async () => {
    const page = await newPage('zh-CN');
    await signIn(page, gw.base, 'viewer');
    await page.click('[data-test=nav-gates]');
    await page.locator('[data-test=access-point][data-id=main-gate]').waitFor();
    expect(await page.locator('[data-test=door-open]').count()).toBe(0);
    await page.context().close();

    const viewer = await gw.login('viewer');
    const opens = a.requests.get('open-door') ?? 0;
    const res = await gw.api('/api/v1/access-points/main-gate/open', { method: 'POST', token: viewer, json: { reason: 'let me in' } });
    expect(res.status).toBe(403);
    expect(a.requests.get('open-door') ?? 0).toBe(opens);
  });
});
