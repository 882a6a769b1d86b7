/**
 * The one place the console turns instants into text. Every time and date is shown in the school's time zone
 * (from the gateway at sign-in), not the browser's: a guard-room PC or kiosk set to UTC must read 08:05 for a
 * tap made at 08:05 school time, the same as the alert messages and the gateway's own hourly figures.
 */
import { locale } from './i18n/index.js';

let zone: string | undefined;
const cache = new Map<string, Intl.DateTimeFormat>();

/** Whether this browser knows the IANA zone (an unknown one would throw on every format). */
export function isKnownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Set from the gateway's `school.timezone`; an unknown zone leaves the browser's own (better than no times). */
export function setSchoolTimeZone(tz: string | undefined): void {
  const next = tz && isKnownZone(tz) ? tz : undefined;
  if (next !== zone) cache.clear();
  zone = next;
}

export function schoolTimeZone(): string | undefined {
  return zone;
}

/** True when the browser's clock shows another offset than the school's right now (then the page says whose time it is). */
export function browserZoneDiffers(at = Date.now()): boolean {
  if (!zone) return false;
  return fmtIn(at, 'en-GB', { hour: '2-digit', minute: '2-digit', day: '2-digit' }, zone) !== fmtIn(at, 'en-GB', { hour: '2-digit', minute: '2-digit', day: '2-digit' });
}

function formatter(loc: string, opts: Intl.DateTimeFormatOptions, tz: string | undefined): Intl.DateTimeFormat {
  const key = `${loc}|${tz ?? ''}|${JSON.stringify(opts)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(loc, { ...opts, ...(tz ? { timeZone: tz } : {}) });
    cache.set(key, f);
  }
  return f;
}

function fmtIn(at: number, loc: string, opts: Intl.DateTimeFormatOptions, tz?: string): string {
  return formatter(loc, opts, tz).format(at);
}

function instant(at: string | number): number | undefined {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(ms) ? ms : undefined;
}

function show(at: string | number, opts: Intl.DateTimeFormatOptions): string {
  const ms = instant(at);
  return ms === undefined ? String(at) : fmtIn(ms, locale(), opts, zone);
}

/** Date and time to the second: "2026/12/2 08:05:12". */
export function fmtDateTime(at: string | number): string {
  return show(at, { year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

/** Time of day to the second: "08:05:12". */
export function fmtTime(at: string | number): string {
  return show(at, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

/** Hours and minutes, for "showing data from 10:42" and chart ticks. */
export function fmtClock(at: string | number): string {
  return show(at, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** The school's calendar date of an instant, as the gateway writes dates (YYYY-MM-DD). */
export function schoolDate(at: string | number): string {
  const ms = instant(at);
  return ms === undefined ? String(at) : fmtIn(ms, 'en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' }, zone);
}

/** "3 minutes ago": a span of time, the same in every zone. */
export function fmtAgo(at: string | number): string {
  const ms = instant(at);
  if (ms === undefined) return String(at);
  const s = Math.round((Date.now() - ms) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  if (Math.abs(s) < 60) return rtf.format(-s, 'second');
  if (Math.abs(s) < 3600) return rtf.format(-Math.round(s / 60), 'minute');
  if (Math.abs(s) < 86400) return rtf.format(-Math.round(s / 3600), 'hour');
  return rtf.format(-Math.round(s / 86400), 'day');
}
