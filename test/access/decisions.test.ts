/**
 * Tap decisions as the access domain makes them, without the rest of the gateway: the demo school's roster in a
 * real SQLite file, the real alert service and lockdown, the real wallet for the canteen, and the embedded broker
 * (real Aedes, on a loopback port) that the engine publishes gate commands on. A tap goes in as a reader driver
 * hands it over; the answer is what the engine sends the reader. The HTTP side of the same features is in
 * api.test.ts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/demo.js';
import { deepMerge, validateConfig } from '../../config/load.js';
import type { GatewayConfigInput } from '../../config/schema.js';
import { AccessEngine, type DecisionMessage } from '../../gateway/access/engine.js';
import { lockdownMigrations, LockdownService } from '../../gateway/access/lockdown.js';
import { tapsMigrations, TapsStore } from '../../gateway/access/taps-store.js';
import { alertMigrations, AlertService } from '../../gateway/alerts/alerts.js';
import { EmbeddedBroker } from '../../gateway/broker/broker.js';
import { EventBus } from '../../gateway/core/bus.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { topicFilters } from '../../gateway/core/topics.js';
import { seedDemoPeople } from '../../gateway/people/demo.js';
import { peopleMigrations, PeopleStore } from '../../gateway/people/store.js';
import { BatchWriter } from '../../gateway/storage/batch-writer.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { Wallet, walletMigrations } from '../../gateway/wallet/module.js';
import { tempDir, waitFor } from '../helpers/gateway.js';

// Tuesday 2026-09-01 10:00 in Shanghai.
const TUE_10 = Date.UTC(2026, 8, 1, 2, 0, 0);
const HOUR = 3_600_000;

interface AccessDomain {
  clock: ManualClock;
  db: Database;
  people: PeopleStore;
  lockdown: LockdownService;
  wallet: Wallet;
  /** Gate commands the engine published on the broker. */
  commands: Record<string, unknown>[];
  tap(readerId: string, uid: string, extra?: { amount?: number; seq?: number; partial?: boolean }): Promise<DecisionMessage>;
  openAlerts(type: string): { type: string; accessPoint: string | null; data: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** The access domain of the demo school (with `config` merged over it) on a new database file. */
async function accessDomain(clock: ManualClock, config: GatewayConfigInput = {}): Promise<AccessDomain> {
  const cfg = validateConfig(deepMerge(demoConfig, config), 'test');
  const dir = tempDir('campus-access-');
  const db = openDatabase(join(dir, 'gateway.db'), [
    ...metaMigrations, ...alertMigrations, ...peopleMigrations, ...tapsMigrations, ...lockdownMigrations, ...walletMigrations,
  ]);
  seedDemoPeople(db, new Date(clock.now()).toISOString());
  const log = pino({ level: 'silent' });
  const metrics = new Registry();
  const bus = new EventBus();
  const alerts = new AlertService(db, bus, clock, 300_000);
  const writer = new BatchWriter(db, { maxSize: 64, maxDelayMs: 1 });
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    allowAnonymous: false,
    devices: [],
    services: [],
    drainTimeoutMs: cfg.mqtt.drainTimeoutMs,
    maxTopicLevels: cfg.mqtt.maxTopicLevels,
    limits: cfg.mqtt,
    log,
    metrics,
  });
  await broker.start();
  const commands: Record<string, unknown>[] = [];
  await broker.subscribe(topicFilters.gates, (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Record<string, unknown>));
  const people = new PeopleStore(db, clock, bus);
  const lockdown = new LockdownService(db, bus, alerts, clock);
  const wallet = new Wallet({ db, clock, timezone: cfg.school.timezone, limits: cfg.access.wallet, log, metrics, alerts });
  wallet.topUp('S20250001', 5000, 'demo opening balance', 'demo');
  const engine = new AccessEngine({ config: cfg, log, clock, writer, bus, mqtt: broker, alerts, metrics }, people, new TapsStore(db), lockdown, wallet);
  return {
    clock,
    db,
    people,
    lockdown,
    wallet,
    commands,
    async tap(readerId, uid, extra = {}) {
      const message = await engine.handle({ readerId, uid, at: clock.now(), ...extra });
      if (!message) throw new Error(`no answer to the tap at ${readerId}`);
      return message;
    },
    openAlerts: (type) =>
      alerts.list({ type, status: ['open'], limit: 100 }).items as unknown as { type: string; accessPoint: string | null; data: Record<string, unknown> }[],
    async close() {
      writer.close();
      await broker.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const uidOf = (d: AccessDomain, role: 'staff', security: boolean): string =>
  (
    d.db
      .prepare(`SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE p.role = ? AND p.security = ? AND c.status = 'active' ORDER BY p.id LIMIT 1`)
      .get(role, security ? 1 : 0) as { uid: string }
  ).uid;

describe('access decisions on the demo school', () => {
  let d: AccessDomain;
  let staffUid = '';
  let securityUid = '';
  const clock = new ManualClock(TUE_10);

  beforeAll(async () => {
    d = await accessDomain(clock, {
      access: {
        calendar: { holidays: ['2026-10-01'], makeUpDays: ['2026-09-27'] },
        repeatedDenials: { count: 4, windowS: 60 },
      },
    });
    staffUid = uidOf(d, 'staff', false);
    securityUid = uidOf(d, 'staff', true);
  });
  afterAll(async () => {
    await d?.close();
  });
  // A test that moves the clock and fails half-way must not leave the next one at 22:30.
  afterEach(() => clock.set(TUE_10));

  it('grants the demo student at the main gate, opens the gate and stores the tap', async () => {
    const t = await d.tap('demo-gate-in', '0A1B2C3D');
    expect(t).toMatchObject({ granted: true, reason: 'ok', person: { name: '李明', class: '初一(1)班' } });
    const command = await waitFor(() => d.commands.find((c) => c.tapId === t.tapId));
    expect(command).toMatchObject({ action: 'open', gateId: 'main-gate', direction: 'in' });
    const stored = d.db.prepare('SELECT granted, uid, person_id FROM taps WHERE id = ?').get(t.tapId) as { granted: number; uid: string; person_id: number };
    expect(stored).toMatchObject({ granted: 1, uid: '0A1B2C3D', person_id: d.people.personByExternalId('S20250001')!.id });
  });

  it('refuses the lost demo card and raises a card_lost_used alert at the access point', async () => {
    const t = await d.tap('demo-gate-in', '0BADCAFE');
    expect(t).toMatchObject({ granted: false, reason: 'card_lost', person: { name: '王芳' } });
    const alerts = d.openAlerts('card_lost_used').filter((a) => a.data.uid === '0BADCAFE');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ accessPoint: 'main-gate', data: { uid: '0BADCAFE', externalId: 'S20250002' } });
  });

  it('refuses a card reported lost at the very next tap, and lets it through once given back', async () => {
    const uid = d.people.cardsOf(d.people.personByExternalId('S20250003')!.id)[0]!.uid;
    expect((await d.tap('demo-gate-out', uid)).granted).toBe(true);
    d.people.setCardStatus(uid, 'lost', 'security');
    expect(await d.tap('demo-gate-out', uid)).toMatchObject({ granted: false, reason: 'card_lost' });
    d.people.setCardStatus(uid, 'active', 'security');
    expect((await d.tap('demo-gate-out', uid)).granted).toBe(true);
  });

  it('answers unknown cards and unknown readers with their own reasons', async () => {
    expect(await d.tap('demo-gate-in', 'DEADBEEF')).toMatchObject({ granted: false, reason: 'unknown_card', person: null });
    expect(await d.tap('no-such-reader', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'unknown_reader' });
  });

  it("lets a decimal-printing reader's tap stand for a card only when no other card ends with the same bytes", async () => {
    // An attacker review: Bob's 7-byte card printed in 8H10D gives Alice's 4-byte UID; the exact match came first and
    // Bob went through (or paid) as Alice. docs/access.md: a partial tap matches only when exactly one card ends so.
    const alice = d.people.createPerson({ externalId: 'S20259001', name: 'Alice', role: 'student', scheduleGroup: 'day', security: false });
    const bob = d.people.createPerson({ externalId: 'S20259002', name: 'Bob', role: 'student', scheduleGroup: 'day', security: false });
    d.people.issueCard(alice.id, { uid: '11223344' });
    expect(await d.tap('demo-gate-in', '11223344', { partial: true })).toMatchObject({ granted: true, person: { name: 'Alice' } });
    d.people.issueCard(bob.id, { uid: '04AABB11223344' });
    expect(await d.tap('demo-gate-in', '11223344', { partial: true })).toMatchObject({ granted: false, reason: 'unknown_card', person: null });
    // Whole UIDs still tell the two apart.
    expect(await d.tap('demo-gate-in', '04AABB11223344')).toMatchObject({ person: { name: 'Bob' } });
    expect(await d.tap('demo-gate-in', '11223344')).toMatchObject({ person: { name: 'Alice' } });
  });

  it('applies anti-passback at the east gate, and resets it the next day', async () => {
    const uid = '0A1B2C3D';
    expect((await d.tap('sim-east-gate-in', uid)).reason).toBe('ok');
    expect(await d.tap('sim-east-gate-in', uid)).toMatchObject({ granted: false, reason: 'anti_passback' });
    expect((await d.tap('sim-east-gate-out', uid)).reason).toBe('ok');
    expect(await d.tap('sim-east-gate-out', uid)).toMatchObject({ granted: false, reason: 'anti_passback' });
    expect((await d.tap('sim-east-gate-in', uid)).reason).toBe('ok');
    clock.advance(24 * HOUR); // Wednesday 10:00: yesterday's "in" no longer counts
    expect((await d.tap('sim-east-gate-in', uid)).reason).toBe('ok');
  });

  it('holds students to the access point schedule in the school time zone', async () => {
    const uid = '0A1B2C3D';
    clock.set(Date.UTC(2026, 8, 1, 13, 30)); // 21:30 local: east gate still open for students until 22:00
    expect((await d.tap('sim-east-gate-out', uid)).granted).toBe(true);
    clock.set(Date.UTC(2026, 8, 1, 14, 30)); // 22:30 local
    expect(await d.tap('sim-east-gate-in', uid)).toMatchObject({ granted: false, reason: 'outside_schedule' });
    // Staff have no window at the east gate.
    expect(await d.tap('sim-east-gate-in', staffUid)).toMatchObject({ granted: true, reason: 'ok' });
  });

  it('lockdown lets only security staff through, and its refusals are not counted as repeated denials', async () => {
    d.lockdown.start('drill', 'security');
    expect(await d.tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'lockdown' });
    expect(await d.tap('demo-gate-in', staffUid)).toMatchObject({ granted: false, reason: 'lockdown' });
    expect(await d.tap('demo-gate-out', securityUid)).toMatchObject({ granted: true, reason: 'ok' });
    expect(d.openAlerts('lockdown').map((a) => (a as unknown as { severity: string }).severity)).toEqual(['critical']);
    // Everyone refused at every reader is the lockdown working, not someone trying card after card.
    clock.advance(120_000);
    for (let i = 0; i < 5; i++) {
      clock.advance(2_000);
      expect((await d.tap('demo-gate-in', '0A1B2C3D')).reason).toBe('lockdown');
    }
    expect(d.openAlerts('repeated_denials').filter((a) => a.data.readerId === 'demo-gate-in')).toHaveLength(0);
    d.lockdown.end('admin');
    expect((await d.tap('demo-gate-in', '0A1B2C3D')).granted).toBe(true);
    expect(d.openAlerts('lockdown')).toHaveLength(0);
  });

  it('raises repeated_denials after several refused taps at one reader within the window', async () => {
    const forReader = (readerId: string) => d.openAlerts('repeated_denials').filter((a) => a.data.readerId === readerId);
    clock.advance(120_000); // earlier refusals fall out of the 60 s window
    for (const uid of ['11111111', '22222222', '33333333']) await d.tap('demo-gate-out', uid);
    expect(forReader('demo-gate-out')).toHaveLength(0);
    await d.tap('demo-gate-out', '44444444');
    const alerts = forReader('demo-gate-out');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ accessPoint: 'main-gate', data: { count: 4 } });
  });

  it('debits the wallet for a canteen payment once per terminal sequence number', async () => {
    const before = d.wallet.balanceOf(d.people.personByExternalId('S20250001')!.id);
    const after = before - 1250;
    const first = await d.tap('demo-canteen-1', '0A1B2C3D', { amount: 1250, seq: 18 });
    expect(first).toMatchObject({ granted: true, reason: 'ok', balance: after });
    const again = await d.tap('demo-canteen-1', '0A1B2C3D', { amount: 1250, seq: 18 });
    expect(again).toMatchObject({ granted: true, tapId: first.tapId, balance: after });
    // Another amount under the same number is refused; the genuine retry after it still gets the first answer.
    expect(await d.tap('demo-canteen-1', '0A1B2C3D', { amount: 999, seq: 18 })).toMatchObject({ granted: false, reason: 'seq_conflict', balance: after });
    expect(await d.tap('demo-canteen-1', '0A1B2C3D', { amount: 1250, seq: 18 })).toMatchObject({ granted: true, reason: 'ok', tapId: first.tapId });
    // Identification only: no amount, the balance shown.
    expect(await d.tap('demo-canteen-1', '0A1B2C3D')).toMatchObject({ granted: true, reason: 'ok', balance: after });
    expect(await d.tap('demo-canteen-1', '0A1B2C3D', { amount: 999_999, seq: 19 })).toMatchObject({ granted: false, balance: after });
  });
});

