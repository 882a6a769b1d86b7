/**
 * What each controller should hold: the gateway's active cards as the controller's card records. Which doors a card
 * opens follows the access rules a controller can apply by itself: the person's windows at each door's access point
 * (their schedule group's, else their role's), as time profiles; card validity dates; and, during a lockdown, nobody
 * but security staff at gates, doors and classrooms. What a controller cannot know (holidays and make-up days,
 * anti-passback across the gateway's gates) is the gateway's alone; docs/controllers.md says what the controller does.
 */
import type { AccessPointConfig } from '../../../config/access.js';
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import { matchKey } from '../../../gateway/core/card-number.js';
import type { CardRecord, TimeProfile } from './messages.js';

export interface PlannedHolder {
  uid: string;
  role: 'student' | 'staff' | 'visitor';
  scheduleGroup: string;
  security: boolean;
  validFrom: string | null;
  validTo: string | null;
}

type Window = { days: number[]; from: string; to: string };

/** The controller's card number for a UID, as its readers report it (config `cardNumber`). */
export function cardNumberOf(uid: string, form: ControllerDeviceConfig['cardNumber']): number | null {
  const k = matchKey(uid, form === 'wg26' ? 'wg26' : '8h10d');
  if (!k.ok) return null;
  const hex = form === 'reversed' ? (k.value.match(/../g) ?? []).reverse().join('') : k.value;
  const n = Number.parseInt(hex, 16);
  return n === 0 || n === 0xffffffff ? null : n;
}

/** The UID suffix (a card-number key, upper-case hex) a controller's card number stands for. */
export function uidKeyOf(card: number, form: ControllerDeviceConfig['cardNumber']): string {
  if (form === 'wg26' && card <= 0xffffff) return card.toString(16).toUpperCase().padStart(6, '0');
  const hex = card.toString(16).toUpperCase().padStart(8, '0');
  return form === 'reversed' ? (hex.match(/../g) ?? []).reverse().join('') : hex;
}

const LOCKABLE = new Set(['gate', 'door', 'classroom']);
const FAR_PAST = '2000-01-01';
const FAR_FUTURE = '2099-12-31';

export interface DevicePlan {
  cards: Map<number, CardRecord>;
  profiles: TimeProfile[];
  /** Cards left out because their number is taken by another card on this controller (UIDs sharing a suffix). */
  collisions: number;
}

/**
 * Profiles for a list of windows: windows on the same days share a profile (3 segments each, chained when more);
 * a window over midnight is split into its evening and early-morning parts on the same days.
 */
class ProfileBook {
  private readonly bySignature = new Map<string, number>();
  readonly profiles: TimeProfile[] = [];
  private next = 2;

  permissionFor(windows: readonly Window[]): number {
    if (windows.length === 0) return 0;
    const sig = JSON.stringify(windows.map((w) => [[...w.days].sort(), w.from, w.to]));
    const known = this.bySignature.get(sig);
    if (known !== undefined) return known;
    const byDays = new Map<string, { start: string; end: string }[]>();
    for (const w of windows) {
      const key = [...new Set(w.days)].sort().join(',');
      const segs = byDays.get(key) ?? [];
      if (w.from <= w.to) segs.push({ start: w.from, end: w.to });
      else segs.push({ start: w.from, end: '23:59' }, { start: '00:00', end: w.to });
      byDays.set(key, segs);
    }
    const chunks: { days: number[]; segs: { start: string; end: string }[] }[] = [];
    for (const [key, segs] of byDays) {
      for (let i = 0; i < segs.length; i += 3) chunks.push({ days: key.split(',').map(Number), segs: segs.slice(i, i + 3) });
    }
    if (this.next + chunks.length - 1 > 254) return 1; // out of profiles: the controller opens at any time (documented)
    const ids = chunks.map(() => this.next++);
    chunks.forEach((c, i) => {
      const none = { start: '00:00', end: '00:00' };
      this.profiles.push({
        profile: ids[i]!,
        from: FAR_PAST,
        to: FAR_FUTURE,
        weekdays: [1, 2, 3, 4, 5, 6, 7].map((d) => c.days.includes(d)) as TimeProfile['weekdays'],
        segments: [c.segs[0] ?? none, c.segs[1] ?? none, c.segs[2] ?? none],
        linked: ids[i + 1] ?? 0,
      });
    });
    this.bySignature.set(sig, ids[0]!);
    return ids[0]!;
  }
}

const dateOnly = (s: string | null, fallback: string): string => (s && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : fallback);

export function planDevice(
  device: ControllerDeviceConfig,
  accessPoints: ReadonlyMap<string, AccessPointConfig>,
  holders: readonly PlannedHolder[],
  lockdown: boolean,
): DevicePlan {
  const book = new ProfileBook();
  const doors = ([1, 2, 3, 4] as const).map((n) => {
    const d = device.doors[String(n) as '1'];
    return d ? accessPoints.get(d.accessPoint) : undefined;
  });
  const cards = new Map<number, CardRecord>();
  let collisions = 0;
  for (const h of holders) {
    const card = cardNumberOf(h.uid, device.cardNumber);
    if (card === null) continue;
    if (cards.has(card)) {
      collisions++;
      continue;
    }
    const perms = doors.map((ap) => {
      if (!ap) return 0;
      if (lockdown && LOCKABLE.has(ap.kind) && !(h.role === 'staff' && h.security)) return 0;
      const windows = ap.groupSchedule[h.scheduleGroup] ?? ap.schedule[h.role];
      return windows ? book.permissionFor(windows) : 1;
    }) as CardRecord['doors'];
    if (perms.every((p) => p === 0)) continue;
    cards.set(card, { card, from: dateOnly(h.validFrom, FAR_PAST), to: dateOnly(h.validTo, FAR_FUTURE), doors: perms, pin: 0 });
  }
  return { cards, profiles: book.profiles, collisions };
}

export const sameRecord = (a: CardRecord, b: CardRecord): boolean =>
  a.card === b.card && a.from === b.from && a.to === b.to && a.pin === b.pin && a.doors.every((d, i) => d === b.doors[i]);

/**
 * What controllers cannot do of the access rules for their doors, one line each with the field path and what the
 * controller does instead (printed by `campus-gateway check-config`).
 */
export function controllerScheduleNotes(devices: readonly ControllerDeviceConfig[], accessPoints: ReadonlyMap<string, AccessPointConfig>): string[] {
  const notes: string[] = [];
  devices.forEach((d, i) => {
    for (const [n, door] of Object.entries(d.doors)) {
      const ap = door ? accessPoints.get(door.accessPoint) : undefined;
      if (!ap) continue;
      const at = `controllers.devices[${i}].doors.${n} (${ap.id})`;
      const windows = [...Object.entries(ap.schedule), ...Object.entries(ap.groupSchedule)];
      if (windows.length > 0 || ap.kind === 'door' || ap.kind === 'classroom') {
        notes.push(`${at}: holidays, make-up days and terms are not known to the controller; it opens by weekday and time as the windows say`);
      }
      for (const [who, list] of windows) {
        for (const w of list ?? []) {
          if (w.from > w.to) {
            notes.push(`${at}: the ${who} window ${w.from}–${w.to} crosses midnight; the controller applies ${w.from}–23:59 and 00:00–${w.to} on days ${w.days.join(',')} (the early part on the same days, not the next)`);
          }
        }
      }
      if (ap.antiPassback) notes.push(`${at}: the gateway's anti-passback is not applied by the controller; it lets a card pass the same way twice (set the controller's own anti-passback if needed)`);
    }
  });
  return notes;
}
