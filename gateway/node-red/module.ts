/**
 * Node-RED inside the gateway process, on the gateway's HTTP server: the editor and admin API at /flows,
 * HTTP-in nodes under /flows-api, files in <dataDir>/node-red, logins through the gateway's users.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { Express } from 'express';
import { Counter } from 'prom-client';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { Logger } from '../core/logger.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { MountShared } from '../http/server.js';
import { flowAdapters, type FlowDomains } from './adapters.js';
import { createCampusFlowApi, type FlowAdapters } from './api.js';
import { editorBodyGate, editorLogin, endSessionOnEditorLogout, gatewayAdminAuth, type NodeRedAdminAuth } from './auth.js';
import { EditorSockets } from './editor-sockets.js';
import { nodeRedServer, type NodeRedServer } from './server-facade.js';
import { pathOf, refuseUpgrade } from '../http/upgrade-gate.js';
import { credentialSecret, resetEditorSessions, seedFlows, userDirOf } from './files.js';
import { claimNodeRed, containFlowErrors, loadNodeRed, plainHandler, type NodeRedRuntime } from './runtime.js';
import { EDITOR_ROOT, HTTP_NODE_ROOT, nodeRedSettings } from './settings.js';
import { privateDir } from '../storage/private-files.js';
import { privateStorage, privateUserDir } from './storage.js';

type State = 'disabled' | 'mounted' | 'starting' | 'running' | 'failed' | 'stopped';

/** The heap we recommend running the gateway with (docs/node-red.md): `node --max-old-space-size=256`. */
export const RECOMMENDED_HEAP_MB = 256;

