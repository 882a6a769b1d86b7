/**
 * `npm run bench -- footprint`: memory, start-up and idle cost of the demo gateway as users run it: the built bin
 * in its own process with the production flags, a fresh temp data dir, Node-RED with the default flows. Measured
 * beside the same gateway with Node-RED off, in the same run. RSS and CPU are the gateway process's own, from /proc
 * (bench/_proc.ts), sampled through each phase.
 *
 * Before any figure is reported the run confirms what it measured: Node-RED's health component says it runs its
 * flows, a deployed flow reacted (the CO2 ventilation flow sent a fan command for the readings sent), and every tap
 * and reading the load sent was processed (taps counted by the readers, readings stored). The readings' CO2 saw-tooth
 * crosses both levels every few seconds; since the fan's 60 s hold (2026-12-07, docs/node-red.md) the flow still
 * reads each of them but switches the fan once in a run, where it sent ~100 commands before.
 *
 * Goals: RSS ≤ 200 MB idle and under tap + sensor load; cold start ≤ 3 s to a 200 from /healthz (a restart on an
 * existing data dir; the very first start, which seeds the demo school, is printed too); idle CPU ≤ 0.3 % of one
 * core (Node-RED on, no traffic, no simulated devices), printed as CPU seconds per minute.
 *
 * The console session (issue 23 point 4, bench/_console-session.ts): the demo gateway with its simulated devices and
 * Node-RED, one person in headless Chromium opening every console page, then the alerts page and the camera wall
 * open with their live streams for BENCH_FOOTPRINT_SESSION_S, then the browser gone for BENCH_FOOTPRINT_AFTER_S.
 * Reported: the session's peak, its plateau (median of its last minute) and the plateau after the browser left,
 * each against the same 200 MB goal, with the gateway's V8 heap / external split at the end of each phase.
 *
 * Env: BENCH_FOOTPRINT_LOAD_S (20), BENCH_FOOTPRINT_IDLE_S (60), BENCH_FOOTPRINT_SETTLE_S (5),
 * BENCH_FOOTPRINT_SESSION_S (600), BENCH_FOOTPRINT_AFTER_S (120),
 * BENCH_FOOTPRINT_ONLY (unset: every scenario; `session` runs the console session alone, for finding memory;
 * `idle` the idle CPU alone, for finding wake-ups),
 * BENCH_FOOTPRINT_GATEWAY_FLAGS (extra node flags for the session's gateway, e.g. `--heapsnapshot-signal=SIGUSR2`
 * to take heap snapshots of it with `kill -USR2 <pid>`; they are written to its working directory).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { metricSum, nodeRedRunning, sleep, startGatewayChild, stopChild, until, withoutSimulatedDevices, type GatewayChild } from './_children.js';
import { consoleSession, type ConsoleSession } from './_console-session.js';
import { ProcSampler } from './_proc.js';
import type { BenchResult } from './run.js';
import { RAW_VALUE_COUNT } from '../gateway/sensors/raw-rows.js';

const LOAD_S = Number(process.env.BENCH_FOOTPRINT_LOAD_S ?? 20);
const IDLE_S = Number(process.env.BENCH_FOOTPRINT_IDLE_S ?? 60);
const SETTLE_S = Number(process.env.BENCH_FOOTPRINT_SETTLE_S ?? 5);
const SESSION_S = Number(process.env.BENCH_FOOTPRINT_SESSION_S ?? 600);
const AFTER_S = Number(process.env.BENCH_FOOTPRINT_AFTER_S ?? 120);
const TAPS_PER_S = 200;
const READINGS_PER_S = 100;
const READERS = ['demo-gate-in', 'demo-gate-out'];
const SENSOR = 'demo-sensor-101';
const GOAL_RSS_MB = 200;
const GOAL_START_MS = 3000;
const GOAL_IDLE_CPU_PCT = 0.3;

function writeConfig(dataDir: string, overlay: Record<string, unknown>): string {
  const file = join(dataDir, 'bench.yaml');
  const base = { http: { host: '127.0.0.1' }, mqtt: { host: '127.0.0.1' }, log: { level: 'warn', format: 'json' } };
  writeFileSync(file, `${JSON.stringify({ ...base, ...overlay }, null, 2)}\n`); // JSON is YAML
  return file;
}

async function metrics(gw: GatewayChild): Promise<string> {
  return (await fetch(`${gw.base}/metrics`)).text();
}

interface Load {
  peakRssMb: number;
  cpuPctOfCore: number;
  taps: number;
  readings: number;
  /** Every tap counted by its reader (as a tap or a debounced repeat) and every reading's three values stored. */
  processed: boolean;
  processedDetail: string;
  fanCommands: number;
}

