/**
 * The emergency message to guardians from the Gates page in a real headless Chromium, against a demo gateway whose
 * guardians' channel is a local MQTT topic (a real broker, the `mqtt` channel): a guard starts a lockdown, is offered
 * the broadcast with how many consenting guardians it reaches and a text per guardian language, edits the Chinese
 * text and confirms; each consenting guardian gets one message in their language, the delivery log shows them, and
 * the same lockdown change cannot be announced twice. A viewer is offered nothing and the API refuses a viewer.
 */
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCKDOWN_TEXTS } from '../../gateway/notify/templates.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { notifications, settled } from '../notify/helpers.js';
import { shoot, signIn, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;
let family: MqttClient;
const received: { to: string; language: string; text: string }[] = [];
const EDITED = '学校临时封闭，请勿来校。老师正在照看学生，请等待学校通知。';

async function newPage(): Promise<Page & { jsErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
  const page = (await context.newPage()) as Page & { jsErrors: string[] };
  page.jsErrors = [];
  page.on('pageerror', (err) => page.jsErrors.push(err.message));
  return page;
}

/**
 * What the first test does through the page, done through the API for a later test run alone (-t): a lockdown started
 * and its message sent once to the consenting guardians (three log rows, the guardian without consent suppressed).
 * After the first test (the file's order) the log already holds them, and this does nothing.
 */
async function lockdownAnnounced(): Promise<void> {
  const admin = await gw.login('admin');
  if ((await notifications(gw, admin, '?event=emergency')).length > 0) return;
  const security = await gw.login('security');
  expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: '可疑人员' } })).status).toBe(200);
  const plan = (await (await gw.api('/api/v1/notifications/emergency', { token: security })).json()) as { lockdown: { at: number } };
  const sent = await gw.api('/api/v1/notifications/emergency', {
    method: 'POST', token: security, json: { texts: { zh: EDITED, ko: LOCKDOWN_TEXTS.started.ko }, lockdownAt: plan.lockdown.at },
  });
  expect(sent.status).toBe(202);
  await waitFor(async () => (await settled(gw, admin, '?event=emergency')).length === 3);
}

