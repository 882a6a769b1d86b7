/**
 * Guardian messages the database refused to queue (a full disk), kept in memory in order and queued when it takes
 * writes again: a lost card's message, and a tap's (an arrival, a departure, a lost card used), were promised to the
 * guardians and were only logged. Bounded like the access engine's deferred rows (storage/deferred-writes.ts): past
 * `max` a message is dropped and counted, so a long outage cannot take the memory too. Lost if the process stops
 * before the disk has room (docs/operations.md, Disk).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { MetricFactory } from '../core/metrics.js';
import { Gauge, type Counter, type Registry } from 'prom-client';
import type { Database } from '../storage/db.js';
import type { Enqueue, Outbox } from './outbox.js';

/**
 * What is kept: the outbox's own row, its `now` set again when it is finally queued. Not a copy made per message
 * (`{...e, now}`): this runs in every arrival tap's transaction, and such spreads on the tap path moved garbage into
 * the old space and brought more full collections (docs/access.md, "Object spreads, again").
 */
export type HeldMessage = Enqueue;

export class HeldMessages {
  private readonly queue: HeldMessage[] = [];
  /** The de-duplication keys of those kept: a child tapping in again while the disk is full is one message. */
  private readonly keys = new Set<string>();
  private readonly kept: Counter<'event'>;
  private readonly dropped: Counter<'event' | 'reason'>;
  private readonly queued: Counter<'event'>;
  /** Refusals logged: the first, then every 50th, not one a second while the disk stays full. */
  private refusals = 0;

  constructor(
    private readonly d: { db: Database; outbox: Outbox; clock: Clock; log: Logger; metrics: Registry; max: number },
  ) {
    const m = new MetricFactory(d.metrics);
    const queue = this.queue;
    new Gauge({
      name: 'campus_notify_held_messages',
      help: 'Guardian messages the database refused to queue, waiting in memory for it',
      registers: [d.metrics],
      collect() {
        this.set(queue.length);
      },
    });
    this.kept = m.counter('campus_notify_held_messages_total', 'Guardian messages kept in memory because the database refused to queue them', ['event']);
    this.queued = m.counter('campus_notify_held_queued_total', 'Guardian messages kept in memory and queued once the database took them', ['event']);
    this.dropped = m.counter('campus_notify_held_dropped_total', 'Guardian messages kept in memory and lost: the memory queue was full, or their time to live ran out while still refused', ['event', 'reason']);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues the message now, or keeps it for later when the database refuses it; false when it is lost (counted). */
  enqueue(e: HeldMessage): boolean {
    return this.enqueueIn(this.d.db, e) !== 'lost';
  }

  /**
   * As `enqueue`, inside the caller's transaction (a tap's, access `writeWithTaps`): the rows queued now (0 for a
   * repeat of its de-duplication key), or whether it was kept for later or lost. A refused INSERT fails that statement
   * only, so the tap is recorded all the same; its message waits here. Should the tap's transaction fail as a whole
   * afterwards, the message is kept though the tap is not (the tap itself waits in memory too, and when it is written
   * its message again comes here: the key makes the second one nothing).
   */
  enqueueIn(db: Database, e: HeldMessage): number | 'held' | 'lost' {
    if (this.queue.length === 0) {
      try {
        return this.d.outbox.enqueue(db, e);
      } catch (err) {
        this.refused(err, e);
      }
    }
    // Kept already (the outbox's unique key would make it nothing).
    if (this.keys.has(e.dedupKey)) return 'held';
    // Behind those already waiting, even when the database would take it now: one child's messages keep their order.
    if (this.queue.length >= this.d.max) {
      this.dropped.inc({ event: e.event, reason: 'full' });
      this.d.log.error({ event: e.event, personId: e.personId, held: this.queue.length }, 'guardian message lost: the database refuses it and the memory queue is full');
      return 'lost';
    }
    this.queue.push(e);
    this.keys.add(e.dedupKey);
    this.kept.inc({ event: e.event });
    return 'held';
  }

  /** Queues what waits, in order, until the database refuses one again; how many were queued. */
  retry(): number {
    let n = 0;
    while (this.queue.length > 0) {
      const e = this.queue[0]!;
      const now = this.d.clock.now();
      e.now = now;
      try {
        this.d.outbox.enqueue(this.d.db, e);
      } catch (err) {
        // Still refused. One past its time to live goes (it would only be dropped as expired): a message refused for
        // a reason waiting does not cure cannot hold the others up longer than that.
        if (now < e.expiresAt) {
          this.refused(err, e);
          return n;
        }
        this.queue.shift();
        this.keys.delete(e.dedupKey);
        this.dropped.inc({ event: e.event, reason: 'expired' });
        this.d.log.error({ err, event: e.event, personId: e.personId }, 'guardian message lost: refused by the database until its time to live ran out');
        continue;
      }
      this.queue.shift();
      this.keys.delete(e.dedupKey);
      this.queued.inc({ event: e.event });
      n++;
    }
    return n;
  }

  private refused(err: unknown, e: HeldMessage): void {
    if (this.refusals++ % 50 === 0) {
      this.d.log.error({ err, event: e.event, personId: e.personId, held: this.queue.length, times: this.refusals }, 'guardian message not queued: the database refused it; kept in memory and queued when it takes writes again');
    }
  }
}
