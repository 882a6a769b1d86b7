/** A channel that keeps failing raises `notify_failing` after 10 minutes, resolved by the next success; metrics count it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { ManualClock } from '../../gateway/core/clock.js';
import { HeldMessages, type HeldMessage } from '../../gateway/notify/held.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { SentUnrecorded } from '../../gateway/notify/unrecorded.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { CREDENTIALS, FakeProviders } from './fake-providers.js';
import { notifications, settled, tap } from './helpers.js';

let gw: TestGateway;
let fake: FakeProviders;
let client: MqttClient;
let admin: string;
let clock: ManualClock;

interface Alert {
  type: string;
  status: string;
  source: string;
}
const alerts = async (): Promise<Alert[]> => {
  const body = (await (await gw.api('/api/v1/alerts?type=notify_failing', { token: admin })).json()) as { items?: Alert[] } | Alert[];
  return Array.isArray(body) ? body : body.items ?? [];
};

/** The demo school on a WeCom application channel to the fake provider, 李明's guardian on WeCom as li-qiang. */
async function startSchool(): Promise<void> {
  clock = new ManualClock(Date.parse('2026-09-01T07:20:00+08:00'));
  fake = await new FakeProviders().start();
  const key = join(tempDir('campus-notify-bot-'), 'key');
  writeFileSync(key, CREDENTIALS.wecom.corpSecret);
  gw = await startTestGateway({
    demo: true,
    clock,
    config: {
      notify: {
        guardianChannel: 'wx',
        retry: { initialMs: 60_000, maxMs: 60_000 },
        pollMs: 50,
        channels: [{ id: 'wx', type: 'wecom-app', baseUrl: `${fake.base}/wecom`, corpId: CREDENTIALS.wecom.corpId, corpSecretFile: key, agentId: CREDENTIALS.wecom.agentId, timeoutMs: 2000 }],
      },
    },
  });
  admin = await gw.login('admin');
  client = await gw.mqttClient();
  await client.subscribeAsync('campus/readers/+/decision');
  // 李明's guardian also uses WeCom.
  const list = (await (await gw.api('/api/v1/people/S20250001/guardians', { token: admin })).json()) as { guardians: { id: number }[] };
  const res = await gw.api(`/api/v1/people/S20250001/guardians/${list.guardians[0]!.id}`, { method: 'PATCH', token: admin, json: { wecomUser: 'li-qiang' } });
  expect(res.status).toBe(200);
  // Changing one field leaves consent as it was.
  expect(await res.json()).toMatchObject({ wecomUser: 'li-qiang', consent: true });
}

async function stopSchool(): Promise<void> {
  await gw?.close();
  await fake?.stop();
}

describe('a failing channel', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('raises notify_failing after 10 minutes of throttling, and resolves it when a message goes through', async () => {
    fake.mode = 'throttle';
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, "?person=S20250001"))[0]?.attempts === 1);
    // Each minute the channel tries again and is throttled again.
    for (let minute = 1; minute <= 10; minute++) {
      clock.advance(60_000);
      await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]!.attempts === minute + 1);
    }
    const raised = await waitFor(async () => (await alerts()).find((a) => a.type === 'notify_failing' && a.status !== 'resolved'));
    expect(raised.source).toBe('notify:wx');

    fake.mode = 'ok';
    clock.advance(60_000);
    const [item] = await settled(gw, admin, '?person=S20250001');
    expect(item).toMatchObject({ status: 'sent', channel: 'wx', to: '138****8000' });
    expect(fake.accepted).toEqual([expect.objectContaining({ provider: 'wecom-app', to: 'li-qiang' })]);
    await waitFor(async () => (await alerts()).every((a) => a.status === 'resolved'));

    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    expect(metrics).toMatch(/campus_notify_messages_total\{channel="wx",status="retried"\} 11/);
    expect(metrics).toMatch(/campus_notify_messages_total\{channel="wx",status="sent"\} 1/);
  });

});

