/**
 * One child's messages reach the guardian in the order they were written, through the fake Alibaba Cloud SMS provider
 * (signatures checked): when the clock steps back while they wait for the channel, when the first waits for its retry,
 * and while the first is on the wire (never two of them in flight at once).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTIFY_EVENTS } from '../../config/notify.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { Outbox } from '../../gateway/notify/outbox.js';
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

/** The demo school at 07:39 on a Tuesday, its guardians' channel the fake Aliyun SMS at `ratePerMin`. */
async function startSchool(ratePerMin: number, burst: number, departureTtlS = 1800, notify: Record<string, unknown> = {}): Promise<void> {
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
        retry: { initialMs: 60_000, maxMs: 60_000 },
        events: { departure: { ttlS: departureTtlS } },
        ...notify,
        channels: [
          {
            id: 'sms', type: 'sms-aliyun', baseUrl: `${fake.base}/aliyun/`, accessKeyId: CREDENTIALS.aliyun.accessKeyId, accessKeySecretFile: secretFile,
            signName: '示范中学', templates: Object.fromEntries(NOTIFY_EVENTS.map((e) => [e, `SMS_${e.toUpperCase()}`])),
            ratePerMin, burst, timeoutMs: 2000,
          },
        ],
      },
    },
  });
  admin = await gw.login('admin');
  client = await gw.mqttClient();
  await client.subscribeAsync('campus/readers/+/decision');
}

/** 李明's guardian's number. */
const GUARDIAN = '13800138000';

/** What the provider took for 李明's guardian, as template and time. */
const sentTo = (): string[] => fake.accepted.filter((a) => a.to === GUARDIAN).map((a) => `${a.template} ${(a.params as { time: string }).time}`);

/** Until the provider has been asked `n` times for 李明's arrival message. */
const arrivalTried = (n: number): Promise<unknown> => waitFor(async () => (await notifications(gw, admin, '?event=arrival'))[0]?.attempts === n);

/**
 * 李明 taps in while his guardian's number is at Aliyun's limit per number: his arrival waits for its retry (a minute
 * here). The limit is lifted after that first try unless `stillLimited`.
 */
async function arrivalWaitingForRetry({ stillLimited = false } = {}): Promise<void> {
  fake.limitedNumbers.add(GUARDIAN);
  expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
  await arrivalTried(1);
  if (!stillLimited) fake.limitedNumbers.delete(GUARDIAN);
}

/**
 * The provider holds each request open and never answers (the channel gives up after its 2 s timeout): 李明's arrival
 * is on the wire when he walks out 50 s later, and his departure is queued behind it.
 */
async function departureBehindArrivalOnTheWire(): Promise<void> {
  fake.mode = 'timeout';
  expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
  await waitFor(() => fake.aliyunTemplates.length === 1);
  clock.set(Date.parse('2026-09-01T07:39:50+08:00'));
  expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
  await waitFor(async () => (await notifications(gw, admin, '?event=departure')).length === 1);
}

