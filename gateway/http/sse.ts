import type { Request, Response } from 'express';
import type { EventBus } from '../core/bus.js';

/**
 * Server-Sent Events of everything on the bus (`event: <kind>`), optionally only kinds with given prefixes
 * (`?kinds=alert.,tap.`). A comment every 15 s keeps proxies and tablets from closing an idle stream.
 *
 * The stream ends within `recheckMs` of its session ending (logout, expiry, the user's sessions revoked): it carries
 * children's names, so a console left open must not keep receiving them on a token that no longer signs anyone in.
 */
export function eventStream(bus: EventBus, sessionValid: (req: Request) => boolean, recheckMs = 5_000) {
  return (req: Request, res: Response): void => {
    const kindsParam = typeof req.query.kinds === 'string' ? req.query.kinds : '';
    const prefixes = kindsParam.split(',').map((s) => s.trim()).filter(Boolean);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const off = bus.onAny((kind, event) => {
      if (prefixes.length && !prefixes.some((p) => kind.startsWith(p))) return;
      res.write(`event: ${kind}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const recheck = setInterval(() => {
      if (sessionValid(req)) return;
      res.write('event: session.ended\ndata: {}\n\n');
      res.end();
    }, recheckMs);
    req.on('close', () => {
      clearInterval(ping);
      clearInterval(recheck);
      off();
    });
  };
}
