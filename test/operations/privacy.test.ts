/**
 * Personal data over time on a real demo gateway: retention pruning on a ManualClock (old rows gone, newer kept, the
 * ledger kept), and the erasure of a person through the API, after which no table holds their name, card or id.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { DEMO_STUDENT } from '../../gateway/people/demo.js';
import { personalDataPruner } from '../../gateway/privacy/retention.js';
import { RetentionClock } from '../../gateway/storage/retention-clock.js';
import { getMeta } from '../../gateway/storage/meta.js';
import type { Database } from '../../gateway/storage/db.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { runBin } from '../helpers/bin.js';
import { nextMessage, startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { notifications, settled } from '../notify/helpers.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
// Tuesday 2027-03-02 10:00 in Shanghai.
const NOW = Date.UTC(2027, 2, 2, 2, 0, 0);
const running: TestGateway[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.close();
});

async function tap(gw: TestGateway, client: MqttClient, readerId: string, uid: string, at: number, extra: Record<string, unknown> = {}) {
  const answer = nextMessage(client, `campus/readers/${readerId}/decision`);
  gw.ctx.bus.emit('tap.received', { readerId, uid, at, ...extra });
  return JSON.parse((await answer).payload.toString()) as { granted: boolean; reason: string };
}
const count = (db: Database, sql: string, ...p: unknown[]): number => (db.prepare(sql).get(...p) as { n: number }).n;

/** The demo school on `clock`, stopped after the test, and a client that hears the readers' decisions. */
async function demoAt(clock: ManualClock): Promise<{ gw: TestGateway; client: MqttClient }> {
  const gw = await startTestGateway({ clock });
  running.push(gw);
  const client = await gw.mqttClient();
  await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
  return { gw, client };
}

