/**
 * Guardian messages a provider took whose "sent" the database refused to record (a full disk): kept in memory and
 * recorded once it takes writes again. Their rows stay queued meanwhile, so the sender must know them: it never sends
 * one again (each time its lease ran out the guardian had it once more), and Outbox.due does not hold the guardian's
 * later messages behind one (they waited for as long as the disk stayed full, and a guardian heard nothing more): it
 * asks this set, row by row (a LeftOut), and nothing is copied for it.
 *
 * Bounded like the messages the database refused to queue (held.ts), but nothing here is ever dropped: forgetting
 * one would send it again. The sender starts no send that could bring them past `max` (see `room`), so messages wait
 * in the outbox instead, for the disk; except an emergency broadcast, which goes all the same (past `max` it costs
 * memory, ~100 B a message, and a lockdown's message must not wait for the disk). Lost if the process stops before the disk has room: those rows are still queued
 * and go once more after the restart (twice rather than never; docs/guardians.md, At-least-once).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../storage/db.js';
import type { LeftOut } from './outbox.js';

/**
 * Recorded this many a transaction. One commit a row held the event loop, every gate's answer with it, for 0.46 s for
 * 10,000 (6.6 s with `storage.synchronous: full`, an fsync each) when the disk had room again; all in one transaction
 * would need room in the WAL for every page at once, on a disk that has just a little back.
 */
const RECORD_CHUNK = 500;

export class SentUnrecorded implements LeftOut {
  /** Row id → its channel, in the order the provider took them. */
  private readonly rows = new Map<number, string>();

  constructor(
    metrics: Registry,
    readonly max: number,
    private readonly db: Database,
  ) {
    const rows = this.rows;
    new Gauge({
      name: 'campus_notify_sent_unrecorded',
      help: 'Guardian messages a provider took whose "sent" the database refused to record, waiting in memory for it',
      registers: [metrics],
      collect() {
        this.set(rows.size);
      },
    });
  }

  get size(): number {
    return this.rows.size;
  }

  has(id: number): boolean {
    return this.rows.has(id);
  }

  /**
   * Whether one more message may start, `inflight` being on the wire already: each of them could end here, and past
   * `max` one would have to be forgotten (and sent again).
   */
  room(inflight: number): boolean {
    return this.rows.size + inflight + 1 <= this.max;
  }

  add(id: number, channel: string): void {
    this.rows.set(id, channel);
  }

  /**
   * Records them sent, oldest first, RECORD_CHUNK a transaction, until the database refuses one again (thrown: its
   * chunk and the rest wait for the next call). `recorded` is called for each one the database took.
   */
  record(finish: (id: number) => void, recorded: (channel: string) => void): void {
    const ids = [...this.rows.keys()];
    for (let i = 0; i < ids.length; i += RECORD_CHUNK) {
      const chunk = ids.slice(i, i + RECORD_CHUNK);
      this.db.transaction(() => {
        for (const id of chunk) finish(id);
      })();
      for (const id of chunk) {
        const channel = this.rows.get(id)!;
        this.rows.delete(id);
        recorded(channel);
      }
    }
  }
}
