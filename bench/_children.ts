/**
 * The processes a benchmark starts: the gateway (the built bin, as a school runs it), bare brokers and helpers
 * (bench/_*.ts scripts, forked), each with the production runtime flags so every side runs alike. Nothing here
 * picks a port for another process: each server binds port 0 itself and reports the port it got (the gateway on
 * stdout, the forked helpers over IPC), so no port is ever picked, closed and reused by someone else in between.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoConfig } from '../config/demo.js';
import { packageInfo } from '../gateway/core/version.js';

/** The runtime flags docs/operations.md recommends: a capped old space and a small young generation. */
export const NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=4'];
export const ROOT = packageInfo().root;
export const BIN = join(ROOT, 'dist', 'gateway', 'cli', 'main.js');
const HERE = dirname(fileURLToPath(import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The last 64 KB of its stdout and stderr, for error messages. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  gone: () => boolean;
}

/** Every child started here and not yet seen to exit: killed on the way out, whatever happens. */
const live = new Map<ChildProcess, Promise<unknown>>();
process.on('exit', () => {
  for (const p of live.keys()) p.kill('SIGKILL');
});

function track(proc: ChildProcess): Child {
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-65_536);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  // Each question in flight to a helper (`ask`) waits on its exit until answered: the cameras bench asks a farm about
  // 16 cameras at once, past Node's default of 10, which only warned of a leak that is not there.
  proc.setMaxListeners(64);
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      gone = true;
      live.delete(proc);
      resolve({ code, signal });
    };
    proc.once('exit', done);
    proc.once('error', (err) => {
      out += `\n${String(err)}`;
      done(null, null);
    });
  });
  live.set(proc, exited);
  if (proc.pid === undefined) throw new Error(`could not start ${proc.spawnfile}: ${out}`);
  return { proc, pid: proc.pid, output: () => out, exited, gone: () => gone };
}

/**
 * The environment deploy/campus-gateway.service gives the gateway besides its flags: glibc's mmap threshold fixed
 * at its default 128 KiB. Without it glibc raises the threshold to the size of the first large block freed (a
 * login's 16 MiB scrypt buffer) and every later one is carved from a thread's heap and kept after it is freed:
 * up to 64 MB held by the four libuv threads once a few people have signed in (docs/operations.md, Memory).
 */
export const PRODUCTION_ENV: Record<string, string> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** The environment for a child: no CAMPUS_* settings inherited from the shell, the production env, the ones given. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CAMPUS_')) env[k] = v;
  return { ...env, ...PRODUCTION_ENV, ...extra };
}

