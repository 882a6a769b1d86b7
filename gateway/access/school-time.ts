/**
 * School-local time and the school calendar. Schedules, validity dates and anti-passback days are counted
 * in the school's time zone (config.school.timezone), whatever zone the gateway's OS is set to.
 */
import type { AccessConfig } from '../../config/access.js';
import { isoWeekday, isSchoolDay as isSchoolDate, localTime, minutesOf } from '../core/school-calendar.js';

export { minutesOf };

export interface LocalTime {
  /** YYYY-MM-DD in the school's zone. */
  date: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
}

export class SchoolClock {
  // Taps arrive many per second; the local calendar fields only change once a minute.
  private cachedMinute = Number.NaN;
  private cached: LocalTime = { date: '', weekday: 0, minutes: 0 };

  constructor(private readonly timeZone: string) {}

  local(epochMs: number): LocalTime {
    const minute = Math.floor(epochMs / 60_000);
    if (minute === this.cachedMinute) return this.cached;
    const t = localTime(epochMs, this.timeZone);
    this.cached = { date: t.date, weekday: isoWeekday(t.date), minutes: Math.floor(t.secondOfDay / 60) };
    this.cachedMinute = minute;
    return this.cached;
  }
}

export type Calendar = AccessConfig['calendar'];

/** A school day by the one calendar rule the register and the wallet use too (gateway/core/school-calendar.ts). */
export function isSchoolDay(cal: Calendar, t: LocalTime): boolean {
  return isSchoolDate(t.date, cal);
}

export interface Window {
  days: number[];
  from: string;
  to: string;
}

/**
 * Inside one of the windows. A make-up day runs a weekday timetable, so on one a window that lists any
 * weekday (1–5) applies. A window whose `to` is before its `from` runs past midnight.
 */
export function inWindows(windows: readonly Window[], t: LocalTime, makeUpDay: boolean): boolean {
  return windows.some((w) => {
    const dayOk = w.days.includes(t.weekday) || (makeUpDay && w.days.some((d) => d <= 5));
    if (!dayOk) return false;
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    return from <= to ? t.minutes >= from && t.minutes < to : t.minutes >= from || t.minutes < to;
  });
}
