/**
 * `npm run bench -- taps`: tap → decision latency over loopback MQTT on a gateway holding 100,000 cards and
 * 1,000,000 stored taps, at 1,000 taps/s from a real MQTT client; beside it, in the same run and at the same
 * rate, the bare broker round trip (publish → receive on the same broker) as the floor nothing can beat.
 *
 * Options (after `--`): --rate=1000 --seconds=10 --cards=100000 --taps=1000000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { ulid } from 'ulid';
import { demoConfig } from '../config/demo.js';
import { deepMerge, validateConfig } from '../config/load.js';
import { startGateway } from '../gateway/compose.js';
import type { BenchResult } from './run.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};

const READERS = 10;
const uidOf = (i: number): string => `B${i.toString(16).toUpperCase().padStart(7, '0')}`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const ms = (x: number): number => Math.round(x * 1000) / 1000;

/** Sends `count` messages at `rate`/s, spread evenly (not in bursts); resolves when all have been answered. */
async function paced(count: number, rate: number, send: (i: number) => void, answered: () => number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      while (sent < due) send(sent++);
      if (sent >= count) {
        clearInterval(timer);
        const deadline = performance.now() + timeoutMs;
        const wait = setInterval(() => {
          if (answered() >= count) {
            clearInterval(wait);
            resolve();
          } else if (performance.now() > deadline) {
            clearInterval(wait);
            reject(new Error(`only ${answered()} of ${count} answered`));
          }
        }, 5);
      }
    }, 1);
  });
}

