import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { Counter, Histogram, type Registry } from 'prom-client';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { GatewayConfig } from '../../config/schema.js';
import type { UserStore } from '../auth/users.js';
import type { EventBus } from '../core/bus.js';
import type { Logger } from '../core/logger.js';
import { GatewayError } from '../core/errors.js';
import type { EmbeddedBroker } from '../broker/broker.js';
import { loginRoute, sessionRoutes } from './auth-routes.js';
import { ConnectionLimits, serverTimeouts } from './connection-limits.js';
import { HttpDrain } from './drain.js';
import { authenticate, guards, loggableUrl, type Guards } from './guards.js';
import { EventStreams } from './sse.js';
import { pathOf, UpgradeGate } from './upgrade-gate.js';

export type { ComponentReport, HealthReport } from './health-report.js';
import type { ComponentReport, HealthReport } from './health-report.js';

/** A module's own health as /healthz reports it: a disabled component is never counted against the gateway. */
export function componentReport(c: {
  ok: boolean;
  detail?: string | undefined;
  code?: string | undefined;
  params?: Record<string, string | number> | undefined;
  warning?: string | undefined;
  disabled?: boolean | undefined;
}): ComponentReport {
  const status = c.disabled ? 'disabled' : c.ok ? 'ok' : 'degraded';
  return {
    ok: c.ok || status === 'disabled',
    status,
    ...(c.detail !== undefined ? { detail: c.detail } : {}),
    ...(c.code !== undefined ? { code: c.code } : {}),
    ...(c.params !== undefined ? { params: c.params } : {}),
    ...(c.warning !== undefined ? { warning: c.warning } : {}),
  };
}

/** What the HTTP layer lends a module's mount. */
export interface MountShared {
  /** Login attempts per client address (http.loginRateLimit): one count for every login form on the server. */
  loginLimiter: RequestHandler;
  /** Claims a path for websocket upgrades (a prefix when it ends in '/'); others are refused (upgrade-gate.ts). */
  claimUpgrade(path: string): void;
}

/** What the HTTP layer needs of a module (gateway/module/context.ts `GatewayModule` extends it). */
export interface HttpModule {
  readonly name: string;
  /** Mounts outside /api/v1 (the console at /, Node-RED at /flows); runs before the HTTP server listens. */
  mount?(app: Express, server: Server, shared: MountShared): void | Promise<void>;
  /** Routes mounted under /api/v1, behind authentication. */
  routes?(api: Router, guards: Guards): void;
}

/** The part of the gateway context the HTTP layer uses: it sits below the modules and imports none of them. */
export interface HttpContext {
  config: GatewayConfig;
  log: Logger;
  bus: EventBus;
  users: UserStore;
  metrics: Registry;
}

export interface HttpDeps {
  ctx: HttpContext;
  /** The modules' routes and mounts, in order (compose.ts puts the alerts routes first). */
  modules: HttpModule[];
  broker: EmbeddedBroker;
  health: () => HealthReport;
  /** The OpenAPI document of /api/v1 (gateway/api-catalogue.ts), served at /api/v1/openapi.json. */
  apiDocument: object;
}

function requestMetrics(registry: Registry): express.RequestHandler {
  const requests = new Counter({
    name: 'campus_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'campus_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2],
    registers: [registry],
  });
  return (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      // The matched route pattern, not the URL, so ids do not explode the label set.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      end({ method: req.method, route });
    });
    next();
  };
}

export interface Http {
  app: Express;
  server: Server;
  /** The HTTP side of a graceful stop (drain.ts): refuses new requests, finishes changes in flight, closes the listener and HTTP connections. */
  drain(timeoutMs: number): Promise<void>;
}

