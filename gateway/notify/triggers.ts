/**
 * Which bus events and taps become which messages, with their de-duplication keys. The tap's part is a write op that
 * runs inside the tap's own transaction (access's `writeWithTaps`): one prepared INSERT … SELECT, no rendering, no
 * decryption, no network; everything else happens in the sender.
 */
import type { MessageKind, NotifyConfig, NotifyEvent } from '../../config/notify.js';
import type { AccessConfig } from '../../config/access.js';
import type { TapDecision } from '../access/contract.js';
import { afterArrivalCutoff, localTime, secondsOf } from '../core/school-calendar.js';
import type { WriteOp } from '../storage/batch-writer.js';
import type { HeldMessages } from './held.js';
import type { Enqueue, MessageData } from './outbox.js';

export interface TriggerDeps {
  config: NotifyConfig;
  access: Pick<AccessConfig, 'scheduleGroups'>;
  timezone: string;
  /** Queues a message in the tap's transaction, or keeps it in memory while the database refuses it (held.ts). */
  held: Pick<HeldMessages, 'enqueueIn'>;
  now: () => number;
  /** Anything else that fails: counted and logged by the module, never thrown (it would lose the tap). */
  onError: (err: unknown, event: MessageKind) => void;
}

/** `departure: every_exit` sends at most one message per student in each such stretch of the day (seconds). */
export const EVERY_EXIT_GAP_S = 600;

/** The message a decided tap asks for, if any. */
export function messageForTap(d: TapDecision, deps: Pick<TriggerDeps, 'config' | 'access' | 'timezone'>): Omit<Enqueue, 'now' | 'channel'> | null {
  const c = deps.config;
  const person = d.person;
  if (!person || person.role !== 'student') return null;
  const local = localTime(d.at, deps.timezone);
  // No object spreads on the tap path (see AccessEngine.decide). Here they cost ~1.3 us each on Node 20, thirty times a
  // literal, and the sampled heap showed their objects as the largest share (~250 B a tap) moved into the old space.
  const data = (extra?: Partial<MessageData>): MessageData => {
    const base: MessageData = { at: d.at, accessPointId: d.accessPointId };
    return extra ? Object.assign(base, extra) : base;
  };
  const build = (event: NotifyEvent, dedupKey: string, extra?: Partial<MessageData>): Omit<Enqueue, 'now' | 'channel'> | null =>
    c.events[event].enabled ? { event, personId: person.id, dedupKey, data: data(extra), expiresAt: d.at + c.events[event].ttlS * 1000 } : null;
  if (d.granted && d.accessPointKind === 'gate') {
    if (d.direction === 'in') {
      // The day's first entry: on time it is `arrival`, after the cut-off `late`; the same key, so only one is sent.
      const late = afterArrivalCutoff(local.secondOfDay, person.scheduleGroup, deps.access.scheduleGroups);
      return build(late && c.events.late.enabled ? 'late' : 'arrival', `arrival:${person.id}:${local.date}`);
    }
    if (d.direction === 'out') {
      // Each exit, but at most one message in EVERY_EXIT_GAP_S: a child walking in and out, or a flapping pair of
      // readers, queued a message per tap for the same guardian (50 in a few seconds in an attacker review).
      if (c.departure === 'every_exit') return build('departure', `departure:${person.id}:${local.date}:${Math.floor(local.secondOfDay / EVERY_EXIT_GAP_S)}`);
      return local.secondOfDay >= secondsOf(c.lastLessonEnd) ? build('departure', `departure:${person.id}:${local.date}`) : null;
    }
    return null;
  }
  if (d.granted && d.accessPointKind === 'canteen' && d.amount !== undefined && d.balance !== undefined && d.balance < c.lowBalanceFen) {
    return build('low_balance', `low_balance:${person.id}:${local.date}`, { balanceFen: d.balance });
  }
  if (!d.granted && d.reason === 'card_lost') return build('card_lost', `card_lost_used:${d.uid}:${local.date}`, { variant: 'used' });
  return null;
}

/** The op access runs in the tap's transaction; null when the tap asks for no message. */
export function tapWriteFor(deps: TriggerDeps, channel: string, onQueued: () => void) {
  return (d: TapDecision): WriteOp | null => {
    const m = messageForTap(d, deps);
    if (!m) return null;
    return (db) => {
      try {
        // Refused (a full disk), kept in memory behind what is kept already and queued when the disk takes writes
        // again: before, it was counted, logged and lost, though a lost card's report (from the bus) was kept.
        const queued = deps.held.enqueueIn(db, { event: m.event, personId: m.personId, channel, dedupKey: m.dedupKey, data: m.data, now: deps.now(), expiresAt: m.expiresAt });
        if (typeof queued === 'number' && queued > 0) onQueued();
      } catch (err) {
        deps.onError(err, m.event);
      }
    };
  };
}