export default async function bench(): Promise<BenchResult> {
  const rate = arg('rate', 1000);
  const seconds = arg('seconds', 10);
  const nCards = arg('cards', 100_000);
  const nTaps = arg('taps', 1_000_000);
  const count = rate * seconds;
  const dataDir = mkdtempSync(join(tmpdir(), 'campus-bench-taps-'));
  const readers = Array.from({ length: READERS }, (_, i) => ({
    id: `bench-gate-${i}`,
    accessPoint: 'bench-gate',
    direction: i % 2 === 0 ? ('in' as const) : ('out' as const),
    debounceMs: 0,
    driver: { type: 'mqtt' as const },
  }));
  const config = validateConfig(
    deepMerge(demoConfig, {
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
      readers,
      access: { accessPoints: [{ id: 'bench-gate', name: 'Bench gate', kind: 'gate', gateId: 'bench-gate' }] },
      // The gate path only: no simulated devices or flows competing for the two cores.
      sensors: { sensors: [] },
      cameras: { cameras: [] },
      nodeRed: { enabled: false },
      cloud: { enabled: false },
      // The defaults (commit at the end of the event-loop turn, WAL with synchronous=normal) unless asked:
      // `--synchronous=full` measures the fsync-per-commit mode, `--delay-ms=N` a batching delay.
      storage: { batchMaxDelayMs: arg('delay-ms', 0), synchronous: process.argv.includes('--synchronous=full') ? 'full' : 'normal' },
    }),
    'bench',
  );
  const gw = await startGateway({ config, demo: true, log: pino({ level: 'warn' }) });
  const clients: MqttClient[] = [];
  try {
    // 100,000 people with a card each and 1,000,000 stored taps over the last 30 days, in one transaction each.
    const db = gw.ctx.db;
    const t0 = performance.now();
    const now = Date.now();
    const iso = new Date(now).toISOString();
    // A large page cache for the bulk load only: the per-person index takes random inserts.
    const cacheSize = db.pragma('cache_size', { simple: true }) as number;
    db.pragma('cache_size = -524288');
    db.transaction(() => {
      const p = db.prepare(
        `INSERT INTO persons (id, external_id, name, role, grade, class, schedule_group, created_at, updated_at)
         VALUES (?, ?, ?, 'student', '初二', ?, 'day', ?, ?)`,
      );
      const c = db.prepare(`INSERT INTO cards (uid, person_id, status, issued_at, updated_at) VALUES (?, ?, 'active', ?, ?)`);
      for (let i = 0; i < nCards; i++) {
        p.run(1_000_000 + i, `B${i}`, `学生${i}`, `初二(${i % 20})班`, iso, iso);
        c.run(uidOf(i), 1_000_000 + i, iso, iso);
      }
    })();
    db.transaction(() => {
      const t = db.prepare(
        `INSERT INTO taps (id, at, reader_id, uid, seq, amount, access_point, direction, gate_id, person_id, granted, reason, balance)
         VALUES (?, ?, ?, ?, NULL, NULL, 'bench-gate', ?, 'bench-gate', ?, 1, 'ok', NULL)`,
      );
      const span = 30 * 86_400_000;
      for (let i = 0; i < nTaps; i++) {
        const at = now - span + Math.floor((i / nTaps) * span);
        const card = (i * 7919) % nCards;
        t.run(ulid(at, Math.random), at, `bench-gate-${i % READERS}`, uidOf(card), i % 2 === 0 ? 'in' : 'out', 1_000_000 + card);
      }
    })();
    db.exec('ANALYZE');
    // Start from a checkpointed WAL, as a gateway that has been running would.
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma(`cache_size = ${cacheSize}`);
    const seedS = (performance.now() - t0) / 1000;

    const connect = async (): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
      // A terminal waiting for its answer sends each small packet at once; with Nagle on, a QoS 1 PUBACK
      // exchange on loopback costs ~20 ms for both paths alike and hides everything else.
      (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      clients.push(c);
      return c;
    };

    // Taps: a terminal client publishes to the readers' tap topics; decisions come back per reader in order.
    const terminal = await connect();
    await terminal.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    const pending = new Map<string, number[]>(readers.map((r) => [r.id, []]));
    const tapLat: number[] = [];
    let denied = 0;
    terminal.on('message', (topic, payload) => {
      const readerId = topic.split('/')[2]!;
      const at = pending.get(readerId)?.shift();
      if (at === undefined) return;
      tapLat.push(performance.now() - at);
      if (!(JSON.parse(payload.toString()) as { granted: boolean }).granted) denied++;
    });
    // Warm-up (JIT, page cache), not measured.
    const warm = Math.min(500, count);
    await paced(warm, rate, (i) => {
      const r = readers[i % READERS]!.id;
      pending.get(r)!.push(performance.now());
      terminal.publish(`campus/readers/${r}/tap`, JSON.stringify({ uid: uidOf((nCards - 1 - i) % nCards), seq: 1_000_000 + i }), { qos: 1 });
    }, () => tapLat.length, 30_000);
    tapLat.length = 0;
    denied = 0;
    // Baseline: the broker alone, publish → receive, same client kind, same QoS, same rate.
    const echo = await connect();
    await echo.subscribeAsync('bench/echo/#', { qos: 1 });
    const echoSent = new Map<number, number>();
    const echoLat: number[] = [];
    echo.on('message', (topic) => {
      if (!topic.startsWith('bench/echo/')) return;
      const n = Number(topic.slice(11));
      const at = echoSent.get(n);
      if (at !== undefined) echoLat.push(performance.now() - at);
    });
    await paced(count, rate, (i) => {
      echoSent.set(i, performance.now());
      echo.publish(`bench/echo/${i}`, JSON.stringify({ uid: uidOf(i % nCards), seq: i }), { qos: 1 });
    }, () => echoLat.length, 30_000);

    // Inside the gateway (same process): tap.received → tap.decided, i.e. decision plus durable write, no MQTT.
    const inside: number[] = [];
    const receivedAt = new Map<string, number>();
    const offReceived = gw.ctx.bus.on('tap.received', (t) => receivedAt.set(`${t.readerId}:${t.seq}`, performance.now()));
    const offDecided = gw.ctx.bus.on('tap.decided', (d) => {
      const at = receivedAt.get(`${d.readerId}:${d.seq}`);
      if (at !== undefined) inside.push(performance.now() - at);
    });
    const rssBefore = process.memoryUsage().rss;
    await paced(count, rate, (i) => {
      const r = readers[i % READERS]!.id;
      pending.get(r)!.push(performance.now());
      terminal.publish(`campus/readers/${r}/tap`, JSON.stringify({ uid: uidOf(i % nCards), seq: i }), { qos: 1 });
    }, () => tapLat.length, 30_000);

    offReceived();
    offDecided();
    const taps = [...tapLat].sort((a, b) => a - b);
    const insideSorted = inside.sort((a, b) => a - b);
    const base = [...echoLat].sort((a, b) => a - b);
    const p99 = percentile(taps, 99);
    const storedTaps = (db.prepare('SELECT COUNT(*) AS n FROM taps').get() as { n: number }).n;
    return {
      name: 'taps',
      figures: {
        'cards': nCards,
        'stored taps before run': nTaps,
        'stored taps after run': storedTaps,
        'seed time s': Math.round(seedS * 10) / 10,
        'rate taps/s': rate,
        'taps measured': taps.length,
        'taps denied (should be 0)': denied,
        'tap→decision p50 ms': ms(percentile(taps, 50)),
        'tap→decision p99 ms': ms(p99),
        'tap→decision max ms': ms(taps[taps.length - 1] ?? Number.NaN),
        'in gateway received→decided p50 ms': ms(percentile(insideSorted, 50)),
        'in gateway received→decided p99 ms': ms(percentile(insideSorted, 99)),
        'baseline broker round trip p50 ms': ms(percentile(base, 50)),
        'baseline broker round trip p99 ms': ms(percentile(base, 99)),
        'storage.synchronous': config.storage.synchronous,
        'storage.batchMaxDelayMs': config.storage.batchMaxDelayMs,
        'rss MB': Math.round(Math.max(rssBefore, process.memoryUsage().rss) / 1_048_576),
      },
      goal: 'tap→decision p99 ≤ 5 ms at 1,000 taps/s with 100,000 cards and 1,000,000 stored taps',
      met: p99 <= 5 && denied === 0 && taps.length === count,
    };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await gw.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
