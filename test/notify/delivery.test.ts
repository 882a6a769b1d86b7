/**
 * Delivery through a real gateway to the fake Alibaba Cloud SMS provider, on a school day the test moves by hand:
 * absence at the cut-off, a TTL that runs out during an outage, an emergency broadcast to 1,000 guardians held to the
 * channel's rate, quiet hours, and numbers that never reach the log.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTIFY_EVENTS } from '../../config/notify.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { CREDENTIALS, FakeProviders } from './fake-providers.js';
import { notifications, settled, tap } from './helpers.js';

// Each test gets its own providers, gateway, clock and log: the tests move the clock, change the provider's mode and add
// guardians, and each used to start from where the one before had left the school day.
let gw: TestGateway;
let fake: FakeProviders;
let client: MqttClient;
let admin: string;
let clock: ManualClock;
let secretDir: string;
let logLines: string[];
const RATE_PER_S = 50;
const BURST = 50;
/** A mainland mobile number, whole: none may reach the log. */
const WHOLE_NUMBER = /(?<!\d)1[3-9]\d{9}(?!\d)/;

const addGuardian = async (externalId: string, phone: string, consent: boolean): Promise<void> => {
  const res = await gw.api(`/api/v1/people/${externalId}/guardians`, { method: 'POST', token: admin, json: { name: '家长', phone, consent } });
  expect(res.status).toBe(201);
};