describe('retention', () => {
  it('prunes taps, attendance, resolved alerts, remote door opens, commands, guardian messages and expired sessions past their limits, in chunks; keeps newer rows and the ledger', async () => {
    const clock = new ManualClock(NOW - 200 * DAY);
    const { gw, client } = await demoAt(clock);
    const db = gw.ctx.db;

    // 200 days ago: a morning at the gate and a canteen purchase; an alert resolved then; a command; a session.
    const old = clock.now();
    expect((await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, old)).granted).toBe(true);
    for (let i = 1; i <= 24; i++) await tap(gw, client, i % 2 ? 'demo-gate-out' : 'demo-gate-in', DEMO_STUDENT.uid, old + i * 60_000);
    expect((await tap(gw, client, 'demo-canteen-1', DEMO_STUDENT.uid, old + 3_600_000, { amount: 500, seq: 1 })).granted).toBe(true);
    const oldAlert = gw.ctx.alerts.raise({ type: 'old_alert', severity: 'info', source: 'test', message: 'old' });
    gw.ctx.alerts.resolve(oldAlert.id, 'admin');
    const openOld = gw.ctx.alerts.raise({ type: 'open_old', severity: 'info', source: 'test', message: 'still open' });
    db.prepare("INSERT INTO cloud_commands (id, type, origin, status, received_at) VALUES ('c-old', 'block_card', 'city', 'done', ?)").run(old);
    db.prepare("INSERT INTO sessions (token_hash, username, expires_at) VALUES ('expired', 'admin', ?)").run(NOW - DAY);
    const open = db.prepare("INSERT INTO door_opens (at, access_point, readers, by, reason) VALUES (?, 'main-gate', '[]', 'security', ?)");
    open.run(old, 'old');
    // The morning's messages to the student's guardian are in the outbox; and one still queued (a provider down since:
    // kept until it goes).
    const message = db.prepare(
      "INSERT INTO notify_outbox (event, person_id, channel, dedup_key, data, status, next_at, created_at, expires_at) VALUES ('arrival', (SELECT id FROM persons WHERE external_id = ?), 'sms', ?, '{}', ?, ?, ?, ?)",
    );
    message.run(DEMO_STUDENT.externalId, 'old-queued', 'queued', old, old, NOW + DAY);

    // Now: one more day at school, a recent resolved alert, a recent command, a live session.
    clock.set(NOW);
    expect((await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, NOW)).granted).toBe(true);
    const recent = gw.ctx.alerts.raise({ type: 'recent_alert', severity: 'info', source: 'test', message: 'recent' });
    gw.ctx.alerts.resolve(recent.id, 'admin');
    db.prepare("INSERT INTO cloud_commands (id, type, origin, status, received_at) VALUES ('c-new', 'block_card', 'city', 'done', ?)").run(NOW - DAY);
    db.prepare("INSERT INTO sessions (token_hash, username, expires_at) VALUES ('live', 'admin', ?)").run(NOW + DAY);
    open.run(NOW - DAY, 'recent');
    message.run(DEMO_STUDENT.externalId, 'recent-sent', 'sent', NOW - DAY, NOW - DAY, NOW);
    // A lockdown's announcement two months ago, to every guardian: past the messages' 30 days here, within the desk's
    // 150; without it the console would offer to announce a lockdown still on again.
    const broadcast = db.prepare(
      "INSERT INTO notify_outbox (event, person_id, channel, dedup_key, data, status, next_at, created_at, expires_at) VALUES ('emergency', NULL, 'sms', ?, '{}', 'sent', ?, ?, ?)",
    );
    broadcast.run('emergency:lockdown:started:1:g1', NOW - 60 * DAY, NOW - 60 * DAY, NOW - 59 * DAY);
    broadcast.run('emergency:lockdown:started:0:g1', old, old, old + DAY);
    message.run(DEMO_STUDENT.externalId, 'sixty-days-sent', 'sent', NOW - 60 * DAY, NOW - 60 * DAY, NOW - 59 * DAY);

    // The school's own messages (the demo's sink channel) settle first: sent, or expired at NOW; a queued one is kept.
    await waitFor(() => count(db, "SELECT COUNT(*) AS n FROM notify_outbox WHERE status = 'queued' AND channel <> 'sms'") === 0, 10_000);
    const oldMessages = count(db, "SELECT COUNT(*) AS n FROM notify_outbox WHERE created_at < ? AND status <> 'queued' AND event <> 'emergency'", NOW - 30 * DAY);
    expect(oldMessages).toBeGreaterThan(0);
    const oldTaps = count(db, 'SELECT COUNT(*) AS n FROM taps WHERE at < ?', NOW - 180 * DAY);
    expect(oldTaps).toBe(26);
    const ledger = count(db, 'SELECT COUNT(*) AS n FROM wallet_entries');
    const balance = db.prepare('SELECT balance_fen FROM wallet_accounts WHERE person_id = (SELECT id FROM persons WHERE external_id = ?)').get(DEMO_STUDENT.externalId);
    expect(ledger).toBeGreaterThan(0);

    const chunks: number[] = [];
    const pruner = personalDataPruner(db, clock, { ...gw.ctx.config.retention, attendanceDays: 150, alertsDays: 150, commandsDays: 150, notificationsDays: 30, pruneChunkRows: 10 }, 'Asia/Shanghai', (label, n) => {
      if (label === 'taps') chunks.push(n);
    });
    const result = await pruner.prune();
    expect(result).toMatchObject({ taps: 26, attendance_days: 1, alerts: 1, door_opens: 1, commands: 1, notifications: oldMessages, broadcasts: 1 });
    expect(result.sessions).toBeGreaterThanOrEqual(1);
    expect(chunks).toEqual([10, 10, 6]); // in small chunks, not one long delete

    expect(count(db, 'SELECT COUNT(*) AS n FROM taps')).toBe(1);
    expect(count(db, 'SELECT COUNT(*) AS n FROM attendance_days')).toBe(1);
    expect(gw.ctx.alerts.get(recent.id).status).toBe('resolved');
    expect(gw.ctx.alerts.get(openOld.id).status).toBe('open');
    expect(() => gw.ctx.alerts.get(oldAlert.id)).toThrow();
    expect(db.prepare('SELECT id FROM cloud_commands').all()).toEqual([{ id: 'c-new' }]);
    expect(db.prepare('SELECT reason FROM door_opens').all()).toEqual([{ reason: 'recent' }]);
    expect(count(db, "SELECT COUNT(*) AS n FROM notify_outbox WHERE created_at < ? AND dedup_key NOT IN ('old-queued', 'emergency:lockdown:started:1:g1')", NOW - 30 * DAY)).toBe(0);
    expect(db.prepare("SELECT dedup_key FROM notify_outbox WHERE created_at < ? OR dedup_key = 'recent-sent' ORDER BY dedup_key").all(NOW - 30 * DAY))
      .toEqual([{ dedup_key: 'emergency:lockdown:started:1:g1' }, { dedup_key: 'old-queued' }, { dedup_key: 'recent-sent' }]);
    expect(db.prepare("SELECT token_hash FROM sessions WHERE token_hash IN ('live', 'expired')").all()).toEqual([{ token_hash: 'live' }]);
    // The ledger is a financial record: every entry and the balance stay.
    expect(count(db, 'SELECT COUNT(*) AS n FROM wallet_entries')).toBe(ledger);
    expect(db.prepare('SELECT balance_fen FROM wallet_accounts WHERE person_id = (SELECT id FROM persons WHERE external_id = ?)').get(DEMO_STUDENT.externalId)).toEqual(balance);

    // A second pass finds nothing more.
    expect(await pruner.prune()).toMatchObject({ taps: 0, attendance_days: 0, alerts: 0, door_opens: 0, commands: 0, notifications: 0, broadcasts: 0, sessions: 0 });
  });
});

