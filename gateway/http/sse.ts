/**
 * Server-Sent Events of everything on the bus (`event: <kind>`), optionally only kinds with given prefixes
 * (`?kinds=alert.,tap.`). A comment every 15 s keeps proxies and tablets from closing an idle stream.
 *
 * One fan-out for every stream, because the LAN is not friendly:
 * - Each event is serialised once per visibility class (gateway/http/visibility.ts), not once per client: a busy gate
 *   morning times 64 consoles must not cost 64 JSON.stringify calls per tap.
 * - A client whose unsent bytes pass `maxBufferedBytes` has stopped reading (a frozen tablet, a hostile script) and is
 *   disconnected and counted; otherwise Node would buffer every event for it until the heap cap kills the gateway.
 *   The console's EventSource reconnects by itself and reloads its lists.
 * - A client's frames are written together, at most every FLUSH_MS: at a gate rush each tap is an event or two for
 *   every console, and a write per event per client (20 consoles at 1,000 taps/s: ~34,000 a second, each its own HTTP
 *   chunk and syscall) put the gateway behind its own taps (taps-large: tap → decision p50 425 ms). One write per
 *   event-loop turn still made ~20,000 a second, as each tap arrives in a turn of its own; every 25 ms it is 800, and
 *   the gateway spent 52–54 % of a core on that rush instead of 66–67 %. A person at a console cannot see 25 ms.
 * - Open streams are capped per user and in total; one over a cap gets 429 (per user) or 503 (in total) with a JSON error.
 *
 * A stream ends within `recheckMs` of its session ending (logout, expiry, the user's sessions revoked): it carries
 * children's names, so a console left open must not keep receiving them on a token that no longer signs anyone in.
 */
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { GatewayConfig } from '../../config/schema.js';
import type { EventBus, EventKind } from '../core/bus.js';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { sessionNow, sessionOf } from './guards.js';
import { parse } from './validate.js';
import { jsonFor, visibilityOf, type Visibility } from './visibility.js';
import { HeldCounts } from '../core/held-counts.js';
import { MetricFactory } from '../core/metrics.js';

export type EventStreamLimits = GatewayConfig['http']['eventStreams'];

interface Client {
  res: Response;
  /** Frames not yet written (shared with the other clients of the same visibility), and their length in characters. */
  queued: string[];
  queuedLength: number;
  username: string;
  visibility: Visibility;
  prefixes: string[];
  /** Visibility and filter: clients alike in both are sent the same frames. */
  group: string;
  valid: () => boolean;
}

export interface EventStreamDeps {
  bus: EventBus;
  limits: EventStreamLimits;
  metrics: Registry;
  log: Logger;
  pingMs?: number;
  recheckMs?: number;
}

export const streamQuery = z.object({
  kinds: z
    .string()
    .max(1000)
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(z.string().max(64)).max(32))
    .optional(),
});

/** How long a frame may wait for company before its client's frames are written (see the header). */
const FLUSH_MS = 25;

/** Drops are logged at most this often; the counter has every one. */
const DROP_LOG_INTERVAL_MS = 60_000;

