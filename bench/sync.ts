/**
 * `npm run bench -- sync`: drains a backlog of 1,000,000 envelopes from the SQLite outbox to a real Mosquitto
 * over MQTT QoS 1 (rows deleted on PUBACK, read in pages), and in the same run publishes the same number of
 * same-sized messages with bare mqtt.js QoS 1 and the same in-flight window to the same broker.
 * Goal: >= 20,000 envelopes/s and >= 50% of the bare rate, with RSS bounded (peak RSS printed).
 * SYNC_BENCH_N overrides the count. Needs the Debian package `mosquitto`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { dataExamples } from '../cloud-sync/examples.js';
import { Outbox, outboxMigrations } from '../cloud-sync/outbox.js';
import { Sender } from '../cloud-sync/sender.js';
import { MqttTransport } from '../cloud-sync/transports/mqtt.js';
import { openDatabase } from '../gateway/storage/db.js';
import { freePort } from './_net.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.SYNC_BENCH_N ?? 1_000_000);
const WINDOW = 2000;
const TOPIC = 'city/bench-district/schools/bench-school';

/**
 * Mosquitto cannot listen on port 0 and say where it is: the port is picked free first, and if another process
 * takes it before mosquitto binds, mosquitto exits and this tries another. Ready when it logs that it is running.
 */
async function startMosquitto(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, [`listener ${port} 127.0.0.1`, `user ${userInfo().username}`, 'allow_anonymous true', 'persistence false', 'log_type error', 'log_type information', 'log_dest stderr'].join('\n'));
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const started = await new Promise<boolean>((resolve) => {
      proc.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/mosquitto version \S+ running/.test(stderr)) resolve(true);
      });
      proc.once('exit', () => resolve(false));
    });
    if (started) return { port, stop: () => new Promise((r) => (proc.once('exit', () => r()), proc.kill('SIGTERM'))) };
    if (attempt >= 5 || !/Address already in use/i.test(stderr)) throw new Error(`mosquitto did not start: ${stderr}`);
  }
}

class PeakRss {
  peak = 0;
  private readonly timer = setInterval(() => this.sample(), 100);
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return Math.round(this.peak / 1024 / 1024);
  }
}

async function rawPublish(url: string, payload: string, n: number): Promise<number> {
  const client = await mqtt.connectAsync(url, { clientId: 'bench-raw', clean: true, reconnectPeriod: 0 });
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let inflight = 0;
    const pump = (): void => {
      while (inflight < WINDOW && sent < n) {
        sent++;
        inflight++;
        client.publish(`${TOPIC}/alerts`, payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          inflight--;
          acked++;
          if (acked === n) resolve();
          else if (sent < n) pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  await client.endAsync();
  return n / seconds;
}

export default async function bench(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'campus-bench-sync-'));
  const broker = await startMosquitto(dir);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const log = pino({ level: 'silent' });
  try {
    const db = openDatabase(join(dir, 'gateway.db'), outboxMigrations);
    const outbox = new Outbox(db, {
      schoolId: 'bench-school',
      maxBytes: 4 * 1024 * 1024 * 1024,
      priority: { alerts: 0, 'command-results': 1, attendance: 2, environment: 3, heartbeat: 4 },
      ttlMs: { alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: 0 },
    });
    const fillStarted = performance.now();
    const now = Date.now();
    const chunk = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) outbox.enqueue('alert.raised', { ...dataExamples['alert.raised'], count: i + 1 }, now, now);
    });
    for (let i = 0; i < N; i += 20_000) chunk(i, Math.min(N, i + 20_000));
    const fillS = (performance.now() - fillStarted) / 1000;
    const sample = outbox.page('alerts', 0, 1)[0]!;
    const payload = `${sample.body.slice(0, -1)},"sentAt":"${new Date().toISOString()}"}`;

    // Baseline first, on a fresh broker connection, with the same payload size and window.
    const rawRate = await rawPublish(url, payload, N);

    const rss = new PeakRss();
    const transport = new MqttTransport({
      url,
      clientId: 'bench-school',
      topicFor: (s) => `${TOPIC}/${s}`,
      commandsTopic: `${TOPIC}/commands`,
      rejectUnauthorized: true,
      protocolVersion: 4,
      keepaliveS: 30,
      window: WINDOW,
      backoff: { initialMs: 100, maxMs: 1000 },
      log,
    });
    const sender = new Sender(outbox, transport, { pageSize: 1000, bandwidthBytesPerS: 0, backoff: { initialMs: 100, maxMs: 1000 }, now: () => Date.now() });
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (outbox.total() === 0 && sender.status().inflight === 0) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    transport.start({ onUp: () => sender.onUp(), onDown: (e) => sender.onDown(e), onCommand: () => {} });
    sender.start();
    await done;
    const seconds = (performance.now() - started) / 1000;
    const peakRss = rss.stop();
    sender.stop();
    await transport.stop();
    const left = (db.prepare('SELECT COUNT(*) AS n FROM cloud_outbox').get() as { n: number }).n;
    db.close();

    const rate = N / seconds;
    const ratio = rate / rawRate;
    const met = rate >= 20_000 && ratio >= 0.5 && left === 0;
    return {
      name: 'sync',
      figures: {
        envelopes: N,
        'envelope bytes': sample.bytes,
        'outbox fill s': fillS.toFixed(1),
        'outbox drain envelopes/s': Math.round(rate),
        'outbox drain s': seconds.toFixed(1),
        'rows left in outbox': left,
        'bare mqtt.js QoS 1 msgs/s': Math.round(rawRate),
        'drain / bare': `${(ratio * 100).toFixed(0)}%`,
        'peak RSS MB (during drain)': peakRss,
        'in-flight window': WINDOW,
      },
      goal: '>= 20,000 envelopes/s, >= 50% of bare mqtt.js QoS 1, all rows delivered, RSS bounded',
      met,
    };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
