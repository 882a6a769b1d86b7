/**
 * The guardians' `absent` messages and the staff's absence digests: at each schedule group's cut-off plus the grace,
 * on a school day, `absent` to the guardians of each student the register calls absent (not arrived, not excused),
 * and a digest per class to the staff channel.
 */
import type { GatewayContext } from '../module/context.js';
import { arrivalCutoff, isSchoolDay, localTime, secondsOf } from '../core/school-calendar.js';
import { getMeta, setMeta } from '../storage/meta.js';
import type { NotifyPorts } from './module.js';
import type { Outbox } from './outbox.js';

/**
 * The schedule groups whose check has run, and on which day (`{date, groups}` in `meta`), written in the transaction
 * that queues its messages. Kept in memory only, a gateway restarted later in the day checked every group past its
 * cut-off again, together: the guardians' messages were not doubled (one per student a day), but the staff digests
 * were, as their key names the groups checked together.
 */
const DONE_KEY = 'notify.absence_done';

export class AbsenceCheck {
  /**
   * The check's clock readings: when it last looked, and until when it has nothing to do (the next cut-off, at most a
   * minute on, so a changed schedule is seen within one). The caller ticks every second, but an idle tick is one
   * comparison instead of a local-time conversion (issue 23: idle CPU).
   */
  private checkedAt = 0;
  private quietUntil = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly absentees: NotifyPorts['absentees'],
    private readonly outbox: Outbox,
    private readonly queued: () => void,
  ) {}

  tick(): void {
    const now = this.ctx.clock.now();
    // A clock set back (by an admin, or a test) looks again at once.
    if (now >= this.quietUntil || now < this.checkedAt) this.run();
  }

  /** Queues what is due now; how many messages. */
  run(): number {
    const cfg = this.ctx.config.notify;
    if (!cfg.enabled || !cfg.events.absent.enabled) return 0;
    const now = this.ctx.clock.now();
    this.checkedAt = now;
    this.quietUntil = now + 60_000;
    const local = localTime(now, this.ctx.config.school.timezone);
    const scheduleGroups = this.ctx.config.access.scheduleGroups;
    if (!isSchoolDay(local.date, this.ctx.config.access.calendar)) return 0;
    const groups = new Set(['default', ...scheduleGroups.map((g) => g.id)]);
    const done = this.doneOn(local.date);
    const pending = [...groups]
      .filter((g) => !done.has(g))
      .map((g) => ({ g, at: secondsOf(arrivalCutoff(g, scheduleGroups)) + cfg.absentGraceMin * 60 }));
    const due = pending.filter((p) => local.secondOfDay >= p.at).map((p) => p.g);
    if (due.length === 0) {
      const next = Math.min(...pending.map((p) => now + (p.at - local.secondOfDay) * 1000));
      this.quietUntil = Math.min(this.quietUntil, next);
      return 0;
    }
    // A student of a group the config no longer lists has the fallback cut-off (the register's), so 'default''s turn.
    const absent = this.absentees(local.date).filter((p) => due.includes(groups.has(p.scheduleGroup) ? p.scheduleGroup : 'default'));
    const dayStart = now - local.secondOfDay * 1000;
    let queued = 0;
    this.ctx.db.transaction(() => {
      const channel = cfg.guardianChannel;
      if (channel) for (const p of absent) {
        const cutoffAt = dayStart + (secondsOf(arrivalCutoff(p.scheduleGroup, scheduleGroups)) + cfg.absentGraceMin * 60) * 1000;
        queued += this.outbox.enqueue(this.ctx.db, {
          event: 'absent', personId: p.personId, channel, dedupKey: `absent:${p.personId}:${local.date}`,
          data: { at: cutoffAt }, now, expiresAt: cutoffAt + cfg.events.absent.ttlS * 1000,
        });
      }
      if (cfg.staffChannel) {
        const byClass = new Map<string, string[]>();
        for (const p of absent) {
          const names = byClass.get(p.class ?? '-');
          if (names) names.push(p.name);
          else byClass.set(p.class ?? '-', [p.name]);
        }
        for (const [cls, names] of byClass) {
          queued += this.outbox.enqueueStaff({
            event: 'absent', channel: cfg.staffChannel, dedupKey: `absent_digest:${local.date}:${due.join('+')}:${cls}`,
            data: { at: now, text: `${local.date} ${cls}: ${names.length} 未到校 absent — ${names.join('、')}` }, now,
            expiresAt: now + cfg.events.absent.ttlS * 1000,
          });
        }
      }
      setMeta(this.ctx.db, DONE_KEY, JSON.stringify({ date: local.date, groups: [...done, ...due] }));
    })();
    if (queued > 0) this.queued();
    return queued;
  }

  private doneOn(date: string): Set<string> {
    try {
      const saved = JSON.parse(getMeta(this.ctx.db, DONE_KEY) ?? 'null') as { date?: unknown; groups?: unknown } | null;
      return new Set(saved?.date === date && Array.isArray(saved.groups) ? saved.groups.filter((g): g is string => typeof g === 'string') : []);
    } catch {
      return new Set(); // unreadable: check again; the guardians' messages are one per student a day whatever happens
    }
  }
}
