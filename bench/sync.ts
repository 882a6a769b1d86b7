/**
 * `npm run bench -- sync`: the gateway (its own process, the built bin with the production flags) drains a backlog of
 * 1,000,000 envelopes from its SQLite outbox to a real Mosquitto as the city broker, over MQTT QoS 1 (rows deleted
 * on PUBACK, read in pages). Baseline, same run, same broker: bare mqtt.js in its own process publishing the same
 * number of same-sized messages at QoS 1 with the same in-flight window (bench/_mqtt-publisher.ts).
 * Goals: >= 20,000 envelopes/s, >= 50 % of the bare rate, every row delivered, and the gateway's peak RSS (from
 * /proc, sampled through the drain) <= 200 MB.
 *
 * The backlog is written into the stopped gateway's database (after a first start has created its schema), as a
 * school that was cut off from the city for days would have it; the gateway starts draining as soon as it is up.
 * SYNC_BENCH_N overrides the count. Needs the Debian package `mosquitto`. `--cpu-prof`: the draining gateway writes a
 * V8 CPU profile into bench/results/.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { dataExamples } from '../cloud-sync/examples.js';
import { Outbox } from '../cloud-sync/outbox.js';
import { demoConfig } from '../config/demo.js';
import { openDatabase } from '../gateway/storage/db.js';
import { cpuProfileFlags } from './_args.js';
import { ask, forkHelper, nextMessage, sleep, startGatewayChild, stopChild, withoutSimulatedDevices } from './_children.js';
import { startMosquitto } from './_net.js';
import { ProcSampler, type ProcFigures, type ProcWindow } from './_proc.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.SYNC_BENCH_N ?? 1_000_000);
const WINDOW = 2000;
const SCHOOL = demoConfig.school?.id ?? 'demo-school';
const TOPIC = `city/bench/schools/${SCHOOL}`;
const GOAL_RATE = 20_000;
const GOAL_RATIO = 0.5;
const GOAL_RSS_MB = 200;

/** Writes N alert envelopes into the gateway's outbox, 20,000 a transaction; returns the highest seq and one row. */
function fill(dbFile: string): { fillS: number; lastSeq: number; bytes: number; body: string } {
  const db = openDatabase(dbFile, []);
  try {
    const outbox = new Outbox(db, {
      schoolId: SCHOOL,
      maxBytes: 4 * 1024 * 1024 * 1024,
      priority: { alerts: 0, 'command-results': 1, attendance: 2, environment: 3, heartbeat: 4 },
      ttlMs: { alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: 0 },
    });
    const t0 = performance.now();
    const now = Date.now();
    const chunk = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) outbox.enqueue('alert.raised', { ...dataExamples['alert.raised'], count: i + 1 }, now, now);
    });
    for (let i = 0; i < N; i += 20_000) chunk(i, Math.min(N, i + 20_000));
    const fillS = (performance.now() - t0) / 1000;
    const last = db.prepare('SELECT MAX(seq) AS seq FROM cloud_outbox').get() as { seq: number };
    const sample = outbox.page('alerts', 0, 1)[0]!;
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { fillS, lastSeq: last.seq, bytes: sample.bytes, body: sample.body };
  } finally {
    db.close();
  }
}

