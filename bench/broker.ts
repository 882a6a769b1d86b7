/**
 * `npm run bench -- broker`: QoS 0 and QoS 1 publish → subscribe throughput through the gateway's embedded broker
 * (device logins, topic ACLs and every limit on, the publish rate per device set above what the bench sends; see
 * bench/_embedded-broker.ts) beside bare Aedes (bench/_bare-aedes.ts), each in its own process with the
 * production flags, the same clients in this process, in the same run. Goal: embedded ≥ 90 % of bare Aedes at
 * QoS 0 and at QoS 1.
 *
 * Env: BENCH_BROKER_MESSAGES (per publisher, 30,000), BENCH_BROKER_ROUNDS (5). `--cpu-prof`: the embedded broker's
 * process writes a V8 CPU profile into bench/results/.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { cpuProfileFlags } from './_args.js';
import { forkHelper, helperPort, stopChild, type Child } from './_children.js';
import { ProcSampler, type ProcFigures } from './_proc.js';
import type { BenchResult } from './run.js';

const PUBLISHERS = 8;
// 240,000 messages a measurement, 2-3 s: with 80,000 (under a second, a good part of it JIT warm-up) QoS 1's ratio
// read 83-103 % from run to run; with these, QoS 0 read 85-94 % and QoS 1 92-104 % over a day's runs.
const MESSAGES_PER_PUBLISHER = Number(process.env.BENCH_BROKER_MESSAGES ?? 30_000);
// Five rounds, each broker's best kept. One measurement of the same bare broker read 20,658 and then 37,023 msg/s at
// QoS 1 a few seconds apart (2026-12-07, the 2-core VM, with 1-17 % steal): with three rounds the verdict followed
// whichever side the machine happened to disturb in all of its rounds (QoS 1 at 77.9-100.7 % in one hour).
const ROUNDS = Number(process.env.BENCH_BROKER_ROUNDS ?? 5);
const GOAL = 0.9;
const SECRET = 'bench-device-secret';
const PAYLOAD = JSON.stringify({ uid: '0A1B2C3D', seq: 1, at: '2026-09-01T07:30:00.000Z' });

type Kind = 'bare' | 'emb';

interface Target {
  child: Child;
  port: number;
  publisherOpts: (i: number) => mqtt.IClientOptions;
  subscriberOpts: mqtt.IClientOptions;
}

async function start(kind: Kind): Promise<Target> {
  if (kind === 'bare') {
    const child = forkHelper('_bare-aedes');
    return { child, port: await helperPort(child), publisherOpts: () => ({}), subscriberOpts: {} };
  }
  const child = forkHelper('_embedded-broker', { BENCH_BROKER_DEVICES: String(PUBLISHERS), BENCH_BROKER_SECRET: SECRET }, cpuProfileFlags());
  return {
    child,
    port: await helperPort(child),
    publisherOpts: (i) => ({ username: `reader-${i}`, password: SECRET }),
    subscriberOpts: { username: 'monitor', password: SECRET },
  };
}

interface Measured {
  rate: number;
  broker: ProcFigures;
}

async function measure(target: Target, qos: 0 | 1): Promise<Measured> {
  const url = `mqtt://127.0.0.1:${target.port}`;
  const sub = await mqtt.connectAsync(url, { ...target.subscriberOpts, reconnectPeriod: 0 });
  await sub.subscribeAsync('campus/readers/+/bench', { qos });
  const pubs: MqttClient[] = [];
  for (let i = 0; i < PUBLISHERS; i++) pubs.push(await mqtt.connectAsync(url, { ...target.publisherOpts(i), reconnectPeriod: 0 }));
  const total = PUBLISHERS * MESSAGES_PER_PUBLISHER;
  let received = 0;
  const done = new Promise<void>((resolve) =>
    sub.on('message', () => {
      if (++received === total) resolve();
    }),
  );
  const sampler = new ProcSampler(target.child.pid);
  const window = sampler.window();
  const started = performance.now();
  await Promise.all(
    pubs.map(async (c, i) => {
      const topic = `campus/readers/reader-${i}/bench`;
      const inFlight = qos === 1 ? 64 : 512;
      for (let n = 0; n < MESSAGES_PER_PUBLISHER; n += inFlight) {
        const batch: Promise<unknown>[] = [];
        for (let k = n; k < Math.min(n + inFlight, MESSAGES_PER_PUBLISHER); k++) batch.push(c.publishAsync(topic, PAYLOAD, { qos }));
        await Promise.all(batch);
      }
    }),
  );
  await done;
  const rate = total / ((performance.now() - started) / 1000);
  const broker = window.end();
  sampler.stop();
  await Promise.all([...pubs, sub].map((c) => c.endAsync()));
  return { rate, broker };
}

export default async function run(): Promise<BenchResult> {
  const best: Record<`${Kind}${0 | 1}`, Measured | undefined> = { bare0: undefined, emb0: undefined, bare1: undefined, emb1: undefined };
  /** Every measurement's rate, printed so the spread the best was picked from shows. */
  const all: Record<`${Kind}${0 | 1}`, number[]> = { bare0: [], emb0: [], bare1: [], emb1: [] };
  // Alternate the two brokers over several rounds, a fresh process for each measurement, and keep each one's best,
  // so a busy moment on the machine does not count against only one of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const qos of [0, 1] as const) {
      for (const kind of ['bare', 'emb'] as const) {
        const target = await start(kind);
        try {
          const m = await measure(target, qos);
          const key = `${kind}${qos}` as const;
          all[key].push(m.rate);
          if (!best[key] || m.rate > best[key].rate) best[key] = m;
        } finally {
          await stopChild(target.child);
        }
      }
    }
  }
  const { bare0, emb0, bare1, emb1 } = best as Record<`${Kind}${0 | 1}`, Measured>;
  const ratio0 = emb0.rate / bare0.rate;
  const ratio1 = emb1.rate / bare1.rate;
  const f = (n: number): string => `${Math.round(n).toLocaleString('en')} msg/s`;
  const proc = (m: Measured): string => `${m.broker.cpuPctOfCore} % of a core, peak RSS ${m.broker.peakRssMb} MB`;
  const rounds = (key: keyof typeof all): string => all[key].map((r) => Math.round(r / 1000)).join(' / ');
  return {
    name: 'broker',
    figures: {
      'messages per run': PUBLISHERS * MESSAGES_PER_PUBLISHER,
      rounds: ROUNDS,
      'QoS 0 bare Aedes': f(bare0.rate),
      'QoS 0 embedded (auth + ACL + limits)': f(emb0.rate),
      'QoS 0 ratio': `${(ratio0 * 100).toFixed(1)}%`,
      'QoS 1 bare Aedes': f(bare1.rate),
      'QoS 1 embedded (auth + ACL + limits)': f(emb1.rate),
      'QoS 1 ratio': `${(ratio1 * 100).toFixed(1)}%`,
      'QoS 0 each round, bare | embedded (k msg/s)': `${rounds('bare0')} | ${rounds('emb0')}`,
      'QoS 1 each round, bare | embedded (k msg/s)': `${rounds('bare1')} | ${rounds('emb1')}`,
      'QoS 0 bare broker process': proc(bare0),
      'QoS 0 embedded broker process': proc(emb0),
      'QoS 1 bare broker process': proc(bare1),
      'QoS 1 embedded broker process': proc(emb1),
    },
    goal: `embedded ≥ ${GOAL * 100}% of bare Aedes at QoS 0 and at QoS 1 (same run)`,
    met: ratio0 >= GOAL && ratio1 >= GOAL,
  };
}
