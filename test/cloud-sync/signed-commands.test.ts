/**
 * Anyone who can publish on the city broker must not be able to command the school: against a real Mosquitto
 * as the city broker, unsigned, badly signed, unknown-key, stale, future, expired and replayed commands are not
 * executed (lockdown stays off, as the gateway's API shows), each gets a `rejected` result with its reason, is
 * counted and raises a `city_command_rejected` alert; a correctly signed command runs. A replay after a
 * gateway restart is refused too.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../../config/schema.js';
import { DEMO_ONLY_COMMAND_KID, DEMO_ONLY_COMMAND_PRIVATE_KEY } from '../../cloud-sync/demo-command-key.js';
import { loadPrivateKey, signCommand } from '../../cloud-sync/signing.js';
import { runBin } from '../helpers/bin.js';
import { startTestGateway, tempDir, waitFor, type TestGateway, type TestGatewayOptions } from '../helpers/gateway.js';
import { captureLog } from '../helpers/log-capture.js';
import { CityReceiver, contractSchema } from './city.js';
import { cityKey } from './keys.js';
import { Mosquitto } from './mosquitto.js';

const TOPIC = 'city/yanbian-edu/schools/demo-school/commands';
const city2026 = cityKey('city-2026');
const cityOld = cityKey('city-2025');
const rogue = cityKey('rogue');

/** A gateway whose link to the city broker is up, and an admin's token. */
async function connectedGateway(opts: TestGatewayOptions): Promise<{ gw: TestGateway; admin: string }> {
  const gw = await startTestGateway(opts);
  const admin = await gw.login('admin');
  await waitFor(async () => ((await (await gw.api('/api/v1/sync', { token: admin })).json()) as { connected: boolean }).connected);
  return { gw, admin };
}

