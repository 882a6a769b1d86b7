/**
 * What happens to a websocket upgrade before any module sees it. Who may send one: anyone on the LAN, signed in or not.
 *
 * - **An error on the socket cannot take the gateway down.** Node's HTTP server takes its own 'error' listener off a
 *   socket before it emits 'upgrade', so a client that asked to upgrade and then reset the connection raised an
 *   'error' nobody listened for, and the process exited: for a path nobody serves, or while Node-RED was still checking
 *   a bearer header.
 * - **Only the paths a module claimed are served** (`/mqtt`, Node-RED's `/flows/comms` and its flows' websocket nodes
 *   under `/flows-api/`); any other upgrade gets 404 and is closed, instead of staying open for as long as the client
 *   likes with nobody reading it.
 * - **Only origin-form targets** (`/path?query`). Node accepts `GET http://host/flows/comms`, and Node-RED, reading it
 *   with `url.parse`, served it as its comms path while the gateway's watch on that path (node-red/editor-sockets.ts)
 *   read the whole URL and never saw it. No browser sends that form to the server it talks to.
 *
 * The gate listens first (`prependListener`), so a socket it closes is closed when the others get the event (ws
 * checks for that before it answers a handshake), and the target they read is '/'.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Counter } from 'prom-client';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { Logger } from '../core/logger.js';
import { loggableUrl } from './guards.js';

/** The path of an origin-form target as Node-RED's comms reads it (`url.parse(url).pathname`): up to `?` or `#`, backslashes as slashes. */
export function pathOf(url: string | undefined): string {
  return (url ?? '').split(/[?#]/)[0]!.replace(/\\/g, '/');
}

export type UpgradeRefusal = 'not_found' | 'not_origin_form';

/** Answers an upgrade request with an HTTP error and closes the socket once the answer is out. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  // Not writable from here on, which ws checks before it answers a handshake.
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

export class UpgradeGate {
  /** Exact paths, and prefixes (ending in '/'). */
  private readonly claimed = new Set<string>();
  private readonly warn: RateLimitedLog;

  constructor(private readonly deps: { refused: Counter<'reason'>; log: Logger }) {
    this.warn = new RateLimitedLog(deps.log, () => Date.now());
  }

  /** A path a module serves upgrades on; one ending in '/' claims everything under it. */
  claim(path: string): void {
    this.claimed.add(path);
  }

  attach(server: Server): void {
    server.prependListener('upgrade', this.onUpgrade);
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex): void => {
    socket.on('error', () => socket.destroy());
    const target = req.url ?? '';
    if (!target.startsWith('/')) return this.refuse(req, socket, 'not_origin_form', 400, 'Bad Request');
    if (!this.served(pathOf(target))) return this.refuse(req, socket, 'not_found', 404, 'Not Found');
  };

  private served(path: string): boolean {
    if (this.claimed.has(path)) return true;
    for (const p of this.claimed) if (p.endsWith('/') && path.startsWith(p)) return true;
    return false;
  }

  private refuse(req: IncomingMessage, socket: Duplex, reason: UpgradeRefusal, status: number, text: string): void {
    this.deps.refused.inc({ reason });
    const address = req.socket.remoteAddress ?? 'unknown';
    // The console's stream URLs carry a bearer token (`access_token`), which the log never holds.
    this.warn.warn(`${reason} ${address}`, { address, reason, target: loggableUrl(req.url ?? '').slice(0, 200) }, 'refused a websocket upgrade');
    // The other listeners get this request after the gate, and read its target: Node-RED's with `url.parse`, which
    // throws on some (`//%zz@x`). They read one that names nothing any of them serves.
    req.url = '/';
    refuseUpgrade(socket, status, text);
  }
}
