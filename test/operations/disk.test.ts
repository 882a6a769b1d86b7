/**
 * A full disk, played with SQLite's max_page_count on a running demo gateway: gates keep deciding from memory, canteen
 * payments are refused with `storage_unavailable`, and the kept rows are written once there is room again. The free-space
 * thresholds raise and resolve disk_low and disk_critical.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { monotonicFactory } from 'ulid';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../cloud-sync/outbox.js';
import { ClipStore } from '../../gateway/cameras/live/clips.js';
import { SnapshotStore } from '../../gateway/cameras/snapshots.js';
import { allMigrations, diskReclaim } from '../../gateway/compose.js';
import { ManualClock } from '../../gateway/core/clock.js';
import pino from 'pino';
import { DEMO_LOST, DEMO_STUDENT } from '../../gateway/people/demo.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { DeferredWrites } from '../../gateway/storage/deferred-writes.js';
import { keepReserve } from '../../gateway/storage/disk-reserve.js';
import { DiskGuard, diskLevel, reclaimTarget, type DiskSpace } from '../../gateway/operations/disk-guard.js';
import { nextMessage, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

// Tuesday 2026-09-01 10:00 in Shanghai.
const TUE_10 = Date.UTC(2026, 8, 1, 2, 0, 0);
const MiB = 1_048_576;
const running: TestGateway[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.close();
});

async function tap(gw: TestGateway, client: MqttClient, readerId: string, uid: string, at: number, extra: Record<string, unknown> = {}) {
  const answer = nextMessage(client, `campus/readers/${readerId}/decision`);
  gw.ctx.bus.emit('tap.received', { readerId, uid, at, ...extra });
  return JSON.parse((await answer).payload.toString()) as { granted: boolean; reason: string; balance?: number };
}

describe('a full disk', () => {
  it('gate taps are still answered, the canteen refuses, nothing crashes, and the rows are written when space returns', async () => {
    const clock = new ManualClock(TUE_10);
    const gw = await startTestGateway({ clock });
    running.push(gw);
    const client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    const db = gw.ctx.db;
    const taps = (): number => (db.prepare('SELECT COUNT(*) AS n FROM taps').get() as { n: number }).n;
    const before = taps();

    // The database refuses every write, as a full or failing disk makes it (SQLITE_READONLY here; SQLITE_FULL is played
    // with max_page_count below, where every write can be made to need a page).
    db.pragma('query_only = 1');
    expect(() => db.prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run()).toThrow(/readonly/);

    expect(await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, clock.now())).toMatchObject({ granted: true, reason: 'ok' });
    expect(await tap(gw, client, 'demo-canteen-1', DEMO_STUDENT.uid, clock.now() + 60_000, { amount: 300, seq: 91 })).toMatchObject({
      granted: false,
      reason: 'storage_unavailable',
    });
    expect(await tap(gw, client, 'demo-gate-out', DEMO_STUDENT.uid, clock.now() + 120_000)).toMatchObject({ granted: true, reason: 'ok' });
    expect(taps()).toBe(before);
    expect(gw.ctx.deferred!.pending).toBe(3);
    const health = (await (await gw.api('/healthz')).json()) as { status: string; components: Record<string, { ok: boolean; detail?: string }> };
    expect(health.components.storage).toMatchObject({ ok: false });
    expect(health.components.storage!.detail).toContain('3 rows waiting in memory');
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_storage_deferred_rows 3/);
    expect(metrics).toMatch(/campus_disk_free_bytes \d+/);

    // Space again: the kept rows are written, in order, and nothing was charged.
    db.pragma('query_only = 0');
    expect(await gw.ctx.deferred!.retry()).toBe(3);
    expect(taps()).toBe(before + 3);
    expect(db.prepare("SELECT reason FROM taps WHERE reader_id = 'demo-canteen-1' ORDER BY id DESC LIMIT 1").get()).toEqual({ reason: 'storage_unavailable' });
    expect(gw.ctx.deferred!.pending).toBe(0);
    const healthAfter = (await (await gw.api('/healthz')).json()) as { components: Record<string, { ok: boolean }> };
    expect(healthAfter.components.storage!.ok).toBe(true);
    // And the canteen works again.
    expect(await tap(gw, client, 'demo-canteen-1', DEMO_STUDENT.uid, clock.now() + 180_000, { amount: 300, seq: 92 })).toMatchObject({ granted: true });
  });

  it('a write refused with SQLITE_FULL (max_page_count) is kept and written when the limit is raised', async () => {
    const { openDatabase } = await import('../../gateway/storage/db.js');
    const { BatchWriter } = await import('../../gateway/storage/batch-writer.js');
    const { isStorageFailure } = await import('../../gateway/storage/deferred-writes.js');
    const { tempDir } = await import('../helpers/gateway.js');
    const { join } = await import('node:path');
    const db = openDatabase(join(tempDir(), 'full.db'), [{ version: 1, name: 't', up: 'CREATE TABLE rows (x BLOB NOT NULL)' }]);
    const writer = new BatchWriter(db, { maxSize: 100, maxDelayMs: 0 });
    const deferred = new DeferredWrites(writer, { maxRows: 10, retryEveryMs: 60_000 }, new Registry());
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    // Each row is bigger than a page: it always needs new pages.
    const op = (d: typeof db): void => void d.prepare('INSERT INTO rows (x) VALUES (randomblob(8192))').run();
    const err = await writer.write(op).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SQLITE_FULL' });
    expect(isStorageFailure(err)).toBe(true);
    expect(deferred.keep(op)).toBe(true);
    expect(await deferred.retry()).toBe(0); // still full
    expect(deferred.pending).toBe(1);
    db.pragma('max_page_count = 1073741823');
    expect(await deferred.retry()).toBe(1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM rows').get()).toEqual({ n: 1 });
    writer.close();
    db.close();
  });

  it('the memory queue is bounded: past its limit rows are dropped and counted', () => {
    const registry = new Registry();
    const deferred = new DeferredWrites({ write: () => Promise.resolve() } as never, { maxRows: 2, retryEveryMs: 60_000 }, registry);
    expect([deferred.keep(() => {}), deferred.keep(() => {}), deferred.keep(() => {})]).toEqual([true, true, false]);
    expect(deferred.pending).toBe(2);
  });
});

describe('a database that refuses alerts', () => {
  it("a lost card's tap is answered, and so is the reader's retry of it, when its card_lost_used alert cannot be written", async () => {
    // The alert was raised inside the decision, after the answer was published: its refused write made the decision
    // reject, so the tap counted as unanswered, and a reader retrying the same sequence number (its answer lost on
    // the way) was answered nothing; a door controller's late grant during a lockdown was not looked into either.
    const clock = new ManualClock(TUE_10);
    const gw = await startTestGateway({ clock });
    running.push(gw);
    const client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    gw.ctx.db.exec("CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const at = clock.now();
    expect(await tap(gw, client, 'demo-gate-in', DEMO_LOST.uid, at, { seq: 7 })).toMatchObject({ granted: false, reason: 'card_lost' });
    expect(await tap(gw, client, 'demo-gate-in', DEMO_LOST.uid, at, { seq: 7 })).toMatchObject({ granted: false, reason: 'card_lost' });
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/campus_tap_failures_total 0/);
    expect(metrics).toMatch(/campus_alerts_unrecorded_total\{type="card_lost_used"\} 1/);
    // The gates go on.
    expect(await tap(gw, client, 'demo-gate-in', DEMO_STUDENT.uid, at + 1000)).toMatchObject({ granted: true });
  });
});

function diskGuardOn(gw: TestGateway, stat: () => DiskSpace): DiskGuard {
  const ctx = { ...gw.ctx, metrics: new Registry() };
  return new DiskGuard(ctx, new DeferredWrites(gw.ctx.writer, { maxRows: 10, retryEveryMs: 60_000 }, ctx.metrics), { stat });
}

/** A disk guard of its own on a running gateway's database, reading the free space from `stat`; its open alerts of a type. */
async function guardOnGateway(stat: () => DiskSpace) {
  const gw = await startTestGateway();
  running.push(gw);
  const guard = diskGuardOn(gw, stat);
  const open = (type: string) => gw.ctx.alerts.list({ status: ['open'], type, limit: 10 }).items;
  return { gw, guard, open };
}

