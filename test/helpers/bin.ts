/** Runs the built `campus-gateway` bin (dist/) as a child process, the way school IT runs it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const BIN = join(process.cwd(), 'dist', 'gateway', 'cli', 'main.js');

export function requireBuilt(): void {
  if (!existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
}

export function runBin(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  requireBuilt();
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** A free loopback TCP port (closed again before return). */
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

export interface BinGateway {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  base: string;
  output: () => string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the bin and waits for /healthz to answer 200. */
export async function startBin(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<BinGateway> {
  requireBuilt();
  const httpPort = Number(env.CAMPUS_HTTP_PORT) || (await freePort());
  const mqttPort = Number(env.CAMPUS_MQTT_PORT) || (await freePort());
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CAMPUS_HTTP_PORT: String(httpPort), CAMPUS_MQTT_PORT: String(mqttPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const base = `http://127.0.0.1:${httpPort}`;
  const until = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`gateway exited before it was ready:\n${out}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, httpPort, mqttPort, base, output: () => out, exited };
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
