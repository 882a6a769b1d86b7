/**
 * What each controller should hold: the gateway's active cards as the controller's card records. Which doors a card
 * opens follows the access rules a controller can apply by itself: the person's windows at each door's access point
 * (their schedule group's, else their role's), as time profiles; card validity dates; and, during a lockdown, nobody
 * but security staff at gates, doors and classrooms; anti-passback, where the controller's own modes say the same
 * (antiPassbackPlan). What a controller cannot know (holidays and make-up days, anti-passback at a gate whose doors no
 * mode fits) is the gateway's alone; docs/controllers.md says what the controller does.
 */
import type { AccessPointConfig } from '../../../config/access.js';
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import { matchKey } from '../../../gateway/core/card-number.js';
import type { CardRecord, TimeProfile } from './messages.js';

export interface PlannedHolder {
  uid: string;
  /** Every card the gateway knows is planned: a refused card's number must not open anything either. */
  status: 'active' | 'lost' | 'blocked' | 'expired';
  role: 'student' | 'staff' | 'visitor';
  scheduleGroup: string;
  security: boolean;
  validFrom: string | null;
  validTo: string | null;
  /** Shares its low bytes with a card erased with its holder: off the list until reissued. */
  held?: boolean;
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

/** The controller card number a UID key from its log stands for (uidKeyOf's inverse; cardNumberOf wants a whole UID). */
export function cardOfKey(key: string, form: ControllerDeviceConfig['cardNumber']): number | null {
  if (!/^(?:[0-9A-F]{2})+$/i.test(key)) return null;
  const hex = form === 'reversed' ? (key.match(/../g) ?? []).reverse().join('') : key;
  return Number.parseInt(hex, 16);
}

/** Kinds a lockdown closes (gateway/access/rules.ts): security staff only, and their doors' modes the gateway's. */
export const LOCKABLE: ReadonlySet<string> = new Set(['gate', 'door', 'classroom']);
const FAR_PAST = '2000-01-01';
const FAR_FUTURE = '2099-12-31';

/**
 * A controller number left off the card list because it stands for more than one card: the controller sees only the
 * low bytes its readers send (3 under wg26, 4 otherwise), so it cannot tell those cards apart. `refused_card`: one of
 * them is lost, blocked or expired, and whoever found it would be let in as the other. `shared`: two active cards, and
 * the one swiping would get the other's doors and be recorded as nobody. `erased_card`: a card erased with its holder
 * had the same low bytes; the gateway no longer knows it, but the leaver may still carry it. Either way one card has to
 * be reissued.
 */
export interface LeftOutCard {
  card: number;
  uids: string[];
  reason: 'refused_card' | 'shared' | 'erased_card';
}

export interface DevicePlan {
  cards: Map<number, CardRecord>;
  profiles: TimeProfile[];
  leftOut: LeftOutCard[];
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
  const byNumber = new Map<number, PlannedHolder[]>();
  for (const h of holders) {
    const card = cardNumberOf(h.uid, device.cardNumber);
    if (card === null) continue;
    const group = byNumber.get(card);
    if (group) group.push(h);
    else byNumber.set(card, [h]);
  }
  const cards = new Map<number, CardRecord>();
  const leftOut: LeftOutCard[] = [];
  for (const [card, sharing] of byNumber) {
    const h = sharing[0]!;
    if (sharing.length > 1 || h.held) {
      if (sharing.every((x) => x.status !== 'active')) continue; // refused either way: nothing to report
      const reason = sharing.some((x) => x.held) ? 'erased_card' : sharing.some((x) => x.status !== 'active') ? 'refused_card' : 'shared';
      leftOut.push({ card, uids: sharing.map((x) => x.uid).sort(), reason });
      continue;
    }
    if (h.status !== 'active') continue;
    const perms = doors.map((ap) => {
      if (!ap) return 0;
      if (lockdown && LOCKABLE.has(ap.kind) && !(h.role === 'staff' && h.security)) return 0;
      const windows = ap.groupSchedule[h.scheduleGroup] ?? ap.schedule[h.role];
      return windows ? book.permissionFor(windows) : 1;
    }) as CardRecord['doors'];
    if (perms.every((p) => p === 0)) continue;
    cards.set(card, { card, from: dateOnly(h.validFrom, FAR_PAST), to: dateOnly(h.validTo, FAR_FUTURE), doors: perms, pin: 0 });
  }
  return { cards, profiles: book.profiles, leftOut };
}

export const sameRecord = (a: CardRecord, b: CardRecord): boolean =>
  a.card === b.card && a.from === b.from && a.to === b.to && a.pin === b.pin && a.doors.every((d, i) => d === b.doors[i]);

/**
 * What controllers cannot do of the access rules for their doors, one line each with the field path and what the
 * controller does instead (printed by `campus-gateway check-config`).
 */
export function controllerScheduleNotes(
  devices: readonly ControllerDeviceConfig[],
  accessPoints: ReadonlyMap<string, AccessPointConfig>,
  otherReaders: readonly { accessPoint: string }[] = [],
): string[] {
  const notes: string[] = [];
  devices.forEach((d, i) => {
    const apb = antiPassbackPlan(d, accessPoints, readersElsewhere(i, devices, otherReaders));
    if (apb.why) {
      notes.push(`controllers.devices[${i}] (${d.id}): the gateway's anti-passback is not applied by the controller (its own anti-passback stays off): ${apb.why}; the controller lets a card pass the same way twice (it decides alone, the gateway only records the pass)`);
    }
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
    }
  });
  return notes;
}

