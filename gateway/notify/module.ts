/**
 * Guardian notifications (平安短信 / 家校通): guardians with consent, the outbox, the sender and its channels.
 * Created by the composition root; access hands it each decided tap through `tapWrite` (in the tap's transaction).
 */
import { nameIn } from '../core/localized-name.js';
import type { Router } from 'express';
import type { Counter } from 'prom-client';
import { ulid } from 'ulid';
import type { TapWrite } from '../access/contract.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { localDate } from '../core/school-calendar.js';
import type { Guards } from '../http/guards.js';
import { guardianBox, guardianKeyOf, GuardianStore } from '../guardians/store.js';
import { createChannel } from './channels/create.js';
import type { Channel } from './channels/types.js';
import { Outbox } from './outbox.js';
import { notifyRoutes } from './routes.js';
import { Sender } from './sender.js';
import { tapWriteFor } from './triggers.js';
import { LOCKDOWN_TEXTS } from './templates.js';
import { GUARDIAN_LANGUAGES, type GuardianLanguage } from '../guardians/schema.js';
import { DEMO_GUARDIANS } from './demo.js';
import { MetricFactory } from '../core/metrics.js';
import { AbsenceCheck } from './absences.js';
import { HeldMessages } from './held.js';

export { guardianMigrations as notifyMigrations } from '../guardians/schema.js';

/** What the notifier needs from attendance: who is absent (past the cut-off, not excused) on a date. */
export interface NotifyPorts {
  absentees(date: string): { personId: number; scheduleGroup: string; class: string | null; name: string }[];
  /** The last lockdown change (a start, or the end of the last one), or null when there never was a lockdown. */
  lockdownChange(): LockdownChange | null;
}

export interface LockdownChange {
  active: boolean;
  /** When it started (active) or ended (epoch ms). */
  at: number;
  by: string;
}

/** What the console shows before an emergency broadcast: the lockdown to announce, whether it was, and to whom. */
export interface EmergencyPlan {
  /** Notifications on, with a guardians' channel and the emergency event enabled. */
  enabled: boolean;
  lockdown: LockdownChange | null;
  /** The broadcast already sent for this lockdown change, if any. */
  /** `messages`: rows written (one per guardian); `guardians`: those not suppressed (consenting when it was sent). */
  announced: { by: string; at: string; messages: number; guardians: number } | null;
  /** Consenting guardians of students: who a broadcast goes to. */
  recipients: { guardians: number; byLanguage: Record<GuardianLanguage, number> };
  /** The texts the console offers for this change, per guardian language, to edit before sending. */
  texts: Record<GuardianLanguage, string> | null;
}

export interface EmergencyInput {
  text?: string | undefined;
  texts?: Partial<Record<GuardianLanguage, string>> | undefined;
  /** The lockdown change this announces (`lockdown.at` of the plan): announced once, and refused after a newer change. */
  lockdownAt?: number | undefined;
}

/**
 * Guardian messages kept in memory while the database refuses them. Taps' messages come here too, so as many as the
 * access engine keeps taps in memory (compose.ts, DeferredWrites): a morning's arrivals of a large school, ~290 bytes
 * each (3 MB at most). At 1,000 (sized for lost cards) a full disk in the gate rush lost what came past the thousandth.
 */
const MAX_HELD = 10_000;
/** The same broadcast text again within this is a repeat, refused. */
const EMERGENCY_REPEAT_MS = 10 * 60_000;
/** Broadcasts an hour at most: an emergency is a few messages, not a stream. */
const EMERGENCY_PER_HOUR = 10;

export class NotifyModule implements GatewayModule {
  readonly name = 'notify';
  readonly guardians: GuardianStore;
  readonly outbox: Outbox;
  readonly channels: Channel[];
  readonly sender: Sender;
  readonly tapWrite: TapWrite;
  private readonly log: Logger;
  private readonly errors: Counter<'event'>;
  private absenceTimer: NodeJS.Timeout | undefined;
  private readonly absences: AbsenceCheck;
  /** Guardian messages the database refused to queue, waiting in memory (held.ts). */
  readonly held: HeldMessages;
  private queuedSinceNudge = false;
  private offs: (() => void)[] = [];

