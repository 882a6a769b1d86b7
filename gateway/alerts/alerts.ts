import { monotonicFactory } from 'ulid';
import type { EventBus } from '../core/bus.js';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { Database, Migration } from '../storage/db.js';
import { Where } from '../storage/where.js';

export { alertStatusSchema, severitySchema, type Alert, type AlertStatus, type Severity } from './model.js';
import type { Alert, AlertStatus, Severity } from './model.js';

export interface RaiseInput {
  type: string;
  severity: Severity;
  source: string;
  message: string;
  accessPoint?: string | undefined;
  zone?: string | undefined;
  data?: Record<string, unknown>;
  /** Raises with the same key inside the cooldown fold into one alert; defaults to `type:source`. */
  dedupKey?: string;
}

/**
 * `reopened`: a raise folded into an acknowledged alert. The alert goes back to open and is announced as raised
 * again (sound, badge, evidence): the guard acknowledged the first use of a lost card, not every later one.
 */
export type AlertChange = { change: 'raised' | 'repeated' | 'reopened' | 'acknowledged' | 'resolved' | 'updated'; alert: Alert };

declare module '../core/bus.js' {
  interface CampusEventMap {
    'alert.raised': Alert;
    'alert.acknowledged': Alert;
    'alert.resolved': Alert;
    'alert.updated': Alert;
  }
}

export const alertMigrations: Migration[] = [
  {
    version: 3,
    name: 'alerts',
    up: `
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        message TEXT NOT NULL,
        access_point TEXT,
        zone TEXT,
        data TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        snapshot_ids TEXT NOT NULL DEFAULT '[]',
        raised_at TEXT NOT NULL,
        last_raised_at TEXT NOT NULL,
        acknowledged_by TEXT, acknowledged_at TEXT, ack_note TEXT,
        resolved_by TEXT, resolved_at TEXT, resolve_note TEXT
      );
      CREATE INDEX alerts_status ON alerts (status, severity, raised_at);
      CREATE INDEX alerts_dedup ON alerts (dedup_key, last_raised_at);`,
  },
  {
    version: 4,
    name: 'alert clips',
    up: `ALTER TABLE alerts ADD COLUMN clip_ids TEXT NOT NULL DEFAULT '[]';`,
  },
];

/** An alerts row: the columns named as in Alert, the rest in snake case with the lists as JSON text. */
interface Row extends Pick<Alert, 'id' | 'type' | 'severity' | 'status' | 'source' | 'message' | 'zone' | 'count'> {
  access_point: string | null;
  data: string;
  dedup_key: string;
  snapshot_ids: string;
  clip_ids: string;
  raised_at: string;
  last_raised_at: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  ack_note: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
  resolve_note: string | null;
}

const fromRow = (r: Row): Alert => ({
  id: r.id,
  type: r.type,
  severity: r.severity,
  status: r.status,
  source: r.source,
  message: r.message,
  accessPoint: r.access_point,
  zone: r.zone,
  data: JSON.parse(r.data) as Record<string, unknown>,
  dedupKey: r.dedup_key,
  count: r.count,
  snapshotIds: JSON.parse(r.snapshot_ids) as string[],
  clipIds: JSON.parse(r.clip_ids) as string[],
  raisedAt: r.raised_at,
  lastRaisedAt: r.last_raised_at,
  acknowledgedBy: r.acknowledged_by,
  acknowledgedAt: r.acknowledged_at,
  ackNote: r.ack_note,
  resolvedBy: r.resolved_by,
  resolvedAt: r.resolved_at,
  resolveNote: r.resolve_note,
});

export interface AlertQuery {
  status?: AlertStatus[] | undefined;
  severity?: Severity[] | undefined;
  type?: string | undefined;
  limit: number;
  /** Alerts raised before this id (ids are ULIDs, so they sort by time). */
  before?: string | undefined;
}

/** Listeners that run inside the alert's write transaction (the city outbox), so both commit or neither. */
export type AlertTxListener = (change: AlertChange, db: Database) => void;

/**
 * Raise, de-duplicate, acknowledge and resolve alerts. Every change is committed to SQLite before the
 * call returns, then announced on the bus (and so on `campus/alerts/<severity>` and the SSE stream).
 */
export class AlertService {
  private readonly ulid = monotonicFactory();
  private readonly txListeners: AlertTxListener[] = [];
  private readonly resolveGuards: ((alert: Alert) => string | null)[] = [];

