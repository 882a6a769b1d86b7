/**
 * What one client may hold of the HTTP server (console, REST API, MQTT over WebSocket, Node-RED's editor). Who may
 * connect: anyone on the LAN, signed in or not. Each limit answers something an attacker review (2026-12-06) did:
 * - **A request head must be complete within `http.connections.headersTimeoutS`** (Node answers 408 and closes), and
 *   at most 64 header lines are kept (a browser sends ~20; the rest are parsed and dropped). Node's defaults kept a
 *   head for 60 s with up to 2,000 header lines as strings: ~14 KB on the wire was ~65 KB of heap, and ~3,000 such
 *   connections ran the production 256 MB heap out in about 6 s.
 * - **At most MAX_IN_FLIGHT requests unanswered on one connection**; past it the connection is closed. Node parses
 *   a whole read (up to 64 KiB: ~2,000 small requests) before it looks at anything, making a request and a response
 *   object for each, and the reads of a thousand connections land in one turn of the event loop: 1,024 connections
 *   sending `GET /healthz` back to back ran the heap out in 10 s. So Node's parser gets each read in slices, small
 *   (SMALL_SLICE) after a slice that made a request and doubling while they make none (a body), and the connection
 *   is closed as soon as it passes the limit: a read makes at most a slice's worth of requests more than the limit,
 *   whatever Node counts as one (a first version that looked for request lines was passed by a method it did not
 *   list and by an extra line feed between requests). Browsers do not pipeline.
 * - **Open connections capped per client address and in all.** Past the cap in all, a newcomer takes the place of
 *   a connection of the address holding the most (when it holds more than the newcomer's address
 *   would), its oldest: an attacker holding every slot from a few addresses cannot keep a console out.
 * - A websocket leaves these counts once upgraded: `/mqtt` and Node-RED's comms have caps of their own, and readers
 *   behind one NAT address would otherwise be refused past `perAddress`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import type { HttpConfig } from '../../config/schema.js';
import type { Logger } from '../core/logger.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';

/** Header lines kept per request. */
export const MAX_HEADERS = 64;
/** Requests a connection may have unanswered at once (pipelined). */
export const MAX_IN_FLIGHT = 8;
/** Bytes of a read given to Node's parser at a time after one that made a request: a few small requests at most. */
const SMALL_SLICE = 256;

export type ConnectionRefusal = 'too_many' | 'too_many_from_address' | 'evicted' | 'pipelined';

/** Options for `createServer`: how long a request head and a whole request may take. */
export function serverTimeouts(cfg: HttpConfig['connections']): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = cfg.headersTimeoutS * 1000;
  // Node checks for expired heads on this interval: the timeout is only as precise as it.
  return { headersTimeout, requestTimeout: Math.max(300_000, headersTimeout + 1000), connectionsCheckingInterval: Math.min(1000, headersTimeout) };
}

export class ConnectionLimits {
  /** Open connections by client address, oldest first. */
  private readonly byAddress = new Map<string, Set<Socket>>();
  private readonly addressOf = new WeakMap<Socket, string>();
  private readonly inFlight = new WeakMap<Socket, number>();
  private open = 0;
  private readonly warn: RateLimitedLog;

  constructor(
    private readonly cfg: HttpConfig['connections'],
    private readonly deps: { refused: Counter<'reason'>; log: Logger },
  ) {
    this.warn = new RateLimitedLog(deps.log, () => Date.now());
  }

  attach(server: Server): void {
    server.maxHeadersCount = MAX_HEADERS;
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('upgrade', (_req: IncomingMessage, socket: Socket) => this.release(socket));
  }