  constructor(
    private readonly ctx: GatewayContext,
    private readonly ports: NotifyPorts,
  ) {
    const cfg = ctx.config.notify;
    this.log = ctx.log.child({ component: 'notify' });
    this.guardians = new GuardianStore(ctx.db, guardianBox(guardianKeyOf(ctx.config)), ctx.clock);
    this.outbox = new Outbox(ctx.db);
    this.channels = cfg.enabled ? cfg.channels.map((c) => createChannel(c, ctx.mqtt)) : [];
    const m = new MetricFactory(ctx.metrics);
    this.errors = m.counter('campus_notify_enqueue_failures_total', 'Messages that could not be queued (the tap itself was kept)', ['event']);
    this.sender = new Sender({
      outbox: this.outbox,
      guardians: this.guardians,
      channels: this.channels,
      config: cfg,
      school: { name: ctx.config.school.name, timezone: ctx.config.school.timezone },
      accessPointName: (id, language) => nameIn(ctx.config.access.accessPoints.find((a) => a.id === id)?.name, language, id),
      clock: ctx.clock,
      log: this.log,
      metrics: ctx.metrics,
      alerts: ctx.alerts,
    });
    this.held = new HeldMessages({ db: ctx.db, outbox: this.outbox, clock: ctx.clock, log: this.log, metrics: ctx.metrics, max: MAX_HELD });
    this.absences = new AbsenceCheck(ctx, (date) => ports.absentees(date), this.outbox, () => this.sender.nudge());
    const channel = cfg.guardianChannel;
    this.tapWrite =
      cfg.enabled && channel
        ? tapWriteFor(
            {
              config: cfg, access: ctx.config.access, timezone: ctx.config.school.timezone, held: this.held, now: () => ctx.clock.now(),
              onError: (err, event) => {
                this.errors.inc({ event });
                this.log.error({ err, event }, 'notification could not be queued');
              },
            },
            channel,
            () => (this.queuedSinceNudge = true),
          )
        : () => null;
  }

  seedDemo(): void {
    const by = 'demo';
    const ids = this.ctx.db.prepare<[string], { id: number }>('SELECT id FROM persons WHERE external_id = ?');
    for (const g of DEMO_GUARDIANS) {
      const person = ids.get(g.externalId);
      if (!person || !this.guardians.encrypted) continue;
      this.guardians.add(person.id, { name: g.name, relation: g.relation, phone: g.phone, language: g.language, consent: g.consent }, by);
    }
  }

  start(): void {
    const cfg = this.ctx.config.notify;
    if (!cfg.enabled) return;
    this.offs.push(
      this.ctx.bus.on('tap.decided', () => {
        if (!this.queuedSinceNudge) return;
        this.queuedSinceNudge = false;
        this.sender.nudge();
      }),
      this.ctx.bus.on('card.changed', (e) => {
        if (e.status !== 'lost' || e.previous === 'lost' || !cfg.guardianChannel || !cfg.events.card_lost.enabled) return;
        // Refused by the database (a full disk), it is kept in memory and queued when the disk takes writes again
        // (the tick below): thrown, the bus only logged it, and the guardians never heard of the lost card.
        this.held.enqueue({
          // Once per card and school day, as `card_lost_used`: reporting a card lost and found again and again (a
          // mistake, or a user with the security role doing it on purpose) must not send a guardian one text each time.
          event: 'card_lost', personId: e.personId, channel: cfg.guardianChannel, dedupKey: `card_lost:${e.uid}:${localDate(e.at, this.ctx.config.school.timezone)}`,
          data: { at: e.at }, now: this.ctx.clock.now(), expiresAt: e.at + cfg.events.card_lost.ttlS * 1000,
        });
        this.sender.nudge();
      }),
    );
    this.sender.start();
    const tick = (): void => {
      try {
        if (this.held.pending > 0 && this.held.retry() > 0) this.sender.nudge();
      } catch (err) {
        this.log.error({ err }, 'queuing held guardian messages failed');
      }
      try {
        this.absences.tick();
      } catch (err) {
        this.log.error({ err }, 'absence check failed');
      }
      this.absenceTimer = setTimeout(tick, Math.max(cfg.pollMs, 1000));
      this.absenceTimer.unref?.();
    };
    tick();
  }

  async stop(): Promise<void> {
    for (const off of this.offs) off();
    if (this.absenceTimer) clearTimeout(this.absenceTimer);
    await this.sender.stop();
  }