/** The demo school at NOW, with `n` taps of the demo student at the gate a minute apart, and a count of all taps. */
async function tapsAtNow(n: number): Promise<{ clock: ManualClock; gw: TestGateway; client: MqttClient; db: Database; taps: () => number }> {
  const clock = new ManualClock(NOW);
  const { gw, client } = await demoAt(clock);
  for (let i = 0; i < n; i++) await tap(gw, client, i % 2 ? 'demo-gate-out' : 'demo-gate-in', DEMO_STUDENT.uid, NOW + i * 60_000);
  const db = gw.ctx.db;
  return { clock, gw, client, db, taps: () => count(db, 'SELECT COUNT(*) AS n FROM taps') };
}

describe('retention on a clock nobody can confirm', () => {
  it('deletes by the time the gateway has run, not by a clock a year ahead, nor by a tap that clock stamped', async () => {
    // A school IT review: a Pi that booted 400 days ahead (no real-time clock, NTP not answering yet) lost every tap
    // at the next hourly pass. An attacker review of the first fix: one tap stamped by the wrong clock ended the guard.
    const { clock, gw, client, db, taps } = await tapsAtNow(5);
    const before = taps();
    expect(before).toBeGreaterThanOrEqual(5);

    let confirmed = true;
    let ran = 0; // the monotonic clock: ms the gateway has run
    const retention = new RetentionClock(db, clock, () => confirmed, gw.ctx.log, () => ran);
    const pruner = personalDataPruner(db, retention, gw.ctx.config.retention, 'Asia/Shanghai');
    await pruner.prune(); // NTP confirmed the clock at NOW; then the box restarts a year ahead, NTP not answering yet
    confirmed = false;
    clock.set(NOW + 400 * DAY);
    expect((await pruner.prune()).taps).toBe(0);
    // A tap on the wrong clock: the newest row now, which the first fix took as proof the clock was right.
    await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, clock.now());
    expect((await pruner.prune()).taps).toBe(0);
    expect(taps()).toBe(before + 1);
    // A restart on the same wrong clock carries on from the time kept, not from the clock.
    ran = 10 * DAY;
    const kept = retention.now();
    expect(kept).toBeLessThan(NOW + 11 * DAY);
    expect(new RetentionClock(db, clock, () => false, gw.ctx.log, () => 0).now()).toBe(kept);
    // After 181 days of running, the first day's taps are past their 180 days by any clock.
    ran = 181 * DAY;
    expect((await pruner.prune()).taps).toBe(5);
    // Confirmed (NTP or the city): the wall clock again, and the tap it stamped is as old as it says.
    confirmed = true;
    clock.set(NOW + 400 * DAY + 181 * DAY);
    await pruner.prune();
    expect(taps()).toBe(0);
  });

  it('the first time, with no time kept yet, deletes nothing for a day of running unless the clock is confirmed', async () => {
    // An upgrade from a release without the retention clock, on a box whose clock is 400 days ahead: taking that
    // clock as the first time seen deleted every tap at the first pass.
    const { clock, gw, db, taps } = await tapsAtNow(3);
    const before = taps();
    clock.set(NOW + 400 * DAY);
    let ran = 0;
    const startAt = (): RetentionClock => new RetentionClock(db, clock, () => false, gw.ctx.log, () => ran);
    let pruner = personalDataPruner(db, startAt(), gw.ctx.config.retention, 'Asia/Shanghai');
    expect((await pruner.prune()).taps).toBe(0);
    ran = 20 * HOUR;
    expect((await pruner.prune()).taps).toBe(0);
    // A restart counts on from the 20 hours waited, not from zero.
    ran = 0;
    pruner = personalDataPruner(db, startAt(), gw.ctx.config.retention, 'Asia/Shanghai');
    ran = 3 * HOUR;
    expect((await pruner.prune()).taps).toBe(0);
    expect(taps()).toBe(before);
    // A whole day unconfirmed: the clock is all there is, and it is believed.
    ran = 5 * HOUR;
    expect((await pruner.prune()).taps).toBe(before);
    // Confirmed at once on another box: no wait.
    const other = new ManualClock(NOW + 400 * DAY);
    const fresh = await demoAt(new ManualClock(NOW));
    await tap(fresh.gw, fresh.client, 'demo-gate-in', DEMO_STUDENT.uid, NOW);
    const confirmedAtOnce = personalDataPruner(fresh.gw.ctx.db, new RetentionClock(fresh.gw.ctx.db, other, () => true, fresh.gw.ctx.log, () => 0), fresh.gw.ctx.config.retention, 'Asia/Shanghai');
    expect((await confirmedAtOnce.prune()).taps).toBeGreaterThanOrEqual(1);
  });

  it('keeps the time waited when the gateway stops before its first hourly pass', async () => {
    const dataDir = tempDir();
    const first = await startTestGateway({ dataDir, config: { clock: { hostNtp: false } } });
    await new Promise((r) => setTimeout(r, 50));
    await first.close();
    const db = new BetterSqlite3(join(dataDir, 'gateway.db'), { readonly: true });
    try {
      expect(Number(getMeta(db, 'retention.clock.waited'))).toBeGreaterThanOrEqual(50);
    } finally {
      db.close();
    }
  });
});