export default async function bench(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'campus-bench-sync-'));
  const broker = await startMosquitto(dir);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  try {
    // Laid over the demo school (arrays replace): the city is the local Mosquitto; the simulated devices are off so
    // that the backlog is the only traffic; Node-RED stays on, as a school runs it.
    const overlay = {
      http: { host: '127.0.0.1' },
      mqtt: { host: '127.0.0.1' },
      log: { level: 'warn' },
      ...withoutSimulatedDevices(),
      cloud: { enabled: true, upstreamUrl: url, topicTemplate: 'city/bench/schools/{schoolId}/{stream}', outboxMaxBytes: 4 * 1024 * 1024 * 1024, inflightWindow: WINDOW },
    };
    const configFile = join(dir, 'bench.yaml');
    writeFileSync(configFile, `${JSON.stringify(overlay, null, 2)}\n`); // JSON is YAML
    const dbFile = join(dir, 'gateway.db');

    // First start: schema and the demo school; then the backlog is written while the gateway is stopped.
    await stopChild(await startGatewayChild({ configFile, dataDir: dir }));
    const filled = fill(dbFile);
    const payload = `${filled.body.slice(0, -1)},"sentAt":"${new Date().toISOString()}"}`;

    // Baseline first, in its own process, with the same payload size and window, to the same broker.
    const publisher = forkHelper('_mqtt-publisher');
    let rawRate: number;
    try {
      await nextMessage(publisher, (m): m is { ready: true } => typeof m === 'object' && m !== null && 'ready' in m);
      rawRate = (await ask<{ msgPerS: number }>(publisher, 'publish', { url, topic: `${TOPIC}/alerts`, payload, n: N, window: WINDOW }, 600_000)).msgPerS;
    } finally {
      await stopChild(publisher);
    }

    // The drain: progress read from the database (the backlog's rows are seq <= lastSeq) in a read-only connection,
    // from the moment the gateway process exists (it starts sending as soon as its city link is up).
    const db = new Database(dbFile, { readonly: true });
    const left = db.prepare('SELECT COUNT(*) AS n FROM cloud_outbox WHERE seq <= ?');
    const remaining = (): number => (left.get(filled.lastSeq) as { n: number }).n;
    let sampler: ProcSampler | undefined;
    let window: ProcWindow | undefined;
    // The drain began somewhere between the last reading that saw the whole backlog and the first that did not:
    // timing from the former counts that gap against the gateway, never for it.
    let startedAt = performance.now();
    let rest = N;
    const poll = (): void => {
      rest = remaining();
      if (rest === N && sampler) {
        startedAt = performance.now();
        window?.end();
        window = sampler.window();
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const gw = await startGatewayChild({
      configFile,
      dataDir: dir,
      extraFlags: cpuProfileFlags(),
      onSpawn: (child) => {
        sampler = new ProcSampler(child.pid);
        window = sampler.window();
        timer = setInterval(poll, 250);
      },
    });
    let drain: { seconds: number; proc: ProcFigures };
    try {
      const deadline = Date.now() + Math.max(120_000, N);
      while (rest > 0 && Date.now() < deadline) await sleep(250);
      clearInterval(timer);
      poll();
      drain = { seconds: (performance.now() - startedAt) / 1000, proc: window!.end() };
    } finally {
      clearInterval(timer);
      sampler?.stop();
      db.close();
      await stopChild(gw);
    }

    const rate = (N - rest) / drain.seconds;
    const ratio = rate / rawRate;
    const met = rate >= GOAL_RATE && ratio >= GOAL_RATIO && rest === 0 && drain.proc.peakRssMb <= GOAL_RSS_MB;
    return {
      name: 'sync',
      figures: {
        envelopes: N,
        'envelope bytes': filled.bytes,
        'outbox fill s': filled.fillS.toFixed(1),
        'gateway drain envelopes/s': Math.round(rate),
        'gateway drain s': drain.seconds.toFixed(1),
        'rows left in outbox': rest,
        'bare mqtt.js QoS 1 msgs/s (own process)': Math.round(rawRate),
        'drain / bare': `${(ratio * 100).toFixed(0)}%`,
        'gateway peak RSS MB (during drain)': drain.proc.peakRssMb,
        'gateway peak RSS MB (start-up and drain)': sampler!.peakRssMb,
        'gateway CPU % of a core (during drain)': drain.proc.cpuPctOfCore,
        'in-flight window': WINDOW,
      },
      goal: `>= ${GOAL_RATE.toLocaleString('en')} envelopes/s, >= ${GOAL_RATIO * 100}% of bare mqtt.js QoS 1 (same run), every row delivered, gateway peak RSS <= ${GOAL_RSS_MB} MB during the drain`,
      met,
    };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