export class EventStreams {
  private readonly clients = new Set<Client>();
  private readonly perUser = new HeldCounts<string>();
  private readonly dropped: Counter<'reason'>;
  private readonly refused: Counter<'reason'>;
  private readonly off: () => void;
  private readonly timers: NodeJS.Timeout[];
  private lastDropLog = { at: 0, suppressed: 0 };
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EventStreamDeps) {
    const registers = [deps.metrics];
    const m = new MetricFactory(deps.metrics);
    this.dropped = m.counter('campus_http_streams_dropped_total', 'Event streams the gateway ended, by reason (slow_client: unsent bytes passed http.eventStreams.maxBufferedBytes)', ['reason']);
    this.refused = m.counter('campus_http_streams_refused_total', 'Event streams refused, by reason (per_user, total: over http.eventStreams.perUser / .total)', ['reason']);
    const clients = this.clients;
    new Gauge({
      name: 'campus_http_streams_open',
      help: 'Event streams open now',
      registers,
      collect() {
        this.set(clients.size);
      },
    });
    this.off = deps.bus.onAny((kind, event) => this.broadcast(kind, event));
    const ping = setInterval(() => {
      for (const c of this.clients) this.send(c, ': ping\n\n');
    }, deps.pingMs ?? 15_000);
    const recheck = setInterval(() => {
      for (const c of this.clients) {
        if (c.valid()) continue;
        this.remove(c);
        c.res.end('event: session.ended\ndata: {}\n\n');
      }
    }, deps.recheckMs ?? 5_000);
    ping.unref();
    recheck.unref();
    this.timers = [ping, recheck];
  }

  /** The `GET /events/stream` handler; behind `authenticate`, so a session is there. */
  readonly handler = (req: Request, res: Response, next: NextFunction): void => {
    const { kinds } = parse(streamQuery, req.query, 'query');
    const { username, role } = sessionOf(res);
    const { perUser, total } = this.deps.limits;
    if (this.perUser.of(username) >= perUser) {
      this.refused.inc({ reason: 'per_user' });
      return next(new GatewayError('too_many_streams', `${username} already has ${perUser} live streams open (http.eventStreams.perUser); close a console tab`, 429));
    }
    if (this.clients.size >= total) {
      this.refused.inc({ reason: 'total' });
      return next(new GatewayError('too_many_streams', `the gateway already serves ${total} live streams (http.eventStreams.total); try again later`, 503));
    }
    const visibility = visibilityOf(role);
    const prefixes = kinds ?? [];
    const client: Client = {
      res, queued: [], queuedLength: 0, username, visibility, prefixes, group: `${visibility}\n${prefixes.join(',')}`,
      valid: () => sessionNow(res) !== null,
    };
    this.clients.add(client);
    this.perUser.add(username);
    res.on('close', () => this.remove(client));
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
  };

  /** Stops listening; the server closing ends the connections themselves. */
  close(): void {
    this.off();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.flushTimer);
    for (const c of [...this.clients]) this.remove(c);
  }

  private broadcast(kind: EventKind, event: unknown): void {
    if (this.clients.size === 0) return;
    // Built on first need, once per visibility class, and shared by every client of that class.
    const frames: Partial<Record<Visibility, string>> = {};
    for (const c of this.clients) {
      if (c.prefixes.length && !c.prefixes.some((p) => kind.startsWith(p))) continue;
      const frame = (frames[c.visibility] ??= `event: ${kind}\ndata: ${jsonFor(c.visibility, event)}\n\n`);
      this.send(c, frame);
    }
  }

  /**
   * Queues a frame for the next flush (one write per client, see the header). The queue counts toward the client's
   * cap, so a stalled one is dropped between flushes too.
   */
  private send(c: Client, frame: string): void {
    c.queued.push(frame);
    c.queuedLength += frame.length;
    const buffered = c.res.writableLength + c.queuedLength;
    if (buffered > this.deps.limits.maxBufferedBytes) return this.drop(c, 'slow_client', buffered);
    this.flushTimer ??= setTimeout(this.flush, FLUSH_MS);
  }

  /**
   * Clients of one group queued the same frames since the last flush (every queue empties together; a stream opened
   * in between has fewer, so the count is in the key), and they share one chunk, encoded once. Joined and encoded per
   * client, the 20 consoles of taps-large made ~17 KB of garbage per tap, over a quarter of what the gateway allocated
   * (--trace-gc: a 2 ms scavenge every 55 ms; shared, a 1 ms one every 70 ms).
   */
  private readonly flush = (): void => {
    this.flushTimer = undefined;
    const chunks = new Map<string, Buffer>();
    for (const c of this.clients) {
      if (c.queued.length === 0) continue;
      const key = `${c.group}\n${c.queued.length}`;
      let chunk = chunks.get(key);
      if (!chunk) chunks.set(key, (chunk = Buffer.from(c.queued.join(''))));
      c.queued = [];
      c.queuedLength = 0;
      c.res.write(chunk);
      // Bytes Node holds for this client: the response's own buffer and its socket's.
      const buffered = c.res.writableLength;
      if (buffered > this.deps.limits.maxBufferedBytes) this.drop(c, 'slow_client', buffered);
    }
  };

  private drop(c: Client, reason: 'slow_client', buffered: number): void {
    this.remove(c);
    this.dropped.inc({ reason });
    const now = Date.now();
    if (now - this.lastDropLog.at >= DROP_LOG_INTERVAL_MS) {
      this.deps.log.warn(
        { user: c.username, bufferedBytes: buffered, capBytes: this.deps.limits.maxBufferedBytes, alsoDroppedSinceLastLog: this.lastDropLog.suppressed },
        'event stream client stopped reading; disconnected',
      );
      this.lastDropLog = { at: now, suppressed: 0 };
    } else {
      this.lastDropLog.suppressed++;
    }
    // destroy(), not end(): end() would queue behind the megabyte the client is not reading.
    c.res.destroy();
  }

  private remove(c: Client): void {
    if (!this.clients.delete(c)) return;
    c.queued = [];
    c.queuedLength = 0;
    this.perUser.release(c.username);
  }
}
