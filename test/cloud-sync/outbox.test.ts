/** The outbox on a real SQLite file: order per stream, TTL expiry, the overflow policy, and counts that survive a restart. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outboxMigrations, Outbox, type OutboxOptions } from '../../cloud-sync/outbox.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { dataExamples } from '../../cloud-sync/examples.js';
import { tempDir } from '../helpers/gateway.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 8, 1, 0, 0, 0);

function open(opts: Partial<OutboxOptions> = {}, file = join(tempDir(), 'gateway.db')) {
  const db = openDatabase(file, [...metaMigrations, ...outboxMigrations]);
  const outbox = new Outbox(db, {
    schoolId: 'demo-school',
    maxBytes: 10_000_000,
    priority: { alerts: 0, 'command-results': 1, attendance: 2, environment: 3, heartbeat: 4 },
    ttlMs: { alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: HOUR },
    ...opts,
  });
  return { db, outbox, file };
}

const alert = (n: number) => ({ ...dataExamples['alert.raised'], count: n });

describe('cloud outbox', () => {
  it('keeps each stream in order and reads the highest priority first', () => {
    const { outbox, db } = open();
    outbox.enqueue('heartbeat', dataExamples.heartbeat, T0, T0);
    for (let i = 1; i <= 5; i++) outbox.enqueue('alert.raised', alert(i), T0 + i, T0 + i);
    expect(outbox.sendOrder[0]).toBe('alerts');
    const page = outbox.page('alerts', 0, 3);
    expect(page.map((r) => (JSON.parse(r.body) as { data: { count: number } }).data.count)).toEqual([1, 2, 3]);
    const next = outbox.page('alerts', page[2]!.seq, 10);
    expect(next.map((r) => (JSON.parse(r.body) as { data: { count: number } }).data.count)).toEqual([4, 5]);
    outbox.confirm(page);
    expect(outbox.stats().depth).toMatchObject({ alerts: 2, heartbeat: 1 });
    db.close();
  });

  it('expires rows past their stream TTL, counts them per stream, and keeps the count across a restart', () => {
    const { outbox, db, file } = open();
    for (let i = 0; i < 4; i++) outbox.enqueue('heartbeat', dataExamples.heartbeat, T0, T0 + i * 20 * 60_000);
    outbox.enqueue('alert.raised', alert(1), T0, T0);
    expect(outbox.expire(T0 + HOUR + 30 * 60_000)).toMatchObject({ heartbeat: 2, alerts: 0 });
    expect(outbox.stats().depth).toMatchObject({ heartbeat: 2, alerts: 1 });
    db.close();
    const again = open({}, file);
    expect(again.outbox.stats()).toMatchObject({ depth: { heartbeat: 2, alerts: 1 }, dropped: { expired: { heartbeat: 2 } } });
    again.db.close();
  });

  it('keeps refused (parked) rows for inspection 30 days and at most 10,000 of them, the oldest going first', () => {
    const { outbox, db } = open();
    const parked = (): number => (db.prepare('SELECT COUNT(*) AS n FROM cloud_parked').get() as { n: number }).n;
    // A city answering 4xx to everything: each batch is parked, day after day.
    for (let day = 0; day < 40; day++) {
      const at = T0 + day * 24 * HOUR;
      for (let i = 0; i < 300; i++) outbox.enqueue('alert.raised', alert(i), at, at);
      outbox.park(outbox.page('alerts', 0, 1000), 413, 'HTTP 413', at);
    }
    const now = T0 + 40 * 24 * HOUR;
    outbox.expire(now);
    // Days 10-39 are within 30 days: 30 x 300 = 9,000 rows, under the count cap.
    expect(parked()).toBe(9000);
    for (let i = 0; i < 2000; i++) outbox.enqueue('alert.raised', alert(i), now, now);
    outbox.park(outbox.page('alerts', 0, 5000), 413, 'HTTP 413', now);
    outbox.expire(now);
    expect(parked()).toBe(10_000);
    const oldest = db.prepare('SELECT MIN(parked_at) AS t FROM cloud_parked').get() as { t: number };
    expect(oldest.t).toBe(T0 + 13 * 24 * HOUR);
    expect(outbox.stats().parked).toBe(40 * 300 + 2000); // the count of what was refused stays
    db.close();
  });

  it('over the byte cap drops the oldest rows of the lowest priority first, then the next stream, and counts them', () => {
    const probe = open();
    probe.outbox.enqueue('heartbeat', dataExamples.heartbeat, T0, T0);
    probe.outbox.enqueue('environment.hourly', dataExamples['environment.hourly'], T0, T0);
    probe.outbox.enqueue('alert.raised', alert(0), T0, T0);
    const { heartbeat: hb, environment: env, alerts: al } = Object.fromEntries(
      probe.outbox.sendOrder.map((s) => [s, probe.outbox.page(s, 0, 1)[0]?.bytes ?? 0]),
    ) as Record<string, number>;
    probe.db.close();

    // Room for exactly: 3 heartbeats + 2 environment + 3 alerts.
    const { outbox, db } = open({ maxBytes: 3 * hb! + 2 * env! + 3 * al! });
    for (let i = 0; i < 3; i++) outbox.enqueue('heartbeat', dataExamples.heartbeat, T0, T0 + i);
    for (let i = 0; i < 2; i++) outbox.enqueue('environment.hourly', dataExamples['environment.hourly'], T0, T0 + i);
    for (let i = 1; i <= 3; i++) outbox.enqueue('alert.raised', alert(i), T0, T0 + i);
    expect(outbox.stats().dropped.overflow).toMatchObject({ heartbeat: 0, environment: 0, alerts: 0 });

    outbox.enqueue('alert.raised', alert(4), T0, T0 + 4);
    outbox.enqueue('alert.raised', alert(5), T0, T0 + 5);
    let s = outbox.stats();
    expect(s.dropped.overflow.heartbeat).toBeGreaterThanOrEqual(1);
    expect(s.dropped.overflow.environment).toBe(0);
    expect(s.bytes).toBeLessThanOrEqual(s.maxBytes);
    // The heartbeats left are the newest ones.
    const left = outbox.page('heartbeat', 0, 10).map((r) => r.seq);
    expect(left).toEqual([...left].sort((a, b) => a - b));
    expect(left.length).toBe(3 - s.dropped.overflow.heartbeat);

    for (let i = 6; i <= 12; i++) outbox.enqueue('alert.raised', alert(i), T0, T0 + i);
    s = outbox.stats();
    expect(s.depth.heartbeat).toBe(0);
    expect(s.depth.environment).toBe(0);
    expect(s.dropped.overflow.environment).toBe(2);
    expect(s.dropped.overflow.alerts).toBeGreaterThan(0);
    const kept = outbox.page('alerts', 0, 100).map((r) => (JSON.parse(r.body) as { data: { count: number } }).data.count);
    expect(kept[kept.length - 1]).toBe(12);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(s.bytes).toBeLessThanOrEqual(s.maxBytes);
    db.close();
  });
});
