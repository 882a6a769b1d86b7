/**
 * The access rules as one pure function: what a card at an access point at a given local time gets.
 * The engine gathers the facts (card, holder, lockdown, anti-passback state) and applies wallet debits after.
 */
import type { AccessConfig, AccessPointConfig } from '../../config/access.js';
import type { CardHolder } from '../people/store.js';
import type { DecisionReason } from './contract.js';
import { inWindows, isSchoolDay, type LocalTime } from './school-time.js';

export interface RuleFacts {
  holder: CardHolder | null;
  accessPoint: AccessPointConfig;
  direction: 'in' | 'out' | undefined;
  local: LocalTime;
  calendar: AccessConfig['calendar'];
  lockdown: boolean;
  /** The holder's last granted direction at this gate today, when the gate has anti-passback. */
  lastDirectionToday: 'in' | 'out' | undefined;
}

export interface RuleOutcome {
  granted: boolean;
  reason: DecisionReason;
}

const deny = (reason: DecisionReason): RuleOutcome => ({ granted: false, reason });

/** Kinds a lockdown closes. A canteen terminal lets nobody through anything, so it keeps working. */
const LOCKABLE = new Set(['gate', 'door', 'classroom']);
/**
 * Refusals that say the card has no place on a lockdown's card list (only security staff's active cards do): a device
 * deciding from its own list that lets such a card through a door the lockdown closes holds another list.
 */
const NOT_ISSUED: ReadonlySet<DecisionReason> = new Set<DecisionReason>(['unknown_card', 'card_lost', 'card_blocked']);

/**
 * Whether `rules` refuse a card the gateway never puts on a device's card list (unknown, lost or blocked): a deciding
 * device that lets it through holds a card someone else put there (or one whose delete has not reached it yet).
 */
export function notIssued(rules: RuleOutcome): boolean {
  return !rules.granted && NOT_ISSUED.has(rules.reason);
}

/**
 * Whether a deciding device that granted `rules`' refusal at `ap` during a lockdown shows its list is not the lockdown's.
 * A card the gateway never issued counts at any door, the canteen's too: it has no place on any list, and one put with
 * every door (one packet from the LAN) opens the locked-down gates on the same controller as well.
 */
export function offLockdownList(ap: AccessPointConfig, rules: RuleOutcome): boolean {
  return notIssued(rules) || (!rules.granted && rules.reason === 'lockdown' && LOCKABLE.has(ap.kind));
}

/** Kinds closed to students and visitors on non-school days; gates (boarders, weekend clubs) and the canteen stay open. */
const SCHOOL_DAY_ONLY = new Set(['door', 'classroom']);

export function applyRules(f: RuleFacts): RuleOutcome {
  const { holder, accessPoint: ap, local } = f;
  if (!holder) return deny('unknown_card');
  const { card, person } = holder;
  if (card.status === 'lost') return deny('card_lost');
  if (card.status === 'blocked') return deny('card_blocked');
  if (card.status === 'expired') return deny('card_expired');
  if (card.validFrom && local.date < card.validFrom) return deny('card_not_yet_valid');
  if (card.validTo && local.date > card.validTo) return deny('card_expired');

  if (f.lockdown && LOCKABLE.has(ap.kind) && !(person.role === 'staff' && person.security)) return deny('lockdown');

  const makeUpDay = f.calendar.makeUpDays.includes(local.date);
  if (person.role !== 'staff' && SCHOOL_DAY_ONLY.has(ap.kind) && !isSchoolDay(f.calendar, local)) return deny('not_school_day');

  const windows = ap.groupSchedule[person.scheduleGroup] ?? ap.schedule[person.role];
  if (windows && !inWindows(windows, local, makeUpDay)) return deny('outside_schedule');

  if (ap.kind === 'gate' && ap.antiPassback && f.direction && f.lastDirectionToday === f.direction) return deny('anti_passback');
  return { granted: true, reason: 'ok' };
}

/**
 * Whether the timetable lets some student through at a local time: the simulated readers keep nearly quiet when it
 * does not, as a real gate is at night. The same window choice as `applyRules` (the group's, else the role's).
 */
export function openToStudents(ap: AccessPointConfig, local: LocalTime, calendar: AccessConfig['calendar'], groups: readonly string[]): boolean {
  if (SCHOOL_DAY_ONLY.has(ap.kind) && !isSchoolDay(calendar, local)) return false;
  const makeUpDay = calendar.makeUpDays.includes(local.date);
  return groups.some((g) => {
    const windows = ap.groupSchedule[g] ?? ap.schedule.student;
    return !windows || inWindows(windows, local, makeUpDay);
  });
}
