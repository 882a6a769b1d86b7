/**
 * The HTTP side of a graceful stop, run before the modules stop and the database closes (gateway/compose.ts):
 * - the listener closes, so a new connection is refused;
 * - a request already being answered gets `Connection: close` if its headers are not out yet, so a console's
 *   keep-alive connection does not send the next one here (Node keeps serving a busy connection after close());
 * - a request that still comes, on a connection that was busy, is answered 503 `unavailable` and its connection closed;
 * - the requests that may change something (anything but GET, HEAD, OPTIONS) are waited for, up to a bound: a password
 *   change or a wallet PIN hashes off the event loop before it writes, and one left running wrote to the closed
 *   database, its change lost and its caller cut off. Not one whose body is still coming when the drain begins: it has
 *   changed nothing, and a login dripped by anyone on the LAN held every stop for the whole bound;
 * - then every connection is closed: event streams, live video and reads in flight have nothing to lose.
 * Upgraded connections (MQTT over WebSocket, the flow editor's) are their owners', and stay until they stop: readers
 * still get answers. So the drain does not wait for the server's 'close', which waits for them too: with one MQTT
 * client on /mqtt the stop never got past it, and nothing after it (the modules' stops, the database) ran.
 */
import type { Server } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { GatewayError } from '../core/errors.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class HttpDrain {
  private draining = false;
  private readonly answering = new Set<Response>();
  /** The changes being answered, with their requests (whose body may still be coming). */
  private readonly changes = new Map<Response, Request>();
  private changeClosed: (() => void) | undefined;

  /** First on the app: counts the requests being answered, and refuses new ones once the drain has begun. */
  readonly middleware: RequestHandler = (req, res, next) => {
    if (this.draining) {
      res.setHeader('connection', 'close');
      return next(new GatewayError('unavailable', 'the gateway is stopping; try again in a moment', 503));
    }
    this.answering.add(res);
    if (!READS.has(req.method)) this.changes.set(res, req);
    res.once('close', () => {
      this.answering.delete(res);
      if (this.changes.delete(res)) this.changeClosed?.();
    });
    next();
  };

  /**
   * Stops taking requests, waits up to `timeoutMs` for the changes being made, then closes every HTTP connection.
   * Resolves then, not at the server's 'close' (see above).
   */
  async drain(server: Server, timeoutMs: number): Promise<void> {
    this.draining = true;
    if (server.listening) server.close();
    for (const res of this.answering) if (!res.headersSent) res.setHeader('connection', 'close');
    server.closeIdleConnections();
    const waited = new Set([...this.changes].filter(([, req]) => req.complete).map(([res]) => res));
    if (waited.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.changeClosed = () => {
            if ([...waited].every((res) => !this.changes.has(res))) resolve();
          };
        }),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    server.closeAllConnections();
  }
}
