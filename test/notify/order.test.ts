/**
 * One child's messages reach the guardian in the order they were written, through the fake Alibaba Cloud SMS provider
 * (signatures checked), when the clock steps back while they wait for the channel.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTIFY_EVENTS } from '../../config/notify.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { CREDENTIALS, FakeProviders } from './fake-providers.js';
import { notifications, tap } from './helpers.js';

let gw: TestGateway;
let fake: FakeProviders;
let client: MqttClient;
let admin: string;
let clock: ManualClock;

/** Lets the sender (polling every 50 ms) look at the clock as it is now. */
const looks = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

describe("one child's messages", () => {
  beforeEach(async () => {
    // Tuesday 1 September 2026, 07:39 in Shanghai.
    clock = new ManualClock(Date.parse('2026-09-01T07:39:00+08:00'));
    fake = await new FakeProviders().start();
    const secretFile = join(tempDir('campus-notify-order-'), 'aliyun');
    writeFileSync(secretFile, CREDENTIALS.aliyun.secret);
    gw = await startTestGateway({
      demo: true,
      clock,
      config: {
        notify: {
          guardianChannel: 'sms',
          departure: 'every_exit',
          pollMs: 50,
          channels: [
            {
              // One message every 5 minutes: what is queued meanwhile waits, due, for the channel.
              id: 'sms', type: 'sms-aliyun', baseUrl: `${fake.base}/aliyun/`, accessKeyId: CREDENTIALS.aliyun.accessKeyId, accessKeySecretFile: secretFile,
              signName: '示范中学', templates: Object.fromEntries(NOTIFY_EVENTS.map((e) => [e, `SMS_${e.toUpperCase()}`])),
              ratePerMin: 0.2, burst: 1, timeoutMs: 2000,
            },
          ],
        },
      },
    });
    admin = await gw.login('admin');
    client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision');
  });
  afterEach(async () => {
    await gw?.close();
    await fake?.stop();
  });

  it('reach the guardian in the order they were written, though the clock stepped back while they waited', async () => {
    const sentTo = (): string[] => fake.accepted.filter((a) => a.to === '13800138000').map((a) => `${a.template} ${(a.params as { time: string }).time}`);
    // In at 07:39: that message takes the channel's one message of these 5 minutes.
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(() => sentTo().length === 1);
    // Out at 07:39:50 and, after going back in, out again at 07:40:10 (another 10 minutes of the day: a message each).
    clock.set(Date.parse('2026-09-01T07:39:50+08:00'));
    expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
    clock.set(Date.parse('2026-09-01T07:40:00+08:00'));
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    clock.set(Date.parse('2026-09-01T07:40:10+08:00'));
    expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?event=departure')).length === 2);
    clock.set(Date.parse('2026-09-01T07:40:30+08:00'));
    await looks();
    // NTP steps the box back 30 s. Before, the second exit's message (due within the step) was moved back by it, to
    // 07:39:40, ahead of the first's (due at 07:39:50, not moved): the guardian read "left 07:40" before "left 07:39".
    clock.advance(-30_000);
    await looks();
    for (let i = 0; i < 2; i++) {
      clock.advance(5 * 60_000 + 1000);
      await waitFor(() => sentTo().length === 2 + i);
    }
    expect(sentTo()).toEqual(['SMS_ARRIVAL 07:39', 'SMS_DEPARTURE 07:39', 'SMS_DEPARTURE 07:40']);
  });
});