/** Taps with the demo school's real cards at the demo gate readers, and readings (CO2 rising past the fan threshold) from a demo sensor. */
async function load(gw: GatewayChild, dataDir: string, sampler: ProcSampler): Promise<Load> {
  const db = new Database(join(dataDir, 'gateway.db'), { readonly: true });
  try {
    const uids = (db.prepare(`SELECT uid FROM cards WHERE status = 'active' LIMIT 2000`).all() as { uid: string }[]).map((r) => r.uid);
    const storedReadings = db.prepare(`SELECT COALESCE(SUM(${RAW_VALUE_COUNT}), 0) AS n FROM sensor_readings WHERE sensor = (SELECT id FROM sensor_keys WHERE sensor_id = ?)`);
    const readingsBefore = (storedReadings.get(SENSOR) as { n: number }).n;
    const readerCount = (text: string): number =>
      READERS.reduce((sum, r) => sum + metricSum(text, 'campus_reader_taps_total', `reader="${r}"`) + metricSum(text, 'campus_reader_debounced_total', `reader="${r}"`), 0);
    const tapsBefore = readerCount(await metrics(gw));
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    let fanCommands = 0;
    client.on('message', (topic) => {
      if (topic.endsWith('/fan')) fanCommands++;
    });
    await client.subscribeAsync('campus/actuators/+/fan', { qos: 0 });
    let taps = 0;
    let readings = 0;
    const w = sampler.window();
    const end = performance.now() + LOAD_S * 1000;
    while (performance.now() < end) {
      // 10 ticks a second keep the rate moderate and steady.
      for (let i = 0; i < TAPS_PER_S / 10; i++) {
        client.publish(`campus/readers/${READERS[taps % 2]}/tap`, JSON.stringify({ uid: uids[taps % uids.length]! }));
        taps++;
      }
      for (let i = 0; i < READINGS_PER_S / 10; i++) {
        const co2 = 600 + ((readings * 37) % 1400);
        client.publish(`campus/sensors/${SENSOR}`, JSON.stringify({ temperature: 22 + (readings % 5) / 2, humidity: 45, co2 }));
        readings++;
      }
      await sleep(100);
    }
    // Processed means counted by the gateway, not only sent: wait for it (bounded) before taking the figures.
    let tapsSeen = 0;
    let readingsStored = 0;
    const processed = await until(
      async () => {
        tapsSeen = readerCount(await metrics(gw)) - tapsBefore;
        readingsStored = (storedReadings.get(SENSOR) as { n: number }).n - readingsBefore;
        return tapsSeen >= taps && readingsStored >= readings * 3;
      },
      30_000,
      200,
    );
    const f = w.end();
    await client.endAsync();
    return {
      peakRssMb: f.peakRssMb,
      cpuPctOfCore: f.cpuPctOfCore,
      taps,
      readings,
      processed,
      processedDetail: `taps ${tapsSeen}/${taps}, reading values stored ${readingsStored}/${readings * 3}`,
      fanCommands,
    };
  } finally {
    db.close();
  }
}

interface Figures {
  firstStartMs: number;
  coldStartMs: number;
  idleRssMb: number;
  load: Load;
  nodeRed: { ok: boolean; detail: string };
}