export async function createHttp(deps: HttpDeps): Promise<Http> {
  const { ctx, modules, broker } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const limits = new ConnectionLimits(ctx.config.http.connections, {
    refused: new Counter({
      name: 'campus_http_connections_refused_total',
      help: 'HTTP connections closed by the limits, by reason (too_many, too_many_from_address, evicted, pipelined)',
      labelNames: ['reason'],
      registers: [ctx.metrics],
    }),
    log: ctx.log,
  });
  const server = createServer(serverTimeouts(ctx.config.http.connections), limits.handler(app));
  limits.attach(server);
  const drain = new HttpDrain();

  app.use(drain.middleware);
  app.use(requestMetrics(ctx.metrics));
  app.get('/healthz', (_req, res) => {
    const h = deps.health();
    res.status(h.status === 'ok' ? 200 : 503).json(h);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.contentType).send(await ctx.metrics.metrics());
  });

  const api = express.Router();
  const limiter = rateLimit({
    windowMs: ctx.config.http.loginRateLimit.windowS * 1000,
    limit: ctx.config.http.loginRateLimit.max,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new GatewayError('rate_limited', 'too many login attempts; wait and try again')),
  });
  const school = { id: ctx.config.school.id, name: ctx.config.school.name, timezone: ctx.config.school.timezone };
  loginRoute(api, ctx.users, limiter, school);
  // Public like the login: it describes the API (the same text as docs/openapi.json in the source), no data.
  const apiDocument = JSON.stringify(deps.apiDocument);
  api.get('/openapi.json', (_req, res) => {
    res.type('json').send(apiDocument);
  });
  api.use(authenticate(ctx.users));
  // Bodies are read only once the request is signed in: parsing is synchronous (2 MB of nested brackets held the
  // event loop ~250 ms), and an unsigned request from anywhere on the LAN must not stall the gates. The largest JSON
  // a route takes (500 map pins, 500 alert ids) is ~50 KB; files (rosters, floor plans) come raw, with their own caps.
  api.use(express.json({ limit: '512kb' }));
  sessionRoutes(api, ctx.users, limiter, school);
  const streams = new EventStreams({
    bus: ctx.bus,
    limits: ctx.config.http.eventStreams,
    metrics: ctx.metrics,
    log: ctx.log.child({ component: 'event-stream' }),
  });
  server.on('close', () => streams.close());
  api.get('/events/stream', streams.handler);
  for (const m of modules) m.routes?.(api, guards);
  app.use('/api/v1', api);

  const gate = new UpgradeGate({
    refused: new Counter({ name: 'campus_http_upgrades_refused_total', help: 'Websocket upgrades refused, by reason (not_found, not_origin_form)', labelNames: ['reason'], registers: [ctx.metrics] }),
    log: ctx.log,
  });
  gate.attach(server);
  const shared: MountShared = { loginLimiter: limiter, claimUpgrade: (path) => gate.claim(path) };
  for (const m of modules) await m.mount?.(app, server, shared);

  app.use((_req, _res, next) => next(new GatewayError('not_found', 'no such route')));
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    if (err instanceof GatewayError) {
      ({ status, code, message } = err);
    } else if (isHttpError(err) && err.status < 500) {
      // body-parser: malformed JSON, too large, wrong charset
      status = err.status;
      code = err.status === 413 ? 'payload_too_large' : 'bad_request';
      message = err.type === 'entity.parse.failed' ? 'body: malformed JSON' : err.message;
    } else {
      // The console's EventSource carries its token in the URL: never into the log.
      ctx.log.error({ err, method: req.method, url: loggableUrl(req.originalUrl) }, 'request failed');
    }
    if (res.headersSent) return;
    // Answered before its body was read (refused unsigned, too large): the connection closes once the answer is out,
    // instead of Node reading the rest for as long as the client drips it, holding a connection slot all that time.
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.complete) {
      res.setHeader('connection', 'close');
      res.once('finish', () => req.socket.destroySoon());
    }
    res.status(status).json({ error: { code, message } });
  };
  app.use(onError);

  if (ctx.config.mqtt.websocket) {
    // A frame is buffered whole before the broker sees a byte of it: no larger than the largest packet allowed.
    const wss = new WebSocketServer({ noServer: true, maxPayload: broker.maxFrameBytes });
    gate.claim('/mqtt');
    server.on('upgrade', (req, socket, head) => {
      if (pathOf(req.url) !== '/mqtt') return; // other upgrades (Node-RED's editor) have their own listeners
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        broker.handle(stream, req);
      });
    });
    server.on('close', () => wss.close());
  }
  return { app, server, drain: (timeoutMs) => drain.drain(server, timeoutMs) };
}

function isHttpError(err: unknown): err is { status: number; type?: string; message: string } {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
