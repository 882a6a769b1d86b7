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

/**
 * Queued this many a transaction, as unrecorded.ts records: one commit a message held the event loop, every gate's
 * answer with it, for ~0.46 s for 10,000 (~6 s with `storage.synchronous: full`, an fsync each) when the disk had room
 * again; all in one transaction would need room in the WAL for every page at once, on a disk that has just a little back.
 */
const RETRY_CHUNK = 500;

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

  /**
   * Queues what waits, in order, RETRY_CHUNK a transaction, until the database refuses one again (or a chunk's
   * COMMIT): that chunk waits as a whole with the rest. How many were queued.
   */
  retry(): number {
    let n = 0;
    while (this.queue.length > 0) {
      const chunk = this.queue.slice(0, RETRY_CHUNK);
      /** Refused past their time to live: they go whether or not the chunk commits (they would only expire). */
      const expired: { e: HeldMessage; err: unknown }[] = [];
      /** Why the chunk ended: a message refused within its time to live, or one past it whose refusal ended the transaction. */
      let ended: 'refused' | 'expired' | null = null;
      try {
        this.d.db.transaction(() => {
          for (const e of chunk) {
            const now = this.d.clock.now();
            e.now = now;
            try {
              this.d.outbox.enqueue(this.d.db, e);
            } catch (err) {
              // Still refused. One past its time to live goes: a message refused for a reason waiting does not cure
              // cannot hold the others up longer than that. The rest of the chunk goes on, unless SQLite rolled the
              // transaction back itself (it may on a full disk): what followed would be committed one by one.
              if (now < e.expiresAt) {
                this.refused(err, e);
                ended = 'refused';
                throw err;
              }
              expired.push({ e, err });
              if (!this.d.db.inTransaction) {
                ended = 'expired';
                throw err;
              }
            }
          }
        })();
      } catch (err) {
        // A message refused (logged above), or the COMMIT: the chunk waits as a whole, the rest behind it. Ended by
        // one past its time to live, that one goes and the chunk, one shorter, is tried again.
        if (ended === null) this.refused(err, chunk[0]!);
        this.drop(expired);
        if (ended === 'expired') continue;
        return n;
      }
      this.drop(expired);
      const gone = new Set(expired.map((x) => x.e));
      this.queue.splice(0, chunk.length - gone.size);
      for (const e of chunk) {
        if (gone.has(e)) continue;
        this.keys.delete(e.dedupKey);
        this.queued.inc({ event: e.event });
        n++;
      }
    }
    return n;
  }

  /** Lets go of those refused past their time to live (counted and logged as lost); the others keep their order. */
  private drop(expired: readonly { e: HeldMessage; err: unknown }[]): void {
    for (const { e, err } of expired) {
      this.queue.splice(this.queue.indexOf(e), 1);
      this.keys.delete(e.dedupKey);
      this.dropped.inc({ event: e.event, reason: 'expired' });
      this.d.log.error({ err, event: e.event, personId: e.personId }, 'guardian message lost: refused by the database until its time to live ran out');
    }
  }

  private refused(err: unknown, e: HeldMessage): void {
    if (this.refusals++ % 50 === 0) {
      this.d.log.error({ err, event: e.event, personId: e.personId, held: this.queue.length, times: this.refusals }, 'guardian message not queued: the database refused it; kept in memory and queued when it takes writes again');
    }
  }
}