async function measure(nodeRed: boolean): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-footprint-'));
  try {
    const configFile = writeConfig(dataDir, { nodeRed: { enabled: nodeRed } });
    const first = await startGatewayChild({ configFile, dataDir }); // seeds the demo school
    await stopChild(first);
    const gw = await startGatewayChild({ configFile, dataDir });
    const sampler = new ProcSampler(gw.pid);
    try {
      await sleep(SETTLE_S * 1000);
      const idleRssMb = sampler.window().end().endRssMb;
      const nr = nodeRed ? await nodeRedRunning(gw) : { ok: true, detail: 'off' };
      const l = await load(gw, dataDir, sampler);
      return { firstStartMs: first.startMs, coldStartMs: gw.startMs, idleRssMb, load: l, nodeRed: nr };
    } finally {
      sampler.stop();
      await stopChild(gw);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Context switches (voluntary + involuntary) so far of each thread of a process, summed by thread name. */
function threadSwitches(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const name = tid === String(pid) ? 'main' : (/^Name:\s+(.*)$/m.exec(st)?.[1] ?? '?');
      const n = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      out.set(name, (out.get(name) ?? 0) + n);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * CPU of an idle gateway: Node-RED on with the default flows, the demo school's data, no simulated devices (they
 * are traffic) and no clients, over IDLE_S seconds after it has settled.
 */
async function idle(): Promise<{ cpuSPerMin: number; cpuPct: number; rssMb: number; nodeRed: { ok: boolean; detail: string }; wakeups: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-footprint-idle-'));
  try {
    const configFile = writeConfig(dataDir, withoutSimulatedDevices());
    await stopChild(await startGatewayChild({ configFile, dataDir })); // seeds the demo school: not idle
    const gw = await startGatewayChild({ configFile, dataDir });
    const sampler = new ProcSampler(gw.pid, 1000);
    try {
      // Not idle: Node-RED's start-up, the first timers, and V8's memory reducer, which shrinks the heap start-up grew
      // in a few full GCs ~9-10 s after the process starts (seen with a PerformanceObserver; none came after them).
      // Settled 10 s, the minute measured began ~1.5 s after them, so a slower start could put them inside it: one
      // run read 0.53 % instead of ~0.2 %, its threads other than the main one waking 4 times as often, as GC helpers do.
      await sleep(Math.max(SETTLE_S, 20) * 1000);
      const nodeRed = await nodeRedRunning(gw);
      const w = sampler.window();
      const switches0 = threadSwitches(gw.pid);
      await sleep(IDLE_S * 1000);
      const f = w.end();
      const switches1 = threadSwitches(gw.pid);
      // Which threads woke, and how often: the event loop ("node"), libuv's pool, V8's, the checkpoint worker.
      const wakeups = [...switches1]
        .map(([name, n]) => [name, (n - (switches0.get(name) ?? 0)) / f.seconds] as const)
        .filter(([, perS]) => perS >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([name, perS]) => `${name} ${Math.round(perS * 10) / 10}`)
        .join(', ');
      // To 0.01 % (not the sampler's 0.1 %): the figure is near the goal, and rounded to 0.1 a 0.34 % passed it.
      const cpuPct = Math.round(((f.cpuS / f.seconds) * 100) * 100) / 100;
      return { cpuSPerMin: Math.round((f.cpuS / f.seconds) * 60 * 100) / 100, cpuPct, rssMb: f.peakRssMb, nodeRed, wakeups };
    } finally {
      sampler.stop();
      await stopChild(gw);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The demo gateway as a school first runs it (simulated devices on, Node-RED on) with one person at the console. */
async function session(): Promise<ConsoleSession> {
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-footprint-console-'));
  try {
    const configFile = writeConfig(dataDir, {});
    await stopChild(await startGatewayChild({ configFile, dataDir })); // seeds the demo school
    const extraFlags = (process.env.BENCH_FOOTPRINT_GATEWAY_FLAGS ?? '').split(' ').filter(Boolean);
    const gw = await startGatewayChild({ configFile, dataDir, extraFlags });
    console.log(`  console session: gateway pid ${gw.pid}`);
    try {
      await sleep(Math.max(SETTLE_S, 10) * 1000);
      return await consoleSession(gw, SESSION_S, AFTER_S);
    } finally {
      await stopChild(gw);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function sessionFigures(c: ConsoleSession): Record<string, number | string | boolean> {
  return {
    'console session (s), then browser gone (s)': `${SESSION_S}, ${AFTER_S}`,
    'console: pages shown': `${c.pagesShown}/${c.pagesShown + c.pagesFailed.length}${c.pagesFailed.length ? ` (failed: ${c.pagesFailed.join(', ')})` : ''}`,
    'console: live streams open, live at end': `${c.streamsOpen}, ${c.liveAtEnd}`,
    'console: gateway RSS before (MB)': c.startRssMb,
    'console: session peak RSS (MB)': c.sessionPeakRssMb,
    'console: session plateau RSS (MB)': c.sessionPlateauMb,
    'console: after-browser plateau RSS (MB)': c.afterPlateauMb,
    'console: heap used/total, external before (MB)': `${c.splitBefore.heapUsedMb}/${c.splitBefore.heapTotalMb}, ${c.splitBefore.externalMb}`,
    'console: heap used/total, external end of session (MB)': `${c.splitEndOfSession.heapUsedMb}/${c.splitEndOfSession.heapTotalMb}, ${c.splitEndOfSession.externalMb}`,
    'console: heap used/total, external after (MB)': `${c.splitAfter.heapUsedMb}/${c.splitAfter.heapTotalMb}, ${c.splitAfter.externalMb}`,
    'console: RSS every 30 s (MB)': c.trace,
  };
}

const sessionConfirmed = (c: ConsoleSession): boolean => c.pagesFailed.length === 0 && c.liveAtEnd && c.streamsOpen >= 2;
const sessionMet = (c: ConsoleSession): boolean =>
  sessionConfirmed(c) && c.sessionPeakRssMb <= GOAL_RSS_MB && c.sessionPlateauMb <= GOAL_RSS_MB && c.afterPlateauMb <= GOAL_RSS_MB;
const SESSION_GOAL = `console session: every page shown, both live streams open; gateway RSS ≤ ${GOAL_RSS_MB} MB at the session's peak, its plateau and after the browser left`;

export default async function footprint(): Promise<BenchResult> {
  if (process.env.BENCH_FOOTPRINT_ONLY === 'idle') {
    const still = await idle();
    return {
      name: 'footprint',
      figures: { 'idle: seconds measured': IDLE_S, 'idle: gateway CPU s per minute': still.cpuSPerMin, 'idle: gateway CPU % of a core': still.cpuPct, 'idle: wake-ups per second by thread': still.wakeups },
      goal: `idle CPU ≤ ${GOAL_IDLE_CPU_PCT} % of one core`,
      met: still.nodeRed.ok && still.cpuPct <= GOAL_IDLE_CPU_PCT,
    };
  }
  if (process.env.BENCH_FOOTPRINT_ONLY === 'session') {
    const c = await session();
    return { name: 'footprint', figures: sessionFigures(c), goal: SESSION_GOAL, met: sessionMet(c) };
  }
  const base = await measure(false);
  const nr = await measure(true);
  const still = await idle();
  const c = await session();
  // The fan commands come from the Node-RED flow alone: the run without Node-RED must see none.
  const confirmed =
    nr.nodeRed.ok && still.nodeRed.ok && nr.load.fanCommands > 0 && base.load.fanCommands === 0 && nr.load.processed && base.load.processed;
  const met =
    confirmed &&
    nr.idleRssMb <= GOAL_RSS_MB &&
    nr.load.peakRssMb <= GOAL_RSS_MB &&
    nr.coldStartMs <= GOAL_START_MS &&
    still.cpuPct <= GOAL_IDLE_CPU_PCT &&
    sessionMet(c);
  return {
    name: 'footprint',
    figures: {
      'runtime flags': '--max-old-space-size=256 --max-semi-space-size=4',
      'load (taps/s + readings/s, s)': `${TAPS_PER_S} + ${READINGS_PER_S}, ${LOAD_S}`,
      'Node-RED health': nr.nodeRed.detail,
      'Node-RED flow reacted (fan commands)': nr.load.fanCommands,
      'Node-RED run: load processed': `${nr.load.processed} (${nr.load.processedDetail})`,
      'Node-RED: first start, seeds demo (ms)': nr.firstStartMs,
      'Node-RED: cold start to /healthz (ms)': nr.coldStartMs,
      'Node-RED: gateway RSS idle (MB)': nr.idleRssMb,
      'Node-RED: gateway peak RSS under load (MB)': nr.load.peakRssMb,
      'Node-RED: gateway CPU under load (% of a core)': nr.load.cpuPctOfCore,
      'baseline (no Node-RED): first start (ms)': base.firstStartMs,
      'baseline: cold start to /healthz (ms)': base.coldStartMs,
      'baseline: gateway RSS idle (MB)': base.idleRssMb,
      'baseline: gateway peak RSS under load (MB)': base.load.peakRssMb,
      'baseline: fan commands (no Node-RED, should be 0)': base.load.fanCommands,
      'baseline: load processed': `${base.load.processed} (${base.load.processedDetail})`,
      'Node-RED adds, idle (MB)': Math.round((nr.idleRssMb - base.idleRssMb) * 10) / 10,
      'idle (Node-RED on, no devices): seconds measured': IDLE_S,
      'idle: gateway CPU s per minute': still.cpuSPerMin,
      'idle: gateway CPU % of a core': still.cpuPct,
      'idle: gateway peak RSS (MB)': still.rssMb,
      'idle: wake-ups per second by thread': still.wakeups,
      ...sessionFigures(c),
    },
    goal: `Node-RED running its flows and all load processed; gateway RSS ≤ ${GOAL_RSS_MB} MB idle and under load with Node-RED; cold start ≤ ${GOAL_START_MS / 1000} s to /healthz 200; idle CPU ≤ ${GOAL_IDLE_CPU_PCT} % of one core; ${SESSION_GOAL}`,
    met,
  };
}
