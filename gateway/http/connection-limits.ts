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
 *   sending `GET /healthz` back to back ran the heap out in 10 s. So each read is looked at before Node's parser gets
 *   it, and one that starts more requests than the connection has room for closes it unparsed (a head's end followed
 *   by a request line is counted as a request: a body holding that text would be refused too). Browsers do not
 *   pipeline.
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

export type ConnectionRefusal = 'too_many' | 'too_many_from_address' | 'evicted' | 'pipelined';

/** Options for `createServer`: how long a request head and a whole request may take. */
export function serverTimeouts(cfg: HttpConfig['connections']): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = cfg.headersTimeoutS * 1000;
  // Node checks for expired heads on this interval: the timeout is only as precise as it.
  return { headersTimeout, requestTimeout: Math.max(300_000, headersTimeout + 1000), connectionsCheckingInterval: Math.min(1000, headersTimeout) };
}

const METHOD = '(?:GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|TRACE|CONNECT|PRI) ';
const FIRST_REQUEST = new RegExp(`^${METHOD}`);
const NEXT_REQUEST = new RegExp(`\\r\\n\\r\\n${METHOD}`, 'g');

/** How many requests a read starts: one at its start, and one after each head's end followed by a request line. */
function requestsStartedIn(chunk: Buffer): number {
  const text = chunk.toString('latin1');
  return (FIRST_REQUEST.test(text) ? 1 : 0) + (text.match(NEXT_REQUEST)?.length ?? 0);
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
   * Puts the check of pipelined requests in front of Node's parser: Node's own 'data' listener is taken off and called
   * from ours (adding a 'data' listener makes Node read the socket in JavaScript instead of its C++ fast path).
   */
  private guardReads(socket: Socket & { parser?: unknown }): void {
    const [parse] = socket.listeners('data') as ((chunk: Buffer) => void)[];
    if (!parse) return;
    socket.removeListener('data', parse);
    socket.on('data', (chunk: Buffer) => {
      if (!socket.parser) return; // upgraded: the websocket reads it
      const room = MAX_IN_FLIGHT - (this.inFlight.get(socket) ?? 0);
      if (requestsStartedIn(chunk) > room) {
        this.refuse('pipelined', socket.remoteAddress ?? 'unknown', { inFlight: MAX_IN_FLIGHT - room });
        socket.destroy();
        return;
      }
      parse(chunk);
    });
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
