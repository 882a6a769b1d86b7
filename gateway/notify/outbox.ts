/**
 * The notification outbox (migration 81): one row per message to one recipient. Rows are queued in the same
 * transaction as what caused them where there is one (a tap), so a crash keeps both or neither; `dedup_key` is unique,
 * so a second tap, a replay after a restart or a second absence check adds nothing.
 */
import type { MessageKind } from '../../config/notify.js';
import type { Database, Statement } from '../storage/db.js';

export type OutboxStatus = 'queued' | 'sent' | 'failed' | 'expired' | 'suppressed';
export const OUTBOX_STATUSES = ['queued', 'sent', 'failed', 'expired', 'suppressed'] as const;

/** What a message says beyond the student and school, kept until it is rendered at send time. */
export interface MessageData {
  /** When it happened (epoch ms): the time the message names. */
  at: number;
  accessPointId?: string;
  balanceFen?: number;
  text?: string;
  /** An emergency broadcast's text per guardian language (`text` for a language without one). */
  texts?: Partial<Record<'zh' | 'ko' | 'en', string>>;
  variant?: 'used';
  /** Who confirmed an emergency broadcast (not part of the message). */
  by?: string;
}

export interface Enqueue {
  event: MessageKind;
  personId: number;
  channel: string;
  /** One message per guardian per key (`arrival:<person>:<date>`); the guardian's id is appended. */
  dedupKey: string;
  data: MessageData;
  now: number;
  expiresAt: number;
}

export interface DueRow {
  id: number;
  event: MessageKind;
  person_id: number | null;
  guardian_id: number | null;
  channel: string;
  data: string;
  attempts: number;
  expires_at: number;
  reason: string | null;
  student: string | null;
  phone_enc: string | null;
  language: 'zh' | 'ko' | 'en' | null;
  consent: number | null;
  wecom_user: string | null;
}

export interface NotificationItem {
  id: number;
  event: MessageKind;
  personId: number | null;
  /** The student's school id, for links in the console. */
  externalId: string | null;
  channel: string;
  to: string | null;
  status: OutboxStatus;
  reason?: string;
  attempts: number;
  createdAt: string;
  sentAt?: string;
}

/** Row ids `Outbox.due` leaves out: unrecorded.ts's, rows a provider took whose "sent" the database refused. */
export interface LeftOut {
  readonly size: number;
  has(id: number): boolean;
}

const NONE: LeftOut = new Set<number>();

interface DueArgs {
  channel: string;
  now: number;
  limit: number;
}

export class Outbox {
  /** Names each Outbox's SQL function apart: a second Outbox on the connection (tests make them) would replace it. */
  private static made = 0;
  private readonly forGuardians: Statement;
  private readonly staff: Statement;
  private readonly anyQueuedDue: Statement;
  private readonly dueRows: Statement<[DueArgs], DueRow>;
  private readonly dueRowsLeaving: Statement<[DueArgs], DueRow>;
  private readonly dueEmergencies: Statement<[DueArgs], DueRow>;
  /** What the running `due` call leaves out, as its SQL function reads it; none between calls. */
  private leaving: LeftOut = NONE;

  constructor(readonly db: Database) {
    // A guardian without consent gets a row too, suppressed: the delivery log shows why nothing was sent.
    this.forGuardians = db.prepare(
      `INSERT OR IGNORE INTO notify_outbox (event, person_id, guardian_id, channel, dedup_key, data, status, reason, next_at, created_at, expires_at)
       SELECT @event, g.person_id, g.id, @channel, @dedupKey || ':' || g.id, @data,
              CASE WHEN g.consent = 1 THEN 'queued' ELSE 'suppressed' END, CASE WHEN g.consent = 1 THEN NULL ELSE 'no_consent' END,
              @now, @now, @expiresAt
       FROM guardians g WHERE g.person_id = @personId`,
    );
    // The left-out set itself, asked row by row while `due` runs: no list to pass and parse at each call (see `due`).
    // Only in a statement, never in a trigger or a view (directOnly): there it would answer for no `due` call.
    const leftOut = `notify_left_out_${++Outbox.made}`;
    db.function(leftOut, { directOnly: true }, (id) => (this.leaving.has(id as number) ? 1 : 0));
    const due = (skipping: boolean, emergencies = false): string =>
      `SELECT o.id, o.event, o.person_id, o.guardian_id, o.channel, o.data, o.attempts, o.expires_at, o.reason,
              p.name AS student, g.phone_enc, g.language, g.consent, g.wecom_user
       FROM notify_outbox o LEFT JOIN persons p ON p.id = o.person_id LEFT JOIN guardians g ON g.id = o.guardian_id
       WHERE o.status = 'queued' AND o.channel = @channel AND o.next_at <= @now
         ${skipping ? `AND NOT ${leftOut}(o.id)` : ''}
         ${emergencies ? "AND o.event = 'emergency'" : ''}
         AND (o.event = 'emergency'
              OR NOT EXISTS (SELECT 1 FROM notify_outbox b WHERE b.guardian_id = o.guardian_id AND b.channel = o.channel
                             AND b.status = 'queued' AND b.id < o.id AND b.expires_at > @now
                             ${skipping ? `AND NOT ${leftOut}(b.id)` : ''}))
       ORDER BY o.next_at, o.id LIMIT @limit`;
    this.dueRows = db.prepare<DueArgs, DueRow>(due(false));
    this.dueRowsLeaving = db.prepare<DueArgs, DueRow>(due(true));
    this.dueEmergencies = db.prepare<DueArgs, DueRow>(due(true, true));
    this.anyQueuedDue = db.prepare("SELECT 1 FROM notify_outbox WHERE status = 'queued' AND next_at <= ? LIMIT 1");
    this.staff = db.prepare(
      `INSERT OR IGNORE INTO notify_outbox (event, person_id, guardian_id, channel, dedup_key, data, status, next_at, created_at, expires_at)
       VALUES (@event, NULL, NULL, @channel, @dedupKey, @data, 'queued', @now, @now, @expiresAt)`,
    );
  }

