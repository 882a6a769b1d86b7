import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validateConfig } from '../../config/load.js';
import { startGateway } from '../../gateway/compose.js';
import { DEMO_PASSWORD, userMigrations, UserStore } from '../../gateway/auth/users.js';
import { systemClock } from '../../gateway/core/clock.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';
import { login, runBin, startBin, type BinGateway } from '../helpers/bin.js';

let running: BinGateway | undefined;
afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});

describe('campus-gateway start (the built bin)', () => {
  it('serves /healthz, login and the alerts API in demo mode', async () => {
    // How fast it starts is bench/footprint's question; startBin only gives up after a generous deadline.
    running = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: tempDir() });
    expect(running.output()).toContain('Demo users:   admin / campus-demo');
    expect(running.output()).toContain(`mqtt://127.0.0.1:${running.mqttPort}`);
    const token = await login(running.base);
    expect((await fetch(`${running.base}/api/v1/alerts`)).status).toBe(401);
    expect((await fetch(`${running.base}/api/v1/alerts`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('keeps an acknowledged alert through kill -9', async () => {
    const dataDir = tempDir();
    running = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: dataDir });
    const token = await login(running.base, 'security');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = (await (
      await fetch(`${running.base}/api/v1/alerts`, { method: 'POST', headers, body: JSON.stringify({ message: 'gate forced open' }) })
    ).json()) as { id: string };
    const ack = await fetch(`${running.base}/api/v1/alerts/${created.id}/ack`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ note: 'checked' }),
    });
    expect(ack.status).toBe(200);
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');

    running = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: dataDir });
    const again = await login(running.base);
    const alert = (await (
      await fetch(`${running.base}/api/v1/alerts/${created.id}`, { headers: { authorization: `Bearer ${again}` } })
    ).json()) as { status: string; acknowledgedBy: string; ackNote: string };
    expect(alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'security', ackNote: 'checked' });
  });

  // Linux only: elsewhere thread priorities are left alone (gateway/core/thread-priority.ts).
  it.skipIf(process.platform !== 'linux')('runs its helper threads below the thread that answers the readers (not applicable: not Linux, priorities left alone)', async () => {
    running = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: tempDir() });
    const pid = running.child.pid!;
    /** Field 19 of /proc/<pid>/task/<tid>/stat; the command name before it may hold spaces, so count from its `)`. */
    const nice = (tid: string): number => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const tids = readdirSync(`/proc/${pid}/task`).filter((t) => Number(t) !== pid);
    expect(nice(String(pid))).toBe(0);
    // At least V8's four platform workers (threads started later keep their creator's priority).
    const lowered = tids.filter((t) => nice(t) === 19);
    expect(lowered.length).toBeGreaterThanOrEqual(4);
  });

  it('stops cleanly on SIGTERM', async () => {
    running = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: tempDir() });
    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
    expect(running.output()).toContain('stopped');
  });

  it('refuses to start outside demo mode without users, and says how to add one', () => {
    const r = runBin(['start'], { env: { CAMPUS_DATA_DIR: tempDir(), CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0' } });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain('campus-gateway user add');
  });

  it('refuses to start outside demo mode while a user has the demo password, and will not set it', async () => {
    const dataDir = tempDir();
    const env = { CAMPUS_DATA_DIR: dataDir, CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0' };
    const refused = runBin(['user', 'add', 'head', '--role', 'admin'], { env, input: 'campus-demo\n' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('that is the demo password');
    // A data directory the demo ran in first keeps its demo users.
    const db = openDatabase(join(dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations]);
    await new UserStore(db, systemClock, 0).add('security', DEMO_PASSWORD, 'security');
    db.close();
    const r = runBin(['start'], { env });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain('demo password');
  });

  it('starts outside demo mode once a real administrator exists', async () => {
    const dataDir = tempDir();
    const cfg = join(dataDir, 'gateway.yaml');
    writeFileSync(cfg, `school: { id: no1-middle, name: 第一中学 }\ndataDir: ${dataDir}\n`);
    const add = runBin(['user', 'add', 'head', '--role', 'admin', '--config', cfg], { input: 'correct horse battery\n' });
    expect(add.stderr).toBe('');
    running = await startBin(['start', '--config', cfg], {});
    expect(running.output()).not.toContain('Demo users');
    await expect(login(running.base, 'admin')).rejects.toThrow(/401/);
    expect(await login(running.base, 'head', 'correct horse battery')).toMatch(/./);
  });
});

describe('graceful shutdown', () => {
  it('commits every queued batched write', async () => {
    const dataDir = tempDir();
    const config = validateConfig(
      { dataDir, http: { host: '127.0.0.1', port: 0 }, mqtt: { host: '127.0.0.1', port: 0 }, storage: { batchMaxDelayMs: 60_000, batchMaxSize: 100_000 } },
      'test',
    );
    const gw = await startGateway({ config, demo: true, log: pino({ level: 'silent' }) });
    gw.ctx.db.exec('CREATE TABLE IF NOT EXISTS t_shutdown (n INTEGER)');
    const writes = Array.from({ length: 5000 }, (_, n) => gw.ctx.writer.write((db) => void db.prepare('INSERT INTO t_shutdown VALUES (?)').run(n)));
    // Nothing has been committed yet: the batch waits for its delay.
    expect((gw.ctx.db.prepare('SELECT COUNT(*) AS c FROM t_shutdown').get() as { c: number }).c).toBe(0);
    await gw.stop();
    await Promise.all(writes);

    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dataDir, 'gateway.db'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS c FROM t_shutdown').get() as { c: number }).c).toBe(5000);
    db.close();
  });
});
