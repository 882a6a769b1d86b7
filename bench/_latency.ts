/**
 * What the tap-latency benchmarks share (bench/taps.ts, bench/taps-large.ts): evenly paced sending, percentiles,
 * the gateway's own decision histogram and full GCs from /metrics, what the machine did to the run (/proc), and the
 * floor nothing can beat: the bare broker round trip in its own process, measured in the same run.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { forkHelper, helperPort, stopChild } from './_children.js';

/** A sorted copy (ascending), for percentile(). */
export const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
export const ms = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Sends `count` messages at `rate`/s, each when it falls due on a 1 ms timer, never in one burst; resolves when all have
 * been answered. Node's timers fire every 1.5-2 ms on a busy 2-core VM, so at 1,000/s about a third of the messages
 * leave ~15 us after the one before (docs/access.md, 2026-12-06). Both sides of a comparison get the same.
 */
export async function paced(count: number, rate: number, send: (i: number) => void, answered: () => number, timeoutMs: number): Promise<void> {
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

export interface Scrape {
  buckets: Map<string, number>;
  /** Full (mark-compact) collections so far: each one holds up the taps behind it. */
  majorGcs: number;
  /** Young-generation collections (scavenges) so far, and the seconds they took: a tap arriving during one waits. */
  scavenges: number;
  scavengeS: number;
}

/** The gateway's tap decision histogram and full GCs, from /metrics (its RSS and CPU come from /proc, bench/_proc.ts). */
export async function scrape(base: string): Promise<Scrape> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const buckets = new Map<string, number>();
  for (const m of text.matchAll(/^campus_tap_decision_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) buckets.set(m[1]!, Number(m[2]));
  const num = (re: RegExp, missing = Number.NaN): number => {
    const m = re.exec(text);
    return m ? Number(m[1]) : missing;
  };
  return {
    buckets,
    majorGcs: num(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)/m, 0), // no line before the first one
    scavenges: num(/^nodejs_gc_duration_seconds_count\{kind="minor"\} (\d+)/m, 0),
    scavengeS: num(/^nodejs_gc_duration_seconds_sum\{kind="minor"\} ([\d.e+-]+)/m, 0),
  };
}

/**
 * What the machine did to the run, from Linux's /proc (NaN elsewhere): the share of CPU time the hypervisor gave to
 * someone else (steal) and how long the gateway's main thread waited, runnable, for a core. A run with more of
 * either has a worse tail for reasons outside the gateway (docs/access.md).
 */
export interface MachineSample {
  steal: number;
  total: number;
  mainWaitNs: number;
}
export function sampleMachine(gatewayPid: number | undefined): MachineSample {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const wait = gatewayPid ? Number(readFileSync(`/proc/${gatewayPid}/task/${gatewayPid}/schedstat`, 'utf8').split(' ')[1]) : Number.NaN;
    return { steal: cpu[7]!, total: cpu.reduce((a, b) => a + b, 0), mainWaitNs: wait };
  } catch {
    return { steal: Number.NaN, total: Number.NaN, mainWaitNs: Number.NaN };
  }
}

/** The upper bound (ms) of the bucket holding the p-th percentile of what was observed between two scrapes. */
export function bucketPercentile(before: Map<string, number>, after: Map<string, number>, p: number): number | string {
  const les = [...after.keys()];
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  if (total <= 0) return Number.NaN;
  for (const le of les) {
    const n = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (n >= (p / 100) * total) return le === '+Inf' ? `> ${Number(les[les.length - 2]) * 1000}` : Number(le) * 1000;
  }
  return Number.NaN;
}

/** A client as a card terminal is: QoS 1, no reconnects, each small packet sent at once. */
export async function connectClient(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...opts });
  // connectAsync never settles when the broker closes the socket before its CONNACK (no reconnects): say so instead.
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
    c.once('close', () => reject(new Error(`${opts.username ?? 'client'}: the broker closed the connection before accepting the login`)));
  });
  // A terminal waiting for its answer sends each small packet at once; with Nagle on, a QoS 1 PUBACK
  // exchange on loopback costs ~20 ms for both paths alike and hides everything else.
  (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  return c;
}