describe('signed and fresh city commands over a real Mosquitto', () => {
  let broker: Mosquitto;
  let city: CityReceiver;
  let gw: TestGateway;
  let admin: string;
  const dataDir = tempDir();
  const config = (url: string): GatewayConfigInput => ({
    cloud: {
      upstreamUrl: url,
      backoff: { initialMs: 100, maxMs: 500 },
      heartbeatIntervalS: 3600,
      // Rotation: the new key as PEM, the old one as raw base64; both are trusted.
      commandKeys: [
        { kid: city2026.kid, publicKey: city2026.publicPem },
        { kid: cityOld.kid, publicKey: cityOld.publicRaw },
      ],
      commandMaxAgeS: 300,
    },
  });

  beforeAll(async () => {
    broker = new Mosquitto();
    await broker.start();
    city = await CityReceiver.connect(broker.url);
    ({ gw, admin } = await connectedGateway({ dataDir, config: config(broker.url) }));
  });
  afterAll(async () => {
    await gw?.close();
    await city?.close();
    await broker?.close();
  });

  /** A new gateway process on the same data (the rejection cap and counters are per process, the seen ids are not). */
  async function restart(): Promise<void> {
    await gw.close();
    ({ gw, admin } = await connectedGateway({ dataDir, config: config(broker.url) }));
  }

  const iso = (offsetS = 0): string => new Date(Date.now() + offsetS * 1000).toISOString();
  const lockdownStart = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    schoolId: 'demo-school',
    type: 'lockdown.start',
    issuedAt: iso(),
    params: { reason: 'drill' },
    ...extra,
  });
  const publish = (cmd: unknown) => city.client.publishAsync(TOPIC, typeof cmd === 'string' ? cmd : JSON.stringify(cmd), { qos: 1 });
  const resultsOf = (id: string) => city.of('command.result').filter((m) => m.envelope.data.commandId === id).map((m) => m.envelope.data);
  const resultOf = (id: string, status: string) => waitFor(() => resultsOf(id).find((d) => d.status === status), 10_000);
  const lockdownActive = async (g = gw) => ((await (await g.api('/api/v1/lockdown', { token: admin })).json()) as { active: boolean }).active;

  async function expectRejected(id: string, reason: string): Promise<void> {
    const r = await resultOf(id, 'rejected');
    expect(r).toMatchObject({ commandId: id, status: 'rejected', reason, error: { code: reason } });
    expect(await lockdownActive()).toBe(false);
    // The result is what the published contract says the city gets.
    const envelope = city.of('command.result').find((m) => m.envelope.data === r)!.envelope;
    const check = contractSchema().safeParse(envelope);
    expect(check.success, JSON.stringify(check.error?.issues)).toBe(true);
  }

  it('rejects an unsigned lockdown', async () => {
    await publish(lockdownStart('unsigned-1'));
    await expectRejected('unsigned-1', 'unsigned');
  });

  it('rejects a command altered after signing', async () => {
    const signed = signCommand(lockdownStart('tampered-1', { params: { reason: 'drill' } }), city2026.privateKey, city2026.kid);
    await publish({ ...signed, params: { reason: 'real' } });
    await expectRejected('tampered-1', 'bad_signature');
    // Also a signature that is not even 64 bytes of base64.
    await publish({ ...signCommand(lockdownStart('tampered-2'), city2026.privateKey, city2026.kid), sig: 'AAAA' });
    await expectRejected('tampered-2', 'bad_signature');
  });

  it('rejects a command signed with a key the school does not trust, and the demo key from a real upstream', async () => {
    await publish(signCommand(lockdownStart('rogue-1'), rogue.privateKey, rogue.kid));
    await expectRejected('rogue-1', 'unknown_key');
    // A key pair generated by the attacker under a trusted kid is a bad signature, not a new key.
    await publish(signCommand(lockdownStart('rogue-2'), rogue.privateKey, city2026.kid));
    await expectRejected('rogue-2', 'bad_signature');
    // This gateway runs the demo school, but its commands come from the city broker: the published demo key is no key.
    await publish(signCommand(lockdownStart('demo-key-1'), loadPrivateKey(DEMO_ONLY_COMMAND_PRIVATE_KEY), DEMO_ONLY_COMMAND_KID));
    await expectRejected('demo-key-1', 'unknown_key');
  });

  it('rejects stale, future and expired commands even when correctly signed', async () => {
    await publish(signCommand(lockdownStart('stale-1', { issuedAt: iso(-301) }), city2026.privateKey, city2026.kid));
    await expectRejected('stale-1', 'stale');
    await publish(signCommand(lockdownStart('future-1', { issuedAt: iso(120) }), city2026.privateKey, city2026.kid));
    await expectRejected('future-1', 'future');
    await publish(signCommand(lockdownStart('expired-1', { issuedAt: iso(-20), expiresAt: iso(-5) }), city2026.privateKey, city2026.kid));
    await expectRejected('expired-1', 'expired');
  });

  it('runs a correctly signed command (new and old key), then refuses a replay of it', async () => {
    const start = signCommand(lockdownStart('lock-1'), city2026.privateKey, city2026.kid);
    await publish(start);
    expect(await resultOf('lock-1', 'ok')).toMatchObject({ status: 'ok', detail: { lockdown: true } });
    expect(await lockdownActive()).toBe(true);
    const end = signCommand({ id: 'unlock-1', schoolId: 'demo-school', type: 'lockdown.end', issuedAt: iso() }, cityOld.privateKey, cityOld.kid);
    await publish(end);
    expect(await resultOf('unlock-1', 'ok')).toMatchObject({ detail: { lockdown: false } });
    expect(await lockdownActive()).toBe(false);

    // The attacker recorded the signed lockdown and plays it back, byte for byte.
    await publish(start);
    await expectRejected('lock-1', 'duplicate');
  });

  it('runs a command signed by the built `campus-gateway city-sign`, as a city integrator would send it', async () => {
    const keyFile = join(tempDir(), 'city-2026.pem');
    writeFileSync(keyFile, city2026.privatePem, { mode: 0o600 });
    const r = runBin(['city-sign', '--key', keyFile, '--kid', city2026.kid], { input: JSON.stringify({ id: 'cli-ping-1', schoolId: 'demo-school', type: 'ping' }) });
    expect(r.status, r.stderr).toBe(0);
    await publish(r.stdout.trim());
    expect(await resultOf('cli-ping-1', 'ok')).toMatchObject({ commandType: 'ping' });
  });

  it('counts every rejection by reason and raises a city_command_rejected warning', async () => {
    // Its own rejections, one of each reason, counted against what the file's other tests left (any order).
    const counts = async (): Promise<Record<string, number>> =>
      ((await (await gw.api('/api/v1/sync', { token: admin })).json()) as { commands: { rejected: Record<string, number> } }).commands.rejected;
    const metric = async (reason: string): Promise<number> =>
      Number(new RegExp(`campus_sync_commands_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(await (await fetch(`${gw.base}/metrics`)).text())?.[1] ?? 0);
    const alertCount = async (): Promise<number> =>
      ((await (await gw.api('/api/v1/alerts?type=city_command_rejected', { token: admin })).json()) as { items: { count: number }[] }).items
        .reduce((n, a) => n + a.count, 0);
    const reasons = ['unsigned', 'bad_signature', 'unknown_key', 'stale', 'future', 'expired', 'duplicate'] as const;
    const before = await counts();
    const metricsBefore = Object.fromEntries(await Promise.all(reasons.map(async (r) => [r, await metric(r)] as const)));
    const alertsBefore = await alertCount();

    const sign = (cmd: Record<string, unknown>) => signCommand(cmd, city2026.privateKey, city2026.kid);
    await publish(lockdownStart('count-unsigned'));
    await publish({ ...sign(lockdownStart('count-bad', { params: { reason: 'drill' } })), params: { reason: 'real' } });
    await publish(signCommand(lockdownStart('count-rogue'), rogue.privateKey, rogue.kid));
    await publish(sign(lockdownStart('count-stale', { issuedAt: iso(-301) })));
    await publish(sign(lockdownStart('count-future', { issuedAt: iso(120) })));
    await publish(sign(lockdownStart('count-expired', { issuedAt: iso(-20), expiresAt: iso(-5) })));
    const ping = sign({ id: 'count-ping', schoolId: 'demo-school', type: 'ping', issuedAt: iso() });
    await publish(ping);
    await resultOf('count-ping', 'ok');
    await publish(ping);
    for (const id of ['count-unsigned', 'count-bad', 'count-rogue', 'count-stale', 'count-future', 'count-expired']) await resultOf(id, 'rejected');
    await resultOf('count-ping', 'rejected');

    const after = await counts();
    for (const r of reasons) {
      expect(after[r]! - (before[r] ?? 0), r).toBe(1);
      expect((await metric(r)) - metricsBefore[r]!, r).toBe(1);
    }
    const list = (await (await gw.api('/api/v1/alerts?type=city_command_rejected', { token: admin })).json()) as {
      items: { type: string; severity: string; status: string }[];
    };
    expect(list.items[0]).toMatchObject({ type: 'city_command_rejected', severity: 'warning', status: 'open' });
    expect((await alertCount()) - alertsBefore).toBe(reasons.length);
  });

  it('refuses a replay after the gateway restarts on the same data', async () => {
    const recorded = signCommand({ id: 'restart-ping-1', schoolId: 'demo-school', type: 'ping', issuedAt: iso() }, city2026.privateKey, city2026.kid);
    await publish(recorded);
    await resultOf('restart-ping-1', 'ok');
    await restart();
    await publish(recorded);
    expect(await resultOf('restart-ping-1', 'rejected')).toMatchObject({ status: 'rejected', reason: 'duplicate' });
  });

  it('survives a flood of forged commands: all counted, at most 60 a minute answered, the city still gets through', async () => {
    const metric = async (reason: string): Promise<number> => {
      const text = await (await fetch(`${gw.base}/metrics`)).text();
      return Number(new RegExp(`campus_sync_commands_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
    };
    const unsignedBefore = await metric('unsigned');
    for (let i = 0; i < 80; i++) await publish(lockdownStart(`flood-${i}`));
    // Far over the 64 KiB cap: not even parsed.
    await publish(JSON.stringify({ ...lockdownStart('huge-1'), pad: 'x'.repeat(70 * 1024) }));
    await publish(signCommand({ id: 'after-flood', schoolId: 'demo-school', type: 'ping', issuedAt: iso() }, city2026.privateKey, city2026.kid));
    await resultOf('after-flood', 'ok');
    // Results leave in order, so every answer to the flood has arrived by now.
    const answered = city.of('command.result').filter((m) => String(m.envelope.data.commandId).startsWith('flood-')).length;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThanOrEqual(60);
    expect((await metric('unsigned')) - unsignedBefore).toBe(80);
    expect(resultsOf('huge-1')).toHaveLength(0);
    const s = (await (await gw.api('/api/v1/sync', { token: admin })).json()) as { commands: { ignored: { malformed: number } } };
    expect(s.commands.ignored.malformed).toBe(1);
    expect(await lockdownActive()).toBe(false);
    // The minute's answers are spent: a fresh gateway, so that the file's other tests (in any order) get theirs.
    await restart();
  });
});