describe('free space', () => {
  it('classifies by fraction and by bytes', () => {
    expect(diskLevel(50_000 * MiB, 100_000 * MiB)).toBe('ok');
    expect(diskLevel(900 * MiB, 4_000 * MiB)).toBe('low'); // under 1 GiB
    expect(diskLevel(8_000 * MiB, 100_000 * MiB)).toBe('low'); // under 10 %
    expect(diskLevel(150 * MiB, 1_000 * MiB)).toBe('critical'); // under 200 MiB
    expect(diskLevel(1_500 * MiB, 100_000 * MiB)).toBe('critical'); // under 2 %
  });

  it('raises disk_low and disk_critical as the disk fills, and resolves them when space returns', async () => {
    let space: DiskSpace = { free: 50_000 * MiB, total: 100_000 * MiB };
    const { guard, open } = await guardOnGateway(() => space);

    expect(guard.check()).toBe('ok');
    space = { free: 5_000 * MiB, total: 100_000 * MiB };
    expect(guard.check()).toBe('low');
    expect(open('disk_low')).toHaveLength(1);
    expect(guard.health()).toMatchObject({ ok: true });
    space = { free: 100 * MiB, total: 100_000 * MiB };
    expect(guard.check()).toBe('critical');
    expect(open('disk_critical')).toMatchObject([{ severity: 'critical' }]);
    expect(open('disk_low')).toHaveLength(0);
    expect(guard.health()).toMatchObject({ ok: false });
    expect(guard.health().detail).toMatch(/^critical: 100 MiB free/);
    expect(guard.health()).toMatchObject({ code: 'disk_critical', params: { freeMiB: 100 } });
    space = { free: 50_000 * MiB, total: 100_000 * MiB };
    expect(guard.check()).toBe('ok');
    expect(open('disk_critical')).toHaveLength(0);
    expect(open('disk_low')).toHaveLength(0);
  });

  it('tries a resolve the database refused again at each check until it takes it: the alerts no longer stay open once space returned', async () => {
    let space: DiskSpace = { free: 100 * MiB, total: 100_000 * MiB };
    const { gw, guard, open } = await guardOnGateway(() => space);
    expect(guard.check()).toBe('critical');
    expect(open('disk_critical')).toHaveLength(1);

    // Space comes back while the disk still refuses the resolve (an UPDATE of the alert).
    gw.ctx.db.exec("CREATE TRIGGER refuse_alert_update BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    space = { free: 50_000 * MiB, total: 100_000 * MiB };
    expect(guard.check()).toBe('ok');
    expect(guard.check()).toBe('ok');
    expect(guard.health()).toMatchObject({ ok: true });
    expect(open('disk_critical')).toHaveLength(1);
    gw.ctx.db.exec('DROP TRIGGER refuse_alert_update');
    // Before, the level did not change again, so nothing tried: the console showed a critical disk for good.
    expect(guard.check()).toBe('ok');
    expect(open('disk_critical')).toHaveLength(0);
    expect(open('disk_low')).toHaveLength(0);
  });

  it('raises a disk_low or disk_critical the database refused at the next check that it takes: the console hears of a full disk once it can', async () => {
    let space: DiskSpace = { free: 5_000 * MiB, total: 100_000 * MiB };
    const { gw, guard, open } = await guardOnGateway(() => space);
    // The disk fills while the database refuses the alert's insert: exactly when a disk is full.
    gw.ctx.db.exec("CREATE TRIGGER refuse_alert_insert BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    expect(guard.check()).toBe('low');
    expect(guard.check()).toBe('low');
    expect(open('disk_low')).toHaveLength(0);
    expect(guard.health().detail).toMatch(/^low: /);
    gw.ctx.db.exec('DROP TRIGGER refuse_alert_insert');
    // Before, only a change of level raised: the level showed in /healthz alone for as long as it lasted.
    expect(guard.check()).toBe('low');
    expect(open('disk_low')).toMatchObject([{ severity: 'warning' }]);
    expect(guard.check()).toBe('low');
    expect(open('disk_low')).toMatchObject([{ count: 1 }]); // raised once, not again at every check

    // Likewise disk_critical, and the disk_low it replaces is resolved.
    gw.ctx.db.exec("CREATE TRIGGER refuse_alert_insert BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    space = { free: 100 * MiB, total: 100_000 * MiB };
    expect(guard.check()).toBe('critical');
    expect(open('disk_critical')).toHaveLength(0);
    expect(open('disk_low')).toHaveLength(0);
    gw.ctx.db.exec('DROP TRIGGER refuse_alert_insert');
    expect(guard.check()).toBe('critical');
    expect(open('disk_critical')).toMatchObject([{ severity: 'critical', count: 1 }]);
  });

  it('resolves at its first check a disk alert left open by the run before, when the disk has room now', async () => {
    let space: DiskSpace = { free: 100 * MiB, total: 100_000 * MiB };
    const { gw, guard, open } = await guardOnGateway(() => space);
    expect(guard.check()).toBe('critical');
    expect(open('disk_critical')).toHaveLength(1);
    // The gateway stops there (the alert is open) and starts again once space was freed: a new guard, level ok.
    space = { free: 50_000 * MiB, total: 100_000 * MiB };
    const next = diskGuardOn(gw, () => space);
    expect(next.check()).toBe('ok');
    // Before, only a change of level resolved it, and a new guard starts at ok: it stayed open for good.
    expect(open('disk_critical')).toHaveLength(0);
  });
});

describe('the disk reserve', () => {
  it('is not made when it would itself bring a low disk to critical: no disk_critical, nothing pruned for its bytes', async () => {
    const gw = await startTestGateway();
    running.push(gw);
    // A guard of its own with a 1 MiB reserve in a folder of its own, on a disk whose free space the reserve takes.
    const dataDir = tempDir('campus-reserve-');
    const reserve = join(dataDir, 'disk-reserve');
    const thresholds = { warnFraction: 0, warnBytes: 10 * MiB, criticalFraction: 0, criticalBytes: 5 * MiB };
    let free = 5.5 * MiB; // low, half a MiB above critical
    const stat = (): DiskSpace => ({ free: free - (existsSync(reserve) ? statSync(reserve).size : 0), total: 1_000 * MiB });
    const ctx = { ...gw.ctx, metrics: new Registry(), config: { ...gw.ctx.config, dataDir, storage: { ...gw.ctx.config.storage, reserveMiB: 1 } } };
    const guard = new DiskGuard(ctx, new DeferredWrites(gw.ctx.writer, { maxRows: 10, retryEveryMs: 60_000 }, ctx.metrics), { stat, thresholds });
    const open = (type: string) => gw.ctx.alerts.list({ status: ['open'], type, limit: 10 }).items;
    expect(guard.check()).toBe('low');
    await new Promise((r) => setTimeout(r, 300)); // the reserve is made in the background
    // Before, it was made (the filesystem under the test has room), and the next check found the disk critical: a
    // disk_critical alert, and snapshots, clips and the city outbox pruned to win back the reserve's own 1 MiB.
    expect(guard.check()).toBe('low');
    expect(existsSync(reserve)).toBe(false);
    expect(open('disk_critical')).toHaveLength(0);
    // With room for it, it is made, and the disk stays as it was.
    free = 20 * MiB;
    expect(guard.check()).toBe('ok');
    await new Promise((r) => setTimeout(r, 300));
    expect(statSync(reserve).size).toBe(MiB);
    expect(guard.check()).toBe('ok');
  });

  it('holds its bytes on a filesystem that compresses or deduplicates: nothing in it compresses, no piece repeats', async () => {
    const dataDir = tempDir('campus-reserve-');
    expect(await keepReserve(dataDir, 3 * MiB)).toBe('made');
    const bytes = readFileSync(join(dataDir, 'disk-reserve'));
    expect(bytes.length).toBe(3 * MiB);
    // btrfs and ZFS compress each extent or record (128 KiB) on their own; a file of zeros (before, 2026-12-07) took
    // 3,065 bytes of deflate for its 3 MiB, and so would have reserved next to nothing on them.
    expect(deflateRawSync(bytes).length).toBeGreaterThan(bytes.length);
    const first = bytes.subarray(0, MiB);
    expect(first.equals(bytes.subarray(MiB, 2 * MiB))).toBe(false);
  });
});

const KiB = 1024;
/** Byte thresholds only (fractions off), small enough for a test to fill with real files. */
const SMALL = { warnFraction: 0, warnBytes: 400 * KiB, criticalFraction: 0, criticalBytes: 100 * KiB };

/** Bytes of the files in a folder, as the filesystem has them. */
const bytesIn = (dir: string): number => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

describe('pruning when the disk is critical', () => {
  /**
   * A quiet gateway (no cameras, no upstream) whose snapshot and clip stores and outbox the test fills with real files
   * and rows; the disk is a small one whose used space is `other` plus the real files in those folders.
   */
  async function setup() {
    const clock = new ManualClock(TUE_10);
    const gw = await startTestGateway({ demo: false, clock, users: [{ username: 'it', password: 'a long password 1', role: 'admin' }] });
    running.push(gw);
    const db = gw.ctx.db;
    const snapshots = new SnapshotStore(db, join(gw.dataDir, 'snapshots'), clock, { maxCount: 1000, maxBytes: 1e9 });
    const clips = new ClipStore(db, join(gw.dataDir, 'clips'), clock, { maxCount: 1000, maxBytes: 1e9 }, 'ffmpeg');
    const outbox = new Outbox(db, {
      schoolId: 'test',
      maxBytes: 1e9,
      priority: { alerts: 0, 'command-results': 1, attendance: 2, heartbeat: 3, environment: 4 },
      ttlMs: { alerts: 0, 'command-results': 0, attendance: 0, heartbeat: 0, environment: 0 },
    });
    const ulid = monotonicFactory();
    /** A clip as ClipStore.cut leaves it (cutting needs ffmpeg and video segments): its file and its row. */
    const clip = (kib: number, alertId: string | null): string => {
      const id = ulid(clock.now());
      writeFileSync(clips.file(id), Buffer.alloc(kib * KiB, 1));
      db.prepare('INSERT INTO camera_clips (id, camera_id, alert_id, event_at, start_at, end_at, bytes, error) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)').run(
        id, 'cam-1', alertId, new Date(clock.now()).toISOString(), new Date(clock.now() - 10_000).toISOString(), new Date(clock.now()).toISOString(), kib * KiB,
      );
      return id;
    };
    const snap = async (kib: number, alertId: string | null = null): Promise<string> =>
      (await snapshots.save('cam-1', Buffer.alloc(kib * KiB, 2), alertId ? 'evidence' : 'routine', alertId)).id;
    let other = 0;
    const stat = (): DiskSpace => ({ total: 10 * 1024 * KiB, free: 10 * 1024 * KiB - other - bytesIn(snapshots.dir) - bytesIn(clips.dir) });
    const logged: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
    const ctx = { ...gw.ctx, metrics: new Registry(), log };
    const deferred = new DeferredWrites(gw.ctx.writer, { maxRows: 10, retryEveryMs: 60_000 }, ctx.metrics);
    const guard = new DiskGuard(ctx, deferred, { stat, thresholds: SMALL, ...diskReclaim({ alerts: gw.ctx.alerts, snapshots, clips, outbox }) });
    const minute = (): void => clock.advance(60_000);
    return { gw, clock, snapshots, clips, outbox, clip, snap, guard, ctx, deferred, logged, minute, setOther: (n: number) => (other = n) };
  }

  it('removes snapshots and clips oldest first, down to twice the critical threshold, keeping those of unresolved alerts', async () => {
    const { gw, snapshots, clips, clip, snap, guard, ctx, logged, minute, setOther } = await setup();
    const open = gw.ctx.alerts.raise({ type: 'intrusion', severity: 'critical', source: 'cam-1', message: 'someone in the lab' });
    const done = gw.ctx.alerts.raise({ type: 'tamper', severity: 'warning', source: 'cam-1', message: 'camera moved' });
    gw.ctx.alerts.resolve(done.id, 'security');

    // Oldest first, snapshots (10 KiB) and clips (40 KiB) interleaved in time.
    const s1 = await snap(10); minute();
    const c1 = clip(40, null); minute();
    const s2 = await snap(10, done.id); minute(); // a resolved alert's picture may go
    const s3 = await snap(10); minute();
    const c2 = clip(40, open.id); minute(); // an open alert's: kept
    const s4 = await snap(10, open.id); minute(); // kept
    const c3 = clip(40, null); minute();
    const s5 = await snap(10); minute();
    const s6 = await snap(10);
    // 180 KiB of pictures; 70 KiB free: critical (under 100 KiB). The target is 200 KiB free: 130 KiB must go.
    setOther(10 * 1024 * KiB - 250 * KiB);
    expect(reclaimTarget(10 * 1024 * KiB, SMALL)).toBe(200 * KiB);

    expect(guard.check()).toBe('low');
    const left = (table: string) => (gw.ctx.db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: string }[]).map((r) => r.id);
    // s1, c1, s2, s3, c3, s5, s6 went (130 KiB), oldest first, stepping over the open alert's clip and picture.
    expect(left('camera_snapshots')).toEqual([s4]);
    expect(left('camera_clips')).toEqual([c2]);
    expect(readdirSync(snapshots.dir)).toEqual([`${s4}.jpg`]);
    expect(readdirSync(clips.dir)).toEqual([`${c2}.mp4`]);
    for (const id of [s1, s2, s3, s5, s6]) expect(() => snapshots.get(id)).toThrow(/not found/);
    for (const id of [c1, c3]) expect(() => clips.get(id)).toThrow(/not found/);

    // How much was freed: the metrics, the log, /healthz's component detail; the disk_critical alert resolved.
    const metrics = await ctx.metrics.metrics();
    expect(metrics).toContain('campus_disk_reclaimed_bytes_total{store="snapshots"} 51200');
    expect(metrics).toContain('campus_disk_reclaimed_bytes_total{store="clips"} 81920');
    expect(metrics).toContain('campus_disk_reclaimed_items_total{store="snapshots"} 5');
    expect(metrics).toContain('campus_disk_reclaimed_items_total{store="clips"} 2');
    expect(logged.join('')).toContain('disk critical: pruned 5 snapshots (50 KiB), 2 clips (80 KiB) to make room');
    expect(guard.health().detail).toMatch(/^low: .*; pruned 5 snapshots \(50 KiB\), 2 clips \(80 KiB\) at 2026-09-01T/);
    const critical = gw.ctx.alerts.list({ type: 'disk_critical', limit: 5 }).items;
    expect(critical).toMatchObject([{ status: 'resolved' }]);

    // Still critical with only the open alert's files left: they stay, and the guard says so without looping.
    setOther(10 * 1024 * KiB - 100 * KiB);
    expect(guard.check()).toBe('critical');
    expect(left('camera_snapshots')).toEqual([s4]);
    expect(left('camera_clips')).toEqual([c2]);
  });

  it('a gateway that starts on a critical disk prunes before its first tap, and /healthz and /metrics say what went', async () => {
    const clock = new ManualClock(TUE_10);
    const dataDir = tempDir();
    const db = openDatabase(join(dataDir, 'gateway.db'), allMigrations());
    const snapshots = new SnapshotStore(db, join(dataDir, 'snapshots'), clock, { maxCount: 1000, maxBytes: 1e9 });
    for (let i = 0; i < 3; i++) {
      await snapshots.save('cam-1', Buffer.alloc(10 * KiB, 3), 'routine');
      clock.advance(60_000);
    }
    db.close();
    expect(readdirSync(join(dataDir, 'snapshots'))).toHaveLength(3);
    // A 10 GiB disk with 150 MiB free (the default thresholds: critical below 2 %, here 205 MiB).
    const gw = await startTestGateway({ clock, dataDir, diskSpace: () => ({ total: 10 * 1024 * MiB, free: 150 * MiB }) });
    running.push(gw);
    expect(readdirSync(join(dataDir, 'snapshots'))).toEqual([]);
    expect(gw.ctx.db.prepare('SELECT COUNT(*) AS n FROM camera_snapshots').get()).toEqual({ n: 0 });
    const res = await gw.api('/healthz');
    expect(res.status).toBe(503);
    const storage = ((await res.json()) as { components: Record<string, { detail: string; params: { pruned: number } }> }).components.storage!;
    expect(storage.detail).toMatch(/^critical: 150 MiB free of 10240 MiB; pruned 3 snapshots \(30 KiB\)/);
    expect(storage).toMatchObject({ code: 'disk_critical', params: { freeMiB: 150, totalMiB: 10240, pruned: expect.any(Number) } });
    // pruned counts items over every store (the detail names each: 3 snapshots, then the others).
    expect(storage.params.pruned).toBeGreaterThanOrEqual(3);
    expect(await (await gw.api('/metrics')).text()).toContain('campus_disk_reclaimed_items_total{store="snapshots"} 3');
    expect(gw.ctx.alerts.list({ status: ['open'], type: 'disk_critical', limit: 5 }).items).toHaveLength(1);
  });

  it('sheds the outbox by its overflow policy (lowest priority first, oldest first) when pictures were not enough', async () => {
    const { gw, clock, outbox, snap, guard, ctx, deferred, minute, setOther } = await setup();
    await snap(10);
    minute();
    const now = clock.now();
    const at = new Date(now).toISOString();
    for (let i = 0; i < 100; i++) outbox.enqueue('environment.hourly', { hourStart: at, hourEnd: at, zones: [] }, now, now);
    const alertIds: string[] = [];
    for (let i = 0; i < 600; i++) {
      const alertId = monotonicFactory()(now + i);
      alertIds.push(alertId);
      outbox.enqueue(
        'alert.raised',
        {
          alertId, type: 'door_forced', severity: 'critical', status: 'open', source: 'controller door-1', summary: 'door_forced at lab',
          accessPoint: 'lab', zone: null, count: 1, raisedAt: at, lastRaisedAt: at, acknowledgedAt: null, resolvedAt: null,
          acknowledgedBy: null, resolvedBy: null, snapshots: [], details: {},
        },
        now,
        now,
      );
    }
    const before = outbox.stats().bytes;
    const rowsBefore = outbox.total();
    expect(before).toBeGreaterThan(200 * KiB);
    // 70 KiB free once the one picture is gone: still critical, 130 KiB short of the target. Rows deleted from the
    // database do not show as free space, so the outbox is shed by what is missing, once.
    setOther(10 * 1024 * KiB - 70 * KiB);
    expect(guard.check()).toBe('critical');
    expect(gw.ctx.db.prepare('SELECT COUNT(*) AS n FROM camera_snapshots').get()).toEqual({ n: 0 });
    const shed = before - outbox.stats().bytes;
    expect(shed).toBeGreaterThanOrEqual(130 * KiB);
    expect(shed).toBeLessThan(131 * KiB);
    // Environment first, all of it; then the oldest alerts; the newest alerts are still there, in order.
    expect(outbox.depthOf('environment')).toBe(0);
    // (The gateway's own cloud sync queued the disk_critical alert in the same table: the newest row, kept.)
    const mine = new Set(alertIds);
    const kept = outbox
      .page('alerts', 0, 1000)
      .map((r) => (JSON.parse(r.body) as { data: { alertId: string } }).data.alertId)
      .filter((id) => mine.has(id));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(600);
    expect(kept).toEqual(alertIds.slice(600 - kept.length));
    expect(outbox.stats().dropped.overflow).toMatchObject({ environment: 100, alerts: 600 - kept.length });
    // The gateway's own first heartbeat and attendance rows share the table; being of lower priority, they went too.
    expect(outbox.depthOf('heartbeat') + outbox.depthOf('attendance')).toBe(0);
    expect(await ctx.metrics.metrics()).toContain(`campus_disk_reclaimed_items_total{store="outbox"} ${rowsBefore - outbox.total()}`);

    // Still critical at the next check: the outbox is not emptied check after check.
    expect(guard.check()).toBe('critical');
    expect(outbox.page('alerts', 0, 1000)).toHaveLength(kept.length + 1);
    // Unless tap rows wait in memory because the database cannot grow: then it gives up more.
    deferred.keep(() => {});
    expect(guard.check()).toBe('critical');
    expect(outbox.page('alerts', 0, 1000).length).toBeLessThan(kept.length);
  });
});
