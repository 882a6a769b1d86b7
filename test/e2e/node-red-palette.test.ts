/**
 * The campus palette in the real Node-RED editor (headless Chromium): a node set to an access point the gateway
 * does not know carries the red triangle, one set to a known one does not, and the edit dialog offers the
 * gateway's access points by name, in the editor's language, keeping the unknown id visible and marked; a campus
 * sensor shows its on/off levels only when it sends at levels, and one set so without levels is flagged.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PASSWORD, startBrowser } from './browser.js';

let gw: TestGateway;
let browser: Browser;
let token: string;

const flows = [
  { id: 'tab1', type: 'tab', label: 'palette check' },
  { id: 'known', type: 'campus tap', z: 'tab1', name: '', accessPoint: 'main-gate', result: 'any', direction: 'any', role: 'any', firstOfDay: false, x: 120, y: 60, wires: [[]] },
  { id: 'typo', type: 'campus tap', z: 'tab1', name: '', accessPoint: 'main-gaet', result: 'any', direction: 'any', role: 'any', firstOfDay: false, x: 120, y: 120, wires: [[]] },
  { id: 'cam', type: 'campus snapshot', z: 'tab1', name: '', cameraId: 'cam-main-gate', x: 320, y: 60, wires: [[]] },
  // The CO2 flow's sensor with its levels; one set to send at levels it does not have; one sending every reading.
  { id: 'co2', type: 'campus sensor', z: 'tab1', name: '', zone: '', metric: 'co2', send: 'levels', above: '1500', below: '1000', topic: 'campus/actuators/{zone}/fan', x: 520, y: 60, wires: [[]] },
  { id: 'nolevels', type: 'campus sensor', z: 'tab1', name: '', zone: '', metric: 'co2', send: 'levels', above: '', below: '', topic: '', x: 520, y: 120, wires: [[]] },
  { id: 'every', type: 'campus sensor', z: 'tab1', name: '', zone: '', metric: '', send: 'each', above: '', below: '', topic: '', x: 520, y: 180, wires: [[]] },
];

/** The part of the editor's `RED` global these tests use (read inside the page; the type is only for the compiler). */
interface EditorRed {
  nodes: { node(id: string): { valid: boolean } };
  editor: { edit(node: unknown): void; validateNode(node: unknown): void };
}

beforeAll(async () => {
  browser = await startBrowser();
  gw = await startTestGateway({ demo: true, config: { nodeRed: { enabled: true } } });
  const res = await gw.api('/flows/auth/token', {
    method: 'POST',
    json: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username: 'admin', password: PASSWORD },
  });
  token = ((await res.json()) as { access_token: string }).access_token;
  const deployed = await gw.api('/flows/flows', { method: 'POST', token, json: flows, headers: { 'Node-RED-Deployment-Type': 'full' } });
  expect(deployed.status).toBe(204);
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/** The editor in one language, signed in through its login form as admin. */
async function openEditor(locale: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${gw.base}/flows/`);
  await page.fill('#node-dialog-login-username', 'admin');
  await page.fill('#node-dialog-login-password', PASSWORD);
  await page.click('#node-dialog-login-submit');
  await page.waitForFunction(() => {
    const red = (window as unknown as { RED?: Partial<EditorRed> }).RED;
    return !!red?.nodes?.node('typo');
  });
  return { page, errors };
}

const valid = (page: Page, id: string): Promise<boolean> =>
  page.evaluate((nodeId) => (window as unknown as { RED: EditorRed }).RED.nodes.node(nodeId).valid, id);

/** Opens a node's edit dialog, as a double click on it does. */
const edit = (page: Page, id: string): Promise<void> =>
  page.evaluate((nodeId) => {
    const RED = (window as unknown as { RED: EditorRed }).RED;
    RED.editor.edit(RED.nodes.node(nodeId));
  }, id);

describe('campus palette in the Node-RED editor', () => {
  it('flags a node set to an access point the gateway does not know, and offers the known ones by name', async () => {
    const { page, errors } = await openEditor('zh-CN');
    await expect.poll(() => valid(page, 'typo'), { timeout: 15_000 }).toBe(false);
    expect(await valid(page, 'known')).toBe(true);
    expect(await valid(page, 'cam')).toBe(true);

    await edit(page, 'typo');
    const select = page.locator('#node-input-accessPoint');
    await expect.poll(() => select.locator('option').count(), { timeout: 15_000 }).toBeGreaterThan(2);
    const options = await select.locator('option').allTextContents();
    expect(options).toContain('正门 (main-gate)');
    expect(options.some((o) => o.startsWith('main-gaet') && o.includes('网关中不存在'))).toBe(true);
    expect(await select.inputValue()).toBe('main-gaet');
    // The words come from locales/zh-CN.
    expect(await page.locator('label[for=node-input-accessPoint]').textContent()).toContain('门禁点');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a campus sensor\'s levels only when it sends at levels, and flags one that has none', async () => {
    const { page, errors } = await openEditor('en-US');
    await expect.poll(() => valid(page, 'nolevels'), { timeout: 15_000 }).toBe(false);
    expect(await valid(page, 'co2')).toBe(true);
    expect(await valid(page, 'every')).toBe(true);
    await edit(page, 'co2');
    const above = page.locator('#node-input-above');
    await above.waitFor({ state: 'visible' });
    expect(await above.inputValue()).toBe('1500');
    expect(await page.locator('label[for=node-input-above]').textContent()).toContain('On above');
    // The palette revalidates every campus node when the gateway's lists arrive, with this dialog open: a sensor
    // sending every reading, with no metric, is judged by its own setting, not by this dialog's.
    const revalidated = await page.evaluate(() => {
      const RED = (window as unknown as { RED: EditorRed }).RED;
      const every = RED.nodes.node('every');
      RED.editor.validateNode(every);
      return every.valid;
    });
    expect(revalidated).toBe(true);
    await page.selectOption('#node-input-send', 'each');
    await above.waitFor({ state: 'hidden' });
    expect(await page.locator('#node-input-topic').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('speaks Korean to a Korean editor', async () => {
    const { page, errors } = await openEditor('ko');
    await edit(page, 'known');
    await page.locator('label[for=node-input-accessPoint]').waitFor();
    expect(await page.locator('label[for=node-input-accessPoint]').textContent()).toContain('출입 지점');
    await expect.poll(() => page.locator('#node-input-accessPoint').inputValue(), { timeout: 15_000 }).toBe('main-gate');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
