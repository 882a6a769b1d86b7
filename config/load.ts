import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { gatewayConfigSchema, type GatewayConfig } from './schema.js';

/** Every problem found in a config, one line each, naming the field path. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly source: string,
    readonly problems: string[],
    /** What went wrong as a whole: a file that could not be read is not an invalid one. */
    readonly headline = 'invalid configuration',
  ) {
    super(`${source}: ${headline}\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Why a config file could not be read, and what to do. */
function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES') return 'permission denied: run the command as the service user (sudo -u campus-gateway campus-gateway …)';
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'a directory, not a file';
  return `cannot read it: ${code ?? String(err)}`;
}

/** `readers[2].driver.baudRate` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${formatPath(issue.path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
}

/** Environment variables that override the file, as documented in docs/config.md. */
export function envOverrides(env: NodeJS.ProcessEnv): { overrides: Record<string, unknown>; problems: string[] } {
  const overrides: Record<string, unknown> = {};
  const problems: string[] = [];
  const set = (path: string[], value: unknown): void => {
    let node = overrides;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]!] = value;
  };
  const portVar = (name: string, path: string[]): void => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`${name}: expected a port number 0-65535, received "${raw}"`);
    else set(path, n);
  };
  if (env.CAMPUS_DATA_DIR) set(['dataDir'], env.CAMPUS_DATA_DIR);
  portVar('CAMPUS_HTTP_PORT', ['http', 'port']);
  portVar('CAMPUS_MQTT_PORT', ['mqtt', 'port']);
  if (env.CAMPUS_UPSTREAM_URL) set(['cloud', 'upstreamUrl'], env.CAMPUS_UPSTREAM_URL);
  if (env.CAMPUS_FLOW_SECRET) set(['nodeRed', 'credentialSecret'], env.CAMPUS_FLOW_SECRET);
  if (env.CAMPUS_CAMERA_KEY) set(['cameras', 'secretKey'], env.CAMPUS_CAMERA_KEY);
  if (env.CAMPUS_NOTIFY_KEY) set(['notify', 'secretKey'], env.CAMPUS_NOTIFY_KEY);
  return { overrides, problems };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace those in `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

export function parseConfigText(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      // The yaml library ends its first line with " at line L, column C:" (then a code frame): said once, in front.
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return at ? `line ${at.line}, column ${at.col}: ${message}` : message;
      }),
    );
  }
  return doc.toJS() ?? {};
}

export function validateConfig(raw: unknown, source: string): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  return result.data;
}

export interface LoadOptions {
  file?: string | undefined;
  /** The file's contents stand on top of this (the demo school, when started with --demo). */
  base?: unknown;
  env?: NodeJS.ProcessEnv;
}

/** Reads the YAML file (if any), lays it over `base`, applies environment overrides and validates. */
export function loadConfig(opts: LoadOptions): GatewayConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.CAMPUS_CONFIG;
  const source = file ?? '(defaults)';
  let fromFile: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(file, [unreadable(err)], 'cannot read the configuration');
    }
    fromFile = parseConfigText(text, file);
    if (!isPlainObject(fromFile)) throw new ConfigError(file, ['(root): expected a mapping of settings']);
  }
  const { overrides, problems } = envOverrides(env);
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return validateConfig(deepMerge(deepMerge(opts.base ?? {}, fromFile), overrides), source);
}