describe('erasure', () => {
  it('POST /api/v1/people/:id/erase leaves no name, card or external id of the person in any table; the ledger stays under a pseudonym', async () => {
    const clock = new ManualClock(NOW);
    const { gw, client } = await demoAt(clock);
    const db = gw.ctx.db;
    const person = db.prepare('SELECT id, name, external_id FROM persons WHERE external_id = ?').get(DEMO_STUDENT.externalId) as { id: number; name: string; external_id: string };
    // The scan below looks for the name anywhere: it must not be part of someone else's.
    expect(count(db, 'SELECT COUNT(*) AS n FROM persons WHERE id <> ? AND instr(name, ?) > 0', person.id, person.name)).toBe(0);
    const uids = (db.prepare('SELECT uid FROM cards WHERE person_id = ?').all(person.id) as { uid: string }[]).map((r) => r.uid);
    expect(uids).toContain(DEMO_STUDENT.uid);

    // Their traces: taps, attendance, a purchase, an excuse-free day, alerts that name them.
    await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, NOW);
    await tap(gw, client, 'demo-canteen-1', DEMO_STUDENT.uid, NOW + 60_000, { amount: 300, seq: 7 });
    gw.ctx.alerts.raise({
      type: 'test_named', severity: 'warning', source: 'test',
      message: `${person.name} (${person.external_id}) tapped card ${DEMO_STUDENT.uid}`,
      data: { externalId: person.external_id, uid: DEMO_STUDENT.uid, name: person.name },
    });
    const ledgerBefore = count(db, 'SELECT COUNT(*) AS n FROM wallet_entries WHERE person_id = ?', person.id);
    const balanceBefore = db.prepare('SELECT balance_fen FROM wallet_accounts WHERE person_id = ?').get(person.id);
    expect(ledgerBefore).toBeGreaterThan(0);

    const admin = await gw.login('admin');
    const security = await gw.login('security');
    const path = `/api/v1/people/${person.id}/erase`;
    expect((await gw.api(path, { method: 'POST', token: security, json: { reason: 'left the school' } })).status).toBe(403);
    expect((await gw.api(path, { method: 'POST', token: admin, json: {} })).status).toBe(400);
    const res = await gw.api(path, { method: 'POST', token: admin, json: { reason: 'left the school in July' } });
    expect(res.status).toBe(200);
    const { pseudonym, counts } = (await res.json()) as { pseudonym: string; counts: Record<string, number> };
    expect(pseudonym).toMatch(/^erased-[0-9a-f]{16}$/);
    expect(counts.taps).toBe(2);
    expect(counts.cards).toBe(uids.length);
    expect((await gw.api(path, { method: 'POST', token: admin, json: { reason: 'again' } })).status).toBe(409);

    // Every text value of every table.
    const needles = [person.name, person.external_id, ...uids];
    const found: string[] = [];
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    for (const { name: table } of tables) {
      const cols = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
      for (const { name: col } of cols) {
        for (const needle of needles) {
          const n = count(db, `SELECT COUNT(*) AS n FROM "${table}" WHERE typeof("${col}") = 'text' AND instr("${col}", ?) > 0`, needle);
          if (n > 0) found.push(`${table}.${col} has ${needle} (${n})`);
        }
      }
    }
    expect(found).toEqual([]);

    // The money stays, under the pseudonym; the card no longer opens anything; the log names no one.
    expect(count(db, 'SELECT COUNT(*) AS n FROM wallet_entries WHERE person_id = ?', person.id)).toBe(ledgerBefore);
    expect(db.prepare('SELECT balance_fen FROM wallet_accounts WHERE person_id = ?').get(person.id)).toEqual(balanceBefore);
    expect(db.prepare('SELECT external_id, name FROM persons WHERE id = ?').get(person.id)).toEqual({ external_id: pseudonym, name: pseudonym });
    expect(await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, NOW + 120_000)).toMatchObject({ granted: false });
    expect(db.prepare('SELECT pseudonym, erased_by, reason FROM privacy_erasures').all()).toEqual([{ pseudonym, erased_by: 'admin', reason: 'left the school in July' }]);
  });

  it('leaves the sensors\' metric names alone when a person\'s id is part of one', async () => {
    const gw = await startTestGateway({ clock: new ManualClock(NOW) });
    running.push(gw);
    const db = gw.ctx.db;
    // A particle sensor's series, and a student whose external id is inside its metric's name.
    db.prepare("INSERT INTO sensor_series (sensor_id, metric) VALUES ('air-1', 'pm25')").run();
    const iso = new Date(NOW).toISOString();
    const { lastInsertRowid } = db
      .prepare("INSERT INTO persons (external_id, name, role, schedule_group, created_at, updated_at) VALUES ('25', '测试学生', 'student', 'day', ?, ?)")
      .run(iso, iso);
    const admin = await gw.login('admin');
    const res = await gw.api(`/api/v1/people/${Number(lastInsertRowid)}/erase`, { method: 'POST', token: admin, json: { reason: 'left the school in July' } });
    expect(res.status).toBe(200);
    expect(db.prepare("SELECT metric FROM sensor_series WHERE sensor_id = 'air-1'").pluck().all()).toEqual(['pm25']);
  });
});

