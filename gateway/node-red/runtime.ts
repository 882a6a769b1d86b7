/**
 * The typed surface of the `node-red` package that the gateway uses, and the once-per-process guard.
 *
 * Node-RED keeps its runtime in module-level state (`require('node-red')` is a process singleton): a second
 * init/start in the same process runs every node twice (node-red#741) and a stop/start cycle breaks the editor's
 * websocket (#743). So the guard below is the one deliberate module-level variable in the gateway: the first
 * gateway in a process claims Node-RED for good; any later one (a test starting a second gateway, a restart
 * inside the same process) runs without it and logs why. To restart Node-RED, restart the process.
 */
import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';

export interface NodeRedLogMessage {
  level: number;
  msg?: unknown;
  type?: string;
  id?: string;
  name?: string;
  /** Audit entries (level 98): `auth.login`, `flows.set`, … with their own fields. */
  event?: string;
  [key: string]: unknown;
}

/** The subset of https://nodered.org/docs/user-guide/runtime/configuration the gateway sets. */
export interface NodeRedSettings {
  userDir: string;
  flowFile: string;
  flowFilePretty: boolean;
  credentialSecret: string;
  httpAdminRoot: string;
  httpNodeRoot: string;
  adminAuth: object;
  nodesDir: string[];
  logging: Record<string, { level: string; metrics?: boolean; audit?: boolean; handler?: () => (msg: NodeRedLogMessage) => void }>;
  editorTheme: object;
  externalModules: object;
  functionExternalModules: boolean;
  globalFunctionTimeout: number;
  contextStorage: object;
  runtimeState: { enabled: boolean; ui: boolean };
  telemetry: { enabled: boolean; updateNotification: boolean };
  diagnostics: { enabled: boolean; ui: boolean };
  apiMaxLength: string;
  campus: unknown;
  [key: string]: unknown;
}

export interface NodeRedRuntime {
  init(server: Server, settings: NodeRedSettings): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly httpAdmin: RequestHandler;
  readonly httpNode: RequestHandler;
  /** `flows:started`, `runtime-event`, … (@node-red/util events). */
  readonly events: EventEmitter;
  version(): string;
}

/** Loaded only when Node-RED is enabled: requiring it costs tens of megabytes and most of a second. */
export function loadNodeRed(): NodeRedRuntime {
  const require = createRequire(import.meta.url);
  return require('node-red') as NodeRedRuntime;
}

/**
 * Mounts one of Node-RED's Express 4 apps as a plain handler rather than as a sub-app. Mounted as a sub-app it
 * would get the gateway's Express 5 app as `parent`, and the core http-in node walks up `parent` looking for
 * Express 4's `_router` (it fails to load). As a plain handler it stays its own root; the request and response
 * prototypes it swaps in are put back when it hands the request on.
 */
export function plainHandler(app: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const reqProto: object | null = Object.getPrototypeOf(req);
    const resProto: object | null = Object.getPrototypeOf(res);
    app(req, res, (err?: unknown) => {
      Object.setPrototypeOf(req, reqProto);
      Object.setPrototypeOf(res, resProto);
      next(err);
    });
  };
}

let claimedBy: string | null = null;

/** True for the first caller in this process; later callers get the owner's name back instead. */
export function claimNodeRed(owner: string): { ok: true } | { ok: false; owner: string } {
  if (claimedBy !== null) return { ok: false, owner: claimedBy };
  claimedBy = owner;
  return { ok: true };
}

/** Stack frames of flow code: function nodes (compiled as "Function node:<id>"), core and campus nodes. */
const FLOW_FRAME = /Function node|[\\/]@node-red[\\/]nodes[\\/]|[\\/]node-red-contrib-campus[\\/]/;
/**
 * Node-RED's editor and admin API, which act on what browsers send: its websocket handler had promise chains without a
 * catch and read any JSON as an object (a `null` frame, or `{"auth": {"toString": 1}}`, took the process down). Those
 * frames no longer reach it (editor-sockets.ts); this keeps the next such input from being fatal.
 */
const EDITOR_API_FRAME = /[\\/]@node-red[\\/]editor-api[\\/]lib[\\/]/;

export type ContainedSource = 'flows' | 'editor';

/**
 * Where an error the process would die of came from, when it is one the gateway outlives: flow code, or Node-RED's
 * editor code on a client's input; null for anything else. Duck-typed: errors made inside a function node come
 * from the node's vm context, where `instanceof Error` fails.
 */
export function containedSource(err: unknown): ContainedSource | null {
  const stack = typeof err === 'object' && err !== null ? (err as { stack?: unknown }).stack : undefined;
  if (typeof stack !== 'string') return null;
  return FLOW_FRAME.test(stack) ? 'flows' : EDITOR_API_FRAME.test(stack) ? 'editor' : null;
}

/**
 * Node-RED catches what a node throws while handling a message, and the function node guards its timers, but a
 * promise a function node leaves rejected (or a throw from some node's own callback) reaches the process, where
 * Node's default is to exit: one line of flow code would take the gateway down. These handlers keep the process
 * for errors whose stack is flow code (or Node-RED's editor code, containedSource) and report them; anything
 * else keeps Node's default (exit), unless
 * someone else (a test runner) also listens and decides. Process-wide, like Node-RED itself; removed on stop.
 */
export function containFlowErrors(onFlowError: (err: Error, kind: 'rejection' | 'exception', source: ContainedSource) => void): () => void {
  const onRejection = (reason: unknown): void => {
    const source = containedSource(reason);
    if (source) return onFlowError(reason as Error, 'rejection', source);
    if (process.listenerCount('unhandledRejection') > 1) return;
    throw reason; // → uncaughtException → the default below
  };
  const onException = (err: unknown): void => {
    const source = containedSource(err);
    if (source) return onFlowError(err as Error, 'exception', source);
    if (process.listenerCount('uncaughtException') > 1) return;
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