// A school of its own: its clock steps back.
describe('a failing channel when the clock steps back', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('raises notify_failing after 10 minutes of failing, though the clock went back 50 minutes meanwhile', async () => {
    fake.mode = 'throttle';
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]?.attempts === 1);
    // The box had run 50 minutes fast and NTP steps it back; the sender (looking every 50 ms) reads the clock before it
    // moves on, as it would a real one.
    clock.advance(-50 * 60_000);
    await new Promise((r) => setTimeout(r, 150));
    for (let minute = 1; minute <= 10; minute++) {
      clock.advance(60_000);
      await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]!.attempts === minute + 1);
    }
    // Before, by its clock the channel had failed for 10 minutes less the 50 of the step, and the alert waited 50 more.
    const raised = await waitFor(async () => (await alerts()).find((a) => a.type === 'notify_failing' && a.status !== 'resolved'));
    expect(raised.source).toBe('notify:wx');
  });
});

// A school of its own: its clock steps forward.
describe('a failing channel when the clock steps forward', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('does not count the step as time failing: notify_failing after 10 minutes of failing, not at the next failure', async () => {
    fake.mode = 'throttle';
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]?.attempts === 1);
    // The box had run 20 minutes slow (it booted with an old date) and NTP steps it forward: no time passed.
    clock.step(20 * 60_000);
    await new Promise((r) => setTimeout(r, 150));
    // Throttled a few minutes more: failing for 3 minutes. Before, for 23, and notify_failing was raised at once.
    for (let minute = 1; minute <= 3; minute++) {
      clock.advance(60_000);
      await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]!.attempts >= minute + 1);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await alerts()).toEqual([]);
    // Ten minutes of failing are ten minutes: raised then.
    for (let minute = 4; minute <= 11; minute++) {
      clock.advance(60_000);
      await new Promise((r) => setTimeout(r, 150));
    }
    const raised = await waitFor(async () => (await alerts()).find((a) => a.type === 'notify_failing' && a.status !== 'resolved'));
    expect(raised.source).toBe('notify:wx');
  });
});

// A school of its own: the test changes the guardian's row, which the test above reads (the order is shuffled).
describe("a guardian's WeCom user id", () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it("never sends to WeCom's @all (every member of the app) nor to a list of users, whatever a guardian's row says", async () => {
    // An attacker review (2026-12-07): a guardian's WeCom user id was checked as letters, digits and _.@-, so `@all`
    // was taken, and WeCom's message/send reads `touser: "@all"` as every member of the application: each arrival
    // and departure of the child went to every parent and teacher using it. A WeCom user id starts with a letter or
    // a digit (WeCom's user/create); `|` separates several.
    fake.mode = 'ok';
    const list = (await (await gw.api('/api/v1/people/S20250001/guardians', { token: admin })).json()) as { guardians: { id: number }[] };
    const id = list.guardians[0]!.id;
    for (const wecomUser of ['@all', '@all|li-qiang', '.x', '-x', '_x']) {
      const res = await gw.api(`/api/v1/people/S20250001/guardians/${id}`, { method: 'PATCH', token: admin, json: { wecomUser } });
      expect([wecomUser, res.status]).toEqual([wecomUser, 400]);
    }
    // A row an older version let through, as it is in the database: the message fails, naming why; nothing goes.
    gw.ctx.db.prepare('UPDATE guardians SET wecom_user = ? WHERE id = ?').run('@all', id);
    const before = fake.accepted.length;
    const sent = await gw.api('/api/v1/notifications/test', { method: 'POST', token: admin, json: { externalId: 'S20250001', guardianId: id } });
    expect(sent.status).toBeLessThan(300);
    const [item] = await settled(gw, admin, '?person=S20250001&event=test');
    expect(item).toMatchObject({ status: 'failed', reason: expect.stringContaining('not a WeCom user id') });
    expect(fake.accepted.slice(before)).toEqual([]);
  });
});

