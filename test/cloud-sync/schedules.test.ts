/**
 * The periodic attendance stream across restarts: one intraday summary per interval and one end of day, whatever
 * the number of starts in between (each start builds a new PeriodicStreams on the same database file).
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { outboxMigrations, Outbox } from '../../cloud-sync/outbox.js';
import type { AttendancePort } from '../../cloud-sync/ports.js';
import { PeriodicStreams } from '../../cloud-sync/schedules.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

const HOUR = 3_600_000;
// 2026-09-01 (a Tuesday) 08:01 in Shanghai: the fifth 15-minute interval from 07:00 runs to 08:15.
const MORNING = Date.UTC(2026, 8, 1, 0, 1, 0);

/** A school of one class with 30 students, 28 of them in: what the register would report. */
const register: AttendancePort = {
  summary: () => ({
    schoolDay: true,
    grades: [{ grade: '初一', enrolled: 30, expected: 0, present: 27, late: 1, absent: 2, excused: 0, classes: [] }],
  }),
};

describe('periodic attendance summaries', () => {
  it('sends one intraday summary per interval and one end of day, however often the gateway restarts', async () => {
    const file = join(tempDir(), 'gateway.db');
    const clock = new ManualClock(MORNING);
    const start = () => {
      const db = openDatabase(file, [...metaMigrations, ...outboxMigrations]);
      const outbox = new Outbox(db, {
        schoolId: 'demo-school',
        maxBytes: 10_000_000,
        priority: { alerts: 0, 'command-results': 1, attendance: 2, environment: 3, heartbeat: 4 },
        ttlMs: { alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: HOUR },
      });
      const streams = new PeriodicStreams({
        db, outbox, clock, log: pino({ level: 'silent' }), timezone: 'Asia/Shanghai', attendance: register,
        identifyingAttendance: false, attendanceIntervalMin: 15, dayStart: '07:00', endOfDayAt: '18:00', onEnqueued: () => {},
      });
      return { db, outbox, streams };
    };
    const kinds = (db: ReturnType<typeof start>['db']) =>
      (db.prepare(`SELECT body FROM cloud_outbox ORDER BY seq`).all() as { body: string }[]).map((r) => (JSON.parse(r.body) as { type: string }).type);

    let gw = start();
    await gw.streams.tick();
    await gw.streams.tick();
    expect(kinds(gw.db)).toEqual(['attendance.intraday']);
    gw.db.close();

    // Restarted five minutes later, still in the same 15-minute interval: nothing new.
    clock.advance(5 * 60_000);
    gw = start();
    await gw.streams.tick();
    expect(kinds(gw.db)).toEqual(['attendance.intraday']);

    // The next interval, then the end of the day, then a restart in the evening.
    clock.advance(10 * 60_000);
    await gw.streams.tick();
    clock.set(Date.UTC(2026, 8, 1, 10, 5, 0)); // 18:05
    await gw.streams.tick();
    gw.db.close();
    gw = start();
    await gw.streams.tick();
    expect(kinds(gw.db)).toEqual(['attendance.intraday', 'attendance.intraday', 'attendance.end-of-day']);
    gw.db.close();
  });
});
