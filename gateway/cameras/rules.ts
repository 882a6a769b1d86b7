import { isoWeekday, localTime as schoolLocalTime, minutesOf } from '../core/school-calendar.js';

export type { CameraEventKind } from './port.js';

export interface TimeWindow {
  days: number[];
  from: string;
  to: string;
}

/** Day of week (1 = Monday) and minutes since midnight, in the school's time zone. */
export function localTime(at: number, timeZone: string): { day: number; minutes: number } {
  const t = schoolLocalTime(at, timeZone);
  return { day: isoWeekday(t.date), minutes: Math.floor(t.secondOfDay / 60) };
}

const toMinutes = minutesOf;

/** Whether `at` falls in one of the windows. A window whose `to` is before its `from` runs past midnight. */
export function withinWindows(windows: TimeWindow[], at: number, timeZone: string): boolean {
  const { day, minutes } = localTime(at, timeZone);
  const yesterday = day === 1 ? 7 : day - 1;
  return windows.some((w) => {
    const from = toMinutes(w.from);
    const to = toMinutes(w.to);
    if (from <= to) return w.days.includes(day) && minutes >= from && minutes < to;
    return (w.days.includes(day) && minutes >= from) || (w.days.includes(yesterday) && minutes < to);
  });
}
