import { isoWeekday, localTime as schoolLocalTime, minutesOf } from '../core/school-calendar.js';
import type { CameraNotification } from './port.js';

export type CameraEventKind = 'motion' | 'tamper' | 'line_crossing' | 'field_crossing' | 'other';

const TRUE = new Set(['true', '1', 'on', 'active']);

function flag(data: Record<string, string>, names: string[]): boolean {
  for (const n of names) {
    const v = data[n];
    if (v !== undefined) return TRUE.has(v.toLowerCase());
  }
  // No state item at all: an occurrence, not a property change.
  return Object.keys(data).length === 0;
}

/**
 * ONVIF topics → what happened. Vendors spell topics differently (`RuleEngine/CellMotionDetector/Motion`,
 * `VideoSource/MotionAlarm`, `RuleEngine/TamperDetector/Tamper`, `VideoSource/GlobalSceneChange/…`,
 * `RuleEngine/LineDetector/Crossed`, `RuleEngine/FieldDetector/ObjectsInside`), so we match on the words.
 */
export function classifyNotification(n: CameraNotification): { kind: CameraEventKind; active: boolean } {
  const t = n.topic.toLowerCase();
  if (/tamper|globalscenechange|imagetoo(blurry|dark|bright)|signalloss/.test(t)) {
    return { kind: 'tamper', active: flag(n.data, ['IsTamper', 'State', 'IsActive', 'Value', 'Signal']) };
  }
  if (/linedetector|linecross|\/crossed$/.test(t)) return { kind: 'line_crossing', active: true };
  if (/fielddetector|objectsinside|intrusion/.test(t)) return { kind: 'field_crossing', active: flag(n.data, ['IsInside', 'State', 'IsActive']) };
  if (/motion/.test(t)) return { kind: 'motion', active: flag(n.data, ['IsMotion', 'State', 'IsActive', 'Motion', 'Value']) };
  return { kind: 'other', active: false };
}

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
