/**
 * The absence check across a restart and for a student whose schedule group the config no longer lists: a real
 * gateway on the demo school, its data directory kept between two starts, messages to the fake HTTP provider.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { CREDENTIALS, FakeProviders } from './fake-providers.js';

let fake: FakeProviders;
let gw: TestGateway | undefined;
let dataDir: string;
let notifyConfig: Record<string, unknown>;

/** Tuesday 1 September 2026 in Shanghai, at a time of day. */
const at = (hhmm: string): number => Date.parse(`2026-09-01T${hhmm}:00+08:00`);

beforeEach(async () => {
  fake = await new FakeProviders().start();
  dataDir = tempDir('campus-notify-absences-');
  const token = join(dataDir, 'http-token');
  writeFileSync(token, 'Bearer http-test-token');
  const botKeyFile = join(dataDir, 'bot');
  writeFileSync(botKeyFile, CREDENTIALS.wecom.botKey);
  notifyConfig = {
    guardianChannel: 'sms',
    staffChannel: 'staff',
    channels: [
      { id: 'sms', type: 'http', url: `${fake.base}/http/send`, headerFiles: { authorization: token }, timeoutMs: 2000 },
      { id: 'staff', type: 'wecom-bot', baseUrl: `${fake.base}/wecom`, keyFile: botKeyFile, timeoutMs: 2000 },
    ],
  };
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await fake.stop();
});

const digests = (): string[] => fake.accepted.filter((a) => a.provider === 'wecom-bot').map((a) => a.text ?? '').sort();

describe('the absence check', () => {
  it('sends the staff digests once a day, even when the gateway restarts after them', async () => {
    const clock = new ManualClock(at('08:06'));
    gw = await startTestGateway({ demo: true, clock, dataDir, config: { notify: notifyConfig } });
    // The day group (07:50) and the staff (07:40) are past their cut-off and grace; the boarders (07:30) too.
    // Every digest of this check has gone (none left queued), and the provider took them.
    const queued = (): number => (gw!.ctx.db.prepare("SELECT COUNT(*) AS n FROM notify_outbox WHERE channel = 'staff' AND status = 'queued'").get() as { n: number }).n;
    await waitFor(() => digests().length > 0 && queued() === 0, 20_000);
    const sent = digests();
    expect(gw.ctx.db.prepare("SELECT COUNT(*) AS n FROM notify_outbox WHERE channel = 'staff' AND status = 'sent'").get()).toEqual({ n: sent.length });
    await gw.close();

    // Restarted at 09:00: nothing is newly due, so nothing goes again.
    clock.set(at('09:00'));
    gw = await startTestGateway({ demo: true, clock, dataDir, config: { notify: notifyConfig } });
    await sleep(3000); // the check ticks every second
    expect(digests()).toEqual(sent);
  });

  it("tells the guardians of a student whose schedule group the config no longer lists, at the register's fallback cut-off", async () => {
    // The school dropped its boarding group: boarders now have the fallback cut-off (08:00), and the register calls
    // them absent after it.
    const clock = new ManualClock(at('07:20'));
    const scheduleGroups = [{ id: 'day', arrivalCutoff: '07:50' }, { id: 'staff', arrivalCutoff: '07:40' }];
    gw = await startTestGateway({ demo: true, clock, dataDir, config: { notify: notifyConfig, access: { scheduleGroups } } });
    const boarder = (gw.ctx.db.prepare("SELECT external_id AS id FROM persons WHERE role = 'student' AND schedule_group = 'boarding' LIMIT 1").get() as { id: string } | undefined)?.id;
    expect(boarder, 'the demo school has boarders').toBeDefined();
    const admin = await gw.login('admin');
    const res = await gw.api(`/api/v1/people/${boarder}/guardians`, { method: 'POST', token: admin, json: { name: '家长', phone: '13700137001', consent: true } });
    expect(res.status).toBe(201);

    clock.set(at('08:16'));
    await waitFor(() => fake.accepted.some((a) => a.to === '13700137001'), 10_000);
  });
});