describe('guardian message delivery', () => {
  beforeEach(async () => {
    // Tuesday 1 September 2026, 07:20 in Shanghai.
    clock = new ManualClock(Date.parse('2026-09-01T07:20:00+08:00'));
    logLines = [];
    fake = await new FakeProviders().start();
    secretDir = tempDir('campus-notify-secret-');
    const secretFile = join(secretDir, 'aliyun');
    writeFileSync(secretFile, CREDENTIALS.aliyun.secret);
    const botKeyFile = join(secretDir, 'bot');
    writeFileSync(botKeyFile, CREDENTIALS.wecom.botKey);
    const lines = logLines;
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    gw = await startTestGateway({
      demo: true,
      clock,
      log,
      config: {
        notify: {
          guardianChannel: 'sms',
          staffChannel: 'staff',
          quietHours: { from: '21:00', to: '06:30' },
          retry: { initialMs: 60_000, maxMs: 60_000 },
          pollMs: 50,
          channels: [
            {
              id: 'sms', type: 'sms-aliyun', baseUrl: `${fake.base}/aliyun/`, accessKeyId: CREDENTIALS.aliyun.accessKeyId, accessKeySecretFile: secretFile,
              signName: '示范中学', templates: Object.fromEntries(NOTIFY_EVENTS.map((e) => [e, `SMS_${e.toUpperCase()}`])),
              ratePerMin: RATE_PER_S * 60, burst: BURST, timeoutMs: 2000,
            },
            { id: 'staff', type: 'wecom-bot', baseUrl: `${fake.base}/wecom`, keyFile: botKeyFile, timeoutMs: 2000 },
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
    rmSync(secretDir, { recursive: true, force: true });
    // Whatever a test made the gateway log (failures echoing the provider's reason among it), no number is whole.
    expect(logLines.join('')).not.toMatch(WHOLE_NUMBER);
  });

  it('at the cut-off plus grace, tells the guardians of unexcused absentees only', async () => {
    await addGuardian('S20250004', '13600136004', false);
    await addGuardian('S20250005', '13600136005', true);
    fake.badNumbers.add('13600136005');
    const excuse = await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: admin, json: { externalId: 'S20250002', date: '2026-09-01', reason: '看牙医' } });
    expect(excuse.status).toBe(201);
    expect(await notifications(gw, admin, '?event=absent')).toEqual([]);

    clock.set(Date.parse('2026-09-01T08:06:00+08:00'));
    const items = await waitFor(async () => {
      const list = await notifications(gw, admin, '?event=absent&channel=sms');
      return list.length >= 3 && list.every((i) => i.status !== 'queued') ? list : null;
    });
    const byTo = Object.fromEntries(items.map((i) => [i.to, i]));
    expect(Object.keys(byTo).sort()).toEqual(['136****6004', '136****6005', '138****8000']);
    expect(byTo['138****8000']).toMatchObject({ status: 'sent' });
    expect(byTo['136****6004']).toMatchObject({ status: 'suppressed', reason: 'no_consent' });
    // The provider echoed the number in its reason; the gateway keeps it masked.
    expect(byTo['136****6005']).toMatchObject({ status: 'failed', reason: expect.stringContaining('isv.MOBILE_NUMBER_ILLEGAL') });
    expect(byTo['136****6005']!.reason).toContain('136****6005');
    expect(fake.accepted.filter((a) => a.template === 'SMS_ABSENT').map((a) => a.to)).toEqual(['13800138000']);

    // Staff get one digest per class on the group bot: 李明 is in 初一(1)班's, the excused 王芳 in none.
    const digests = await waitFor(() => {
      const d = fake.accepted.filter((a) => a.provider === 'wecom-bot');
      return d.length === 12 ? d : null;
    });
    const first = digests.find((d) => d.text?.includes('初一(1)班'))!;
    expect(first.text).toContain('李明');
    // As many as the register counts absent in that class: the excused 王芳 is not among them.
    const cls = (await (await gw.api(`/api/v1/attendance/classes/${encodeURIComponent('初一(1)班')}?date=2026-09-01`, { token: admin })).json()) as {
      people: { externalId: string; status: string }[];
    };
    const absentees = cls.people.filter((p) => p.status === 'absent');
    expect(absentees.map((p) => p.externalId)).not.toContain('S20250002');
    expect(first.text).toContain(`: ${absentees.length} 未到校`);
  });

  it('one number at its provider limit waits alone: the school\'s other messages go at once', async () => {
    // A guardian of five children: five arrivals to one number, which the provider limits to one a minute.
    const children = ['S20250003', 'S20250004', 'S20250005', 'S20250006'];
    for (const c of children) await addGuardian(c, '13800138000', true);
    fake.limitedNumbers.add('13800138000');
    const uidOf = async (externalId: string): Promise<string> =>
      ((await (await gw.api(`/api/v1/people?externalId=${externalId}`, { token: admin })).json()) as { items: { cards: { uid: string }[] }[] }).items[0]!.cards[0]!.uid;
    for (const c of ['S20250001', ...children]) expect(await tap(client, 'demo-gate-in', await uidOf(c))).toMatchObject({ granted: true });
    // Then other families' children, whose numbers are not limited.
    const others = ['S20250007', 'S20250008', 'S20250009'];
    for (const [i, c] of others.entries()) {
      await addGuardian(c, `1360013600${i}`, true);
      expect(await tap(client, 'demo-gate-in', await uidOf(c))).toMatchObject({ granted: true });
    }
    // Before, the channel paused a minute (and longer) at each limited answer, and the clock does not move here.
    await waitFor(() => others.every((_, i) => fake.accepted.some((a) => a.to === `1360013600${i}`)), 10_000);
    const limited = (await notifications(gw, admin, '?event=arrival')).filter((n) => n.to === '138****8000');
    expect(limited.length).toBe(5);
    expect(limited.every((n) => n.status === 'queued')).toBe(true);
    // A minute later the number is let through again.
    fake.limitedNumbers.clear();
    clock.advance(61_000);
    await waitFor(async () => (await notifications(gw, admin, '?event=arrival')).filter((n) => n.to === '138****8000' && n.status === 'sent').length === 5, 10_000);
  });

  it('drops a late message as expired when the provider is down past its time to live', async () => {
    // Past every group's arrival cut-off (07:50 at the latest), before the absence check at 08:05.
    clock.set(Date.parse('2026-09-01T07:55:00+08:00'));
    admin = await gw.login('admin');
    fake.mode = '5xx';
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    const [tried] = await waitFor(async () => {
      const l = await notifications(gw, admin, '?event=late');
      return l.length === 1 && l[0]!.attempts >= 1 ? l : null;
    });
    expect(tried).toMatchObject({ status: 'queued', reason: expect.stringContaining('503') });
    clock.advance(31 * 60_000);
    const [expired] = await settled(gw, admin, '?event=late');
    expect(expired).toMatchObject({ status: 'expired', reason: expect.stringContaining('503') });
    fake.mode = 'ok';
    expect(fake.accepted.filter((a) => a.template === 'SMS_LATE')).toEqual([]);
  });

  it('sends an emergency broadcast to 1,000 guardians, never faster than the channel allows', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `E${1000 + i},学生${i},家长${i},139${String(10_000_000 + i).slice(0, 8)},是`);
    const res = await gw.api('/api/v1/people/import', {
      method: 'POST', token: admin, headers: { 'content-type': 'text/csv' }, body: ['学号,姓名,监护人,监护人电话,通知', ...rows].join('\n'),
    });
    expect(res.status).toBe(200);
    await addGuardian('S20250004', '13600136004', false);
    await addGuardian('S20250005', '13600136005', true);
    fake.badNumbers.add('13600136005');
    // Requests, accepted or not (one number is refused as invalid).
    const sentEmergency = (): number => fake.aliyunTemplates.filter((t) => t === 'SMS_EMERGENCY').length;
    const started = clock.now();
    const broadcast = await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: admin, json: { text: '校园临时封闭，请勿来校接送。' } });
    expect(broadcast.status).toBe(202);
    // 1,000 imported, 李明's and 王芳's consenting guardians, S20250005's; 王军 and S20250004's have not consented.
    expect(((await broadcast.json()) as { queued: number }).queued).toBe(1005);
    for (;;) {
      const allowed = BURST + RATE_PER_S * ((clock.now() - started) / 1000);
      // The clock stands still while the sender works: what it sends now is what the bucket holds.
      const reached = await waitFor(() => (sentEmergency() >= Math.min(allowed, 1003) ? sentEmergency() : null), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${sentEmergency()} sent, ${allowed} allowed`);
      });
      expect(reached).toBeLessThanOrEqual(allowed);
      if (reached >= 1003) break;
      clock.advance(1000);
    }
    const final = await settled(gw, admin, '?event=emergency&limit=500');
    expect(final.every((i) => i.status !== 'queued')).toBe(true);
    // 1,002 accepted, S20250005's bad number failed; each guardian once.
    expect(new Set(fake.accepted.filter((a) => a.template === 'SMS_EMERGENCY').map((a) => a.to)).size).toBe(1002);
  }, 300_000);

  it('keeps sending after the clock is set back (NTP on a box without a real-time clock)', async () => {
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(() => fake.accepted.some((a) => a.template === 'SMS_ARRIVAL'), 10_000);
    // The box had run 50 minutes fast; NTP brings it back. The next family's message must not wait those 50 minutes.
    clock.set(Date.parse('2026-09-01T06:40:00+08:00'));
    await addGuardian('S20250003', '13600136003', true);
    const uid = ((await (await gw.api('/api/v1/people?externalId=S20250003', { token: admin })).json()) as { items: { cards: { uid: string }[] }[] }).items[0]!.cards[0]!.uid;
    expect(await tap(client, 'demo-gate-in', uid)).toMatchObject({ granted: true });
    await waitFor(() => fake.accepted.some((a) => a.template === 'SMS_ARRIVAL' && a.to === '13600136003'), 10_000);
  });

  /**
   * Moves the clock on a second at a time, as a real one goes, giving the sender (polling every 50 ms) a few looks at
   * each second, until `done`; how far it moved. The first look is at the clock as the test left it.
   */
  const runClockUntil = async (done: () => boolean, limitMs: number): Promise<number> => {
    for (let moved = 0; ; moved += 1000) {
      await new Promise((r) => setTimeout(r, 150));
      if (done()) return moved;
      if (moved >= limitMs) throw new Error(`not done ${limitMs / 1000} s after the step`);
      clock.advance(1000);
    }
  };

  it('retries a message when its wait is over, not the wait plus a step the clock took back', async () => {
    // The provider limits 李明's guardian's number: the message is to be tried again in a minute (the channel is not paused).
    fake.limitedNumbers.add('13800138000');
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?event=arrival')).some((n) => n.attempts === 1), 10_000);
    fake.limitedNumbers.clear();
    // The box had run 50 minutes fast; NTP steps it back. Before, the retry waited 50 minutes and a minute.
    clock.advance(-50 * 60_000);
    const moved = await runClockUntil(() => fake.accepted.some((a) => a.template === 'SMS_ARRIVAL' && a.to === '13800138000'), 90_000);
    expect(moved).toBeGreaterThanOrEqual(60_000);
    expect(moved).toBeLessThanOrEqual(63_000);
  }, 60_000);

  it('takes a clock that jitters back by milliseconds in its stride: no warning, no move of the queue, at each', async () => {
    fake.limitedNumbers.add('13800138000');
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?event=arrival')).some((n) => n.attempts === 1), 10_000);
    const stepped = (): number => logLines.filter((l) => l.includes('the clock went back')).length;
    // A virtual machine's or a cheap board's clock read twice can go back a few milliseconds; NTP steps only past
    // 128 ms (ntpd) or a second (chrony). Before, each such reading was a warning and an UPDATE of every queued row.
    for (let i = 0; i < 10; i++) {
      clock.advance(-3);
      await new Promise((r) => setTimeout(r, 60));
      clock.advance(5);
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(stepped()).toBe(0);
    // A real step is still said, once.
    clock.advance(-50 * 60_000);
    await waitFor(() => stepped() === 1, 2000);
  });

  it('resumes a paused channel when its pause is over, not the pause plus a step the clock took back', async () => {
    // The provider is down: the channel pauses 30–60 s (retry 60 s, drawn from the upper half), the message too.
    fake.mode = '5xx';
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?event=arrival')).some((n) => n.attempts === 1), 10_000);
    fake.mode = 'ok';
    clock.advance(-50 * 60_000);
    // Another child arrives after the step: due at once, but the channel is still paused, for what is left of its pause.
    await addGuardian('S20250003', '13600136003', true);
    const uid = ((await (await gw.api('/api/v1/people?externalId=S20250003', { token: admin })).json()) as { items: { cards: { uid: string }[] }[] }).items[0]!.cards[0]!.uid;
    expect(await tap(client, 'demo-gate-in', uid)).toMatchObject({ granted: true });
    const sent = (to: string): boolean => fake.accepted.some((a) => a.template === 'SMS_ARRIVAL' && a.to === to);
    const moved = await runClockUntil(() => sent('13600136003') && sent('13800138000'), 90_000);
    expect(moved).toBeGreaterThanOrEqual(30_000);
    expect(moved).toBeLessThanOrEqual(63_000);
  }, 60_000);

  it('suppresses messages in quiet hours', async () => {
    // In at 07:20, out at 22:10.
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    clock.set(Date.parse('2026-09-01T22:10:00+08:00'));
    admin = await gw.login('admin'); // the morning's session has expired
    expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
    const [departure] = await settled(gw, admin, '?event=departure');
    expect(departure).toMatchObject({ status: 'suppressed', reason: 'quiet_hours', to: '138****8000' });
    expect(fake.accepted.filter((a) => a.template === 'SMS_DEPARTURE')).toEqual([]);
  });

  it('never writes a whole mobile number to the log, even when the provider echoes it back', async () => {
    // 李明's guardian's number is refused as invalid, and the provider's answer names it ("非法手机号 13800138000").
    fake.badNumbers.add('13800138000');
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    const [failed] = await settled(gw, admin, '?person=S20250001&event=arrival');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringContaining('138****8000') });
    const log = logLines.join('');
    expect(log).toContain('notification not delivered');
    expect(log).toContain('138****8000');
    expect(log).not.toMatch(WHOLE_NUMBER);
  });
});