  /** Queues one message per guardian of the person; runs inside the caller's transaction. Returns rows added. */
  enqueue(db: Database, e: Enqueue): number {
    const stmt = db === this.db ? this.forGuardians : db.prepare(this.forGuardians.source);
    return stmt.run({ event: e.event, channel: e.channel, dedupKey: e.dedupKey, data: JSON.stringify(e.data), now: e.now, expiresAt: e.expiresAt, personId: e.personId }).changes;
  }

  /** A message to a channel's own recipient (a staff group), not to a guardian. */
  enqueueStaff(e: Omit<Enqueue, 'personId'>): number {
    return this.staff.run({ event: e.event, channel: e.channel, dedupKey: e.dedupKey, data: JSON.stringify(e.data), now: e.now, expiresAt: e.expiresAt }).changes;
  }

  /** Whether any channel has a row due: one index probe, what an idle pass costs. */
  anyDue(now: number): boolean {
    return this.anyQueuedDue.get(now) !== undefined;
  }

  /**
   * Due rows of one channel, oldest first: per channel, so one channel's backlog never holds up another's.
   *
   * Of one guardian's messages (a guardian row is one guardian of one child) only the oldest queued one: a later one
   * waits while an older one is queued, waiting for its retry or in flight (a lease keeps it queued). Ordered by due
   * time alone, an "arrived" that failed and waited for its retry (or for a number's provider limit, or a channel's
   * pause) was overtaken by the "left" written after it, and with 4 requests in flight per channel both could be on
   * the wire at once, in any order. Per guardian rather than per child: one guardian's number at its provider limit
   * holds back that guardian's messages only (sender.ts, recipientLimited). Staff rows (no guardian) never wait so, nor
   * does an emergency broadcast: it is not one of the child's comings and goings, and behind an arrival at its number's
   * provider limit it waited up to that arrival's time to live to tell the guardian of a lockdown.
   * An older row past its time to live does not hold the others: it can only be dropped as expired, and a retry set
   * beyond its time to live would otherwise hold them until then.
   *
   * Cost (EXPLAIN QUERY PLAN, 100,000 rows, 4,000 guardians with one queued each): `SEARCH o USING INDEX
   * notify_outbox_due (status=? AND next_at<?)`, and per row it reads one `SEARCH b USING INDEX
   * notify_outbox_queued_guardian (guardian_id=? AND channel=? AND id<?)`: 0.23 ms for 50 rows against 0.20 ms
   * without the condition. Through notify_outbox_person (person_id, id) the probe read the child's whole history
   * (0.65 ms with 48 rows a child, growing with the days kept), hence the partial index of migration 83.
   *
   * `leftOut` names rows a provider took whose "sent" the database refused to record (a full disk; unrecorded.ts):
   * still queued, they are neither due nor hold a guardian's later messages back. Held behind one, the guardian had
   * nothing more for as long as the disk stayed full. A second statement, used only while there are any, so the usual
   * pass's query is the one measured above. It asks the set itself, through a SQL function, of each row it reads.
   * Passed as a JSON list through json_each (twice: for the row, and for the guardian's rows before it), the list was
   * parsed and indexed again at every call: 3.6–4.4 ms a call with 10,000 of them among 100,000 rows (0.16 ms with
   * none), on the event loop that answers every gate. Now 1.2–1.3 ms, nearly all of it stepping over those rows, which
   * are due first (their leases ran out). A copy of the set in an in-memory table stepped over them in 0.7 ms, but a
   * connection that refuses writes (the tests' full disk, `query_only`) refuses that table's too: a second copy to
   * keep in step, and a way for the two to differ.
   *
   * `emergenciesOnly`: the emergency broadcasts alone, for a sender at its bound of those (sender.ts, `pass`): only
   * they may go then, and behind 50 other rows due first they were never read. Through the partial index of
   * migration 84 it reads the queued emergencies only, 0.16 ms; found among every due row of notify_outbox_due, they
   * took 6.4–12 ms a pass with 30,000 due.
   */
  due(channel: string, now: number, limit: number, leftOut: LeftOut | null = null, emergenciesOnly = false): DueRow[] {
    if (!emergenciesOnly && (leftOut === null || leftOut.size === 0)) return this.dueRows.all({ channel, now, limit });
    this.leaving = leftOut ?? NONE;
    try {
      return (emergenciesOnly ? this.dueEmergencies : this.dueRowsLeaving).all({ channel, now, limit });
    } finally {
      this.leaving = NONE;
    }
  }