  /** The server's request handler, behind the limit on requests in flight per connection. */
  handler(next: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const socket = req.socket;
      if (socket.destroyed) return; // the rest of a slice after the limit closed it
      const n = (this.inFlight.get(socket) ?? 0) + 1;
      if (n > MAX_IN_FLIGHT) {
        this.refuse('pipelined', socket.remoteAddress ?? 'unknown', { inFlight: n - 1 });
        socket.destroy();
        return;
      }
      this.inFlight.set(socket, n);
      res.once('close', () => this.inFlight.set(socket, (this.inFlight.get(socket) ?? 1) - 1));
      next(req, res);
    };
  }

  /**
   * Feeds Node's parser each read in slices (see MAX_IN_FLIGHT above): Node's own 'data' listener is taken off and
   * called from ours (adding a 'data' listener makes Node read the socket in JavaScript instead of its C++ fast path).
   */
  private guardReads(socket: Socket & { parser?: unknown; _paused?: boolean }): void {
    const [parse] = socket.listeners('data') as ((chunk: Buffer) => void)[];
    if (!parse) return;
    socket.removeListener('data', parse);
    const onData = (chunk: Buffer): void => {
      let slice = SMALL_SLICE;
      for (let at = 0; at < chunk.length; ) {
        if (socket.destroyed) return;
        if (!socket.parser) {
          // Upgraded by the slice before: the rest of this read is the websocket's, after the head its handler got
          // (which it puts back at the front) and before anything read later (which comes at the end).
          socket.removeListener('data', onData);
          socket.push(chunk.subarray(at));
          return;
        }
        if (socket._paused) {
          // Node stopped reading until the client takes the answers waiting for it (and asserts that it gets no data
          // meanwhile: fed on, a read of pipelined large answers took the process down). The rest waits with it.
          const rest = chunk.subarray(at);
          socket.once('resume', () => onData(rest));
          return;
        }
        const before = this.inFlight.get(socket) ?? 0;
        const part = chunk.subarray(at, at + slice);
        at += part.length;
        parse(part);
        slice = (this.inFlight.get(socket) ?? 0) > before ? SMALL_SLICE : Math.min(2 * slice, 64 * 1024);
      }
      if (!socket.parser) socket.removeListener('data', onData); // upgraded by this read's last slice
    };
    socket.on('data', onData);
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const mine = this.byAddress.get(address)?.size ?? 0;
    if (mine >= this.cfg.perAddress) return this.close(socket, 'too_many_from_address', address, mine);
    if (this.open >= this.cfg.max && !this.evictFor(mine)) return this.close(socket, 'too_many', address, mine);
    this.open++;
    this.addressOf.set(socket, address);
    let set = this.byAddress.get(address);
    if (!set) this.byAddress.set(address, (set = new Set()));
    set.add(socket);
    socket.once('close', () => this.release(socket));
    this.guardReads(socket);
  }

  /** Frees a slot from the address holding the most, when it holds more than `mine` + 1; false when none is fairer. */
  private evictFor(mine: number): boolean {
    let largest: Set<Socket> | undefined;
    let largestAddress = '';
    for (const [address, set] of this.byAddress) {
      if (!largest || set.size > largest.size) [largest, largestAddress] = [set, address];
    }
    if (!largest || largest.size <= mine + 1) return false;
    const victim = largest.values().next().value!; // its oldest: the likeliest to be idle
    this.refuse('evicted', largestAddress, { held: largest.size });
    this.release(victim);
    victim.destroy();
    return true;
  }

  /** Takes a connection out of the counts (closed, or upgraded to a websocket with caps of its own). */
  private release(socket: Socket): void {
    const address = this.addressOf.get(socket);
    if (address === undefined) return;
    this.addressOf.delete(socket);
    this.open--;
    const set = this.byAddress.get(address);
    set?.delete(socket);
    if (set?.size === 0) this.byAddress.delete(address);
  }

  private close(socket: Socket, reason: ConnectionRefusal, address: string, fromAddress: number): void {
    this.refuse(reason, address, { open: this.open, fromAddress });
    socket.destroy();
  }

  private refuse(reason: ConnectionRefusal, address: string, fields: Record<string, unknown>): void {
    this.deps.refused.inc({ reason });
    // Past the cap in all, one line for every address at once: a flood from many addresses is one story.
    this.warn.warn(reason === 'too_many' ? reason : `${reason} ${address}`, { address, reason, ...fields }, 'refused an HTTP connection');
  }
}
