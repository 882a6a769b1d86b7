/**
 * School days and local times, one rule for every domain: access schedules, attendance and the wallet's daily cap
 * count days in the school's own time zone (config.school.timezone), never the gateway host's: a Raspberry Pi left on UTC must still
 * close the canteen day at local midnight.
 */
import type { AccessConfig } from '../../config/access.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalTime {
  /** YYYY-MM-DD */
  date: string;
  /** HH:MM:SS */
  time: string;
  /** Seconds since local midnight. */
  secondOfDay: number;
}

/**
 * Offsets from UTC change only on a zone's transitions, and those fall on quarter hours: one Intl call per zone and
 * quarter hour, not per tap (formatToParts costs ~25 us, and the tap path asks several times).
 */
const QUARTER_HOUR_MS = 900_000;
const offsetCache = new Map<string, Map<number, number>>();

function offsetMs(epochMs: number, timeZone: string): number {
  const quarter = Math.floor(epochMs / QUARTER_HOUR_MS);
  let zone = offsetCache.get(timeZone);
  if (!zone) offsetCache.set(timeZone, (zone = new Map()));
  let offset = zone.get(quarter);
  if (offset === undefined) {
    const at = quarter * QUARTER_HOUR_MS;
    const p: Record<string, string> = {};
    for (const part of formatter(timeZone).formatToParts(new Date(at))) p[part.type] = part.value;
    offset = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - at;
    if (zone.size >= 1024) zone.clear(); // reports over long ranges must not grow it without bound
    zone.set(quarter, offset);
  }
  return offset;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

export function localTime(epochMs: number, timeZone: string): LocalTime {
  // The wall clock as if it were UTC: read with the getUTC* accessors, which need no time zone data.
  const wall = new Date(epochMs + offsetMs(epochMs, timeZone));
  const hour = wall.getUTCHours();
  const minute = wall.getUTCMinutes();
  const second = wall.getUTCSeconds();
  return {
    date: `${wall.getUTCFullYear()}-${pad2(wall.getUTCMonth() + 1)}-${pad2(wall.getUTCDate())}`,
    time: `${pad2(hour)}:${pad2(minute)}:${pad2(second)}`,
    secondOfDay: hour * 3600 + minute * 60 + second,
  };
}

export function localDate(epochMs: number, timeZone: string): string {
  return localTime(epochMs, timeZone).date;
}

/** "HH:MM" → minutes since midnight. */
export const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** "HH:MM" → seconds since midnight. */
export function secondsOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 3600 + (m ?? 0) * 60;
}

/** ISO weekday 1 (Monday) … 7 (Sunday) of a calendar date, independent of any time zone. */
export function isoWeekday(date: string): number {
  const d = new Date(`${date}T00:00:00Z`).getUTCDay();
  return d === 0 ? 7 : d;
}

export type DayKind = 'school_day' | 'weekend' | 'holiday' | 'out_of_term' | 'make_up_day';

/**
 * Whether lessons take place on a date; gates, doors and the register all ask this one function, so they never
 * disagree. Outside every configured term nothing counts; a make-up day (调休) is a school day even on a weekend; then holidays; then Monday to Friday.
 */
export function dayKind(date: string, calendar: AccessConfig['calendar']): DayKind {
  if (calendar.terms.length > 0 && !calendar.terms.some((t) => t.from <= date && date <= t.to)) return 'out_of_term';
  if (calendar.makeUpDays.includes(date)) return 'make_up_day';
  if (calendar.holidays.includes(date)) return 'holiday';
  return isoWeekday(date) <= 5 ? 'school_day' : 'weekend';
}

export function isSchoolDay(date: string, calendar: AccessConfig['calendar']): boolean {
  const k = dayKind(date, calendar);
  return k === 'school_day' || k === 'make_up_day';
}

/** The arrival cut-off of a schedule group: its own, else the `default` group's, else 08:00. */
export function arrivalCutoff(group: string, groups: AccessConfig['scheduleGroups']): string {
  return groups.find((g) => g.id === group)?.arrivalCutoff ?? fallbackArrivalCutoff(groups);
}

/** The cut-off of a group the config does not list (a person's group left over from an import): `default`'s, else 08:00. */
export function fallbackArrivalCutoff(groups: AccessConfig['scheduleGroups']): string {
  return groups.find((g) => g.id === 'default')?.arrivalCutoff ?? '08:00';
}

/**
 * Whether an entry at `secondOfDay` (school time) is after the arrival cut-off of the person's schedule group: what
 * makes a day's first entry `late` (guardians' messages, flows).
 */
export function afterArrivalCutoff(secondOfDay: number, scheduleGroup: string, groups: AccessConfig['scheduleGroups']): boolean {
  return secondOfDay > secondsOf(arrivalCutoff(scheduleGroup, groups));
}

/** Epoch ms of local midnight starting `date` in `timeZone` (for range queries over epoch-ms columns). */
export function startOfLocalDay(date: string, timeZone: string): number {
  return epochOfLocal(date, '00:00:00', timeZone);
}

/**
 * Epoch ms of a wall-clock time ("YYYY-MM-DD", "HH:MM:SS") in `timeZone`, by that moment's own offset: midnight plus the
 * seconds since was an hour off after the clocks changed that day (a door controller's time stamps are local time).
 */
export function epochOfLocal(date: string, time: string, timeZone: string): number {
  const asUtc = Date.parse(`${date}T${time}Z`);
  let guess = asUtc;
  // Two rounds settle any zone, including one whose offset changes that day.
  for (let i = 0; i < 2; i++) {
    const t = localTime(guess, timeZone);
    const shownAsUtc = Date.parse(`${t.date}T${t.time}Z`);
    guess -= shownAsUtc - asUtc;
  }
  return guess;
}

/** The calendar date after `date`. */
export function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
