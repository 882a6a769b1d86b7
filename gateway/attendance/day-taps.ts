/**
 * One person's taps of a day, read from the access domain's `taps` table (migration 11,
 * gateway/access/taps-store.ts). Attendance only reads the documented columns; without the table
 * (a gateway built without access) the list is empty rather than an error.
 */
import type { Database } from '../storage/db.js';
import { nextDate, startOfLocalDay } from '../core/school-calendar.js';

export interface DayTap {
  tapId: string;
  at: string;
  readerId: string;
  accessPoint: string | null;
  direction: 'in' | 'out' | null;
  granted: boolean;
  reason: string;
  amountFen: number | null;
}

export class DayTaps {
  constructor(
    private readonly db: Database,
    private readonly timezone: string,
  ) {}

  of(personId: number, date: string): DayTap[] {
    const exists = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'taps'`).get();
    if (!exists) return [];
    const from = startOfLocalDay(date, this.timezone);
    const to = startOfLocalDay(nextDate(date), this.timezone);
    const rows = this.db
      .prepare(
        `SELECT id, at, reader_id, access_point, direction, granted, reason, amount FROM taps
         WHERE person_id = ? AND at >= ? AND at < ? ORDER BY at, id LIMIT 1000`,
      )
      .all(personId, from, to) as {
      id: string;
      at: number;
      reader_id: string;
      access_point: string | null;
      direction: 'in' | 'out' | null;
      granted: number;
      reason: string;
      amount: number | null;
    }[];
    return rows.map((r) => ({
      tapId: r.id,
      at: new Date(r.at).toISOString(),
      readerId: r.reader_id,
      accessPoint: r.access_point,
      direction: r.direction,
      granted: r.granted === 1,
      reason: r.reason,
      amountFen: r.amount,
    }));
  }
}
