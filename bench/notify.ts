/**
 * `npm run bench -- notify`: a morning rush through the main gate, with guardians' arrival messages to a fake SMS
 * gateway capped at `--sms-rate` messages/s (it answers 429 above that), beside the same rush with notifications off.
 * Goal (issue 21): every consenting guardian gets exactly one arrival message, p95 tap → provider ≤ 5 s, and tap →
 * decision p99 within 10 % of the notifications-off run.
 *
 * The gateway runs as the built bin in its own process (`start --demo` with a config laid over the demo school), the
 * roster (`--students`, each with one consenting guardian) is imported with `import-roster` first, and the taps come
 * from an MQTT client here, spread evenly over `--seconds` (the issue's rush is 3,000 students over 600 s).
 * Options: --students=3000 --seconds=600 --sms-rate=50
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { BIN, startGatewayChild, stopChild } from './_children.js';
import { ascending, percentile } from './_latency.js';
import { numberArg } from './_args.js';
import type { BenchResult } from './run.js';

const pct = (xs: number[], p: number): number => Math.round(percentile(ascending(xs), p) * 10) / 10;
const phoneOf = (i: number): string => `139${String(10_000_000 + i).slice(0, 8)}`;
const uidOf = (i: number): string => `C${i.toString(16).toUpperCase().padStart(7, '0')}`;

/** A fake SMS gateway: a token bucket of `rate`/s (burst `rate`); above it 429, as a provider's throttling. */
function fakeSms(rate: number): { server: Server; received: Map<string, number[]>; throttled: () => number } {
  const received = new Map<string, number[]>();
  let tokens = rate;
  let last = performance.now();
  let throttled = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const now = performance.now();
      tokens = Math.min(rate, tokens + ((now - last) / 1000) * rate);
      last = now;
      if (tokens < 1) {
        throttled++;
        res.writeHead(429).end('{"error":"throttled"}');
        return;
      }
      tokens -= 1;
      const { to } = JSON.parse(body) as { to: string };
      received.set(to, [...(received.get(to) ?? []), Date.now()]);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"queued"}');
    });
  });
  return { server, received, throttled: () => throttled };
}

async function run(on: boolean, students: number, seconds: number, smsRate: number) {
  const dir = mkdtempSync(join(tmpdir(), 'campus-bench-notify-'));
  const sms = fakeSms(smsRate);
  await new Promise<void>((r) => sms.server.listen(0, '127.0.0.1', () => r()));
  const smsPort = (sms.server.address() as { port: number }).port;
  const config = {
    nodeRed: { enabled: false },
    log: { level: 'warn' },
    readers: [{ id: 'demo-gate-in', accessPoint: 'main-gate', direction: 'in', driver: { type: 'mqtt' } }],
    notify: {
      enabled: on,
      secretKey: 'bench-only-guardian-key-not-secret',
      guardianChannel: 'sms',
      pollMs: 200,
      // The rush's own messages only, whatever the hour the bench runs: no absence sweep (it would call the demo's
      // and, after the cut-off plus grace, the rush's students absent before they tap), no `late` in place of
      // `arrival`, no quiet hours.
      events: { absent: { enabled: false }, late: { enabled: false } },
      retry: { initialMs: 200, maxMs: 2000 },
      channels: [{ id: 'sms', type: 'http', url: `http://127.0.0.1:${smsPort}/send`, ratePerMin: smsRate * 60, burst: smsRate }],
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const csv = ['学号,姓名,卡号,监护人,监护人电话,通知', ...Array.from({ length: students }, (_, i) => `B${100000 + i},学生${i},${uidOf(i)},家长${i},${phoneOf(i)},是`)];
  writeFileSync(join(dir, 'roster.csv'), csv.join('\n'));
  const env = { ...process.env, CAMPUS_DATA_DIR: join(dir, 'data') };
  const imported = spawnSync(process.execPath, [BIN, 'import-roster', join(dir, 'roster.csv'), '--card-format', 'hex', '--demo', '--config', join(dir, 'config.json')], { env, encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`import-roster: ${imported.stdout}${imported.stderr}`);
  // The gateway binds port 0 itself and says which ports it got (no pick-close-reuse race).
  const child = await startGatewayChild({ configFile: join(dir, 'config.json'), dataDir: join(dir, 'data'), timeoutMs: 60_000 });
  const mqttPort = child.mqttPort;
  try {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    await client.subscribeAsync('campus/readers/demo-gate-in/decision', { qos: 1 });
    const sentAt = new Map<string, number>();
    const sentAtWall = new Map<string, number>();
    const decisionMs: number[] = [];
    client.on('message', (_t, payload) => {
      const d = JSON.parse(payload.toString()) as { person: { name: string } | null };
      const at = d.person ? sentAt.get(d.person.name) : undefined;
      if (at !== undefined) decisionMs.push(performance.now() - at);
    });
    const started = performance.now();
    for (let i = 0; i < students; i++) {
      const due = started + (i * seconds * 1000) / students;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(`学生${i}`, performance.now());
      sentAtWall.set(phoneOf(i), Date.now());
      void client.publishAsync('campus/readers/demo-gate-in/tap', uidOf(i), { qos: 1 });
    }
    const deadline = Date.now() + 120_000;
    const reached = (): number => [...sms.received.keys()].filter((to) => sentAtWall.has(to)).length;
    while ((decisionMs.length < students || (on && reached() < students)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // Only the rush's guardians: the demo school's own guardians are not part of it.
    const ours = [...sms.received.entries()].filter(([to]) => sentAtWall.has(to));
    const providerMs = ours.map(([to, times]) => times[0]! - sentAtWall.get(to)!);
    await client.endAsync(true);
    return {
      answered: decisionMs.length,
      decisionP50: pct(decisionMs, 50),
      decisionP99: pct(decisionMs, 99),
      guardiansReached: ours.length,
      duplicates: ours.filter(([, t]) => t.length > 1).length,
      others: sms.received.size - ours.length,
      providerP95: pct(providerMs, 95),
      throttled: sms.throttled(),
    };
  } finally {
    await stopChild(child);
    sms.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function notifyBench(): Promise<BenchResult> {
  const students = numberArg('students', 3000);
  const seconds = numberArg('seconds', 600);
  const smsRate = numberArg('sms-rate', 50);
  const off = await run(false, students, seconds, smsRate);
  const on = await run(true, students, seconds, smsRate);
  const exactlyOnce = on.guardiansReached === students && on.duplicates === 0;
  const within = on.decisionP99 <= off.decisionP99 * 1.1;
  return {
    name: 'notify',
    figures: {
      students, seconds, smsRatePerS: smsRate,
      'off: answered': off.answered, 'off: tap→decision p50 ms': off.decisionP50, 'off: tap→decision p99 ms': off.decisionP99,
      'on: answered': on.answered, 'on: tap→decision p50 ms': on.decisionP50, 'on: tap→decision p99 ms': on.decisionP99,
      'on: guardians reached': on.guardiansReached, 'on: duplicates': on.duplicates, 'on: tap→provider p95 ms': on.providerP95,
      'on: provider 429s': on.throttled, 'on: messages to others': on.others,
    },
    goal: 'each consenting guardian exactly one arrival; p95 tap→provider ≤ 5000 ms; tap→decision p99 within 10 % of notifications off',
    met: exactlyOnce && on.providerP95 <= 5000 && within,
  };
}