  /** Queued rows for a channel no longer configured: they can never go, so they fail with that reason. */
  failOrphans(channels: readonly string[]): number {
    const list = channels.map(() => '?').join(',');
    return this.db
      .prepare(
        `UPDATE notify_outbox SET status = 'failed', reason = 'channel ' || channel || ' is not configured', sent_at = NULL
         WHERE status = 'queued' ${channels.length ? `AND channel NOT IN (${list})` : ''}`,
      )
      .run(...channels).changes;
  }

  finish(id: number, status: Exclude<OutboxStatus, 'queued'>, reason: string | null, now: number): void {
    this.db
      .prepare(`UPDATE notify_outbox SET status = ?, reason = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ? AND status = 'queued'`)
      .run(status, reason, status, now, id);
  }

  lease(id: number, until: number): void {
    this.db.prepare(`UPDATE notify_outbox SET next_at = ? WHERE id = ? AND status = 'queued'`).run(until, id);
  }

  retryAt(id: number, nextAt: number, reason: string): void {
    this.db.prepare(`UPDATE notify_outbox SET attempts = attempts + 1, next_at = ?, reason = ? WHERE id = ? AND status = 'queued'`).run(nextAt, reason, id);
  }

  /**
   * The clock went back by `ms` (see Sender.now): every queued row's next attempt set before it, as a wait from a
   * reading of that clock, moves back with it, so the row waits what was chosen for it and not the step besides. A row
   * due at `now` already is left as it is; `expires_at` is not moved (a time to live is read by the clock at hand).
   *
   * A row that was due before the step (its time within the step) has nothing left to wait: it becomes due `now`, not
   * `ms` earlier. Moved by the whole step it went ahead of rows due before it and not moved (due ≤ `now`), so a
   * child's "left" written after an "arrived" reached the guardian first. So the order of `due()` (next_at, then id)
   * is kept: rows due before `now` first, then those made due `now` in the order they were written (their ids), then
   * those still waiting, as before.
   */
  shiftQueued(ms: number, now: number): number {
    return this.db.prepare(`UPDATE notify_outbox SET next_at = MAX(next_at - ?, ?) WHERE status = 'queued' AND next_at > ?`).run(ms, now, now).changes;
  }

  /** After a restart: the backoff that delayed these lived in the old process, and a restart often follows a fix. */
  retryQueuedNow(now: number): number {
    return this.db.prepare(`UPDATE notify_outbox SET next_at = ? WHERE status = 'queued' AND next_at > ?`).run(now, now).changes;
  }

  counts(): { status: OutboxStatus; channel: string; n: number }[] {
    return this.db.prepare(`SELECT status, channel, COUNT(*) AS n FROM notify_outbox GROUP BY status, channel`).all() as { status: OutboxStatus; channel: string; n: number }[];
  }

  list(
    q: { personId?: number | undefined; event?: string | undefined; channel?: string | undefined; status?: string | undefined; limit: number; before?: number | undefined },
  ): NotificationItem[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.personId !== undefined) (where.push('o.person_id = ?'), args.push(q.personId));
    if (q.event) (where.push('o.event = ?'), args.push(q.event));
    if (q.channel) (where.push('o.channel = ?'), args.push(q.channel));
    if (q.status) (where.push('o.status = ?'), args.push(q.status));
    if (q.before !== undefined) (where.push('o.id < ?'), args.push(q.before));
    const rows = this.db
      .prepare(
        `SELECT o.id, o.event, o.person_id, o.channel, o.status, o.reason, o.attempts, o.created_at, o.sent_at, g.phone_masked, g.wecom_user, p.external_id
         FROM notify_outbox o LEFT JOIN guardians g ON g.id = o.guardian_id LEFT JOIN persons p ON p.id = o.person_id
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY o.id DESC LIMIT ?`,
      )
      .all(...args, q.limit) as {
      id: number; event: MessageKind; person_id: number | null; channel: string; status: OutboxStatus; reason: string | null; attempts: number;
      created_at: number; sent_at: number | null; phone_masked: string | null; wecom_user: string | null; external_id: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id, event: r.event, personId: r.person_id, externalId: r.external_id, channel: r.channel, to: r.phone_masked ?? (r.person_id === null ? 'staff' : null), status: r.status,
      ...(r.reason !== null ? { reason: r.reason } : {}), attempts: r.attempts, createdAt: new Date(r.created_at).toISOString(),
      ...(r.sent_at !== null ? { sentAt: new Date(r.sent_at).toISOString() } : {}),
    }));
  }
}
