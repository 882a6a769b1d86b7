/**
 * School-local time and the school calendar. Schedules, validity dates and anti-passback days are counted
 * in the school's time zone (config.school.timezone), whatever zone the gateway's OS is set to.
 */
import type { AccessConfig } from '../../config/access.js';

export interface LocalTime {
  /** YYYY-MM-DD in the school's zone. */
  date: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export class SchoolClock {
  private readonly fmt: Intl.DateTimeFormat;
  // Taps arrive many per second; the local calendar fields only change once a minute.
  private cachedMinute = Number.NaN;
  private cached: LocalTime = { date: '', weekday: 0, minutes: 0 };

  constructor(timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
  }

  local(epochMs: number): LocalTime {
    const minute = Math.floor(epochMs / 60_000);
    if (minute === this.cachedMinute) return this.cached;
    const parts: Record<string, string> = {};
    for (const p of this.fmt.formatToParts(new Date(epochMs))) parts[p.type] = p.value;
    this.cached = {
      date: `${parts.year}-${parts.month}-${parts.day}`,
      weekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
      minutes: Number(parts.hour) * 60 + Number(parts.minute),
    };
    this.cachedMinute = minute;
    return this.cached;
  }
}

/** "HH:MM" → minutes since midnight. */
export const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export type Calendar = AccessConfig['calendar'];

/**
 * A school day: a weekday (Mon–Fri) that is not a holiday, or a make-up day (调休) on a weekend; and, when
 * terms are configured, inside one of them.
 */
export function isSchoolDay(cal: Calendar, t: LocalTime): boolean {
  if (cal.terms.length > 0 && !cal.terms.some((term) => term.from <= t.date && t.date <= term.to)) return false;
  if (cal.makeUpDays.includes(t.date)) return true;
  if (cal.holidays.includes(t.date)) return false;
  return t.weekday <= 5;
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
