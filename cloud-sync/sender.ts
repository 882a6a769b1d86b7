/**
 * Drains the outbox through a transport: reads rows in pages (so RSS stays bounded whatever the backlog), keeps a
 * bounded window of unconfirmed messages in flight, deletes rows only when the transport confirmed them, and on a
 * failure starts again from the oldest unconfirmed row of every stream (same ids). Streams are taken in priority
 * order; within a stream rows go in outbox order.
 */
import type { Stream } from './contract.js';
import type { Outbox, OutboxRow } from './outbox.js';
import { stampSentAt, type SentRow } from './outbox.js';
import { Backoff, TokenBucket } from '../gateway/core/pacing.js';
import type { OutgoingMessage, SendOutcome, Transport } from './transports/types.js';

export interface SenderOptions {
  pageSize: number;
  bandwidthBytesPerS: number;
  backoff: { initialMs: number; maxMs: number };
  now: () => number;
  onSent?: (stream: Stream, n: number) => void;
  onFailure?: (error: string) => void;
  onRejected?: (rows: number, status: number | undefined, error: string) => void;
}

export interface SenderStatus {
  lastSuccessAt: number | null;
  lastError: { message: string; at: number } | null;
  inflight: number;
  sentTotal: number;
  retryAt: number | null;
}

export class Sender {
  private readonly cursors = new Map<Stream, number>();
  private ready: OutboxRow[] = [];
  private readyPos = 0;
  private inflight = 0;
  /** Batches sent and not yet confirmed or failed (Transport.batchesInFlight). */
  private batches = 0;
  private generation = 0;
  private confirmed: SentRow[] = [];
  private confirmTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt: number | null = null;
  private stopped = true;
  private readonly backoff: Backoff;
  private readonly bucket: TokenBucket;
  private lastSuccessAt: number | null = null;
  private lastError: { message: string; at: number } | null = null;
  private sentTotal = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly transport: Transport,
    private readonly opts: SenderOptions,
  ) {
    this.backoff = new Backoff(opts.backoff.initialMs, opts.backoff.maxMs);
    this.bucket = new TokenBucket(opts.bandwidthBytesPerS);
  }

  start(): void {
    this.stopped = false;
    this.restart();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    this.flushConfirmed();
  }

  /** New rows were committed; `urgent` ones (alerts) jump ahead of whatever lower-priority page is buffered. */
  wake(urgent = false): void {
    if (urgent && this.readyPos < this.ready.length) this.rewindReady();
    this.schedulePump();
  }

  /** The transport (re)connected: send everything unconfirmed again, from the start of every stream. */
  onUp(): void {
    this.restart();
  }

  /** The link dropped: whatever was in flight is unconfirmed and will be sent again. */
  onDown(error: string | null): void {
    if (error) this.noteError(error);
    this.generation++;
    this.inflight = 0;
    this.batches = 0;
    this.ready = [];
    this.readyPos = 0;
  }

  status(): SenderStatus {
    return {
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      inflight: this.inflight,
      sentTotal: this.sentTotal,
      retryAt: this.retryAt,
    };
  }

  private restart(): void {
    clearTimeout(this.retryTimer);
    this.retryAt = null;
    this.generation++;
    this.inflight = 0;
    this.batches = 0;
    this.flushConfirmed();
    this.ready = [];
    this.readyPos = 0;
    this.cursors.clear();
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Puts buffered-but-unsent rows back, so the next read starts with the highest-priority stream again. */
  private rewindReady(): void {
    for (let i = this.readyPos; i < this.ready.length; i++) {
      const r = this.ready[i]!;
      const c = this.cursors.get(r.stream) ?? 0;
      if (r.seq - 1 < c) this.cursors.set(r.stream, r.seq - 1);
    }
    this.ready = [];
    this.readyPos = 0;
  }

  private refill(): boolean {
    this.ready = [];
    this.readyPos = 0;
    for (const stream of this.outbox.sendOrder) {
      const room = this.opts.pageSize - this.ready.length;
      if (room <= 0) break;
      if (this.outbox.depthOf(stream) <= 0) continue;
      let prev = this.cursors.get(stream) ?? 0;
      const rows = this.outbox.page(stream, prev, room);
      for (const r of rows) {
        // The first row after a fresh start (cursor 0) has no known predecessor: it is deleted on its own.
        if (prev > 0) r.prev = prev;
        prev = r.seq;
        this.ready.push(r);
      }
      if (rows.length > 0) this.cursors.set(stream, prev);
    }
    return this.ready.length > 0;
  }

  private pump(): void {
    const t = this.transport;
    if (this.stopped || this.retryAt !== null || !t.ready()) return;
    const gen = this.generation;
    const sentAt = new Date(this.opts.now()).toISOString();
    while (this.inflight < t.window && this.batches < t.batchesInFlight) {
      // One batch: up to the transport's size limits and what the window has room for, read on across pages.
      const room = Math.min(t.maxBatch, t.window - this.inflight);
      const rows: OutboxRow[] = [];
      let bytes = 0;
      while (rows.length < room) {
        if (this.readyPos >= this.ready.length && !this.refill()) break;
        const r = this.ready[this.readyPos]!;
        if (rows.length > 0 && bytes + r.bytes > t.maxBatchBytes) break;
        rows.push(r);
        bytes += r.bytes;
        this.readyPos++;
      }
      if (rows.length === 0) return;
      const wait = this.bucket.take(bytes);
      if (wait > 0) {
        // Given back, first when the pump resumes; they may come from two pages.
        this.ready = rows.concat(this.ready.slice(this.readyPos));
        this.readyPos = 0;
        this.waitThenPump(wait, false);
        return;
      }
      const batch: OutgoingMessage[] = [];
      const sent: SentRow[] = [];
      for (const r of rows) {
        batch.push({ seq: r.seq, id: r.id, stream: r.stream, bytes: r.bytes, payload: stampSentAt(r.body, sentAt) });
        sent.push({ seq: r.seq, stream: r.stream, bytes: r.bytes, prev: r.prev });
      }
      this.inflight += rows.length;
      this.batches++;
      t.send(batch, (outcome) => this.onOutcome(gen, sent, outcome));
      if (this.generation !== gen) return; // send() failed synchronously and reset the state
    }
  }

  private onOutcome(gen: number, rows: SentRow[], outcome: SendOutcome): void {
    const current = gen === this.generation;
    if (current) {
      this.inflight -= rows.length;
      this.batches--;
    }
    if (outcome.ok) {
      // Confirmed even if the generation moved on: the upstream has these, so they must not stay.
      for (const r of rows) this.confirmed.push(r);
      this.scheduleConfirm();
      this.lastSuccessAt = this.opts.now();
      this.backoff.reset();
      if (current) this.schedulePump();
      return;
    }
    if (!outcome.retryable) {
      try {
        this.outbox.park(rows, outcome.status ?? null, outcome.error, this.opts.now());
        this.noteError(outcome.error);
        this.opts.onRejected?.(rows.length, outcome.status, outcome.error);
      } catch (err) {
        // The database refused to park them (a full disk): thrown here, in the transport's answer, the rejection went
        // unhandled and Node ended the process, every gate with it. They stay in the outbox, behind the cursor: the
        // next failed batch or start sends them again, and they are parked then. The rows after them go on meanwhile.
        this.noteError(`${outcome.error}; parking the refused messages failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (current) this.schedulePump();
      return;
    }
    if (!current) return;
    this.noteError(outcome.error);
    this.opts.onFailure?.(outcome.error);
    this.generation++;
    this.inflight = 0;
    this.batches = 0;
    this.ready = [];
    this.readyPos = 0;
    this.cursors.clear();
    // A dropped link is retried by the transport's reconnect (onUp restarts the pump); a refused or failed
    // request on a working link waits here.
    if (this.transport.ready()) this.waitThenPump(this.backoff.next(), true);
  }

  private waitThenPump(ms: number, isRetry: boolean): void {
    clearTimeout(this.retryTimer);
    this.retryAt = this.opts.now() + ms;
    this.retryTimer = setTimeout(() => {
      this.retryAt = null;
      if (isRetry) this.flushConfirmed();
      this.pump();
    }, ms);
  }

  /**
   * Confirmed rows are deleted in batches: one commit (an fsync with synchronous=full) per 100 ms or 5000 rows
   * rather than per message. A crash in between only means those rows are sent again, with the same ids.
   */
  private scheduleConfirm(): void {
    if (this.confirmed.length >= 5000) {
      this.flushConfirmed();
      return;
    }
    // Acks that land while the transport is closing are confirmed now: the database closes right after.
    if (this.stopped) {
      this.flushConfirmed();
      return;
    }
    if (this.confirmTimer) return;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      this.flushConfirmed();
    }, 100);
  }

  private flushConfirmed(): void {
    if (this.confirmed.length === 0) return;
    const rows = this.confirmed;
    this.confirmed = [];
    try {
      this.outbox.confirm(rows);
    } catch (err) {
      // The database refuses writes (disk full): a timer's throw would end the process. The acks are kept and
      // confirmed on a later try; until then the rows stay in the outbox, and a resend is what the city dedups anyway.
      this.confirmed = rows.concat(this.confirmed);
      this.noteError(`confirming sent messages failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!this.stopped && !this.confirmTimer) {
        this.confirmTimer = setTimeout(() => {
          this.confirmTimer = undefined;
          this.flushConfirmed();
        }, 1_000);
      }
      return;
    }
    this.sentTotal += rows.length;
    if (this.opts.onSent) {
      const per = new Map<Stream, number>();
      for (const r of rows) per.set(r.stream, (per.get(r.stream) ?? 0) + 1);
      for (const [s, n] of per) this.opts.onSent(s, n);
    }
  }

  private noteError(message: string): void {
    this.lastError = { message, at: this.opts.now() };
  }
}