describe('school calendar at doors', () => {
  it('closes the lab to students on a holiday and on a weekend, opens it on a make-up Saturday, not to staff', async () => {
    const clock = new ManualClock(Date.UTC(2026, 9, 1, 2, 0)); // Thursday 2026-10-01 10:00 local, a holiday
    const d = await accessDomain(clock, {
      readers: [
        { id: 'demo-gate-in', accessPoint: 'main-gate', direction: 'in', driver: { type: 'mqtt' } },
        { id: 'lab-1-door', accessPoint: 'lab-1', driver: { type: 'mqtt' } },
      ],
      access: { calendar: { holidays: ['2026-10-01'], makeUpDays: ['2026-10-10'] } },
    });
    try {
      const staff = uidOf(d, 'staff', false);
      expect(await d.tap('lab-1-door', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'not_school_day' });
      expect((await d.tap('lab-1-door', staff)).granted).toBe(true);
      expect((await d.tap('demo-gate-in', '0A1B2C3D')).granted).toBe(true);
      clock.set(Date.UTC(2026, 9, 3, 2, 0)); // Saturday 10-03
      expect((await d.tap('lab-1-door', '0A1B2C3D')).reason).toBe('not_school_day');
      clock.set(Date.UTC(2026, 9, 10, 2, 0)); // Saturday 10-10, a make-up day: the weekday timetable applies
      expect(await d.tap('lab-1-door', '0A1B2C3D')).toMatchObject({ granted: true, reason: 'ok' });
      clock.set(Date.UTC(2026, 9, 12, 10, 0)); // Monday 18:00 local: after the lab's 17:00
      expect((await d.tap('lab-1-door', '0A1B2C3D')).reason).toBe('outside_schedule');
    } finally {
      await d.close();
    }
  });
});