/**
 * The controller's own anti-passback modes (set/get anti-passback, uhppoted's names): which readers (doors) alternate.
 * In each group a card that passed one side must pass the other side before it may pass the first side again.
 * Mode 0 switches it off. Doors of a mode that are not wired are harmless; wired ones all take part.
 */
export const ANTI_PASSBACK_MODES: readonly { mode: number; name: string; groups: readonly (readonly [readonly number[], readonly number[]])[] }[] = [
  { mode: 1, name: '(1:2);(3:4)', groups: [[[1], [2]], [[3], [4]]] },
  { mode: 2, name: '(1,3):(2,4)', groups: [[[1, 3], [2, 4]]] },
  { mode: 3, name: '1:(2,3)', groups: [[[1], [2, 3]]] },
  { mode: 4, name: '1:(2,3,4)', groups: [[[1], [2, 3, 4]]] },
];

export interface AntiPassbackPlan {
  /** The mode to set: 0 (off) when no anti-passback gate is on this controller or no mode says exactly what the gateway does. */
  mode: number;
  /** Why the gateway's anti-passback is not handed to the controller (null when it is, or none is asked for). */
  why: string | null;
}

/** Gate id of an anti-passback gate (the gateway keeps the state per gate id), else undefined. */
const passbackGate = (ap: AccessPointConfig | undefined): string | undefined =>
  ap && ap.kind === 'gate' && ap.antiPassback ? (ap.gateId ?? ap.id) : undefined;

/**
 * The anti-passback mode that makes a controller refuse exactly what the gateway refuses at its doors: the doors of
 * anti-passback gates on it must be the whole of each such gate (no reader of the gate elsewhere: the controller would
 * not see those passes), all of each gate's doors in one of a mode's groups, its in doors on one side and its out
 * doors on the other, and no
 * other wired door in any group of the mode (it would start refusing at a door that has no anti-passback).
 * `elsewhere` lists the access points of every other reader the gateway has (other controllers' doors, other readers).
 */
export function antiPassbackPlan(
  device: ControllerDeviceConfig,
  accessPoints: ReadonlyMap<string, AccessPointConfig>,
  elsewhere: readonly string[],
): AntiPassbackPlan {
  const wired = new Map<number, { gate: string | undefined; direction: 'in' | 'out' | undefined }>();
  for (const [n, door] of Object.entries(device.doors)) {
    if (door) wired.set(Number(n), { gate: passbackGate(accessPoints.get(door.accessPoint)), direction: door.direction });
  }
  const gates = new Set([...wired.values()].flatMap((w) => (w.gate ? [w.gate] : [])));
  if (gates.size === 0) return { mode: 0, why: null };
  for (const [n, w] of wired) {
    if (w.gate && !w.direction) return { mode: 0, why: `door ${n} serves anti-passback gate ${w.gate} without a direction (in or out)` };
  }
  const shared = elsewhere.map((id) => passbackGate(accessPoints.get(id))).find((g) => g !== undefined && gates.has(g));
  if (shared) return { mode: 0, why: `gate ${shared} also has readers outside this controller, whose passes the controller does not see` };
  const fits = (groups: (typeof ANTI_PASSBACK_MODES)[number]['groups']): boolean => {
    const covered = new Set<number>();
    const groupOf = new Map<string, number>();
    for (const [g, [a, b]] of groups.entries()) {
      const sides = [a, b].map((side) => side.filter((n) => wired.has(n)).map((n) => wired.get(n)!));
      [...a, ...b].forEach((n) => covered.add(n));
      const all = [...sides[0]!, ...sides[1]!];
      if (all.length === 0) continue;
      if (all.some((w) => !w.gate) || new Set(all.map((w) => w.gate)).size !== 1) return false;
      // A gate split over two groups: a pass in one group would not count in the other.
      if ((groupOf.get(all[0]!.gate!) ?? g) !== g) return false;
      groupOf.set(all[0]!.gate!, g);
      if (sides[0]!.length === 0 || sides[1]!.length === 0) return false;
      const dirA = new Set(sides[0]!.map((w) => w.direction));
      const dirB = new Set(sides[1]!.map((w) => w.direction));
      if (dirA.size !== 1 || dirB.size !== 1 || [...dirA][0] === [...dirB][0]) return false;
    }
    return [...wired].every(([n, w]) => !w.gate || covered.has(n));
  };
  const found = ANTI_PASSBACK_MODES.find((m) => fits(m.groups));
  if (found) return { mode: found.mode, why: null };
  const doors = [...wired].filter(([, w]) => w.gate).map(([n, w]) => `door ${n} ${w.direction} of ${w.gate}`).join(', ');
  return {
    mode: 0,
    why: `${doors} fit none of the controller's modes (${ANTI_PASSBACK_MODES.map((m) => m.name).join(', ')}: in doors on one side, out doors on the other, no other wired door in the group)`,
  };
}

/** The access points of every reader but this controller's doors (for antiPassbackPlan's `elsewhere`). */
export function readersElsewhere(
  deviceIndex: number,
  devices: readonly ControllerDeviceConfig[],
  otherReaders: readonly { accessPoint: string }[],
): string[] {
  const doors = devices.flatMap((d, i) => (i === deviceIndex ? [] : Object.values(d.doors).flatMap((x) => (x ? [x.accessPoint] : []))));
  return [...doors, ...otherReaders.map((r) => r.accessPoint)];
}