  /** Where tryRaise and tryResolveByKey say what they could not write (compose.ts gives the gateway's log and metrics). */
  private readonly unrecordedLog: RateLimitedLog | undefined;
  private readonly unrecorded: Counter<'type'> | undefined;

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly cooldownMs: number,
    report?: { log: Logger; metrics: Registry },
  ) {
    if (report) {
      this.unrecordedLog = new RateLimitedLog(report.log.child({ component: 'alerts' }), () => clock.now());
      this.unrecorded = new Counter({
        name: 'campus_alerts_unrecorded_total',
        help: 'Alert raises and resolves the database refused (a full disk), by alert type; the work that raised them went on',
        labelNames: ['type'],
        registers: [report.metrics],
      });
    }
  }

  onChangeInTx(listener: AlertTxListener): void {
    this.txListeners.push(listener);
  }

  /**
   * A domain may keep one of its alerts open while its condition lasts: a guard returns why the alert may not be
   * resolved by hand yet (the resolve is refused with it, 409), or null.
   */
  guardResolve(guard: (alert: Alert) => string | null): void {
    this.resolveGuards.push(guard);
  }

  raise(input: RaiseInput): Alert {
    const nowMs = this.clock.now();
    const now = new Date(nowMs).toISOString();
    const key = input.dedupKey ?? `${input.type}:${input.source}`;
    const since = new Date(nowMs - this.cooldownMs).toISOString();
    const change = this.db.transaction((): AlertChange => {
      const existing = this.db
        .prepare(
          `SELECT * FROM alerts WHERE dedup_key = ? AND status != 'resolved' AND last_raised_at >= ?
           ORDER BY last_raised_at DESC LIMIT 1`,
        )
        .get(key, since) as Row | undefined;
      let result: AlertChange;
      if (existing) {
        // The alert tells where and what happened last: a lost card used at the gate and then in the canteen must send
        // the guard to the canteen. raised_at keeps the first time, count how many. An acknowledged alert opens
        // again (who acknowledged it, and the note, stay as its history).
        const reopen = existing.status === 'acknowledged';
        this.db
          .prepare(
            `UPDATE alerts SET count = count + 1, last_raised_at = ?, source = ?, message = ?, access_point = ?, zone = ?, data = ?,
               status = 'open' WHERE id = ?`,
          )
          .run(now, input.source, input.message, input.accessPoint ?? null, input.zone ?? null, JSON.stringify(input.data ?? {}), existing.id);
        result = { change: reopen ? 'reopened' : 'repeated', alert: this.get(existing.id) };
      } else {
        const id = this.ulid(nowMs);
        this.db
          .prepare(
            `INSERT INTO alerts (id, type, severity, status, source, message, access_point, zone, data, dedup_key,
               raised_at, last_raised_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, input.type, input.severity, input.source, input.message, input.accessPoint ?? null, input.zone ?? null,
            JSON.stringify(input.data ?? {}), key, now, now);
        result = { change: 'raised', alert: this.get(id) };
      }
      for (const l of this.txListeners) l(result, this.db);
      return result;
    })();
    if (change.change === 'raised' || change.change === 'reopened') this.bus.emit('alert.raised', change.alert);
    else this.bus.emit('alert.updated', change.alert);
    return change.alert;
  }

  /**
   * raise() for a caller nothing above could answer for: a timer, an event listener, a device poll, a promise nobody
   * awaits. A database that cannot write (a full disk) made raise() throw there, and Node ends the process on an
   * uncaught exception or an unhandled rejection: every gate stopped with it. Here the failure is counted, logged (once
   * a minute per type) and null is returned; the caller goes on with what does not need the alert (a door is set back
   * all the same). A condition that lasts is raised again by its next check.
   */
  tryRaise(input: RaiseInput): Alert | null {
    return this.orReport(input.type, () => this.raise(input));
  }

  /**
   * resolveByKey() as tryRaise() is raise(). False only when the database refused it (counted and logged): the alert
   * is still open, and a caller whose condition has cleared tries again at its next check (nothing else will).
   * True when it took it, or when nothing with the key was open.
   */
  tryResolveByKey(dedupKey: string, by = 'gateway', note?: string): boolean {
    return this.orReport(dedupKey.split(':', 1)[0]!, () => (this.resolveByKey(dedupKey, by, note), true)) ?? false;
  }

  /** write()'s value, or null when the database refused it (counted and logged). */
  private orReport<T>(type: string, write: () => T): T | null {
    try {
      return write();
    } catch (err) {
      this.unrecorded?.inc({ type });
      this.unrecordedLog?.error(`unrecorded:${type}`, { err, type }, 'alert not recorded: the database refused the write');
      return null;
    }
  }

  /**
   * Brings an open alert's data up to date without counting a new occurrence (a figure in it changed, as the
   * offline sales still awaiting review); null when no alert with the key is open.
   */
  refreshData(dedupKey: string, patch: Record<string, unknown>): Alert | null {
    const row = this.db.prepare(`SELECT id, data FROM alerts WHERE dedup_key = ? AND status != 'resolved' ORDER BY last_raised_at DESC LIMIT 1`).get(dedupKey) as
      | { id: string; data: string }
      | undefined;
    if (!row) return null;
    this.db.prepare('UPDATE alerts SET data = ? WHERE id = ?').run(JSON.stringify({ ...(JSON.parse(row.data) as object), ...patch }), row.id);
    const alert = this.get(row.id);
    this.bus.emit('alert.updated', alert);
    return alert;
  }

  acknowledge(id: string, by: string, note?: string): Alert {
    return this.transition(id, 'acknowledged', by, note);
  }

  resolve(id: string, by: string, note?: string): Alert {
    return this.transition(id, 'resolved', by, note);
  }

  /** Resolves the open alert with this key, if any: for conditions that clear by themselves. */
  resolveByKey(dedupKey: string, by = 'gateway', note?: string): Alert | null {
    const row = this.db
      .prepare(`SELECT id FROM alerts WHERE dedup_key = ? AND status != 'resolved' ORDER BY raised_at DESC LIMIT 1`)
      .get(dedupKey) as { id: string } | undefined;
    return row ? this.resolve(row.id, by, note) : null;
  }

  /**
   * Acknowledges many alerts at once (a guard clearing a filtered list after a walk round): each one that is open
   * is acknowledged in its own transaction; the others are reported with why not, and nothing stops half way.
   */
  acknowledgeMany(ids: string[], by: string, note?: string): { acknowledged: Alert[]; skipped: { id: string; code: string }[] } {
    const acknowledged: Alert[] = [];
    const skipped: { id: string; code: string }[] = [];
    for (const id of new Set(ids)) {
      try {
        acknowledged.push(this.acknowledge(id, by, note));
      } catch (err) {
        if (err instanceof GatewayError) skipped.push({ id, code: err.code });
        else throw err;
      }
    }
    return { acknowledged, skipped };
  }

  /** Attaches a camera snapshot as evidence. */
  attachSnapshot(id: string, snapshotId: string): Alert {
    return this.attach(id, 'snapshot_ids', snapshotId);
  }

  /** Attaches a video clip as evidence. */
  attachClip(id: string, clipId: string): Alert {
    return this.attach(id, 'clip_ids', clipId);
  }

  private attach(id: string, column: 'snapshot_ids' | 'clip_ids', evidenceId: string): Alert {
    const alert = this.db.transaction(() => {
      const current = this.get(id);
      const ids = [...(column === 'clip_ids' ? current.clipIds : current.snapshotIds), evidenceId];
      this.db.prepare(`UPDATE alerts SET ${column} = ? WHERE id = ?`).run(JSON.stringify(ids), id);
      const updated = this.get(id);
      for (const l of this.txListeners) l({ change: 'updated', alert: updated }, this.db);
      return updated;
    })();
    this.bus.emit('alert.updated', alert);
    return alert;
  }

  private transition(id: string, to: 'acknowledged' | 'resolved', by: string, note?: string): Alert {
    const now = new Date(this.clock.now()).toISOString();
    const alert = this.db.transaction(() => {
      const current = this.get(id);
      if (current.status === 'resolved') throw new GatewayError('conflict', `alert ${id} is already resolved`);
      if (to === 'resolved') {
        for (const guard of this.resolveGuards) {
          const why = guard(current);
          if (why) throw new GatewayError('conflict', why);
        }
      }
      if (to === 'acknowledged') {
        if (current.status === 'acknowledged') throw new GatewayError('conflict', `alert ${id} is already acknowledged`);
        this.db
          .prepare(`UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?, acknowledged_at = ?, ack_note = ? WHERE id = ?`)
          .run(by, now, note ?? null, id);
      } else {
        this.db
          .prepare(`UPDATE alerts SET status = 'resolved', resolved_by = ?, resolved_at = ?, resolve_note = ? WHERE id = ?`)
          .run(by, now, note ?? null, id);
      }
      const updated = this.get(id);
      for (const l of this.txListeners) l({ change: to, alert: updated }, this.db);
      return updated;
    })();
    this.bus.emit(to === 'acknowledged' ? 'alert.acknowledged' : 'alert.resolved', alert);
    return alert;
  }

  get(id: string): Alert {
    const row = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound(`alert ${id}`);
    return fromRow(row);
  }

  /** Ids of the alerts not resolved yet (open or acknowledged): their pictures and clips are kept when the disk fills. */
  unresolvedIds(): Set<string> {
    return new Set((this.db.prepare(`SELECT id FROM alerts WHERE status != 'resolved'`).all() as { id: string }[]).map((r) => r.id));
  }

  list(q: AlertQuery): { items: Alert[]; nextBefore: string | null } {
    const where = new Where().in('status', q.status).in('severity', q.severity).eq('type', q.type).compare('id', '<', q.before);
    const rows = this.db
      .prepare(`SELECT * FROM alerts ${where.sql} ORDER BY id DESC LIMIT ?`)
      .all(...where.args, q.limit + 1) as Row[];
    const items = rows.slice(0, q.limit).map(fromRow);
    return { items, nextBefore: rows.length > q.limit ? items[items.length - 1]!.id : null };
  }

  counts(): Record<AlertStatus, number> {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM alerts GROUP BY status').all() as { status: AlertStatus; n: number }[];
    const out: Record<AlertStatus, number> = { open: 0, acknowledged: 0, resolved: 0 };
    for (const r of rows) out[r.status] = r.n;
    return out;
  }
}
