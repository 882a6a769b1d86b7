/**
 * `npm run bench -- taps`: tap → decision latency over loopback MQTT on a gateway holding 100,000 cards and
 * 1,000,000 stored taps, at 1,000 taps/s from a real MQTT client; beside it, in the same run and at the same
 * rate, the bare broker round trip (publish → receive on the same broker) as the floor nothing can beat.
 *
 * The topology is a school's: the gateway runs as its own process (the built bin with the recommended runtime
 * flags, see docs/operations.md) and the readers are clients in this process, so neither side's work or GC counts
 * against the other. The baseline is a bare Aedes broker in its own process, with the same flags and the same
 * clients. Needs a build (`npx tsc -p tsconfig.build.json`): the gateway is started from dist/.
 *
 * Options (after `--`): --rate=1000 --seconds=10 --warm-up-s=4 --cards=100000 --taps=1000000 --synchronous=full --delay-ms=N
 * --cpu-prof (the gateway writes a V8 CPU profile of the measured run to bench/results/, for DevTools)
 *
 * A large school (200 logged-in readers, 20 event streams, Node-RED's flows) is bench/taps-large.ts; both share
 * bench/_latency.ts (pacing, percentiles, the bare broker baseline) and bench/_seed-cards.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { demoConfig } from '../config/demo.js';
import { deepMerge, validateConfig } from '../config/load.js';
import { killAllChildren, startGatewayChild, stopChild } from './_children.js';
import { ascending, bareRoundTrip, connectClient, ms, paced, percentile, sampleMachine, scrape, steadierFloor, tapLatencyFigures, type MachineSample, type Scrape } from './_latency.js';
import { gateSchoolOverlay, seedCardsAndTaps, tapPayload, uidOf } from './_seed-cards.js';
import { ProcSampler, type ProcFigures } from './_proc.js';
import { cpuProfileFlags, numberArg, tapLoadArgs } from './_args.js';
import type { BenchResult } from './run.js';

const READERS = 10;

export default async function bench(): Promise<BenchResult> {
  const { rate, count, warmUp, nCards, nTaps } = tapLoadArgs({ cards: 100_000, taps: 1_000_000 });
  const payloadOf = tapPayload(nCards);
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-bench-taps-'));
  // The gate path only: no simulated devices or flows competing for the two cores. The storage defaults (commit at
  // the end of the event-loop turn, WAL with synchronous=normal) unless asked: `--synchronous=full` measures the
  // fsync-per-commit mode, `--delay-ms=N` a batching delay.
  const overlay = gateSchoolOverlay(dataDir, 'bench-gate', READERS, { type: 'mqtt' }, {
    nodeRed: { enabled: false },
    storage: { batchMaxDelayMs: numberArg('delay-ms', 0), synchronous: process.argv.includes('--synchronous=full') ? 'full' : 'normal' },
  });
  const readers = overlay.readers;
  // What the child will run with, checked here first so a bad overlay fails before any process is started.
  const config = validateConfig(deepMerge(demoConfig, overlay), 'bench');
  const configFile = join(dataDir, 'bench.yaml');
  writeFileSync(configFile, `${JSON.stringify(overlay, null, 2)}\n`); // JSON is YAML
  const dbFile = join(dataDir, 'gateway.db');

  const clients: MqttClient[] = [];
  const connect = async (port: number): Promise<MqttClient> => {
    const c = await connectClient(port);
    clients.push(c);
    return c;
  };
  const closeClients = async (): Promise<void> => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  };
  try {
    // First start: the gateway creates its schema and seeds the demo school; then it is stopped for the bulk load.
    const first = await startGatewayChild({ configFile, dataDir });
    const firstExit = await stopChild(first);
    if (firstExit.code !== 0) throw new Error(`gateway did not stop cleanly (${JSON.stringify(firstExit)}):\n${first.output()}`);

    // 100,000 people with a card each and 1,000,000 stored taps over the last 30 days, written straight into the
    // stopped gateway's database.
    const seedS = seedCardsAndTaps(dbFile, { cards: nCards, taps: nTaps, readerIds: readers.map((r) => r.id), accessPoint: 'bench-gate' });

    // Baseline: a bare broker in its own process, publish → receive, same client kind, same QoS, same rate.
    const echoLat = await bareRoundTrip(count, warmUp, rate, payloadOf);
    // A second floor, printed and judged by nothing: the same bare broker answering only after a row is committed.
    const rowLat = await bareRoundTrip(count, warmUp, rate, payloadOf, 1, join(dataDir, 'floor-rows.db'));

    // The gateway again, now holding the seeded cards and taps.
    const gw = await startGatewayChild({ configFile, dataDir, extraFlags: cpuProfileFlags() });
    const sampler = new ProcSampler(gw.pid);
    let gwProc: ProcFigures;
    const tapLat: number[] = [];
    let denied = 0;
    let before: Scrape;
    let after: Scrape;
    let benchCpu: NodeJS.CpuUsage;
    let machine0: MachineSample;
    let machine1: MachineSample;
    try {
      // Taps: a terminal client publishes to the readers' tap topics; decisions come back per reader in order.
      const terminal = await connect(gw.mqttPort);
      await terminal.subscribeAsync('campus/readers/+/decision', { qos: 1 });
      const pending = new Map<string, number[]>(readers.map((r) => [r.id, []]));
      terminal.on('message', (topic, payload) => {
        const readerId = topic.split('/')[2]!;
        const at = pending.get(readerId)?.shift();
        if (at === undefined) return;
        tapLat.push(performance.now() - at);
        if (!(JSON.parse(payload.toString()) as { granted: boolean }).granted) denied++;
      });
      // Warm-up (JIT, page cache), not measured: as long as the baseline's (bench/_args.ts).
      await paced(warmUp, rate, (i) => {
        const r = readers[i % READERS]!.id;
        pending.get(r)!.push(performance.now());
        terminal.publish(`campus/readers/${r}/tap`, JSON.stringify({ uid: uidOf((nCards - 1 - i) % nCards), seq: 1_000_000 + i }), { qos: 1 });
      }, () => tapLat.length, 30_000);
      tapLat.length = 0;
      denied = 0;

      before = await scrape(gw.base);
      machine0 = sampleMachine(gw.pid);
      const window = sampler.window();
      benchCpu = process.cpuUsage();
      await paced(count, rate, (i) => {
        const r = readers[i % READERS]!.id;
        pending.get(r)!.push(performance.now());
        terminal.publish(`campus/readers/${r}/tap`, payloadOf(i), { qos: 1 });
      }, () => tapLat.length, 30_000);
      benchCpu = process.cpuUsage(benchCpu);
      gwProc = window.end();
      machine1 = sampleMachine(gw.pid);
      after = await scrape(gw.base);
    } finally {
      sampler.stop();
      await closeClients();
      const exit = await stopChild(gw);
      if (exit.code !== 0) console.error(`gateway did not stop cleanly (${JSON.stringify(exit)}):\n${gw.output()}`);
    }

    // The floor again, the gateway stopped: a round the machine disturbed must not loosen the goal (steadierFloor).
    const echoAfter = await bareRoundTrip(count, warmUp, rate, payloadOf);

    const check = new Database(dbFile, { readonly: true });
    let storedTaps: number;
    try {
      storedTaps = (check.prepare('SELECT COUNT(*) AS n FROM taps').get() as { n: number }).n;
    } finally {
      check.close();
    }

    const taps = ascending(tapLat);
    const { base, rounds: floorRounds } = steadierFloor(ascending(echoLat), ascending(echoAfter));
    const p99 = percentile(taps, 99);
    const bareP99 = percentile(base, 99);
    // The floor nothing can beat is the bare round trip; the goal allows the gateway twice it, measured in this run.
    const limit = 2 * bareP99;
    return {
      name: 'taps',
      figures: {
        'cards': nCards,
        'stored taps before run': nTaps,
        'stored taps after run': storedTaps,
        'seed time s': Math.round(seedS * 10) / 10,
        ...tapLatencyFigures({ rate, taps, denied, base, floorRounds, before, after }),
        'taps over 5 ms': taps.filter((x) => x > 5).length,
        'storage.synchronous': config.storage.synchronous,
        'storage.batchMaxDelayMs': config.storage.batchMaxDelayMs,
        'goal: 2 × baseline p99 ms': ms(limit),
        // The owners' question (docs/access.md, Benchmark): which floor this goal is to be judged against.
        'floor with a committed row p50 ms (not judged)': ms(percentile(ascending(rowLat), 50)),
        'floor with a committed row p99 ms (not judged)': ms(percentile(ascending(rowLat), 99)),
        'gateway process peak RSS MB (from start)': sampler.peakRssMb,
        'gateway process peak RSS MB (measured run)': gwProc.peakRssMb,
        'gateway process CPU % of a core (measured run)': gwProc.cpuPctOfCore,
        // What the gateway process (all its threads) and this load generator spent per tap: on a 2-core box the
        // two share the CPU, and the busier the gateway's event loop the longer any stall takes to drain.
        'gateway CPU ms per tap': ms((gwProc.cpuS * 1000) / count),
        'load generator CPU ms per tap': ms((benchCpu.user + benchCpu.system) / 1000 / count),
        // Objects that outlive two scavenges fill the old space; each full GC then marks on the main thread (14 ms in
        // ~90 steps, traced; 20-30 ms before the fixes in docs/access.md) and taps queue behind the longer steps.
        'gateway full GCs during run': after.majorGcs - before.majorGcs,
        'gateway scavenges during run': after.scavenges - before.scavenges,
        'gateway scavenge ms during run': ms((after.scavengeS - before.scavengeS) * 1000),
        'gateway waiting for a CPU ms': ms((machine1.mainWaitNs - machine0.mainWaitNs) / 1e6),
        'host steal % during run': Math.round((1000 * (machine1.steal - machine0.steal)) / (machine1.total - machine0.total)) / 10,
      },
      goal: `tap→decision p99 ≤ 2 × the bare broker round-trip p99 of the same run (${ms(limit)} ms) at ${rate} taps/s with ${nCards} cards and ${nTaps} stored taps; none denied, every tap answered`,
      met: Number.isFinite(limit) && p99 <= limit && denied === 0 && taps.length === count,
    };
  } finally {
    await closeClients();
    await killAllChildren();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