describe('a signed city command the database refuses to record, over a real Mosquitto', () => {
  // A full disk, made by triggers that refuse one table's writes with SQLite's own message. Before, the error left
  // process() for a `.catch(() => {})`: no result for the city, no log line, no count.
  let broker: Mosquitto;
  let city: CityReceiver;
  let gw: TestGateway;
  let admin: string;
  const captured = captureLog();
  const dataDir = tempDir();
  const start = async (): Promise<void> => {
    ({ gw, admin } = await connectedGateway({
      dataDir,
      log: captured.log,
      config: {
        cloud: {
          upstreamUrl: broker.url,
          backoff: { initialMs: 100, maxMs: 500 },
          heartbeatIntervalS: 3600,
          housekeepingS: 0.3,
          commandKeys: [{ kid: city2026.kid, publicKey: city2026.publicPem }],
        },
      },
    }));
  };

  beforeAll(async () => {
    broker = new Mosquitto();
    await broker.start();
    city = await CityReceiver.connect(broker.url);
    await start();
  });
  afterAll(async () => {
    await gw?.close();
    await city?.close();
    await broker?.close();
  });

  const sign = (cmd: Record<string, unknown>) => signCommand({ schoolId: 'demo-school', issuedAt: new Date().toISOString(), ...cmd }, city2026.privateKey, city2026.kid);
  const publish = (cmd: unknown) => city.client.publishAsync(TOPIC, JSON.stringify(cmd), { qos: 1 });
  const resultsOf = (id: string) => city.of('command.result').filter((m) => m.envelope.data.commandId === id).map((m) => m.envelope.data);
  const metric = async (name: string, labels: string): Promise<number> =>
    Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(await (await fetch(`${gw.base}/metrics`)).text())?.[1] ?? 0);
  const lockdownActive = async () => ((await (await gw.api('/api/v1/lockdown', { token: admin })).json()) as { active: boolean }).active;

  it('answers `failed` (storage_unavailable), logs and counts a command whose id cannot be stored, and does not run it', async () => {
    const failedBefore = await metric('campus_sync_commands_total', 'type="lockdown.start",status="failed"');
    gw.ctx.db.exec("CREATE TRIGGER refuse_claim BEFORE INSERT ON cloud_commands BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const signed = sign({ id: 'full-claim-1', type: 'lockdown.start', params: { reason: 'drill' } });
    try {
      await publish(signed);
      await waitFor(() => captured.text().includes('city command not carried out'), 10_000);
      // Not run: the id was not stored, and running it would have made it runnable again after a restart.
      expect(await lockdownActive()).toBe(false);
      // Its answer goes with its id (see below), and a full disk takes neither: it waits in memory.
      await new Promise((r) => setTimeout(r, 300));
      expect(resultsOf('full-claim-1')).toEqual([]);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER refuse_claim');
    }
    // Once the database takes writes (the outbox's housekeeping tries again), the city has its answer.
    const r = await waitFor(() => resultsOf('full-claim-1')[0], 10_000);
    expect(r).toMatchObject({ commandId: 'full-claim-1', status: 'failed', error: { code: 'storage_unavailable' } });
    expect((r.error as { message: string }).message).toContain('database or disk is full');
    const envelope = city.of('command.result').find((m) => m.envelope.data === r)!.envelope;
    expect(contractSchema().safeParse(envelope).success).toBe(true);
    expect(await lockdownActive()).toBe(false);
    expect((await metric('campus_sync_commands_total', 'type="lockdown.start",status="failed"')) - failedBefore).toBe(1);
    // The same signed bytes again once the disk takes writes (a replay within commandMaxAgeS, or the city's own
    // redelivery): the id was recorded with its answer, so it is a duplicate and still does not run. The city was told
    // it failed, and sends it again under a new id if it still wants it.
    await publish(signed);
    await waitFor(() => resultsOf('full-claim-1')[1], 10_000);
    expect(resultsOf('full-claim-1')[1]).toMatchObject({ status: 'rejected', reason: 'duplicate' });
    expect(await lockdownActive()).toBe(false);
  });

  it('starts though the database refuses the answer of a command a restart interrupted, and answers it later', async () => {
    // A command left `executing` by the process before (killed while running it) is answered `interrupted` at start.
    // Refused (a full disk), that answer threw out of the city sync's start, and the whole gateway did not start.
    await gw.close();
    const db = new BetterSqlite3(join(dataDir, 'gateway.db'));
    try {
      db.prepare("INSERT INTO cloud_commands (id, type, origin, status, received_at) VALUES ('left-running', 'ping', 'city', 'executing', ?)").run(Date.now() - 60_000);
      db.exec("CREATE TRIGGER refuse_result BEFORE INSERT ON cloud_outbox WHEN NEW.stream = 'command-results' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    } finally {
      db.close();
    }
    await start();
    expect(resultsOf('left-running')).toEqual([]);
    gw.ctx.db.exec('DROP TRIGGER refuse_result');
    const r = await waitFor(() => resultsOf('left-running')[0], 10_000);
    expect(r).toMatchObject({ status: 'interrupted', error: { code: 'interrupted' } });
  });

  it('keeps a result the database refuses in memory, counted and logged, and sends it once the database takes it', async () => {
    const unansweredBefore = await metric('campus_sync_commands_unanswered_total', 'type="ping"');
    gw.ctx.db.exec("CREATE TRIGGER refuse_result BEFORE INSERT ON cloud_outbox WHEN NEW.stream = 'command-results' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    try {
      await publish(sign({ id: 'full-result-1', type: 'ping' }));
      await publish(sign({ id: 'full-result-1b', type: 'ping' }));
      await waitFor(async () => (await metric('campus_sync_commands_unanswered_total', 'type="ping"')) - unansweredBefore === 2, 10_000);
      expect(captured.text()).toContain('the result of a city command could not be recorded');
      await new Promise((r) => setTimeout(r, 500));
      expect(resultsOf('full-result-1')).toEqual([]);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER refuse_result');
    }
    // Tried again (the outbox's housekeeping) once the disk takes writes: the pings ran, so each is answered `ok`,
    // once, in the order they came.
    const r = await waitFor(() => resultsOf('full-result-1')[0], 10_000);
    expect(r).toMatchObject({ status: 'ok', commandType: 'ping' });
    await waitFor(() => resultsOf('full-result-1b')[0], 10_000);
    const order = city.of('command.result').map((m) => m.envelope.data.commandId);
    expect(order.indexOf('full-result-1')).toBeLessThan(order.indexOf('full-result-1b'));
    await publish(sign({ id: 'full-result-2', type: 'ping' }));
    await waitFor(() => resultsOf('full-result-2')[0], 10_000);
    expect(resultsOf('full-result-1')).toHaveLength(1);
    // Recorded as done: a restart would not report it interrupted.
    expect(gw.ctx.db.prepare("SELECT status FROM cloud_commands WHERE id = 'full-result-1'").get()).toEqual({ status: 'ok' });
  });

  it('keeps the result of a command that ran over the answers of a hundred commands that did not run, and counts what it drops', async () => {
    // The disk refuses the ids of most commands (not run, answered `failed`/storage_unavailable) and every result;
    // one command's id goes in (room for a page) and it runs. Before, the hundred answers before it filled the memory
    // kept for results and its result was dropped: the city never heard it ran, and after a restart it was reported
    // `interrupted` (its row still `executing`). A command that did not run can be answered again from its id; one
    // that ran cannot be run again.
    const dropped = (ran: string) => metric('campus_sync_command_results_dropped_total', `type="ping",ran="${ran}"`);
    const unanswered = () => metric('campus_sync_commands_unanswered_total', 'type="ping"');
    const [unansweredBefore, notRunBefore] = [await unanswered(), await dropped('false')];
    gw.ctx.db.exec(`CREATE TRIGGER refuse_claim BEFORE INSERT ON cloud_commands WHEN NEW.id LIKE 'not-run-%'
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    gw.ctx.db.exec("CREATE TRIGGER refuse_result BEFORE INSERT ON cloud_outbox WHEN NEW.stream = 'command-results' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    try {
      for (let i = 1; i <= 100; i++) await publish(sign({ id: `not-run-${i}`, type: 'ping' }));
      await publish(sign({ id: 'ran-among-them', type: 'ping' }));
      for (let i = 101; i <= 120; i++) await publish(sign({ id: `not-run-${i}`, type: 'ping' }));
      await waitFor(async () => (await unanswered()) - unansweredBefore === 121, 20_000);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER refuse_claim');
      gw.ctx.db.exec('DROP TRIGGER refuse_result');
    }
    const r = await waitFor(() => resultsOf('ran-among-them')[0], 10_000);
    expect(r).toMatchObject({ status: 'ok', commandType: 'ping' });
    // Recorded as done: a restart does not report it interrupted.
    expect(gw.ctx.db.prepare("SELECT status FROM cloud_commands WHERE id = 'ran-among-them'").get()).toEqual({ status: 'ok' });
    // The kept answers went in the order the commands came, the ran one's after them; the dropped ones got none.
    const order = city.of('command.result').map((m) => String(m.envelope.data.commandId)).filter((id) => id.startsWith('not-run-') || id === 'ran-among-them');
    expect(order).toEqual([...Array.from({ length: 99 }, (_, i) => `not-run-${i + 1}`), 'ran-among-them']);
    // Kept: 99 answers of commands that did not run and the one result of the command that ran; 21 answers dropped
    // (the newest kept, to make room for it, and the 20 after it), counted.
    expect((await dropped('false')) - notRunBefore).toBe(21);
    expect(await dropped('true')).toBe(0);
  });

  it('takes the same signed bytes replayed while their answer waits in memory for a duplicate: one answer, no room taken from other results', async () => {
    const unanswered = () => metric('campus_sync_commands_unanswered_total', 'type="lockdown.start"');
    const duplicates = () => metric('campus_sync_commands_rejected_total', 'reason="duplicate"');
    const [unansweredBefore, duplicatesBefore] = [await unanswered(), await duplicates()];
    gw.ctx.db.exec("CREATE TRIGGER refuse_claim BEFORE INSERT ON cloud_commands BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const signed = sign({ id: 'replayed-full-1', type: 'lockdown.start', params: { reason: 'drill' } });
    try {
      await publish(signed);
      await waitFor(async () => (await unanswered()) - unansweredBefore === 1, 10_000);
      // Replayed (by whoever holds the broker) while the disk is full: its id is stored nowhere yet but in the
      // answer waiting in memory. Before, each copy was answered `failed` again and kept: a hundred filled the memory
      // kept for results, and the results of commands that ran were dropped after them.
      await publish(signed);
      await publish(signed);
      await waitFor(async () => (await unanswered()) - unansweredBefore === 3 || (await duplicates()) - duplicatesBefore === 2, 10_000);
    } finally {
      gw.ctx.db.exec('DROP TRIGGER refuse_claim');
    }
    await waitFor(() => resultsOf('replayed-full-1')[0], 10_000);
    await publish(sign({ id: 'replayed-full-2', type: 'ping' }));
    await waitFor(() => resultsOf('replayed-full-2')[0], 10_000);
    expect(resultsOf('replayed-full-1')).toMatchObject([{ status: 'failed', error: { code: 'storage_unavailable' } }]);
    expect(await lockdownActive()).toBe(false);
  });
});