// A school of its own: its database refuses a write.
describe('a database that refuses to record a sent message', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('keeps the gateway running and records the message sent once the write goes through, not never', async () => {
    // A disk that filled up (a year of clips and logs on one SD card) refuses the UPDATE that marks the message sent,
    // after the provider took it. Before, that error rejected a promise nothing handled, and Node ends a process on
    // that: every gate stopped for one guardian's message. A trigger is SQLite failing the write as a full disk does.
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      fake.mode = 'ok';
      gw.ctx.db.exec(`CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON notify_outbox WHEN NEW.status = 'sent'
                      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
      await waitFor(() => fake.accepted.length === 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(rejections).toEqual([]);
      // The gateway still decides taps.
      expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
      // The row stayed queued: once the disk takes writes again it is recorded sent (the test below: not sent again
      // meanwhile; after a restart before that it would go again, twice rather than never).
      gw.ctx.db.exec('DROP TRIGGER refuse_sent');
      clock.advance(60_000);
      const items = await settled(gw, admin, '?person=S20250001');
      expect(items.every((i) => i.status === 'sent')).toBe(true);
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});

// A school of its own: its database refuses a write for a while.
describe('a database that keeps refusing to record a sent message', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('does not send the message again each time its lease runs out, and records it once the write goes through', async () => {
    fake.mode = 'ok';
    gw.ctx.db.exec(`CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON notify_outbox WHEN NEW.status = 'sent'
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
      await waitFor(() => fake.accepted.length === 1);
      // The disk stays full for a minute: the row stays queued under its lease (7 s), which runs out again and again.
      // Before, each time it did the guardian was sent the same message again: eight of them in that minute.
      for (let s = 0; s < 60; s += 5) {
        clock.advance(5000);
        await new Promise((r) => setTimeout(r, 150));
      }
      expect(fake.accepted).toHaveLength(1);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER IF EXISTS refuse_sent');
    }
    clock.advance(5000);
    const items = await settled(gw, admin, '?person=S20250001');
    expect(items.map((i) => i.status)).toEqual(['sent']);
    expect(fake.accepted).toHaveLength(1);
  });
});

