/**
 * The wallet survives `kill -9` in the middle of a burst of canteen payments: the built gateway runs as its own
 * process (`node dist/gateway/cli/main.js start --demo`), POS taps arrive over MQTT on
 * `campus/readers/demo-canteen-1/tap`, and the process is killed without warning while they flow. After a restart
 * on the same data dir, every payment the reader had been told about is in the ledger, the terminal's retry of
 * the whole burst applies nothing twice, and every balance equals the sum of its ledger entries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { packageInfo } from '../../gateway/core/version.js';
import { crashRandom } from '../helpers/crash-seed.js';
import { awaitBanner } from '../helpers/bin.js';
import { nextMessage, tempDir } from '../helpers/gateway.js';

const ROOT = packageInfo().root;
const BIN = join(ROOT, 'dist/gateway/cli/main.js');
const READER = 'demo-canteen-1';
const AMOUNT = 100;

interface Running {
  child: ChildProcess;
  mqttUrl: string;
  httpUrl: string;
  exited: Promise<void>;
}

const dataDir = tempDir('campus-wallet-crash-');
const children: ChildProcess[] = [];

/** Starts the built gateway and resolves once it prints where it listens. */
async function startGateway(): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'start', '--demo'], {
    cwd: ROOT,
    env: { ...process.env, CAMPUS_DATA_DIR: dataDir, CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { mqttUrl, httpUrl } = await awaitBanner(child, 90_000);
  return { child, mqttUrl, httpUrl, exited };
}

async function connect(url: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 });
  await c.subscribeAsync(`campus/readers/${READER}/decision`);
  return c;
}

interface Decision {
  granted: boolean;
  reason: string;
  balance?: number;
}

/** One POS payment; resolves with the reader's answer, or null if none came (the gateway died). */
async function pay(client: MqttClient, uid: string, seq: number, ms = 5000): Promise<Decision | null> {
  const answer = nextMessage(client, `campus/readers/${READER}/decision`, ms);
  await client.publishAsync(`campus/readers/${READER}/tap`, JSON.stringify({ uid, amount: AMOUNT, seq }), { qos: 1 });
  try {
    return JSON.parse((await answer).payload.toString()) as Decision;
  } catch {
    return null;
  }
}

function openDb(): BetterSqlite3.Database {
  return new BetterSqlite3(join(dataDir, 'gateway.db'), { readonly: true, fileMustExist: true });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('wallet ledger after kill -9 during a burst of POS debits', () => {
  it('keeps every acknowledged debit, applies none twice, and balances equal their ledgers', async () => {
    let gw = await startGateway();
    let db = openDb();
    // Students with an active card and money: one payment each, so each person's debit count says everything.
    const cards = db
      .prepare(
        `SELECT c.uid, p.external_id AS externalId FROM cards c JOIN persons p ON p.id = c.person_id
         JOIN wallet_accounts a ON a.person_id = p.id
         WHERE p.role = 'student' AND c.status = 'active' AND c.match = 'exact' AND a.balance_fen >= ${AMOUNT} ORDER BY p.id`,
      )
      .all() as { uid: string; externalId: string }[];
    db.close();
    expect(cards.length).toBeGreaterThan(200);

    let client = await connect(gw.mqttUrl);
    const acknowledged = new Set<number>();
    // Kill without warning at an arbitrary point once payments are flowing: after a random number of them, not a
    // time, since a fast gateway would otherwise finish every payment before the moment came.
    const { seed, random } = crashRandom('wallet-crash');
    const replay = `replay with CRASH_SEED=${seed}`;
    const killAfter = 20 + Math.floor(random() * Math.min(150, cards.length - 25));
    let killed = false;
    for (let seq = 1; seq <= cards.length && !killed; seq++) {
      const d = await pay(client, cards[seq - 1]!.uid, seq, 3000);
      if (d === null) break;
      expect(d, replay).toMatchObject({ granted: true, reason: 'ok' });
      acknowledged.add(seq);
      if (acknowledged.size >= killAfter) {
        // Fire the next payment and kill while it is being decided.
        void client.publishAsync(`campus/readers/${READER}/tap`, JSON.stringify({ uid: cards[seq]!.uid, amount: AMOUNT, seq: seq + 1 }), { qos: 1 })
          .catch(() => {}); // the connection dies with the process
        gw.child.kill('SIGKILL');
        killed = true;
      }
    }
    expect(killed, replay).toBe(true);
    await gw.exited;
    await client.endAsync(true).catch(() => {});
    const sent = acknowledged.size + 1;
    // Work happened before the kill: the seeded number of payments was acknowledged (so durable) first.
    expect(acknowledged.size, replay).toBe(killAfter);

    // Everything the reader was told is durable.
    db = openDb();
    const applied = new Set(
      (db.prepare(`SELECT terminal_seq AS seq FROM wallet_entries WHERE kind = 'debit' AND reader_id = ?`).all(READER) as { seq: number }[]).map(
        (r) => r.seq,
      ),
    );
    db.close();
    console.log(`killed after ${acknowledged.size} acknowledged payments; ${applied.size} debits in the ledger`);
    for (const seq of acknowledged) expect(applied.has(seq), `acknowledged seq ${seq} lost; ${replay}`).toBe(true);

    // Restart on the same data dir; the terminal retries the whole burst, as one does after losing its link.
    gw = await startGateway();
    client = await connect(gw.mqttUrl);
    for (let seq = 1; seq <= sent; seq++) {
      const d = await pay(client, cards[seq - 1]!.uid, seq);
      expect(d, `retry of seq ${seq}; ${replay}`).not.toBeNull();
      expect(d!.granted).toBe(true);
      // Applied before the crash: answered from the wallet's record. The in-flight one may be applied only now.
      if (applied.has(seq)) expect(d!.reason).toBe('duplicate');
    }
    await client.endAsync(true);

    db = openDb();
    const perSeq = db
      .prepare(`SELECT terminal_seq AS seq, COUNT(*) AS n, SUM(amount_fen) AS s FROM wallet_entries WHERE kind = 'debit' AND reader_id = ? GROUP BY terminal_seq`)
      .all(READER) as { seq: number; n: number; s: number }[];
    expect(perSeq, replay).toHaveLength(sent);
    expect(perSeq.every((r) => r.n === 1 && r.s === -AMOUNT)).toBe(true);
    // Each paying student was debited exactly once at this reader.
    const perPerson = db
      .prepare(`SELECT person_id, COUNT(*) AS n FROM wallet_entries WHERE kind = 'debit' AND reader_id = ? GROUP BY person_id HAVING n > 1`)
      .all(READER);
    expect(perPerson).toEqual([]);
    const mismatched = db
      .prepare(
        `SELECT person_id FROM (SELECT person_id, amount_fen AS l, 0 AS c FROM wallet_entries UNION ALL SELECT person_id, 0, balance_fen FROM wallet_accounts)
         GROUP BY person_id HAVING SUM(l) <> SUM(c)`,
      )
      .all();
    expect(mismatched, replay).toEqual([]);
    db.close();

    // The gateway's own check agrees.
    const login = await fetch(new URL('/api/v1/auth/login', gw.httpUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'campus-demo' }),
    });
    const { token } = (await login.json()) as { token: string };
    const check = await fetch(new URL('/api/v1/wallet/check', gw.httpUrl), { headers: { authorization: `Bearer ${token}` } });
    expect(await check.json()).toMatchObject({ ok: true, mismatches: [], terminalMismatches: [] });

    gw.child.kill('SIGTERM');
    await gw.exited;
  });
});
