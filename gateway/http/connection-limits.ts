/**
 * What one client may hold of the HTTP server (console, REST API, MQTT over WebSocket, Node-RED's editor) before and
 * between its requests. Who may connect: anyone on the LAN, signed in or not.
 *
 * Node's defaults let a client that never finishes its request head keep it for 60 s, with up to 2,000 header lines
 * each kept as its own string: ~14 KB on the wire became ~65 KB of heap, and ~3,000 such connections ran the
 * production 256 MB heap out in about 6 s (an attacker review, 2026-12-06). So:
 * - a request head must be complete within `http.connections.headersTimeoutS` (Node answers 408 and closes);
 * - at most 64 header lines are kept (a browser sends ~20; the rest are parsed and dropped, never held);
 * - open connections are capped in all and per client address; more are closed as they open, counted and logged.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import type { HttpConfig } from '../../config/schema.js';
import { HeldCounts } from '../core/held-counts.js';
import type { Logger } from '../core/logger.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';

/** Header lines kept per request. */
export const MAX_HEADERS = 64;

export type ConnectionRefusal = 'too_many' | 'too_many_from_address';

/** Options for `createServer`: how long a request head and a whole request may take. */
export function serverTimeouts(cfg: HttpConfig['connections']): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = cfg.headersTimeoutS * 1000;
  // Node checks for expired heads on this interval: the timeout is only as precise as it.
  return { headersTimeout, requestTimeout: Math.max(300_000, headersTimeout + 1000), connectionsCheckingInterval: Math.min(1000, headersTimeout) };
}

export function limitConnections(server: Server, cfg: HttpConfig['connections'], deps: { refused: Counter<'reason'>; log: Logger }): void {
  server.maxHeadersCount = MAX_HEADERS;
  const byAddress = new HeldCounts<string>();
  let open = 0;
  const warn = new RateLimitedLog(deps.log, () => Date.now());
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = byAddress.of(address);
    const reason: ConnectionRefusal | null = open >= cfg.max ? 'too_many' : fromAddress >= cfg.perAddress ? 'too_many_from_address' : null;
    if (reason) {
      deps.refused.inc({ reason });
      // Past the cap in all, one line for every address at once: a flood from many addresses is one story.
      warn.warn(reason === 'too_many' ? reason : `${reason} ${address}`, { address, reason, open, fromAddress }, 'refused an HTTP connection');
      socket.destroy();
      return;
    }
    open++;
    byAddress.add(address);
    socket.once('close', () => {
      open--;
      byAddress.release(address);
    });
  });
}
