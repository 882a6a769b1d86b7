/**
 * Sends what the outbox holds, off the tap path: a timer and nudges after writes, never a tap's await. Per channel a
 * token bucket (its rate limit), a shared backoff after retryable failures (an outage pauses the channel, a success
 * resumes it at once), and `notify_failing` once it has failed for `failingAlertAfterS` without a success. A message
 * older than its time to live is dropped as expired, a guardian who withdrew consent is skipped, and outside
 * emergencies nothing goes in quiet hours. What a row says and to whom is outgoing.ts's.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NotifyConfig } from '../../config/notify.js';
import type { AlertService } from '../alerts/alerts.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Backoff, TokenBucket } from '../core/pacing.js';
import { localTime, minutesOf } from '../core/school-calendar.js';
import type { Channel, OutgoingMessage, SendResult } from './channels/types.js';
import type { DueRow, OutboxStatus, Outbox } from './outbox.js';
import { outgoingMessage, type OutgoingDeps } from './outgoing.js';
import { scrubNumbers } from './scrub.js';
import { SentUnrecorded } from './unrecorded.js';

interface ChannelState {
  channel: Channel;
  bucket: TokenBucket;
  backoff: Backoff;
  pausedUntil: number;
  inflight: number;
  /**
   * Guardians with a message in flight. Outbox.due already leaves out a guardian's later messages while an earlier one
   * is queued (in flight under its lease), except when that one's time to live ran out meanwhile: this keeps the two
   * off the wire together then too.
   */
  guardians: Set<number>;
  failingSince: number | null;
  alerted: boolean;
  timeoutMs: number;
}

/** With what a row's message is made of (outgoing.ts: the guardians' numbers, the school, the gates' names). */
export interface SenderDeps extends OutgoingDeps {
  outbox: Outbox;
  channels: Channel[];
  config: NotifyConfig;
  clock: Clock;
  log: Logger;
  metrics: Registry;
  alerts: AlertService;
}

const MAX_INFLIGHT = 4;
/** A message to a number at its provider limit waits this long, doubled at each try (providers count per minute and per hour). */
const RECIPIENT_RETRY_MS = 60_000;
const RECIPIENT_RETRY_MAX_MS = 30 * 60_000;
/** How long a nudge waits before its pass (see `nudge`). */
const NUDGE_DELAY_MS = 20;
/**
 * A clock going back less than this is jitter, not a step (see `now`): NTP steps past 128 ms (ntpd) or a second
 * (chrony), while a VM's or a board's clock read twice can go back milliseconds, and each was a warning and an UPDATE
 * of every queued row. What is not moved makes a wait that much longer, less than the poll that reads it anyway.
 */
const CLOCK_STEP_MS = 1000;

export class Sender {
  private readonly states = new Map<string, ChannelState>();
  private readonly inflight = new Set<number>();
  private readonly settled = new Set<Promise<void>>();
  private readonly messages: Counter<'channel' | 'status'>;
  private timer: NodeJS.Timeout | undefined;
  private nudged: NodeJS.Timeout | undefined;
  private stopped = true;
  private failureLogs = 0;
  /** Outcomes the database refused to record (logged the first time and every 50th). */
  private unrecorded = 0;
  /** Rows a channel took whose "sent" the database refused to record (unrecorded.ts). */
  private readonly sentUnrecorded: SentUnrecorded;
  /** The clock's last reading, and the monotonic clock's then (see `now`). */
  private lastNow = -Infinity;
  private lastMono = 0;
  private readonly mono: () => number;