describe('console: the emergency message to guardians on a lockdown', () => {
  beforeAll(async () => {
    gw = await startTestGateway({
      demo: true,
      config: {
        http: { loginRateLimit: { windowS: 60, max: 1000 } },
        notify: {
          guardianChannel: 'family-mqtt',
          channels: [{ id: 'demo-sink', type: 'sink' }, { id: 'family-mqtt', type: 'mqtt', topic: 'school/family' }],
        },
      },
    });
    family = await gw.mqttClient();
    family.on('message', (topic, payload) => {
      if (topic === 'school/family/emergency') received.push(JSON.parse(payload.toString()) as { to: string; language: string; text: string });
    });
    await family.subscribeAsync('school/family/#', { qos: 1 });
    browser = await startBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('offers nothing before a lockdown, then sends the confirmed texts once to the consenting guardians', async () => {
    const page = await newPage();
    await signIn(page, gw.base, 'security');
    await page.click('[data-test=nav-gates]');
    await page.locator('[data-test=lockdown-start]').waitFor();
    expect(await page.locator('[data-test=emergency-open]').count()).toBe(0);

    await page.click('[data-test=lockdown-start]');
    await page.locator('dialog[open] textarea[name=note]').fill('可疑人员');
    await page.click('dialog[open] [data-test=confirm]');
    // The demo's consenting guardians: 李明's father (zh) and 王芳's mother (ko); 王芳's father has not consented.
    const offer = page.locator('[data-test=emergency][data-state=pending]');
    await offer.waitFor();
    expect(await offer.innerText()).toContain('2 位');

    await page.click('[data-test=emergency-open]');
    const dialog = page.locator('[data-test=emergency-dialog]');
    await dialog.waitFor();
    expect(await dialog.locator('[data-test=emergency-text-zh]').inputValue()).toBe(LOCKDOWN_TEXTS.started.zh);
    expect(await dialog.locator('[data-test=emergency-text-ko]').inputValue()).toBe(LOCKDOWN_TEXTS.started.ko);
    expect(await dialog.locator('[data-test=emergency-text-en]').count()).toBe(0); // no English-reading guardian
    // Cancelled: nothing goes.
    await dialog.getByRole('button', { name: '取消' }).click();
    expect(await page.locator('[data-test=emergency][data-state=pending]').count()).toBe(1);

    await page.click('[data-test=emergency-open]');
    await dialog.locator('[data-test=emergency-text-zh]').fill(EDITED);
    expect(await dialog.locator('[data-test=confirm]').innerText()).toContain('2');
    await dialog.locator('[data-test=confirm]').click();
    const announced = page.locator('[data-test=emergency-announced]');
    await announced.waitFor();
    expect(await announced.innerText()).toContain('security');
    expect(await announced.innerText()).toContain('2 位');
    await shoot(page, 'emergency-announced');

    // Each consenting guardian once, in their language; the one without consent gets nothing.
    await waitFor(() => (received.length >= 2 ? received : null), 10_000);
    const byLanguage = Object.fromEntries(received.map((m) => [m.language, m]));
    expect(received).toHaveLength(2);
    expect(byLanguage.zh).toMatchObject({ to: '13800138000' });
    expect(byLanguage.zh!.text).toContain(EDITED);
    expect(byLanguage.ko).toMatchObject({ to: '13900139000' });
    expect(byLanguage.ko!.text).toContain(LOCKDOWN_TEXTS.started.ko);
    const admin = await gw.login('admin');
    const log = await settled(gw, admin, '?event=emergency');
    expect(log.map((i) => [i.channel, i.status, i.to]).sort()).toEqual([
      ['family-mqtt', 'sent', '138****8000'],
      ['family-mqtt', 'sent', '139****9000'],
      ['family-mqtt', 'suppressed', '137****7000'],
    ]);

    // Once: a reload shows it announced, and the API refuses the same lockdown change again.
    await page.reload();
    await page.locator('[data-test=emergency-announced]').waitFor();
    expect(await page.locator('[data-test=emergency-open]').count()).toBe(0);
    const plan = (await (await gw.api('/api/v1/notifications/emergency', { token: admin })).json()) as { lockdown: { at: number }; announced: { messages: number; guardians: number } };
    expect(plan.announced).toMatchObject({ messages: 3, guardians: 2 });
    const again = await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: admin, json: { text: 'again', lockdownAt: plan.lockdown.at } });
    expect(again.status).toBe(409);
    expect(await settled(gw, admin, '?event=emergency')).toHaveLength(3);
    expect(page.jsErrors).toEqual([]);
    await page.context().close();
  });

  it('shows the messages in the delivery log', async () => {
    await lockdownAnnounced();
    const page = await newPage();
    await signIn(page, gw.base, 'admin');
    await page.goto(`${gw.base}/notifications?event=emergency`);
    const rows = page.locator('[data-test=notify-table] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(3);
    const text = await page.locator('[data-test=notify-table]').innerText();
    expect(text).toContain('family-mqtt');
    expect(text).not.toContain('13800138000');
    await page.context().close();
  });

  it('offers the message again, with the ending texts, when the lockdown ends', async () => {
    await lockdownAnnounced();
    const page = await newPage();
    await signIn(page, gw.base, 'admin');
    await page.click('[data-test=nav-gates]');
    await page.click('[data-test=lockdown-end]');
    await page.click('dialog[open] [data-test=confirm]');
    await page.locator('[data-test=emergency][data-state=pending]').waitFor();
    await page.click('[data-test=emergency-open]');
    expect(await page.locator('[data-test=emergency-text-ko]').inputValue()).toBe(LOCKDOWN_TEXTS.ended.ko);
    await page.locator('[data-test=emergency-dialog]').getByRole('button', { name: '取消' }).click();
    await page.context().close();
  });

  it('offers a viewer nothing, and the API refuses a viewer', async () => {
    await lockdownAnnounced();
    const page = await newPage();
    await signIn(page, gw.base, 'viewer');
    await page.click('[data-test=nav-gates]');
    await page.locator('[data-test=lockdown] [data-active]').waitFor();
    expect(await page.locator('[data-test=emergency-open], [data-test=emergency-announced]').count()).toBe(0);
    await page.context().close();
    const viewer = await gw.login('viewer');
    expect((await gw.api('/api/v1/notifications/emergency', { token: viewer })).status).toBe(403);
    expect((await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: viewer, json: { text: 'x' } })).status).toBe(403);
    // A text per language must cover every language a consenting guardian reads: 王芳's mother reads Korean.
    const security = await gw.login('security');
    const partial = await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: security, json: { texts: { zh: '测试' } } });
    expect(partial.status).toBe(400);
    expect(((await partial.json()) as { error: { message: string } }).error.message).toContain('body.texts.ko');
    expect(await settled(gw, await gw.login('admin'), '?event=emergency')).toHaveLength(3);
  });
});