/**
 * The bare broker round trip (publish → receive on the same broker, QoS 1) at `rate`/s for `count` messages, after
 * `warmUp` more (bench/_args.ts `tapLoadArgs`): a bare Aedes broker in its own process with the production flags
 * (bench/_bare-aedes.ts).
 * Returns each measured message's latency in ms.
 *
 * `clients` connections take turns, each publishing to and subscribed to its own topic, as the measured run's readers
 * are: 200 readers each on their own socket against one client for the floor would not compare like with like (the
 * broker and this process wake for 200 sockets, not one).
 *
 * With `answerDb` (a file path), each message is answered by the broker's process after it committed a row for it in
 * that SQLite file (bench/_bare-aedes.ts): a second floor, a broker and a durable row without the gateway's rules.
 */
export async function bareRoundTrip(count: number, warmUp: number, rate: number, payload: (i: number) => string, clients = 1, answerDb?: string): Promise<number[]> {
  const bare = forkHelper('_bare-aedes', answerDb ? { BENCH_ANSWER_DB: answerDb } : {});
  const sendTo = answerDb ? 'bench/ask' : 'bench/echo';
  const echoLat: number[] = [];
  const echoes: MqttClient[] = [];
  try {
    const port = await helperPort(bare);
    const echoSent = new Map<number, number>();
    let echoAnswered = 0;
    const onMessage = (topic: string): void => {
      const n = Number(topic.slice(topic.lastIndexOf('/') + 1));
      const at = echoSent.get(n);
      if (at === undefined) return;
      echoAnswered++;
      if (n >= 0) echoLat.push(performance.now() - at);
    };
    // Four at a time, as the readers log in.
    for (let c = 0; c < clients; c += 4) {
      await Promise.all(
        Array.from({ length: Math.min(4, clients - c) }, async (_, k) => {
          const client = await connectClient(port);
          echoes[c + k] = client;
          await client.subscribeAsync(`bench/echo/${c + k}/#`, { qos: 1 });
          client.on('message', onMessage);
        }),
      );
    }
    const send = (n: number, i: number): void => {
      echoSent.set(n, performance.now());
      const c = i % clients;
      echoes[c]!.publish(`${sendTo}/${c}/${n}`, payload(n), { qos: 1 });
    };
    // Warm-up (JIT on both sides), not measured: negative sequence numbers.
    await paced(warmUp, rate, (i) => send(-1 - i, i), () => echoAnswered, 30_000);
    await paced(count, rate, (i) => send(i, i), () => echoLat.length, 30_000);
    return echoLat;
  } finally {
    await Promise.all(echoes.map((c) => c.endAsync(true).catch(() => {})));
    await stopChild(bare);
  }
}

/**
 * A run's floor: the bare round trip measured twice, before the gateway's run and after it, and the round with the
 * lower p99 judged. A round the machine disturbed loosened the goal to match: on 2026-12-07 the floor's p99 read 10.2
 * and 13.7 ms in two runs (0.4-1.0 ms in the others that day), and taps-large printed `met` against 2 x 10.2 ms. Both
 * rounds' p99 are printed. Sorted in, sorted out.
 */
export function steadierFloor(first: number[], second: number[]): { base: number[]; rounds: string } {
  const [a, b] = [percentile(first, 99), percentile(second, 99)];
  return { base: b < a ? second : first, rounds: `${ms(a)} / ${ms(b)}` };
}

/**
 * The latency figures both tap benchmarks print: the taps' round trips (`taps` and `base` sorted ascending), the
 * gateway's own decision histogram (tap.received → decision published: a bucket bound, not a sample) and the bare
 * broker round trip of the same run.
 */
export function tapLatencyFigures(run: { rate: number; taps: number[]; denied: number; base: number[]; floorRounds: string; before: Scrape; after: Scrape }): Record<string, number | string> {
  const { taps, base } = run;
  return {
    'rate taps/s': run.rate,
    'taps measured': taps.length,
    'taps denied (should be 0)': run.denied,
    'tap→decision p50 ms': ms(percentile(taps, 50)),
    'tap→decision p99 ms': ms(percentile(taps, 99)),
    'tap→decision max ms': ms(taps[taps.length - 1] ?? Number.NaN),
    'in gateway decision p99 bucket ≤ ms': bucketPercentile(run.before.buckets, run.after.buckets, 99),
    'baseline broker round trip p50 ms': ms(percentile(base, 50)),
    'baseline broker round trip p99 ms': ms(percentile(base, 99)),
    'baseline p99 ms, before / after the gateway (the lower judged)': run.floorRounds,
    'baseline broker round trip max ms': ms(base[base.length - 1] ?? Number.NaN),
  };
}
