/** Runs the built `campus-gateway` bin (dist/) as a child process, the way school IT runs it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const BIN = join(process.cwd(), 'dist', 'gateway', 'cli', 'main.js');

export function requireBuilt(): void {
  if (!existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
}

/** `as` runs it as another user (uid and gid), e.g. the unprivileged user a service runs as; only root can. */
export function runBin(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; as?: { uid: number; gid: number } } = {}) {
  requireBuilt();
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: 30_000,
    ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
  });
}

/**
 * A loopback TCP port that was free a moment ago (closed again before return). Only for peers that cannot listen
 * on port 0 and say where they are (Mosquitto); such a caller must retry with another port on EADDRINUSE, since
 * another process may take the port between this check and the bind.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The addresses `campus-gateway start` prints once both servers listen (gateway/cli/start.ts). */
export interface Banner {
  httpUrl: string;
  mqttUrl: string;
}

/** The banner in what a started bin printed so far, or undefined before it came. */
export function bannerIn(out: string): Banner | undefined {
  const httpUrl = /Web console:\s+(http:\/\/\S+)/.exec(out)?.[1];
  const mqttUrl = /MQTT broker:\s+(mqtt:\/\/\S+)/.exec(out)?.[1];
  return httpUrl && mqttUrl ? { httpUrl, mqttUrl } : undefined;
}

/**
 * The banner of a spawned `campus-gateway start` (the bin, or a shell that execs it, its stdout and stderr piped), with
 * all it prints from then on in `output()`. Rejects with the tail of that output when it exits first or prints none
 * within `timeoutMs`; `more()` adds what the caller knows to the message (a first run's log).
 */
export function awaitBanner(child: ChildProcess, timeoutMs: number, more: () => string = () => ''): Promise<Banner & { output: () => string }> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', look);
      child.off('exit', exited);
    };
    const fail = (why: string): void => {
      settle();
      reject(new Error(`gateway ${why}:\n${out.slice(-4000)}${more()}`));
    };
    const timer = setTimeout(() => fail(`printed no listening addresses within ${timeoutMs} ms`), timeoutMs);
    const look = (): void => {
      const banner = bannerIn(out);
      if (!banner) return;
      settle();
      resolve({ ...banner, output: () => out });
    };
    const exited = (code: number | null): void => fail(`exited with ${code} before it listened`);
    child.stdout!.on('data', look); // after the listener above: `out` has the chunk
    child.once('exit', exited);
  });
}

export interface BinGateway {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  base: string;
  output: () => string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the bin and waits for /healthz to answer 200. Unless the caller fixes them in `env`, the gateway binds port 0
 * for HTTP and MQTT and the ports are read from the addresses it prints: no port picked, closed and then reused,
 * which another process on a busy box can take in between.
 */
export async function startBin(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<BinGateway> {
  requireBuilt();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const until = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  const giveUp = (why: string): never => {
    child.kill('SIGKILL');
    throw new Error(`gateway ${why} within ${timeoutMs} ms:\n${out}`);
  };
  // The banner `campus-gateway start` prints once both servers listen (gateway/cli/start.ts).
  let ports: { http: number; mqtt: number } | undefined;
  while (!ports) {
    if (gone) throw new Error(`gateway exited before it was ready:\n${out}`);
    const banner = bannerIn(out);
    if (banner) ports = { http: Number(new URL(banner.httpUrl).port), mqtt: Number(new URL(banner.mqttUrl).port) };
    else if (Date.now() > until) giveUp('printed no listening addresses');
    else await new Promise((r) => setTimeout(r, 25));
  }
  const base = `http://127.0.0.1:${ports.http}`;
  for (;;) {
    if (gone) throw new Error(`gateway exited before it was ready:\n${out}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not answering yet
    }
    if (Date.now() > until) giveUp('not ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, httpPort: ports.http, mqttPort: ports.mqtt, base, output: () => out, exited };
}

export async function login(base: string, username = 'admin', password = 'campus-demo'): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
