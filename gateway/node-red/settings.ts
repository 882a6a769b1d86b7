/** Node-RED's settings for the embedded runtime: what a standalone install keeps in settings.js. */
import type { Logger } from '../core/logger.js';
import type { CampusFlowApi } from './api.js';
import type { NodeRedAdminAuth } from './auth.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CREDENTIALS_FILE, FLOW_FILE, paletteDir } from './files.js';
import type { NodeRedLogMessage, NodeRedSettings } from './runtime.js';

export const EDITOR_ROOT = '/flows';
export const HTTP_NODE_ROOT = '/flows-api';

/** Node-RED's numeric log levels (@node-red/util log.js). */
const levels: Record<number, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'> = {
  10: 'fatal',
  20: 'error',
  30: 'warn',
  40: 'info',
  50: 'debug',
  60: 'trace',
  98: 'info', // audit: logins, deploys
};

export interface SettingsInput {
  userDir: string;
  credentialSecret: string;
  adminAuth: NodeRedAdminAuth;
  api: CampusFlowApi;
  log: Logger;
  functionTimeoutS: number;
  /** Called for every error a node reports, so a failing flow shows in /metrics. */
  onNodeError: () => void;
  /** Node-RED's file storage (storage.ts: its files made 0600). */
  storageModule: object;
}

/**
 * Node-RED warnings about what the gateway set up on purpose, logged at debug: a school's log should hold warnings
 * worth acting on. Each says when it is expected; otherwise it stays a warning.
 */
function expectedWarning(msg: unknown, userDir: string): boolean {
  // Projects are off by design (one flow file, kept in backups).
  if (msg === 'Projects disabled : editorTheme.projects.enabled=false') return true;
  // Said at every start while no flow has credentials: there is no credentials file, so nothing can be missing.
  // With the file there, it means the file lost its encryption, which is worth a warning.
  return msg === 'Encrypted credentials not found' && !existsSync(join(userDir, CREDENTIALS_FILE));
}

export function nodeRedSettings(input: SettingsInput): NodeRedSettings {
  const { log } = input;
  const toPino = (m: NodeRedLogMessage): void => {
    let level = levels[m.level];
    if (!level) return; // metrics events
    if (level === 'warn' && expectedWarning(m.msg, input.userDir)) level = 'debug';
    if (m.level <= 20 && m.type) input.onNodeError();
    if (m.level === 98) {
      const { level: _l, timestamp: _t, event, ...rest } = m;
      // Editor tokens are gateway sessions (auth.ts): Node-RED's own token check misses on every editor request
      // before ours accepts it, and would log this each time. Refused tokens are counted in campus_flow_auth_total.
      if (event === 'auth.invalid-token') return log.debug({ audit: rest }, `audit: ${event}`);
      // Every editor websocket opens, and most close, with one of these: anyone on the LAN could fill the log with
      // them. The gateway counts what it closes (campus_flow_editor_sockets_closed_total); a sign-in stays at info.
      if (event === 'comms.open' || event === 'comms.close' || event === 'comms.auth.fail') return log.debug({ audit: rest }, `audit: ${event}`);
      log.info({ audit: rest }, `audit: ${event ?? 'event'}`);
      return;
    }
    const fields = { nodeType: m.type, nodeId: m.id, nodeName: m.name };
    // Errors from a function node's vm context are not `instanceof Error` here.
    const err = typeof m.msg === 'object' && m.msg !== null && typeof (m.msg as { message?: unknown }).message === 'string' ? (m.msg as Error) : null;
    if (err) log[level]({ ...fields, err }, err.message);
    else log[level](fields, typeof m.msg === 'string' ? m.msg : JSON.stringify(m.msg));
  };
  return {
    userDir: input.userDir,
    storageModule: input.storageModule,
    flowFile: FLOW_FILE,
    // One property per line: flows kept in git diff readably.
    flowFilePretty: true,
    credentialSecret: input.credentialSecret,
    httpAdminRoot: EDITOR_ROOT,
    httpNodeRoot: HTTP_NODE_ROOT,
    adminAuth: input.adminAuth,
    nodesDir: [paletteDir()],
    logging: {
      console: { level: 'off' },
      gateway: { level: 'info', metrics: false, audit: true, handler: () => toPino },
    },
    editorTheme: {
      page: { title: '校园网关 Campus Gateway · Flows' },
      header: { title: '校园网关 Campus Gateway' },
      projects: { enabled: false },
      tours: false,
      palette: { categories: ['campus', 'common', 'function', 'network', 'sequence', 'parser', 'storage'] },
      multiplayer: { enabled: false },
    },
    // A gateway installs nothing at run time: the palette is what the release ships.
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false, allowUpdate: false, allowUpload: false },
      modules: { allowInstall: false },
    },
    functionExternalModules: false,
    // Bounds synchronous function-node code: an endless loop would otherwise freeze the whole gateway.
    globalFunctionTimeout: input.functionTimeoutS,
    // Flow context survives a restart (the late-arrival flow counts days across the week).
    contextStorage: { default: { module: 'localfilesystem' } },
    runtimeState: { enabled: false, ui: false },
    // Schools often have no internet; never phone home for updates.
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: true },
    apiMaxLength: '5mb',
    // What function nodes can read with global.get('campus'): the school and its time zone.
    functionGlobalContext: { campus: input.api.school },
    campus: input.api,
  };
}