describe('erasing a student erases their guardians', () => {
  it('leaves no guardian, sealed or masked number, consent history or message of theirs in the SQLite file', async () => {
    const gw = await startTestGateway({ demo: true });
    running.push(gw);
    const client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    const admin = await gw.login('admin');
    // 李明's father (demo guardian, consenting): an arrival message reaches the demo sink, so the outbox has his row
    // (`late` instead of `arrival` when the suite runs after the school's cut-off).
    expect(await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, Date.now())).toMatchObject({ granted: true });
    await settled(gw, admin, `?person=${DEMO_STUDENT.externalId}`);

    // A second connection to the gateway's own file, as an auditor would look at it.
    const file = new BetterSqlite3(join(gw.dataDir, 'gateway.db'), { readonly: true });
    try {
      const person = file.prepare('SELECT id FROM persons WHERE external_id = ?').get(DEMO_STUDENT.externalId) as { id: number };
      const guardians = file.prepare('SELECT id, name, phone_enc, phone_masked FROM guardians WHERE person_id = ?').all(person.id) as
        { id: number; name: string; phone_enc: string; phone_masked: string }[];
      expect(guardians.map((g) => g.phone_masked)).toEqual(['138****8000']);
      const ids = JSON.stringify(guardians.map((g) => g.id));
      expect(count(file, 'SELECT COUNT(*) AS n FROM guardian_consent_log WHERE guardian_id IN (SELECT value FROM json_each(?))', ids)).toBeGreaterThan(0);
      expect(count(file, "SELECT COUNT(*) AS n FROM notify_outbox WHERE person_id = ? AND event IN ('arrival', 'late') AND status = 'sent'", person.id)).toBe(1);

      const res = await gw.api(`/api/v1/people/${person.id}/erase`, { method: 'POST', token: admin, json: { reason: 'left the school in July' } });
      expect(res.status).toBe(200);

      expect(count(file, 'SELECT COUNT(*) AS n FROM guardians WHERE person_id = ?', person.id)).toBe(0);
      expect(count(file, 'SELECT COUNT(*) AS n FROM guardian_consent_log WHERE guardian_id IN (SELECT value FROM json_each(?))', ids)).toBe(0);
      expect(count(file, 'SELECT COUNT(*) AS n FROM notify_outbox WHERE person_id = ? OR guardian_id IN (SELECT value FROM json_each(?))', person.id, ids)).toBe(0);
      // Nowhere else either: the sealed number, the masked one, the plain one, the guardian's name, in any text column.
      const needles = [...guardians.flatMap((g) => [g.phone_enc, g.phone_masked, g.name]), '13800138000'];
      const found: string[] = [];
      for (const { name: table } of file.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]) {
        for (const { name: col } of file.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]) {
          for (const needle of needles) {
            if (count(file, `SELECT COUNT(*) AS n FROM "${table}" WHERE typeof("${col}") = 'text' AND instr("${col}", ?) > 0`, needle) > 0) found.push(`${table}.${col}`);
          }
        }
      }
      expect(found).toEqual([]);
      // The other students' guardians are untouched.
      expect(count(file, 'SELECT COUNT(*) AS n FROM guardians')).toBe(2);
    } finally {
      file.close();
    }
    expect(await notifications(gw, admin, '?event=arrival')).toEqual([]);
  });
});

describe('campus-gateway erase-person', () => {
  it('erases by external id from the command line, and says so when there is no such person', async () => {
    const dataDir = tempDir();
    const gw = await startTestGateway({ dataDir });
    await gw.close();
    const missing = runBin(['erase-person', 'NO-SUCH', '--reason', 'left'], { env: { CAMPUS_DATA_DIR: dataDir } });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no person with external id NO-SUCH');
    const ok = runBin(['erase-person', DEMO_STUDENT.externalId, '--reason', 'left the school'], { env: { CAMPUS_DATA_DIR: dataDir } });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/now erased-[0-9a-f]{16}/);
    const db = openDatabase(join(dataDir, 'gateway.db'), []);
    expect(count(db, 'SELECT COUNT(*) AS n FROM persons WHERE external_id = ? OR name = ?', DEMO_STUDENT.externalId, DEMO_STUDENT.name)).toBe(0);
    expect(count(db, 'SELECT COUNT(*) AS n FROM cards WHERE uid = ?', DEMO_STUDENT.uid)).toBe(0);
    expect(db.prepare('SELECT erased_by, reason FROM privacy_erasures').get()).toMatchObject({ reason: 'left the school' });
    db.close();
  });
});
