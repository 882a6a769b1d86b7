/**
 * A full disk, played with SQLite's max_page_count on a running demo gateway: gates keep deciding from memory, canteen
 * payments are refused with `storage_unavailable`, and the kept rows are written once there is room again. The free-space
 * thresholds raise and resolve disk_low and disk_critical.
 */
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { DEMO_STUDENT } from '../../gateway/people/demo.js';
import { DeferredWrites } from '../../gateway/storage/deferred-writes.js';
import { DiskGuard, diskLevel, type DiskSpace } from '../../gateway/operations/disk-guard.js';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';

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

describe('free space', () => {
  it('classifies by fraction and by bytes', () => {
    expect(diskLevel(50_000 * MiB, 100_000 * MiB)).toBe('ok');
    expect(diskLevel(900 * MiB, 4_000 * MiB)).toBe('low'); // under 1 GiB
    expect(diskLevel(8_000 * MiB, 100_000 * MiB)).toBe('low'); // under 10 %
    expect(diskLevel(150 * MiB, 1_000 * MiB)).toBe('critical'); // under 200 MiB
    expect(diskLevel(1_500 * MiB, 100_000 * MiB)).toBe('critical'); // under 2 %
  });

  it('raises disk_low and disk_critical as the disk fills, and resolves them when space returns', async () => {
    const gw = await startTestGateway();
    running.push(gw);
    let space: DiskSpace = { free: 50_000 * MiB, total: 100_000 * MiB };
    const ctx = { ...gw.ctx, metrics: new Registry() };
    const guard = new DiskGuard(ctx, new DeferredWrites(gw.ctx.writer, { maxRows: 10, retryEveryMs: 60_000 }, ctx.metrics), () => space);
    const open = (type: string) => gw.ctx.alerts.list({ status: ['open'], type, limit: 10 }).items;

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
    space = { free: 50_000 * MiB, total: 100_000 * MiB };
    expect(guard.check()).toBe('ok');
    expect(open('disk_critical')).toHaveLength(0);
    expect(open('disk_low')).toHaveLength(0);
  });
});
