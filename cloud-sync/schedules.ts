/**
 * The periodic streams: attendance (every N minutes of the school day, and a final summary at the end of the
 * day) and environment (each completed hour). Times are the school's local time (school.timezone). What was
 * already sent is remembered in `meta`, so a restart neither skips nor repeats an interval, an end-of-day or an hour.
 */
import { localTime, minutesOf } from '../gateway/core/school-calendar.js';
import type { Clock } from '../gateway/core/clock.js';
import type { Logger } from '../gateway/core/logger.js';
import { getMeta, setMeta } from '../gateway/storage/meta.js';
import type { Database } from '../gateway/storage/db.js';
import type { AttendanceCounts, AttendanceData, EnvironmentData } from './contract.js';
import type { Outbox } from './outbox.js';
import type { AttendancePort, AttendanceSummaryIn, EnvironmentPort, StudentAttendance, ZoneHourSummary } from './ports.js';

const HOUR = 3_600_000;
/** Aggregates of an hour are read this long after it ends, so late readings of the hour are in. */
const HOUR_GRACE_MS = 60_000;

export function localDateAndMinutes(ms: number, timezone: string): { date: string; minutes: number } {
  const { date, secondOfDay } = localTime(ms, timezone);
  return { date, minutes: Math.floor(secondOfDay / 60) };
}

const toMinutes = minutesOf;

const countsOf = (c: AttendanceCounts): AttendanceCounts => ({
  enrolled: c.enrolled,
  present: c.present,
  late: c.late,
  absent: c.absent,
  excused: c.excused,
  expected: c.expected,
});

export function buildAttendance(
  date: string,
  timezone: string,
  asOf: number,
  final: boolean,
  summary: AttendanceSummaryIn,
  students: StudentAttendance[] | undefined,
): AttendanceData {
  const totals: AttendanceCounts = { enrolled: 0, present: 0, late: 0, absent: 0, excused: 0, expected: 0 };
  const grades: AttendanceData['grades'] = [];
  for (const g of summary.grades) {
    for (const k of Object.keys(totals) as (keyof AttendanceCounts)[]) totals[k] += g[k];
    grades.push({
      grade: g.grade ?? 'unassigned',
      ...countsOf(g),
      classes: g.classes.map((c) => ({ class: c.class ?? 'unassigned', ...countsOf(c) })),
    });
  }
  const data: AttendanceData = { date, timezone, asOf: new Date(asOf).toISOString(), final, totals, grades };
  if (students) {
    data.students = students.map((s) => ({
      externalId: s.externalId,
      name: s.name,
      grade: s.grade,
      class: s.class,
      status: s.status,
      firstIn: s.firstIn,
      lastOut: s.lastOut,
    }));
  }
  return data;
}

export function buildEnvironment(hourStart: number, zones: ZoneHourSummary[]): EnvironmentData {
  return {
    hourStart: new Date(hourStart).toISOString(),
    hourEnd: new Date(hourStart + HOUR).toISOString(),
    zones: [...zones]
      .sort((a, b) => a.zone.localeCompare(b.zone))
      .map((z) => ({
        zone: z.zone,
        sensors: z.sensors,
        metrics: Object.fromEntries(
          Object.entries(z.metrics).flatMap(([name, m]) => (m ? [[name, { min: m.min, max: m.max, avg: m.avg, count: m.count, unit: m.unit }]] : [])),
        ),
      })),
  };
}

export interface ScheduleOptions {
  db: Database;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  timezone: string;
  attendance?: AttendancePort | undefined;
  environment?: EnvironmentPort | undefined;
  identifyingAttendance: boolean;
  attendanceIntervalMin: number;
  dayStart: string;
  endOfDayAt: string;
  onEnqueued: () => void;
}

export class PeriodicStreams {
  private busy = false;

  constructor(private readonly o: ScheduleOptions) {}

  /** Sends whatever is due now. Safe to call often; overlapping calls are skipped. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.attendanceTick();
      await this.environmentTick();
    } catch (err) {
      this.o.log.warn({ err }, 'periodic city summary failed; will try again');
    } finally {
      this.busy = false;
    }
  }

  private async attendanceTick(): Promise<void> {
    const port = this.o.attendance;
    if (!port) return;
    const now = this.o.clock.now();
    const { date, minutes } = localDateAndMinutes(now, this.o.timezone);
    const start = toMinutes(this.o.dayStart);
    const end = toMinutes(this.o.endOfDayAt);
    if (minutes >= end) {
      if (getMeta(this.o.db, 'cloud.attendance.lastEndOfDay') === date) return;
      await this.sendAttendance(port, date, now, true);
      return;
    }
    if (minutes < start) return;
    // In meta like the end of day, so a restart within an interval does not send that interval again.
    const slot = `${date}#${Math.floor((minutes - start) / this.o.attendanceIntervalMin)}`;
    if (getMeta(this.o.db, 'cloud.attendance.lastSlot') === slot) return;
    await this.sendAttendance(port, date, now, false, slot);
  }

  /** `slot`: the intraday interval this summary stands for; without it, the end of the day. */
  private async sendAttendance(port: AttendancePort, date: string, now: number, final: boolean, slot?: string): Promise<void> {
    const sent = (): void => {
      if (final) setMeta(this.o.db, 'cloud.attendance.lastEndOfDay', date);
      else if (slot) setMeta(this.o.db, 'cloud.attendance.lastSlot', slot);
    };
    const summary = await port.summary(date);
    if (!summary.schoolDay) {
      // Holidays and weekends: nothing to report, and nothing to retry.
      sent();
      return;
    }
    const students = this.o.identifyingAttendance && port.students ? await port.students(date) : undefined;
    const data = buildAttendance(date, this.o.timezone, now, final, summary, students);
    this.o.db.transaction(() => {
      this.o.outbox.enqueue(final ? 'attendance.end-of-day' : 'attendance.intraday', data, now, now);
      sent();
    })();
    this.o.onEnqueued();
  }

  private async environmentTick(): Promise<void> {
    const port = this.o.environment;
    if (!port) return;
    const now = this.o.clock.now();
    const hourStart = Math.floor((now - HOUR_GRACE_MS) / HOUR) * HOUR - HOUR;
    const last = Number(getMeta(this.o.db, 'cloud.environment.lastHour') ?? '0');
    if (last >= hourStart) return;
    const zones = await port.hourlySummaries(hourStart);
    this.o.db.transaction(() => {
      if (zones.length > 0) this.o.outbox.enqueue('environment.hourly', buildEnvironment(hourStart, zones), hourStart + HOUR, now);
      setMeta(this.o.db, 'cloud.environment.lastHour', String(hourStart));
    })();
    this.o.onEnqueued();
  }
}