// Its own database: a unit of the sender's memory of messages sent but not recorded, on real outbox rows.
describe('sent messages whose "sent" the database refuses, in memory', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('are at most so many (no send starts that could take them past it), and recorded in order once the disk has room', () => {
    const db = gw.ctx.db;
    const outbox = new Outbox(db);
    // Rows of a channel the sender does not have: it leaves them alone.
    const row = (key: string): number => {
      outbox.enqueueStaff({ event: 'test', channel: 'elsewhere', dedupKey: key, data: { at: clock.now() }, now: clock.now(), expiresAt: clock.now() + 60_000 });
      return (db.prepare('SELECT id FROM notify_outbox WHERE dedup_key = ?').get(key) as { id: number }).id;
    };
    const [a, b] = [row('unrecorded-a'), row('unrecorded-b')];
    const unrecorded = new SentUnrecorded(new Registry(), 3, db);
    // What the sender reads: due, unless kept here (still queued, they are neither sent again nor hold anything back).
    const due = (): number[] => outbox.due('elsewhere', clock.now(), 50, unrecorded).map((r) => r.id);
    expect(due()).toEqual([a, b]);
    unrecorded.add(a, 'elsewhere');
    expect(due()).toEqual([b]);
    unrecorded.add(b, 'elsewhere');
    // Two kept and one on the wire: a fourth send could end here too, and one would have to be forgotten (sent again).
    expect([unrecorded.room(0), unrecorded.room(1)]).toEqual([true, false]);
    expect(due()).toEqual([]);
    const status = (id: number): string => (db.prepare('SELECT status FROM notify_outbox WHERE id = ?').get(id) as { status: string }).status;
    const finish = (id: number): void => outbox.finish(id, 'sent', null, clock.now());
    let recorded = 0;
    db.exec(`CREATE TRIGGER refuse_b BEFORE UPDATE OF status ON notify_outbox WHEN NEW.id = ${b}
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      expect(() => unrecorded.record(finish, () => recorded++)).toThrow('database or disk is full');
      // One transaction for both (a chunk of RECORD_CHUNK, unrecorded.ts): neither is recorded, both wait. One commit a
      // row held the event loop, every gate's answer with it, for 0.46 s for 10,000 (6.6 s with synchronous full).
      expect([status(a), status(b), recorded, unrecorded.size, due()]).toEqual(['queued', 'queued', 0, 2, []]);
    } finally {
      db.exec('DROP TRIGGER IF EXISTS refuse_b');
    }
    unrecorded.record(finish, () => recorded++);
    expect([status(a), status(b), recorded, unrecorded.size, due()]).toEqual(['sent', 'sent', 2, 0, []]);
  });
});

// A school of its own: its database refuses the alert.
describe('a failing channel whose notify_failing the database refuses', () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('raises notify_failing once the disk takes writes again, not never', async () => {
    // The sender marked the channel alerted before the raise: refused (a full disk), the alert was never raised
    // afterwards, however long the channel kept failing.
    fake.mode = 'throttle';
    gw.ctx.db.exec("CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]?.attempts === 1);
    for (let minute = 1; minute <= 10; minute++) {
      clock.advance(60_000);
      await waitFor(async () => (await notifications(gw, admin, '?person=S20250001'))[0]!.attempts === minute + 1);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await alerts()).toEqual([]);
    gw.ctx.db.exec('DROP TRIGGER refuse_alerts');
    const raised = await waitFor(async () => (await alerts()).find((a) => a.type === 'notify_failing' && a.status !== 'resolved'));
    expect(raised.source).toBe('notify:wx');
  });
});

// A school of its own: its database refuses to queue a message.
describe("a lost card's message the database refuses to queue", () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('is kept in memory and sent once the disk takes writes again, not only logged', async () => {
    // The card is reported lost as the disk fills up: the card's row is written, the guardians' message is refused.
    // Before, the refusal was logged by the bus and the guardians, who were promised that message, never had it.
    fake.mode = 'ok';
    const before = fake.accepted.length;
    gw.ctx.db.exec(`CREATE TRIGGER refuse_outbox BEFORE INSERT ON notify_outbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      const security = await gw.login('security');
      expect((await gw.api('/api/v1/cards/0A1B2C3D/lost', { method: 'POST', token: security, json: {} })).status).toBe(200);
      // Still refused at the next retries (one a second).
      await new Promise((r) => setTimeout(r, 2500));
      expect(await notifications(gw, admin, '?person=S20250001&event=card_lost')).toEqual([]);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER IF EXISTS refuse_outbox');
    }
    const [item] = await settled(gw, admin, '?person=S20250001&event=card_lost');
    expect(item).toMatchObject({ status: 'sent', to: '138****8000' });
    expect(fake.accepted.slice(before)).toEqual([expect.objectContaining({ provider: 'wecom-app', to: 'li-qiang' })]);
    // Counted: kept once, queued once, none waiting now.
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_notify_held_messages_total\{event="card_lost"\} 1/);
    expect(metrics).toMatch(/campus_notify_held_queued_total\{event="card_lost"\} 1/);
    expect(metrics).toMatch(/campus_notify_held_messages 0/);
  });

  it('keeps at most so many, and lets one go whose time to live ran out while still refused', async () => {
    const db = gw.ctx.db;
    const personId = (db.prepare('SELECT id FROM persons WHERE external_id = ?').get('S20250001') as { id: number }).id;
    const held = new HeldMessages({ db, outbox: new Outbox(db), clock, log: gw.ctx.log, metrics: new Registry(), max: 2 });
    const message = (key: string, ttlMs: number): HeldMessage => ({
      event: 'test', personId, channel: 'wx', dedupKey: key, data: { at: clock.now() }, now: clock.now(), expiresAt: clock.now() + ttlMs,
    });
    db.exec(`CREATE TRIGGER refuse_outbox BEFORE INSERT ON notify_outbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      expect([held.enqueue(message('a', 60_000)), held.enqueue(message('b', 3_600_000)), held.enqueue(message('c', 3_600_000))]).toEqual([true, true, false]);
      expect(held.retry()).toBe(0);
      expect(held.pending).toBe(2);
      // Refused past its time to live, the first goes (it would only have been dropped as expired); the next waits.
      clock.advance(61_000);
      expect(held.retry()).toBe(0);
      expect(held.pending).toBe(1);
    } finally {
      db.exec('DROP TRIGGER IF EXISTS refuse_outbox');
    }
    expect(held.retry()).toBe(1);
    expect(held.pending).toBe(0);
    expect(db.prepare("SELECT dedup_key FROM notify_outbox WHERE dedup_key LIKE 'b:%'").all()).toHaveLength(1);
    // Sent before the test ends: the other test of this school counts what the provider took.
    await settled(gw, admin, '?person=S20250001&event=test');
  });

  it('queues those kept a chunk a transaction once the disk has room: a refused one keeps its chunk waiting, in order', async () => {
    const db = gw.ctx.db;
    const personId = (db.prepare('SELECT id FROM persons WHERE external_id = ?').get('S20250001') as { id: number }).id;
    const metrics = new Registry();
    const held = new HeldMessages({ db, outbox: new Outbox(db), clock, log: gw.ctx.log, metrics, max: 10 });
    const message = (key: string, ttlMs: number): HeldMessage => ({
      event: 'test', personId, channel: 'wx', dedupKey: key, data: { at: clock.now() }, now: clock.now(), expiresAt: clock.now() + ttlMs,
    });
    const queued = (): string[] =>
      (db.prepare("SELECT dedup_key AS k FROM notify_outbox WHERE dedup_key LIKE 'chunk-%' ORDER BY id").all() as { k: string }[]).map((r) => r.k.split(':')[0]!);
    db.exec(`CREATE TRIGGER refuse_outbox BEFORE INSERT ON notify_outbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      for (const [key, ttl] of [['chunk-a', 3_600_000], ['chunk-b', 60_000], ['chunk-c', 3_600_000]] as const) {
        expect(held.enqueue(message(key, ttl))).toBe(true);
      }
    } finally {
      db.exec('DROP TRIGGER IF EXISTS refuse_outbox');
    }
    // The disk takes writes again, all but the second message's (a trigger fails it as a full disk does).
    db.exec(`CREATE TRIGGER refuse_second BEFORE INSERT ON notify_outbox WHEN NEW.dedup_key LIKE 'chunk-b:%'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      // One transaction for the chunk (held.ts): nothing is queued, all three wait. Before, the first went alone, one
      // commit each: 10,000 kept held the event loop, every gate's answer with it, as unrecorded.ts's did.
      expect([held.retry(), held.pending, queued()]).toEqual([0, 3, []]);
      // The second's time to live runs out while it is still refused: it goes (dropped as expired, it would only
      // expire), and the others go together in that chunk's transaction, in the order kept.
      clock.advance(61_000);
      expect([held.retry(), held.pending, queued()]).toEqual([2, 0, ['chunk-a', 'chunk-c']]);
    } finally {
      db.exec('DROP TRIGGER IF EXISTS refuse_second');
    }
    const counted = await metrics.metrics();
    expect(counted).toMatch(/campus_notify_held_dropped_total\{event="test",reason="expired"\} 1/);
    expect(counted).toMatch(/campus_notify_held_queued_total\{event="test"\} 2/);
    // Sent before the test ends: the other tests of this school count what the provider took.
    await settled(gw, admin, '?person=S20250001&event=test');
  });
});

// A school of its own: its database refuses to queue a tap's message.
describe("a tap's message the database refuses to queue", () => {
  beforeAll(startSchool);
  afterAll(stopSchool);

  it('is kept in memory behind those already kept, and sent in order once the disk takes writes again', async () => {
    // Only the outbox's INSERT is refused: the taps and the card's row are written. Before, the arrival and the lost
    // card's use (queued in the tap's own transaction) were counted, logged and lost; only the lost card's report,
    // queued from the bus, was kept.
    fake.mode = 'ok';
    const before = fake.accepted.length;
    gw.ctx.db.exec(`CREATE TRIGGER refuse_outbox BEFORE INSERT ON notify_outbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
      // Out and in again: the day's arrival is kept once, as the outbox keeps it once.
      clock.advance(30_000);
      expect(await tap(client, 'demo-gate-out', '0A1B2C3D')).toMatchObject({ granted: true });
      clock.advance(30_000);
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
      const security = await gw.login('security');
      clock.advance(60_000);
      expect((await gw.api('/api/v1/cards/0A1B2C3D/lost', { method: 'POST', token: security, json: {} })).status).toBe(200);
      clock.advance(60_000);
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'card_lost' });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await notifications(gw, admin, '?person=S20250001')).toEqual([]);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER IF EXISTS refuse_outbox');
    }
    // The three are queued in one go, in the order they were kept (held.retry), and sent one after the other.
    const items = await settled(gw, admin, '?person=S20250001');
    expect(items.map((i) => `${i.event} ${i.status}`).reverse()).toEqual(['arrival sent', 'card_lost sent', 'card_lost sent']);
    const kind = (text = ''): string => (text.includes('被使用') ? 'card_lost_used' : text.includes('挂失') ? 'card_lost' : text.includes('进校') ? 'arrival' : text);
    expect(fake.accepted.slice(before).map((a) => kind(a.text))).toEqual(['arrival', 'card_lost', 'card_lost_used']);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_notify_held_messages_total\{event="arrival"\} 1/);
    expect(metrics).toMatch(/campus_notify_held_messages_total\{event="card_lost"\} 2/);
    expect(metrics).toMatch(/campus_notify_held_messages 0/);
    expect(metrics).not.toMatch(/campus_notify_enqueue_failures_total\{/);
  });
});
