/**
 * The durable outbox: every envelope for the city is a row here first, written in the same SQLite transaction
 * as the event that causes it, and deleted only after the transport confirmed delivery. It is the source of
 * truth across outages and restarts (mqtt.js's own in-memory store is never relied on).
 */
import { monotonicFactory } from 'ulid';
import type { Database, Migration } from '../gateway/storage/db.js';
import { CONTRACT_VERSION, messageTypes, type DataOf, type MessageType, type Stream } from './contract.js';

export const outboxMigrations: Migration[] = [
  {
    version: 50,
    name: 'cloud outbox',
    up: `
      CREATE TABLE cloud_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        stream TEXT NOT NULL,
        body TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      );
      CREATE INDEX cloud_outbox_stream ON cloud_outbox (stream, seq);
      CREATE INDEX cloud_outbox_expiry ON cloud_outbox (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE cloud_counters (
        name TEXT NOT NULL,
        stream TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (name, stream)
      );`,
  },
  {
    version: 51,
    name: 'cloud parked',
    up: `
      CREATE TABLE cloud_parked (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        stream TEXT NOT NULL,
        body TEXT NOT NULL,
        status INTEGER,
        error TEXT NOT NULL,
        parked_at INTEGER NOT NULL
      );`,
  },
];

/** How long refused rows are kept for inspection, and at most how many. */
export const PARKED_KEEP_MS = 30 * 24 * 3_600_000;
export const PARKED_MAX_ROWS = 10_000;

/** A row as the sender sees it. */
export interface OutboxRow {
  seq: number;
  id: string;
  stream: Stream;
  /** The envelope's JSON without `sentAt`, which is stamped on each send. */
  body: string;
  bytes: number;
  /**
   * The seq of the row before this one in its stream when it was read (the reader sets it). Rows linked this
   * way have no other row of their stream between them, so a run of them can be deleted as one range.
   */
  prev?: number;
}

/**
 * What the sender keeps of a row once it is sent, until the city confirms or refuses it: enough to delete or park
 * it, without its body. With 2,000 in flight and up to 5,000 acknowledged rows waiting for their delete, the bodies
 * would be megabytes that outlive every young-generation collection (the drain's garbage collector was 44 % of its CPU).
 */
export type SentRow = Pick<OutboxRow, 'seq' | 'stream' | 'bytes' | 'prev'>;

export type DropReason = 'expired' | 'overflow';

export interface OutboxOptions {
  schoolId: string;
  maxBytes: number;
  /** Stream priorities: lower sends first, the highest number is dropped first on overflow. */
  priority: Record<Stream, number>;
  /** Per-stream TTL in ms; 0 = none. */
  ttlMs: Record<Stream, number>;
  onDrop?: (reason: DropReason, stream: Stream, rows: number) => void;
}

export interface OutboxStats {
  depth: Record<Stream, number>;
  bytes: number;
  maxBytes: number;
  dropped: Record<DropReason, Record<Stream, number>>;
  parked: number;
}

const zeroPerStream = (): Record<Stream, number> => ({ alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: 0 });

export class Outbox {
  private readonly ulid = monotonicFactory();
  private readonly depth = zeroPerStream();
  private bytes = 0;
  /** Streams from the first dropped to the last (lowest priority first). */
  readonly dropOrder: Stream[];
  /** Streams in send order (highest priority first). */
  readonly sendOrder: Stream[];
  private readonly stmts;