export class NodeRedModule implements GatewayModule {
  readonly name = 'nodeRed';
  private state: State = 'disabled';
  private detail = 'disabled: nodeRed.enabled is false in the config';
  /** The detail as a code and values for the console (`health.<code>`); the English detail stays for IT and logs. */
  private code = 'nodered_disabled_config';
  private params: Record<string, string> | undefined;
  private red: NodeRedRuntime | undefined;
  private nodeErrors: Counter | undefined;
  private uncontain: (() => void) | undefined;
  private editorSockets: EditorSockets | undefined;
  private readonly log: Logger;
  private readonly editorErrorLog: RateLimitedLog;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly adapters: FlowAdapters = {},
  ) {
    this.log = ctx.log.child({ component: 'node-red' });
    this.editorErrorLog = new RateLimitedLog(this.log, () => ctx.clock.now());
  }

  mount(app: Express, server: Server, shared: MountShared): void {
    const { config, demo } = this.ctx;
    if (!config.nodeRed.enabled) return;
    const userDir = userDirOf(config.dataDir);
    const secret = credentialSecret(userDir, config.nodeRed.credentialSecret, demo);
    if (!secret) {
      this.code = 'nodered_no_secret';
      this.detail = 'disabled: no credential secret; set nodeRed.credentialSecret or CAMPUS_FLOW_SECRET (at least 16 characters) to run Node-RED';
      this.log.warn(this.detail);
      return;
    }
    const claim = claimNodeRed(`gateway ${config.school.id} (${config.dataDir})`);
    if (!claim.ok) {
      this.detail = `disabled: Node-RED already runs in this process for ${claim.owner}; it runs once per process`;
      this.code = 'nodered_other_owner';
      this.params = { owner: claim.owner };
      this.log.warn(this.detail);
      return;
    }
    if (secret.source === 'generated') {
      this.log.warn({ file: join(userDir, '.credential-secret') }, 'generated a credential secret for flow credentials (demo mode); back it up with the flows');
    }
    const heapMb = Math.round(getHeapStatistics().heap_size_limit / 1048576);
    if (heapMb > RECOMMENDED_HEAP_MB * 2) {
      this.log.info({ heapMb, recommendedMb: RECOMMENDED_HEAP_MB }, 'no heap cap set; on small devices run node with --max-old-space-size');
    }

    if (seedFlows(userDir)) this.log.info('seeded the default flows');
    const dropped = resetEditorSessions(userDir);
    if (dropped > 0) this.log.info({ dropped }, 'dropped editor tokens Node-RED had issued itself; editors log in again');
    // Flow context (created by Node-RED when the flows start) may hold personal data: made here, 0700.
    privateDir(join(userDir, 'context'));
    for (const t of privateUserDir(userDir)) this.log.warn({ file: t.path, was: t.was }, 'Node-RED file was open to other users; now private');
    const metrics = this.ctx.metrics;
    const attempts = new Counter({
      name: 'campus_flow_auth_total',
      help: 'Editor logins and admin API token checks, by outcome',
      labelNames: ['outcome'] as const,
      registers: [metrics],
    });
    const nodeErrors = new Counter({ name: 'campus_flow_node_errors_total', help: 'Errors reported by flow nodes', registers: [metrics] });
    this.nodeErrors = nodeErrors;
    const api = createCampusFlowApi({ ...this.ctx, metrics, adapters: this.adapters });
    const red = loadNodeRed();
    const adminAuth = gatewayAdminAuth({ users: this.ctx.users, adminTokens: config.nodeRed.adminTokens, attempts, log: this.log });
    // Node-RED gets the server with its 'upgrade' listeners kept apart (server-facade.ts): the gateway hands them the
    // socket, the editor's with its client frames vetted.
    const facade = nodeRedServer(server);
    red.init(
      facade.server,
      nodeRedSettings({
        userDir,
        credentialSecret: secret.secret,
        adminAuth,
        api,
        log: this.log,
        functionTimeoutS: config.nodeRed.functionTimeoutS,
        onNodeError: () => nodeErrors.inc(),
        storageModule: privateStorage(userDir),
      }),
    );
    this.serveUpgrades(server, shared, facade, adminAuth);
    app.use(EDITOR_ROOT, editorBodyGate(adminAuth), editorLogin(adminAuth, shared.loginLimiter), endSessionOnEditorLogout(this.ctx.users, this.log), plainHandler(red.httpAdmin));
    app.use(HTTP_NODE_ROOT, plainHandler(red.httpNode));
    this.red = red;
    this.state = 'mounted';
    this.detail = 'starting';
    this.code = 'nodered_starting';
  }

  /**
   * Claims the only websocket paths Node-RED serves (its editor's, and its flows' websocket nodes under their root) and
   * hands their upgrades to Node-RED's listeners: the editor's through the relay (editor-sockets.ts).
   */
  private serveUpgrades(server: Server, shared: MountShared, facade: NodeRedServer, adminAuth: Pick<NodeRedAdminAuth, 'tokens'>): void {
    const sockets = new EditorSockets({
      tokens: (token) => adminAuth.tokens(token),
      ended: new Counter({
        name: 'campus_flow_editor_sockets_closed_total',
        help: 'Editor websockets the gateway closed or refused, by reason (session_ended, not_signed_in, signed_in_twice, not_editor, refused, unreadable, unread, too_many)',
        labelNames: ['reason'] as const,
        registers: [this.ctx.metrics],
      }),
    });
    this.editorSockets = sockets;
    const comms = `${EDITOR_ROOT}/comms`;
    const nodes = `${HTTP_NODE_ROOT}/`;
    shared.claimUpgrade(comms);
    shared.claimUpgrade(nodes);
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const path = pathOf(req.url);
      if (path !== comms && !path.startsWith(nodes)) return;
      // Stopped: Node-RED's comms has let go of its websocket server and would throw on this upgrade.
      if (this.state === 'stopped' || this.state === 'failed') return void socket.destroy();
      if (path !== comms) return facade.upgrade(req, socket, head);
      const relayed = sockets.relay(req, socket, head);
      if (relayed) facade.upgrade(req, relayed, Buffer.alloc(0));
      else refuseUpgrade(socket, 503, 'Service Unavailable');
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'mounted' || !this.red) return;
    this.state = 'starting';
    const red = this.red;
    this.uncontain = containFlowErrors((err, kind, source) => {
      if (source === 'editor') {
        // A client's input (anyone on the LAN can send one): logged at most once a minute.
        this.editorErrorLog.warn('editor', { err: err.message, kind }, "Node-RED's editor code failed on a client's input; the gateway keeps running");
        return;
      }
      this.nodeErrors?.inc();
      this.log.error({ err, kind }, 'flow code failed outside a message handler; the gateway keeps running');
    });
    try {
      // RED.start() resolves before the flows run; the gateway counts as started once they do (or cannot).
      const flows = flowsStarted(red, FLOWS_START_TIMEOUT_MS);
      await red.start();
      const problem = await flows;
      this.state = 'running';
      this.detail = `Node-RED ${red.version()} at ${EDITOR_ROOT}${problem ? `; flows not running: ${problem}` : ''}`;
      this.code = problem ? 'nodered_flows_not_running' : 'nodered_running';
      this.params = problem ? { version: red.version(), problem } : { version: red.version() };
      if (problem) this.log.warn({ problem }, 'Node-RED started, but its flows did not; fix them in the editor');
      else this.log.info({ editor: EDITOR_ROOT, httpNodes: HTTP_NODE_ROOT }, 'Node-RED started');
    } catch (err) {
      // The gateway goes on without flows; /healthz shows it.
      this.state = 'failed';
      this.detail = `failed to start: ${err instanceof Error ? err.message : String(err)}`;
      this.code = 'nodered_failed';
      this.params = { error: err instanceof Error ? err.message : String(err) };
      this.log.error({ err }, 'Node-RED failed to start');
    }
  }

  async stop(): Promise<void> {
    if (this.state !== 'running' || !this.red) return;
    this.state = 'stopped';
    this.detail = 'stopped (restart the process to run it again)';
    this.code = 'nodered_stopped';
    this.params = undefined;
    try {
      await this.red.stop();
    } finally {
      this.editorSockets?.close();
      this.uncontain?.();
    }
  }

  health(): ComponentHealth {
    const coded = { detail: this.detail, code: this.code, ...(this.params ? { params: this.params } : {}) };
    if (this.state === 'disabled') return { ok: true, disabled: true, ...coded };
    const ok = this.state === 'running' || this.state === 'stopped';
    return { ok, ...coded };
  }
}

const FLOWS_START_TIMEOUT_MS = 30_000;

/** Resolves when the first flows have started (null), or with why they did not (missing node types, timeout). */
function flowsStarted(red: NodeRedRuntime, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const done = (problem: string | null): void => {
      clearTimeout(timer);
      red.events.off('flows:started', onStarted);
      red.events.off('runtime-event', onRuntime);
      resolve(problem);
    };
    const onStarted = (): void => done(null);
    const onRuntime = (e: { id?: string; payload?: { state?: string; error?: string; types?: string[] } }): void => {
      if (e.id === 'runtime-state' && e.payload?.state === 'stop' && e.payload.error) {
        done(`${e.payload.error}${e.payload.types ? ` (${e.payload.types.join(', ')})` : ''}`);
      }
    };
    const timer = setTimeout(() => done(`not started after ${timeoutMs / 1000} s`), timeoutMs);
    timer.unref();
    red.events.on('flows:started', onStarted);
    red.events.on('runtime-event', onRuntime);
  });
}

/** For the composition root: Node-RED with whichever domain modules this gateway has. */
export function createNodeRedModule(ctx: GatewayContext, domains: Omit<FlowDomains, 'db'> = {}): NodeRedModule {
  return new NodeRedModule(ctx, flowAdapters({ db: ctx.db, ...domains }));
}