describe("one child's messages", () => {
  // One message every 5 minutes: what is queued meanwhile waits, due, for the channel.
  beforeEach(() => startSchool(0.2, 1));
  afterEach(async () => {
    await gw?.close();
    await fake?.stop();
  });

  it('reach the guardian in the order they were written, though the clock stepped back while they waited', async () => {
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

describe("one guardian's messages on a channel with room", () => {
  // A channel that could take them all at once: a message a second, five at a time. A departure keeps for two hours,
  // an arrival for half of one (the default).
  beforeEach(() => startSchool(60, 5, 7200));
  afterEach(async () => {
    await gw?.close();
    await fake?.stop();
  });

  it('an "arrived" waiting for its retry reaches the provider before the "left" written after it', async () => {
    await arrivalWaitingForRetry();
    // The child walks out again 50 s later. Before, that message was due at once and the arrival a minute later:
    // the provider had "left 07:39" first, and "arrived 07:39" after it.
    clock.set(Date.parse('2026-09-01T07:39:50+08:00'));
    expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
    await looks();
    expect(sentTo()).toEqual([]);
    clock.advance(61_000);
    await waitFor(() => sentTo().length === 2);
    expect(sentTo()).toEqual(['SMS_ARRIVAL 07:39', 'SMS_DEPARTURE 07:39']);
  });

  it('do not hold back an emergency broadcast: it goes ahead of an "arrived" waiting for its retry', async () => {
    // An emergency is not one of the child's comings and goings: behind an arrival at its number's provider limit it
    // waited up to the arrival's time to live (30 minutes here) to tell the guardian of a lockdown.
    await arrivalWaitingForRetry();
    const res = await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: admin, json: { text: '学校封闭，请勿前来接孩子。' } });
    expect(res.status).toBe(202);
    const templates = (): string[] => fake.accepted.filter((a) => a.to === GUARDIAN).map((a) => a.template ?? '');
    await waitFor(() => templates().includes('SMS_EMERGENCY'), 5000);
    expect(templates()).toEqual(['SMS_EMERGENCY']);
  });

  it('are never in flight together: the "left" waits until the provider answers the "arrived"', async () => {
    await departureBehindArrivalOnTheWire();
    await looks();
    // Before, the departure went out beside the arrival (4 requests in flight per channel), and whichever the
    // provider handled first reached the guardian first.
    expect(fake.aliyunTemplates).toEqual(['SMS_ARRIVAL']);
    // The arrival times out and the channel pauses a minute; then both go, one after the other.
    fake.mode = 'ok';
    await arrivalTried(1);
    expect(fake.aliyunTemplates).toEqual(['SMS_ARRIVAL']);
    clock.advance(61_000);
    await waitFor(() => sentTo().length === 2);
    expect(sentTo()).toEqual(['SMS_ARRIVAL 07:39', 'SMS_DEPARTURE 07:39']);
    expect(fake.aliyunTemplates).toEqual(['SMS_ARRIVAL', 'SMS_ARRIVAL', 'SMS_DEPARTURE']);
  });

  it('are never in flight together, though the first one\'s time to live ran out on the wire', async () => {
    await departureBehindArrivalOnTheWire();
    // The arrival's half hour runs out while the provider still holds it: it no longer holds the departure back in
    // the outbox (it can only expire), and the sender, which knows it is in flight, still does.
    clock.set(Date.parse('2026-09-01T08:09:10+08:00'));
    await looks();
    expect(fake.aliyunTemplates).toEqual(['SMS_ARRIVAL']);
    // The arrival times out, the channel pauses a minute, and then the departure goes: the arrival only expires.
    fake.mode = 'ok';
    await arrivalTried(1);
    clock.advance(61_000);
    await waitFor(() => sentTo().length === 1);
    expect(sentTo()).toEqual(['SMS_DEPARTURE 07:39']);
    expect((await notifications(gw, admin, '?event=arrival'))[0]).toMatchObject({ status: 'expired' });
  });

  it('are held back by an earlier one only until its time to live runs out, not until its next retry', async () => {
    await arrivalWaitingForRetry({ stillLimited: true });
    // Still at the number's limit near the end of its half hour: its next try (2 min) is set past its time to live.
    clock.set(Date.parse('2026-09-01T08:08:30+08:00'));
    await arrivalTried(2);
    fake.limitedNumbers.delete(GUARDIAN);
    clock.set(Date.parse('2026-09-01T08:08:40+08:00'));
    expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
    await looks();
    expect(sentTo()).toEqual([]);
    // The arrival can only expire now; the departure goes. Before, it waited for the arrival's try at 08:10:30.
    clock.set(Date.parse('2026-09-01T08:09:10+08:00'));
    await waitFor(() => sentTo().length === 1, 1000);
    expect(sentTo()).toEqual(['SMS_DEPARTURE 08:08']);
  });

  it('are not held behind one the provider took whose "sent" the database refuses, and none goes twice', async () => {
    // A full disk refuses the UPDATE marking the arrival sent after the provider took it. The row stays queued; the
    // sender knows it went (sender.ts), but Outbox.due held the guardian's next message behind it for as long as the
    // disk stayed full. A trigger is SQLite failing the write as a full disk does.
    gw.ctx.db.exec(`CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON notify_outbox WHEN NEW.status = 'sent'
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
      await waitFor(() => sentTo().length === 1);
      clock.set(Date.parse('2026-09-01T07:40:30+08:00'));
      expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
      await waitFor(() => sentTo().length === 2, 2000);
      // The disk stays full for a minute: the leases (7 s) run out again and again; neither goes again.
      for (let s = 0; s < 60; s += 5) {
        clock.advance(5000);
        await looks();
      }
      expect(sentTo()).toEqual(['SMS_ARRIVAL 07:39', 'SMS_DEPARTURE 07:40']);
      expect((await notifications(gw, admin)).map((i) => i.status)).toEqual(['queued', 'queued']);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER IF EXISTS refuse_sent');
    }
    // The disk has room: both are recorded sent, and still went once each.
    clock.advance(1000);
    await waitFor(async () => (await notifications(gw, admin)).every((i) => i.status === 'sent'));
    await looks();
    expect(sentTo()).toEqual(['SMS_ARRIVAL 07:39', 'SMS_DEPARTURE 07:40']);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_notify_messages_total\{channel="sms",status="sent"\} 2/);
    expect(metrics).toMatch(/campus_notify_sent_unrecorded 0/);
  });

  it('an emergency broadcast is not held behind the guardian\'s message a provider holds open', async () => {
    // The provider holds the arrival's request open and never answers it; the emergency that follows must not wait for
    // that request's timeout (2 s here, 10 s by default, 120 s at most), nor then for the minute's pause it brings.
    fake.mode = 'timeout';
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(() => fake.aliyunTemplates.length === 1);
    fake.mode = 'ok';
    const res = await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: admin, json: { text: '学校封闭，请勿前来接孩子。' } });
    expect(res.status).toBe(202);
    // Before, the sender skipped it while the guardian's arrival was in flight; the arrival timed out, the channel
    // paused a minute, and the emergency went after that.
    await waitFor(() => fake.accepted.some((a) => a.to === GUARDIAN && a.template === 'SMS_EMERGENCY'), 1500);
    // The arrival is still the one request held open, not sent again beside it.
    expect(fake.aliyunTemplates.filter((t) => t === 'SMS_ARRIVAL')).toHaveLength(1);
  });
});

describe('an emergency broadcast at the bound of messages sent but not recorded', () => {
  // At most one message sent whose "sent" the database refused (10,000 by default): the bound is reached at once.
  beforeEach(() => startSchool(60, 5, 7200, { maxSentUnrecorded: 1 }));
  afterEach(async () => {
    await gw?.close();
    await fake?.stop();
  });

  it('still goes, ahead of the other messages that wait at the bound, though 60 of them are due before it', async () => {
    // Sixty more pupils, a consenting guardian each: their absences are due before the broadcast.
    const csv = ['external_id,name,guardian_name,guardian_phone,relation,notify,language'];
    for (let i = 0; i < 60; i++) csv.push(`B${1000 + i},Pupil ${i},Guardian ${i},1350013${String(1000 + i)},mother,yes,zh`);
    const imported = await gw.api('/api/v1/people/import', { method: 'POST', token: admin, headers: { 'content-type': 'text/csv' }, body: csv.join('\n') });
    expect(imported.status).toBe(200);
    // A full disk refuses the UPDATE marking a message sent (a trigger fails it as the disk does): the arrival the
    // provider takes is kept in memory as sent, and that is the bound.
    gw.ctx.db.exec(`CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON notify_outbox WHEN NEW.status = 'sent'
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
      await waitFor(() => sentTo().length === 1);
      // The absence check's messages, queued as it queues them, each to its pupil's guardian.
      const outbox = new Outbox(gw.ctx.db);
      const now = clock.now();
      const pupils = gw.ctx.db.prepare("SELECT id FROM persons WHERE external_id LIKE 'B1%' ORDER BY id").all() as { id: number }[];
      expect(pupils).toHaveLength(60);
      for (const p of pupils) {
        outbox.enqueue(gw.ctx.db, { event: 'absent', personId: p.id, channel: 'sms', dedupKey: `absent:${p.id}:2026-09-01`, data: { at: now }, now, expiresAt: now + 7_200_000 });
      }
      await looks();
      const res = await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: admin, json: { text: '学校封闭，请勿前来接孩子。' } });
      expect(res.status).toBe(202);
      // Before, no send started at the bound, an emergency's neither; and one let past the bound still waited behind
      // the first 50 due rows (the absences), which the bound skips.
      await waitFor(() => fake.accepted.some((a) => a.to === GUARDIAN && a.template === 'SMS_EMERGENCY'), 2000).catch(() => undefined);
      expect(sentTo()).toEqual(['SMS_ARRIVAL 07:39', 'SMS_EMERGENCY 07:39']);
      // The others still wait for the disk: not one absence went.
      expect(fake.aliyunTemplates.filter((t) => t === 'SMS_ABSENT')).toEqual([]);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER IF EXISTS refuse_sent');
    }
  });
});