  /** A test message to one guardian (with consent, like any other), sent now, through the guardians' channel. */
  sendTest(personId: number, guardianId: number, by: string): { queued: number } {
    const cfg = this.ctx.config.notify;
    const g = this.guardians.row(guardianId);
    if (g.person_id !== personId) throw notFound(`guardian ${guardianId}`);
    if (!cfg.enabled || !cfg.guardianChannel) throw new GatewayError('conflict', 'notifications are off: set notify.enabled and notify.guardianChannel');
    const now = this.ctx.clock.now();
    // The same consent rule as every message: without consent the row is written suppressed, and nothing goes.
    const queued = this.ctx.db.transaction(() => {
      this.ctx.db
        .prepare(
          `INSERT INTO notify_outbox (event, person_id, guardian_id, channel, dedup_key, data, status, reason, next_at, created_at, expires_at)
           SELECT 'test', g.person_id, g.id, ?, ?, ?, CASE WHEN g.consent = 1 THEN 'queued' ELSE 'suppressed' END,
                  CASE WHEN g.consent = 1 THEN NULL ELSE 'no_consent' END, ?, ?, ? FROM guardians g WHERE g.id = ?`,
        )
        .run(cfg.guardianChannel, `test:${guardianId}:${ulid()}`, JSON.stringify({ at: now }), now, now, now + 600_000, guardianId);
      return 1;
    })();
    this.log.info({ guardianId, by }, 'test message queued');
    this.sender.nudge();
    return { queued };
  }

  private get emergencyOn(): boolean {
    const cfg = this.ctx.config.notify;
    return cfg.enabled && cfg.guardianChannel !== undefined && cfg.events.emergency.enabled;
  }

  /** Consenting guardians of students, per language: those an emergency broadcast goes to. */
  private emergencyRecipients(): EmergencyPlan['recipients'] {
    const rows = this.ctx.db
      .prepare<[], { language: GuardianLanguage; n: number }>(
        `SELECT g.language, COUNT(*) AS n FROM guardians g JOIN persons p ON p.id = g.person_id
         WHERE p.role = 'student' AND g.consent = 1 GROUP BY g.language`,
      )
      .all();
    const byLanguage = Object.fromEntries(GUARDIAN_LANGUAGES.map((l) => [l, rows.find((r) => r.language === l)?.n ?? 0])) as Record<GuardianLanguage, number>;
    return { guardians: rows.reduce((sum, r) => sum + r.n, 0), byLanguage };
  }

  private static lockdownBroadcastId(l: LockdownChange): string {
    return `lockdown:${l.active ? 'started' : 'ended'}:${l.at}`;
  }

  /** The broadcast sent for a lockdown change: its rows carry the change in their de-duplication key. */
  private announced(l: LockdownChange): EmergencyPlan['announced'] {
    const row = this.ctx.db
      .prepare<[string], { n: number; g: number; at: number | null; by: string | null }>(
        `SELECT COUNT(*) AS n, SUM(status <> 'suppressed') AS g, MIN(created_at) AS at, MIN(json_extract(data, '$.by')) AS by FROM notify_outbox
         WHERE event = 'emergency' AND dedup_key LIKE ?`,
      )
      .get(`emergency:${NotifyModule.lockdownBroadcastId(l)}:%`);
    return row && row.n > 0 && row.at !== null ? { by: row.by ?? '', at: new Date(row.at).toISOString(), messages: row.n, guardians: row.g } : null;
  }

  emergencyPlan(): EmergencyPlan {
    const lockdown = this.ports.lockdownChange();
    return {
      enabled: this.emergencyOn,
      lockdown,
      announced: lockdown ? this.announced(lockdown) : null,
      recipients: this.emergencyRecipients(),
      texts: lockdown ? { ...LOCKDOWN_TEXTS[lockdown.active ? 'started' : 'ended'] } : null,
    };
  }