/** A node process with the production flags. */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, extraFlags: string[] = []): Child {
  return track(spawn(process.execPath, [...NODE_FLAGS, ...extraFlags, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Any other program (mosquitto). */
export function spawnProgram(cmd: string, args: string[]): Child {
  return track(spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A helper script from bench/ (e.g. `_bare-aedes`) forked with the production flags and an IPC channel. */
export function forkHelper(name: string, env: Record<string, string> = {}, extraFlags: string[] = []): Child {
  const file = join(HERE, `${name}.js`);
  return track(fork(file, [], { cwd: ROOT, env: childEnv(env), execArgv: [...NODE_FLAGS, ...extraFlags], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
}

/** The next IPC message from `child` that `accept` takes, or an error with its output if it exits or times out. */
export function nextMessage<T>(child: Child, accept: (m: unknown) => m is T, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!accept(m)) return;
      cleanup();
      resolve(m);
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`${child.proc.spawnargs.join(' ')} exited:\n${child.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer from ${child.proc.spawnargs.join(' ')} within ${timeoutMs} ms:\n${child.output()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      child.proc.off('exit', onExit);
    };
    child.proc.on('message', onMessage);
    child.proc.once('exit', onExit);
    if (child.gone()) onExit();
  });
}

/** Asks a forked helper `{ cmd, ...args }` and waits for the reply carrying the same `id`. */
let nextId = 1;
export async function ask<T>(child: Child, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
  const id = nextId++;
  const reply = nextMessage(child, (m): m is { id: number; error?: string } & T => typeof m === 'object' && m !== null && (m as { id?: unknown }).id === id, timeoutMs);
  child.proc.send({ id, cmd, ...args });
  const r = await reply;
  if (r.error) throw new Error(`${cmd}: ${r.error}`);
  return r;
}

/** A forked helper's first message, `{ port }` once it listens. */
export async function helperPort(child: Child, timeoutMs = 30_000): Promise<number> {
  const m = await nextMessage(child, (x): x is { port: number } => typeof x === 'object' && x !== null && typeof (x as { port?: unknown }).port === 'number', timeoutMs);
  return m.port;
}

/** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. Resolves once it has exited. */
export async function stopChild(c: Child, timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!c.gone()) c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), timeoutMs);
  try {
    return await c.exited;
  } finally {
    clearTimeout(t);
  }
}

/** Kills what is still running and waits until it has exited, so its files can be removed after. */
export async function killAllChildren(): Promise<void> {
  const waits = [...live.values()];
  for (const p of live.keys()) p.kill('SIGKILL');
  await Promise.race([Promise.all(waits), sleep(5_000)]);
}

export interface GatewayChild extends Child {
  /** http://127.0.0.1:<port>, no trailing slash. */
  base: string;
  mqttPort: number;
  /** Spawn → first 200 from /healthz. */
  startMs: number;
}

/**
 * Starts the built bin as a school runs it (`start [--demo] --config <file>`, production flags), with both ports 0:
 * the gateway binds them itself and prints the URLs it got on stdout, read here. Waits for /healthz to answer 200.
 */
export async function startGatewayChild(opts: {
  configFile: string;
  dataDir: string;
  demo?: boolean;
  extraFlags?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Called as soon as the process exists, before it is ready (to sample it from its first moment). */
  onSpawn?: (child: Child) => void;
}): Promise<GatewayChild> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npm run build)`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const t0 = performance.now();
  const child = spawnNode(
    [BIN, 'start', ...(opts.demo === false ? [] : ['--demo']), '--config', opts.configFile],
    childEnv({ CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0', CAMPUS_DATA_DIR: opts.dataDir, ...opts.env }),
    opts.extraFlags,
  );
  opts.onSpawn?.(child);
  const until = t0 + timeoutMs;
  let base: string | undefined;
  let mqttPort: number | undefined;
  for (;;) {
    if (child.gone()) throw new Error(`gateway exited before it was ready:\n${child.output()}`);
    if (base === undefined || mqttPort === undefined) {
      const out = child.output();
      const http = /Web console:\s+(http:\/\/[^\s/]+)/.exec(out);
      const mqtt = /MQTT broker:\s+mqtt:\/\/[^\s]+:(\d+)/.exec(out);
      if (http && mqtt) {
        base = http[1]!;
        mqttPort = Number(mqtt[1]);
      }
    }
    if (base !== undefined) {
      try {
        const res = await fetch(`${base}/healthz`);
        if (res.status === 200) break;
      } catch {
        // not answering yet
      }
    }
    if (performance.now() > until) throw new Error(`gateway not ready within ${timeoutMs} ms:\n${child.output()}`);
    await sleep(20);
  }
  return { ...child, base, mqttPort: mqttPort!, startMs: Math.round(performance.now() - t0) };
}

/**
 * Sums the samples of one metric family in a Prometheus text exposition (0 if absent), only those whose labels
 * contain `having` (e.g. `reader="demo-gate-in"`) when given.
 */
export function metricSum(text: string, name: string, having?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (having !== undefined && !line.slice(name.length, line.lastIndexOf(' ')).includes(having)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Polls `check` every `everyMs` until it is true (true) or `timeoutMs` passes (false). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Node-RED's own health component: running, its flows started. */
export async function nodeRedRunning(gw: GatewayChild): Promise<{ ok: boolean; detail: string }> {
  const h = (await (await fetch(`${gw.base}/healthz`)).json()) as { components: Record<string, { ok: boolean; detail?: string }> };
  const c = h.components.nodeRed;
  const detail = c?.detail ?? '(no nodeRed component)';
  return { ok: c?.ok === true && detail.startsWith('Node-RED ') && !detail.includes('flows not running'), detail };
}

/**
 * Overlay for the demo school without its simulated readers, sensors, cameras and door controller: they are traffic, so a gateway
 * "at rest" or "idle" runs without them (the school's people, places and flows stay).
 */
export function withoutSimulatedDevices(): Record<string, unknown> {
  return {
    readers: (demoConfig.readers ?? []).filter((r) => r.driver?.type !== 'simulated'),
    sensors: { sensors: (demoConfig.sensors?.sensors ?? []).filter((s) => s.source?.type !== 'simulated') },
    cameras: { cameras: (demoConfig.cameras?.cameras ?? []).filter((c) => c.simulated !== true) },
    controllers: { devices: (demoConfig.controllers?.devices ?? []).filter((d) => d.simulated !== true) },
  };
}