  constructor(private readonly d: SenderDeps) {
    this.mono = d.clock.monotonic ? () => d.clock.monotonic!() : () => performance.now();
    this.sentUnrecorded = new SentUnrecorded(d.metrics, d.config.maxSentUnrecorded, d.outbox.db);
    for (const c of d.channels) {
      const cfg = d.config.channels.find((x) => x.id === c.id)!;
      this.states.set(c.id, {
        channel: c,
        bucket: new TokenBucket(cfg.ratePerMin / 60, () => d.clock.now(), cfg.burst ?? Math.max(1, Math.ceil(cfg.ratePerMin / 60))),
        backoff: new Backoff(d.config.retry.initialMs, d.config.retry.maxMs),
        pausedUntil: 0,
        inflight: 0,
        guardians: new Set(),
        failingSince: null,
        alerted: false,
        timeoutMs: cfg.timeoutMs,
      });
    }
    this.messages = new Counter({
      name: 'campus_notify_messages_total',
      help: 'Notification messages by channel and outcome (sent, failed, expired, suppressed, retried)',
      labelNames: ['channel', 'status'],
      registers: [d.metrics],
    });
    const outbox = d.outbox;
    new Gauge({
      name: 'campus_notify_outbox',
      help: 'Notification outbox rows by channel and status',
      labelNames: ['channel', 'status'],
      registers: [d.metrics],
      collect() {
        this.reset();
        for (const c of outbox.counts()) this.set({ channel: c.channel, status: c.status }, c.n);
      },
    });
  }