  /**
   * An emergency broadcast with its own text (one per guardian language, or one for all), confirmed by an admin or
   * security: every guardian of every student, consenting ones queued, the others suppressed. With `lockdownAt` it
   * announces that lockdown change, once: a second broadcast for it, or one for a change that is no longer the last,
   * is refused.
   */
  broadcastEmergency(input: EmergencyInput, by: string): { id: string; queued: number; guardians: number } {
    const cfg = this.ctx.config.notify;
    let id = ulid();
    if (!this.emergencyOn) return { id, queued: 0, guardians: 0 };
    const recipients = this.emergencyRecipients();
    const missing = GUARDIAN_LANGUAGES.filter((l) => recipients.byLanguage[l] > 0 && !input.texts?.[l] && !input.text);
    if (missing.length > 0) {
      throw new GatewayError('bad_request', missing.map((l) => `body.texts.${l}: ${recipients.byLanguage[l]} guardian(s) read ${l}; give their text (or one text for all)`).join('; '));
    }
    if (input.lockdownAt !== undefined) {
      const current = this.ports.lockdownChange();
      if (!current || current.at !== input.lockdownAt) {
        throw new GatewayError('conflict', 'the lockdown changed since this broadcast was written: look at it again');
      }
      const done = this.announced(current);
      if (done) throw new GatewayError('conflict', `this lockdown change was announced already, by ${done.by} at ${done.at}`);
      id = NotifyModule.lockdownBroadcastId(current);
    }
    const now = this.ctx.clock.now();
    // A lockdown's announcement goes once per lockdown change (above), and counts in the hour's budget like any other.
    this.checkBroadcastPace(input, now, input.lockdownAt !== undefined);
    const students = this.ctx.db
      .prepare<[], { id: number }>(`SELECT DISTINCT g.person_id AS id FROM guardians g JOIN persons p ON p.id = g.person_id WHERE p.role = 'student'`)
      .all();
    const data = {
      at: now,
      ...(input.text !== undefined ? { text: input.text } : {}),
      ...(input.texts !== undefined ? { texts: input.texts } : {}),
      by,
    };
    let queued = 0;
    this.ctx.db.transaction(() => {
      for (const s of students) {
        queued += this.outbox.enqueue(this.ctx.db, {
          event: 'emergency', personId: s.id, channel: cfg.guardianChannel!, dedupKey: `emergency:${id}:${s.id}`,
          data, now, expiresAt: now + cfg.events.emergency.ttlS * 1000,
        });
      }
    })();
    const sending = this.ctx.db
      .prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM notify_outbox WHERE event = 'emergency' AND status = 'queued' AND dedup_key LIKE ?`)
      .get(`emergency:${id}:%`)!.n;
    this.log.warn({ id, by, queued, guardians: sending }, 'emergency broadcast queued');
    this.sender.nudge();
    return { id, queued, guardians: sending };
  }

  /**
   * Every guardian gets each broadcast, so a double click, a client's retry or a script holding a staff token must
   * not send it twice: the same text within EMERGENCY_REPEAT_MS is refused (409, saying who sent it when), and more
   * than EMERGENCY_PER_HOUR broadcasts in an hour (429). Read from the outbox, so a restart forgets nothing. A
   * lockdown's own announcement (`lockdown`) may repeat its standard text, and counts in the hour's budget: it goes
   * once per lockdown change, but a lockdown started and ended again and again sent one each time (an attacker
   * review, 2026-12-06: 24 broadcasts to every guardian in a few seconds).
   */
  private checkBroadcastPace(input: EmergencyInput, now: number, lockdown: boolean): void {
    // One row per broadcast: its rows share one `data` (its time, sender and text); dedup keys start `emergency:`.
    const recent = this.ctx.db
      .prepare<[number], { data: string }>(
        `SELECT data FROM notify_outbox WHERE dedup_key >= 'emergency:' AND dedup_key < 'emergency;' AND created_at >= ?
         GROUP BY data`,
      )
      .all(now - 3_600_000)
      .map((r) => JSON.parse(r.data) as { at: number; by: string; text?: string; texts?: Record<string, string> });
    const same = (d: { text?: string; texts?: Record<string, string> }): boolean =>
      d.text === input.text && JSON.stringify(d.texts ?? null) === JSON.stringify(input.texts ?? null);
    const repeat = lockdown ? undefined : recent.find((d) => same(d) && now - d.at < EMERGENCY_REPEAT_MS);
    if (repeat) {
      const mins = Math.max(1, Math.round((now - repeat.at) / 60_000));
      throw new GatewayError('conflict', `the same message went to the guardians ${mins} min ago (sent by ${repeat.by}); to send more, change the text`);
    }
    if (recent.length >= EMERGENCY_PER_HOUR) {
      throw new GatewayError('rate_limited', `${recent.length} emergency messages went out in the last hour; no more until an hour after the first`);
    }
  }

  personIdOf(externalId: string): number | undefined {
    return this.ctx.db.prepare<[string], { id: number }>('SELECT id FROM persons WHERE external_id = ?').get(externalId)?.id;
  }

  routes(api: Router, guards: Guards): void {
    notifyRoutes(api, guards, this);
  }

  health(): ComponentHealth {
    const failing = this.sender.channelHealth().filter((c) => c.failingSince !== null);
    return failing.length === 0 ? { ok: true } : { ok: true, detail: `failing: ${failing.map((c) => c.id).join(', ')}`, code: 'channels_failing', params: { channels: failing.map((c) => c.id).join(', ') } };
  }
}
