/**
 * Serves the security console (the browser UI built from console/ into dist/console) at `/`.
 * The UI is a single-page app with path routes (`/alerts`, `/cameras/cam-1`), so a GET for a page path
 * answers index.html; paths owned by other parts of the gateway are never swallowed by that fallback.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Counter } from 'prom-client';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import { packageInfo } from '../core/version.js';

/** Prefixes that belong to the API, Node-RED, MQTT over WebSocket and the probes: never answered with the console. */
export const RESERVED_PREFIXES = ['/api', '/flows', '/flows-api', '/mqtt', '/healthz', '/metrics'] as const;

export function isReservedPath(path: string): boolean {
  return RESERVED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/** Where `npm run build` puts the console (tsc for the scripts, gateway/console/copy-static for the rest). */
export function defaultConsoleDir(): string {
  return join(packageInfo().root, 'dist', 'console');
}

export interface ConsoleOptions {
  /** The built console; defaults to dist/console under the package root. */
  dir?: string;
}

// The console loads only its own files: no CDN, no inline script, so an injected string cannot run.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  // Live video plays from a MediaSource object URL (blob:); clips come from the gateway itself.
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'self'",
].join('; ');

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The security console has not been built</h1>
<p>控制台尚未构建。콘솔이 아직 빌드되지 않았습니다.</p>
<p>Run <code>npm run build</code> in the gateway's directory, then reload this page.
The API (<code>/api/v1</code>), <code>/healthz</code> and <code>/metrics</code> work without it.</p>
</body></html>`;

/** Needs only the logger and the metrics registry of the context, so a test can mount it on a bare app. */
export function createConsoleModule(ctx: Pick<GatewayContext, 'log' | 'metrics'>, opts: ConsoleOptions = {}): GatewayModule {
  const dir = opts.dir ?? defaultConsoleDir();
  const index = join(dir, 'index.html');
  const notBuilt = new Counter({
    name: 'campus_console_not_built_total',
    help: 'Console page requests answered 503 because dist/console is missing',
    registers: [ctx.metrics],
  });
  const log = ctx.log.child({ component: 'console' });
  let warned = false;

  const securityHeaders = (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    next();
  };

  /** A page path (no file extension) that a browser asks for as HTML: answer the app shell. */
  const spaFallback = (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (isReservedPath(req.path)) return next();
    // A missing asset (`/pages/x.js`) must stay a 404, not turn into HTML the browser then fails to parse.
    if (/\.[A-Za-z0-9]+$/.test(req.path)) return next();
    if (!req.accepts('html')) return next();
    if (!existsSync(index)) {
      notBuilt.inc();
      if (!warned) {
        warned = true;
        log.warn({ dir }, 'console not built: run `npm run build`');
      }
      res.status(503).type('html').setHeader('cache-control', 'no-store').send(NOT_BUILT_PAGE);
      return;
    }
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  };

  const staticFiles = express.static(dir, {
    index: false, // `/` goes through the fallback, so the not-built page and headers are the same everywhere
    fallthrough: true,
    // Files keep their names across versions (no bundler hashes), so the browser revalidates by ETag each time.
    setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
  });

  return {
    name: 'console',
    mount(app: Express) {
      app.use((req, res, next) => {
        if (isReservedPath(req.path)) return next();
        securityHeaders(req, res, () => {
          staticFiles(req, res, (err?: unknown) => (err ? next(err) : spaFallback(req, res, next)));
        });
      });
    },
    health(): ComponentHealth {
      // Not built is not a gateway fault: the API and devices work; the detail tells IT what to do.
      return existsSync(index) ? { ok: true } : { ok: true, detail: 'console not built: run `npm run build`', code: 'console_not_built' };
    },
  };
}
