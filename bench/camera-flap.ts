/**
 * 1,000 offline/online cycles of one camera (the protocol-level fake from the tests, real SOAP over loopback)
 * against an in-process gateway. Each cycle: the camera stops → `camera_offline` is raised → it starts again →
 * the alert is resolved, the PullPoint subscription is back and a motion event arrives. RSS is measured after a
 * warm-up (the baseline, same run) and at the end, after forced GCs. The camera runs in a child process
 * (bench/_camera-fake.ts) so the figure is the gateway's alone. Goal: growth < 10 MB.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { validateConfig } from '../config/load.js';
import { userMigrations, UserStore } from '../gateway/auth/users.js';
import { startGateway } from '../gateway/compose.js';
import { systemClock } from '../gateway/core/clock.js';
import { metaMigrations } from '../gateway/storage/meta.js';
import { openDatabase } from '../gateway/storage/db.js';
import type { BenchResult } from './run.js';

const CYCLES = Number(process.env.BENCH_CAMERA_CYCLES ?? 1_000);
// Long enough for JIT code, SQLite's page cache and malloc arenas to reach their working size.
const WARMUP = Math.min(100, Math.floor(CYCLES / 10));
const GOAL_MB = 10;

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** A full GC before each reading, so RSS shows what is retained rather than what is not collected yet. */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

async function settle(gc: (() => void) | null): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface FakeReply {
  id: number;
  port: number;
  subs: number;
  created: number;
}

/** The fake camera in a child process, driven over IPC. */
async function fakeCamera() {
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), '_camera-fake.js'), [], { stdio: 'ignore' });
  const waiting = new Map<number, (r: FakeReply) => void>();
  child.on('message', (r: FakeReply) => waiting.get(r.id)?.(r));
  let seq = 0;
  let last: FakeReply = { id: 0, port: 0, subs: 0, created: 0 };
  const call = (cmd: 'start' | 'stop' | 'emit' | 'stats'): Promise<FakeReply> =>
    new Promise((resolve) => {
      const id = ++seq;
      waiting.set(id, (r) => {
        waiting.delete(id);
        last = r;
        resolve(r);
      });
      child.send({ id, cmd });
    });
  return {
    get port(): number {
      return last.port;
    },
    start: () => call('start'),
    stop: () => call('stop'),
    emit: () => call('emit'),
    stats: () => call('stats'),
    close: () => child.kill(),
  };
}

export default async function cameraFlap(): Promise<BenchResult> {
  const gc = collector();
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-bench-cam-'));
  const device = await fakeCamera();
  await device.start();
  const db = openDatabase(join(dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations]);
  await new UserStore(db, systemClock, 0).add('admin', 'bench-admin-password', 'admin');
  db.close();
  const config = validateConfig(
    {
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      nodeRed: { enabled: false },
      cameras: {
        pollIntervalMs: 20,
        offlineAfterFailures: 1,
        onlineAfterSuccesses: 1,
        requestTimeoutMs: 300,
        pullTimeoutMs: 3_000,
        eventRetryMinMs: 10,
        eventRetryMaxMs: 20,
        cameras: [{ id: 'cam-flap', name: 'Flapping camera', host: '127.0.0.1', port: device.port, username: 'admin', password: 'secret', zones: ['yard'] }],
      },
    },
    'bench',
  );
  const gw = await startGateway({ config, log: pino({ level: 'silent' }) });
  const { bus } = gw.ctx;

  const next = <T>(subscribe: (resolve: (v: T) => void) => () => void, what: string, ms = 10_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`bench: no ${what} within ${ms} ms`));
      }, ms);
      const off = subscribe((v) => {
        clearTimeout(timer);
        off();
        resolve(v);
      });
    });
  const state = (s: 'online' | 'offline'): Promise<unknown> =>
    next((resolve) => bus.on('camera.state', (e) => e.state === s && resolve(e)), `camera ${s}`);
  const waitSubscribed = async (): Promise<void> => {
    const until = Date.now() + 10_000;
    while ((await device.stats()).subs === 0) {
      if (Date.now() > until) throw new Error('bench: no subscription');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  await state('online');
  await waitSubscribed();
  const cycle = async (): Promise<void> => {
    const offline = state('offline');
    await device.stop();
    await offline;
    const online = state('online');
    await device.start();
    await online;
    await waitSubscribed();
    const event = next((resolve) => bus.on('camera.event', resolve), 'motion event');
    await device.emit();
    await event;
  };

  for (let i = 0; i < WARMUP; i++) await cycle();
  await settle(gc);
  const baseline = process.memoryUsage().rss;
  const baseHeap = process.memoryUsage().heapUsed;
  const started = Date.now();
  const half = Math.floor((WARMUP + CYCLES) / 2);
  let halfway = baseline;
  for (let i = WARMUP; i < CYCLES; i++) {
    await cycle();
    if (i === half) {
      await settle(gc);
      halfway = process.memoryUsage().rss;
    }
  }
  const elapsed = Date.now() - started;
  await settle(gc);
  const final = process.memoryUsage().rss;
  const finalHeap = process.memoryUsage().heapUsed;
  const counts = gw.ctx.alerts.counts();

  const created = (await device.stats()).created;
  await gw.stop();
  await device.stop();
  device.close();
  rmSync(dataDir, { recursive: true, force: true });
  const growth = final - baseline;
  return {
    name: 'camera-flap',
    figures: {
      cycles: CYCLES,
      'warm-up cycles (baseline after)': WARMUP,
      'ms per cycle': Math.round((elapsed / Math.max(1, CYCLES - WARMUP)) * 10) / 10,
      'baseline RSS (MB)': mb(baseline),
      'final RSS (MB)': mb(final),
      'RSS growth (MB)': mb(growth),
      'RSS growth, second half (MB)': mb(final - halfway),
      'JS heap used, baseline → final (MB)': `${mb(baseHeap)} → ${mb(finalHeap)}`,
      'camera_offline alerts resolved': counts.resolved,
      'subscriptions created': created,
      'gc forced before readings': gc !== null,
    },
    goal: `RSS growth over ${CYCLES} offline/online cycles < ${GOAL_MB} MB`,
    met: growth < GOAL_MB * 1024 * 1024,
  };
}
