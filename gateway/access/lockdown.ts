/**
 * Lockdown (封校): while active, gates, doors and classrooms let only security staff through.
 * Persisted (migration 12) so a restart during an incident does not quietly open the school; the
 * current state is also kept in memory because every tap reads it.
 */
import type { AlertService } from '../alerts/alerts.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Database, Migration } from '../storage/db.js';

export const lockdownMigrations: Migration[] = [
  {
    version: 12,
    name: 'lockdowns',
    up: `
      CREATE TABLE lockdowns (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        started_by TEXT NOT NULL,
        reason TEXT,
        ended_at TEXT,
        ended_by TEXT
      );`,
  },
];

export interface LockdownState {
  active: boolean;
  reason: string | null;
  startedBy: string | null;
  startedAt: string | null;
  /** The last lockdown's end, when none is active. */
  endedAt: string | null;
  endedBy: string | null;
}

interface Row {
  id: number;
  started_at: string;
  started_by: string;
  reason: string | null;
  ended_at: string | null;
  ended_by: string | null;
}

const ALERT_KEY = 'lockdown';

export class LockdownService {
  private current: LockdownState;

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly alerts: AlertService,
    private readonly clock: Clock,
    private readonly log?: Pick<Logger, 'error'>,
  ) {
    this.current = this.load();
    // Resolving the alert by hand would look like the end of the lockdown while every door stays shut to students.
    alerts.guardResolve((alert) =>
      alert.dedupKey === ALERT_KEY && this.current.active
        ? 'the lockdown is still on: end it (DELETE /api/v1/lockdown, or on the Gates page) and its alert resolves with it'
        : null,
    );
  }

  private load(): LockdownState {
    const row = this.db.prepare('SELECT * FROM lockdowns ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    if (!row) return { active: false, reason: null, startedBy: null, startedAt: null, endedAt: null, endedBy: null };
    return {
      active: row.ended_at === null,
      reason: row.reason,
      startedBy: row.started_by,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      endedBy: row.ended_by,
    };
  }

  get active(): boolean {
    return this.current.active;
  }

  state(): LockdownState {
    return { ...this.current };
  }

  /** Starting while already active changes nothing and returns the running lockdown. */
  start(reason: string | undefined, by: string): LockdownState {
    if (this.current.active) return this.state();
    const at = this.clock.now();
    const startedAt = new Date(at).toISOString();
    this.current = this.recorded('started', () =>
      this.db.prepare('INSERT INTO lockdowns (started_at, started_by, reason) VALUES (?, ?, ?)').run(startedAt, by, reason ?? null).changes) ?? { active: true, reason: reason ?? null, startedBy: by, startedAt, endedAt: null, endedBy: null };
    this.bus.emit('lockdown.changed', { active: true, by, at, ...(reason ? { reason } : {}) });
    // The lockdown is on from here: an alert the disk refuses (counted and logged) must not answer the desk 500 for it.
    this.alerts.tryRaise({
      type: 'lockdown',
      severity: 'critical',
      source: by === 'city' ? 'city' : `user:${by}`,
      message: `Lockdown started by ${by}${reason ? `: ${reason}` : ''}`,
      // What staff typed is a note, not a reason code: it stays at the school unless it opted in to identifying
      // alerts (cloud-sync/privacy.ts sends whitelisted codes only).
      data: { note: reason ?? null, by },
      dedupKey: ALERT_KEY,
    });
    return this.state();
  }

  /** Ending when none is active changes nothing. */
  end(by: string): LockdownState {
    if (!this.current.active) return this.state();
    const at = this.clock.now();
    const endedAt = new Date(at).toISOString();
    // No row to end: the lockdown was held in memory only (recorded).
    this.current = this.recorded('ended', () =>
      this.db.prepare('UPDATE lockdowns SET ended_at = ?, ended_by = ? WHERE ended_at IS NULL').run(endedAt, by).changes) ?? { ...this.current, active: false, endedAt, endedBy: by };
    this.bus.emit('lockdown.changed', { active: false, by, at });
    this.alerts.tryResolveByKey(ALERT_KEY, by, 'lockdown ended');
    return this.state();
  }

  /**
   * The state after `write` (rows changed), read back; null when it changed none, or when the database refused it (a full
   * disk): the lockdown starts or
   * ends all the same, held in memory. Refused, the desk got a 500 and every gate stayed open to every card. What is
   * not recorded is lost at a restart: one started comes back ended (the last recorded state), which the log says.
   */
  private recorded(what: 'started' | 'ended', write: () => number): LockdownState | null {
    try {
      return write() > 0 ? this.load() : null;
    } catch (err) {
      this.log?.error({ err }, `lockdown ${what} but not recorded: the database refused the write; a restart would forget it`);
      return null;
    }
  }
}