  start(): void {
    this.stopped = false;
    const orphans = this.d.outbox.failOrphans([...this.states.keys()]);
    if (orphans > 0) this.d.log.warn({ orphans }, 'queued notifications for channels no longer configured were failed');
    this.d.outbox.retryQueuedNow(this.now());
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.nudged) clearTimeout(this.nudged);
    await Promise.allSettled([...this.settled]);
  }

  /**
   * Something was queued: look soon rather than at the next poll. Not at once: a tap's message is queued in the tap's
   * own transaction, and a pass started in the next turn of the event loop rendered and sent it while the broker was
   * still delivering the tap's decision (the notify bench: tap → decision p50 2.7 ms without notifications, 6 ms with).
   * A few milliseconds later the decision is out; a guardian does not notice them, and a rush's messages share a pass.
   */
  nudge(): void {
    if (this.stopped || this.nudged) return;
    this.nudged = setTimeout(() => {
      this.nudged = undefined;
      this.pass();
    }, NUDGE_DELAY_MS);
  }

  channelHealth(): { id: string; failingSince: number | null }[] {
    return [...this.states.values()].map((s) => ({ id: s.channel.id, failingSince: s.failingSince }));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pass();
    }, ms);
    this.timer.unref?.();
  }

  /**
   * The clock, as everything the sender schedules reads it. What the sender schedules is a wait from a reading of the
   * wall clock (a retry, a lease, a channel's pause; when a channel started failing), kept as an instant; a clock
   * stepped back (NTP correcting a box that ran fast: a Pi has no real-time clock) added the step to each wait, and a
   * guardian's arrival message due again in 30 s waited 50 minutes more. So a reading a step (CLOCK_STEP_MS or more)
   * behind the last one moves every such instant back by the difference: each waits what was chosen for it. The
   * difference is short of the step by the time between the two readings (a poll, 1 s by default), which is as much
   * later as anything goes. Time to live is not moved: it is read by the clock at hand (docs/operations.md).
   *
   * A clock stepped forward (a box that booted with an old date, set right by NTP) is told from time passing by the
   * monotonic clock, which no one sets: the wall clock moving a step (CLOCK_STEP_MS or more) further than it between
   * two readings. That step is not time a channel failed: counted, a step of more than `failingAlertAfterS` raised
   * `notify_failing` at the channel's next failure, whatever its last success. Waits are not moved forward: what was
   * to go later goes sooner, which costs no one a message.
   */
  private now(): number {
    const now = this.d.clock.now();
    const mono = this.mono();
    const back = this.lastNow - now;
    const ahead = now - this.lastNow - (mono - this.lastMono);
    this.lastMono = mono;
    if (ahead >= CLOCK_STEP_MS && Number.isFinite(ahead)) {
      for (const st of this.states.values()) if (st.failingSince !== null) st.failingSince += ahead;
      this.d.log.warn({ aheadMs: ahead }, 'the clock went forward; a failing channel does not count the step as time failing');
    }
    if (back >= CLOCK_STEP_MS) {
      for (const st of this.states.values()) {
        if (st.pausedUntil > now) st.pausedUntil -= back;
        if (st.failingSince !== null) st.failingSince -= back;
      }
      try {
        const moved = this.d.outbox.shiftQueued(back, now);
        this.d.log.warn({ backMs: back, moved }, 'the clock went back; queued notifications keep the waits chosen for them');
      } catch (err) {
        // Not thrown: a settling send reads the clock too, and its rejection would end the process. The rows keep
        // their times, and wait the step besides, as before; said once, not at every poll while the disk is full.
        this.d.log.error({ err, backMs: back }, 'the clock went back, and the queued notifications could not be moved with it');
      }
    }
    this.lastNow = now;
    return now;
  }

  private quiet(now: number): boolean {
    const q = this.d.config.quietHours;
    if (!q) return false;
    const m = Math.floor(localTime(now, this.d.school.timezone).secondOfDay / 60);
    const from = minutesOf(q.from);
    const to = minutesOf(q.to);
    return from <= to ? m >= from && m < to : m >= from || m < to;
  }

  private finish(row: DueRow, status: Exclude<OutboxStatus, 'queued'>, reason: string | null, now: number): void {
    this.d.outbox.finish(row.id, status, reason, now);
    this.messages.inc({ channel: row.channel, status });
  }

  /** One look at what is due; sends start here and settle later. */
  pass(): void {
    if (this.stopped) return;
    try {
      const now = this.now();
      this.recordSent(now);
      // Nothing due (the usual pass, every pollMs): one index probe instead of a query per channel.
      const due = this.d.outbox.anyDue(now);
      // Per channel, only as many rows as it can take now: a pass costs what it sends, not the size of the backlog.
      for (const st of due ? this.states.values() : []) {
        // At the bound of messages sent but not recorded, only emergencies go (below): the next batch reads them alone.
        let emergenciesOnly = false;
        for (let batch = 0; batch < 20 && st.inflight < MAX_INFLIGHT && st.pausedUntil <= now; batch++) {
          const rows = this.d.outbox.due(st.channel.id, now, 50, this.sentUnrecorded, emergenciesOnly);
          let blocked = false;
          for (const row of rows) {
            // Rows sent but not recorded never come back from due(): it is handed the set itself.
            if (this.inflight.has(row.id)) continue;
            if (now >= row.expires_at) {
              this.finish(row, 'expired', row.reason ? `expired; last attempt: ${row.reason}` : 'expired before it could be sent', now);
              continue;
            }
            if (row.guardian_id !== null && row.consent !== 1) {
              this.finish(row, 'suppressed', 'no_consent', now);
              continue;
            }
            // An emergency, and a test an admin sends while watching, go in quiet hours too.
            if (row.event !== 'emergency' && row.event !== 'test' && this.quiet(now)) {
              this.finish(row, 'suppressed', 'quiet_hours', now);
              continue;
            }
            // An emergency is not held so (as in Outbox.due): behind a request the provider holds open it waited for
            // that request's timeout, and then for the pause the timeout brought.
            if (row.guardian_id !== null && row.event !== 'emergency' && st.guardians.has(row.guardian_id)) continue;
            // Each send could end unrecorded: at the bound the rest wait in the outbox for the disk, not sent twice. An
            // emergency (a lockdown) still goes: add() never drops, so one past the bound costs ~100 B of memory. The
            // others are skipped, not a stop: behind 50 of them at the head of the batch the emergencies were never read.
            if (row.event !== 'emergency' && !this.sentUnrecorded.room(this.inflight.size)) {
              emergenciesOnly = true;
              continue;
            }
            if (st.inflight >= MAX_INFLIGHT || st.bucket.take(1) > 0) {
              blocked = true;
              break;
            }
            const message = outgoingMessage(row, st.channel, this.d);
            if ('error' in message) {
              this.finish(row, 'failed', message.error, now);
              continue;
            }
            this.send(row, st, message, now);
          }
          if (blocked || rows.length < 50) break;
        }
      }
      for (const st of this.states.values()) this.checkFailing(st, now);
    } catch (err) {
      this.d.log.error({ err }, 'notification pass failed');
    }
    this.schedule(this.d.config.pollMs);
  }

  /** Records the sent messages the database refused before; still refused, the next pass tries again. */
  private recordSent(now: number): void {
    if (this.sentUnrecorded.size === 0) return;
    try {
      this.sentUnrecorded.record(
        (id) => this.d.outbox.finish(id, 'sent', null, now),
        (channel) => this.messages.inc({ channel, status: 'sent' }),
      );
    } catch {
      // Still refused (counted when it was first refused, in send()). The others go meanwhile: Outbox.due neither
      // returns these rows nor holds their guardians' later messages behind them.
    }
  }

  private send(row: DueRow, st: ChannelState, message: OutgoingMessage, now: number): void {
    // Leased while in flight: the next pass does not read it again, and a crash leaves it queued for the restart.
    this.d.outbox.lease(row.id, now + st.timeoutMs + 5000);
    this.inflight.add(row.id);
    st.inflight++;
    const guardian = row.guardian_id;
    if (guardian !== null) st.guardians.add(guardian);
    const p: Promise<void> = st.channel
      .send(message)
      .catch((err: unknown): SendResult => ({ ok: false, retry: true, reason: `channel error: ${(err as Error).message}` }))
      .then((result) => {
        try {
          this.settle(row, st, result, message.to);
        } catch (err) {
          // Recording the outcome failed (a full disk, a lock held past busy_timeout). Unhandled, this rejection ended
          // the process, and every gate with it. A message the channel took is not sent again: its row stayed queued
          // under its lease, and each time that ran out while the disk stayed full the guardian had it again. Any
          // other outcome goes again when the lease ends.
          if (result.ok) this.sentUnrecorded.add(row.id, row.channel);
          if (this.unrecorded++ % 50 === 0) this.d.log.error({ err, id: row.id, channel: row.channel, times: this.unrecorded }, result.ok ? 'notification sent but not recorded; recorded when the database takes it' : 'notification outcome not recorded; it will be tried again');
        }
      })
      .finally(() => {
        this.inflight.delete(row.id);
        st.inflight--;
        if (guardian !== null) st.guardians.delete(guardian);
        this.settled.delete(p);
        this.nudge();
      });
    this.settled.add(p);
  }

  private settle(row: DueRow, st: ChannelState, result: SendResult, to: string | null): void {
    const now = this.now();
    if (result.ok) {
      this.finish(row, 'sent', null, now);
      st.backoff.reset();
      st.pausedUntil = 0;
      st.failingSince = null;
      if (st.alerted) {
        st.alerted = false;
        // Not thrown (a full disk): the message is recorded sent already, and the catch in send() would say otherwise.
        this.d.alerts.tryResolveByKey(`notify_failing:${st.channel.id}`, 'gateway', 'a message went through');
      }
      return;
    }
    const reason = scrubNumbers(result.reason, to);
    if (this.failureLogs++ % 50 === 0) {
      this.d.log.warn({ id: row.id, channel: row.channel, event: row.event, retry: result.retry, reason, failures: this.failureLogs }, 'notification not delivered');
    }
    if (!result.retry) {
      this.finish(row, 'failed', reason, now);
      return;
    }
    if (result.recipientLimited) {
      // One guardian's number at its provider limit (several children, a flapping gate): that message waits, a
      // minute and then longer, and the others go. Pausing the channel for it stopped every school message for as
      // long as that number's backlog stood at the head of the queue (an attacker review, 2026-12-06).
      this.d.outbox.retryAt(row.id, now + Math.min(RECIPIENT_RETRY_MS * 2 ** row.attempts, RECIPIENT_RETRY_MAX_MS), reason);
      this.messages.inc({ channel: row.channel, status: 'retried' });
      return;
    }
    const delay = st.backoff.next();
    st.pausedUntil = now + delay;
    st.failingSince ??= now;
    this.d.outbox.retryAt(row.id, now + delay, reason);
    this.messages.inc({ channel: row.channel, status: 'retried' });
    this.checkFailing(st, now);
  }

  private checkFailing(st: ChannelState, now: number): void {
    if (st.alerted || st.failingSince === null || now - st.failingSince < this.d.config.failingAlertAfterS * 1000) return;
    // Refused by a full disk (counted and logged by tryRaise): not alerted, so the next pass tries again; thrown, it
    // stopped the pass's look at the other channels.
    st.alerted =
      this.d.alerts.tryRaise({
        type: 'notify_failing',
        severity: 'warning',
        source: `notify:${st.channel.id}`,
        message: `notification channel ${st.channel.id} (${st.channel.type}) has failed for ${Math.round((now - st.failingSince) / 60_000)} min`,
        data: { channel: st.channel.id, since: new Date(st.failingSince).toISOString() },
        dedupKey: `notify_failing:${st.channel.id}`,
      }) !== null;
  }
}
