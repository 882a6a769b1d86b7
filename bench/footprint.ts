/**
 * Memory and start-up of the demo gateway as users run it: the built bin, a fresh temp data dir, Node-RED with the
 * default flows, under the recommended heap cap (--max-old-space-size=256). Measured beside the same gateway with
 * Node-RED off, in the same run. Goals: RSS ≤ 200 MB idle and under tap + sensor load; cold start ≤ 3 s to a 200
 * from /healthz (a restart on an existing data dir; the very first start, which seeds the demo school, is printed too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { packageInfo } from '../gateway/core/version.js';
import { printedPorts } from './_net.js';
import type { BenchResult } from './run.js';

const HEAP_MB = Number(process.env.BENCH_FOOTPRINT_HEAP_MB ?? 256);
const LOAD_S = Number(process.env.BENCH_FOOTPRINT_LOAD_S ?? 20);
const TAPS_PER_S = 200;
const READINGS_PER_S = 100;
const IDLE_SETTLE_MS = 5_000;

const root = packageInfo().root;
const bin = join(root, 'dist', 'gateway', 'cli', 'main.js');

/** Resident set size of a process, from /proc (Linux). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  startMs: number;
  stop(): Promise<void>;
}

async function startGateway(dataDir: string, nodeRed: boolean): Promise<Running> {
  const configFile = join(dataDir, 'bench.yaml');
  writeFileSync(configFile, `nodeRed:\n  enabled: ${nodeRed}\nlog:\n  level: warn\n  format: json\n`);
  const t0 = performance.now();
  // The recommended runtime flags (docs/operations.md): a capped old space, and a small young generation so that
  // bursts of short-lived messages are collected early instead of growing RSS by tens of MB.
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--max-semi-space-size=4', bin, 'start', '--demo', '--config', configFile], {
    // Port 0, and the bound ports read from the banner it prints: no port picked, closed and reused.
    env: { ...process.env, CAMPUS_DATA_DIR: dataDir, CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0', CAMPUS_FLOW_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let ports = printedPorts(stdout);
  while (!ports) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${stderr}`);
    if (performance.now() - t0 > 60_000) throw new Error(`no listening addresses printed within 60 s: ${stderr}`);
    await sleep(20);
    ports = printedPorts(stdout);
  }
  const { http: httpPort, mqtt: mqttPort } = ports;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 60_000) throw new Error(`no healthy /healthz within 60 s: ${stderr}`);
    await sleep(20);
  }
  const startMs = Math.round(performance.now() - t0);
  return {
    child,
    httpPort,
    mqttPort,
    startMs,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Taps with the demo school's real cards at the demo gate readers, and readings from the demo classroom sensor. */
async function load(gw: Running, dataDir: string): Promise<{ maxRssMb: number; taps: number; readings: number }> {
  const db = new Database(join(dataDir, 'gateway.db'), { readonly: true });
  const uids = (db.prepare(`SELECT uid FROM cards WHERE status = 'active' LIMIT 2000`).all() as { uid: string }[]).map((r) => r.uid);
  db.close();
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
  let taps = 0;
  let readings = 0;
  let maxRssMb = 0;
  const readers = ['demo-gate-in', 'demo-gate-out'];
  const until = performance.now() + LOAD_S * 1000;
  let nextSample = 0;
  while (performance.now() < until) {
    // 10 ticks a second keep the rate moderate and steady.
    for (let i = 0; i < TAPS_PER_S / 10; i++) {
      const uid = uids[taps % uids.length]!;
      client.publish(`campus/readers/${readers[taps % 2]}/tap`, JSON.stringify({ uid }));
      taps++;
    }
    for (let i = 0; i < READINGS_PER_S / 10; i++) {
      const co2 = 600 + ((readings * 37) % 1400);
      client.publish('campus/sensors/demo-sensor-101', JSON.stringify({ temperature: 22 + (readings % 5) / 2, humidity: 45, co2 }));
      readings++;
    }
    if (performance.now() >= nextSample) {
      maxRssMb = Math.max(maxRssMb, rssMb(gw.child.pid!));
      nextSample = performance.now() + 500;
    }
    await sleep(100);
  }
  maxRssMb = Math.max(maxRssMb, rssMb(gw.child.pid!));
  await client.endAsync();
  return { maxRssMb, taps, readings };
}

interface Figures {
  firstStartMs: number;
  coldStartMs: number;
  idleRssMb: number;
  loadRssMb: number;
  taps: number;
  readings: number;
}

async function measure(nodeRed: boolean): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-footprint-'));
  try {
    const first = await startGateway(dataDir, nodeRed); // seeds the demo school
    await first.stop();
    const gw = await startGateway(dataDir, nodeRed);
    await sleep(IDLE_SETTLE_MS);
    const idleRssMb = rssMb(gw.child.pid!);
    const l = await load(gw, dataDir);
    await gw.stop();
    return { firstStartMs: first.startMs, coldStartMs: gw.startMs, idleRssMb, loadRssMb: l.maxRssMb, taps: l.taps, readings: l.readings };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export default async function footprint(): Promise<BenchResult> {
  const base = await measure(false);
  const nr = await measure(true);
  const met = nr.idleRssMb <= 200 && nr.loadRssMb <= 200 && nr.coldStartMs <= 3000;
  return {
    name: 'footprint',
    figures: {
      'heap cap (--max-old-space-size, MB)': HEAP_MB,
      'young generation (--max-semi-space-size, MB)': 4,
      'load (taps/s + readings/s, s)': `${TAPS_PER_S} + ${READINGS_PER_S}, ${LOAD_S}`,
      'Node-RED: first start, seeds demo (ms)': nr.firstStartMs,
      'Node-RED: cold start to /healthz (ms)': nr.coldStartMs,
      'Node-RED: RSS idle (MB)': nr.idleRssMb,
      'Node-RED: RSS under load, max (MB)': nr.loadRssMb,
      'baseline (no Node-RED): first start (ms)': base.firstStartMs,
      'baseline: cold start to /healthz (ms)': base.coldStartMs,
      'baseline: RSS idle (MB)': base.idleRssMb,
      'baseline: RSS under load, max (MB)': base.loadRssMb,
      'Node-RED adds, idle (MB)': nr.idleRssMb - base.idleRssMb,
      'taps / readings sent (Node-RED run)': `${nr.taps} / ${nr.readings}`,
    },
    goal: 'RSS ≤ 200 MB idle and under load with Node-RED and the default flows; cold start ≤ 3 s to /healthz 200',
    met,
  };
}