  constructor(
    private readonly db: Database,
    private readonly opts: OutboxOptions,
  ) {
    this.sendOrder = (Object.keys(opts.priority) as Stream[]).sort((a, b) => opts.priority[a] - opts.priority[b]);
    this.dropOrder = [...this.sendOrder].reverse();
    this.stmts = {
      insert: db.prepare('INSERT INTO cloud_outbox (id, stream, body, bytes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
      page: db.prepare('SELECT seq, id, stream, body, bytes FROM cloud_outbox WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?'),
      del: db.prepare('DELETE FROM cloud_outbox WHERE seq = ?'),
      delRange: db.prepare('DELETE FROM cloud_outbox WHERE stream = ? AND seq BETWEEN ? AND ?'),
      oldest: db.prepare('SELECT seq, bytes FROM cloud_outbox WHERE stream = ? ORDER BY seq LIMIT ?'),
      expiredByStream: db.prepare(
        'SELECT stream, COUNT(*) AS n, SUM(bytes) AS b FROM cloud_outbox WHERE expires_at IS NOT NULL AND expires_at <= ? GROUP BY stream',
      ),
      deleteExpired: db.prepare('DELETE FROM cloud_outbox WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      count: db.prepare(
        `INSERT INTO cloud_counters (name, stream, value) VALUES (?, ?, ?)
         ON CONFLICT (name, stream) DO UPDATE SET value = value + excluded.value`,
      ),
      counters: db.prepare('SELECT name, stream, value FROM cloud_counters'),
      park: db.prepare(
        `INSERT OR REPLACE INTO cloud_parked (seq, id, stream, body, status, error, parked_at)
         SELECT seq, id, stream, body, ?, ?, ? FROM cloud_outbox WHERE seq = ?`,
      ),
      parkedCount: db.prepare('SELECT COUNT(*) AS n FROM cloud_parked'),
      parkedExpire: db.prepare('DELETE FROM cloud_parked WHERE parked_at < ?'),
      parkedOverCap: db.prepare(
        'DELETE FROM cloud_parked WHERE seq IN (SELECT seq FROM cloud_parked ORDER BY parked_at, seq LIMIT max(0, (SELECT COUNT(*) FROM cloud_parked) - ?))',
      ),
    };
    this.reconcile();
  }

  /**
   * Adds an envelope. Call it inside the transaction of the event that causes it (it runs its own
   * statements on `db`, so it commits or rolls back with the caller). Returns the envelope id.
   */
  enqueue<T extends MessageType>(type: T, data: DataOf<T>, occurredAt: number, now: number): string {
    const stream = messageTypes[type].stream as Stream;
    const id = this.ulid(now);
    const body = JSON.stringify({
      id,
      schemaVersion: CONTRACT_VERSION,
      schoolId: this.opts.schoolId,
      stream,
      type,
      occurredAt: new Date(occurredAt).toISOString(),
      data,
    });
    const bytes = Buffer.byteLength(body);
    const ttl = this.opts.ttlMs[stream];
    this.stmts.insert.run(id, stream, body, bytes, now, ttl > 0 ? now + ttl : null);
    this.depth[stream]++;
    this.bytes += bytes;
    if (this.bytes > this.opts.maxBytes) this.enforceCap();
    return id;
  }

  /** Rows of one stream after `afterSeq`, in order. */
  page(stream: Stream, afterSeq: number, limit: number): OutboxRow[] {
    return this.stmts.page.all(stream, afterSeq, limit) as OutboxRow[];
  }

  /**
   * Deletes delivered rows (one transaction). Runs of rows read one after the other in a stream go as one range
   * delete, which is what keeps draining a large backlog fast. Rows already gone (dropped meanwhile) are skipped.
   */
  confirm(rows: readonly SentRow[]): void {
    if (rows.length === 0) return;
    const byStream = new Map<Stream, SentRow[]>();
    for (const r of rows) {
      let list = byStream.get(r.stream);
      if (!list) byStream.set(r.stream, (list = []));
      list.push(r);
    }
    this.db.transaction(() => {
      for (const [stream, list] of byStream) {
        list.sort((a, b) => a.seq - b.seq);
        let i = 0;
        while (i < list.length) {
          let j = i;
          let bytes = list[i]!.bytes;
          while (j + 1 < list.length && list[j + 1]!.prev === list[j]!.seq) bytes += list[++j]!.bytes;
          const n = j - i + 1;
          const changes = n === 1 ? this.stmts.del.run(list[i]!.seq).changes : this.stmts.delRange.run(stream, list[i]!.seq, list[j]!.seq).changes;
          this.depth[stream] -= changes;
          // Rows dropped meanwhile were already subtracted; the next reconcile corrects the estimate.
          this.bytes -= changes === n ? bytes : Math.round((bytes * changes) / n);
          i = j + 1;
        }
      }
    })();
  }

  /** Moves rows the upstream refused (4xx) out of the outbox into cloud_parked, where they stay for inspection. */
  park(rows: readonly SentRow[], status: number | null, error: string, now: number): void {
    this.db.transaction(() => {
      let n = 0;
      for (const r of rows) {
        this.stmts.park.run(status, error.slice(0, 500), now, r.seq);
        if (this.stmts.del.run(r.seq).changes > 0) {
          this.depth[r.stream]--;
          this.bytes -= r.bytes;
          n++;
        }
      }
      if (n > 0) this.stmts.count.run('rejected', '*', n);
    })();
  }

  /**
   * Drops rows whose stream TTL passed; returns how many per stream. Parked rows go too after PARKED_KEEP_MS, and
   * past PARKED_MAX_ROWS the oldest: a city refusing every batch (a 413 from a proxy) would otherwise grow the table
   * for ever, holding alerts' personal data past their retention. Their count (`rejected`) stays.
   */
  expire(now: number): Record<Stream, number> {
    const out = zeroPerStream();
    this.db.transaction(() => {
      this.stmts.parkedExpire.run(now - PARKED_KEEP_MS);
      this.stmts.parkedOverCap.run(PARKED_MAX_ROWS);
      const rows = this.stmts.expiredByStream.all(now) as { stream: Stream; n: number; b: number }[];
      if (rows.length === 0) return;
      this.stmts.deleteExpired.run(now);
      for (const r of rows) {
        out[r.stream] = r.n;
        this.depth[r.stream] -= r.n;
        this.bytes -= r.b;
        this.stmts.count.run('expired', r.stream, r.n);
      }
    })();
    for (const s of this.sendOrder) if (out[s] > 0) this.opts.onDrop?.('expired', s, out[s]);
    return out;
  }

  /**
   * The overflow policy: while over the byte cap, drop the oldest rows of the lowest-priority stream that still has rows.
   * Runs inside the caller's transaction when called from enqueue.
   */
  enforceCap(cap = this.opts.maxBytes): void {
    const dropped = zeroPerStream();
    for (const stream of this.dropOrder) {
      while (this.bytes > cap && this.depth[stream] > 0) {
        const victims = this.stmts.oldest.all(stream, 256) as { seq: number; bytes: number }[];
        if (victims.length === 0) {
          this.depth[stream] = 0;
          break;
        }
        for (const v of victims) {
          if (this.bytes <= cap) break;
          this.stmts.del.run(v.seq);
          this.bytes -= v.bytes;
          this.depth[stream]--;
          dropped[stream]++;
        }
      }
      if (this.bytes <= cap) break;
    }
    for (const s of this.sendOrder) {
      if (dropped[s] > 0) {
        this.stmts.count.run('overflow', s, dropped[s]);
        this.opts.onDrop?.('overflow', s, dropped[s]);
      }
    }
  }

  /**
   * Drops about `bytes` of queued rows by the overflow policy (lowest-priority stream first, oldest first), counted
   * as overflow: the disk guard's last resort when the disk is critical. Returns what went.
   */
  shed(bytes: number): { rows: number; bytes: number } {
    const rows = this.total();
    const before = this.bytes;
    if (bytes <= 0 || before === 0) return { rows: 0, bytes: 0 };
    this.db.transaction(() => this.enforceCap(Math.max(0, before - bytes)))();
    return { rows: rows - this.total(), bytes: before - this.bytes };
  }

  /** Recounts depth and bytes from the table (the in-memory figures can drift if a caller's transaction rolled back). */
  reconcile(): void {
    const rows = this.db.prepare('SELECT stream, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM cloud_outbox GROUP BY stream').all() as {
      stream: Stream;
      n: number;
      b: number;
    }[];
    Object.assign(this.depth, zeroPerStream());
    this.bytes = 0;
    for (const r of rows) {
      if (r.stream in this.depth) this.depth[r.stream] = r.n;
      this.bytes += r.b;
    }
  }

  total(): number {
    let n = 0;
    for (const s of this.sendOrder) n += this.depth[s];
    return n;
  }

  depthOf(stream: Stream): number {
    return this.depth[stream];
  }

  stats(): OutboxStats {
    const dropped: OutboxStats['dropped'] = { expired: zeroPerStream(), overflow: zeroPerStream() };
    let parked = 0;
    for (const c of this.stmts.counters.all() as { name: string; stream: string; value: number }[]) {
      if (c.name === 'rejected') parked = c.value;
      else if ((c.name === 'expired' || c.name === 'overflow') && c.stream in dropped[c.name]) dropped[c.name][c.stream as Stream] = c.value;
    }
    return { depth: { ...this.depth }, bytes: this.bytes, maxBytes: this.opts.maxBytes, dropped, parked };
  }

  parkedRows(): number {
    return (this.stmts.parkedCount.get() as { n: number }).n;
  }
}

/** The envelope as sent: the stored body with this send's `sentAt` (a resend keeps the id, only sentAt differs). */
export function stampSentAt(body: string, sentAtIso: string): string {
  return `${body.slice(0, -1)},"sentAt":"${sentAtIso}"}`;
}
